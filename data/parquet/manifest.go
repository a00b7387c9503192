package parquet

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/duesight/duesight/data"
)

// Errors that callers may test with errors.Is.
var (
	// ErrSchemaTooNew marks a store written by a newer duesight.
	ErrSchemaTooNew = errors.New("store schema version is newer than this program supports")
	// ErrCorrupt marks a manifest, segment or ledger that cannot be read.
	ErrCorrupt = errors.New("store file is corrupt")
)

const (
	manifestFile = "manifest.json"
	manifestTmp  = "manifest.json.tmp"
	segmentsDir  = "segments"
	lockFile     = "LOCK"
	readersFile  = "READERS"
	ledgerFile   = "ledger.log"
	formatName   = "duesight-parquet"
)

// Segment is one committed, immutable Parquet file of a table.
type Segment struct {
	File       string `json:"file"`        // path relative to the store directory
	Seq        uint64 `json:"seq"`         // generation of the commit (or compaction) that wrote it
	Rows       int64  `json:"rows"`        // row count
	Bytes      int64  `json:"bytes"`       // file size
	MinAccount string `json:"min_account"` // smallest account id in the file
	MaxAccount string `json:"max_account"` // largest account id in the file
}

// manifest is the content of DIR/manifest.json: the only source of truth
// for which segments are committed.
type manifest struct {
	Format        string               `json:"format"`
	SchemaVersion int                  `json:"schema_version"`
	Generation    uint64               `json:"generation"` // incremented by every commit and compaction
	Tables        map[string][]Segment `json:"tables"`     // by table name, in commit order
}

func emptyManifest() *manifest {
	return &manifest{Format: formatName, SchemaVersion: data.SchemaVersion, Tables: map[string][]Segment{}}
}

// clone returns a deep copy whose segment lists may be changed freely.
func (m *manifest) clone() *manifest {
	c := *m
	c.Tables = make(map[string][]Segment, len(m.Tables))
	for k, v := range m.Tables {
		c.Tables[k] = slices.Clone(v)
	}
	return &c
}

// files returns the set of segment files the manifest references.
func (m *manifest) files() map[string]bool {
	out := map[string]bool{}
	for _, segs := range m.Tables {
		for _, s := range segs {
			out[s.File] = true
		}
	}
	return out
}

// fileKey identifies one version of the manifest file (a rename installs a
// new inode), so that readers re-parse it only when it changed.
type fileKey struct {
	dev, ino uint64
	size     int64
	mtime    int64
}

func keyOf(fi os.FileInfo) fileKey {
	k := fileKey{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		k.dev, k.ino = uint64(st.Dev), st.Ino
	}
	return k
}

// readManifest reads and validates DIR/manifest.json.
func readManifest(dir string) (*manifest, fileKey, error) {
	path := filepath.Join(dir, manifestFile)
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fileKey{}, errorf(data.NotFound, "parquet store: manifest %s is missing: %w", path, err)
		}
		return nil, fileKey{}, errorf(data.Unavailable, "parquet store: open manifest: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fileKey{}, errorf(data.Unavailable, "parquet store: stat manifest %s: %w", path, err)
	}
	raw := make([]byte, fi.Size())
	if _, err := f.ReadAt(raw, 0); err != nil {
		return nil, fileKey{}, errorf(data.Unavailable, "parquet store: read manifest %s: %w", path, err)
	}
	m, err := parseManifest(raw)
	if err != nil {
		return nil, fileKey{}, errorf(data.Internal, "parquet store: manifest %s: %w", path, err)
	}
	return m, keyOf(fi), nil
}

// parseManifest decodes and validates a manifest. Errors wrap ErrCorrupt or
// ErrSchemaTooNew.
func parseManifest(raw []byte) (*manifest, error) {
	var m manifest
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: not valid JSON (truncated?): %v", ErrCorrupt, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the JSON object", ErrCorrupt)
	}
	if m.Format != formatName {
		return nil, fmt.Errorf("%w: field format is %q, want %q", ErrCorrupt, m.Format, formatName)
	}
	if m.SchemaVersion > data.SchemaVersion {
		return nil, fmt.Errorf("%w: schema_version %d, this program reads up to %d (upgrade duesight)",
			ErrSchemaTooNew, m.SchemaVersion, data.SchemaVersion)
	}
	if m.SchemaVersion < 1 {
		return nil, fmt.Errorf("%w: field schema_version is %d, want ≥ 1", ErrCorrupt, m.SchemaVersion)
	}
	if m.Tables == nil {
		m.Tables = map[string][]Segment{}
	}
	seen := map[string]bool{}
	for name, segs := range m.Tables {
		if tableByName(name) == nil {
			return nil, fmt.Errorf("%w: unknown table %q", ErrCorrupt, name)
		}
		for i, s := range segs {
			where := fmt.Sprintf("tables.%s[%d]", name, i)
			switch {
			case filepath.Dir(s.File) != segmentsDir || filepath.Clean(s.File) != s.File || !strings.HasSuffix(s.File, ".parquet"):
				return nil, fmt.Errorf("%w: %s.file %q is not a segments/*.parquet path", ErrCorrupt, where, s.File)
			case seen[s.File]:
				return nil, fmt.Errorf("%w: %s.file %q is listed twice", ErrCorrupt, where, s.File)
			case s.Seq == 0 || s.Seq > m.Generation:
				return nil, fmt.Errorf("%w: %s.seq %d is outside 1..generation %d", ErrCorrupt, where, s.Seq, m.Generation)
			case s.Rows <= 0 || s.Bytes <= 0:
				return nil, fmt.Errorf("%w: %s has rows %d, bytes %d; want positive", ErrCorrupt, where, s.Rows, s.Bytes)
			case s.MinAccount > s.MaxAccount:
				return nil, fmt.Errorf("%w: %s.min_account %q > max_account %q", ErrCorrupt, where, s.MinAccount, s.MaxAccount)
			}
			seen[s.File] = true
		}
	}
	return &m, nil
}

func tableByName(name string) *tableDef {
	for _, t := range tables {
		if t.name == name {
			return t
		}
	}
	return nil
}

// checkSegments verifies that every segment the manifest lists exists with
// the recorded size.
func checkSegments(dir string, m *manifest) error {
	for _, t := range tables {
		for _, s := range m.Tables[t.name] {
			path := filepath.Join(dir, s.File)
			fi, err := os.Stat(path)
			if err != nil {
				return errorf(data.Internal, "parquet store: segment %s listed in %s: %w: %w", path, manifestFile, ErrCorrupt, err)
			}
			if fi.Size() != s.Bytes {
				return errorf(data.Internal, "parquet store: segment %s is %d bytes, %s says %d: %w",
					path, fi.Size(), manifestFile, s.Bytes, ErrCorrupt)
			}
		}
	}
	return nil
}

// writeManifest installs m atomically: write manifest.json.tmp, fsync it,
// rename it over manifest.json, fsync the directory.
// installed reports whether the rename happened (the new manifest is
// visible even if the error is not nil).
func writeManifest(dir string, m *manifest, hook func(string)) (installed bool, err error) {
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return false, fmt.Errorf("encode manifest: %w", err)
	}
	raw = append(raw, '\n')
	tmp := filepath.Join(dir, manifestTmp)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return false, fmt.Errorf("create %s: %w", tmp, err)
	}
	if _, err := f.Write(raw); err != nil {
		_ = f.Close()
		return false, fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return false, fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return false, fmt.Errorf("close %s: %w", tmp, err)
	}
	hook("manifest-tmp-synced")
	if err := os.Rename(tmp, filepath.Join(dir, manifestFile)); err != nil {
		return false, fmt.Errorf("install %s: %w", manifestFile, err)
	}
	hook("manifest-renamed")
	if err := syncDir(dir); err != nil {
		return true, err
	}
	return true, nil
}

// syncDir fsyncs a directory so that renames and new entries in it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory %s: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
