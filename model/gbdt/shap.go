package gbdt

import "fmt"

// pathElem is one feature on the current root-to-node path of TreeSHAP.
type pathElem struct {
	feat    int     // feature index; -1 for the root placeholder
	zero    float64 // fraction of "feature absent" paths that flow here (cover ratio)
	one     float64 // 1 if the row's own value flows here, else 0
	pweight float64 // permutation weight
}

// computeMeans fills e.means: a leaf's value, or for an internal node the
// cover-weighted mean of its children, E[f] = (E_L·c_L + E_R·c_R) / c,
// where c is a node's cover (training hessian sum). Children have larger
// indices than their parent, so one backward pass per tree suffices.
func (e *Ensemble) computeMeans() {
	e.means = make([]float64, len(e.nodes))
	for t := len(e.roots) - 1; t >= 0; t-- {
		for i := e.treeEnd(t) - 1; i >= e.roots[t]; i-- {
			if e.isLeaf(i) {
				e.means[i] = e.values[i]
				continue
			}
			l := e.nodes[i].left()
			e.means[i] = (e.means[l]*e.cover[l] + e.means[l+1]*e.cover[l+1]) / e.cover[i]
		}
	}
}

// Contributions appends the exact TreeSHAP feature attributions of row to
// dst[:0] (Lundberg, Erion & Lee 2018, the path-dependent algorithm, as in
// XGBoost's pred_contribs): for every output k, NumFeatures values φ_k,j
// followed by the bias φ_k,F = base_k + Σ_trees E[tree]. The F+1 values of
// output k lie at [k·(F+1), (k+1)·(F+1)) and sum to its raw margin:
// Σ_j φ_k,j + φ_k,F = PredictRaw(row)[k]. Units are margin units (log-odds
// for binary:logistic).
func (e *Ensemble) Contributions(dst, row []float64) ([]float64, error) {
	if err := e.checkRow(row); err != nil {
		return dst[:0], err
	}
	F := e.numFeature
	K := len(e.base)
	need := K * (F + 1)
	if cap(dst) < need {
		dst = make([]float64, need)
	}
	dst = dst[:need]
	clear(dst)
	maxd := e.maxDepth + 2
	path := make([]pathElem, maxd*(maxd+1)/2)
	for t, root := range e.roots {
		phi := dst[int(e.group[t])*(F+1) : int(e.group[t]+1)*(F+1)]
		phi[F] += e.means[root]
		e.treeShap(row, phi, root, 0, path, 1, 1, -1)
	}
	for k := range K {
		dst[k*(F+1)+F] += e.base[k]
	}
	return dst, nil
}

// treeShap is XGBoost's RegTree::TreeShap without conditioning.
func (e *Ensemble) treeShap(row, phi []float64, i int32, depth int, parent []pathElem, pZero, pOne float64, pFeat int) {
	path := parent[depth+1:]
	copy(path, parent[:depth+1])
	extendPath(path, depth, pZero, pOne, pFeat)
	if e.isLeaf(i) {
		v := e.values[i]
		for k := 1; k <= depth; k++ {
			w := unwoundPathSum(path, depth, k)
			el := &path[k]
			phi[el.feat] += w * (el.one - el.zero) * v
		}
		return
	}
	nd := &e.nodes[i]
	feat := int(nd.feature())
	hot := nd.next(row[feat])
	cold := nd.left()
	if hot == cold {
		cold++
	}
	c := e.cover[i]
	hotZero, coldZero := e.cover[hot]/c, e.cover[cold]/c
	inZero, inOne := 1.0, 1.0
	k := 0
	for ; k <= depth; k++ {
		if path[k].feat == feat {
			break
		}
	}
	if k != depth+1 {
		inZero, inOne = path[k].zero, path[k].one
		unwindPath(path, depth, k)
		depth--
	}
	e.treeShap(row, phi, hot, depth+1, path, hotZero*inZero, inOne, feat)
	e.treeShap(row, phi, cold, depth+1, path, coldZero*inZero, 0, feat)
}

func extendPath(path []pathElem, depth int, zero, one float64, feat int) {
	path[depth] = pathElem{feat: feat, zero: zero, one: one}
	if depth == 0 {
		path[depth].pweight = 1
	}
	d1 := float64(depth + 1)
	for i := depth - 1; i >= 0; i-- {
		path[i+1].pweight += one * path[i].pweight * float64(i+1) / d1
		path[i].pweight = zero * path[i].pweight * float64(depth-i) / d1
	}
}

func unwindPath(path []pathElem, depth, k int) {
	one, zero := path[k].one, path[k].zero
	next := path[depth].pweight
	d1 := float64(depth + 1)
	for i := depth - 1; i >= 0; i-- {
		if one != 0 {
			tmp := path[i].pweight
			path[i].pweight = next * d1 / (float64(i+1) * one)
			next = tmp - path[i].pweight*zero*float64(depth-i)/d1
		} else {
			path[i].pweight = path[i].pweight * d1 / (zero * float64(depth-i))
		}
	}
	for i := k; i < depth; i++ {
		path[i].feat, path[i].zero, path[i].one = path[i+1].feat, path[i+1].zero, path[i+1].one
	}
}

func unwoundPathSum(path []pathElem, depth, k int) float64 {
	one, zero := path[k].one, path[k].zero
	next := path[depth].pweight
	d1 := float64(depth + 1)
	total := 0.0
	for i := depth - 1; i >= 0; i-- {
		if one != 0 {
			tmp := next * d1 / (float64(i+1) * one)
			total += tmp
			next = path[i].pweight - tmp*zero*(float64(depth-i)/d1)
		} else if zero != 0 {
			total += (path[i].pweight / zero) / (float64(depth-i) / d1)
		}
	}
	return total
}

// ImportanceKind selects a feature-importance statistic. The values are
// XGBoost's get_score importance types.
type ImportanceKind string

const (
	ImportanceWeight     ImportanceKind = "weight"      // number of splits on the feature
	ImportanceGain       ImportanceKind = "gain"        // mean loss change of its splits
	ImportanceTotalGain  ImportanceKind = "total_gain"  // summed loss change of its splits
	ImportanceCover      ImportanceKind = "cover"       // mean hessian cover of its splits
	ImportanceTotalCover ImportanceKind = "total_cover" // summed hessian cover of its splits
)

// Importance returns one value per feature (0 for a feature never split
// on). Loss change is in the units of the package doc's gain formula;
// cover is a hessian sum (row count for squared error without weights).
func (e *Ensemble) Importance(kind ImportanceKind) ([]float64, error) {
	count := make([]float64, e.numFeature)
	gain := make([]float64, e.numFeature)
	cover := make([]float64, e.numFeature)
	for i := range e.nodes {
		if e.isLeaf(int32(i)) {
			continue
		}
		f := e.nodes[i].feature()
		count[f]++
		gain[f] += e.gain[i]
		cover[f] += e.cover[i]
	}
	mean := func(sum []float64) []float64 {
		for f := range sum {
			if count[f] > 0 {
				sum[f] /= count[f]
			}
		}
		return sum
	}
	switch kind {
	case ImportanceWeight:
		return count, nil
	case ImportanceGain:
		return mean(gain), nil
	case ImportanceTotalGain:
		return gain, nil
	case ImportanceCover:
		return mean(cover), nil
	case ImportanceTotalCover:
		return cover, nil
	}
	return nil, fmt.Errorf("gbdt: unknown importance kind %q (want weight, gain, total_gain, cover or total_cover)", kind)
}

// PathContributions appends path-based feature attributions of row to
// dst[:0] (Saabas 2014, "interpreting random forests"; XGBoost's
// pred_contribs with approx_contribs=True), laid out as Contributions: for
// every output k, NumFeatures values φ_k,j then the bias. Walking each tree
// from the root to the row's leaf, every split on feature j adds the change
// of the cover-weighted mean output, E[child] − E[node], to φ_k,j; the bias
// is base_k + Σ_trees E[root]. They sum to the raw margin, like TreeSHAP, at
// the cost of one prediction (O(depth) per tree) instead of
// O(leaves · depth²) — but unlike TreeSHAP they are not consistent: a
// feature's credit depends on where in the tree it is split.
func (e *Ensemble) PathContributions(dst, row []float64) ([]float64, error) {
	_, phi, err := e.pathWalk(nil, dst, row, false)
	return phi, err
}

// PredictExplain appends Predict(row) to pred[:0] and PathContributions(row)
// to phi[:0] in one walk of every tree. The prediction is bit-identical to
// Predict's: margins start at the base and add each tree's leaf value in
// tree order, as PredictRaw does.
func (e *Ensemble) PredictExplain(pred, phi, row []float64) ([]float64, []float64, error) {
	return e.pathWalk(pred, phi, row, true)
}

// pathWalk walks every tree for row, treeGroup trees in lockstep on the
// doubled row (branch-free, like rowMargins), crediting E[child] − E[node]
// to the split feature at each step. A tree shallower than its group's
// deepest one keeps stepping from its leaf to itself, crediting exactly 0.
// With withPred it also sums the leaf values into pred in tree order and
// applies the objective's transform.
func (e *Ensemble) pathWalk(pred, phi, row []float64, withPred bool) ([]float64, []float64, error) {
	if err := e.checkRow(row); err != nil {
		return pred[:0], phi[:0], err
	}
	F := e.numFeature
	need := len(e.base) * (F + 1)
	if cap(phi) < need {
		phi = make([]float64, need)
	}
	phi = phi[:need]
	clear(phi)
	if withPred {
		pred = append(pred[:0], e.base...)
	}
	var stack [256]float64 // doubled rows of up to 128 features stay off the heap
	xx := stack[:0]
	if 2*len(row) > len(stack) {
		xx = make([]float64, 0, 2*len(row))
	}
	for _, v := range row {
		lo, hi := doubled(v)
		xx = append(xx, lo, hi)
	}
	nodes, means := e.nodes, e.means
	var idx [treeGroup]int32
	var off [treeGroup]int
	for t0 := 0; t0 < len(e.roots); t0 += treeGroup {
		cnt := min(treeGroup, len(e.roots)-t0)
		depth := int32(0)
		for k := range cnt {
			root := e.roots[t0+k]
			idx[k] = root
			off[k] = int(e.group[t0+k]) * (F + 1)
			phi[off[k]+F] += means[root]
			depth = max(depth, e.depth[t0+k])
		}
		for range depth {
			for k := range cnt {
				i := idx[k]
				nd := &nodes[i]
				j := nd.lc + int32(b2u(xx[nd.col] >= nd.thr))
				phi[off[k]+int(nd.col>>1)] += means[j] - means[i]
				idx[k] = j
			}
		}
		if withPred {
			for k := range cnt {
				pred[e.group[t0+k]] += e.values[idx[k]]
			}
		}
	}
	for k := range e.base {
		phi[k*(F+1)+F] += e.base[k]
	}
	if withPred {
		transformInto(e.objective, pred, pred)
	}
	return pred, phi, nil
}
