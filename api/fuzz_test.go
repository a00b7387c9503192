package api_test

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/duesight/duesight/api"
)

// fuzzServe sends one request straight to the handler and checks the
// invariants every answer must keep: no 5xx, a JSON or problem+json body
// that parses, and a problem whose status matches the HTTP status.
func fuzzServe(t *testing.T, e *env, method, target string, body []byte) {
	req, err := http.NewRequest(method, "http://duesight.test"+target, bytes.NewReader(body))
	if err != nil {
		return // not a request a client could send
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+e.key[api.RoleAdmin])
	rec := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(rec, req)
	if rec.Code >= 500 {
		t.Fatalf("%s %s → %d for body %q:\n%s", method, target, rec.Code, body, rec.Body.Bytes())
	}
	mt, _, _ := mime.ParseMediaType(rec.Header().Get("Content-Type"))
	if mt != "application/json" && mt != api.ProblemContentType {
		t.Fatalf("%s %s → %d with Content-Type %q", method, target, rec.Code, mt)
	}
	if !json.Valid(rec.Body.Bytes()) {
		t.Fatalf("%s %s → %d with invalid JSON %q", method, target, rec.Code, rec.Body.Bytes())
	}
	if mt == api.ProblemContentType {
		var p api.Problem
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != rec.Code || len(p.Errors) > 1000 {
			t.Fatalf("bad problem for %q: %s", body, rec.Body.Bytes())
		}
	}
}

func fuzzEnv(f *testing.F) *env {
	e := newEnv(f, envOptions{noServer: true, maxScore: 50, rate: api.RateLimit{PerSecond: -1}})
	e.seed(5)
	return e
}

// FuzzScoreRequest: POST /v1/score bodies never panic or give a 5xx.
func FuzzScoreRequest(f *testing.F) {
	e := fuzzEnv(f)
	for _, s := range []string{
		`{"invoices":[{"invoice_id":"a0-i0"}]}`,
		`{"as_of":"2026-03-01T10:00:00+01:00","invoices":[{"invoice_id":"x"},{"invoice":{"id":"i","account_id":"a","issue_date":"2026-01-01","due_date":"2026-01-31","amount":100,"currency":"USD","delivered_by":"email"},"account":{"id":"a","name":"N","segment":"s","country":"DE","currency":"USD","time_zone":"UTC","terms_days":30,"credit_limit":0,"consent":"email|sms","created_at":"2025-01-01T00:00:00Z"}}]}`,
		`{"invoices":[{"invoice":{"id":"\u00e9\ud83d\ude00","account_id":"a","issue_date":"2026-01-01","due_date":"2026-01-31","amount":-1,"currency":"JPY"}}]}`,
		`{"invoices":[{"invoice_id":null,"invoice":null}]}`,
		`{"invoices":[1e400, -0.0, "x", true, null, [], {}]}`,
		`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`,
		`{"invoices":[{"invoice_id":"\ud800"}]}`,
		"{\"invoices\":[{\"invoice_id\":\"\xff\xfe\"}]}",
		`{"as_of":"0000-01-01T00:00:00Z","invoices":[{"invoice_id":"x"}]}`,
		`{"invoices":[{"invoice":{"amount":9223372036854775808}}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzServe(t, e, "POST", "/v1/score", body)
	})
}

// FuzzEvents: POST /v1/events bodies never panic or give a 5xx.
func FuzzEvents(f *testing.F) {
	e := fuzzEnv(f)
	for _, s := range []string{
		`{"accounts":[{"id":"fa","currency":"EUR","time_zone":"Europe/Berlin","consent":"all"}],"invoices":[{"id":"fi","account_id":"fa","issue_date":"2026-01-01","due_date":"2026-01-31","amount":100,"currency":"EUR"}]}`,
		`{"payments":[{"id":"p","account_id":"a0","invoice_id":"a0-i0","date":"2026-02-01","amount":1,"currency":"USD","method":"wire"}]}`,
		`{"contacts":[{"id":"c","account_id":"a0","channel":"phone","sent_at":"2026-02-01T10:00:00Z","outcome":"ptp","promised_date":"2026-02-10","promised_amount":500}]}`,
		`{"disputes":[{"id":"d","account_id":"a0","invoice_id":"a0-i0","opened_on":"2026-02-01","resolved_on":"","reason":"r"}]}`,
		`{"accounts":[{"id":"","terms_days":99999999999,"created_at":"not a time"}]}`,
		`{"invoices":[{"id":"x","id":"y"}],"invoices":[]}`,
		`{}`, `null`, ``, `{"accounts":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzServe(t, e, "POST", "/v1/events", body)
	})
}

// FuzzWorklistQuery: GET /v1/worklist query strings never panic or give
// a 5xx.
func FuzzWorklistQuery(f *testing.F) {
	e := fuzzEnv(f)
	for _, s := range []string{
		"limit=2", "limit=0", "limit=-1&segment=smb", "as_of=2026-03-01T00:00:00Z&segment=%00",
		"cursor=AQIGc25hcC0xAAAAAAAA", "cursor=%ZZ", "a=1;b=2", "limit=2&limit=3", "segment=" + strings.Repeat("x", 2000),
	} {
		f.Add(s)
	}
	// A real cursor as a seed.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/v1/worklist?limit=1", nil)
	req.Header.Set("Authorization", "Bearer "+e.key[api.RoleAdmin])
	e.srv.Handler().ServeHTTP(rec, req)
	var w struct {
		NextCursor string `json:"next_cursor"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &w); err != nil || rec.Code != http.StatusOK {
		f.Fatalf("seed page: %d %s", rec.Code, rec.Body.Bytes())
	}
	if w.NextCursor != "" {
		f.Add("limit=1&cursor=" + w.NextCursor)
	}
	f.Fuzz(func(t *testing.T, query string) {
		if strings.ContainsAny(query, "# \x00\r\n") {
			return // not part of a query string on the wire
		}
		fuzzServe(t, e, "GET", "/v1/worklist?"+query, nil)
	})
}
