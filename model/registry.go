package model

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Registry errors; match with errors.Is.
var (
	// ErrNotFound: no artifact with that version is registered.
	ErrNotFound = errors.New("model version not found")
	// ErrNoActive: no version has been activated yet.
	ErrNoActive = errors.New("no active model version")
	// ErrNoPrevious: Rollback has no earlier activation to return to.
	ErrNoPrevious = errors.New("no previously active model version")
)

// RegistryOptions configures OpenRegistry.
type RegistryOptions struct {
	// Clock stamps activation events (required; pass time.Now in
	// production and a fixed clock in tests).
	Clock func() time.Time
	// Logger receives informational messages; nil discards them.
	Logger *slog.Logger
}

// Registry is a directory of artifacts with an activation history.
//
// Layout:
//
//	DIR/LOCK                      flock(2) target serialising all processes
//	DIR/state.json                activation stack and event log
//	DIR/artifacts/<version>.json  immutable artifact files
//
// Every file is written to a temporary file in the same directory, fsynced,
// renamed into place and the directory fsynced, so a crash leaves either the
// old or the new file, plus possibly a stray ".tmp-*" file that OpenRegistry
// removes. Mutations hold an exclusive lock on DIR/LOCK, reads a shared one,
// so several processes may use one registry. A Registry value is safe for
// concurrent use by multiple goroutines.
type Registry struct {
	dir   string
	clock func() time.Time
	log   *slog.Logger
}

// Entry describes one artifact file in a registry listing.
type Entry struct {
	// Version is the artifact version (from the file name when the file is
	// unreadable).
	Version string
	// Header is nil when Err is set.
	Header *Header
	// Active reports whether this is the active version.
	Active bool
	// Err is set when the file is corrupt or unreadable.
	Err error
}

// Event is one entry of the activation log.
type Event struct {
	At time.Time `json:"at"`
	// Action is "activate" or "rollback".
	Action string `json:"action"`
	// Version is the version active after the event; Previous the one
	// active before it ("" when none).
	Version  string `json:"version"`
	Previous string `json:"previous,omitempty"`
}

type registryState struct {
	Format int `json:"format"`
	// Stack is the activation stack: the last element is active;
	// Rollback pops it.
	Stack []string `json:"stack"`
	// Log is append-only.
	Log []Event `json:"log"`
}

const (
	stateFile    = "state.json"
	lockFile     = "LOCK"
	artifactsDir = "artifacts"
	artifactExt  = ".json"
	tmpPrefix    = ".tmp-"
)

// OpenRegistry opens (creating if needed) the registry in dir and removes
// temporary files left behind by interrupted writers.
func OpenRegistry(ctx context.Context, dir string, opts RegistryOptions) (*Registry, error) {
	if opts.Clock == nil {
		return nil, errors.New("model: OpenRegistry: RegistryOptions.Clock is required")
	}
	lg := opts.Logger
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Join(dir, artifactsDir), 0o755); err != nil {
		return nil, fmt.Errorf("model: OpenRegistry %s: %w", dir, err)
	}
	r := &Registry{dir: dir, clock: opts.Clock, log: lg.With("registry", dir)}
	err := r.withLock(ctx, true, func() error {
		for _, d := range []string{dir, filepath.Join(dir, artifactsDir)} {
			ents, err := os.ReadDir(d)
			if err != nil {
				return err
			}
			for _, e := range ents {
				if strings.HasPrefix(e.Name(), tmpPrefix) {
					p := filepath.Join(d, e.Name())
					if err := os.Remove(p); err != nil {
						return fmt.Errorf("removing stale temporary file: %w", err)
					}
					r.log.Info("removed stale temporary file from interrupted write", "file", p)
				}
			}
		}
		_, err := r.readState()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("model: OpenRegistry %s: %w", dir, err)
	}
	return r, nil
}

// Dir returns the registry directory.
func (r *Registry) Dir() string { return r.dir }

func (r *Registry) artifactPath(version string) string {
	return filepath.Join(r.dir, artifactsDir, version+artifactExt)
}

func validVersion(v string) error {
	bad := fmt.Errorf("malformed version %q (want <kind>-<16 lower-case hex digits>)", v)
	if len(v) < 18 || v[len(v)-17] != '-' || !kindRE.MatchString(v[:len(v)-17]) {
		return bad
	}
	for _, c := range v[len(v)-16:] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return bad
		}
	}
	return nil
}

// Put stores the artifact and returns its version. Putting a version that is
// already stored keeps the stored file (versions are content-addressed, so it
// predicts identically) unless that file is corrupt, in which case it is
// replaced.
func (r *Registry) Put(ctx context.Context, a *Artifact) (string, error) {
	b, err := a.MarshalBinary()
	if err != nil {
		return "", fmt.Errorf("model: registry put: %w", err)
	}
	v := a.Header.Version
	err = r.withLock(ctx, true, func() error {
		p := r.artifactPath(v)
		if old, err := os.ReadFile(p); err == nil {
			if _, _, herr := ReadHeader(old); herr == nil {
				if !bytes.Equal(old, b) {
					r.log.Info("version already registered; keeping stored artifact", "version", v)
				}
				return nil
			}
			r.log.Warn("replacing corrupt stored artifact", "version", v)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return writeFileAtomic(p, b)
	})
	if err != nil {
		return "", fmt.Errorf("model: registry put %s: %w", v, err)
	}
	return v, nil
}

// List returns every artifact file, oldest first (by CreatedAt, then
// version); corrupt files are listed with Err set rather than failing the
// listing.
func (r *Registry) List(ctx context.Context) ([]Entry, error) {
	var out []Entry
	err := r.withLock(ctx, false, func() error {
		st, err := r.readState()
		if err != nil {
			return err
		}
		active := top(st.Stack)
		ents, err := os.ReadDir(filepath.Join(r.dir, artifactsDir))
		if err != nil {
			return err
		}
		for _, e := range ents {
			name := e.Name()
			if strings.HasPrefix(name, tmpPrefix) || !strings.HasSuffix(name, artifactExt) || e.IsDir() {
				continue
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			v := strings.TrimSuffix(name, artifactExt)
			ent := Entry{Version: v, Active: v == active}
			h, err := r.readHeader(v)
			if err != nil {
				ent.Err = err
			} else {
				ent.Header = h
			}
			out = append(out, ent)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("model: registry list: %w", err)
	}
	slices.SortFunc(out, func(a, b Entry) int {
		var ta, tb time.Time
		if a.Header != nil {
			ta = a.Header.CreatedAt
		}
		if b.Header != nil {
			tb = b.Header.CreatedAt
		}
		if c := ta.Compare(tb); c != 0 {
			return c
		}
		return strings.Compare(a.Version, b.Version)
	})
	return out, nil
}

func (r *Registry) readHeader(v string) (*Header, error) {
	b, err := os.ReadFile(r.artifactPath(v))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, v)
		}
		return nil, err
	}
	h, _, err := ReadHeader(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.artifactPath(v), err)
	}
	if h.Version != v {
		return nil, fmt.Errorf("%w: %s holds version %s", ErrCorrupt, r.artifactPath(v), h.Version)
	}
	return h, nil
}

// Get loads version and checks it against the expected schema (see Load).
func (r *Registry) Get(ctx context.Context, version string, want Schema) (*Artifact, error) {
	if err := validVersion(version); err != nil {
		return nil, fmt.Errorf("model: registry get: %w", err)
	}
	var a *Artifact
	err := r.withLock(ctx, false, func() error {
		f, err := os.Open(r.artifactPath(version))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("%w: %s", ErrNotFound, version)
			}
			return err
		}
		defer f.Close()
		a, err = Load(f, want)
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name(), err)
		}
		if a.Header.Version != version {
			return fmt.Errorf("%w: %s holds version %s", ErrCorrupt, f.Name(), a.Header.Version)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("model: registry get %s: %w", version, err)
	}
	return a, nil
}

// Activate makes version the active one, pushing it on the activation stack
// and logging the event. The artifact must be stored and intact. Activating
// the already active version is a no-op.
func (r *Registry) Activate(ctx context.Context, version string) error {
	if err := validVersion(version); err != nil {
		return fmt.Errorf("model: registry activate: %w", err)
	}
	err := r.withLock(ctx, true, func() error {
		if _, err := r.readHeader(version); err != nil {
			return err
		}
		st, err := r.readState()
		if err != nil {
			return err
		}
		prev := top(st.Stack)
		if prev == version {
			return nil
		}
		st.Stack = append(st.Stack, version)
		st.Log = append(st.Log, Event{At: r.clock().UTC(), Action: "activate", Version: version, Previous: prev})
		if err := r.writeState(st); err != nil {
			return err
		}
		r.log.Info("activated model version", "version", version, "previous", prev)
		return nil
	})
	if err != nil {
		return fmt.Errorf("model: registry activate %s: %w", version, err)
	}
	return nil
}

// Active returns the active version, or an error wrapping ErrNoActive.
func (r *Registry) Active(ctx context.Context) (string, error) {
	var v string
	err := r.withLock(ctx, false, func() error {
		st, err := r.readState()
		if err != nil {
			return err
		}
		v = top(st.Stack)
		if v == "" {
			return ErrNoActive
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("model: registry active: %w", err)
	}
	return v, nil
}

// Rollback re-activates the version that was active before the current one
// (popping the activation stack) and returns it. It fails with ErrNoPrevious
// when there is none, and refuses to roll back to an artifact that is no
// longer intact (the state is then unchanged).
func (r *Registry) Rollback(ctx context.Context) (string, error) {
	var v string
	err := r.withLock(ctx, true, func() error {
		st, err := r.readState()
		if err != nil {
			return err
		}
		if len(st.Stack) < 2 {
			return ErrNoPrevious
		}
		cur := st.Stack[len(st.Stack)-1]
		v = st.Stack[len(st.Stack)-2]
		if _, err := r.readHeader(v); err != nil {
			return fmt.Errorf("previous version %s is not usable: %w", v, err)
		}
		st.Stack = st.Stack[:len(st.Stack)-1]
		st.Log = append(st.Log, Event{At: r.clock().UTC(), Action: "rollback", Version: v, Previous: cur})
		if err := r.writeState(st); err != nil {
			return err
		}
		r.log.Info("rolled back model version", "version", v, "from", cur)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("model: registry rollback: %w", err)
	}
	return v, nil
}

// History returns the activation log, oldest first.
func (r *Registry) History(ctx context.Context) ([]Event, error) {
	var log []Event
	err := r.withLock(ctx, false, func() error {
		st, err := r.readState()
		log = st.Log
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("model: registry history: %w", err)
	}
	return log, nil
}

func top(stack []string) string {
	if len(stack) == 0 {
		return ""
	}
	return stack[len(stack)-1]
}

func (r *Registry) readState() (*registryState, error) {
	p := filepath.Join(r.dir, stateFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return &registryState{Format: 1}, nil
	}
	if err != nil {
		return nil, err
	}
	var st registryState
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, p, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: %s: trailing data after state object", ErrCorrupt, p)
	}
	if st.Format != 1 {
		return nil, fmt.Errorf("%w: %s: state format %d, want 1", ErrUnsupportedFormat, p, st.Format)
	}
	for i, v := range st.Stack {
		if err := validVersion(v); err != nil {
			return nil, fmt.Errorf("%w: %s: stack entry %d: %v", ErrCorrupt, p, i, err)
		}
	}
	return &st, nil
}

func (r *Registry) writeState(st *registryState) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(r.dir, stateFile), append(b, '\n'))
}

// writeFileAtomic writes b to a temporary file next to path, fsyncs it,
// renames it over path and fsyncs the directory.
func writeFileAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, tmpPrefix+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	cleanup := func(e error) error {
		f.Close()
		os.Remove(tmp)
		return e
	}
	if _, err := f.Write(b); err != nil {
		return cleanup(fmt.Errorf("writing %s: %w", tmp, err))
	}
	if err := f.Sync(); err != nil {
		return cleanup(fmt.Errorf("fsync %s: %w", tmp, err))
	}
	if err := f.Chmod(0o644); err != nil {
		return cleanup(fmt.Errorf("chmod %s: %w", tmp, err))
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("closing %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("renaming %s to %s: %w", tmp, path, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}

// withLock runs fn holding the registry lock (exclusive or shared), waiting
// for other holders until ctx is done.
func (r *Registry) withLock(ctx context.Context, exclusive bool, fn func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(r.dir, lockFile), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("opening lock file: %w", err)
	}
	defer f.Close()
	wait := time.Millisecond
	for {
		ok, err := tryLock(f, exclusive)
		if err != nil {
			return fmt.Errorf("locking %s: %w", f.Name(), err)
		}
		if ok {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("waiting for registry lock: %w", ctx.Err())
		case <-t.C:
		}
		wait = min(wait*2, 50*time.Millisecond)
	}
	defer unlock(f)
	return fn()
}
