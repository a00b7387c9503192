package scoring_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/duesight/duesight/api"
	"github.com/duesight/duesight/data"
)

type problem struct {
	Status int    `json:"status"`
	Type   string `json:"type"`
	Errors []struct {
		Pointer string `json:"path"`
		Reason  string `json:"reason"`
	} `json:"errors"`
}

// TestEndpoints exercises every route of the API against the real service
// on a real listener: success cases, auth (401/403) and bad input (4xx
// problem+json, never 500).
func TestEndpoints(t *testing.T) {
	e := newEnv(t, envOptions{})
	invs := openInvoices(t, e.store, 3)

	// Probes and metrics.
	e.must(200, "GET", "/healthz", "", nil, nil)
	var ready struct {
		Status string `json:"status"`
		Model  string `json:"model_version"`
	}
	e.must(200, "GET", "/readyz", "", nil, &ready)
	if ready.Status != "ready" || ready.Model != fixtureVers.m1 {
		t.Errorf("readyz %+v", ready)
	}
	metrics := string(e.must(200, "GET", "/metrics", "", nil, nil))
	for _, want := range []string{
		fmt.Sprintf("duesight_feature_state_entries %d", fixtureAccounts),
		`duesight_model_active_info{version="` + fixtureVers.m1 + `"} 1`,
		"duesight_feature_state_bytes",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if st := e.svc.Stats(); st.FeatureStateBytes <= 0 || st.FeatureStateEntries != fixtureAccounts {
		t.Errorf("stats %+v", st)
	}

	// Score.
	var sr wireScoreResponse
	e.must(200, "POST", "/v1/score", api.RoleCollectorSystem,
		fmt.Sprintf(`{"invoices":[{"invoice_id":%q},{"invoice_id":%q}]}`, invs[0].ID, invs[1].ID), &sr)
	if len(sr.Scores) != 2 || sr.Scores[0].InvoiceID != invs[0].ID || len(sr.Scores[0].Reasons) != 3 {
		t.Fatalf("score response %+v", sr)
	}
	for _, sc := range sr.Scores {
		if sc.PaymentDate.P10 == "" || sc.PaymentDate.P10 > sc.PaymentDate.P50 || sc.PaymentDate.P50 > sc.PaymentDate.P90 {
			t.Errorf("quantiles out of order: %+v", sc.PaymentDate)
		}
	}
	metrics = string(e.must(200, "GET", "/metrics", "", nil, nil))
	if want := `duesight_scores_served_total{model_version="` + fixtureVers.m1 + `"} 2`; !strings.Contains(metrics, want) {
		t.Errorf("/metrics lacks %q", want)
	}
	if n := e.svc.ScoresServed(); n != 2 {
		t.Errorf("ScoresServed = %d, want 2", n)
	}
	var pr problem
	e.must(422, "POST", "/v1/score", api.RoleCollectorSystem,
		fmt.Sprintf(`{"invoices":[{"invoice_id":%q},{"invoice_id":"NO-SUCH-INVOICE"}]}`, invs[0].ID), &pr)
	if len(pr.Errors) != 1 || pr.Errors[0].Pointer != "/invoices/1/invoice_id" {
		t.Errorf("unknown invoice problem %+v", pr)
	}
	e.must(422, "POST", "/v1/score", api.RoleCollectorSystem,
		`{"invoices":[{"invoice":{"id":"x","account_id":"NOBODY","issue_date":"2025-06-01","due_date":"2025-07-01","amount":100,"currency":"USD"}}]}`, &pr)
	if len(pr.Errors) != 1 || pr.Errors[0].Pointer != "/invoices/0/invoice/account_id" {
		t.Errorf("unknown account problem %+v", pr)
	}
	var big strings.Builder
	big.WriteString(`{"invoices":[`)
	for i := range 10_001 {
		if i > 0 {
			big.WriteByte(',')
		}
		fmt.Fprintf(&big, `{"invoice_id":%q}`, invs[0].ID)
	}
	big.WriteString(`]}`)
	if status, body := e.do("POST", "/v1/score", api.RoleCollectorSystem, big.String()); status != 422 {
		t.Errorf("10,001 invoices: status %d, want 422: %.200s", status, body)
	}

	// Auth.
	if status, _ := e.do("POST", "/v1/score", "", `{"invoices":[]}`); status != 401 {
		t.Errorf("no key: %d, want 401", status)
	}
	e.keys["bogus"] = "dsk_aaaaaaaaaaaaaaaa_" + strings.Repeat("b", 52)
	if status, _ := e.do("GET", "/v1/worklist", "bogus", nil); status != 401 {
		t.Errorf("unknown key: %d, want 401", status)
	}
	if status, _ := e.do("POST", "/v1/score", api.RoleManager, `{"invoices":[{"invoice_id":"x"}]}`); status != 403 {
		t.Errorf("manager scoring: %d, want 403", status)
	}
	if status, _ := e.do("POST", "/v1/models/"+fixtureVers.m2+"/activate", api.RoleAnalyst, nil); status != 403 {
		t.Errorf("analyst activating: %d, want 403", status)
	}
	if status, _ := e.do("GET", "/v1/models", api.RoleCollectorSystem, nil); status != 403 {
		t.Errorf("collector listing models: %d, want 403", status)
	}

	// Account view.
	var av wireAccount
	e.must(200, "GET", "/v1/accounts/"+url.PathEscape(invs[0].AccountID), api.RoleManager, nil, &av)
	if av.AccountID != invs[0].AccountID || av.ModelVersion != fixtureVers.m1 || len(av.OpenInvoices) == 0 || len(av.Open) == 0 {
		t.Errorf("account view %+v", av)
	}
	e.must(404, "GET", "/v1/accounts/NO-SUCH-ACCOUNT", api.RoleManager, nil, nil)

	// Worklist.
	var wl wireWorklist
	e.must(200, "GET", "/v1/worklist?limit=5", api.RoleManager, nil, &wl)
	if wl.ModelVersion != fixtureVers.m1 || len(wl.Items) == 0 || wl.Items[0].Rank != 1 {
		t.Errorf("worklist %+v", wl)
	}
	e.must(200, "GET", "/v1/worklist?segment=no-such-segment", api.RoleManager, nil, &wl)
	if wl.Total != 0 || len(wl.Items) != 0 {
		t.Errorf("unknown segment: %+v", wl)
	}

	// Events.
	var rep data.IngestReport
	inv := fmt.Sprintf(`{"invoices":[{"id":"EV-1","account_id":%q,"issue_date":"2025-07-01","due_date":"2025-07-31","amount":10000,"currency":%q}]}`,
		invs[0].AccountID, invs[0].Currency)
	e.must(200, "POST", "/v1/events", api.RoleCollectorSystem, inv, &rep)
	if rep.Added.Invoices != 1 {
		t.Errorf("events report %+v", rep)
	}
	e.must(422, "POST", "/v1/events", api.RoleCollectorSystem,
		`{"payments":[{"id":"P-X","account_id":"NOBODY","date":"2025-07-01","amount":5,"currency":"USD"}]}`, &pr)
	if len(pr.Errors) == 0 || pr.Errors[0].Pointer != "/payments/0/account_id" {
		t.Errorf("bad event problem %+v", pr)
	}

	// Models.
	var ml struct {
		Active string          `json:"active"`
		Models []api.ModelInfo `json:"models"`
	}
	e.must(200, "GET", "/v1/models", api.RoleAnalyst, nil, &ml)
	var versions []string
	for _, m := range ml.Models {
		versions = append(versions, m.Version)
	}
	if ml.Active != fixtureVers.m1 || len(ml.Models) != 3 || !strings.Contains(strings.Join(versions, ","), fixtureVers.m2) ||
		!strings.Contains(strings.Join(versions, ","), fixtureVers.m3) || strings.Contains(strings.Join(versions, ","), fixtureVers.tm) {
		t.Errorf("models %+v (the timing model %s must not be listed)", ml, fixtureVers.tm)
	}
	var act api.ActivateResult
	e.must(200, "POST", "/v1/models/"+fixtureVers.m2+"/activate", api.RoleAdmin, nil, &act)
	if act.Active != fixtureVers.m2 || act.Previous != fixtureVers.m1 {
		t.Errorf("activate %+v", act)
	}
	if v, _ := e.reg.Active(e.ctx); v != fixtureVers.m2 {
		t.Errorf("registry active %s, want %s", v, fixtureVers.m2)
	}
	e.must(404, "POST", "/v1/models/logreg-0000000000000000/activate", api.RoleAdmin, nil, nil)
	e.must(404, "POST", "/v1/models/nonsense/activate", api.RoleAdmin, nil, nil)
	e.must(422, "POST", "/v1/models/"+fixtureVers.tm+"/activate", api.RoleAdmin, nil, nil)
}

// TestBadInputNever500: malformed or invalid requests get 4xx problems.
func TestBadInputNever500(t *testing.T) {
	e := newEnv(t, envOptions{})
	cases := []struct {
		name, method, path, body string
	}{
		{"not json", "POST", "/v1/score", `{"invoices":`},
		{"empty batch", "POST", "/v1/score", `{"invoices":[]}`},
		{"both id and invoice", "POST", "/v1/score", `{"invoices":[{"invoice_id":"a","invoice":{"id":"a"}}]}`},
		{"unknown field", "POST", "/v1/score", `{"invoices":[{"invoice_id":"a"}],"x":1}`},
		{"bad as_of", "POST", "/v1/score", `{"as_of":"yesterday","invoices":[{"invoice_id":"a"}]}`},
		{"invalid inline", "POST", "/v1/score", `{"invoices":[{"invoice":{"id":"a","account_id":"b","issue_date":"2025-01-01","due_date":"2024-01-01","amount":-5,"currency":"XXX"}}]}`},
		{"huge id", "POST", "/v1/score", `{"invoices":[{"invoice_id":"` + strings.Repeat("z", 200) + `"}]}`},
		{"far past as_of", "POST", "/v1/score", `{"as_of":"1971-01-01T00:00:00Z","invoices":[{"invoice_id":"a"}]}`},
		{"events empty", "POST", "/v1/events", `{}`},
		{"events invalid", "POST", "/v1/events", `{"invoices":[{"id":"","account_id":"","amount":0}]}`},
		{"events unknown invoice", "POST", "/v1/events", `{"payments":[{"id":"p","account_id":"A0000001","invoice_id":"nope","date":"2025-07-01","amount":1,"currency":"USD"}]}`},
		{"worklist limit", "GET", "/v1/worklist?limit=0", ""},
		{"worklist cursor", "GET", "/v1/worklist?cursor=garbage", ""},
		{"account as_of", "GET", "/v1/accounts/A0000001?as_of=soon", ""},
		{"account unknown", "GET", "/v1/accounts/%00", ""},
		{"query on score", "POST", "/v1/score?x=1", `{"invoices":[{"invoice_id":"a"}]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body any
			if c.body != "" {
				body = c.body
			}
			status, b := e.do(c.method, c.path, api.RoleAdmin, body)
			if status < 400 || status >= 500 {
				t.Fatalf("status %d, want 4xx: %s", status, b)
			}
			var p problem
			if err := json.Unmarshal(b, &p); err != nil || p.Status != status {
				t.Fatalf("not a problem document (%v): %s", err, b)
			}
		})
	}
}
