package gbdt

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
)

// Objective names the loss being minimised. The values are XGBoost's names.
type Objective string

const (
	// BinaryLogistic is the log loss of a Bernoulli label y ∈ {0,1} with
	// p = σ(margin) = 1/(1+e^-margin). Predict returns p.
	BinaryLogistic Objective = "binary:logistic"
	// MultiSoftprob is the softmax cross-entropy of a class label
	// y ∈ {0,…,K-1}; one tree per class per round. Predict returns the K
	// class probabilities p_k = e^{m_k} / Σ_j e^{m_j}.
	MultiSoftprob Objective = "multi:softprob"
	// RegSquaredError is ½(margin - y)². Predict returns the margin.
	RegSquaredError Objective = "reg:squarederror"
)

// GrowPolicy selects the order in which tree nodes are split.
type GrowPolicy string

const (
	// Depthwise splits every splittable node of a level before the next
	// level (XGBoost's default). MaxLeaves, if set, caps the leaf count.
	Depthwise GrowPolicy = "depthwise"
	// LossGuide always splits the leaf with the largest loss change
	// (LightGBM-style best-first growth). Needs MaxLeaves or MaxDepth.
	LossGuide GrowPolicy = "lossguide"
)

// Metric names a validation metric. The values are XGBoost's names.
type Metric string

const (
	MetricLogLoss  Metric = "logloss"  // mean weighted binary log loss (lower is better)
	MetricAUC      Metric = "auc"      // area under the ROC curve (higher is better)
	MetricMLogLoss Metric = "mlogloss" // mean weighted multiclass log loss (lower is better)
	MetricMError   Metric = "merror"   // weighted multiclass error rate (lower is better)
	MetricRMSE     Metric = "rmse"     // root mean squared error, label units (lower is better)
	MetricMAE      Metric = "mae"      // mean absolute error, label units (lower is better)
)

// higherIsBetter reports the direction of m.
func (m Metric) higherIsBetter() bool { return m == MetricAUC }

// Params configures [Train]. Start from [DefaultParams]; the zero value is
// not valid (Eta 0 is rejected). Field comments give the XGBoost parameter
// name that [Params.Set] accepts.
type Params struct {
	Objective Objective // objective; default binary:logistic
	NumClass  int       // num_class; required (≥ 2) for multi:softprob, else 0

	NumRounds int     // num_round / n_estimators: boosting rounds; default 100
	Eta       float64 // eta / learning_rate: shrinkage applied to every leaf weight, in (0,1]; default 0.3

	MaxDepth   int        // max_depth: 0 = unlimited (LossGuide only); default 6
	MaxLeaves  int        // max_leaves: 0 = unlimited; default 0
	GrowPolicy GrowPolicy // grow_policy: default depthwise

	MinChildWeight float64 // min_child_weight: minimum hessian sum per child; default 1
	Lambda         float64 // lambda / reg_lambda: L2 penalty on leaf weights; default 1
	Alpha          float64 // alpha / reg_alpha: L1 penalty on leaf weights; default 0
	Gamma          float64 // gamma / min_split_loss: minimum loss change to split; default 0

	Subsample       float64 // subsample: per-tree Bernoulli row-sampling rate in (0,1]; default 1
	ColsampleByTree float64 // colsample_bytree: fraction of features per tree in (0,1]; default 1
	ColsampleByNode float64 // colsample_bynode: fraction of the tree's features per node in (0,1]; default 1

	MaxBin int // max_bin: value bins per feature, 2…256; default 256

	// MonotoneConstraints (monotone_constraints) has one entry per feature:
	// +1 the prediction must be non-decreasing in the feature, -1
	// non-increasing, 0 unconstrained. Nil or empty = no constraints.
	MonotoneConstraints []int

	// BaseScore (base_score) is the initial prediction in output units: a
	// probability for binary:logistic, a label value for regression, and the
	// initial margin of every class for multi:softprob. NaN (the default)
	// estimates it from the training labels: the weighted positive rate, the
	// weighted label mean, or the log class priors for multiclass.
	BaseScore float64

	ScalePosWeight float64 // scale_pos_weight: multiplies the weight of positive rows (binary only); default 1

	// EarlyStoppingRounds (early_stopping_rounds) stops training when the
	// validation metric has not improved for this many rounds; the ensemble
	// is then truncated to its best round. 0 disables early stopping.
	// Requires a validation set.
	EarlyStoppingRounds int
	// EvalMetric (eval_metric) is the validation metric; "" picks logloss,
	// mlogloss or rmse by objective.
	EvalMetric Metric

	Seed    uint64 // seed: drives row and column sampling; default 0
	NThread int    // nthread: worker goroutines; ≤ 0 = GOMAXPROCS. Never changes the model.

	// Logger receives per-round progress at Debug level and a summary at
	// Info level. Nil discards.
	Logger *slog.Logger `json:"-"`
}

// DefaultParams returns XGBoost 1.7's defaults for the tree booster, except
// that BaseScore is estimated from the labels (NaN) as XGBoost ≥ 2.0 does.
func DefaultParams() Params {
	return Params{
		Objective:       BinaryLogistic,
		NumRounds:       100,
		Eta:             0.3,
		MaxDepth:        6,
		GrowPolicy:      Depthwise,
		MinChildWeight:  1,
		Lambda:          1,
		Subsample:       1,
		ColsampleByTree: 1,
		ColsampleByNode: 1,
		MaxBin:          256,
		BaseScore:       math.NaN(),
		ScalePosWeight:  1,
	}
}

// ErrUnknownParam is returned (wrapped) by Set for a name it does not know.
var ErrUnknownParam = errors.New("unknown parameter")

// Set assigns one parameter by its XGBoost name (aliases included), parsing
// value as XGBoost would: "eta" "0.1", "max_depth" "8",
// "monotone_constraints" "(1,0,-1)". Unknown names are an error wrapping
// ErrUnknownParam.
func (p *Params) Set(name, value string) error {
	v := strings.TrimSpace(value)
	var err error
	switch strings.TrimSpace(name) {
	case "objective":
		p.Objective = Objective(v)
	case "num_class":
		p.NumClass, err = strconv.Atoi(v)
	case "num_round", "num_boost_round", "n_estimators":
		p.NumRounds, err = strconv.Atoi(v)
	case "eta", "learning_rate":
		p.Eta, err = parseFloat(v)
	case "max_depth":
		p.MaxDepth, err = strconv.Atoi(v)
	case "max_leaves":
		p.MaxLeaves, err = strconv.Atoi(v)
	case "grow_policy":
		p.GrowPolicy = GrowPolicy(v)
	case "min_child_weight":
		p.MinChildWeight, err = parseFloat(v)
	case "lambda", "reg_lambda":
		p.Lambda, err = parseFloat(v)
	case "alpha", "reg_alpha":
		p.Alpha, err = parseFloat(v)
	case "gamma", "min_split_loss":
		p.Gamma, err = parseFloat(v)
	case "subsample":
		p.Subsample, err = parseFloat(v)
	case "colsample_bytree":
		p.ColsampleByTree, err = parseFloat(v)
	case "colsample_bynode":
		p.ColsampleByNode, err = parseFloat(v)
	case "max_bin":
		p.MaxBin, err = strconv.Atoi(v)
	case "monotone_constraints":
		p.MonotoneConstraints, err = parseIntTuple(v)
	case "base_score":
		p.BaseScore, err = parseFloat(v)
	case "scale_pos_weight":
		p.ScalePosWeight, err = parseFloat(v)
	case "early_stopping_rounds":
		p.EarlyStoppingRounds, err = strconv.Atoi(v)
	case "eval_metric":
		p.EvalMetric = Metric(v)
	case "seed", "random_state":
		p.Seed, err = strconv.ParseUint(v, 10, 64)
	case "nthread", "n_jobs":
		p.NThread, err = strconv.Atoi(v)
	case "tree_method":
		if v != "hist" {
			return fmt.Errorf("gbdt: parameter tree_method=%q: only \"hist\" is implemented", v)
		}
	default:
		return fmt.Errorf("gbdt: %w %q", ErrUnknownParam, name)
	}
	if err != nil {
		return fmt.Errorf("gbdt: parameter %s=%q: %w", name, value, err)
	}
	return nil
}

func parseFloat(s string) (float64, error) {
	if strings.EqualFold(s, "nan") {
		return math.NaN(), nil
	}
	return strconv.ParseFloat(s, 64)
}

// parseIntTuple parses "(1,0,-1)", "[1,0,-1]" or "1,0,-1".
func parseIntTuple(s string) ([]int, error) {
	s = strings.Trim(s, "()[] ")
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	out := make([]int, len(parts))
	for i, f := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
		out[i] = n
	}
	return out, nil
}

// defaultMetric is the metric used when EvalMetric is empty.
func (p *Params) metric() Metric {
	if p.EvalMetric != "" {
		return p.EvalMetric
	}
	switch p.Objective {
	case MultiSoftprob:
		return MetricMLogLoss
	case RegSquaredError:
		return MetricRMSE
	default:
		return MetricLogLoss
	}
}

// numOutputs is the number of margins per row (K for softmax, else 1).
func (p *Params) numOutputs() int {
	if p.Objective == MultiSoftprob {
		return p.NumClass
	}
	return 1
}

// Validate checks p for a data set with numFeatures features. Every problem
// found is reported, joined with errors.Join.
func (p *Params) Validate(numFeatures int) error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	switch p.Objective {
	case BinaryLogistic, RegSquaredError:
		if p.NumClass != 0 && p.NumClass != 1 {
			bad("num_class=%d is only meaningful for %s", p.NumClass, MultiSoftprob)
		}
	case MultiSoftprob:
		if p.NumClass < 2 || p.NumClass > 1<<16 {
			bad("num_class=%d: %s needs 2 ≤ num_class ≤ 65536", p.NumClass, MultiSoftprob)
		}
	default:
		bad("objective %q: want %s, %s or %s", p.Objective, BinaryLogistic, MultiSoftprob, RegSquaredError)
	}
	if p.NumRounds < 1 {
		bad("num_round=%d: must be ≥ 1", p.NumRounds)
	}
	if !(p.Eta > 0 && p.Eta <= 1) {
		bad("eta=%v: must be in (0,1]", p.Eta)
	}
	if p.MaxDepth < 0 || p.MaxDepth > 31 {
		bad("max_depth=%d: must be in [0,31]", p.MaxDepth)
	}
	if p.MaxLeaves < 0 || p.MaxLeaves == 1 {
		bad("max_leaves=%d: must be 0 (unlimited) or ≥ 2", p.MaxLeaves)
	}
	switch p.GrowPolicy {
	case Depthwise:
		if p.MaxDepth == 0 {
			bad("max_depth=0 (unlimited) needs grow_policy=%s", LossGuide)
		}
	case LossGuide:
		if p.MaxDepth == 0 && p.MaxLeaves == 0 {
			bad("grow_policy=%s needs max_depth or max_leaves", LossGuide)
		}
	default:
		bad("grow_policy %q: want %s or %s", p.GrowPolicy, Depthwise, LossGuide)
	}
	checkNonNeg := func(name string, v float64) {
		if !(v >= 0) || math.IsInf(v, 1) {
			bad("%s=%v: must be finite and ≥ 0", name, v)
		}
	}
	checkNonNeg("min_child_weight", p.MinChildWeight)
	checkNonNeg("lambda", p.Lambda)
	checkNonNeg("alpha", p.Alpha)
	checkNonNeg("gamma", p.Gamma)
	for _, f := range []struct {
		name string
		v    float64
	}{{"subsample", p.Subsample}, {"colsample_bytree", p.ColsampleByTree}, {"colsample_bynode", p.ColsampleByNode}} {
		if !(f.v > 0 && f.v <= 1) {
			bad("%s=%v: must be in (0,1]", f.name, f.v)
		}
	}
	if p.MaxBin < 2 || p.MaxBin > 256 {
		bad("max_bin=%d: must be in [2,256]", p.MaxBin)
	}
	if len(p.MonotoneConstraints) > 0 {
		if len(p.MonotoneConstraints) != numFeatures {
			bad("monotone_constraints has %d entries for %d features", len(p.MonotoneConstraints), numFeatures)
		}
		for j, c := range p.MonotoneConstraints {
			if c < -1 || c > 1 {
				bad("monotone_constraints[%d]=%d: must be -1, 0 or 1", j, c)
			}
		}
		if p.Objective == MultiSoftprob && hasNonZero(p.MonotoneConstraints) {
			bad("monotone_constraints are not supported with %s", MultiSoftprob)
		}
	}
	if !math.IsNaN(p.BaseScore) {
		switch {
		case math.IsInf(p.BaseScore, 0):
			bad("base_score=%v: must be finite", p.BaseScore)
		case p.Objective == BinaryLogistic && !(p.BaseScore > 0 && p.BaseScore < 1):
			bad("base_score=%v: must be in (0,1) for %s", p.BaseScore, BinaryLogistic)
		}
	}
	if !(p.ScalePosWeight > 0) || math.IsInf(p.ScalePosWeight, 1) {
		bad("scale_pos_weight=%v: must be finite and > 0", p.ScalePosWeight)
	}
	if p.ScalePosWeight != 1 && p.Objective != BinaryLogistic {
		bad("scale_pos_weight=%v is only meaningful for %s", p.ScalePosWeight, BinaryLogistic)
	}
	if p.EarlyStoppingRounds < 0 {
		bad("early_stopping_rounds=%d: must be ≥ 0", p.EarlyStoppingRounds)
	}
	switch m := p.metric(); m {
	case MetricLogLoss, MetricAUC:
		if p.Objective != BinaryLogistic {
			bad("eval_metric=%s needs objective %s", m, BinaryLogistic)
		}
	case MetricMLogLoss, MetricMError:
		if p.Objective != MultiSoftprob {
			bad("eval_metric=%s needs objective %s", m, MultiSoftprob)
		}
	case MetricRMSE, MetricMAE:
		if p.Objective != RegSquaredError {
			bad("eval_metric=%s needs objective %s", m, RegSquaredError)
		}
	default:
		bad("eval_metric %q: unknown", m)
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("gbdt: invalid parameters: %w", errors.Join(errs...))
}

func hasNonZero(c []int) bool {
	for _, v := range c {
		if v != 0 {
			return true
		}
	}
	return false
}
