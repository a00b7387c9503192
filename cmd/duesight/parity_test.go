package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/data/datatest"
)

// clickhouseDSN returns a DSN for a fresh database on the test server, or
// skips (fails when DUESIGHT_REQUIRE_CLICKHOUSE=1) without one.
func clickhouseDSN(t *testing.T) string {
	t.Helper()
	base := os.Getenv("DUESIGHT_TEST_CLICKHOUSE")
	if base == "" {
		if os.Getenv("DUESIGHT_REQUIRE_CLICKHOUSE") == "1" {
			t.Fatal("DUESIGHT_TEST_CLICKHOUSE is not set but DUESIGHT_REQUIRE_CLICKHOUSE=1")
		}
		t.Skip("DUESIGHT_TEST_CLICKHOUSE not set")
	}
	hostPort := strings.TrimPrefix(base, "clickhouse://")
	if i := strings.IndexByte(hostPort, '/'); i >= 0 {
		hostPort = hostPort[:i]
	}
	db := fmt.Sprintf("duesight_cli_%d", rand.Uint64())
	t.Cleanup(func() {
		conn, err := ch.Open(&ch.Options{Addr: []string{hostPort}})
		if err == nil {
			_ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db)
			_ = conn.Close()
		}
	})
	return "clickhouse://" + hostPort + "/" + db
}

// TestStoreParity generates the same history into both stores and checks
// that they stream back identical account histories, and that stats agree.
func TestStoreParity(t *testing.T) {
	dsn := clickhouseDSN(t)
	chdir(t)
	args := []string{"gen", "--accounts", "300", "--to", "2025-06-01", "--seed", "7", "--truth", ""}
	mustCLI(t, nil, append(args, "--store", "file://./embedded")...)
	mustCLI(t, nil, append(args, "--store", dsn)...)
	emb := openForTest(t, "file://./embedded")
	chs := openForTest(t, dsn)
	want, order := datatest.Collect(t, emb, data.HistoryQuery{})
	got, gotOrder := datatest.Collect(t, chs, data.HistoryQuery{})
	if d := datatest.DiffHistories(want, got); d != "" {
		t.Fatalf("embedded vs clickhouse: %s", d)
	}
	if strings.Join(order, ",") != strings.Join(gotOrder, ",") {
		t.Fatal("account order differs between stores")
	}
	for _, shard := range []data.Shard{{Index: 0, Of: 3}, {Index: 2, Of: 3}} {
		w, _ := datatest.Collect(t, emb, data.HistoryQuery{Shard: shard})
		g, _ := datatest.Collect(t, chs, data.HistoryQuery{Shard: shard})
		if d := datatest.DiffHistories(w, g); d != "" || len(w) == 0 {
			t.Fatalf("shard %+v: %d accounts, %s", shard, len(w), d)
		}
	}
	a := mustCLI(t, nil, "stats", "--format", "json", "--store", "file://./embedded")
	b := mustCLI(t, nil, "stats", "--format", "json", "--store", dsn)
	if a != b {
		t.Fatalf("stats differ:\nembedded %s\nclickhouse %s", a, b)
	}
}
