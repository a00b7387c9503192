package timing

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"

	"gonum.org/v1/gonum/floats"

	"github.com/duesight/duesight/model"
	"github.com/duesight/duesight/model/logreg"
)

// Kind is the registered artifact kind.
const Kind = "weekly-hazard"

// PeriodDays is the length of every period after period 0.
const PeriodDays = 7

func init() {
	model.Register(Kind, func(b []byte) (model.Predictor, error) { return Decode(b) })
}

// Params configure Fit.
//
// With design values z (standardised features, see logreg.Scaler) the
// hazard of period k is h_k(x) = σ(α_k + βᵀz): one dummy (intercept) per
// week since due plus the feature effects. Fit minimises
//
//	Σ_i Σ_{k ∈ R_i} s_i [ln(1 + e^{η_ik}) − y_ik η_ik] + (L2/2)(‖β‖² + Σ_k (α_k − c)²)
//
// where R_i are the periods invoice i was observed at risk, y_ik = 1 only
// in the period it was paid, η_ik = α_k + βᵀz_i, s_i its weight, and
// c = logit(pooled hazard) = ln(E/(P−E)) for E weighted events among P
// weighted person-periods. The ridge shrinks week effects towards the
// pooled hazard, which keeps weeks without any payment (or without any
// observation) finite; with L2 ≪ P its effect elsewhere is negligible.
type Params struct {
	// Weeks is the horizon K in weeks (default 12, at most 104): periods
	// 0 … K, the last ending on day 7K.
	Weeks int `json:"weeks"`
	// L2 is the ridge penalty λ ≥ 0 (default 1).
	L2 float64 `json:"l2"`
	// MissingIndicators adds missing-value indicator columns (see logreg).
	MissingIndicators bool `json:"missing_indicators,omitempty"`
	// MaxIter and GradTol control L-BFGS (defaults 1000 and 1e-8).
	MaxIter int     `json:"max_iter"`
	GradTol float64 `json:"grad_tol"`
}

func (p Params) withDefaults() Params {
	if p.Weeks == 0 {
		p.Weeks = 12
	}
	if p.L2 == 0 {
		p.L2 = 1
	}
	if p.MaxIter == 0 {
		p.MaxIter = 1000
	}
	if p.GradTol == 0 {
		p.GradTol = 1e-8
	}
	return p
}

func (p Params) validate() error {
	switch {
	case p.Weeks < 0 || p.Weeks > 104:
		return fmt.Errorf("timing: %w: Params.Weeks = %d, want 1…104", model.ErrInvalidData, p.Weeks)
	case !(p.L2 >= 0) || math.IsInf(p.L2, 0):
		return fmt.Errorf("timing: %w: Params.L2 = %v, want finite ≥ 0", model.ErrInvalidData, p.L2)
	case p.MaxIter < 0 || !(p.GradTol >= 0):
		return fmt.Errorf("timing: %w: Params.MaxIter = %d, GradTol = %v, want ≥ 0", model.ErrInvalidData, p.MaxIter, p.GradTol)
	}
	return nil
}

// PeriodOf returns the period of a payment made daysLate days after the due
// date: 0 when daysLate ≤ 0, otherwise ⌈daysLate/7⌉.
func PeriodOf(daysLate int) int {
	if daysLate <= 0 {
		return 0
	}
	return (daysLate + PeriodDays - 1) / PeriodDays
}

// atRisk returns the last period index invoice i contributes and whether it
// ends with a payment (event), for horizon K, payment (or censoring) day t
// and observation cut-off c (the last day after due that was observed; use
// math.MaxInt when unknown). last = −1 means no contribution.
//
// Only periods that had fully ended by the cut-off are used, for every
// invoice alike, so whether a period enters never depends on its outcome:
//   - paid at t in period k ≤ K with end_k ≤ c: periods 0…k, event in k;
//   - paid after the horizon (k > K) with end_K ≤ c: periods 0…K, survived;
//   - otherwise (unpaid, or paid in a period that had not ended by the
//     cut-off): the periods that ended by the cut-off, 0…min(K, ⌊c'/7⌋)
//     where c' = c for paid and min(c, t) for unpaid invoices; none when
//     c' < 0.
func atRisk(t int, paid bool, c int, K int) (last int, event bool) {
	if paid {
		k := PeriodOf(t)
		if k > K {
			if PeriodDays*K <= c {
				return K, false
			}
		} else if PeriodDays*k <= c {
			return k, true
		}
	} else {
		c = min(c, t)
	}
	if c < 0 {
		return -1, false
	}
	return min(K, c/PeriodDays), false
}

// Outcomes describe what was observed about each invoice of a training set.
type Outcomes struct {
	// Paid[i] reports whether invoice i was paid by the cut-off. The
	// dataset's Y holds the payment day (days after due, negative = early)
	// of paid invoices and the last observed day of unpaid ones (still
	// unpaid at the end of that day).
	Paid []bool
	// ObservedThrough, optional, is each invoice's cut-off: the number of
	// days after its due date up to which it was observed (the as-of date
	// of the training snapshot minus the due date). When given, a payment
	// inside a period that had not yet ended at the cut-off is treated as
	// censoring at the end of the previous period, which removes the bias
	// of partially observed periods. Without it, payments always count.
	ObservedThrough []int
}

func (o Outcomes) cutoff(i int) int {
	if o.ObservedThrough == nil {
		return math.MaxInt
	}
	return o.ObservedThrough[i]
}

// Row is one person-period record of Expand.
type Row struct {
	Invoice int // row index in the source dataset
	Period  int
	Event   bool // paid in this period
}

// Expand returns the explicit person-period table that Fit's likelihood
// sums over (for inspection and tests; Fit never builds it). daysLate is the
// dataset's Y.
func Expand(daysLate []float64, o Outcomes, weeks int) []Row {
	var out []Row
	for i := range daysLate {
		last, event := atRisk(int(daysLate[i]), o.Paid[i], o.cutoff(i), weeks)
		for k := 0; k <= last; k++ {
			out = append(out, Row{Invoice: i, Period: k, Event: event && k == last})
		}
	}
	return out
}

// FitInfo reports how the optimisation ended.
type FitInfo struct {
	Iterations    int     `json:"iterations"`
	Converged     bool    `json:"converged"`
	Status        string  `json:"status"`
	Loss          float64 `json:"loss"` // per person-period
	GradNorm      float64 `json:"grad_norm"`
	PersonPeriods int     `json:"person_periods"`
	Events        int     `json:"events"`
	Censored      int     `json:"censored"`
}

// Model is a fitted weekly hazard model; immutable and safe for concurrent
// use.
type Model struct {
	scaler  *logreg.Scaler
	prior   float64   // c, the shrinkage centre of the week effects
	week    []float64 // α_k, k = 0…K
	coef    []float64 // β per feature
	indCoef []float64 // per feature (0 without indicator)
	params  Params
	info    FitInfo
	ends    []int
}

// Fit trains on d (features, Y and optional invoice weights W; see Outcomes
// for the meaning of Y). lg receives a warning when the optimiser stops
// before converging (nil discards).
func Fit(ctx context.Context, d *model.Dataset, o Outcomes, p Params, lg *slog.Logger) (*Model, error) {
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	p = p.withDefaults()
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("timing: %w", err)
	}
	n := d.Rows()
	if n == 0 || len(d.Names) == 0 {
		return nil, fmt.Errorf("timing: %w: need at least one row and one feature (rows %d, features %d)", model.ErrInvalidData, n, len(d.Names))
	}
	if len(o.Paid) != n {
		return nil, fmt.Errorf("timing: %w: Outcomes.Paid has %d entries, want %d", model.ErrInvalidData, len(o.Paid), n)
	}
	if o.ObservedThrough != nil && len(o.ObservedThrough) != n {
		return nil, fmt.Errorf("timing: %w: Outcomes.ObservedThrough has %d entries, want %d", model.ErrInvalidData, len(o.ObservedThrough), n)
	}
	paid := o.Paid
	K := p.Weeks
	last := make([]int, n)
	event := make([]bool, n)
	info := FitInfo{}
	var sumS float64
	for i, y := range d.Y {
		if y != math.Trunc(y) || math.Abs(y) > 1e6 {
			return nil, fmt.Errorf("timing: %w: Y row %d is %v, want whole days late", model.ErrInvalidData, i, y)
		}
		last[i], event[i] = atRisk(int(y), paid[i], o.cutoff(i), K)
		info.PersonPeriods += last[i] + 1
		if event[i] {
			info.Events++
		}
		if !paid[i] {
			info.Censored++
		}
		sumS += d.Weight(i) * float64(last[i]+1)
	}
	if info.Events == 0 {
		return nil, fmt.Errorf("timing: %w: no payments within the %d-week horizon", model.ErrInvalidData, K)
	}
	if sumS <= 0 {
		return nil, fmt.Errorf("timing: %w: no at-risk periods with positive weight", model.ErrInvalidData)
	}
	sc, err := logreg.FitScaler(slices.Clone(d.Names), d.X, d.W, p.MissingIndicators)
	if err != nil {
		return nil, fmt.Errorf("timing: %w", err)
	}
	Z := sc.Design(d.X, n)
	w := d.W
	if w == nil {
		w = make([]float64, n)
		for i := range w {
			w[i] = 1
		}
	}
	var ev float64
	for i := range n {
		if event[i] {
			ev += w[i]
		}
	}
	h0 := min(max(ev/sumS, 1e-6), 1-1e-6)
	prior := math.Log(h0 / (1 - h0))
	obj := &objective{Z: Z, w: w, last: last, event: event, K: K, inv: 1 / sumS, l2: p.L2 / sumS, prior: prior,
		xb: make([]float64, n), R: make([]float64, n)}
	x0 := make([]float64, (K+1)+len(Z))
	for k := 0; k <= K; k++ {
		x0[k] = prior // start at the pooled hazard
	}

	sol, err := logreg.Minimize(ctx, "timing", obj.f, obj.g, x0, p.MaxIter, p.GradTol, lg)
	if err != nil {
		return nil, err
	}
	info.Iterations, info.Status, info.Loss = sol.Iterations, sol.Status, sol.Loss
	info.GradNorm, info.Converged = sol.GradNorm, sol.Converged
	m := &Model{
		scaler:  sc,
		prior:   prior,
		week:    slices.Clone(sol.X[:1+K]),
		coef:    slices.Clone(sol.X[1+K : 1+K+len(d.Names)]),
		indCoef: make([]float64, len(d.Names)),
		params:  p,
		info:    info,
	}
	k := 1 + K + len(d.Names)
	for j, has := range sc.Indicator {
		if has {
			m.indCoef[j] = sol.X[k]
			k++
		}
	}
	m.ends = periodEnds(K)
	return m, nil
}

func periodEnds(K int) []int {
	ends := make([]int, K+1)
	for k := range ends {
		ends[k] = PeriodDays * k
	}
	return ends
}

// objective evaluates the penalised person-period log-likelihood
// (normalised by the total person-period weight) without materialising the
// expansion; x = [α_0…α_K, β…].
type objective struct {
	Z     [][]float64
	w     []float64
	last  []int
	event []bool
	K     int
	inv   float64
	l2    float64
	prior float64
	xb, R []float64

	lastX []float64
	lastF float64
	lastG []float64
}

func (o *objective) eval(x []float64) {
	if o.lastX != nil && floats.Equal(o.lastX, x) {
		return
	}
	K := o.K
	alpha, beta := x[:1+K], x[1+K:]
	xb := o.xb
	clear(xb)
	for j, col := range o.Z {
		if beta[j] != 0 {
			floats.AddScaled(xb, beta[j], col)
		}
	}
	if o.lastG == nil {
		o.lastG = make([]float64, len(x))
	}
	g := o.lastG
	clear(g)
	gAlpha := g[:1+K]
	var f float64
	for i, l := range o.last {
		s := o.w[i]
		ri := 0.0
		for k := 0; k <= l; k++ {
			e := alpha[k] + xb[i]
			y := 0.0
			if o.event[i] && k == l {
				y = 1
			}
			f += s * (logreg.Softplus(e) - y*e)
			r := s * (logreg.Sigmoid(e) - y)
			gAlpha[k] += r
			ri += r
		}
		o.R[i] = ri
	}
	pen := 0.0
	for k, ak := range alpha {
		dk := ak - o.prior
		pen += dk * dk
		gAlpha[k] = gAlpha[k]*o.inv + o.l2*dk
	}
	for j, col := range o.Z {
		b := beta[j]
		pen += b * b
		g[1+K+j] = floats.Dot(o.R, col)*o.inv + o.l2*b
	}
	o.lastF = f*o.inv + 0.5*o.l2*pen
	o.lastX = append(o.lastX[:0], x...)
}

func (o *objective) f(x []float64) float64 {
	o.eval(x)
	return o.lastF
}

func (o *objective) g(grad, x []float64) {
	o.eval(x)
	copy(grad, o.lastG)
}

// Kind implements model.Predictor.
func (m *Model) Kind() string { return Kind }

// Features implements model.Predictor.
func (m *Model) Features() []string { return m.scaler.Names }

// Params returns the fitting parameters and fit diagnostics.
func (m *Model) Params() any {
	return struct {
		Params
		Fit FitInfo `json:"fit"`
	}{m.params, m.info}
}

// Info reports how the fit ended.
func (m *Model) Info() FitInfo { return m.info }

// Weeks returns the horizon K.
func (m *Model) Weeks() int { return m.params.Weeks }

// linear returns βᵀz + γᵀu for row (the feature part of every period's
// log-odds).
func (m *Model) linear(row []float64) float64 {
	s := 0.0
	for j, x := range row {
		s += m.contribution(j, x)
	}
	return s
}

func (m *Model) contribution(j int, x float64) float64 {
	c := m.coef[j] * m.scaler.Z(j, x)
	if m.scaler.Indicator[j] {
		c += m.indCoef[j] * m.scaler.U(j, x)
	}
	return c
}

// Hazards writes h_k(row) = σ(α_k + βᵀz) for k = 0…K into out (grown as
// needed) and returns it.
func (m *Model) Hazards(row []float64, out []float64) []float64 {
	model.PanicOnBadRow(Kind, row, len(m.coef))
	lin := m.linear(row)
	if cap(out) < len(m.week) {
		out = make([]float64, len(m.week))
	}
	out = out[:len(m.week)]
	for k, dk := range m.week {
		out[k] = logreg.Sigmoid(lin + dk)
	}
	return out
}

// Distribution implements model.Timing: the payment-timing distribution of
// row, conditioned on the invoice being unpaid at the end of day
// elapsedDays after due (negative = not yet due).
func (m *Model) Distribution(row []float64, elapsedDays int) model.Distribution {
	d, err := model.NewDistribution(m.ends, m.Hazards(row, nil))
	if err != nil {
		// Hazards are sigmoids in (0,1) and ends are fixed: unreachable.
		panic("timing: " + err.Error())
	}
	return d.Condition(elapsedDays)
}

// Explain returns the top-k features by |contribution| to the delay of
// payment: contribution_j = −(β_j z_j + γ_j u_j), the change in the log-odds
// of NOT being paid in any given week relative to a row at the training
// means. Positive values (Direction Up) mean later payment.
func (m *Model) Explain(row []float64, k int) []model.Reason {
	model.PanicOnBadRow(Kind, row, len(m.coef))
	rs := make([]model.Reason, len(row))
	for j, x := range row {
		c := -m.contribution(j, x)
		if c == 0 {
			c = 0 // normalise −0
		}
		rs[j] = model.Reason{Feature: m.scaler.Names[j], Value: x, Contribution: c, Direction: model.DirectionOf(c)}
	}
	return model.TopReasons(rs, k)
}

// Summary condenses a distribution for collection work lists.
type Summary struct {
	// ProbLate is P(paid after the due date) = 1 − P_0.
	ProbLate float64 `json:"prob_late"`
	// ExpectedDaysLate is truncated at the horizon (see
	// model.Distribution.ExpectedDaysLate).
	ExpectedDaysLate float64 `json:"expected_days_late"`
	// P10, P50, P90 are payment-day quantiles in days after due (0 = on
	// time); +Inf, encoded as JSON null, when beyond the horizon.
	P10, P50, P90 float64 `json:"-"`
	// BeyondHorizon is P(not paid within the horizon).
	BeyondHorizon float64 `json:"beyond_horizon"`
}

// Summarize returns the summary of row's distribution given elapsedDays.
func (m *Model) Summarize(row []float64, elapsedDays int) Summary {
	d := m.Distribution(row, elapsedDays)
	q := func(p float64) float64 { v, _ := d.Quantile(p); return v }
	return Summary{
		ProbLate:         1 - d.Prob[0],
		ExpectedDaysLate: d.ExpectedDaysLate(),
		P10:              q(0.1),
		P50:              q(0.5),
		P90:              q(0.9),
		BeyondHorizon:    d.Beyond(),
	}
}

type payload struct {
	Scaler  *logreg.Scaler `json:"scaler"`
	Prior   float64        `json:"week_prior"`
	Week    []float64      `json:"week"`
	Coef    []float64      `json:"coef"`
	IndCoef []float64      `json:"indicator_coef"`
	Params  Params         `json:"params"`
	Fit     FitInfo        `json:"fit"`
}

// MarshalPayload encodes the model as JSON (deterministic).
func (m *Model) MarshalPayload() ([]byte, error) {
	return json.Marshal(payload{Scaler: m.scaler, Prior: m.prior, Week: m.week, Coef: m.coef, IndCoef: m.indCoef, Params: m.params, Fit: m.info})
}

// Decode parses a payload written by MarshalPayload.
func Decode(b []byte) (*Model, error) {
	var p payload
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("timing payload: %w", err)
	}
	if p.Scaler == nil {
		return nil, errors.New("timing payload: missing scaler")
	}
	if err := p.Scaler.Validate(); err != nil {
		return nil, fmt.Errorf("timing payload: %w", err)
	}
	if err := p.Params.validate(); err != nil || p.Params.Weeks < 1 {
		return nil, fmt.Errorf("timing payload: bad params %+v: %v", p.Params, err)
	}
	d := len(p.Scaler.Names)
	if len(p.Week) != p.Params.Weeks+1 || len(p.Coef) != d || len(p.IndCoef) != d {
		return nil, fmt.Errorf("timing payload: want %d week effects and %d coefficients, have %d, %d and %d indicator coefficients",
			p.Params.Weeks+1, d, len(p.Week), len(p.Coef), len(p.IndCoef))
	}
	for _, v := range slices.Concat([]float64{p.Prior}, p.Week, p.Coef, p.IndCoef) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, errors.New("timing payload: non-finite coefficient")
		}
	}
	return &Model{scaler: p.Scaler, prior: p.Prior, week: p.Week, coef: p.Coef, indCoef: p.IndCoef,
		params: p.Params, info: p.Fit, ends: periodEnds(p.Params.Weeks)}, nil
}

// MarshalJSON encodes quantiles beyond the horizon as null.
func (s Summary) MarshalJSON() ([]byte, error) {
	type plain Summary
	q := func(v float64) *float64 {
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return nil
		}
		return &v
	}
	return json.Marshal(struct {
		plain
		P10 *float64 `json:"p10_days"`
		P50 *float64 `json:"p50_days"`
		P90 *float64 `json:"p90_days"`
	}{plain(s), q(s.P10), q(s.P50), q(s.P90)})
}
