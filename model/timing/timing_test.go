package timing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/duesight/duesight/model"
	"github.com/duesight/duesight/model/eval"
	"github.com/duesight/duesight/model/logreg"
	"github.com/duesight/duesight/model/timing"
)

const K = 10 // horizon in weeks used by the simulations

// trueAlpha is the true period effect; the true hazard is
// h_k(x) = σ(alpha_k + 0.7·x0 − 0.4·x1).
func trueAlpha(k int) float64 {
	if k == 0 {
		return -0.6
	}
	return -1.6 + 0.3*math.Sin(float64(k))
}

var trueBeta = []float64{0.7, -0.4}

func trueHazard(k int, x []float64) float64 {
	return 1 / (1 + math.Exp(-(trueAlpha(k) + trueBeta[0]*x[0] + trueBeta[1]*x[1])))
}

// simulate draws n invoices with x0, x1 ~ N(0,1) and payment days from the
// true hazard (days uniform within a week; on-time payments 0–10 days early;
// after the horizon 1–60 days beyond it). censor(r) returns the day on which
// observation stops (math.MaxInt for none). It returns the observed dataset,
// the outcomes (with each invoice's cut-off) and the true payment days.
func simulate(n int, seed uint64, censor func(r *rand.Rand) int) (*model.Dataset, timing.Outcomes, []int) {
	r := rand.New(rand.NewPCG(seed, 77))
	d := &model.Dataset{Names: []string{"x0", "x1"}, X: [][]float64{make([]float64, n), make([]float64, n)}, Y: make([]float64, n)}
	paid := make([]bool, n)
	cut := make([]int, n)
	T := make([]int, n)
	for i := range n {
		x := []float64{r.NormFloat64(), r.NormFloat64()}
		d.X[0][i], d.X[1][i] = x[0], x[1]
		t := timing.PeriodDays*K + 1 + r.IntN(60)
		for k := 0; k <= K; k++ {
			if r.Float64() < trueHazard(k, x) {
				if k == 0 {
					t = -r.IntN(11)
				} else {
					t = timing.PeriodDays*(k-1) + 1 + r.IntN(timing.PeriodDays)
				}
				break
			}
		}
		T[i] = t
		c := censor(r)
		cut[i] = c
		if t <= c {
			d.Y[i], paid[i] = float64(t), true
		} else {
			d.Y[i] = float64(c)
		}
	}
	return d, timing.Outcomes{Paid: paid, ObservedThrough: cut}, T
}

func noCensoring(*rand.Rand) int { return math.MaxInt }

// heavyCensoring stops observation uniformly between 10 days before the due
// date and 75 days after it (just past the 70-day horizon).
func heavyCensoring(r *rand.Rand) int { return -10 + r.IntN(86) }

func TestRecoversTrueHazardUnderCensoring(t *testing.T) {
	cases := []struct {
		name         string
		censor       func(*rand.Rand) int
		minCensored  float64
		naive        bool // treat censored invoices as paid at censoring
		wantAccurate bool
	}{
		{"no censoring", noCensoring, 0, false, true},
		{"heavy censoring", heavyCensoring, 0.35, false, true},
		{"heavy censoring, naive (censored counted as paid)", heavyCensoring, 0.35, true, false},
	}
	probes := [][]float64{{0, 0}, {1, -1}, {-1, 0.5}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, o, _ := simulate(20000, 11, tc.censor)
			censored := 0
			for _, p := range o.Paid {
				if !p {
					censored++
				}
			}
			if frac := float64(censored) / float64(len(o.Paid)); frac < tc.minCensored {
				t.Fatalf("only %.2f of invoices censored, want ≥ %.2f", frac, tc.minCensored)
			}
			if tc.naive {
				o = timing.Outcomes{Paid: make([]bool, len(o.Paid))}
				for i := range o.Paid {
					o.Paid[i] = true
				}
			}
			m, err := timing.Fit(context.Background(), d, o, timing.Params{Weeks: K}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !m.Info().Converged {
				t.Errorf("not converged: %+v", m.Info())
			}
			t.Logf("fit: %+v", m.Info())
			worst := 0.0
			for _, x := range probes {
				h := m.Hazards(x, nil)
				for k := 0; k <= 6; k++ {
					worst = math.Max(worst, math.Abs(h[k]-trueHazard(k, x)))
				}
			}
			const tol = 0.025
			t.Logf("max |ĥ − h| over weeks 0–6 and 3 probe rows: %.4f", worst)
			if tc.wantAccurate && worst > tol {
				t.Errorf("max |ĥ − h| over weeks 0–6 = %.4f, want ≤ %v", worst, tol)
			}
			if !tc.wantAccurate && worst < 4*tol {
				t.Errorf("naive handling of censoring should be badly biased, max error only %.4f", worst)
			}
		})
	}
}

// TestMatchesExplicitPersonPeriodLogit checks the likelihood: a logistic
// regression on the explicit person-period table (Expand) with week dummies
// must give the same hazards as Fit when both are (almost) unpenalised.
func TestMatchesExplicitPersonPeriodLogit(t *testing.T) {
	d, o, _ := simulate(3000, 5, heavyCensoring)
	m, err := timing.Fit(context.Background(), d, o, timing.Params{Weeks: K, L2: 1e-9}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rows := timing.Expand(d.Y, o, K)
	pp := &model.Dataset{Names: []string{"x0", "x1"}}
	for k := 1; k <= K; k++ { // week 0 is the baseline absorbed by the intercept
		pp.Names = append(pp.Names, "week"+strconv.Itoa(k))
	}
	pp.X = make([][]float64, len(pp.Names))
	for _, r := range rows {
		pp.X[0] = append(pp.X[0], d.X[0][r.Invoice])
		pp.X[1] = append(pp.X[1], d.X[1][r.Invoice])
		for k := 1; k <= K; k++ {
			v := 0.0
			if r.Period == k {
				v = 1
			}
			pp.X[1+k] = append(pp.X[1+k], v)
		}
		y := 0.0
		if r.Event {
			y = 1
		}
		pp.Y = append(pp.Y, y)
	}
	lr, err := logreg.Fit(context.Background(), pp, logreg.Params{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	row := make([]float64, len(pp.Names))
	for _, x := range [][]float64{{0, 0}, {0.5, -1.2}} {
		h := m.Hazards(x, nil)
		for k := 0; k <= 8; k++ { // later weeks have (almost) no at-risk rows
			clear(row)
			row[0], row[1] = x[0], x[1]
			if k > 0 {
				row[1+k] = 1
			}
			if want := lr.PredictProba(row); math.Abs(h[k]-want) > 2e-4 {
				t.Errorf("x=%v week %d: hazard %.6f, explicit person-period logit %.6f", x, k, h[k], want)
			}
		}
	}
	// Expand's bookkeeping: censored before due contributes nothing; paid
	// in week 2 contributes weeks 0,1,2 with the event last; censored at day
	// 15 survived the weeks ending on days 0, 7, 14; paid after the horizon
	// survived every week; paid on day 10 but observed only through day 12
	// (week 2 unfinished) counts as censored after week 1.
	ex := timing.Expand([]float64{-3, 10, 15, 200, 10}, timing.Outcomes{
		Paid:            []bool{false, true, false, true, true},
		ObservedThrough: []int{-3, 30, 15, 400, 12},
	}, K)
	var got []string
	for _, r := range ex {
		got = append(got, strconv.Itoa(r.Invoice)+":"+strconv.Itoa(r.Period)+":"+strconv.FormatBool(r.Event))
	}
	want := "1:0:false 1:1:false 1:2:true 2:0:false 2:1:false 2:2:false "
	for k := 0; k <= K; k++ {
		want += "3:" + strconv.Itoa(k) + ":false "
	}
	want += "4:0:false 4:1:false "
	if strings.Join(got, " ")+" " != want {
		t.Errorf("Expand =\n%v\nwant\n%v", strings.Join(got, " "), want)
	}
}

func TestDistributionCalibratedAndEvaluated(t *testing.T) {
	train, o, _ := simulate(15000, 21, heavyCensoring)
	m, err := timing.Fit(context.Background(), train, o, timing.Params{Weeks: K}, nil)
	if err != nil {
		t.Fatal(err)
	}
	test, testPaid, T := simulate(5000, 22, noCensoring)
	days := []int{0, 7, 14, 28, 49, 70}
	pred := make([]float64, len(days))
	emp := make([]float64, len(days))
	row := make([]float64, 2)
	var expDays, empDays float64
	for i := range test.Rows() {
		dist := m.Distribution(test.Row(i, row), -1)
		for j, day := range days {
			pred[j] += dist.ProbPaidBy(day)
			if T[i] <= day {
				emp[j]++
			}
		}
		expDays += dist.ExpectedDaysLate()
		empDays += math.Min(math.Max(float64(T[i]), 0), float64(dist.Horizon()))
	}
	n := float64(test.Rows())
	for j, day := range days {
		if p, e := pred[j]/n, emp[j]/n; math.Abs(p-e) > 0.015 {
			t.Errorf("P(paid by day %d): predicted %.4f, simulated %.4f", day, p, e)
		}
	}
	if math.Abs(expDays/n-empDays/n) > 0.6 {
		t.Errorf("mean expected days late %.2f, simulated %.2f", expDays/n, empDays/n)
	}
	rep, err := timing.Evaluate("hazard", m, test, testPaid.Paid)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Coverage < 0.8 || rep.Coverage > 0.95 {
		t.Errorf("[p10, p90] coverage %.3f, want in [0.80, 0.95]", rep.Coverage)
	}
	// The model must beat a constant prediction of the overall median.
	actual := make([]float64, 0, len(T))
	for _, v := range T {
		actual = append(actual, math.Min(math.Max(float64(v), 0), float64(7*K)))
	}
	med := slices.Clone(actual)
	slices.Sort(med)
	constant := make([]float64, len(actual))
	for i := range constant {
		constant[i] = med[len(med)/2]
	}
	constMAE, _ := eval.MAE(actual, constant)
	if rep.MAE >= constMAE {
		t.Errorf("MAE %.2f days, constant-median MAE %.2f: the model adds nothing", rep.MAE, constMAE)
	}
	t.Logf("coverage %.3f (nominal 0.8), MAE %.2f days (constant median %.2f)", rep.Coverage, rep.MAE, constMAE)
}

func TestConditioningAndExplain(t *testing.T) {
	d, o, _ := simulate(3000, 3, noCensoring)
	m, err := timing.Fit(context.Background(), d, o, timing.Params{Weeks: K}, nil)
	if err != nil {
		t.Fatal(err)
	}
	row := []float64{0.3, -0.2}
	full := m.Distribution(row, -1)
	cond := m.Distribution(row, 20) // unpaid after day 20: weeks ending 0, 7, 14 are over
	for k := range 3 {
		if cond.Prob[k] != 0 {
			t.Errorf("conditioned P(week %d) = %v, want 0", k, cond.Prob[k])
		}
	}
	if cond.Prob[3] <= full.Prob[3] || cond.ExpectedDaysLate() <= full.ExpectedDaysLate() {
		t.Errorf("conditioning on survival must move mass later: %v vs %v", cond.Prob[3], full.Prob[3])
	}
	s := m.Summarize(row, -1)
	if !(s.P10 <= s.P50 && s.P50 <= s.P90) || math.Abs(s.ProbLate-(1-full.Prob[0])) > 1e-12 {
		t.Errorf("summary %+v", s)
	}
	b, err := json.Marshal(s)
	if err != nil || !strings.Contains(string(b), `"p50_days"`) {
		t.Errorf("summary JSON %s, %v", b, err)
	}
	// x0 raises the payment hazard (β0 = +0.7): a high x0 explains earlier
	// payment (Down), a high x1 (β1 = −0.4) later payment (Up).
	rs := m.Explain([]float64{2, 2}, 0)
	dir := map[string]model.Direction{}
	for _, r := range rs {
		dir[r.Feature] = r.Direction
	}
	if dir["x0"] != model.Down || dir["x1"] != model.Up {
		t.Errorf("explanations %v", rs)
	}
}

func TestArtifactRoundTrip(t *testing.T) {
	fit := func() *timing.Model {
		d, o, _ := simulate(2000, 8, heavyCensoring)
		for i := range d.Rows() {
			if i%9 == 4 {
				d.X[1][i] = math.NaN()
			}
		}
		m, err := timing.Fit(context.Background(), d, o, timing.Params{Weeks: 6, MissingIndicators: true}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	meta := model.Meta{SchemaVersion: "features/v1", TrainFrom: "2024-01-01", TrainTo: "2024-09-30", CreatedAt: time.Date(2024, 10, 1, 0, 0, 0, 0, time.UTC)}
	enc := func(m *timing.Model) []byte {
		a, err := model.NewArtifact(m, meta)
		if err != nil {
			t.Fatal(err)
		}
		b, err := a.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	m := fit()
	b1, b2 := enc(m), enc(fit())
	if !bytes.Equal(b1, b2) {
		t.Fatal("same data and params produced different artifacts")
	}
	a, err := model.Load(bytes.NewReader(b1), model.Schema{Version: "features/v1", Names: []string{"x0", "x1"}})
	if err != nil {
		t.Fatal(err)
	}
	tm, err := a.Timing()
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range [][]float64{{0, 0}, {1.5, math.NaN()}} {
		want, got := m.Distribution(row, 3), tm.Distribution(row, 3)
		if !slices.Equal(want.Prob, got.Prob) {
			t.Errorf("row %v: loaded model differs", row)
		}
	}
	if _, err := a.Model(); !errors.Is(err, model.ErrWrongType) {
		t.Errorf("Model() on a timing artifact: %v, want ErrWrongType", err)
	}
	if !bytes.Equal(enc(tm.(*timing.Model)), b1) {
		t.Error("re-encoding a loaded model changed the artifact")
	}
}

func TestFitRejectsBadInput(t *testing.T) {
	d, o, _ := simulate(200, 1, noCensoring)
	paid := o.Paid
	cases := []struct {
		name string
		mod  func(d *model.Dataset, paid []bool) []bool
		p    timing.Params
		want string
	}{
		{"paid length", func(_ *model.Dataset, p []bool) []bool { return p[:5] }, timing.Params{}, "Outcomes.Paid has 5 entries"},
		{"fractional days", func(d *model.Dataset, p []bool) []bool { d.Y[3] = 2.5; return p }, timing.Params{}, "Y row 3 is 2.5"},
		{"no payments", func(_ *model.Dataset, p []bool) []bool { return make([]bool, len(p)) }, timing.Params{}, "no payments"},
		{"weeks", func(_ *model.Dataset, p []bool) []bool { return p }, timing.Params{Weeks: 500}, "Params.Weeks = 500"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dd := d.Subset(slices.Collect(func(yield func(int) bool) {
				for i := range d.Rows() {
					if !yield(i) {
						return
					}
				}
			}))
			pp := tc.mod(dd, slices.Clone(paid))
			_, err := timing.Fit(context.Background(), dd, timing.Outcomes{Paid: pp}, tc.p, nil)
			if !errors.Is(err, model.ErrInvalidData) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want ErrInvalidData mentioning %q", err, tc.want)
			}
		})
	}
}

func BenchmarkFit(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		d, o, _ := simulate(n, 1, heavyCensoring)
		b.Run("rows=1e"+strconv.Itoa(int(math.Log10(float64(n)))), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := timing.Fit(context.Background(), d, o, timing.Params{Weeks: K}, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDistribution(b *testing.B) {
	d, o, _ := simulate(5000, 1, heavyCensoring)
	m, err := timing.Fit(context.Background(), d, o, timing.Params{Weeks: K}, nil)
	if err != nil {
		b.Fatal(err)
	}
	row := d.Row(0, nil)
	b.Run("summary/rows=1", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = m.Summarize(row, -1)
		}
	})
}

func TestBuckets(t *testing.T) {
	d, o, _ := simulate(3000, 13, noCensoring)
	m, err := timing.Fit(context.Background(), d, o, timing.Params{Weeks: K}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := timing.NewBuckets(m, []int{0, 14, 30, 60})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(b.Classes(), " "); got != "on_time 1-14 15-30 31-60 61+" {
		t.Errorf("classes %q", got)
	}
	row := []float64{0.2, -0.4}
	out := make([]float64, len(b.Classes()))
	b.PredictClasses(row, out)
	dist := m.Distribution(row, -1)
	want := []float64{dist.Prob[0], dist.ProbPaidBy(14) - dist.Prob[0], dist.ProbPaidBy(30) - dist.ProbPaidBy(14),
		dist.ProbPaidBy(60) - dist.ProbPaidBy(30), 1 - dist.ProbPaidBy(60)}
	sum := 0.0
	for i := range out {
		sum += out[i]
		if math.Abs(out[i]-want[i]) > 1e-12 || out[i] < 0 {
			t.Errorf("class %s: %v, want %v", b.Classes()[i], out[i], want[i])
		}
	}
	if math.Abs(sum-1) > 1e-12 {
		t.Errorf("probabilities sum to %v", sum)
	}
	// Artifact round trip through model.Multiclass.
	a, err := model.NewArtifact(b, model.Meta{SchemaVersion: "v", TrainFrom: "2024-01-01", TrainTo: "2024-01-31", CreatedAt: time.Unix(1e9, 0)})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := a.MarshalBinary()
	back, err := model.Load(bytes.NewReader(raw), model.Schema{Version: "v", Names: []string{"x0", "x1"}})
	if err != nil {
		t.Fatal(err)
	}
	mc, err := back.Multiclass()
	if err != nil {
		t.Fatal(err)
	}
	out2 := make([]float64, len(out))
	mc.PredictClasses(row, out2)
	if !slices.Equal(out, out2) {
		t.Errorf("loaded buckets predict %v, want %v", out2, out)
	}
	for _, edges := range [][]int{{}, {5, 5}, {-1}, {100}} {
		if _, err := timing.NewBuckets(m, edges); !errors.Is(err, model.ErrInvalidData) {
			t.Errorf("edges %v: err = %v", edges, err)
		}
	}
}
