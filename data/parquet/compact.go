package parquet

import (
	"context"
	"os"
	"path/filepath"

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
	next := w.base.clone()
	changed := 0
	for _, t := range tables {
		segs := w.base.Tables[t.name]
		if len(segs) <= 1 {
			continue
		}
		out, err := s.compactTable(ctx, w, t, w.base)
		if err != nil {
			return err
		}
		for i := range out {
			out[i].Seq = w.gen
		}
		next.Tables[t.name] = out
		changed++
		s.log.Debug("compacted table", "table", t.name, "from_segments", len(segs), "to_segments", len(out))
	}
	if changed == 0 {
		return nil
	}
	next.Generation = w.gen
	next.SchemaVersion = data.SchemaVersion
	if err := syncDir(filepath.Join(s.dir, segmentsDir)); err != nil {
		return errorf(data.Unavailable, "parquet store: compact: %w", err)
	}
	s.hook("compact-segments-synced")
	installed, err := writeManifest(s.dir, next, s.hook)
	if !installed {
		return errorf(data.Unavailable, "parquet store: compact: %w", err)
	}
	s.mu.Lock()
	if fi, serr := os.Stat(filepath.Join(s.dir, manifestFile)); serr == nil {
		s.setManifest(next, keyOf(fi))
	}
	s.mu.Unlock()
	w.committed = true
	s.collectGarbage(next)
	w.release()
	if err != nil {
		return errorf(data.Unavailable, "parquet store: compaction generation %d is visible but may not be durable: %w", w.gen, err)
	}
	return nil
}

// compactTable merges all segments of t into new segments of generation w.gen.
func (s *Store) compactTable(ctx context.Context, w *writer, t *tableDef, m *manifest) ([]Segment, error) {
	tc, err := s.openTable(t, m, nil)
	if err != nil {
		return nil, err
	}
	defer tc.close()
	if err := tc.start(data.Shard{}); err != nil {
		return nil, errorf(data.Internal, "parquet store: compact %s: %w", t.name, err)
	}
	cw := &compactWriter{s: s, w: w, t: t, out: newColBatch(t, s.opts.RowGroupRows)}
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
	cw.done = nil // handed over: the caller's abort path removes them via the writer
	w.extra = append(w.extra, out...)
	return out, nil
}

// compactWriter writes the merged rows of one table.
type compactWriter struct {
	s    *Store
	w    *writer
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
		seg, err := createSegment(c.s.dir, segmentName(c.t, c.w.gen, c.n), c.t, c.s.props[c.t], map[string]string{
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
