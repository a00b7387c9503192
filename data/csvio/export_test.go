package csvio_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/data/csvio"
	"github.com/duesight/duesight/data/datatest"
)

// TestExportRoundTrip: Sample → store → Export → Import into a new store
// gives identical histories, for CSV and Parquet, and re-importing adds
// nothing.
func TestExportRoundTrip(t *testing.T) {
	ctx := context.Background()
	sample := datatest.Sample(datatest.SampleOptions{Seed: 7, Accounts: 60})
	src := datatest.NewMemStore()
	if _, err := data.Ingest(ctx, src, sample, data.IngestOptions{}); err != nil {
		t.Fatalf("ingest sample: %v", err)
	}
	want, _ := datatest.Collect(t, src, data.HistoryQuery{})
	for _, f := range []csvio.Format{csvio.FormatCSV, csvio.FormatParquet} {
		t.Run(string(f), func(t *testing.T) {
			dir := t.TempDir()
			n, err := csvio.Export(ctx, src, dir, f)
			if err != nil {
				t.Fatalf("export: %v", err)
			}
			if n != sample.Counts() {
				t.Errorf("exported %+v, sample has %+v", n, sample.Counts())
			}
			entries, _ := os.ReadDir(dir)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			wantNames := []string{"accounts." + string(f), "contacts." + string(f), "disputes." + string(f),
				"invoices." + string(f), "payments." + string(f)}
			if !slices.Equal(names, wantNames) {
				t.Errorf("files %v, want %v (no temporaries left)", names, wantNames)
			}
			dst := datatest.NewMemStore()
			res, err := csvio.Import(ctx, dst, csvio.DefaultMapping(), csvio.ExportFiles(dir, f), csvio.ImportOptions{})
			if err != nil {
				t.Fatalf("import: %v", err)
			}
			got, _ := datatest.Collect(t, dst, data.HistoryQuery{})
			if d := datatest.DiffHistories(want, got); d != "" {
				t.Fatalf("round trip differs: %s", d)
			}
			if res.Report.Added != sample.Counts() {
				t.Errorf("added %+v", res.Report.Added)
			}
			again, err := csvio.Import(ctx, dst, csvio.DefaultMapping(), csvio.ExportFiles(dir, f), csvio.ImportOptions{})
			if err != nil || again.Report.Added.Total() != 0 {
				t.Errorf("re-import added %+v (%v)", again.Report, err)
			}
		})
	}
}

// TestExportCSVLayout pins the documented CSV layout on a hand-built history.
func TestExportCSVLayout(t *testing.T) {
	ctx := context.Background()
	st := datatest.NewMemStore()
	b := &data.Batch{
		Accounts: []data.Account{{ID: "a1", Name: "Zoë, \"Z\" Ltd", Country: "GB", Currency: "BHD", TimeZone: "Europe/London",
			TermsDays: 30, CreditLimit: 1500000, Consent: data.ChannelSet(0).With(data.Email).With(data.Letter)}},
		Invoices: []data.Invoice{{ID: "i1", AccountID: "a1", IssueDate: data.NewDate(2024, 1, 31), DueDate: data.NewDate(2024, 3, 1),
			Amount: 1234567, Currency: "BHD"}},
		Contacts: []data.Contact{{ID: "c1", AccountID: "a1", InvoiceID: "i1", Channel: data.Call,
			SentAt: data.NewDate(2024, 3, 5).Time().Add(9*3600e9 + 30*60e9), Outcome: data.OutcomePromise,
			PromisedDate: data.NewDate(2024, 3, 10), PromisedAmount: 500}},
	}
	if _, err := data.Ingest(ctx, st, b, data.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := csvio.Export(ctx, st, dir, csvio.FormatCSV); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"accounts.csv": "id,name,segment,country,currency,time_zone,terms_days,credit_limit,consent,created_at\n" +
			"a1,\"Zoë, \"\"Z\"\" Ltd\",,GB,BHD,Europe/London,30,1500.000,email|letter,\n",
		"invoices.csv": "id,account_id,issue_date,due_date,amount,currency,delivered_by\n" +
			"i1,a1,2024-01-31,2024-03-01,1234.567,BHD,\n",
		"payments.csv": "id,account_id,invoice_id,date,amount,currency,method\n",
		"contacts.csv": "id,account_id,invoice_id,channel,sent_at,outcome,promised_date,promised_amount,currency\n" +
			"c1,a1,i1,call,2024-03-05T09:30:00Z,promise_to_pay,2024-03-10,0.500,BHD\n",
		"disputes.csv": "id,account_id,invoice_id,opened_on,resolved_on,reason\n",
	} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("%s:\n got %q\nwant %q", name, got, want)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want csvio.Format
		err  bool
	}{{"csv", csvio.FormatCSV, false}, {" Parquet ", csvio.FormatParquet, false}, {"xlsx", "", true}, {"", "", true}} {
		got, err := csvio.ParseFormat(tc.in)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("ParseFormat(%q) = %q, %v", tc.in, got, err)
		}
	}
	if _, err := csvio.Export(context.Background(), datatest.NewMemStore(), t.TempDir(), "xlsx"); err == nil {
		t.Error("Export accepted format xlsx")
	}
}

// TestReadParquet applies testdata/ar.yaml to a Parquet file with typed
// columns (dates, a timestamp, float and decimal amounts, a dictionary
// column, nulls): the result must equal reading errors/good.csv, although
// the mapping's DD.MM.YYYY formats and "," decimals are for the CSV.
func TestReadParquet(t *testing.T) {
	ctx := context.Background()
	m := loadMapping(t, "testdata/ar.yaml")
	want, _, err := csvio.Read(ctx, m, arFiles("good.csv"), csvio.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "invoices.parquet")
	writeInvoiceParquet(t, path)
	got, loc, err := csvio.Read(ctx, m, map[string]string{"accounts": "testdata/accounts.csv", "invoices": path}, csvio.ReadOptions{})
	if err != nil {
		t.Fatalf("read parquet: %v", err)
	}
	if !slices.Equal(got.Invoices, want.Invoices) || !slices.Equal(got.Payments, want.Payments) {
		t.Errorf("parquet:\n invoices %+v\n payments %+v\nwant\n invoices %+v\n payments %+v", got.Invoices, got.Payments,
			want.Invoices, want.Payments)
	}
	if l, ok := loc.Locate(data.KindInvoice, 2, "due_date"); !ok || l.Line != 3 || l.Column != "Due" || l.File != path {
		t.Errorf("third invoice located at %+v, want row 3 column Due", l)
	}
}

func writeInvoiceParquet(t *testing.T, path string) {
	t.Helper()
	mem := memory.NewGoAllocator()
	dict := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "Invoice", Type: arrow.BinaryTypes.String},
		{Name: "Customer", Type: arrow.BinaryTypes.String},
		{Name: "Issued", Type: arrow.FixedWidthTypes.Date32},
		{Name: "Due", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}},
		{Name: "Amount", Type: arrow.PrimitiveTypes.Float64},
		{Name: "Currency", Type: dict},
		{Name: "Channel", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "Paid", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "PaidAmount", Type: &arrow.Decimal128Type{Precision: 12, Scale: 2}, Nullable: true},
		{Name: "Extra", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	rb := array.NewRecordBuilder(mem, sc)
	defer rb.Release()
	day := func(y int, mo time.Month, dd int) arrow.Date32 { return arrow.Date32(data.NewDate(y, mo, dd)) }
	ms := func(y int, mo time.Month, dd int) arrow.Timestamp {
		return arrow.Timestamp(time.Date(y, mo, dd, 0, 0, 0, 0, time.UTC).UnixMilli())
	}
	rb.Field(0).(*array.StringBuilder).AppendValues([]string{"I1", "I2", "I3"}, nil)
	rb.Field(1).(*array.StringBuilder).AppendValues([]string{"C1", "C2", "C3"}, nil)
	rb.Field(2).(*array.Date32Builder).AppendValues([]arrow.Date32{day(2024, 1, 31), day(2024, 2, 1), day(2024, 2, 1)}, nil)
	rb.Field(3).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{ms(2024, 3, 1), ms(2024, 3, 2), ms(2024, 3, 2)}, nil)
	rb.Field(4).(*array.Float64Builder).AppendValues([]float64{1234.56, 99.9, 125000}, nil)
	db := rb.Field(5).(*array.BinaryDictionaryBuilder)
	for _, c := range []string{"EUR", "USD", "JPY"} {
		if err := db.AppendString(c); err != nil {
			t.Fatal(err)
		}
	}
	rb.Field(6).(*array.StringBuilder).AppendValues([]string{"Electronic", "Paper", "email"}, nil)
	rb.Field(7).(*array.Date32Builder).AppendValues([]arrow.Date32{day(2024, 2, 15), 0, day(2024, 3, 2)}, []bool{true, false, true})
	decs := rb.Field(8).(*array.Decimal128Builder)
	decs.Append(decimal128.FromI64(123456))
	decs.AppendNull()
	decs.Append(decimal128.FromI64(12500000))
	rb.Field(9).(*array.Int64Builder).AppendValues([]int64{1, 2, 3}, nil)
	rec := rb.NewRecordBatch()
	defer rec.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(sc, f, nil, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestReadParquetErrors: a Parquet file lacking a mapped column, and a file
// that is not Parquet, fail with the file named.
func TestReadParquetErrors(t *testing.T) {
	ctx := context.Background()
	m := loadMapping(t, "testdata/ar.yaml")
	dir, bad := t.TempDir(), t.TempDir()
	notParquet := filepath.Join(bad, "invoices.parquet")
	if err := os.WriteFile(notParquet, []byte("Invoice,Customer\nI1,C1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(bad, "empty.parquet")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	src := datatest.NewMemStore()
	if _, err := data.Ingest(ctx, src, datatest.Sample(datatest.SampleOptions{Accounts: 3}), data.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := csvio.Export(ctx, src, dir, csvio.FormatParquet); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, want string
	}{
		{notParquet, notParquet + ": not a readable Parquet file"},
		{empty, empty + ": file is empty"},
		{filepath.Join(dir, "payments.parquet"), filepath.Join(dir, "payments.parquet") + `:1: wrong header: missing mapped column(s) "Invoice", "Customer"`},
	} {
		_, _, err := csvio.Read(ctx, m, map[string]string{"accounts": "testdata/accounts.csv", "invoices": tc.path}, csvio.ReadOptions{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error = %v, want %q", tc.path, err, tc.want)
		}
	}
}
