package parquet

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
)

// writerProps returns the Parquet writer properties of one table.
// Every column is REQUIRED (no definition levels); dictionary encoding is on
// only for the low-cardinality string columns; statistics are kept for
// account_id (row-group pruning in History and Lookup) and the id column;
// bloom filters for the id columns Lookup searches by.
// Bloom filters are sized for bloomNDV distinct values per row group.
func writerProps(def *tableDef, codec compress.Compression, bloomNDV, pageBytes int, bloomFPP float64) *parquet.WriterProperties {
	opts := []parquet.WriterProperty{
		parquet.WithCompression(codec),
		parquet.WithDictionaryDefault(false),
		parquet.WithStats(false),
		parquet.WithStatsFor(def.cols[colAccount].name, true),
		parquet.WithStatsFor(def.cols[def.idCol].name, true),
		parquet.WithCreatedBy("duesight data/parquet"),
		parquet.WithAllocator(memory.DefaultAllocator),
		parquet.WithDataPageSize(int64(pageBytes)),
		// Column and offset indexes let History seek to the page that
		// holds an account instead of decoding its whole row group.
		parquet.WithPageIndexEnabled(true),
	}
	for _, c := range def.cols {
		if c.dict {
			opts = append(opts, parquet.WithDictionaryFor(c.name, true))
		}
		if c.bloom {
			opts = append(opts, parquet.WithBloomFilterEnabledFor(c.name, true),
				parquet.WithBloomFilterNDVFor(c.name, int64(bloomNDV)),
				parquet.WithBloomFilterFPPFor(c.name, bloomFPP))
		}
	}
	return parquet.NewWriterProperties(opts...)
}

// segWriter writes one immutable segment file: row groups of rows sorted by
// (account_id, time, id), each strictly after the previous one.
type segWriter struct {
	def       *tableDef
	name      string // path relative to the store directory
	path      string
	f         *os.File
	bw        *bufio.Writer
	pw        *file.Writer
	rows      int64
	rowGroups int
	minAcct   string
	maxAcct   string
	last      *colBatch // the last row written (one row)
	scratch   []parquet.ByteArray
	arena     []byte
}

// segBuffers recycles the 1 MiB write buffers of segment files: a commit of
// a few rows should not allocate (and zero) a fresh megabyte per table.
var segBuffers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 1<<20) }}

// releaseBuffer returns the write buffer to segBuffers.
func (w *segWriter) releaseBuffer() {
	if w.bw != nil {
		w.bw.Reset(nil)
		segBuffers.Put(w.bw)
		w.bw = nil
	}
}

// plainWriter hides the Close method of its writer so that the Parquet
// writer does not close the file before it is synced.
type plainWriter struct{ w io.Writer }

func (p plainWriter) Write(b []byte) (int, error) { return p.w.Write(b) }

func createSegment(dir, name string, def *tableDef, props *parquet.WriterProperties, kv map[string]string) (*segWriter, error) {
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create segment %s: %w", path, err)
	}
	bw := segBuffers.Get().(*bufio.Writer)
	bw.Reset(f)
	w := &segWriter{def: def, name: name, path: path, f: f, bw: bw, last: newColBatch(def, 1)}
	md := metadata.NewKeyValueMetadata()
	for k, v := range kv {
		if err := md.Append(k, v); err != nil {
			w.abort()
			return nil, fmt.Errorf("create segment %s: metadata %s: %w", path, k, err)
		}
	}
	w.pw, err = file.NewParquetWriterWithError(plainWriter{w.bw}, def.schema, file.WithWriterProps(props),
		file.WithWriteMetadata(md))
	if err != nil {
		w.abort()
		return nil, fmt.Errorf("create segment %s: %w", path, err)
	}
	return w, nil
}

// accepts reports whether a batch starting with row 0 of b may be appended
// (it sorts at or after the last row written).
func (w *segWriter) accepts(b *colBatch) bool {
	return w.rows == 0 || compareRows(w.last, 0, b, 0) <= 0
}

// write appends b (sorted, non-empty) as one row group.
func (w *segWriter) write(b *colBatch) error {
	rg, err := w.pw.AppendRowGroupChecked()
	if err != nil {
		return fmt.Errorf("segment %s: append row group: %w", w.path, err)
	}
	for c, cd := range w.def.cols {
		cw, err := rg.NextColumn()
		if err != nil {
			return fmt.Errorf("segment %s: column %s: %w", w.path, cd.name, err)
		}
		switch cd.typ {
		case tString:
			vals := b.str[c][:b.n]
			w.arena = w.arena[:0]
			for _, s := range vals {
				w.arena = append(w.arena, s...)
			}
			w.scratch = w.scratch[:0]
			off := 0
			for _, s := range vals {
				w.scratch = append(w.scratch, w.arena[off:off+len(s):off+len(s)])
				off += len(s)
			}
			_, err = cw.(*file.ByteArrayColumnChunkWriter).WriteBatch(w.scratch, nil, nil)
		case tInt32:
			_, err = cw.(*file.Int32ColumnChunkWriter).WriteBatch(b.i32[c][:b.n], nil, nil)
		case tInt64:
			_, err = cw.(*file.Int64ColumnChunkWriter).WriteBatch(b.i64[c][:b.n], nil, nil)
		}
		if err != nil {
			return fmt.Errorf("segment %s: write column %s: %w", w.path, cd.name, err)
		}
		if err := cw.Close(); err != nil {
			return fmt.Errorf("segment %s: close column %s: %w", w.path, cd.name, err)
		}
	}
	if err := rg.Close(); err != nil {
		return fmt.Errorf("segment %s: close row group: %w", w.path, err)
	}
	first, lastAcct := b.str[colAccount][0], b.str[colAccount][b.n-1]
	if w.rows == 0 || first < w.minAcct {
		w.minAcct = first
	}
	if lastAcct > w.maxAcct {
		w.maxAcct = lastAcct
	}
	w.last.reset()
	w.last.appendRow(b, b.n-1)
	w.rows += int64(b.n)
	w.rowGroups++
	return nil
}

// finish writes the footer, syncs and closes the file.
func (w *segWriter) finish() (Segment, error) {
	err := w.pw.Close()
	if err == nil {
		err = w.bw.Flush()
	}
	if err == nil {
		err = w.f.Sync()
	}
	var size int64
	if err == nil {
		var fi os.FileInfo
		if fi, err = w.f.Stat(); err == nil {
			size = fi.Size()
		}
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	w.f = nil
	w.releaseBuffer()
	if err != nil {
		_ = os.Remove(w.path)
		return Segment{}, fmt.Errorf("finish segment %s: %w", w.path, err)
	}
	return Segment{File: w.name, Rows: w.rows, Bytes: size, MinAccount: w.minAcct, MaxAccount: w.maxAcct}, nil
}

// abort closes and deletes a segment that will not be committed.
func (w *segWriter) abort() {
	if w.f != nil {
		_ = w.f.Close()
		w.f = nil
	}
	w.releaseBuffer()
	_ = os.Remove(w.path)
}

// segReader reads a segment's row groups [rg, rgEnd) in batches. Strings of
// one column of one batch share a single allocation; consecutive equal values
// (account ids, currencies) share one string.
type segReader struct {
	def       *tableDef
	path      string
	seq       uint64 // commit sequence of the segment
	f         *os.File
	r         *file.Reader
	proj      []bool // columns to read; others stay empty
	rg, rgEnd int
	left      int64 // rows left in the open row group
	ccr       []file.ColumnChunkReader
	b         *colBatch
	batchRows int
	scratch   []parquet.ByteArray
	arena     []byte
	ends      []int32
}

// openSegment opens a segment file. md, when not nil, is the file's cached
// footer. The file's schema is checked against def.
func openSegment(path string, def *tableDef, md *metadata.FileMetaData, props *parquet.ReaderProperties) (*file.Reader, *os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("open segment %s: %w", path, err)
	}
	opts := []file.ReadOption{file.WithReadProps(props)}
	if md != nil {
		opts = append(opts, file.WithMetadata(md))
	}
	r, err := file.NewParquetReader(f, opts...)
	if err != nil {
		_ = f.Close()
		return nil, nil, fmt.Errorf("open segment %s: not a readable Parquet file: %w", path, err)
	}
	if md == nil {
		sc := r.MetaData().Schema
		if sc.NumColumns() != len(def.cols) {
			_ = f.Close()
			return nil, nil, fmt.Errorf("open segment %s: %d columns, want %d for table %s", path, sc.NumColumns(), len(def.cols), def.name)
		}
		for i, c := range def.cols {
			if got := sc.Column(i).Name(); got != c.name {
				_ = f.Close()
				return nil, nil, fmt.Errorf("open segment %s: column %d is %q, want %q", path, i, got, c.name)
			}
		}
	}
	return r, f, nil
}

func newSegReader(def *tableDef, path string, f *os.File, r *file.Reader, proj []bool, batchRows int) *segReader {
	return &segReader{def: def, path: path, f: f, r: r, proj: proj, rgEnd: r.NumRowGroups(), batchRows: batchRows,
		b: newColBatch(def, 0), ccr: make([]file.ColumnChunkReader, len(def.cols))}
}

// limit restricts the reader to row groups [from, to).
func (r *segReader) limit(from, to int) { r.rg, r.rgEnd, r.left = from, to, 0 }

func (r *segReader) close() error {
	r.closeColumns()
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}

func (r *segReader) closeColumns() {
	for i, c := range r.ccr {
		if c != nil {
			_ = c.Close()
			r.ccr[i] = nil
		}
	}
}

func (r *segReader) wants(c int) bool { return r.proj == nil || r.proj[c] }

// next returns the next batch, or nil at the end. The batch is reused by the
// following call; strings in it stay valid.
func (r *segReader) next() (*colBatch, error) {
	for r.left == 0 {
		if r.rg >= r.rgEnd {
			r.closeColumns()
			return nil, nil
		}
		if err := r.openRowGroup(r.rg); err != nil {
			return nil, err
		}
	}
	n := int(min(r.left, int64(r.batchRows)))
	b := r.b
	b.reset()
	for c, cd := range r.def.cols {
		if !r.wants(c) {
			continue
		}
		var err error
		switch cd.typ {
		case tString:
			b.str[c], err = r.readStrings(r.ccr[c].(*file.ByteArrayColumnChunkReader), n, b.str[c], c == colAccount || cd.dict)
		case tInt32:
			b.i32[c] = grow(b.i32[c], n)
			err = readFixed(r.ccr[c].(*file.Int32ColumnChunkReader).ReadBatch, b.i32[c])
		case tInt64:
			b.i64[c] = grow(b.i64[c], n)
			err = readFixed(r.ccr[c].(*file.Int64ColumnChunkReader).ReadBatch, b.i64[c])
		}
		if err != nil {
			return nil, fmt.Errorf("segment %s: row group %d column %s: %w", r.path, r.rg-1, cd.name, err)
		}
	}
	b.n = n
	r.left -= int64(n)
	return b, nil
}

// openRowGroup opens the column readers of row group g; next reads it.
func (r *segReader) openRowGroup(g int) error {
	r.closeColumns()
	rg := r.r.RowGroup(g)
	r.left = rg.NumRows()
	for c := range r.def.cols {
		if !r.wants(c) {
			continue
		}
		cr, err := rg.Column(c)
		if err != nil {
			return fmt.Errorf("segment %s: row group %d column %s: %w", r.path, g, r.def.cols[c].name, err)
		}
		r.ccr[c] = cr
	}
	r.rg = g + 1
	return nil
}

type rowSeeker interface {
	HasNext() bool
	SeekToRow(int64) error
}

// seek positions the reader at row first of row group g, using the offset
// index to skip whole pages; next then reads from there to the end of
// the reader's row-group range.
func (r *segReader) seek(g int, first int64) error {
	if err := r.openRowGroup(g); err != nil {
		return err
	}
	if first <= 0 {
		return nil
	}
	for c, cr := range r.ccr {
		if cr == nil {
			continue
		}
		sk := cr.(rowSeeker)
		if r.def.cols[c].dict {
			sk.HasNext() // read the dictionary page before jumping past it
		}
		if err := sk.SeekToRow(first); err != nil {
			return fmt.Errorf("segment %s: row group %d column %s: seek to row %d: %w", r.path, g, r.def.cols[c].name, first, err)
		}
	}
	r.left -= first
	return nil
}

// pageStart returns the first row of the page of row group g where rows
// of account id may start: the last page whose account_id minimum is below
// id (page minimums of sorted rows are ascending). Without a page index it
// returns 0.
func pageStart(rd *file.Reader, g int, id string) int64 {
	rgi, err := rd.GetPageIndexReader().RowGroup(g)
	if err != nil || rgi == nil {
		return 0
	}
	ci, err := rgi.GetColumnIndex(colAccount)
	if err != nil || ci == nil {
		return 0
	}
	oi, err := rgi.GetOffsetIndex(colAccount)
	if err != nil || oi == nil {
		return 0
	}
	mins, pages := ci.GetMinValues(), oi.GetPageLocations()
	if len(mins) != len(pages) {
		return 0
	}
	k := sort.Search(len(mins), func(i int) bool { return string(mins[i]) >= id }) - 1
	if k < 0 {
		return 0
	}
	return pages[k].FirstRowIndex
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

var errShortColumn = errors.New("column chunk ended before its row count (truncated or corrupt file)")

func readFixed[T int32 | int64](read func(int64, []T, []int16, []int16) (int64, int, error), dst []T) error {
	for got := 0; got < len(dst); {
		total, _, err := read(int64(len(dst)-got), dst[got:], nil, nil)
		if err != nil {
			return err
		}
		if total == 0 {
			return errShortColumn
		}
		got += int(total)
	}
	return nil
}

// readStrings reads n values into dst. Page values are copied into one arena
// per batch that becomes a single string; each value is a substring of it.
// With dedupe, a value equal to the previous one shares its string (sorted
// account ids, low-cardinality columns).
func (r *segReader) readStrings(cr *file.ByteArrayColumnChunkReader, n int, dst []string, dedupe bool) ([]string, error) {
	r.scratch = grow(r.scratch, n)
	r.arena = r.arena[:0]
	r.ends = r.ends[:0]
	prevStart, prevEnd := -1, -1
	for got := 0; got < n; {
		total, _, err := cr.ReadBatchInPage(int64(n-got), r.scratch[got:n], nil, nil)
		if err != nil {
			return dst, err
		}
		if total == 0 {
			if cr.Err() != nil {
				return dst, cr.Err()
			}
			return dst, errShortColumn
		}
		// Copy now: the page buffer may be reused by the next call.
		for _, v := range r.scratch[got : got+int(total)] {
			if dedupe && prevStart >= 0 && bytes.Equal(r.arena[prevStart:prevEnd], v) {
				r.ends = append(r.ends, -1) // same as the previous value
				continue
			}
			prevStart = len(r.arena)
			r.arena = append(r.arena, v...)
			prevEnd = len(r.arena)
			r.ends = append(r.ends, int32(prevEnd))
		}
		got += int(total)
	}
	s := string(r.arena)
	dst = grow(dst, n)
	start := 0
	for i, e := range r.ends {
		if e < 0 {
			dst[i] = dst[i-1]
			continue
		}
		dst[i] = s[start:e]
		start = int(e)
	}
	return dst, nil
}

// accountRange returns the min/max account id statistics of row group rg.
func accountRange(md *metadata.FileMetaData, rg int) (lo, hi string, ok bool) {
	return stringRange(md, rg, colAccount)
}

// stringRange returns the min/max statistics of a string column in row group rg.
func stringRange(md *metadata.FileMetaData, rg, col int) (lo, hi string, ok bool) {
	cc, err := md.RowGroup(rg).ColumnChunk(col)
	if err != nil {
		return "", "", false
	}
	if set, err := cc.StatsSet(); err != nil || !set {
		return "", "", false
	}
	st, err := cc.Statistics()
	if err != nil || st == nil || !st.HasMinMax() {
		return "", "", false
	}
	bs, isBA := st.(*metadata.ByteArrayStatistics)
	if !isBA {
		return "", "", false
	}
	return string(bs.Min()), string(bs.Max()), true
}
