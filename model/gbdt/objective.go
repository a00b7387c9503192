package gbdt

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// minHessian floors second derivatives so that leaf denominators stay
// positive on saturated rows (XGBoost uses the same floor).
const minHessian = 1e-16

// sigmoid is σ(x) = 1/(1+e^-x).
func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// softmaxInto writes p_k = e^{m_k - max m} / Σ_j e^{m_j - max m} into p.
func softmaxInto(p, m []float64) {
	mx := math.Inf(-1)
	for _, v := range m {
		mx = max(mx, v)
	}
	s := 0.0
	for k, v := range m {
		e := math.Exp(v - mx)
		p[k] = e
		s += e
	}
	for k := range p {
		p[k] /= s
	}
}

// transformInto maps the margins of one row to the objective's output.
func transformInto(obj Objective, out, margin []float64) {
	switch obj {
	case BinaryLogistic:
		out[0] = sigmoid(margin[0])
	case MultiSoftprob:
		softmaxInto(out, margin)
	default:
		copy(out, margin)
	}
}

// computeGradients writes the gradient pairs of rows [lo,hi) for every
// output: grad[k*n+i] for output k of row i. w holds the row weights
// (scale_pos_weight already applied), margin the n×K margins.
//
//	binary:logistic   p = σ(m), g = (p-y)·w, h = max(p(1-p), 1e-16)·w
//	multi:softprob    p = softmax(m), g_k = (p_k-[y=k])·w, h_k = max(2p_k(1-p_k), 1e-16)·w
//	reg:squarederror  g = (m-y)·w, h = w
func computeGradients(obj Objective, K int, y, w, margin []float64, grad []gradPair, lo, hi int, prob []float64) {
	n := len(y)
	switch obj {
	case BinaryLogistic:
		for i := lo; i < hi; i++ {
			p := sigmoid(margin[i])
			grad[i] = gradPair{(p - y[i]) * w[i], max(p*(1-p), minHessian) * w[i]}
		}
	case MultiSoftprob:
		for i := lo; i < hi; i++ {
			softmaxInto(prob, margin[i*K:(i+1)*K])
			label := int(y[i])
			for k, p := range prob {
				t := 0.0
				if k == label {
					t = 1
				}
				grad[k*n+i] = gradPair{(p - t) * w[i], max(2*p*(1-p), minHessian) * w[i]}
			}
		}
	default:
		for i := lo; i < hi; i++ {
			grad[i] = gradPair{(margin[i] - y[i]) * w[i], w[i]}
		}
	}
}

// baseMargins returns the initial margin of every output. An explicit
// BaseScore b maps to logit(b) for binary:logistic and to b itself
// otherwise; NaN estimates it from the weighted labels: logit of the
// positive rate, the label mean, or the log class priors (floored at
// 1e-6 per class).
func baseMargins(p *Params, y, w []float64) ([]float64, error) {
	K := p.numOutputs()
	out := make([]float64, K)
	if !math.IsNaN(p.BaseScore) {
		for k := range out {
			out[k] = p.BaseScore
		}
		if p.Objective == BinaryLogistic {
			out[0] = math.Log(p.BaseScore / (1 - p.BaseScore))
		}
		return out, nil
	}
	total := 0.0
	for _, wi := range w {
		total += wi
	}
	switch p.Objective {
	case BinaryLogistic:
		pos := 0.0
		for i, yi := range y {
			pos += yi * w[i]
		}
		rate := min(max(pos/total, 1e-6), 1-1e-6)
		out[0] = math.Log(rate / (1 - rate))
	case MultiSoftprob:
		counts := make([]float64, K)
		for i, yi := range y {
			counts[int(yi)] += w[i]
		}
		for k := range out {
			out[k] = math.Log(max(counts[k]/total, 1e-6))
		}
	default:
		s := 0.0
		for i, yi := range y {
			s += yi * w[i]
		}
		out[0] = s / total
	}
	for _, v := range out {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("gbdt: estimated base score %v is not finite", v)
		}
	}
	return out, nil
}

// evalMetric computes metric m over n rows from their margins (n×K), labels
// and weights (nil = 1). prob is scratch of length K.
func evalMetric(m Metric, K int, y, w, margin []float64) float64 {
	wt := func(i int) float64 {
		if w == nil {
			return 1
		}
		return w[i]
	}
	n := len(y)
	switch m {
	case MetricAUC:
		scores := margin[:n]
		return aucOf(y, w, scores)
	case MetricLogLoss:
		var s, sw float64
		for i := range n {
			p := min(max(sigmoid(margin[i]), 1e-15), 1-1e-15)
			l := -math.Log(1 - p)
			if y[i] == 1 {
				l = -math.Log(p)
			}
			s += wt(i) * l
			sw += wt(i)
		}
		return s / sw
	case MetricMLogLoss, MetricMError:
		prob := make([]float64, K)
		var s, sw float64
		for i := range n {
			softmaxInto(prob, margin[i*K:(i+1)*K])
			label := int(y[i])
			if m == MetricMLogLoss {
				s += wt(i) * -math.Log(max(prob[label], 1e-15))
			} else if slices.Index(prob, slices.Max(prob)) != label {
				s += wt(i)
			}
			sw += wt(i)
		}
		return s / sw
	case MetricMAE:
		var s, sw float64
		for i := range n {
			s += wt(i) * math.Abs(margin[i]-y[i])
			sw += wt(i)
		}
		return s / sw
	default: // rmse
		var s, sw float64
		for i := range n {
			d := margin[i] - y[i]
			s += wt(i) * d * d
			sw += wt(i)
		}
		return math.Sqrt(s / sw)
	}
}

// aucOf is the weighted ROC AUC of scores against binary labels: the
// probability that a random positive outscores a random negative, ties
// counting ½. It is NaN when one class is absent.
func aucOf(y, w, scores []float64) float64 {
	idx := make([]int, len(y))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(scores[a], scores[b]) })
	var negBelow, area, pos, neg float64
	for i := 0; i < len(idx); {
		j := i
		var p, q float64 // positive and negative weight in this tie group
		for ; j < len(idx) && scores[idx[j]] == scores[idx[i]]; j++ {
			wi := 1.0
			if w != nil {
				wi = w[idx[j]]
			}
			if y[idx[j]] == 1 {
				p += wi
			} else {
				q += wi
			}
		}
		area += p * (negBelow + q/2)
		negBelow += q
		pos += p
		neg += q
		i = j
	}
	if pos == 0 || neg == 0 {
		return math.NaN()
	}
	return area / (pos * neg)
}
