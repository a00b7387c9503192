package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/duesight/duesight/api"
	"github.com/duesight/duesight/data"
)

func TestAccount(t *testing.T) {
	e := newEnv(t, envOptions{})
	acc := newAccount("acme/eu 1") // '/' and ' ' must survive the path
	inv1 := newInvoice("i1", acc.ID, 10000)
	inv2 := newInvoice("i2", acc.ID, 5000)
	inv2.DueDate = data.NewDate(2026, 4, 1)
	b := &data.Batch{Accounts: []data.Account{acc}, Invoices: []data.Invoice{inv1, inv2},
		Payments: []data.Payment{{ID: "p1", AccountID: acc.ID, InvoiceID: "i1", Date: data.NewDate(2026, 2, 1), Amount: 2500, Currency: "EUR", Method: data.MethodCard}},
		Contacts: []data.Contact{{ID: "c1", AccountID: acc.ID, InvoiceID: "i1", Channel: data.Call,
			SentAt: time.Date(2026, 2, 15, 10, 0, 0, 0, time.UTC), Outcome: data.OutcomePromise,
			PromisedDate: data.NewDate(2026, 3, 10), PromisedAmount: 7500}}}
	if _, err := data.Ingest(context.Background(), e.be.store, b, data.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	resp, out := e.do("GET", "/v1/accounts/"+pathEscape(acc.ID)+"?as_of=2026-03-01T00:00:00Z", api.RoleManager, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, out)
	}
	var v struct {
		AccountID    string `json:"account_id"`
		Open         []struct{ Amount, Currency string }
		Overdue      []struct{ Amount, Currency string } `json:"overdue_amounts"`
		OpenInvoices []struct {
			InvoiceID   string `json:"invoice_id"`
			DaysPastDue int    `json:"days_past_due"`
			OpenAmount  struct{ Amount string }
		} `json:"open_invoices"`
		Recent []struct {
			Outcome        string                  `json:"outcome"`
			PromisedAmount struct{ Amount string } `json:"promised_amount"`
		} `json:"recent_contacts"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	if v.AccountID != acc.ID || len(v.OpenInvoices) != 2 || v.OpenInvoices[0].DaysPastDue != 20 {
		t.Errorf("view %s", out)
	}
	if !strings.Contains(string(out), `"open_amounts":[{"amount":"125.00","currency":"EUR"}]`) ||
		!strings.Contains(string(out), `"overdue_amounts":[{"amount":"75.00","currency":"EUR"}]`) {
		t.Errorf("amounts: %s", out)
	}
	if len(v.Recent) != 1 || v.Recent[0].Outcome != "promise_to_pay" || v.Recent[0].PromisedAmount.Amount != "75.00" {
		t.Errorf("contacts: %s", out)
	}

	tests := []struct {
		name, path string
		status     int
		slug       string
		in, field  string
	}{
		{"unknown id", "/v1/accounts/nobody", 404, "not-found", "", ""},
		{"bad as_of", "/v1/accounts/x?as_of=2026-13-01", 400, "malformed-request", "query", "as_of"},
		{"unknown parameter", "/v1/accounts/x?limit=3", 400, "malformed-request", "query", "limit"},
		{"repeated parameter", "/v1/accounts/x?as_of=2026-01-01T00:00:00Z&as_of=2026-01-02T00:00:00Z", 400, "malformed-request", "query", "as_of"},
		{"control character in id", "/v1/accounts/a%01b", 400, "malformed-request", "path", "id"},
		{"id too long", "/v1/accounts/" + strings.Repeat("x", 200), 400, "malformed-request", "path", "id"},
		{"semicolon query", "/v1/accounts/x?as_of=1;b=2", 400, "malformed-request", "query", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, out := e.do("GET", tc.path, api.RoleCollectorSystem, nil)
			p := e.problem(resp, out, tc.status, tc.slug)
			if tc.in != "" && (len(p.Errors) == 0 || p.Errors[0].In != tc.in || p.Errors[0].Path != tc.field) {
				t.Errorf("errors %+v, want in=%s path=%s", p.Errors, tc.in, tc.field)
			}
		})
	}
}

type worklistBody struct {
	AsOf       time.Time `json:"as_of"`
	Total      int       `json:"total"`
	NextCursor string    `json:"next_cursor"`
	Items      []struct {
		Rank      int    `json:"rank"`
		AccountID string `json:"account_id"`
	} `json:"items"`
}

func (e *env) worklist(query string) (*http.Response, worklistBody, []byte) {
	e.t.Helper()
	resp, out := e.do("GET", "/v1/worklist"+query, api.RoleCollectorSystem, nil)
	var w worklistBody
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(out, &w); err != nil {
			e.t.Fatal(err)
		}
	}
	return resp, w, out
}

func TestWorklistStablePagination(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.seed(60)
	resp, first, out := e.worklist("?limit=7&as_of=2026-03-01T00:00:00Z")
	if resp.StatusCode != http.StatusOK || first.Total < 20 || len(first.Items) != 7 || first.NextCursor == "" {
		t.Fatalf("first page: %d %s", resp.StatusCode, out)
	}
	snapshotOrder := func() []string { // the ranking a fresh first page shows now
		_, w, _ := e.worklist("?limit=1000&as_of=2026-03-01T00:00:00Z")
		ids := []string{}
		for _, it := range w.Items {
			ids = append(ids, it.AccountID)
		}
		return ids
	}
	e.be.wlBias.Store(0)
	frozen := snapshotOrder() // same bias as the first page: its full order
	var got []string
	for _, it := range first.Items {
		got = append(got, it.AccountID)
	}
	cur := first.NextCursor
	for page := 1; cur != ""; page++ {
		// The live ranking changes between every two pages.
		e.be.wlBias.Store(int64(page))
		_, w, out := e.worklist("?limit=7&cursor=" + cur)
		if len(w.Items) == 0 {
			t.Fatalf("page %d empty: %s", page, out)
		}
		for i, it := range w.Items {
			if it.Rank != len(got)+1 {
				t.Fatalf("page %d item %d rank %d, want %d", page, i, it.Rank, len(got)+1)
			}
			got = append(got, it.AccountID)
		}
		cur = w.NextCursor
	}
	if !slices.Equal(got, frozen) {
		t.Errorf("pages differ from the snapshot's order:\n got %v\nwant %v", got, frozen)
	}
	seen := map[string]bool{}
	for _, id := range got {
		if seen[id] {
			t.Errorf("account %s repeated", id)
		}
		seen[id] = true
	}
	// The live ranking did change, so a naive offset pager would have
	// repeated or skipped accounts: the check above could fail.
	if live := snapshotOrder(); slices.Equal(live, frozen) {
		t.Errorf("the fake's live ranking did not change; the test proves nothing")
	}
}

func TestWorklistErrors(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.seed(30)
	_, w, _ := e.worklist("?limit=5&segment=")
	if w.NextCursor == "" {
		t.Fatal("no cursor")
	}
	tampered := []byte(w.NextCursor)
	tampered[len(tampered)/2] ^= 1
	tests := []struct {
		name, query string
		status      int
		slug, path  string
	}{
		{"limit zero", "?limit=0", 400, "malformed-request", "limit"},
		{"limit too big", "?limit=1001", 400, "malformed-request", "limit"},
		{"limit not a number", "?limit=ten", 400, "malformed-request", "limit"},
		{"bad as_of", "?as_of=now", 400, "malformed-request", "as_of"},
		{"unknown parameter", "?sort=asc", 400, "malformed-request", "sort"},
		{"tampered cursor", "?cursor=" + string(tampered), 400, "malformed-request", "cursor"},
		{"garbage cursor", "?cursor=%%%", 400, "malformed-request", ""},
		{"cursor with other segment", "?segment=enterprise&cursor=" + w.NextCursor, 400, "malformed-request", "segment"},
		{"cursor with other as_of", "?as_of=2026-01-01T00:00:00Z&cursor=" + w.NextCursor, 400, "malformed-request", "as_of"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, _, out := e.worklist(tc.query)
			p := e.problem(resp, out, tc.status, tc.slug)
			if tc.path != "" && !hasError(p, tc.path, "") {
				t.Errorf("no error for %s: %s", tc.path, out)
			}
		})
	}
	// Same segment repeated with the cursor is fine.
	if resp, _, out := e.worklist("?segment=&cursor=" + w.NextCursor); resp.StatusCode != 200 {
		t.Errorf("repeating the segment: %d %s", resp.StatusCode, out)
	}
	// After the snapshot expired: 410.
	e.clock.Advance(api.MinSnapshotTTL + time.Minute)
	resp, _, out := e.worklist("?cursor=" + w.NextCursor)
	e.problem(resp, out, http.StatusGone, "cursor-expired")
}

func TestEvents(t *testing.T) {
	e := newEnv(t, envOptions{})
	acc := newAccount("ev-acc")
	inv := newInvoice("ev-inv", acc.ID, 9900)
	batch := map[string]any{
		"accounts": []data.Account{acc},
		"invoices": []data.Invoice{inv},
		"payments": []data.Payment{{ID: "ev-pay", AccountID: acc.ID, InvoiceID: inv.ID, Date: data.NewDate(2026, 2, 1), Amount: 900, Currency: "EUR", Method: data.MethodBankTransfer}},
		"contacts": []data.Contact{{ID: "ev-c", AccountID: acc.ID, InvoiceID: inv.ID, Channel: data.Email, SentAt: time.Date(2026, 2, 12, 9, 0, 0, 0, time.UTC),
			Outcome: data.OutcomePromise, PromisedDate: data.NewDate(2026, 2, 20)}},
		"disputes": []data.Dispute{{ID: "ev-d", AccountID: acc.ID, InvoiceID: inv.ID, OpenedOn: data.NewDate(2026, 2, 13), Reason: "wrong quantity"}},
	}
	body := mustJSON(t, batch)
	e.doc.checkRequest(t, "POST", "/v1/events", body)
	resp, out := e.do("POST", "/v1/events", api.RoleCollectorSystem, body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, out)
	}
	var rep data.IngestReport
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Added != (data.Counts{Accounts: 1, Invoices: 1, Payments: 1, Contacts: 1, Disputes: 1}) {
		t.Errorf("added %+v", rep.Added)
	}
	h, err := e.be.store.History(context.Background(), acc.ID)
	if err != nil || len(h.Payments) != 1 || h.Contacts[0].PromisedDate != data.NewDate(2026, 2, 20) {
		t.Fatalf("stored history %+v, %v", h, err)
	}
	// Replaying is idempotent.
	_, out = e.do("POST", "/v1/events", api.RoleCollectorSystem, body)
	if err := json.Unmarshal(out, &rep); err != nil || rep.Unchanged.Total() != 5 || rep.Added.Total() != 0 {
		t.Errorf("replay: %s", out)
	}

	tests := []struct {
		name   string
		body   string
		status int
		slug   string
		paths  []string
	}{
		{"validation issues", `{"invoices":[{"id":"n1","account_id":"ev-acc","issue_date":"2026-02-01","due_date":"2026-03-01","amount":100,"currency":"EUR"},` +
			`{"id":"n2","account_id":"ev-acc","issue_date":"2026-02-01","due_date":"2026-01-01","amount":100,"currency":"EUR"}],` +
			`"payments":[{"id":"n3","account_id":"nobody","date":"2026-02-01","amount":5,"currency":"EUR"}]}`,
			422, "validation", []string{"/invoices/1/due_date", "/payments/0/account_id"}},
		{"overpayment", `{"payments":[{"id":"n4","account_id":"ev-acc","invoice_id":"ev-inv","date":"2026-02-02","amount":999999,"currency":"EUR"}]}`,
			422, "validation", []string{"/payments/0/amount"}},
		{"empty batch", `{}`, 422, "validation", []string{""}},
		{"wrong type", `{"payments":[{"id":"n5","amount":"5"}]}`, 400, "malformed-request", []string{"/payments/0/amount"}},
		{"bad date", `{"disputes":[{"id":"d","opened_on":"13/02/2026"}]}`, 400, "malformed-request", []string{"/disputes/0/opened_on"}},
		{"bad time", `{"contacts":[{"id":"c","sent_at":"2026-02-12 09:00"}]}`, 400, "malformed-request", []string{"/contacts/0/sent_at"}},
		{"unknown outcome", `{"contacts":[{"id":"c","outcome":"maybe"}]}`, 400, "malformed-request", []string{"/contacts/0/outcome"}},
		{"unknown method", `{"payments":[{"id":"p","method":"bitcoin"}]}`, 400, "malformed-request", []string{"/payments/0/method"}},
		{"bad consent", `{"accounts":[{"id":"a","consent":"email|fax"}]}`, 400, "malformed-request", []string{"/accounts/0/consent"}},
		{"unknown kind", `{"promises":[]}`, 400, "malformed-request", []string{"/promises"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, out := e.do("POST", "/v1/events", api.RoleCollectorSystem, []byte(tc.body))
			p := e.problem(resp, out, tc.status, tc.slug)
			for _, path := range tc.paths {
				if !hasError(p, path, "") {
					t.Errorf("no error at %q: %s", path, out)
				}
			}
		})
	}
	if c, _ := e.be.store.Count(context.Background()); c.Invoices != 1 {
		t.Errorf("a rejected batch was partly stored: %+v", c)
	}
}

// TestEventsStoreDown: writes are refused with 503 + Retry-After, nothing
// is stored and the cause (a host address) is logged, not sent.
func TestEventsStoreDown(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.be.down.Store(true)
	resp, out := e.do("POST", "/v1/events", api.RoleCollectorSystem, mustJSON(t, map[string]any{"accounts": []data.Account{newAccount("x")}}))
	p := e.problem(resp, out, http.StatusServiceUnavailable, "unavailable")
	if resp.Header.Get("Retry-After") != "5" {
		t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
	}
	if strings.Contains(string(out), "10.9.8.7") || p.Detail == "" {
		t.Errorf("problem leaks the cause or says nothing: %s", out)
	}
	if !strings.Contains(e.logs.String(), "10.9.8.7") {
		t.Errorf("the cause was not logged")
	}
	if c, _ := e.be.store.Count(context.Background()); c.Total() != 0 {
		t.Errorf("stored %+v while down", c)
	}
}

func TestModels(t *testing.T) {
	e := newEnv(t, envOptions{})
	resp, out := e.do("GET", "/v1/models", api.RoleAnalyst, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(out), `"active":"m2"`) || strings.Contains(string(out), "brier") {
		t.Fatalf("models: %d %s (NaN metrics must be dropped)", resp.StatusCode, out)
	}
	resp, out = e.do("POST", "/v1/models/m1/activate", api.RoleAdmin, nil)
	if resp.StatusCode != 200 || string(out) != `{"active":"m1","previous":"m2"}` {
		t.Fatalf("activate: %d %s", resp.StatusCode, out)
	}
	_, out = e.do("POST", "/v1/score", api.RoleAnalyst, mustJSON(t, api.ScoreRequest{Items: []api.ScoreItem{{Invoice: ptr(newInvoice("i", "a", 5)), Account: ptr(newAccount("a"))}}}))
	if !strings.Contains(string(out), `"model_version":"m1"`) {
		t.Errorf("score after activation: %s", out)
	}
	resp, out = e.do("POST", "/v1/models/m9/activate", api.RoleAdmin, nil)
	e.problem(resp, out, 404, "not-found")
	resp, out = e.do("POST", "/v1/models/m1/activate?now=1", api.RoleAdmin, nil)
	e.problem(resp, out, 400, "malformed-request")
	if !strings.Contains(e.logs.String(), `"msg":"model activated","version":"m1","previous":"m2"`) {
		t.Errorf("activation not logged")
	}
}

func ptr[T any](v T) *T { return &v }

func TestHealth(t *testing.T) {
	e := newEnv(t, envOptions{})
	resp, out := e.do("GET", "/healthz", "", nil)
	if resp.StatusCode != 200 || string(out) != `{"status":"ok"}` {
		t.Errorf("healthz %d %s", resp.StatusCode, out)
	}
	tests := []struct {
		ready  api.Readiness
		status int
		want   string
	}{
		{api.Readiness{Status: api.StatusReady}, 200, `{"status":"ready","model_version":"m2"}`},
		{api.Readiness{Status: api.StatusDegraded, Reason: "store unreachable; serving from memory"}, 503,
			`{"status":"degraded","reason":"store unreachable; serving from memory","model_version":"m2"}`},
		{api.Readiness{Status: api.StatusNotReady, Reason: "loading feature state"}, 503,
			`{"status":"not_ready","reason":"loading feature state","model_version":"m2"}`},
		{api.Readiness{Status: "confused"}, 503, `{"status":"not_ready","reason":"the backend reported an unknown status","model_version":"m2"}`},
	}
	for _, tc := range tests {
		e.be.setReady(tc.ready)
		resp, out := e.do("GET", "/readyz", "", nil)
		if resp.StatusCode != tc.status || string(out) != tc.want {
			t.Errorf("%v: %d %s, want %d %s", tc.ready, resp.StatusCode, out, tc.status, tc.want)
		}
	}
}

func TestMetrics(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.seed(4)
	e.do("POST", "/v1/score", api.RoleCollectorSystem, mustJSON(t, api.ScoreRequest{Items: []api.ScoreItem{
		{Invoice: ptr(newInvoice("i1", "a", 5)), Account: ptr(newAccount("a"))},
		{Invoice: ptr(newInvoice("i2", "a", 5)), Account: ptr(newAccount("a"))}}}))
	e.do("GET", "/v1/accounts/nobody", api.RoleCollectorSystem, nil)
	resp, out := e.do("GET", "/metrics", "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("metrics %d", resp.StatusCode)
	}
	for _, want := range []string{
		`duesight_http_request_duration_seconds_count{method="POST",route="/v1/score",status="200"} 1`,
		`duesight_http_request_duration_seconds_count{method="GET",route="/v1/accounts/:id",status="404"} 1`,
		`duesight_scores_served_total{model_version="m2"} 2`,
		`duesight_model_active_info{version="m2"} 1`,
		`duesight_feature_state_entries 4`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(string(out), "nobody") {
		t.Errorf("metrics contain a raw path id")
	}
	if strings.Contains(string(out), "go_goroutines") {
		t.Errorf("metrics come from the default registry")
	}

	p := newEnv(t, envOptions{protectMetrics: true})
	resp, out = p.do("GET", "/metrics", "", nil)
	p.problem(resp, out, 401, "unauthorized")
	resp, out = p.do("GET", "/metrics", api.RoleAnalyst, nil)
	p.problem(resp, out, 403, "forbidden")
	if resp, _ := p.do("GET", "/metrics", api.RoleAdmin, nil); resp.StatusCode != 200 {
		t.Errorf("admin metrics %d", resp.StatusCode)
	}
}

func TestOpenAPIServed(t *testing.T) {
	e := newEnv(t, envOptions{})
	resp, out := e.do("GET", "/v1/openapi.json", "", nil)
	if resp.StatusCode != 200 || string(out) != string(api.OpenAPI()) {
		t.Errorf("openapi: %d, %d bytes", resp.StatusCode, len(out))
	}
}

func TestUnknownRouteAndMethod(t *testing.T) {
	e := newEnv(t, envOptions{})
	resp, out := e.do("GET", "/v1/nothing", api.RoleAdmin, nil)
	e.problem(resp, out, 404, "not-found")
	resp, out = e.do("GET", "/v1/score/", api.RoleAdmin, nil) // no trailing-slash redirect
	e.problem(resp, out, 404, "not-found")
	resp, out = e.do("DELETE", "/v1/score", api.RoleAdmin, nil)
	e.problem(resp, out, 405, "method-not-allowed")
	if resp.Header.Get("Allow") != "POST" {
		t.Errorf("Allow %q", resp.Header.Get("Allow"))
	}
	resp, out = e.do("GET", "/v1/models/m1/activate", api.RoleAdmin, nil)
	e.problem(resp, out, 405, "method-not-allowed")
}

// errBackend wraps the fake with failing or misbehaving answers.
type errBackend struct {
	*fakeBackend
	score func() (*api.ScoreResponse, error)
}

func (b errBackend) Score(ctx context.Context, req *api.ScoreRequest) (*api.ScoreResponse, error) {
	return b.score()
}

// TestServerFaults: backend bugs and panics are 500 problems that say
// nothing internal; the detail is logged once.
func TestServerFaults(t *testing.T) {
	good := func() *api.ScoreResponse {
		return &api.ScoreResponse{ModelVersion: "m", AsOf: time.Now(), Scores: []api.InvoiceScore{fakeScore(newInvoice("i", "a", 5), "m")}}
	}
	tests := []struct {
		name   string
		score  func() (*api.ScoreResponse, error)
		status int
		logged string
	}{
		{"plain error", func() (*api.ScoreResponse, error) { return nil, errors.New("model file /var/lib/secret.bin corrupt") }, 500, "secret.bin"},
		{"internal code", func() (*api.ScoreResponse, error) {
			return nil, data.Errorf(data.Internal, "feature vector mismatch: %w", io.ErrUnexpectedEOF)
		}, 500, "mismatch"},
		{"NaN p_late", func() (*api.ScoreResponse, error) { r := good(); r.Scores[0].PLate = nan(); return r, nil }, 500, "p_late NaN"},
		{"wrong count", func() (*api.ScoreResponse, error) { r := good(); r.Scores = nil; return r, nil }, 500, "0 scores for 1"},
		{"no model version", func() (*api.ScoreResponse, error) { r := good(); r.ModelVersion = ""; return r, nil }, 500, "no model version"},
		{"bad tier", func() (*api.ScoreResponse, error) { r := good(); r.Scores[0].RiskTier = "meh"; return r, nil }, 500, "risk_tier"},
		{"panic", func() (*api.ScoreResponse, error) { panic("index out of range in scorer") }, 500, "index out of range"},
		{"timeout", func() (*api.ScoreResponse, error) { return nil, context.DeadlineExceeded }, 503, ""},
		{"conflict", func() (*api.ScoreResponse, error) { return nil, data.Errorf(data.Conflict, "model swap in progress") }, 409, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{noServer: true})
			srv, err := api.New(api.Options{Backend: errBackend{e.be, tc.score}, Keys: e.keys,
				Registry: e.reg2(), Logger: e.logger(), Clock: e.clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			e.serve(srv)
			resp, out := e.do("POST", "/v1/score", api.RoleCollectorSystem, []byte(`{"invoices":[{"invoice_id":"i"}]}`))
			p := e.problem(resp, out, tc.status, map[int]string{500: "internal", 503: "unavailable", 409: "conflict"}[tc.status])
			logs := e.logs.String()
			if tc.status == 500 {
				if tc.logged != "" && strings.Count(logs, tc.logged) != 1 {
					t.Errorf("detail %q logged %d times:\n%s", tc.logged, strings.Count(logs, tc.logged), logs)
				}
				if strings.Contains(string(out), tc.logged) || !strings.Contains(p.Detail, "request id") {
					t.Errorf("500 problem leaks or lacks guidance: %s", out)
				}
			}
		})
	}
}

func nan() float64 { var z float64; return z / z }

// TestModelSwapUnderLoad: activations during concurrent scoring fail no
// request, and each response names exactly one known model version.
func TestModelSwapUnderLoad(t *testing.T) {
	e := newEnv(t, envOptions{})
	body := mustJSON(t, api.ScoreRequest{Items: []api.ScoreItem{
		{Invoice: ptr(newInvoice("i1", "a", 5)), Account: ptr(newAccount("a"))},
		{Invoice: ptr(newInvoice("i2", "a", 7)), Account: ptr(newAccount("a"))}}})
	done := make(chan struct{})
	errs := make(chan string, 100)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 25 {
				resp, out := e.do("POST", "/v1/score", api.RoleCollectorSystem, body)
				var sb scoreBody
				if resp.StatusCode != 200 || json.Unmarshal(out, &sb) != nil || (sb.ModelVersion != "m1" && sb.ModelVersion != "m2") {
					errs <- fmt.Sprintf("%d %s", resp.StatusCode, out)
				}
			}
		}()
	}
	go func() {
		defer close(done)
		for i := range 20 {
			v := []string{"m1", "m2"}[i%2]
			if resp, out := e.do("POST", "/v1/models/"+v+"/activate", api.RoleAdmin, nil); resp.StatusCode != 200 {
				errs <- fmt.Sprintf("activate %d %s", resp.StatusCode, out)
			}
		}
	}()
	wg.Wait()
	<-done
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
}
