package parquet_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/data/parquet"
)

const (
	envCrashDir  = "DUESIGHT_PQ_CRASH_DIR"
	envCrashIter = "DUESIGHT_PQ_CRASH_ITER"
	envLockDir   = "DUESIGHT_PQ_LOCK_DIR"
)

// crashOpts makes every write produce many row groups and segments.
var crashOpts = parquet.Options{RowGroupRows: 2048, SegmentRowGroups: 4}

const (
	crashBatches      = 16 // Write calls per crash-test commit
	crashBatchAccount = 80 // accounts per Write call
)

// crashBatch returns batch k of iteration it: accounts prefixed "it<it>-".
// Batches cover account ranges in a shuffled order, so the writer sees rows
// out of account order and starts new segments.
func crashBatch(it, k int) *data.Batch {
	order := rand.New(rand.NewPCG(uint64(it), 7)).Perm(crashBatches)
	from := order[k] * crashBatchAccount
	return prefixed(genAccounts(uint64(it), from, from+crashBatchAccount), fmt.Sprintf("it%02d-", it))
}

// prefixed puts prefix before every id and reference in b.
func prefixed(b *data.Batch, prefix string) *data.Batch {
	for i := range b.Accounts {
		b.Accounts[i].ID = prefix + b.Accounts[i].ID
	}
	for i := range b.Invoices {
		b.Invoices[i].ID, b.Invoices[i].AccountID = prefix+b.Invoices[i].ID, prefix+b.Invoices[i].AccountID
	}
	for i := range b.Payments {
		p := &b.Payments[i]
		p.ID, p.AccountID, p.InvoiceID = prefix+p.ID, prefix+p.AccountID, prefix+p.InvoiceID
	}
	for i := range b.Contacts {
		c := &b.Contacts[i]
		c.ID, c.AccountID, c.InvoiceID = prefix+c.ID, prefix+c.AccountID, prefix+c.InvoiceID
	}
	for i := range b.Disputes {
		d := &b.Disputes[i]
		d.ID, d.AccountID, d.InvoiceID = prefix+d.ID, prefix+d.AccountID, prefix+d.InvoiceID
	}
	return b
}

func crashWant(it int) data.Counts {
	var c data.Counts
	for k := 0; k < crashBatches; k++ {
		c = c.Add(crashBatch(it, k).Counts())
	}
	return c
}

// TestCrashChild is the child process of TestCrash; it does nothing unless
// started by it.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(envCrashDir)
	if dir == "" {
		t.Skip("child process of TestCrash")
	}
	it, _ := strconv.Atoi(os.Getenv(envCrashIter))
	ctx := context.Background()
	s, err := parquet.Open(ctx, dir, crashOpts)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	out := bufio.NewWriter(os.Stdout)
	say := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...); _ = out.Flush() }
	parquet.SetHook(s, func(stage string) {
		say("stage %s", stage)
		time.Sleep(30 * time.Millisecond) // give the parent time to kill here
	})
	w, err := s.Begin(ctx)
	if err != nil {
		say("error %v", err)
		os.Exit(3)
	}
	for k := 0; k < crashBatches; k++ {
		if err := w.Write(ctx, crashBatch(it, k)); err != nil {
			say("error %v", err)
			os.Exit(3)
		}
		say("batch %d", k)
	}
	if err := w.Commit(ctx); err != nil {
		say("error %v", err)
		os.Exit(3)
	}
	say("committed")
	os.Exit(0)
}

// countByIteration streams the store and counts rows per "itNN-" prefix.
func countByIteration(t *testing.T, s *parquet.Store) map[int]data.Counts {
	t.Helper()
	out := map[int]data.Counts{}
	for h, err := range s.Histories(context.Background(), data.HistoryQuery{}) {
		if err != nil {
			t.Fatalf("histories after crash: %v", err)
		}
		it, err := strconv.Atoi(strings.TrimPrefix(strings.SplitN(h.Account.ID, "-", 2)[0], "it"))
		if err != nil {
			t.Fatalf("unexpected account %q", h.Account.ID)
		}
		var c data.Counts
		if h.Account.Currency != "" {
			c.Accounts = 1
		}
		c.Invoices, c.Payments, c.Contacts, c.Disputes = len(h.Invoices), len(h.Payments), len(h.Contacts), len(h.Disputes)
		out[it] = out[it].Add(c)
	}
	return out
}

// TestCrash SIGKILLs a child process in the middle of a large multi-batch
// write, at random times and at each step of the commit protocol, and
// checks after each kill that the store holds all or none of that write,
// keeps every earlier commit, and accepts a new write.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(42, 42))
	type plan struct {
		killAt string // "stage X", "batch N", "random" or "" (let it finish)
		want   string // "all", "none" or "either"
	}
	plans := []plan{
		{"stage manifest-tmp-synced", "none"}, // after the new manifest is synced, before the rename
		{"stage segments-synced", "none"},
		{"stage manifest-renamed", "all"},
		{"", "all"},
		{fmt.Sprintf("batch %d", r.IntN(crashBatches)), "none"},
		{"random", "either"},
		{"random", "either"},
		{"random", "either"},
		{fmt.Sprintf("batch %d", crashBatches-1), "none"},
		{"random", "either"},
	}
	committed := map[int]bool{}
	for it, p := range plans {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), envCrashDir+"="+dir, envCrashIter+"="+strconv.Itoa(it))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		start := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var timer *time.Timer
		if p.killAt == "random" {
			timer = time.AfterFunc(time.Duration(50+r.IntN(400))*time.Millisecond, func() { _ = cmd.Process.Kill() })
		}
		killed, sawCommit := false, false
		var lines []string
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			lines = append(lines, line)
			if strings.HasPrefix(line, "error") {
				t.Fatalf("iteration %d: child failed: %s", it, line)
			}
			if line == "committed" {
				sawCommit = true
			}
			if p.killAt != "" && line == p.killAt {
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				killed = true
			}
		}
		werr := cmd.Wait()
		if timer != nil {
			timer.Stop()
		}
		if p.killAt != "" && p.killAt != "random" && !killed {
			t.Fatalf("iteration %d: child never reached %q (output %q, exit %v)", it, p.killAt, lines, werr)
		}
		t.Logf("iteration %d: kill at %q after %v, last output %q, exit %v", it, p.killAt, time.Since(start).Round(time.Millisecond), lines[max(0, len(lines)-1):], werr)

		s, err := parquet.Open(context.Background(), dir, crashOpts)
		if err != nil {
			t.Fatalf("iteration %d: reopen after kill: %v", it, err)
		}
		got := countByIteration(t, s)
		want := crashWant(it)
		switch c := got[it]; {
		case c == want:
			if p.want == "none" {
				t.Fatalf("iteration %d: killed at %q but the write is visible", it, p.killAt)
			}
			committed[it] = true
		case c == (data.Counts{}):
			if p.want == "all" || sawCommit {
				t.Fatalf("iteration %d: the write is missing (kill at %q, child reported commit: %v)", it, p.killAt, sawCommit)
			}
		default:
			t.Fatalf("iteration %d: partial write visible: %+v of %+v", it, c, want)
		}
		for prev := 0; prev < it; prev++ {
			w := data.Counts{}
			if committed[prev] {
				w = crashWant(prev)
			}
			if got[prev] != w {
				t.Fatalf("iteration %d: earlier iteration %d now has %+v; want %+v", it, prev, got[prev], w)
			}
		}
		if c, err := s.Count(context.Background()); err != nil {
			t.Fatal(err)
		} else {
			var w data.Counts
			for i := range committed {
				w = w.Add(crashWant(i))
			}
			if c != w {
				t.Fatalf("iteration %d: Count = %+v; want %+v", it, c, w)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if len(committed) == 0 || len(committed) == len(plans) {
		t.Fatalf("committed %d of %d iterations: the kills did not exercise both outcomes", len(committed), len(plans))
	}
	// The store still takes a write, and the next writer removed the garbage.
	s := openStore(t, dir, crashOpts)
	defer s.Close()
	extra := genAccounts(99, 0, 3)
	for i := range extra.Accounts {
		extra.Accounts[i].ID = "zz-" + extra.Accounts[i].ID
	}
	extra = &data.Batch{Accounts: extra.Accounts}
	if err := data.Append(context.Background(), s, extra); err != nil {
		t.Fatalf("write after crashes: %v", err)
	}
	st, err := s.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	live := map[string]bool{}
	for _, segs := range st.Segments {
		for _, sg := range segs {
			live[filepath.Base(sg.File)] = true
		}
	}
	ents, err := os.ReadDir(filepath.Join(dir, "segments"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !live[e.Name()] {
			t.Errorf("garbage left after a new commit: %s", e.Name())
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "manifest.json.tmp")); err == nil {
		t.Error("manifest.json.tmp left after a new commit")
	}
}

// Automatic compaction crash test: a child makes many small commits, each
// followed (every autoCrashFanout commits) by an automatic compaction, and
// is killed inside a compaction.
const (
	envAutoCrashDir  = "DUESIGHT_PQ_AUTOCRASH_DIR"
	envAutoCrashIter = "DUESIGHT_PQ_AUTOCRASH_ITER"
	autoCrashCommits = 12
	autoCrashFanout  = 3
)

var autoCrashOpts = parquet.Options{AutoCompactFanout: autoCrashFanout}

// autoCrashBatch is commit k of iteration it: one account with its rows,
// ids prefixed "it<it>k<k>-".
func autoCrashBatch(it, k int) *data.Batch {
	return prefixed(genAccounts(uint64(100*it+k), k, k+1), fmt.Sprintf("it%02dk%02d-", it, k))
}

// TestAutoCrashChild is the child process of TestCrashAutoCompaction.
func TestAutoCrashChild(t *testing.T) {
	dir := os.Getenv(envAutoCrashDir)
	if dir == "" {
		t.Skip("child process of TestCrashAutoCompaction")
	}
	it, _ := strconv.Atoi(os.Getenv(envAutoCrashIter))
	ctx := context.Background()
	s, err := parquet.Open(ctx, dir, autoCrashOpts)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	out := bufio.NewWriter(os.Stdout)
	say := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...); _ = out.Flush() }
	parquet.SetHook(s, func(stage string) {
		say("stage %s", stage)
		time.Sleep(20 * time.Millisecond) // give the parent time to kill here
	})
	for k := 0; k < autoCrashCommits; k++ {
		if err := data.Append(ctx, s, autoCrashBatch(it, k)); err != nil {
			say("error %v", err)
			os.Exit(3)
		}
		say("committed %d", k)
	}
	os.Exit(0)
}

// TestCrashAutoCompaction SIGKILLs a child at each step of an automatic
// compaction (and at random times) and checks that the commit that
// triggered the compaction stands, that the store holds exactly a prefix of
// the child's commits, each complete, that earlier iterations are intact,
// and that the next writer removes the dead compaction's files.
func TestCrashAutoCompaction(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(43, 43))
	type plan struct {
		stage string // kill at this stage of the n-th compaction; "" = random time or none
		n     int
		rnd   bool
	}
	plans := []plan{
		{stage: "compact-segments-synced", n: 1},
		{stage: "manifest-tmp-synced", n: 2}, // the compaction's manifest, before its rename
		{stage: "manifest-renamed", n: 1},    // the compaction is installed
		{stage: "compact-segments-synced", n: 3},
		{rnd: true},
		{rnd: true},
		{rnd: true},
		{},
	}
	want := map[string]bool{} // commit prefix → visible
	commitsOf := func(it int) []string {
		var out []string
		for k := 0; k < autoCrashCommits; k++ {
			out = append(out, fmt.Sprintf("it%02dk%02d", it, k))
		}
		return out
	}
	for it, p := range plans {
		cmd := exec.Command(os.Args[0], "-test.run=^TestAutoCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), envAutoCrashDir+"="+dir, envAutoCrashIter+"="+strconv.Itoa(it))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var timer *time.Timer
		if p.rnd {
			timer = time.AfterFunc(time.Duration(50+r.IntN(600))*time.Millisecond, func() { _ = cmd.Process.Kill() })
		}
		committed, compactions := 0, 0
		inCompaction, killedInCompaction := false, false
		var lines []string
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			lines = append(lines, line)
			switch {
			case strings.HasPrefix(line, "error"):
				t.Fatalf("iteration %d: child failed: %s", it, line)
			case strings.HasPrefix(line, "committed "):
				committed++
				inCompaction = false
			case line == "stage compact-segments-synced":
				compactions++
				inCompaction = true
			case line == "stage segments-synced":
				inCompaction = false // a new commit
			}
			stage := strings.TrimPrefix(line, "stage ")
			if p.stage != "" && inCompaction && stage == p.stage && compactions == p.n && !killedInCompaction {
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				killedInCompaction = true
			}
		}
		werr := cmd.Wait()
		if timer != nil {
			timer.Stop()
		}
		if p.stage != "" && !killedInCompaction {
			t.Fatalf("iteration %d: child never reached %q of compaction %d (output %q, exit %v)", it, p.stage, p.n, lines, werr)
		}
		t.Logf("iteration %d: %d commits reported, %d compactions started, killed in compaction: %v, exit %v",
			it, committed, compactions, killedInCompaction, werr)

		s, err := parquet.Open(context.Background(), dir, autoCrashOpts)
		if err != nil {
			t.Fatalf("iteration %d: reopen after kill: %v", it, err)
		}
		got := map[string]data.Counts{}
		for h, err := range s.Histories(context.Background(), data.HistoryQuery{}) {
			if err != nil {
				t.Fatalf("iteration %d: histories after kill: %v", it, err)
			}
			prefix, _, _ := strings.Cut(h.Account.ID, "-")
			got[prefix] = got[prefix].Add(data.Counts{Accounts: 1, Invoices: len(h.Invoices), Payments: len(h.Payments),
				Contacts: len(h.Contacts), Disputes: len(h.Disputes)})
		}
		// This iteration: a prefix of its commits, each complete.
		visible := 0
		for k, c := range commitsOf(it) {
			full := autoCrashBatch(it, k).Counts()
			switch got[c] {
			case full:
				if visible != k {
					t.Fatalf("iteration %d: commit %d is visible but commit %d is not", it, k, visible)
				}
				visible++
				want[c] = true
			case data.Counts{}:
			default:
				t.Fatalf("iteration %d: commit %d is partly visible: %+v of %+v", it, k, got[c], full)
			}
		}
		switch {
		case visible < committed:
			t.Fatalf("iteration %d: %d commits visible; the child reported %d", it, visible, committed)
		case visible > committed+1:
			t.Fatalf("iteration %d: %d commits visible; the child reported only %d", it, visible, committed)
		case killedInCompaction && visible != committed+1:
			// The compaction runs after the commit's manifest rename: the
			// commit that triggered it stands.
			t.Fatalf("iteration %d: killed in a compaction, %d commits visible; want %d", it, visible, committed+1)
		}
		// Earlier iterations are intact; nothing unexpected is visible.
		var total data.Counts
		for prefix, c := range got {
			if !want[prefix] {
				t.Fatalf("iteration %d: unexpected rows of %q visible: %+v", it, prefix, c)
			}
			total = total.Add(c)
		}
		for prefix := range want {
			if got[prefix] == (data.Counts{}) {
				t.Fatalf("iteration %d: earlier commit %q lost", it, prefix)
			}
		}
		if c, err := s.Count(context.Background()); err != nil || c != total {
			t.Fatalf("iteration %d: Count = %+v, %v; want %+v", it, c, err, total)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// The next writer removes the dead compactions' files and replaced segments.
	s := openStore(t, dir, autoCrashOpts)
	defer s.Close()
	if err := data.Append(context.Background(), s, prefixed(genAccounts(99, 0, 1), "zz-")); err != nil {
		t.Fatalf("write after crashes: %v", err)
	}
	st, err := s.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	live := map[string]bool{}
	for table, segs := range st.Segments {
		if len(segs) > 2*autoCrashFanout+4 {
			t.Errorf("table %s has %d segments after %d commits", table, len(segs), len(want))
		}
		for _, sg := range segs {
			live[filepath.Base(sg.File)] = true
		}
	}
	ents, err := os.ReadDir(filepath.Join(dir, "segments"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !live[e.Name()] {
			t.Errorf("garbage left after a new commit: %s", e.Name())
		}
	}
}
