package csvio_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/data/csvio"
)

const minimalSource = `
sources:
  - name: s
    entities:
      - kind: invoice
        fields:
          id: A
          account_id: B
          issue_date: C
          due_date: D
          amount: E
`

// TestParseMappingErrors: every mistake names the file, the YAML line and
// column, the key path and the reason.
func TestParseMappingErrors(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"empty", ``, `m.yaml: mapping is empty`},
		{"not yaml", "version: [1", `m.yaml: yaml: line 1: did not find expected ',' or ']'`},
		{"no version", "sources: []", `m.yaml:1:1: missing key version (want version: 1)`},
		{"bad version", "version: 2\n" + minimalSource, `m.yaml:1:10: version: unsupported mapping version "2"`},
		{"unknown top key", "version: 1\nsourcse: []", `m.yaml:2:1: unknown key "sourcse" (allowed: version, defaults, sources)`},
		{"no sources", "version: 1\nsources: []", `m.yaml:2:10: sources: want a non-empty list of sources`},
		{"unknown field", "version: 1\ndefaults: {currency: USD}\n" + strings.Replace(minimalSource, "amount: E", "amout: E", 1),
			`m.yaml:13:11: sources[0].entities[0].fields: unknown field "amout" for invoice (fields: id, account_id, issue_date, due_date, baseline_date, terms_days, amount, currency, delivered_by)`},
		{"unmapped required", "version: 1\ndefaults: {currency: USD}\n" + strings.Replace(minimalSource, "          amount: E\n", "", 1),
			`m.yaml:9:11: sources[0].entities[0].fields: invoice field amount is not mapped`},
		{"no currency", "version: 1\n" + minimalSource,
			`sources[0].entities[0].fields: invoice currency is neither mapped nor set in defaults.currency`},
		{"bad default currency", "version: 1\ndefaults: {currency: XYZ}\n" + minimalSource,
			`m.yaml:2:22: defaults.currency: "XYZ" is not an ISO 4217 currency code`},
		{"bad zone", "version: 1\ndefaults: {currency: USD, time_zone: Mars/Base}\n" + minimalSource,
			`m.yaml:2:38: defaults.time_zone: "Mars/Base" is not an IANA time zone`},
		{"bad kind", "version: 1\nsources:\n  - name: s\n    entities:\n      - kind: customer\n        fields: {id: A}",
			`m.yaml:5:15: sources[0].entities[0].kind: unknown kind "customer"`},
		{"bad date token", "version: 1\ndefaults: {currency: USD, date_format: DD/QQ/YYYY}\n" + minimalSource,
			`defaults.date_format: date format "DD/QQ/YYYY": unknown token "Q"`},
		{"bad template", "version: 1\ndefaults: {currency: USD}\n" + strings.Replace(minimalSource, "id: A", `id: "pay-{A"`, 1),
			`m.yaml:9:15: sources[0].entities[0].fields.id: template "pay-{A": unclosed '{' at byte 5`},
		{"two sources in a field", "version: 1\ndefaults: {currency: USD}\n" + strings.Replace(minimalSource, "id: A", "id: {column: A, value: x}", 1),
			`m.yaml:9:15: sources[0].entities[0].fields.id: want exactly one of column, template or value`},
		{"bad map target", "version: 1\ndefaults: {currency: USD}\n" + minimalSource + "          delivered_by: {column: F, map: {Paper: lettr}}\n",
			`sources[0].entities[0].fields.delivered_by.map.Paper: unknown channel "lettr"`},
		{"bad constant", "version: 1\ndefaults: {currency: USD}\n" + strings.Replace(minimalSource, "due_date: D", "due_date: {value: 31.12.2024}", 1),
			`sources[0].entities[0].fields.due_date.value: unparseable date "31.12.2024" (want iso)`},
		{"option on wrong type", "version: 1\ndefaults: {currency: USD}\n" + strings.Replace(minimalSource, "id: A", "id: {column: A, decimal: ','}", 1),
			`sources[0].entities[0].fields.id.decimal: decimal applies only to amount fields, and id is a id field`},
		{"options on wrong type: the same one reported every run", "version: 1\ndefaults: {currency: USD}\n" + strings.Replace(minimalSource, "id: A", "id: {column: A, minor_units: true, negate: true, thousands: '.', decimal: ','}", 1),
			`sources[0].entities[0].fields.id.decimal: decimal applies only to amount fields, and id is a id field`},
		{"bad on_conflict", "version: 1\ndefaults: {currency: USD}\n" + strings.Replace(minimalSource, "- kind: invoice", "- kind: invoice\n        on_conflict: newest", 1),
			`sources[0].entities[0].on_conflict: unknown value "newest" (want first, last or error)`},
		{"when without op", "version: 1\ndefaults: {currency: USD}\n" + strings.Replace(minimalSource, "- kind: invoice", "- kind: invoice\n        when: {column: X}", 1),
			`sources[0].entities[0].when: want exactly one of equals, not_equals, in, not_in, empty, not_empty`},
		{"duplicate source", "version: 1\ndefaults: {currency: USD}\n" + minimalSource + strings.TrimPrefix(minimalSource, "\nsources:\n"),
			`sources[1].name: source name "s" is used twice`},
		{"alias", "version: 1\ndefaults: &d {currency: USD}\n" + minimalSource, `defaults: YAML anchors and aliases are not supported`},
		{"delimiter", "version: 1\ndefaults: {currency: USD}\n" + strings.Replace(minimalSource, "- name: s", "- name: s\n    delimiter: ';;'", 1),
			`sources[0].delimiter: want one character (or tab, space), found ";;"`},
		{"same separators", "version: 1\ndefaults: {currency: USD, decimal: ',', thousands: ','}\n" + minimalSource,
			`defaults.thousands: must differ from the decimal separator`},
		{"no due", "version: 1\ndefaults: {currency: USD}\n" + strings.Replace(minimalSource, "          due_date: D\n", "", 1),
			`invoice needs due_date or terms_days`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := csvio.ParseMapping("m.yaml", []byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v\nwant it to contain %q", err, tc.want)
			}
			var me *csvio.MappingError
			if !errors.As(err, &me) || me.File != "m.yaml" {
				t.Errorf("error is not a *MappingError naming m.yaml: %#v", err)
			}
			if data.ErrorCode(err) != data.Invalid {
				t.Errorf("code %s", data.ErrorCode(err))
			}
		})
	}
}

func TestLoadMapping(t *testing.T) {
	if _, err := csvio.LoadMapping("testdata/nope.yaml"); err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Errorf("missing file: %v", err)
	}
	m := loadMapping(t, "testdata/ar.yaml")
	if got := m.Sources(); !slices.Equal(got, []string{"accounts", "invoices"}) {
		t.Errorf("sources %v", got)
	}
	for _, p := range []string{"../samples/ibm_accounts_receivable.yaml", "../samples/sap_fi_ar_example.yaml"} {
		loadMapping(t, p)
	}
	if !strings.Contains(string(csvio.DefaultMappingYAML()), "kind: dispute") {
		t.Error("default mapping text lacks disputes")
	}
	if got := csvio.DefaultMapping().Sources(); !slices.Equal(got, []string{"accounts", "invoices", "payments", "contacts", "disputes"}) {
		t.Errorf("default sources %v", got)
	}
}

// readOne applies mapping text to one CSV text and returns the batch and
// the conversion problems.
func readOne(t *testing.T, mapping, csvText string) (*data.Batch, []string) {
	t.Helper()
	m, err := csvio.ParseMapping("m.yaml", []byte(mapping))
	if err != nil {
		t.Fatalf("mapping: %v", err)
	}
	path := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(path, []byte(csvText), 0o644); err != nil {
		t.Fatal(err)
	}
	b, loc, err := csvio.Read(context.Background(), m, map[string]string{m.Sources()[0]: path}, csvio.ReadOptions{})
	var re *csvio.RowsError
	if err != nil && !errors.As(err, &re) {
		t.Fatalf("read: %v", err)
	}
	var probs []string
	for _, p := range loc.Problems() {
		probs = append(probs, strings.TrimPrefix(p.String(), path))
	}
	return b, probs
}

const driftMapping = `version: 1
defaults: {currency: USD}
sources:
  - name: s
    entities:
      - kind: account
        on_conflict: %s
        fields: {id: Cust, country: Country, segment: {column: Seg, default: smb}}
`

// TestOnConflict: an account whose country drifts between rows.
func TestOnConflict(t *testing.T) {
	const in = "Cust,Country,Seg\nA,DE,\nB,FR,big\nA,AT,\nA,DE,\n"
	for _, tc := range []struct {
		mode     string
		country  string
		problems []string
	}{
		{"first", "DE", nil},
		{"last", "DE", nil}, // the last row (line 5) says DE again
		{"error", "DE", []string{`:4: column "Country" (country): duplicate account id "A" with a different country: "AT" here, "DE" at ` +
			`%s:2 (set on_conflict: first or last to accept this)`}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			b, probs := readOne(t, strings.Replace(driftMapping, "%s", tc.mode, 1), in)
			if len(b.Accounts) != 2 || b.Accounts[0].Country != tc.country || b.Accounts[0].Segment != "smb" || b.Accounts[1].Segment != "big" {
				t.Errorf("accounts %+v", b.Accounts)
			}
			if len(probs) != len(tc.problems) {
				t.Fatalf("problems %q, want %d", probs, len(tc.problems))
			}
			for i, p := range probs {
				if !strings.HasPrefix(p, tc.problems[i][:strings.Index(tc.problems[i], "%s")]) {
					t.Errorf("problem %q, want %q", p, tc.problems[i])
				}
			}
		})
	}
	// last takes the final differing value.
	b, _ := readOne(t, strings.Replace(driftMapping, "%s", "last", 1), "Cust,Country,Seg\nA,DE,\nA,AT,\n")
	if b.Accounts[0].Country != "AT" {
		t.Errorf("last: country %q, want AT", b.Accounts[0].Country)
	}
}

// TestFieldConversions drives formats, separators, maps, defaults,
// templates and conditions through Read.
func TestFieldConversions(t *testing.T) {
	const mapping = `version: 1
defaults: {currency: EUR, time_zone: Europe/Berlin}
sources:
  - name: s
    delimiter: tab
    entities:
      - kind: account
        fields:
          id: Cust
          created_at: {column: Created, format: ["DD.MM.YYYY HH:mm", excel, iso]}
          consent: {column: Consent, map: {"all channels": all}, default: none}
          terms_days: Terms
      - kind: invoice
        when: [{column: Type, in: [INV, inv]}, {column: Amount, not_empty: true}]
        fields:
          id: "INV-{Cust}-{No}"
          account_id: Cust
          issue_date: {column: Date, format: [M/D/YY, "[Day ]D MMM YYYY", "2006.01.02"]}
          terms_days: Terms
          amount: {column: Amount, decimal: ",", thousands: " "}
          currency: {column: Cur, default: EUR}
      - kind: payment
        when: {column: Type, equals: pay, ignore_case: true}
        fields:
          id: "{{P}}{No}"
          account_id: Cust
          invoice_id: "INV-{Cust}-{Ref}"
          date: {column: Date, format: unix}
          amount: {column: Amount, minor_units: true, negate: true}
          currency: Cur
`
	row := func(f ...string) string { return strings.Join(f, "\t") + "\n" }
	in := row("Cust", "Created", "Consent", "Terms", "Type", "No", "Ref", "Date", "Amount", "Cur") +
		row("A", "31.01.2024 23:30", "all channels", "30", "INV", "1", "", "1/31/24", "1 234,5", "") +
		row("A", "31.01.2024 23:30", "all channels", "30", "inv", "2", "", "Day 5 Feb 2024", "(10,50)", "JPY") +
		row("A", "31.01.2024 23:30", "all channels", "30", "PAY", "3", "1", "1706745600", "-12345", "EUR") +
		row("B", "45322.5", "", "14", "INV", "4", "", "2024.02.29", "", "EUR") + // no amount: no invoice
		row("C", "2024-01-31T12:00:00Z", "sms|email", "0", "CN", "5", "", "x", "1", "EUR") // no entity but the account
	b, probs := readOne(t, mapping, in)
	wantProbs := []string{`:3: column "Amount" (amount): amount "10,50" has more than 0 decimals for JPY`}
	if !slices.Equal(probs, wantProbs) {
		t.Errorf("problems %q\nwant %q", probs, wantProbs)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	wantAcc := []data.Account{
		{ID: "A", Currency: "EUR", TimeZone: "Europe/Berlin", TermsDays: 30, Consent: data.AllChannels,
			CreatedAt: time.Date(2024, 1, 31, 22, 30, 0, 0, time.UTC)},
		{ID: "B", Currency: "EUR", TimeZone: "Europe/Berlin", TermsDays: 14,
			CreatedAt: time.Date(2024, 1, 31, 12, 0, 0, 0, berlin).UTC()}, // Excel serial 45322.5 = 2024-01-31 12:00
		{ID: "C", Currency: "EUR", TimeZone: "Europe/Berlin", Consent: data.ChannelSet(0).With(data.SMS).With(data.Email),
			CreatedAt: time.Date(2024, 1, 31, 12, 0, 0, 0, time.UTC)},
	}
	if len(b.Accounts) != len(wantAcc) {
		t.Fatalf("accounts %+v", b.Accounts)
	}
	for i := range wantAcc {
		if !b.Accounts[i].Equal(wantAcc[i]) {
			t.Errorf("account %d:\n got %+v\nwant %+v", i, b.Accounts[i], wantAcc[i])
		}
	}
	wantInv := []data.Invoice{{ID: "INV-A-1", AccountID: "A", IssueDate: data.NewDate(2024, 1, 31), DueDate: data.NewDate(2024, 3, 1),
		Amount: 123450, Currency: "EUR"}}
	if !slices.Equal(b.Invoices, wantInv) {
		t.Errorf("invoices:\n got %+v\nwant %+v", b.Invoices, wantInv)
	}
	wantPay := []data.Payment{{ID: "{P}3", AccountID: "A", InvoiceID: "INV-A-1", Date: data.NewDate(2024, 2, 1),
		Amount: 12345, Currency: "EUR"}}
	if !slices.Equal(b.Payments, wantPay) {
		t.Errorf("payments:\n got %+v\nwant %+v", b.Payments, wantPay)
	}
}

// TestEncodingLatin1: a Latin-1 file decodes to UTF-8.
func TestEncodingLatin1(t *testing.T) {
	const mapping = "version: 1\ndefaults: {currency: EUR}\nsources:\n  - name: s\n    encoding: latin1\n    delimiter: ';'\n" +
		"    entities:\n      - kind: account\n        fields: {id: Id, name: Name}\n"
	b, probs := readOne(t, mapping, "Id;Name\n1;Caf\xe9 \xc0 la Cr\xe8me\n")
	if len(probs) != 0 || len(b.Accounts) != 1 || b.Accounts[0].Name != "Café À la Crème" {
		t.Errorf("got %+v %q", b.Accounts, probs)
	}
}

// TestCommentsAndBlankRows: comment lines, blank lines and rows of empty
// fields are skipped; line numbers still count them.
func TestCommentsAndBlankRows(t *testing.T) {
	const mapping = "version: 1\ndefaults: {currency: EUR}\nsources:\n  - name: s\n    comment: '#'\n" +
		"    entities:\n      - kind: account\n        fields: {id: Id, time_zone: Zone}\n"
	b, probs := readOne(t, mapping, "# exported 2024-01-31\nId,Zone\n\n,\n# skipped\nA,UTC\nB,Nowhere/Zone\n ,  \n")
	want := []string{`:7: column "Zone" (time_zone): "Nowhere/Zone" is not an IANA time zone`}
	if len(b.Accounts) != 1 || b.Accounts[0].ID != "A" || !slices.Equal(probs, want) {
		t.Errorf("accounts %+v problems %q, want A and %q", b.Accounts, probs, want)
	}
}
