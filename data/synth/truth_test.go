package synth_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/duesight/duesight/data/synth"
)

func readAll(t *testing.T, rd *synth.TruthReader) *synth.TruthBatch {
	t.Helper()
	out := &synth.TruthBatch{}
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		switch rec.Kind {
		case "account":
			out.Accounts = append(out.Accounts, *rec.Account)
		case "invoice":
			out.Invoices = append(out.Invoices, *rec.Invoice)
		case "contact":
			out.Contacts = append(out.Contacts, *rec.Contact)
		}
	}
}

func TestTruthFileRoundTrip(t *testing.T) {
	o := synth.Options{Seed: 5, Accounts: 60, To: testTo}
	r := generate(t, o)
	for _, name := range []string{"truth.jsonl", "truth.jsonl.gz"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), name)
			tw, err := synth.CreateTruthFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := synth.Generate(context.Background(), o, &collectWriter{}, tw); err != nil {
				t.Fatal(err)
			}
			if err := tw.Close(); err != nil {
				t.Fatal(err)
			}
			rd, err := synth.OpenTruthFile(path)
			if err != nil {
				t.Fatal(err)
			}
			defer rd.Close()
			h := rd.Header()
			if h.Seed != 5 || h.Accounts != 60 || h.To != testTo || h.Model == nil || len(h.Columns["invoice"]) == 0 {
				t.Errorf("header %+v", h)
			}
			got := readAll(t, rd)
			if !reflect.DeepEqual(got.Accounts, r.truth.Accounts) {
				t.Error("accounts differ after the round trip")
			}
			if !reflect.DeepEqual(got.Invoices, r.truth.Invoices) {
				t.Error("invoices differ after the round trip")
			}
			if !reflect.DeepEqual(got.Contacts, r.truth.Contacts) {
				t.Error("contacts differ after the round trip")
			}
			if len(got.Invoices) == 0 || len(got.Contacts) == 0 {
				t.Errorf("%d invoices, %d contacts", len(got.Invoices), len(got.Contacts))
			}
		})
	}
}

// Every column the header documents is a field of the records, and vice versa.
func TestTruthHeaderDescribesColumns(t *testing.T) {
	r := generate(t, synth.Options{Seed: 5, Accounts: 5, To: testTo})
	rd, err := synth.NewTruthReader(bytes.NewReader(r.file), "mem")
	if err != nil {
		t.Fatal(err)
	}
	cols := rd.Header().Columns
	lines := strings.Split(string(r.file), "\n")
	seen := map[string]bool{}
	for _, l := range lines[1:] {
		for _, kind := range []string{"account", "invoice", "contact"} {
			if !strings.HasPrefix(l, `{"kind":"`+kind+`"`) || seen[kind] {
				continue
			}
			seen[kind] = true
			if len(cols[kind]) == 0 {
				t.Fatalf("no columns for %s", kind)
			}
			for _, c := range cols[kind] {
				if !strings.Contains(l, `"`+c.Name+`":`) {
					t.Errorf("%s column %s not in record %s", kind, c.Name, l)
				}
				if c.Type == "" {
					t.Errorf("%s column %s has no type", kind, c.Name)
				}
			}
			if n := strings.Count(l, `":`) - 1; n != len(cols[kind]) {
				t.Errorf("%s record has %d fields, header %d", kind, n, len(cols[kind]))
			}
		}
	}
	if len(seen) != 3 {
		t.Errorf("kinds seen: %v", seen)
	}
}

func TestTruthReaderErrors(t *testing.T) {
	r := generate(t, synth.Options{Seed: 5, Accounts: 3, To: testTo})
	header, _, _ := bytes.Cut(r.file, []byte("\n"))
	h := string(header) + "\n"
	tests := []struct {
		name, file string
		atOpen     bool
		want       []string
	}{
		{"empty", "", true, []string{"mem:1", "empty"}},
		{"not json", "hello\n", true, []string{"mem:1", "header"}},
		{"wrong format", `{"format":"other","version":1}` + "\n", true, []string{"mem:1", "format"}},
		{"wrong version", `{"format":"duesight-synth-truth","version":99}` + "\n", true, []string{"mem:1", "version"}},
		{"unknown kind", h + `{"kind":"payment"}` + "\n", false, []string{"mem:2", "kind"}},
		{"unknown field", h + `{"kind":"invoice","invoice_id":"x","bogus":1}` + "\n", false, []string{"mem:2", "bogus"}},
		{"wrong type", h + `{"kind":"invoice","invoice_id":"x","p_late":"high"}` + "\n", false, []string{"mem:2", "p_late"}},
		{"bad enum", h + `{"kind":"invoice","invoice_id":"x","regime":"sometimes"}` + "\n", false, []string{"mem:2", "sometimes"}},
		{"bad date", h + `{"kind":"invoice","invoice_id":"x","due_date":"2025-13-01"}` + "\n", false, []string{"mem:2", "2025-13-01"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rd, err := synth.NewTruthReader(strings.NewReader(tc.file), "mem")
			if err == nil {
				if tc.atOpen {
					t.Fatal("NewTruthReader accepted the file")
				}
				_, err = rd.Next()
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestTruthWriterMisuse(t *testing.T) {
	var buf bytes.Buffer
	tw := synth.NewTruthWriter(&buf, false)
	ctx := context.Background()
	if err := tw.WriteTruth(ctx, &synth.TruthBatch{}); err == nil {
		t.Error("WriteTruth before Start accepted")
	}
	if err := tw.Start(ctx, &synth.TruthHeader{Format: synth.TruthFormat, Version: synth.TruthVersion}); err != nil {
		t.Fatal(err)
	}
	b := &synth.TruthBatch{Accounts: []synth.AccountTruth{{AccountID: "A2"}}, Invoices: []synth.InvoiceTruth{{AccountID: "A1"}}}
	if err := tw.WriteTruth(ctx, b); err == nil {
		t.Error("invoice of an account not in the batch accepted")
	}
}
