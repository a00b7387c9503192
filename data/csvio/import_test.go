package csvio_test

import (
	"context"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/data/csvio"
	"github.com/duesight/duesight/data/datatest"
)

func loadMapping(t testing.TB, path string) *csvio.Mapping {
	t.Helper()
	m, err := csvio.LoadMapping(path)
	if err != nil {
		t.Fatalf("load mapping: %v", err)
	}
	return m
}

// arFiles names the test accounts file and one invoice fixture.
func arFiles(invoices string) map[string]string {
	return map[string]string{"accounts": "testdata/accounts.csv", "invoices": "testdata/errors/" + invoices}
}

func problemStrings(ps []csvio.Problem) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

func count(t testing.TB, s data.Store) data.Counts {
	t.Helper()
	c, err := s.Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestImportErrors runs each fixture all-or-nothing: it must fail with
// exactly the listed problems (or the fatal error) and write nothing.
func TestImportErrors(t *testing.T) {
	m := loadMapping(t, "testdata/ar.yaml")
	cases := []struct {
		file     string
		fatal    string   // substring of a fatal error
		problems []string // exact Problem.String() values, in order
	}{
		{file: "bad_date.csv", problems: []string{
			`testdata/errors/bad_date.csv:3: column "Issued" (issue_date): unparseable date "31.02.2024" (want DD.MM.YYYY or iso)`,
			`testdata/errors/bad_date.csv:4: column "Paid" (date): unparseable date "2.3.24" (want DD.MM.YYYY or iso)`,
		}},
		{file: "negative_amount.csv", problems: []string{
			`testdata/errors/negative_amount.csv:2: column "Amount" (amount): is negative`,
		}},
		{file: "nan_amount.csv", problems: []string{
			`testdata/errors/nan_amount.csv:2: column "Amount" (amount): amount "NaN" is not a decimal number`,
		}},
		{file: "due_before_issue.csv", problems: []string{
			`testdata/errors/due_before_issue.csv:2: column "Due" (due_date): 2024-01-01 is before issue_date 2024-01-31`,
		}},
		{file: "unknown_account.csv", problems: []string{
			`testdata/errors/unknown_account.csv:3: column "Customer" (account_id): unknown account "C9"`,
		}},
		{file: "duplicate_id.csv", problems: []string{
			`testdata/errors/duplicate_id.csv:4: column "Amount" (amount): duplicate invoice id "I1" with a different amount: ` +
				`"10.00" here, "1234.56" at testdata/errors/duplicate_id.csv:2 (set on_conflict: first or last to accept this)`,
		}},
		{file: "overpayment.csv", problems: []string{
			`testdata/errors/overpayment.csv:2: column "PaidAmount" (amount): brings payments on invoice "I1" to 1300.00 EUR, ` +
				`over its amount 1234.56 by 65.44 (tolerance 1.23)`,
		}},
		{file: "unknown_currency.csv", problems: []string{
			`testdata/errors/unknown_currency.csv:2: column "Currency" (currency): unknown currency "EUX" (not an ISO 4217 code)`,
		}},
		{file: "unknown_enum.csv", problems: []string{
			`testdata/errors/unknown_enum.csv:2: column "Channel" (delivered_by): unknown channel "Fax" (want email, sms, call or letter)`,
		}},
		// I1 spans lines 2-3 (quoted newline and comma), so I3 starts on line 5.
		{file: "quoted_commas.csv", problems: []string{
			`testdata/errors/quoted_commas.csv:5: column "Channel" (delivered_by): unknown channel "Fax" (want email, sms, call or letter)`,
		}},
		{file: "malformed.csv", problems: []string{
			`testdata/errors/malformed.csv:2: row has 7 fields, the header has 9`,
			`testdata/errors/malformed.csv:3: malformed CSV at line 3, character 48: extraneous or missing " in quoted-field`,
		}},
		{file: "wrong_header.csv", fatal: `testdata/errors/wrong_header.csv:1: wrong header: missing mapped column(s) "Due"` +
			"\n  expected (mapped by invoices): \"Invoice\", \"Customer\", \"Issued\", \"Due\", \"Amount\", \"Currency\", \"Channel\", \"Paid\", \"PaidAmount\"" +
			"\n  found: \"Invoice\", \"Customer\", \"Issued\", \"DueDate\", \"Amount\", \"Currency\", \"Channel\", \"Paid\", \"PaidAmount\""},
		{file: "empty.csv", fatal: `testdata/errors/empty.csv: file is empty (want a header row naming the columns)`},
		{file: "missing.csv", fatal: `no such file or directory`},
	}
	for _, tc := range cases {
		t.Run(strings.TrimSuffix(tc.file, ".csv"), func(t *testing.T) {
			st := datatest.NewMemStore()
			res, err := csvio.Import(context.Background(), st, m, arFiles(tc.file), csvio.ImportOptions{})
			if got := count(t, st); got.Total() != 0 {
				t.Errorf("all-or-nothing import wrote %+v", got)
			}
			if tc.fatal != "" {
				if err == nil || !strings.Contains(err.Error(), tc.fatal) {
					t.Fatalf("error = %v, want it to contain %q", err, tc.fatal)
				}
				if res != nil {
					t.Errorf("fatal error returned a result")
				}
				if data.ErrorCode(err) != data.Invalid {
					t.Errorf("code = %s, want invalid", data.ErrorCode(err))
				}
				return
			}
			var re *csvio.RowsError
			if !errors.As(err, &re) {
				t.Fatalf("error = %v, want *RowsError", err)
			}
			if re.Imported {
				t.Error("RowsError.Imported is set without SkipInvalid")
			}
			if got := problemStrings(re.Problems); !slices.Equal(got, tc.problems) {
				t.Errorf("problems:\n got %q\nwant %q", got, tc.problems)
			}
			if !slices.Equal(problemStrings(res.Problems), tc.problems) {
				t.Errorf("Result.Problems differ from the error's")
			}
			for _, p := range re.Problems {
				if !strings.Contains(err.Error(), p.String()) {
					t.Errorf("error message lacks %q", p.String())
				}
			}
			if data.ErrorCode(err) != data.Invalid {
				t.Errorf("code = %s, want invalid", data.ErrorCode(err))
			}
		})
	}
}

// TestImportFormats: BOM, CRLF, trailing blank lines and quoted fields
// must read exactly like the plain LF file.
func TestImportFormats(t *testing.T) {
	m := loadMapping(t, "testdata/ar.yaml")
	ctx := context.Background()
	want, _, err := csvio.Read(ctx, m, arFiles("good.csv"), csvio.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Values written by hand from good.csv.
	wantInv := []data.Invoice{
		{ID: "I1", AccountID: "C1", IssueDate: data.NewDate(2024, 1, 31), DueDate: data.NewDate(2024, 3, 1), Amount: 123456, Currency: "EUR", DeliveredBy: data.Email},
		{ID: "I2", AccountID: "C2", IssueDate: data.NewDate(2024, 2, 1), DueDate: data.NewDate(2024, 3, 2), Amount: 9990, Currency: "USD", DeliveredBy: data.Letter},
		{ID: "I3", AccountID: "C3", IssueDate: data.NewDate(2024, 2, 1), DueDate: data.NewDate(2024, 3, 2), Amount: 125000, Currency: "JPY", DeliveredBy: data.Email},
	}
	wantPay := []data.Payment{
		{ID: "pay-I1", AccountID: "C1", InvoiceID: "I1", Date: data.NewDate(2024, 2, 15), Amount: 123456, Currency: "EUR"},
		{ID: "pay-I3", AccountID: "C3", InvoiceID: "I3", Date: data.NewDate(2024, 3, 2), Amount: 125000, Currency: "JPY"},
	}
	if !slices.Equal(want.Invoices, wantInv) {
		t.Fatalf("good.csv invoices:\n got %+v\nwant %+v", want.Invoices, wantInv)
	}
	if !slices.Equal(want.Payments, wantPay) {
		t.Fatalf("good.csv payments:\n got %+v\nwant %+v", want.Payments, wantPay)
	}
	if want.Accounts[0].Name != "Müller, GmbH" || want.Accounts[0].TimeZone != "Europe/Berlin" {
		t.Errorf("account C1 = %+v", want.Accounts[0])
	}
	for _, tc := range []struct {
		file       string
		invoices   int
		firstLines []int // line of each invoice
	}{
		{"crlf.csv", 3, []int{2, 3, 4}},
		{"bom.csv", 1, []int{2}},
		{"good.csv", 3, []int{2, 3, 4}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			b, loc, err := csvio.Read(ctx, m, arFiles(tc.file), csvio.ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(b.Invoices, want.Invoices[:tc.invoices]) {
				t.Errorf("invoices:\n got %+v\nwant %+v", b.Invoices, want.Invoices[:tc.invoices])
			}
			for i, line := range tc.firstLines {
				l, ok := loc.Locate(data.KindInvoice, i, "amount")
				if !ok || l.Line != line || l.Column != "Amount" || l.File != "testdata/errors/"+tc.file {
					t.Errorf("invoice %d located at %+v, want line %d column Amount", i, l, line)
				}
			}
		})
	}
}

// TestImportSkipInvalid: valid rows load, a row is rejected whole, and the
// reject file lists each problem with the raw row.
func TestImportSkipInvalid(t *testing.T) {
	m := loadMapping(t, "testdata/ar.yaml")
	cases := []struct {
		name      string
		files     map[string]string
		invoices  []string // ids loaded
		payments  []string
		accounts  int
		rejectRaw [][2]string // line, raw row
	}{
		{name: "conversion", files: arFiles("bad_date.csv"), invoices: []string{"I1"}, accounts: 3,
			// line 4's invoice is valid but its payment date is not: the row goes whole.
			rejectRaw: [][2]string{{"3", `I2,C2,31.02.2024,2024-03-02,"99,90",USD,Paper,,`},
				{"4", `I3,C3,01.02.2024,02.03.2024,125.000,JPY,email,2.3.24,125.000`}}},
		{name: "semantic", files: arFiles("overpayment.csv"), invoices: []string{"I2"}, payments: []string{"pay-I2"}, accounts: 3,
			// the overpayment rejects the payment, and with it its row's invoice.
			rejectRaw: [][2]string{{"2", `I1,C1,31.01.2024,01.03.2024,"1.234,56",EUR,Electronic,15.02.2024,"1.300,00"`}}},
		{name: "quoted", files: arFiles("quoted_commas.csv"), invoices: []string{"I1", "I2"}, payments: []string{"pay-I1"}, accounts: 3,
			rejectRaw: [][2]string{{"5", `I3,C3,01.02.2024,02.03.2024,125.000,JPY,Fax,,,`}}},
		{name: "cascade", files: map[string]string{"accounts": "testdata/accounts_badzone.csv", "invoices": "testdata/errors/good.csv"},
			invoices: []string{"I2", "I3"}, payments: []string{"pay-I3"}, accounts: 2,
			// C1's bad zone rejects C1; the invoice and payment of C1's row go too.
			rejectRaw: [][2]string{{"2", `C1,"Müller, GmbH",DE,EUR,Europe/Berlln`},
				{"2", `I1,C1,31.01.2024,01.03.2024,"1.234,56",EUR,Electronic,15.02.2024,"1.234,56"`},
				{"2", `I1,C1,31.01.2024,01.03.2024,"1.234,56",EUR,Electronic,15.02.2024,"1.234,56"`}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := datatest.NewMemStore()
			rejects := filepath.Join(t.TempDir(), "rejects.csv")
			res, err := csvio.Import(context.Background(), st, m, tc.files, csvio.ImportOptions{SkipInvalid: true, RejectPath: rejects})
			var re *csvio.RowsError
			if !errors.As(err, &re) || !re.Imported {
				t.Fatalf("error = %v, want *RowsError with Imported", err)
			}
			b, err := st.Lookup(context.Background(), data.Keys{Invoices: []string{"I1", "I2", "I3"},
				Payments: []string{"pay-I1", "pay-I2", "pay-I3"}, Accounts: []string{"C1", "C2", "C3"}})
			if err != nil {
				t.Fatal(err)
			}
			var inv, pay []string
			for _, r := range b.Invoices {
				inv = append(inv, r.ID)
			}
			for _, r := range b.Payments {
				pay = append(pay, r.ID)
			}
			slices.Sort(inv)
			slices.Sort(pay)
			if !slices.Equal(inv, tc.invoices) || !slices.Equal(pay, tc.payments) || len(b.Accounts) != tc.accounts {
				t.Errorf("loaded invoices %v payments %v accounts %d; want %v %v %d", inv, pay, len(b.Accounts),
					tc.invoices, tc.payments, tc.accounts)
			}
			if res.Report == nil || res.Report.Added.Invoices != len(tc.invoices) {
				t.Errorf("report = %+v", res.Report)
			}
			rows := readCSV(t, rejects)
			if !slices.Equal(rows[0], csvio.RejectHeader) {
				t.Fatalf("reject header = %q", rows[0])
			}
			var got [][2]string
			for _, r := range rows[1:] {
				got = append(got, [2]string{r[1], r[7]})
				if r[0] == "" || r[6] == "" {
					t.Errorf("reject row lacks file or reason: %q", r)
				}
			}
			if !slices.Equal(got, tc.rejectRaw) {
				t.Errorf("reject rows (line, raw):\n got %q\nwant %q", got, tc.rejectRaw)
			}
		})
	}
}

func readCSV(t testing.TB, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

// TestImportCascadeMessage: an invoice whose account row was rejected says so.
func TestImportCascadeMessage(t *testing.T) {
	m := loadMapping(t, "testdata/ar.yaml")
	files := map[string]string{"accounts": "testdata/accounts_badzone.csv", "invoices": "testdata/errors/good.csv"}
	_, err := csvio.Import(context.Background(), datatest.NewMemStore(), m, files, csvio.ImportOptions{})
	var re *csvio.RowsError
	if !errors.As(err, &re) {
		t.Fatalf("error = %v", err)
	}
	want := []string{
		`testdata/accounts_badzone.csv:2: column "Zone" (time_zone): "Europe/Berlln" is not an IANA time zone`,
		`testdata/errors/good.csv:2: column "Customer" (account_id): account "C1" was rejected (testdata/accounts_badzone.csv:2)`,
		`testdata/errors/good.csv:2: column "Customer" (account_id): account "C1" was rejected (testdata/accounts_badzone.csv:2)`,
	}
	if got := problemStrings(re.Problems); !slices.Equal(got, want) {
		t.Errorf("problems:\n got %q\nwant %q", got, want)
	}
}

// TestImportIdempotent: importing the same files twice adds nothing.
func TestImportIdempotent(t *testing.T) {
	m := loadMapping(t, "testdata/ar.yaml")
	st := datatest.NewMemStore()
	ctx := context.Background()
	first, err := csvio.Import(ctx, st, m, arFiles("good.csv"), csvio.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := data.Counts{Accounts: 3, Invoices: 3, Payments: 2}
	if first.Report.Added != want {
		t.Fatalf("first import added %+v, want %+v", first.Report.Added, want)
	}
	second, err := csvio.Import(ctx, st, m, arFiles("good.csv"), csvio.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if second.Report.Added.Total() != 0 || second.Report.Updated.Total() != 0 || second.Report.Unchanged != want {
		t.Errorf("second import: %+v", second.Report)
	}
	if got := count(t, st); got != want {
		t.Errorf("store holds %+v, want %+v", got, want)
	}
	// The CRLF+BOM-free variant of the same rows is the same data.
	third, err := csvio.Import(ctx, st, m, arFiles("crlf.csv"), csvio.ImportOptions{})
	if err != nil || third.Report.Added.Total() != 0 {
		t.Errorf("crlf re-import: %v %+v", err, third.Report)
	}
}

// TestImportStoredConflict: an invoice id already stored with other
// content is rejected by data.Ingest, located in the new file.
func TestImportStoredConflict(t *testing.T) {
	m := loadMapping(t, "testdata/ar.yaml")
	st := datatest.NewMemStore()
	ctx := context.Background()
	if _, err := csvio.Import(ctx, st, m, arFiles("good.csv"), csvio.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := csvio.Import(ctx, st, m, arFiles("changed.csv"), csvio.ImportOptions{})
	var re *csvio.RowsError
	if !errors.As(err, &re) {
		t.Fatalf("error = %v", err)
	}
	want := []string{
		`testdata/errors/changed.csv:3: column "Amount" (amount): id already stored with a different amount (stored invoice rows cannot change)`,
	}
	if got := problemStrings(re.Problems); !slices.Equal(got, want) {
		t.Errorf("problems:\n got %q\nwant %q", got, want)
	}
}

// TestImportProgress: the callback sees rows and bytes grow to the totals.
func TestImportProgress(t *testing.T) {
	m := loadMapping(t, "testdata/ar.yaml")
	var last csvio.Progress
	calls := 0
	_, err := csvio.Import(context.Background(), datatest.NewMemStore(), m, arFiles("good.csv"),
		csvio.ImportOptions{Progress: func(p csvio.Progress) {
			if p.Rows < last.Rows || p.Bytes < last.Bytes {
				t.Errorf("progress went back: %+v after %+v", p, last)
			}
			last = p
			calls++
		}})
	if err != nil {
		t.Fatal(err)
	}
	var size int64
	for _, f := range arFiles("good.csv") {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		size += st.Size()
	}
	if calls < 2 || last.Rows != 6 || last.Bytes != size || last.TotalBytes != size {
		t.Errorf("last progress %+v after %d calls; want 6 rows, %d bytes", last, calls, size)
	}
}

func TestImportCancelled(t *testing.T) {
	m := loadMapping(t, "testdata/ar.yaml")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := csvio.Import(ctx, datatest.NewMemStore(), m, arFiles("good.csv"), csvio.ImportOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
}

func TestReadFilesMismatch(t *testing.T) {
	m := loadMapping(t, "testdata/ar.yaml")
	for _, tc := range []struct {
		files map[string]string
		want  string
	}{
		{map[string]string{"accounts": "testdata/accounts.csv"}, `no file given for source "invoices"`},
		{map[string]string{"accounts": "testdata/accounts.csv", "invoices": "testdata/errors/good.csv", "x": "y"}, `unknown source "x"`},
		{map[string]string{"accounts": "testdata", "invoices": "testdata/errors/good.csv"}, `is a directory`},
	} {
		_, _, err := csvio.Read(context.Background(), m, tc.files, csvio.ReadOptions{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("files %v: error = %v, want %q", tc.files, err, tc.want)
		}
	}
}
