package eval

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/sjwhitworth/golearn/evaluation"
	"gonum.org/v1/gonum/integrate"
	"gonum.org/v1/gonum/stat"
)

// checkBinary validates labels y ∈ {0,1}, scores p ∈ [0,1] and optional
// weights w (nil = 1), returning the positive and negative weight totals.
func checkBinary(y, p, w []float64) (pos, neg float64, err error) {
	if len(y) == 0 {
		return 0, 0, fmt.Errorf("%w: no rows", ErrInvalid)
	}
	if len(p) != len(y) {
		return 0, 0, fmt.Errorf("%w: %d labels but %d predictions", ErrInvalid, len(y), len(p))
	}
	if w != nil && len(w) != len(y) {
		return 0, 0, fmt.Errorf("%w: %d labels but %d weights", ErrInvalid, len(y), len(w))
	}
	for i := range y {
		if y[i] != 0 && y[i] != 1 {
			return 0, 0, fmt.Errorf("%w: label %d is %v, want 0 or 1", ErrInvalid, i, y[i])
		}
		if !(p[i] >= 0 && p[i] <= 1) {
			return 0, 0, fmt.Errorf("%w: prediction %d is %v, want a probability in [0, 1]", ErrInvalid, i, p[i])
		}
		wi := 1.0
		if w != nil {
			wi = w[i]
			if !(wi >= 0) || math.IsInf(wi, 0) {
				return 0, 0, fmt.Errorf("%w: weight %d is %v", ErrInvalid, i, wi)
			}
		}
		if y[i] == 1 {
			pos += wi
		} else {
			neg += wi
		}
	}
	if pos+neg <= 0 {
		return 0, 0, fmt.Errorf("%w: weights sum to 0", ErrInvalid)
	}
	return pos, neg, nil
}

func wt(w []float64, i int) float64 {
	if w == nil {
		return 1
	}
	return w[i]
}

// AUC returns the area under the ROC curve: the probability that a random
// late invoice scores above a random on-time one, ties counting ½ (the
// trapezoidal area over all distinct thresholds, computed with gonum's
// stat.ROC and integrate.Trapezoidal). It matches scikit-learn's
// roc_auc_score, including sample weights. Both classes must be present.
func AUC(y, p, w []float64) (float64, error) {
	pos, neg, err := checkBinary(y, p, w)
	if err != nil {
		return 0, err
	}
	if pos == 0 || neg == 0 {
		return 0, fmt.Errorf("%w: AUC needs both classes (positive weight %v, negative %v)", ErrInvalid, pos, neg)
	}
	s := slices.Clone(p)
	classes := make([]bool, len(y))
	for i, v := range y {
		classes[i] = v == 1
	}
	var ws []float64
	if w != nil {
		ws = slices.Clone(w)
	}
	stat.SortWeightedLabeled(s, classes, ws)
	tpr, fpr, _ := stat.ROC(nil, s, classes, ws)
	return integrate.Trapezoidal(fpr, tpr), nil
}

// AveragePrecision returns the area under the precision-recall curve as
// scikit-learn's average_precision_score defines it:
//
//	AP = Σ_k (R_k − R_{k−1}) · P_k
//
// over distinct score thresholds in decreasing order, where P_k and R_k are
// the (weighted) precision and recall of "late if score ≥ threshold k".
// Tied scores enter together. At least one positive is required.
func AveragePrecision(y, p, w []float64) (float64, error) {
	pos, _, err := checkBinary(y, p, w)
	if err != nil {
		return 0, err
	}
	if pos == 0 {
		return 0, fmt.Errorf("%w: average precision needs at least one late (positive) row", ErrInvalid)
	}
	idx := byScoreDesc(p)
	var tp, fp, prevR, ap float64
	for k := 0; k < len(idx); {
		s := p[idx[k]]
		for ; k < len(idx) && p[idx[k]] == s; k++ {
			i := idx[k]
			if y[i] == 1 {
				tp += wt(w, i)
			} else {
				fp += wt(w, i)
			}
		}
		if tp+fp == 0 {
			continue
		}
		r := tp / pos
		ap += (r - prevR) * tp / (tp + fp)
		prevR = r
	}
	return ap, nil
}

// byScoreDesc returns row indices ordered by decreasing score, ties by
// increasing index.
func byScoreDesc(p []float64) []int {
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(p[b], p[a]) })
	return idx
}

// LogEps is the clipping applied by LogLoss (scikit-learn's default).
const LogEps = 1e-15

// LogLoss returns the weighted mean negative log-likelihood
// −Σ w_i [y_i ln p_i + (1−y_i) ln(1−p_i)] / Σ w_i with p clipped to
// [LogEps, 1−LogEps], in nats.
func LogLoss(y, p, w []float64) (float64, error) {
	if _, _, err := checkBinary(y, p, w); err != nil {
		return 0, err
	}
	ll := make([]float64, len(y))
	for i := range y {
		q := min(max(p[i], LogEps), 1-LogEps)
		if y[i] == 1 {
			ll[i] = -math.Log(q)
		} else {
			ll[i] = -math.Log(1 - q)
		}
	}
	return stat.Mean(ll, w), nil
}

// Brier returns the weighted mean squared error Σ w_i (p_i − y_i)² / Σ w_i.
func Brier(y, p, w []float64) (float64, error) {
	if _, _, err := checkBinary(y, p, w); err != nil {
		return 0, err
	}
	se := make([]float64, len(y))
	for i := range y {
		d := p[i] - y[i]
		se[i] = d * d
	}
	return stat.Mean(se, w), nil
}

// Bin is one row of a reliability table.
type Bin struct {
	// Lo and Hi bound the scores in the bin: [Lo, Hi), the last bin [Lo, 1].
	Lo float64 `json:"lo"`
	Hi float64 `json:"hi"`
	// Weight is the total weight (row count when unweighted) in the bin.
	Weight float64 `json:"weight"`
	// MeanPred is the weighted mean score; FracLate the weighted fraction
	// of late rows. Both are 0 for an empty bin.
	MeanPred float64 `json:"mean_pred"`
	FracLate float64 `json:"frac_late"`
}

// Reliability returns the reliability table over `bins` equal-width bins of
// [0, 1] (default 10 when bins ≤ 0); score p falls in bin
// min(⌊p·bins⌋, bins−1).
func Reliability(y, p, w []float64, bins int) ([]Bin, error) {
	if _, _, err := checkBinary(y, p, w); err != nil {
		return nil, err
	}
	if bins <= 0 {
		bins = 10
	}
	out := make([]Bin, bins)
	for b := range out {
		out[b].Lo = float64(b) / float64(bins)
		out[b].Hi = float64(b+1) / float64(bins)
	}
	for i := range y {
		b := min(int(p[i]*float64(bins)), bins-1)
		wi := wt(w, i)
		out[b].Weight += wi
		out[b].MeanPred += wi * p[i]
		out[b].FracLate += wi * y[i]
	}
	for b := range out {
		if out[b].Weight > 0 {
			out[b].MeanPred /= out[b].Weight
			out[b].FracLate /= out[b].Weight
		}
	}
	return out, nil
}

// ECE returns the expected calibration error over `bins` equal-width bins
// (default 10 when bins ≤ 0):
//
//	ECE = Σ_b (W_b / W) · |FracLate_b − MeanPred_b|
//
// where W_b is the weight in bin b and W the total weight (see Reliability).
func ECE(y, p, w []float64, bins int) (float64, error) {
	tab, err := Reliability(y, p, w, bins)
	if err != nil {
		return 0, err
	}
	var total, e float64
	for _, b := range tab {
		total += b.Weight
		e += b.Weight * math.Abs(b.FracLate-b.MeanPred)
	}
	return e / total, nil
}

// Lift returns, for the top `frac` of rows by score (k = ⌈frac·n⌉ rows,
// ties broken by row order), the capture rate — the share of all late weight
// that falls in the top k — and the lift — capture divided by the share of
// total weight in the top k (1 = no better than random).
func Lift(y, p, w []float64, frac float64) (lift, capture float64, err error) {
	pos, neg, err := checkBinary(y, p, w)
	if err != nil {
		return 0, 0, err
	}
	if !(frac > 0 && frac <= 1) {
		return 0, 0, fmt.Errorf("%w: lift fraction %v, want (0, 1]", ErrInvalid, frac)
	}
	if pos == 0 {
		return 0, 0, fmt.Errorf("%w: lift needs at least one late (positive) row", ErrInvalid)
	}
	idx := byScoreDesc(p)
	k := int(math.Ceil(frac * float64(len(idx))))
	var topPos, topW float64
	for _, i := range idx[:k] {
		topW += wt(w, i)
		topPos += wt(w, i) * y[i]
	}
	capture = topPos / pos
	if topW == 0 {
		return 0, capture, nil
	}
	return capture / (topW / (pos + neg)), capture, nil
}

// Class labels used in confusion matrices.
const (
	ClassLate   = "late"
	ClassOnTime = "on_time"
)

// ClassStats are per-class precision, recall and F1 (NaN when undefined,
// e.g. precision of a class never predicted).
type ClassStats struct {
	Class     string `json:"class"`
	Precision Float  `json:"precision"`
	Recall    Float  `json:"recall"`
	F1        Float  `json:"f1"`
}

// Confusion is the confusion matrix of "late if score ≥ Threshold"
// (unweighted row counts).
type Confusion struct {
	Threshold float64      `json:"threshold"`
	TP        int          `json:"tp"` // late, predicted late
	FP        int          `json:"fp"` // on time, predicted late
	TN        int          `json:"tn"`
	FN        int          `json:"fn"`
	Accuracy  float64      `json:"accuracy"`
	Classes   []ClassStats `json:"classes"` // late, on_time
}

// ConfusionAt builds the confusion matrix at threshold and computes the
// per-class statistics with golearn's evaluation package.
func ConfusionAt(y, p []float64, threshold float64) (*Confusion, error) {
	return ConfusionNamed(y, p, threshold, ClassLate, ClassOnTime)
}

// ConfusionNamed is ConfusionAt with the classes of labels 1 and 0 named
// positive and negative (which must differ) instead of late and on_time.
func ConfusionNamed(y, p []float64, threshold float64, positive, negative string) (*Confusion, error) {
	if positive == "" || negative == "" || positive == negative {
		return nil, fmt.Errorf("%w: class names %q and %q", ErrInvalid, positive, negative)
	}
	if _, _, err := checkBinary(y, p, nil); err != nil {
		return nil, err
	}
	if !(threshold >= 0 && threshold <= 1) {
		return nil, fmt.Errorf("%w: threshold %v, want [0, 1]", ErrInvalid, threshold)
	}
	cm := evaluation.ConfusionMatrix{
		positive: {positive: 0, negative: 0},
		negative: {positive: 0, negative: 0},
	}
	for i := range y {
		actual, pred := negative, negative
		if y[i] == 1 {
			actual = positive
		}
		if p[i] >= threshold {
			pred = positive
		}
		cm[actual][pred]++
	}
	c := &Confusion{
		Threshold: threshold,
		TP:        cm[positive][positive],
		FN:        cm[positive][negative],
		FP:        cm[negative][positive],
		TN:        cm[negative][negative],
		Accuracy:  evaluation.GetAccuracy(cm),
	}
	for _, cl := range []string{positive, negative} {
		c.Classes = append(c.Classes, ClassStats{
			Class:     cl,
			Precision: Float(evaluation.GetPrecision(cl, cm)),
			Recall:    Float(evaluation.GetRecall(cl, cm)),
			F1:        Float(evaluation.GetF1Score(cl, cm)),
		})
	}
	return c, nil
}

// MAE returns the mean absolute error Σ|actual_i − pred_i| / n (e.g. of days
// late).
func MAE(actual, pred []float64) (float64, error) {
	if len(actual) == 0 || len(actual) != len(pred) {
		return 0, fmt.Errorf("%w: MAE needs equal, non-zero lengths (actual %d, predicted %d)", ErrInvalid, len(actual), len(pred))
	}
	s := 0.0
	for i := range actual {
		if math.IsNaN(actual[i]) || math.IsNaN(pred[i]) {
			return 0, fmt.Errorf("%w: MAE row %d is NaN (actual %v, predicted %v)", ErrInvalid, i, actual[i], pred[i])
		}
		s += math.Abs(actual[i] - pred[i])
	}
	return s / float64(len(actual)), nil
}

// Coverage returns the fraction of rows whose actual value lies in the
// predicted closed interval [lo_i, hi_i] (hi may be +Inf for "beyond the
// horizon").
func Coverage(actual, lo, hi []float64) (float64, error) {
	if len(actual) == 0 || len(lo) != len(actual) || len(hi) != len(actual) {
		return 0, fmt.Errorf("%w: coverage needs equal, non-zero lengths (actual %d, lo %d, hi %d)", ErrInvalid, len(actual), len(lo), len(hi))
	}
	in := 0
	for i, a := range actual {
		if lo[i] > hi[i] || math.IsNaN(lo[i]) || math.IsNaN(hi[i]) || math.IsNaN(a) {
			return 0, fmt.Errorf("%w: coverage row %d: interval [%v, %v], actual %v", ErrInvalid, i, lo[i], hi[i], a)
		}
		if a >= lo[i] && a <= hi[i] {
			in++
		}
	}
	return float64(in) / float64(len(actual)), nil
}
