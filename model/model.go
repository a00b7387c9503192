package model

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// Predictor is what every artifact holds: something with a stable kind, an
// ordered input schema and a payload encoding. Concrete predictors also
// implement [Model], [Multiclass] or [Timing].
type Predictor interface {
	// Kind names the implementation and selects the payload decoder, e.g.
	// "logreg". It must be registered with [Register].
	Kind() string
	// Features returns the ordered input feature names. Rows passed to the
	// predictor have exactly these columns in this order. Callers must not
	// modify the returned slice.
	Features() []string
	// MarshalPayload encodes everything needed to predict. Encoding the same
	// predictor twice must yield identical bytes.
	MarshalPayload() ([]byte, error)
}

// ParamsReporter is implemented by predictors that can report the training
// parameters they were fitted with; [NewArtifact] records them (as JSON) in
// the artifact header.
type ParamsReporter interface {
	Params() any
}

// Model is a binary late-payment scorer.
type Model interface {
	Predictor
	// PredictProba returns P(late) in [0, 1] for one row laid out as
	// Features(); NaN entries are missing values. It panics when len(row)
	// differs from len(Features()) (a programming error; use [CheckColumns]
	// or PredictBatch for checked input).
	PredictProba(row []float64) float64
	// PredictBatch scores column-major X (X[j][i]) into out (len = rows).
	PredictBatch(X [][]float64, out []float64) error
	// Explain returns the k largest contributions (by absolute value) to
	// the score of row, largest first; k ≤ 0 returns all features. The unit
	// of Contribution is documented by each implementation.
	Explain(row []float64, k int) []Reason
}

// Multiclass scores late buckets (e.g. on time, 1–30, 31–60, 60+ days late).
type Multiclass interface {
	Predictor
	// Classes names the buckets in order.
	Classes() []string
	// PredictClasses writes P(bucket c) into out[c]; len(out) must equal
	// len(Classes()). The probabilities sum to 1.
	PredictClasses(row []float64, out []float64)
}

// Timing predicts the distribution of payment timing of an open invoice.
type Timing interface {
	Predictor
	// Distribution returns the payment-timing distribution of row given that
	// the invoice is still unpaid at the end of day elapsedDays after its due
	// date (use a negative value, e.g. -1, for an invoice not yet due).
	Distribution(row []float64, elapsedDays int) Distribution
	// Explain returns the k largest contributions to the delay of row; a
	// positive contribution means later payment (higher risk).
	Explain(row []float64, k int) []Reason
}

// Direction says which way a contribution pushes the prediction.
type Direction int8

// Directions. Up means the feature raises the model output (for late-payment
// models: more risk), Down lowers it, Neutral means no effect.
const (
	Neutral Direction = 0
	Up      Direction = 1
	Down    Direction = -1
)

// DirectionOf returns the direction of contribution c.
func DirectionOf(c float64) Direction {
	switch {
	case c > 0:
		return Up
	case c < 0:
		return Down
	default:
		return Neutral
	}
}

// String returns "up", "down" or "neutral".
func (d Direction) String() string {
	switch d {
	case Up:
		return "up"
	case Down:
		return "down"
	default:
		return "neutral"
	}
}

// MarshalText implements encoding.TextMarshaler.
func (d Direction) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Direction) UnmarshalText(b []byte) error {
	switch string(b) {
	case "up":
		*d = Up
	case "down":
		*d = Down
	case "neutral":
		*d = Neutral
	default:
		return fmt.Errorf("model: unknown direction %q (want up, down or neutral)", b)
	}
	return nil
}

// Reason is one feature's contribution to a prediction.
type Reason struct {
	// Feature is the input feature name.
	Feature string
	// Value is the raw input value (NaN when missing).
	Value float64
	// Contribution is the additive effect on the model output in the unit
	// the model documents (e.g. log-odds).
	Contribution float64
	// Direction is the sign of Contribution.
	Direction Direction
}

type reasonJSON struct {
	Feature      string    `json:"feature"`
	Value        *float64  `json:"value"`
	Missing      bool      `json:"missing"`
	Contribution float64   `json:"contribution"`
	Direction    Direction `json:"direction"`
}

// MarshalJSON encodes a missing Value as null with "missing": true.
func (r Reason) MarshalJSON() ([]byte, error) {
	out := reasonJSON{Feature: r.Feature, Contribution: r.Contribution, Direction: r.Direction}
	if math.IsNaN(r.Value) {
		out.Missing = true
	} else {
		v := r.Value
		out.Value = &v
	}
	if math.IsNaN(out.Contribution) || math.IsInf(out.Contribution, 0) {
		return nil, fmt.Errorf("model: reason for %q has non-finite contribution %v", r.Feature, r.Contribution)
	}
	return json.Marshal(out)
}

// UnmarshalJSON is the inverse of MarshalJSON.
func (r *Reason) UnmarshalJSON(b []byte) error {
	var in reasonJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*r = Reason{Feature: in.Feature, Value: math.NaN(), Contribution: in.Contribution, Direction: in.Direction}
	if in.Value != nil && !in.Missing {
		r.Value = *in.Value
	}
	return nil
}

// String formats the reason for logs, e.g. "days_past_due=12 +0.84 (up)".
func (r Reason) String() string {
	v := "missing"
	if !math.IsNaN(r.Value) {
		v = strconv.FormatFloat(r.Value, 'g', 6, 64)
	}
	return fmt.Sprintf("%s=%s %+.4g (%s)", r.Feature, v, r.Contribution, r.Direction)
}

// TopReasons reorders reasons in place so that its first k entries are the
// k largest by |Contribution|, in decreasing order (ties keep their input
// order, i.e. feature order), and returns them (all, fully sorted, when
// k ≤ 0 or k ≥ len). Entries after the first k are in no particular order.
func TopReasons(reasons []Reason, k int) []Reason {
	byMagnitude := func(a, b Reason) int {
		return cmp.Compare(math.Abs(b.Contribution), math.Abs(a.Contribution))
	}
	if k <= 0 || k >= len(reasons) || k > 16 {
		slices.SortStableFunc(reasons, byMagnitude)
		if k > 0 && k < len(reasons) {
			reasons = reasons[:k]
		}
		return reasons
	}
	// Stable selection of the k largest: O(n·k) instead of a full sort,
	// for the few reason codes served with every score.
	for i := 0; i < k; i++ {
		best := i
		for j := i + 1; j < len(reasons); j++ {
			if byMagnitude(reasons[j], reasons[best]) < 0 {
				best = j
			}
		}
		if best != i {
			r := reasons[best]
			copy(reasons[i+1:best+1], reasons[i:best])
			reasons[i] = r
		}
	}
	return reasons[:k]
}

// CheckRow returns an error when len(row) does not match the predictor's
// feature count or row holds ±Inf.
func CheckRow(p Predictor, row []float64) error {
	names := p.Features()
	if len(row) != len(names) {
		return fmt.Errorf("%w: row has %d values, model %s expects %d features", ErrInvalidData, len(row), p.Kind(), len(names))
	}
	for j, v := range row {
		if math.IsInf(v, 0) {
			return fmt.Errorf("%w: feature %q is %v (use NaN for missing)", ErrInvalidData, names[j], v)
		}
	}
	return nil
}

// PanicOnBadRow panics with a descriptive message when len(row) != want. It
// is the guard implementations use in PredictProba and Explain.
func PanicOnBadRow(kind string, row []float64, want int) {
	if len(row) != want {
		panic(fmt.Sprintf("model %s: row has %d values, want %d features", kind, len(row), want))
	}
}
