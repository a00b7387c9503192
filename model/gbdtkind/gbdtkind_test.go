package gbdtkind_test

import (
	"slices"

	"bytes"
	"context"
	"github.com/duesight/duesight/model/calibrate"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/duesight/duesight/model"
	"github.com/duesight/duesight/model/gbdt"
	"github.com/duesight/duesight/model/gbdtkind"
)

// dataset draws rows whose late probability is σ(2·x0 − x1·x2), with 10%
// of x1 missing.
func dataset(n int, seed uint64) *model.Dataset {
	r := rand.New(rand.NewPCG(seed, 1))
	d := &model.Dataset{Names: []string{"x0", "x1", "x2"}, X: make([][]float64, 3), Y: make([]float64, n)}
	for j := range d.X {
		d.X[j] = make([]float64, n)
	}
	for i := 0; i < n; i++ {
		x0, x1, x2 := r.NormFloat64(), r.NormFloat64(), r.NormFloat64()
		p := 1 / (1 + math.Exp(-(2*x0 - x1*x2)))
		if r.Float64() < p {
			d.Y[i] = 1
		}
		if r.IntN(10) == 0 {
			x1 = math.NaN()
		}
		d.X[0][i], d.X[1][i], d.X[2][i] = x0, x1, x2
	}
	return d
}

func params() gbdt.Params {
	p := gbdt.DefaultParams()
	p.NumRounds, p.MaxDepth, p.Eta, p.EarlyStoppingRounds = 60, 4, 0.2, 10
	return p
}

func TestArtifactRoundTripAndExplain(t *testing.T) {
	ctx := context.Background()
	train, valid := dataset(4000, 1), dataset(1000, 2)
	m, err := gbdtkind.Fit(ctx, train, valid, params())
	if err != nil {
		t.Fatal(err)
	}
	meta := model.Meta{SchemaVersion: "test/v1", TrainFrom: "2024-01-01", TrainTo: "2024-06-30",
		CreatedAt: time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)}
	a, err := model.NewArtifact(m, meta)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := a.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := model.Load(bytes.NewReader(buf.Bytes()), model.Schema{Version: "test/v1", Names: train.Names})
	if err != nil {
		t.Fatal(err)
	}
	got, err := back.Model()
	if err != nil {
		t.Fatal(err)
	}
	if got.Kind() != gbdtkind.Kind {
		t.Fatalf("kind %q", got.Kind())
	}
	out := make([]float64, valid.Rows())
	if err := got.PredictBatch(valid.X, out); err != nil {
		t.Fatal(err)
	}
	row := make([]float64, 3)
	var correct int
	for i := range out {
		row = valid.Row(i, row)
		if p := m.PredictProba(row); p != out[i] {
			t.Fatalf("row %d: batch %v, single %v", i, out[i], p)
		}
		if (out[i] > 0.5) == (valid.Y[i] == 1) {
			correct++
		}
		// TreeSHAP contributions plus the bias sum to the margin.
		reasons := got.Explain(row, 0)
		var sum float64
		for _, r := range reasons {
			sum += r.Contribution
		}
		raw, _ := m.Ensemble().PredictRaw(nil, row)
		phi, _ := m.Ensemble().Contributions(nil, row)
		if math.Abs(sum+phi[len(phi)-1]-raw[0]) > 1e-9 {
			t.Fatalf("row %d: contributions %v + bias %v != margin %v", i, sum, phi[len(phi)-1], raw[0])
		}
	}
	// The signal is strong: the model must beat a coin clearly (accuracy of
	// the true probabilities on this data is about 0.78).
	if acc := float64(correct) / float64(len(out)); acc < 0.7 {
		t.Fatalf("accuracy %.3f; the model learned nothing", acc)
	}
	// Top reason for a row with a large x0 is x0.
	if r := got.Explain([]float64{3, 0, 0}, 1); len(r) != 1 || r[0].Feature != "x0" || r[0].Direction != model.Up {
		t.Fatalf("Explain top reason = %+v; want x0 up", r)
	}
}

func TestDeterministicArtifact(t *testing.T) {
	ctx := context.Background()
	meta := model.Meta{SchemaVersion: "test/v1", TrainFrom: "2024-01-01", TrainTo: "2024-06-30",
		CreatedAt: time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)}
	var prev []byte
	for i := 0; i < 2; i++ {
		p := params()
		p.Subsample, p.ColsampleByTree, p.Seed = 0.8, 0.7, 42
		m, err := gbdtkind.Fit(ctx, dataset(3000, 5), dataset(800, 6), p)
		if err != nil {
			t.Fatal(err)
		}
		a, err := model.NewArtifact(m, meta)
		if err != nil {
			t.Fatal(err)
		}
		b, err := a.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if prev != nil && !bytes.Equal(prev, b) {
			t.Fatal("same data, params and seed gave different artifact bytes")
		}
		prev = b
	}
}

func TestRejectsNonBinary(t *testing.T) {
	d := dataset(500, 9)
	p := params()
	p.Objective, p.EarlyStoppingRounds = gbdt.RegSquaredError, 0
	e, err := gbdt.Train(context.Background(), gbdt.Dataset{X: d.X, Y: d.Y, FeatureNames: d.Names}, nil, p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gbdtkind.Wrap(e); err == nil {
		t.Fatal("Wrap accepted a regression ensemble")
	}
}

// The top-k selection of Explain equals sorting every contribution.
func TestExplainTopKMatchesFullSort(t *testing.T) {
	d := dataset(3000, 3)
	m, err := gbdtkind.Fit(context.Background(), d, dataset(500, 4), params())
	if err != nil {
		t.Fatal(err)
	}
	row := make([]float64, 3)
	for i := 0; i < 300; i++ {
		row = d.Row(i, row)
		all := m.Explain(row, 0)
		for k := 1; k <= 3; k++ {
			got := m.Explain(row, k)
			if len(got) != k {
				t.Fatalf("row %d k=%d: %d reasons", i, k, len(got))
			}
			for r := range got {
				if got[r].Feature != all[r].Feature || got[r].Contribution != all[r].Contribution {
					t.Fatalf("row %d k=%d: reason %d = %+v; full sort gives %+v", i, k, r, got[r], all[r])
				}
			}
		}
		exact := m.ExplainExact(row, 0)
		var a, b float64
		for r := range all {
			a += all[r].Contribution
			b += exact[r].Contribution
		}
		if math.Abs(a-b) > 1e-9 { // both sum (with the same bias) to the margin
			t.Fatalf("row %d: path Σφ %v, TreeSHAP Σφ %v", i, a, b)
		}
	}
}

// PredictExplain equals PredictProba and Explain exactly, also calibrated.
func TestPredictExplainEqualsSeparateCalls(t *testing.T) {
	d := dataset(3000, 21)
	raw, err := gbdtkind.Fit(context.Background(), d, dataset(500, 22), params())
	if err != nil {
		t.Fatal(err)
	}
	scores := make([]float64, d.Rows())
	if err := raw.PredictBatch(d.X, scores); err != nil {
		t.Fatal(err)
	}
	cal, err := calibrate.FitIsotonic(scores, d.Y, nil)
	if err != nil {
		t.Fatal(err)
	}
	row := make([]float64, 3)
	var dst []model.Reason
	for _, m := range []model.Model{raw, model.Calibrated(raw, cal)} {
		for i := 0; i < 300; i++ {
			row = d.Row(i, row)
			for k := 1; k <= 2; k++ {
				var p float64
				p, dst = model.PredictExplain(m, row, k, dst)
				if want := m.PredictProba(row); p != want {
					t.Fatalf("row %d: PredictExplain p %v, PredictProba %v", i, p, want)
				}
				if want := m.Explain(row, k); !slices.EqualFunc(dst, want, sameReason) {
					t.Fatalf("row %d k %d: reasons %v, Explain %v", i, k, dst, want)
				}
			}
		}
	}
}

// sameReason compares reasons with NaN (missing) values equal to each other.
func sameReason(a, b model.Reason) bool {
	sameValue := a.Value == b.Value || math.IsNaN(a.Value) && math.IsNaN(b.Value)
	return a.Feature == b.Feature && sameValue && a.Contribution == b.Contribution && a.Direction == b.Direction
}
