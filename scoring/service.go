package scoring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/duesight/duesight/api"
	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/features"
	"github.com/duesight/duesight/model"
	"github.com/duesight/duesight/scoring/contact"
)

var _ api.Backend = (*Service)(nil)

// Service is duesight's scoring backend: it implements api.Backend over an
// online feature state kept in memory, the active model bundle of a model
// registry, and a history store that events are written to. It is safe for
// concurrent use. Create it with New, then load the state with Resync.
type Service struct {
	opt       Options
	store     data.Store
	reg       *model.Registry
	clock     func() time.Time
	log       *slog.Logger
	rules     contact.Rules
	fx        map[string]float64 // minor units of reporting per minor unit
	reporting string
	in        *interner
	window    time.Duration // longest look-back of the contact rules
	costMinor [8]float64    // channel costs in reporting minor units
	fi        featureIndex

	model atomic.Pointer[bundle]
	tab   atomic.Pointer[table]
	// version changes with every applied event batch, resync and model
	// swap (worklist snapshot reuse keys on it).
	version atomic.Uint64

	// writeMu serialises event batches and the final step of a resync;
	// touched (non-nil while a resync reads the store) collects the
	// accounts events changed meanwhile.
	writeMu  sync.Mutex
	touched  map[string]struct{}
	resyncMu sync.Mutex
	modelMu  sync.Mutex

	storeDown atomic.Bool
	scored    atomic.Int64

	infoMu    sync.Mutex
	infoCache map[string]servable

	snaps   *snapshots
	scratch sync.Pool
}

// servable caches whether a registry version can be served.
type servable struct {
	ok   bool
	kind string
}

// New checks opts and loads the registry's active model (a registry with
// no active version is allowed: the service is then not ready and scoring
// answers Unavailable until a model is activated). The online state is
// empty until the first Resync.
func New(ctx context.Context, opts Options) (*Service, error) {
	if err := opts.normalize(); err != nil {
		return nil, err
	}
	s := &Service{opt: opts, store: opts.Store, reg: opts.Registry, clock: opts.Clock, log: opts.Logger,
		rules: *opts.Rules, fx: opts.FX.factors(), reporting: opts.FX.Reporting, in: newInterner(),
		infoCache: map[string]servable{}}
	s.window = opts.Rules.CallPauseAfterConversation
	for _, c := range opts.Rules.Caps {
		s.window = max(s.window, c.Per)
	}
	s.snaps = newSnapshots(opts.SnapshotTTL, opts.MaxSnapshots)
	s.costMinor = costsMinor(opts.Channels, opts.FX.Reporting)
	fi, err := newFeatureIndex()
	if err != nil {
		return nil, err
	}
	s.fi = fi
	s.scratch.New = func() any { return &scratch{vec: make([]float64, features.NumFeatures)} }
	v, err := s.reg.Active(ctx)
	switch {
	case errors.Is(err, model.ErrNoActive):
		s.log.Warn("scoring: the model registry has no active version; activate one to serve scores")
	case err != nil:
		return nil, registryError(err, "scoring: read the active model version")
	default:
		b, err := loadBundle(ctx, s.reg, v, s.opt.Reasons)
		if err != nil {
			return nil, fmt.Errorf("scoring: load the active model: %w", err)
		}
		s.model.Store(b)
		s.logBundle("scoring: model loaded", b)
	}
	return s, nil
}

func (s *Service) logBundle(msg string, b *bundle) {
	timing := b.timingVersion
	if timing == "" {
		timing = "none (empirical fallback)"
	}
	s.log.Info(msg, "version", b.version, "kind", b.kind, "timing_model", timing, "timing_fast_path", b.hazards != nil,
		"timing_payload_path", b.hazardsFromPayload, "linear_fast_path", b.fast != nil)
}

// now is the service clock in UTC at second precision (the precision of
// stored instants and of the features).
func (s *Service) now() time.Time { return data.NormalizeTime(s.clock()) }

// asOf resolves a requested instant: zero means now.
func (s *Service) asOf(t time.Time, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return data.NormalizeTime(t)
}

// serving returns the active bundle and state, or an Unavailable error.
func (s *Service) serving() (*bundle, *table, error) {
	b, t := s.model.Load(), s.tab.Load()
	switch {
	case b == nil:
		return nil, nil, data.Errorf(data.Unavailable,
			"no model is active: activate a late-payment model (POST /v1/models/{version}/activate)")
	case t == nil:
		return nil, nil, data.Errorf(data.Unavailable, "the online state is still loading")
	}
	return b, t, nil
}

// Resync rebuilds the online state from the store (streaming every history
// over Options.Workers shards) and swaps it in atomically. Readers are never
// blocked: they use the old state until the swap. Event batches keep being
// applied to the old state meanwhile; the accounts they touch are reloaded
// into the new state before the swap, so none is lost. The state doubles in
// memory while a resync runs. The first Resync makes the service ready.
func (s *Service) Resync(ctx context.Context) error {
	s.resyncMu.Lock()
	defer s.resyncMu.Unlock()
	s.writeMu.Lock()
	s.touched = map[string]struct{}{}
	s.writeMu.Unlock()
	stopTracking := func() {
		s.writeMu.Lock()
		s.touched = nil
		s.writeMu.Unlock()
	}
	start := s.clock()
	cut := s.now()
	t, err := loadTable(ctx, s.store, s.in, s.window, cut, s.opt.Workers, s.log)
	if err != nil {
		stopTracking()
		s.noteStoreError(ctx, err)
		return data.Errorf(data.Unavailable, "scoring: resync: %w", err)
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	ids := make([]string, 0, len(s.touched))
	for id := range s.touched {
		ids = append(ids, id)
	}
	s.touched = nil
	slices.Sort(ids)
	for _, id := range ids {
		if err := s.reload(ctx, t, id, s.now()); err != nil {
			s.noteStoreError(ctx, err)
			return data.Errorf(data.Unavailable, "scoring: resync: reload accounts changed during the resync: %w", err)
		}
	}
	s.tab.Store(t)
	s.version.Add(1)
	s.log.Info("scoring: online state loaded", "accounts", t.accounts.Load(), "state_bytes", t.bytes.Load(),
		"changed_during_load", len(ids), "seconds", s.clock().Sub(start).Seconds())
	return nil
}

// reload rebuilds one account of t from its stored history as of now.
func (s *Service) reload(ctx context.Context, t *table, id string, now time.Time) error {
	h, err := s.store.History(ctx, id)
	if err != nil {
		return fmt.Errorf("read the history of one account: %w", err)
	}
	b, err := t.build(h, now, nil)
	if err != nil {
		return data.Errorf(data.Internal, "replay the stored history of one account: %w", err)
	}
	t.put(b)
	return nil
}

// noteStoreError marks the store unreachable after a failed store call that
// was not the caller's cancellation.
func (s *Service) noteStoreError(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return
	}
	var ve *data.ValidationError
	if errors.As(err, &ve) {
		return
	}
	if !s.storeDown.Swap(true) {
		s.log.Error("scoring: the history store failed; serving reads from memory and refusing events", "err", err)
	}
}

// ApplyEvents validates and stores b (data.Ingest: all or nothing) and then
// applies it to the online state before returning. Rows new to the store are
// folded into the affected accounts' feature states incrementally, in time
// order; accounts whose rows are new versions, repeats, or older than what
// the state already holds are rebuilt from their stored history instead.
// Rows dated in the future are held and applied when the clock passes them.
// When the store cannot be written the batch is not applied and the error
// is data.Unavailable.
func (s *Service) ApplyEvents(ctx context.Context, b *data.Batch) (*data.IngestReport, error) {
	if s.tab.Load() == nil {
		return nil, data.Errorf(data.Unavailable, "the online state is still loading; retry")
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	rep, err := data.Ingest(ctx, s.store, b, data.IngestOptions{})
	if err != nil {
		var ve *data.ValidationError
		if errors.As(err, &ve) {
			return nil, err
		}
		s.noteStoreError(ctx, err)
		return nil, data.Errorf(data.Unavailable, "events: nothing was stored or applied: %w", err)
	}
	s.storeDown.Store(false)
	// The rows are stored: the state must follow even if the client has
	// gone away.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	t := s.tab.Load()
	ids, err := s.applyBatch(actx, t, b, rep)
	if s.touched != nil {
		for _, id := range ids {
			s.touched[id] = struct{}{}
		}
	}
	s.version.Add(1)
	if err != nil {
		s.noteStoreError(actx, err)
		return nil, data.Errorf(data.Unavailable,
			"events were stored but the online state could not be updated (retrying the same batch is safe): %w", err)
	}
	return rep, nil
}

// applyBatch applies a stored batch to t and returns the accounts touched.
func (s *Service) applyBatch(ctx context.Context, t *table, b *data.Batch, rep *data.IngestReport) ([]string, error) {
	now := s.now()
	newAccounts := rep.Added.Accounts == len(b.Accounts)
	reload := map[string]bool{}
	touched := map[string]bool{}
	for i := range b.Accounts {
		acc := &b.Accounts[i]
		touched[acc.ID] = true
		if t.lookupAccount(acc.ID) == nil && !newAccounts {
			reload[acc.ID] = true // stored before, unknown here: only its history is right
			continue
		}
		t.setAccount(acc)
	}
	groups := map[string][]pendEvent{}
	add := func(accountID string, p pendEvent) {
		clonePending(&p)
		groups[accountID] = append(groups[accountID], p)
	}
	for _, r := range b.Invoices {
		add(r.AccountID, pendEvent{at: r.IssueDate.Time(), kind: data.EventInvoice, id: r.ID, inv: r})
	}
	for _, r := range b.Payments {
		add(r.AccountID, pendEvent{at: r.Date.Time(), kind: data.EventPayment, id: r.ID, pay: r})
	}
	for _, r := range b.Contacts {
		add(r.AccountID, pendEvent{at: r.SentAt, kind: data.EventContact, id: r.ID, con: r})
	}
	for _, r := range b.Disputes {
		add(r.AccountID, pendEvent{at: r.OpenedOn.Time(), kind: data.EventDispute, id: r.ID, dis: r})
		if r.ResolvedOn != 0 {
			add(r.AccountID, pendEvent{at: r.ResolvedOn.Time(), kind: data.EventDisputeResolved, id: r.ID, dis: r})
		}
	}
	// Every event row new to the store (no repeat, no new version)?
	allNew := rep.Added.Invoices == len(b.Invoices) && rep.Added.Payments == len(b.Payments) &&
		rep.Added.Contacts == len(b.Contacts) && rep.Added.Disputes == len(b.Disputes)
	for id, evs := range groups {
		touched[id] = true
		if reload[id] {
			continue
		}
		if !allNew || t.applyNew(id, evs, now) != nil {
			reload[id] = true
		}
	}
	ids := make([]string, 0, len(reload))
	for id := range reload {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if err := s.reload(ctx, t, id, now); err != nil {
			return nil, err
		}
	}
	out := make([]string, 0, len(touched))
	for id := range touched {
		out = append(out, id)
	}
	return out, nil
}

// Models lists the late-payment models of the registry that this service
// can serve (trained on its feature schema, of a registered kind), oldest
// first, the served one marked active. Timing artifacts and artifacts that
// cannot be served are left out (and logged at debug level).
func (s *Service) Models(ctx context.Context) ([]api.ModelInfo, error) {
	entries, err := s.reg.List(ctx)
	if err != nil {
		return nil, registryError(err, "list the model registry")
	}
	events, err := s.reg.History(ctx)
	if err != nil {
		return nil, registryError(err, "read the model activation log")
	}
	activated := map[string]time.Time{}
	for _, e := range events {
		activated[e.Version] = e.At
	}
	served := ""
	if b := s.model.Load(); b != nil {
		served = b.version
	}
	out := []api.ModelInfo{}
	for _, e := range entries {
		if e.Err != nil || e.Header == nil {
			s.log.Debug("scoring: skipping an unreadable registry entry", "version", e.Version, "err", e.Err)
			continue
		}
		if !s.servable(ctx, e.Version).ok {
			continue
		}
		out = append(out, api.ModelInfo{Version: e.Version, Kind: e.Header.Kind, TrainedAt: e.Header.CreatedAt,
			ActivatedAt: activated[e.Version], Active: e.Version == served, Metrics: e.Header.Metrics})
	}
	return out, nil
}

// servable reports (cached: versions are content-addressed) whether version
// decodes to a late-payment model of the served schema.
func (s *Service) servable(ctx context.Context, version string) servable {
	s.infoMu.Lock()
	v, ok := s.infoCache[version]
	s.infoMu.Unlock()
	if ok {
		return v
	}
	a, err := s.reg.Get(ctx, version, Schema())
	if err == nil {
		_, err = a.Model()
	}
	if err != nil {
		if ctx.Err() == nil {
			s.log.Debug("scoring: registry version cannot be served", "version", version, "err", err)
		}
		if data.ErrorCode(registryError(err, "")) == data.Unavailable {
			return servable{} // do not cache a cancellation
		}
		v = servable{}
	} else {
		v = servable{ok: true, kind: a.Header.Kind}
	}
	s.infoMu.Lock()
	s.infoCache[version] = v
	s.infoMu.Unlock()
	return v
}

// ActivateModel loads version (and its timing model), records it as the
// registry's active version and swaps it in atomically: requests that
// loaded the old bundle finish with it; later ones use the new one.
func (s *Service) ActivateModel(ctx context.Context, version string) (*api.ActivateResult, error) {
	s.modelMu.Lock()
	defer s.modelMu.Unlock()
	nb, err := loadBundle(ctx, s.reg, version, s.opt.Reasons)
	if err != nil {
		return nil, fmt.Errorf("activate: %w", err)
	}
	if err := s.reg.Activate(ctx, version); err != nil {
		return nil, registryError(err, "activate: record %q as the active version", version)
	}
	old := s.model.Swap(nb)
	s.version.Add(1)
	s.logBundle("scoring: model activated", nb)
	res := &api.ActivateResult{Active: version}
	if old != nil {
		res.Previous = old.version
	}
	return res, nil
}

// SyncModel serves the registry's active version if it differs from the
// served one (another process, e.g. the CLI, may have activated or rolled
// back a model). It returns whether the served model changed.
func (s *Service) SyncModel(ctx context.Context) (bool, error) {
	s.modelMu.Lock()
	defer s.modelMu.Unlock()
	v, err := s.reg.Active(ctx)
	if errors.Is(err, model.ErrNoActive) {
		return false, nil
	}
	if err != nil {
		return false, registryError(err, "read the active model version")
	}
	if b := s.model.Load(); b != nil && b.version == v {
		return false, nil
	}
	nb, err := loadBundle(ctx, s.reg, v, s.opt.Reasons)
	if err != nil {
		return false, fmt.Errorf("load the active model: %w", err)
	}
	s.model.Store(nb)
	s.version.Add(1)
	s.logBundle("scoring: model changed in the registry; now serving it", nb)
	return true, nil
}

// Ready is not ready while no model is active or the state is loading, and
// degraded while the store cannot be reached (it probes the store with
// SchemaVersion, bounded by ctx).
func (s *Service) Ready(ctx context.Context) api.Readiness {
	if s.model.Load() == nil {
		return api.Readiness{Status: api.StatusNotReady, Reason: "no model is active"}
	}
	if s.tab.Load() == nil {
		return api.Readiness{Status: api.StatusNotReady, Reason: "the online state is loading"}
	}
	if _, err := s.store.SchemaVersion(ctx); err != nil {
		s.noteStoreError(ctx, err)
		return api.Readiness{Status: api.StatusDegraded,
			Reason: "the history store is unreachable: reads are served from memory, events are refused"}
	}
	if s.storeDown.Swap(false) {
		s.log.Info("scoring: the history store is reachable again")
	}
	return api.Readiness{Status: api.StatusReady}
}

// Stats reports the served model, the accounts in the online state and an
// estimate of the state's memory (features.State.SizeBytes plus this
// package's per-account records, open-invoice index and map entries).
func (s *Service) Stats() api.Stats {
	var st api.Stats
	if b := s.model.Load(); b != nil {
		st.ActiveModel = b.version
	}
	if t := s.tab.Load(); t != nil {
		st.FeatureStateEntries = t.accounts.Load()
		st.FeatureStateBytes = t.bytes.Load()
	}
	return st
}

// ScoresServed is the number of invoice scores returned by Score since New.
func (s *Service) ScoresServed() int64 { return s.scored.Load() }

// issueText shortens an id for an error message sent to the client.
func issueText(id string) string {
	if len(id) > 64 {
		return strings.ToValidUTF8(id[:64], "") + "…"
	}
	return id
}
