package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a writer safe for concurrent writes and reads (serve
// prints from several goroutines).
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

var listenRE = regexp.MustCompile(`listening on (https?://\S+)`)

// startServe runs `duesight serve ARGS` in-process and waits until it is
// ready. stop cancels it and returns run's error.
func startServe(t *testing.T, args ...string) (url string, out *syncBuffer, stop func() error) {
	t.Helper()
	out = &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--rate-limit", "-1"}, args...),
			stdio{in: strings.NewReader(""), out: out, err: io.Discard}, func(string) string { return "" })
	}()
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			t.Fatal("serve did not stop")
			return nil
		}
	}
	t.Cleanup(func() { _ = stop() })
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "ready:") {
		select {
		case err := <-done:
			t.Fatalf("serve exited: %v\n%s", err, out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not ready after 60s:\n%s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	m := listenRE.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("serve printed no listen URL:\n%s", out)
	}
	return m[1], out, stop
}

func request(t *testing.T, c *http.Client, method, url, key, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServeAndKeys: keys create/list/revoke; serve a gbdt and a logreg
// model trained by `duesight train` on a generated store; score, switch
// models through the API, refuse a revoked key, and stop gracefully.
func TestServeAndKeys(t *testing.T) {
	chdir(t)
	mustCLI(t, nil, "gen", "--accounts", "80", "--to", "2025-06-01", "--seed", "5")
	var tr struct {
		Models []struct{ Kind, Version string } `json:"models"`
		Active string                           `json:"active"`
	}
	if err := json.Unmarshal([]byte(mustCLI(t, nil, "train", "--kind", "gbdt,logreg", "--param", "gbdt.num_round=20",
		"--format", "json")), &tr); err != nil || len(tr.Models) != 2 {
		t.Fatalf("train: %v %+v", err, tr)
	}

	// Keys.
	var admin, manager struct{ Key, ID string }
	if err := json.Unmarshal([]byte(mustCLI(t, nil, "keys", "create", "--role", "admin", "--format", "json")), &admin); err != nil || admin.Key == "" {
		t.Fatalf("keys create: %v", err)
	}
	if err := json.Unmarshal([]byte(mustCLI(t, nil, "keys", "create", "--role", "MANAGER", "--name", "ops", "--format", "json")), &manager); err != nil {
		t.Fatal(err)
	}
	text := mustCLI(t, nil, "keys", "create", "--role", "collector-system", "--format", "text")
	if !strings.Contains(text, "dsk_") || !strings.Contains(text, "not shown again") {
		t.Errorf("keys create text output:\n%s", text)
	}
	var list []struct {
		ID, Role, Label string
	}
	if err := json.Unmarshal([]byte(mustCLI(t, nil, "keys", "list", "--format", "json")), &list); err != nil || len(list) != 3 {
		t.Fatalf("keys list: %v %+v", err, list)
	}
	if strings.Contains(mustCLI(t, nil, "keys", "list", "--format", "json"), "dsk_") {
		t.Error("keys list shows a secret")
	}
	for _, args := range [][]string{{"keys"}, {"keys", "create"}, {"keys", "create", "--role", "root"}, {"keys", "frob"}} {
		if _, err := cli(t, nil, args...); err == nil || exitCode(err) != 2 {
			t.Errorf("duesight %v: %v; want a usage error", args, err)
		}
	}
	if _, err := cli(t, nil, "keys", "revoke", "nosuchkey"); err == nil {
		t.Error("revoking an unknown key succeeded")
	}

	url, out, stop := startServe(t)
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{}}
	defer c.CloseIdleConnections()
	if status, body := request(t, c, "GET", url+"/readyz", "", ""); status != 200 || !strings.Contains(body, tr.Active) {
		t.Fatalf("readyz: %d %s", status, body)
	}
	score := `{"invoices":[{"invoice":{"id":"NEW-1","account_id":"A0000001","issue_date":"2025-06-01","due_date":"2025-07-01","amount":12345,"currency":"USD"}}]}`
	for _, m := range tr.Models {
		if status, body := request(t, c, "POST", url+"/v1/models/"+m.Version+"/activate", admin.Key, ""); status != 200 {
			t.Fatalf("activate %s: %d %s", m.Kind, status, body)
		}
		status, body := request(t, c, "POST", url+"/v1/score", admin.Key, score)
		if status != 200 || !strings.Contains(body, `"model_version":"`+m.Version+`"`) {
			t.Fatalf("score with %s: %d %s", m.Kind, status, body)
		}
	}
	if status, body := request(t, c, "GET", url+"/v1/worklist?limit=3", manager.Key, ""); status != 200 {
		t.Fatalf("worklist: %d %s", status, body)
	}
	mustCLI(t, nil, "keys", "revoke", manager.ID)
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, _ := request(t, c, "GET", url+"/v1/worklist?limit=3", manager.Key, "")
		if status == 401 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a revoked key is still accepted (%d)", status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}
	if !strings.Contains(out.String(), "stopped") {
		t.Errorf("serve output:\n%s", out)
	}
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(url, "http://"), time.Second); err == nil {
		t.Error("the port still accepts connections after serve stopped")
	}
}

// TestServeTLSAndFlags: HTTPS with --tls-cert/--tls-key and an FX file;
// bad flag combinations are usage errors.
func TestServeTLSAndFlags(t *testing.T) {
	dir := chdir(t)
	mustCLI(t, nil, "gen", "--accounts", "30", "--to", "2025-06-01")
	mustCLI(t, nil, "train", "--kind", "logreg", "--no-timing")
	var admin struct{ Key string }
	if err := json.Unmarshal([]byte(mustCLI(t, nil, "keys", "create", "--role", "admin", "--format", "json")), &admin); err != nil {
		t.Fatal(err)
	}
	cert, key := selfSigned(t, dir)
	fx := filepath.Join(dir, "fx.yaml")
	if err := os.WriteFile(fx, []byte("reporting: EUR\nrates: {USD: 0.9, GBP: 1.2}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"serve", "--tls-cert", cert}, {"serve", "extra"}, {"serve", "--fx", filepath.Join(dir, "nope.yaml")},
		{"serve", "--workers", "-1"}} {
		if _, err := cli(t, nil, args...); err == nil {
			t.Errorf("duesight %v succeeded", args)
		}
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("reporting: EUR\nrates: {USD: -1}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := cli(t, nil, "serve", "--fx", bad); err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "USD rate") {
		t.Errorf("bad fx file: %v", err)
	}
	url, _, stop := startServe(t, "--tls-cert", cert, "--tls-key", key, "--fx", fx)
	if !strings.HasPrefix(url, "https://") {
		t.Fatalf("url %s", url)
	}
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	defer c.CloseIdleConnections()
	status, body := request(t, c, "GET", url+"/v1/worklist?limit=2", admin.Key, "")
	if status != 200 || (strings.Contains(body, `"currency"`) && !strings.Contains(body, `"currency":"EUR"`)) {
		t.Fatalf("worklist over TLS: %d %s", status, body)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// selfSigned writes a self-signed certificate for 127.0.0.1.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "duesight test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	write := func(path, typ string, b []byte) {
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(certFile, "CERTIFICATE", der)
	write(keyFile, "EC PRIVATE KEY", kb)
	return certFile, keyFile
}
