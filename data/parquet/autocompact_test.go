package parquet_test

import (
	"context"
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
	"testing"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/data/datatest"
	"github.com/duesight/duesight/data/parquet"
)

// versionBatch returns commit k's new versions: the credit limit of one
// account and the outcome of one contact, so that versions of the same ids
// land in many segments that automatic compaction merges.
func versionBatch(k int) *data.Batch {
	base := genAccounts(1, k%7, k%7+1)
	acc := base.Accounts[0]
	acc.CreditLimit = int64(1000 * (k + 1))
	con := base.Contacts[k%len(base.Contacts)]
	con.Outcome = []data.Outcome{data.OutcomeReplied, data.OutcomeDelivered}[k%2]
	return &data.Batch{Accounts: []data.Account{acc}, Contacts: []data.Contact{con}}
}

// TestAutoCompaction streams commits (new rows, rejected batches and new
// versions) into a store with automatic compaction and into the in-memory
// reference store, and checks that both hold the same data throughout,
// that each table keeps few segments (the bound of doc.go) and that no
// replaced file is left behind.
func TestAutoCompaction(t *testing.T) {
	const accounts, commits, fanout = 40, 600, 8
	ctx := context.Background()
	s := openStore(t, tmpfsDir(t), parquet.Options{AutoCompactFanout: fanout})
	defer s.Close()
	ref := datatest.NewMemStore()
	seed := genAccounts(1, 0, accounts)
	for _, st := range []data.Store{s, ref} {
		if err := data.Append(ctx, st, seed); err != nil {
			t.Fatal(err)
		}
	}
	ingest := func(k int, b func() *data.Batch) {
		t.Helper()
		_, err1 := data.Ingest(ctx, s, b(), data.IngestOptions{})
		_, err2 := data.Ingest(ctx, ref, b(), data.IngestOptions{})
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("commit %d: parquet store: %v; reference: %v", k, err1, err2)
		}
	}
	check := func(k int) {
		t.Helper()
		want, _ := datatest.Collect(t, ref, data.HistoryQuery{})
		got, _ := datatest.Collect(t, s, data.HistoryQuery{})
		if d := datatest.DiffHistories(want, got); d != "" {
			t.Fatalf("after %d commits: %s", k, d)
		}
		wc, _ := ref.Count(ctx)
		gc, err := s.Count(ctx)
		if err != nil || gc != wc {
			t.Fatalf("after %d commits: Count = %+v, %v; want %+v", k, gc, err, wc)
		}
		keys := data.Keys{Accounts: []string{"acct-00000003"}, Invoices: []string{"inv-00000005-03", fmt.Sprintf("ev-inv-%06d", k/2)},
			Payments: []string{fmt.Sprintf("ev-pay-%06d", k/3)}, PaymentsOfInvoices: []string{"inv-00000002-01"},
			Contacts: []string{"con-00000001-00", "con-00000004-02"}}
		wl, _ := ref.Lookup(ctx, keys)
		gl, err := s.Lookup(ctx, keys)
		if err != nil || fmt.Sprint(gl) != fmt.Sprint(wl) {
			t.Fatalf("after %d commits: Lookup = %v, %v; want %v", k, gl, err, wl)
		}
	}
	for k := 0; k < commits; k++ {
		ingest(k, func() *data.Batch { return eventBatch(k, accounts, streamInvalid(k)) })
		if k%3 == 0 {
			ingest(k, func() *data.Batch { return versionBatch(k) })
		}
		if k%100 == 99 {
			check(k + 1)
		}
	}
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Every table's commits are one-row segments after the seed segment:
	// at most fanout-1 + ⌈log2(commits/fanout)⌉+1 small ones, plus the seed.
	bound := 1 + fanout - 1 + bits.Len(uint(commits*2/fanout)) + 1
	live := map[string]bool{}
	for table, segs := range st.Segments {
		if len(segs) > bound {
			t.Errorf("table %s has %d segments after %d commits; want at most %d", table, len(segs), commits, bound)
		}
		for _, sg := range segs {
			live[filepath.Base(sg.File)] = true
		}
		t.Logf("%s: %d segments", table, len(segs))
	}
	ents, err := os.ReadDir(filepath.Join(s.Dir(), "segments"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !live[e.Name()] {
			t.Errorf("replaced or uncommitted file left in segments/: %s", e.Name())
		}
	}
	// The same data after a reopen.
	s2 := openStore(t, s.Dir(), parquet.Options{ReadOnly: true})
	defer s2.Close()
	want, _ := datatest.Collect(t, ref, data.HistoryQuery{})
	got, _ := datatest.Collect(t, s2, data.HistoryQuery{})
	if d := datatest.DiffHistories(want, got); d != "" {
		t.Fatalf("after reopen: %s", d)
	}
}

// TestAutoCompactionOff: a negative fanout keeps one segment per commit.
func TestAutoCompactionOff(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, tmpfsDir(t), parquet.Options{AutoCompactFanout: -1})
	defer s.Close()
	fill(t, s, 10)
	ingestStream(t, s, 10, 40, nil)
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(st.Segments["invoices"]); n != 1+32 {
		t.Errorf("%d invoice segments after 32 valid batches without automatic compaction; want 33", n)
	}
}
