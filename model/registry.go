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
	// ErrNotLatePayment: Activate was given a version that is not a
	// late-payment model (e.g. a payment-timing model). It also matches
	// ErrWrongType.
	ErrNotLatePayment error = kindOf{"only late-payment models can be active", ErrWrongType}
)

// kindOf is a sentinel error that also matches a more general one.
type kindOf struct {
	msg  string
	also error
}

func (e kindOf) Error() string        { return e.msg }
func (e kindOf) Is(target error) bool { return target == e.also }

// RegistryOptions configures OpenRegistry.
type RegistryOptions struct {
	// Clock stamps activation events (required; pass time.Now in
	// production and a fixed clock in tests).
	Clock func() time.Time
	// Logger receives informational messages; nil discards them.
	Logger *slog.Logger
}

// Registry is a directory of artifacts with an activation history. Only
// late-payment models (artifacts whose predictor implements [Model]) can be
// active: the active version is what serving scores with, and a
// payment-timing model is only ever used through the late-payment model
// that links it. Checking this decodes the artifact, so Activate and
// Rollback need its kind registered (see [Register]).
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
	// Skipped lists, for a rollback, the earlier activations it passed over
	// because they are not late-payment models (newest first).
	Skipped []string `json:"skipped,omitempty"`
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
	err := r.withLock(ctx, false, func() (err error) {
		out, err = r.list(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("model: registry list: %w", err)
	}
	return out, nil
}

// list is List with the lock held.
func (r *Registry) list(ctx context.Context) ([]Entry, error) {
	st, err := r.readState()
	if err != nil {
		return nil, err
	}
	active := top(st.Stack)
	ents, err := os.ReadDir(filepath.Join(r.dir, artifactsDir))
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, tmpPrefix) || !strings.HasSuffix(name, artifactExt) || e.IsDir() {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
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

// decodeStored reads and decodes the stored artifact of version (lock held).
func (r *Registry) decodeStored(version string) (*Artifact, error) {
	b, err := os.ReadFile(r.artifactPath(version))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, version)
		}
		return nil, err
	}
	a, err := decodeBytes(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.artifactPath(version), err)
	}
	if a.Header.Version != version {
		return nil, fmt.Errorf("%w: %s holds version %s", ErrCorrupt, r.artifactPath(version), a.Header.Version)
	}
	return a, nil
}

// isLatePayment reports whether a can be active: its predictor is a Model.
func isLatePayment(a *Artifact) bool {
	_, ok := a.pred.(Model)
	return ok
}

// role names what a predictor predicts, for error messages.
func role(p Predictor) string {
	switch p.(type) {
	case Model:
		return "late-payment model"
	case Timing:
		return "payment-timing model"
	case Multiclass:
		return "late-bucket model"
	}
	return fmt.Sprintf("%T predictor", p)
}

// lateVersions lists up to limit late-payment versions of the registry,
// newest first, and how many more there are (lock held). Entries that do
// not decode are left out.
func (r *Registry) lateVersions(ctx context.Context, limit int) ([]string, int, error) {
	ents, err := r.list(ctx)
	if err != nil {
		return nil, 0, err
	}
	var out []string
	more := 0
	for _, e := range slices.Backward(ents) {
		if e.Err != nil {
			continue
		}
		if a, err := r.decodeStored(e.Version); err == nil && isLatePayment(a) {
			if len(out) < limit {
				out = append(out, e.Version)
			} else {
				more++
			}
		}
	}
	return out, more, nil
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
// and logging the event. The artifact must be stored, intact, of a
// registered kind and a late-payment model; otherwise the error wraps
// ErrNotFound, ErrCorrupt, ErrUnknownKind or ErrNotLatePayment (naming the
// artifact's kind and listing the late-payment versions that can be
// activated) and the state is unchanged. Activating the already active
// version is a no-op.
func (r *Registry) Activate(ctx context.Context, version string) error {
	if err := validVersion(version); err != nil {
		return fmt.Errorf("model: registry activate: %w", err)
	}
	err := r.withLock(ctx, true, func() error {
		a, err := r.decodeStored(version)
		if err != nil {
			return err
		}
		if !isLatePayment(a) {
			late, more, err := r.lateVersions(ctx, 5)
			if err != nil {
				return err
			}
			can := "this registry holds no late-payment model to activate"
			if len(late) > 0 {
				can = "late-payment versions in this registry: " + strings.Join(late, ", ")
				if more > 0 {
					can += fmt.Sprintf(" and %d older", more)
				}
			}
			return fmt.Errorf("%w: %s is a %s (kind %q); %s", ErrNotLatePayment, version, role(a.pred), a.Header.Kind, can)
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

// Rollback re-activates the most recent earlier activation that is a
// late-payment model, pops the activation stack down to it, logs the event
// and returns it. Earlier activations that are not late-payment models
// (payment-timing models activated before Activate refused them) are
// skipped, popped and listed in Event.Skipped, so a rollback never lands
// on a model that cannot be served. It fails with ErrNoPrevious when no
// earlier late-payment activation remains, and refuses to roll back to an
// artifact that is missing, corrupt or of an unregistered kind; on failure
// the state is unchanged.
func (r *Registry) Rollback(ctx context.Context) (Event, error) {
	var ev Event
	err := r.withLock(ctx, true, func() error {
		st, err := r.readState()
		if err != nil {
			return err
		}
		if len(st.Stack) < 2 {
			return ErrNoPrevious
		}
		cur := st.Stack[len(st.Stack)-1]
		var skipped []string
		i := len(st.Stack) - 2
		for ; i >= 0; i-- {
			v := st.Stack[i]
			a, err := r.decodeStored(v)
			if err != nil {
				return fmt.Errorf("previous version %s is not usable: %w", v, err)
			}
			if isLatePayment(a) {
				break
			}
			skipped = append(skipped, v)
		}
		if i < 0 {
			return fmt.Errorf("%w: no earlier activation is a late-payment model (not: %s)", ErrNoPrevious, strings.Join(skipped, ", "))
		}
		ev = Event{At: r.clock().UTC(), Action: "rollback", Version: st.Stack[i], Previous: cur, Skipped: skipped}
		st.Stack = st.Stack[:i+1]
		st.Log = append(st.Log, ev)
		if err := r.writeState(st); err != nil {
			return err
		}
		r.log.Info("rolled back model version", "version", ev.Version, "from", cur, "skipped_not_late_payment", skipped)
		return nil
	})
	if err != nil {
		return Event{}, fmt.Errorf("model: registry rollback: %w", err)
	}
	return ev, nil
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
