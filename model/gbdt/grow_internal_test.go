package gbdt

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestBinnedWalkMatchesFloatWalk grows trees directly and checks, for
// every training row, that the walk on bin codes (used to update the
// margins of rows left out by subsampling) and the walk of the scoring
// nodes on the raw float values reach the same leaf, and that the rows a
// leaf holds after partitioning are exactly the rows that reach it.
func TestBinnedWalkMatchesFloatWalk(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	n, F := 3000, 5
	X := make([][]float64, F)
	for j := range X {
		X[j] = make([]float64, n)
		for i := range X[j] {
			switch {
			case j == 1 && rng.Float64() < 0.2:
				X[j][i] = math.NaN()
			case j == 2:
				X[j][i] = float64(rng.IntN(4))
			case j == 3:
				X[j][i] = math.Exp(3 * rng.NormFloat64())
			default:
				X[j][i] = rng.NormFloat64()
			}
		}
	}
	y := make([]float64, n)
	for i := range y {
		y[i] = X[0][i] + X[2][i]
		if math.IsNaN(X[1][i]) {
			y[i] += 2
		}
	}
	for _, policy := range []GrowPolicy{Depthwise, LossGuide} {
		p := DefaultParams()
		p.Objective = RegSquaredError
		p.GrowPolicy = policy
		p.MaxLeaves = 20
		p.MaxBin = 16 // coarse bins: many values share a bin
		d := Dataset{X: X, Y: y}
		bm, bins, cols := buildBins(&d, p.MaxBin, 2)
		g := newGrower(&p, bm, bins, cols, n)
		for i := range n {
			g.gpair[i] = gradPair{-y[i], 1}
			g.rows = append(g.rows, int32(i))
		}
		tn := g.growTree(rand.New(rand.NewPCG(1, 1)))
		e := &Ensemble{numFeature: F, base: []float64{0}}
		e.appendTree(tn, bm, 1, 0)
		leafOf := make([]int32, n)
		for id := range tn {
			if tn[id].left < 0 {
				for _, r := range g.rows[tn[id].begin:tn[id].end] {
					leafOf[r] = int32(id)
				}
			}
		}
		row := make([]float64, F)
		leaves := 0
		for i := range n {
			for j := range F {
				row[j] = X[j][i]
			}
			b := binnedLeaf(tn, bm, cols, n, i)
			f := e.leafIndex(0, row)
			if b != f || b != leafOf[i] {
				t.Fatalf("%s row %d: binned walk leaf %d, float walk leaf %d, partition leaf %d", policy, i, b, f, leafOf[i])
			}
		}
		for id := range tn {
			if tn[id].left < 0 {
				leaves++
			}
		}
		if leaves < 4 {
			t.Fatalf("%s: only %d leaves; the test needs a real tree", policy, leaves)
		}
	}
}
