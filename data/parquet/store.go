package parquet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/bits"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/metadata"

	"github.com/duesight/duesight/data"
)

// Compression names a segment compression codec.
type Compression string

const (
	Snappy       Compression = "snappy"
	Zstd         Compression = "zstd"
	Uncompressed Compression = "none"
)

// Options configure a Store. The zero value is a read-write store with the
// defaults documented on each field.
type Options struct {
	// ReadOnly opens an existing store for reading only: Begin, Compact
	// and AppendActions fail, and nothing in the directory is changed.
	ReadOnly bool
	// Logger receives operational messages (never names or amounts).
	// Nil discards them.
	Logger *slog.Logger
	// RowGroupRows is the number of rows per Parquet row group and the
	// size of the chunk a Writer buffers and sorts per table before
	// writing it. Default 65536.
	RowGroupRows int
	// SegmentRowGroups caps the row groups of one segment file (it bounds
	// the bloom-filter memory a writer holds). Default 128.
	SegmentRowGroups int
	// PageBytes is the target size of a Parquet data page of new
	// segments: the unit History(id) decompresses per column after seeking
	// with the page index. Smaller pages make History faster and full
	// scans slower (measured: 64 KiB pages cut History's CPU time about in
	// half and the stream rate by about 10%). Default 256 KiB.
	PageBytes int
	// ReadBatchRows is the number of rows decoded at once per segment
	// while streaming. Default 8192.
	ReadBatchRows int
	// Compression of new segments. Default Snappy (see doc.go).
	Compression Compression
	// BloomFPP is the false-positive rate of the id bloom filters that
	// Lookup uses to skip row groups. Default 0.001 (at the default
	// RowGroupRows the filter of a full row group is 128 KiB per column
	// chunk either way: sizes round up to a power of two; a segment whose
	// only row group is smaller gets a filter sized for its rows).
	BloomFPP float64
	// AutoCompactFanout: after every commit, the newest segments of each
	// table that form a run of at least this many small segments are
	// merged into one (policy and cost: doc.go, "Compaction"). Default 8; a
	// negative value turns automatic compaction off (Compact still works).
	AutoCompactFanout int
}

func (o *Options) withDefaults() (Options, error) {
	c := *o
	if c.RowGroupRows == 0 {
		c.RowGroupRows = 65536
	}
	if c.SegmentRowGroups == 0 {
		c.SegmentRowGroups = 128
	}
	if c.PageBytes == 0 {
		c.PageBytes = 256 << 10
	}
	if c.ReadBatchRows == 0 {
		c.ReadBatchRows = 8192
	}
	if c.Compression == "" {
		c.Compression = Snappy
	}
	if c.AutoCompactFanout == 0 {
		c.AutoCompactFanout = 8
	}
	if c.BloomFPP == 0 {
		c.BloomFPP = 0.001
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	switch {
	case c.RowGroupRows < 1 || c.SegmentRowGroups < 1 || c.ReadBatchRows < 1 || c.PageBytes < 1:
		return c, fmt.Errorf("RowGroupRows, SegmentRowGroups, ReadBatchRows and PageBytes must be positive")
	case c.AutoCompactFanout == 1:
		return c, fmt.Errorf("AutoCompactFanout 1 would rewrite a segment on every commit; use at least 2, or a negative value to turn it off")
	case c.BloomFPP <= 0 || c.BloomFPP >= 1:
		return c, fmt.Errorf("BloomFPP %v is outside (0, 1)", c.BloomFPP)
	}
	if _, err := c.codec(); err != nil {
		return c, err
	}
	return c, nil
}

func (o *Options) codec() (compress.Compression, error) {
	switch o.Compression {
	case Snappy:
		return compress.Codecs.Snappy, nil
	case Zstd:
		return compress.Codecs.Zstd, nil
	case Uncompressed:
		return compress.Codecs.Uncompressed, nil
	}
	return 0, fmt.Errorf("unknown compression %q (want snappy, zstd or none)", o.Compression)
}

// Store is the embedded Parquet data.Store. It is safe for concurrent use;
// several processes may open the same directory.
type Store struct {
	dir    string
	opts   Options
	log    *slog.Logger
	codec  compress.Compression
	rprops *parquet.ReaderProperties // streaming reads
	pprops *parquet.ReaderProperties // point reads (History, Lookup): small buffers
	alloc  poolAllocator
	// bloomBufs recycles the *memory.Buffer (Go-allocated) that bloom
	// filters are read into (see probe.mayHold).
	bloomBufs sync.Pool
	hook      func(stage string) // crash-test hook; nil outside tests

	readers sharedLock
	ledger  ledger

	propsMu sync.Mutex // guards props
	props   map[propsKey]*parquet.WriterProperties

	mu      sync.Mutex // guards the fields below
	closed  bool
	writing bool
	man     *manifest
	manKey  fileKey
	meta    map[string]*metadata.FileMetaData // footers of segment files, by file name
	counts  map[uint64]data.Counts            // Count result of the latest generation counted
}

// propsKey names the writer properties of one table at one bloom filter size.
type propsKey struct {
	t   *tableDef
	ndv int
}

// writerProps returns the writer properties of a new segment of t whose
// first row group has rows rows. A first row group smaller than
// RowGroupRows is the only one of its segment (writers flush partial
// chunks only at the end), so its bloom filters are sized for rows rounded
// up to a power of two (at least 64) instead of RowGroupRows: a one-row
// event segment gets a 128-byte filter instead of a 128 KiB one.
func (s *Store) writerProps(t *tableDef, rows int) *parquet.WriterProperties {
	ndv := s.opts.RowGroupRows
	if rows < ndv {
		ndv = max(64, 1<<bits.Len(uint(rows-1)))
	}
	s.propsMu.Lock()
	defer s.propsMu.Unlock()
	k := propsKey{t, ndv}
	p := s.props[k]
	if p == nil {
		p = writerProps(t, s.codec, ndv, s.opts.PageBytes, s.opts.BloomFPP)
		s.props[k] = p
	}
	return p
}

// setManifest installs m as the cached manifest (caller holds mu) and drops
// cached footers and counts of files and generations no longer current.
func (s *Store) setManifest(m *manifest, key fileKey) {
	if s.man != nil && m.Generation < s.man.Generation {
		return
	}
	s.man, s.manKey = m, key
	live := m.files()
	for name := range s.meta {
		if !live[name] {
			delete(s.meta, name)
		}
	}
	for g := range s.counts {
		if g != m.Generation {
			delete(s.counts, g)
		}
	}
}

var _ data.Store = (*Store)(nil)

// errorf returns a *data.Error with code whose cause is fmt.Errorf(format,
// args...), so that errors.Is sees every %w operand.
func errorf(code data.Code, format string, args ...any) error {
	return &data.Error{Code: code, Err: fmt.Errorf(format, args...)}
}

// Open opens the store in dir, creating an empty one (and dir) if dir does
// not hold one. It fails if the manifest is corrupt, names a missing
// segment, or was written with a newer schema version.
func Open(ctx context.Context, dir string, opts Options) (*Store, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, errorf(data.Invalid, "parquet store %s: options: %w", dir, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	codec, _ := o.codec()
	s := &Store{dir: dir, opts: o, log: o.Logger.With("store", "parquet"), codec: codec,
		props: map[propsKey]*parquet.WriterProperties{},
		meta:  map[string]*metadata.FileMetaData{}, counts: map[uint64]data.Counts{}, hook: func(string) {}}
	s.bloomBufs.New = func() any { return memory.NewResizableBuffer(memory.DefaultAllocator) }
	s.rprops = parquet.NewReaderProperties(&s.alloc)
	s.rprops.BufferedStreamEnabled = true
	s.rprops.BufferSize = 64 << 10
	s.pprops = parquet.NewReaderProperties(&s.alloc)
	s.pprops.BufferedStreamEnabled = true
	s.pprops.BufferSize = 8 << 10

	if !o.ReadOnly {
		if err := s.create(); err != nil {
			return nil, err
		}
	}
	s.readers.path = filepath.Join(dir, readersFile)
	m, key, err := readManifest(dir)
	if err != nil {
		return nil, err
	}
	if err := checkSegments(dir, m); err != nil {
		return nil, err
	}
	s.setManifest(m, key)
	s.ledger.init(filepath.Join(dir, ledgerFile), o.ReadOnly)
	if err := s.ledger.open(); err != nil {
		return nil, err
	}
	s.log.Debug("opened", "dir", dir, "generation", m.Generation, "read_only", o.ReadOnly)
	return s, nil
}

// create makes the directory layout and, for a new store, the first
// manifest. A directory holding segments but no manifest is refused: the
// manifest is the only record of what is committed.
func (s *Store) create() error {
	for _, d := range []string{s.dir, filepath.Join(s.dir, segmentsDir)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return errorf(data.Unavailable, "parquet store: create directory %s: %w", d, err)
		}
	}
	for _, name := range []string{lockFile, readersFile} {
		f, err := os.OpenFile(filepath.Join(s.dir, name), os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return errorf(data.Unavailable, "parquet store: create %s: %w", filepath.Join(s.dir, name), err)
		}
		_ = f.Close()
	}
	if _, err := os.Stat(filepath.Join(s.dir, manifestFile)); !errors.Is(err, os.ErrNotExist) {
		return nil // present (or unreadable: readManifest reports it)
	}
	lock, err := tryLock(filepath.Join(s.dir, lockFile))
	if err != nil {
		return err
	}
	defer unlock(lock)
	if _, err := os.Stat(filepath.Join(s.dir, manifestFile)); !errors.Is(err, os.ErrNotExist) {
		return nil // another process created it meanwhile
	}
	ents, err := os.ReadDir(filepath.Join(s.dir, segmentsDir))
	if err != nil {
		return errorf(data.Unavailable, "parquet store: list %s: %w", filepath.Join(s.dir, segmentsDir), err)
	}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".parquet") {
			return errorf(data.Internal, "parquet store: %s is missing but %s holds segment files (e.g. %s): %w",
				filepath.Join(s.dir, manifestFile), filepath.Join(s.dir, segmentsDir), e.Name(), ErrCorrupt)
		}
	}
	if err := syncDir(filepath.Join(s.dir, segmentsDir)); err != nil {
		return errorf(data.Unavailable, "parquet store: %w", err)
	}
	if _, err := writeManifest(s.dir, emptyManifest(), s.hook); err != nil {
		return errorf(data.Unavailable, "parquet store: initialise %s: %w", s.dir, err)
	}
	s.log.Info("created empty store", "dir", s.dir)
	return nil
}

// Dir returns the store directory.
func (s *Store) Dir() string { return s.dir }

// SchemaVersion implements data.Store.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	m, err := s.current(ctx)
	if err != nil {
		return 0, err
	}
	return m.SchemaVersion, nil
}

// Close releases the store. Open streams must be finished first.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.readers.closeFile()
	return s.ledger.close()
}

func (s *Store) checkOpen() error {
	if s.closed {
		return errorf(data.Unavailable, "parquet store %s: closed", s.dir)
	}
	return nil
}

// current returns the latest committed manifest, re-reading manifest.json
// only when its identity (inode, size, mtime) changed.
func (s *Store) current(ctx context.Context) (*manifest, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if err := s.checkOpen(); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	cached, key := s.man, s.manKey
	s.mu.Unlock()
	fi, err := os.Stat(filepath.Join(s.dir, manifestFile))
	if err == nil && keyOf(fi) == key {
		return cached, nil
	}
	m, k, err := readManifest(s.dir)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.setManifest(m, k)
	s.mu.Unlock()
	return m, nil
}

// snapshot takes the shared readers lock and returns the current manifest.
// The caller opens the files it needs, then calls release: open files stay
// readable after a compaction unlinks them.
func (s *Store) snapshot(ctx context.Context) (m *manifest, release func(), err error) {
	s.mu.Lock()
	err = s.checkOpen()
	s.mu.Unlock()
	if err != nil {
		return nil, nil, err
	}
	if err := s.readers.acquire(); err != nil {
		return nil, nil, err
	}
	m, err = s.current(ctx)
	if err != nil {
		s.readers.release()
		return nil, nil, err
	}
	return m, s.readers.release, nil
}

// Stats describes the committed layout.
type Stats struct {
	Generation uint64               // commits and compactions so far
	Segments   map[string][]Segment // by table name
}

// Stats returns the committed layout.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	m, err := s.current(ctx)
	if err != nil {
		return Stats{}, err
	}
	return Stats{Generation: m.Generation, Segments: m.clone().Tables}, nil
}

// footer returns the cached footer of a segment file, or nil.
func (s *Store) footer(name string) *metadata.FileMetaData {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.meta[name]
}

func (s *Store) cacheFooter(name string, md *metadata.FileMetaData) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.meta[name] = md
}

// openReader opens one segment for streaming.
func (s *Store) openReader(t *tableDef, seg Segment, proj []bool) (*segReader, error) {
	return s.openWith(t, seg, proj, s.rprops)
}

// openPoint opens one segment for point reads.
func (s *Store) openPoint(t *tableDef, seg Segment) (*segReader, error) {
	return s.openWith(t, seg, nil, s.pprops)
}

func (s *Store) openWith(t *tableDef, seg Segment, proj []bool, props *parquet.ReaderProperties) (*segReader, error) {
	path := filepath.Join(s.dir, seg.File)
	md := s.footer(seg.File)
	r, f, err := openSegment(path, t, md, props)
	if err != nil {
		return nil, errorf(data.Internal, "parquet store: %w: %w", ErrCorrupt, err)
	}
	if md == nil {
		s.cacheFooter(seg.File, r.MetaData())
	}
	return newSegReader(t, path, f, r, proj, s.opts.ReadBatchRows), nil
}

// segmentName is segments/<table>-<generation>-<n>.parquet.
func segmentName(t *tableDef, gen uint64, n int) string {
	return fmt.Sprintf("%s/%s-%010d-%05d.parquet", segmentsDir, t.name, gen, n)
}

// generationOf parses the generation out of a segment file name.
func generationOf(name string) (uint64, bool) {
	base := strings.TrimSuffix(filepath.Base(name), ".parquet")
	parts := strings.Split(base, "-")
	if len(parts) != 3 || tableByName(parts[0]) == nil {
		return 0, false
	}
	g, err := strconv.ParseUint(parts[1], 10, 64)
	return g, err == nil
}

// collectGarbage deletes files the manifest m does not reference. The
// caller holds the writer lock. Files of a later generation were never
// committed and go at once; files a compaction replaced go only when no
// reader holds the shared readers lock, otherwise a later writer retries.
func (s *Store) collectGarbage(m *manifest) {
	_ = os.Remove(filepath.Join(s.dir, manifestTmp))
	segDir := filepath.Join(s.dir, segmentsDir)
	ents, err := os.ReadDir(segDir)
	if err != nil {
		s.log.Warn("garbage collection: cannot list segments", "err", err)
		return
	}
	live := m.files()
	var replaced []string
	removed := 0
	for _, e := range ents {
		name := segmentsDir + "/" + e.Name()
		if live[name] {
			continue
		}
		gen, ok := generationOf(name)
		if !ok {
			s.log.Warn("garbage collection: leaving unknown file", "file", name)
			continue
		}
		if gen > m.Generation {
			if err := os.Remove(filepath.Join(s.dir, name)); err == nil {
				removed++
			}
			continue
		}
		replaced = append(replaced, name)
	}
	if len(replaced) > 0 {
		ex, err := tryLockFile(filepath.Join(s.dir, readersFile))
		switch {
		case err != nil:
			s.log.Debug("garbage collection: readers active, leaving replaced segments", "count", len(replaced))
		default:
			for _, name := range replaced {
				if err := os.Remove(filepath.Join(s.dir, name)); err == nil {
					removed++
				}
			}
			unlock(ex)
		}
	}
	if removed > 0 {
		if err := syncDir(segDir); err != nil {
			s.log.Warn("garbage collection: sync", "err", err)
		}
		s.log.Debug("garbage collection", "removed", removed)
	}
}

// tryLock takes the exclusive writer lock on path without waiting.
func tryLock(path string) (*os.File, error) {
	f, err := tryLockFile(path)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return nil, errorf(data.Conflict, "parquet store: another writer holds %s", path)
	}
	if err != nil {
		return nil, errorf(data.Unavailable, "parquet store: lock %s: %w", path, err)
	}
	return f, nil
}

// tryLockFile opens path and takes an exclusive flock without waiting.
func tryLockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

// unlock releases a lock taken by tryLock (closing the descriptor drops it).
func unlock(f *os.File) {
	if f != nil {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	}
}

// sharedLock is the shared flock on DIR/READERS, reference-counted within
// the process: the first in-process reader takes it, the last drops it.
type sharedLock struct {
	path string
	mu   sync.Mutex
	f    *os.File
	n    int
}

func (l *sharedLock) acquire() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n == 0 {
		if l.f == nil {
			f, err := os.Open(l.path)
			if err != nil {
				return errorf(data.Unavailable, "parquet store: open readers lock: %w", err)
			}
			l.f = f
		}
		if err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_SH); err != nil {
			return errorf(data.Unavailable, "parquet store: lock %s: %w", l.path, err)
		}
	}
	l.n++
	return nil
}

func (l *sharedLock) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n--
	if l.n == 0 && l.f != nil {
		_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	}
}

func (l *sharedLock) closeFile() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil && l.n == 0 {
		_ = l.f.Close()
		l.f = nil
	}
}
