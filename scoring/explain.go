package scoring

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"

	"github.com/duesight/duesight/model"
	"github.com/duesight/duesight/model/calibrate"
)

// logregKind is the kind string of model/logreg artifacts.
const logregKind = "logreg"

// linearFast is an allocation-free path for "logreg" artifacts: it reads the
// persisted payload (scaler, coefficients, intercept) and computes, in one
// pass over the row, exactly what logreg's PredictProba and Explain compute:
//
//	c_j = β_j·z_j + γ_j·u_j     (z_j = (x_j − μ_j)/σ_j, 0 if missing; u_j the
//	                             standardised missing indicator when present)
//	p   = calibrate(σ(b + Σ_j c_j))
//
// with the same operations in the same order, and the top-k reasons by |c_j|
// (ties in feature order, as model.TopReasons' stable sort) by selection
// instead of sorting every feature. model.TopReasons sorts all ~100
// contributions of every score, which dominated scoring time.
//
// It is used only after a self-check at load: on probe rows its
// probabilities and top reasons must equal the model's own bit for bit;
// otherwise (e.g. a changed payload format) the generic path is used.
type linearFast struct {
	names             []string
	mean, scale       []float64
	ind               []bool
	indMean, indScale []float64
	coef, indCoef     []float64
	intercept         float64
	cal               calibrate.Calibrator
}

// logregPayload mirrors the persisted JSON of model/logreg (and the linear
// part of model/timing's weekly-hazard payload, which adds Week).
type logregPayload struct {
	Scaler *struct {
		Names     []string  `json:"features"`
		Mean      []float64 `json:"mean"`
		Scale     []float64 `json:"scale"`
		Indicator []bool    `json:"indicator"`
		IndMean   []float64 `json:"indicator_mean"`
		IndScale  []float64 `json:"indicator_scale"`
	} `json:"scaler"`
	Coef      []float64 `json:"coef"`
	IndCoef   []float64 `json:"indicator_coef"`
	Intercept float64   `json:"intercept"`
	Week      []float64 `json:"week"`
}

// decodeLinear reads a logreg-style payload into a linearFast (not yet
// checked) whose features must be names.
func decodeLinear(payload []byte, names []string) (*linearFast, *logregPayload) {
	var p logregPayload
	if err := json.NewDecoder(bytes.NewReader(payload)).Decode(&p); err != nil || p.Scaler == nil {
		return nil, nil
	}
	s := p.Scaler
	n := len(s.Names)
	if !slices.Equal(s.Names, names) || len(s.Mean) != n || len(s.Scale) != n || len(s.Indicator) != n ||
		len(s.IndMean) != n || len(s.IndScale) != n || len(p.Coef) != n || len(p.IndCoef) != n {
		return nil, nil
	}
	return &linearFast{names: names, mean: s.Mean, scale: s.Scale, ind: s.Indicator, indMean: s.IndMean,
		indScale: s.IndScale, coef: p.Coef, indCoef: p.IndCoef, intercept: p.Intercept}, &p
}

// newLinearFast returns the fast path of artifact a (whose binary model is
// m), or nil when a is not a logreg artifact or the self-check fails.
func newLinearFast(a *model.Artifact, m model.Model, k int) *linearFast {
	if a.Header.Kind != logregKind {
		return nil
	}
	l, _ := decodeLinear(a.Payload, m.Features())
	if l == nil {
		return nil
	}
	l.cal = a.Calibrator()
	if !l.selfCheck(m, k) {
		return nil
	}
	return l
}

// contribution is logreg's contribution(j, x): coef·Z + indCoef·U.
func (l *linearFast) contribution(j int, x float64) float64 {
	z := 0.0
	if !math.IsNaN(x) {
		z = (x - l.mean[j]) / l.scale[j]
	}
	c := l.coef[j] * z
	if l.ind[j] {
		mi := 0.0
		if math.IsNaN(x) {
			mi = 1
		}
		c += l.indCoef[j] * ((mi - l.indMean[j]) / l.indScale[j])
	}
	return c
}

// sigmoid is logreg's numerically stable logistic function.
func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// score returns the calibrated P(late) of row and writes the indices of its
// top-k contributions (largest |c| first, ties in feature order) into top,
// their contributions into tc; it returns how many it wrote (≤ k).
func (l *linearFast) score(row []float64, k int, top []int, tc []float64) (float64, int) {
	eta := l.intercept
	n := 0
	for j, x := range row {
		c := l.contribution(j, x)
		eta += c
		if k == 0 {
			continue
		}
		a := math.Abs(c)
		// Position after every kept entry with |c| ≥ a (earlier features win ties).
		pos := n
		for pos > 0 && math.Abs(tc[pos-1]) < a {
			pos--
		}
		if pos >= k {
			continue
		}
		if n < k {
			n++
		}
		copy(top[pos+1:n], top[pos:n-1])
		copy(tc[pos+1:n], tc[pos:n-1])
		top[pos], tc[pos] = j, c
	}
	p := sigmoid(eta)
	if l.cal != nil {
		p = l.cal.Apply(p)
	}
	return p, n
}

// selfCheck compares the fast path with the model on probe rows.
func (l *linearFast) selfCheck(m model.Model, k int) bool {
	n := len(l.names)
	probes := make([][]float64, 5)
	for i := range probes {
		probes[i] = make([]float64, n)
	}
	for j := range n {
		probes[0][j] = math.NaN()
		probes[2][j] = l.mean[j] + l.scale[j]
		probes[3][j] = l.mean[j] - 2.5*l.scale[j]*float64(j%3)
		if j%2 == 0 {
			probes[4][j] = math.NaN()
		} else {
			probes[4][j] = float64(j) * 1.5
		}
	}
	top, tc := make([]int, max(k, 1)), make([]float64, max(k, 1))
	for _, row := range probes {
		p, got := l.score(row, k, top, tc)
		if p != m.PredictProba(row) {
			return false
		}
		if k == 0 {
			continue
		}
		want := m.Explain(row, k)
		if len(want) != got {
			return false
		}
		for i, r := range want {
			if r.Feature != l.names[top[i]] || r.Contribution != tc[i] {
				return false
			}
		}
	}
	return true
}

// weeklyHazardKind is the kind string of model/timing's weekly-hazard model.
const weeklyHazardKind = "weekly-hazard"

// weeklyHazards returns, for a "weekly-hazard" artifact, the hazards
// h_k = σ(Σ_j c_j + α_k) computed from its persisted payload with the
// model's own operations (c_j as in linearFast, summed from 0; α_k the week
// effects), or nil. newTimingFast checks it against the model before use.
func weeklyHazards(a *model.Artifact, names []string) func(row, out []float64) []float64 {
	if a == nil || a.Header.Kind != weeklyHazardKind {
		return nil
	}
	l, p := decodeLinear(a.Payload, names)
	if l == nil || len(p.Week) == 0 || p.Intercept != 0 {
		return nil
	}
	week := p.Week
	return func(row, out []float64) []float64 {
		lin := 0.0
		for j, x := range row {
			lin += l.contribution(j, x)
		}
		if cap(out) < len(week) {
			out = make([]float64, len(week))
		}
		out = out[:len(week)]
		for k, dk := range week {
			out[k] = sigmoid(lin + dk)
		}
		return out
	}
}
