package scoring_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/duesight/duesight/api"
	"github.com/duesight/duesight/scoring"
)

// benchItems returns n score items cycling over the fixture's open invoices.
func benchItems(b *testing.B, e *env, n int) []api.ScoreItem {
	invs := openInvoices(b, e.store, 1000)
	items := make([]api.ScoreItem, n)
	for i := range items {
		items[i] = api.ScoreItem{InvoiceID: invs[i%len(invs)].ID}
	}
	return items
}

// BenchmarkScore measures Service.Score (no HTTP) by batch size; the
// invoices/s metric is the throughput inside one batch request.
func BenchmarkScore(b *testing.B) {
	e := newEnv(b, envOptions{noServer: true})
	for _, kind := range []struct{ name, version string }{{"logreg", fixtureVers.m1}, {"gbdt", fixtureVers.m3}} {
		if _, err := e.svc.ActivateModel(context.Background(), kind.version); err != nil {
			b.Fatal(err)
		}
		for _, n := range []int{1, 100, 1000, 10000} {
			benchScore(b, e, kind.name, n)
		}
	}
}

func benchScore(b *testing.B, e *env, kind string, n int) {
	{
		b.Run(fmt.Sprintf("kind=%s/batch=%d", kind, n), func(b *testing.B) {
			req := &api.ScoreRequest{Items: benchItems(b, e, n)}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := e.svc.Score(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "invoices/s")
		})
	}
}

// BenchmarkScoreHTTP measures POST /v1/score end to end on loopback (one
// client connection; JSON encoding and decoding included).
func BenchmarkScoreHTTP(b *testing.B) {
	e := newEnv(b, envOptions{})
	for _, n := range []int{1, 1000} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			items := benchItems(b, e, n)
			body, err := json.Marshal(map[string]any{"invoices": items})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if status, resp := e.do("POST", "/v1/score", api.RoleCollectorSystem, body); status != 200 {
					b.Fatalf("%d %s", status, resp)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "invoices/s")
		})
	}
}

// BenchmarkWorklist ranks every account of the fixture into a new snapshot.
func BenchmarkWorklist(b *testing.B) {
	e := newEnv(b, envOptions{noServer: true, opts: scoring.Options{SnapshotReuse: -1, MaxSnapshots: 1 << 30}})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.svc.Worklist(context.Background(), api.WorklistQuery{Limit: 50}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(e.svc.Stats().FeatureStateEntries)*float64(b.N)/b.Elapsed().Seconds(), "accounts/s")
}

// BenchmarkResync rebuilds the online state from the Parquet store.
func BenchmarkResync(b *testing.B) {
	e := newEnv(b, envOptions{noServer: true})
	b.ReportAllocs()
	for b.Loop() {
		if err := e.svc.Resync(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	st := e.svc.Stats()
	b.ReportMetric(float64(st.FeatureStateEntries)*float64(b.N)/b.Elapsed().Seconds(), "accounts/s")
	b.ReportMetric(float64(st.FeatureStateBytes)/float64(st.FeatureStateEntries), "state-bytes/account")
}
