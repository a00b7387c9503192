package features_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"iter"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/features"
)

func ioTable(t *testing.T) *features.Table {
	t.Helper()
	store, _ := testStore(t, 21, 40, 80)
	tb, err := features.Build(context.Background(), store, features.Options{Grace: 1,
		AsOf:      time.Date(2023, 7, 1, 0, 0, 0, 0, time.UTC),
		Snapshots: []features.Snapshot{features.SnapshotIssue, features.SnapshotDue}})
	if err != nil {
		t.Fatal(err)
	}
	if tb.Stats.Paid == 0 || tb.Stats.UnpaidLate == 0 || tb.Stats.UnpaidPending == 0 || tb.Stats.DueRows == 0 {
		t.Fatalf("table lacks variety: %+v", tb.Stats)
	}
	return tb
}

func TestArrowRoundTrip(t *testing.T) {
	tb := ioTable(t)
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	back, err := features.FromArrow(tb.ArrowSchema(), releasing(tb.Records(mem, 37)))
	if err != nil {
		t.Fatal(err)
	}
	if d := diffTables(tb, back); d != "" {
		t.Fatal(d)
	}
	if !back.Horizon.Equal(tb.Horizon) || back.Grace != tb.Grace {
		t.Fatalf("metadata: horizon %s grace %d, want %s %d", back.Horizon, back.Grace, tb.Horizon, tb.Grace)
	}
	if back.Stats.Paid != tb.Stats.Paid || back.Stats.UnpaidPending != tb.Stats.UnpaidPending || back.Stats.DueRows != tb.Stats.DueRows {
		t.Fatalf("stats %+v, want label counts of %+v", back.Stats, tb.Stats)
	}
	mem.AssertSize(t, 0) // every batch was released
	if _, err := tb.Record(mem, 5, 4); err == nil {
		t.Fatal("Record with lo > hi: want an error")
	}
	rec, err := tb.Record(mem, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	if got := rec.Schema().Field(0).Name; got != features.ColInvoiceID {
		t.Fatalf("first column %s", got)
	}
	x := rec.Column(16 + 2).(*array.Float64) // third feature
	if !sameFloat(x.Value(1), tb.X[2][1]) {
		t.Fatalf("feature value %v, want %v", x.Value(1), tb.X[2][1])
	}
}

// releasing releases each batch after the consumer has seen it.
func releasing(seq iter.Seq2[arrow.RecordBatch, error]) iter.Seq2[arrow.RecordBatch, error] {
	return func(yield func(arrow.RecordBatch, error) bool) {
		for rec, err := range seq {
			ok := yield(rec, err)
			if rec != nil {
				rec.Release()
			}
			if !ok {
				return
			}
		}
	}
}

func TestFromArrowRejects(t *testing.T) {
	tb := ioTable(t)
	rec, err := tb.Record(nil, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	one := func(r arrow.RecordBatch) func(func(arrow.RecordBatch, error) bool) {
		return func(yield func(arrow.RecordBatch, error) bool) { yield(r, nil) }
	}
	cases := []struct {
		name string
		rec  func() arrow.RecordBatch
		want string
	}{
		{"missing column", func() arrow.RecordBatch {
			cols := rec.Columns()[:rec.NumCols()-1]
			s := arrow.NewSchema(rec.Schema().Fields()[:rec.NumCols()-1], nil)
			return array.NewRecordBatch(s, cols, rec.NumRows())
		}, "columns"},
		{"other schema hash", func() arrow.RecordBatch {
			md := arrow.NewMetadata([]string{features.MetaSchemaHash}, []string{"0123"})
			return array.NewRecordBatch(arrow.NewSchema(rec.Schema().Fields(), &md), rec.Columns(), rec.NumRows())
		}, "schema hash"},
		{"bad label status", func() arrow.RecordBatch {
			b := array.NewStringBuilder(memory.DefaultAllocator)
			defer b.Release()
			for range rec.NumRows() {
				b.Append("maybe")
			}
			cols := append([]arrow.Array(nil), rec.Columns()...)
			cols[8] = b.NewArray()
			defer cols[8].Release()
			return array.NewRecordBatch(rec.Schema(), cols, rec.NumRows())
		}, "label_status row 0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := c.rec()
			defer r.Release()
			_, err := features.FromArrow(r.Schema(), one(r))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error mentioning %q", err, c.want)
			}
		})
	}
}

func TestParquetRoundTrip(t *testing.T) {
	ctx := context.Background()
	tb := ioTable(t)
	var buf bytes.Buffer
	if err := tb.WriteParquet(ctx, &buf, features.ParquetOptions{RowGroupRows: 100, BatchRows: 64}); err != nil {
		t.Fatal(err)
	}
	back, err := features.ReadParquet(ctx, bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if d := diffTables(tb, back); d != "" {
		t.Fatal(d)
	}
	if !back.Horizon.Equal(tb.Horizon) || back.Grace != tb.Grace {
		t.Fatalf("metadata: horizon %s grace %d, want %s %d", back.Horizon, back.Grace, tb.Horizon, tb.Grace)
	}

	// The encodings are the chosen ones: floats BYTE_STREAM_SPLIT without a
	// dictionary, low-cardinality strings dictionary-encoded.
	pr, err := file.NewParquetReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	if pr.NumRowGroups() < 2 {
		t.Fatalf("%d row groups, want several (RowGroupRows 100)", pr.NumRowGroups())
	}
	rg := pr.MetaData().RowGroup(0)
	sc := pr.MetaData().Schema
	for c := range sc.NumColumns() {
		name := sc.Column(c).Name()
		cc, err := rg.ColumnChunk(c)
		if err != nil {
			t.Fatal(err)
		}
		encs := cc.Encodings()
		has := func(e parquet.Encoding) bool {
			for _, x := range encs {
				if x == e {
					return true
				}
			}
			return false
		}
		dict := has(parquet.Encodings.RLEDict) || has(parquet.Encodings.PlainDict)
		switch {
		case sc.Column(c).PhysicalType() == parquet.Types.Double:
			if !has(parquet.Encodings.ByteStreamSplit) || dict {
				t.Errorf("column %s encodings %v: want BYTE_STREAM_SPLIT, no dictionary", name, encs)
			}
		case name == features.ColAccountID || name == features.ColStatus || name == features.ColCurrency:
			if !dict {
				t.Errorf("column %s encodings %v: want a dictionary", name, encs)
			}
		case name == features.ColInvoiceID:
			if dict {
				t.Errorf("column %s encodings %v: want no dictionary", name, encs)
			}
		}
	}

	// An empty table round-trips too.
	empty := tb.Select(nil)
	buf.Reset()
	if err := empty.WriteParquet(ctx, &buf, features.ParquetOptions{}); err != nil {
		t.Fatal(err)
	}
	if e, err := features.ReadParquet(ctx, bytes.NewReader(buf.Bytes())); err != nil || e.Len() != 0 {
		t.Fatalf("empty round trip: %v rows, %v", e, err)
	}
	if _, err := features.ReadParquet(ctx, bytes.NewReader([]byte("not parquet at all"))); err == nil {
		t.Fatal("garbage: want an error")
	}
}

func TestCSV(t *testing.T) {
	tb := ioTable(t)
	var buf bytes.Buffer
	if err := tb.WriteCSV(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != tb.Len()+1 {
		t.Fatalf("%d records, want header + %d", len(recs), tb.Len())
	}
	header := recs[0]
	for i, f := range tb.ArrowSchema().Fields() {
		if header[i] != f.Name {
			t.Fatalf("header[%d] = %s, want %s", i, header[i], f.Name)
		}
	}
	col := map[string]int{}
	for i, n := range header {
		col[n] = i
	}
	num := func(s string) float64 {
		if s == "" {
			return math.NaN()
		}
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	date := func(s string) data.Date {
		if s == "" {
			return 0
		}
		d, err := data.ParseDate(s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for i := range tb.Len() {
		r := recs[i+1]
		amt, _ := strconv.ParseInt(r[col[features.ColAmount]], 10, 64)
		if r[col[features.ColInvoiceID]] != tb.InvoiceID[i] || r[col[features.ColSnapshot]] != tb.Snapshot[i].String() ||
			date(r[col[features.ColAsOf]]) != tb.AsOf[i] || date(r[col[features.ColDueDate]]) != tb.DueDate[i] ||
			amt != tb.Amount[i] || r[col[features.ColStatus]] != tb.Status[i].String() ||
			date(r[col[features.ColSettled]]) != tb.Settled[i] || !sameFloat(num(r[col[features.ColLate]]), tb.Late[i]) ||
			!sameFloat(num(r[col[features.ColDaysLate]]), tb.DaysLate[i]) ||
			r[col[features.ColCensored]] != strconv.FormatBool(tb.Status[i].Censored()) {
			t.Fatalf("row %d keys/labels differ: %v", i, r[:16])
		}
		for j, n := range tb.Names {
			if got := num(r[col[n]]); !sameFloat(got, tb.X[j][i]) {
				t.Fatalf("row %d %s = %v, want %v", i, n, got, tb.X[j][i])
			}
		}
	}
}
