package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/duesight/duesight/api"
)

// benchServer is a server with the fake backend, an access log written as
// JSON to io.Discard (so formatting is paid for) and no rate limit.
func benchServer(b *testing.B) (*env, http.Handler) {
	e := newEnv(b, envOptions{noServer: true})
	srv, err := api.New(api.Options{Backend: e.be, Keys: e.keys, Registry: prometheus.NewRegistry(), Clock: e.clock.Now,
		RateLimit: api.RateLimit{PerSecond: -1},
		Logger:    slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	return e, srv.Handler()
}

func singleInvoiceBody(b *testing.B) []byte {
	return mustJSON(b, api.ScoreRequest{Items: []api.ScoreItem{{Invoice: ptr(newInvoice("inv-1", "acc-1", 123456)), Account: ptr(newAccount("acc-1"))}}})
}

// BenchmarkScoreSingle measures one POST /v1/score of one inline invoice
// through the whole chain (request id, auth with SHA-256 + constant-time
// compare, permission, body read, strict decode, validation, fake backend,
// response encoding, metrics, access log), in process.
func BenchmarkScoreSingle(b *testing.B) {
	e, h := benchServer(b)
	body := singleInvoiceBody(b)
	auth := "Bearer " + e.key[api.RoleCollectorSystem]
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		req := httptest.NewRequest("POST", "/v1/score", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body.Bytes())
		}
	}
}

// BenchmarkScoreSingleBackendOnly is the fake backend's own cost for the
// same request, to subtract from BenchmarkScoreSingle.
func BenchmarkScoreSingleBackendOnly(b *testing.B) {
	e, _ := benchServer(b)
	req := &api.ScoreRequest{Items: []api.ScoreItem{{Invoice: ptr(newInvoice("inv-1", "acc-1", 123456)), Account: ptr(newAccount("acc-1"))}}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.be.Score(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScoreSingleHTTP is the same request over a loopback TCP
// connection (keep-alive), as a client sees it.
func BenchmarkScoreSingleHTTP(b *testing.B) {
	e, h := benchServer(b)
	ts := httptest.NewServer(h)
	defer ts.Close()
	body := singleInvoiceBody(b)
	auth := "Bearer " + e.key[api.RoleCollectorSystem]
	client := ts.Client()
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest("POST", ts.URL+"/v1/score", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", auth)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}

// BenchmarkScoreBatch10k measures a maximal request: 10,000 inline invoices
// with accounts (decode, validate, score, encode).
func BenchmarkScoreBatch10k(b *testing.B) {
	e, h := benchServer(b)
	req := api.ScoreRequest{Items: make([]api.ScoreItem, api.DefaultMaxScoreBatch)}
	for i := range req.Items {
		acc := newAccount(fmt.Sprintf("acc-%05d", i))
		req.Items[i] = api.ScoreItem{Invoice: ptr(newInvoice(fmt.Sprintf("inv-%05d", i), acc.ID, int64(1000+i))), Account: &acc}
	}
	body := mustJSON(b, req)
	auth := "Bearer " + e.key[api.RoleCollectorSystem]
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		r := httptest.NewRequest("POST", "/v1/score", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}
