package clickhouse_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/data/clickhouse"
	"github.com/duesight/duesight/data/datatest"
)

// writeEachBlock makes the server write every block of an open INSERT as
// it arrives rather than squashing blocks until the INSERT ends.
var writeEachBlock = map[string]any{"min_insert_block_size_rows": 1}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func TestBeginConflict(t *testing.T) {
	dsn := freshDB(t)
	ctx := context.Background()
	a := mustOpen(t, dsn, clickhouse.Options{Owner: "writer-a"})
	b := mustOpen(t, dsn, clickhouse.Options{Owner: "writer-b"})

	wa, err := a.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Same store: refused in process.
	if _, err := a.Begin(ctx); data.ErrorCode(err) != data.Conflict || !strings.Contains(err.Error(), "in this process") {
		t.Fatalf("second Begin on one store: %v; want an in-process Conflict", err)
	}
	// Another store (standing for another process): refused by the lease.
	if _, err := b.Begin(ctx); data.ErrorCode(err) != data.Conflict || !strings.Contains(err.Error(), "writer-a") {
		t.Fatalf("Begin while writer-a holds the lease: %v; want Conflict naming writer-a", err)
	}
	first := datatest.Sample(datatest.SampleOptions{Seed: 31, Accounts: 5})
	if err := wa.Write(ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := wa.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	// Released at commit: b may write now, without waiting for expiry.
	second := datatest.Sample(datatest.SampleOptions{Seed: 32, Accounts: 5, Prefix: "b"})
	if err := data.Append(ctx, b, second); err != nil {
		t.Fatalf("Append by writer-b after writer-a committed: %v", err)
	}
	got, _ := datatest.Collect(t, a, data.HistoryQuery{})
	if d := datatest.DiffHistories(datatest.Group(first, second), got); d != "" {
		t.Fatal(d)
	}
}

func TestLeaseIsRenewed(t *testing.T) {
	testDSN(t)
	t.Parallel()
	dsn := freshDB(t)
	ctx := context.Background()
	a := mustOpen(t, dsn, clickhouse.Options{Owner: "writer-a", LeaseTTL: 3 * time.Second})
	b := mustOpen(t, dsn, clickhouse.Options{Owner: "writer-b", LeaseTTL: 3 * time.Second})
	w, err := a.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(4500 * time.Millisecond) // past the first expiry: only renewals keep the lease
	if _, err := b.Begin(ctx); data.ErrorCode(err) != data.Conflict {
		t.Fatalf("Begin after the first lease period: %v; want Conflict (the lease is renewed)", err)
	}
	if err := w.Write(ctx, datatest.Sample(datatest.SampleOptions{Seed: 33, Accounts: 3})); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatalf("Commit of a renewed lease: %v", err)
	}
}

func TestLostLeaseCannotCommit(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		bCommits  bool // b commits before a tries to
		wantInErr string
	}{
		{"other writer active", false, "holds the write lease"},
		{"other writer committed", true, "committed after this write"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dsn := freshDB(t)
			ctx := context.Background()
			clockA, clockB := &clock{t: t0}, &clock{t: t0.Add(time.Hour)}
			a := mustOpen(t, dsn, clickhouse.Options{Owner: "writer-a", LeaseTTL: 3 * time.Second, Now: clockA.Now})
			b := mustOpen(t, dsn, clickhouse.Options{Owner: "writer-b", LeaseTTL: 3 * time.Second, Now: clockB.Now})
			wa, err := a.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			lost := datatest.Sample(datatest.SampleOptions{Seed: 34, Accounts: 4, Prefix: "lost-"})
			if err := wa.Write(ctx, lost); err != nil {
				t.Fatal(err)
			}
			// An hour later (b's clock) a's lease has long expired.
			wb, err := b.Begin(ctx)
			if err != nil {
				t.Fatalf("Begin after the other lease expired: %v", err)
			}
			kept := datatest.Sample(datatest.SampleOptions{Seed: 35, Accounts: 4})
			if err := wb.Write(ctx, kept); err != nil {
				t.Fatal(err)
			}
			if tc.bCommits {
				if err := wb.Commit(ctx); err != nil {
					t.Fatal(err)
				}
			}
			err = wa.Commit(ctx)
			if data.ErrorCode(err) != data.Conflict || !strings.Contains(err.Error(), tc.wantInErr) {
				t.Fatalf("Commit with a lost lease: %v; want Conflict containing %q", err, tc.wantInErr)
			}
			if err := wa.Rollback(); err != nil {
				t.Fatal(err)
			}
			if !tc.bCommits {
				if err := wb.Commit(ctx); err != nil {
					t.Fatal(err)
				}
			}
			got, _ := datatest.Collect(t, a, data.HistoryQuery{})
			if d := datatest.DiffHistories(datatest.Group(kept), got); d != "" {
				t.Fatalf("visible after the lost write: %s", d)
			}
		})
	}
}

func TestRollbackDeletesSentRows(t *testing.T) {
	testDSN(t)
	t.Parallel()
	dsn := freshDB(t)
	ctx := context.Background()
	// The server writes each 10-row block on arrival (instead of squashing
	// them until the INSERT ends), so rows are on disk before Rollback.
	s := mustOpen(t, dsn, clickhouse.Options{BlockRows: 10, Owner: "writer-a", Settings: writeEachBlock})
	other := mustOpen(t, dsn, clickhouse.Options{Owner: "writer-b"})
	conn := rawConn(t)
	w, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b := datatest.Sample(datatest.SampleOptions{Seed: 36, Accounts: 30})
	if err := w.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	// Every full block is sent (the partial last one stays buffered): the
	// rows are stored but invisible.
	full := uint64(len(b.Invoices) / 10 * 10)
	waitRows(t, conn, s.Database(), "invoices", full)
	if c, err := s.Count(ctx); err != nil || c.Total() != 0 {
		t.Fatalf("Count before commit = %+v, %v; want zeros", c, err)
	}
	if err := w.Rollback(); err != nil {
		t.Fatal(err)
	}
	waitMutations(t, conn, s.Database())
	for _, table := range []string{"accounts", "invoices", "payments", "contacts", "disputes"} {
		if n := rawCount(t, conn, s.Database(), table); n != 0 {
			t.Errorf("%d %s rows left after rollback", n, table)
		}
	}
	// The lease was released: another writer need not wait for expiry.
	if err := data.Append(ctx, other, datatest.Sample(datatest.SampleOptions{Seed: 37, Accounts: 2})); err != nil {
		t.Fatalf("Append after rollback: %v", err)
	}
}

// envCrashChild makes TestCrashChild a helper process writing to this DSN.
const envCrashChild = "DUESIGHT_CRASH_CHILD_DSN"

// TestCrashChild is the process TestCrashMidWrite kills: it sends part of a
// write to the server, says so on stdout and waits to be killed.
func TestCrashChild(t *testing.T) {
	dsn := os.Getenv(envCrashChild)
	if dsn == "" {
		t.Skip("helper process of TestCrashMidWrite")
	}
	ctx := context.Background()
	s, err := clickhouse.Open(ctx, dsn, clickhouse.Options{Owner: "crash-child", LeaseTTL: 3 * time.Second, BlockRows: 50,
		Settings: writeEachBlock})
	if err != nil {
		t.Fatal(err)
	}
	w, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, datatest.Sample(datatest.SampleOptions{Seed: 41, Accounts: 60, Prefix: "crash-"})); err != nil {
		t.Fatal(err)
	}
	fmt.Println("SENT")
	time.Sleep(2 * time.Minute)
	t.Fatal("not killed")
}

func TestCrashMidWrite(t *testing.T) {
	testDSN(t)
	t.Parallel()
	dsn := freshDB(t)
	ctx := context.Background()
	s := mustOpen(t, dsn, clickhouse.Options{Owner: "survivor"})
	base := datatest.Sample(datatest.SampleOptions{Seed: 40, Accounts: 20})
	if err := data.Append(ctx, s, base); err != nil {
		t.Fatal(err)
	}
	conn := rawConn(t)
	before := rawCount(t, conn, s.Database(), "invoices")

	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, os.Args[0], "-test.run=^TestCrashChild$", "-test.v")
	cmd.Env = append(os.Environ(), envCrashChild+"="+dsn)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sent := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		ok := false
		for sc.Scan() {
			if sc.Text() == "SENT" {
				ok = true
				break
			}
		}
		sent <- ok
		for sc.Scan() { // drain until the process dies
		}
	}()
	select {
	case ok := <-sent:
		if !ok {
			_ = cmd.Wait()
			t.Fatalf("child exited before sending rows; stderr:\n%s", stderr.String())
		}
	case <-time.After(90 * time.Second):
		t.Fatal("child did not send rows within 90s")
	}
	// Wait until some of the child's blocks reached the server, then kill.
	waitRows(t, conn, s.Database(), "invoices", before+1)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	// The child's blocks reached the server, but none of them is visible.
	got, _ := datatest.Collect(t, s, data.HistoryQuery{})
	if d := datatest.DiffHistories(datatest.Group(base), got); d != "" {
		t.Fatalf("after the crash: %s", d)
	}
	if c, err := s.Count(ctx); err != nil || c != base.Counts() {
		t.Fatalf("Count after the crash = %+v, %v; want %+v", c, err, base.Counts())
	}
	lk, err := s.Lookup(ctx, data.Keys{Accounts: []string{"crash-a1"}})
	if err != nil || lk.Len() != 0 {
		t.Fatalf("Lookup of a crashed row = %d rows, %v", lk.Len(), err)
	}
	// The dead writer's lease blocks writers until it expires (3s).
	if _, err := s.Begin(ctx); data.ErrorCode(err) != data.Conflict || !strings.Contains(err.Error(), "crash-child") {
		t.Fatalf("Begin right after the crash: %v; want Conflict naming crash-child", err)
	}
	next := datatest.Sample(datatest.SampleOptions{Seed: 42, Accounts: 10, Prefix: "next-"})
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := data.Append(ctx, s, next)
		if err == nil {
			break
		}
		if data.ErrorCode(err) != data.Conflict || time.Now().After(deadline) {
			t.Fatalf("Append after the crash: %v", err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	got, _ = datatest.Collect(t, s, data.HistoryQuery{})
	if d := datatest.DiffHistories(datatest.Group(base, next), got); d != "" {
		t.Fatalf("after the write following the crash: %s", d)
	}
	// Vacuum removes the dead write's rows, and only those.
	seqs, err := s.Vacuum(ctx)
	if err != nil || len(seqs) != 1 {
		t.Fatalf("Vacuum = %v, %v; want the crashed write's seq", seqs, err)
	}
	waitMutations(t, conn, s.Database())
	want := uint64(len(base.Invoices) + len(next.Invoices))
	if n := rawCount(t, conn, s.Database(), "invoices"); n != want {
		t.Fatalf("%d invoice rows stored after Vacuum; want %d (committed only)", n, want)
	}
	if again, err := s.Vacuum(ctx); err != nil || len(again) != 0 {
		t.Fatalf("second Vacuum = %v, %v; want nothing to do", again, err)
	}
	got, _ = datatest.Collect(t, s, data.HistoryQuery{})
	if d := datatest.DiffHistories(datatest.Group(base, next), got); d != "" {
		t.Fatalf("after Vacuum: %s", d)
	}
}

// A writer that took the same seq concurrently but backed off at Begin
// leaves a released lease on that seq; the winner still commits.
func TestCommitIgnoresBackedOffLease(t *testing.T) {
	dsn := freshDB(t)
	ctx := context.Background()
	t0 := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	s := mustOpen(t, dsn, clickhouse.Options{Owner: "winner", Now: func() time.Time { return t0 }})
	w, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conn := rawConn(t)
	lease := func(state uint8, beat uint32, expires time.Time) {
		t.Helper()
		b, err := conn.PrepareBatch(ctx, "INSERT INTO "+s.Database()+".writers (seq, owner, state, beat, expires_at, at)")
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Append(uint64(1), "loser", state, beat, expires, t0); err != nil {
			t.Fatal(err)
		}
		if err := b.Send(); err != nil {
			t.Fatal(err)
		}
	}
	lease(1, 1, t0.Add(time.Minute)) // took seq 1 too ...
	lease(3, 2, t0)                  // ... saw the winner and released it
	b := datatest.Sample(datatest.SampleOptions{Seed: 61, Accounts: 3})
	if err := w.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatalf("Commit beside a released lease on the same seq: %v", err)
	}
	got, _ := datatest.Collect(t, s, data.HistoryQuery{})
	if d := datatest.DiffHistories(datatest.Group(b), got); d != "" {
		t.Fatal(d)
	}
}
