package api

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/duesight/duesight/data"
)

// API keys look like dsk_<id>_<secret>: a 16-character id (80 random bits,
// lowercase base32) by which the key is looked up, and a 52-character
// secret (256 random bits). The store keeps only SHA-256 of the whole key.
//
// Why a plain hash: password hashes (bcrypt, argon2) are slow on purpose
// because passwords have little entropy and can be guessed. A 256-bit
// random secret cannot be guessed, so inverting SHA-256 of it is as hard as
// guessing the secret itself (2^256 work); a slow hash would add nothing
// but milliseconds to every request. A leaked key file therefore yields no
// usable key. Verification compares hashes with crypto/subtle in constant
// time.
const (
	keyPrefix    = "dsk_"
	keyIDLen     = 16 // base32 of 10 bytes
	keySecretLen = 52 // base32 of 32 bytes
	keyLen       = len(keyPrefix) + keyIDLen + 1 + keySecretLen
	keyFileMode  = 0o600
	keyFileVer   = 1
)

var keyEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Key verification errors. All of them mean 401 to a client; they differ
// only for logs and for the CLI.
var (
	ErrKeyMalformed = errors.New("api key is malformed (want dsk_<id>_<secret>)")
	ErrKeyUnknown   = errors.New("api key is unknown")
	ErrKeyRevoked   = errors.New("api key is revoked")
)

// KeyInfo describes a key without its secret.
type KeyInfo struct {
	ID        string    `json:"id"`
	Role      Role      `json:"role"`
	Label     string    `json:"label,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
}

// Revoked reports whether the key has been revoked.
func (k KeyInfo) Revoked() bool { return !k.RevokedAt.IsZero() }

// storedKey is one key as written to the file.
type storedKey struct {
	KeyInfo
	SHA256 string `json:"sha256"` // hex SHA-256 of the whole key string
}

type keyFile struct {
	Version int         `json:"version"`
	Keys    []storedKey `json:"keys"`
}

// memKey is a loaded key.
type memKey struct {
	info KeyInfo
	hash [sha256.Size]byte
}

// KeyVerifier checks API keys; *KeyStore implements it.
type KeyVerifier interface {
	Verify(ctx context.Context, key string) (KeyInfo, error)
}

// KeyStoreOptions configure OpenKeyStore. The zero value is usable.
type KeyStoreOptions struct {
	// Clock gives the time for created/revoked stamps and for reload
	// checks; nil means time.Now.
	Clock func() time.Time
	// Logger receives key events (ids and roles only); nil discards.
	Logger *slog.Logger
	// ReloadInterval is how often Verify checks the file for changes made
	// by other processes (a revocation by `duesight keys revoke` takes
	// effect within it); 0 means one second, negative means never.
	ReloadInterval time.Duration
}

// KeyStore keeps API keys, hashed, in a JSON file (mode 0600, replaced
// atomically on every change: temp file, fsync, rename, directory fsync).
// Several processes may share the file: changes take an exclusive lock on
// <path>.lock and re-read the file first, and Verify picks up other
// processes' changes within ReloadInterval. It is safe for concurrent use.
//
// A missing file is an empty store (created on the first Create); deleting
// the file revokes every key. If the file becomes unreadable or corrupt
// after it was loaded, Verify keeps the last good contents and logs an
// error at each reload attempt.
type KeyStore struct {
	path     string
	clock    func() time.Time
	log      *slog.Logger
	interval time.Duration

	wmu     sync.Mutex // serialises update within the process
	mu      sync.RWMutex
	keys    map[string]memKey
	stat    fs.FileInfo // of the loaded file; nil when absent
	checked time.Time   // last reload check
}

// OpenKeyStore loads the key file at path (a missing file is an empty
// store).
func OpenKeyStore(path string, opt KeyStoreOptions) (*KeyStore, error) {
	if path == "" {
		return nil, errors.New("open key store: path is empty")
	}
	s := &KeyStore{path: path, clock: opt.Clock, log: opt.Logger, interval: opt.ReloadInterval}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.interval == 0 {
		s.interval = time.Second
	}
	kf, st, err := s.read()
	if err != nil {
		return nil, fmt.Errorf("open key store: %w", err)
	}
	s.install(kf, st)
	s.checked = s.clock()
	return s, nil
}

// Path returns the key file's path.
func (s *KeyStore) Path() string { return s.path }

// read loads and checks the file; a missing file is an empty one.
func (s *KeyStore) read() (*keyFile, fs.FileInfo, error) {
	f, err := os.Open(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return &keyFile{Version: keyFileVer}, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read key file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("stat key file %s: %w", s.path, err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, nil, fmt.Errorf("key file %s has mode %04o: others may read it; run chmod 600 on it",
			s.path, st.Mode().Perm())
	}
	var kf keyFile
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&kf); err != nil {
		return nil, nil, fmt.Errorf("parse key file %s: %w", s.path, err)
	}
	if kf.Version != keyFileVer {
		return nil, nil, fmt.Errorf("key file %s: version %d, want %d", s.path, kf.Version, keyFileVer)
	}
	seen := map[string]bool{}
	for i, k := range kf.Keys {
		h, err := hex.DecodeString(k.SHA256)
		switch {
		case !validKeyID(k.ID):
			return nil, nil, fmt.Errorf("key file %s: keys[%d].id %q is not a key id", s.path, i, k.ID)
		case seen[k.ID]:
			return nil, nil, fmt.Errorf("key file %s: keys[%d].id %q repeats", s.path, i, k.ID)
		case !k.Role.Valid():
			return nil, nil, fmt.Errorf("key file %s: keys[%d].role %q is not a role", s.path, i, k.Role)
		case err != nil || len(h) != sha256.Size:
			return nil, nil, fmt.Errorf("key file %s: keys[%d].sha256 is not a hex SHA-256", s.path, i)
		}
		seen[k.ID] = true
	}
	return &kf, st, nil
}

// install replaces the in-memory keys (callers hold mu or own s).
func (s *KeyStore) install(kf *keyFile, st fs.FileInfo) {
	m := make(map[string]memKey, len(kf.Keys))
	for _, k := range kf.Keys {
		var mk memKey
		mk.info = k.KeyInfo
		_, _ = hex.Decode(mk.hash[:], []byte(k.SHA256)) // checked by read
		m[k.ID] = mk
	}
	s.keys, s.stat = m, st
}

// refresh reloads the file if another process changed it.
func (s *KeyStore) refresh() {
	if s.interval < 0 {
		return
	}
	now := s.clock()
	s.mu.RLock()
	due := now.Sub(s.checked) >= s.interval || now.Before(s.checked)
	s.mu.RUnlock()
	if !due {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.checked) < s.interval && !now.Before(s.checked) {
		return // another goroutine just checked
	}
	s.checked = now
	st, err := os.Stat(s.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if s.stat != nil {
			s.log.Warn("api key file removed; all keys are now invalid", "path", s.path)
		}
		s.install(&keyFile{}, nil)
		return
	case err != nil:
		s.log.Error("api key file unreadable; keeping the keys loaded before", "path", s.path, "err", err)
		return
	case s.stat != nil && os.SameFile(st, s.stat) && st.ModTime().Equal(s.stat.ModTime()) && st.Size() == s.stat.Size():
		return
	}
	kf, st, err := s.read()
	if err != nil {
		s.log.Error("api key file changed but cannot be loaded; keeping the keys loaded before", "path", s.path, "err", err)
		return
	}
	s.install(kf, st)
	s.log.Info("api key file reloaded", "keys", len(kf.Keys))
}

// Verify checks a presented key and returns its description. Errors are
// ErrKeyMalformed, ErrKeyUnknown or ErrKeyRevoked.
func (s *KeyStore) Verify(_ context.Context, key string) (KeyInfo, error) {
	id, ok := parseKey(key)
	if !ok {
		return KeyInfo{}, ErrKeyMalformed
	}
	s.refresh()
	got := sha256.Sum256([]byte(key))
	s.mu.RLock()
	k, found := s.keys[id]
	s.mu.RUnlock()
	if !found {
		return KeyInfo{}, ErrKeyUnknown
	}
	if subtle.ConstantTimeCompare(got[:], k.hash[:]) != 1 {
		return KeyInfo{}, ErrKeyUnknown
	}
	if k.info.Revoked() {
		return k.info, ErrKeyRevoked
	}
	return k.info, nil
}

// parseKey checks the key's shape and returns its id.
func parseKey(key string) (string, bool) {
	if len(key) != keyLen || key[:len(keyPrefix)] != keyPrefix || key[len(keyPrefix)+keyIDLen] != '_' {
		return "", false
	}
	id := key[len(keyPrefix) : len(keyPrefix)+keyIDLen]
	if !validKeyID(id) || !isBase32(key[len(keyPrefix)+keyIDLen+1:]) {
		return "", false
	}
	return id, true
}

func validKeyID(id string) bool { return len(id) == keyIDLen && isBase32(id) }

func isBase32(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}

// KeyIDOf returns the id part of a well-formed key ("" otherwise), e.g.
// for the CLI to name a key without printing its secret.
func KeyIDOf(key string) string {
	id, _ := parseKey(key)
	return id
}

// Create makes a key with role and an optional label (a note for people
// such as "erp-sync"; no personal data), stores its hash and returns the
// key. The key is shown only here: it cannot be recovered later.
func (s *KeyStore) Create(ctx context.Context, role Role, label string) (string, KeyInfo, error) {
	if !role.Valid() {
		_, err := ParseRole(string(role))
		return "", KeyInfo{}, data.Errorf(data.Invalid, "create api key: role: %v", err)
	}
	if reason := checkText(label); reason != "" || len(label) > 200 {
		if reason == "" {
			reason = "is longer than 200 bytes"
		}
		return "", KeyInfo{}, data.Errorf(data.Invalid, "create api key: label %s", reason)
	}
	var idb [10]byte
	var secret [32]byte
	rand.Read(idb[:])
	rand.Read(secret[:])
	id := keyEncoding.EncodeToString(idb[:])
	key := keyPrefix + id + "_" + keyEncoding.EncodeToString(secret[:])
	sum := sha256.Sum256([]byte(key))
	info := KeyInfo{ID: id, Role: role, Label: label, CreatedAt: s.clock().UTC().Truncate(time.Second)}
	err := s.update(ctx, func(kf *keyFile) error {
		kf.Keys = append(kf.Keys, storedKey{KeyInfo: info, SHA256: hex.EncodeToString(sum[:])})
		return nil
	})
	if err != nil {
		return "", KeyInfo{}, fmt.Errorf("create api key: %w", err)
	}
	s.log.Info("api key created", "key_id", id, "role", string(role))
	return key, info, nil
}

// Revoke marks the key with id revoked (data.NotFound if there is none;
// revoking twice is not an error) and returns its description.
func (s *KeyStore) Revoke(ctx context.Context, id string) (KeyInfo, error) {
	var info KeyInfo
	err := s.update(ctx, func(kf *keyFile) error {
		for i := range kf.Keys {
			if kf.Keys[i].ID == id {
				if !kf.Keys[i].Revoked() {
					kf.Keys[i].RevokedAt = s.clock().UTC().Truncate(time.Second)
				}
				info = kf.Keys[i].KeyInfo
				return nil
			}
		}
		return data.Errorf(data.NotFound, "no api key with id %q", id)
	})
	if err != nil {
		return KeyInfo{}, fmt.Errorf("revoke api key: %w", err)
	}
	s.log.Info("api key revoked", "key_id", id)
	return info, nil
}

// List returns every key (revoked ones included), oldest first, as the file
// holds them now.
func (s *KeyStore) List(ctx context.Context) ([]KeyInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	kf, st, err := s.read()
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	s.mu.Lock()
	s.install(kf, st)
	s.mu.Unlock()
	out := make([]KeyInfo, 0, len(kf.Keys))
	for _, k := range kf.Keys {
		out = append(out, k.KeyInfo)
	}
	slices.SortFunc(out, func(a, b KeyInfo) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// update applies change to the current file contents under the
// cross-process lock and writes the result atomically.
func (s *KeyStore) update(ctx context.Context, change func(*keyFile) error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	unlock, err := lockFile(ctx, s.path+".lock")
	if err != nil {
		return err
	}
	defer unlock()
	kf, _, err := s.read()
	if err != nil {
		return err
	}
	if err := change(kf); err != nil {
		return err
	}
	buf, err := json.MarshalIndent(kf, "", "  ")
	if err != nil {
		return fmt.Errorf("encode key file: %w", err)
	}
	if err := writeFileAtomic(s.path, append(buf, '\n'), keyFileMode); err != nil {
		return err
	}
	st, err := os.Stat(s.path)
	if err != nil {
		return fmt.Errorf("stat key file: %w", err)
	}
	s.mu.Lock()
	s.install(kf, st)
	s.checked = s.clock()
	s.mu.Unlock()
	return nil
}

// writeFileAtomic replaces path with b: a temp file in the same directory
// is written, fsynced and renamed over path, then the directory is fsynced,
// so a crash leaves either the old or the new file, never a torn one.
func writeFileAtomic(path string, b []byte, mode fs.FileMode) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err = f.Chmod(mode); err != nil {
		return fmt.Errorf("write %s: chmod temp file: %w", path, err)
	}
	if _, err = f.Write(b); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("write %s: fsync: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write %s: close: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: rename: %w", path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("write %s: open directory for fsync: %w", path, err)
	}
	defer d.Close()
	if err = d.Sync(); err != nil {
		return fmt.Errorf("write %s: fsync directory: %w", path, err)
	}
	return nil
}
