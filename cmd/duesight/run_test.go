package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/data/datatest"
)

// cli runs the CLI in-process with the given environment and returns stdout.
func cli(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	getenv := func(k string) string { return env[k] }
	err := run(context.Background(), args, stdio{in: strings.NewReader(""), out: &out, err: &errOut}, getenv)
	return out.String(), err
}

func mustCLI(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	out, err := cli(t, env, args...)
	if err != nil {
		t.Fatalf("duesight %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func chdir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	return dir
}

func TestHelpAndUsageErrors(t *testing.T) {
	chdir(t)
	out := mustCLI(t, nil, "help")
	for _, c := range []string{"gen", "import", "export", "stats"} {
		if !strings.Contains(out, "  "+c) {
			t.Errorf("help does not list %s:\n%s", c, out)
		}
	}
	for _, args := range [][]string{{"frobnicate"}, {"gen", "--accounts", "x"}, {"stats", "extra"}, {"--store", "ftp://x", "stats"},
		{"gen", "--to", "2024-13-01"}, {"--format", "xml", "version"}} {
		_, err := cli(t, nil, args...)
		if err == nil || exitCode(err) != 2 {
			t.Errorf("duesight %v: err = %v (exit %d); want a usage error (exit 2)", args, err, exitCode(err))
		}
	}
	if _, err := cli(t, nil, "--store", "./missing", "stats"); err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "missing") {
		t.Errorf("stats on a missing store: err = %v; want an error naming the directory", err)
	}
}

func TestGenStatsExportImportRoundTrip(t *testing.T) {
	dir := chdir(t)
	var gen struct {
		Summary struct{ Rows data.Counts } `json:"summary"`
	}
	out := mustCLI(t, nil, "gen", "--accounts", "40", "--to", "2025-06-01", "--format", "json")
	if err := json.Unmarshal([]byte(out), &gen); err != nil || gen.Summary.Rows.Accounts != 40 || gen.Summary.Rows.Invoices == 0 {
		t.Fatalf("gen output %q: %v", out, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "duesight-truth.jsonl.gz")); err != nil {
		t.Fatalf("truth file: %v", err)
	}
	var stats struct {
		Counts data.Counts `json:"counts"`
	}
	if err := json.Unmarshal([]byte(mustCLI(t, nil, "stats", "--format", "json")), &stats); err != nil || stats.Counts != gen.Summary.Rows {
		t.Fatalf("stats counts %+v, %v; want %+v", stats.Counts, err, gen.Summary.Rows)
	}
	// gen refuses a non-empty store.
	if _, err := cli(t, nil, "gen", "--accounts", "5", "--to", "2025-06-01"); err == nil || !strings.Contains(err.Error(), "already holds") {
		t.Fatalf("second gen: err = %v", err)
	}
	for _, format := range []string{"csv", "parquet"} {
		exp := filepath.Join(dir, "export-"+format)
		mustCLI(t, nil, "export", "--file-format", format, exp)
		copyURL := "file://" + filepath.Join(dir, "copy-"+format)
		mustCLI(t, nil, "--store", copyURL, "import", exp)
		orig := openForTest(t, DefaultStore)
		cp := openForTest(t, copyURL)
		want, _ := datatest.Collect(t, orig, data.HistoryQuery{})
		got, _ := datatest.Collect(t, cp, data.HistoryQuery{})
		if d := datatest.DiffHistories(want, got); d != "" {
			t.Fatalf("%s export → import differs: %s", format, d)
		}
		// Importing again adds nothing.
		var res struct {
			Report struct{ Added, Unchanged data.Counts } `json:"report"`
		}
		out := mustCLI(t, nil, "import", "--store", copyURL, exp, "--format", "json")
		if err := json.Unmarshal([]byte(out), &res); err != nil || res.Report.Added.Total() != 0 || res.Report.Unchanged != gen.Summary.Rows {
			t.Fatalf("re-import: %s, %v", out, err)
		}
	}
}

func openForTest(t *testing.T, url string) data.Store {
	t.Helper()
	s, err := openStore(context.Background(), url, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestSettingsPrecedence(t *testing.T) {
	dir := chdir(t)
	cfg := "store: file://" + filepath.Join(dir, "from-config") + "\ngen:\n  accounts: 3\n  to: 2025-01-01\n  truth: \"\"\n"
	if err := os.WriteFile("duesight.yaml", []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	// Config file only: 3 accounts into from-config.
	mustCLI(t, nil, "gen")
	if n := countAccounts(t, "file://"+filepath.Join(dir, "from-config")); n != 3 {
		t.Fatalf("config: %d accounts; want 3", n)
	}
	// Environment beats the file; a flag beats both.
	env := map[string]string{"DUESIGHT_STORE": "file://" + filepath.Join(dir, "from-env"), "DUESIGHT_GEN_ACCOUNTS": "4"}
	mustCLI(t, env, "gen")
	if n := countAccounts(t, env["DUESIGHT_STORE"]); n != 4 {
		t.Fatalf("env: %d accounts; want 4", n)
	}
	mustCLI(t, env, "gen", "--accounts", "5", "--store", "file://"+filepath.Join(dir, "from-flag"))
	if n := countAccounts(t, "file://"+filepath.Join(dir, "from-flag")); n != 5 {
		t.Fatalf("flag: %d accounts; want 5", n)
	}
	// Typos in the config file fail loudly.
	if err := os.WriteFile("bad.yaml", []byte("gen:\n  acounts: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := cli(t, nil, "--config", "bad.yaml", "gen"); err == nil || !strings.Contains(err.Error(), `unknown setting "acounts"`) {
		t.Fatalf("typo in config: err = %v", err)
	}
	if _, err := cli(t, nil, "--config", "nope.yaml", "version"); err == nil {
		t.Fatal("an explicitly named missing config file was accepted")
	}
}

func countAccounts(t *testing.T, url string) int {
	t.Helper()
	s := openForTest(t, url)
	c, err := s.Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c.Accounts
}

const badMapping = `version: 1
defaults: {currency: USD, time_zone: UTC, date_format: YYYY-MM-DD}
sources:
  - name: ar
    entities:
      - kind: account
        fields: {id: customer}
      - kind: invoice
        fields: {id: invoice, account_id: customer, issue_date: issued, due_date: due, amount: amount}
`

func TestImportBadRowsAllOrNothingAndSkip(t *testing.T) {
	chdir(t)
	csv := "customer,invoice,issued,due,amount\n" +
		"c1,i1,2024-01-01,2024-01-31,10.00\n" +
		"c1,i2,2024-02-01,2024-01-15,20.00\n" + // due before issue (line 3)
		"c2,i3,2024-13-01,2024-02-15,30.00\n" + // bad date (line 4)
		"c2,i4,2024-02-01,2024-03-02,-5\n" // negative (line 5)
	if err := os.WriteFile("ar.csv", []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("map.yaml", []byte(badMapping), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := cli(t, nil, "import", "--mapping", "map.yaml", "ar.csv")
	if err == nil {
		t.Fatal("import of bad rows succeeded")
	}
	for _, want := range []string{"ar.csv:3", "ar.csv:4", "ar.csv:5", "due_date", "negative"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	if n := countAccounts(t, DefaultStore); n != 0 {
		t.Fatalf("all-or-nothing import wrote %d accounts", n)
	}
	out, err := cli(t, nil, "import", "--mapping", "map.yaml", "--skip-invalid", "--rejects", "rej.csv", "ar.csv", "--format", "json")
	if err != nil && !strings.Contains(err.Error(), "skipped") && !strings.Contains(err.Error(), "row") {
		t.Fatalf("skip-invalid import: %v\n%s", err, out)
	}
	s := openForTest(t, DefaultStore)
	h, herr := s.History(context.Background(), "c1")
	if herr != nil || len(h.Invoices) != 1 || h.Invoices[0].ID != "i1" {
		t.Fatalf("after --skip-invalid: history %+v, %v; want only i1", h, herr)
	}
	rej, rerr := os.ReadFile("rej.csv")
	if rerr != nil || !strings.Contains(string(rej), "ar.csv") || strings.Count(string(rej), "\n") < 4 {
		t.Fatalf("reject file %q, %v", rej, rerr)
	}
}

func TestImportIBMSample(t *testing.T) {
	csv := filepath.Join(repoRoot(t), "..", "shared", "datasets", "ibm_accounts_receivable", "WA_Fn-UseC_-Accounts-Receivable.csv")
	if _, err := os.Stat(csv); err != nil {
		t.Skipf("IBM sample not present: %v", err)
	}
	mapping := filepath.Join(repoRoot(t), "data", "samples", "ibm_accounts_receivable.yaml")
	chdir(t)
	mustCLI(t, nil, "import", "--mapping", mapping, "ar="+csv)
	var stats struct {
		Counts data.Counts `json:"counts"`
	}
	if err := json.Unmarshal([]byte(mustCLI(t, nil, "stats", "--format", "json")), &stats); err != nil {
		t.Fatal(err)
	}
	if stats.Counts.Invoices != 2466 || stats.Counts.Accounts != 100 || stats.Counts.Payments != 2466 {
		t.Fatalf("IBM import counts = %+v; want 2466 invoices, 100 accounts, 2466 payments", stats.Counts)
	}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(wd, "..", "..")
}
