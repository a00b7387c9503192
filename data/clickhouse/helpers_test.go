package clickhouse_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/duesight/duesight/data/clickhouse"
)

// Environment variables of the ClickHouse tests.
const (
	envDSN     = "DUESIGHT_TEST_CLICKHOUSE"    // e.g. clickhouse://127.0.0.1:19200/default
	envRequire = "DUESIGHT_REQUIRE_CLICKHOUSE" // "1": a missing DSN fails instead of skipping
)

// testDSN returns the server DSN, skipping (or, in CI, failing) the test
// when none is configured.
func testDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(envDSN)
	if dsn == "" {
		if os.Getenv(envRequire) == "1" {
			tb.Fatalf("%s is not set but %s=1: start a server (.ci/clickhouse.sh start DIR PORT) and export its DSN", envDSN, envRequire)
		}
		tb.Skipf("%s not set; skipping ClickHouse test", envDSN)
	}
	return dsn
}

// withDatabase returns dsn with its database replaced by db.
func withDatabase(tb testing.TB, dsn, db string) string {
	tb.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatalf("parse %s: %v", envDSN, err)
	}
	u.Path = "/" + db
	return u.String()
}

// rawConn opens a driver connection to the test server (no database).
func rawConn(tb testing.TB) ch.Conn {
	tb.Helper()
	opt, err := ch.ParseDSN(testDSN(tb))
	if err != nil {
		tb.Fatal(err)
	}
	opt.Auth.Database = ""
	conn, err := ch.Open(opt)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = conn.Close() })
	return conn
}

// freshDB returns a DSN naming a new, randomly named database that is
// dropped when the test ends.
func freshDB(tb testing.TB) string {
	tb.Helper()
	base := testDSN(tb)
	var r [6]byte
	_, _ = rand.Read(r[:])
	db := "duesight_test_" + hex.EncodeToString(r[:])
	conn := rawConn(tb)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+db); err != nil {
			tb.Errorf("drop test database %s: %v", db, err)
		}
	})
	return withDatabase(tb, base, db)
}

// testLogger logs warnings and errors to the test log.
func testLogger(tb testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tbWriter{tb}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tbWriter struct{ tb testing.TB }

func (w tbWriter) Write(p []byte) (int, error) {
	w.tb.Log(string(p))
	return len(p), nil
}

// mustOpen opens a store on dsn and closes it when the test ends.
func mustOpen(tb testing.TB, dsn string, opt clickhouse.Options) *clickhouse.Store {
	tb.Helper()
	if opt.Logger == nil {
		opt.Logger = testLogger(tb)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := clickhouse.Open(ctx, dsn, opt)
	if err != nil {
		tb.Fatalf("open %s: %v", dsn, err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// rawCount counts every row of a table, committed or not.
func rawCount(tb testing.TB, conn ch.Conn, db, table string) uint64 {
	tb.Helper()
	var n uint64
	if err := conn.QueryRow(context.Background(), fmt.Sprintf("SELECT count() FROM %s.%s", db, table)).Scan(&n); err != nil {
		tb.Fatalf("count %s.%s: %v", db, table, err)
	}
	return n
}

// waitMutations waits until every mutation of db is done.
func waitMutations(tb testing.TB, conn ch.Conn, db string) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var pending uint64
		if err := conn.QueryRow(context.Background(),
			"SELECT count() FROM system.mutations WHERE database = ? AND is_done = 0", db).Scan(&pending); err != nil {
			tb.Fatalf("read mutations: %v", err)
		}
		if pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%d mutations of %s still running after 30s", pending, db)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitRows waits until a table holds at least n rows (committed or not).
func waitRows(tb testing.TB, conn ch.Conn, db, table string, n uint64) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := rawCount(tb, conn, db, table)
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s.%s holds %d rows after 30s; want at least %d", db, table, got, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
