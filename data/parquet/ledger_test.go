package parquet_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/data/parquet"
)

var t0 = time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)

func action(id string, v uint64, st data.ActionStatus) data.Action {
	return data.Action{ID: id, AccountID: "acc-" + id, InvoiceID: "inv-" + id, Policy: "standard", Step: "d+7",
		Channel: data.SMS, DueAt: t0.Add(time.Duration(len(id)) * time.Hour), Status: st, Attempt: int(v),
		Version: v, UpdatedAt: t0.Add(time.Duration(v) * time.Minute), ProviderRef: "ref-" + id, Detail: "ü step"}
}

func ledgerPath(s *parquet.Store) string { return filepath.Join(s.Dir(), "ledger.log") }

func appendFile(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestLedgerTornTail(t *testing.T) {
	ctx := context.Background()
	// Each case appends bytes a crash could leave after the last good frame.
	torn := []struct {
		name string
		tail []byte
	}{
		{"partial header", []byte{0x20, 0x00, 0x00}},
		{"length past the end", binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, 500), 0xdeadbeef)},
		{"zero-filled", make([]byte, 64)},
		{"bad checksum at the end", append(binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, 4), 1), 1, 2, 3, 4)},
	}
	for _, tc := range torn {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t, "", parquet.Options{})
			dir := s.Dir()
			first := []data.Action{action("a", 1, data.ActionPlanned), action("bb", 1, data.ActionPlanned)}
			if err := s.AppendActions(ctx, first); err != nil {
				t.Fatal(err)
			}
			_ = s.Close()
			appendFile(t, filepath.Join(dir, "ledger.log"), tc.tail)
			s = openStore(t, dir, parquet.Options{})
			got, err := s.Actions(ctx, data.ActionQuery{})
			if err != nil {
				t.Fatalf("Actions with a torn tail: %v", err)
			}
			if !slices.EqualFunc(got, first, data.Action.Equal) {
				t.Fatalf("Actions = %+v; want the records before the torn tail", got)
			}
			// The next append replaces the torn tail.
			next := action("a", 2, data.ActionSent)
			if err := s.AppendActions(ctx, []data.Action{next}); err != nil {
				t.Fatalf("append after a torn tail: %v", err)
			}
			_ = s.Close()
			s = openStore(t, dir, parquet.Options{})
			defer s.Close()
			got, err = s.Actions(ctx, data.ActionQuery{})
			if err != nil {
				t.Fatalf("Actions after repair: %v", err)
			}
			want := []data.Action{next, first[1]}
			data.SortActions(want)
			if !slices.EqualFunc(got, want, data.Action.Equal) {
				t.Fatalf("after repair Actions = %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestLedgerCorruptMiddle(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "", parquet.Options{})
	dir := s.Dir()
	for i := range 3 {
		if err := s.AppendActions(ctx, []data.Action{action(fmt.Sprint("x", i), 1, data.ActionPlanned)}); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.Close()
	path := filepath.Join(dir, "ledger.log")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw[8+8+3] ^= 0xff // a payload byte of the first frame; two good frames follow
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = parquet.Open(ctx, dir, parquet.Options{})
	if !errors.Is(err, parquet.ErrCorrupt) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "offset 8") {
		t.Fatalf("open with a corrupt ledger frame: %v; want ErrCorrupt naming %s and offset 8", err, path)
	}
}

func TestLedgerDurableAndShared(t *testing.T) {
	ctx := context.Background()
	a := openStore(t, "", parquet.Options{})
	defer a.Close()
	b := openStore(t, a.Dir(), parquet.Options{})
	defer b.Close()
	// Two handles (as two processes would) append concurrently.
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for h, s := range []*parquet.Store{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				id := fmt.Sprintf("h%d-%02d", h, i)
				if err := s.AppendActions(ctx, []data.Action{action(id, 1, data.ActionPlanned), action(id, 2, data.ActionSending)}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, s := range []*parquet.Store{a, b} {
		got, err := s.Actions(ctx, data.ActionQuery{Status: data.ActionSending})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 100 {
			t.Fatalf("a handle sees %d current actions; want 100", len(got))
		}
	}
	// A conflicting version written through one handle is seen by the other.
	if err := a.AppendActions(ctx, []data.Action{action("h1-07", 2, data.ActionFailed)}); data.ErrorCode(err) != data.Conflict {
		t.Fatalf("conflicting record from another handle: %v; want Conflict", err)
	}
	// A rejected call writes nothing (all-or-nothing).
	fresh := action("fresh", 1, data.ActionPlanned)
	if err := b.AppendActions(ctx, []data.Action{fresh, action("h0-01", 1, data.ActionCancelled)}); data.ErrorCode(err) != data.Conflict {
		t.Fatalf("mixed call: %v; want Conflict", err)
	}
	if got, _ := a.Actions(ctx, data.ActionQuery{AccountID: "acc-fresh"}); len(got) != 0 {
		t.Fatalf("a record of a rejected call was stored: %+v", got)
	}
	var bad *data.ValidationError
	if err := a.AppendActions(ctx, []data.Action{{ID: "x"}}); !errors.As(err, &bad) {
		t.Fatalf("invalid record: %v; want a ValidationError", err)
	}
}
