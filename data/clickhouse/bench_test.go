package clickhouse_test

// Benchmarks need a server (DUESIGHT_TEST_CLICKHOUSE). Sizes 1e4 and 1e5 run
// by default; DUESIGHT_BENCH_LARGE=1 adds 1e6; DUESIGHT_BENCH_SERVER_PID adds
// CPU time per row. The ingest comparison needs clickhouse-client on PATH.
// Example (see also the package documentation):
//
//	.ci/clickhouse.sh start /tmp/ch-store 19200
//	DUESIGHT_TEST_CLICKHOUSE=clickhouse://127.0.0.1:19200/default DUESIGHT_BENCH_LARGE=1 \
//	DUESIGHT_BENCH_SERVER_PID=$(cat /tmp/ch-store/pid) \
//	  go test ./data/clickhouse -run '^$' -bench 'IngestVsClient|Histories' -benchtime 4x
//
// BenchmarkIngestVsClient reports store_rows/s (Begin + Write in 50k-row
// calls + Commit), client_rows/s (clickhouse-client … FORMAT CSV loading
// the same rows into an identical table, in the same run, alternating which
// goes first) and their ratio store/client.

import (
	"bufio"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/data/clickhouse"
	"github.com/duesight/duesight/data/datatest"
)

// benchBlockRows is Options.BlockRows for the ingest benchmark:
// DUESIGHT_BENCH_BLOCKROWS, or 0 for the default.
func benchBlockRows(b *testing.B) int {
	v := os.Getenv("DUESIGHT_BENCH_BLOCKROWS")
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("DUESIGHT_BENCH_BLOCKROWS=%q: want a positive integer", v)
	}
	return n
}

// envServerPID names the clickhouse-server process (e.g. $(cat
// /tmp/ch-bench/pid)); when set, BenchmarkIngestVsClient also reports CPU
// time per row (client side plus server), which a shared, loaded machine
// disturbs far less than wall time.
const envServerPID = "DUESIGHT_BENCH_SERVER_PID"

// serverCPU returns a function reading the server's user+system CPU time
// from /proc (zero when DUESIGHT_BENCH_SERVER_PID is unset).
func serverCPU(b *testing.B) func() time.Duration {
	pid := os.Getenv(envServerPID)
	if pid == "" {
		return func() time.Duration { return 0 }
	}
	return func() time.Duration {
		raw, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil {
			b.Fatalf("%s=%s: %v", envServerPID, pid, err)
		}
		// Fields after the parenthesised command name; utime and stime
		// are fields 14 and 15 of the whole line, in clock ticks (100/s).
		f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		return time.Duration(ut+st) * 10 * time.Millisecond
	}
}

// processCPU is this process's user+system CPU time.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchSizes() []int {
	sizes := []int{1e4, 1e5}
	if os.Getenv("DUESIGHT_BENCH_LARGE") == "1" {
		sizes = append(sizes, 1e6)
	}
	return sizes
}

func sizeName(n int) string {
	e := 0
	for m := n; m >= 10 && m%10 == 0; m /= 10 {
		e++
	}
	if n == pow10(e) {
		return fmt.Sprintf("size=1e%d", e)
	}
	return fmt.Sprintf("size=%d", n)
}

func pow10(e int) int {
	n := 1
	for range e {
		n *= 10
	}
	return n
}

// benchInvoices returns n invoices over n/8 accounts, spread over 2022–2024.
func benchInvoices(n int) []data.Invoice {
	out := make([]data.Invoice, n)
	base := data.NewDate(2022, 1, 1)
	cur := []string{"USD", "EUR", "GBP", "JPY"}
	for i := range out {
		acc := fmt.Sprintf("acc-%07d", i/8)
		issue := base.AddDays((i * 37) % 1000)
		out[i] = data.Invoice{ID: fmt.Sprintf("inv-%09d", i), AccountID: acc, IssueDate: issue, DueDate: issue.AddDays(30),
			Amount: int64(1000 + (i*7919)%5_000_000), Currency: cur[i%len(cur)], DeliveredBy: data.Channel(i % 5)}
	}
	return out
}

// writeCSV writes the rows as the invoices table stores them (seq = 1).
func writeCSV(b *testing.B, path string, rows []data.Invoice) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for _, r := range rows {
		fmt.Fprintf(w, "%s,%d,%s,%s,%s,%d,%s,%d,1\n", r.AccountID, data.AccountHash(r.AccountID), r.ID,
			r.IssueDate, r.DueDate, r.Amount, r.Currency, r.DeliveredBy)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkIngestVsClient(b *testing.B) {
	client, err := exec.LookPath("clickhouse-client")
	if err != nil {
		b.Skip("clickhouse-client not on PATH")
	}
	u, err := url.Parse(testDSN(b))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, n := range benchSizes() {
		b.Run(sizeName(n), func(b *testing.B) {
			b.ReportAllocs()
			rows := benchInvoices(n)
			csv := filepath.Join(b.TempDir(), "invoices.csv")
			writeCSV(b, csv, rows)
			const chunk = 50_000
			var storeTime, clientTime time.Duration
			// CPU time of this process or clickhouse-client, and of the server.
			var storeCPU, storeServerCPU, clientCPU, clientServerCPU time.Duration
			server := serverCPU(b)
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				s := mustOpen(b, freshDB(b), clickhouse.Options{Logger: testLogger(b), BlockRows: benchBlockRows(b)})
				db := s.Database()
				conn := rawConn(b)
				if err := conn.Exec(ctx, "CREATE TABLE "+db+".t_bench AS "+db+".invoices"); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()

				viaStore := func() {
					cpu0, srv0 := processCPU(b), server()
					start := time.Now()
					w, err := s.Begin(ctx)
					if err != nil {
						b.Fatal(err)
					}
					for off := 0; off < n; off += chunk {
						if err := w.Write(ctx, &data.Batch{Invoices: rows[off:min(n, off+chunk)]}); err != nil {
							b.Fatal(err)
						}
					}
					if err := w.Commit(ctx); err != nil {
						b.Fatal(err)
					}
					storeTime += time.Since(start)
					storeCPU += processCPU(b) - cpu0
					storeServerCPU += server() - srv0
				}
				viaClient := func() {
					in, err := os.Open(csv)
					if err != nil {
						b.Fatal(err)
					}
					defer in.Close()
					cmd := exec.CommandContext(ctx, client, "--host", u.Hostname(), "--port", u.Port(), "--query",
						"INSERT INTO "+db+".t_bench (account_id, account_hash, id, issue_date, due_date, amount, currency, delivered_by, seq) FORMAT CSV")
					cmd.Stdin = in
					srv0 := server()
					start := time.Now()
					if out, err := cmd.CombinedOutput(); err != nil {
						b.Fatalf("clickhouse-client: %v\n%s", err, out)
					}
					clientTime += time.Since(start)
					clientCPU += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
					clientServerCPU += server() - srv0
				}
				// Alternate the order so that neither side always runs
				// first (the machine is shared; load drifts).
				if i%2 == 0 {
					viaStore()
					viaClient()
				} else {
					viaClient()
					viaStore()
				}

				b.StopTimer()
				if c, err := s.Count(ctx); err != nil || c.Invoices != n {
					b.Fatalf("store holds %d invoices, %v; want %d", c.Invoices, err, n)
				}
				if got := rawCount(b, conn, db, "t_bench"); got != uint64(n) {
					b.Fatalf("clickhouse-client loaded %d rows; want %d", got, n)
				}
				b.StartTimer()
			}
			storeRate := float64(n*b.N) / storeTime.Seconds()
			clientRate := float64(n*b.N) / clientTime.Seconds()
			b.ReportMetric(storeRate, "store_rows/s")
			b.ReportMetric(clientRate, "client_rows/s")
			b.ReportMetric(storeRate/clientRate, "store/client")
			if os.Getenv(envServerPID) != "" {
				rows := float64(n * b.N)
				perRow := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / rows }
				b.ReportMetric(perRow(storeCPU), "store_go_cpu_ns/row")
				b.ReportMetric(perRow(storeServerCPU), "store_server_cpu_ns/row")
				b.ReportMetric(perRow(clientCPU), "client_proc_cpu_ns/row")
				b.ReportMetric(perRow(clientServerCPU), "client_server_cpu_ns/row")
			}
		})
	}
}

func BenchmarkHistories(b *testing.B) {
	ctx := context.Background()
	for _, n := range benchSizes() {
		b.Run(sizeName(n), func(b *testing.B) {
			b.ReportAllocs()
			// Sample averages about 6.5 invoices per account plus payments,
			// contacts and disputes; n is the number of invoices asked for.
			batch := datatest.Sample(datatest.SampleOptions{Seed: 7, Accounts: max(1, n*2/13)})
			s := mustOpen(b, freshDB(b), clickhouse.Options{Logger: testLogger(b)})
			if err := data.Append(ctx, s, batch); err != nil {
				b.Fatal(err)
			}
			total := batch.Len()
			batch = nil // let the collector drop the rows while streaming
			server := serverCPU(b)
			b.ResetTimer()
			cpu0, srv0 := processCPU(b), server()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				rows := 0
				for h, err := range s.Histories(ctx, data.HistoryQuery{}) {
					if err != nil {
						b.Fatal(err)
					}
					rows += 1 + len(h.Invoices) + len(h.Payments) + len(h.Contacts) + len(h.Disputes)
				}
				if rows != total {
					b.Fatalf("streamed %d rows; want %d", rows, total)
				}
			}
			elapsed := time.Since(start)
			rows := float64(total * b.N)
			b.ReportMetric(rows/elapsed.Seconds(), "rows/s")
			b.ReportMetric(float64(total), "rows")
			b.ReportMetric(float64((processCPU(b)-cpu0).Nanoseconds())/rows, "go_cpu_ns/row")
			if os.Getenv(envServerPID) != "" {
				b.ReportMetric(float64((server()-srv0).Nanoseconds())/rows, "server_cpu_ns/row")
			}
		})
	}
}
