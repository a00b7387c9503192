package api_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/duesight/duesight/api"
)

// startServe runs srv.Serve on a loopback listener and returns its URL and
// a function that cancels the context and waits for Serve's result.
func startServe(t *testing.T, srv *api.Server, cert, key string) (string, func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, cert, key) }()
	scheme := "http"
	if cert != "" {
		scheme = "https"
	}
	stop := func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(20 * time.Second):
			t.Fatal("Serve did not return")
			return nil
		}
	}
	return scheme + "://" + ln.Addr().String(), stop
}

// TestServeGracefulShutdown: cancelling Serve's context lets an in-flight
// request finish with 200, refuses new connections, then returns nil.
func TestServeGracefulShutdown(t *testing.T) {
	e := newEnv(t, envOptions{noServer: true})
	e.be.scoreGate = make(chan struct{})
	e.be.scoreIn = make(chan struct{}, 1)
	url, stop := startServe(t, e.srv, "", "")
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()

	type result struct {
		status int
		body   string
		err    error
	}
	res := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest("POST", url+"/v1/score", strings.NewReader(
			`{"invoices":[{"invoice":{"id":"i","account_id":"a","issue_date":"2026-01-01","due_date":"2026-01-31","amount":100,"currency":"USD"}}]}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+e.key[api.RoleCollectorSystem])
		resp, err := client.Do(req)
		if err != nil {
			res <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		res <- result{resp.StatusCode, string(b), err}
	}()
	<-e.be.scoreIn // the request is inside the backend

	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	// Serve must wait for the in-flight request.
	select {
	case err := <-stopped:
		t.Fatalf("Serve returned (%v) while a request was in flight", err)
	case <-time.After(200 * time.Millisecond):
	}
	// New connections are refused once shutdown began.
	if c, err := net.DialTimeout("tcp", strings.TrimPrefix(url, "http://"), time.Second); err == nil {
		c.Close()
		t.Error("a new connection was accepted during shutdown")
	}
	close(e.be.scoreGate)
	r := <-res
	if r.err != nil || r.status != http.StatusOK || !strings.Contains(r.body, `"model_version":"m2"`) {
		t.Fatalf("in-flight request: %d %q %v", r.status, r.body, r.err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

// TestServeShutdownTimeout: a request that outlives the drain timeout
// makes Serve return an error instead of hanging.
func TestServeShutdownTimeout(t *testing.T) {
	e := newEnv(t, envOptions{noServer: true})
	srv, err := api.New(api.Options{Backend: e.be, Keys: e.keys, Registry: e.reg2(), Clock: e.clock.Now,
		Timeouts: api.Timeouts{Shutdown: 100 * time.Millisecond}, RequestTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	e.be.scoreGate = make(chan struct{}) // never opened: the backend waits for its context
	e.be.scoreIn = make(chan struct{}, 1)
	url, stop := startServe(t, srv, "", "")
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequest("POST", url+"/v1/score", strings.NewReader(`{"invoices":[{"invoice_id":"i"}]}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+e.key[api.RoleCollectorSystem])
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	<-e.be.scoreIn
	if err := stop(); err == nil || !strings.Contains(err.Error(), "did not finish") {
		t.Errorf("Serve after drain timeout: %v", err)
	}
	<-done
}

// selfSigned writes a certificate for 127.0.0.1 and its key to dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "duesight test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestServeTLS(t *testing.T) {
	e := newEnv(t, envOptions{noServer: true})
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	url, stop := startServe(t, e.srv, certFile, keyFile)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	resp, err := client.Get(url + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Errorf("TLS request: %d, tls %+v", resp.StatusCode, resp.TLS)
	}
	// Plain HTTP to the TLS port does not get an API answer.
	plain := &http.Client{Transport: &http.Transport{}}
	if resp, err := plain.Get(strings.Replace(url, "https", "http", 1) + "/healthz"); err == nil {
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP served on the TLS port")
		}
		resp.Body.Close()
	}
	plain.CloseIdleConnections()
	// A TLS 1.1 client is refused.
	old := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11}}
	if _, err := (&http.Client{Transport: old}).Get(url + "/healthz"); err == nil {
		t.Error("TLS 1.1 accepted")
	}
	old.CloseIdleConnections()
	tr.CloseIdleConnections()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestServeErrors(t *testing.T) {
	e := newEnv(t, envOptions{noServer: true})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := e.srv.Serve(context.Background(), ln, "cert.pem", ""); err == nil {
		t.Error("cert without key accepted")
	}
	err = e.srv.Serve(context.Background(), ln, "/nonexistent/cert.pem", "/nonexistent/key.pem")
	if err == nil || !strings.Contains(err.Error(), "nonexistent") {
		t.Errorf("missing cert files: %v", err)
	}
}

func TestNewValidatesOptions(t *testing.T) {
	e := newEnv(t, envOptions{noServer: true})
	base := func() api.Options { return api.Options{Backend: e.be, Keys: e.keys, Registry: e.reg2()} }
	tests := []struct {
		name string
		mod  func(*api.Options)
		want string
	}{
		{"no backend", func(o *api.Options) { o.Backend = nil }, "Backend"},
		{"no keys", func(o *api.Options) { o.Keys = nil }, "Keys"},
		{"no registry", func(o *api.Options) { o.Registry = nil }, "Registry"},
		{"negative body limit", func(o *api.Options) { o.BodyLimit = -1 }, "BodyLimit"},
		{"negative batch", func(o *api.Options) { o.MaxScoreBatch = -1 }, "MaxScoreBatch"},
		{"negative timeout", func(o *api.Options) { o.RequestTimeout = -time.Second }, "RequestTimeout"},
	}
	for _, tc := range tests {
		o := base()
		tc.mod(&o)
		if _, err := api.New(o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	// One registry serves one server.
	o := base()
	if _, err := api.New(o); err != nil {
		t.Fatal(err)
	}
	if _, err := api.New(o); err == nil || !strings.Contains(err.Error(), "register") {
		t.Errorf("second server on one registry: %v", err)
	}
}
