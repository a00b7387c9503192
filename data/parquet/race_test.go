//go:build race

package parquet_test

// raceEnabled: the race detector slows the stream tests about tenfold.
const raceEnabled = true
