package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/duesight/duesight/api"
	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/data/datatest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// syncBuffer is a log sink safe for concurrent writes and reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type envOptions struct {
	rate           api.RateLimit
	bodyLimit      int64
	maxScore       int
	protectMetrics bool
	noServer       bool // build the handler only (no httptest server)
}

// env is a server with a fake backend, a key per role and a log buffer.
type env struct {
	t     testing.TB
	clock *fakeClock
	be    *fakeBackend
	keys  *api.KeyStore
	reg   *prometheus.Registry
	srv   *api.Server
	ts    *httptest.Server
	key   map[api.Role]string
	logs  *syncBuffer
	doc   *apiDoc
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	e := &env{t: t, clock: newFakeClock(), reg: prometheus.NewRegistry(), key: map[api.Role]string{},
		logs: &syncBuffer{}, doc: openAPI(t)}
	e.be = newFakeBackend(e.clock.Now)
	ks, err := api.OpenKeyStore(filepath.Join(t.TempDir(), "keys.json"), api.KeyStoreOptions{Clock: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.keys = ks
	for _, r := range api.Roles() {
		k, _, err := ks.Create(context.Background(), r, "test "+string(r))
		if err != nil {
			t.Fatal(err)
		}
		e.key[r] = k
	}
	if o.rate == (api.RateLimit{}) {
		o.rate = api.RateLimit{PerSecond: -1}
	}
	e.srv, err = api.New(api.Options{
		Backend: e.be, Keys: ks, Registry: e.reg, Clock: e.clock.Now, RateLimit: o.rate, BodyLimit: o.bodyLimit,
		MaxScoreBatch: o.maxScore, ProtectMetrics: o.protectMetrics,
		Logger: e.logger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !o.noServer {
		e.serve(e.srv)
	}
	if os.Getenv("API_TEST_LOGS") != "" {
		t.Cleanup(func() { t.Log(e.logs.String()) })
	}
	return e
}

func (e *env) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// reg2 replaces the env's registry by a fresh one (for a second server).
func (e *env) reg2() *prometheus.Registry {
	e.reg = prometheus.NewRegistry()
	return e.reg
}

// serve starts an httptest server for srv.
func (e *env) serve(srv *api.Server) {
	e.srv = srv
	e.ts = httptest.NewServer(srv.Handler())
	e.t.Cleanup(e.ts.Close)
}

// seed stores a sample history and returns it.
func (e *env) seed(accounts int) *data.Batch {
	e.t.Helper()
	b := datatest.Sample(datatest.SampleOptions{Seed: 7, Accounts: accounts})
	if _, err := data.Ingest(context.Background(), e.be.store, b, data.IngestOptions{}); err != nil {
		e.t.Fatal(err)
	}
	return b
}

// do sends a request (body as JSON when not nil) with role's key ("" = no
// key) and validates the response against the OpenAPI document.
func (e *env) do(method, path string, role api.Role, body []byte, header ...string) (*http.Response, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+e.key[role])
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	e.doc.checkResponse(e.t, method, req.URL.EscapedPath(), resp, out)
	if resp.Header.Get("X-Request-ID") == "" {
		e.t.Errorf("%s %s: no X-Request-ID", method, path)
	}
	return resp, out
}

// problem decodes a problem body and checks its status and slug.
func (e *env) problem(resp *http.Response, body []byte, status int, slug string) api.Problem {
	e.t.Helper()
	if resp.StatusCode != status {
		e.t.Fatalf("status %d, want %d; body %s", resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != api.ProblemContentType {
		e.t.Errorf("Content-Type %q, want %q", ct, api.ProblemContentType)
	}
	var p api.Problem
	if err := json.Unmarshal(body, &p); err != nil {
		e.t.Fatalf("problem body: %v: %s", err, body)
	}
	if want := "urn:duesight:problem:" + slug; p.Type != want {
		e.t.Errorf("problem type %q, want %q (%s)", p.Type, want, body)
	}
	if !strings.HasPrefix(p.Instance, "urn:duesight:request:") {
		e.t.Errorf("problem instance %q", p.Instance)
	}
	return p
}

// hasError reports whether p lists an error at path whose reason contains sub.
func hasError(p api.Problem, path, sub string) bool {
	for _, fe := range p.Errors {
		if fe.Path == path && strings.Contains(fe.Reason, sub) {
			return true
		}
	}
	return false
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
