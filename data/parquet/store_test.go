package parquet_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/data/datatest"
	"github.com/duesight/duesight/data/parquet"
)

// TestLockChild is the child process of TestWriterLockAcrossProcesses.
func TestLockChild(t *testing.T) {
	dir := os.Getenv(envLockDir)
	if dir == "" {
		t.Skip("child process of TestWriterLockAcrossProcesses")
	}
	ctx := context.Background()
	s, err := parquet.Open(ctx, dir, parquet.Options{})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	w, err := s.Begin(ctx)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	if err := w.Write(ctx, datatest.Sample(datatest.SampleOptions{Seed: 1, Accounts: 5, Prefix: "child-"})); err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	fmt.Println("locked")
	// Hold the lock until the parent closes stdin (or kills us).
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	_ = w.Rollback()
	fmt.Println("released")
	os.Exit(0)
}

func TestWriterLockAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := openStore(t, dir, parquet.Options{})
	defer s.Close()
	for round, release := range []string{"rollback", "sigkill"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestLockChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), envLockDir+"="+dir)
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		if !sc.Scan() || sc.Text() != "locked" {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("round %d: child did not take the lock: %q", round, sc.Text())
		}
		start := time.Now()
		_, err = s.Begin(ctx)
		if data.ErrorCode(err) != data.Conflict {
			t.Fatalf("round %d: Begin while another process writes: err = %v; want Conflict", round, err)
		}
		if !strings.Contains(err.Error(), filepath.Join(dir, "LOCK")) {
			t.Errorf("lock error %q does not name the lock file", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("Begin took %v to fail; want fail-fast", d)
		}
		if err := s.Compact(ctx); data.ErrorCode(err) != data.Conflict {
			t.Fatalf("round %d: Compact while another process writes: err = %v; want Conflict", round, err)
		}
		switch release {
		case "rollback":
			_ = stdin.Close()
			if !sc.Scan() || sc.Text() != "released" {
				t.Fatalf("child did not release: %q", sc.Text())
			}
		case "sigkill":
			_ = cmd.Process.Signal(syscall.SIGKILL)
		}
		_ = cmd.Wait()
		// The lock is free again (the kernel drops a killed process's flock).
		b := datatest.Sample(datatest.SampleOptions{Seed: uint64(10 + round), Accounts: 3, Prefix: fmt.Sprintf("p%d-", round)})
		if err := data.Append(ctx, s, b); err != nil {
			t.Fatalf("round %d (%s): write after the child released the lock: %v", round, release, err)
		}
	}
	// Nothing of the child's uncommitted writes is visible.
	got, _ := datatest.Collect(t, s, data.HistoryQuery{})
	for id := range got {
		if strings.HasPrefix(id, "child-") {
			t.Fatalf("uncommitted account %q visible", id)
		}
	}
}

func TestBeginConflictInProcess(t *testing.T) {
	s := openStore(t, "", parquet.Options{})
	defer s.Close()
	ctx := context.Background()
	w, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Begin(ctx); data.ErrorCode(err) != data.Conflict {
		t.Fatalf("second Begin: %v; want Conflict", err)
	}
	// A second Store on the same directory in this process conflicts too (flock).
	s2, err := parquet.Open(ctx, s.Dir(), parquet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s2.Begin(ctx); data.ErrorCode(err) != data.Conflict {
		t.Fatalf("Begin on a second handle: %v; want Conflict", err)
	}
	if err := w.Rollback(); err != nil {
		t.Fatal(err)
	}
	w2, err := s2.Begin(ctx)
	if err != nil {
		t.Fatalf("Begin after rollback: %v", err)
	}
	_ = w2.Rollback()
}

// writeVersioned fills a store over several commits with out-of-order
// writes and new versions of accounts, contacts and disputes; it returns
// the batches in commit order.
func writeVersioned(t *testing.T, s *parquet.Store) []*data.Batch {
	t.Helper()
	ctx := context.Background()
	a := datatest.Sample(datatest.SampleOptions{Seed: 21, Accounts: 60})
	b := datatest.Sample(datatest.SampleOptions{Seed: 22, Accounts: 40, Prefix: "b"})
	// First commit: a, written in reverse account order in small pieces.
	w, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(a.Invoices); i > 0; i -= 25 {
		if err := w.Write(ctx, &data.Batch{Invoices: a.Invoices[max(0, i-25):i]}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Write(ctx, &data.Batch{Accounts: a.Accounts, Payments: a.Payments, Contacts: a.Contacts, Disputes: a.Disputes}); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, b)
	// New versions, twice for some ids.
	var upd []*data.Batch
	for round := 0; round < 2; round++ {
		u := &data.Batch{}
		for i := round; i < len(a.Accounts); i += 3 {
			acc := a.Accounts[i]
			acc.CreditLimit = int64(1000 * (round + 1))
			acc.Segment = fmt.Sprintf("v%d", round+2)
			u.Accounts = append(u.Accounts, acc)
		}
		for i := round; i < len(a.Contacts); i += 4 {
			c := a.Contacts[i]
			c.Outcome, c.PromisedDate, c.PromisedAmount = data.OutcomeReplied, 0, 0
			u.Contacts = append(u.Contacts, c)
		}
		for i := round; i < len(a.Disputes); i += 2 {
			d := a.Disputes[i]
			d.ResolvedOn = d.OpenedOn.AddDays(10 + round)
			u.Disputes = append(u.Disputes, d)
		}
		mustAppend(t, s, u)
		upd = append(upd, u)
	}
	return append([]*data.Batch{a, b}, upd...)
}

func mustAppend(t *testing.T, s data.Store, b *data.Batch) {
	t.Helper()
	if err := data.Append(context.Background(), s, b); err != nil {
		t.Fatalf("append: %v", err)
	}
}

// snapshotOf captures everything a reader can see.
type snapshotOf struct {
	hist   map[string]*data.History
	count  data.Counts
	lookup *data.Batch
}

func capture(t *testing.T, s *parquet.Store, keys data.Keys) snapshotOf {
	t.Helper()
	ctx := context.Background()
	h, _ := datatest.Collect(t, s, data.HistoryQuery{})
	c, err := s.Count(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lk, err := s.Lookup(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	return snapshotOf{h, c, lk}
}

func keysOf(batches ...*data.Batch) data.Keys {
	var k data.Keys
	for _, b := range batches {
		for _, r := range b.Accounts {
			k.Accounts = append(k.Accounts, r.ID)
		}
		for _, r := range b.Invoices {
			k.Invoices = append(k.Invoices, r.ID)
			k.PaymentsOfInvoices = append(k.PaymentsOfInvoices, r.ID)
		}
		for _, r := range b.Contacts {
			k.Contacts = append(k.Contacts, r.ID)
		}
		for _, r := range b.Disputes {
			k.Disputes = append(k.Disputes, r.ID)
		}
	}
	return k
}

func TestCompactKeepsData(t *testing.T) {
	opts := parquet.Options{RowGroupRows: 64, SegmentRowGroups: 100}
	s := openStore(t, "", opts)
	defer s.Close()
	ctx := context.Background()
	batches := writeVersioned(t, s)
	want := datatest.Group(batches...)
	keys := keysOf(batches...)
	before := capture(t, s, keys)
	if d := datatest.DiffHistories(want, before.hist); d != "" {
		t.Fatalf("before compaction: %s", d)
	}
	if before.count != countsOf(want) {
		t.Fatalf("Count before = %+v; want %+v", before.count, countsOf(want))
	}
	st0, _ := s.Stats(ctx)
	if n := len(st0.Segments["invoices"]); n < 3 {
		t.Fatalf("reverse-order writes made %d invoice segments; want several", n)
	}
	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	st1, _ := s.Stats(ctx)
	if st1.Generation != st0.Generation+1 {
		t.Errorf("generation %d after compaction; want %d", st1.Generation, st0.Generation+1)
	}
	for table, segs := range st1.Segments {
		if len(segs) != 1 {
			t.Errorf("table %s has %d segments after compaction; want 1", table, len(segs))
		}
	}
	if st1.Segments["accounts"][0].Rows != int64(before.count.Accounts) {
		t.Errorf("compacted accounts segment has %d rows; want %d (superseded versions dropped)",
			st1.Segments["accounts"][0].Rows, before.count.Accounts)
	}
	after := capture(t, s, keys)
	if d := datatest.DiffHistories(before.hist, after.hist); d != "" {
		t.Fatalf("histories changed by compaction: %s", d)
	}
	if after.count != before.count {
		t.Fatalf("Count changed by compaction: %+v → %+v", before.count, after.count)
	}
	if fmt.Sprint(after.lookup) != fmt.Sprint(before.lookup) {
		t.Fatalf("Lookup changed by compaction")
	}
	for id, h := range want {
		got, err := s.History(ctx, id)
		if err != nil {
			t.Fatalf("History(%q) after compaction: %v", id, err)
		}
		if !got.Equal(h) {
			t.Fatalf("History(%q) after compaction differs", id)
		}
	}
	// Replaced files are gone (no reader held the readers lock).
	ents, _ := os.ReadDir(filepath.Join(s.Dir(), "segments"))
	if len(ents) != 5 {
		t.Errorf("%d files in segments/ after compaction; want 5", len(ents))
	}
	// Nothing to do: no new generation.
	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	if st2, _ := s.Stats(ctx); st2.Generation != st1.Generation {
		t.Errorf("a no-op compaction changed the generation to %d", st2.Generation)
	}
	// It survives a reopen.
	s2 := openStore(t, s.Dir(), opts)
	defer s2.Close()
	if d := datatest.DiffHistories(want, capture(t, s2, keys).hist); d != "" {
		t.Fatalf("after reopen: %s", d)
	}
}

func countsOf(m map[string]*data.History) data.Counts {
	var c data.Counts
	for _, h := range m {
		c = c.Add(h.Batch().Counts())
	}
	return c
}

// TestCompactWhileStreaming runs a compaction in the middle of a Histories
// stream (and while another process-level reader holds the readers lock):
// the stream completes with the data of its snapshot, and replaced files are
// deleted only when no reader holds the lock.
func TestCompactWhileStreaming(t *testing.T) {
	opts := parquet.Options{RowGroupRows: 50, ReadBatchRows: 16}
	s := openStore(t, "", opts)
	defer s.Close()
	ctx := context.Background()
	batches := writeVersioned(t, s)
	want := datatest.Group(batches...)
	got := map[string]*data.History{}
	n := 0
	for h, err := range s.Histories(ctx, data.HistoryQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
		got[h.Account.ID] = h
		if n++; n == 5 {
			if err := s.Compact(ctx); err != nil {
				t.Fatalf("compact during a stream: %v", err)
			}
			// A new write after the compaction is not in this stream's snapshot.
			mustAppend(t, s, datatest.Sample(datatest.SampleOptions{Seed: 5, Accounts: 3, Prefix: "late-"}))
		}
	}
	if d := datatest.DiffHistories(want, got); d != "" {
		t.Fatalf("stream across a compaction: %s", d)
	}

	// A reader holding the readers lock (as a stream in another process
	// does while it opens its files) keeps compaction from deleting.
	mustAppend(t, s, datatest.Sample(datatest.SampleOptions{Seed: 6, Accounts: 3, Prefix: "later-"}))
	lock, err := os.Open(filepath.Join(s.Dir(), "READERS"))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_SH); err != nil {
		t.Fatal(err)
	}
	st, _ := s.Stats(ctx)
	old := st.Segments["accounts"]
	if len(old) < 2 {
		t.Fatalf("want several account segments before compaction, have %d", len(old))
	}
	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	for _, sg := range old {
		if _, err := os.Stat(filepath.Join(s.Dir(), sg.File)); err != nil {
			t.Fatalf("replaced segment %s deleted while a reader held the lock: %v", sg.File, err)
		}
	}
	_ = lock.Close() // releases the shared lock
	// The next writer collects them.
	w, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_ = w.Rollback()
	for _, sg := range old {
		if _, err := os.Stat(filepath.Join(s.Dir(), sg.File)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("replaced segment %s still present after the next writer: %v", sg.File, err)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	// A store with data to damage.
	base := t.TempDir()
	s := openStore(t, base, parquet.Options{})
	mustAppend(t, s, datatest.Sample(datatest.SampleOptions{Seed: 3, Accounts: 10}))
	st, _ := s.Stats(ctx)
	seg := st.Segments["invoices"][0].File
	_ = s.Close()
	manifest, err := os.ReadFile(filepath.Join(base, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		damage  func(dir string) error
		names   string // the file the error must name
		wantErr error  // errors.Is target
	}{
		{"truncated manifest", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "manifest.json"), manifest[:len(manifest)/2], 0o644)
		}, "manifest.json", parquet.ErrCorrupt},
		{"empty manifest", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "manifest.json"), nil, 0o644)
		}, "manifest.json", parquet.ErrCorrupt},
		{"garbage manifest", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "manifest.json"), []byte("\x00\x01PAR1 not json"), 0o644)
		}, "manifest.json", parquet.ErrCorrupt},
		{"wrong format", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "manifest.json"),
				[]byte(strings.Replace(string(manifest), `"duesight-parquet"`, `"something-else"`, 1)), 0o644)
		}, "manifest.json", parquet.ErrCorrupt},
		{"segment outside segments/", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "manifest.json"),
				[]byte(strings.Replace(string(manifest), `"segments/`, `"../`, 1)), 0o644)
		}, "manifest.json", parquet.ErrCorrupt},
		{"schema version too new", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "manifest.json"),
				[]byte(strings.Replace(string(manifest), `"schema_version": 1`, `"schema_version": 99`, 1)), 0o644)
		}, "manifest.json", parquet.ErrSchemaTooNew},
		{"missing segment", func(dir string) error {
			return os.Remove(filepath.Join(dir, seg))
		}, seg, parquet.ErrCorrupt},
		{"truncated segment", func(dir string) error {
			return os.Truncate(filepath.Join(dir, seg), 100)
		}, seg, parquet.ErrCorrupt},
		{"manifest deleted, segments left", func(dir string) error {
			return os.Remove(filepath.Join(dir, "manifest.json"))
		}, "manifest.json", parquet.ErrCorrupt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.CopyFS(dir, os.DirFS(base)); err != nil {
				t.Fatal(err)
			}
			if err := tc.damage(dir); err != nil {
				t.Fatal(err)
			}
			s, err := parquet.Open(ctx, dir, parquet.Options{})
			if err == nil {
				_ = s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), filepath.Join(dir, tc.names)) {
				t.Errorf("error %q does not name %s", err, filepath.Join(dir, tc.names))
			}
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("error %q is not %v", err, tc.wantErr)
			}
			// Read-only opens report the same problem.
			if s, err := parquet.Open(ctx, dir, parquet.Options{ReadOnly: true}); err == nil {
				_ = s.Close()
				t.Error("read-only Open succeeded")
			}
		})
	}
}

func TestReadOnly(t *testing.T) {
	ctx := context.Background()
	if _, err := parquet.Open(ctx, filepath.Join(t.TempDir(), "absent"), parquet.Options{ReadOnly: true}); data.ErrorCode(err) != data.NotFound {
		t.Fatalf("read-only open of a missing store: %v; want NotFound", err)
	}
	dir := t.TempDir()
	s := openStore(t, dir, parquet.Options{})
	b := datatest.Sample(datatest.SampleOptions{Seed: 4, Accounts: 8})
	mustAppend(t, s, b)
	ro := openStore(t, dir, parquet.Options{ReadOnly: true})
	defer ro.Close()
	got, _ := datatest.Collect(t, ro, data.HistoryQuery{})
	if d := datatest.DiffHistories(datatest.Group(b), got); d != "" {
		t.Fatal(d)
	}
	if _, err := ro.Begin(ctx); data.ErrorCode(err) != data.Invalid {
		t.Errorf("Begin on a read-only store: %v; want Invalid", err)
	}
	if err := ro.AppendActions(ctx, nil); data.ErrorCode(err) != data.Invalid {
		t.Errorf("AppendActions on a read-only store: %v; want Invalid", err)
	}
	// A read-only handle sees later commits by another handle.
	more := datatest.Sample(datatest.SampleOptions{Seed: 5, Accounts: 4, Prefix: "m"})
	mustAppend(t, s, more)
	_ = s.Close()
	got, _ = datatest.Collect(t, ro, data.HistoryQuery{})
	if d := datatest.DiffHistories(datatest.Group(b, more), got); d != "" {
		t.Fatalf("read-only handle after another commit: %s", d)
	}
}

func TestOptionsValidation(t *testing.T) {
	for _, o := range []parquet.Options{{RowGroupRows: -1}, {Compression: "lz77"}, {BloomFPP: 2}} {
		if _, err := parquet.Open(context.Background(), t.TempDir(), o); data.ErrorCode(err) != data.Invalid {
			t.Errorf("Open(%+v) = %v; want Invalid", o, err)
		}
	}
}

func TestCompressionCodecs(t *testing.T) {
	for _, c := range []parquet.Compression{parquet.Snappy, parquet.Zstd, parquet.Uncompressed} {
		t.Run(string(c), func(t *testing.T) {
			s := openStore(t, "", parquet.Options{Compression: c})
			defer s.Close()
			b := datatest.Sample(datatest.SampleOptions{Seed: 9, Accounts: 20})
			mustAppend(t, s, b)
			got, _ := datatest.Collect(t, s, data.HistoryQuery{})
			if d := datatest.DiffHistories(datatest.Group(b), got); d != "" {
				t.Fatal(d)
			}
		})
	}
}

// TestPointReadsSeekPages checks History and Lookup on segments with many
// small pages per row group, where both seek with the page index.
func TestPointReadsSeekPages(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "", parquet.Options{RowGroupRows: 3000, PageBytes: 512})
	defer s.Close()
	b := genAccounts(3, 0, 1200)
	// Two commits: the second adds new versions of some accounts and contacts.
	mustAppend(t, s, b)
	upd := &data.Batch{}
	for i := 0; i < len(b.Accounts); i += 7 {
		a := b.Accounts[i]
		a.CreditLimit = 777
		upd.Accounts = append(upd.Accounts, a)
	}
	for i := 0; i < len(b.Contacts); i += 5 {
		c := b.Contacts[i]
		c.Outcome = data.OutcomeReplied
		upd.Contacts = append(upd.Contacts, c)
	}
	mustAppend(t, s, upd)
	want := datatest.Group(b, upd)
	for i := 0; i < len(b.Accounts); i += 37 {
		id := b.Accounts[i].ID
		got, err := s.History(ctx, id)
		if err != nil {
			t.Fatalf("History(%q): %v", id, err)
		}
		if !got.Equal(want[id]) {
			t.Fatalf("History(%q) = %+v\nwant %+v", id, got, want[id])
		}
	}
	if _, err := s.History(ctx, "acct-00000000x"); data.ErrorCode(err) != data.NotFound {
		t.Fatalf("History of an id between stored ids: %v; want NotFound", err)
	}
	var k data.Keys
	wantInv := map[string]data.Invoice{}
	for i := 3; i < len(b.Invoices); i += 97 {
		k.Invoices = append(k.Invoices, b.Invoices[i].ID)
		wantInv[b.Invoices[i].ID] = b.Invoices[i]
	}
	k.Invoices = append(k.Invoices, "inv-missing", "inv-00000001-99")
	paid := b.Payments[len(b.Payments)/2].InvoiceID
	k.PaymentsOfInvoices = []string{paid}
	k.Contacts = []string{upd.Contacts[3].ID}
	got, err := s.Lookup(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Invoices) != len(wantInv) {
		t.Fatalf("Lookup found %d invoices; want %d", len(got.Invoices), len(wantInv))
	}
	for _, inv := range got.Invoices {
		if wantInv[inv.ID] != inv {
			t.Fatalf("Lookup invoice %+v; want %+v", inv, wantInv[inv.ID])
		}
	}
	if len(got.Payments) != 1 || got.Payments[0].InvoiceID != paid {
		t.Fatalf("Lookup payments of %s = %+v", paid, got.Payments)
	}
	if len(got.Contacts) != 1 || !got.Contacts[0].Equal(upd.Contacts[3]) {
		t.Fatalf("Lookup contact = %+v; want the new version %+v", got.Contacts, upd.Contacts[3])
	}
}
