package csvio_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/data/csvio"
	"github.com/duesight/duesight/data/datatest"
)

// fuzzMapping exercises every conversion: formats, separators, maps,
// defaults, templates, conditions and conflict modes.
const fuzzMapping = `version: 1
defaults: {currency: USD, date_format: [M/D/YYYY, iso]}
sources:
  - name: ar
    entities:
      - kind: account
        on_conflict: first
        fields:
          id: customerID
          country: countryCode
          created_at: {column: PaperlessDate, format: [M/D/YYYY, excel]}
          consent: {column: PaperlessBill, map: {Electronic: email, Paper: letter}}
      - kind: invoice
        fields:
          id: invoiceNumber
          account_id: customerID
          issue_date: InvoiceDate
          due_date: DueDate
          terms_days: {value: "30"}
          amount: {column: InvoiceAmount, thousands: ","}
          currency: {column: Currency, default: USD}
          delivered_by: {column: PaperlessBill, map: {Electronic: email, Paper: letter}}
      - kind: payment
        when: {column: SettledDate, not_empty: true}
        fields:
          id: "pay-{invoiceNumber}"
          account_id: customerID
          invoice_id: invoiceNumber
          date: SettledDate
          amount: {column: InvoiceAmount, thousands: ","}
          currency: {column: Currency, default: USD}
          method: {column: Method, default: unknown}
      - kind: dispute
        when: {column: Disputed, in: ["Yes", "Y"], ignore_case: true}
        on_conflict: last
        fields:
          id: "dsp-{invoiceNumber}"
          account_id: customerID
          invoice_id: invoiceNumber
          opened_on: InvoiceDate
          resolved_on: SettledDate
`

// FuzzReadCSV feeds arbitrary bytes through the CSV reader, the mapping's
// conversions and data.Ingest. It must never panic; every problem must name
// the file and a line (the header is line 1, so data rows are ≥ 2); a fatal
// error must name the file; and all-or-nothing must write nothing when
// there is any problem.
func FuzzReadCSV(f *testing.F) {
	m, err := csvio.ParseMapping("fuzz.yaml", []byte(fuzzMapping))
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte("countryCode,customerID,PaperlessDate,invoiceNumber,InvoiceDate,DueDate,InvoiceAmount,Disputed,SettledDate,PaperlessBill,Currency,Method\n" +
		"391,0379-NEVHP,4/6/2013,0000611365,1/2/2013,2/1/2013,55.94,No,1/15/2013,Paper,,\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, in []byte) {
		path := filepath.Join(dir, "ar.csv")
		if err := os.WriteFile(path, in, 0o600); err != nil {
			t.Fatal(err)
		}
		st := datatest.NewMemStore()
		res, err := csvio.Import(context.Background(), st, m, map[string]string{"ar": path}, csvio.ImportOptions{})
		var re *csvio.RowsError
		switch {
		case err == nil:
			if len(res.Problems) != 0 {
				t.Fatalf("nil error with problems %v", res.Problems)
			}
		case errors.As(err, &re):
			for _, p := range re.Problems {
				if p.File != path || p.Line < 2 || p.Reason == "" {
					t.Fatalf("problem without file, data line or reason: %+v", p)
				}
			}
			if c, _ := st.Count(context.Background()); c.Total() != 0 {
				t.Fatalf("all-or-nothing import with problems wrote %+v", c)
			}
		default:
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("fatal error does not name the file: %v", err)
			}
			if data.ErrorCode(err) != data.Invalid {
				t.Fatalf("fatal error code %s: %v", data.ErrorCode(err), err)
			}
		}
	})
}

// FuzzParseMapping: arbitrary mapping text must never panic, and every
// failure must be a *MappingError naming the file.
func FuzzParseMapping(f *testing.F) {
	for _, p := range []string{"testdata/ar.yaml", "../samples/ibm_accounts_receivable.yaml", "../samples/sap_fi_ar_example.yaml", "default_mapping.yaml"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(fuzzMapping))
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := csvio.ParseMapping("m.yaml", in)
		if err != nil {
			var me *csvio.MappingError
			if !errors.As(err, &me) || me.File != "m.yaml" || me.Reason == "" {
				t.Fatalf("not a *MappingError naming m.yaml: %#v", err)
			}
			return
		}
		if len(m.Sources()) == 0 {
			t.Fatal("mapping without sources parsed")
		}
	})
}
