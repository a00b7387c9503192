package gbdt

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// BenchmarkAccumulate measures the histogram kernel alone on a 200k×40
// bin matrix with gradients, all rows (the root) and a random half in
// ascending order (a child).
func BenchmarkAccumulate(b *testing.B) {
	const n, nf = 200_000, 40
	rng := rand.New(rand.NewPCG(1, 2))
	bins := make([]uint8, n*nf)
	for i := range bins {
		bins[i] = uint8(rng.IntN(256))
	}
	off := make([]int32, nf+1)
	for f := range nf {
		off[f+1] = off[f] + 257
	}
	gp := make([]gradPair, n)
	for i := range gp {
		gp[i] = gradPair{rng.NormFloat64(), rng.Float64()}
	}
	all := make([]int32, n)
	var half []int32
	for i := range all {
		all[i] = int32(i)
		if rng.IntN(2) == 0 {
			half = append(half, int32(i))
		}
	}
	hist := make([]gradPair, off[nf])
	for _, c := range []struct {
		name string
		rows []int32
	}{{"rows=all", all}, {"rows=half", half}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				clear(hist)
				accumulate(hist, bins, nf, off[:nf], c.rows, gp)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(c.rows)*nf), "ns/cell")
		})
	}
}

// BenchmarkAccumulateKernels compares the bounds-checked loop, the portable
// unchecked Go kernel and the platform kernel (assembly on amd64) on all
// rows.
func BenchmarkAccumulateKernels(b *testing.B) {
	const n, nf = 200_000, 40
	rng := rand.New(rand.NewPCG(1, 2))
	bins := make([]uint8, n*nf)
	for i := range bins {
		bins[i] = uint8(rng.IntN(256))
	}
	off := make([]int32, nf+1)
	for f := range nf {
		off[f+1] = off[f] + 257
	}
	gp := make([]gradPair, n)
	for i := range gp {
		gp[i] = gradPair{rng.NormFloat64(), rng.Float64()}
	}
	all := make([]int32, n)
	for i := range all {
		all[i] = int32(i)
	}
	hist := make([]gradPair, off[nf])
	b.Run("kernel=checked", func(b *testing.B) {
		for b.Loop() {
			clear(hist)
			accumulateChecked(hist, bins, nf, off[:nf], all, gp)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(all)*nf), "ns/cell")
	})
	b.Run("kernel=go", func(b *testing.B) {
		for b.Loop() {
			clear(hist)
			accumulateGo(hist, bins, nf, off[:nf], all, gp)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(all)*nf), "ns/cell")
	})
	b.Run("kernel=platform", func(b *testing.B) {
		for b.Loop() {
			clear(hist)
			accumulate(hist, bins, nf, off[:nf], all, gp)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(all)*nf), "ns/cell")
	})
}

// TestAccumulateMatchesChecked: the unchecked kernels (the platform's, via
// accumulate, and the portable Go one) give bit-identical histograms to the
// bounds-checked loop, for feature counts that exercise the unrolled parts
// and the remainders.
func TestAccumulateMatchesChecked(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, nf := range []int{1, 3, 4, 7, 40} {
		n := 1000
		nbins := make([]int, nf)
		off := make([]int32, nf+1)
		for f := range nf {
			nbins[f] = 1 + rng.IntN(256)
			off[f+1] = off[f] + int32(nbins[f]) + 1
		}
		bins := make([]uint8, n*nf)
		for i := range n {
			for f := range nf {
				bins[i*nf+f] = uint8(rng.IntN(nbins[f] + 1)) // including the missing code
			}
		}
		gp := make([]gradPair, n)
		for i := range gp {
			gp[i] = gradPair{rng.NormFloat64(), rng.Float64()}
		}
		var rows []int32
		for i := range n {
			if rng.IntN(3) > 0 {
				rows = append(rows, int32(i))
			}
		}
		want := make([]gradPair, off[nf])
		accumulateChecked(want, bins, nf, off[:nf], rows, gp)
		for name, kernel := range map[string]func([]gradPair, []uint8, int, []int32, []int32, []gradPair){
			"accumulate": accumulate, "accumulateGo": accumulateGo,
		} {
			got := make([]gradPair, off[nf])
			kernel(got, bins, nf, off[:nf], rows, gp)
			for k := range got {
				if got[k] != want[k] {
					t.Fatalf("%s nf=%d slot %d: %v, want %v", name, nf, k, got[k], want[k])
				}
			}
		}
	}
}

// TestFloat32Threshold: v < float32Threshold(t) ⇔ float32(v) < t for
// values around t, including exact float32 values, midpoints between
// adjacent float32s (where round-half-to-even decides) and zero.
func TestFloat32Threshold(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	check := func(t32 float32, v float64) {
		t.Helper()
		want := float32(v) < t32
		got := v < float32Threshold(t32)
		if got != want {
			t.Fatalf("t=%v v=%v: float64 test %v, float32 test %v", t32, v, got, want)
		}
	}
	ts := []float32{0, 1, -1, 0.1, 1e-38, -3.4e38, math.MaxFloat32, float32(math.Inf(1)), float32(math.Inf(-1)), math.SmallestNonzeroFloat32}
	for range 2000 {
		ts = append(ts, float32(rng.NormFloat64()*math.Pow(10, float64(rng.IntN(20)-10))))
	}
	for _, t32 := range ts {
		p := math.Nextafter32(t32, float32(math.Inf(-1)))
		q := math.Nextafter32(t32, float32(math.Inf(1)))
		mids := []float64{(float64(p) + float64(t32)) / 2, (float64(t32) + float64(q)) / 2}
		for _, m := range mids {
			if math.IsInf(m, 0) || math.IsNaN(m) {
				continue
			}
			for _, v := range []float64{m, math.Nextafter(m, math.Inf(1)), math.Nextafter(m, math.Inf(-1))} {
				check(t32, v)
			}
		}
		for _, v := range []float64{float64(t32), float64(p), float64(q), float64(t32) * (1 + 1e-9), float64(t32) * (1 - 1e-9)} {
			if !math.IsNaN(v) {
				check(t32, v)
			}
		}
	}
	check(float32(math.Inf(1)), math.MaxFloat64)
	check(float32(math.Inf(1)), float64(math.MaxFloat32)+math.Ldexp(1, 103))
	check(float32(math.Inf(1)), math.Nextafter(float64(math.MaxFloat32)+math.Ldexp(1, 103), 0))
}

func TestRadixSortFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{0, 1, 255, 256, 1000, 50000} {
		v := make([]float64, n)
		for i := range v {
			switch rng.IntN(6) {
			case 0:
				v[i] = rng.NormFloat64() * 1e-300
			case 1:
				v[i] = math.Inf(1 - 2*rng.IntN(2))
			case 2:
				v[i] = float64(rng.IntN(5)) - 2 // ties, ±0
			case 3:
				v[i] = math.Copysign(0, -1)
			default:
				v[i] = rng.NormFloat64() * math.Pow(10, float64(rng.IntN(40)-20))
			}
		}
		want := slices.Clone(v)
		slices.Sort(want)
		radixSortFloat64(v)
		for i := range v {
			if v[i] != want[i] {
				t.Fatalf("n=%d: position %d: %v, want %v", n, i, v[i], want[i])
			}
		}
	}
}

func TestFeatureCuts(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		name     string
		col      []float64
		maxBins  int
		want     []float64
		wantMiss bool
	}{
		{"distinct values are cuts", []float64{3, 1, 2, 2, 1}, 256, []float64{2, 3, math.Inf(1)}, false},
		{"missing", []float64{nan, 5, 5, nan}, 256, []float64{math.Inf(1)}, true},
		{"all missing", []float64{nan, nan}, 256, []float64{math.Inf(1)}, true},
		{"negative zero", []float64{0, math.Copysign(0, -1), 1}, 256, []float64{1, math.Inf(1)}, false},
		// 8 values, 4 bins: quantile ranks 2, 4, 6 → values 2, 4, 6.
		{"quantiles", []float64{7, 6, 5, 4, 3, 2, 1, 0}, 4, []float64{2, 4, 6, math.Inf(1)}, false},
		// Heavy ties: ranks 2,4,6 hit 0,0,9 → cuts deduplicated, none at the minimum.
		{"ties", []float64{0, 0, 0, 0, 0, 0, 9, 9}, 4, []float64{9, math.Inf(1)}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, miss := featureCuts(c.col, nil, c.maxBins)
			if !slices.Equal(got, c.want) || miss != c.wantMiss {
				t.Errorf("cuts %v missing %v, want %v %v", got, miss, c.want, c.wantMiss)
			}
		})
	}
	// A feature with missing values and 256 distinct values falls back to
	// 255 quantile bins so that the missing code fits a uint8.
	col := make([]float64, 0, 300)
	for i := range 256 {
		col = append(col, float64(i))
	}
	col = append(col, nan)
	cuts, miss := featureCuts(col, nil, 256)
	if !miss || len(cuts) > 255 {
		t.Errorf("256 distinct + NaN: %d bins, missing %v", len(cuts), miss)
	}
}
