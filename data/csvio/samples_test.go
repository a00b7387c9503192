package csvio_test

import (
	"context"
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/data/csvio"
	"github.com/duesight/duesight/data/datatest"
)

// repoRoot is the module root (this package is data/csvio).
func repoRoot(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(wd, "..", "..")
}

func ibmPath(t testing.TB) string {
	p := filepath.Join(repoRoot(t), "..", "shared", "datasets", "ibm_accounts_receivable", "WA_Fn-UseC_-Accounts-Receivable.csv")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("IBM sample not available: %v", err)
	}
	return p
}

// TestIBMSample imports the whole IBM Accounts-Receivable file and checks
// every row against the CSV, read here with encoding/csv and time.Parse,
// and against the file's own DaysToSettle and DaysLate columns.
func TestIBMSample(t *testing.T) {
	path := ibmPath(t)
	m := loadMapping(t, filepath.Join(repoRoot(t), "data", "samples", "ibm_accounts_receivable.yaml"))
	st := datatest.NewMemStore()
	ctx := context.Background()
	res, err := csvio.Import(ctx, st, m, map[string]string{"ar": path}, csvio.ImportOptions{})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if len(res.Problems) != 0 || res.RejectedRows != 0 {
		t.Fatalf("problems: %v", res.Problems)
	}

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	rows = rows[1:]
	if len(rows) != 2466 {
		t.Fatalf("CSV has %d rows, SOURCE.md says 2466", len(rows))
	}
	customers := map[string]string{}
	settled, disputed := 0, 0
	for _, r := range rows {
		customers[r[col["customerID"]]] = r[col["countryCode"]]
		if r[col["SettledDate"]] != "" {
			settled++
		}
		if r[col["Disputed"]] == "Yes" {
			disputed++
		}
	}
	want := data.Counts{Accounts: 100, Invoices: 2466, Payments: settled, Disputes: disputed}
	if len(customers) != 100 {
		t.Fatalf("CSV has %d customers, SOURCE.md says 100", len(customers))
	}
	if got := count(t, st); got != want {
		t.Fatalf("store holds %+v, want %+v", got, want)
	}
	if res.Report.Added != want || res.Merged.Accounts != 2466-100 {
		t.Errorf("report %+v merged %+v", res.Report.Added, res.Merged)
	}

	hist := map[string]*data.History{}
	for id := range customers {
		h, err := st.History(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		hist[id] = h
		if h.Account.Country != customers[id] || h.Account.Currency != "USD" || h.Account.TimeZone != "UTC" {
			t.Errorf("account %s = %+v", id, h.Account)
		}
	}
	day := func(s string) data.Date {
		tm, err := time.Parse("1/2/2006", s)
		if err != nil {
			t.Fatalf("test parse %q: %v", s, err)
		}
		return data.DateOf(tm)
	}
	for i, r := range rows {
		h := hist[r[col["customerID"]]]
		id := r[col["invoiceNumber"]]
		var inv *data.Invoice
		for j := range h.Invoices {
			if h.Invoices[j].ID == id {
				inv = &h.Invoices[j]
			}
		}
		if inv == nil {
			t.Fatalf("row %d: invoice %s not stored", i+2, id)
		}
		amt, _ := strconv.ParseFloat(r[col["InvoiceAmount"]], 64)
		delivered := map[string]data.Channel{"Paper": data.Letter, "Electronic": data.Email}[r[col["PaperlessBill"]]]
		if inv.IssueDate != day(r[col["InvoiceDate"]]) || inv.DueDate != day(r[col["DueDate"]]) ||
			inv.Amount != int64(math.Round(amt*100)) || inv.Currency != "USD" || inv.DeliveredBy != delivered {
			t.Errorf("row %d: invoice %+v does not match %q", i+2, *inv, r)
		}
		var pay *data.Payment
		for j := range h.Payments {
			if h.Payments[j].InvoiceID == id {
				pay = &h.Payments[j]
			}
		}
		if pay == nil || pay.ID != "pay-"+id || pay.Amount != inv.Amount || pay.Date != day(r[col["SettledDate"]]) {
			t.Fatalf("row %d: payment %+v", i+2, pay)
		}
		toSettle, _ := strconv.Atoi(r[col["DaysToSettle"]])
		late, _ := strconv.Atoi(r[col["DaysLate"]])
		if pay.Date.Sub(inv.IssueDate) != toSettle || max(0, pay.Date.Sub(inv.DueDate)) != late {
			t.Errorf("row %d: settled %s issued %s due %s, file says DaysToSettle %d DaysLate %d", i+2,
				pay.Date, inv.IssueDate, inv.DueDate, toSettle, late)
		}
		var dis *data.Dispute
		for j := range h.Disputes {
			if h.Disputes[j].InvoiceID == id {
				dis = &h.Disputes[j]
			}
		}
		if (dis != nil) != (r[col["Disputed"]] == "Yes") {
			t.Errorf("row %d: dispute %+v, Disputed=%s", i+2, dis, r[col["Disputed"]])
		}
		if dis != nil && (dis.OpenedOn != inv.IssueDate || dis.ResolvedOn != pay.Date || dis.ID != "dsp-"+id) {
			t.Errorf("row %d: dispute %+v", i+2, *dis)
		}
	}

	again, err := csvio.Import(ctx, st, m, map[string]string{"ar": path}, csvio.ImportOptions{})
	if err != nil || again.Report.Added.Total() != 0 || again.Report.Unchanged != want {
		t.Errorf("re-import: %v %+v", err, again)
	}
}

// TestSAPSample imports the synthetic SAP FI-AR export. Expected values are
// worked out by hand from sap_fi_ar_example.csv.
func TestSAPSample(t *testing.T) {
	root := repoRoot(t)
	m := loadMapping(t, filepath.Join(root, "data", "samples", "sap_fi_ar_example.yaml"))
	st := datatest.NewMemStore()
	ctx := context.Background()
	res, err := csvio.Import(ctx, st, m, map[string]string{"items": filepath.Join(root, "data", "samples", "sap_fi_ar_example.csv")},
		csvio.ImportOptions{})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	want := data.Counts{Accounts: 5, Invoices: 10, Payments: 10}
	if got := count(t, st); got != want || res.Rows != 20 {
		t.Fatalf("store holds %+v from %d rows, want %+v from 20", got, res.Rows, want)
	}
	b, err := st.Lookup(ctx, data.Keys{
		Accounts: []string{"100001", "200001"},
		Invoices: []string{"1000-2024-1800000103", "1000-2024-1800000108", "1000-2024-1800000104"},
		Payments: []string{"1000-2024-1600000301", "1000-2024-1400000270", "1000-2024-1400000201"},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantAcc := []data.Account{
		{ID: "100001", Name: "Müller Maschinenbau GmbH", Country: "DE", Currency: "EUR", TimeZone: "Europe/Berlin"},
		{ID: "200001", Name: "Acme Corp; Inc.", Country: "US", Currency: "USD", TimeZone: "Europe/Berlin"},
	}
	for i, a := range b.Accounts {
		if !a.Equal(wantAcc[i]) {
			t.Errorf("account:\n got %+v\nwant %+v", a, wantAcc[i])
		}
	}
	byID := map[string]data.Invoice{}
	for _, r := range b.Invoices {
		byID[r.ID] = r
	}
	for _, w := range []data.Invoice{
		// baseline 15.01.2024 + 45 days = 29.02.2024 (leap year)
		{ID: "1000-2024-1800000103", AccountID: "100002", IssueDate: data.NewDate(2024, 1, 10), DueDate: data.NewDate(2024, 2, 29), Amount: 595000, Currency: "EUR"},
		{ID: "1000-2024-1800000108", AccountID: "300001", IssueDate: data.NewDate(2024, 1, 10), DueDate: data.NewDate(2024, 2, 9), Amount: 1250000, Currency: "JPY"},
		{ID: "1000-2024-1800000104", AccountID: "100003", IssueDate: data.NewDate(2024, 2, 1), DueDate: data.NewDate(2024, 4, 1), Amount: 1234567, Currency: "EUR"},
	} {
		if byID[w.ID] != w {
			t.Errorf("invoice:\n got %+v\nwant %+v", byID[w.ID], w)
		}
	}
	pays := map[string]data.Payment{}
	for _, r := range b.Payments {
		pays[r.ID] = r
	}
	for _, w := range []data.Payment{
		{ID: "1000-2024-1600000301", AccountID: "100002", InvoiceID: "1000-2024-1800000103", Date: data.NewDate(2024, 1, 20), Amount: 95000, Currency: "EUR", Method: data.MethodCreditNote},
		{ID: "1000-2024-1400000270", AccountID: "200001", Date: data.NewDate(2024, 4, 5), Amount: 200000, Currency: "USD", Method: data.MethodBankTransfer},
		{ID: "1000-2024-1400000201", AccountID: "100001", InvoiceID: "1000-2024-1800000101", Date: data.NewDate(2024, 2, 2), Amount: 119000, Currency: "EUR", Method: data.MethodBankTransfer},
	} {
		if pays[w.ID] != w {
			t.Errorf("payment:\n got %+v\nwant %+v", pays[w.ID], w)
		}
	}
	// Open items: only Rossi's two invoices and Müller's last one.
	open := map[string]int64{}
	for h, err := range st.Histories(ctx, data.HistoryQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
		for i, amt := range h.OpenAmounts(0) {
			if amt != 0 {
				open[h.Invoices[i].ID] = amt
			}
		}
	}
	wantOpen := map[string]int64{"1000-2024-1800000104": 1234567, "1000-2024-1800000105": 420000, "1000-2024-1800000110": 59500}
	if len(open) != len(wantOpen) {
		t.Errorf("open invoices %v, want %v", open, wantOpen)
	}
	for id, v := range wantOpen {
		if open[id] != v {
			t.Errorf("open %s = %d, want %d", id, open[id], v)
		}
	}
}
