package logreg

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
)

// Kind is the registered artifact kind.
const Kind = "logreg"

func init() {
	model.Register(Kind, func(b []byte) (model.Predictor, error) { return Decode(b) })
}

// Params configure Fit. The zero value is valid: no penalty, unit class
// weights, no indicators, default stopping rules.
//
// Fit minimises, over intercept b and coefficients β of the standardised
// design columns z (see [Scaler]),
//
//	L(b, β) = Σ_i s_i [ln(1 + e^{η_i}) − y_i η_i] + (L2/2)·‖β‖²,
//	η_i = b + βᵀz_i,   s_i = w_i · c_{y_i},
//
// where w_i is the sample weight and c_0, c_1 the class weights. The
// intercept is not penalised. This is scikit-learn's LogisticRegression
// objective with C = 1/L2 on standardised inputs.
type Params struct {
	// L2 is the ridge penalty λ ≥ 0 (scikit-learn C = 1/λ).
	L2 float64 `json:"l2"`
	// NegativeWeight and PositiveWeight are the class weights c_0 and c_1
	// (0 means 1). Ignored when Balanced is set.
	NegativeWeight float64 `json:"negative_weight,omitempty"`
	PositiveWeight float64 `json:"positive_weight,omitempty"`
	// Balanced sets c_k = n / (2·n_k) from unweighted class counts n_k, as
	// scikit-learn's class_weight="balanced".
	Balanced bool `json:"balanced,omitempty"`
	// MissingIndicators adds a standardised missing-indicator column for
	// every feature missing somewhere in the training data.
	MissingIndicators bool `json:"missing_indicators,omitempty"`
	// MaxIter bounds L-BFGS major iterations (default 1000).
	MaxIter int `json:"max_iter"`
	// GradTol stops when the infinity norm of the gradient of L/Σs_i falls
	// below it (default 1e-8).
	GradTol float64 `json:"grad_tol"`
}

func (p Params) withDefaults() Params {
	if p.MaxIter == 0 {
		p.MaxIter = 1000
	}
	if p.GradTol == 0 {
		p.GradTol = 1e-8
	}
	return p
}

func (p Params) validate() error {
	bad := func(field string, v any, why string) error {
		return fmt.Errorf("logreg: %w: Params.%s = %v: %s", model.ErrInvalidData, field, v, why)
	}
	switch {
	case !(p.L2 >= 0) || math.IsInf(p.L2, 0):
		return bad("L2", p.L2, "must be finite and ≥ 0")
	case !(p.NegativeWeight >= 0) || math.IsInf(p.NegativeWeight, 0):
		return bad("NegativeWeight", p.NegativeWeight, "must be finite and ≥ 0")
	case !(p.PositiveWeight >= 0) || math.IsInf(p.PositiveWeight, 0):
		return bad("PositiveWeight", p.PositiveWeight, "must be finite and ≥ 0")
	case p.MaxIter < 0:
		return bad("MaxIter", p.MaxIter, "must be ≥ 0")
	case !(p.GradTol >= 0):
		return bad("GradTol", p.GradTol, "must be ≥ 0")
	}
	return nil
}

// FitInfo reports how the optimisation ended.
type FitInfo struct {
	Iterations      int     `json:"iterations"`
	FuncEvaluations int     `json:"func_evaluations"`
	Converged       bool    `json:"converged"`
	Status          string  `json:"status"`
	Loss            float64 `json:"loss"`      // L / Σ s_i at the solution
	GradNorm        float64 `json:"grad_norm"` // ‖∇(L/Σ s_i)‖∞ at the solution
}

// Model is a fitted logistic regression. It is immutable and safe for
// concurrent use.
type Model struct {
	scaler    *Scaler
	coef      []float64 // per feature
	indCoef   []float64 // per feature; 0 when no indicator
	intercept float64
	params    Params
	info      FitInfo
}

// Fit trains a model on d (labels 0/1, optional weights). lg receives a
// warning when the optimiser stops before converging (nil discards). Fit
// stops early with ctx's error when ctx is cancelled.
func Fit(ctx context.Context, d *model.Dataset, p Params, lg *slog.Logger) (*Model, error) {
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	p = p.withDefaults()
	if err := d.ValidateBinary(); err != nil {
		return nil, fmt.Errorf("logreg: %w", err)
	}
	if len(d.Names) == 0 {
		return nil, fmt.Errorf("logreg: %w: dataset has no features", model.ErrInvalidData)
	}
	n := d.Rows()
	sc, err := FitScaler(slices.Clone(d.Names), d.X, d.W, p.MissingIndicators)
	if err != nil {
		return nil, fmt.Errorf("logreg: %w", err)
	}
	Z := sc.Design(d.X, n)

	c0, c1 := p.NegativeWeight, p.PositiveWeight
	if c0 == 0 {
		c0 = 1
	}
	if c1 == 0 {
		c1 = 1
	}
	if p.Balanced {
		var n1 float64
		for _, y := range d.Y {
			n1 += y
		}
		c0, c1 = float64(n)/(2*(float64(n)-n1)), float64(n)/(2*n1)
	}
	s := make([]float64, n)
	var sumS float64
	for i, y := range d.Y {
		c := c0
		if y == 1 {
			c = c1
		}
		s[i] = d.Weight(i) * c
		sumS += s[i]
	}
	if sumS <= 0 {
		return nil, fmt.Errorf("logreg: %w: total weight (sample × class) is 0", model.ErrInvalidData)
	}
	obj := &objective{Z: Z, y: d.Y, s: s, l2: p.L2 / sumS, inv: 1 / sumS, eta: make([]float64, n)}

	x0 := make([]float64, 1+len(Z))
	// Start at the weighted log-odds of the base rate.
	var s1 float64
	for i, y := range d.Y {
		s1 += s[i] * y
	}
	x0[0] = math.Log(s1 / (sumS - s1))

	sol, err := Minimize(ctx, "logreg", obj.f, obj.g, x0, p.MaxIter, p.GradTol, lg)
	if err != nil {
		return nil, err
	}
	info := FitInfo{Iterations: sol.Iterations, FuncEvaluations: sol.FuncEvaluations, Status: sol.Status,
		Loss: sol.Loss, GradNorm: sol.GradNorm, Converged: sol.Converged}
	m := &Model{
		scaler:    sc,
		coef:      slices.Clone(sol.X[1 : 1+len(d.Names)]),
		indCoef:   make([]float64, len(d.Names)),
		intercept: sol.X[0],
		params:    p,
		info:      info,
	}
	k := 1 + len(d.Names)
	for j, has := range sc.Indicator {
		if has {
			m.indCoef[j] = sol.X[k]
			k++
		}
	}
	return m, nil
}

// objective evaluates L/Σs and its gradient; x = [b, β...].
type objective struct {
	Z    [][]float64
	y, s []float64
	l2   float64 // λ / Σs
	inv  float64 // 1 / Σs
	eta  []float64
	// cache of the last evaluation
	lastX []float64
	lastF float64
	lastG []float64
}

func (o *objective) eval(x []float64) {
	if o.lastX != nil && floats.Equal(o.lastX, x) {
		return
	}
	eta := o.eta
	for i := range eta {
		eta[i] = x[0]
	}
	for j, col := range o.Z {
		if b := x[1+j]; b != 0 {
			floats.AddScaled(eta, b, col)
		}
	}
	var f, g0 float64
	// Reuse eta as the residual buffer r_i = s_i (σ(η_i) − y_i).
	for i, e := range eta {
		y, s := o.y[i], o.s[i]
		f += s * (Softplus(e) - y*e)
		r := s * (Sigmoid(e) - y)
		eta[i] = r
		g0 += r
	}
	if o.lastG == nil {
		o.lastG = make([]float64, len(x))
	}
	g := o.lastG
	g[0] = g0 * o.inv
	pen := 0.0
	for j, col := range o.Z {
		b := x[1+j]
		pen += b * b
		g[1+j] = floats.Dot(eta, col)*o.inv + o.l2*b
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

// Params returns the parameters the model was fitted with (defaults
// resolved) and how the fit ended.
func (m *Model) Params() any {
	return struct {
		Params
		Fit FitInfo `json:"fit"`
	}{m.params, m.info}
}

// Info reports how the optimisation ended.
func (m *Model) Info() FitInfo { return m.info }

// Intercept returns b (log-odds of lateness for a row at the training means
// with, for indicator features, the training missing rate).
func (m *Model) Intercept() float64 { return m.intercept }

// Coefficient describes one design column.
type Coefficient struct {
	// Name is the feature, or "<feature>:missing" for an indicator.
	Name string `json:"name"`
	// Standardized is β_j: log-odds change per training standard deviation.
	Standardized float64 `json:"standardized"`
	// PerUnit is β_j/σ_j: log-odds change per raw unit of the feature.
	PerUnit float64 `json:"per_unit"`
}

// Coefficients returns the feature coefficients followed by the indicator
// coefficients, in design order.
func (m *Model) Coefficients() []Coefficient {
	sc := m.scaler
	out := make([]Coefficient, 0, sc.Width())
	for j, name := range sc.Names {
		out = append(out, Coefficient{Name: name, Standardized: m.coef[j], PerUnit: m.coef[j] / sc.Scale[j]})
	}
	for j, name := range sc.Names {
		if sc.Indicator[j] {
			out = append(out, Coefficient{Name: name + ":missing", Standardized: m.indCoef[j], PerUnit: m.indCoef[j] / sc.IndScale[j]})
		}
	}
	return out
}

// Logit returns η = b + Σ_j contribution_j for row.
func (m *Model) Logit(row []float64) float64 {
	model.PanicOnBadRow(Kind, row, len(m.coef))
	eta := m.intercept
	for j, x := range row {
		eta += m.contribution(j, x)
	}
	return eta
}

func (m *Model) contribution(j int, x float64) float64 {
	c := m.coef[j] * m.scaler.Z(j, x)
	if m.scaler.Indicator[j] {
		c += m.indCoef[j] * m.scaler.U(j, x)
	}
	return c
}

// PredictProba returns σ(η) = 1/(1+e^{−η}).
func (m *Model) PredictProba(row []float64) float64 { return Sigmoid(m.Logit(row)) }

// PredictBatch scores column-major X into out.
func (m *Model) PredictBatch(X [][]float64, out []float64) error {
	n, err := model.CheckColumns(m.scaler.Names, X)
	if err != nil {
		return fmt.Errorf("logreg: %w", err)
	}
	if len(out) != n {
		return fmt.Errorf("logreg: %w: out has %d entries for %d rows", model.ErrInvalidData, len(out), n)
	}
	for i := range out {
		out[i] = m.intercept
	}
	sc := m.scaler
	for j, col := range X {
		b := m.coef[j]
		mu, inv := sc.Mean[j], 1/sc.Scale[j]
		var uObs, uMiss float64
		if sc.Indicator[j] {
			uObs = m.indCoef[j] * (-sc.IndMean[j] / sc.IndScale[j])
			uMiss = m.indCoef[j] * ((1 - sc.IndMean[j]) / sc.IndScale[j])
		}
		for i, x := range col {
			if math.IsNaN(x) {
				out[i] += uMiss
			} else {
				out[i] += b*(x-mu)*inv + uObs
			}
		}
	}
	for i, e := range out {
		out[i] = Sigmoid(e)
	}
	return nil
}

// Explain returns the top-k features by |contribution|, where
//
//	contribution_j = β_j·z_j + γ_j·u_j
//
// in log-odds units (γ_j, u_j: the missing-indicator coefficient and value,
// 0 without an indicator), so logit(P(late)) = Intercept() + Σ_j
// contribution_j over all features. A contribution is measured against a row
// at the training means.
func (m *Model) Explain(row []float64, k int) []model.Reason {
	model.PanicOnBadRow(Kind, row, len(m.coef))
	rs := make([]model.Reason, len(row))
	for j, x := range row {
		c := m.contribution(j, x)
		rs[j] = model.Reason{Feature: m.scaler.Names[j], Value: x, Contribution: c, Direction: model.DirectionOf(c)}
	}
	return model.TopReasons(rs, k)
}

type payload struct {
	Scaler    *Scaler   `json:"scaler"`
	Coef      []float64 `json:"coef"`
	IndCoef   []float64 `json:"indicator_coef"`
	Intercept float64   `json:"intercept"`
	Params    Params    `json:"params"`
	Fit       FitInfo   `json:"fit"`
}

// MarshalPayload encodes the model as JSON (deterministic).
func (m *Model) MarshalPayload() ([]byte, error) {
	return json.Marshal(payload{Scaler: m.scaler, Coef: m.coef, IndCoef: m.indCoef, Intercept: m.intercept, Params: m.params, Fit: m.info})
}

// Decode parses a payload written by MarshalPayload.
func Decode(b []byte) (*Model, error) {
	var p payload
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("logreg payload: %w", err)
	}
	if p.Scaler == nil {
		return nil, errors.New("logreg payload: missing scaler")
	}
	if err := p.Scaler.Validate(); err != nil {
		return nil, fmt.Errorf("logreg payload: %w", err)
	}
	d := len(p.Scaler.Names)
	if len(p.Coef) != d || len(p.IndCoef) != d {
		return nil, fmt.Errorf("logreg payload: %d features but %d coefficients and %d indicator coefficients", d, len(p.Coef), len(p.IndCoef))
	}
	for _, v := range append(append([]float64{p.Intercept}, p.Coef...), p.IndCoef...) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, errors.New("logreg payload: non-finite coefficient")
		}
	}
	return &Model{scaler: p.Scaler, coef: p.Coef, indCoef: p.IndCoef, intercept: p.Intercept, params: p.Params, info: p.Fit}, nil
}
