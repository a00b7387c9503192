package gbdt

import (
	"fmt"
	"math"
)

// Dataset is a column-major table of examples.
type Dataset struct {
	// X holds the features column by column: X[j][i] is feature j of row i.
	// Every column has the same length. NaN means missing; ±Inf are ordinary
	// (extreme) values.
	X [][]float64
	// Y holds one label per row: 0 or 1 for binary:logistic, a class index
	// 0…K-1 for multi:softprob, any finite number for regression.
	Y []float64
	// Weight optionally holds one finite, non-negative weight per row; nil
	// means every row weighs 1.
	Weight []float64
	// FeatureNames optionally names the columns (len(X) entries).
	FeatureNames []string
}

// NumRows returns the number of rows (0 for an empty data set).
func (d *Dataset) NumRows() int {
	if len(d.X) == 0 {
		return len(d.Y)
	}
	return len(d.X[0])
}

// NumFeatures returns the number of feature columns.
func (d *Dataset) NumFeatures() int { return len(d.X) }

// validate checks the shape and the values of d for objective p. role names
// the data set in errors ("train" or "valid").
func (d *Dataset) validate(role string, p *Params) error {
	if len(d.X) == 0 {
		return fmt.Errorf("gbdt: %s set has no feature columns", role)
	}
	n := len(d.X[0])
	if n == 0 {
		return fmt.Errorf("gbdt: %s set has no rows", role)
	}
	if n > math.MaxInt32 {
		return fmt.Errorf("gbdt: %s set has %d rows; at most %d are supported", role, n, math.MaxInt32)
	}
	for j, col := range d.X {
		if len(col) != n {
			return fmt.Errorf("gbdt: %s set: column %d has %d rows, column 0 has %d", role, j, len(col), n)
		}
	}
	if len(d.Y) != n {
		return fmt.Errorf("gbdt: %s set: %d labels for %d rows", role, len(d.Y), n)
	}
	for i, y := range d.Y {
		if err := checkLabel(p, y); err != nil {
			return fmt.Errorf("gbdt: %s set: label of row %d: %w", role, i, err)
		}
	}
	if d.Weight != nil {
		if len(d.Weight) != n {
			return fmt.Errorf("gbdt: %s set: %d weights for %d rows", role, len(d.Weight), n)
		}
		sum := 0.0
		for i, w := range d.Weight {
			if !(w >= 0) || math.IsInf(w, 1) {
				return fmt.Errorf("gbdt: %s set: weight of row %d is %v; weights must be finite and ≥ 0", role, i, w)
			}
			sum += w
		}
		if !(sum > 0) {
			return fmt.Errorf("gbdt: %s set: weights sum to %v; need a positive total", role, sum)
		}
	}
	if d.FeatureNames != nil && len(d.FeatureNames) != len(d.X) {
		return fmt.Errorf("gbdt: %s set: %d feature names for %d columns", role, len(d.FeatureNames), len(d.X))
	}
	return nil
}

func checkLabel(p *Params, y float64) error {
	switch p.Objective {
	case BinaryLogistic:
		if y != 0 && y != 1 {
			return fmt.Errorf("%v is not 0 or 1", y)
		}
	case MultiSoftprob:
		if y < 0 || y >= float64(p.NumClass) || y != math.Trunc(y) {
			return fmt.Errorf("%v is not a class index in [0,%d)", y, p.NumClass)
		}
	default:
		if math.IsNaN(y) || math.IsInf(y, 0) {
			return fmt.Errorf("%v is not finite", y)
		}
	}
	return nil
}

// weight returns the weight of row i (1 without weights).
func (d *Dataset) weight(i int) float64 {
	if d.Weight == nil {
		return 1
	}
	return d.Weight[i]
}
