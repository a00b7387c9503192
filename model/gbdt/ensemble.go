package gbdt

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
)

// node is one node of the flattened scoring representation (16 bytes). An
// internal node sends row x left when x[f] < thr, right when x[f] ≥ thr,
// and — when x[f] is NaN — right if missRight is set, else left. Children
// are adjacent (right = left+1) and indices are absolute into
// Ensemble.nodes. A leaf points to itself with thr = NaN, so that stepping
// from a leaf stays on it, and a tree of depth D is evaluated in exactly D
// branch-free steps.
//
// col = 2f + missRight addresses the batch scorer's doubled rows, which
// hold every value twice, NaN replaced by −∞ in the first copy and by +∞ in
// the second. A missing value then needs no test of its own:
//
//	next = left + (xx[col] ≥ thr)
//
// (−∞ ≥ thr is false: missing goes left; +∞ ≥ thr is true: right).
type node struct {
	thr float64 // split threshold; NaN for a leaf
	col int32   // 2·feature + missRight; 0 for a leaf
	lc  int32   // left child; a leaf: itself
}

func (n *node) left() int32     { return n.lc }
func (n *node) feature() int32  { return n.col >> 1 }
func (n *node) missRight() bool { return n.col&1 != 0 }

// next returns the child that value v goes to (a leaf returns itself):
// v ≥ thr is false for NaN and !(v < thr) is true for NaN; they differ only
// there, and missRight picks between them.
func (n *node) next(v float64) int32 {
	return n.lc + int32(b2u(v >= n.thr)|(b2u(!(v < n.thr))&uint32(n.col&1)))
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// splitNode builds an internal node. threshold must not be NaN or −∞ (a
// −∞ threshold would send a doubled NaN right whatever missRight says);
// training never produces one and decoders reject them.
func splitNode(feat int32, threshold float64, left int32, missRight bool) node {
	return node{thr: threshold, col: 2*feat + int32(b2u(missRight)), lc: left}
}

// leafNode builds the leaf stored at index self.
func leafNode(self int32) node { return node{thr: math.NaN(), lc: self} }

// Ensemble is a trained (or imported) tree ensemble. Obtain one from Train,
// ImportXGBoostJSON or UnmarshalBinary (the zero value has no features and
// no trees). It is immutable after construction and safe for concurrent
// use.
type Ensemble struct {
	objective    Objective
	numClass     int // K for multi:softprob, else 0
	numFeature   int
	featureNames []string
	base         []float64 // initial margin per output

	nodes  []node
	values []float64 // per node: output of a leaf (0 for an internal node)
	cover  []float64 // per node: hessian sum of the training rows reaching it
	gain   []float64 // per node: loss change of its split (0 for a leaf)
	roots  []int32   // first node of each tree; tree t spans nodes[roots[t]:roots[t+1]]
	group  []int32   // output index of each tree
	depth  []int32   // depth of each tree's deepest leaf (a lone root: 0)
	means  []float64 // per node: cover-weighted mean output below it (TreeSHAP)

	maxDepth int // max of depth

	// Training record.
	metric        Metric
	history       []float64 // validation metric per round (nil without validation)
	bestIteration int       // 0-based round of the best validation score; -1 if none
}

// Objective returns the objective the ensemble was trained for.
func (e *Ensemble) Objective() Objective { return e.objective }

// NumFeatures returns the number of input features a row must have.
func (e *Ensemble) NumFeatures() int { return e.numFeature }

// NumOutputs returns the number of values per row: K for multi:softprob,
// else 1.
func (e *Ensemble) NumOutputs() int { return len(e.base) }

// NumClass returns K for multi:softprob and 0 otherwise.
func (e *Ensemble) NumClass() int { return e.numClass }

// NumTrees returns the number of trees (rounds × outputs).
func (e *Ensemble) NumTrees() int { return len(e.roots) }

// NumRounds returns the number of boosting rounds kept.
func (e *Ensemble) NumRounds() int {
	if len(e.base) == 0 {
		return 0 // zero Ensemble
	}
	return len(e.roots) / len(e.base)
}

// FeatureNames returns a copy of the feature names (nil if none were given).
func (e *Ensemble) FeatureNames() []string { return slices.Clone(e.featureNames) }

// BaseMargins returns a copy of the initial margin of every output.
func (e *Ensemble) BaseMargins() []float64 { return slices.Clone(e.base) }

// BestIteration returns the 0-based round with the best validation metric,
// or -1 when the model was trained without a validation set (or imported).
// With early stopping the ensemble holds rounds 0…BestIteration only.
func (e *Ensemble) BestIteration() int { return e.bestIteration }

// EvalHistory returns the validation metric's name and its value after
// every round trained (including rounds dropped by early stopping).
func (e *Ensemble) EvalHistory() (Metric, []float64) { return e.metric, slices.Clone(e.history) }

// treeEnd returns one past the last node of tree t.
func (e *Ensemble) treeEnd(t int) int32 {
	if t+1 < len(e.roots) {
		return e.roots[t+1]
	}
	return int32(len(e.nodes))
}

// isLeaf reports whether node i is a leaf.
func (e *Ensemble) isLeaf(i int32) bool { return e.nodes[i].left() == i }

// leafIndex walks tree t for row and returns the index of its leaf.
func (e *Ensemble) leafIndex(t int, row []float64) int32 {
	nodes := e.nodes
	j := e.roots[t]
	for range e.depth[t] {
		nd := &nodes[j]
		j = nd.next(row[nd.col>>1])
	}
	return j
}

// ErrRowLength is returned (wrapped) when a row does not have NumFeatures
// values.
var ErrRowLength = errors.New("gbdt: wrong number of features in row")

func (e *Ensemble) checkRow(row []float64) error {
	if len(row) != e.numFeature {
		return fmt.Errorf("%w: got %d values, the model has %d features", ErrRowLength, len(row), e.numFeature)
	}
	return nil
}

// PredictRaw appends the NumOutputs margins of row (base margin plus the sum
// of the tree outputs of each output) to dst[:0] and returns it. Reusing
// dst makes the call allocation-free.
func (e *Ensemble) PredictRaw(dst, row []float64) ([]float64, error) {
	if err := e.checkRow(row); err != nil {
		return dst[:0], err
	}
	dst = append(dst[:0], e.base...)
	var stack [256]float64 // doubled rows of up to 128 features stay off the heap
	xx := stack[:0]
	if 2*len(row) > len(stack) {
		xx = make([]float64, 0, 2*len(row))
	}
	for _, v := range row {
		lo, hi := doubled(v)
		xx = append(xx, lo, hi)
	}
	e.rowMargins(dst, xx)
	return dst, nil
}

// treeGroup is the number of trees one row walks in lockstep.
const treeGroup = 8

// rowMargins adds every tree's output for one doubled row xx to dst. Trees
// are walked treeGroup at a time, one level per step, so that their
// independent walks overlap; outputs are added in tree order.
func (e *Ensemble) rowMargins(dst, xx []float64) {
	nodes, values := e.nodes, e.values
	var idx [treeGroup]int32
	for t0 := 0; t0 < len(e.roots); t0 += treeGroup {
		cnt := min(treeGroup, len(e.roots)-t0)
		depth := int32(0)
		for k := range cnt {
			idx[k] = e.roots[t0+k]
			depth = max(depth, e.depth[t0+k])
		}
		for range depth {
			for k := range cnt {
				nd := &nodes[idx[k]]
				idx[k] = nd.lc + int32(b2u(xx[nd.col] >= nd.thr))
			}
		}
		for k := range cnt {
			dst[e.group[t0+k]] += values[idx[k]]
		}
	}
}

// Predict appends the prediction of row to dst[:0]: the probability of the
// positive class for binary:logistic, the K class probabilities for
// multi:softprob, the regression value for reg:squarederror.
func (e *Ensemble) Predict(dst, row []float64) ([]float64, error) {
	dst, err := e.PredictRaw(dst, row)
	if err != nil {
		return dst, err
	}
	transformInto(e.objective, dst, dst)
	return dst, nil
}

// PredictOptions tunes batch prediction.
type PredictOptions struct {
	// Raw returns margins instead of probabilities / values.
	Raw bool
	// Threads is the number of worker goroutines; ≤ 0 means GOMAXPROCS.
	// Results do not depend on it.
	Threads int
}

// predictBlock is the number of rows scored together: every tree is applied
// to the whole block before the next, keeping its nodes in cache.
const predictBlock = 32

// PredictColumns scores a column-major batch (X[j][i] = feature j of row i)
// and appends n×NumOutputs values to dst[:0], row by row (row i's outputs
// at [i·K, (i+1)·K)).
func (e *Ensemble) PredictColumns(dst []float64, X [][]float64, opt PredictOptions) ([]float64, error) {
	if len(X) != e.numFeature {
		return dst[:0], fmt.Errorf("%w: batch has %d columns, the model has %d features", ErrRowLength, len(X), e.numFeature)
	}
	n := 0
	if len(X) > 0 {
		n = len(X[0])
	}
	for j, col := range X {
		if len(col) != n {
			return dst[:0], fmt.Errorf("gbdt: predict: column %d has %d rows, column 0 has %d", j, len(col), n)
		}
	}
	return e.predictBatch(dst, n, opt, func(buf []float64, lo, hi int) {
		F2 := 2 * e.numFeature
		for j, col := range X {
			for i := lo; i < hi; i++ {
				lo2, hi2 := doubled(col[i])
				buf[(i-lo)*F2+2*j] = lo2
				buf[(i-lo)*F2+2*j+1] = hi2
			}
		}
	})
}

// PredictRows scores a row-major batch (X[i] = row i) and appends
// n×NumOutputs values to dst[:0] as PredictColumns does.
func (e *Ensemble) PredictRows(dst []float64, X [][]float64, opt PredictOptions) ([]float64, error) {
	for i, row := range X {
		if err := e.checkRow(row); err != nil {
			return dst[:0], fmt.Errorf("row %d: %w", i, err)
		}
	}
	return e.predictBatch(dst, len(X), opt, func(buf []float64, lo, hi int) {
		F2 := 2 * e.numFeature
		for i := lo; i < hi; i++ {
			out := buf[(i-lo)*F2 : (i-lo+1)*F2]
			for j, v := range X[i] {
				out[2*j], out[2*j+1] = doubled(v)
			}
		}
	})
}

// doubled returns the two copies of v in a batch row: (v, v), or (−∞, +∞)
// for NaN (see node).
func doubled(v float64) (float64, float64) {
	if v != v {
		return math.Inf(-1), math.Inf(1)
	}
	return v, v
}

// predictBatch scores n rows in blocks of predictBlock rows; load writes
// rows [lo,hi) into buf as doubled rows (2F values each, see node). Workers
// take blocks from a shared counter, so a descheduled worker does not hold
// up the others; each row's sum runs over the trees in order, so the result
// does not depend on which worker scored it.
func (e *Ensemble) predictBatch(dst []float64, n int, opt PredictOptions, load func(buf []float64, lo, hi int)) ([]float64, error) {
	K := len(e.base)
	dst = slices.Grow(dst[:0], n*K)[:n*K]
	blocks := (n + predictBlock - 1) / predictBlock
	workers := max(min(threads(opt.Threads), blocks), 1)
	var next atomic.Int64
	run := func() {
		rows := make([]float64, predictBlock*2*e.numFeature)
		idx := make([]int32, predictBlock)
		for {
			b := int(next.Add(1) - 1)
			if b >= blocks {
				return
			}
			lo := b * predictBlock
			hi := min(lo+predictBlock, n)
			load(rows, lo, hi)
			out := dst[lo*K : hi*K]
			e.scoreBlock(out, rows, idx[:hi-lo])
			if !opt.Raw {
				for i := 0; i < hi-lo; i++ {
					transformInto(e.objective, out[i*K:(i+1)*K], out[i*K:(i+1)*K])
				}
			}
		}
	}
	if workers == 1 {
		run()
		return dst, nil
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(run)
	}
	wg.Wait()
	return dst, nil
}

// scoreBlock writes the margins of len(idx) doubled rows into out. For
// each tree all rows advance one level at a time: the rows' walks are
// independent, so the CPU overlaps them instead of waiting on each load.
func (e *Ensemble) scoreBlock(out, rows []float64, idx []int32) {
	K := len(e.base)
	F2 := 2 * e.numFeature
	m := len(idx)
	for i := range m {
		copy(out[i*K:(i+1)*K], e.base)
	}
	nodes, values := e.nodes, e.values
	rows = rows[:m*F2]
	for t, root := range e.roots {
		g := int(e.group[t])
		for i := range idx {
			idx[i] = root
		}
		for range e.depth[t] {
			stepLevel(nodes, rows, idx, F2)
		}
		for i, j := range idx {
			out[i*K+g] += values[j]
		}
	}
}

// stepLevel advances every row of a block of doubled rows (stride F2) one
// level down its tree.
func stepLevel(nodes []node, rows []float64, idx []int32, F2 int) {
	o := 0
	for i, j := range idx {
		nd := &nodes[j]
		idx[i] = nd.lc + int32(b2u(rows[o+int(nd.col)] >= nd.thr))
		o += F2
	}
}
