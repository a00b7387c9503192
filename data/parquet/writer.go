package parquet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/duesight/duesight/data"
)

// Begin implements data.Store. It fails at once with data.Conflict when
// another goroutine or process holds the writer lock (DIR/LOCK). Before
// returning it deletes garbage left by crashed writers.
func (s *Store) Begin(ctx context.Context) (data.Writer, error) {
	return s.begin(ctx)
}

func (s *Store) begin(ctx context.Context) (*writer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.opts.ReadOnly {
		return nil, errorf(data.Invalid, "parquet store %s: opened read-only", s.dir)
	}
	s.mu.Lock()
	if err := s.checkOpen(); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	if s.writing {
		s.mu.Unlock()
		return nil, errorf(data.Conflict, "parquet store %s: another write is in progress", s.dir)
	}
	s.writing = true
	s.mu.Unlock()
	lock, err := tryLock(filepath.Join(s.dir, lockFile))
	if err != nil {
		s.endWrite(nil)
		return nil, err
	}
	m, err := s.current(ctx)
	if err != nil {
		s.endWrite(lock)
		return nil, err
	}
	if err := checkSegments(s.dir, m); err != nil {
		s.endWrite(lock)
		return nil, err
	}
	s.collectGarbage(m)
	w := &writer{s: s, lock: lock, base: m, gen: m.Generation + 1}
	w.accounts = newTableWriter(w, &accountRows)
	w.invoices = newTableWriter(w, &invoiceRows)
	w.payments = newTableWriter(w, &paymentRows)
	w.contacts = newTableWriter(w, &contactRows)
	w.disputes = newTableWriter(w, &disputeRows)
	w.all = []flusher{w.accounts, w.invoices, w.payments, w.contacts, w.disputes}
	return w, nil
}

func (s *Store) endWrite(lock *os.File) {
	unlock(lock)
	s.mu.Lock()
	s.writing = false
	s.mu.Unlock()
}

// writer is an open all-or-nothing write. Each table buffers up to
// RowGroupRows rows, sorts them by (account_id, time, id) and writes them as
// one row group of the table's open segment; when a chunk sorts before the
// segment's last row (input not in account order) or the segment is full, a
// new segment starts. Memory is bounded by 5 × RowGroupRows rows plus the
// bloom filters of the open segments.
type writer struct {
	s        *Store
	lock     *os.File
	base     *manifest
	gen      uint64
	accounts *tableWriter[data.Account]
	invoices *tableWriter[data.Invoice]
	payments *tableWriter[data.Payment]
	contacts *tableWriter[data.Contact]
	disputes *tableWriter[data.Dispute]
	all      []flusher
	done     bool
	err      error // first write error: the write can only be rolled back
}

type flusher interface {
	flush() error
	finish() ([]Segment, error)
	abort()
}

func (w *writer) Write(ctx context.Context, b *data.Batch) error {
	if w.done {
		return errorf(data.Invalid, "parquet store: write after commit or rollback")
	}
	if w.err != nil {
		return fmt.Errorf("parquet store: write after a failed write: %w", w.err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	err := errors.Join(w.accounts.add(b.Accounts), w.invoices.add(b.Invoices), w.payments.add(b.Payments),
		w.contacts.add(b.Contacts), w.disputes.add(b.Disputes))
	if err != nil {
		w.err = err
		return errorf(data.Unavailable, "parquet store: write: %w", err)
	}
	return nil
}

func (w *writer) Commit(ctx context.Context) error {
	if w.done {
		return errorf(data.Invalid, "parquet store: commit after commit or rollback")
	}
	if w.err != nil {
		return fmt.Errorf("parquet store: commit after a failed write: %w", w.err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return w.commit(ctx)
}

func (w *writer) commit(ctx context.Context) error {
	next := w.base.clone()
	added := 0
	for i, f := range w.all {
		segs, err := f.finish()
		if err != nil {
			w.abort()
			return errorf(data.Unavailable, "parquet store: commit: %w", err)
		}
		t := tables[i]
		for _, sg := range segs {
			sg.Seq = w.gen
			next.Tables[t.name] = append(next.Tables[t.name], sg)
			added++
		}
	}
	if added == 0 { // nothing written: nothing to install
		w.release()
		return nil
	}
	next.Generation = w.gen
	next.SchemaVersion = data.SchemaVersion
	s := w.s
	if err := syncDir(filepath.Join(s.dir, segmentsDir)); err != nil {
		w.abort()
		return errorf(data.Unavailable, "parquet store: commit: %w", err)
	}
	s.hook("segments-synced")
	installed, err := writeManifest(s.dir, next, s.hook)
	if !installed {
		w.abort()
		return errorf(data.Unavailable, "parquet store: commit: %w", err)
	}
	// Installed: the files are referenced now and must stay even if the
	// final directory sync failed.
	s.mu.Lock()
	if fi, serr := os.Stat(filepath.Join(s.dir, manifestFile)); serr == nil {
		s.setManifest(next, keyOf(fi))
	}
	s.mu.Unlock()
	if err != nil {
		w.release()
		return errorf(data.Unavailable, "parquet store: commit generation %d is visible but may not be durable: %w", w.gen, err)
	}
	s.log.Debug("committed", "generation", w.gen, "segments", added)
	s.autoCompact(ctx, next)
	w.release()
	return nil
}

func (w *writer) release() {
	w.done = true
	w.s.endWrite(w.lock)
	w.lock = nil
}

// abort deletes every file of this write and releases the lock.
func (w *writer) abort() {
	if w.done {
		return
	}
	for _, f := range w.all {
		f.abort()
	}
	w.release()
}

func (w *writer) Rollback() error {
	w.abort()
	return nil
}

// tableWriter buffers, sorts and writes the rows of one table.
type tableWriter[T any] struct {
	w     *writer
	ops   *rowOps[T]
	buf   []T
	col   *colBatch
	seg   *segWriter
	segs  []Segment
	nseg  int
	chunk int
}

func newTableWriter[T any](w *writer, ops *rowOps[T]) *tableWriter[T] {
	return &tableWriter[T]{w: w, ops: ops, chunk: w.s.opts.RowGroupRows}
}

func (t *tableWriter[T]) add(rows []T) error {
	for len(rows) > 0 {
		k := min(t.chunk-len(t.buf), len(rows))
		t.buf = append(t.buf, rows[:k]...)
		rows = rows[k:]
		if len(t.buf) >= t.chunk {
			if err := t.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// flush sorts the buffered chunk and writes it as one row group.
func (t *tableWriter[T]) flush() error {
	if len(t.buf) == 0 {
		return nil
	}
	slices.SortFunc(t.buf, t.ops.cmp)
	if t.col == nil {
		t.col = newColBatch(t.ops.def, len(t.buf)) // grows if a later chunk is larger
	}
	t.col.reset()
	for i := range t.buf {
		t.ops.put(t.col, &t.buf[i])
	}
	clear(t.buf)
	t.buf = t.buf[:0]
	s := t.w.s
	if t.seg != nil && (!t.seg.accepts(t.col) || t.seg.rowGroups >= s.opts.SegmentRowGroups) {
		if err := t.closeSegment(); err != nil {
			return err
		}
	}
	if t.seg == nil {
		name := segmentName(t.ops.def, t.w.gen, t.nseg)
		t.nseg++
		seg, err := createSegment(s.dir, name, t.ops.def, s.writerProps(t.ops.def, t.col.n), map[string]string{
			"duesight.table": t.ops.def.name, "duesight.schema_version": fmt.Sprint(data.SchemaVersion)})
		if err != nil {
			return err
		}
		t.seg = seg
	}
	return t.seg.write(t.col)
}

func (t *tableWriter[T]) closeSegment() error {
	sg, err := t.seg.finish()
	t.seg = nil
	if err != nil {
		return err
	}
	t.segs = append(t.segs, sg)
	return nil
}

// finish flushes the last chunk and closes (syncs) the open segment.
func (t *tableWriter[T]) finish() ([]Segment, error) {
	if err := t.flush(); err != nil {
		return nil, err
	}
	if t.seg != nil {
		if err := t.closeSegment(); err != nil {
			return nil, err
		}
	}
	return t.segs, nil
}

func (t *tableWriter[T]) abort() {
	if t.seg != nil {
		t.seg.abort()
		t.seg = nil
	}
	for _, sg := range t.segs {
		_ = os.Remove(filepath.Join(t.w.s.dir, sg.File))
	}
	t.segs = nil
	clear(t.buf)
	t.buf = t.buf[:0]
}
