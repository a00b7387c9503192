package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/duesight/duesight/api"
	"github.com/duesight/duesight/data"
)

// TestAccessLogHasNoPersonalData drives every kind of request with an
// account name, amounts and keys, then checks the log: one line per request
// with method, route template, status, latency, key id and request id, and
// none of the name, the amounts, the raw path ids or the keys.
func TestAccessLogHasNoPersonalData(t *testing.T) {
	e := newEnv(t, envOptions{})
	acc := newAccount("cust-4711")
	acc.Name = "Zbigniew Brzęczyszczykiewicz"
	inv := newInvoice("inv-4711", acc.ID, 7654321)
	resp, out := e.do("POST", "/v1/events", api.RoleCollectorSystem, mustJSON(t, map[string]any{
		"accounts": []data.Account{acc}, "invoices": []data.Invoice{inv}}))
	if resp.StatusCode != 200 {
		t.Fatalf("events %d %s", resp.StatusCode, out)
	}
	e.do("POST", "/v1/score", api.RoleCollectorSystem, mustJSON(t, api.ScoreRequest{Items: []api.ScoreItem{{Invoice: &inv, Account: &acc}}}))
	e.do("POST", "/v1/score", api.RoleCollectorSystem, []byte(`{"invoices":[{"invoice":{"id":"x","account_id":"cust-4711","amount":"76543.21"}}]}`))
	e.do("GET", "/v1/accounts/cust-4711", api.RoleManager, nil)
	e.do("GET", "/v1/accounts/cust-4711", "", nil)
	e.do("POST", "/v1/events", api.RoleCollectorSystem, []byte(`{"payments":[{"id":"p","account_id":"cust-4711","invoice_id":"inv-4711","date":"2026-02-01","amount":9999999,"currency":"EUR"}]}`))
	e.do("GET", "/v1/worklist", api.RoleCollectorSystem, nil, "Authorization", "Bearer "+e.key[api.RoleAdmin][:30])

	logs := e.logs.String()
	for _, secret := range []string{"Brzęczyszczykiewicz", "Zbigniew", "7654321", "76543.21", "76,543.21", "99999.99", "9999999", "cust-4711", "inv-4711"} {
		if strings.Contains(logs, secret) {
			t.Errorf("log contains %q", secret)
		}
	}
	for role, key := range e.key {
		if strings.Contains(logs, key[len(key)-52:]) || strings.Contains(logs, key[:30]) {
			t.Errorf("log contains the %s key", role)
		}
	}
	lines := strings.Split(strings.TrimSpace(logs), "\n")
	var access int
	for _, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("log line is not JSON: %s", l)
		}
		if rec["msg"] != "http request" {
			continue
		}
		access++
		for _, k := range []string{"method", "route", "status", "latency", "request_id"} {
			if _, ok := rec[k]; !ok {
				t.Errorf("access line lacks %s: %s", k, l)
			}
		}
		if st, _ := rec["status"].(float64); st != http.StatusUnauthorized && rec["key_id"] == nil {
			t.Errorf("authenticated request logged without key_id: %s", l)
		}
	}
	if access != 7 {
		t.Errorf("%d access lines for 7 requests:\n%s", access, logs)
	}
	if !strings.Contains(logs, `"route":"/v1/accounts/:id"`) {
		t.Errorf("route template not logged:\n%s", logs)
	}
}
