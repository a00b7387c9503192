package model_test

import (
	"encoding/json"
	"math"
	"time"

	"github.com/duesight/duesight/model"
)

// linModel is a minimal binary model used to exercise the artifact format
// and registry: p = σ(Σ_j W_j·x_j), missing values contribute 0.
type linModel struct {
	Names []string  `json:"names"`
	W     []float64 `json:"w"`
}

const linKind = "test-linear"

func init() {
	model.Register(linKind, func(b []byte) (model.Predictor, error) {
		var m linModel
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, err
		}
		return &m, nil
	})
}

func (m *linModel) Kind() string                    { return linKind }
func (m *linModel) Features() []string              { return m.Names }
func (m *linModel) MarshalPayload() ([]byte, error) { return json.Marshal(m) }
func (m *linModel) Params() any                     { return map[string]int{"features": len(m.Names)} }

func (m *linModel) PredictProba(row []float64) float64 {
	z := 0.0
	for j, x := range row {
		if !math.IsNaN(x) {
			z += m.W[j] * x
		}
	}
	return 1 / (1 + math.Exp(-z))
}

func (m *linModel) PredictBatch(X [][]float64, out []float64) error {
	if _, err := model.CheckColumns(m.Names, X); err != nil {
		return err
	}
	row := make([]float64, len(X))
	for i := range out {
		for j := range X {
			row[j] = X[j][i]
		}
		out[i] = m.PredictProba(row)
	}
	return nil
}

func (m *linModel) Explain(row []float64, k int) []model.Reason {
	rs := make([]model.Reason, len(row))
	for j, x := range row {
		c := 0.0
		if !math.IsNaN(x) {
			c = m.W[j] * x
		}
		rs[j] = model.Reason{Feature: m.Names[j], Value: x, Contribution: c, Direction: model.DirectionOf(c)}
	}
	return model.TopReasons(rs, k)
}

var baseNames = []string{"days_past_due", "amount", "prior_late_rate"}

func newLin(w ...float64) *linModel {
	return &linModel{Names: baseNames, W: w}
}

var fixedTime = time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC)

func meta() model.Meta {
	return model.Meta{
		SchemaVersion: "features/v1",
		TrainFrom:     "2024-01-01",
		TrainTo:       "2024-12-31",
		CreatedAt:     fixedTime,
		Metrics:       map[string]float64{"test_auc": 0.8, "test_brier": 0.17},
		CodeVersion:   "test",
	}
}

// timingStub is a minimal payment-timing predictor: it may be stored in a
// registry but never be active.
type timingStub struct {
	Names []string `json:"names"`
}

const timingKind = "test-timing"

func init() {
	model.Register(timingKind, func(b []byte) (model.Predictor, error) {
		var m timingStub
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, err
		}
		return &m, nil
	})
}

func (m *timingStub) Kind() string                    { return timingKind }
func (m *timingStub) Features() []string              { return m.Names }
func (m *timingStub) MarshalPayload() ([]byte, error) { return json.Marshal(m) }
func (m *timingStub) Distribution([]float64, int) model.Distribution {
	return model.Distribution{}
}
func (m *timingStub) Explain([]float64, int) []model.Reason { return nil }
