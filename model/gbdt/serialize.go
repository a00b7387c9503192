package gbdt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
)

// Binary format (little-endian), version 1:
//
//	magic     "DSGBDT\x00" + version byte
//	objective string; numClass u32; numFeature u32
//	names     u32 count, then strings
//	base      u32 count K, then K × f64
//	metric    string; bestIteration i32; history u32 count, then f64s
//	trees     u32 count, then per tree: group u32, node count u32, nodes
//	node      kind u8 (0 leaf, 1 split); leaf: value f64;
//	          split: feature u32, threshold f64, left child u32 (relative to
//	          the tree's root), missRight u8; then cover f64, gain f64
//	trailer   CRC-32C of everything above, u32
//
// A string is a u32 byte length followed by the bytes. The encoding of a
// given ensemble is unique, so identical models give identical bytes.

const (
	binaryMagic   = "DSGBDT\x00"
	binaryVersion = 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorrupt is returned (wrapped) by UnmarshalBinary for malformed input.
var ErrCorrupt = errors.New("gbdt: corrupt model encoding")

// MarshalBinary encodes the ensemble in the versioned binary format above.
func (e *Ensemble) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 64+len(e.nodes)*34)
	b = append(b, binaryMagic...)
	b = append(b, binaryVersion)
	b = appendString(b, string(e.objective))
	b = binary.LittleEndian.AppendUint32(b, uint32(e.numClass))
	b = binary.LittleEndian.AppendUint32(b, uint32(e.numFeature))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(e.featureNames)))
	for _, n := range e.featureNames {
		b = appendString(b, n)
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(e.base)))
	for _, v := range e.base {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	b = appendString(b, string(e.metric))
	b = binary.LittleEndian.AppendUint32(b, uint32(int32(e.bestIteration)))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(e.history)))
	for _, v := range e.history {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(e.roots)))
	for t, root := range e.roots {
		end := e.treeEnd(t)
		b = binary.LittleEndian.AppendUint32(b, uint32(e.group[t]))
		b = binary.LittleEndian.AppendUint32(b, uint32(end-root))
		for i := root; i < end; i++ {
			nd := &e.nodes[i]
			if e.isLeaf(i) {
				b = append(b, 0)
				b = binary.LittleEndian.AppendUint64(b, math.Float64bits(e.values[i]))
			} else {
				b = append(b, 1)
				b = binary.LittleEndian.AppendUint32(b, uint32(nd.feature()))
				b = binary.LittleEndian.AppendUint64(b, math.Float64bits(nd.thr))
				b = binary.LittleEndian.AppendUint32(b, uint32(nd.left()-root))
				var mr byte
				if nd.missRight() {
					mr = 1
				}
				b = append(b, mr)
			}
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(e.cover[i]))
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(e.gain[i]))
		}
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli)), nil
}

func appendString(b []byte, s string) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// reader is a bounds-checked little-endian decoder; the first failure
// sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(format string, a ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, a...))
	}
}

func (r *reader) take(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.fail("%s: need %d bytes, %d left", what, n, len(r.b))
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) u8(what string) byte {
	if b := r.take(1, what); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) u32(what string) uint32 {
	if b := r.take(4, what); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (r *reader) f64(what string) float64 {
	if b := r.take(8, what); b != nil {
		return math.Float64frombits(binary.LittleEndian.Uint64(b))
	}
	return 0
}

func (r *reader) str(what string) string {
	n := r.u32(what)
	return string(r.take(int(n), what))
}

// count reads a u32 element count and checks that count elements of at
// least minSize bytes each can still follow.
func (r *reader) count(what string, minSize int) int {
	n := int(r.u32(what))
	if r.err == nil && n > len(r.b)/minSize {
		r.fail("%s: %d elements cannot fit in %d bytes", what, n, len(r.b))
		return 0
	}
	return n
}

// UnmarshalBinary decodes data written by MarshalBinary, replacing e. It
// checks the checksum and every structural invariant (indices in range,
// each node with exactly one parent, finite values), so corrupt or
// malicious input yields an error wrapping ErrCorrupt, never a panic or an
// ensemble that could misbehave.
func (e *Ensemble) UnmarshalBinary(data []byte) error {
	if len(data) < len(binaryMagic)+1+4 || string(data[:len(binaryMagic)]) != binaryMagic {
		return fmt.Errorf("%w: not a duesight GBDT model (bad magic)", ErrCorrupt)
	}
	if v := data[len(binaryMagic)]; v != binaryVersion {
		return fmt.Errorf("%w: format version %d, this build reads version %d", ErrCorrupt, v, binaryVersion)
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if got := crc32.Checksum(body, castagnoli); got != sum {
		return fmt.Errorf("%w: checksum mismatch (stored %08x, computed %08x)", ErrCorrupt, sum, got)
	}
	r := &reader{b: body[len(binaryMagic)+1:]}
	var d Ensemble
	d.objective = Objective(r.str("objective"))
	d.numClass = int(r.u32("num_class"))
	d.numFeature = int(r.u32("num_feature"))
	if n := r.count("feature names", 4); n > 0 {
		d.featureNames = make([]string, n)
		for i := range d.featureNames {
			d.featureNames[i] = r.str("feature name")
		}
	}
	d.base = make([]float64, r.count("base margins", 8))
	for k := range d.base {
		d.base[k] = r.f64("base margin")
	}
	d.metric = Metric(r.str("metric"))
	d.bestIteration = int(int32(r.u32("best iteration")))
	if n := r.count("history", 8); n > 0 {
		d.history = make([]float64, n)
		for i := range d.history {
			d.history[i] = r.f64("history")
		}
	}
	nt := r.count("trees", 8)
	if r.err != nil {
		return r.err
	}
	switch d.objective {
	case BinaryLogistic, RegSquaredError:
		if d.numClass != 0 || len(d.base) != 1 {
			return fmt.Errorf("%w: %s with num_class %d and %d base margins", ErrCorrupt, d.objective, d.numClass, len(d.base))
		}
	case MultiSoftprob:
		if d.numClass < 2 || len(d.base) != d.numClass {
			return fmt.Errorf("%w: %s with num_class %d and %d base margins", ErrCorrupt, d.objective, d.numClass, len(d.base))
		}
	default:
		return fmt.Errorf("%w: unknown objective %q", ErrCorrupt, d.objective)
	}
	if d.numFeature < 1 || d.numFeature > 1<<24 {
		return fmt.Errorf("%w: num_feature %d", ErrCorrupt, d.numFeature)
	}
	if d.featureNames != nil && len(d.featureNames) != d.numFeature {
		return fmt.Errorf("%w: %d feature names for %d features", ErrCorrupt, len(d.featureNames), d.numFeature)
	}
	for _, v := range d.base {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: base margin %v", ErrCorrupt, v)
		}
	}
	d.roots = make([]int32, 0, nt)
	d.group = make([]int32, 0, nt)
	d.depth = make([]int32, 0, nt)
	for t := range nt {
		if err := d.readTree(r, t); err != nil {
			return err
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d trailing bytes", len(r.b))
	}
	if r.err != nil {
		return r.err
	}
	d.computeMeans()
	*e = d
	return nil
}

// readTree decodes and validates tree t.
func (d *Ensemble) readTree(r *reader, t int) error {
	group := int(r.u32("tree group"))
	n := r.count("tree nodes", 17)
	if r.err != nil {
		return r.err
	}
	if group >= len(d.base) {
		return fmt.Errorf("%w: tree %d: group %d of %d", ErrCorrupt, t, group, len(d.base))
	}
	if n == 0 || len(d.nodes)+n > math.MaxInt32/2 {
		return fmt.Errorf("%w: tree %d: %d nodes", ErrCorrupt, t, n)
	}
	root := int32(len(d.nodes))
	parents := make([]int32, n)
	depth := make([]int32, n)
	maxDepth := int32(0)
	for i := range n {
		self := root + int32(i)
		switch kind := r.u8("node kind"); kind {
		case 0:
			v := r.f64("leaf value")
			if r.err == nil && (math.IsNaN(v) || math.IsInf(v, 0)) {
				return fmt.Errorf("%w: tree %d node %d: leaf value %v", ErrCorrupt, t, i, v)
			}
			d.nodes = append(d.nodes, leafNode(self))
			d.values = append(d.values, v)
			maxDepth = max(maxDepth, depth[i])
		case 1:
			f := int(r.u32("split feature"))
			thr := r.f64("threshold")
			left := int(r.u32("left child"))
			mr := r.u8("missing direction")
			if r.err != nil {
				return r.err
			}
			if f >= d.numFeature || math.IsNaN(thr) || math.IsInf(thr, -1) || left <= i || left+1 >= n || mr > 1 {
				return fmt.Errorf("%w: tree %d node %d: feature %d, threshold %v, left child %d of %d nodes, missing flag %d",
					ErrCorrupt, t, i, f, thr, left, n, mr)
			}
			parents[left]++
			parents[left+1]++
			depth[left], depth[left+1] = depth[i]+1, depth[i]+1
			d.nodes = append(d.nodes, splitNode(int32(f), thr, root+int32(left), mr == 1))
			d.values = append(d.values, 0)
		default:
			if r.err == nil {
				return fmt.Errorf("%w: tree %d node %d: kind %d", ErrCorrupt, t, i, kind)
			}
		}
		cover, gain := r.f64("cover"), r.f64("gain")
		if r.err != nil {
			return r.err
		}
		if !(cover >= 0) || math.IsInf(cover, 0) || math.IsNaN(gain) || math.IsInf(gain, 0) ||
			(d.nodes[self].left() != self && !(cover > 0)) {
			return fmt.Errorf("%w: tree %d node %d: cover %v, gain %v", ErrCorrupt, t, i, cover, gain)
		}
		d.cover = append(d.cover, cover)
		d.gain = append(d.gain, gain)
	}
	for i, p := range parents {
		if (i == 0 && p != 0) || (i > 0 && p != 1) {
			return fmt.Errorf("%w: tree %d node %d has %d parents", ErrCorrupt, t, i, p)
		}
	}
	d.roots = append(d.roots, root)
	d.group = append(d.group, int32(group))
	d.depth = append(d.depth, maxDepth)
	d.maxDepth = max(d.maxDepth, int(maxDepth))
	return nil
}
