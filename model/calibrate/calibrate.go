package calibrate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
)

// ErrInvalid is wrapped by errors about malformed fitting input or a
// malformed serialised calibrator.
var ErrInvalid = errors.New("calibrate: invalid input")

// Calibrator maps a raw score in [0, 1] to a calibrated probability.
// Implementations are monotone non-decreasing and safe for concurrent use.
type Calibrator interface {
	// Method is "isotonic" or "platt".
	Method() string
	// Apply returns the calibrated probability of score p (NaN stays NaN).
	Apply(p float64) float64
}

// Isotonic is a fitted isotonic calibration: a piecewise-linear,
// non-decreasing function through the knots (X[i], Y[i]), constant outside
// [X[0], X[len-1]] (clipped, like scikit-learn's out_of_bounds="clip").
type Isotonic struct {
	X []float64 `json:"x"`
	Y []float64 `json:"y"`
}

// Method implements Calibrator.
func (c *Isotonic) Method() string { return "isotonic" }

// Apply interpolates linearly between the two knots around p.
func (c *Isotonic) Apply(p float64) float64 {
	if math.IsNaN(p) || len(c.X) == 0 {
		return math.NaN()
	}
	n := len(c.X)
	if p <= c.X[0] {
		return c.Y[0]
	}
	if p >= c.X[n-1] {
		return c.Y[n-1]
	}
	// First knot strictly greater than p; 1 ≤ i ≤ n-1.
	i := sort.SearchFloat64s(c.X, p)
	if c.X[i] == p {
		return c.Y[i]
	}
	x0, x1 := c.X[i-1], c.X[i]
	y0, y1 := c.Y[i-1], c.Y[i]
	return y0 + (y1-y0)*(p-x0)/(x1-x0)
}

// FitIsotonic fits a non-decreasing step function of scores to labels by
// weighted least squares with the pool-adjacent-violators algorithm:
// minimise Σ w_i (ŷ_i − y_i)² subject to ŷ non-decreasing in score. Tied
// scores are first pooled into their weighted mean label. The knots keep the
// first and last score of every constant block so Apply interpolates linearly
// between blocks. weights may be nil (all 1). Labels are normally 0/1; any
// finite values are accepted.
func FitIsotonic(scores, labels, weights []float64) (*Isotonic, error) {
	if err := checkInput(scores, labels, weights); err != nil {
		return nil, fmt.Errorf("isotonic: %w", err)
	}
	order := make([]int, len(scores))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case scores[a] < scores[b]:
			return -1
		case scores[a] > scores[b]:
			return 1
		}
		return 0
	})
	type block struct {
		sumWY, sumW float64
		lo, hi      float64 // first and last score in the block
	}
	// Pool ties, skipping zero-weight points.
	pts := make([]block, 0, len(order))
	for _, i := range order {
		w := weight(weights, i)
		if w == 0 {
			continue
		}
		x := scores[i]
		if n := len(pts); n > 0 && pts[n-1].lo == x {
			pts[n-1].sumWY += w * labels[i]
			pts[n-1].sumW += w
			continue
		}
		pts = append(pts, block{sumWY: w * labels[i], sumW: w, lo: x, hi: x})
	}
	// Pool adjacent violators.
	stack := make([]block, 0, len(pts))
	for _, p := range pts {
		stack = append(stack, p)
		for len(stack) > 1 {
			a, b := stack[len(stack)-2], stack[len(stack)-1]
			if a.sumWY/a.sumW <= b.sumWY/b.sumW {
				break
			}
			stack = stack[:len(stack)-2]
			stack = append(stack, block{sumWY: a.sumWY + b.sumWY, sumW: a.sumW + b.sumW, lo: a.lo, hi: b.hi})
		}
	}
	c := &Isotonic{}
	for _, b := range stack {
		v := b.sumWY / b.sumW
		c.X = append(c.X, b.lo)
		c.Y = append(c.Y, v)
		if b.hi != b.lo {
			c.X = append(c.X, b.hi)
			c.Y = append(c.Y, v)
		}
	}
	return c, nil
}

// Platt is a fitted Platt scaling: with f = logit(p) = ln(p/(1−p)) (p
// clipped to [1e-15, 1−1e-15]), the calibrated probability is
// 1 / (1 + exp(A·f + B)). A < 0 for a score that increases with risk.
type Platt struct {
	A float64 `json:"a"`
	B float64 `json:"b"`
}

// Method implements Calibrator.
func (c *Platt) Method() string { return "platt" }

// Apply returns 1/(1+exp(A·logit(p)+B)).
func (c *Platt) Apply(p float64) float64 {
	if math.IsNaN(p) {
		return p
	}
	z := c.A*logit(p) + c.B
	return 1 / (1 + math.Exp(z))
}

const clipEps = 1e-15

func logit(p float64) float64 {
	p = min(max(p, clipEps), 1-clipEps)
	return math.Log(p / (1 - p))
}

// FitPlatt fits A and B by Newton's method with backtracking, minimising the
// weighted cross-entropy Σ w_i [−t_i ln q_i − (1−t_i) ln(1−q_i)] with
// q_i = 1/(1+exp(A f_i + B)), f_i = logit(score_i), and Platt's smoothed
// targets t_i = (N₊+1)/(N₊+2) for label 1 and 1/(N₋+2) for label 0 (N₊, N₋
// are the weighted class totals). Labels must be 0 or 1; weights may be nil.
// This is the objective of scikit-learn's _sigmoid_calibration.
func FitPlatt(scores, labels, weights []float64) (*Platt, error) {
	if err := checkInput(scores, labels, weights); err != nil {
		return nil, fmt.Errorf("platt: %w", err)
	}
	var nPos, nNeg float64
	for i, y := range labels {
		switch y {
		case 0:
			nNeg += weight(weights, i)
		case 1:
			nPos += weight(weights, i)
		default:
			return nil, fmt.Errorf("platt: %w: label %d is %v, want 0 or 1", ErrInvalid, i, y)
		}
	}
	if nPos == 0 || nNeg == 0 {
		return nil, fmt.Errorf("platt: %w: both classes need positive weight (label 0: %v, label 1: %v)", ErrInvalid, nNeg, nPos)
	}
	tPos, tNeg := (nPos+1)/(nPos+2), 1/(nNeg+2)
	f := make([]float64, len(scores))
	t := make([]float64, len(scores))
	for i := range scores {
		f[i] = logit(scores[i])
		if labels[i] == 1 {
			t[i] = tPos
		} else {
			t[i] = tNeg
		}
	}
	// loss(z) = ln(1+e^z) − (1−t) z, z = A f + B.
	loss := func(a, b float64) float64 {
		s := 0.0
		for i := range f {
			z := a*f[i] + b
			s += weight(weights, i) * (softplus(z) - (1-t[i])*z)
		}
		return s
	}
	a, b := 0.0, math.Log((nNeg+1)/(nPos+1))
	cur := loss(a, b)
	for iter := 0; iter < 200; iter++ {
		var gA, gB, hAA, hAB, hBB float64
		for i := range f {
			w := weight(weights, i)
			z := a*f[i] + b
			s := sigmoid(z)
			r := w * (s - (1 - t[i]))
			gA += r * f[i]
			gB += r
			h := w * s * (1 - s)
			hAA += h * f[i] * f[i]
			hAB += h * f[i]
			hBB += h
		}
		if math.Max(math.Abs(gA), math.Abs(gB)) < 1e-10*(nPos+nNeg) {
			break
		}
		hAA += 1e-12
		hBB += 1e-12
		det := hAA*hBB - hAB*hAB
		dA := -(hBB*gA - hAB*gB) / det
		dB := -(-hAB*gA + hAA*gB) / det
		step := 1.0
		improved := false
		for step > 1e-10 {
			na, nb := a+step*dA, b+step*dB
			if v := loss(na, nb); v < cur+1e-4*step*(gA*dA+gB*dB) {
				a, b, cur = na, nb, v
				improved = true
				break
			}
			step /= 2
		}
		if !improved {
			break
		}
	}
	if math.IsNaN(a) || math.IsNaN(b) {
		return nil, fmt.Errorf("platt: fit diverged (A=%v, B=%v)", a, b)
	}
	return &Platt{A: a, B: b}, nil
}

func softplus(z float64) float64 {
	if z > 0 {
		return z + math.Log1p(math.Exp(-z))
	}
	return math.Log1p(math.Exp(z))
}

func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

func weight(w []float64, i int) float64 {
	if w == nil {
		return 1
	}
	return w[i]
}

func checkInput(scores, labels, weights []float64) error {
	if len(scores) == 0 {
		return fmt.Errorf("%w: no scores", ErrInvalid)
	}
	if len(labels) != len(scores) {
		return fmt.Errorf("%w: %d scores but %d labels", ErrInvalid, len(scores), len(labels))
	}
	if weights != nil && len(weights) != len(scores) {
		return fmt.Errorf("%w: %d scores but %d weights", ErrInvalid, len(scores), len(weights))
	}
	total := 0.0
	for i := range scores {
		if math.IsNaN(scores[i]) || math.IsInf(scores[i], 0) {
			return fmt.Errorf("%w: score %d is %v", ErrInvalid, i, scores[i])
		}
		if math.IsNaN(labels[i]) || math.IsInf(labels[i], 0) {
			return fmt.Errorf("%w: label %d is %v", ErrInvalid, i, labels[i])
		}
		w := weight(weights, i)
		if !(w >= 0) || math.IsInf(w, 0) {
			return fmt.Errorf("%w: weight %d is %v (must be finite and ≥ 0)", ErrInvalid, i, w)
		}
		total += w
	}
	if total <= 0 {
		return fmt.Errorf("%w: weights sum to 0", ErrInvalid)
	}
	return nil
}

type isoJSON struct {
	Method string    `json:"method"`
	X      []float64 `json:"x"`
	Y      []float64 `json:"y"`
}

type plattJSON struct {
	Method string  `json:"method"`
	A      float64 `json:"a"`
	B      float64 `json:"b"`
}

// Marshal encodes c as {"method":"isotonic","x":[…],"y":[…]} or
// {"method":"platt","a":…,"b":…}. The encoding is deterministic.
func Marshal(c Calibrator) ([]byte, error) {
	switch c := c.(type) {
	case *Isotonic:
		if err := c.validate(); err != nil {
			return nil, err
		}
		return json.Marshal(isoJSON{Method: "isotonic", X: c.X, Y: c.Y})
	case *Platt:
		if math.IsNaN(c.A) || math.IsInf(c.A, 0) || math.IsNaN(c.B) || math.IsInf(c.B, 0) {
			return nil, fmt.Errorf("%w: platt parameters must be finite (a=%v, b=%v)", ErrInvalid, c.A, c.B)
		}
		return json.Marshal(plattJSON{Method: "platt", A: c.A, B: c.B})
	case nil:
		return nil, fmt.Errorf("%w: nil calibrator", ErrInvalid)
	default:
		return nil, fmt.Errorf("%w: cannot encode calibrator type %T (method %q)", ErrInvalid, c, c.Method())
	}
}

// Unmarshal decodes the output of [Marshal], validating it (unknown method,
// mismatched or empty knot arrays, decreasing knots and non-finite values
// are errors wrapping [ErrInvalid]).
func Unmarshal(b []byte) (Calibrator, error) {
	var head struct {
		Method string `json:"method"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("%w: calibration is not a JSON object: %v", ErrInvalid, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	switch head.Method {
	case "isotonic":
		var in isoJSON
		if err := dec.Decode(&in); err != nil {
			return nil, fmt.Errorf("%w: isotonic calibration: %v", ErrInvalid, err)
		}
		c := &Isotonic{X: in.X, Y: in.Y}
		if err := c.validate(); err != nil {
			return nil, err
		}
		return c, nil
	case "platt":
		var in plattJSON
		if err := dec.Decode(&in); err != nil {
			return nil, fmt.Errorf("%w: platt calibration: %v", ErrInvalid, err)
		}
		return &Platt{A: in.A, B: in.B}, nil
	default:
		return nil, fmt.Errorf("%w: unknown calibration method %q (want isotonic or platt)", ErrInvalid, head.Method)
	}
}

func (c *Isotonic) validate() error {
	if len(c.X) == 0 || len(c.X) != len(c.Y) {
		return fmt.Errorf("%w: isotonic calibration needs equal, non-zero numbers of knots (x: %d, y: %d)", ErrInvalid, len(c.X), len(c.Y))
	}
	for i := range c.X {
		if math.IsNaN(c.X[i]) || math.IsInf(c.X[i], 0) || math.IsNaN(c.Y[i]) || math.IsInf(c.Y[i], 0) {
			return fmt.Errorf("%w: isotonic knot %d is not finite (x=%v, y=%v)", ErrInvalid, i, c.X[i], c.Y[i])
		}
		if i > 0 && (c.X[i] < c.X[i-1] || c.Y[i] < c.Y[i-1]) {
			return fmt.Errorf("%w: isotonic knot %d decreases (x %v→%v, y %v→%v)", ErrInvalid, i, c.X[i-1], c.X[i], c.Y[i-1], c.Y[i])
		}
	}
	return nil
}
