package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/duesight/duesight/api"
	"github.com/duesight/duesight/data"
)

func openStore(t *testing.T, path string, clock func() time.Time) *api.KeyStore {
	t.Helper()
	ks, err := api.OpenKeyStore(path, api.KeyStoreOptions{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

func TestKeyStoreLifecycle(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	path := filepath.Join(t.TempDir(), "keys.json")
	ks := openStore(t, path, clock.Now)

	key, info, err := ks.Create(ctx, api.RoleAnalyst, "erp-sync")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(key, "dsk_"+info.ID+"_") || len(key) != 73 || api.KeyIDOf(key) != info.ID {
		t.Errorf("key %q (id %q) has the wrong shape", key, info.ID)
	}
	if info.Role != api.RoleAnalyst || info.Label != "erp-sync" || !info.CreatedAt.Equal(clock.Now()) || info.Revoked() {
		t.Errorf("info %+v", info)
	}
	got, err := ks.Verify(ctx, key)
	if err != nil || got.ID != info.ID || got.Role != api.RoleAnalyst {
		t.Fatalf("verify: %+v %v", got, err)
	}

	// On disk: mode 0600, the hash, never the secret.
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %04o, want 0600", st.Mode().Perm())
	}
	raw, _ := os.ReadFile(path)
	secret := key[len("dsk_")+16+1:]
	sum := sha256.Sum256([]byte(key))
	if strings.Contains(string(raw), secret) || strings.Contains(string(raw), key) {
		t.Errorf("the key file holds the secret:\n%s", raw)
	}
	if !strings.Contains(string(raw), hex.EncodeToString(sum[:])) {
		t.Errorf("the key file does not hold the key's SHA-256:\n%s", raw)
	}

	// Verification failures.
	repl := "a"
	if key[len(key)-1] == 'a' {
		repl = "b"
	}
	wrong := key[:len(key)-1] + repl
	tests := []struct {
		name string
		key  string
		want error
	}{
		{"empty", "", api.ErrKeyMalformed},
		{"no prefix", strings.TrimPrefix(key, "dsk_"), api.ErrKeyMalformed},
		{"upper case", strings.ToUpper(key), api.ErrKeyMalformed},
		{"truncated", key[:40], api.ErrKeyMalformed},
		{"wrong secret", wrong, api.ErrKeyUnknown},
		{"unknown id", "dsk_aaaaaaaaaaaaaaaa" + key[20:], api.ErrKeyUnknown},
	}
	for _, tc := range tests {
		if _, err := ks.Verify(ctx, tc.key); !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
	}

	// List, revoke, list.
	clock.Advance(time.Hour)
	key2, info2, err := ks.Create(ctx, api.RoleAdmin, "")
	if err != nil {
		t.Fatal(err)
	}
	list, err := ks.List(ctx)
	if err != nil || len(list) != 2 || list[0].ID != info.ID || list[1].ID != info2.ID {
		t.Fatalf("list %+v %v", list, err)
	}
	rev, err := ks.Revoke(ctx, info.ID)
	if err != nil || !rev.Revoked() || !rev.RevokedAt.Equal(clock.Now()) {
		t.Fatalf("revoke %+v %v", rev, err)
	}
	if _, err := ks.Verify(ctx, key); !errors.Is(err, api.ErrKeyRevoked) {
		t.Errorf("revoked key: %v", err)
	}
	if _, err := ks.Verify(ctx, key2); err != nil {
		t.Errorf("other key after revoke: %v", err)
	}
	if _, err := ks.Revoke(ctx, "nosuchkeyidxxxxx"); data.ErrorCode(err) != data.NotFound {
		t.Errorf("revoke unknown: %v", err)
	}

	// A fresh store (another process) sees the same state.
	ks2 := openStore(t, path, clock.Now)
	if _, err := ks2.Verify(ctx, key); !errors.Is(err, api.ErrKeyRevoked) {
		t.Errorf("reopened: revoked key %v", err)
	}
	if _, err := ks2.Verify(ctx, key2); err != nil {
		t.Errorf("reopened: %v", err)
	}
}

func TestKeyStoreCreateErrors(t *testing.T) {
	ks := openStore(t, filepath.Join(t.TempDir(), "keys.json"), nil)
	tests := []struct {
		role  api.Role
		label string
		want  string
	}{
		{"root", "", `unknown role "root"`},
		{"", "", "unknown role"},
		{api.RoleAdmin, "bad\nlabel", "label contains a control character"},
		{api.RoleAdmin, strings.Repeat("x", 201), "label is longer than 200 bytes"},
	}
	for _, tc := range tests {
		_, _, err := ks.Create(context.Background(), tc.role, tc.label)
		if data.ErrorCode(err) != data.Invalid || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Create(%q, %q): %v, want Invalid with %q", tc.role, tc.label, err, tc.want)
		}
	}
}

func TestKeyStoreFileChecks(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	hash := strings.Repeat("ab", 32)
	tests := []struct {
		name, content string
		mode          os.FileMode
		want          string
	}{
		{"world readable", `{"version":1,"keys":[]}`, 0o644, "chmod 600"},
		{"not JSON", `{`, 0o600, "parse key file"},
		{"unknown field", `{"version":1,"keys":[],"extra":1}`, 0o600, "unknown field"},
		{"newer version", `{"version":2,"keys":[]}`, 0o600, "version 2"},
		{"bad role", `{"version":1,"keys":[{"id":"aaaaaaaaaaaaaaaa","role":"root","sha256":"` + hash + `","created_at":"2026-01-01T00:00:00Z"}]}`, 0o600, "not a role"},
		{"bad hash", `{"version":1,"keys":[{"id":"aaaaaaaaaaaaaaaa","role":"admin","sha256":"xyz","created_at":"2026-01-01T00:00:00Z"}]}`, 0o600, "not a hex SHA-256"},
		{"repeated id", `{"version":1,"keys":[{"id":"aaaaaaaaaaaaaaaa","role":"admin","sha256":"` + hash + `","created_at":"2026-01-01T00:00:00Z"},{"id":"aaaaaaaaaaaaaaaa","role":"admin","sha256":"` + hash + `","created_at":"2026-01-01T00:00:00Z"}]}`, 0o600, "repeats"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := write(fmt.Sprintf("k%d.json", i), tc.content, tc.mode)
			_, err := api.OpenKeyStore(p, api.KeyStoreOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
				t.Errorf("err %v, want one naming the file and %q", err, tc.want)
			}
		})
	}
	if _, err := api.OpenKeyStore("", api.KeyStoreOptions{}); err == nil {
		t.Error("empty path accepted")
	}
	// A missing file is an empty store; the first Create makes it.
	p := filepath.Join(dir, "new", "keys.json")
	if err := os.Mkdir(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	ks, err := api.OpenKeyStore(p, api.KeyStoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if l, err := ks.List(context.Background()); err != nil || len(l) != 0 {
		t.Fatalf("empty store list %v %v", l, err)
	}
}

// TestKeyStoreAtomicReplace: a change replaces the file (new inode) rather
// than rewriting it in place, leaves no temp files, and a reader holding
// the old file still sees complete old contents.
func TestKeyStoreAtomicReplace(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys.json")
	ks := openStore(t, path, nil)
	if _, _, err := ks.Create(context.Background(), api.RoleAdmin, "one"); err != nil {
		t.Fatal(err)
	}
	old, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	oldSt, _ := old.Stat()
	if _, _, err := ks.Create(context.Background(), api.RoleAdmin, "two"); err != nil {
		t.Fatal(err)
	}
	newSt, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if os.SameFile(oldSt, newSt) {
		t.Error("the key file was rewritten in place, not replaced")
	}
	buf := make([]byte, 4096)
	n, _ := old.Read(buf)
	if s := string(buf[:n]); !strings.Contains(s, `"one"`) || strings.Contains(s, `"two"`) || !strings.HasSuffix(s, "}\n") {
		t.Errorf("old file contents changed or torn: %s", s)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temp file left: %s", e.Name())
		}
	}
}

// TestKeyStoreConcurrentWriters: two stores on one file (two processes)
// creating keys at once lose none.
func TestKeyStoreConcurrentWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	a, b := openStore(t, path, nil), openStore(t, path, nil)
	var wg sync.WaitGroup
	keys := make([]string, 20)
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := a
			if i%2 == 1 {
				s = b
			}
			k, _, err := s.Create(context.Background(), api.RoleManager, "")
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		}()
	}
	wg.Wait()
	c := openStore(t, path, nil)
	for i, k := range keys {
		if _, err := c.Verify(context.Background(), k); err != nil {
			t.Errorf("key %d lost: %v", i, err)
		}
	}
}

// TestKeyStoreFileRemoved: deleting the file revokes every key (after the
// reload interval); a corrupted file keeps the last good keys.
func TestKeyStoreReload(t *testing.T) {
	clock := newFakeClock()
	path := filepath.Join(t.TempDir(), "keys.json")
	ks := openStore(t, path, clock.Now)
	key, _, err := ks.Create(context.Background(), api.RoleAdmin, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("{garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Second)
	if _, err := ks.Verify(context.Background(), key); err != nil {
		t.Errorf("corrupt file: last good keys dropped: %v", err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := ks.Verify(context.Background(), key); err != nil {
		t.Errorf("removal noticed before the reload interval: %v", err)
	}
	clock.Advance(2 * time.Second)
	if _, err := ks.Verify(context.Background(), key); !errors.Is(err, api.ErrKeyUnknown) {
		t.Errorf("removed file: %v", err)
	}
}

func TestParseRole(t *testing.T) {
	tests := []struct {
		in   string
		want api.Role
		ok   bool
	}{
		{"collector-system", api.RoleCollectorSystem, true},
		{" Analyst ", api.RoleAnalyst, true},
		{"manager", api.RoleManager, true},
		{"admin", api.RoleAdmin, true},
		{"root", "", false},
		{"", "", false},
	}
	for _, tc := range tests {
		got, err := api.ParseRole(tc.in)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("ParseRole(%q) = %q, %v", tc.in, got, err)
		}
	}
}
