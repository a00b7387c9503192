package gbdtkind

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/duesight/duesight/model"
	"github.com/duesight/duesight/model/gbdt"
)

// Kind is the artifact kind of a binary gbdt model.
const Kind = "gbdt"

func init() {
	model.Register(Kind, decode)
}

// The payload is the JSON array of feature names, a newline, and the
// ensemble's MarshalBinary bytes. The names are kept apart from the
// ensemble's own so that imported models can be renamed onto duesight's
// feature catalog.
func decode(payload []byte) (model.Predictor, error) {
	head, body, ok := bytes.Cut(payload, []byte("\n"))
	if !ok {
		return nil, fmt.Errorf("decode gbdt payload: no feature-name header")
	}
	var names []string
	if err := json.Unmarshal(head, &names); err != nil {
		return nil, fmt.Errorf("decode gbdt payload: feature names: %w", err)
	}
	e := new(gbdt.Ensemble)
	if err := e.UnmarshalBinary(body); err != nil {
		return nil, fmt.Errorf("decode gbdt payload: %w", err)
	}
	return WrapNamed(e, names)
}

// Model is a binary gbdt ensemble as a model.Model. It is immutable and safe
// for concurrent use.
type Model struct {
	e     *gbdt.Ensemble
	names []string
}

var _ model.Model = (*Model)(nil)

// Wrap adapts a trained binary:logistic ensemble with named features.
func Wrap(e *gbdt.Ensemble) (*Model, error) { return WrapNamed(e, e.FeatureNames()) }

// WrapNamed is Wrap with the features renamed (e.g. an XGBoost model's
// f0, f1, ... onto duesight's catalog); names must be distinct and one
// per feature.
func WrapNamed(e *gbdt.Ensemble, names []string) (*Model, error) {
	if e.Objective() != gbdt.BinaryLogistic {
		return nil, fmt.Errorf("gbdt model kind needs objective %s, got %s", gbdt.BinaryLogistic, e.Objective())
	}
	if len(names) != e.NumFeatures() {
		return nil, fmt.Errorf("gbdt model: %d feature names for %d features", len(names), e.NumFeatures())
	}
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if n == "" || seen[n] {
			return nil, fmt.Errorf("gbdt model: feature name %q is empty or repeated", n)
		}
		seen[n] = true
	}
	return &Model{e: e, names: slices.Clone(names)}, nil
}

// Fit trains a binary ensemble on d, early-stopping on valid when given and
// p.EarlyStoppingRounds > 0.
func Fit(ctx context.Context, d *model.Dataset, valid *model.Dataset, p gbdt.Params) (*Model, error) {
	if err := d.ValidateBinary(); err != nil {
		return nil, err
	}
	train := gbdt.Dataset{X: d.X, Y: d.Y, Weight: d.W, FeatureNames: d.Names}
	var v *gbdt.Dataset
	if valid != nil {
		if !slices.Equal(valid.Names, d.Names) {
			return nil, fmt.Errorf("gbdt fit: validation features differ from training features")
		}
		v = &gbdt.Dataset{X: valid.X, Y: valid.Y, Weight: valid.W, FeatureNames: valid.Names}
	}
	p.Objective = gbdt.BinaryLogistic
	e, err := gbdt.Train(ctx, train, v, p)
	if err != nil {
		return nil, fmt.Errorf("gbdt fit: %w", err)
	}
	return Wrap(e)
}

// Ensemble returns the wrapped ensemble.
func (m *Model) Ensemble() *gbdt.Ensemble { return m.e }

// Kind implements model.Predictor.
func (m *Model) Kind() string { return Kind }

// Features implements model.Predictor.
func (m *Model) Features() []string { return m.names }

// MarshalPayload implements model.Predictor (deterministic bytes; see decode).
func (m *Model) MarshalPayload() ([]byte, error) {
	head, err := json.Marshal(m.names)
	if err != nil {
		return nil, err
	}
	body, err := m.e.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return append(append(head, '\n'), body...), nil
}

// PredictProba implements model.Model: P(late) from the ensemble (before any
// calibration). It panics on a row of the wrong length, as the interface says.
func (m *Model) PredictProba(row []float64) float64 {
	var buf [1]float64
	out, err := m.e.Predict(buf[:0], row)
	if err != nil {
		panic(fmt.Sprintf("gbdtkind: %v", err))
	}
	return out[0]
}

// PredictBatch implements model.Model.
func (m *Model) PredictBatch(X [][]float64, out []float64) error {
	n, err := model.CheckColumns(m.names, X)
	if err != nil {
		return err
	}
	if n != len(out) {
		return fmt.Errorf("gbdt predict: %d rows but %d outputs", n, len(out))
	}
	if _, err := m.e.PredictColumns(out[:0], X, gbdt.PredictOptions{}); err != nil {
		return fmt.Errorf("gbdt predict: %w", err)
	}
	return nil
}

// Explain implements model.Model with path-based contributions in log-odds
// (gbdt.Ensemble.PathContributions: they sum, with the bias, to the margin)
// at the cost of one prediction, fast enough for every served score.
func (m *Model) Explain(row []float64, k int) []model.Reason {
	return m.explain(row, k, m.e.PathContributions)
}

// ExplainExact is Explain with exact TreeSHAP contributions (consistent
// attributions, for analysts; about 1–2 ms per row for a few hundred trees).
func (m *Model) ExplainExact(row []float64, k int) []model.Reason {
	return m.explain(row, k, m.e.Contributions)
}

// phiBuffers recycles contribution vectors between calls.
var phiBuffers = sync.Pool{New: func() any { return new([]float64) }}

func (m *Model) explain(row []float64, k int, contrib func(dst, row []float64) ([]float64, error)) []model.Reason {
	buf := phiBuffers.Get().(*[]float64)
	defer phiBuffers.Put(buf)
	phi, err := contrib((*buf)[:0], row)
	*buf = phi
	if err != nil {
		return nil
	}
	return m.topReasons(row, phi, k, nil)
}

// PredictExplain implements model.PredictExplainer: Predict and the path
// contributions of Explain in one walk of the trees (gbdt.PredictExplain,
// bit-identical to PredictProba).
func (m *Model) PredictExplain(row []float64, k int, dst []model.Reason) (float64, []model.Reason) {
	buf := phiBuffers.Get().(*[]float64)
	defer phiBuffers.Put(buf)
	var pred [1]float64
	p, phi, err := m.e.PredictExplain(pred[:0], (*buf)[:0], row)
	*buf = phi
	if err != nil {
		panic(fmt.Sprintf("gbdtkind: %v", err)) // a row of the wrong length, as PredictProba
	}
	return p[0], m.topReasons(row, phi, k, dst[:0])
}

// topReasons appends the k largest contributions (all, sorted, when k ≤ 0
// or k ≥ the feature count) to dst.
func (m *Model) topReasons(row, phi []float64, k int, dst []model.Reason) []model.Reason {
	F := len(m.names)
	if k <= 0 || k >= F || k > 16 {
		reasons := make([]model.Reason, F)
		for j, name := range m.names {
			reasons[j] = model.Reason{Feature: name, Value: row[j], Contribution: phi[j], Direction: model.DirectionOf(phi[j])}
		}
		return append(dst, model.TopReasons(reasons, k)...)
	}
	// The k largest |φ| in one pass, kept in decreasing order; a later
	// feature displaces an earlier one only when strictly larger, so ties go
	// to the earlier feature (as TopReasons orders them).
	var top [16]int
	var mag [16]float64
	n := 0
	for j := 0; j < F; j++ {
		a := math.Abs(phi[j])
		if n == k && !(a > mag[n-1]) {
			continue
		}
		p := n
		if n < k {
			n++
		} else {
			p = k - 1
		}
		for p > 0 && a > mag[p-1] {
			top[p], mag[p] = top[p-1], mag[p-1]
			p--
		}
		top[p], mag[p] = j, a
	}
	out := dst
	if out == nil {
		out = make([]model.Reason, 0, k)
	}
	for _, j := range top[:n] {
		out = append(out, model.Reason{Feature: m.names[j], Value: row[j], Contribution: phi[j], Direction: model.DirectionOf(phi[j])})
	}
	return out
}
