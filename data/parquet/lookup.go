package parquet

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"

	"github.com/apache/arrow-go/v18/parquet/metadata"

	"github.com/duesight/duesight/data"
)

// probe is one set of keys searched in one column.
type probe struct {
	col    int
	keys   map[string]bool
	sorted []string
	hashes []uint64 // xxhash64 of each sorted key, as Parquet bloom filters hash
}

func newProbe(col int, keys []string) *probe {
	if len(keys) == 0 {
		return nil
	}
	p := &probe{col: col, keys: make(map[string]bool, len(keys))}
	for _, k := range keys {
		p.keys[k] = true
	}
	p.sorted = slices.Sorted(maps.Keys(p.keys))
	return p
}

// anyIn reports whether some key lies in [lo, hi].
func (p *probe) anyIn(lo, hi string) bool {
	i := sort.SearchStrings(p.sorted, lo)
	return i < len(p.sorted) && p.sorted[i] <= hi
}

// mayHold reports whether row group g of the file may hold one of the keys:
// min/max statistics first, then the column's bloom filter if it has one.
//
// The filter is read with a metadata.BloomFilterReader whose buffer pool is
// the Store's (bufs) and handed back by VisitColumnBloomFilter as soon as
// the keys are checked. arrow-go's own path (file.Reader's
// GetBloomFilterReader and GetColumnBloomFilter) takes buffers from a pool
// owned by each file.Reader and returns them only through a GC cleanup into
// that pool, whose buffers reach the allocator again only through a
// finalizer: about five GC cycles after use. Lookup opens a new file.Reader
// per segment per call, so under a stream of Ingest calls nearly every
// allocation waited five cycles, and since the GC lets the heap grow by the
// live heap before its next cycle, the heap grew geometrically (issue 7:
// 6.4 GB in use after a forced GC).
func (p *probe) mayHold(r *segReader, g int, bufs *sync.Pool) (bool, error) {
	md := r.r.MetaData()
	if lo, hi, ok := stringRange(md, g, p.col); ok && !p.anyIn(lo, hi) {
		return false, nil
	}
	cc, err := md.RowGroup(g).ColumnChunk(p.col)
	if err != nil || cc.BloomFilterOffset() <= 0 {
		return true, nil
	}
	bfr := metadata.BloomFilterReader{Input: r.f, FileMetadata: md, BufferPool: bufs}
	rg, err := bfr.RowGroup(g)
	if err != nil {
		return true, nil
	}
	hold := true // also when the chunk turns out to have no filter
	err = rg.VisitColumnBloomFilter(p.col, func(bf metadata.BloomFilter) error {
		if p.hashes == nil {
			h := bf.Hasher()
			p.hashes = make([]uint64, len(p.sorted))
			for i, k := range p.sorted {
				p.hashes[i] = h.Sum64([]byte(k))
			}
		}
		hold = slices.ContainsFunc(p.hashes, bf.CheckHash)
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("segment %s: row group %d: bloom filter of %s: %w", r.path, g, r.def.cols[p.col].name, err)
	}
	return hold, nil
}

// Lookup implements data.Store. Account ids are found through the account
// range of segments and row groups; other ids through min/max statistics
// and bloom filters of the id columns (and of payments.invoice_id for
// PaymentsOfInvoices). Only row groups that may match are decoded.
func (s *Store) Lookup(ctx context.Context, k data.Keys) (*data.Batch, error) {
	m, release, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	out := &data.Batch{}
	if out.Accounts, err = lookupTable(ctx, s, m, &accountRows, newProbe(colAccount, k.Accounts)); err != nil {
		return nil, err
	}
	if out.Invoices, err = lookupTable(ctx, s, m, &invoiceRows, newProbe(colID, k.Invoices)); err != nil {
		return nil, err
	}
	if out.Payments, err = lookupTable(ctx, s, m, &paymentRows, newProbe(colID, k.Payments),
		newProbe(pyInvoice, k.PaymentsOfInvoices)); err != nil {
		return nil, err
	}
	if out.Contacts, err = lookupTable(ctx, s, m, &contactRows, newProbe(colID, k.Contacts)); err != nil {
		return nil, err
	}
	if out.Disputes, err = lookupTable(ctx, s, m, &disputeRows, newProbe(colID, k.Disputes)); err != nil {
		return nil, err
	}
	return out, nil
}

type hit[T any] struct {
	row  T
	acct string
	id   string
	seq  uint64
}

func lookupTable[T any](ctx context.Context, s *Store, m *manifest, ops *rowOps[T], probes ...*probe) ([]T, error) {
	probes = slices.DeleteFunc(probes, func(p *probe) bool { return p == nil })
	if len(probes) == 0 {
		return nil, nil
	}
	t := ops.def
	var hits []hit[T]
	for _, sg := range m.Tables[t.name] {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if t == tblAccounts && !probes[0].anyIn(sg.MinAccount, sg.MaxAccount) {
			continue
		}
		r, err := s.openPoint(t, sg)
		if err != nil {
			return nil, err
		}
		r.seq = sg.Seq
		hits, err = lookupSegment(r, ops, probes, hits, &s.bloomBufs)
		if cerr := r.close(); err == nil && cerr != nil {
			err = fmt.Errorf("close %s: %w", r.path, cerr)
		}
		if err != nil {
			return nil, errorf(data.Internal, "parquet store: lookup %s: %w", t.name, err)
		}
	}
	if t.versioned {
		// Keep the newest version of each id.
		slices.SortStableFunc(hits, func(a, b hit[T]) int { return cmp.Or(cmp.Compare(a.id, b.id), cmp.Compare(b.seq, a.seq)) })
		hits = slices.CompactFunc(hits, func(a, b hit[T]) bool { return a.id == b.id })
	}
	slices.SortFunc(hits, func(a, b hit[T]) int { return cmp.Or(cmp.Compare(a.acct, b.acct), cmp.Compare(a.id, b.id)) })
	out := make([]T, len(hits))
	for i, h := range hits {
		out[i] = h.row
	}
	return out, nil
}

// lookupSegment scans the candidate row groups of one segment in two
// passes: first only the probed key columns, then, if some rows match, the
// full rows from the first to the last match (seeking with the page index).
func lookupSegment[T any](r *segReader, ops *rowOps[T], probes []*probe, hits []hit[T], bufs *sync.Pool) ([]hit[T], error) {
	md := r.r.MetaData()
	keyCols := make([]bool, len(r.def.cols))
	for _, p := range probes {
		keyCols[p.col] = true
	}
	var match []int64
	for g := 0; g < md.NumRowGroups(); g++ {
		want := false
		for _, p := range probes {
			ok, err := p.mayHold(r, g, bufs)
			if err != nil {
				return hits, err
			}
			if ok {
				want = true
				break
			}
		}
		if !want {
			continue
		}
		// Pass 1: key columns only.
		r.proj = keyCols
		r.limit(g, g+1)
		match = match[:0]
		var row int64
		for {
			b, err := r.next()
			if err != nil {
				return hits, err
			}
			if b == nil {
				break
			}
			for i := 0; i < b.n; i++ {
				for _, p := range probes {
					if p.keys[b.str[p.col][i]] {
						match = append(match, row+int64(i))
						break
					}
				}
			}
			row += int64(b.n)
		}
		if len(match) == 0 {
			continue
		}
		// Pass 2: full rows of the matches.
		r.proj = nil
		r.rgEnd = g + 1
		if err := r.seek(g, match[0]); err != nil {
			return hits, err
		}
		row, k := match[0], 0
		for k < len(match) {
			b, err := r.next()
			if err != nil {
				return hits, err
			}
			if b == nil {
				return hits, fmt.Errorf("segment %s: row group %d ended before row %d", r.path, g, match[k])
			}
			for k < len(match) && match[k] < row+int64(b.n) {
				i := int(match[k] - row)
				hits = append(hits, hit[T]{row: ops.get(b, i), acct: b.str[colAccount][i], id: b.str[r.def.idCol][i], seq: r.seq})
				k++
			}
			row += int64(b.n)
		}
	}
	return hits, nil
}

// Count implements data.Store. Invoices and payments are never rewritten,
// so their counts are the manifest's row counts; for versioned tables with
// more than one segment the distinct ids are counted by a merge over the key
// columns. Results are cached per manifest generation.
func (s *Store) Count(ctx context.Context) (data.Counts, error) {
	m, release, err := s.snapshot(ctx)
	if err != nil {
		return data.Counts{}, err
	}
	defer release()
	s.mu.Lock()
	c, ok := s.counts[m.Generation]
	s.mu.Unlock()
	if ok {
		return c, nil
	}
	n := make([]int, len(tables))
	for i, t := range tables {
		segs := m.Tables[t.name]
		if !t.versioned || len(segs) <= 1 {
			for _, sg := range segs {
				n[i] += int(sg.Rows)
			}
			continue
		}
		if n[i], err = s.countDistinct(ctx, t, m); err != nil {
			return data.Counts{}, err
		}
	}
	c = data.Counts{Accounts: n[0], Invoices: n[1], Payments: n[2], Contacts: n[3], Disputes: n[4]}
	s.mu.Lock()
	s.counts[m.Generation] = c
	s.mu.Unlock()
	return c, nil
}

func (s *Store) countDistinct(ctx context.Context, t *tableDef, m *manifest) (int, error) {
	proj := make([]bool, len(t.cols))
	proj[colAccount] = true
	if t.timeCol >= 0 {
		proj[colTime], proj[colID] = true, true
	}
	tc, err := s.openTable(t, m, proj)
	if err != nil {
		return 0, err
	}
	defer tc.close()
	if err := tc.start(data.Shard{}); err != nil {
		return 0, errorf(data.Internal, "parquet store: count %s: %w", t.name, err)
	}
	n := 0
	for ; tc.valid(); n++ {
		if n&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
		}
		if err := tc.next(); err != nil {
			return 0, errorf(data.Internal, "parquet store: count %s: %w", t.name, err)
		}
	}
	return n, nil
}
