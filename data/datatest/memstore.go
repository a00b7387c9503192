package datatest

import (
	"cmp"
	"context"
	"iter"
	"maps"
	"slices"
	"sync"

	"github.com/duesight/duesight/data"
)

// MemStore is an in-memory data.Store: the reference behaviour for the
// conformance suite and a fast store for unit tests. It is safe for
// concurrent use.
type MemStore struct {
	mu      sync.RWMutex // guards every field below
	hist    map[string]*data.History
	actions map[string][]data.Action // by ID, in append order
	writing bool
	closed  bool
}

var _ data.Store = (*MemStore)(nil)

// NewMemStore returns an empty store.
func NewMemStore() *MemStore {
	return &MemStore{hist: map[string]*data.History{}, actions: map[string][]data.Action{}}
}

func (m *MemStore) check() error {
	if m.closed {
		return data.Errorf(data.Unavailable, "memstore: closed")
	}
	return nil
}

// SchemaVersion implements data.Store.
func (m *MemStore) SchemaVersion(context.Context) (int, error) { return data.SchemaVersion, nil }

type memWriter struct {
	m       *MemStore
	pending []data.Batch
	done    bool
}

// Begin implements data.Store. A second concurrent writer gets Conflict.
func (m *MemStore) Begin(context.Context) (data.Writer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(); err != nil {
		return nil, err
	}
	if m.writing {
		return nil, data.Errorf(data.Conflict, "memstore: another write is in progress")
	}
	m.writing = true
	return &memWriter{m: m}, nil
}

func (w *memWriter) Write(_ context.Context, b *data.Batch) error {
	if w.done {
		return data.Errorf(data.Invalid, "memstore: write after commit or rollback")
	}
	c := *b
	c.Accounts = slices.Clone(b.Accounts)
	c.Invoices = slices.Clone(b.Invoices)
	c.Payments = slices.Clone(b.Payments)
	c.Contacts = slices.Clone(b.Contacts)
	c.Disputes = slices.Clone(b.Disputes)
	c.Normalize()
	w.pending = append(w.pending, c)
	return nil
}

func (w *memWriter) Commit(context.Context) error {
	if w.done {
		return data.Errorf(data.Invalid, "memstore: commit after commit or rollback")
	}
	m := w.m
	m.mu.Lock()
	defer m.mu.Unlock()
	w.done = true
	m.writing = false
	if err := m.check(); err != nil {
		return err
	}
	touched := map[string]bool{}
	get := func(id string) *data.History {
		touched[id] = true
		h := m.hist[id]
		if h == nil {
			h = &data.History{Account: data.Account{ID: id}}
			m.hist[id] = h
		}
		return h
	}
	for _, b := range w.pending {
		for _, r := range b.Accounts {
			get(r.ID).Account = r
		}
		for _, r := range b.Invoices {
			h := get(r.AccountID)
			h.Invoices = append(h.Invoices, r)
		}
		for _, r := range b.Payments {
			h := get(r.AccountID)
			h.Payments = append(h.Payments, r)
		}
		for _, r := range b.Contacts {
			h := get(r.AccountID)
			h.Contacts = upsert(h.Contacts, r, func(c data.Contact) string { return c.ID })
		}
		for _, r := range b.Disputes {
			h := get(r.AccountID)
			h.Disputes = upsert(h.Disputes, r, func(d data.Dispute) string { return d.ID })
		}
	}
	for id := range touched {
		data.SortHistory(m.hist[id])
	}
	return nil
}

func upsert[T any](rows []T, r T, id func(T) string) []T {
	for i := range rows {
		if id(rows[i]) == id(r) {
			rows[i] = r
			return rows
		}
	}
	return append(rows, r)
}

func (w *memWriter) Rollback() error {
	if w.done {
		return nil
	}
	w.done = true
	w.m.mu.Lock()
	w.m.writing = false
	w.m.mu.Unlock()
	return nil
}

// Lookup implements data.Store.
func (m *MemStore) Lookup(_ context.Context, k data.Keys) (*data.Batch, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if err := m.check(); err != nil {
		return nil, err
	}
	set := func(ids []string) map[string]bool {
		s := make(map[string]bool, len(ids))
		for _, id := range ids {
			s[id] = true
		}
		return s
	}
	acc, inv, pay, con, dis, payOf := set(k.Accounts), set(k.Invoices), set(k.Payments), set(k.Contacts),
		set(k.Disputes), set(k.PaymentsOfInvoices)
	out := &data.Batch{}
	for _, id := range slices.Sorted(maps.Keys(m.hist)) {
		h := m.hist[id]
		if acc[id] && h.Account.Currency != "" {
			out.Accounts = append(out.Accounts, h.Account)
		}
		for _, r := range h.Invoices {
			if inv[r.ID] {
				out.Invoices = append(out.Invoices, r)
			}
		}
		for _, r := range h.Payments {
			if pay[r.ID] || payOf[r.InvoiceID] && r.InvoiceID != "" {
				out.Payments = append(out.Payments, r)
			}
		}
		for _, r := range h.Contacts {
			if con[r.ID] {
				out.Contacts = append(out.Contacts, r)
			}
		}
		for _, r := range h.Disputes {
			if dis[r.ID] {
				out.Disputes = append(out.Disputes, r)
			}
		}
	}
	return out, nil
}

func (m *MemStore) sortedIDs(shard data.Shard) []string {
	var ids []string
	for id := range m.hist {
		if shard.Contains(id) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// Accounts implements data.Store.
func (m *MemStore) Accounts(ctx context.Context, shard data.Shard) iter.Seq2[data.Account, error] {
	return func(yield func(data.Account, error) bool) {
		if err := shard.Validate(); err != nil {
			yield(data.Account{}, err)
			return
		}
		m.mu.RLock()
		err := m.check()
		var rows []data.Account
		if err == nil {
			for _, id := range m.sortedIDs(shard) {
				rows = append(rows, m.hist[id].Account)
			}
		}
		m.mu.RUnlock()
		if err != nil {
			yield(data.Account{}, err)
			return
		}
		for _, r := range rows {
			if err := ctx.Err(); err != nil {
				yield(data.Account{}, err)
				return
			}
			if !yield(r, nil) {
				return
			}
		}
	}
}

func cloneHistory(h *data.History) *data.History {
	return &data.History{Account: h.Account, Invoices: slices.Clone(h.Invoices), Payments: slices.Clone(h.Payments),
		Contacts: slices.Clone(h.Contacts), Disputes: slices.Clone(h.Disputes)}
}

// History implements data.Store.
func (m *MemStore) History(_ context.Context, accountID string) (*data.History, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if err := m.check(); err != nil {
		return nil, err
	}
	h, ok := m.hist[accountID]
	if !ok {
		return nil, data.Errorf(data.NotFound, "account %q not found", accountID)
	}
	return cloneHistory(h), nil
}

// Histories implements data.Store.
func (m *MemStore) Histories(ctx context.Context, q data.HistoryQuery) iter.Seq2[*data.History, error] {
	return func(yield func(*data.History, error) bool) {
		if err := q.Shard.Validate(); err != nil {
			yield(nil, err)
			return
		}
		m.mu.RLock()
		err := m.check()
		var rows []*data.History
		if err == nil {
			for _, id := range m.sortedIDs(q.Shard) {
				rows = append(rows, m.hist[id].Filter(q.Window))
			}
		}
		m.mu.RUnlock()
		if err != nil {
			yield(nil, err)
			return
		}
		for _, h := range rows {
			if err := ctx.Err(); err != nil {
				yield(nil, err)
				return
			}
			if !yield(h, nil) {
				return
			}
		}
	}
}

// Count implements data.Store.
func (m *MemStore) Count(context.Context) (data.Counts, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var c data.Counts
	if err := m.check(); err != nil {
		return c, err
	}
	for _, h := range m.hist {
		c = c.Add(h.Batch().Counts())
	}
	return c, nil
}

// AppendActions implements data.Ledger.
func (m *MemStore) AppendActions(_ context.Context, actions []data.Action) error {
	norm, err := data.PrepareActions(actions)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(); err != nil {
		return err
	}
	for _, a := range norm {
		for _, old := range m.actions[a.ID] {
			if old.Version == a.Version && !old.Equal(a) {
				return data.Errorf(data.Conflict, "action %q version %d already stored with different content", a.ID, a.Version)
			}
		}
	}
	for _, a := range norm {
		dup := false
		for _, old := range m.actions[a.ID] {
			dup = dup || old.Version == a.Version
		}
		if !dup {
			m.actions[a.ID] = append(m.actions[a.ID], a)
		}
	}
	return nil
}

// Actions implements data.Ledger.
func (m *MemStore) Actions(_ context.Context, q data.ActionQuery) ([]data.Action, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if err := m.check(); err != nil {
		return nil, err
	}
	var out []data.Action
	for _, recs := range m.actions {
		cur := slices.MaxFunc(recs, func(a, b data.Action) int { return cmp.Compare(a.Version, b.Version) })
		if q.Match(cur) {
			out = append(out, cur)
		}
	}
	data.SortActions(out)
	return out, nil
}

// Close implements data.Store.
func (m *MemStore) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}
