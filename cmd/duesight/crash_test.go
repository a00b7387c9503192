package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/duesight/duesight/data"
)

// TestImportSIGKILL kills `duesight import` at several points of a large
// import into the embedded store and checks that the store then opens with
// either none or all of the import, and still accepts the import afterwards.
func TestImportSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	dir := chdir(t)
	mustCLI(t, nil, "gen", "--accounts", "1500", "--to", "2025-06-01", "--truth", "")
	full, err := openForTest(t, DefaultStore).Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	exp := filepath.Join(dir, "export")
	mustCLI(t, nil, "export", exp)

	child := func(store string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "import", "--store", store, "--format", "json", exp)
		cmd.Env = append(os.Environ(), "DUESIGHT_TEST_MAIN=1")
		return cmd
	}
	// One uninterrupted run tells how long an import takes.
	start := time.Now()
	if out, err := child(filepath.Join(dir, "timing")).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted import: %v\n%s", err, out)
	}
	took := time.Since(start)
	t.Logf("uninterrupted import of %d rows took %v", full.Total(), took)

	var sawNone, sawAll int
	for i, frac := range []float64{0.1, 0.3, 0.5, 0.7, 0.85, 0.95, 0.99, 1.0, 1.03} {
		store := filepath.Join(dir, fmt.Sprintf("kill-%d", i))
		cmd := child(store)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(frac * float64(took)))
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()

		s, err := openStore(context.Background(), store, false, nil)
		if err != nil {
			t.Fatalf("kill at %.0f%%: store does not open: %v", 100*frac, err)
		}
		got, err := s.Count(context.Background())
		if err != nil {
			t.Fatalf("kill at %.0f%%: count: %v", 100*frac, err)
		}
		switch got {
		case data.Counts{}:
			sawNone++
		case full:
			sawAll++
		default:
			t.Fatalf("kill at %.0f%%: store holds a partial import %+v (full %+v)", 100*frac, got, full)
		}
		// Every history must stream without error, too.
		for _, err := range s.Histories(context.Background(), data.HistoryQuery{}) {
			if err != nil {
				t.Fatalf("kill at %.0f%%: stream: %v", 100*frac, err)
			}
		}
		_ = s.Close()
		// The killed writer's lock is gone: the import can be completed.
		if out, err := child(store).CombinedOutput(); err != nil {
			t.Fatalf("kill at %.0f%%: import after the kill: %v\n%s", 100*frac, err, out)
		}
		if n := countAccounts(t, store); n != full.Accounts {
			t.Fatalf("kill at %.0f%%: after re-import %d accounts; want %d", 100*frac, n, full.Accounts)
		}
	}
	t.Logf("kills that left nothing: %d, kills after the commit: %d", sawNone, sawAll)
	if sawNone == 0 {
		t.Fatal("no kill landed before the commit: the test did not exercise a partial write")
	}
}
