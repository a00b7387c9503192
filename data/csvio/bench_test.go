package csvio_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/data/csvio"
	"github.com/duesight/duesight/data/datatest"
)

// writeIBMLike writes n rows shaped like the IBM sample (n/25 customers).
func writeIBMLike(b *testing.B, n int) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "ar.csv")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "countryCode,customerID,PaperlessDate,invoiceNumber,InvoiceDate,DueDate,InvoiceAmount,Disputed,SettledDate,PaperlessBill,DaysToSettle,DaysLate")
	base := data.NewDate(2012, 1, 3)
	for i := 0; i < n; i++ {
		issue := base.AddDays(i % 700)
		due := issue.AddDays(30)
		settled := issue.AddDays(5 + i%50)
		md := func(d data.Date) string { t := d.Time(); return fmt.Sprintf("%d/%d/%d", t.Month(), t.Day(), t.Year()) }
		disputed, bill := "No", "Paper"
		if i%4 == 0 {
			disputed = "Yes"
		}
		if i%3 == 0 {
			bill = "Electronic"
		}
		fmt.Fprintf(w, "391,C%06d,4/6/2013,%010d,%s,%s,%d.%02d,%s,%s,%s,%d,%d\r\n", i%max(1, n/25), i, md(issue), md(due),
			10+i%900, i%100, disputed, md(settled), bill, settled.Sub(issue), max(0, settled.Sub(due)))
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkRead measures CSV reading and conversion with the IBM mapping
// (4 entities per row, 3 dates, 2 amounts); rows/s is reported.
func BenchmarkRead(b *testing.B) {
	m, err := csvio.LoadMapping("../samples/ibm_accounts_receivable.yaml")
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{1e3, 1e4, 1e5} {
		b.Run(fmt.Sprintf("size=%.0e", float64(n)), func(b *testing.B) {
			path := writeIBMLike(b, n)
			st, _ := os.Stat(path)
			b.SetBytes(st.Size())
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				batch, _, err := csvio.Read(context.Background(), m, map[string]string{"ar": path}, csvio.ReadOptions{})
				if err != nil || len(batch.Invoices) != n {
					b.Fatalf("read: %v", err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkImport adds data.Ingest into a MemStore.
func BenchmarkImport(b *testing.B) {
	m, err := csvio.LoadMapping("../samples/ibm_accounts_receivable.yaml")
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{1e3, 1e4} {
		b.Run(fmt.Sprintf("size=%.0e", float64(n)), func(b *testing.B) {
			path := writeIBMLike(b, n)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := csvio.Import(context.Background(), datatest.NewMemStore(), m, map[string]string{"ar": path},
					csvio.ImportOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkExport writes a Sample store as CSV and Parquet.
func BenchmarkExport(b *testing.B) {
	ctx := context.Background()
	st := datatest.NewMemStore()
	if _, err := data.Ingest(ctx, st, datatest.Sample(datatest.SampleOptions{Seed: 3, Accounts: 500}), data.IngestOptions{}); err != nil {
		b.Fatal(err)
	}
	n, _ := st.Count(ctx)
	for _, f := range []csvio.Format{csvio.FormatCSV, csvio.FormatParquet} {
		b.Run(fmt.Sprintf("format=%s/size=%d", f, n.Total()), func(b *testing.B) {
			dir := b.TempDir()
			b.ReportAllocs()
			for range b.N {
				if _, err := csvio.Export(ctx, st, dir, f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
