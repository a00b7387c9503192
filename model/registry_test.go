package model_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/duesight/duesight/model"
)

var schema = model.Schema{Version: "features/v1", Names: baseNames}

func clock() func() time.Time {
	var mu sync.Mutex
	t := fixedTime
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Minute)
		return t
	}
}

func openReg(t *testing.T, dir string) *model.Registry {
	t.Helper()
	r, err := model.OpenRegistry(context.Background(), dir, model.RegistryOptions{Clock: clock()})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func put(t *testing.T, r *model.Registry, w float64) string {
	t.Helper()
	a, err := model.NewArtifact(newLin(w, 0, 0), meta())
	if err != nil {
		t.Fatal(err)
	}
	v, err := r.Put(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestRegistryActivateRollback(t *testing.T) {
	ctx := context.Background()
	r := openReg(t, t.TempDir())
	if _, err := r.Active(ctx); !errors.Is(err, model.ErrNoActive) {
		t.Fatalf("Active on empty registry: %v, want ErrNoActive", err)
	}
	if _, err := r.Rollback(ctx); !errors.Is(err, model.ErrNoPrevious) {
		t.Fatalf("Rollback on empty registry: %v, want ErrNoPrevious", err)
	}
	v1, v2, v3 := put(t, r, 1), put(t, r, 2), put(t, r, 3)
	if v1 == v2 || v2 == v3 {
		t.Fatal("distinct models got equal versions")
	}
	for _, v := range []string{v1, v2, v3} {
		if err := r.Activate(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	// Re-activating the active version is a no-op.
	if err := r.Activate(ctx, v3); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		want string
		err  error
	}{{v2, nil}, {v1, nil}, {"", model.ErrNoPrevious}}
	for i, s := range steps {
		got, err := r.Rollback(ctx)
		if !errors.Is(err, s.err) || got.Version != s.want || got.Skipped != nil {
			t.Fatalf("rollback %d = %+v, %v; want %q, %v", i, got, err, s.want, s.err)
		}
	}
	if act, err := r.Active(ctx); err != nil || act != v1 {
		t.Fatalf("Active = %q, %v; want %q", act, err, v1)
	}
	// Activate after rollback pushes on top of the remaining stack.
	if err := r.Activate(ctx, v3); err != nil {
		t.Fatal(err)
	}
	if got, err := r.Rollback(ctx); err != nil || got.Version != v1 {
		t.Fatalf("rollback after re-activation = %+v, %v; want %q", got, err, v1)
	}
	hist, err := r.History(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range hist {
		actions = append(actions, e.Action+":"+e.Version)
	}
	want := []string{"activate:" + v1, "activate:" + v2, "activate:" + v3, "rollback:" + v2, "rollback:" + v1, "activate:" + v3, "rollback:" + v1}
	if strings.Join(actions, " ") != strings.Join(want, " ") {
		t.Errorf("history\n got %v\nwant %v", actions, want)
	}
	for i := 1; i < len(hist); i++ {
		if !hist[i].At.After(hist[i-1].At) {
			t.Errorf("event %d not after event %d", i, i-1)
		}
		if hist[i].Previous != hist[i-1].Version {
			t.Errorf("event %d previous = %q, want %q", i, hist[i].Previous, hist[i-1].Version)
		}
	}
	// State survives reopening.
	r2 := openReg(t, r.Dir())
	if act, _ := r2.Active(ctx); act != v1 {
		t.Errorf("after reopen Active = %q, want %q", act, v1)
	}
}

func TestRegistryPutGetList(t *testing.T) {
	ctx := context.Background()
	r := openReg(t, t.TempDir())
	v := put(t, r, 1.5)
	if again := put(t, r, 1.5); again != v {
		t.Errorf("re-putting the same model gave %q, want %q", again, v)
	}
	a, err := r.Get(ctx, v, schema)
	if err != nil {
		t.Fatal(err)
	}
	m, err := a.Model()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.PredictProba([]float64{1, 0, 0}), newLin(1.5, 0, 0).PredictProba([]float64{1, 0, 0}); got != want {
		t.Errorf("stored model predicts %v, want %v", got, want)
	}
	if _, err := r.Get(ctx, v, model.Schema{Version: "features/v2", Names: baseNames}); !errors.Is(err, model.ErrSchemaMismatch) {
		t.Errorf("Get with other schema: %v, want ErrSchemaMismatch", err)
	}
	if _, err := r.Get(ctx, "test-linear-0000000000000000", schema); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("Get unknown: %v, want ErrNotFound", err)
	}
	for _, bad := range []string{"../../etc/passwd", "test-linear-XYZ", ""} {
		if _, err := r.Get(ctx, bad, schema); err == nil || !strings.Contains(err.Error(), "malformed version") {
			t.Errorf("Get(%q): %v, want malformed version", bad, err)
		}
	}
	if err := r.Activate(ctx, "test-linear-0000000000000000"); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("Activate unknown: %v, want ErrNotFound", err)
	}
	v2 := put(t, r, 2.5)
	if err := r.Activate(ctx, v2); err != nil {
		t.Fatal(err)
	}
	ents, err := r.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 2 {
		t.Fatalf("List = %d entries, want 2", len(ents))
	}
	for _, e := range ents {
		if e.Err != nil || e.Header == nil || e.Header.Version != e.Version || e.Active != (e.Version == v2) {
			t.Errorf("entry %+v", e)
		}
	}
}

func TestRegistryCorruptArtifact(t *testing.T) {
	ctx := context.Background()
	r := openReg(t, t.TempDir())
	good, bad := put(t, r, 1), put(t, r, 2)
	if err := r.Activate(ctx, good); err != nil {
		t.Fatal(err)
	}
	if err := r.Activate(ctx, bad); err != nil {
		t.Fatal(err)
	}
	// Corrupt the active artifact on disk (e.g. a disk error): flip a byte
	// inside the header.
	p := filepath.Join(r.Dir(), "artifacts", bad+".json")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(b), "2024-12-31")
	b[i+3] = '5'
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Get(ctx, bad, schema); !errors.Is(err, model.ErrCorrupt) || !strings.Contains(err.Error(), bad) {
		t.Errorf("Get corrupt: %v, want ErrCorrupt naming %s", err, bad)
	}
	ents, err := r.List(ctx)
	if err != nil {
		t.Fatalf("List must not fail because one file is corrupt: %v", err)
	}
	var sawBad, sawGood bool
	for _, e := range ents {
		switch e.Version {
		case bad:
			sawBad = errors.Is(e.Err, model.ErrCorrupt)
		case good:
			sawGood = e.Err == nil
		}
	}
	if !sawBad || !sawGood {
		t.Errorf("List = %+v; want corrupt %s flagged and %s intact", ents, bad, good)
	}
	// Rolling back off the corrupt version works; activating it again fails
	// and leaves the state unchanged.
	if ev, err := r.Rollback(ctx); err != nil || ev.Version != good {
		t.Fatalf("Rollback = %+v, %v", ev, err)
	}
	if err := r.Activate(ctx, bad); !errors.Is(err, model.ErrCorrupt) {
		t.Errorf("Activate corrupt: %v, want ErrCorrupt", err)
	}
	if act, _ := r.Active(ctx); act != good {
		t.Errorf("Active = %q after failed activation, want %q", act, good)
	}
	// Put of the same version repairs the corrupt file.
	if v := put(t, r, 2); v != bad {
		t.Fatalf("re-put gave %q", v)
	}
	if _, err := r.Get(ctx, bad, schema); err != nil {
		t.Errorf("after repair: %v", err)
	}
}

func TestRegistryInterruptedWrites(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r := openReg(t, dir)
	v := put(t, r, 1)
	if err := r.Activate(ctx, v); err != nil {
		t.Fatal(err)
	}
	stateBefore, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	// Simulate processes killed between writing a temp file and renaming
	// it: half-written artifact and state temp files remain.
	partialArtifact := filepath.Join(dir, "artifacts", ".tmp-test-linear-1111111111111111.json-123")
	partialState := filepath.Join(dir, ".tmp-state.json-456")
	if err := os.WriteFile(partialArtifact, []byte(`{"magic":"duesight-model","hea`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(partialState, []byte(`{"format":1,"stack":["test-lin`), 0o644); err != nil {
		t.Fatal(err)
	}
	// Before cleanup, readers ignore the temp files.
	ents, err := r.List(ctx)
	if err != nil || len(ents) != 1 || ents[0].Version != v {
		t.Fatalf("List with stray temp files = %+v, %v", ents, err)
	}
	if act, err := r.Active(ctx); err != nil || act != v {
		t.Fatalf("Active with stray temp files = %q, %v", act, err)
	}
	// Reopening removes them and leaves the state untouched.
	openReg(t, dir)
	for _, p := range []string{partialArtifact, partialState} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s not cleaned up: %v", p, err)
		}
	}
	stateAfter, _ := os.ReadFile(filepath.Join(dir, "state.json"))
	if string(stateAfter) != string(stateBefore) {
		t.Error("state changed by cleanup")
	}
	// A corrupt state file is reported, not silently reset.
	if err := os.WriteFile(filepath.Join(dir, "state.json"), []byte("{garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := model.OpenRegistry(ctx, dir, model.RegistryOptions{Clock: clock()}); !errors.Is(err, model.ErrCorrupt) || !strings.Contains(err.Error(), "state.json") {
		t.Errorf("OpenRegistry with corrupt state: %v, want ErrCorrupt naming state.json", err)
	}
}

func TestRegistryNeedsClock(t *testing.T) {
	if _, err := model.OpenRegistry(context.Background(), t.TempDir(), model.RegistryOptions{}); err == nil || !strings.Contains(err.Error(), "Clock is required") {
		t.Errorf("err = %v", err)
	}
}

func TestRegistryLockHonoursContext(t *testing.T) {
	dir := t.TempDir()
	r := openReg(t, dir)
	put(t, r, 1)
	// Hold the lock from "another process" (another open file description).
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := flockExclusive(f); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = r.List(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("List while locked: %v, want DeadlineExceeded", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Error("lock wait ignored the context deadline")
	}
}

const helperEnv = "DUESIGHT_REGISTRY_HELPER"

// TestRegistryMultiProcess runs several processes that concurrently
// activate models in one registry; no update may be lost.
func TestRegistryMultiProcess(t *testing.T) {
	const procs, each = 4, 15
	dir := t.TempDir()
	openReg(t, dir)
	barrier := t.TempDir()
	// Store every artifact up front so the helpers contend on activation.
	r0 := openReg(t, dir)
	for p := range procs {
		for k := range each {
			put(t, r0, float64(p*1000+k))
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, procs)
	for p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^TestRegistryHelperProcess$", "-test.count=1")
			cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s,%d,%d,%s", helperEnv, dir, p, each, barrier))
			out, err := cmd.CombinedOutput()
			if err != nil {
				errs[p] = fmt.Errorf("helper %d: %v\n%s", p, err, out)
			}
		}()
	}
	// Release all helpers at once so their updates contend for the lock.
	deadline := time.Now().Add(30 * time.Second)
	for {
		ready, _ := filepath.Glob(filepath.Join(barrier, "ready-*"))
		if len(ready) == procs || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := os.WriteFile(filepath.Join(barrier, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	r := openReg(t, dir)
	ents, err := r.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != procs*each {
		t.Errorf("%d artifacts, want %d", len(ents), procs*each)
	}
	hist, err := r.History(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != procs*each {
		t.Fatalf("%d activation events, want %d (lost updates)", len(hist), procs*each)
	}
	for i := 1; i < len(hist); i++ {
		if hist[i].Previous != hist[i-1].Version {
			t.Fatalf("event %d previous %q, want %q: interleaved read-modify-write", i, hist[i].Previous, hist[i-1].Version)
		}
	}
	n := 0
	for {
		if _, err := r.Rollback(ctx); err != nil {
			if !errors.Is(err, model.ErrNoPrevious) {
				t.Fatal(err)
			}
			break
		}
		n++
	}
	if n != procs*each-1 {
		t.Errorf("rolled back %d times, want %d", n, procs*each-1)
	}
}

func TestRegistryHelperProcess(t *testing.T) {
	spec := os.Getenv(helperEnv)
	if spec == "" {
		t.Skip("helper for TestRegistryMultiProcess")
	}
	parts := strings.Split(spec, ",")
	p, _ := strconv.Atoi(parts[1])
	each, _ := strconv.Atoi(parts[2])
	ctx := context.Background()
	r, err := model.OpenRegistry(ctx, parts[0], model.RegistryOptions{Clock: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(parts[3], "ready-"+parts[1]), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if _, err := os.Stat(filepath.Join(parts[3], "go")); err == nil {
			break
		}
	}
	for k := range each {
		a, err := model.NewArtifact(newLin(float64(p*1000+k), 0, 0), meta())
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Activate(ctx, a.Header.Version); err != nil {
			t.Fatal(err)
		}
	}
}

func putTiming(t *testing.T, r *model.Registry) string {
	t.Helper()
	a, err := model.NewArtifact(&timingStub{Names: baseNames}, meta())
	if err != nil {
		t.Fatal(err)
	}
	v, err := r.Put(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestRegistryActivatesOnlyLatePaymentModels: a payment-timing model is
// stored like any artifact but cannot be activated; the error names its
// kind and the versions that can be, and the state is unchanged.
func TestRegistryActivatesOnlyLatePaymentModels(t *testing.T) {
	ctx := context.Background()
	r := openReg(t, t.TempDir())
	tm := putTiming(t, r)
	err := r.Activate(ctx, tm)
	if !errors.Is(err, model.ErrNotLatePayment) || !errors.Is(err, model.ErrWrongType) {
		t.Fatalf("Activate timing model: %v, want ErrNotLatePayment", err)
	}
	for _, want := range []string{tm, `payment-timing model (kind "test-timing")`, "only late-payment models can be active", "holds no late-payment model"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if _, err := r.Active(ctx); !errors.Is(err, model.ErrNoActive) {
		t.Fatalf("after the refused activation: Active = %v, want ErrNoActive", err)
	}
	v1, v2 := put(t, r, 1), put(t, r, 2)
	if err := r.Activate(ctx, v1); err != nil {
		t.Fatal(err)
	}
	err = r.Activate(ctx, tm)
	if !errors.Is(err, model.ErrNotLatePayment) || !strings.Contains(err.Error(), "late-payment versions in this registry: ") ||
		!strings.Contains(err.Error(), v1) || !strings.Contains(err.Error(), v2) {
		t.Fatalf("Activate timing model: %v, want ErrNotLatePayment listing %s and %s", err, v1, v2)
	}
	if act, _ := r.Active(ctx); act != v1 {
		t.Errorf("Active = %q after the refused activation, want %q", act, v1)
	}
	if h, _ := r.History(ctx); len(h) != 1 {
		t.Errorf("history has %d events, want 1 (the refused activation is not logged)", len(h))
	}
	// A kind this program has not registered cannot be checked: refused.
	a, err := model.NewArtifact(unregistered{newLin(3)}, meta())
	if err != nil {
		t.Fatal(err)
	}
	unknown, err := r.Put(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Activate(ctx, unknown); !errors.Is(err, model.ErrUnknownKind) {
		t.Errorf("activating an unregistered kind: %v, want ErrUnknownKind", err)
	}
	if act, _ := r.Active(ctx); act != v1 {
		t.Errorf("Active = %q after the refused activation, want %q", act, v1)
	}
}

// unregistered is a binary model of a kind no decoder is registered for.
type unregistered struct{ *linModel }

func (unregistered) Kind() string { return "test-unregistered" }

// TestRegistryRollbackSkipsNonLatePayment: an activation stack written
// before Activate refused timing models may hold one; Rollback passes over
// it (and says so) instead of landing on a model serve cannot use, and when
// nothing usable remains it refuses and changes nothing.
func TestRegistryRollbackSkipsNonLatePayment(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r := openReg(t, dir)
	v1, v2 := put(t, r, 1), put(t, r, 2)
	tm := putTiming(t, r)
	legacy := func(stack ...string) {
		t.Helper()
		b, err := json.Marshal(map[string]any{"format": 1, "stack": stack, "log": []any{}})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "state.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	legacy(v1, tm, v2)
	ev, err := r.Rollback(ctx)
	if err != nil || ev.Version != v1 || ev.Previous != v2 || !slices.Equal(ev.Skipped, []string{tm}) {
		t.Fatalf("Rollback = %+v, %v; want %s (from %s) skipping %s", ev, err, v1, v2, tm)
	}
	if act, _ := r.Active(ctx); act != v1 {
		t.Errorf("Active = %q, want %q", act, v1)
	}
	if h, _ := r.History(ctx); len(h) != 1 || !slices.Equal(h[0].Skipped, []string{tm}) {
		t.Errorf("history %+v does not record the skipped version", h)
	}
	if _, err := r.Rollback(ctx); !errors.Is(err, model.ErrNoPrevious) {
		t.Errorf("second Rollback: %v, want ErrNoPrevious (the skipped entry is gone)", err)
	}

	legacy(tm, v2)
	if _, err := r.Rollback(ctx); !errors.Is(err, model.ErrNoPrevious) || !strings.Contains(err.Error(), tm) {
		t.Fatalf("Rollback onto only a timing model: %v, want ErrNoPrevious naming %s", err, tm)
	}
	if act, _ := r.Active(ctx); act != v2 {
		t.Errorf("Active = %q after the refused rollback, want %q (unchanged)", act, v2)
	}
}
