package gbdt

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// xgbModel mirrors the parts of XGBoost's JSON model format (save_model
// "*.json", version ≥ 1.7) that scoring needs.
type xgbModel struct {
	Version []int `json:"version"`
	Learner struct {
		FeatureNames []string `json:"feature_names"`
		Param        struct {
			BaseScore  string `json:"base_score"`
			NumClass   string `json:"num_class"`
			NumFeature string `json:"num_feature"`
			NumTarget  string `json:"num_target"`
		} `json:"learner_model_param"`
		Objective struct {
			Name string `json:"name"`
		} `json:"objective"`
		Booster struct {
			Name  string `json:"name"`
			Model struct {
				Param struct {
					NumParallelTree string `json:"num_parallel_tree"`
				} `json:"gbtree_model_param"`
				TreeInfo []int     `json:"tree_info"`
				Trees    []xgbTree `json:"trees"`
			} `json:"model"`
		} `json:"gradient_booster"`
	} `json:"learner"`
}

type xgbTree struct {
	Left        []int32    `json:"left_children"`
	Right       []int32    `json:"right_children"`
	SplitIndex  []int32    `json:"split_indices"`
	SplitCond   []float64  `json:"split_conditions"`
	DefaultLeft []jsonBool `json:"default_left"`
	SumHessian  []float64  `json:"sum_hessian"`
	LossChanges []float64  `json:"loss_changes"`
	SplitType   []int      `json:"split_type"`
}

// jsonBool accepts true/false and 0/1 (XGBoost writes either, by version).
type jsonBool bool

func (b *jsonBool) UnmarshalJSON(data []byte) error {
	switch strings.TrimSpace(string(data)) {
	case "true", "1":
		*b = true
	case "false", "0":
		*b = false
	default:
		return fmt.Errorf("want a boolean or 0/1, got %s", data)
	}
	return nil
}

// xgbNumber parses XGBoost's string-encoded numbers ("5E-1", "[5E-1]").
func xgbNumber(name, s string) (float64, error) {
	s = strings.Trim(strings.TrimSpace(s), "[]")
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("gbdt: xgboost model: %s=%q: %w", name, s, err)
	}
	return v, nil
}

// float32Threshold returns the float64 threshold t' such that, for every
// float64 v, v < t' exactly when float32(v) < t. XGBoost converts inputs to
// float32 before comparing them with its float32 split conditions; with t'
// a float64 input takes the same branch as in XGBoost. float32(v) < t holds
// iff float32(v) ≤ p, p the float32 just below t, iff v lies below the
// midpoint m = (p+t)/2 — or at m when round-half-to-even sends m down to p,
// i.e. when p's significand is even.
func float32Threshold(t float32) float64 {
	if math.IsInf(float64(t), -1) || math.IsNaN(float64(t)) {
		return float64(t)
	}
	p := math.Nextafter32(t, float32(math.Inf(-1)))
	var m float64
	if math.IsInf(float64(t), 1) {
		m = float64(math.MaxFloat32) + math.Ldexp(1, 103) // half an ulp above MaxFloat32
	} else {
		m = (float64(p) + float64(t)) / 2 // exact in float64
	}
	if math.Float32bits(p)&1 == 0 {
		return math.Nextafter(m, math.Inf(1))
	}
	return m
}

// ImportXGBoostJSON reads a model written by XGBoost ≥ 1.7's
// Booster.save_model("model.json") with objective binary:logistic,
// multi:softprob (or multi:softmax, scored as softprob) or
// reg:squarederror, booster gbtree and numeric splits only. Split
// thresholds are converted so that float64 inputs are routed exactly as
// XGBoost routes them after its float32 conversion; the base_score becomes
// the base margin (logit(base_score) for binary:logistic). Leaf sums are
// accumulated in float64 (XGBoost uses float32), so scores agree to about
// 1e-7 relative.
func ImportXGBoostJSON(r io.Reader) (*Ensemble, error) {
	var m xgbModel
	dec := json.NewDecoder(r)
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("gbdt: xgboost model: decode JSON: %w", err)
	}
	L := &m.Learner
	if L.Booster.Name != "gbtree" {
		return nil, fmt.Errorf("gbdt: xgboost model: booster %q is not supported (want gbtree)", L.Booster.Name)
	}
	nf, err := xgbNumber("num_feature", L.Param.NumFeature)
	if err != nil {
		return nil, err
	}
	if nf < 1 || nf > 1<<24 || nf != math.Trunc(nf) {
		return nil, fmt.Errorf("gbdt: xgboost model: num_feature=%v is not a positive integer", nf)
	}
	if L.Param.NumTarget != "" {
		if nt, err := xgbNumber("num_target", L.Param.NumTarget); err != nil || nt > 1 {
			return nil, fmt.Errorf("gbdt: xgboost model: num_target=%q: multi-target models are not supported", L.Param.NumTarget)
		}
	}
	base, err := xgbNumber("base_score", L.Param.BaseScore)
	if err != nil {
		return nil, err
	}
	e := &Ensemble{numFeature: int(nf), bestIteration: -1}
	K := 1
	switch L.Objective.Name {
	case "binary:logistic":
		e.objective = BinaryLogistic
		if !(base > 0 && base < 1) {
			return nil, fmt.Errorf("gbdt: xgboost model: base_score=%v is not a probability", base)
		}
		base = math.Log(base / (1 - base))
	case "multi:softprob", "multi:softmax":
		e.objective = MultiSoftprob
		nc, err := xgbNumber("num_class", L.Param.NumClass)
		if err != nil {
			return nil, err
		}
		if nc < 2 || nc > 1<<16 || nc != math.Trunc(nc) {
			return nil, fmt.Errorf("gbdt: xgboost model: num_class=%v for %s", nc, L.Objective.Name)
		}
		K = int(nc)
		e.numClass = K
	case "reg:squarederror", "reg:linear":
		e.objective = RegSquaredError
	default:
		return nil, fmt.Errorf("gbdt: xgboost model: objective %q is not supported (want binary:logistic, multi:softprob or reg:squarederror)", L.Objective.Name)
	}
	if math.IsNaN(base) || math.IsInf(base, 0) {
		return nil, fmt.Errorf("gbdt: xgboost model: base margin %v is not finite", base)
	}
	e.base = make([]float64, K)
	for k := range e.base {
		e.base[k] = base
	}
	if n := len(L.FeatureNames); n > 0 {
		if n != e.numFeature {
			return nil, fmt.Errorf("gbdt: xgboost model: %d feature names for %d features", n, e.numFeature)
		}
		e.featureNames = L.FeatureNames
	}
	trees := L.Booster.Model.Trees
	info := L.Booster.Model.TreeInfo
	if len(info) != len(trees) {
		return nil, fmt.Errorf("gbdt: xgboost model: %d trees but %d tree_info entries", len(trees), len(info))
	}
	for t := range trees {
		if info[t] < 0 || info[t] >= K {
			return nil, fmt.Errorf("gbdt: xgboost model: tree %d: output group %d out of range [0,%d)", t, info[t], K)
		}
		if err := e.appendXGBTree(&trees[t], info[t]); err != nil {
			return nil, fmt.Errorf("gbdt: xgboost model: tree %d: %w", t, err)
		}
	}
	e.computeMeans()
	return e, nil
}

// appendXGBTree validates one XGBoost tree and appends it renumbered in
// breadth-first order, so that siblings are adjacent.
func (e *Ensemble) appendXGBTree(t *xgbTree, group int) error {
	n := len(t.Left)
	if n == 0 {
		return fmt.Errorf("no nodes")
	}
	for _, c := range []struct {
		name string
		len  int
	}{{"right_children", len(t.Right)}, {"split_indices", len(t.SplitIndex)}, {"split_conditions", len(t.SplitCond)},
		{"default_left", len(t.DefaultLeft)}, {"sum_hessian", len(t.SumHessian)}} {
		if c.len != n {
			return fmt.Errorf("%s has %d entries for %d nodes", c.name, c.len, n)
		}
	}
	if len(t.LossChanges) != 0 && len(t.LossChanges) != n {
		return fmt.Errorf("loss_changes has %d entries for %d nodes", len(t.LossChanges), n)
	}
	for i, st := range t.SplitType {
		if st != 0 && t.Left[i] >= 0 {
			return fmt.Errorf("node %d: categorical splits are not supported", i)
		}
	}
	first := int32(len(e.nodes))
	if len(e.nodes)+n > math.MaxInt32/2 {
		return fmt.Errorf("model too large")
	}
	newIdx := make([]int32, n) // old index → new index (-1 = not reached)
	for i := range newIdx {
		newIdx[i] = -1
	}
	order := make([]int32, 1, n) // new order, as old indices
	depth := make([]int32, 1, n)
	newIdx[0] = first
	maxDepth := int32(0)
	for q := 0; q < len(order); q++ {
		old := order[q]
		maxDepth = max(maxDepth, depth[q])
		l, r := t.Left[old], t.Right[old]
		if l == -1 && r == -1 {
			continue
		}
		if l < 0 || r < 0 || int(l) >= n || int(r) >= n {
			return fmt.Errorf("node %d: children %d, %d out of range", old, l, r)
		}
		for _, c := range [2]int32{l, r} {
			if newIdx[c] >= 0 || c == 0 {
				return fmt.Errorf("node %d is reached twice (not a tree)", c)
			}
			newIdx[c] = first + int32(len(order))
			order = append(order, c)
			depth = append(depth, depth[q]+1)
		}
	}
	for q, old := range order {
		self := first + int32(q)
		cover := t.SumHessian[old]
		if !(cover >= 0) || math.IsInf(cover, 0) {
			return fmt.Errorf("node %d: sum_hessian %v", old, cover)
		}
		if t.Left[old] == -1 {
			v := t.SplitCond[old]
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("leaf %d: value %v", old, v)
			}
			e.nodes = append(e.nodes, leafNode(self))
			e.values = append(e.values, v)
			e.gain = append(e.gain, 0)
		} else {
			f := t.SplitIndex[old]
			if f < 0 || int(f) >= e.numFeature {
				return fmt.Errorf("node %d: split feature %d out of range [0,%d)", old, f, e.numFeature)
			}
			if !(cover > 0) {
				return fmt.Errorf("node %d: split node has sum_hessian %v", old, cover)
			}
			c := t.SplitCond[old]
			if math.IsNaN(c) || math.IsInf(float64(float32(c)), -1) {
				return fmt.Errorf("node %d: split condition %v", old, c)
			}
			e.nodes = append(e.nodes, splitNode(f, float32Threshold(float32(c)), newIdx[t.Left[old]], !bool(t.DefaultLeft[old])))
			e.values = append(e.values, 0)
			g := 0.0
			if len(t.LossChanges) == n {
				g = t.LossChanges[old]
			}
			e.gain = append(e.gain, g)
		}
		e.cover = append(e.cover, cover)
	}
	// Siblings must be adjacent: BFS appends a node's two children together.
	for q, old := range order {
		if l := t.Left[old]; l >= 0 && newIdx[t.Right[old]] != newIdx[l]+1 {
			return fmt.Errorf("internal error: node %d children not adjacent", q)
		}
	}
	e.roots = append(e.roots, first)
	e.group = append(e.group, int32(group))
	e.depth = append(e.depth, maxDepth)
	e.maxDepth = max(e.maxDepth, int(maxDepth))
	return nil
}
