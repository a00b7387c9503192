package timing

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/duesight/duesight/model"
)

// BucketsKind is the registered artifact kind of Buckets.
const BucketsKind = "weekly-hazard-buckets"

func init() {
	model.Register(BucketsKind, func(b []byte) (model.Predictor, error) { return DecodeBuckets(b) })
}

// Buckets turns a timing model into a multiclass late-bucket model
// (model.Multiclass). With edges e_1 < … < e_m (days late, e_1 ≥ 0) the
// classes are "on_time" (≤ 0 days; only when e_1 > 0), "1-e_1", …,
// "(e_{m−1}+1)-e_m" and "e_m+" (later, including never within the horizon),
// with probabilities from the distribution's CDF F (model.Distribution.
// ProbPaidBy, uniform within a week): P(class) = F(upper) − F(lower).
type Buckets struct {
	m       *Model
	edges   []int
	classes []string
}

// NewBuckets builds the adapter; edges must be strictly increasing, ≥ 0 and
// within the model's horizon, e.g. []int{0, 30, 60, 90}.
func NewBuckets(m *Model, edges []int) (*Buckets, error) {
	if m == nil {
		return nil, errors.New("timing: NewBuckets: nil model")
	}
	if len(edges) == 0 {
		return nil, fmt.Errorf("timing: %w: NewBuckets needs at least one edge", model.ErrInvalidData)
	}
	horizon := PeriodDays * m.params.Weeks
	for i, e := range edges {
		if e < 0 || e > horizon || (i > 0 && e <= edges[i-1]) {
			return nil, fmt.Errorf("timing: %w: bucket edge %d is %d; edges must increase strictly within [0, %d] (the horizon)", model.ErrInvalidData, i, e, horizon)
		}
	}
	b := &Buckets{m: m, edges: append([]int(nil), edges...)}
	lo := 0
	for i, e := range edges {
		switch {
		case i == 0 && e == 0:
			b.classes = append(b.classes, "on_time")
		case i == 0:
			b.classes = append(b.classes, "on_time", "1-"+strconv.Itoa(e))
		default:
			b.classes = append(b.classes, strconv.Itoa(lo+1)+"-"+strconv.Itoa(e))
		}
		lo = e
	}
	b.classes = append(b.classes, strconv.Itoa(lo+1)+"+")
	return b, nil
}

// Kind implements model.Predictor.
func (b *Buckets) Kind() string { return BucketsKind }

// Features implements model.Predictor.
func (b *Buckets) Features() []string { return b.m.Features() }

// Classes implements model.Multiclass.
func (b *Buckets) Classes() []string { return b.classes }

// PredictClasses implements model.Multiclass for an invoice not yet due.
func (b *Buckets) PredictClasses(row []float64, out []float64) {
	if len(out) != len(b.classes) {
		panic(fmt.Sprintf("timing buckets: out has %d entries, want %d classes", len(out), len(b.classes)))
	}
	d := b.m.Distribution(row, -1)
	k := 0
	prev := 0.0
	if b.edges[0] > 0 {
		prev = d.ProbPaidBy(0)
		out[0] = prev
		k = 1
	}
	for _, e := range b.edges {
		f := d.ProbPaidBy(e)
		out[k] = f - prev
		prev = f
		k++
	}
	out[k] = 1 - prev
}

type bucketsPayload struct {
	Edges []int           `json:"edges"`
	Model json.RawMessage `json:"model"`
}

// MarshalPayload encodes the edges and the underlying timing model.
func (b *Buckets) MarshalPayload() ([]byte, error) {
	mb, err := b.m.MarshalPayload()
	if err != nil {
		return nil, err
	}
	return json.Marshal(bucketsPayload{Edges: b.edges, Model: mb})
}

// Params reports the edges and the timing model's parameters.
func (b *Buckets) Params() any {
	return struct {
		Edges  []int `json:"edges"`
		Timing any   `json:"timing"`
	}{b.edges, b.m.Params()}
}

// DecodeBuckets parses a payload written by Buckets.MarshalPayload.
func DecodeBuckets(data []byte) (*Buckets, error) {
	var p bucketsPayload
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("timing buckets payload: %w", err)
	}
	m, err := Decode(p.Model)
	if err != nil {
		return nil, fmt.Errorf("timing buckets payload: %w", err)
	}
	return NewBuckets(m, p.Edges)
}
