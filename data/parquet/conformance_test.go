package parquet_test

import (
	"context"
	"testing"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/data/datatest"
	"github.com/duesight/duesight/data/parquet"
)

// openStore opens a store in a new temporary directory with small row
// groups, so that tests cover multi-row-group and multi-segment paths.
func openStore(t testing.TB, dir string, opts parquet.Options) *parquet.Store {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	s, err := parquet.Open(context.Background(), dir, opts)
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	return s
}

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts parquet.Options
	}{
		{"defaults", parquet.Options{}},
		{"tiny-row-groups", parquet.Options{RowGroupRows: 13, SegmentRowGroups: 3, ReadBatchRows: 5}},
		// Automatic compaction after nearly every commit: versions,
		// lookups and counts must not change when segments are merged.
		{"auto-compact-fanout-2", parquet.Options{AutoCompactFanout: 2}},
		{"auto-compact-fanout-2-tiny-row-groups", parquet.Options{AutoCompactFanout: 2, RowGroupRows: 13, SegmentRowGroups: 3, ReadBatchRows: 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dirs := map[data.Store]string{}
			datatest.Run(t, datatest.Harness{
				Open: func(t *testing.T) data.Store {
					dir := t.TempDir()
					s := openStore(t, dir, tc.opts)
					dirs[s] = dir
					return s
				},
				Reopen: func(t *testing.T, s data.Store) data.Store {
					dir := dirs[s]
					if err := s.Close(); err != nil {
						t.Fatalf("close: %v", err)
					}
					return openStore(t, dir, tc.opts)
				},
			})
		})
	}
}
