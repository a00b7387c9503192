package scoring_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/duesight/duesight/api"
	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/features"
)

// checkOffline compares one served score with the offline computation:
// features.VectorAt over the account's stored history, then the same
// artifact's model (and timing model). Training/serving skew must be 0.
func checkOffline(t *testing.T, om offlineModel, h *data.History, inv data.Invoice, asOf time.Time, got wireScore) {
	t.Helper()
	vec, err := features.VectorAt(h, asOf, inv, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := om.late.PredictProba(vec)
	if !closeTo(got.PLate, p) {
		t.Errorf("invoice %s: served p_late %.17g, offline %.17g (skew %g)", inv.ID, got.PLate, p, got.PLate-p)
	}
	want := om.late.Explain(vec, 3)
	if len(got.Reasons) != len(want) {
		t.Fatalf("invoice %s: %d reasons, want %d", inv.ID, len(got.Reasons), len(want))
	}
	for k, r := range want {
		g := got.Reasons[k]
		if g.Feature != r.Feature || !closeTo(g.Contribution, r.Contribution) {
			t.Errorf("invoice %s reason %d: served %s %.17g, offline %s %.17g", inv.ID, k, g.Feature, g.Contribution,
				r.Feature, r.Contribution)
		}
		if (g.Value == nil) != math.IsNaN(r.Value) || (g.Value != nil && !closeTo(*g.Value, r.Value)) {
			t.Errorf("invoice %s reason %d value: served %v, offline %v", inv.ID, k, g.Value, r.Value)
		}
	}
	if om.timing == nil {
		return
	}
	elapsed := features.LastKnownDay(asOf).Sub(inv.DueDate)
	floor := float64(max(elapsed+1, 0))
	d := om.timing.Distribution(vec, elapsed)
	if e := max(d.ExpectedDaysLate(), floor); !closeTo(got.ExpectedDaysLate, e) {
		t.Errorf("invoice %s: served expected_days_late %.17g, offline %.17g", inv.ID, got.ExpectedDaysLate, e)
	}
	q50, ok := d.Quantile(0.5)
	if !ok {
		q50 = float64(d.Horizon())
	}
	if want := inv.DueDate.AddDays(int(max(math.Ceil(q50), floor))).String(); got.PaymentDate.P50 != want {
		t.Errorf("invoice %s: served p50 payment date %s, offline %s", inv.ID, got.PaymentDate.P50, want)
	}
}

// TestScoreEqualsOffline: /v1/score (by id, inline for a known and for a
// new account, and as of a past instant) equals offline features.VectorAt +
// the same model on the same stored history, exactly.
func TestScoreEqualsOffline(t *testing.T) {
	e := newEnv(t, envOptions{})
	om := loadOffline(t, e.reg, fixtureVers.m1)
	for _, path := range []string{`"timing_fast_path":true`, `"timing_payload_path":true`, `"linear_fast_path":true`} {
		if !strings.Contains(e.logs.String(), path) {
			t.Errorf("log lacks %s: the logreg and weekly-hazard models should use the allocation-free paths; log:\n%s", path, e.logs)
		}
	}
	invs := openInvoices(t, e.store, 60)
	items := make([]map[string]any, len(invs))
	for i, inv := range invs {
		items[i] = map[string]any{"invoice_id": inv.ID}
	}
	var resp wireScoreResponse
	e.must(200, "POST", "/v1/score", api.RoleCollectorSystem, map[string]any{"invoices": items}, &resp)
	if resp.ModelVersion != fixtureVers.m1 || !resp.AsOf.Equal(fixtureNow) {
		t.Fatalf("model %s as_of %s; want %s at %s", resp.ModelVersion, resp.AsOf, fixtureVers.m1, fixtureNow)
	}
	hist := map[string]*data.History{}
	history := func(id string) *data.History {
		if h, ok := hist[id]; ok {
			return h
		}
		h, err := e.store.History(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		hist[id] = h
		return h
	}
	for i, inv := range invs {
		got := resp.Scores[i]
		if got.InvoiceID != inv.ID || got.AccountID != inv.AccountID {
			t.Fatalf("score %d is for %s/%s, want %s/%s", i, got.AccountID, got.InvoiceID, inv.AccountID, inv.ID)
		}
		checkOffline(t, om, history(inv.AccountID), inv, fixtureNow, got)
	}

	// Inline: a new invoice of a known account, and one of a new account.
	known := invs[0]
	fresh := data.Invoice{ID: "INLINE-1", AccountID: known.AccountID, IssueDate: data.DateOf(fixtureNow),
		DueDate: data.DateOf(fixtureNow).AddDays(30), Amount: 123456, Currency: known.Currency, DeliveredBy: data.Email}
	newAcc := data.Account{ID: "NEW-ACCOUNT", Name: "x", Segment: "smb", Country: "DE", Currency: "EUR", TimeZone: "Europe/Berlin",
		TermsDays: 30, Consent: data.AllChannels, CreatedAt: fixtureNow.Add(-48 * time.Hour)}
	newInv := data.Invoice{ID: "INLINE-2", AccountID: newAcc.ID, IssueDate: data.DateOf(fixtureNow).AddDays(-40),
		DueDate: data.DateOf(fixtureNow).AddDays(-10), Amount: 50000, Currency: "EUR"}
	e.must(200, "POST", "/v1/score", api.RoleCollectorSystem, map[string]any{"invoices": []any{
		map[string]any{"invoice": fresh}, map[string]any{"invoice": newInv, "account": newAcc}}}, &resp)
	checkOffline(t, om, history(known.AccountID), fresh, fixtureNow, resp.Scores[0])
	checkOffline(t, om, &data.History{Account: newAcc}, newInv, fixtureNow, resp.Scores[1])

	// As of a past instant: the memory cannot serve it; the service replays
	// the stored history, which must again equal VectorAt.
	past := time.Date(2025, 6, 20, 9, 30, 0, 0, time.UTC)
	var pastItems []map[string]any
	var pastInvs []data.Invoice
	for _, inv := range invs {
		if inv.IssueDate.Time().Before(past) && len(pastInvs) < 10 {
			pastItems = append(pastItems, map[string]any{"invoice_id": inv.ID})
			pastInvs = append(pastInvs, inv)
		}
	}
	if len(pastInvs) == 0 {
		t.Fatal("no open invoice issued before the past instant")
	}
	e.must(200, "POST", "/v1/score", api.RoleCollectorSystem, map[string]any{"as_of": past, "invoices": pastItems}, &resp)
	if !resp.AsOf.Equal(past) {
		t.Fatalf("as_of %s, want %s", resp.AsOf, past)
	}
	for i, inv := range pastInvs {
		checkOffline(t, om, history(inv.AccountID), inv, past, resp.Scores[i])
	}
}

// TestScoreFallbackTiming: a model without a linked timing model still
// gives valid timing (the empirical fallback) and the same p_late as
// offline.
func TestScoreFallbackTiming(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.must(200, "POST", "/v1/models/"+fixtureVers.m2+"/activate", api.RoleAdmin, nil, nil)
	om := loadOffline(t, e.reg, fixtureVers.m2)
	if om.timing != nil {
		t.Fatal("m2 should have no timing model")
	}
	invs := openInvoices(t, e.store, 20)
	items := make([]map[string]any, len(invs))
	for i, inv := range invs {
		items[i] = map[string]any{"invoice_id": inv.ID}
	}
	var resp wireScoreResponse
	e.must(200, "POST", "/v1/score", api.RoleAnalyst, map[string]any{"invoices": items}, &resp)
	if resp.ModelVersion != fixtureVers.m2 {
		t.Fatalf("model %s, want %s", resp.ModelVersion, fixtureVers.m2)
	}
	for i, inv := range invs {
		h, err := e.store.History(context.Background(), inv.AccountID)
		if err != nil {
			t.Fatal(err)
		}
		got := resp.Scores[i]
		checkOffline(t, om, h, inv, fixtureNow, got)
		elapsed := features.LastKnownDay(fixtureNow).Sub(inv.DueDate)
		p10, _ := data.ParseDate(got.PaymentDate.P10)
		if elapsed >= 0 && p10 <= inv.DueDate.AddDays(elapsed) {
			t.Errorf("invoice %s overdue %d days: fallback p10 %s is not after the last known day", inv.ID, elapsed, got.PaymentDate.P10)
		}
		if elapsed >= 0 && got.ExpectedDaysLate < float64(elapsed+1) {
			t.Errorf("invoice %s overdue %d days: fallback expected days late %v", inv.ID, elapsed, got.ExpectedDaysLate)
		}
	}
}

// TestScoreEqualsOfflineGBDT: the same zero-skew check for a gbdt model
// (scores and path-based reason codes).
func TestScoreEqualsOfflineGBDT(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.must(200, "POST", "/v1/models/"+fixtureVers.m3+"/activate", api.RoleAdmin, nil, nil)
	om := loadOffline(t, e.reg, fixtureVers.m3)
	invs := openInvoices(t, e.store, 40)
	items := make([]map[string]any, len(invs))
	for i, inv := range invs {
		items[i] = map[string]any{"invoice_id": inv.ID}
	}
	var resp wireScoreResponse
	e.must(200, "POST", "/v1/score", api.RoleAnalyst, map[string]any{"invoices": items}, &resp)
	if resp.ModelVersion != fixtureVers.m3 {
		t.Fatalf("model %s, want %s", resp.ModelVersion, fixtureVers.m3)
	}
	for i, inv := range invs {
		h, err := e.store.History(context.Background(), inv.AccountID)
		if err != nil {
			t.Fatal(err)
		}
		checkOffline(t, om, h, inv, fixtureNow, resp.Scores[i])
	}
}
