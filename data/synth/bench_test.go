package synth_test

import (
	"context"
	"fmt"
	"io"
	"math"
	"runtime"
	"testing"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/data/synth"
)

// discardWriter drops rows (the benchmark measures the generator only).
type discardWriter struct{}

func (discardWriter) Write(context.Context, *data.Batch) error { return nil }
func (discardWriter) Commit(context.Context) error             { return nil }
func (discardWriter) Rollback() error                          { return nil }

// BenchmarkGenerate reports the generation rate and the allocation per
// invoice, with the truth encoded to JSON lines (written to io.Discard).
// Bytes per invoice staying flat from 1e3 to 1e4 accounts is the cheap
// evidence that memory does not grow with the run (chunks are freed).
func BenchmarkGenerate(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		b.Run(fmt.Sprintf("accounts=1e%.0f", math.Log10(float64(n))), func(b *testing.B) {
			b.ReportAllocs()
			var invoices int
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			for b.Loop() {
				tw := synth.NewTruthWriter(io.Discard, false)
				s, err := synth.Generate(context.Background(), synth.Options{Seed: 1, Accounts: n, To: testTo}, discardWriter{}, tw)
				if err != nil {
					b.Fatal(err)
				}
				if err := tw.Close(); err != nil {
					b.Fatal(err)
				}
				invoices += s.Rows.Invoices
			}
			runtime.ReadMemStats(&m1)
			b.ReportMetric(float64(invoices)/b.Elapsed().Seconds(), "invoices/s")
			b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/float64(invoices), "allocs/invoice")
			b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/float64(invoices), "B/invoice")
			b.ReportMetric(float64(invoices)/float64(b.N), "invoices/op")
		})
	}
}
