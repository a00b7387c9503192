package gbdt

import (
	"container/heap"
	"math"
	"math/rand/v2"
)

const (
	// rtEps is XGBoost's kRtEps: a split must reduce the loss by more.
	rtEps = 1e-6
	// minBlockRows and maxBlocks fix how a node's rows are cut into
	// histogram blocks: blocks of max(minBlockRows, ⌈n/maxBlocks⌉) rows.
	// The layout depends on n only, never on the number of threads, so the
	// floating-point summation order — and the model — is reproducible.
	minBlockRows = 8192
	maxBlocks    = 16
	// evalChunk is the number of features one split-evaluation task scans.
	evalChunk = 8
)

// gradPair is a first- and second-order gradient (or a sum of them).
type gradPair struct{ g, h float64 }

// split is the best split found for a node.
type split struct {
	lossChg float64 // loss change (see package doc); -Inf if none
	feat    int32
	bin     int32 // rows with bin code ≤ bin go left; missing goes by defLeft
	defLeft bool
	left    gradPair // child sums
	right   gradPair
}

// tnode is a node of the tree being grown.
type tnode struct {
	begin, end   int32 // rows[begin:end] are the node's rows
	sum          gradPair
	depth        int32
	lower, upper float64 // monotone bounds on the (unscaled) weight
	weight       float64 // optimal weight, clamped to [lower, upper]
	hist         []gradPair
	feats        []int32 // features this node may split on (nil = all)
	split        split
	left         int32 // index of the left child (right = left+1); -1 for a leaf
}

// grower grows one tree at a time over a binned training matrix. Its
// buffers are reused across trees.
type grower struct {
	p           *Params
	bm          *binMapper
	bins        []uint8 // row-major n×F bin codes
	cols        []uint8 // the same codes column-major (F×n)
	nf          int
	workers     int
	mono        []int8
	constrained bool

	gpair   []gradPair // gradients of the tree being grown, one per row
	rows    []int32    // sampled rows, partitioned in place by node
	scratch []int32    // partition buffer, same positions as rows
	flags   []uint8    // partition: 1 if the row at this position goes left
	ptasks  []partitionTask

	nodes     []tnode
	free      [][]gradPair
	treeFeats []int32 // features allowed in the current tree (sorted)
	allFeats  []int32
	rng       *rand.Rand
}

func newGrower(p *Params, bm *binMapper, bins, cols []uint8, n int) *grower {
	g := &grower{
		p:       p,
		bm:      bm,
		bins:    bins,
		cols:    cols,
		nf:      bm.numFeatures(),
		workers: threads(p.NThread),
		gpair:   make([]gradPair, n),
		rows:    make([]int32, 0, n),
		scratch: make([]int32, n),
		flags:   make([]uint8, n),
	}
	if hasNonZero(p.MonotoneConstraints) {
		g.mono = make([]int8, g.nf)
		for j, c := range p.MonotoneConstraints {
			g.mono[j] = int8(c)
		}
		g.constrained = true
	}
	g.allFeats = make([]int32, g.nf)
	for j := range g.allFeats {
		g.allFeats[j] = int32(j)
	}
	return g
}

// getHist returns a histogram buffer (contents unspecified).
func (g *grower) getHist() []gradPair {
	if n := len(g.free); n > 0 {
		h := g.free[n-1]
		g.free = g.free[:n-1]
		return h
	}
	return make([]gradPair, g.bm.totalBins())
}

func (g *grower) putHist(h []gradPair) {
	if h != nil {
		g.free = append(g.free, h)
	}
}

// thresholdL1 is T(G) = sign(G)·max(|G|-α, 0).
func thresholdL1(G, alpha float64) float64 {
	switch {
	case G > alpha:
		return G - alpha
	case G < -alpha:
		return G + alpha
	}
	return 0
}

// weightOf returns w = -T(G)/(H+λ) clamped to [lo, hi].
func (g *grower) weightOf(s gradPair, lo, hi float64) float64 {
	w := -thresholdL1(s.g, g.p.Alpha) / (s.h + g.p.Lambda)
	return min(max(w, lo), hi)
}

// gainGivenWeight is -2·(G·w + ½(H+λ)w² + α|w|): twice the decrease of the
// regularised objective achieved by weight w. At the unclamped optimum it
// equals T(G)²/(H+λ).
func (g *grower) gainGivenWeight(s gradPair, w float64) float64 {
	return -(2*s.g*w + (s.h+g.p.Lambda)*w*w + 2*g.p.Alpha*math.Abs(w))
}

// nodeGain is the gain of keeping node stats s as one leaf.
func (g *grower) nodeGain(s gradPair, lo, hi float64) float64 {
	if s.h <= 0 {
		return 0
	}
	if !g.constrained {
		t := thresholdL1(s.g, g.p.Alpha)
		return t * t / (s.h + g.p.Lambda)
	}
	return g.gainGivenWeight(s, g.weightOf(s, lo, hi))
}

// canSplit reports whether a node may be split at all.
func (g *grower) canSplit(nd *tnode) bool {
	if g.p.MaxDepth > 0 && int(nd.depth) >= g.p.MaxDepth {
		return false
	}
	return nd.sum.h >= 2*g.p.MinChildWeight && nd.sum.h > 0 && nd.end-nd.begin >= 2
}

// splitValid reports whether nd's best split should be applied.
func (g *grower) splitValid(nd *tnode) bool {
	s := &nd.split
	return s.lossChg > rtEps && s.lossChg >= g.p.Gamma && s.left.h > 0 && s.right.h > 0
}

// growTree grows one tree on g.gpair over the sampled rows already in
// g.rows and returns its nodes (g.nodes, reused by the next call).
func (g *grower) growTree(rng *rand.Rand) []tnode {
	g.rng = rng
	g.sampleTreeFeatures()
	g.nodes = g.nodes[:0]
	root := tnode{begin: 0, end: int32(len(g.rows)), lower: math.Inf(-1), upper: math.Inf(1), left: -1}
	root.sum = g.sumRows(g.rows)
	root.weight = g.weightOf(root.sum, root.lower, root.upper)
	root.split.lossChg = math.Inf(-1)
	g.nodes = append(g.nodes, root)
	if !g.canSplit(&g.nodes[0]) {
		return g.nodes
	}
	g.nodes[0].hist = g.getHist()
	g.nodes[0].feats = g.sampleNodeFeatures()
	g.buildHists([]int32{0})
	g.evaluate([]int32{0})
	if g.p.GrowPolicy == LossGuide {
		g.growLossGuide()
	} else {
		g.growDepthwise()
	}
	for i := range g.nodes {
		g.putHist(g.nodes[i].hist)
		g.nodes[i].hist = nil
	}
	return g.nodes
}

func (g *grower) growDepthwise() {
	frontier := []int32{0}
	leaves := 1
	var toSplit []int32
	for len(frontier) > 0 {
		toSplit = toSplit[:0]
		for _, id := range frontier {
			nd := &g.nodes[id]
			if nd.hist != nil && g.splitValid(nd) && (g.p.MaxLeaves == 0 || leaves < g.p.MaxLeaves) {
				toSplit = append(toSplit, id)
				leaves++
			} else {
				g.putHist(nd.hist)
				nd.hist = nil
			}
		}
		if len(toSplit) == 0 {
			return
		}
		frontier = g.expand(toSplit, leaves)
	}
}

// nodeHeap orders candidate nodes by loss change, then by creation order.
type nodeHeap struct {
	ids   []int32
	nodes *[]tnode
}

func (h nodeHeap) Len() int { return len(h.ids) }
func (h nodeHeap) Less(a, b int) bool {
	na, nb := &(*h.nodes)[h.ids[a]], &(*h.nodes)[h.ids[b]]
	if na.split.lossChg != nb.split.lossChg {
		return na.split.lossChg > nb.split.lossChg
	}
	return h.ids[a] < h.ids[b]
}
func (h nodeHeap) Swap(a, b int) { h.ids[a], h.ids[b] = h.ids[b], h.ids[a] }
func (h *nodeHeap) Push(x any)   { h.ids = append(h.ids, x.(int32)) }
func (h *nodeHeap) Pop() any {
	x := h.ids[len(h.ids)-1]
	h.ids = h.ids[:len(h.ids)-1]
	return x
}

func (g *grower) growLossGuide() {
	h := &nodeHeap{nodes: &g.nodes}
	if g.splitValid(&g.nodes[0]) {
		heap.Push(h, int32(0))
	}
	leaves := 1
	for h.Len() > 0 {
		if g.p.MaxLeaves > 0 && leaves >= g.p.MaxLeaves {
			break
		}
		id := heap.Pop(h).(int32)
		leaves++
		for _, c := range g.expand([]int32{id}, leaves) {
			if g.nodes[c].hist != nil && g.splitValid(&g.nodes[c]) {
				heap.Push(h, c)
			}
		}
	}
}

// expand splits the given nodes (whose best splits are valid), partitions
// their rows, builds the children's histograms where they may be split
// further and evaluates their best splits. It returns the children.
// leaves is the leaf count after these splits.
func (g *grower) expand(parents []int32, leaves int) []int32 {
	children := make([]int32, 0, 2*len(parents))
	for _, id := range parents {
		first := int32(len(g.nodes))
		nd := g.nodes[id]
		s := nd.split
		l := tnode{sum: s.left, depth: nd.depth + 1, lower: nd.lower, upper: nd.upper, left: -1}
		r := tnode{sum: s.right, depth: nd.depth + 1, lower: nd.lower, upper: nd.upper, left: -1}
		if g.constrained && g.mono[s.feat] != 0 {
			wl := g.weightOf(s.left, nd.lower, nd.upper)
			wr := g.weightOf(s.right, nd.lower, nd.upper)
			mid := (wl + wr) / 2
			if g.mono[s.feat] > 0 {
				l.upper, r.lower = mid, mid
			} else {
				l.lower, r.upper = mid, mid
			}
		}
		l.weight = g.weightOf(l.sum, l.lower, l.upper)
		r.weight = g.weightOf(r.sum, r.lower, r.upper)
		l.split.lossChg, r.split.lossChg = math.Inf(-1), math.Inf(-1)
		g.nodes[id].left = first
		g.nodes = append(g.nodes, l, r)
		children = append(children, first, first+1)
	}
	g.partition(parents)

	// Decide which children get a histogram: those that may split again.
	// The smaller child is built from its rows; its sibling is derived in
	// place in the parent's buffer as parent − smaller.
	budget := g.p.MaxLeaves == 0 || leaves < g.p.MaxLeaves
	var pairs []histPair
	var build []int32
	for _, id := range parents {
		li := g.nodes[id].left
		lc, rc := &g.nodes[li], &g.nodes[li+1]
		if !(budget && (g.canSplit(lc) || g.canSplit(rc))) {
			g.putHist(g.nodes[id].hist)
			g.nodes[id].hist = nil
			continue
		}
		small, large := li, li+1
		if rc.end-rc.begin < lc.end-lc.begin {
			small, large = li+1, li
		}
		g.nodes[small].hist = g.getHist()
		g.nodes[large].hist = g.nodes[id].hist
		g.nodes[id].hist = nil
		pairs = append(pairs, histPair{small: small, large: large})
		build = append(build, small)
	}
	g.buildHists(build)
	g.subtract(pairs)
	// Drop histograms of children that will not split; sample features.
	var eval []int32
	for _, c := range children {
		nd := &g.nodes[c]
		if nd.hist == nil {
			continue
		}
		if !budget || !g.canSplit(nd) {
			g.putHist(nd.hist)
			nd.hist = nil
			continue
		}
		nd.feats = g.sampleNodeFeatures()
		eval = append(eval, c)
	}
	g.evaluate(eval)
	return children
}
