package gbdt

import (
	"errors"
	"fmt"
	"slices"
)

// node is one node of the flattened scoring representation (24 bytes). An
// internal node sends row x left when x[feat] < value, right when
// x[feat] ≥ value, and to miss when x[feat] is NaN. Children are adjacent:
// the right child is left+1. Indices are absolute into Ensemble.nodes.
type node struct {
	value float64 // split threshold (internal node) or output value (leaf)
	feat  int32   // split feature; -1 marks a leaf
	left  int32   // left child; right child = left+1
	miss  int32   // child taking missing values: left or left+1
}

// Ensemble is a trained (or imported) tree ensemble. It is immutable after
// construction and safe for concurrent use.
type Ensemble struct {
	objective    Objective
	numClass     int // K for multi:softprob, else 0
	numFeature   int
	featureNames []string
	base         []float64 // initial margin per output

	nodes []node
	cover []float64 // per node: hessian sum of the training rows reaching it
	gain  []float64 // per node: loss change of its split (0 for a leaf)
	roots []int32   // first node of each tree; tree t spans nodes[roots[t]:roots[t+1]]
	group []int32   // output index of each tree

	maxDepth int // deepest leaf over all trees (root depth 0)

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
func (e *Ensemble) NumRounds() int { return len(e.roots) / len(e.base) }

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

// leafValue walks one tree from root for row and returns the leaf value.
func (e *Ensemble) leafValue(root int32, row []float64) float64 {
	nodes := e.nodes
	i := root
	for {
		nd := &nodes[i]
		if nd.feat < 0 {
			return nd.value
		}
		v := row[nd.feat]
		switch {
		case v < nd.value:
			i = nd.left
		case v >= nd.value:
			i = nd.left + 1
		default:
			i = nd.miss
		}
	}
}

// leafIndex is leafValue returning the leaf's node index.
func (e *Ensemble) leafIndex(root int32, row []float64) int32 {
	nodes := e.nodes
	i := root
	for {
		nd := &nodes[i]
		if nd.feat < 0 {
			return i
		}
		v := row[nd.feat]
		switch {
		case v < nd.value:
			i = nd.left
		case v >= nd.value:
			i = nd.left + 1
		default:
			i = nd.miss
		}
	}
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
	for t, root := range e.roots {
		dst[e.group[t]] += e.leafValue(root, row)
	}
	return dst, nil
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
const predictBlock = 128

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
		F := e.numFeature
		for j, col := range X {
			for i := lo; i < hi; i++ {
				buf[(i-lo)*F+j] = col[i]
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
		F := e.numFeature
		for i := lo; i < hi; i++ {
			copy(buf[(i-lo)*F:(i-lo+1)*F], X[i])
		}
	})
}

// predictBatch scores n rows in blocks of predictBlock rows; load copies
// rows [lo,hi) row-major into buf.
func (e *Ensemble) predictBatch(dst []float64, n int, opt PredictOptions, load func(buf []float64, lo, hi int)) ([]float64, error) {
	K := len(e.base)
	dst = slices.Grow(dst[:0], n*K)[:n*K]
	blocks := (n + predictBlock - 1) / predictBlock
	workers := min(threads(opt.Threads), blocks)
	bufs := make([][]float64, max(workers, 1))
	for w := range bufs {
		bufs[w] = make([]float64, predictBlock*e.numFeature+K)
	}
	run := func(buf []float64, b int) {
		lo := b * predictBlock
		hi := min(lo+predictBlock, n)
		rows := buf[:predictBlock*e.numFeature]
		load(rows, lo, hi)
		out := dst[lo*K : hi*K]
		e.scoreBlock(out, rows, hi-lo)
		if !opt.Raw {
			for i := 0; i < hi-lo; i++ {
				transformInto(e.objective, out[i*K:(i+1)*K], out[i*K:(i+1)*K])
			}
		}
	}
	if workers <= 1 {
		for b := range blocks {
			run(bufs[0], b)
		}
		return dst, nil
	}
	// Static round-robin assignment: worker w scores blocks w, w+W, ….
	done := make(chan struct{}, workers)
	for w := range workers {
		go func() {
			for b := w; b < blocks; b += workers {
				run(bufs[w], b)
			}
			done <- struct{}{}
		}()
	}
	for range workers {
		<-done
	}
	return dst, nil
}

// scoreBlock writes the margins of m row-major rows into out (m×K).
func (e *Ensemble) scoreBlock(out, rows []float64, m int) {
	K := len(e.base)
	F := e.numFeature
	for i := range m {
		copy(out[i*K:(i+1)*K], e.base)
	}
	nodes := e.nodes
	for t, root := range e.roots {
		g := int(e.group[t])
		if nodes[root].feat < 0 {
			v := nodes[root].value
			for i := range m {
				out[i*K+g] += v
			}
			continue
		}
		for i := range m {
			row := rows[i*F : (i+1)*F]
			j := root
			for {
				nd := &nodes[j]
				if nd.feat < 0 {
					break
				}
				v := row[nd.feat]
				switch {
				case v < nd.value:
					j = nd.left
				case v >= nd.value:
					j = nd.left + 1
				default:
					j = nd.miss
				}
			}
			out[i*K+g] += nodes[j].value
		}
	}
}
