package features

import (
	"errors"
	"log/slog"
	"sync"
	"time"
	"unsafe"

	"github.com/duesight/duesight/data"
)

const featurizerShards = 64

type stateShard struct {
	mu sync.Mutex
	m  map[string]*State
}

// Featurizer keeps the online State of many accounts for serving: events
// are applied as they arrive and Vector reads the features now. It is safe
// for concurrent use; accounts are spread over 64 independently locked
// shards (by data.AccountHash).
//
// Each event must be applied exactly once, in time order per account. An
// event older than the account's latest applied event fails with
// ErrOutOfOrder (wrapped in a data.Error with code Conflict): reload the
// account's history with Load, which replays it through the same code Build
// uses, so training and serving vectors stay identical.
type Featurizer struct {
	shards [featurizerShards]stateShard
	log    *slog.Logger
}

// NewFeaturizer returns an empty Featurizer; a nil logger discards.
func NewFeaturizer(logger *slog.Logger) *Featurizer {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	f := &Featurizer{log: logger}
	for i := range f.shards {
		f.shards[i].m = map[string]*State{}
	}
	return f
}

func (f *Featurizer) shard(accountID string) *stateShard {
	return &f.shards[data.AccountHash(accountID)%featurizerShards]
}

// Load replaces the state of h's account with the replay of every event of
// h that happened strictly before until (zero = all).
func (f *Featurizer) Load(h *data.History, until time.Time) error {
	st, err := Replay(h, until)
	if err != nil {
		return data.Errorf(data.Invalid, "features: load account %q: %w", h.Account.ID, err)
	}
	sh := f.shard(h.Account.ID)
	sh.mu.Lock()
	sh.m[h.Account.ID] = st
	sh.mu.Unlock()
	return nil
}

// SetAccount records new account attributes, creating an empty state for an
// account not yet known.
func (f *Featurizer) SetAccount(acc data.Account) {
	sh := f.shard(acc.ID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if st, ok := sh.m[acc.ID]; ok {
		st.SetAccount(acc)
		return
	}
	sh.m[acc.ID] = NewState(acc)
}

// Remove forgets an account.
func (f *Featurizer) Remove(accountID string) {
	sh := f.shard(accountID)
	sh.mu.Lock()
	delete(sh.m, accountID)
	sh.mu.Unlock()
}

func (f *Featurizer) apply(accountID string, do func(*State) error) error {
	sh := f.shard(accountID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	st, ok := sh.m[accountID]
	if !ok {
		return data.Errorf(data.NotFound, "features: account %q has no state (SetAccount or Load it first)", accountID)
	}
	if err := do(st); err != nil {
		code := data.Invalid
		if errors.Is(err, ErrOutOfOrder) {
			code = data.Conflict
			f.log.Debug("features: out-of-order event", "account", accountID)
		}
		return data.Errorf(code, "features: account %q: %w", accountID, err)
	}
	return nil
}

// ApplyInvoice applies an issued invoice to its account's state.
func (f *Featurizer) ApplyInvoice(inv data.Invoice) error {
	return f.apply(inv.AccountID, func(s *State) error { return s.ApplyInvoice(inv) })
}

// ApplyPayment applies a payment (or credit note, write-off) to its account's state.
func (f *Featurizer) ApplyPayment(p data.Payment) error {
	return f.apply(p.AccountID, func(s *State) error { return s.ApplyPayment(p) })
}

// ApplyContact applies a collection contact to its account's state.
func (f *Featurizer) ApplyContact(c data.Contact) error {
	return f.apply(c.AccountID, func(s *State) error { return s.ApplyContact(c) })
}

// ApplyDisputeOpened applies the opening of a dispute.
func (f *Featurizer) ApplyDisputeOpened(d data.Dispute) error {
	return f.apply(d.AccountID, func(s *State) error { return s.ApplyDisputeOpened(d) })
}

// ApplyDisputeResolved applies the resolution of a dispute.
func (f *Featurizer) ApplyDisputeResolved(d data.Dispute) error {
	return f.apply(d.AccountID, func(s *State) error { return s.ApplyDisputeResolved(d) })
}

// Apply applies the event ev of history h (see data.History.Events) to
// the account's state, as State.Apply does.
func (f *Featurizer) Apply(h *data.History, ev data.Event) error {
	return f.apply(h.Account.ID, func(s *State) error { return s.Apply(h, ev) })
}

// Vector returns the features of invoice inv (of account accountID) as of
// asOf. asOf must be after the account's latest applied event (else the
// error has code Invalid): features as of t use only events before t.
func (f *Featurizer) Vector(accountID string, asOf time.Time, inv data.Invoice, dst []float64) ([]float64, error) {
	sh := f.shard(accountID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	st, ok := sh.m[accountID]
	if !ok {
		return nil, data.Errorf(data.NotFound, "features: account %q has no state", accountID)
	}
	if wm := st.Watermark(); !wm.IsZero() && !asOf.After(wm) {
		return nil, data.Errorf(data.Invalid, "features: account %q: as-of %s is not after its latest event at %s",
			accountID, asOf.UTC().Format(time.RFC3339), wm.Format(time.RFC3339))
	}
	return st.Vector(asOf, inv, dst), nil
}

// Len returns the number of accounts held.
func (f *Featurizer) Len() int {
	n := 0
	for i := range f.shards {
		sh := &f.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}

// SizeBytes estimates the memory held: every State (SizeBytes) plus its map
// entry (key header and bytes, pointer, ~1 byte of map control data).
func (f *Featurizer) SizeBytes() int {
	n := 0
	for i := range f.shards {
		sh := &f.shards[i]
		sh.mu.Lock()
		for k, st := range sh.m {
			n += st.SizeBytes() + int(unsafe.Sizeof(k)) + len(k) + int(unsafe.Sizeof(st)) + 1
		}
		sh.mu.Unlock()
	}
	return n
}
