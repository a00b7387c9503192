package gbdt

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// binRowBlock is the number of rows binned per task (a block's output,
// binRowBlock×F bytes, stays in cache while columns are scanned).
const binRowBlock = 2048

// buildBins computes every feature's cuts (one task per feature) and the
// n×F matrix of bin codes (one task per row block), both row-major (for
// histograms: a row's codes share a cache line) and column-major (for
// partitioning: one feature's codes are contiguous).
func buildBins(d *Dataset, maxBin, workers int) (*binMapper, []uint8, []uint8) {
	F, n := d.NumFeatures(), d.NumRows()
	bm := &binMapper{
		cuts:       make([][]float64, F),
		nbins:      make([]int, F),
		hasMissing: make([]bool, F),
		off:        make([]int32, F+1),
	}
	parallelFor(workers, F, func(j int) {
		cuts, miss := featureCuts(d.X[j], d.Weight, maxBin)
		bm.cuts[j], bm.hasMissing[j] = cuts, miss
		bm.nbins[j] = len(cuts)
	})
	for j := range F {
		bm.off[j+1] = bm.off[j] + int32(bm.nbins[j]) + 1
	}
	bins := make([]uint8, n*F)
	cols := make([]uint8, n*F)
	blocks := (n + binRowBlock - 1) / binRowBlock
	parallelFor(workers, blocks, func(b int) {
		lo, hi := b*binRowBlock, min((b+1)*binRowBlock, n)
		for j := range F {
			// Only stored when the feature has missing values (≤ 255 bins).
			binColumn(bins[lo*F+j:], F, d.X[j][lo:hi], bm.cuts[j], uint8(bm.nbins[j]))
			for i := lo; i < hi; i++ {
				cols[j*n+i] = bins[i*F+j]
			}
		}
	})
	return bm, bins, cols
}

// binColumn writes the bin code of every value of col to dst[i*stride]:
// upperBound(cuts, v), or miss for NaN. Four values are searched in
// lockstep with branch-free steps so that their loads overlap.
func binColumn(dst []uint8, stride int, col, cuts []float64, miss uint8) {
	n := len(cuts)
	i := 0
	for ; i+4 <= len(col); i += 4 {
		v0, v1, v2, v3 := col[i], col[i+1], col[i+2], col[i+3]
		l0, l1, l2, l3 := 0, 0, 0, 0
		for m := n; m > 1; {
			half := m >> 1
			l0 += half & -b2i(cuts[l0+half-1] <= v0)
			l1 += half & -b2i(cuts[l1+half-1] <= v1)
			l2 += half & -b2i(cuts[l2+half-1] <= v2)
			l3 += half & -b2i(cuts[l3+half-1] <= v3)
			m -= half
		}
		dst[i*stride] = codeOf(l0, v0, miss)
		dst[(i+1)*stride] = codeOf(l1, v1, miss)
		dst[(i+2)*stride] = codeOf(l2, v2, miss)
		dst[(i+3)*stride] = codeOf(l3, v3, miss)
	}
	for ; i < len(col); i++ {
		v := col[i]
		dst[i*stride] = codeOf(upperBound(cuts, v), v, miss)
	}
}

func codeOf(bin int, v float64, miss uint8) uint8 {
	if v != v {
		return miss
	}
	return uint8(bin)
}

// Train fits an ensemble on train, monitoring valid (may be nil) after
// every round. It stops early when ctx is cancelled, returning ctx's error.
func Train(ctx context.Context, train Dataset, valid *Dataset, p Params) (*Ensemble, error) {
	start := time.Now()
	log := p.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	F := train.NumFeatures()
	if err := p.Validate(F); err != nil {
		return nil, err
	}
	if err := train.validate("train", &p); err != nil {
		return nil, err
	}
	if valid != nil {
		if err := valid.validate("valid", &p); err != nil {
			return nil, err
		}
		if valid.NumFeatures() != F {
			return nil, fmt.Errorf("gbdt: valid set has %d features, train set has %d", valid.NumFeatures(), F)
		}
	}
	if p.EarlyStoppingRounds > 0 && valid == nil {
		return nil, fmt.Errorf("gbdt: early_stopping_rounds=%d needs a validation set", p.EarlyStoppingRounds)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("gbdt: train: %w", err)
	}
	workers := threads(p.NThread)
	n, K := train.NumRows(), p.numOutputs()

	w := make([]float64, n)
	for i := range w {
		w[i] = train.weight(i)
		if p.Objective == BinaryLogistic && train.Y[i] == 1 {
			w[i] *= p.ScalePosWeight
		}
	}
	base, err := baseMargins(&p, train.Y, w)
	if err != nil {
		return nil, err
	}
	bm, bins, cols := buildBins(&train, p.MaxBin, workers)
	log.Debug("gbdt: binned training data", "rows", n, "features", F, "histogram_bins", bm.totalBins(), "elapsed", time.Since(start))

	e := &Ensemble{
		objective:     p.Objective,
		numFeature:    F,
		featureNames:  slices.Clone(train.FeatureNames),
		base:          base,
		metric:        p.metric(),
		bestIteration: -1,
	}
	if p.Objective == MultiSoftprob {
		e.numClass = p.NumClass
	}

	margin := make([]float64, n*K)
	for i := range n {
		copy(margin[i*K:(i+1)*K], base)
	}
	var vmargin, vrows []float64 // validation margins (nv×K) and rows (nv×F, row-major)
	if valid != nil {
		nv := valid.NumRows()
		vmargin = make([]float64, nv*K)
		vrows = make([]float64, nv*F)
		for i := range nv {
			copy(vmargin[i*K:(i+1)*K], base)
		}
		for j, col := range valid.X {
			for i, v := range col {
				vrows[i*F+j] = v
			}
		}
	}

	gr := newGrower(&p, bm, bins, cols, n)
	grads := make([]gradPair, n*K)
	sampled := make([]int32, 0, n)
	inSample := make([]bool, n)
	gradBlocks := (n + binRowBlock - 1) / binRowBlock
	probs := make([][]float64, gradBlocks)
	for b := range probs {
		probs[b] = make([]float64, K)
	}
	best, bestRound, sinceBest := math.NaN(), -1, 0
	higher := e.metric.higherIsBetter()

	for round := range p.NumRounds {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("gbdt: train: stopped after %d of %d rounds: %w", round, p.NumRounds, err)
		}
		parallelFor(workers, gradBlocks, func(b int) {
			lo, hi := b*binRowBlock, min((b+1)*binRowBlock, n)
			computeGradients(p.Objective, K, train.Y, w, margin, grads, lo, hi, probs[b])
		})
		rng := rand.New(rand.NewPCG(p.Seed, uint64(round)))
		sampled = sampled[:0]
		for i := range n {
			keep := p.Subsample >= 1 || rng.Float64() < p.Subsample
			inSample[i] = keep
			if keep {
				sampled = append(sampled, int32(i))
			}
		}
		if len(sampled) == 0 {
			sampled = append(sampled, int32(rng.IntN(n)))
			inSample[sampled[0]] = true
		}
		for k := range K {
			gr.gpair = grads[k*n : (k+1)*n]
			gr.rows = append(gr.rows[:0], sampled...)
			tn := gr.growTree(rng)
			first := e.appendTree(tn, bm, p.Eta, k)
			// Update training margins: sampled rows through the leaf ranges,
			// the others by walking the tree on their bin codes.
			leaves := make([]int32, 0, len(tn))
			for i := range tn {
				if tn[i].left < 0 {
					leaves = append(leaves, int32(i))
				}
			}
			parallelFor(workers, len(leaves), func(li int) {
				nd := &tn[leaves[li]]
				v := e.values[first+leaves[li]]
				for _, r := range gr.rows[nd.begin:nd.end] {
					margin[int(r)*K+k] += v
				}
			})
			if len(sampled) < n {
				parallelFor(workers, gradBlocks, func(b int) {
					lo, hi := b*binRowBlock, min((b+1)*binRowBlock, n)
					for i := lo; i < hi; i++ {
						if !inSample[i] {
							margin[i*K+k] += e.values[first+binnedLeaf(tn, bm, cols, n, i)]
						}
					}
				})
			}
			if valid != nil {
				t := e.NumTrees() - 1
				for i := range valid.NumRows() {
					vmargin[i*K+k] += e.values[e.leafIndex(t, vrows[i*F:(i+1)*F])]
				}
			}
		}
		if valid != nil {
			score := evalMetric(e.metric, K, valid.Y, valid.Weight, vmargin)
			e.history = append(e.history, score)
			improved := bestRound < 0 || (higher && score > best) || (!higher && score < best)
			if improved {
				best, bestRound, sinceBest = score, round, 0
			} else {
				sinceBest++
			}
			log.Debug("gbdt: round", "round", round, "metric", string(e.metric), "value", score)
			if p.EarlyStoppingRounds > 0 && sinceBest >= p.EarlyStoppingRounds {
				log.Info("gbdt: early stopping", "round", round, "best_round", bestRound, "best", best)
				break
			}
		} else {
			log.Debug("gbdt: round", "round", round)
		}
	}
	if valid != nil {
		e.bestIteration = bestRound
		if p.EarlyStoppingRounds > 0 {
			e.truncate((bestRound + 1) * K)
		}
	}
	e.computeMeans()
	log.Info("gbdt: trained", "objective", string(p.Objective), "rows", n, "features", F,
		"trees", e.NumTrees(), "best_iteration", e.bestIteration, "elapsed", time.Since(start))
	return e, nil
}

// binnedLeaf walks a training tree on row i's bin codes (column-major,
// n rows) and returns the leaf's index within the tree.
func binnedLeaf(tn []tnode, bm *binMapper, cols []uint8, n, i int) int32 {
	j := int32(0)
	for tn[j].left >= 0 {
		s := &tn[j].split
		b := int(cols[int(s.feat)*n+i])
		switch {
		case b == bm.missCode(int(s.feat)):
			if s.defLeft {
				j = tn[j].left
			} else {
				j = tn[j].left + 1
			}
		case b <= int(s.bin):
			j = tn[j].left
		default:
			j = tn[j].left + 1
		}
	}
	return j
}

// appendTree converts a grown tree to scoring nodes (leaf value = η·w) and
// returns the index of its root.
func (e *Ensemble) appendTree(tn []tnode, bm *binMapper, eta float64, group int) int32 {
	first := int32(len(e.nodes))
	depth := make([]int32, len(tn))
	maxDepth := int32(0)
	for i := range tn {
		nd := &tn[i]
		self := first + int32(i)
		if nd.left < 0 {
			e.nodes = append(e.nodes, leafNode(self))
			e.values = append(e.values, eta*nd.weight)
			e.gain = append(e.gain, 0)
			maxDepth = max(maxDepth, depth[i])
		} else {
			s := &nd.split
			e.nodes = append(e.nodes, splitNode(s.feat, bm.cuts[s.feat][s.bin], first+nd.left, !s.defLeft))
			e.values = append(e.values, 0)
			e.gain = append(e.gain, s.lossChg)
			depth[nd.left], depth[nd.left+1] = depth[i]+1, depth[i]+1
		}
		e.cover = append(e.cover, nd.sum.h)
	}
	e.roots = append(e.roots, first)
	e.group = append(e.group, int32(group))
	e.depth = append(e.depth, maxDepth)
	e.maxDepth = max(e.maxDepth, int(maxDepth))
	return first
}

// truncate keeps the first t trees.
func (e *Ensemble) truncate(t int) {
	if t >= len(e.roots) {
		return
	}
	end := e.roots[t]
	e.nodes, e.values, e.cover, e.gain = e.nodes[:end], e.values[:end], e.cover[:end], e.gain[:end]
	e.roots, e.group, e.depth = e.roots[:t], e.group[:t], e.depth[:t]
	e.maxDepth = int(slices.Max(append([]int32{0}, e.depth...)))
}
