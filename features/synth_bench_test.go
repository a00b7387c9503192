//go:build synth

// Benchmarks on realistic histories from data/synth. They are behind the
// "synth" build tag so that the features tests never depend on the
// generator:
//
//	go test -tags synth -run Synth -bench Synth -benchtime 2x ./features

package features_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/data/datatest"
	"github.com/duesight/duesight/data/synth"
	"github.com/duesight/duesight/features"
)

var synthTo = data.NewDate(2025, 7, 1)

func synthStore(tb testing.TB, accounts int) (*datatest.MemStore, synth.Summary) {
	tb.Helper()
	ctx := context.Background()
	s := datatest.NewMemStore()
	w, err := s.Begin(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	sum, err := synth.Generate(ctx, synth.Options{Seed: 7, Accounts: accounts, To: synthTo}, w, nil)
	if err != nil {
		_ = w.Rollback()
		tb.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		tb.Fatal(err)
	}
	return s, sum
}

// TestSynthBuild builds a table from synthetic data, checks it is identical
// for 1 and 2 workers and that the serving path agrees on a sample of rows,
// and logs the label counts.
func TestSynthBuild(t *testing.T) {
	ctx := context.Background()
	store, sum := synthStore(t, 300)
	opts := features.Options{Snapshots: []features.Snapshot{features.SnapshotIssue, features.SnapshotDue}, Grace: 3}
	opts.Workers = 1
	a, err := features.Build(ctx, store, opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Workers = 2
	b, err := features.Build(ctx, store, opts)
	if err != nil {
		t.Fatal(err)
	}
	if d := diffTables(a, b); d != "" {
		t.Fatal(d)
	}
	if a.Stats.Invoices != sum.Rows.Invoices {
		t.Fatalf("table saw %d invoices, synth wrote %d", a.Stats.Invoices, sum.Rows.Invoices)
	}
	for i := 0; i < a.Len(); i += 97 {
		h, err := store.History(ctx, a.AccountID[i])
		if err != nil {
			t.Fatal(err)
		}
		var inv data.Invoice
		for _, x := range h.Invoices {
			if x.ID == a.InvoiceID[i] {
				inv = x
			}
		}
		v, err := features.VectorAt(h, a.AsOf[i].Time(), inv, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]float64, len(a.X))
		for j := range a.X {
			want[j] = a.X[j][i]
		}
		if d := diffVec(want, v); d != "" {
			t.Fatalf("row %d: %s", i, d)
		}
	}
	t.Logf("synth 300 accounts: %+v", a.Stats)
}

func BenchmarkSynthBuild(b *testing.B) {
	for _, n := range []int{2_000} {
		store, sum := synthStore(b, n)
		for _, w := range []int{1, 2} {
			b.Run(fmt.Sprintf("accounts=%d/workers=%d", n, w), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := features.Build(context.Background(), store, features.Options{Workers: w}); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(sum.Rows.Invoices*b.N)/b.Elapsed().Seconds(), "invoices/s")
				b.ReportMetric(float64(sum.Rows.Invoices)/float64(n), "invoices/account")
			})
		}
	}
}

// BenchmarkSynthStateMemory loads every synthetic account's full history
// (≈ 2.5 years) into a Featurizer and reports bytes per account.
func BenchmarkSynthStateMemory(b *testing.B) {
	const n = 10_000
	store, _ := synthStore(b, n)
	var hs []*data.History
	for h, err := range store.Histories(context.Background(), data.HistoryQuery{}) {
		if err != nil {
			b.Fatal(err)
		}
		hs = append(hs, h)
	}
	b.Run(fmt.Sprintf("accounts=%d", n), func(b *testing.B) {
		var est, heap float64
		for b.Loop() {
			var m0, m1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&m0)
			f := features.NewFeaturizer(nil)
			for _, h := range hs {
				if err := f.Load(h, time.Time{}); err != nil {
					b.Fatal(err)
				}
			}
			runtime.GC()
			runtime.ReadMemStats(&m1)
			est = float64(f.SizeBytes()) / n
			heap = (float64(m1.HeapAlloc) - float64(m0.HeapAlloc)) / n
			runtime.KeepAlive(f)
		}
		b.ReportMetric(est, "est-bytes/account")
		b.ReportMetric(heap, "heap-bytes/account")
	})
}
