package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/duesight/duesight/api"
)

// endpoint is one authenticated operation with a request that its allowed
// roles can make successfully.
type endpoint struct {
	method, path string
	perm         api.Permission
	body         string
}

func endpoints(t *testing.T, e *env) []endpoint {
	b := e.seed(3)
	inv := b.Invoices[0]
	return []endpoint{
		{"POST", "/v1/score", api.PermScore, `{"invoices":[{"invoice_id":` + mustString(inv.ID) + `}]}`},
		{"GET", "/v1/accounts/" + pathEscape(inv.AccountID), api.PermAccounts, ""},
		{"GET", "/v1/worklist?limit=2", api.PermWorklist, ""},
		{"POST", "/v1/events", api.PermEvents, string(mustJSON(t, map[string]any{"accounts": []any{b.Accounts[0]}}))},
		{"GET", "/v1/models", api.PermModelsRead, ""},
		{"POST", "/v1/models/m2/activate", api.PermModelsManage, ""},
	}
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t, envOptions{})
	revokedKey, info, err := e.keys.Create(context.Background(), api.RoleAdmin, "to revoke")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.keys.Revoke(context.Background(), info.ID); err != nil {
		t.Fatal(err)
	}
	good := e.key[api.RoleAdmin]
	unknown := good[:len(good)-4] + "aaaa" // right shape, right id, wrong secret
	if unknown == good {
		unknown = good[:len(good)-4] + "bbbb"
	}
	otherID := "dsk_aaaaaaaaaaaaaaaa_" + good[len(good)-52:]
	tests := []struct {
		name      string
		header    string
		challenge string
		detail    string
	}{
		{"no header", "", `Bearer realm="duesight"`, "API key is required"},
		{"basic auth", "Basic dXNlcjpwYXNz", `Bearer realm="duesight", error="invalid_token"`, "API key is required"},
		{"empty bearer", "Bearer ", `Bearer realm="duesight", error="invalid_token"`, "API key is required"},
		{"malformed", "Bearer not-a-key", `Bearer realm="duesight", error="invalid_token"`, "malformed"},
		{"secret wrong length", "Bearer " + good + "a", `Bearer realm="duesight", error="invalid_token"`, "malformed"},
		{"wrong secret", "Bearer " + unknown, `Bearer realm="duesight", error="invalid_token"`, "not known"},
		{"unknown id", "Bearer " + otherID, `Bearer realm="duesight", error="invalid_token"`, "not known"},
		{"revoked", "Bearer " + revokedKey, `Bearer realm="duesight", error="invalid_token"`, "revoked"},
	}
	for _, ep := range endpoints(t, e) {
		for _, tc := range tests {
			t.Run(ep.method+" "+ep.path+"/"+tc.name, func(t *testing.T) {
				var body []byte
				if ep.body != "" {
					body = []byte(ep.body)
				}
				resp, out := e.do(ep.method, ep.path, "", body, "Authorization", tc.header)
				p := e.problem(resp, out, http.StatusUnauthorized, "unauthorized")
				if got := resp.Header.Get("WWW-Authenticate"); got != tc.challenge {
					t.Errorf("WWW-Authenticate %q, want %q", got, tc.challenge)
				}
				if !strings.Contains(p.Detail, tc.detail) {
					t.Errorf("detail %q, want it to contain %q", p.Detail, tc.detail)
				}
			})
		}
	}
	// The good key works (so the table above can fail).
	resp, _ := e.do("GET", "/v1/models", "", nil, "Authorization", "bearer "+good)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("good key (lower-case scheme): status %d", resp.StatusCode)
	}
}

// TestAuthorization checks every role against every endpoint with the one
// role→permission table.
func TestAuthorization(t *testing.T) {
	e := newEnv(t, envOptions{})
	eps := endpoints(t, e)
	for _, role := range api.Roles() {
		for _, ep := range eps {
			t.Run(string(role)+" "+ep.method+" "+ep.path, func(t *testing.T) {
				var body []byte
				if ep.body != "" {
					body = []byte(ep.body)
				}
				resp, out := e.do(ep.method, ep.path, role, body)
				if role.Allows(ep.perm) {
					if resp.StatusCode != http.StatusOK {
						t.Errorf("allowed: status %d: %s", resp.StatusCode, out)
					}
					return
				}
				p := e.problem(resp, out, http.StatusForbidden, "forbidden")
				if !strings.Contains(p.Detail, string(ep.perm)) {
					t.Errorf("detail %q does not name %s", p.Detail, ep.perm)
				}
			})
		}
	}
	// The table itself, as the brief states it.
	want := map[api.Role][]api.Permission{
		api.RoleCollectorSystem: {api.PermScore, api.PermWorklist, api.PermEvents, api.PermAccounts},
		api.RoleAnalyst:         {api.PermScore, api.PermWorklist, api.PermEvents, api.PermAccounts, api.PermModelsRead},
		api.RoleManager:         {api.PermAccounts, api.PermWorklist, api.PermReports},
	}
	for role, perms := range want {
		for _, p := range perms {
			if !role.Allows(p) {
				t.Errorf("%s lacks %s", role, p)
			}
		}
		if role.Allows(api.PermModelsManage) {
			t.Errorf("%s may activate models", role)
		}
	}
	for _, p := range []api.Permission{api.PermScore, api.PermAccounts, api.PermWorklist, api.PermEvents,
		api.PermModelsRead, api.PermModelsManage, api.PermReports, api.PermMetrics} {
		if !api.RoleAdmin.Allows(p) {
			t.Errorf("admin lacks %s", p)
		}
	}
}

func TestRevocationTakesEffect(t *testing.T) {
	e := newEnv(t, envOptions{})
	key, info, err := e.keys.Create(context.Background(), api.RoleAnalyst, "")
	if err != nil {
		t.Fatal(err)
	}
	call := func() int {
		resp, _ := e.do("GET", "/v1/models", "", nil, "Authorization", "Bearer "+key)
		return resp.StatusCode
	}
	if got := call(); got != http.StatusOK {
		t.Fatalf("fresh key: %d", got)
	}
	// Another process (a second store on the same file, like the CLI)
	// revokes it; the server's store notices after its reload interval.
	cli, err := api.OpenKeyStore(e.keys.Path(), api.KeyStoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Revoke(context.Background(), info.ID); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Second)
	if got := call(); got != http.StatusUnauthorized {
		t.Fatalf("revoked by another process: %d", got)
	}
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t, envOptions{rate: api.RateLimit{PerSecond: 0.5, Burst: 2}})
	get := func(role api.Role) *http.Response {
		resp, _ := e.do("GET", "/v1/models", role, nil)
		return resp
	}
	for i := range 2 {
		if r := get(api.RoleAnalyst); r.StatusCode != http.StatusOK {
			t.Fatalf("request %d within burst: %d", i, r.StatusCode)
		}
	}
	resp, out := e.do("GET", "/v1/models", api.RoleAnalyst, nil)
	e.problem(resp, out, http.StatusTooManyRequests, "rate-limited")
	if ra := resp.Header.Get("Retry-After"); ra != "2" {
		t.Errorf("Retry-After %q, want 2 (one token at 0.5/s)", ra)
	}
	// Other keys have their own bucket.
	if r := get(api.RoleAdmin); r.StatusCode != http.StatusOK {
		t.Errorf("another key limited: %d", r.StatusCode)
	}
	e.clock.Advance(1 * time.Second)
	if r := get(api.RoleAnalyst); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("after 1s (half a token): %d", r.StatusCode)
	}
	e.clock.Advance(1 * time.Second)
	if r := get(api.RoleAnalyst); r.StatusCode != http.StatusOK {
		t.Errorf("after 2s: %d", r.StatusCode)
	}
	// Unauthenticated requests do not use a key's tokens.
	for range 3 {
		resp, _ := e.do("GET", "/v1/models", "", nil)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("no key: %d", resp.StatusCode)
		}
	}
	if n := strings.Count(e.logs.String(), `"status":429`); n != 2 {
		t.Errorf("%d rate-limited requests logged, want 2", n)
	}
}

func pathEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
