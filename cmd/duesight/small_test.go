package main

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/duesight/duesight/api"
)

func TestDidYouMean(t *testing.T) {
	chdir(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"statz"}, "(did you mean stats?)"},
		{[]string{"trian"}, "(did you mean train?)"},
		{[]string{"hlep"}, "(did you mean help?)"},
		{[]string{"help", "modles"}, "(did you mean models?)"},
		{[]string{"gen", "--acounts", "3"}, "(did you mean --accounts?)"},
		{[]string{"--stor", "x", "stats"}, "(did you mean --store?)"},
		{[]string{"models", "lst"}, "(did you mean list?)"},
		{[]string{"features", "exprot", "t.csv"}, "(did you mean export?)"},
		{[]string{"keys", "craete"}, "(did you mean create?)"},
		{[]string{"model", "fti"}, "(did you mean fit?)"},
	} {
		_, err := cli(t, nil, c.args...)
		if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), c.want) {
			t.Errorf("duesight %v: err = %v; want a usage error with %q", c.args, err, c.want)
		}
	}
	// Nothing close: no guess.
	if _, err := cli(t, nil, "xyzzy"); err == nil || strings.Contains(err.Error(), "did you mean") {
		t.Errorf("xyzzy: %v", err)
	}
	for _, c := range []struct {
		a, b string
		d    int
	}{{"", "abc", 3}, {"stats", "stats", 0}, {"statz", "stats", 1}, {"trian", "train", 1}, {"ab", "ba", 1}, {"kitten", "sitting", 3}} {
		if d := editDistance(c.a, c.b); d != c.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, d, c.d)
		}
	}
}

func TestVersionOf(t *testing.T) {
	vcs := func(rev, modified string) *debug.BuildInfo {
		return &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: rev}, {Key: "vcs.time", Value: "2026-11-25T10:41:30Z"}, {Key: "vcs.modified", Value: modified}}}
	}
	for _, c := range []struct {
		linked string
		bi     *debug.BuildInfo
		want   string
	}{
		{"v1.2.3", vcs("8f5e783d59de8212ef171da2c7a206b2dfd46503", "true"), "v1.2.3"},
		{"", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.4.0"}}, "v0.4.0"},
		{"", vcs("8f5e783d59de8212ef171da2c7a206b2dfd46503", "false"), "8f5e783d59de"},
		{"", vcs("8f5e783d59de8212ef171da2c7a206b2dfd46503", "true"), "8f5e783d59de-dirty"},
		{"", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}, "devel"},
		{"", nil, "devel"},
	} {
		if got := versionOf(c.linked, c.bi); got.Version != c.want {
			t.Errorf("versionOf(%q, %+v) = %q, want %q", c.linked, c.bi, got.Version, c.want)
		}
	}
	out := mustCLI(t, nil, "version", "--format", "text")
	if !strings.HasPrefix(out, "duesight ") || !strings.Contains(out, "history schema") {
		t.Fatalf("version: %q", out)
	}
	if strings.HasPrefix(out, "duesight devel") && !strings.Contains(out, "-ldflags") {
		t.Fatalf("a devel build does not say how to get a version: %q", out)
	}
}

func TestMissingStoreHint(t *testing.T) {
	chdir(t)
	_, err := cli(t, nil, "stats")
	if err == nil || !strings.Contains(err.Error(), "manifest.json is missing") ||
		!strings.Contains(err.Error(), "create it with 'duesight gen' (synthetic) or 'duesight import'") {
		t.Fatalf("stats on a missing store: %v", err)
	}
	_, err = cli(t, nil, "--store", "file://elsewhere", "train")
	if err == nil || !strings.Contains(err.Error(), "'duesight --store file://elsewhere gen'") {
		t.Fatalf("train on a missing store: %v", err)
	}
}

// TestReadCommandsDoNotCreateDatabase: stats, export and features export
// on a missing ClickHouse database fail with a hint and leave no database;
// import creates it.
func TestReadCommandsDoNotCreateDatabase(t *testing.T) {
	dsn := clickhouseDSN(t)
	dir := chdir(t)
	db := dsn[strings.LastIndexByte(dsn, '/')+1:]
	exists := func() bool {
		conn, err := ch.Open(&ch.Options{Addr: []string{strings.TrimPrefix(dsn[:strings.LastIndexByte(dsn, '/')], "clickhouse://")}})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var n uint64
		if err := conn.QueryRow(context.Background(), "SELECT count() FROM system.databases WHERE name = ?", db).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 0
	}
	for _, args := range [][]string{{"stats"}, {"export", dir + "/out"}, {"features", "export", "t.csv"}} {
		_, err := cli(t, nil, append([]string{"--store", dsn}, args...)...)
		if err == nil || !strings.Contains(err.Error(), "database "+db+" does not exist") ||
			!strings.Contains(err.Error(), "'duesight --store "+dsn+" import'") {
			t.Fatalf("%v on a missing database: %v", args, err)
		}
		if exists() {
			t.Fatalf("%v created the database", args)
		}
	}
	mustCLI(t, nil, "gen", "--accounts", "5", "--to", "2025-01-01", "--truth", "")
	mustCLI(t, nil, "export", "out")
	mustCLI(t, nil, "--store", dsn, "import", "out")
	if !exists() {
		t.Fatal("import did not create the database")
	}
	if out := mustCLI(t, nil, "--store", dsn, "stats", "--format", "text"); !strings.Contains(out, "accounts  5") {
		t.Fatalf("stats after import: %s", out)
	}
}

// TestDemoReplacesItsKey: each demo run leaves exactly one valid demo key.
func TestDemoReplacesItsKey(t *testing.T) {
	chdir(t)
	args := []string{"demo", "--no-serve", "--accounts", "30"}
	var keys []string
	for range 3 {
		out := mustCLI(t, nil, args...)
		i := strings.Index(out, "dsk_")
		if i < 0 {
			t.Fatalf("demo printed no key:\n%s", out)
		}
		keys = append(keys, strings.Fields(out[i:])[0])
	}
	ks, err := api.OpenKeyStore(DefaultKeys, api.KeyStoreOptions{ReloadInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	list, err := ks.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	valid := 0
	for _, k := range list {
		if !k.Revoked() {
			valid++
		}
	}
	if valid != 1 {
		t.Fatalf("%d valid keys after 3 demo runs, want 1: %+v", valid, list)
	}
	if _, err := ks.Verify(context.Background(), keys[2]); err != nil {
		t.Fatalf("the last demo key does not verify: %v", err)
	}
	for _, k := range keys[:2] {
		if _, err := ks.Verify(context.Background(), k); err == nil {
			t.Fatal("an earlier demo key still verifies")
		}
	}
}

// TestImportRejectFile: without a reject file the message says the
// problems beyond the first 20 were not written anywhere; with --rejects
// every one is in the file, also without --skip-invalid; --skip-invalid
// succeeds with the valid rows. Exports and reject files are 0644.
func TestImportRejectFile(t *testing.T) {
	chdir(t)
	modes := withUmask(t, 0o022)
	var b strings.Builder
	b.WriteString("customer,invoice,issued,due,amount\nc1,i0,2024-01-01,2024-01-31,10.00\n")
	for i := range 25 {
		fmt.Fprintf(&b, "c1,i%d,2024-02-01,2024-01-15,20.00\n", i+1) // due before issue
	}
	if err := os.WriteFile("ar.csv", []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("map.yaml", []byte(badMapping), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := cli(t, nil, "import", "--mapping", "map.yaml", "ar.csv")
	if err == nil || !strings.Contains(err.Error(), "and 5 more, not shown (no reject file was written)") ||
		!strings.Contains(err.Error(), "--rejects FILE") || strings.Contains(err.Error(), "lists all") {
		t.Fatalf("without a reject file: %v", err)
	}
	if _, err := os.Stat("rejects.csv"); err == nil {
		t.Fatal("a reject file appeared unasked")
	}
	_, err = cli(t, nil, "import", "--mapping", "map.yaml", "--rejects", "r.csv", "ar.csv")
	if err == nil || !strings.Contains(err.Error(), "all 25 are listed in r.csv") || !strings.Contains(err.Error(), "nothing was imported") {
		t.Fatalf("with --rejects: %v", err)
	}
	rej, err := os.ReadFile("r.csv")
	if err != nil || strings.Count(string(rej), "\n") != 26 {
		t.Fatalf("r.csv: %d lines, %v; want header + 25", strings.Count(string(rej), "\n"), err)
	}
	if n := countAccounts(t, DefaultStore); n != 0 {
		t.Fatalf("all-or-nothing import wrote %d accounts", n)
	}
	out := mustCLI(t, nil, "import", "--mapping", "map.yaml", "--skip-invalid", "ar.csv", "--format", "text")
	if !strings.Contains(out, "skipped 25 invalid rows; reasons in rejects.csv") {
		t.Fatalf("--skip-invalid: %s", out)
	}
	mustCLI(t, nil, "export", "out")
	for _, f := range []string{"rejects.csv", "r.csv", "out/accounts.csv", "out/invoices.csv"} {
		if st, err := os.Stat(f); err != nil || (modes && st.Mode().Perm() != 0o644) {
			t.Errorf("%s: %v, %v; want mode 0644", f, st, err)
		}
	}
}

func TestProgressLine(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := &progress{label: "import", unit: "bytes", total: 4_000_000, start: t0, started: true}
	p.done = 1_000_000
	p.SetCount(25_000, "rows")
	got := p.line(t0.Add(10 * time.Second))
	for _, want := range []string{"import [=======", " 25%", "25.0k rows", "1.00M/4.00M bytes", "ETA 0:30"} {
		if !strings.Contains(got, want) {
			t.Errorf("line %q lacks %q", got, want)
		}
	}
	p = &progress{label: "gen", unit: "rows", start: t0, started: true, done: 50_000}
	if got := p.line(t0.Add(2 * time.Second)); got != "gen 50.0k rows  25.0k rows/s" {
		t.Errorf("line without total: %q", got)
	}
	if clock(3725*time.Second) != "1:02:05" || clock(65*time.Second) != "1:05" {
		t.Error("clock format")
	}
}
