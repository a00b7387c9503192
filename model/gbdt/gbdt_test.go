package gbdt_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"log/slog"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/duesight/duesight/model/gbdt"
)

// stump returns parameters for one exact depth-1 tree: η = 1, explicit base
// score, no child-weight floor.
func stump(obj gbdt.Objective, base, lambda float64) gbdt.Params {
	p := gbdt.DefaultParams()
	p.Objective = obj
	p.NumRounds = 1
	p.Eta = 1
	p.MaxDepth = 1
	p.MinChildWeight = 0
	p.Lambda = lambda
	p.BaseScore = base
	return p
}

func predictOne(t *testing.T, m *gbdt.Ensemble, row ...float64) float64 {
	t.Helper()
	out, err := m.PredictRaw(nil, row)
	if err != nil {
		t.Fatal(err)
	}
	return out[0]
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// TestSingleSplitByHand checks one squared-error split against arithmetic
// done by hand.
//
// x = 1,2,3,4; y = 0,0,10,10; base 0 so g = m-y = 0,0,-10,-10 and h = 1.
// Root: G = -20, H = 4. With λ = 1 the candidate thresholds score
//
//	x<2: 0²/2 + 20²/4 − 20²/5 = 100 − 80 = 20
//	x<3: 0²/3 + 20²/3 − 80    = 133.33… − 80 = 53.33…
//	x<4: 10²/4 + 10²/2 − 80  = 25 + 50 − 80 = −5
//
// so the split is x < 3 with loss change 160/3; leaves w = −G/(H+λ):
// left 0/3 = 0, right 20/3.
func TestSingleSplitByHand(t *testing.T) {
	d := gbdt.Dataset{X: [][]float64{{1, 2, 3, 4}}, Y: []float64{0, 0, 10, 10}}
	m, err := gbdt.Train(context.Background(), d, nil, stump(gbdt.RegSquaredError, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ x, want float64 }{
		{1, 0}, {2.999, 0}, {3, 20.0 / 3}, {100, 20.0 / 3}, {-100, 0},
	} {
		if got := predictOne(t, m, c.x); !near(got, c.want) {
			t.Errorf("f(%v) = %v, want %v", c.x, got, c.want)
		}
	}
	gain, err := m.Importance(gbdt.ImportanceTotalGain)
	if err != nil {
		t.Fatal(err)
	}
	if !near(gain[0], 160.0/3) {
		t.Errorf("loss change %v, want 160/3", gain[0])
	}
	cover, _ := m.Importance(gbdt.ImportanceTotalCover)
	if !near(cover[0], 4) {
		t.Errorf("cover %v, want 4 (hessian sum)", cover[0])
	}

	// γ just above 160/3 forbids the split; just below allows it.
	p := stump(gbdt.RegSquaredError, 0, 1)
	p.Gamma = 53.4
	m, err = gbdt.Train(context.Background(), d, nil, p)
	if err != nil {
		t.Fatal(err)
	}
	// No split: one leaf w = 20/(4+1) = 4.
	if got := predictOne(t, m, 1); !near(got, 4) {
		t.Errorf("gamma=53.4: f(1) = %v, want the single leaf 4", got)
	}
	p.Gamma = 53.3
	if m, err = gbdt.Train(context.Background(), d, nil, p); err != nil {
		t.Fatal(err)
	}
	if got := predictOne(t, m, 1); !near(got, 0) {
		t.Errorf("gamma=53.3: f(1) = %v, want 0 (split kept)", got)
	}
}

// TestAlphaByHand: with α = 5 the right leaf is −T(G)/(H+λ) with
// T(−20) = −15: 15/3 = 5; the left leaf (G = 0) stays 0.
func TestAlphaByHand(t *testing.T) {
	d := gbdt.Dataset{X: [][]float64{{1, 2, 3, 4}}, Y: []float64{0, 0, 10, 10}}
	p := stump(gbdt.RegSquaredError, 0, 1)
	p.Alpha = 5
	m, err := gbdt.Train(context.Background(), d, nil, p)
	if err != nil {
		t.Fatal(err)
	}
	if got := predictOne(t, m, 4); !near(got, 5) {
		t.Errorf("f(4) = %v, want 5", got)
	}
	if got := predictOne(t, m, 1); !near(got, 0) {
		t.Errorf("f(1) = %v, want 0", got)
	}
}

// TestMissingRouting checks the learned default direction by hand.
func TestMissingRouting(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		name       string
		x, y       []float64
		probe      []float64
		want       []float64
		wantMissTo float64
	}{
		{
			// λ = 0, g = −y. Root G = −40, H = 6, score 1600/6.
			// x<3, missing right: L {1,2}: 0; R {3,4,NaN,NaN}: 40²/4 = 400 → gain 133.3
			// x<3, missing left:  L {1,2,NaN,NaN}: 20²/4 = 100; R {3,4}: 20²/2 = 200 → 33.3
			// Missing goes right with the 10s: leaves 0 and 40/4 = 10.
			name: "missing joins the high side", x: []float64{1, 2, 3, 4, nan, nan}, y: []float64{0, 0, 10, 10, 10, 10},
			probe: []float64{1, 2.5, 3, 4}, want: []float64{0, 0, 10, 10}, wantMissTo: 10,
		},
		{
			// Only missingness is informative: the best split sends every
			// present value left (0) and missing right (10).
			name: "present versus missing", x: []float64{1, 2, 3, 4, nan, nan}, y: []float64{0, 0, 0, 0, 10, 10},
			probe: []float64{-5, 1, 4, 1e9}, want: []float64{0, 0, 0, 0}, wantMissTo: 10,
		},
		{
			// Missing rows look like the low values: default left.
			// x<3 missing left: L {1,2,NaN,NaN}: 0; R {3,4}: 20²/2 = 200 (best).
			name: "missing joins the low side", x: []float64{1, 2, 3, 4, nan, nan}, y: []float64{0, 0, 10, 10, 0, 0},
			probe: []float64{1, 3}, want: []float64{0, 10}, wantMissTo: 0,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := gbdt.Train(context.Background(), gbdt.Dataset{X: [][]float64{c.x}, Y: c.y}, nil, stump(gbdt.RegSquaredError, 0, 0))
			if err != nil {
				t.Fatal(err)
			}
			for i, x := range c.probe {
				if got := predictOne(t, m, x); !near(got, c.want[i]) {
					t.Errorf("f(%v) = %v, want %v", x, got, c.want[i])
				}
			}
			if got := predictOne(t, m, nan); !near(got, c.wantMissTo) {
				t.Errorf("f(NaN) = %v, want %v", got, c.wantMissTo)
			}
		})
	}
}

func synthSplit(n int, seed uint64) (train, valid gbdt.Dataset) {
	X, y := synthInvoices(n, seed)
	cut := n * 3 / 4
	return gbdt.Dataset{X: sliceRows(X, 0, cut), Y: y[:cut]}, gbdt.Dataset{X: sliceRows(X, cut, n), Y: y[cut:]}
}

func TestMonotoneConstraints(t *testing.T) {
	train, _ := synthSplit(3000, 3)
	probe := toRows(sliceRows(train.X, 0, 25))
	// prior_late_rate (≈15% missing) truly raises risk, credit_score lowers
	// it. A constraint along the data must still let the feature act; one
	// against it may flatten the feature, but never reverse it.
	cases := []struct {
		feat, dir int
		mustMove  bool
	}{{4, +1, true}, {4, -1, false}, {6, -1, true}, {6, +1, false}}
	for _, c := range cases {
		{
			feat, dir := c.feat, c.dir
			p := gbdt.DefaultParams()
			p.NumRounds = 20
			p.MonotoneConstraints = make([]int, len(train.X))
			p.MonotoneConstraints[feat] = dir
			m, err := gbdt.Train(context.Background(), train, nil, p)
			if err != nil {
				t.Fatal(err)
			}
			lo, hi := math.Inf(1), math.Inf(-1)
			for _, v := range train.X[feat] {
				if !math.IsNaN(v) {
					lo, hi = math.Min(lo, v), math.Max(hi, v)
				}
			}
			changed := false
			for _, base := range probe {
				row := append([]float64(nil), base...)
				prev := math.NaN()
				for k := range 300 {
					row[feat] = lo - 1 + (hi-lo+2)*float64(k)/299
					got := predictOne(t, m, row...)
					if !math.IsNaN(prev) {
						if float64(dir)*(got-prev) < -1e-12 {
							t.Fatalf("feature %d constraint %+d violated: f=%v after %v at x=%v", feat, dir, got, prev, row[feat])
						}
						if got != prev {
							changed = true
						}
					}
					prev = got
				}
			}
			if c.mustMove && !changed {
				t.Errorf("feature %d constraint %+d: prediction never moves along the grid; the test proves nothing", feat, dir)
			}
		}
	}
}

func TestEarlyStoppingKeepsBestIteration(t *testing.T) {
	train, valid := synthSplit(4000, 4)
	p := gbdt.DefaultParams()
	p.NumRounds = 300
	p.Eta = 0.5 // overfits quickly
	p.MaxDepth = 7
	p.EarlyStoppingRounds = 5
	m, err := gbdt.Train(context.Background(), train, &valid, p)
	if err != nil {
		t.Fatal(err)
	}
	metric, hist := m.EvalHistory()
	best := m.BestIteration()
	if metric != gbdt.MetricLogLoss {
		t.Fatalf("metric %q", metric)
	}
	if len(hist) == p.NumRounds {
		t.Fatalf("never stopped early in %d rounds", p.NumRounds)
	}
	if len(hist) != best+1+p.EarlyStoppingRounds {
		t.Errorf("stopped after %d rounds; best %d + patience %d", len(hist), best, p.EarlyStoppingRounds)
	}
	for i, v := range hist {
		if v < hist[best] {
			t.Errorf("round %d logloss %v beats the chosen best round %d (%v)", i, v, best, hist[best])
		}
	}
	if m.NumRounds() != best+1 {
		t.Errorf("kept %d rounds, want %d", m.NumRounds(), best+1)
	}
	// The kept model's validation log loss, computed independently, is the
	// best recorded value.
	pred, err := m.PredictColumns(nil, valid.X, gbdt.PredictOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := refLogLoss(valid.Y, pred); math.Abs(got-hist[best]) > 1e-9 {
		t.Errorf("kept model logloss %v, history says %v", got, hist[best])
	}

	p.EvalMetric = gbdt.MetricAUC
	m, err = gbdt.Train(context.Background(), train, &valid, p)
	if err != nil {
		t.Fatal(err)
	}
	_, hist = m.EvalHistory()
	best = m.BestIteration()
	for i, v := range hist {
		if v > hist[best] {
			t.Errorf("AUC: round %d %v beats the chosen best %d (%v)", i, v, best, hist[best])
		}
	}
	pred, _ = m.PredictColumns(pred, valid.X, gbdt.PredictOptions{})
	if got := refAUC(valid.Y, pred); math.Abs(got-hist[best]) > 1e-9 {
		t.Errorf("kept model AUC %v (reference implementation), history says %v", got, hist[best])
	}
}

func TestMulticlass(t *testing.T) {
	X, yb := synthInvoices(3000, 8)
	// Five late buckets from a noisy function of two columns.
	y := make([]float64, len(yb))
	for i := range y {
		s := 2*yb[i] + math.Floor(X[16][i]/4) // label ∈ {0,1} × month third
		y[i] = math.Min(4, s)
	}
	p := gbdt.DefaultParams()
	p.Objective = gbdt.MultiSoftprob
	p.NumClass = 5
	p.NumRounds = 10
	m, err := gbdt.Train(context.Background(), gbdt.Dataset{X: X, Y: y}, nil, p)
	if err != nil {
		t.Fatal(err)
	}
	if m.NumTrees() != 50 {
		t.Errorf("%d trees, want 10 rounds × 5 classes", m.NumTrees())
	}
	pred, err := m.PredictColumns(nil, X, gbdt.PredictOptions{})
	if err != nil {
		t.Fatal(err)
	}
	correct := 0
	for i := range y {
		s, arg := 0.0, 0
		for k := range 5 {
			v := pred[i*5+k]
			if v < 0 || v > 1 {
				t.Fatalf("row %d class %d probability %v", i, k, v)
			}
			s += v
			if v > pred[i*5+arg] {
				arg = k
			}
		}
		if math.Abs(s-1) > 1e-12 {
			t.Fatalf("row %d probabilities sum to %v", i, s)
		}
		if float64(arg) == y[i] {
			correct++
		}
	}
	// Class priors: the month part alone is learnable; demand clearly
	// better than the majority class.
	counts := make([]int, 5)
	for _, v := range y {
		counts[int(v)]++
	}
	majority := 0
	for _, c := range counts {
		majority = max(majority, c)
	}
	if correct <= majority+len(y)/20 {
		t.Errorf("train accuracy %d/%d does not beat the majority class (%d) by 5 points", correct, len(y), majority)
	}
}

// TestContributionsSumToMargin checks TreeSHAP's efficiency property on
// trained binary and multiclass models, with missing values in the rows.
func TestContributionsSumToMargin(t *testing.T) {
	X, y := synthInvoices(2000, 9)
	for _, obj := range []gbdt.Objective{gbdt.BinaryLogistic, gbdt.MultiSoftprob} {
		p := gbdt.DefaultParams()
		p.Objective = obj
		p.NumRounds = 15
		if obj == gbdt.MultiSoftprob {
			p.NumClass = 2
		}
		m, err := gbdt.Train(context.Background(), gbdt.Dataset{X: X, Y: y}, nil, p)
		if err != nil {
			t.Fatal(err)
		}
		F, K := m.NumFeatures(), m.NumOutputs()
		var phi, margin []float64
		for _, row := range toRows(sliceRows(X, 0, 200)) {
			if phi, err = m.Contributions(phi, row); err != nil {
				t.Fatal(err)
			}
			if len(phi) != K*(F+1) {
				t.Fatalf("%d contributions, want %d", len(phi), K*(F+1))
			}
			margin, _ = m.PredictRaw(margin, row)
			for k := range K {
				s := 0.0
				for _, v := range phi[k*(F+1) : (k+1)*(F+1)] {
					s += v
				}
				if math.Abs(s-margin[k]) > 1e-9 {
					t.Fatalf("%s output %d: contributions sum to %v, margin %v", obj, k, s, margin[k])
				}
			}
		}
	}
}

// TestContributionsByHand: for a single stump f(x) = 0 if x0 < 3 else 20/3
// with equal covers (2 and 2), E[f] = 10/3 and φ_0(x) = f(x) − 10/3; the
// unused feature gets 0.
func TestContributionsByHand(t *testing.T) {
	d := gbdt.Dataset{X: [][]float64{{1, 2, 3, 4}, {5, 5, 5, 5}}, Y: []float64{0, 0, 10, 10}}
	m, err := gbdt.Train(context.Background(), d, nil, stump(gbdt.RegSquaredError, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	phi, err := m.Contributions(nil, []float64{4, 0})
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{20.0/3 - 10.0/3, 0, 10.0 / 3}
	for i := range want {
		if !near(phi[i], want[i]) {
			t.Errorf("phi = %v, want %v", phi, want)
			break
		}
	}
}

func TestBatchMatchesSingleRow(t *testing.T) {
	train, valid := synthSplit(4000, 10)
	for _, obj := range []gbdt.Objective{gbdt.BinaryLogistic, gbdt.MultiSoftprob, gbdt.RegSquaredError} {
		p := gbdt.DefaultParams()
		p.Objective = obj
		p.NumRounds = 10
		d := train
		if obj == gbdt.MultiSoftprob {
			p.NumClass = 3
			d.Y = make([]float64, len(train.Y))
			for i := range d.Y {
				d.Y[i] = float64(i % 3)
			}
		}
		m, err := gbdt.Train(context.Background(), d, nil, p)
		if err != nil {
			t.Fatal(err)
		}
		rows := toRows(valid.X)
		K := m.NumOutputs()
		for _, raw := range []bool{false, true} {
			var want []float64
			for _, row := range rows {
				var out []float64
				if raw {
					out, err = m.PredictRaw(nil, row)
				} else {
					out, err = m.Predict(nil, row)
				}
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, out...)
			}
			for _, th := range []int{1, 2, 3} {
				cols, err := m.PredictColumns(nil, valid.X, gbdt.PredictOptions{Raw: raw, Threads: th})
				if err != nil {
					t.Fatal(err)
				}
				rs, err := m.PredictRows(nil, rows, gbdt.PredictOptions{Raw: raw, Threads: th})
				if err != nil {
					t.Fatal(err)
				}
				if len(cols) != len(rows)*K || len(rs) != len(rows)*K {
					t.Fatalf("batch sizes %d, %d for %d rows × %d", len(cols), len(rs), len(rows), K)
				}
				for i := range want {
					if cols[i] != want[i] || rs[i] != want[i] {
						t.Fatalf("%s raw=%v threads=%d: value %d: columns %v rows %v single %v", obj, raw, th, i, cols[i], rs[i], want[i])
					}
				}
			}
		}
	}
}

func trainBytes(t *testing.T, d gbdt.Dataset, valid *gbdt.Dataset, p gbdt.Params) []byte {
	t.Helper()
	m, err := gbdt.Train(context.Background(), d, valid, p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDeterminism: the same data, parameters and seed give byte-identical
// models whatever the thread count or GOMAXPROCS; another seed differs.
func TestDeterminism(t *testing.T) {
	train, valid := synthSplit(17000, 12) // 12750 training rows: two 8192-row histogram blocks at the root
	cases := []struct {
		name string
		set  func(*gbdt.Params)
	}{
		{"depthwise sampled", func(p *gbdt.Params) {
			p.Subsample, p.ColsampleByTree, p.ColsampleByNode = 0.8, 0.7, 0.8
		}},
		{"lossguide", func(p *gbdt.Params) {
			p.GrowPolicy, p.MaxDepth, p.MaxLeaves = gbdt.LossGuide, 0, 24
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := gbdt.DefaultParams()
			p.NumRounds = 4
			p.Seed = 42
			c.set(&p)
			p.NThread = 1
			ref := trainBytes(t, train, &valid, p)
			p.NThread = 2
			if got := trainBytes(t, train, &valid, p); !bytes.Equal(got, ref) {
				t.Error("NThread 2 differs from NThread 1")
			}
			p.NThread = 5
			if got := trainBytes(t, train, &valid, p); !bytes.Equal(got, ref) {
				t.Error("NThread 5 differs from NThread 1")
			}
			p.NThread = 0 // GOMAXPROCS
			for _, procs := range []int{1, 2} {
				old := runtime.GOMAXPROCS(procs)
				got := trainBytes(t, train, &valid, p)
				runtime.GOMAXPROCS(old)
				if !bytes.Equal(got, ref) {
					t.Errorf("GOMAXPROCS=%d differs", procs)
				}
			}
			if c.name == "depthwise sampled" {
				p.Seed = 43
				if got := trainBytes(t, train, &valid, p); bytes.Equal(got, ref) {
					t.Error("seed 43 gives the same model as seed 42 despite sampling")
				}
			}
		})
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	train, valid := synthSplit(3000, 13)
	p := gbdt.DefaultParams()
	p.NumRounds = 12
	train.FeatureNames = synthNames
	m, err := gbdt.Train(context.Background(), train, &valid, p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var m2 gbdt.Ensemble
	if err := m2.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	b2, err := m2.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, b2) {
		t.Fatal("re-encoding differs")
	}
	if strings.Join(m2.FeatureNames(), ",") != strings.Join(synthNames, ",") || m2.BestIteration() != m.BestIteration() {
		t.Error("metadata lost")
	}
	for _, row := range toRows(valid.X)[:300] {
		a, _ := m.PredictRaw(nil, row)
		c, _ := m2.PredictRaw(nil, row)
		pa, _ := m.Contributions(nil, row)
		pc, _ := m2.Contributions(nil, row)
		if a[0] != c[0] {
			t.Fatalf("prediction %v vs %v", a[0], c[0])
		}
		for j := range pa {
			if pa[j] != pc[j] {
				t.Fatalf("contribution %d: %v vs %v", j, pa[j], pc[j])
			}
		}
	}
}

// TestUnmarshalCorrupt: truncation, bit flips and structurally bad
// content with a valid checksum are all errors, never panics.
func TestUnmarshalCorrupt(t *testing.T) {
	train, _ := synthSplit(800, 14)
	p := gbdt.DefaultParams()
	p.NumRounds = 3
	p.MaxDepth = 3
	m, err := gbdt.Train(context.Background(), train, nil, p)
	if err != nil {
		t.Fatal(err)
	}
	good, _ := m.MarshalBinary()
	for n := 0; n < len(good); n++ {
		var e gbdt.Ensemble
		if err := e.UnmarshalBinary(good[:n]); !errors.Is(err, gbdt.ErrCorrupt) {
			t.Fatalf("truncated to %d bytes: err = %v", n, err)
		}
	}
	for i := range good {
		bad := bytes.Clone(good)
		bad[i] ^= 0x10
		var e gbdt.Ensemble
		if err := e.UnmarshalBinary(bad); !errors.Is(err, gbdt.ErrCorrupt) {
			t.Fatalf("flipped byte %d: err = %v", i, err)
		}
		// With the checksum recomputed, structural checks must catch
		// whatever matters; if the result decodes, it must be usable.
		fixChecksum(bad)
		if err := e.UnmarshalBinary(bad); err == nil {
			row := make([]float64, e.NumFeatures())
			if _, err := e.PredictRaw(nil, row); err != nil {
				t.Fatalf("flipped byte %d decoded but cannot predict: %v", i, err)
			}
			if _, err := e.Contributions(nil, row); err != nil {
				t.Fatalf("flipped byte %d decoded but cannot explain: %v", i, err)
			}
		} else if !errors.Is(err, gbdt.ErrCorrupt) {
			t.Fatalf("flipped byte %d: error %v does not wrap ErrCorrupt", i, err)
		}
	}
}

func FuzzUnmarshalBinary(f *testing.F) {
	train, _ := synthSplit(400, 15)
	p := gbdt.DefaultParams()
	p.NumRounds = 2
	p.MaxDepth = 2
	m, err := gbdt.Train(context.Background(), train, nil, p)
	if err != nil {
		f.Fatal(err)
	}
	good, _ := m.MarshalBinary()
	f.Add(good)
	f.Add([]byte("DSGBDT\x00\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var e gbdt.Ensemble
		if len(data) > 12 {
			fixChecksum(data)
		}
		if err := e.UnmarshalBinary(data); err != nil {
			return
		}
		row := make([]float64, e.NumFeatures())
		if _, err := e.PredictRaw(nil, row); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Contributions(nil, row); err != nil {
			t.Fatal(err)
		}
	})
}

// cancelAfterRound is a slog handler that cancels a context when training
// logs the given round.
type cancelAfterRound struct {
	round  int64
	cancel context.CancelFunc
}

func (h *cancelAfterRound) Enabled(context.Context, slog.Level) bool { return true }
func (h *cancelAfterRound) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "round" && a.Value.Int64() == h.round {
			h.cancel()
		}
		return true
	})
	return nil
}
func (h *cancelAfterRound) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *cancelAfterRound) WithGroup(string) slog.Handler      { return h }

func TestContextCancellation(t *testing.T) {
	train, _ := synthSplit(2000, 16)
	ctx, cancel := context.WithCancel(context.Background())
	p := gbdt.DefaultParams()
	p.NumRounds = 1000
	p.Logger = slog.New(&cancelAfterRound{round: 3, cancel: cancel})
	m, err := gbdt.Train(ctx, train, nil, p)
	if !errors.Is(err, context.Canceled) || m != nil {
		t.Fatalf("Train after cancel: model %v, err %v", m != nil, err)
	}
	if !strings.Contains(err.Error(), "after 4 of 1000 rounds") {
		t.Errorf("error %q does not say where training stopped", err)
	}
	if _, err := gbdt.Train(ctx, train, nil, gbdt.DefaultParams()); !errors.Is(err, context.Canceled) {
		t.Errorf("already-cancelled context: err %v", err)
	}
}

func TestLossGuideLeafBudget(t *testing.T) {
	train, _ := synthSplit(5000, 17)
	for _, leaves := range []int{2, 7, 31} {
		p := gbdt.DefaultParams()
		p.GrowPolicy = gbdt.LossGuide
		p.MaxDepth = 0
		p.MaxLeaves = leaves
		p.NumRounds = 5
		m, err := gbdt.Train(context.Background(), train, nil, p)
		if err != nil {
			t.Fatal(err)
		}
		splits, _ := m.Importance(gbdt.ImportanceWeight)
		total := 0.0
		for _, s := range splits {
			total += s
		}
		// A binary tree with L leaves has L-1 splits: the budget binds
		// exactly on this data (every tree can use it).
		if int(total) != 5*(leaves-1) {
			t.Errorf("max_leaves=%d: %v splits over 5 trees, want %d", leaves, total, 5*(leaves-1))
		}
	}
}

// TestWeightsEqualDuplicates: weight 2 on a row equals listing it twice
// (with fewer distinct values than bins the cuts agree exactly).
func TestWeightsEqualDuplicates(t *testing.T) {
	n := 300
	x0, x1, y, w := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	var d0, d1, dy []float64
	for i := range n {
		x0[i] = float64(i % 17)
		x1[i] = float64((i * 7) % 23)
		if (i%17)+(i*7%23)/2 > 12 != (i%5 == 0) {
			y[i] = 1
		}
		w[i] = float64(1 + i%2)
		for range int(w[i]) {
			d0, d1, dy = append(d0, x0[i]), append(d1, x1[i]), append(dy, y[i])
		}
	}
	p := gbdt.DefaultParams()
	p.NumRounds = 5
	a, err := gbdt.Train(context.Background(), gbdt.Dataset{X: [][]float64{x0, x1}, Y: y, Weight: w}, nil, p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := gbdt.Train(context.Background(), gbdt.Dataset{X: [][]float64{d0, d1}, Y: dy}, nil, p)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		pa := predictOne(t, a, x0[i], x1[i])
		pb := predictOne(t, b, x0[i], x1[i])
		if math.Abs(pa-pb) > 1e-9 {
			t.Fatalf("row %d: weighted %v, duplicated %v", i, pa, pb)
		}
	}
}

func TestRegressionFits(t *testing.T) {
	X, _ := synthInvoices(3000, 18)
	y := make([]float64, len(X[0]))
	for i := range y { // expected days late: a smooth function plus a step
		y[i] = 5*math.Log1p(X[0][i]/1000) + 3*X[1][i]/30
		if X[12][i] > 0 {
			y[i] += 10
		}
	}
	p := gbdt.DefaultParams()
	p.Objective = gbdt.RegSquaredError
	p.NumRounds = 40
	m, err := gbdt.Train(context.Background(), gbdt.Dataset{X: X, Y: y}, nil, p)
	if err != nil {
		t.Fatal(err)
	}
	pred, _ := m.PredictColumns(nil, X, gbdt.PredictOptions{})
	var mean, sse, sst float64
	for _, v := range y {
		mean += v / float64(len(y))
	}
	for i, v := range y {
		sse += (pred[i] - v) * (pred[i] - v)
		sst += (mean - v) * (mean - v)
	}
	if r2 := 1 - sse/sst; r2 < 0.99 {
		t.Errorf("train R² = %v on a noiseless target, want ≥ 0.99", r2)
	}
	if base := m.BaseMargins()[0]; math.Abs(base-mean) > 1e-9 {
		t.Errorf("auto base score %v, want the label mean %v", base, mean)
	}
}

// fixChecksum rewrites the CRC-32C trailer of an encoded model.
func fixChecksum(b []byte) {
	if len(b) < 4 {
		return
	}
	sum := crc32.Checksum(b[:len(b)-4], crc32.MakeTable(crc32.Castagnoli))
	binary.LittleEndian.PutUint32(b[len(b)-4:], sum)
}

// Path contributions sum to the margin and agree with TreeSHAP on a single
// stump (where both methods give the same attribution).
func TestPathContributions(t *testing.T) {
	d, _ := synthSplit(4000, 7)
	p := gbdt.DefaultParams()
	p.NumRounds, p.MaxDepth = 30, 4
	e, err := gbdt.Train(context.Background(), d, nil, p)
	if err != nil {
		t.Fatal(err)
	}
	F := e.NumFeatures()
	row := make([]float64, F)
	for i := 0; i < 200; i++ {
		for j := range row {
			row[j] = d.X[j][i]
		}
		phi, err := e.PathContributions(nil, row)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := e.PredictRaw(nil, row)
		var sum float64
		for _, v := range phi {
			sum += v
		}
		if math.Abs(sum-raw[0]) > 1e-9*math.Max(1, math.Abs(raw[0])) {
			t.Fatalf("row %d: Σφ = %v, margin %v", i, sum, raw[0])
		}
	}
	p.NumRounds, p.MaxDepth = 1, 1
	stump, err := gbdt.Train(context.Background(), d, nil, p)
	if err != nil {
		t.Fatal(err)
	}
	for j := range row {
		row[j] = d.X[j][0]
	}
	a, _ := stump.PathContributions(nil, row)
	b, _ := stump.Contributions(nil, row)
	for j := range a {
		if math.Abs(a[j]-b[j]) > 1e-12 {
			t.Fatalf("stump: path φ[%d] = %v, TreeSHAP %v", j, a[j], b[j])
		}
	}
	if _, err := e.PathContributions(nil, row[:F-1]); err == nil {
		t.Fatal("a short row was accepted")
	}
}

// PredictExplain returns exactly Predict and PathContributions.
func TestPredictExplainMatches(t *testing.T) {
	for _, obj := range []gbdt.Objective{gbdt.BinaryLogistic, gbdt.RegSquaredError} {
		d, _ := synthSplit(3000, 11)
		p := gbdt.DefaultParams()
		p.Objective, p.NumRounds, p.MaxDepth = obj, 40, 5
		e, err := gbdt.Train(context.Background(), d, nil, p)
		if err != nil {
			t.Fatal(err)
		}
		row := make([]float64, e.NumFeatures())
		for i := 0; i < 500; i++ {
			for j := range row {
				row[j] = d.X[j][i]
			}
			pred, phi, err := e.PredictExplain(nil, nil, row)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := e.Predict(nil, row)
			wantPhi, _ := e.PathContributions(nil, row)
			if pred[0] != want[0] {
				t.Fatalf("%s row %d: PredictExplain %v, Predict %v", obj, i, pred[0], want[0])
			}
			if !slices.Equal(phi, wantPhi) {
				t.Fatalf("%s row %d: contributions differ", obj, i)
			}
		}
	}
}
