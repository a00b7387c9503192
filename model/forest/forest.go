package forest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"runtime"
	"slices"

	"github.com/sjwhitworth/golearn/base"
	"github.com/sjwhitworth/golearn/meta"
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
// progress messages (nil discards). ctx is checked between batches of trees.
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
	inst, attrs, err := toInstances(d, fill)
	if err != nil {
		return nil, fmt.Errorf("forest: building golearn instances: %w", err)
	}
	index := make(map[string]int, nf)
	for j, a := range attrs {
		index[a.GetName()] = j
	}
	m := &Model{names: slices.Clone(d.Names), fill: fill, params: p}
	batch := max(1, runtime.GOMAXPROCS(0))
	for done := 0; done < p.Trees; {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("forest: fit cancelled after %d of %d trees: %w", done, p.Trees, err)
		}
		k := min(batch, p.Trees-done)
		bag := &meta.BaggedModel{RandomFeatures: p.FeaturesPerTree}
		for range k {
			bag.AddModel(trees.NewID3DecisionTree(0))
		}
		if err := fitBag(bag, inst); err != nil {
			return nil, fmt.Errorf("forest: golearn fit: %w", err)
		}
		for _, c := range bag.Models {
			t, ok := c.(*trees.ID3DecisionTree)
			if !ok || t.Root == nil {
				return nil, fmt.Errorf("forest: golearn returned an unexpected tree %T", c)
			}
			nodes, err := convert(t.Root, index)
			if err != nil {
				return nil, fmt.Errorf("forest: converting tree %d: %w", len(m.trees), err)
			}
			m.trees = append(m.trees, nodes)
		}
		done += k
		lg.Debug("forest: trees fitted", "done", done, "of", p.Trees)
	}
	m.base = m.rootMean()
	return m, nil
}

// fitBag runs golearn's BaggedModel.Fit, turning its panics into errors.
func fitBag(bag *meta.BaggedModel, inst base.FixedDataGrid) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("golearn panicked: %v", r)
		}
	}()
	bag.Fit(inst)
	return nil
}

func toInstances(d *model.Dataset, fill []float64) (*base.DenseInstances, []*base.FloatAttribute, error) {
	inst := base.NewDenseInstances()
	attrs := make([]*base.FloatAttribute, len(d.Names))
	specs := make([]base.AttributeSpec, len(d.Names))
	for j, name := range d.Names {
		attrs[j] = base.NewFloatAttribute(name)
		specs[j] = inst.AddAttribute(attrs[j])
	}
	class := base.NewCategoricalAttribute()
	class.SetName("late")
	classSpec := inst.AddAttribute(class)
	if err := inst.AddClassAttribute(class); err != nil {
		return nil, nil, err
	}
	n := d.Rows()
	if err := inst.Extend(n); err != nil {
		return nil, nil, err
	}
	late, onTime := class.GetSysValFromString("1"), class.GetSysValFromString("0")
	for i := range n {
		for j, col := range d.X {
			v := col[i]
			if math.IsNaN(v) {
				v = fill[j]
			}
			inst.Set(specs[j], i, base.PackFloatToBytes(v))
		}
		if d.Y[i] == 1 {
			inst.Set(classSpec, i, late)
		} else {
			inst.Set(classSpec, i, onTime)
		}
	}
	return inst, attrs, nil
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
