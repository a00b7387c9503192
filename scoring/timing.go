package scoring

import (
	"math"
	"sort"
	"time"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/features"
	"github.com/duesight/duesight/model"
)

// maxDelay is the last day-late value the fallback histogram resolves;
// later payments count as maxDelay+1.
const maxDelay = 365

// delayHist is the empirical distribution of days late (paid date − due
// date, early payment counted as 0, beyond maxDelay as maxDelay+1) of every
// invoice settled before the online state was built. It is the payment-
// timing fallback when the served model names no timing model.
type delayHist struct {
	n     [maxDelay + 2]float64
	cum   [maxDelay + 2]float64 // cum[d] = Σ_{x ≤ d} n[x]
	wcum  [maxDelay + 2]float64 // wcum[d] = Σ_{x ≤ d} x·n[x]
	total float64
}

func (h *delayHist) add(daysLate int) { h.n[min(max(daysLate, 0), maxDelay+1)]++ }

func (h *delayHist) merge(o *delayHist) {
	for i, c := range o.n {
		h.n[i] += c
	}
}

// finish computes the cumulative sums; call it once after the adds.
func (h *delayHist) finish() {
	var c, w float64
	for d, x := range h.n {
		c += x
		w += float64(d) * x
		h.cum[d], h.wcum[d] = c, w
	}
	h.total = c
}

// summary returns the expected days late and the p10/p50/p90 days late of an
// invoice still unpaid at the end of day elapsed after its due date
// (elapsed < 0: not yet due), from the empirical distribution conditioned on
// D > elapsed:
//
//	E = Σ_{d > e} d·n_d / Σ_{d > e} n_d,  q-quantile = min{d > e : Σ_{e < x ≤ d} n_x ≥ q·Σ_{x > e} n_x}
//
// With no mass beyond elapsed (or an empty histogram) every value is
// max(elapsed+1, 0).
func (h *delayHist) summary(elapsed int) (expected float64, q [3]float64) {
	start := max(elapsed+1, 0)
	floor := float64(start)
	if start > maxDelay+1 {
		return floor, [3]float64{floor, floor, floor}
	}
	var baseC, baseW float64
	if start > 0 {
		baseC, baseW = h.cum[start-1], h.wcum[start-1]
	}
	mass := h.total - baseC
	if mass <= 0 {
		return floor, [3]float64{floor, floor, floor}
	}
	expected = (h.wcum[maxDelay+1] - baseW) / mass
	for i, p := range [3]float64{0.1, 0.5, 0.9} {
		need := baseC + p*mass
		d := start + sort.Search(maxDelay+2-start, func(k int) bool { return h.cum[start+k] >= need })
		q[i] = float64(min(d, maxDelay+1))
	}
	return expected, q
}

// elapsedDays is the number of whole days after due of the last day whose
// payments are known at asOf (payments are known from the midnight UTC
// starting their date): features.LastKnownDay(asOf) − due. Negative means
// not yet due.
func elapsedDays(asOf time.Time, due data.Date) int {
	return features.LastKnownDay(asOf).Sub(due)
}

// timingOf fills the expected days late and the payment-date quantiles of
// the score: from the bundle's timing model when it has one (the model's
// distribution conditioned on elapsed), else from the empirical fallback.
// Quantile days are rounded up to whole days, capped at the model horizon
// (a quantile beyond the horizon is reported at the horizon: a lower
// bound), and floored at elapsed+1 for an overdue invoice (it cannot be
// paid on a day already known to have passed unpaid) and at 0.
func timingOf(b *bundle, fb *delayHist, vec []float64, due data.Date, elapsed int, sc *scratch) (float64, [3]float64) {
	floor := float64(max(elapsed+1, 0))
	if b.timing == nil {
		e, q := fb.summary(elapsed)
		return max(e, floor), q
	}
	var d model.Distribution
	if b.hazards != nil {
		d = fastDistribution(b.hazards, b.ends, vec, elapsed, &sc.timing)
	} else {
		d = b.timing.Distribution(vec, elapsed)
	}
	e := d.ExpectedDaysLate()
	if math.IsNaN(e) || math.IsInf(e, 0) {
		e = float64(d.Horizon())
	}
	var q [3]float64
	for i, p := range [3]float64{0.1, 0.5, 0.9} {
		v, ok := d.Quantile(p)
		if !ok || math.IsNaN(v) {
			v = float64(d.Horizon())
		}
		q[i] = max(math.Ceil(v), floor)
	}
	// Monotone by construction; keep it so after flooring.
	q[1], q[2] = max(q[1], q[0]), max(q[2], q[1], q[0])
	return max(e, floor), q
}
