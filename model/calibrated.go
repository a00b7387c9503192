package model

import (
	"fmt"

	"github.com/duesight/duesight/model/calibrate"
)

// CalibratedModel applies a calibrator to a base model's probabilities.
// Kind, Features, MarshalPayload and Explain are the base model's: the
// calibrator is stored separately in the artifact header, and since every
// calibrator is monotone non-decreasing, the base model's explanation
// (which explains the uncalibrated score) keeps its ranking and directions.
type CalibratedModel struct {
	Base       Model
	Calibrator calibrate.Calibrator
}

// Calibrated wraps m so PredictProba and PredictBatch return
// c.Apply(m.PredictProba(row)). A nil c returns m unchanged; wrapping an
// already calibrated model replaces its calibrator.
func Calibrated(m Model, c calibrate.Calibrator) Model {
	if c == nil {
		return m
	}
	if cm, ok := m.(*CalibratedModel); ok {
		m = cm.Base
	}
	return &CalibratedModel{Base: m, Calibrator: c}
}

// Kind implements Predictor.
func (m *CalibratedModel) Kind() string { return m.Base.Kind() }

// Features implements Predictor.
func (m *CalibratedModel) Features() []string { return m.Base.Features() }

// MarshalPayload returns the base model's payload.
func (m *CalibratedModel) MarshalPayload() ([]byte, error) { return m.Base.MarshalPayload() }

// PredictProba returns the calibrated probability.
func (m *CalibratedModel) PredictProba(row []float64) float64 {
	return m.Calibrator.Apply(m.Base.PredictProba(row))
}

// PredictBatch scores X with the base model and calibrates out in place.
func (m *CalibratedModel) PredictBatch(X [][]float64, out []float64) error {
	if err := m.Base.PredictBatch(X, out); err != nil {
		return fmt.Errorf("calibrated %s: %w", m.Base.Kind(), err)
	}
	for i, p := range out {
		out[i] = m.Calibrator.Apply(p)
	}
	return nil
}

// Explain returns the base model's explanation of the uncalibrated score.
func (m *CalibratedModel) Explain(row []float64, k int) []Reason {
	return m.Base.Explain(row, k)
}

// Params reports the base model's parameters when it has any.
func (m *CalibratedModel) Params() any {
	if p, ok := m.Base.(ParamsReporter); ok {
		return p.Params()
	}
	return nil
}

// PredictExplainer is implemented by models that score and explain a row in
// one pass, faster than PredictProba followed by Explain. PredictExplain
// returns exactly PredictProba(row) and appends exactly Explain(row, k) to
// dst[:0] (k ≥ 1).
type PredictExplainer interface {
	PredictExplain(row []float64, k int, dst []Reason) (float64, []Reason)
}

// PredictExplain scores and explains row with any model, in one pass when it
// implements PredictExplainer.
func PredictExplain(m Model, row []float64, k int, dst []Reason) (float64, []Reason) {
	if pe, ok := m.(PredictExplainer); ok {
		return pe.PredictExplain(row, k, dst)
	}
	return m.PredictProba(row), append(dst[:0], m.Explain(row, k)...)
}

// PredictExplain implements PredictExplainer: the base model's one-pass
// result with the probability calibrated.
func (m *CalibratedModel) PredictExplain(row []float64, k int, dst []Reason) (float64, []Reason) {
	p, r := PredictExplain(m.Base, row, k, dst)
	return m.Calibrator.Apply(p), r
}
