package forest_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/duesight/duesight/model"
	"github.com/duesight/duesight/model/forest"
)

// separating is x in 0–19 (each value n/20 times), late iff x ≥ 10, plus
// the given extra columns.
func separating(n int, extra map[string]float64) *model.Dataset {
	d := &model.Dataset{Names: []string{"x"}, X: [][]float64{make([]float64, n)}, Y: make([]float64, n)}
	for i := range n {
		d.X[0][i] = float64(i % 20)
		if i%20 >= 10 {
			d.Y[i] = 1
		}
	}
	for _, name := range []string{"empty", "constant"} {
		v, ok := extra[name]
		if !ok {
			continue
		}
		col := make([]float64, n)
		for i := range col {
			col[i] = v
		}
		d.Names, d.X = append(d.Names, name), append(d.X, col)
	}
	return d
}

// A single perfectly separating feature must be learned, whatever else the
// tree may split on (an all-missing or constant feature is ignored, not an
// error) and whatever the seed. Before the fix (golearn's BaggedModel) every
// fit returned ≈ 0.5 for both rows.
func TestSeparatingFeatureIsLearned(t *testing.T) {
	cases := []struct {
		name  string
		extra map[string]float64
		per   int
	}{
		{"x only", nil, 1},
		{"x and an all-missing feature", map[string]float64{"empty": math.NaN()}, 2},
		{"x, all-missing and constant", map[string]float64{"empty": math.NaN(), "constant": 3}, 3},
	}
	for _, tc := range cases {
		for seed := range uint64(5) {
			t.Run(fmt.Sprintf("%s/seed=%d", tc.name, seed), func(t *testing.T) {
				d := separating(400, tc.extra)
				m, err := forest.Fit(context.Background(), d, forest.Params{Trees: 20, FeaturesPerTree: tc.per, Seed: seed}, nil)
				if err != nil {
					t.Fatal(err)
				}
				lo, hi := make([]float64, len(d.Names)), make([]float64, len(d.Names))
				lo[0], hi[0] = 2, 17
				for j := 1; j < len(lo); j++ {
					lo[j], hi[j] = math.NaN(), 5
				}
				pLo, pHi := m.PredictProba(lo), m.PredictProba(hi)
				if pHi-pLo <= 0.5 {
					t.Fatalf("P(late | x=17) − P(late | x=2) = %.3f − %.3f = %.3f, want > 0.5", pHi, pLo, pHi-pLo)
				}
			})
		}
	}
}

// Equal data, params and seed give a byte-identical model, whatever
// GOMAXPROCS (trees are fitted concurrently); another seed gives another.
func TestFitIsDeterministic(t *testing.T) {
	d := synth(1500, 11)
	payload := func(seed uint64) []byte {
		m, err := forest.Fit(context.Background(), d, forest.Params{Trees: 9, Seed: seed}, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, err := m.MarshalPayload()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	first := payload(7)
	for range 3 {
		if !bytes.Equal(payload(7), first) {
			t.Fatal("two fits with seed 7 differ")
		}
	}
	if bytes.Equal(payload(8), first) {
		t.Fatal("seeds 7 and 8 gave the same forest")
	}
}
