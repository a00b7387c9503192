package api_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/duesight/duesight/api"
	"github.com/duesight/duesight/data"
)

// scoreBody is the decoded body of a score response.
type scoreBody struct {
	ModelVersion string    `json:"model_version"`
	AsOf         time.Time `json:"as_of"`
	Scores       []struct {
		InvoiceID        string  `json:"invoice_id"`
		AccountID        string  `json:"account_id"`
		PLate            float64 `json:"p_late"`
		ExpectedDaysLate float64 `json:"expected_days_late"`
		RiskTier         string  `json:"risk_tier"`
		Quantiles        struct {
			P10, P50, P90 string
		} `json:"payment_date_quantiles"`
		Reasons []struct {
			Feature      string   `json:"feature"`
			Value        *float64 `json:"value"`
			Contribution float64  `json:"contribution"`
		} `json:"reasons"`
	} `json:"scores"`
}

func newAccount(id string) data.Account {
	return data.Account{ID: id, Name: "Erika Mustermann", Segment: "smb", Country: "DE", Currency: "EUR",
		TimeZone: "Europe/Berlin", TermsDays: 30, Consent: data.AllChannels}
}

func newInvoice(id, account string, amount int64) data.Invoice {
	return data.Invoice{ID: id, AccountID: account, IssueDate: data.NewDate(2026, 1, 10),
		DueDate: data.NewDate(2026, 2, 9), Amount: amount, Currency: "EUR", DeliveredBy: data.Email}
}

func TestScore(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.seed(10)
	acc := newAccount("new-acc")
	inline := newInvoice("inline-1", acc.ID, 1234567)
	asOf := time.Date(2026, 2, 20, 12, 0, 0, 0, time.UTC)

	tests := []struct {
		name  string
		req   api.ScoreRequest
		want  []data.Invoice
		asOf  time.Time
		model string
	}{
		{"by id", api.ScoreRequest{AsOf: asOf, Items: []api.ScoreItem{{InvoiceID: b.Invoices[0].ID}, {InvoiceID: b.Invoices[1].ID}}},
			[]data.Invoice{b.Invoices[0], b.Invoices[1]}, asOf, "m2"},
		{"inline with new account, default as_of", api.ScoreRequest{Items: []api.ScoreItem{{Invoice: &inline, Account: &acc}}},
			[]data.Invoice{inline}, e.clock.Now(), "m2"},
		{"mixed keeps order", api.ScoreRequest{AsOf: asOf, Items: []api.ScoreItem{{InvoiceID: b.Invoices[2].ID},
			{Invoice: &inline, Account: &acc}, {InvoiceID: b.Invoices[0].ID}}},
			[]data.Invoice{b.Invoices[2], inline, b.Invoices[0]}, asOf, "m2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := mustJSON(t, tc.req)
			e.doc.checkRequest(t, "POST", "/v1/score", body)
			resp, out := e.do("POST", "/v1/score", api.RoleCollectorSystem, body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, out)
			}
			var got scoreBody
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			if got.ModelVersion != tc.model || !got.AsOf.Equal(tc.asOf) {
				t.Errorf("model %q as_of %v, want %q %v", got.ModelVersion, got.AsOf, tc.model, tc.asOf)
			}
			if len(got.Scores) != len(tc.want) {
				t.Fatalf("%d scores, want %d", len(got.Scores), len(tc.want))
			}
			for i, inv := range tc.want {
				want := fakeScore(inv, tc.model)
				g := got.Scores[i]
				if g.InvoiceID != inv.ID || g.AccountID != inv.AccountID || g.PLate != want.PLate ||
					g.RiskTier != string(want.RiskTier) || g.Quantiles.P50 != want.PaymentDate.P50.String() {
					t.Errorf("score %d = %+v, want %+v", i, g, want)
				}
				for j, r := range want.Reasons {
					gr := g.Reasons[j]
					if math.IsNaN(r.Value) != (gr.Value == nil) || (gr.Value != nil && *gr.Value != r.Value) {
						t.Errorf("score %d reason %d value %v, want %v (NaN → null)", i, j, gr.Value, r.Value)
					}
				}
			}
		})
	}
}

// TestScoreMissingValueIsNull pins the NaN → null encoding with an invoice
// whose fake score has a missing feature value.
func TestScoreMissingValueIsNull(t *testing.T) {
	e := newEnv(t, envOptions{})
	acc := newAccount("acc")
	var inv data.Invoice
	for i := 0; ; i++ {
		inv = newInvoice(fmt.Sprintf("inv-%d", i), acc.ID, 500)
		if math.IsNaN(fakeScore(inv, "m2").Reasons[0].Value) {
			break
		}
	}
	_, out := e.do("POST", "/v1/score", api.RoleAnalyst, mustJSON(t, api.ScoreRequest{Items: []api.ScoreItem{{Invoice: &inv, Account: &acc}}}))
	if !strings.Contains(string(out), `"value":null`) {
		t.Errorf("missing feature value not sent as null: %s", out)
	}
}

func TestScoreBadRequests(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.seed(5)
	known := b.Invoices[0].ID
	inline := func(mod string) string {
		return `{"invoices":[{"invoice":{"id":"x","account_id":"a","issue_date":"2026-01-01","due_date":"2026-01-31","amount":100,"currency":"USD"` + mod + `}}]}`
	}
	tests := []struct {
		name   string
		body   string
		status int
		slug   string
		path   string
		reason string
	}{
		{"malformed JSON", `{"invoices": [`, 400, "malformed-request", "/invoices/0", "unexpected end of input"},
		{"missing comma", `{"invoices": [{"invoice_id":"a"} {"invoice_id":"b"}]}`, 400, "malformed-request", "/invoices", "expected ',' or ']'"},
		{"bad literal", `{"invoices": [{"invoice_id":nul}]}`, 400, "malformed-request", "/invoices/0/invoice_id", "invalid literal"},
		{"control char in string", "{\"invoices\": [{\"invoice_id\":\"a\tb\"}]}", 400, "malformed-request", "/invoices/0/invoice_id", "control character"},
		{"not an object", `[1]`, 400, "malformed-request", "", "must be an object, not an array"},
		{"empty body", ``, 400, "malformed-request", "", "empty"},
		{"trailing data", `{"invoices":[{"invoice_id":"x"}]} {}`, 400, "malformed-request", "", "after the JSON value"},
		{"id is a number", `{"invoices":[{"invoice_id": 5}]}`, 400, "malformed-request", "/invoices/0/invoice_id", "must be a string, not a number"},
		{"invoices is an object", `{"invoices":{}}`, 400, "malformed-request", "/invoices", "must be an array"},
		{"amount is a string", strings.Replace(inline(""), `"amount":100`, `"amount":"1.00"`, 1), 400, "malformed-request", "/invoices/0/invoice/amount", "must be an integer"},
		{"fractional amount", strings.Replace(inline(""), `"amount":100`, `"amount":1.5`, 1), 400, "malformed-request", "/invoices/0/invoice/amount", "must be an integer"},
		{"huge amount", strings.Replace(inline(""), `"amount":100`, `"amount":99999999999999999999`, 1), 400, "malformed-request", "/invoices/0/invoice/amount", "out of range"},
		{"unknown field", `{"invoices":[{"invoice_id":"x","priority":1}]}`, 400, "malformed-request", "/invoices/0/priority", "not a known field"},
		{"unknown nested field", inline(`,"notes":"hi"`), 400, "malformed-request", "/invoices/0/invoice/notes", "not a known field"},
		{"duplicate field", `{"invoices":[{"invoice_id":"x","invoice_id":"y"}]}`, 400, "malformed-request", "/invoices/0/invoice_id", "more than once"},
		{"invalid date", strings.Replace(inline(""), "2026-01-31", "2026-02-30", 1), 400, "malformed-request", "/invoices/0/invoice/due_date", "not a calendar date"},
		{"date as number", strings.Replace(inline(""), `"2026-01-31"`, `20260131`, 1), 400, "malformed-request", "/invoices/0/invoice/due_date", "must be a string"},
		{"unknown channel", inline(`,"delivered_by":"pigeon"`), 400, "malformed-request", "/invoices/0/invoice/delivered_by", "unknown channel"},
		{"invalid as_of", `{"as_of":"yesterday","invoices":[{"invoice_id":"x"}]}`, 400, "malformed-request", "/as_of", "RFC 3339"},
		{"invalid UTF-8", "{\"invoices\":[{\"invoice_id\":\"\xff\"}]}", 400, "malformed-request", "/invoices/0/invoice_id", "UTF-8"},
		{"lone surrogate", `{"invoices":[{"invoice_id":"\ud800"}]}`, 400, "malformed-request", "/invoices/0/invoice_id", "surrogate"},
		{"deep nesting", `{"invoices":[{"invoice_id":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}]}`, 400, "malformed-request", "/invoices/0/invoice_id", "nesting"},
		{"unknown invoice id", `{"invoices":[{"invoice_id":` + mustString(known) + `},{"invoice_id":"nope"}]}`, 422, "validation", "/invoices/1/invoice_id", `unknown invoice "nope"`},
		{"id and inline", `{"invoices":[{"invoice_id":"x","invoice":{"id":"x","account_id":"a","issue_date":"2026-01-01","due_date":"2026-01-31","amount":100,"currency":"USD"}}]}`, 422, "validation", "/invoices/0", "not both"},
		{"neither id nor inline", `{"invoices":[{}]}`, 422, "validation", "/invoices/0", "needs invoice_id"},
		{"account without invoice", `{"invoices":[{"invoice_id":"x","account":{"id":"a","currency":"EUR","time_zone":"UTC"}}]}`, 422, "validation", "/invoices/0/account", "only with an inline invoice"},
		{"no invoices", `{"invoices":[]}`, 422, "validation", "/invoices", "at least one"},
		{"due before issue", strings.Replace(inline(""), "2026-01-31", "2025-12-01", 1), 422, "validation", "/invoices/0/invoice/due_date", "before issue_date"},
		{"zero amount", strings.Replace(inline(""), `"amount":100`, `"amount":0`, 1), 422, "validation", "/invoices/0/invoice/amount", "is zero"},
		{"bad currency", strings.Replace(inline(""), `"USD"`, `"XXX"`, 1), 422, "validation", "/invoices/0/invoice/currency", "ISO 4217"},
		{"account id mismatch", `{"invoices":[{"invoice":{"id":"x","account_id":"a","issue_date":"2026-01-01","due_date":"2026-01-31","amount":100,"currency":"USD"},"account":{"id":"b","currency":"USD","time_zone":"UTC"}}]}`, 422, "validation", "/invoices/0/account/id", "must equal"},
		{"bad time zone", `{"invoices":[{"invoice":{"id":"x","account_id":"a","issue_date":"2026-01-01","due_date":"2026-01-31","amount":100,"currency":"USD"},"account":{"id":"a","currency":"USD","time_zone":"Mars/Olympus"}}]}`, 422, "validation", "/invoices/0/account/time_zone", "IANA"},
		{"as_of out of range", `{"as_of":"2300-01-01T00:00:00Z","invoices":[{"invoice_id":"x"}]}`, 422, "validation", "/as_of", "outside"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, out := e.do("POST", "/v1/score", api.RoleCollectorSystem, []byte(tc.body))
			p := e.problem(resp, out, tc.status, tc.slug)
			if !hasError(p, tc.path, tc.reason) {
				t.Errorf("no error at %q containing %q: %s", tc.path, tc.reason, out)
			}
		})
	}
}

func mustString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestScoreManyErrorsListed checks that one response lists every problem
// of the body (up to the cap), not just the first.
func TestScoreManyErrorsListed(t *testing.T) {
	e := newEnv(t, envOptions{})
	resp, out := e.do("POST", "/v1/score", api.RoleCollectorSystem,
		[]byte(`{"invoices":[{"invoice_id":1},{"invoice_id":true},{"x":1}]}`))
	p := e.problem(resp, out, 400, "malformed-request")
	for _, path := range []string{"/invoices/0/invoice_id", "/invoices/1/invoice_id", "/invoices/2/x"} {
		if !hasError(p, path, "") {
			t.Errorf("no error at %s: %s", path, out)
		}
	}
}

// TestScoreBatchLimit: 10,000 inline invoices (with accounts) fit the
// default body limit and are scored; 10,001 are a 422 at /invoices.
func TestScoreBatchLimit(t *testing.T) {
	e := newEnv(t, envOptions{})
	build := func(n int) []byte {
		req := api.ScoreRequest{Items: make([]api.ScoreItem, n)}
		for i := range req.Items {
			acc := newAccount(fmt.Sprintf("acc-%05d", i))
			inv := newInvoice(fmt.Sprintf("inv-%05d", i), acc.ID, int64(1000+i))
			req.Items[i] = api.ScoreItem{Invoice: &inv, Account: &acc}
		}
		return mustJSON(t, req)
	}
	body := build(api.DefaultMaxScoreBatch)
	if len(body) >= api.DefaultBodyLimit {
		t.Fatalf("10,000 inline invoices take %d bytes, over the default limit %d", len(body), api.DefaultBodyLimit)
	}
	t.Logf("10,000 inline invoices with accounts: %d bytes", len(body))
	resp, out := e.do("POST", "/v1/score", api.RoleCollectorSystem, body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("10,000 invoices: status %d: %.500s", resp.StatusCode, out)
	}
	var got scoreBody
	if err := json.Unmarshal(out, &got); err != nil || len(got.Scores) != api.DefaultMaxScoreBatch {
		t.Fatalf("10,000 invoices: %d scores, err %v", len(got.Scores), err)
	}

	resp, out = e.do("POST", "/v1/score", api.RoleCollectorSystem, build(api.DefaultMaxScoreBatch+1))
	p := e.problem(resp, out, http.StatusUnprocessableEntity, "validation")
	if !hasError(p, "/invoices", "more than 10000") {
		t.Errorf("10,001 invoices: %s", out)
	}
}

func TestBodyLimit(t *testing.T) {
	e := newEnv(t, envOptions{bodyLimit: 1024})
	big := []byte(`{"invoices":[` + strings.Repeat(`{"invoice_id":"x"},`, 100) + `{"invoice_id":"x"}]}`)
	t.Run("content-length", func(t *testing.T) {
		resp, out := e.do("POST", "/v1/score", api.RoleCollectorSystem, big)
		e.problem(resp, out, http.StatusRequestEntityTooLarge, "body-too-large")
	})
	t.Run("chunked", func(t *testing.T) {
		req, _ := http.NewRequest("POST", e.ts.URL+"/v1/score", struct{ *strings.Reader }{strings.NewReader(string(big))})
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+e.key[api.RoleCollectorSystem])
		if req.ContentLength != 0 {
			t.Fatalf("request has a Content-Length (%d); want chunked", req.ContentLength)
		}
		resp, err := e.ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var p api.Problem
		if err := json.NewDecoder(resp.Body).Decode(&p); err != nil || resp.StatusCode != 413 || p.Status != 413 {
			t.Fatalf("status %d problem %+v err %v", resp.StatusCode, p, err)
		}
	})
	t.Run("events too", func(t *testing.T) {
		resp, out := e.do("POST", "/v1/events", api.RoleCollectorSystem, []byte(`{"accounts":[`+strings.Repeat(`{"id":"a"},`, 200)+`{}]}`))
		e.problem(resp, out, http.StatusRequestEntityTooLarge, "body-too-large")
	})
}

func TestScoreRejectsQueryParameters(t *testing.T) {
	e := newEnv(t, envOptions{})
	resp, out := e.do("POST", "/v1/score?as_of=2026-01-01T00:00:00Z", api.RoleCollectorSystem, []byte(`{"invoices":[{"invoice_id":"x"}]}`))
	p := e.problem(resp, out, http.StatusBadRequest, "malformed-request")
	if len(p.Errors) != 1 || p.Errors[0].In != "query" || p.Errors[0].Path != "as_of" {
		t.Errorf("errors %+v", p.Errors)
	}
}

func TestMediaType(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1", "nonsense/"} {
		resp, out := e.do("POST", "/v1/score", api.RoleCollectorSystem, []byte(`{"invoices":[{"invoice_id":"x"}]}`), "Content-Type", ct)
		p := e.problem(resp, out, http.StatusUnsupportedMediaType, "unsupported-media-type")
		if len(p.Errors) != 1 || p.Errors[0].In != "header" || p.Errors[0].Path != "Content-Type" {
			t.Errorf("%s: %s", ct, out)
		}
	}
	resp, _ := e.do("POST", "/v1/score", api.RoleCollectorSystem, []byte(`{"invoices":[{"invoice_id":"x"}]}`), "Content-Type", "application/json; charset=UTF-8")
	if resp.StatusCode == http.StatusUnsupportedMediaType {
		t.Errorf("charset=UTF-8 refused")
	}
}
