package gbdt

import (
	"math"
	"slices"
	"unsafe"
)

// histPair is a sibling pair whose smaller child's histogram is built from
// rows and whose larger child's buffer still holds the parent's histogram.
type histPair struct{ small, large int32 }

// histTask accumulates rows[lo:hi] of one node into buf.
type histTask struct {
	node   int32
	lo, hi int32
	buf    []gradPair
}

// blockLayout returns the number and size of the row blocks of a node with
// n rows. It depends on n only (see minBlockRows).
func blockLayout(n int) (blocks, size int) {
	size = max(minBlockRows, (n+maxBlocks-1)/maxBlocks)
	return (n + size - 1) / size, size
}

// binChunk is the number of histogram slots one reduction task handles.
const binChunk = 2048

// buildHists fills the histograms of the given nodes (their hist buffers
// must be allocated) from their rows. Each node's rows are cut into fixed
// blocks (blockLayout); block 0 accumulates into the node's buffer, the
// others into partial buffers that are then added in block order.
func (g *grower) buildHists(ids []int32) {
	if len(ids) == 0 {
		return
	}
	var tasks []histTask
	type reduction struct {
		first int // index of the node's first task
		count int // its number of blocks
	}
	var reds []reduction
	for _, id := range ids {
		nd := &g.nodes[id]
		n := int(nd.end - nd.begin)
		nb, size := blockLayout(n)
		first := len(tasks)
		for b := range nb {
			lo := int(nd.begin) + b*size
			hi := min(lo+size, int(nd.end))
			buf := nd.hist
			if b > 0 {
				buf = g.getHist()
			}
			tasks = append(tasks, histTask{node: id, lo: int32(lo), hi: int32(hi), buf: buf})
		}
		if nb > 1 {
			reds = append(reds, reduction{first: first, count: nb})
		}
	}
	bm, bins, nf, gp, rows := g.bm, g.bins, g.nf, g.gpair, g.rows
	parallelFor(g.workers, len(tasks), func(i int) {
		t := &tasks[i]
		clear(t.buf)
		accumulate(t.buf, bins, nf, bm.off[:nf], rows[t.lo:t.hi], gp)
	})
	if len(reds) == 0 {
		return
	}
	total := bm.totalBins()
	chunks := (total + binChunk - 1) / binChunk
	parallelFor(g.workers, len(reds)*chunks, func(i int) {
		r := &reds[i/chunks]
		lo := (i % chunks) * binChunk
		hi := min(lo+binChunk, total)
		dst := tasks[r.first].buf[lo:hi]
		for b := 1; b < r.count; b++ {
			src := tasks[r.first+b].buf[lo:hi]
			for k := range dst {
				dst[k].g += src[k].g
				dst[k].h += src[k].h
			}
		}
	})
	for _, r := range reds {
		for b := 1; b < r.count; b++ {
			g.putHist(tasks[r.first+b].buf)
		}
	}
}

// accumulate adds the gradient pair of every row in rows to the histogram
// slot off[f]+bin of each feature f.
//
// This is the training hot spot (≈70% of CPU time). It checks the shapes
// and that every row index is in range, then runs accumulateKernel: SSE2
// assembly on amd64 (one ADDPD per cell, ≈30% less CPU than the Go loop),
// accumulateGo elsewhere. Neither bounds-checks the histogram slot; the
// invariant that keeps it in range is established by buildBins: a bin code
// never exceeds the feature's missing code nbins[f], and
// off[f+1] = off[f] + nbins[f] + 1, so off[f] + code < len(hist).
func accumulate(hist []gradPair, bins []uint8, nf int, off []int32, rows []int32, gp []gradPair) {
	if nf < 1 || len(off) != nf || len(bins)%nf != 0 || len(gp) != len(bins)/nf {
		panic("gbdt: accumulate: inconsistent shapes")
	}
	n := len(gp)
	for _, r := range rows {
		if uint(r) >= uint(n) {
			panic("gbdt: accumulate: row out of range")
		}
	}
	if len(rows) > 0 {
		accumulateKernel(hist, bins, nf, off, rows, gp)
	}
}

// accumulateGo is the portable unchecked kernel: four features per step,
// indexing through unsafe pointers (see accumulate for the invariants).
func accumulateGo(hist []gradPair, bins []uint8, nf int, off []int32, rows []int32, gp []gradPair) {
	hp := unsafe.Pointer(unsafe.SliceData(hist))
	bp := unsafe.Pointer(unsafe.SliceData(bins))
	op := unsafe.Pointer(unsafe.SliceData(off))
	for _, r := range rows {
		p := gp[r]
		rb := unsafe.Add(bp, int(r)*nf)
		f := 0
		for ; f+4 <= nf; f += 4 {
			o := (*[4]int32)(unsafe.Add(op, f*4))
			b := (*[4]uint8)(unsafe.Add(rb, f))
			h0 := (*gradPair)(unsafe.Add(hp, (int(o[0])+int(b[0]))*16))
			h1 := (*gradPair)(unsafe.Add(hp, (int(o[1])+int(b[1]))*16))
			h2 := (*gradPair)(unsafe.Add(hp, (int(o[2])+int(b[2]))*16))
			h3 := (*gradPair)(unsafe.Add(hp, (int(o[3])+int(b[3]))*16))
			h0.g += p.g
			h0.h += p.h
			h1.g += p.g
			h1.h += p.h
			h2.g += p.g
			h2.h += p.h
			h3.g += p.g
			h3.h += p.h
		}
		for ; f < nf; f++ {
			o := *(*int32)(unsafe.Add(op, f*4))
			h := (*gradPair)(unsafe.Add(hp, (int(o)+int(*(*uint8)(unsafe.Add(rb, f))))*16))
			h.g += p.g
			h.h += p.h
		}
	}
}

// accumulateChecked is accumulate with ordinary bounds-checked indexing.
func accumulateChecked(hist []gradPair, bins []uint8, nf int, off []int32, rows []int32, gp []gradPair) {
	off = off[:nf]
	for _, r := range rows {
		p := gp[r]
		rb := bins[int(r)*nf : int(r)*nf+nf]
		for f, o := range off {
			h := &hist[int(o)+int(rb[f])]
			h.g += p.g
			h.h += p.h
		}
	}
}

// subtract turns each pair's large buffer (holding the parent histogram)
// into parent − small.
func (g *grower) subtract(pairs []histPair) {
	if len(pairs) == 0 {
		return
	}
	total := g.bm.totalBins()
	chunks := (total + binChunk - 1) / binChunk
	parallelFor(g.workers, len(pairs)*chunks, func(i int) {
		pr := pairs[i/chunks]
		lo := (i % chunks) * binChunk
		hi := min(lo+binChunk, total)
		dst := g.nodes[pr.large].hist[lo:hi]
		src := g.nodes[pr.small].hist[lo:hi]
		for k := range dst {
			dst[k].g -= src[k].g
			dst[k].h -= src[k].h
		}
	})
}

// sumRows returns the gradient sum over rows, in row order.
func (g *grower) sumRows(rows []int32) gradPair {
	var s gradPair
	for _, r := range rows {
		s.g += g.gpair[r].g
		s.h += g.gpair[r].h
	}
	return s
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// partitionTask covers rows[lo:hi] of one splitting node.
type partitionTask struct {
	node       int32
	lo, hi     int32
	nl         int32 // rows of the block going left
	lOff, rOff int32 // where the block's left and right rows land
	single     bool  // the node is one block: partitioned in one pass
}

// partition reorders the rows of each parent stably into its left child's
// rows followed by its right child's, and records the children's ranges.
// A node of one block is partitioned in a single pass. Larger nodes are cut
// into the fixed blocks of blockLayout: each block flags and counts its
// rows, prefix sums place every block's rows, and the blocks scatter in
// parallel — the resulting order is the sequential one.
func (g *grower) partition(parents []int32) {
	tasks := g.ptasks[:0]
	multi := false
	for _, id := range parents {
		nd := &g.nodes[id]
		nb, size := blockLayout(int(nd.end - nd.begin))
		for b := range nb {
			lo := nd.begin + int32(b*size)
			tasks = append(tasks, partitionTask{node: id, lo: lo, hi: min(lo+int32(size), nd.end), single: nb == 1})
		}
		multi = multi || nb > 1
	}
	g.ptasks = tasks
	rows, flags, scratch := g.rows, g.flags, g.scratch
	n := len(g.gpair)
	parallelFor(g.workers, len(tasks), func(i int) {
		t := &tasks[i]
		s := &g.nodes[t.node].split
		f, bin := int(s.feat), int(s.bin)
		miss, defLeft := g.bm.missCode(f), b2i(s.defLeft)
		col := g.cols[f*n : (f+1)*n]
		if t.single {
			// The whole node in one pass: lefts compacted in place,
			// rights gathered in scratch, then appended.
			seg, tmp := rows[t.lo:t.hi], scratch[t.lo:t.hi]
			nl, nr := 0, 0
			for _, r := range seg {
				b := int(col[r])
				left := b2i(b <= bin) | (b2i(b == miss) & defLeft)
				seg[nl] = r
				tmp[nr] = r
				nl += left
				nr += 1 - left
			}
			copy(seg[nl:], tmp[:nr])
			t.nl = int32(nl)
			return
		}
		nl := 0
		for pos := t.lo; pos < t.hi; pos++ {
			b := int(col[rows[pos]])
			left := b2i(b <= bin) | (b2i(b == miss) & defLeft)
			flags[pos] = uint8(left)
			nl += left
		}
		t.nl = int32(nl)
	})
	for i := 0; i < len(tasks); {
		id := tasks[i].node
		nd := &g.nodes[id]
		j := i
		total := int32(0)
		for ; j < len(tasks) && tasks[j].node == id; j++ {
			total += tasks[j].nl
		}
		l, r := nd.begin, nd.begin+total
		for k := i; k < j; k++ {
			tasks[k].lOff, tasks[k].rOff = l, r
			l += tasks[k].nl
			r += (tasks[k].hi - tasks[k].lo) - tasks[k].nl
		}
		lc, rc := &g.nodes[nd.left], &g.nodes[nd.left+1]
		lc.begin, lc.end = nd.begin, nd.begin+total
		rc.begin, rc.end = nd.begin+total, nd.end
		i = j
	}
	if !multi {
		return
	}
	parallelFor(g.workers, len(tasks), func(i int) {
		t := &tasks[i]
		if t.single {
			return
		}
		l, r := int(t.lOff), int(t.rOff)
		for pos := t.lo; pos < t.hi; pos++ {
			left := int(flags[pos])
			dst := r + (l-r)&-left // l if left else r
			scratch[dst] = rows[pos]
			l += left
			r += 1 - left
		}
	})
	parallelFor(g.workers, len(tasks), func(i int) {
		t := &tasks[i]
		if !t.single {
			copy(rows[t.lo:t.hi], scratch[t.lo:t.hi])
		}
	})
}

// evaluate finds the best split of each node. Tasks scan evalChunk
// features of one node; per-node results are combined in feature order with
// a strict comparison, so ties go to the lowest feature index and the
// lowest bin, independent of scheduling.
func (g *grower) evaluate(ids []int32) {
	if len(ids) == 0 {
		return
	}
	type evalTask struct {
		node  int32
		feats []int32
		best  split
	}
	var tasks []evalTask
	for _, id := range ids {
		feats := g.nodes[id].feats
		for lo := 0; lo < len(feats); lo += evalChunk {
			tasks = append(tasks, evalTask{node: id, feats: feats[lo:min(lo+evalChunk, len(feats))]})
		}
	}
	parallelFor(g.workers, len(tasks), func(i int) {
		t := &tasks[i]
		nd := &g.nodes[t.node]
		t.best = split{lossChg: math.Inf(-1)}
		for _, f := range t.feats {
			g.evalFeature(nd, int(f), &t.best)
		}
	})
	for i := 0; i < len(tasks); {
		id := tasks[i].node
		best := split{lossChg: math.Inf(-1)}
		for ; i < len(tasks) && tasks[i].node == id; i++ {
			if tasks[i].best.lossChg > best.lossChg {
				best = tasks[i].best
			}
		}
		nd := &g.nodes[id]
		if !math.IsInf(best.lossChg, -1) {
			best.lossChg -= g.nodeGain(nd.sum, nd.lower, nd.upper)
		}
		nd.split = best
	}
}

// evalFeature scans the bins of feature f in node nd and updates best (whose
// lossChg field holds, during the scan, the children's total gain).
func (g *grower) evalFeature(nd *tnode, f int, best *split) {
	o, nb := int(g.bm.off[f]), g.bm.nbins[f]
	h := nd.hist[o : o+nb+1]
	miss := h[nb]
	last := nb - 1
	for last >= 0 && h[last].h <= 0 {
		last--
	}
	if last < 0 {
		return // only missing values here
	}
	hasMiss := miss.h > 0
	kmax := last - 1
	if hasMiss {
		kmax = last
	}
	P := nd.sum
	lambda, alpha, mcw := g.p.Lambda, g.p.Alpha, g.p.MinChildWeight
	var c int8
	if g.constrained {
		c = g.mono[f]
	}
	childGain := func(L, R gradPair) float64 {
		if !g.constrained {
			tl, tr := thresholdL1(L.g, alpha), thresholdL1(R.g, alpha)
			return tl*tl/(L.h+lambda) + tr*tr/(R.h+lambda)
		}
		wl := g.weightOf(L, nd.lower, nd.upper)
		wr := g.weightOf(R, nd.lower, nd.upper)
		if (c > 0 && wl > wr) || (c < 0 && wl < wr) {
			return math.Inf(-1)
		}
		return g.gainGivenWeight(L, wl) + g.gainGivenWeight(R, wr)
	}
	consider := func(L, R gradPair, k int, defLeft bool) {
		if !(L.h >= mcw && R.h >= mcw && L.h > 0 && R.h > 0) {
			return
		}
		if gain := childGain(L, R); gain > best.lossChg {
			*best = split{lossChg: gain, feat: int32(f), bin: int32(k), defLeft: defLeft, left: L, right: R}
		}
	}
	fast := !g.constrained && alpha == 0
	var L gradPair
	for k := 0; k <= kmax; k++ {
		L.g += h[k].g
		L.h += h[k].h
		if h[k].h <= 0 {
			continue // empty bin: same partition as the previous threshold
		}
		R := gradPair{P.g - L.g, P.h - L.h}
		if fast {
			if L.h >= mcw && R.h >= mcw && L.h > 0 && R.h > 0 {
				gain := L.g*L.g/(L.h+lambda) + R.g*R.g/(R.h+lambda)
				if gain > best.lossChg {
					*best = split{lossChg: gain, feat: int32(f), bin: int32(k), defLeft: !hasMiss && L.h >= R.h, left: L, right: R}
				}
			}
		} else {
			consider(L, R, k, !hasMiss && L.h >= R.h)
		}
		if hasMiss && k < last {
			L2 := gradPair{L.g + miss.g, L.h + miss.h}
			R2 := gradPair{P.g - L2.g, P.h - L2.h}
			consider(L2, R2, k, true)
		}
	}
}

// sampleTreeFeatures draws the features of the current tree
// (colsample_bytree): max(1, round(rate·F)) of them, sorted.
func (g *grower) sampleTreeFeatures() {
	if g.p.ColsampleByTree >= 1 {
		g.treeFeats = g.allFeats
		return
	}
	g.treeFeats = sampleSubset(g.rng, g.allFeats, g.p.ColsampleByTree)
}

// sampleNodeFeatures draws a node's features from the tree's
// (colsample_bynode). Called in node-creation order, so the draws are
// reproducible.
func (g *grower) sampleNodeFeatures() []int32 {
	if g.p.ColsampleByNode >= 1 {
		return g.treeFeats
	}
	return sampleSubset(g.rng, g.treeFeats, g.p.ColsampleByNode)
}

// sampleSubset returns max(1, round(rate·len(from))) elements of from
// chosen uniformly without replacement, in ascending order.
func sampleSubset(rng interface{ IntN(int) int }, from []int32, rate float64) []int32 {
	k := max(1, int(math.Round(rate*float64(len(from)))))
	out := slices.Clone(from)
	for i := 0; i < k; i++ {
		j := i + rng.IntN(len(out)-i)
		out[i], out[j] = out[j], out[i]
	}
	out = out[:k]
	slices.Sort(out)
	return out
}
