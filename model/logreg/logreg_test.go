package logreg_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/duesight/duesight/model"
	"github.com/duesight/duesight/model/logreg"
)

// refK and refData mirror testdata/sklearn_reference.py exactly (integer
// arithmetic; labels are integer comparisons).
func refK(i, j int) int {
	return (i*37 + j*101 + ((i*i*13)%97)*(j+1)) % 1000
}

func refData(missing bool) *model.Dataset {
	const n = 200
	d := &model.Dataset{
		Names: []string{"x0", "x1", "x2", "x3"},
		X:     [][]float64{make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)},
		Y:     make([]float64, n),
		W:     make([]float64, n),
	}
	for i := range n {
		d.X[0][i] = float64(refK(i, 0))/100 - 5
		d.X[1][i] = float64(refK(i, 1)) / 500
		d.X[2][i] = float64(refK(i, 2))/10 - 50
		if i%7 == 0 {
			d.X[3][i] = 1
		}
		if missing {
			if i%5 == 2 {
				d.X[1][i] = math.NaN()
			}
			if i%11 == 3 {
				d.X[2][i] = math.NaN()
			}
		}
		s := 3*refK(i, 0) - 2*refK(i, 1) + refK(i, 2) + 4*refK(i, 4) - 3000
		if s > 0 {
			d.Y[i] = 1
		}
		d.W[i] = float64(1 + i%3)
	}
	return d
}

// TestFitMatchesSklearn compares standardised coefficients and intercepts
// with scikit-learn 1.2.1. Each "want" row was printed by
// testdata/sklearn_reference.py, i.e. by
//
//	make_pipeline(StandardScaler(), LogisticRegression(C=…,
//	    solver="newton-cholesky", tol=1e-12, max_iter=1000
//	    [, class_weight="balanced" | class_weight={0: 1.0, 1: 3.0}])).fit(X, y)
//
// (weighted case: .fit(X, y, standardscaler__sample_weight=w,
// logisticregression__sample_weight=w); missing case:
// make_pipeline(SimpleImputer(strategy="mean", add_indicator=True),
// StandardScaler(), LogisticRegression(C=1.0, …))). newton-cholesky is used
// because sklearn's lbfgs stops on its relative-function tolerance
// (ftol = 64·eps) with a gradient of ~1e-3, far from the optimum; the
// references are therefore exact optima. The data are linearly separable, so
// there is no unpenalised case (no finite optimum).
func TestFitMatchesSklearn(t *testing.T) {
	cases := []struct {
		name      string
		missing   bool
		weighted  bool
		p         logreg.Params
		coef      []float64
		intercept float64
	}{
		{
			name: "plain C=1", p: logreg.Params{L2: 1},
			coef:      []float64{0.8057179501956587, -2.065466570460959, 0.5474717720055943, -0.07810480124080844},
			intercept: -0.1799552510290374,
		},
		{
			name: "weighted C=0.05", weighted: true, p: logreg.Params{L2: 1 / 0.05},
			coef:      []float64{0.2879486486189382, -1.112035743856106, 0.0976348149194443, -0.06945110827876876},
			intercept: -0.13887528107207478,
		},
		{
			name: "balanced C=10", p: logreg.Params{L2: 0.1, Balanced: true},
			coef:      []float64{1.3216286756910978, -3.1183413889693465, 1.0714036523620247, -0.0805373178797651},
			intercept: 0.05092283642465924,
		},
		{
			name: "weak C=100", p: logreg.Params{L2: 0.01},
			coef:      []float64{1.8632151223290176, -4.24007490961131, 1.7236796350251882, -0.08223331970758699},
			intercept: -0.1537219391588775,
		},
		{
			name: "class weights 1:3 + sample weights C=1", weighted: true, p: logreg.Params{L2: 1, NegativeWeight: 1, PositiveWeight: 3},
			coef:      []float64{0.8516632795805728, -2.676148383394269, 0.7632337479082331, -0.1051105738122697},
			intercept: 0.9364991167447871,
		},
		{
			name: "missing+indicators C=1", missing: true, p: logreg.Params{L2: 1, MissingIndicators: true},
			coef:      []float64{0.4501418915988148, -1.3829687314173127, 0.17326608557540074, -0.09080744511315579, 0.19270499856317205, -0.2007858352083026},
			intercept: -0.23620729186266806,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := refData(tc.missing)
			if !tc.weighted {
				d.W = nil
			}
			m, err := logreg.Fit(context.Background(), d, tc.p, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !m.Info().Converged {
				t.Errorf("not converged: %+v", m.Info())
			}
			got := m.Coefficients()
			if len(got) != len(tc.coef) {
				t.Fatalf("got %d coefficients, want %d", len(got), len(tc.coef))
			}
			tol := 1e-6 * max(1, math.Abs(tc.coef[0]))
			for j, c := range got {
				if math.Abs(c.Standardized-tc.coef[j]) > tol {
					t.Errorf("coef %d (%s) = %.10f, sklearn %.10f", j, c.Name, c.Standardized, tc.coef[j])
				}
			}
			if math.Abs(m.Intercept()-tc.intercept) > tol {
				t.Errorf("intercept = %.10f, sklearn %.10f", m.Intercept(), tc.intercept)
			}
		})
	}
}

// TestPredictMatchesSklearn checks probabilities on raw rows, which
// exercises standardisation and imputation at predict time. Values printed
// by testdata/sklearn_reference.py (predict_proba(X[:3])[:, 1] of the plain
// C=1 pipeline; predict_proba(Xm[2:4])[:, 1] of the missing-value pipeline).
func TestPredictMatchesSklearn(t *testing.T) {
	cases := []struct {
		name    string
		missing bool
		p       logreg.Params
		rows    []int
		want    []float64
	}{
		{"plain", false, logreg.Params{L2: 1}, []int{0, 1, 2}, []float64{0.6257637511572908, 0.6355450817113729, 0.5535948906107179}},
		{"missing", true, logreg.Params{L2: 1, MissingIndicators: true}, []int{2, 3}, []float64{0.41872782008080056, 0.45206248944527}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := refData(tc.missing)
			d.W = nil
			m, err := logreg.Fit(context.Background(), d, tc.p, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, i := range tc.rows {
				if got := m.PredictProba(d.Row(i, nil)); math.Abs(got-tc.want[k]) > 1e-6 {
					t.Errorf("row %d: P = %.10f, sklearn %.10f", i, got, tc.want[k])
				}
			}
		})
	}
}

func TestExplainIsExactDecomposition(t *testing.T) {
	d := refData(true)
	m, err := logreg.Fit(context.Background(), d, logreg.Params{L2: 1, MissingIndicators: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 2, 3, 14, 57} {
		row := d.Row(i, nil)
		rs := m.Explain(row, 0)
		if len(rs) != len(row) {
			t.Fatalf("row %d: %d reasons, want %d", i, len(rs), len(row))
		}
		sum := m.Intercept()
		for k, r := range rs {
			sum += r.Contribution
			if k > 0 && math.Abs(r.Contribution) > math.Abs(rs[k-1].Contribution) {
				t.Errorf("row %d: reasons not sorted by |contribution|", i)
			}
			if r.Direction != model.DirectionOf(r.Contribution) {
				t.Errorf("row %d: %s direction %v for contribution %v", i, r.Feature, r.Direction, r.Contribution)
			}
		}
		p := m.PredictProba(row)
		if logit := math.Log(p / (1 - p)); math.Abs(sum-logit) > 1e-9 {
			t.Errorf("row %d: intercept+Σcontributions = %v, logit(p) = %v", i, sum, logit)
		}
		top := m.Explain(row, 2)
		if len(top) != 2 || top[0].Feature != rs[0].Feature || top[1].Feature != rs[1].Feature {
			t.Errorf("row %d: top-2 %v differs from head of full list %v", i, top, rs[:2])
		}
	}
	// A missing value is reported as NaN and explained by its indicator.
	row := d.Row(2, nil) // x1 missing (i%5 == 2)
	for _, r := range m.Explain(row, 0) {
		if r.Feature == "x1" {
			if !math.IsNaN(r.Value) {
				t.Errorf("x1 value = %v, want NaN", r.Value)
			}
			if r.Contribution == 0 {
				t.Errorf("missing x1 should contribute through its indicator")
			}
		}
	}
}

func TestPredictBatchMatchesPredictProba(t *testing.T) {
	d := refData(true)
	m, err := logreg.Fit(context.Background(), d, logreg.Params{L2: 0.5, MissingIndicators: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float64, d.Rows())
	if err := m.PredictBatch(d.X, out); err != nil {
		t.Fatal(err)
	}
	buf := make([]float64, len(d.X))
	for i := range out {
		if p := m.PredictProba(d.Row(i, buf)); math.Abs(p-out[i]) > 1e-12 {
			t.Fatalf("row %d: batch %v, single %v", i, out[i], p)
		}
	}
	if err := m.PredictBatch(d.X[:3], out); err == nil || !errors.Is(err, model.ErrInvalidData) {
		t.Errorf("wrong column count: err = %v, want ErrInvalidData", err)
	}
	if err := m.PredictBatch(d.X, out[:5]); err == nil {
		t.Error("short out: want error")
	}
}

func TestWeightsEquivalentToDuplication(t *testing.T) {
	// Integer sample weights must give the same fit as duplicating rows.
	d := refData(false)
	var dup model.Dataset
	dup.Names = d.Names
	dup.X = make([][]float64, len(d.X))
	for i := range d.Rows() {
		for range int(d.W[i]) {
			for j := range d.X {
				dup.X[j] = append(dup.X[j], d.X[j][i])
			}
			dup.Y = append(dup.Y, d.Y[i])
		}
	}
	p := logreg.Params{L2: 2}
	mw, err := logreg.Fit(context.Background(), d, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	md, err := logreg.Fit(context.Background(), &dup, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	cw, cd := mw.Coefficients(), md.Coefficients()
	for j := range cw {
		if math.Abs(cw[j].Standardized-cd[j].Standardized) > 1e-6 {
			t.Errorf("coef %s: weighted %v, duplicated %v", cw[j].Name, cw[j].Standardized, cd[j].Standardized)
		}
	}
}

func TestFitRejectsBadInput(t *testing.T) {
	good := func() *model.Dataset { d := refData(false); d.W = nil; return d }
	cases := []struct {
		name string
		mod  func(*model.Dataset)
		p    logreg.Params
		want string
	}{
		{"label 2", func(d *model.Dataset) { d.Y[4] = 2 }, logreg.Params{}, "label Y row 4 is 2"},
		{"NaN label", func(d *model.Dataset) { d.Y[7] = math.NaN() }, logreg.Params{}, "label Y row 7 is NaN"},
		{"one class", func(d *model.Dataset) { clear(d.Y) }, logreg.Params{}, "both classes"},
		{"ragged", func(d *model.Dataset) { d.X[2] = d.X[2][:10] }, logreg.Params{}, `feature "x2" has 10 rows`},
		{"inf feature", func(d *model.Dataset) { d.X[1][3] = math.Inf(1) }, logreg.Params{}, `feature "x1" row 3 is +Inf`},
		{"negative L2", func(*model.Dataset) {}, logreg.Params{L2: -1}, "Params.L2 = -1"},
		{"negative weight", func(d *model.Dataset) { d.W = make([]float64, d.Rows()); d.W[0] = -1 }, logreg.Params{}, "weight W row 0 is -1"},
		{"duplicate name", func(d *model.Dataset) { d.Names = []string{"x0", "x1", "x0", "x3"} }, logreg.Params{}, `"x0" appears at positions 0 and 2`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := good()
			tc.mod(d)
			_, err := logreg.Fit(context.Background(), d, tc.p, nil)
			if err == nil {
				t.Fatal("want error")
			}
			if !errors.Is(err, model.ErrInvalidData) {
				t.Errorf("error %v does not wrap ErrInvalidData", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestFitCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := logreg.Fit(ctx, refData(false), logreg.Params{L2: 1}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

var testMeta = model.Meta{
	SchemaVersion: "test/v1",
	TrainFrom:     "2024-01-01",
	TrainTo:       "2024-06-30",
	CreatedAt:     time.Date(2024, 7, 1, 12, 0, 0, 0, time.UTC),
	Metrics:       map[string]float64{"valid_auc": 0.81},
}

func TestArtifactDeterministicAndRoundTrip(t *testing.T) {
	fit := func() []byte {
		m, err := logreg.Fit(context.Background(), refData(true), logreg.Params{L2: 1, MissingIndicators: true}, nil)
		if err != nil {
			t.Fatal(err)
		}
		a, err := model.NewArtifact(m, testMeta)
		if err != nil {
			t.Fatal(err)
		}
		b, err := a.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	b1, b2 := fit(), fit()
	if !bytes.Equal(b1, b2) {
		t.Fatal("two fits on the same data produced different artifacts")
	}
	d := refData(true)
	a, err := model.Load(bytes.NewReader(b1), model.Schema{Version: "test/v1", Names: d.Names})
	if err != nil {
		t.Fatal(err)
	}
	if a.Header.Kind != logreg.Kind || !strings.HasPrefix(a.Header.Version, "logreg-") {
		t.Errorf("header kind/version = %q/%q", a.Header.Kind, a.Header.Version)
	}
	if !strings.Contains(string(a.Header.Params), `"missing_indicators":true`) {
		t.Errorf("params not recorded: %s", a.Header.Params)
	}
	m2, err := a.Model()
	if err != nil {
		t.Fatal(err)
	}
	m1, err := logreg.Fit(context.Background(), d, logreg.Params{L2: 1, MissingIndicators: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range d.Rows() {
		row := d.Row(i, nil)
		if p1, p2 := m1.PredictProba(row), m2.PredictProba(row); p1 != p2 {
			t.Fatalf("row %d: fitted %v, loaded %v", i, p1, p2)
		}
	}
	a2, err := model.NewArtifact(m2, testMeta)
	if err != nil {
		t.Fatal(err)
	}
	b3, _ := a2.MarshalBinary()
	if !bytes.Equal(b1, b3) {
		t.Error("re-encoding a loaded model changed the artifact")
	}
}

func TestDecodeRejectsMalformedPayload(t *testing.T) {
	m, err := logreg.Fit(context.Background(), refData(false), logreg.Params{L2: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	good, _ := m.MarshalPayload()
	cases := []struct {
		name, payload, want string
	}{
		{"not json", "nope", "invalid character"},
		{"unknown field", strings.Replace(string(good), `"intercept"`, `"bogus":1,"intercept"`, 1), "unknown field"},
		{"no scaler", `{"coef":[1],"indicator_coef":[0],"intercept":0}`, "missing scaler"},
		{"short coef", strings.Replace(string(good), `"coef":[`, `"coef":[1,`, 1), "coefficients"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := logreg.Decode([]byte(tc.payload))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want mention of %q", err, tc.want)
			}
		})
	}
}

// synth builds n rows of d standard-normal features with a logistic label.
func synth(n, d int, seed uint64) *model.Dataset {
	r := rand.New(rand.NewPCG(seed, 1))
	ds := &model.Dataset{X: make([][]float64, d), Y: make([]float64, n)}
	for j := range d {
		ds.Names = append(ds.Names, "f"+string(rune('a'+j%26))+string(rune('a'+j/26)))
		ds.X[j] = make([]float64, n)
	}
	for i := range n {
		eta := -1.0
		for j := range d {
			x := r.NormFloat64()
			if r.IntN(50) == 0 {
				x = math.NaN()
			} else {
				eta += x * float64(j%5-2) * 0.3
			}
			ds.X[j][i] = x
		}
		if r.Float64() < 1/(1+math.Exp(-eta)) {
			ds.Y[i] = 1
		}
	}
	return ds
}

func TestRecoversTrueCoefficients(t *testing.T) {
	d := synth(20000, 5, 7)
	m, err := logreg.Fit(context.Background(), d, logreg.Params{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for j, c := range m.Coefficients() {
		want := float64(j%5-2) * 0.3 // per unit (features ~ N(0,1))
		if math.Abs(c.PerUnit-want) > 0.06 {
			t.Errorf("%s: per-unit coefficient %v, true %v", c.Name, c.PerUnit, want)
		}
	}
}

func BenchmarkFit(b *testing.B) {
	for _, n := range []int{1e4, 1e5} {
		d := synth(n, 20, 1)
		b.Run("rows=1e"+string(rune('0'+int(math.Log10(float64(n))))), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := logreg.Fit(context.Background(), d, logreg.Params{L2: 1}, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPredict(b *testing.B) {
	d := synth(100000, 20, 2)
	m, err := logreg.Fit(context.Background(), d, logreg.Params{L2: 1, MissingIndicators: true}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("batch/rows=1e5", func(b *testing.B) {
		b.ReportAllocs()
		out := make([]float64, d.Rows())
		for b.Loop() {
			if err := m.PredictBatch(d.X, out); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("single/rows=1", func(b *testing.B) {
		b.ReportAllocs()
		row := d.Row(3, nil)
		for b.Loop() {
			_ = m.PredictProba(row)
		}
	})
	b.Run("explain/k=5", func(b *testing.B) {
		b.ReportAllocs()
		row := d.Row(3, nil)
		for b.Loop() {
			_ = m.Explain(row, 5)
		}
	})
}

// A feature missing in every training row carries no weight: the fit
// succeeds and predictions do not depend on that feature's value.
func TestAllMissingFeatureHasNoEffect(t *testing.T) {
	d := &model.Dataset{Names: []string{"a", "empty"}, X: [][]float64{{0, 1, 2, 3, 4, 5, 6, 7}, make([]float64, 8)},
		Y: []float64{0, 0, 1, 0, 1, 0, 1, 1}}
	for i := range d.X[1] {
		d.X[1][i] = math.NaN()
	}
	for _, ind := range []bool{false, true} {
		m, err := logreg.Fit(context.Background(), d, logreg.Params{L2: 0.1, MissingIndicators: ind}, nil)
		if err != nil {
			t.Fatalf("indicators=%v: %v", ind, err)
		}
		p1, p2, p3 := m.PredictProba([]float64{3, math.NaN()}), m.PredictProba([]float64{3, -50}), m.PredictProba([]float64{3, 1e6})
		if p1 != p2 || p2 != p3 {
			t.Fatalf("indicators=%v: prediction depends on the all-missing feature: %v %v %v", ind, p1, p2, p3)
		}
		if m.PredictProba([]float64{7, math.NaN()}) <= m.PredictProba([]float64{0, math.NaN()}) {
			t.Fatalf("indicators=%v: the informative feature lost its effect", ind)
		}
	}
}
