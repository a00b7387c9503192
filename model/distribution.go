package model

import (
	"fmt"
	"math"
)

// Distribution is a discrete payment-timing distribution over periods
// measured in days after the due date.
//
// Period 0 is "paid on or before the due date" (PeriodEnd[0] = 0, counted as
// 0 days late). Period k ≥ 1 covers days PeriodEnd[k-1]+1 … PeriodEnd[k].
// With hazards h_k = P(paid in period k | unpaid at its start):
//
//	S_k = Π_{j ≤ k} (1 − h_j)       survival: P(still unpaid after period k)
//	P_k = S_{k−1} · h_k              P(paid in period k), S_{−1} = 1
//	Beyond = S_K                     P(not paid within the horizon PeriodEnd[K])
//
// All slices have the same length K+1.
type Distribution struct {
	PeriodEnd []int
	Hazard    []float64
	Prob      []float64
	Survival  []float64
}

// NewDistribution builds a Distribution from period ends and hazards,
// computing Prob and Survival. It reports an error when the lengths differ,
// ends are not strictly increasing from 0, or a hazard is outside [0, 1].
func NewDistribution(periodEnd []int, hazard []float64) (Distribution, error) {
	if len(periodEnd) == 0 || len(periodEnd) != len(hazard) {
		return Distribution{}, fmt.Errorf("model: distribution needs equal, non-zero numbers of period ends (%d) and hazards (%d)", len(periodEnd), len(hazard))
	}
	if periodEnd[0] != 0 {
		return Distribution{}, fmt.Errorf("model: distribution period 0 must end at day 0, got %d", periodEnd[0])
	}
	for k := 1; k < len(periodEnd); k++ {
		if periodEnd[k] <= periodEnd[k-1] {
			return Distribution{}, fmt.Errorf("model: distribution period ends must increase: period %d ends at %d after %d", k, periodEnd[k], periodEnd[k-1])
		}
	}
	for k, h := range hazard {
		if !(h >= 0 && h <= 1) {
			return Distribution{}, fmt.Errorf("model: distribution hazard of period %d is %v, want [0, 1]", k, h)
		}
	}
	d := Distribution{
		PeriodEnd: periodEnd,
		Hazard:    hazard,
		Prob:      make([]float64, len(hazard)),
		Survival:  make([]float64, len(hazard)),
	}
	d.fill()
	return d, nil
}

func (d *Distribution) fill() {
	s := 1.0
	for k, h := range d.Hazard {
		d.Prob[k] = s * h
		s *= 1 - h
		d.Survival[k] = s
	}
}

// Beyond returns P(not paid within the horizon).
func (d Distribution) Beyond() float64 {
	if len(d.Survival) == 0 {
		return 1
	}
	return d.Survival[len(d.Survival)-1]
}

// Horizon returns the last day covered, PeriodEnd[K].
func (d Distribution) Horizon() int {
	if len(d.PeriodEnd) == 0 {
		return 0
	}
	return d.PeriodEnd[len(d.PeriodEnd)-1]
}

// ProbPaidBy returns P(paid by the end of day `day` after due), assuming
// payments are spread uniformly over the days of a period:
// F(day) = Σ_{k: end_k ≤ day} P_k + P_m·(day − end_{m−1})/(end_m − end_{m−1})
// for the period m containing day.
func (d Distribution) ProbPaidBy(day int) float64 {
	if day < 0 || len(d.Prob) == 0 {
		return 0
	}
	f := d.Prob[0]
	for k := 1; k < len(d.Prob); k++ {
		if d.PeriodEnd[k] <= day {
			f += d.Prob[k]
			continue
		}
		width := float64(d.PeriodEnd[k] - d.PeriodEnd[k-1])
		f += d.Prob[k] * float64(day-d.PeriodEnd[k-1]) / width
		break
	}
	return f
}

// Quantile returns the day (after due, 0 = on time) by which payment has
// happened with probability q, interpolating linearly within a period:
// for the first period m with F_m ≥ q, day = end_{m−1} + (end_m − end_{m−1})
// · (q − F_{m−1}) / P_m. When the horizon is reached first (q > 1 − Beyond)
// it returns (+Inf, false).
func (d Distribution) Quantile(q float64) (float64, bool) {
	if len(d.Prob) == 0 || math.IsNaN(q) {
		return math.Inf(1), false
	}
	q = min(max(q, 0), 1)
	f := d.Prob[0]
	if f >= q && f > 0 {
		return 0, true
	}
	for k := 1; k < len(d.Prob); k++ {
		prev := f
		f += d.Prob[k]
		if f >= q && d.Prob[k] > 0 {
			width := float64(d.PeriodEnd[k] - d.PeriodEnd[k-1])
			return float64(d.PeriodEnd[k-1]) + width*(q-prev)/d.Prob[k], true
		}
	}
	return math.Inf(1), false
}

// ExpectedDaysLate returns the mean days late truncated at the horizon:
// Σ_k P_k·m_k + Beyond·end_K, where m_0 = 0 and m_k = (end_{k−1}+1+end_k)/2
// is the mean whole day of period k.
func (d Distribution) ExpectedDaysLate() float64 {
	if len(d.Prob) == 0 {
		return 0
	}
	e := 0.0
	for k := 1; k < len(d.Prob); k++ {
		m := float64(d.PeriodEnd[k-1]+1+d.PeriodEnd[k]) / 2
		e += d.Prob[k] * m
	}
	return e + d.Beyond()*float64(d.Horizon())
}

// Condition returns the distribution given the invoice is unpaid at the end
// of day elapsed: hazards of periods that ended by then (end_k ≤ elapsed) are
// set to 0, so their probability mass moves to later periods. The period in
// progress keeps its full hazard (an approximation for partly elapsed
// periods). Negative elapsed returns d unchanged.
func (d Distribution) Condition(elapsed int) Distribution {
	if elapsed < 0 {
		return d
	}
	out := Distribution{
		PeriodEnd: d.PeriodEnd,
		Hazard:    make([]float64, len(d.Hazard)),
		Prob:      make([]float64, len(d.Hazard)),
		Survival:  make([]float64, len(d.Hazard)),
	}
	for k, h := range d.Hazard {
		if d.PeriodEnd[k] <= elapsed {
			h = 0
		}
		out.Hazard[k] = h
	}
	out.fill()
	return out
}
