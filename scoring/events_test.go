package scoring_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/duesight/duesight/api"
	"github.com/duesight/duesight/data"
)

// scoreOne scores invoice id over HTTP and returns the score.
func (e *env) scoreOne(id string) wireScore {
	e.t.Helper()
	var r wireScoreResponse
	e.must(200, "POST", "/v1/score", api.RoleCollectorSystem, map[string]any{"invoices": []any{map[string]any{"invoice_id": id}}}, &r)
	return r.Scores[0]
}

// checkStored compares a served score with offline VectorAt over the
// store's current history of the account.
func (e *env) checkStored(t *testing.T, om offlineModel, inv data.Invoice, got wireScore) {
	t.Helper()
	h, err := e.store.History(context.Background(), inv.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	checkOffline(t, om, h, inv, e.clock.Now(), got)
}

func (e *env) openAmount(accountID, invoiceID string) string {
	e.t.Helper()
	var av wireAccount
	e.must(200, "GET", "/v1/accounts/"+accountID, api.RoleManager, nil, &av)
	for _, oi := range av.OpenInvoices {
		if oi.InvoiceID == invoiceID {
			return oi.OpenAmount.Amount
		}
	}
	return "closed"
}

// TestEventsChangeScores: posted invoices, payments and contacts change
// later scores and the account view, always equal to offline features over
// the updated stored history; post-dated rows count once the clock passes
// them; out-of-order and re-sent rows are handled.
func TestEventsChangeScores(t *testing.T) {
	e := newEnv(t, envOptions{})
	om := loadOffline(t, e.reg, fixtureVers.m1)
	var inv data.Invoice
	for _, c := range openInvoices(t, e.store, 200) {
		if c.Amount >= 1000 && c.DueDate < data.DateOf(fixtureNow) {
			inv = c
			break
		}
	}
	if inv.ID == "" {
		t.Fatal("no overdue open invoice in the fixture")
	}
	before := e.scoreOne(inv.ID)
	e.checkStored(t, om, inv, before)
	openBefore := e.openAmount(inv.AccountID, inv.ID)

	// A partial payment today.
	today := data.DateOf(fixtureNow)
	pay := data.Payment{ID: "T-P1", AccountID: inv.AccountID, InvoiceID: inv.ID, Date: today, Amount: 500,
		Currency: inv.Currency, Method: data.MethodBankTransfer}
	var rep data.IngestReport
	e.must(200, "POST", "/v1/events", api.RoleCollectorSystem, map[string]any{"payments": []any{pay}}, &rep)
	after := e.scoreOne(inv.ID)
	e.checkStored(t, om, inv, after)
	if after.PLate == before.PLate {
		t.Errorf("a partial payment did not change p_late (%v)", after.PLate)
	}
	if got := e.openAmount(inv.AccountID, inv.ID); got == openBefore || got == "closed" {
		t.Errorf("open amount %s after a partial payment (was %s)", got, openBefore)
	}

	// A new invoice and a contact, then a contact dated two hours ahead.
	newInv := data.Invoice{ID: "T-I1", AccountID: inv.AccountID, IssueDate: today, DueDate: today.AddDays(30),
		Amount: 777700, Currency: inv.Currency, DeliveredBy: data.Email}
	c1 := data.Contact{ID: "T-C1", AccountID: inv.AccountID, InvoiceID: inv.ID, Channel: data.Email,
		SentAt: fixtureNow.Add(-time.Hour), Outcome: data.OutcomeOpened}
	e.must(200, "POST", "/v1/events", api.RoleCollectorSystem, map[string]any{"invoices": []any{newInv}, "contacts": []any{c1}}, &rep)
	e.checkStored(t, om, newInv, e.scoreOne(newInv.ID))
	s1 := e.scoreOne(inv.ID)
	e.checkStored(t, om, inv, s1)
	c2 := data.Contact{ID: "T-C2", AccountID: inv.AccountID, InvoiceID: inv.ID, Channel: data.Call,
		SentAt: fixtureNow.Add(2 * time.Hour), Outcome: data.OutcomePromise, PromisedDate: today.AddDays(3)}
	e.must(200, "POST", "/v1/events", api.RoleCollectorSystem, map[string]any{"contacts": []any{c2}}, &rep)
	if s := e.scoreOne(inv.ID); s.PLate != s1.PLate {
		t.Errorf("a contact dated in the future changed the score now: %v → %v", s1.PLate, s.PLate)
	}
	e.clock.Add(3 * time.Hour)
	s2 := e.scoreOne(inv.ID)
	e.checkStored(t, om, inv, s2) // includes the promise now
	if s2.PLate == s1.PLate {
		t.Errorf("the promise did not count once its time passed")
	}

	// An out-of-order payment (dated before events already applied) and a
	// re-sent batch: the account is rebuilt from the store.
	old := data.Payment{ID: "T-P0", AccountID: inv.AccountID, InvoiceID: inv.ID, Date: today.AddDays(-3), Amount: 100,
		Currency: inv.Currency, Method: data.MethodCard}
	e.must(200, "POST", "/v1/events", api.RoleCollectorSystem, map[string]any{"payments": []any{old}}, &rep)
	e.checkStored(t, om, inv, e.scoreOne(inv.ID))
	e.must(200, "POST", "/v1/events", api.RoleCollectorSystem, map[string]any{"payments": []any{old, pay}}, &rep)
	if rep.Unchanged.Payments != 2 || rep.Added.Payments != 0 {
		t.Errorf("re-sent payments: %+v", rep)
	}
	e.checkStored(t, om, inv, e.scoreOne(inv.ID))

	// Paying the rest closes the invoice: it is no longer scored by id.
	var av wireAccount
	e.must(200, "GET", "/v1/accounts/"+inv.AccountID, api.RoleManager, nil, &av)
	var rest int64 = -1
	for _, oi := range av.OpenInvoices {
		if oi.InvoiceID == inv.ID {
			rest, _ = data.ParseAmount(oi.OpenAmount.Amount, inv.Currency, '.', 0)
		}
	}
	if rest <= 0 {
		t.Fatalf("invoice %s not open in the account view", inv.ID)
	}
	final := data.Payment{ID: "T-P2", AccountID: inv.AccountID, InvoiceID: inv.ID, Date: data.DateOf(e.clock.Now()), Amount: rest,
		Currency: inv.Currency, Method: data.MethodBankTransfer}
	e.must(200, "POST", "/v1/events", api.RoleCollectorSystem, map[string]any{"payments": []any{final}}, &rep)
	if status, b := e.do("POST", "/v1/score", api.RoleCollectorSystem, map[string]any{"invoices": []any{map[string]any{"invoice_id": inv.ID}}}); status != 422 {
		t.Errorf("scoring a paid invoice by id: %d %s", status, b)
	}
	if got := e.openAmount(inv.AccountID, inv.ID); got != "closed" {
		t.Errorf("paid invoice still open in the account view (%s)", got)
	}
	var contactIDs []string
	e.must(200, "GET", "/v1/accounts/"+inv.AccountID, api.RoleManager, nil, &av)
	for _, c := range av.RecentContacts {
		contactIDs = append(contactIDs, c.ContactID)
	}
	if len(contactIDs) < 2 || contactIDs[0] != "T-C2" || contactIDs[1] != "T-C1" {
		t.Errorf("recent contacts %v; want T-C2, T-C1 first", contactIDs)
	}
}

// TestStoreDown: with the store unreachable, events get 503 and change
// nothing, readiness is degraded, and reads are still served from memory.
// When the store is back, events are applied again.
func TestStoreDown(t *testing.T) {
	e := newEnv(t, envOptions{})
	inv := openInvoices(t, e.store, 1)[0]
	before := e.scoreOne(inv.ID)
	var viewBefore wireAccount
	e.must(200, "GET", "/v1/accounts/"+inv.AccountID, api.RoleManager, nil, &viewBefore)
	statsBefore := e.svc.Stats()

	e.store.down.Store(true)
	pay := data.Payment{ID: "D-P1", AccountID: inv.AccountID, InvoiceID: inv.ID, Date: data.DateOf(fixtureNow),
		Amount: 1, Currency: inv.Currency}
	status, body := e.do("POST", "/v1/events", api.RoleCollectorSystem, map[string]any{"payments": []any{pay}})
	if status != 503 || !strings.Contains(string(body), "unavailable") {
		t.Errorf("events with the store down: %d %s", status, body)
	}
	var ready struct{ Status, Reason string }
	e.must(503, "GET", "/readyz", "", nil, &ready)
	if ready.Status != "degraded" {
		t.Errorf("readyz %+v, want degraded", ready)
	}
	if got := e.scoreOne(inv.ID); got.PLate != before.PLate || got.ExpectedDaysLate != before.ExpectedDaysLate {
		t.Errorf("score changed while the store was down: %+v → %+v", before, got)
	}
	var view wireAccount
	e.must(200, "GET", "/v1/accounts/"+inv.AccountID, api.RoleManager, nil, &view)
	if viewBefore.Name == "" || view.Name != "" {
		t.Errorf("account name %q before, %q with the store down; want it only from the store", viewBefore.Name, view.Name)
	}
	if fmt.Sprint(view.Open) != fmt.Sprint(viewBefore.Open) || len(view.OpenInvoices) != len(viewBefore.OpenInvoices) {
		t.Errorf("account view changed while the store was down: %+v → %+v", viewBefore.Open, view.Open)
	}
	e.must(200, "GET", "/v1/worklist?limit=3", api.RoleManager, nil, nil)
	if st := e.svc.Stats(); st != statsBefore {
		t.Errorf("state changed while the store was down: %+v → %+v", statsBefore, st)
	}
	if err := e.svc.Resync(e.ctx); err == nil || data.ErrorCode(err) != data.Unavailable {
		t.Errorf("resync with the store down: %v, want Unavailable", err)
	}
	e.must(200, "POST", "/v1/score", api.RoleCollectorSystem, map[string]any{"invoices": []any{map[string]any{"invoice_id": inv.ID}}}, nil)

	e.store.down.Store(false)
	e.must(200, "GET", "/readyz", "", nil, &ready)
	e.must(200, "POST", "/v1/events", api.RoleCollectorSystem, map[string]any{"payments": []any{pay}}, nil)
	if got := e.scoreOne(inv.ID); got.PLate == before.PLate {
		t.Errorf("the payment posted after recovery did not change the score")
	}
	if strings.Contains(e.logs.String(), viewBefore.OpenInvoices[0].OpenAmount.Amount+`"`) {
		t.Errorf("an amount appears in the logs")
	}
}

// TestResync: rows written to the store by another process are served
// after Resync; readers and event batches running during the resync see no
// error and lose nothing.
func TestResync(t *testing.T) {
	e := newEnv(t, envOptions{})
	om := loadOffline(t, e.reg, fixtureVers.m1)
	inv := openInvoices(t, e.store, 1)[0]
	today := data.DateOf(fixtureNow)
	ext := data.Invoice{ID: "EXT-1", AccountID: inv.AccountID, IssueDate: today, DueDate: today.AddDays(14),
		Amount: 4200, Currency: inv.Currency}
	if _, err := data.Ingest(e.ctx, e.store, &data.Batch{Invoices: []data.Invoice{ext}}, data.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	if status, _ := e.do("POST", "/v1/score", api.RoleCollectorSystem, map[string]any{"invoices": []any{map[string]any{"invoice_id": ext.ID}}}); status != 422 {
		t.Fatalf("an invoice written behind the service's back is scored before a resync (%d)", status)
	}
	// Hold the resync's store stream, post an event meanwhile (applied to
	// the old state), then let the resync finish: the new state must hold
	// the event too, and readers must never fail.
	gate := make(chan struct{})
	e.store.gate.Store(&gate)
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if status, b := e.do("POST", "/v1/score", api.RoleCollectorSystem, map[string]any{"invoices": []any{map[string]any{"invoice_id": inv.ID}}}); status != 200 {
				errc <- fmt.Errorf("score during resync: %d %s", status, b)
				return
			}
		}
	}()
	resynced := make(chan error, 1)
	go func() { resynced <- e.svc.Resync(e.ctx) }()
	during := data.Invoice{ID: "DURING-1", AccountID: inv.AccountID, IssueDate: today, DueDate: today.AddDays(20),
		Amount: 999, Currency: inv.Currency}
	time.Sleep(50 * time.Millisecond) // let the resync reach the store
	e.must(200, "POST", "/v1/events", api.RoleCollectorSystem, map[string]any{"invoices": []any{during}}, nil)
	e.scoreOne(during.ID) // served by the old state (which does not know EXT-1 yet)
	e.store.gate.Store(nil)
	close(gate)
	if err := <-resynced; err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	e.checkStored(t, om, ext, e.scoreOne(ext.ID))
	e.checkStored(t, om, during, e.scoreOne(during.ID))
	e.checkStored(t, om, inv, e.scoreOne(inv.ID))
}

// TestPostDatedRows: rows dated in the future are stored at once, count in
// features only once the clock passes them (also across a resync, which
// rebuilds them as held events), and a post-dated invoice is scorable by id
// before its issue date but not yet open in the account view.
func TestPostDatedRows(t *testing.T) {
	e := newEnv(t, envOptions{})
	om := loadOffline(t, e.reg, fixtureVers.m1)
	inv := openInvoices(t, e.store, 1)[0]
	tomorrow := data.DateOf(fixtureNow).AddDays(1)
	future := data.Invoice{ID: "F-I1", AccountID: inv.AccountID, IssueDate: tomorrow, DueDate: tomorrow.AddDays(30),
		Amount: 5000, Currency: inv.Currency}
	call := data.Contact{ID: "F-C1", AccountID: inv.AccountID, InvoiceID: inv.ID, Channel: data.Call,
		SentAt: fixtureNow.Add(90 * time.Minute), Outcome: data.OutcomeConversation}
	before := e.scoreOne(inv.ID)
	e.must(200, "POST", "/v1/events", api.RoleCollectorSystem, map[string]any{"invoices": []any{future}, "contacts": []any{call}}, nil)
	if err := e.svc.Resync(e.ctx); err != nil { // the held rows are rebuilt from the store
		t.Fatal(err)
	}
	if got := e.scoreOne(inv.ID); got.PLate != before.PLate {
		t.Errorf("held rows changed the score before their time: %v → %v", before.PLate, got.PLate)
	}
	e.checkStored(t, om, future, e.scoreOne(future.ID)) // scorable by id before its issue date
	if got := e.openAmount(inv.AccountID, future.ID); got != "closed" {
		t.Errorf("an invoice issued tomorrow is open today in the account view (%s)", got)
	}
	e.clock.Add(2 * time.Hour) // the call has happened
	e.checkStored(t, om, inv, e.scoreOne(inv.ID))
	e.clock.Add(24 * time.Hour) // the invoice is issued
	e.checkStored(t, om, inv, e.scoreOne(inv.ID))
	e.checkStored(t, om, future, e.scoreOne(future.ID))
	if got := e.openAmount(inv.AccountID, future.ID); got != "50.00" && got != "5000" && got != "5.000" {
		t.Errorf("the invoice issued today is not open in the account view (%s)", got)
	}
}
