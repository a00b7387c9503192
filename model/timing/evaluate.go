package timing

import (
	"fmt"
	"math"

	"github.com/duesight/duesight/model"
	"github.com/duesight/duesight/model/eval"
)

// Evaluate scores the paid invoices of d (paid[i] true; Y = days late) with
// m and reports the MAE of the median payment day (capped at the horizon)
// against the actual days late (clamped to [0, horizon]: early payment counts
// as 0, payment beyond the horizon as the horizon)
// and the coverage of the [p10, p90] interval (nominal 0.8; an upper bound
// beyond the horizon is +Inf). Because every on-time payment is the same
// point 0, coverage exceeds the nominal level when P(on time) > 0.1.
// Censored invoices are skipped: their true payment day is unknown.
func Evaluate(name string, m model.Timing, d *model.Dataset, paid []bool) (*eval.TimingReport, error) {
	if len(paid) != d.Rows() {
		return nil, fmt.Errorf("timing: evaluate %s: %w: paid has %d entries, want %d", name, model.ErrInvalidData, len(paid), d.Rows())
	}
	if _, err := model.CheckColumns(m.Features(), d.X); err != nil {
		return nil, fmt.Errorf("timing: evaluate %s: %w", name, err)
	}
	var actual, point, lo, hi []float64
	row := make([]float64, len(d.X))
	for i := range d.Rows() {
		if !paid[i] {
			continue
		}
		dist := m.Distribution(d.Row(i, row), -1)
		p10, _ := dist.Quantile(0.1)
		p50, _ := dist.Quantile(0.5)
		p90, _ := dist.Quantile(0.9)
		actual = append(actual, min(max(d.Y[i], 0), float64(dist.Horizon())))
		point = append(point, math.Min(p50, float64(dist.Horizon())))
		lo = append(lo, p10)
		hi = append(hi, p90)
	}
	if len(actual) == 0 {
		return nil, fmt.Errorf("timing: evaluate %s: %w: no paid invoices", name, model.ErrInvalidData)
	}
	return eval.Timing(name, actual, point, lo, hi, 0.8)
}
