package gbdt

import (
	"cmp"
	"math"
	"slices"
)

// binMapper holds the quantile cut points of every feature.
//
// Feature j has nbins[j] value bins. Bin k holds the values v with
// cuts[j][k-1] ≤ v < cuts[j][k] (cuts[j][-1] = -∞); the last cut is +∞ and
// +∞ itself falls in the last bin. Missing values (NaN) get code nbins[j],
// which fits a uint8 because a feature with missing values gets at most 255
// value bins. A split "bin ≤ k" is therefore the float test v < cuts[j][k].
type binMapper struct {
	cuts       [][]float64
	nbins      []int
	hasMissing []bool
	// off[j] is the first histogram slot of feature j; feature j owns
	// nbins[j]+1 slots (the last is its missing bin); off[F] is the total.
	off []int32
}

// numFeatures returns F.
func (m *binMapper) numFeatures() int { return len(m.nbins) }

// totalBins returns the histogram length.
func (m *binMapper) totalBins() int { return int(m.off[len(m.off)-1]) }

// missCode returns the bin code of a missing value of feature j. It is 256
// (never a stored uint8) when the feature had no missing value in training.
func (m *binMapper) missCode(j int) int { return m.nbins[j] }

// binValue maps v to its bin code for feature j.
func (m *binMapper) binValue(j int, v float64) uint8 {
	if v != v {
		return uint8(m.nbins[j])
	}
	return uint8(upperBound(m.cuts[j], v))
}

// upperBound returns the smallest k with v < cuts[k], or len(cuts)-1 when
// there is none (v = +∞, since the last cut is +∞).
func upperBound(cuts []float64, v float64) int {
	lo, n := 0, len(cuts)
	for n > 1 {
		half := n >> 1
		if cuts[lo+half-1] <= v {
			lo += half
		}
		n -= half
	}
	return lo
}

// weightedValue is a value with its row weight, for weighted quantiles.
type weightedValue struct{ v, w float64 }

// featureCuts returns the cut points of one column: the distinct values
// themselves when there are at most maxBins of them, else the values at the
// (weighted) quantiles k/maxBins, k = 1…maxBins-1, deduplicated. The result
// always ends with +∞. A column with missing values gets at most 255 bins so
// that its missing code fits a uint8. Quantiles are exact (all values are
// sorted, by radix sort when unweighted).
func featureCuts(col, weight []float64, maxBins int) (cuts []float64, hasMissing bool) {
	distinct, hasMissing, few := distinctValues(col, maxBins)
	if hasMissing && maxBins > 255 {
		maxBins = 255
	}
	if few && len(distinct) <= maxBins {
		slices.Sort(distinct)
		return cutsFromSorted(distinct, nil, maxBins), hasMissing
	}
	vals := make([]float64, 0, len(col))
	if weight == nil {
		for _, v := range col {
			if v == v {
				vals = append(vals, v)
			}
		}
		radixSortFloat64(vals)
		return cutsFromSorted(vals, nil, maxBins), hasMissing
	}
	pairs := make([]weightedValue, 0, len(col))
	for i, v := range col {
		if v == v && weight[i] > 0 {
			pairs = append(pairs, weightedValue{v, weight[i]})
		}
	}
	slices.SortFunc(pairs, func(a, b weightedValue) int { return cmp.Compare(a.v, b.v) })
	ws := make([]float64, 0, len(pairs))
	for _, p := range pairs {
		vals = append(vals, p.v)
		ws = append(ws, p.w)
	}
	return cutsFromSorted(vals, ws, maxBins), hasMissing
}

// distinctValues scans col once with a small open-addressing hash set. It
// returns the distinct non-NaN values if there are at most maxBins of them
// (few = true), and whether any value is NaN.
func distinctValues(col []float64, maxBins int) (distinct []float64, hasMissing, few bool) {
	const size = 1024 // power of two, > 2·256
	var table [size]uint64
	var used [size]bool
	few = true
	for _, v := range col {
		if v != v {
			hasMissing = true
			continue
		}
		if !few {
			continue
		}
		if v == 0 {
			v = 0 // fold -0 into +0
		}
		bits := math.Float64bits(v)
		h := (bits * 0x9E3779B97F4A7C15) >> 54 // top 10 bits
		for used[h] && table[h] != bits {
			h = (h + 1) & (size - 1)
		}
		if !used[h] {
			if len(distinct) == maxBins {
				few = false
				continue
			}
			used[h], table[h] = true, bits
			distinct = append(distinct, v)
		}
	}
	return distinct, hasMissing, few
}

// radixSortFloat64 sorts non-NaN values ascending with an LSD radix sort
// on their order-preserving bit patterns (8 passes of 8 bits, skipping
// passes whose digit is constant).
func radixSortFloat64(vals []float64) {
	if len(vals) < 256 {
		slices.Sort(vals)
		return
	}
	keys := make([]uint64, len(vals))
	for i, v := range vals {
		b := math.Float64bits(v)
		if b>>63 != 0 {
			b = ^b
		} else {
			b |= 1 << 63
		}
		keys[i] = b
	}
	tmp := make([]uint64, len(keys))
	var counts [8][256]int
	for _, k := range keys {
		for d := range 8 {
			counts[d][byte(k>>(8*d))]++
		}
	}
	src, dst := keys, tmp
	for d := range 8 {
		c := &counts[d]
		if c[byte(src[0]>>(8*d))] == len(src) {
			continue // every key has the same digit
		}
		pos := 0
		for b := range 256 {
			n := c[b]
			c[b] = pos
			pos += n
		}
		shift := uint(8 * d)
		for _, k := range src {
			b := byte(k >> shift)
			dst[c[b]] = k
			c[b]++
		}
		src, dst = dst, src
	}
	for i, b := range src {
		if b>>63 != 0 {
			b &^= 1 << 63
		} else {
			b = ^b
		}
		vals[i] = math.Float64frombits(b)
	}
}

// cutsFromSorted computes cuts from sorted values (weights optional).
func cutsFromSorted(vals, ws []float64, maxBins int) []float64 {
	if len(vals) == 0 {
		return []float64{math.Inf(1)}
	}
	distinct := 1
	for i := 1; i < len(vals) && distinct <= maxBins; i++ {
		if vals[i] != vals[i-1] {
			distinct++
		}
	}
	cuts := make([]float64, 0, min(distinct, maxBins))
	if distinct <= maxBins {
		for i := 1; i < len(vals); i++ {
			if vals[i] != vals[i-1] {
				cuts = append(cuts, vals[i])
			}
		}
		return append(cuts, math.Inf(1))
	}
	lo := vals[0]
	add := func(v float64) {
		if v > lo && (len(cuts) == 0 || v > cuts[len(cuts)-1]) && !math.IsInf(v, 1) {
			cuts = append(cuts, v)
		}
	}
	if ws == nil {
		n := len(vals)
		for k := 1; k < maxBins; k++ {
			add(vals[k*n/maxBins])
		}
	} else {
		total := 0.0
		for _, w := range ws {
			total += w
		}
		cum, i := 0.0, 0
		for k := 1; k < maxBins; k++ {
			target := total * float64(k) / float64(maxBins)
			for i < len(vals)-1 && cum+ws[i] <= target {
				cum += ws[i]
				i++
			}
			add(vals[i])
		}
	}
	return append(cuts, math.Inf(1))
}
