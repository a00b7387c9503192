package model_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/duesight/duesight/model"
)

// TopReasons' selection path must return exactly what a full stable sort
// returns, ties included.
func TestTopReasonsMatchesStableSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 500; trial++ {
		n := 1 + r.IntN(40)
		in := make([]model.Reason, n)
		for i := range in {
			in[i] = model.Reason{Feature: string(rune('a' + i%26)), Value: float64(i), Contribution: float64(r.IntN(7) - 3)}
		}
		k := 1 + r.IntN(n)
		want := model.TopReasons(slices.Clone(in), 0)[:k]
		got := model.TopReasons(slices.Clone(in), k)
		if !slices.Equal(got, want) {
			t.Fatalf("n=%d k=%d:\n got %v\nwant %v", n, k, got, want)
		}
	}
}
