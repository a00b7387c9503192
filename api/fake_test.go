package api_test

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/duesight/duesight/api"
	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/data/datatest"
)

// fakeBackend implements api.Backend over an in-memory store with a
// deterministic fake model. Events go through data.Ingest, as the real
// backend's must.
type fakeBackend struct {
	store *datatest.MemStore
	clock func() time.Time

	down      atomic.Bool   // the store is unreachable: writes fail with Unavailable
	scoreGate chan struct{} // when not nil, Score waits for it (drain test)
	scoreIn   chan struct{} // when not nil, Score signals entry
	scoreErr  atomic.Pointer[error]
	wlBias    atomic.Int64 // changes the live ranking between pages

	mu        sync.Mutex
	active    string
	models    []api.ModelInfo
	snapshots map[string]*snapshot
	snapSeq   int
	ready     api.Readiness
}

type snapshot struct {
	created time.Time
	asOf    time.Time
	model   string
	items   []api.WorklistItem
}

func newFakeBackend(clock func() time.Time) *fakeBackend {
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	return &fakeBackend{
		store: datatest.NewMemStore(), clock: clock, active: "m2",
		models: []api.ModelInfo{
			{Version: "m1", Kind: "logreg", TrainedAt: t0, Metrics: map[string]float64{"auc": 0.71, "brier": math.NaN()}},
			{Version: "m2", Kind: "gbdt", TrainedAt: t0.Add(24 * time.Hour), ActivatedAt: t0.Add(48 * time.Hour),
				Metrics: map[string]float64{"auc": 0.78}},
		},
		snapshots: map[string]*snapshot{},
		ready:     api.Readiness{Status: api.StatusReady},
	}
}

func (f *fakeBackend) model() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.active
}

func (f *fakeBackend) asOf(t time.Time) time.Time {
	if t.IsZero() {
		return f.clock().UTC()
	}
	return t.UTC()
}

// fakeScore is a deterministic stand-in for a model.
func fakeScore(inv data.Invoice, version string) api.InvoiceScore {
	h := fnv.New32a()
	h.Write([]byte(inv.ID + "|" + version))
	p := float64(h.Sum32()%1000) / 1000
	tier := api.TierLow
	switch {
	case p >= 0.85:
		tier = api.TierCritical
	case p >= 0.6:
		tier = api.TierHigh
	case p >= 0.3:
		tier = api.TierMedium
	}
	days := p * 40
	due := max(inv.DueDate, data.MinDate)
	value := float64(inv.Amount) / 100
	if p < 0.5 {
		value = math.NaN() // a missing feature value
	}
	return api.InvoiceScore{
		InvoiceID: inv.ID, AccountID: inv.AccountID, PLate: p, ExpectedDaysLate: days,
		PaymentDate: api.Quantiles{P10: due.AddDays(int(days / 4)), P50: due.AddDays(int(days)), P90: due.AddDays(int(days * 2))},
		RiskTier:    tier,
		Reasons: []api.Reason{{Feature: "amount", Value: value, Contribution: p / 2},
			{Feature: "terms_days", Value: float64(inv.TermsDays()), Contribution: -p / 4}},
	}
}

func (f *fakeBackend) Score(ctx context.Context, req *api.ScoreRequest) (*api.ScoreResponse, error) {
	if f.scoreIn != nil {
		f.scoreIn <- struct{}{}
	}
	if f.scoreGate != nil {
		select {
		case <-f.scoreGate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if p := f.scoreErr.Load(); p != nil {
		return nil, *p
	}
	version := f.model() // one version for the whole response
	var ids []string
	for _, it := range req.Items {
		if it.InvoiceID != "" {
			ids = append(ids, it.InvoiceID)
		}
	}
	stored := map[string]data.Invoice{}
	if len(ids) > 0 {
		b, err := f.store.Lookup(ctx, data.Keys{Invoices: ids})
		if err != nil {
			return nil, fmt.Errorf("fake score: look up invoices: %w", err)
		}
		for _, inv := range b.Invoices {
			stored[inv.ID] = inv
		}
	}
	resp := &api.ScoreResponse{ModelVersion: version, AsOf: f.asOf(req.AsOf), Scores: make([]api.InvoiceScore, len(req.Items))}
	var issues []data.Issue
	for i, it := range req.Items {
		inv := stored[it.InvoiceID]
		if it.Invoice != nil {
			inv = *it.Invoice
		} else if inv.ID == "" {
			issues = append(issues, data.Issue{Kind: data.KindInvoice, Index: i, ID: it.InvoiceID, Field: "invoice_id",
				Reason: fmt.Sprintf("unknown invoice %q", it.InvoiceID)})
			continue
		}
		resp.Scores[i] = fakeScore(inv, version)
	}
	if len(issues) > 0 {
		return nil, &data.ValidationError{Issues: issues}
	}
	return resp, nil
}

func (f *fakeBackend) Account(ctx context.Context, q api.AccountQuery) (*api.AccountView, error) {
	h, err := f.store.History(ctx, q.AccountID)
	if err != nil {
		return nil, fmt.Errorf("fake account: %w", err)
	}
	asOf := f.asOf(q.AsOf)
	day := data.DateOf(asOf)
	version := f.model()
	v := &api.AccountView{AccountID: h.Account.ID, Name: h.Account.Name, Segment: h.Account.Segment,
		Currency: h.Account.Currency, AsOf: asOf, ModelVersion: version}
	open := h.OpenAmounts(day)
	disputed := map[string]bool{}
	for _, d := range h.Disputes {
		if d.OpenAt(day) {
			disputed[d.InvoiceID] = true
		}
	}
	sums := map[string]*[3]int64{}
	for i, inv := range h.Invoices {
		if inv.IssueDate > day || open[i] <= 0 {
			continue
		}
		sc := fakeScore(inv, version)
		s := sums[inv.Currency]
		if s == nil {
			s = &[3]int64{}
			sums[inv.Currency] = s
		}
		s[0] += open[i]
		if inv.DueDate < day {
			s[1] += open[i]
		}
		s[2] += int64(sc.PLate * 0.2 * float64(open[i]))
		v.OpenInvoices = append(v.OpenInvoices, api.OpenInvoice{InvoiceID: inv.ID, IssueDate: inv.IssueDate,
			DueDate: inv.DueDate, Amount: inv.Money(), OpenAmount: data.Money{Minor: open[i], Currency: inv.Currency},
			DaysPastDue: max(0, day.Sub(inv.DueDate)), Disputed: disputed[inv.ID], Score: sc})
	}
	curs := make([]string, 0, len(sums))
	for c := range sums {
		curs = append(curs, c)
	}
	slices.Sort(curs)
	for _, c := range curs {
		s := sums[c]
		v.Open = append(v.Open, data.Money{Minor: s[0], Currency: c})
		v.Overdue = append(v.Overdue, data.Money{Minor: s[1], Currency: c})
		v.ExpectedLoss = append(v.ExpectedLoss, data.Money{Minor: s[2], Currency: c})
	}
	for i := len(h.Contacts) - 1; i >= 0 && len(v.RecentContacts) < 10; i-- {
		ct := h.Contacts[i]
		cv := api.ContactView{ContactID: ct.ID, InvoiceID: ct.InvoiceID, Channel: ct.Channel, SentAt: ct.SentAt,
			Outcome: ct.Outcome, PromisedDate: ct.PromisedDate}
		if ct.PromisedAmount > 0 {
			cv.PromisedAmount = &data.Money{Minor: ct.PromisedAmount, Currency: h.Account.Currency}
		}
		v.RecentContacts = append(v.RecentContacts, cv)
	}
	return v, nil
}

// snapshotTTL is how long the fake keeps worklist snapshots.
const snapshotTTL = api.MinSnapshotTTL

func (f *fakeBackend) Worklist(ctx context.Context, q api.WorklistQuery) (*api.WorklistPage, error) {
	now := f.clock()
	f.mu.Lock()
	for id, s := range f.snapshots {
		if now.Sub(s.created) > snapshotTTL {
			delete(f.snapshots, id)
		}
	}
	var snap *snapshot
	id := q.Snapshot
	if id != "" {
		snap = f.snapshots[id]
		f.mu.Unlock()
		if snap == nil {
			return nil, api.ErrSnapshotExpired
		}
	} else {
		f.mu.Unlock()
		var err error
		if snap, err = f.rank(ctx, q); err != nil {
			return nil, err
		}
		f.mu.Lock()
		f.snapSeq++
		id = fmt.Sprintf("snap-%d", f.snapSeq)
		f.snapshots[id] = snap
		f.mu.Unlock()
	}
	end := min(len(snap.items), q.Offset+q.Limit)
	page := &api.WorklistPage{Snapshot: id, AsOf: snap.asOf, ModelVersion: snap.model, Total: len(snap.items)}
	if q.Offset < end {
		page.Items = snap.items[q.Offset:end]
	}
	return page, nil
}

// rank ranks accounts with overdue money by a fake expected value that
// depends on wlBias (so the live ranking can be changed between pages).
func (f *fakeBackend) rank(ctx context.Context, q api.WorklistQuery) (*snapshot, error) {
	asOf := f.asOf(q.AsOf)
	day := data.DateOf(asOf)
	version := f.model()
	bias := f.wlBias.Load()
	var items []api.WorklistItem
	for h, err := range f.store.Histories(ctx, data.HistoryQuery{}) {
		if err != nil {
			return nil, fmt.Errorf("fake worklist: %w", err)
		}
		if q.Segment != "" && h.Account.Segment != q.Segment {
			continue
		}
		var overdue int64
		open := h.OpenAmounts(day)
		for i, inv := range h.Invoices {
			if inv.Currency == h.Account.Currency && inv.DueDate < day && open[i] > 0 {
				overdue += open[i]
			}
		}
		if overdue == 0 {
			continue
		}
		hh := fnv.New32a()
		fmt.Fprintf(hh, "%s|%d", h.Account.ID, bias)
		ev := overdue/1000 + int64(hh.Sum32()%1_000_000)
		items = append(items, api.WorklistItem{AccountID: h.Account.ID, Segment: h.Account.Segment,
			ExpectedValue: data.Money{Minor: ev, Currency: h.Account.Currency},
			Overdue:       data.Money{Minor: overdue, Currency: h.Account.Currency}, RiskTier: api.TierHigh,
			NextAction: api.NextAction{Channel: data.Email, EarliestAt: asOf.Add(time.Hour).Truncate(time.Hour), Reason: "overdue_reminder"}})
	}
	slices.SortFunc(items, func(a, b api.WorklistItem) int {
		return cmp.Or(cmp.Compare(b.ExpectedValue.Minor, a.ExpectedValue.Minor), cmp.Compare(a.AccountID, b.AccountID))
	})
	for i := range items {
		items[i].Rank = i + 1
	}
	return &snapshot{created: f.clock(), asOf: asOf, model: version, items: items}, nil
}

func (f *fakeBackend) ApplyEvents(ctx context.Context, b *data.Batch) (*data.IngestReport, error) {
	if f.down.Load() {
		return nil, data.Errorf(data.Unavailable, "event store: dial tcp 10.9.8.7:9000: connection refused")
	}
	rep, err := data.Ingest(ctx, f.store, b, data.IngestOptions{})
	if err != nil {
		return nil, fmt.Errorf("fake apply events: %w", err)
	}
	return rep, nil
}

func (f *fakeBackend) Models(context.Context) ([]api.ModelInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := slices.Clone(f.models)
	for i := range out {
		out[i].Active = out[i].Version == f.active
	}
	return out, nil
}

func (f *fakeBackend) ActivateModel(_ context.Context, version string) (*api.ActivateResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range f.models {
		if m.Version == version {
			prev := f.active
			f.active = version
			return &api.ActivateResult{Active: version, Previous: prev}, nil
		}
	}
	return nil, data.Errorf(data.NotFound, "no model version %q", version)
}

func (f *fakeBackend) Ready(context.Context) api.Readiness {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ready
}

func (f *fakeBackend) setReady(r api.Readiness) {
	f.mu.Lock()
	f.ready = r
	f.mu.Unlock()
}

func (f *fakeBackend) Stats() api.Stats {
	n, _ := f.store.Count(context.Background())
	return api.Stats{ActiveModel: f.model(), FeatureStateEntries: int64(n.Accounts), FeatureStateBytes: int64(n.Total()) * 200}
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}
