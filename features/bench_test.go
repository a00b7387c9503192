package features_test

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"testing"
	"time"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/data/datatest"
	"github.com/duesight/duesight/features"
)

// benchHistories returns n datatest.Sample accounts as histories and a
// MemStore holding them.
func benchHistories(b *testing.B, n int) ([]*data.History, *datatest.MemStore, int) {
	b.Helper()
	batch := datatest.Sample(datatest.SampleOptions{Seed: 42, Accounts: n})
	store := datatest.NewMemStore()
	if err := data.Append(context.Background(), store, batch); err != nil {
		b.Fatal(err)
	}
	var hs []*data.History
	for h, err := range store.Histories(context.Background(), data.HistoryQuery{}) {
		if err != nil {
			b.Fatal(err)
		}
		hs = append(hs, h)
	}
	return hs, store, len(batch.Invoices)
}

func sizeName(n int) string { return fmt.Sprintf("size=1e%.0f", math.Log10(float64(n))) }

// BenchmarkBuild measures training replay over a MemStore: invoices/s (one
// issue row and, when open at due, one due row each), single-threaded
// (workers=1) and parallel (workers=2 on this 2-core machine).
func BenchmarkBuild(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		_, store, invoices := benchHistories(b, n)
		for _, w := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/workers=%d", sizeName(n), w), func(b *testing.B) {
				b.ReportAllocs()
				rows := 0
				for b.Loop() {
					tb, err := features.Build(context.Background(), store, features.Options{Workers: w,
						Snapshots: []features.Snapshot{features.SnapshotIssue, features.SnapshotDue}})
					if err != nil {
						b.Fatal(err)
					}
					rows = tb.Len()
				}
				b.ReportMetric(float64(invoices*b.N)/b.Elapsed().Seconds(), "invoices/s")
				b.ReportMetric(float64(rows), "rows/op")
			})
		}
	}
}

// BenchmarkFeaturizeHistory is the per-account replay alone (no store, no
// merge): issue snapshots only.
func BenchmarkFeaturizeHistory(b *testing.B) {
	hs, _, invoices := benchHistories(b, 10_000)
	b.Run(sizeName(len(hs)), func(b *testing.B) {
		b.ReportAllocs()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		for b.Loop() {
			for _, h := range hs {
				if _, err := features.FeaturizeHistory(h, features.Options{}); err != nil {
					b.Fatal(err)
				}
			}
		}
		runtime.ReadMemStats(&m1)
		b.ReportMetric(float64(invoices*b.N)/b.Elapsed().Seconds(), "invoices/s")
		b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/float64(invoices*b.N), "allocs/invoice")
	})
}

// BenchmarkOnline measures serving: applying one event to a State and
// reading one vector (with a reused buffer).
func BenchmarkOnline(b *testing.B) {
	hs, _, _ := benchHistories(b, 1_000)
	var longest *data.History
	for _, h := range hs {
		if longest == nil || len(h.Events()) > len(longest.Events()) {
			longest = h
		}
	}
	st, err := features.Replay(longest, time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	inv := longest.Invoices[len(longest.Invoices)-1]
	asOf := st.Watermark().Add(time.Hour)
	b.Run("op=vector", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]float64, features.NumFeatures)
		for b.Loop() {
			buf = st.Vector(asOf, inv, buf)
		}
	})
	b.Run("op=apply", func(b *testing.B) {
		b.ReportAllocs()
		events := 0
		for b.Loop() {
			s := features.NewState(longest.Account)
			for _, ev := range longest.Events() {
				if err := s.Apply(longest, ev); err != nil {
					b.Fatal(err)
				}
				events++
			}
		}
		b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	})
}

// BenchmarkStateMemory loads every account's full history into a
// Featurizer and reports the memory per account: the SizeBytes estimate and
// the measured live-heap growth (after GC) divided by the accounts.
func BenchmarkStateMemory(b *testing.B) {
	for _, n := range []int{10_000} {
		hs, _, _ := benchHistories(b, n)
		b.Run(sizeName(n), func(b *testing.B) {
			b.ReportAllocs()
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
				est = float64(f.SizeBytes()) / float64(n)
				heap = (float64(m1.HeapAlloc) - float64(m0.HeapAlloc)) / float64(n)
				runtime.KeepAlive(f)
			}
			b.ReportMetric(est, "est-bytes/account")
			b.ReportMetric(heap, "heap-bytes/account")
		})
	}
}

// BenchmarkWrite measures the Parquet and CSV writers on a built table.
func BenchmarkWrite(b *testing.B) {
	_, store, _ := benchHistories(b, 10_000)
	tb, err := features.Build(context.Background(), store, features.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, format := range []string{"parquet", "csv"} {
		b.Run(fmt.Sprintf("format=%s/%s", format, sizeName(tb.Len())), func(b *testing.B) {
			b.ReportAllocs()
			var w countWriter
			for b.Loop() {
				w = 0
				if format == "parquet" {
					err = tb.WriteParquet(context.Background(), &w, features.ParquetOptions{})
				} else {
					err = tb.WriteCSV(context.Background(), &w)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(tb.Len()*b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(w)/float64(tb.Len()), "bytes/row")
		})
	}
}

type countWriter int

func (w *countWriter) Write(p []byte) (int, error) {
	*w += countWriter(len(p))
	return len(p), nil
}
