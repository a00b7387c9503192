package parquet

import (
	"context"
	"errors"
	"iter"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/duesight/duesight/data"
)

// segCursor walks the rows of one segment that belong to a shard.
type segCursor struct {
	rd    *segReader
	b     *colBatch // nil once exhausted
	i     int
	seq   uint64
	shard data.Shard
}

// settle moves to the first row at or after i that is in the shard,
// loading batches as needed; b is nil at the end.
func (c *segCursor) settle() error {
	for {
		if c.b != nil {
			if c.shard.Of > 1 {
				h := c.b.i32[colHash]
				for c.i < c.b.n && !c.shard.ContainsHash(uint32(h[c.i])) {
					c.i++
				}
			}
			if c.i < c.b.n {
				return nil
			}
		}
		b, err := c.rd.next()
		if err != nil {
			c.b = nil
			return err
		}
		c.b, c.i = b, 0
		if b == nil {
			return nil
		}
	}
}

// tableCursor merges the segments of one table in (account_id, time, id)
// order. For versioned tables, rows with the same key (the versions of one
// id, which keep their sort key) are collapsed to the one from the segment
// with the highest commit sequence.
type tableCursor struct {
	def     *tableDef
	h       []*segCursor // min-heap; h[0] is the current row
	readers []*segReader
}

func (t *tableCursor) close() error {
	var errs []error
	for _, r := range t.readers {
		errs = append(errs, r.close())
	}
	t.readers, t.h = nil, nil
	return errors.Join(errs...)
}

// start reads the first batch of every segment and orders them.
func (t *tableCursor) start(shard data.Shard) error {
	for _, r := range t.readers {
		c := &segCursor{rd: r, shard: shard, seq: r.seq}
		if err := c.settle(); err != nil {
			return err
		}
		if c.b != nil {
			t.h = append(t.h, c)
		}
	}
	for i := len(t.h)/2 - 1; i >= 0; i-- {
		t.down(i)
	}
	if t.def.versioned && len(t.h) > 1 {
		return t.skipOlder()
	}
	return nil
}

func (t *tableCursor) valid() bool { return len(t.h) > 0 }

func (t *tableCursor) row() (*colBatch, int) { c := t.h[0]; return c.b, c.i }

func (t *tableCursor) acct() string { c := t.h[0]; return c.b.str[colAccount][c.i] }

func (t *tableCursor) less(a, b *segCursor) bool {
	if c := compareRows(a.b, a.i, b.b, b.i); c != 0 {
		return c < 0
	}
	return a.seq > b.seq // the newest version first
}

func (t *tableCursor) down(i int) {
	n := len(t.h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && t.less(t.h[r], t.h[l]) {
			m = r
		}
		if !t.less(t.h[m], t.h[i]) {
			return
		}
		t.h[i], t.h[m] = t.h[m], t.h[i]
		i = m
	}
}

// advanceTop moves the top cursor one row on and restores the heap.
func (t *tableCursor) advanceTop() error {
	c := t.h[0]
	c.i++
	if err := c.settle(); err != nil {
		return err
	}
	if c.b == nil {
		last := len(t.h) - 1
		t.h[0] = t.h[last]
		t.h[last] = nil
		t.h = t.h[:last]
	}
	if len(t.h) > 1 {
		t.down(0)
	}
	return nil
}

// next moves to the next row (skipping superseded versions).
func (t *tableCursor) next() error {
	if len(t.h) == 1 {
		c := t.h[0]
		c.i++
		if c.i < c.b.n && c.shard.Of <= 1 {
			return nil
		}
		if err := c.settle(); err != nil {
			return err
		}
		if c.b == nil {
			t.h = t.h[:0]
		}
		return nil
	}
	if err := t.advanceTop(); err != nil {
		return err
	}
	if t.def.versioned && len(t.h) > 1 {
		return t.skipOlder()
	}
	return nil
}

// skipOlder drops rows equal in key to the current one from other
// segments: they are older versions (the heap puts the newest first).
func (t *tableCursor) skipOlder() error {
	for len(t.h) > 1 {
		top := t.h[0]
		// The second-smallest is one of the top's children.
		k := 1
		if len(t.h) > 2 && t.less(t.h[2], t.h[1]) {
			k = 2
		}
		o := t.h[k]
		if compareRows(top.b, top.i, o.b, o.i) != 0 {
			return nil
		}
		o.i++
		if err := o.settle(); err != nil {
			return err
		}
		if o.b == nil {
			last := len(t.h) - 1
			t.h[k] = t.h[last]
			t.h[last] = nil
			t.h = t.h[:last]
			if k < len(t.h) {
				t.down(k)
			}
		} else {
			t.down(k)
		}
	}
	return nil
}

// openTable opens every segment of t in m (files only; no data is read).
func (s *Store) openTable(t *tableDef, m *manifest, proj []bool) (*tableCursor, error) {
	return s.openSegments(t, m.Tables[t.name], proj)
}

// openSegments opens segs, segments of t (files only; no data is read).
func (s *Store) openSegments(t *tableDef, segs []Segment, proj []bool) (*tableCursor, error) {
	tc := &tableCursor{def: t}
	for _, sg := range segs {
		r, err := s.openReader(t, sg, proj)
		if err != nil {
			_ = tc.close()
			return nil, err
		}
		r.seq = sg.Seq
		tc.readers = append(tc.readers, r)
	}
	return tc, nil
}

// cursors holds one merged cursor per table.
type cursors struct {
	all                     []*tableCursor
	acc, inv, pay, con, dis *tableCursor
}

func (c *cursors) close() {
	for _, t := range c.all {
		_ = t.close()
	}
}

// openCursors opens every segment of the snapshot under the readers lock,
// releases the lock (open files survive a compaction's unlink), then reads
// the first batch of each.
func (s *Store) openCursors(ctx context.Context, shard data.Shard, only *tableDef, proj []bool) (*cursors, error) {
	m, release, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	c := &cursors{}
	for _, t := range tables {
		if only != nil && t != only {
			continue
		}
		tc, err := s.openTable(t, m, proj)
		if err != nil {
			release()
			c.close()
			return nil, err
		}
		c.all = append(c.all, tc)
		switch t {
		case tblAccounts:
			c.acc = tc
		case tblInvoices:
			c.inv = tc
		case tblPayments:
			c.pay = tc
		case tblContacts:
			c.con = tc
		case tblDisputes:
			c.dis = tc
		}
	}
	release()
	for _, tc := range c.all {
		if err := tc.start(shard); err != nil {
			c.close()
			return nil, err
		}
	}
	return c, nil
}

// span is a window as half-open bounds on unix seconds: a row time v (whole
// seconds) lies in [From, To) iff lo ≤ v < hi, with lo = ⌈From⌉, hi = ⌈To⌉.
type span struct{ lo, hi int64 }

func spanOf(w data.Window) span {
	sp := span{math.MinInt64, math.MaxInt64}
	ceil := func(t time.Time) int64 {
		if t.Nanosecond() > 0 {
			return t.Unix() + 1
		}
		return t.Unix()
	}
	if !w.From.IsZero() {
		sp.lo = ceil(w.From)
	}
	if !w.To.IsZero() {
		sp.hi = ceil(w.To)
	}
	return sp
}

func (s span) all() bool { return s.lo == math.MinInt64 && s.hi == math.MaxInt64 }

// has reports whether row i's own time is in the span.
func (s span) has(b *colBatch, i int) bool {
	var v int64
	if b.i32[colTime] != nil {
		v = int64(b.i32[colTime][i]) * 86400 // a date is its midnight UTC
	} else {
		v = b.i64[colTime][i]
	}
	return v >= s.lo && v < s.hi
}

// slab hands out sub-slices of large shared arrays so that assembling a
// history costs no allocation per row (one per slabRows rows). Rows are
// appended in place; a run that outgrows the array moves to a new one.
type slab[T any] struct {
	buf   []T
	start int // first row of the run being built
}

const slabRows = 4096

func (s *slab[T]) add(r T) {
	if len(s.buf) == cap(s.buf) {
		run := s.buf[s.start:]
		nb := make([]T, len(run), max(slabRows, 2*len(run)))
		copy(nb, run)
		s.buf, s.start = nb, 0
	}
	s.buf = append(s.buf, r)
}

// take returns the run built since the last take as a full slice (appends
// by the caller reallocate instead of overwriting the next run).
func (s *slab[T]) take() []T {
	if len(s.buf) == s.start {
		return nil
	}
	out := s.buf[s.start:len(s.buf):len(s.buf)]
	s.start = len(s.buf)
	return out
}

// assembler builds histories from cursors.
type assembler struct {
	win  span
	hs   []data.History
	inv  slab[data.Invoice]
	pay  slab[data.Payment]
	con  slab[data.Contact]
	dis  slab[data.Dispute]
	full bool
}

func (a *assembler) newHistory() *data.History {
	if len(a.hs) == 0 {
		a.hs = make([]data.History, 256)
	}
	h := &a.hs[0]
	a.hs = a.hs[1:]
	return h
}

// gather collects the rows of account acct from tc (in window).
func gather[T any](tc *tableCursor, acct string, ops *rowOps[T], sl *slab[T], win span, full bool) ([]T, error) {
	for tc.valid() {
		if len(tc.h) == 1 && tc.h[0].shard.Of <= 1 {
			// One segment, no shard filter: take the account's run in
			// this batch without per-row cursor calls.
			c := tc.h[0]
			b, accts := c.b, c.b.str[colAccount]
			j := c.i
			for j < b.n && accts[j] == acct {
				if full || win.has(b, j) {
					sl.add(ops.get(b, j))
				}
				j++
			}
			if j == c.i {
				break
			}
			c.i = j - 1
			if err := tc.next(); err != nil {
				return nil, err
			}
			continue
		}
		b, i := tc.row()
		if b.str[colAccount][i] != acct {
			break
		}
		if full || win.has(b, i) {
			sl.add(ops.get(b, i))
		}
		if err := tc.next(); err != nil {
			return nil, err
		}
	}
	return sl.take(), nil
}

// next assembles the history of the smallest account id left, or nil.
func (c *cursors) next(a *assembler) (*data.History, error) {
	var acct string
	found := false
	for _, tc := range c.all {
		if tc.valid() {
			if id := tc.acct(); !found || id < acct {
				acct, found = id, true
			}
		}
	}
	if !found {
		return nil, nil
	}
	h := a.newHistory()
	if c.acc.valid() && c.acc.acct() == acct {
		b, i := c.acc.row()
		h.Account = accountRows.get(b, i)
		if err := c.acc.next(); err != nil {
			return nil, err
		}
	} else {
		h.Account = data.Account{ID: acct}
	}
	var err error
	if h.Invoices, err = gather(c.inv, acct, &invoiceRows, &a.inv, a.win, a.full); err != nil {
		return nil, err
	}
	if h.Payments, err = gather(c.pay, acct, &paymentRows, &a.pay, a.win, a.full); err != nil {
		return nil, err
	}
	if h.Contacts, err = gather(c.con, acct, &contactRows, &a.con, a.win, a.full); err != nil {
		return nil, err
	}
	if h.Disputes, err = gather(c.dis, acct, &disputeRows, &a.dis, a.win, a.full); err != nil {
		return nil, err
	}
	return h, nil
}

// Histories implements data.Store: a k-way merge of all segments of the five
// tables by account id, decoding ReadBatchRows rows per segment at a time.
func (s *Store) Histories(ctx context.Context, q data.HistoryQuery) iter.Seq2[*data.History, error] {
	return func(yield func(*data.History, error) bool) {
		if err := q.Shard.Validate(); err != nil {
			yield(nil, err)
			return
		}
		if err := ctx.Err(); err != nil {
			yield(nil, err)
			return
		}
		c, err := s.openCursors(ctx, q.Shard, nil, nil)
		if err != nil {
			yield(nil, err)
			return
		}
		defer c.close()
		a := &assembler{win: spanOf(q.Window)}
		a.full = a.win.all()
		for n := 0; ; n++ {
			if n&63 == 0 {
				if err := ctx.Err(); err != nil {
					yield(nil, err)
					return
				}
			}
			h, err := c.next(a)
			if err != nil {
				yield(nil, err)
				return
			}
			if h == nil || !yield(h, nil) {
				return
			}
		}
	}
}

// Accounts implements data.Store.
func (s *Store) Accounts(ctx context.Context, shard data.Shard) iter.Seq2[data.Account, error] {
	return func(yield func(data.Account, error) bool) {
		if err := shard.Validate(); err != nil {
			yield(data.Account{}, err)
			return
		}
		if err := ctx.Err(); err != nil {
			yield(data.Account{}, err)
			return
		}
		c, err := s.openCursors(ctx, shard, tblAccounts, nil)
		if err != nil {
			yield(data.Account{}, err)
			return
		}
		defer c.close()
		tc := c.acc
		for n := 0; tc.valid(); n++ {
			if n&255 == 0 {
				if err := ctx.Err(); err != nil {
					yield(data.Account{}, err)
					return
				}
			}
			b, i := tc.row()
			if !yield(accountRows.get(b, i), nil) {
				return
			}
			if err := tc.next(); err != nil {
				yield(data.Account{}, err)
				return
			}
		}
	}
}

// History implements data.Store. It reads only segments whose account range
// holds the id, and in them only the row groups whose account_id statistics
// do.
func (s *Store) History(ctx context.Context, accountID string) (*data.History, error) {
	m, release, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	h := &data.History{}
	var found bool
	var accs []data.Account
	if accs, found, err = historyRows(s, m, accountID, &accountRows); err != nil {
		return nil, err
	}
	var f bool
	if h.Invoices, f, err = historyRows(s, m, accountID, &invoiceRows); err != nil {
		return nil, err
	}
	found = found || f
	if h.Payments, f, err = historyRows(s, m, accountID, &paymentRows); err != nil {
		return nil, err
	}
	found = found || f
	if h.Contacts, f, err = historyRows(s, m, accountID, &contactRows); err != nil {
		return nil, err
	}
	found = found || f
	if h.Disputes, f, err = historyRows(s, m, accountID, &disputeRows); err != nil {
		return nil, err
	}
	found = found || f
	if !found {
		return nil, errorf(data.NotFound, "account %q not found", accountID)
	}
	h.Account = data.Account{ID: accountID}
	if len(accs) > 0 {
		h.Account = accs[0]
	}
	data.SortHistory(h)
	return h, nil
}

// historyRows returns the rows of one account in one table, newest version
// per id.
func historyRows[T any](s *Store, m *manifest, id string, ops *rowOps[T]) ([]T, bool, error) {
	t := ops.def
	var rows []T
	var ids []string
	var seqs []uint64
	segs := 0
	for _, sg := range m.Tables[t.name] {
		if id < sg.MinAccount || id > sg.MaxAccount {
			continue
		}
		r, err := s.openPoint(t, sg)
		if err != nil {
			return nil, false, err
		}
		md := r.r.MetaData()
		first, last := -1, -1
		for g := 0; g < md.NumRowGroups(); g++ {
			lo, hi, ok := accountRange(md, g)
			if !ok || (lo <= id && id <= hi) {
				if first < 0 {
					first = g
				}
				last = g
			}
		}
		if first < 0 {
			_ = r.close()
			continue
		}
		segs++
		r.batchRows = pointBatchRows
		r.rgEnd = last + 1
		if err := r.seek(first, pageStart(r.r, first, id)); err != nil {
			_ = r.close()
			return nil, false, errorf(data.Internal, "parquet store: %w: %w", ErrCorrupt, err)
		}
		for {
			b, err := r.next()
			if err != nil {
				_ = r.close()
				return nil, false, errorf(data.Internal, "parquet store: %w: %w", ErrCorrupt, err)
			}
			if b == nil {
				break
			}
			accts := b.str[colAccount][:b.n]
			i := sort.SearchStrings(accts, id)
			for ; i < b.n && accts[i] == id; i++ {
				rows = append(rows, ops.get(b, i))
				ids = append(ids, b.str[t.idCol][i])
				seqs = append(seqs, sg.Seq)
			}
			if i < b.n {
				break // past the account: rows are sorted
			}
		}
		if err := r.close(); err != nil {
			return nil, false, errorf(data.Unavailable, "parquet store: close %s: %w", r.path, err)
		}
	}
	found := len(rows) > 0
	if t.versioned && segs > 1 {
		rows = newest(rows, ids, seqs)
	}
	return rows, found, nil
}

// pointBatchRows is the batch size of point reads (History): small, since
// one account's rows are few.
const pointBatchRows = 256

// newest keeps, for each id, the row with the highest sequence.
func newest[T any](rows []T, ids []string, seqs []uint64) []T {
	best := make(map[string]int, len(rows))
	for i, id := range ids {
		if j, ok := best[id]; !ok || seqs[i] > seqs[j] {
			best[id] = i
		}
	}
	keep := make([]int, 0, len(best))
	for _, i := range best {
		keep = append(keep, i)
	}
	slices.Sort(keep)
	out := make([]T, len(keep))
	for k, i := range keep {
		out[k] = rows[i]
	}
	return out
}
