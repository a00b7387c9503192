package scoring_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/duesight/duesight/api"
	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/features"
)

// TestHotSwapUnderLoad: while goroutines score over HTTP (and directly,
// with batches large enough to be split over workers), models are
// activated back and forth. Every request succeeds, names exactly one of
// the two versions, and every score equals that version's offline score.
func TestHotSwapUnderLoad(t *testing.T) {
	e := newEnv(t, envOptions{})
	invs := openInvoices(t, e.store, 200)
	want := map[string]map[string]float64{fixtureVers.m1: {}, fixtureVers.m2: {}}
	om1, om2 := loadOffline(t, e.reg, fixtureVers.m1), loadOffline(t, e.reg, fixtureVers.m2)
	hist := map[string]*data.History{}
	for _, inv := range invs {
		h := hist[inv.AccountID]
		if h == nil {
			var err error
			if h, err = e.store.History(context.Background(), inv.AccountID); err != nil {
				t.Fatal(err)
			}
			hist[inv.AccountID] = h
		}
		vec, err := features.VectorAt(h, fixtureNow, inv, nil)
		if err != nil {
			t.Fatal(err)
		}
		want[fixtureVers.m1][inv.ID] = om1.late.PredictProba(vec)
		want[fixtureVers.m2][inv.ID] = om2.late.PredictProba(vec)
	}
	items := make([]map[string]any, len(invs))
	ids := make([]api.ScoreItem, len(invs))
	for i, inv := range invs {
		items[i] = map[string]any{"invoice_id": inv.ID}
		ids[i] = api.ScoreItem{InvoiceID: inv.ID}
	}

	var stop atomic.Bool
	var swaps, requests atomic.Int64
	seen := sync.Map{}
	errc := make(chan error, 64)
	check := func(version string, scores []wireScore) error {
		exp, ok := want[version]
		if !ok {
			return fmt.Errorf("response names model %q", version)
		}
		seen.Store(version, true)
		for _, s := range scores {
			if !closeTo(s.PLate, exp[s.InvoiceID]) {
				return fmt.Errorf("model %s invoice %s: p_late %.17g, offline %.17g (mixed models?)", version, s.InvoiceID, s.PLate, exp[s.InvoiceID])
			}
		}
		return nil
	}
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; !stop.Load(); n++ {
				lo := (g*37 + n*50) % (len(items) - 50)
				status, b := e.do("POST", "/v1/score", api.RoleCollectorSystem, map[string]any{"invoices": items[lo : lo+50]})
				requests.Add(1)
				if status != 200 {
					errc <- fmt.Errorf("status %d: %s", status, b)
					return
				}
				var r wireScoreResponse
				if err := jsonUnmarshal(b, &r); err != nil {
					errc <- err
					return
				}
				if err := check(r.ModelVersion, r.Scores); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	for range 2 { // direct callers with batches split over workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				resp, err := e.svc.Score(context.Background(), &api.ScoreRequest{Items: ids})
				requests.Add(1)
				if err != nil {
					errc <- err
					return
				}
				ws := make([]wireScore, len(resp.Scores))
				for i, s := range resp.Scores {
					ws[i] = wireScore{InvoiceID: s.InvoiceID, PLate: s.PLate}
				}
				if err := check(resp.ModelVersion, ws); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	deadline := time.Now().Add(2 * time.Second)
	for v := 0; time.Now().Before(deadline) || swaps.Load() < 10; v++ {
		version := fixtureVers.m2
		if v%2 == 1 {
			version = fixtureVers.m1
		}
		if status, b := e.do("POST", "/v1/models/"+version+"/activate", api.RoleAdmin, nil); status != 200 {
			t.Errorf("activate %s: %d %s", version, status, b)
			break
		}
		swaps.Add(1)
		time.Sleep(5 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	n := 0
	seen.Range(func(any, any) bool { n++; return true })
	if n != 2 {
		t.Errorf("responses named %d model versions, want both", n)
	}
	t.Logf("%d requests during %d activations", requests.Load(), swaps.Load())
}
