package logreg

import (
	"errors"
	"fmt"
	"math"

	"github.com/duesight/duesight/model"
)

// Scaler standardises features into a design matrix.
//
// For feature j with training mean μ_j and scale σ_j the design value is
// z_j = (x_j − μ_j)/σ_j, and 0 (mean imputation) when x_j is missing. When
// Indicator[j] is set, an extra design column u_j = (m_j − ν_j)/τ_j is
// appended, where m_j = 1 if x_j is missing and 0 otherwise, and ν_j, τ_j are
// the indicator's training mean and scale. Indicator columns follow all
// feature columns, in feature order.
//
// Statistics use the sample weights w_i (nil = 1):
//
//	μ_j = Σ_{i observed} w_i x_ij / Σ_{i observed} w_i
//	σ_j = sqrt( Σ_{i observed} w_i (x_ij − μ_j)² / Σ_i w_i )
//
// i.e. the weighted population standard deviation of the mean-imputed
// column; σ_j = 1 when that is (near) zero. This is exactly scikit-learn's
// SimpleImputer(strategy="mean", add_indicator=True) followed by
// StandardScaler().
type Scaler struct {
	Names     []string  `json:"features"`
	Mean      []float64 `json:"mean"`
	Scale     []float64 `json:"scale"`
	Indicator []bool    `json:"indicator"`
	IndMean   []float64 `json:"indicator_mean"`
	IndScale  []float64 `json:"indicator_scale"`
}

// FitScaler computes the statistics of the columns of X (column-major, NaN =
// missing) under weights w (nil = all 1). With indicators set, every feature
// that is missing in at least one training row (with positive weight) gets an
// indicator column. A feature missing in every row gets μ = 0, σ = 1 and
// no indicator: its design value is always 0, so it carries no weight (as
// scikit-learn's SimpleImputer drops such columns).
func FitScaler(names []string, X [][]float64, w []float64, indicators bool) (*Scaler, error) {
	if len(names) != len(X) {
		return nil, fmt.Errorf("%w: %d names for %d columns", model.ErrInvalidData, len(names), len(X))
	}
	d := len(X)
	s := &Scaler{
		Names:     names,
		Mean:      make([]float64, d),
		Scale:     make([]float64, d),
		Indicator: make([]bool, d),
		IndMean:   make([]float64, d),
		IndScale:  make([]float64, d),
	}
	for j, col := range X {
		var sw, swObs, swx float64
		for i, x := range col {
			wi := wt(w, i)
			sw += wi
			if !math.IsNaN(x) {
				swObs += wi
				swx += wi * x
			}
		}
		if sw <= 0 {
			return nil, fmt.Errorf("%w: no rows with positive weight", model.ErrInvalidData)
		}
		if swObs == 0 {
			s.Mean[j], s.Scale[j], s.IndScale[j] = 0, 1, 1
			continue
		}
		mu := swx / swObs
		var ss float64
		for i, x := range col {
			if !math.IsNaN(x) {
				dx := x - mu
				ss += wt(w, i) * dx * dx
			}
		}
		s.Mean[j] = mu
		s.Scale[j] = safeScale(math.Sqrt(ss/sw), mu)
		if indicators && swObs < sw {
			nu := (sw - swObs) / sw
			s.Indicator[j] = true
			s.IndMean[j] = nu
			s.IndScale[j] = safeScale(math.Sqrt(nu*(1-nu)), nu)
		} else {
			s.IndScale[j] = 1
		}
	}
	return s, nil
}

// safeScale mirrors scikit-learn's _handle_zeros_in_scale: scales below
// 10·ε·max(1,|mean|) become 1.
func safeScale(sd, mean float64) float64 {
	if sd < 10*2.220446049250313e-16*math.Max(1, math.Abs(mean)) || math.IsNaN(sd) {
		return 1
	}
	return sd
}

func wt(w []float64, i int) float64 {
	if w == nil {
		return 1
	}
	return w[i]
}

// Width returns the number of design columns: features plus indicators.
func (s *Scaler) Width() int {
	n := len(s.Mean)
	for _, b := range s.Indicator {
		if b {
			n++
		}
	}
	return n
}

// DesignNames returns the design column names; indicator columns are named
// "<feature>:missing".
func (s *Scaler) DesignNames() []string {
	out := make([]string, 0, s.Width())
	out = append(out, s.Names...)
	for j, b := range s.Indicator {
		if b {
			out = append(out, s.Names[j]+":missing")
		}
	}
	return out
}

// Design returns the standardised design columns for column-major X with n
// rows.
func (s *Scaler) Design(X [][]float64, n int) [][]float64 {
	out := make([][]float64, 0, s.Width())
	for j, col := range X {
		z := make([]float64, n)
		mu, inv := s.Mean[j], 1/s.Scale[j]
		for i, x := range col {
			if !math.IsNaN(x) {
				z[i] = (x - mu) * inv
			}
		}
		out = append(out, z)
	}
	for j, col := range X {
		if !s.Indicator[j] {
			continue
		}
		u := make([]float64, n)
		lo := -s.IndMean[j] / s.IndScale[j]
		hi := (1 - s.IndMean[j]) / s.IndScale[j]
		for i, x := range col {
			if math.IsNaN(x) {
				u[i] = hi
			} else {
				u[i] = lo
			}
		}
		out = append(out, u)
	}
	return out
}

// Z returns the standardised value of feature j for raw value x (0 when x is
// missing).
func (s *Scaler) Z(j int, x float64) float64 {
	if math.IsNaN(x) {
		return 0
	}
	return (x - s.Mean[j]) / s.Scale[j]
}

// U returns the standardised missing indicator of feature j (0 when the
// feature has no indicator).
func (s *Scaler) U(j int, x float64) float64 {
	if !s.Indicator[j] {
		return 0
	}
	m := 0.0
	if math.IsNaN(x) {
		m = 1
	}
	return (m - s.IndMean[j]) / s.IndScale[j]
}

// Validate checks the lengths and finiteness of a decoded Scaler.
func (s *Scaler) Validate() error {
	d := len(s.Names)
	if d == 0 {
		return errors.New("scaler has no features")
	}
	if len(s.Mean) != d || len(s.Scale) != d || len(s.Indicator) != d || len(s.IndMean) != d || len(s.IndScale) != d {
		return fmt.Errorf("scaler arrays must all have %d entries (mean %d, scale %d, indicator %d, indicator_mean %d, indicator_scale %d)",
			d, len(s.Mean), len(s.Scale), len(s.Indicator), len(s.IndMean), len(s.IndScale))
	}
	for j := range d {
		for _, f := range []struct {
			name string
			v    float64
		}{{"mean", s.Mean[j]}, {"scale", s.Scale[j]}, {"indicator_mean", s.IndMean[j]}, {"indicator_scale", s.IndScale[j]}} {
			if math.IsNaN(f.v) || math.IsInf(f.v, 0) {
				return fmt.Errorf("scaler %s of feature %q is %v", f.name, s.Names[j], f.v)
			}
		}
		if s.Scale[j] <= 0 || s.IndScale[j] <= 0 {
			return fmt.Errorf("scaler scale of feature %q must be positive", s.Names[j])
		}
	}
	return nil
}
