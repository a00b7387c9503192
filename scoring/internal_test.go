package scoring

import (
	"encoding/json"
	"log/slog"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/duesight/duesight/api"
	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/model"
	"github.com/duesight/duesight/model/calibrate"
	"github.com/duesight/duesight/model/logreg"
)

func TestDelayHistSummary(t *testing.T) {
	var h delayHist
	for _, d := range []int{-5, 0, 0, 0, 2, 4, 10, 10, 30, 400} { // early counts as 0, 400 as 366
		h.add(d)
	}
	h.finish()
	empty := &delayHist{}
	empty.finish()
	cases := []struct {
		name     string
		h        *delayHist
		elapsed  int
		expected float64
		q        [3]float64
	}{
		// D ∈ {0,0,0,0,2,4,10,10,30,366}: mean 42.2; p10 0, p50 (5th of 10) 2, p90 (9th) 30.
		{"not yet due", &h, -3, 42.2, [3]float64{0, 2, 30}},
		// D > 4: {10,10,30,366}: mean 104; p10 → 10, p50 → 10 (2nd of 4), p90 → 366.
		{"overdue 4 days", &h, 4, 104, [3]float64{10, 10, 366}},
		{"beyond every payment", &h, 400, 401, [3]float64{401, 401, 401}},
		{"empty, overdue", empty, 7, 8, [3]float64{8, 8, 8}},
		{"empty, not due", empty, -1, 0, [3]float64{0, 0, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, q := c.h.summary(c.elapsed)
			if math.Abs(e-c.expected) > 1e-9 || q != c.q {
				t.Errorf("summary(%d) = %v %v; want %v %v", c.elapsed, e, q, c.expected, c.q)
			}
		})
	}
}

func TestTrimContacts(t *testing.T) {
	day := int64(86400)
	pack := func(at int64, ch data.Channel) uint64 {
		return uint64(at)<<16 | uint64(ch)<<8 | uint64(data.OutcomeDelivered)
	}
	cases := []struct {
		name string
		in   []uint64
		want []uint64
	}{
		{"empty", nil, nil},
		{"window keeps recent, latest per channel kept",
			[]uint64{pack(1*day, data.Letter), pack(2*day, data.Email), pack(20*day, data.Email), pack(25*day, data.SMS), pack(30*day, data.Email)},
			[]uint64{pack(1*day, data.Letter), pack(25*day, data.SMS), pack(30*day, data.Email)}},
		{"old email dropped when a newer one exists",
			[]uint64{pack(1*day, data.Email), pack(10*day, data.Email)},
			[]uint64{pack(10*day, data.Email)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := trimContacts(slices.Clone(c.in), 7*24*time.Hour)
			if !slices.Equal(got, c.want) {
				t.Errorf("got %x, want %x", got, c.want)
			}
		})
	}
	var many []uint64
	for i := range 100 {
		many = append(many, pack(1000*day+int64(i), data.Call))
	}
	if got := trimContacts(slices.Clone(many), 7*24*time.Hour); len(got) != maxKeptContacts || got[len(got)-1] != many[99] || got[0] != many[100-maxKeptContacts] {
		t.Errorf("100 contacts in the window: kept %d, want the newest %d", len(got), maxKeptContacts)
	}
}

func TestTierOf(t *testing.T) {
	tiers := DefaultTiers()
	for _, c := range []struct {
		p    float64
		want api.RiskTier
	}{{0, api.TierLow}, {0.2499, api.TierLow}, {0.25, api.TierMedium}, {0.5, api.TierHigh}, {0.75, api.TierCritical}, {1, api.TierCritical}} {
		if got := tierOf(&tiers, c.p); got != c.want {
			t.Errorf("tierOf(%v) = %s, want %s", c.p, got, c.want)
		}
	}
}

func TestWellFormedVersion(t *testing.T) {
	for v, want := range map[string]bool{"logreg-0123456789abcdef": true, "gbdt-0123456789ABCDEF": false,
		"logreg-0123": false, "nonsense": false, "-0123456789abcdef": false} {
		if got := wellFormedVersion(v); got != want {
			t.Errorf("wellFormedVersion(%q) = %v, want %v", v, got, want)
		}
	}
}

// hazardStub is a timing model whose Distribution is built the way
// model/timing builds it (NewDistribution + Condition).
type hazardStub struct {
	n    int
	ends []int
	bad  bool // Distribution disagrees with Hazards
}

func (h *hazardStub) Kind() string                    { return "stub" }
func (h *hazardStub) Features() []string              { return make([]string, h.n) }
func (h *hazardStub) MarshalPayload() ([]byte, error) { return nil, nil }
func (h *hazardStub) Explain([]float64, int) []model.Reason {
	return nil
}
func (h *hazardStub) Hazards(row, out []float64) []float64 {
	out = out[:0]
	for k := range h.ends {
		x := 0.1 + 0.05*float64(k)
		if !math.IsNaN(row[0]) {
			x += row[0] / 100
		}
		out = append(out, min(x, 0.9))
	}
	return out
}
func (h *hazardStub) Distribution(row []float64, elapsed int) model.Distribution {
	hz := h.Hazards(row, nil)
	if h.bad {
		hz[0] /= 2
	}
	d, err := model.NewDistribution(h.ends, hz)
	if err != nil {
		panic(err)
	}
	return d.Condition(elapsed)
}

func TestTimingFastPath(t *testing.T) {
	ends := []int{0, 7, 14, 21, 28}
	good := &hazardStub{n: 3, ends: ends}
	hz, gotEnds := newTimingFast(good, nil)
	if hz == nil || !slices.Equal(gotEnds, ends) {
		t.Fatalf("fast path not enabled for a conforming model (ends %v)", gotEnds)
	}
	if hz, _ := newTimingFast(&hazardStub{n: 3, ends: ends, bad: true}, nil); hz != nil {
		t.Fatal("fast path enabled for a model whose Distribution differs from its hazards")
	}
	var sc timingScratch
	for _, row := range [][]float64{{1, 2, 3}, {math.NaN(), 0, 0}, {30, 0, 0}} {
		for _, el := range []int{-1, 0, 3, 7, 13, 30} {
			want := good.Distribution(row, el)
			got := fastDistribution(hz, gotEnds, row, el, &sc)
			if !slices.Equal(got.Prob, want.Prob) || !slices.Equal(got.Survival, want.Survival) ||
				got.ExpectedDaysLate() != want.ExpectedDaysLate() {
				t.Errorf("row %v elapsed %d: fast %v, model %v", row, el, got.Prob, want.Prob)
			}
		}
	}
}

func TestFXFactors(t *testing.T) {
	f := FX{Reporting: "USD", Rates: map[string]float64{"JPY": 0.0067, "BHD": 2.65, "EUR": 1.1}}
	got := f.factors()
	// 1 yen (no minor unit) = 0.0067 USD = 0.67 cents; 1 fils (1/1000 BHD) = 0.265 cents.
	want := map[string]float64{"USD": 1, "JPY": 0.67, "BHD": 0.265, "EUR": 1.1}
	for c, w := range want {
		if math.Abs(got[c]-w) > 1e-12 {
			t.Errorf("factor %s = %v, want %v", c, got[c], w)
		}
	}
	if _, ok := got["GBP"]; ok {
		t.Error("a currency without a rate has a factor")
	}
}

func TestLinearFastPath(t *testing.T) {
	ctx := t.Context()
	const n = 400
	names := []string{"a", "b", "c", "d"}
	d := &model.Dataset{Names: names, X: make([][]float64, 4), Y: make([]float64, n)}
	for j := range d.X {
		d.X[j] = make([]float64, n)
	}
	for i := range n {
		x := float64(i%17) - 8
		d.X[0][i], d.X[1][i], d.X[2][i], d.X[3][i] = x, float64(i%5), math.Sin(float64(i)), 3
		if i%7 == 0 {
			d.X[1][i] = math.NaN()
		}
		if x+d.X[2][i] > 0 {
			d.Y[i] = 1
		}
	}
	lr, err := logreg.Fit(ctx, d, logreg.Params{L2: 1, MissingIndicators: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw := make([]float64, n)
	if err := lr.PredictBatch(d.X, raw); err != nil {
		t.Fatal(err)
	}
	platt, err := calibrate.FitPlatt(raw, d.Y, nil)
	if err != nil {
		t.Fatal(err)
	}
	meta := model.Meta{SchemaVersion: "t", TrainFrom: "2025-01-01", TrainTo: "2025-01-02", CreatedAt: time.Unix(1, 0)}
	a, err := model.NewArtifact(model.Calibrated(lr, platt), meta)
	if err != nil {
		t.Fatal(err)
	}
	m, err := a.Model()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{0, 1, 3, 4} {
		f := newLinearFast(a, m, k)
		if f == nil {
			t.Fatalf("k=%d: the fast path failed its self-check on a genuine logreg artifact", k)
		}
		top, tc := make([]int, 4), make([]float64, 4)
		for i := range n {
			row := d.Row(i, nil)
			p, got := f.score(row, k, top, tc)
			if p != m.PredictProba(row) {
				t.Fatalf("row %d: p %v, model %v", i, p, m.PredictProba(row))
			}
			if k == 0 {
				continue
			}
			want := m.Explain(row, k)
			if got != len(want) {
				t.Fatalf("row %d: %d reasons, want %d", i, got, len(want))
			}
			for r := range want {
				if names[top[r]] != want[r].Feature || tc[r] != want[r].Contribution {
					t.Fatalf("row %d reason %d: %s %v, want %s %v", i, r, names[top[r]], tc[r], want[r].Feature, want[r].Contribution)
				}
			}
		}
	}
	// A payload that does not predict like the model is refused.
	var pl map[string]any
	if err := json.Unmarshal(a.Payload, &pl); err != nil {
		t.Fatal(err)
	}
	mean := pl["scaler"].(map[string]any)["mean"].([]any)
	mean[0] = mean[0].(float64) + 1e-9
	bad := *a
	if bad.Payload, err = json.Marshal(pl); err != nil {
		t.Fatal(err)
	}
	if newLinearFast(&bad, m, 3) != nil {
		t.Error("the fast path accepted a payload that differs from the model")
	}
	other := *a
	other.Header.Kind = "gbdt"
	if newLinearFast(&other, m, 3) != nil {
		t.Error("the fast path accepted another kind")
	}
}

// TestHeldEventThatCannotApply: a held payment whose invoice is no longer
// open cannot be folded in; promote refuses it without changing the
// account, and reads fall back to the stored history (modeReplay through
// modePromote failing).
func TestHeldEventThatCannotApply(t *testing.T) {
	d := data.NewDate
	acc := data.Account{ID: "A", Currency: "USD", TimeZone: "UTC", Consent: data.AllChannels}
	h := &data.History{Account: acc,
		Invoices: []data.Invoice{{ID: "I", AccountID: "A", IssueDate: d(2025, 6, 1), DueDate: d(2025, 6, 30), Amount: 1000, Currency: "USD"}},
		Payments: []data.Payment{
			{ID: "P1", AccountID: "A", InvoiceID: "I", Date: d(2025, 6, 10), Amount: 1000, Currency: "USD"},
			{ID: "P2", AccountID: "A", InvoiceID: "I", Date: d(2025, 7, 5), Amount: 1, Currency: "USD"},
		}}
	tab := newTable(newInterner(), 7*24*time.Hour)
	cut := time.Date(2025, 7, 1, 12, 0, 0, 0, time.UTC)
	b, err := tab.build(h, cut, nil)
	if err != nil {
		t.Fatal(err)
	}
	tab.put(b)
	a := tab.lookupAccount("A")
	sh := tab.shardOf("A")
	if len(sh.pending[a]) != 1 || !a.pending || len(a.open) != 0 {
		t.Fatalf("pending %d (flag %v), open %d; want the held P2 and no open invoice", len(sh.pending[a]), a.pending, len(a.open))
	}
	wm := a.st.Watermark()
	later := time.Date(2025, 7, 6, 0, 0, 0, 0, time.UTC)
	log := slog.New(slog.DiscardHandler)
	if tab.promote(a, later, log) {
		t.Fatal("promote applied a payment for a closed invoice")
	}
	if !a.st.Watermark().Equal(wm) || len(sh.pending[a]) != 1 {
		t.Errorf("a failed promotion changed the account: watermark %s → %s, pending %d", wm, a.st.Watermark(), len(sh.pending[a]))
	}
	if m := tab.mode(sh, a, later, later); m != modePromote {
		t.Errorf("mode %d, want modePromote (which fails, so reads replay the store)", m)
	}
}
