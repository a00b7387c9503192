package model

import (
	"errors"
	"fmt"
	"math"
)

// ErrInvalidData is wrapped by every error that reports a malformed
// [Dataset] or malformed prediction input.
var ErrInvalidData = errors.New("invalid model input")

// Dataset is a column-major training or evaluation table.
//
// X[j][i] is the value of feature Names[j] for row i; NaN means missing.
// Y holds one label per row (for binary models 0 = paid on time, 1 = late;
// for timing models days late). W, Time and Group are optional (nil or one
// entry per row): W are non-negative sample weights (nil = all 1), Time is an
// ordering key such as the invoice issue day (days since 1970-01-01) used for
// time-ordered splits, Group is an identifier such as the account id used to
// keep related rows on the same side of a random split.
type Dataset struct {
	Names []string
	X     [][]float64
	Y     []float64
	W     []float64
	Time  []int64
	Group []string
}

// Rows returns the number of rows: len(Y), or the length of the first feature
// column when Y is nil.
func (d *Dataset) Rows() int {
	if d.Y != nil {
		return len(d.Y)
	}
	if len(d.X) > 0 {
		return len(d.X[0])
	}
	return 0
}

// Weight returns the weight of row i (1 when W is nil).
func (d *Dataset) Weight(i int) float64 {
	if d.W == nil {
		return 1
	}
	return d.W[i]
}

// Row copies row i into buf (grown when too short) and returns it.
func (d *Dataset) Row(i int, buf []float64) []float64 {
	if cap(buf) < len(d.X) {
		buf = make([]float64, len(d.X))
	}
	buf = buf[:len(d.X)]
	for j, col := range d.X {
		buf[j] = col[i]
	}
	return buf
}

// Column returns the column of the named feature, or nil when absent.
func (d *Dataset) Column(name string) []float64 {
	for j, n := range d.Names {
		if n == name {
			return d.X[j]
		}
	}
	return nil
}

// Subset returns a new Dataset holding rows idx (in that order). Columns are
// copied; names are shared. Indices must be in [0, Rows()).
func (d *Dataset) Subset(idx []int) *Dataset {
	out := &Dataset{Names: d.Names, X: make([][]float64, len(d.X))}
	for j, col := range d.X {
		c := make([]float64, len(idx))
		for k, i := range idx {
			c[k] = col[i]
		}
		out.X[j] = c
	}
	if d.Y != nil {
		out.Y = make([]float64, len(idx))
		for k, i := range idx {
			out.Y[k] = d.Y[i]
		}
	}
	if d.W != nil {
		out.W = make([]float64, len(idx))
		for k, i := range idx {
			out.W[k] = d.W[i]
		}
	}
	if d.Time != nil {
		out.Time = make([]int64, len(idx))
		for k, i := range idx {
			out.Time[k] = d.Time[i]
		}
	}
	if d.Group != nil {
		out.Group = make([]string, len(idx))
		for k, i := range idx {
			out.Group[k] = d.Group[i]
		}
	}
	return out
}

// Validate checks the shape and values of d: names non-empty and unique, one
// column per name, every column and optional slice of length Rows(), labels
// finite, feature values finite or NaN, weights finite and ≥ 0 with a positive
// total. Errors wrap [ErrInvalidData] and name the field, feature and row.
func (d *Dataset) Validate() error {
	if d == nil {
		return fmt.Errorf("%w: dataset is nil", ErrInvalidData)
	}
	if len(d.Names) != len(d.X) {
		return fmt.Errorf("%w: %d feature names but %d columns in X", ErrInvalidData, len(d.Names), len(d.X))
	}
	seen := make(map[string]int, len(d.Names))
	for j, n := range d.Names {
		if n == "" {
			return fmt.Errorf("%w: feature name %d is empty", ErrInvalidData, j)
		}
		if k, dup := seen[n]; dup {
			return fmt.Errorf("%w: feature name %q appears at positions %d and %d", ErrInvalidData, n, k, j)
		}
		seen[n] = j
	}
	n := d.Rows()
	for j, col := range d.X {
		if len(col) != n {
			return fmt.Errorf("%w: ragged columns: feature %q has %d rows, want %d", ErrInvalidData, d.Names[j], len(col), n)
		}
		for i, v := range col {
			if math.IsInf(v, 0) {
				return fmt.Errorf("%w: feature %q row %d is %v (use NaN for missing)", ErrInvalidData, d.Names[j], i, v)
			}
		}
	}
	for i, y := range d.Y {
		if math.IsNaN(y) || math.IsInf(y, 0) {
			return fmt.Errorf("%w: label Y row %d is %v", ErrInvalidData, i, y)
		}
	}
	if d.W != nil {
		if len(d.W) != n {
			return fmt.Errorf("%w: W has %d entries, want %d (one per row)", ErrInvalidData, len(d.W), n)
		}
		total := 0.0
		for i, w := range d.W {
			if !(w >= 0) || math.IsInf(w, 0) {
				return fmt.Errorf("%w: weight W row %d is %v (must be finite and ≥ 0)", ErrInvalidData, i, w)
			}
			total += w
		}
		if n > 0 && total <= 0 {
			return fmt.Errorf("%w: weights W sum to 0", ErrInvalidData)
		}
	}
	if d.Time != nil && len(d.Time) != n {
		return fmt.Errorf("%w: Time has %d entries, want %d (one per row)", ErrInvalidData, len(d.Time), n)
	}
	if d.Group != nil && len(d.Group) != n {
		return fmt.Errorf("%w: Group has %d entries, want %d (one per row)", ErrInvalidData, len(d.Group), n)
	}
	return nil
}

// ValidateBinary runs [Dataset.Validate] and additionally requires at least
// one row, labels in {0, 1}, and positive total weight in both classes.
func (d *Dataset) ValidateBinary() error {
	if err := d.Validate(); err != nil {
		return err
	}
	n := d.Rows()
	if n == 0 || d.Y == nil {
		return fmt.Errorf("%w: no labelled rows", ErrInvalidData)
	}
	var w0, w1 float64
	for i, y := range d.Y {
		switch y {
		case 0:
			w0 += d.Weight(i)
		case 1:
			w1 += d.Weight(i)
		default:
			return fmt.Errorf("%w: label Y row %d is %v, want 0 or 1", ErrInvalidData, i, y)
		}
	}
	if w0 == 0 || w1 == 0 {
		return fmt.Errorf("%w: both classes need positive weight (weight of class 0 = %v, class 1 = %v)", ErrInvalidData, w0, w1)
	}
	return nil
}

// CheckColumns verifies that a column-major prediction input X has one column
// per feature in names and equal column lengths, returning the row count.
func CheckColumns(names []string, X [][]float64) (int, error) {
	if len(X) != len(names) {
		return 0, fmt.Errorf("%w: got %d columns, model expects %d features", ErrInvalidData, len(X), len(names))
	}
	if len(X) == 0 {
		return 0, nil
	}
	n := len(X[0])
	for j, col := range X {
		if len(col) != n {
			return 0, fmt.Errorf("%w: ragged columns: feature %q has %d rows, want %d", ErrInvalidData, names[j], len(col), n)
		}
	}
	return n, nil
}
