package features_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/duesight/duesight/features"
)

// TestOutcomeColumnsAreMarked finds the label-derived columns by
// experiment rather than by list: the same rows built with a later label
// horizon keep their features, keys and dates (point in time), so every
// column whose value changes for some row depends on what happened after
// the row's as-of instant, and must be marked label or outcome. A new
// label-derived column left marked as a feature or key fails here.
func TestOutcomeColumnsAreMarked(t *testing.T) {
	store, _ := testStore(t, 21, 40, 80)
	build := func(asOf time.Time) (header []string, rows map[string][]string, cols *features.Columns) {
		tb, err := features.Build(context.Background(), store, features.Options{AsOf: asOf,
			Snapshots: []features.Snapshot{features.SnapshotIssue, features.SnapshotDue}})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := tb.WriteCSV(context.Background(), &buf); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		rows = map[string][]string{}
		for _, r := range recs[1:] {
			rows[r[0]+"/"+r[2]] = r // invoice_id/snapshot
		}
		return recs[0], rows, tb.Columns("t.csv")
	}
	early := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	header, before, cols := build(early)
	header2, after, _ := build(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	if strings.Join(header, ",") != strings.Join(header2, ",") {
		t.Fatal("headers differ between horizons")
	}
	if len(before) < 100 {
		t.Fatalf("%d rows before the early horizon; the test needs more", len(before))
	}
	changed := map[string]int{}
	for k, r := range before {
		r2, ok := after[k]
		if !ok {
			t.Fatalf("row %s is missing with the later horizon", k)
		}
		for i, name := range header {
			if r[i] != r2[i] {
				changed[name]++
			}
		}
	}
	if len(changed) == 0 {
		t.Fatal("no column changed with the horizon: the test sees nothing")
	}
	for _, name := range header {
		role, ok := cols.Role(name)
		if !ok {
			t.Fatalf("column %s has no role in the sidecar", name)
		}
		if changed[name] > 0 && role != features.RoleOutcome && role != features.RoleLabel {
			t.Errorf("column %s changes with the label horizon in %d rows but is marked %s", name, changed[name], role)
		}
	}
	for _, name := range []string{features.ColLate, features.ColDaysLate, features.ColStatus, features.ColSettled} {
		if changed[name] == 0 {
			t.Errorf("outcome column %s never changed: the horizons are too close to test anything", name)
		}
	}
	t.Logf("columns changed by the horizon: %v", changed)
}

// TestRolesInFiles: Parquet keeps each column's role in the field metadata;
// the CSV sidecar lists the columns in the CSV's order and reads back.
func TestRolesInFiles(t *testing.T) {
	ctx := context.Background()
	tb := ioTable(t)
	var buf bytes.Buffer
	if err := tb.WriteParquet(ctx, &buf, features.ParquetOptions{}); err != nil {
		t.Fatal(err)
	}
	pr, err := file.NewParquetReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	fr, err := pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	schema, err := fr.Schema()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[features.Role]int{}
	for _, f := range schema.Fields() {
		v, ok := f.Metadata.GetValue(features.MetaRole)
		if !ok {
			t.Fatalf("parquet column %s has no %s metadata", f.Name, features.MetaRole)
		}
		want, _ := features.ColumnRole(f.Name)
		if features.Role(v) != want {
			t.Errorf("parquet column %s: role %q, want %q", f.Name, v, want)
		}
		counts[features.Role(v)]++
	}
	if counts[features.RoleFeature] != len(features.Names()) || counts[features.RoleLabel] != 1 || counts[features.RoleOutcome] != 7 ||
		counts[features.RoleTime] != 3 || counts[features.RoleKey] != 5 {
		t.Fatalf("role counts %v", counts)
	}

	cols := tb.Columns("table.csv")
	path := filepath.Join(t.TempDir(), "table.csv"+features.ColumnsSuffix)
	b, err := cols.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	back, err := features.ReadColumns(path)
	if err != nil {
		t.Fatal(err)
	}
	fields := tb.ArrowSchema().Fields()
	if len(back.Columns) != len(fields) || back.Label != features.ColLate || back.Time != features.ColIssueDate ||
		back.Metadata[features.MetaSchemaHash] != tb.SchemaHash {
		t.Fatalf("sidecar read back: %d columns, label %q, time %q, metadata %v", len(back.Columns), back.Label, back.Time, back.Metadata)
	}
	for i, f := range fields {
		if back.Columns[i].Name != f.Name {
			t.Fatalf("sidecar column %d is %s, CSV column %s", i, back.Columns[i].Name, f.Name)
		}
		if back.Columns[i].Description == "" {
			t.Errorf("column %s has no description", f.Name)
		}
	}

	bad := []struct{ body, want string }{
		{`{"format":"other","columns":[]}`, "format"},
		{`{"format":"duesight-columns/1","columns":[{"name":"a","role":"id"}]}`, `unknown column role "id"`},
		{`{"format":"duesight-columns/1","columns":[{"name":"a","role":"key"},{"name":"a","role":"key"}]}`, "listed twice"},
		{`{"format":"duesight-columns/1","label":"y","columns":[{"name":"a","role":"key"}]}`, `label column "y"`},
		{`{"format":`, "unexpected end"},
	}
	for _, c := range bad {
		if err := os.WriteFile(path, []byte(c.body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := features.ReadColumns(path); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.body, err, c.want)
		}
	}
}
