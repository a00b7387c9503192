package gbdtkind

import (
	"math"
	"slices"
	"testing"

	"github.com/duesight/duesight/model"
)

// topReasons must order by |φ| and break ties by feature order, exactly as
// model.TopReasons does over every feature.
func TestTopReasonsTies(t *testing.T) {
	m := &Model{names: []string{"a", "b", "c", "d", "e", "f"}}
	row := []float64{1, 2, 3, math.NaN(), 5, 6}
	phi := []float64{1, -2, 2, 0.5, -2, 2, 9} // last value: bias
	for k := 1; k <= 5; k++ {
		got := m.topReasons(row, phi, k, nil)
		all := make([]model.Reason, len(m.names))
		for j := range m.names {
			all[j] = model.Reason{Feature: m.names[j], Value: row[j], Contribution: phi[j], Direction: model.DirectionOf(phi[j])}
		}
		want := model.TopReasons(all, k)
		var g, w []string
		for i := range got {
			g = append(g, got[i].Feature)
		}
		for i := range want {
			w = append(w, want[i].Feature)
		}
		if !slices.Equal(g, w) {
			t.Fatalf("k=%d: %v; want %v", k, g, w)
		}
	}
	if got := m.topReasons(row, phi, 2, nil); got[0].Feature != "b" || got[1].Feature != "c" {
		t.Fatalf("ties of |2| must go to the earliest features b, c; got %v", got)
	}
}
