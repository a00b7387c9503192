package parquet

import (
	"context"
	"os"
	"path/filepath"
	"slices"

	"github.com/duesight/duesight/data"
)

// Compact rewrites every table that has more than one segment into sorted,
// non-overlapping segments (one per SegmentRowGroups row groups; normally
// one), dropping superseded versions, and installs them with one atomic
// manifest swap. It streams: memory is one batch per input segment plus one
// output row group. It takes the writer lock (data.Conflict if a write is in
// progress). Replaced files are deleted once no reader holds the readers
// lock; readers that opened them before keep reading them.
func (s *Store) Compact(ctx context.Context) error {
	w, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer w.abort()
	_, err = s.merge(ctx, w.base, func(segs []Segment) int {
		if len(segs) > 1 {
			return 0
		}
		return -1
	})
	return err
}

// autoMergeFrom is the automatic compaction policy (see doc.go). It returns
// the index of the first segment of the run of newest segments to merge, or
// -1. The run is built from the newest segment backwards: a segment joins
// while it has fewer than maxRows rows and, unless it is the first, no more
// rows than the segments already in the run together. The run is merged
// when it holds at least fanout segments.
func autoMergeFrom(segs []Segment, fanout int, maxRows int64) int {
	var rows int64
	k := 0
	for i := len(segs) - 1; i >= 0; i-- {
		r := segs[i].Rows
		if r >= maxRows || (k > 0 && r > rows) {
			break
		}
		rows += r
		k++
	}
	if fanout < 2 || k < fanout {
		return -1
	}
	return len(segs) - k
}

// autoCompact runs the automatic compaction policy on the manifest m that
// the caller (holding the writer lock) has just installed. A failure
// leaves m as it is (the new files are removed) and is only logged: the
// commit stands and the next commit tries again.
func (s *Store) autoCompact(ctx context.Context, m *manifest) {
	if s.opts.AutoCompactFanout < 0 {
		return
	}
	maxRows := int64(s.opts.RowGroupRows)
	_, err := s.merge(context.WithoutCancel(ctx), m, func(segs []Segment) int {
		return autoMergeFrom(segs, s.opts.AutoCompactFanout, maxRows)
	})
	if err != nil {
		s.log.Warn("automatic compaction failed; the commit stands and the next commit retries",
			"generation", m.Generation, "err", err)
	}
}

// merge rewrites, for each table, the segments from plan(segments) on (a
// suffix of the table's segments in commit order; plan returns -1 to leave
// the table alone) into sorted segments of generation base.Generation+1,
// without superseded versions, and installs them with one atomic manifest
// swap. The caller holds the writer lock. Because only a suffix is merged,
// giving the output the new generation as its seq keeps every version order:
// the segments left before it are all older. It returns the installed
// manifest, or base if nothing was merged. Crash safety is the commit
// protocol's: the new files are garbage (of a generation above the
// manifest's) until the rename, and the replaced files are garbage after it.
func (s *Store) merge(ctx context.Context, base *manifest, plan func([]Segment) int) (*manifest, error) {
	gen := base.Generation + 1
	next := base.clone()
	var made []Segment
	installed := false
	defer func() {
		if !installed {
			for _, sg := range made {
				_ = os.Remove(filepath.Join(s.dir, sg.File))
			}
		}
	}()
	for _, t := range tables {
		segs := base.Tables[t.name]
		from := plan(segs)
		if from < 0 || from >= len(segs) {
			continue
		}
		out, err := s.mergeSegments(ctx, gen, t, segs[from:])
		made = append(made, out...)
		if err != nil {
			return nil, err
		}
		for i := range out {
			out[i].Seq = gen
		}
		next.Tables[t.name] = append(slices.Clone(segs[:from]), out...)
		s.log.Debug("compacted table", "table", t.name, "generation", gen,
			"from_segments", len(segs)-from, "to_segments", len(out), "kept_segments", from)
	}
	if len(made) == 0 {
		return base, nil
	}
	next.Generation = gen
	next.SchemaVersion = data.SchemaVersion
	if err := syncDir(filepath.Join(s.dir, segmentsDir)); err != nil {
		return nil, errorf(data.Unavailable, "parquet store: compact: %w", err)
	}
	s.hook("compact-segments-synced")
	var err error
	installed, err = writeManifest(s.dir, next, s.hook)
	if !installed {
		return nil, errorf(data.Unavailable, "parquet store: compact: %w", err)
	}
	s.mu.Lock()
	if fi, serr := os.Stat(filepath.Join(s.dir, manifestFile)); serr == nil {
		s.setManifest(next, keyOf(fi))
	}
	s.mu.Unlock()
	s.collectGarbage(next)
	if err != nil {
		return next, errorf(data.Unavailable, "parquet store: compaction generation %d is visible but may not be durable: %w", gen, err)
	}
	return next, nil
}

// mergeSegments merges segs (segments of t, in commit order) into new
// segments of generation gen. On error it removes what it wrote.
func (s *Store) mergeSegments(ctx context.Context, gen uint64, t *tableDef, segs []Segment) ([]Segment, error) {
	tc, err := s.openSegments(t, segs, nil)
	if err != nil {
		return nil, err
	}
	defer tc.close()
	if err := tc.start(data.Shard{}); err != nil {
		return nil, errorf(data.Internal, "parquet store: compact %s: %w", t.name, err)
	}
	var rows int64
	for _, sg := range segs {
		rows += sg.Rows
	}
	cw := &compactWriter{s: s, gen: gen, t: t, out: newColBatch(t, int(min(rows, int64(s.opts.RowGroupRows))))}
	defer cw.abort()
	for n := 0; tc.valid(); n++ {
		if n&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		b, i := tc.row()
		cw.out.appendRow(b, i)
		if cw.out.n >= s.opts.RowGroupRows {
			if err := cw.flush(); err != nil {
				return nil, err
			}
		}
		if err := tc.next(); err != nil {
			return nil, errorf(data.Internal, "parquet store: compact %s: %w", t.name, err)
		}
	}
	if err := cw.flush(); err != nil {
		return nil, err
	}
	if cw.seg != nil {
		sg, err := cw.seg.finish()
		cw.seg = nil
		if err != nil {
			return nil, errorf(data.Unavailable, "parquet store: compact %s: %w", t.name, err)
		}
		cw.done = append(cw.done, sg)
	}
	out := cw.done
	cw.done = nil // handed over: merge removes them unless installed
	return out, nil
}

// compactWriter writes the merged rows of one table.
type compactWriter struct {
	s    *Store
	gen  uint64
	t    *tableDef
	out  *colBatch
	seg  *segWriter
	done []Segment
	n    int
}

func (c *compactWriter) flush() error {
	if c.out.n == 0 {
		return nil
	}
	if c.seg != nil && c.seg.rowGroups >= c.s.opts.SegmentRowGroups {
		sg, err := c.seg.finish()
		c.seg = nil
		if err != nil {
			return errorf(data.Unavailable, "parquet store: compact %s: %w", c.t.name, err)
		}
		c.done = append(c.done, sg)
	}
	if c.seg == nil {
		seg, err := createSegment(c.s.dir, segmentName(c.t, c.gen, c.n), c.t, c.s.writerProps(c.t, c.out.n), map[string]string{
			"duesight.table": c.t.name, "duesight.compacted": "true"})
		if err != nil {
			return errorf(data.Unavailable, "parquet store: compact %s: %w", c.t.name, err)
		}
		c.n++
		c.seg = seg
	}
	if err := c.seg.write(c.out); err != nil {
		return errorf(data.Unavailable, "parquet store: compact %s: %w", c.t.name, err)
	}
	c.out.reset()
	return nil
}

func (c *compactWriter) abort() {
	if c.seg != nil {
		c.seg.abort()
	}
	for _, sg := range c.done {
		_ = os.Remove(filepath.Join(c.s.dir, sg.File))
	}
}
