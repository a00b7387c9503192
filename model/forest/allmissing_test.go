package forest_test

import (
	"context"
	"math"
	"testing"

	"github.com/duesight/duesight/model"
	"github.com/duesight/duesight/model/forest"
)

// A feature missing in every training row is ignored, not an error.
func TestAllMissingFeatureIgnored(t *testing.T) {
	n := 400
	d := &model.Dataset{Names: []string{"x", "empty"}, X: [][]float64{make([]float64, n), make([]float64, n)}, Y: make([]float64, n)}
	for i := 0; i < n; i++ {
		d.X[0][i] = float64(i % 20)
		d.X[1][i] = math.NaN()
		if i%20 >= 10 {
			d.Y[i] = 1
		}
	}
	m, err := forest.Fit(context.Background(), d, forest.Params{Trees: 5, FeaturesPerTree: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if lo, hi := m.PredictProba([]float64{2, math.NaN()}), m.PredictProba([]float64{17, 5}); !(hi > lo) {
		t.Fatalf("P(late | x=17) = %v is not above P(late | x=2) = %v", hi, lo)
	}
}
