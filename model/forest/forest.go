package forest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"

	"github.com/sjwhitworth/golearn/base"
	"github.com/sjwhitworth/golearn/trees"

	"github.com/duesight/duesight/model"
)

// Kind is the registered artifact kind; it says loudly that this model is a
// baseline.
const Kind = "golearn-forest-baseline"

// MaxRows is the largest training set Fit accepts without Params.Force.
const MaxRows = 50000

func init() {
	model.Register(Kind, func(b []byte) (model.Predictor, error) { return Decode(b) })
}

// Params configure Fit.
type Params struct {
	// Trees is the number of trees (default 50).
	Trees int `json:"trees"`
	// FeaturesPerTree is the size of the random feature subset each tree
	// may split on (golearn's RandomFeatures; default ⌈√d⌉, at most d).
	// golearn's ID3 uses each feature at most once per path, so it also
	// bounds the tree depth.
	FeaturesPerTree int `json:"features_per_tree"`
	// Seed determines every random choice of Fit (bootstrap rows and
	// feature subsets): equal data, Params and Seed give an identical model.
	Seed uint64 `json:"seed"`
	// Force allows training on more than MaxRows rows.
	Force bool `json:"force,omitempty"`
}

// node is a converted tree node. Leaves have Feature == −1.
type node struct {
	Feature   int     `json:"f"`
	Threshold float64 `json:"t,omitempty"` // go left when x ≤ Threshold
	Left      int32   `json:"l,omitempty"`
	Right     int32   `json:"r,omitempty"`
	Late      int     `json:"p"` // late rows of the bootstrap sample reaching the node
	OnTime    int     `json:"n"`
}

func (n node) freq() float64 {
	if n.Late+n.OnTime == 0 {
		return 0
	}
	return float64(n.Late) / float64(n.Late+n.OnTime)
}

// Model is a fitted baseline forest; immutable and safe for concurrent use.
type Model struct {
	names  []string
	fill   []float64 // imputation value per feature
	trees  [][]node  // node 0 is the root
	params Params
	base   float64 // mean root frequency
}

// Fit trains the baseline on d (labels 0/1; no weights). lg receives
// progress messages (nil discards). ctx is checked between batches of
// trees. Trees are fitted concurrently (GOMAXPROCS at a time); each tree's
// random choices come from its own generator seeded with (Seed, tree
// index), so the result does not depend on scheduling.
func Fit(ctx context.Context, d *model.Dataset, p Params, lg *slog.Logger) (*Model, error) {
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	if err := d.ValidateBinary(); err != nil {
		return nil, fmt.Errorf("forest: %w", err)
	}
	n, nf := d.Rows(), len(d.Names)
	if nf == 0 {
		return nil, fmt.Errorf("forest: %w: dataset has no features", model.ErrInvalidData)
	}
	if n > MaxRows && !p.Force {
		return nil, fmt.Errorf("forest: %w: %d rows exceeds the baseline's limit of %d (golearn's random forest takes minutes at this size); sample the data or set Params.Force",
			model.ErrInvalidData, n, MaxRows)
	}
	if d.W != nil {
		return nil, fmt.Errorf("forest: %w: sample weights are not supported by golearn's random forest; pass W = nil", model.ErrInvalidData)
	}
	if p.Trees == 0 {
		p.Trees = 50
	}
	if p.FeaturesPerTree == 0 {
		p.FeaturesPerTree = int(math.Ceil(math.Sqrt(float64(nf))))
	}
	if p.Trees < 0 || p.FeaturesPerTree < 0 || p.FeaturesPerTree > nf {
		return nil, fmt.Errorf("forest: %w: Params.Trees = %d and Params.FeaturesPerTree = %d, want > 0 and FeaturesPerTree ≤ %d features",
			model.ErrInvalidData, p.Trees, p.FeaturesPerTree, nf)
	}
	if slices.Contains(d.Names, padName) {
		return nil, fmt.Errorf("forest: %w: feature name %q is reserved", model.ErrInvalidData, padName)
	}
	fill := make([]float64, nf)
	for j, col := range d.X {
		var s float64
		var c int
		for _, v := range col {
			if !math.IsNaN(v) {
				s += v
				c++
			}
		}
		if c == 0 {
			continue // missing in every row: filled with 0, a constant no tree can split on
		}
		fill[j] = s / float64(c)
	}
	index := make(map[string]int, nf)
	for j, name := range d.Names {
		index[name] = j
	}
	m := &Model{names: slices.Clone(d.Names), fill: fill, params: p, trees: make([][]node, p.Trees)}
	batch := max(1, runtime.GOMAXPROCS(0))
	for done := 0; done < p.Trees; {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("forest: fit cancelled after %d of %d trees: %w", done, p.Trees, err)
		}
		k := min(batch, p.Trees-done)
		errs := make([]error, k)
		var wg sync.WaitGroup
		for t := done; t < done+k; t++ {
			wg.Go(func() {
				m.trees[t], errs[t-done] = fitTree(d, fill, index, p, t)
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return nil, fmt.Errorf("forest: %w", err)
		}
		done += k
		lg.Debug("forest: trees fitted", "done", done, "of", p.Trees)
	}
	m.base = m.rootMean()
	return m, nil
}

// fitTree draws tree t's bootstrap sample and feature subset from its own
// generator PCG(p.Seed, t), fits one golearn ID3 tree on them with
// [splitRule], and converts it.
func fitTree(d *model.Dataset, fill []float64, index map[string]int, p Params, t int) ([]node, error) {
	r := rand.New(rand.NewPCG(p.Seed, uint64(t)))
	cols := r.Perm(len(d.Names))[:p.FeaturesPerTree]
	slices.Sort(cols)
	rows := make([]int, d.Rows())
	for i := range rows {
		rows[i] = r.IntN(len(rows))
	}
	inst, late, err := toInstances(d, fill, cols, rows)
	if err != nil {
		return nil, fmt.Errorf("tree %d: building golearn instances: %w", t, err)
	}
	tree := trees.NewID3DecisionTreeFromRule(0, splitRule{late: late})
	if err := fitTree1(tree, inst); err != nil {
		return nil, fmt.Errorf("tree %d: golearn fit: %w", t, err)
	}
	if tree.Root == nil {
		return nil, fmt.Errorf("tree %d: golearn returned no tree", t)
	}
	nodes, err := convert(tree.Root, index)
	if err != nil {
		return nil, fmt.Errorf("tree %d: converting: %w", t, err)
	}
	return nodes, nil
}

// fitTree1 runs golearn's ID3DecisionTree.Fit, turning its panics into
// errors.
func fitTree1(tree *trees.ID3DecisionTree, inst base.FixedDataGrid) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("golearn panicked: %v", r)
		}
	}()
	return tree.Fit(inst)
}

// padName names the constant attribute toInstances adds to every tree's
// instances. golearn's InferID3Tree stops splitting when a node has two
// attributes left (one feature and the class), so without it a tree never
// uses the last of its features on a path, and a one-feature tree never
// splits. The padding is constant, so splitRule never picks it.
const padName = "\x00golearn-id3-padding"

// toInstances materialises rows (a bootstrap sample: row indices of d, with
// repeats) of the feature columns cols as golearn instances, NaN replaced by
// fill, plus the padding attribute and the class attribute "late". It
// returns the class system value that means late ("1").
func toInstances(d *model.Dataset, fill []float64, cols, rows []int) (*base.DenseInstances, []byte, error) {
	inst := base.NewDenseInstances()
	specs := make([]base.AttributeSpec, len(cols))
	for k, j := range cols {
		specs[k] = inst.AddAttribute(base.NewFloatAttribute(d.Names[j]))
	}
	padSpec := inst.AddAttribute(base.NewFloatAttribute(padName))
	class := base.NewCategoricalAttribute()
	class.SetName("late")
	classSpec := inst.AddAttribute(class)
	if err := inst.AddClassAttribute(class); err != nil {
		return nil, nil, err
	}
	if err := inst.Extend(len(rows)); err != nil {
		return nil, nil, err
	}
	late, onTime := class.GetSysValFromString("1"), class.GetSysValFromString("0")
	zero := base.PackFloatToBytes(0)
	for i, src := range rows {
		for k, j := range cols {
			v := d.X[j][src]
			if math.IsNaN(v) {
				v = fill[j]
			}
			inst.Set(specs[k], i, base.PackFloatToBytes(v))
		}
		inst.Set(padSpec, i, zero)
		if d.Y[src] == 1 {
			inst.Set(classSpec, i, late)
		} else {
			inst.Set(classSpec, i, onTime)
		}
	}
	return inst, late, nil
}

// splitRule is the trees.RuleGenerator of every tree: among the node's
// numeric attributes it picks the (attribute, threshold) of least
// conditional class entropy H(late | x ≤ t) — equivalently the largest
// information gain — over every threshold t halfway between two adjacent
// distinct values, so both sides are non-empty and rows equal to a value
// stay on one side. Ties go to the first attribute (in column order) and
// the lowest threshold. It returns nil (the node becomes a leaf) when no
// attribute has two distinct values.
//
// It replaces golearn's InformationGainRuleGenerator, whose threshold scan
// (getNumericAttributeEntropy) advances its loop index both in the outer and
// the inner loop: on values with repeats it skips candidate thresholds and
// evaluates the partition x < v but returns threshold v, which the tree then
// applies as x ≤ v.
type splitRule struct {
	late []byte // class system value of a late row
}

type labelled struct {
	x    float64
	late bool
}

// GenerateSplitRule implements trees.RuleGenerator.
func (r splitRule) GenerateSplitRule(f base.FixedDataGrid) *trees.DecisionTreeRule {
	classSpec, err := f.GetAttribute(f.AllClassAttributes()[0])
	if err != nil {
		panic(fmt.Sprintf("forest: class attribute: %v", err)) // recovered by fitTree1
	}
	var best *trees.DecisionTreeRule
	bestH := math.Inf(1)
	var obs []labelled
	for _, a := range base.NonClassAttributes(f) {
		fa, ok := a.(*base.FloatAttribute)
		if !ok {
			continue
		}
		spec, err := f.GetAttribute(fa)
		if err != nil {
			panic(fmt.Sprintf("forest: attribute %s: %v", fa.GetName(), err))
		}
		obs = obs[:0]
		// One pass reads value and class of the same row (MapOverRows).
		f.MapOverRows([]base.AttributeSpec{spec, classSpec}, func(row [][]byte, _ int) (bool, error) {
			obs = append(obs, labelled{base.UnpackBytesToFloat(row[0]), bytes.Equal(row[1], r.late)})
			return true, nil
		})
		if h, t, ok := bestThreshold(obs); ok && h < bestH {
			bestH, best = h, &trees.DecisionTreeRule{SplitAttr: fa, SplitVal: t}
		}
	}
	return best
}

// bestThreshold sorts obs by x and returns the least conditional entropy
// (bits) over splits x ≤ t between adjacent distinct values, and that t;
// ok is false when all x are equal.
func bestThreshold(obs []labelled) (h, t float64, ok bool) {
	slices.SortFunc(obs, func(a, b labelled) int { return cmp.Compare(a.x, b.x) })
	n, lateAll := len(obs), 0
	for _, o := range obs {
		if o.late {
			lateAll++
		}
	}
	h = math.Inf(1)
	nl, lateL := 0, 0
	for i := 0; i < n-1; i++ {
		nl++
		if obs[i].late {
			lateL++
		}
		a, b := obs[i].x, obs[i+1].x
		if a == b {
			continue
		}
		nr, lateR := n-nl, lateAll-lateL
		hs := (float64(nl)*entropy(lateL, nl) + float64(nr)*entropy(lateR, nr)) / float64(n)
		if hs < h {
			h, ok = hs, true
			if t = a + (b-a)/2; t >= b { // adjacent floats: keep b on the right
				t = a
			}
		}
	}
	return h, t, ok
}

// entropy is the binary entropy in bits of k late rows among n > 0.
func entropy(k, n int) float64 {
	if k == 0 || k == n {
		return 0
	}
	p := float64(k) / float64(n)
	return -p*math.Log2(p) - (1-p)*math.Log2(1-p)
}

// convert flattens a golearn ID3 tree (float splits: child "0" for
// x ≤ SplitVal, "1" for x > SplitVal) into nodes, depth first, left first.
// A split with a single child routes both sides to it, as golearn does.
func convert(root *trees.DecisionTreeNode, index map[string]int) ([]node, error) {
	var nodes []node
	var walk func(t *trees.DecisionTreeNode) (int32, error)
	walk = func(t *trees.DecisionTreeNode) (int32, error) {
		id := int32(len(nodes))
		nodes = append(nodes, node{Feature: -1, Late: t.ClassDist["1"], OnTime: t.ClassDist["0"]})
		if len(t.Children) == 0 || t.SplitRule == nil || t.SplitRule.SplitAttr == nil {
			return id, nil
		}
		j, ok := index[t.SplitRule.SplitAttr.GetName()]
		if !ok {
			return 0, fmt.Errorf("split on unknown attribute %q", t.SplitRule.SplitAttr.GetName())
		}
		if _, isFloat := t.SplitRule.SplitAttr.(*base.FloatAttribute); !isFloat {
			return 0, fmt.Errorf("split on non-numeric attribute %q", t.SplitRule.SplitAttr.GetName())
		}
		left, right := t.Children["0"], t.Children["1"]
		if left == nil {
			left = right
		}
		if right == nil {
			right = left
		}
		if left == nil {
			return 0, fmt.Errorf("node splitting on %q has children %v but no \"0\"/\"1\"", t.SplitRule.SplitAttr.GetName(), slices.Sorted(maps.Keys(t.Children)))
		}
		l, err := walk(left)
		if err != nil {
			return 0, err
		}
		r := l
		if right != left {
			if r, err = walk(right); err != nil {
				return 0, err
			}
		}
		nodes[id].Feature, nodes[id].Threshold, nodes[id].Left, nodes[id].Right = j, t.SplitRule.SplitVal, l, r
		return id, nil
	}
	if _, err := walk(root); err != nil {
		return nil, err
	}
	return nodes, nil
}

func (m *Model) rootMean() float64 {
	s := 0.0
	for _, t := range m.trees {
		s += t[0].freq()
	}
	return s / float64(len(m.trees))
}

// Kind implements model.Predictor.
func (m *Model) Kind() string { return Kind }

// Features implements model.Predictor.
func (m *Model) Features() []string { return m.names }

// Params returns the fitting parameters.
func (m *Model) Params() any { return m.params }

// Trees returns the number of trees.
func (m *Model) Trees() int { return len(m.trees) }

func (m *Model) value(row []float64, j int) float64 {
	if v := row[j]; !math.IsNaN(v) {
		return v
	}
	return m.fill[j]
}

// leaf walks tree t for row and returns the leaf index.
func (m *Model) leaf(t []node, row []float64) int32 {
	i := int32(0)
	for t[i].Feature >= 0 {
		n := t[i]
		if m.value(row, n.Feature) <= n.Threshold {
			i = n.Left
		} else {
			i = n.Right
		}
	}
	return i
}

// PredictProba returns the mean over trees of the leaf's late frequency.
func (m *Model) PredictProba(row []float64) float64 {
	model.PanicOnBadRow(Kind, row, len(m.names))
	s := 0.0
	for _, t := range m.trees {
		s += t[m.leaf(t, row)].freq()
	}
	return s / float64(len(m.trees))
}

// PredictBatch scores column-major X into out.
func (m *Model) PredictBatch(X [][]float64, out []float64) error {
	n, err := model.CheckColumns(m.names, X)
	if err != nil {
		return fmt.Errorf("forest: %w", err)
	}
	if len(out) != n {
		return fmt.Errorf("forest: %w: out has %d entries for %d rows", model.ErrInvalidData, len(out), n)
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

// Explain returns the top-k Saabas contributions in probability units:
// PredictProba(row) = Base() + Σ_j contribution_j.
func (m *Model) Explain(row []float64, k int) []model.Reason {
	model.PanicOnBadRow(Kind, row, len(m.names))
	contrib := make([]float64, len(m.names))
	for _, t := range m.trees {
		i := int32(0)
		for t[i].Feature >= 0 {
			n := t[i]
			next := n.Right
			if m.value(row, n.Feature) <= n.Threshold {
				next = n.Left
			}
			contrib[n.Feature] += t[next].freq() - n.freq()
			i = next
		}
	}
	rs := make([]model.Reason, len(row))
	for j, x := range row {
		c := contrib[j] / float64(len(m.trees))
		rs[j] = model.Reason{Feature: m.names[j], Value: x, Contribution: c, Direction: model.DirectionOf(c)}
	}
	return model.TopReasons(rs, k)
}

// Base returns the mean root late frequency, the starting point of Explain.
func (m *Model) Base() float64 { return m.base }

type payload struct {
	Features []string  `json:"features"`
	Fill     []float64 `json:"fill"`
	Params   Params    `json:"params"`
	Trees    [][]node  `json:"trees"`
}

// MarshalPayload encodes the converted trees as JSON (deterministic).
func (m *Model) MarshalPayload() ([]byte, error) {
	return json.Marshal(payload{Features: m.names, Fill: m.fill, Params: m.params, Trees: m.trees})
}

// Decode parses and validates a payload written by MarshalPayload.
func Decode(b []byte) (*Model, error) {
	var p payload
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("forest payload: %w", err)
	}
	nf := len(p.Features)
	if nf == 0 || len(p.Fill) != nf {
		return nil, fmt.Errorf("forest payload: %d features but %d fill values", nf, len(p.Fill))
	}
	if len(p.Trees) == 0 {
		return nil, errors.New("forest payload: no trees")
	}
	for ti, t := range p.Trees {
		if len(t) == 0 {
			return nil, fmt.Errorf("forest payload: tree %d is empty", ti)
		}
		for ni, n := range t {
			if n.Feature < -1 || n.Feature >= nf || n.Late < 0 || n.OnTime < 0 {
				return nil, fmt.Errorf("forest payload: tree %d node %d is malformed", ti, ni)
			}
			// Children must come later in depth-first order: no cycles.
			if n.Feature >= 0 && (n.Left <= int32(ni) || n.Right <= int32(ni) || int(n.Left) >= len(t) || int(n.Right) >= len(t)) {
				return nil, fmt.Errorf("forest payload: tree %d node %d has invalid children %d, %d", ti, ni, n.Left, n.Right)
			}
		}
	}
	m := &Model{names: p.Features, fill: p.Fill, trees: p.Trees, params: p.Params}
	m.base = m.rootMean()
	return m, nil
}
