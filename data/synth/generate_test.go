package synth_test

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/data/datatest"
	"github.com/duesight/duesight/data/synth"
)

func TestDeterminism(t *testing.T) {
	defer goleak.VerifyNone(t)
	base := synth.Options{Seed: 7, Accounts: 150, To: testTo, Workers: 1, ChunkAccounts: 1}
	ref := generate(t, base)
	refRows, refTruth := digest(ref.dump(t)), digest(ref.file)
	if ref.sum.Rows.Invoices < 1000 {
		t.Fatalf("only %d invoices for 150 accounts", ref.sum.Rows.Invoices)
	}
	tests := []struct {
		name       string
		workers    int
		chunk      int
		gomaxprocs int
	}{
		{"same options again", 1, 1, 0},
		{"workers=4 chunk=7", 4, 7, 0},
		{"workers=2 chunk=256", 2, 256, 0},
		{"workers=3 chunk=64 GOMAXPROCS=1", 3, 64, 1},
		{"default workers and chunk", 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.gomaxprocs > 0 {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(tc.gomaxprocs))
			}
			o := base
			o.Workers, o.ChunkAccounts = tc.workers, tc.chunk
			r := generate(t, o)
			if got := digest(r.dump(t)); got != refRows {
				t.Errorf("rows digest %s, want %s", got, refRows)
			}
			if got := digest(r.file); got != refTruth {
				t.Errorf("truth digest %s, want %s", got, refTruth)
			}
			want := ref.sum
			want.Chunks = r.sum.Chunks
			if r.sum != want {
				t.Errorf("summary %+v, want %+v", r.sum, want)
			}
		})
	}
	t.Run("another seed differs", func(t *testing.T) {
		o := base
		o.Seed = 8
		r := generate(t, o)
		if digest(r.dump(t)) == refRows || digest(r.file) == refTruth {
			t.Error("seed 8 produced the same output as seed 7")
		}
	})
}

// A smaller run is a prefix of a larger one: an account depends only on
// (seed, index, window, model).
func TestPrefix(t *testing.T) {
	small := generate(t, synth.Options{Seed: 3, Accounts: 40, To: testTo})
	large := generate(t, synth.Options{Seed: 3, Accounts: 90, To: testTo, ChunkAccounts: 13})
	n := len(small.w.b.Invoices)
	if n == 0 || len(large.w.b.Invoices) <= n {
		t.Fatalf("invoices: small %d, large %d", n, len(large.w.b.Invoices))
	}
	for i := range n {
		if small.w.b.Invoices[i] != large.w.b.Invoices[i] {
			t.Fatalf("invoice %d: %+v vs %+v", i, small.w.b.Invoices[i], large.w.b.Invoices[i])
		}
	}
	if !bytes.HasPrefix(large.file[bytes.IndexByte(large.file, '\n'):], small.file[bytes.IndexByte(small.file, '\n'):]) {
		t.Error("the truth records of 40 accounts are not a prefix of those of 90")
	}
}

func TestChunking(t *testing.T) {
	r := &collectWriter{}
	sink := &memSink{}
	sum, err := synth.Generate(context.Background(), synth.Options{Seed: 1, Accounts: 103, To: testTo, ChunkAccounts: 10}, r, sink)
	if err != nil {
		t.Fatal(err)
	}
	if r.writes != 11 || sink.calls != 11 || sum.Chunks != 11 {
		t.Errorf("writes %d, truth calls %d, chunks %d; want 11 each", r.writes, sink.calls, sum.Chunks)
	}
	if r.maxAccounts != 10 {
		t.Errorf("largest Write held %d accounts, want 10", r.maxAccounts)
	}
	if sum.Rows != r.b.Counts() {
		t.Errorf("summary rows %+v, written %+v", sum.Rows, r.b.Counts())
	}
	for i, a := range r.b.Accounts {
		if i > 0 && a.ID <= r.b.Accounts[i-1].ID {
			t.Fatalf("account %q written after %q", a.ID, r.b.Accounts[i-1].ID)
		}
	}
	if got := r.b.Accounts[0].ID; got != "A0000001" {
		t.Errorf("first account id %q, want A0000001", got)
	}
	if got := r.b.Accounts[102].ID; got != "A0000103" {
		t.Errorf("last account id %q, want A0000103", got)
	}
}

func TestValidViaIngest(t *testing.T) {
	r := generate(t, synth.Options{Seed: 11, Accounts: 400, To: testTo})
	from := testTo.AddDays(-synth.DefaultWindowDays)
	b := r.w.b
	ctx := context.Background()
	store := datatest.NewMemStore()
	rep, err := data.Ingest(ctx, store, &b, data.IngestOptions{})
	if err != nil {
		var ve *data.ValidationError
		if errors.As(err, &ve) {
			for i, is := range ve.Issues {
				if i == 10 {
					break
				}
				t.Errorf("issue: %s", is)
			}
		}
		t.Fatalf("Ingest: %v", err)
	}
	if rep.Added != r.sum.Rows {
		t.Errorf("added %+v, generated %+v", rep.Added, r.sum.Rows)
	}
	hs, _ := datatest.Collect(t, store, data.HistoryQuery{})
	if len(hs) != 400 {
		t.Fatalf("%d histories, want 400", len(hs))
	}
	fromT, toT := from.Time(), testTo.Time()
	for id, h := range hs {
		acc := h.Account
		for _, inv := range h.Invoices {
			if inv.IssueDate < from || inv.IssueDate >= testTo || inv.Currency != acc.Currency {
				t.Fatalf("%s: invoice %+v outside [%s, %s) or in another currency", id, inv, from, testTo)
			}
		}
		for _, p := range h.Payments {
			if p.Date < from || p.Date >= testTo {
				t.Fatalf("%s: payment %+v outside the window", id, p)
			}
		}
		for i, open := range h.OpenAmounts(0) {
			if open < 0 {
				t.Fatalf("%s: invoice %s overpaid by %d", id, h.Invoices[i].ID, -open)
			}
		}
		for _, c := range h.Contacts {
			if c.SentAt.Before(fromT) || !c.SentAt.Before(toT) {
				t.Fatalf("%s: contact %+v outside the window", id, c)
			}
			if !acc.Consent.Has(c.Channel) {
				t.Fatalf("%s: contact on %s without consent (%s)", id, c.Channel, acc.Consent)
			}
		}
		for _, d := range h.Disputes {
			if d.OpenedOn < from || d.OpenedOn >= testTo || (d.ResolvedOn != 0 && d.ResolvedOn >= testTo) {
				t.Fatalf("%s: dispute %+v outside the window", id, d)
			}
		}
	}
}

func TestCurrencyZoneConsistency(t *testing.T) {
	r := sharedRun(t)
	cur := map[string]string{}
	zones := map[string]bool{}
	continents := map[string]bool{}
	for _, a := range r.w.b.Accounts {
		if c, ok := cur[a.Country]; ok && c != a.Currency {
			t.Fatalf("country %s has currencies %s and %s", a.Country, c, a.Currency)
		}
		cur[a.Country] = a.Currency
		zones[a.TimeZone] = true
		continents[strings.Split(a.TimeZone, "/")[0]] = true
	}
	if len(zones) < 6 || len(continents) < 5 || len(cur) < 6 {
		t.Errorf("%d zones on %d continents, %d currencies; want ≥ 6, ≥ 5, ≥ 6", len(zones), len(continents), len(cur))
	}
}

func TestOptionsErrors(t *testing.T) {
	bad := synth.DefaultModel()
	bad.HoldoutShare = 2
	bad.DunningDays = []int{7}
	tests := []struct {
		name string
		o    synth.Options
		want []string
	}{
		{"missing To", synth.Options{}, []string{"Options.To", "required"}},
		{"negative accounts", synth.Options{To: testTo, Accounts: -1}, []string{"Options.Accounts", "negative"}},
		{"negative workers", synth.Options{To: testTo, Workers: -2}, []string{"Options.Workers"}},
		{"negative chunk", synth.Options{To: testTo, ChunkAccounts: -2}, []string{"Options.ChunkAccounts"}},
		{"window too short", synth.Options{To: testTo, From: testTo.AddDays(-10)}, []string{"Options.To", "want at least 60"}},
		{"half a random period", synth.Options{To: testTo, RandomFrom: testTo.AddDays(-100)}, []string{"Options.RandomTo", "both"}},
		{"too many workers", synth.Options{To: testTo, Workers: 5000}, []string{"Options.Workers"}},
		{"random period reversed", synth.Options{To: testTo, RandomFrom: testTo, RandomTo: testTo.AddDays(-5)}, []string{"Options.RandomTo"}},
		{"To too late", synth.Options{To: data.MaxDate}, []string{"Options.To", "too late"}},
		{"bad model", synth.Options{To: testTo, Model: bad}, []string{"Options.Model", "HoldoutShare", "DunningChannels", "StageEffect"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := synth.Generate(context.Background(), tc.o, &collectWriter{}, nil)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	if err := synth.DefaultModel().Validate(); err != nil {
		t.Errorf("default model invalid: %v", err)
	}
}

func TestWriterErrorStopsCleanly(t *testing.T) {
	defer goleak.VerifyNone(t)
	w := &collectWriter{failAt: 2}
	_, err := synth.Generate(context.Background(), synth.Options{Seed: 1, Accounts: 300, To: testTo, ChunkAccounts: 5, Workers: 3}, w, nil)
	if err == nil || !strings.Contains(err.Error(), "disk full") || !strings.Contains(err.Error(), "chunk 1") {
		t.Fatalf("err = %v, want the writer's error for chunk 1", err)
	}
}

func TestCancelStopsCleanly(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithCancel(context.Background())
	w := &cancellingWriter{cancel: cancel}
	_, err := synth.Generate(ctx, synth.Options{Seed: 1, Accounts: 2000, To: testTo, ChunkAccounts: 4, Workers: 2}, w, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if w.writes > 3 {
		t.Errorf("%d writes after cancellation", w.writes)
	}
}

type cancellingWriter struct {
	collectWriter
	cancel context.CancelFunc
}

func (w *cancellingWriter) Write(ctx context.Context, b *data.Batch) error {
	if err := w.collectWriter.Write(ctx, b); err != nil {
		return err
	}
	if w.writes == 2 {
		w.cancel()
		time.Sleep(10 * time.Millisecond)
	}
	return ctx.Err()
}

func TestNilWriter(t *testing.T) {
	if _, err := synth.Generate(context.Background(), synth.Options{To: testTo}, nil, nil); err == nil {
		t.Fatal("nil writer accepted")
	}
}
