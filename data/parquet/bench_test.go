package parquet_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/data/parquet"
)

// genAccounts returns a batch with accounts [from, to) in the usual mix:
// 10 invoices per account, about 0.9 payments per invoice (some partial,
// some unapplied), 0.5 contacts per invoice, a dispute every 20 invoices.
func genAccounts(seed uint64, from, to int) *data.Batch {
	r := rand.New(rand.NewPCG(seed, uint64(from)))
	b := &data.Batch{}
	base := data.NewDate(2021, 1, 4)
	curs := []string{"USD", "EUR", "GBP"}
	for a := from; a < to; a++ {
		acc := fmt.Sprintf("acct-%08d", a)
		cur := curs[a%len(curs)]
		b.Accounts = append(b.Accounts, data.Account{ID: acc, Name: "Customer " + acc, Segment: []string{"smb", "enterprise"}[a%2],
			Country: "US", Currency: cur, TimeZone: "America/New_York", TermsDays: 30, Consent: data.AllChannels,
			CreatedAt: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)})
		for i := 0; i < 10; i++ {
			issue := base.AddDays(i*30 + r.IntN(10))
			inv := data.Invoice{ID: fmt.Sprintf("inv-%08d-%02d", a, i), AccountID: acc, IssueDate: issue,
				DueDate: issue.AddDays(30), Amount: int64(1000 + r.IntN(1_000_000)), Currency: cur, DeliveredBy: data.Email}
			b.Invoices = append(b.Invoices, inv)
			if r.IntN(10) < 9 {
				b.Payments = append(b.Payments, data.Payment{ID: fmt.Sprintf("pay-%08d-%02d", a, i), AccountID: acc,
					InvoiceID: inv.ID, Date: inv.DueDate.AddDays(r.IntN(40) - 10), Amount: inv.Amount, Currency: cur,
					Method: data.MethodBankTransfer})
			}
			if i%2 == 0 {
				b.Contacts = append(b.Contacts, data.Contact{ID: fmt.Sprintf("con-%08d-%02d", a, i), AccountID: acc,
					InvoiceID: inv.ID, Channel: data.Email, SentAt: inv.DueDate.Time().Add(time.Duration(3*86400+r.IntN(86400)) * time.Second),
					Outcome: data.OutcomeDelivered})
			}
			if i%20 == 7 {
				b.Disputes = append(b.Disputes, data.Dispute{ID: fmt.Sprintf("dis-%08d-%02d", a, i), AccountID: acc,
					InvoiceID: inv.ID, OpenedOn: issue.AddDays(5), Reason: "pricing"})
			}
		}
	}
	return b
}

// fill writes accounts [0, n) in chunks of 1000 accounts, one commit.
func fill(tb testing.TB, s *parquet.Store, n int) data.Counts {
	tb.Helper()
	ctx := context.Background()
	w, err := s.Begin(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	var c data.Counts
	for from := 0; from < n; from += 1000 {
		b := genAccounts(1, from, min(n, from+1000))
		c = c.Add(b.Counts())
		if err := w.Write(ctx, b); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Commit(ctx); err != nil {
		tb.Fatal(err)
	}
	return c
}

// streamAll streams every history and checks the invoice count.
func streamAll(b *testing.B, s *parquet.Store, want int) {
	n := 0
	for h, err := range s.Histories(context.Background(), data.HistoryQuery{}) {
		if err != nil {
			b.Fatal(err)
		}
		n += len(h.Invoices)
	}
	if n != want {
		b.Fatalf("streamed %d invoices; want %d", n, want)
	}
}

// BenchmarkHistories measures the full-history stream of a compacted store
// with default options. Run it with GOMAXPROCS=1 for the one-core rate;
// invoices/cpu-s divides by the process's CPU time instead of wall time.
func BenchmarkHistories(b *testing.B) {
	for _, accounts := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("invoices=%.0e", float64(accounts*10)), func(b *testing.B) {
			s := openStore(b, b.TempDir(), parquet.Options{})
			defer s.Close()
			c := fill(b, s, accounts)
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				streamAll(b, s, c.Invoices)
			}
			cpu := (cpuTime() - cpu0).Seconds()
			b.ReportMetric(float64(c.Invoices)*float64(b.N)/b.Elapsed().Seconds(), "invoices/s")
			b.ReportMetric(float64(c.Invoices)*float64(b.N)/cpu, "invoices/cpu-s")
			b.ReportMetric(float64(c.Total())*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkCodecs compares segment compression codecs: file size per row,
// and the stream rate per CPU second.
func BenchmarkCodecs(b *testing.B) {
	const accounts = 20_000
	for _, codec := range []parquet.Compression{parquet.Snappy, parquet.Zstd, parquet.Uncompressed} {
		b.Run(fmt.Sprintf("codec=%s/invoices=%.0e", codec, float64(accounts*10)), func(b *testing.B) {
			s := openStore(b, b.TempDir(), parquet.Options{Compression: codec})
			defer s.Close()
			c := fill(b, s, accounts)
			st, err := s.Stats(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			var size int64
			for _, segs := range st.Segments {
				for _, sg := range segs {
					size += sg.Bytes
				}
			}
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				streamAll(b, s, c.Invoices)
			}
			cpu := (cpuTime() - cpu0).Seconds()
			b.ReportMetric(float64(size)/float64(c.Total()), "bytes/row")
			b.ReportMetric(float64(c.Invoices)*float64(b.N)/cpu, "invoices/cpu-s")
		})
	}
}

// cpuTime is the process's user+system CPU time. Under GOMAXPROCS=1 it
// measures one core's work even when other processes compete for the CPU.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkIngest(b *testing.B) {
	for _, accounts := range []int{10_000} {
		batches := []*data.Batch{}
		var c data.Counts
		for from := 0; from < accounts; from += 1000 {
			bt := genAccounts(2, from, min(accounts, from+1000))
			c = c.Add(bt.Counts())
			batches = append(batches, bt)
		}
		b.Run(fmt.Sprintf("rows=%.0e", float64(c.Total())), func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			var cpu time.Duration
			for b.Loop() {
				b.StopTimer()
				s := openStore(b, b.TempDir(), parquet.Options{})
				b.StartTimer()
				cpu0 := cpuTime()
				w, err := s.Begin(ctx)
				if err != nil {
					b.Fatal(err)
				}
				for _, bt := range batches {
					if err := w.Write(ctx, bt); err != nil {
						b.Fatal(err)
					}
				}
				if err := w.Commit(ctx); err != nil {
					b.Fatal(err)
				}
				cpu += cpuTime() - cpu0
				b.StopTimer()
				_ = s.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(c.Total())*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(c.Total())*float64(b.N)/cpu.Seconds(), "rows/cpu-s")
		})
	}
}

// BenchmarkHistory measures History(id) on a store of 100,000 accounts
// (1e6 invoices) in one compacted segment per table.
func BenchmarkHistory(b *testing.B) {
	const accounts = 100_000
	s := openStore(b, b.TempDir(), parquet.Options{})
	defer s.Close()
	fill(b, s, accounts)
	ctx := context.Background()
	b.Run(fmt.Sprintf("accounts=%.0e", float64(accounts)), func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		cpu0 := cpuTime()
		defer func() { b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op") }()
		for b.Loop() {
			id := fmt.Sprintf("acct-%08d", (i*7919)%accounts)
			i++
			h, err := s.History(ctx, id)
			if err != nil {
				b.Fatal(err)
			}
			if len(h.Invoices) != 10 {
				b.Fatalf("History(%s) has %d invoices; want 10", id, len(h.Invoices))
			}
		}
	})
	b.Run(fmt.Sprintf("lookup-invoices=100/accounts=%.0e", float64(accounts)), func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		cpu0 := cpuTime()
		defer func() { b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op") }()
		for b.Loop() {
			var k data.Keys
			for j := 0; j < 100; j++ {
				a := (i*7919 + j*104729) % accounts
				k.Invoices = append(k.Invoices, fmt.Sprintf("inv-%08d-%02d", a, j%10))
			}
			i++
			got, err := s.Lookup(ctx, k)
			if err != nil {
				b.Fatal(err)
			}
			if len(got.Invoices) != 100 {
				b.Fatalf("Lookup found %d invoices; want 100", len(got.Invoices))
			}
		}
	})
}
