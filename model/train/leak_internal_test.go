package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/duesight/duesight/model"
)

// TestSeparationMatchesPairCount checks the rank AUC against counting
// every (positive, negative) pair, with ties and missing values.
func TestSeparationMatchesPairCount(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := range 200 {
		n := 2*LeakMinClass + r.IntN(60)
		d := &model.Dataset{Names: []string{"x"}, X: [][]float64{make([]float64, n)}, Y: make([]float64, n)}
		for i := range n {
			d.Y[i] = float64(i % 2)
			switch v := r.IntN(12); {
			case v == 0:
				d.X[0][i] = math.NaN()
			default:
				// few distinct values: many ties; shifted up for positives
				d.X[0][i] = float64(v/3) + d.Y[i]*float64(trial%4)
			}
		}
		want := 0.0
		for _, place := range []float64{math.Inf(-1), math.Inf(1)} {
			var u, pairs float64
			for i := range n {
				for j := range n {
					if d.Y[i] != 1 || d.Y[j] != 0 {
						continue
					}
					a, b := d.X[0][i], d.X[0][j]
					if math.IsNaN(a) {
						a = place
					}
					if math.IsNaN(b) {
						b = place
					}
					pairs++
					switch {
					case a > b:
						u++
					case a == b:
						u += 0.5
					}
				}
			}
			auc := u / pairs
			want = max(want, auc, 1-auc)
		}
		got, _ := separation(d.X[0], d.Y)
		if math.Abs(got-want) > 1e-12 {
			t.Fatalf("trial %d: AUC %v, pair count %v", trial, got, want)
		}
	}
}
