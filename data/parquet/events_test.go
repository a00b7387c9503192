package parquet_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/data/parquet"
)

// The event-stream tests and benchmark follow issue 7: POST /v1/events runs
// data.Ingest (Lookup, then a one-batch commit) once per request, so the
// embedded store sees a long stream of tiny commits and lookups.

// streamAccounts is the size of the store the stream runs against.
const streamAccounts = 2000

// eventBatch returns event batch i of a stream against a store filled with
// accounts [0, accounts): a new invoice and its payment on an existing
// account, or, when invalid, the same plus a payment whose currency differs
// from its invoice's. data.Ingest rejects an invalid batch after looking up
// the stored rows, as POST /v1/events answers 422.
func eventBatch(i, accounts int, invalid bool) *data.Batch {
	a := (i * 7919) % accounts
	acc := fmt.Sprintf("acct-%08d", a)
	cur := []string{"USD", "EUR", "GBP"}[a%3] // genAccounts' currency of account a
	issue := data.NewDate(2024, 1, 1).AddDays(i % 300)
	inv := data.Invoice{ID: fmt.Sprintf("ev-inv-%06d", i), AccountID: acc, IssueDate: issue, DueDate: issue.AddDays(30),
		Amount: int64(10_000 + i), Currency: cur, DeliveredBy: data.Email}
	pay := data.Payment{ID: fmt.Sprintf("ev-pay-%06d", i), AccountID: acc, InvoiceID: inv.ID, Date: issue.AddDays(20),
		Amount: inv.Amount / 2, Currency: cur, Method: data.MethodBankTransfer}
	b := &data.Batch{Invoices: []data.Invoice{inv}, Payments: []data.Payment{pay}}
	if invalid {
		bad := pay
		bad.ID = fmt.Sprintf("ev-bad-%06d", i)
		bad.Currency = "JPY"
		b.Payments = append(b.Payments, bad)
	}
	return b
}

// streamInvalid says which batches of a stream are invalid: every fifth.
func streamInvalid(i int) bool { return i%5 == 4 }

// ingestStream sends batches [0, n) through data.Ingest and calls observe
// after each with the batch's wall time.
func ingestStream(tb testing.TB, s data.Store, accounts, n int, observe func(i int, d time.Duration)) {
	tb.Helper()
	ctx := context.Background()
	for i := 0; i < n; i++ {
		invalid := streamInvalid(i)
		start := time.Now()
		rep, err := data.Ingest(ctx, s, eventBatch(i, accounts, invalid), data.IngestOptions{})
		d := time.Since(start)
		var ve *data.ValidationError
		switch {
		case invalid && !errors.As(err, &ve):
			tb.Fatalf("batch %d: want a validation error, got %v", i, err)
		case !invalid && err != nil:
			tb.Fatalf("batch %d: %v", i, err)
		case !invalid && (rep.Added.Invoices != 1 || rep.Added.Payments != 1):
			tb.Fatalf("batch %d: added %+v; want one invoice and one payment", i, rep.Added)
		}
		if observe != nil {
			observe(i, d)
		}
	}
}

// heapInUse returns the live heap after a full garbage collection.
func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// tmpfsDir returns a new directory on tmpfs (/dev/shm) if the machine has
// one, else t.TempDir(). Tests that run thousands of commits check memory
// or contents, not durability: on tmpfs an fsync costs nothing, so they run
// in seconds instead of minutes. The files are real files either way.
func tmpfsDir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.MkdirTemp("/dev/shm", "duesight-parquet-")
	if err != nil {
		return tb.TempDir()
	}
	tb.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// TestEventStreamHeapFlat is issue 7's leak: a stream of Ingest calls
// (valid and rejected batches) must not grow the live heap. Before the fix
// every Lookup read each segment's bloom filters into buffers that came
// back only about five GC cycles later, and the heap grew geometrically
// (measured: 119 MiB after 50 batches, 591 MiB after 100, 9.8 GiB after
// 400, each a live heap after runtime.GC). Now it stays within a few MiB.
func TestEventStreamHeapFlat(t *testing.T) {
	batches := 2000
	if raceEnabled {
		batches = 400 // still 10× past the point where the old code failed
	}
	s := openStore(t, tmpfsDir(t), parquet.Options{})
	defer s.Close()
	fill(t, s, streamAccounts)
	base := heapInUse()
	const slack = 32 << 20
	peak := base
	ingestStream(t, s, streamAccounts, batches, func(i int, _ time.Duration) {
		if (i+1)%50 != 0 {
			return
		}
		h := heapInUse()
		peak = max(peak, h)
		if h > base+slack {
			t.Fatalf("after %d batches the live heap is %.1f MiB, %.1f MiB after loading the store; want at most %d MiB more",
				i+1, mib(h), mib(base), slack>>20)
		}
	})
	t.Logf("%d batches: live heap %.1f MiB after loading, at most %.1f MiB during the stream", batches, mib(base), mib(peak))
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

// BenchmarkEventStream runs one stream of event batches (every fifth
// rejected) through data.Ingest against a store of 2,000 accounts and
// reports the mean and median latency of the first and the last 100
// batches, the largest live heap after GC (sampled every 50 batches), and
// the process's RSS at the end and at its peak. Run one size per process
// with -benchtime=1x; the store lives in $TMPDIR (set TMPDIR=/dev/shm to
// leave out fsync latency).
func BenchmarkEventStream(b *testing.B) {
	for _, n := range []int{250, 2000} {
		b.Run(fmt.Sprintf("batches=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			var lat []time.Duration
			var maxHeap uint64
			for b.Loop() {
				b.StopTimer()
				s := openStore(b, b.TempDir(), parquet.Options{})
				fill(b, s, streamAccounts)
				lat, maxHeap = lat[:0], 0
				b.StartTimer()
				ingestStream(b, s, streamAccounts, n, func(i int, d time.Duration) {
					lat = append(lat, d)
					if (i+1)%50 == 0 {
						b.StopTimer()
						maxHeap = max(maxHeap, heapInUse())
						b.StartTimer()
					}
				})
				b.StopTimer()
				_ = s.Close()
				b.StartTimer()
			}
			first, last := lat[:100], lat[len(lat)-100:]
			b.ReportMetric(ms(mean(first)), "first100-ms/batch")
			b.ReportMetric(ms(mean(last)), "last100-ms/batch")
			b.ReportMetric(ms(median(first)), "first100-p50-ms")
			b.ReportMetric(ms(median(last)), "last100-p50-ms")
			b.ReportMetric(mib(maxHeap), "max-heap-MiB")
			rss, peak := procRSS()
			b.ReportMetric(rss, "rss-MiB")
			b.ReportMetric(peak, "peak-rss-MiB")
		})
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func mean(ds []time.Duration) time.Duration {
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum / time.Duration(len(ds))
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// procRSS returns the process's resident set (VmRSS) and its peak (VmHWM)
// in MiB, from /proc/self/status; 0 where unavailable.
func procRSS() (rss, peak float64) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		if err != nil {
			continue
		}
		switch k {
		case "VmRSS":
			rss = kb / 1024
		case "VmHWM":
			peak = kb / 1024
		}
	}
	return rss, peak
}
