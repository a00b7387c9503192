package scoring

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/features"
)

// numShards is the number of independently locked account (and invoice
// index) shards.
const numShards = 256

// maxKeptContacts bounds the packed contacts kept per account for the
// contact rules.
const maxKeptContacts = 32

// interner maps the low-cardinality account attributes (segment, country,
// currency, time zone) to small ids, so each account stores 4 bytes per
// attribute instead of a string. Append-only; safe for concurrent use.
type interner struct {
	mu    sync.Mutex
	ids   map[string]uint32
	names atomic.Pointer[[]string]
}

func newInterner() *interner {
	in := &interner{ids: map[string]uint32{"": 0}}
	names := []string{""}
	in.names.Store(&names)
	return in
}

// id returns the id of s, adding it if new.
func (in *interner) id(s string) uint32 {
	in.mu.Lock()
	defer in.mu.Unlock()
	if id, ok := in.ids[s]; ok {
		return id
	}
	old := *in.names.Load()
	s = strings.Clone(s)
	names := append(old[:len(old):len(old)], s)
	id := uint32(len(old))
	in.ids[s] = id
	in.names.Store(&names)
	return id
}

// lookup returns the id of s if known.
func (in *interner) lookup(s string) (uint32, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	id, ok := in.ids[s]
	return id, ok
}

func (in *interner) name(id uint32) string { return (*in.names.Load())[id] }

// openInv is an invoice that is not fully paid, credited or written off by
// the applied payments (or is issued in the future: pending).
type openInv struct {
	id        string
	amount    int64 // minor units of cur
	open      int64 // amount − applied payments, credit notes and write-offs
	issue     data.Date
	due       data.Date
	cur       uint32 // interned currency
	delivered data.Channel
	disputes  uint8 // open disputes (saturating)
}

// account is the online state of one account: the attributes serving
// needs (segment, currency and time zone interned; consent), its feature
// State (which keeps every attribute the features use), its open invoices
// and the recent contacts the contact rules need. The name is not kept
// (account views read it from the store). All fields are guarded by the
// account's shard lock.
type account struct {
	id      string
	seg     uint32 // interned
	cur, tz uint32 // interned
	consent data.ChannelSet
	pending bool // the shard's pending map holds future events of this account
	st      *features.State
	open    []openInv
	// contacts are packed sentAt<<16 | channel<<8 | outcome, oldest first:
	// the latest contact of each channel plus every contact within the
	// contact rules' longest window of the newest one (≤ maxKeptContacts).
	contacts []uint64
}

const (
	sizeofAccount = int(unsafe.Sizeof(account{}))
	sizeofOpenInv = int(unsafe.Sizeof(openInv{}))
	// mapEntryBytes approximates one entry of a map[string]*account (key
	// header, pointer, control byte and load-factor slack).
	mapEntryBytes = 40
)

// sizeBytes estimates the memory the account holds, map entries included.
func (a *account) sizeBytes() int64 {
	n := sizeofAccount + mapEntryBytes + len(a.id) + a.st.SizeBytes() +
		cap(a.open)*sizeofOpenInv + cap(a.contacts)*8
	for i := range a.open {
		n += len(a.open[i].id) + mapEntryBytes
	}
	return int64(n)
}

func (a *account) findOpen(id string) int {
	for i := range a.open {
		if a.open[i].id == id {
			return i
		}
	}
	return -1
}

// invoice rebuilds the data.Invoice of open invoice i.
func (a *account) invoice(in *interner, i int) data.Invoice {
	o := &a.open[i]
	return data.Invoice{ID: o.id, AccountID: a.id, IssueDate: o.issue, DueDate: o.due, Amount: o.amount,
		Currency: in.name(o.cur), DeliveredBy: o.delivered}
}

// dataAccount returns the attributes kept: id, segment, currency, time zone
// and consent (what the contact rules and views need).
func (a *account) dataAccount(in *interner) data.Account {
	return data.Account{ID: a.id, Segment: in.name(a.seg), Currency: in.name(a.cur), TimeZone: in.name(a.tz),
		Consent: a.consent}
}

func (a *account) setAttrs(in *interner, acc *data.Account) {
	if a.id != acc.ID {
		a.id = strings.Clone(acc.ID)
	}
	a.seg, a.cur, a.tz, a.consent = in.id(acc.Segment), in.id(acc.Currency), in.id(acc.TimeZone), acc.Consent
}

func packContact(c *data.Contact) uint64 {
	return uint64(c.SentAt.Unix())<<16 | uint64(c.Channel)<<8 | uint64(c.Outcome)
}

func unpackContact(p uint64) (sentAt int64, ch data.Channel, o data.Outcome) {
	return int64(p >> 16), data.Channel(p >> 8 & 0xff), data.Outcome(p & 0xff)
}

// addContact appends a packed contact (not older than the last one) and
// drops those the contact rules can no longer need.
func (a *account) addContact(p uint64, window time.Duration) {
	a.contacts = append(a.contacts, p)
	if cs := trimContacts(a.contacts, window); cap(cs) > 2*len(cs)+2 {
		a.contacts = compact(cs)
	} else {
		a.contacts = cs
	}
}

// compact returns s in a new array of exactly its length (nil when empty),
// so that no spare capacity stays allocated: kept lists are long-lived.
func compact[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return append(make([]T, 0, len(s)), s...)
}

// trimContacts keeps, of contacts sorted oldest first, the latest of each
// channel and every one less than window older than the newest, at most
// maxKeptContacts (the newest).
func trimContacts(cs []uint64, window time.Duration) []uint64 {
	if len(cs) == 0 {
		return cs
	}
	newest, _, _ := unpackContact(cs[len(cs)-1])
	cut := newest - int64(window/time.Second)
	var seen data.ChannelSet
	keep := 0
	for i := len(cs) - 1; i >= 0; i-- { // newest first: mark what to keep
		at, ch, _ := unpackContact(cs[i])
		if keep < maxKeptContacts && (at > cut || !seen.Has(ch)) {
			cs[i] |= 1 << 63 // mark (sentAt never uses bit 63)
			keep++
		}
		seen = seen.With(ch)
	}
	out := cs[:0]
	for _, c := range cs {
		if c&(1<<63) != 0 {
			out = append(out, c&^(1<<63))
		}
	}
	return out
}

// pendEvent is an event not yet applied because its instant is not in the
// past yet (post-dated rows); it is applied once the clock passes it.
type pendEvent struct {
	at   time.Time
	kind data.EventKind
	id   string
	inv  data.Invoice
	pay  data.Payment
	con  data.Contact
	dis  data.Dispute
}

var kindRank = [...]int{data.EventInvoice: 0, data.EventPayment: 1, data.EventDispute: 2,
	data.EventDisputeResolved: 3, data.EventContact: 4}

// cmpEvents is data.History.Events' order: instant, then kind (invoice,
// payment, dispute opened, dispute resolved, contact), then id (histories
// are sorted by time and id, so index order within a kind and instant is id
// order).
func cmpEvents(x, y *pendEvent) int {
	return cmp.Or(x.at.Compare(y.at), cmp.Compare(kindRank[x.kind], kindRank[y.kind]), cmp.Compare(x.id, y.id))
}

type acctShard struct {
	mu      sync.RWMutex
	m       map[string]*account
	pending map[*account][]pendEvent // canonical order
}

type invShard struct {
	mu sync.RWMutex
	m  map[string]*account
}

// table is one generation of the online state: every account of the store
// as of its build, kept current by applied events. A resync builds a new
// table and swaps it in.
type table struct {
	in       *interner
	window   time.Duration // contact-rule look-back
	acc      [numShards]acctShard
	inv      [numShards]invShard
	accounts atomic.Int64
	bytes    atomic.Int64
	fallback *delayHist
}

func newTable(in *interner, window time.Duration) *table {
	t := &table{in: in, window: window, fallback: &delayHist{}}
	for i := range t.acc {
		t.acc[i].m = map[string]*account{}
		t.acc[i].pending = map[*account][]pendEvent{}
		t.inv[i].m = map[string]*account{}
	}
	return t
}

func (t *table) shardOf(accountID string) *acctShard {
	return &t.acc[data.AccountHash(accountID)%numShards]
}

func (t *table) invShardOf(invoiceID string) *invShard {
	return &t.inv[data.AccountHash(invoiceID)%numShards]
}

// lookupAccount returns the account with id, or nil.
func (t *table) lookupAccount(id string) *account {
	sh := t.shardOf(id)
	sh.mu.RLock()
	a := sh.m[id]
	sh.mu.RUnlock()
	return a
}

// lookupInvoice returns the account holding open invoice id, or nil.
func (t *table) lookupInvoice(id string) *account {
	sh := t.invShardOf(id)
	sh.mu.RLock()
	a := sh.m[id]
	sh.mu.RUnlock()
	return a
}

func (t *table) indexAdd(a *account, invoiceID string) {
	sh := t.invShardOf(invoiceID)
	sh.mu.Lock()
	sh.m[invoiceID] = a
	sh.mu.Unlock()
}

func (t *table) indexRemove(a *account, invoiceID string) {
	sh := t.invShardOf(invoiceID)
	sh.mu.Lock()
	if sh.m[invoiceID] == a {
		delete(sh.m, invoiceID)
	}
	sh.mu.Unlock()
}

// built is an account made from a stored history, not yet in a table.
type built struct {
	a       *account
	pending []pendEvent
}

// errReload means an event cannot be folded into the account's state
// incrementally (out of order, a new version of a stored row, a payment for
// an invoice not open): the account must be rebuilt from its stored history.
var errReload = errors.New("account needs a reload from the store")

// build makes the online state of h's account as of cut: every event
// strictly before cut is applied (features.Replay, the code Build uses), the
// others are pending. fb, if not nil, receives the days late of invoices
// settled before cut.
func (t *table) build(h *data.History, cut time.Time, fb *delayHist) (built, error) {
	st, err := features.Replay(h, cut)
	if err != nil {
		return built{}, err
	}
	st.Compact() // the state lives as long as the server: drop the replay's spare capacity
	a := &account{st: st}
	a.setAttrs(t.in, &h.Account)
	idx := make(map[string]int, len(h.Invoices))
	open := make([]int64, len(h.Invoices))
	disputes := make([]uint8, len(h.Invoices))
	for i := range h.Invoices {
		idx[h.Invoices[i].ID] = i
		open[i] = h.Invoices[i].Amount
	}
	var settled []data.Date
	if fb != nil {
		settled = make([]data.Date, len(h.Invoices))
	}
	for _, p := range h.Payments {
		i, ok := idx[p.InvoiceID]
		if !ok || p.InvoiceID == "" || !p.Date.Time().Before(cut) {
			continue
		}
		open[i] -= p.Amount
		if settled != nil && open[i] <= 0 && settled[i] == 0 {
			settled[i] = p.Date
		}
	}
	for _, d := range h.Disputes {
		i, ok := idx[d.InvoiceID]
		if ok && d.OpenedOn.Time().Before(cut) && (d.ResolvedOn == 0 || !d.ResolvedOn.Time().Before(cut)) && disputes[i] < 255 {
			disputes[i]++
		}
	}
	for i := range h.Invoices {
		inv := &h.Invoices[i]
		if settled != nil && settled[i] != 0 {
			fb.add(settled[i].Sub(inv.DueDate))
		}
		if open[i] <= 0 {
			continue
		}
		a.open = append(a.open, openInv{id: strings.Clone(inv.ID), amount: inv.Amount, open: open[i],
			issue: inv.IssueDate, due: inv.DueDate, cur: t.in.id(inv.Currency), delivered: inv.DeliveredBy,
			disputes: disputes[i]})
	}
	a.open = compact(a.open)
	cs := make([]uint64, 0, len(h.Contacts))
	for i := range h.Contacts {
		if c := &h.Contacts[i]; c.SentAt.Before(cut) {
			cs = append(cs, packContact(c))
		}
	}
	a.contacts = compact(trimContacts(cs, t.window))
	var pend []pendEvent
	if !hasEventFrom(h, cut) {
		return built{a: a}, nil
	}
	for _, ev := range h.Events() {
		if ev.At.Before(cut) {
			continue
		}
		pe := pendEvent{at: ev.At, kind: ev.Kind}
		switch ev.Kind {
		case data.EventInvoice:
			pe.inv = h.Invoices[ev.Index]
			pe.inv.ID = strings.Clone(pe.inv.ID)
			pe.id = pe.inv.ID
		case data.EventPayment:
			pe.pay, pe.id = h.Payments[ev.Index], h.Payments[ev.Index].ID
		case data.EventContact:
			pe.con, pe.id = h.Contacts[ev.Index], h.Contacts[ev.Index].ID
		case data.EventDispute, data.EventDisputeResolved:
			pe.dis, pe.id = h.Disputes[ev.Index], h.Disputes[ev.Index].ID
		}
		pend = append(pend, pe)
	}
	for i := range pend {
		clonePending(&pend[i])
	}
	a.pending = len(pend) > 0
	return built{a: a, pending: pend}, nil
}

// hasEventFrom reports whether h has an event at or after cut (so that
// h.Events, a sort, runs only for histories with post-dated rows).
func hasEventFrom(h *data.History, cut time.Time) bool {
	day := data.DateOf(cut)
	if cut.Equal(day.Time()) {
		day-- // a date event at cut's midnight is not before cut
	}
	for _, r := range h.Invoices {
		if r.IssueDate > day {
			return true
		}
	}
	for _, r := range h.Payments {
		if r.Date > day {
			return true
		}
	}
	for _, r := range h.Disputes {
		if r.OpenedOn > day || r.ResolvedOn > day {
			return true
		}
	}
	for _, r := range h.Contacts {
		if !r.SentAt.Before(cut) {
			return true
		}
	}
	return false
}

// clonePending copies the strings of a pending event so that it does not pin
// the store's decode buffers.
func clonePending(p *pendEvent) {
	c := strings.Clone
	p.id = c(p.id)
	p.inv.ID, p.inv.AccountID, p.inv.Currency = c(p.inv.ID), c(p.inv.AccountID), c(p.inv.Currency)
	p.pay.ID, p.pay.AccountID, p.pay.InvoiceID, p.pay.Currency = c(p.pay.ID), c(p.pay.AccountID), c(p.pay.InvoiceID), c(p.pay.Currency)
	p.con.ID, p.con.AccountID, p.con.InvoiceID = c(p.con.ID), c(p.con.AccountID), c(p.con.InvoiceID)
	p.dis.ID, p.dis.AccountID, p.dis.InvoiceID, p.dis.Reason = c(p.dis.ID), c(p.dis.AccountID), c(p.dis.InvoiceID), c(p.dis.Reason)
}

// put installs b as the state of its account, replacing (in place) any
// earlier state so that pointers held by the invoice index stay valid.
func (t *table) put(b built) {
	id := b.a.id
	sh := t.shardOf(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	a := sh.m[id]
	if a == nil {
		a = b.a
		sh.m[id] = a
		t.accounts.Add(1)
	} else {
		t.bytes.Add(-a.sizeBytes())
		for i := range a.open {
			if b.a.findOpen(a.open[i].id) < 0 {
				t.indexRemove(a, a.open[i].id)
			}
		}
		*a = *b.a
	}
	delete(sh.pending, a)
	if len(b.pending) > 0 {
		sh.pending[a] = b.pending
		// Future invoices are open (and scorable by id) already.
		for i := range b.pending {
			if p := &b.pending[i]; p.kind == data.EventInvoice && a.findOpen(p.inv.ID) < 0 {
				a.open = append(a.open, t.openOf(&p.inv))
			}
		}
	}
	for i := range a.open {
		t.indexAdd(a, a.open[i].id)
	}
	t.bytes.Add(a.sizeBytes())
}

func (t *table) openOf(inv *data.Invoice) openInv {
	return openInv{id: strings.Clone(inv.ID), amount: inv.Amount, open: inv.Amount, issue: inv.IssueDate,
		due: inv.DueDate, cur: t.in.id(inv.Currency), delivered: inv.DeliveredBy}
}

// setAccount records new attributes, creating an empty state for a new
// account.
func (t *table) setAccount(acc *data.Account) {
	sh := t.shardOf(acc.ID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if a := sh.m[acc.ID]; a != nil {
		before := a.sizeBytes()
		a.setAttrs(t.in, acc)
		a.st.SetAccount(*acc)
		t.bytes.Add(a.sizeBytes() - before)
		return
	}
	a := &account{st: features.NewState(*acc)}
	a.setAttrs(t.in, acc)
	sh.m[a.id] = a
	t.accounts.Add(1)
	t.bytes.Add(a.sizeBytes())
}

// applyNew folds new events (rows just stored, never seen before) into the
// account: merged with its pending events, those before now are applied in
// canonical order, the rest become pending. It returns errReload (changing
// nothing) when the events cannot be applied incrementally.
func (t *table) applyNew(accountID string, evs []pendEvent, now time.Time) error {
	sh := t.shardOf(accountID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	a := sh.m[accountID]
	if a == nil {
		return errReload
	}
	all := append(slices.Clone(sh.pending[a]), evs...)
	slices.SortFunc(all, func(x, y pendEvent) int { return cmpEvents(&x, &y) })
	n := 0
	for n < len(all) && all[n].at.Before(now) {
		n++
	}
	if wm := a.st.Watermark(); n > 0 && !wm.IsZero() && !all[0].at.After(wm) {
		return errReload
	}
	// Pre-check what the trackers cannot follow, so that nothing changes
	// before errReload.
	if err := t.precheck(a, all); err != nil {
		return err
	}
	before := a.sizeBytes()
	for i := range all[:n] {
		if err := t.applyEvent(a, &all[i]); err != nil {
			t.bytes.Add(a.sizeBytes() - before)
			return fmt.Errorf("%w: %w", errReload, err)
		}
	}
	rest := all[n:]
	for i := range rest {
		if p := &rest[i]; p.kind == data.EventInvoice && a.findOpen(p.inv.ID) < 0 {
			a.open = append(a.open, t.openOf(&p.inv))
			t.indexAdd(a, a.open[len(a.open)-1].id)
		}
	}
	if len(rest) > 0 {
		sh.pending[a] = slices.Clone(rest)
	} else {
		delete(sh.pending, a)
	}
	a.pending = len(rest) > 0
	t.bytes.Add(a.sizeBytes() - before)
	return nil
}

// precheck returns errReload when a payment in evs applies to an invoice
// that is neither open in a nor issued earlier in evs (a prepayment or a
// payment on a closed invoice, which only a replay handles exactly).
func (t *table) precheck(a *account, evs []pendEvent) error {
	for i := range evs {
		p := &evs[i]
		if p.kind != data.EventPayment || p.pay.InvoiceID == "" || a.findOpen(p.pay.InvoiceID) >= 0 {
			continue
		}
		issued := slices.ContainsFunc(evs[:i], func(q pendEvent) bool {
			return q.kind == data.EventInvoice && q.inv.ID == p.pay.InvoiceID
		})
		if !issued {
			return errReload
		}
	}
	return nil
}

// applyEvent folds one event into the account's feature state and trackers.
// On error the account is unchanged (the State refuses out-of-order events
// before changing anything, and the trackers' precondition is checked
// first).
func (t *table) applyEvent(a *account, p *pendEvent) error {
	switch p.kind {
	case data.EventInvoice:
		if err := a.st.ApplyInvoice(p.inv); err != nil {
			return err
		}
		if a.findOpen(p.inv.ID) < 0 {
			a.open = append(a.open, t.openOf(&p.inv))
			t.indexAdd(a, a.open[len(a.open)-1].id)
		}
	case data.EventPayment:
		i := -1
		if p.pay.InvoiceID != "" {
			// Checked before the State changes: a failed event leaves
			// the account as it was.
			if i = a.findOpen(p.pay.InvoiceID); i < 0 {
				return fmt.Errorf("payment for an invoice that is not open")
			}
		}
		if err := a.st.ApplyPayment(p.pay); err != nil {
			return err
		}
		if i < 0 {
			return nil
		}
		if a.open[i].open -= p.pay.Amount; a.open[i].open <= 0 {
			t.indexRemove(a, a.open[i].id)
			a.open = slices.Delete(a.open, i, i+1)
		}
	case data.EventContact:
		if err := a.st.ApplyContact(p.con); err != nil {
			return err
		}
		a.addContact(packContact(&p.con), t.window)
	case data.EventDispute:
		if err := a.st.ApplyDisputeOpened(p.dis); err != nil {
			return err
		}
		if i := a.findOpen(p.dis.InvoiceID); i >= 0 && a.open[i].disputes < 255 {
			a.open[i].disputes++
		}
	case data.EventDisputeResolved:
		if err := a.st.ApplyDisputeResolved(p.dis); err != nil {
			return err
		}
		if i := a.findOpen(p.dis.InvoiceID); i >= 0 && a.open[i].disputes > 0 {
			a.open[i].disputes--
		}
	default:
		return fmt.Errorf("unknown event kind %d", p.kind)
	}
	return nil
}

// promote applies the account's pending events that happened before now.
// It reports false if they could not be applied (the caller then serves
// the account from its stored history).
func (t *table) promote(a *account, now time.Time, log *slog.Logger) bool {
	sh := t.shardOf(a.id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	pend := sh.pending[a]
	n := 0
	for n < len(pend) && pend[n].at.Before(now) {
		n++
	}
	if n == 0 {
		return true
	}
	before := a.sizeBytes()
	defer func() { t.bytes.Add(a.sizeBytes() - before) }()
	for i := range pend[:n] {
		if err := t.applyEvent(a, &pend[i]); err != nil {
			// Keep the state consistent with the events applied so far;
			// the failing event stays first, so reads of this account
			// replay its stored history until a resync rebuilds it.
			kind := pend[i].kind
			sh.pending[a] = slices.Delete(pend, 0, i)
			log.Warn("scoring: a held event could not be applied; the account is served from the store until the next resync",
				"kind", int(kind))
			return false
		}
	}
	if n == len(pend) {
		delete(sh.pending, a)
		a.pending = false
	} else {
		sh.pending[a] = slices.Delete(pend, 0, n)
	}
	return true
}

// Read modes of an account at an instant.
const (
	modeLive    = iota // the online state serves it
	modePromote        // pending events must be applied first (promote)
	modeReplay         // only a replay of the stored history can serve it
)

// mode says how account a (its shard read-locked) can be read as of asOf.
// The online state serves instants after every applied event; pending
// events before asOf are applied first when asOf is not in the future.
func (t *table) mode(sh *acctShard, a *account, asOf, now time.Time) int {
	if wm := a.st.Watermark(); !wm.IsZero() && !asOf.After(wm) {
		return modeReplay
	}
	if a.pending {
		if p := sh.pending[a]; len(p) > 0 && p[0].at.Before(asOf) {
			if asOf.After(now) {
				return modeReplay
			}
			return modePromote
		}
	}
	return modeLive
}

// loadTable streams every history of store into a new table as of cut,
// over workers parallel account shards.
func loadTable(ctx context.Context, store data.Store, in *interner, window time.Duration, cut time.Time,
	workers int, log *slog.Logger) (*table, error) {
	t := newTable(in, window)
	hists := make([]delayHist, workers)
	errs := make([]error, workers)
	var skipped atomic.Int64
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for k := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := data.HistoryQuery{Shard: data.Shard{Index: k, Of: workers}}
			for h, err := range store.Histories(ctx, q) {
				if err != nil {
					errs[k] = fmt.Errorf("read histories of shard %d/%d: %w", k, workers, err)
					cancel()
					return
				}
				b, err := t.build(h, cut, &hists[k])
				if err != nil {
					skipped.Add(1)
					log.Debug("scoring: account history cannot be replayed", "err", err)
					continue
				}
				t.put(b)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return nil, err
		}
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	for i := range hists {
		t.fallback.merge(&hists[i])
	}
	t.fallback.finish()
	if n := skipped.Load(); n > 0 {
		log.Warn("scoring: accounts left out of the online state because their history cannot be replayed", "accounts", n)
	}
	return t, nil
}
