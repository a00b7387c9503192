package clickhouse

// Tests of unexported helpers: DDL rendering (cluster mode cannot run
// here, so its DDL text is checked), statement splitting, migrations
// loading, window conditions, DSN parsing and error classification.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/duesight/duesight/data"
)

// The DDL tests check the generated text (cluster mode cannot run here).

func renderAll(t *testing.T, d ddl) []string {
	t.Helper()
	out := d.bootstrap()
	for _, m := range migrations {
		stmts, err := d.render(m)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, stmts...)
	}
	return out
}

var createRE = regexp.MustCompile("^CREATE (TABLE|DATABASE) IF NOT EXISTS `db`(?:\\.`([a-z_]+)`)?")

// created maps each created table (or "" for the database) to its statement.
func created(t *testing.T, stmts []string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, s := range stmts {
		g := createRE.FindStringSubmatch(s)
		if g == nil {
			t.Fatalf("statement is not an idempotent CREATE of db: %q", s)
		}
		if _, dup := m[g[2]]; dup {
			t.Fatalf("%q created twice", g[2])
		}
		m[g[2]] = s
	}
	return m
}

func TestSingleServerDDL(t *testing.T) {
	m := created(t, renderAll(t, ddl{DB: "db", ZKPath: "/clickhouse/tables"}))
	want := []string{"", "schema_migrations", "accounts", "invoices", "payments", "contacts", "disputes", "commits", "writers", "actions"}
	if got := slices.Sorted(maps.Keys(m)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Fatalf("created %v; want %v", got, want)
	}
	for name, s := range m {
		if strings.Contains(s, "ON CLUSTER") || strings.Contains(s, "Replicated") || strings.Contains(s, "Distributed") {
			t.Errorf("%s: single-server DDL mentions cluster features:\n%s", name, s)
		}
		if name != "" && !strings.Contains(s, "ENGINE = MergeTree\n") {
			t.Errorf("%s: want a plain MergeTree:\n%s", name, s)
		}
	}
	tests := []struct {
		table, partition, order string
	}{
		{"accounts", "", "ORDER BY (account_id, seq)"},
		{"invoices", "PARTITION BY toYear(issue_date)", "ORDER BY (account_id, issue_date, id)"},
		{"payments", "PARTITION BY toYear(date)", "ORDER BY (account_id, date, id)"},
		{"contacts", "PARTITION BY toYear(sent_at)", "ORDER BY (account_id, sent_at, id, seq)"},
		{"disputes", "PARTITION BY toYear(opened_on)", "ORDER BY (account_id, opened_on, id, seq)"},
		{"actions", "", "ORDER BY (id, version)"},
		{"commits", "", "ORDER BY seq"},
	}
	for _, tc := range tests {
		s := m[tc.table]
		if !strings.HasSuffix(s, tc.order) {
			t.Errorf("%s: want it to end with %q:\n%s", tc.table, tc.order, s)
		}
		if tc.partition == "" && strings.Contains(s, "PARTITION BY") || tc.partition != "" && !strings.Contains(s, tc.partition) {
			t.Errorf("%s: want partition %q:\n%s", tc.table, tc.partition, s)
		}
		if tc.table != "commits" && tc.table != "actions" {
			for _, col := range []string{"account_hash UInt32", "seq          UInt64", "account_id"} {
				if !strings.Contains(strings.Join(strings.Fields(s), " "), strings.Join(strings.Fields(col), " ")) {
					t.Errorf("%s: missing column %q", tc.table, col)
				}
			}
		}
	}
}

func TestClusterDDL(t *testing.T) {
	d := ddl{DB: "db", Cluster: "dues", ZKPath: "/ch/t"}
	stmts := renderAll(t, d)
	for _, s := range stmts {
		if !strings.Contains(s, " ON CLUSTER `dues`") {
			t.Errorf("cluster statement without ON CLUSTER: %q", s)
		}
	}
	m := created(t, stmts)
	for _, table := range []string{"accounts", "invoices", "payments", "contacts", "disputes", "actions"} {
		local := m[table+"_local"]
		wantEngine := "ENGINE = ReplicatedMergeTree('/ch/t/{shard}/db/" + table + "_local', '{replica}')"
		if !strings.Contains(local, wantEngine) {
			t.Errorf("%s_local: want %q in\n%s", table, wantEngine, local)
		}
		dist := m[table]
		wantDist := "CREATE TABLE IF NOT EXISTS `db`.`" + table + "` ON CLUSTER `dues` AS `db`.`" + table +
			"_local` ENGINE = Distributed(`dues`, `db`, `" + table + "_local`, account_hash)"
		if dist != wantDist {
			t.Errorf("%s distributed:\n got %s\nwant %s", table, dist, wantDist)
		}
	}
	for _, table := range []string{"schema_migrations", "commits", "writers"} {
		want := "ENGINE = ReplicatedMergeTree('/ch/t/all/db/" + table + "', '{replica}')"
		if !strings.Contains(m[table], want) {
			t.Errorf("%s: want %q in\n%s", table, want, m[table])
		}
		if _, ok := m[table+"_local"]; ok {
			t.Errorf("%s must not be sharded", table)
		}
	}
	if m[""] != "CREATE DATABASE IF NOT EXISTS `db` ON CLUSTER `dues`" {
		t.Errorf("database statement %q", m[""])
	}
	if d.in() != "GLOBAL IN" || (ddl{DB: "db"}).in() != "IN" {
		t.Errorf("in() = %q / %q; want GLOBAL IN in cluster mode only", d.in(), (ddl{DB: "db"}).in())
	}
	// Mutations go to the local tables on every node.
	if got, want := d.local("invoices")+d.on(), "`db`.`invoices_local` ON CLUSTER `dues`"; got != want {
		t.Errorf("mutation target %q; want %q", got, want)
	}
}

func TestSplitStatements(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"two", "CREATE A (\n  x Int8\n);\n\nCREATE B;\n", []string{"CREATE A (\n  x Int8\n)", "CREATE B"}},
		{"comments and blanks", "-- header; with semicolon;\n\n  -- indented\nSELECT 1;\n;\n", []string{"SELECT 1"}},
		{"no trailing semicolon", "SELECT 1;\nSELECT 2", []string{"SELECT 1", "SELECT 2"}},
		{"semicolon inside a line", "SELECT ';' AS x;\n", []string{"SELECT ';' AS x"}},
		{"empty", "\n\n", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := splitStatements(tc.in); !slices.Equal(got, tc.want) {
				t.Fatalf("got %q; want %q", got, tc.want)
			}
		})
	}
}

func TestLoadMigrations(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	tests := []struct {
		name    string
		fs      fstest.MapFS
		want    []int
		wantErr string
	}{
		{"ordered", fstest.MapFS{"migrations/0002_b.sql": file("B;"), "migrations/0001_a.sql": file("A;")}, []int{1, 2}, ""},
		{"gap", fstest.MapFS{"migrations/0001_a.sql": file("A;"), "migrations/0003_c.sql": file("C;")}, nil, "out of sequence"},
		{"bad name", fstest.MapFS{"migrations/1_a.sql": file("A;")}, nil, "name must look like"},
		{"none", fstest.MapFS{"migrations/.keep": nil}, nil, "name must look like"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := loadMigrations(tc.fs)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v; want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, m := range ms {
				got = append(got, m.Version)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("versions %v; want %v", got, tc.want)
			}
		})
	}
}

func TestWindowCond(t *testing.T) {
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		name  string
		isDay bool
		w     data.Window
		want  string
	}{
		{"open", true, data.Window{}, ""},
		{"from midnight", true, data.Window{From: day(2022, 6, 1)}, "d >= toDate('2022-06-01')"},
		// 2022-06-01 00:00:01 excludes 2022-06-01 (its midnight is before From).
		{"from just after midnight", true, data.Window{From: day(2022, 6, 1).Add(time.Second)}, "d >= toDate('2022-06-02')"},
		{"from a nanosecond after midnight", true, data.Window{From: day(2022, 6, 1).Add(1)}, "d >= toDate('2022-06-02')"},
		{"to midnight excludes that day", true, data.Window{To: day(2023, 3, 1)}, "d < toDate('2023-03-01')"},
		{"to noon includes that day", true, data.Window{To: day(2023, 3, 1).Add(12 * time.Hour)}, "d < toDate('2023-03-02')"},
		{"from before MinDate is no bound", true, data.Window{From: day(1960, 1, 1)}, ""},
		{"from after MaxDate is empty", true, data.Window{From: day(2106, 1, 1)}, "0"},
		{"to after MaxDate is no bound", true, data.Window{To: day(2200, 1, 1)}, ""},
		{"to at MinDate is empty", true, data.Window{To: day(1970, 1, 2)}, "0"},
		{"inverted is empty", true, data.Window{From: day(2023, 1, 1), To: day(2022, 1, 1)}, "0"},
		{"both", true, data.Window{From: day(2022, 9, 1), To: day(2023, 3, 1)},
			"d >= toDate('2022-09-01') AND d < toDate('2023-03-01')"},
		{"instant bounds", false, data.Window{From: time.Unix(1000, 0), To: time.Unix(2000, 500)},
			"d >= toDateTime(1000) AND d < toDateTime(2001)"},
		{"instant from rounds up", false, data.Window{From: time.Unix(1000, 1)}, "d >= toDateTime(1001)"},
		{"instant after MaxTime is empty", false, data.Window{From: data.MaxTime.Add(time.Second)}, "0"},
		{"instant to before epoch is empty", false, data.Window{To: time.Unix(-5, 0)}, "0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := windowCond("d", tc.isDay, tc.w); got != tc.want {
				t.Fatalf("windowCond = %q; want %q", got, tc.want)
			}
		})
	}
}

func TestParseDSN(t *testing.T) {
	tests := []struct {
		dsn, db, wantErr string
		addr             []string
	}{
		{"clickhouse://127.0.0.1:19200/dues", "dues", "", []string{"127.0.0.1:19200"}},
		{"clickhouse://u:p@a:9000,b:9000/x_1", "x_1", "", []string{"a:9000", "b:9000"}},
		{"clickhouse://127.0.0.1:9000", "default", "", []string{"127.0.0.1:9000"}},
		{"clickhouse://127.0.0.1:9000/a-b", "", "database name", nil},
		{"http://127.0.0.1:8123/x", "", "native protocol", nil},
	}
	for _, tc := range tests {
		t.Run(tc.dsn, func(t *testing.T) {
			opt, db, err := parseDSN(tc.dsn)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v; want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if db != tc.db || !slices.Equal(opt.Addr, tc.addr) || opt.Auth.Database != "" {
				t.Fatalf("db %q addr %v auth db %q; want %q %v and no auth database", db, opt.Addr, opt.Auth.Database, tc.db, tc.addr)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want data.Code
	}{
		{"cancelled", fmt.Errorf("query: %w", context.Canceled), data.Unavailable},
		{"deadline", context.DeadlineExceeded, data.Unavailable},
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, data.Unavailable},
		{"reset", fmt.Errorf("read: %w", syscall.ECONNRESET), data.Unavailable},
		{"eof", io.EOF, data.Unavailable},
		{"closed", net.ErrClosed, data.Unavailable},
		{"pool exhausted", ch.ErrAcquireConnTimeout, data.Unavailable},
		{"too many parts", &ch.Exception{Code: 252, Message: "Too many parts"}, data.Unavailable},
		{"syntax error", &ch.Exception{Code: 62, Message: "Syntax error"}, data.Internal},
		{"unknown table", fmt.Errorf("x: %w", &ch.Exception{Code: 60}), data.Internal},
		{"other", errors.New("boom"), data.Internal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := classify(tc.err); got != tc.want {
				t.Fatalf("classify(%v) = %q; want %q", tc.err, got, tc.want)
			}
		})
	}
}

// TestClusterDDLParses sends every cluster-mode statement to the test
// server, which has no cluster: ClickHouse parses a statement before it
// looks the cluster up, so "cluster not found" (code 170) proves the text
// is valid SQL for this server version, where a syntax error is code 62.
func TestClusterDDLParses(t *testing.T) {
	dsn := os.Getenv("DUESIGHT_TEST_CLICKHOUSE")
	if dsn == "" {
		if os.Getenv("DUESIGHT_REQUIRE_CLICKHOUSE") == "1" {
			t.Fatal("DUESIGHT_TEST_CLICKHOUSE is not set but DUESIGHT_REQUIRE_CLICKHOUSE=1")
		}
		t.Skip("DUESIGHT_TEST_CLICKHOUSE not set")
	}
	opt, _, err := parseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := ch.Open(opt)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	d := ddl{DB: "duesight_never_created", Cluster: "duesight_no_such_cluster", ZKPath: "/clickhouse/tables"}
	stmts := renderAll(t, d)
	stmts = append(stmts, "ALTER TABLE "+d.local("invoices")+d.on()+" DELETE WHERE seq IN (1, 2)")
	for _, stmt := range stmts {
		err := conn.Exec(context.Background(), stmt)
		var ex *ch.Exception
		if !errors.As(err, &ex) || ex.Code != 170 {
			t.Errorf("%s\n=> %v; want exception 170 (cluster not found) after parsing", stmt, err)
		}
	}
}
