package gbdt_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/duesight/duesight/model/gbdt"
)

// cpuTime returns the process's user+system CPU time. On a shared machine
// CPU time per operation is steadier than wall time, so benchmarks report
// both.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchParams(rounds int) gbdt.Params {
	p := gbdt.DefaultParams()
	p.NumRounds = rounds
	p.Eta = 0.1
	p.MaxDepth = 6
	p.NThread = 2
	return p
}

// BenchmarkTrain trains 20 rounds of depth-6 trees on the synthetic invoice
// table (40 features).
func BenchmarkTrain(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		X, y := synthInvoices(n, 7)
		d := gbdt.Dataset{X: X, Y: y}
		b.Run(fmt.Sprintf("rows=%.0e", float64(n)), func(b *testing.B) {
			b.ReportAllocs()
			c0 := cpuTime()
			defer func() { b.ReportMetric(float64((cpuTime()-c0).Nanoseconds())/float64(b.N)/1e6, "cpu-ms/op") }()
			for b.Loop() {
				if _, err := gbdt.Train(context.Background(), d, nil, benchParams(20)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*20)*float64(b.N)/b.Elapsed().Seconds(), "row-rounds/s")
		})
	}
}

// predictModel trains the 200-round depth-6 model the prediction
// benchmarks score with, and returns test rows.
func predictModel(b *testing.B) (*gbdt.Ensemble, [][]float64) {
	b.Helper()
	X, y := synthInvoices(60_000, 11)
	m, err := gbdt.Train(context.Background(), gbdt.Dataset{X: sliceRows(X, 0, 50_000), Y: y[:50_000]}, nil, benchParams(200))
	if err != nil {
		b.Fatal(err)
	}
	return m, sliceRows(X, 50_000, 60_000)
}

func toRows(X [][]float64) [][]float64 {
	n := len(X[0])
	rows := make([][]float64, n)
	for i := range rows {
		rows[i] = make([]float64, len(X))
		for j := range X {
			rows[i][j] = X[j][i]
		}
	}
	return rows
}

// BenchmarkPredict scores a 200-tree depth-6 binary model: one row at a
// time, and in batches (column-major and row-major, 1 and 2 threads).
func BenchmarkPredict(b *testing.B) {
	m, cols := predictModel(b)
	rows := toRows(cols)
	n := len(rows)
	b.Run("row", func(b *testing.B) {
		b.ReportAllocs()
		var out []float64
		i := 0
		for b.Loop() {
			var err error
			if out, err = m.Predict(out, rows[i%n]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	for _, th := range []int{1, 2} {
		b.Run(fmt.Sprintf("batch=cols/rows=1e4/threads=%d", th), func(b *testing.B) {
			b.ReportAllocs()
			var out []float64
			c0 := cpuTime()
			defer func() { b.ReportMetric(float64((cpuTime()-c0).Nanoseconds())/float64(b.N*n), "cpu-ns/row") }()
			for b.Loop() {
				var err error
				if out, err = m.PredictColumns(out, cols, gbdt.PredictOptions{Threads: th}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
		b.Run(fmt.Sprintf("batch=rows/rows=1e4/threads=%d", th), func(b *testing.B) {
			b.ReportAllocs()
			var out []float64
			c0 := cpuTime()
			defer func() { b.ReportMetric(float64((cpuTime()-c0).Nanoseconds())/float64(b.N*n), "cpu-ns/row") }()
			for b.Loop() {
				var err error
				if out, err = m.PredictRows(out, rows, gbdt.PredictOptions{Threads: th}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkContributions computes exact TreeSHAP values for one row of the
// 200-tree depth-6 model (41 values).
func BenchmarkContributions(b *testing.B) {
	m, cols := predictModel(b)
	rows := toRows(cols)
	b.Run("row", func(b *testing.B) {
		b.ReportAllocs()
		var out []float64
		i := 0
		for b.Loop() {
			var err error
			if out, err = m.Contributions(out, rows[i%len(rows)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
