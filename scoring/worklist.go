package scoring

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/duesight/duesight/api"
	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/features"
)

// Worklist ranking
//
// For account a at instant t (as_of), with open invoices i (issued before t,
// open amount > 0) whose currency has an FX rate:
//
//	R(a)    = Σ_i fx(open_i) × P(late_i)              amount at risk, reporting minor units
//	EV(a,c) = R(a) × uplift(c) − cost(c)               for a channel c allowed at t
//	EV'(a,c) = R(a) × uplift(c) × e^{−r·Δ_c} − cost(c)  for a channel first allowed at t+Δ_c (days)
//
// P(late_i) is the served model's calibrated probability on the invoice's
// features as of t; fx is FX (amounts without a rate are left out and
// counted, never mixed in); uplift and cost are Options.Channels (cost in
// reporting major units, converted to minor units); r is
// Options.DelayDiscountPerDay. A channel is allowed at t when the account
// consents to it and the contact rules (scoring/contact: quiet hours and
// weekdays in the account's time zone, caps, pause after a conversation,
// bounced address) allow it. The account's value is max_c EV(a,c) over the
// channels allowed now; only when none is, max_c EV'(a,c) over the channels
// allowed within Options.NextHorizon (Rules.Next). The recommended action is
// that channel at t (or at t+Δ_c). With Options.WaitForBetterChannel the
// value is the max over both sets (EV′ with Δ_c = 0 is EV), so waiting for a
// better channel can win. Accounts are ranked by value (highest
// first, then by account id); accounts with no rated open amount or with no
// channel allowed within the horizon are left out and counted. A snapshot
// keeps the top Options.MaxWorklistItems accounts.
//
// Reported per item: expected_value = round(value), overdue_amount = the
// rated open amount of invoices overdue at t (round(Σ fx(open_i))), both in
// the reporting currency; risk_tier = the tier of the amount-weighted mean
// P(late) Σ fx(open_i)·P_i / Σ fx(open_i); next_action.reason the first
// that applies of
//
//	promise_broken     something is overdue, a promise to pay was broken, none is pending, and the last contact was ≤ 30 days ago
//	first_reminder     something is overdue and there was no contact in the last 90 days
//	follow_up          something is overdue
//	pre_due_high_risk  nothing is overdue yet: the value comes from expected lateness

// Reason codes of next actions.
var reasonCodes = [...]string{"promise_broken", "first_reminder", "follow_up", "pre_due_high_risk"}

const (
	reasonPromiseBroken = iota
	reasonFirstReminder
	reasonFollowUp
	reasonPreDue
)

var tierCodes = [...]api.RiskTier{api.TierLow, api.TierMedium, api.TierHigh, api.TierCritical}

// featureIndex holds the catalog positions the worklist reads.
type featureIndex struct {
	broken, pending, overdue, sinceContact int
	contacts90                             [4]int
}

func newFeatureIndex() (featureIndex, error) {
	names := features.Names()
	at := func(n string) int { return slices.Index(names, n) }
	fi := featureIndex{broken: at("promises_broken_n"), pending: at("promises_pending_n"), overdue: at("overdue_n"),
		sinceContact: at("contacts_days_since_last"),
		contacts90:   [4]int{at("contacts_90d_email"), at("contacts_90d_sms"), at("contacts_90d_call"), at("contacts_90d_letter")}}
	for _, i := range append([]int{fi.broken, fi.pending, fi.overdue, fi.sinceContact}, fi.contacts90[:]...) {
		if i < 0 {
			return fi, fmt.Errorf("scoring: the feature catalog lacks a feature the worklist reads")
		}
	}
	return fi, nil
}

func (fi *featureIndex) reason(vec []float64) uint8 {
	if !(vec[fi.overdue] > 0) {
		return reasonPreDue
	}
	if vec[fi.broken] > 0 && vec[fi.pending] == 0 && vec[fi.sinceContact] <= 30 {
		return reasonPromiseBroken
	}
	var c90 float64
	for _, j := range fi.contacts90 {
		c90 += vec[j]
	}
	if c90 == 0 {
		return reasonFirstReminder
	}
	return reasonFollowUp
}

// wlItem is one ranked account in a snapshot (compact: pages are built
// from it on request).
type wlItem struct {
	account  string
	segment  string
	value    float64 // reporting minor units
	overdue  int64   // reporting minor units
	earliest int64   // unix seconds
	channel  data.Channel
	tier     uint8
	reason   uint8
}

// worse orders items from the bottom of the ranking up.
func worse(x, y *wlItem) bool {
	if x.value != y.value {
		return x.value < y.value
	}
	return x.account > y.account
}

// WorklistSummary counts what one ranking left out.
type WorklistSummary struct {
	// Ranked is the number of accounts ranked; Kept the number kept in the
	// snapshot (≤ Options.MaxWorklistItems).
	Ranked, Kept int
	// PartlyUnrated is the number of ranked accounts that also have open
	// amounts in currencies without an FX rate (left out of their value);
	// Unrated the number of accounts left out because none of their open
	// amount has a rate.
	PartlyUnrated, Unrated int
	// UnratedOpen is the open amount left out, per currency.
	UnratedOpen map[string]int64
	// Uncontactable is the number of accounts with a rated open amount but
	// no channel allowed within Options.NextHorizon.
	Uncontactable int
}

type snapshot struct {
	id      string
	created time.Time
	asOf    time.Time
	model   string
	segment string
	version uint64
	items   []wlItem
	summary WorklistSummary
}

// snapshots keeps worklist snapshots for at least their TTL, at most max at
// once.
type snapshots struct {
	mu  sync.Mutex
	ttl time.Duration
	max int
	m   map[string]*snapshot
}

func newSnapshots(ttl time.Duration, maxN int) *snapshots {
	return &snapshots{ttl: ttl, max: maxN, m: map[string]*snapshot{}}
}

func (ss *snapshots) purge(now time.Time) {
	for id, sn := range ss.m {
		if now.Sub(sn.created) > ss.ttl {
			delete(ss.m, id)
		}
	}
}

func (ss *snapshots) get(id string, now time.Time) (*snapshot, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.purge(now)
	sn, ok := ss.m[id]
	return sn, ok
}

// reusable returns a snapshot of the same segment, model and state version
// made within d, if any.
func (ss *snapshots) reusable(segment, model string, version uint64, now time.Time, d time.Duration) *snapshot {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	var best *snapshot
	for _, sn := range ss.m {
		if sn.segment == segment && sn.model == model && sn.version == version && now.Sub(sn.created) <= d &&
			(best == nil || sn.created.After(best.created)) {
			best = sn
		}
	}
	return best
}

func (ss *snapshots) add(sn *snapshot, now time.Time) error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.purge(now)
	if len(ss.m) >= ss.max {
		return data.Errorf(data.Unavailable, "%d worklist snapshots are in use (each is kept %s); retry later", len(ss.m), ss.ttl)
	}
	ss.m[sn.id] = sn
	return nil
}

func (ss *snapshots) len() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return len(ss.m)
}

// Worklist returns a page of the ranked worklist (see the ranking formula
// above). A first page ranks into a new immutable snapshot (or reuses one
// made within Options.SnapshotReuse if nothing changed since); later pages
// read the same snapshot, so they neither repeat nor skip accounts while
// events change the live ranking. Snapshots are kept for Options.SnapshotTTL
// (≥ api.MinSnapshotTTL); an expired or unknown one is api.ErrSnapshotExpired.
func (s *Service) Worklist(ctx context.Context, q api.WorklistQuery) (*api.WorklistPage, error) {
	now := s.clock()
	if q.Snapshot != "" {
		sn, ok := s.snaps.get(q.Snapshot, now)
		if !ok {
			return nil, api.ErrSnapshotExpired
		}
		return s.page(sn, q.Offset, q.Limit), nil
	}
	b, t, err := s.serving()
	if err != nil {
		return nil, err
	}
	nowS := s.now()
	asOf := s.asOf(q.AsOf, nowS)
	version := s.version.Load()
	if q.AsOf.IsZero() && s.opt.SnapshotReuse > 0 {
		if sn := s.snaps.reusable(q.Segment, b.version, version, now, s.opt.SnapshotReuse); sn != nil {
			return s.page(sn, 0, q.Limit), nil
		}
	}
	sn, err := s.rank(ctx, b, t, asOf, nowS, q.Segment)
	if err != nil {
		return nil, err
	}
	sn.created, sn.version = now, version
	if err := s.snaps.add(sn, now); err != nil {
		return nil, err
	}
	sm := sn.summary
	s.log.Info("scoring: worklist ranked", "snapshot", sn.id, "ranked", sm.Ranked, "kept", sm.Kept,
		"unrated_accounts", sm.Unrated, "partly_unrated_accounts", sm.PartlyUnrated, "uncontactable", sm.Uncontactable)
	return s.page(sn, 0, q.Limit), nil
}

// WorklistSummary returns what the ranking of a live snapshot left out.
func (s *Service) WorklistSummary(snapshot string) (WorklistSummary, bool) {
	sn, ok := s.snaps.get(snapshot, s.clock())
	if !ok {
		return WorklistSummary{}, false
	}
	return sn.summary, true
}

func (s *Service) page(sn *snapshot, offset, limit int) *api.WorklistPage {
	p := &api.WorklistPage{Snapshot: sn.id, AsOf: sn.asOf, ModelVersion: sn.model, Total: len(sn.items)}
	lo := min(offset, len(sn.items))
	hi := min(lo+limit, len(sn.items))
	p.Items = make([]api.WorklistItem, 0, hi-lo)
	for i, it := range sn.items[lo:hi] {
		p.Items = append(p.Items, api.WorklistItem{Rank: lo + i + 1, AccountID: it.account, Segment: it.segment,
			ExpectedValue: data.Money{Minor: int64(math.Round(it.value)), Currency: s.reporting},
			Overdue:       data.Money{Minor: it.overdue, Currency: s.reporting}, RiskTier: tierCodes[it.tier],
			NextAction: api.NextAction{Channel: it.channel, EarliestAt: time.Unix(it.earliest, 0).UTC(),
				Reason: reasonCodes[it.reason]}})
	}
	return p
}

// rankWorker is one goroutine's share of a ranking.
type rankWorker struct {
	sc      *scratch
	heap    []wlItem // min-heap by worse, ≤ max items
	summary WorklistSummary
	later   []*account // need a promotion or the stored history
}

func (w *rankWorker) push(it wlItem, maxN int) {
	w.summary.Ranked++
	h := w.heap
	if len(h) == maxN {
		if !worse(&h[0], &it) {
			return
		}
		h[0] = it
		siftDown(h, 0)
		return
	}
	h = append(h, it)
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if !worse(&h[i], &h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	w.heap = h
}

func siftDown(h []wlItem, i int) {
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h) && worse(&h[l], &h[m]) {
			m = l
		}
		if r < len(h) && worse(&h[r], &h[m]) {
			m = r
		}
		if m == i {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// rank computes a new snapshot at asOf.
func (s *Service) rank(ctx context.Context, b *bundle, t *table, asOf, now time.Time, segment string) (*snapshot, error) {
	var idb [16]byte
	_, _ = rand.Read(idb[:])
	sn := &snapshot{id: hex.EncodeToString(idb[:]), asOf: asOf, model: b.version, segment: segment}
	segID, known := s.in.lookup(segment)
	if segment != "" && !known {
		sn.summary.UnratedOpen = map[string]int64{}
		return sn, nil // no account has this segment
	}
	workers := make([]rankWorker, s.opt.Workers)
	var next sync.Mutex
	shard := 0
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rw := &workers[w]
			rw.sc = s.getScratch()
			rw.summary.UnratedOpen = map[string]int64{}
			defer s.putScratch(rw.sc)
			for ctx.Err() == nil {
				next.Lock()
				k := shard
				shard++
				next.Unlock()
				if k >= numShards {
					return
				}
				sh := &t.acc[k]
				sh.mu.RLock()
				for _, a := range sh.m {
					if (segment != "" && a.seg != segID) || len(a.open) == 0 {
						continue
					}
					if t.mode(sh, a, asOf, now) != modeLive {
						rw.later = append(rw.later, a)
						continue
					}
					s.rankLive(b, t, a, asOf, rw)
				}
				sh.mu.RUnlock()
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, data.Errorf(data.Unavailable, "worklist ranking interrupted: %w", err)
	}
	// Accounts the online state could not serve under the read lock.
	rw := &workers[0]
	rw.sc = s.getScratch()
	defer s.putScratch(rw.sc)
	for i := range workers {
		for _, a := range workers[i].later {
			v, ok := s.viewLive(t, a, asOf, now, true)
			if !ok {
				var err error
				if v, err = s.viewReplay(ctx, a.id, asOf, true); err != nil {
					return nil, err
				}
			}
			var acc wlAccum
			for j := range v.invoices {
				s.addInvoice(&acc, b, &v.invoices[j], v.open[j], v.vecs[j], asOf, &rw.summary)
			}
			s.finishAccount(&acc, &v.acc, v.contacts, asOf, rw)
		}
	}
	// Merge.
	var all []wlItem
	for i := range workers {
		w := &workers[i]
		all = append(all, w.heap...)
		sm := &sn.summary
		sm.Ranked += w.summary.Ranked
		sm.PartlyUnrated += w.summary.PartlyUnrated
		sm.Unrated += w.summary.Unrated
		sm.Uncontactable += w.summary.Uncontactable
		if sm.UnratedOpen == nil {
			sm.UnratedOpen = map[string]int64{}
		}
		for c, v := range w.summary.UnratedOpen {
			sm.UnratedOpen[c] += v
		}
	}
	sort.Slice(all, func(i, j int) bool { return worse(&all[j], &all[i]) })
	if len(all) > s.opt.MaxWorklistItems {
		all = all[:s.opt.MaxWorklistItems]
	}
	sn.items = slices.Clip(all)
	sn.summary.Kept = len(sn.items)
	return sn, nil
}

// wlAccum accumulates one account's open invoices.
type wlAccum struct {
	risk, overdue, weight float64 // reporting minor units
	rated, unrated        bool
	reason                uint8
}

// addInvoice adds one open invoice with feature vector vec.
func (s *Service) addInvoice(acc *wlAccum, b *bundle, inv *data.Invoice, open int64, vec []float64, asOf time.Time,
	sm *WorklistSummary) {
	f, ok := s.fx[inv.Currency]
	if !ok {
		acc.unrated = true
		sm.UnratedOpen[inv.Currency] += open
		return
	}
	p := min(max(b.predict(vec), 0), 1)
	if math.IsNaN(p) {
		p = 0
	}
	amt := float64(open) * f
	if !acc.rated {
		acc.reason = s.fi.reason(vec)
	}
	acc.rated = true
	acc.risk += amt * p
	acc.weight += amt
	if data.DateOf(asOf) > inv.DueDate {
		acc.overdue += amt
	}
}

// rankLive ranks account a from the online state (its shard read-locked).
func (s *Service) rankLive(b *bundle, t *table, a *account, asOf time.Time, w *rankWorker) {
	var acc wlAccum
	for i := range a.open {
		o := &a.open[i]
		if !o.issue.Time().Before(asOf) || o.open <= 0 {
			continue
		}
		inv := a.invoice(t.in, i)
		vec := a.st.Vector(asOf, inv, w.sc.vec)
		w.sc.vec = vec
		s.addInvoice(&acc, b, &inv, o.open, vec, asOf, &w.summary)
	}
	if !acc.rated {
		if acc.unrated {
			w.summary.Unrated++
		}
		return
	}
	da := a.dataAccount(t.in)
	past := w.sc.past[:0]
	for _, p := range a.contacts {
		at, ch, out := unpackContact(p)
		past = append(past, data.Contact{Channel: ch, SentAt: time.Unix(at, 0).UTC(), Outcome: out})
	}
	w.sc.past = past
	s.finishAccount(&acc, &da, past, asOf, w)
}

// finishAccount picks the channel and pushes the account's item.
func (s *Service) finishAccount(acc *wlAccum, da *data.Account, past []data.Contact, asOf time.Time, w *rankWorker) {
	if !acc.rated {
		if acc.unrated {
			w.summary.Unrated++
		}
		return
	}
	if acc.unrated {
		w.summary.PartlyUnrated++
	}
	best := wlItem{channel: data.ChannelUnknown}
	for _, c := range data.Channels {
		econ, ok := s.opt.Channels[c]
		if !ok || !da.Consent.Has(c) || !s.rules.Check(*da, c, asOf, past).Allowed {
			continue
		}
		v := acc.risk*econ.Uplift - s.costMinor[c]
		if best.channel == data.ChannelUnknown || v > best.value {
			best.value, best.channel, best.earliest = v, c, asOf.Unix()
		}
	}
	if best.channel == data.ChannelUnknown || s.opt.WaitForBetterChannel {
		for _, c := range data.Channels {
			econ, ok := s.opt.Channels[c]
			if !ok || !da.Consent.Has(c) || (best.channel == c && best.earliest == asOf.Unix()) {
				continue
			}
			at, _, ok := s.rules.Next(*da, c, asOf, past, s.opt.NextHorizon)
			if !ok {
				continue
			}
			days := at.Sub(asOf).Hours() / 24
			v := acc.risk*econ.Uplift*math.Exp(-s.opt.DelayDiscountPerDay*days) - s.costMinor[c]
			if best.channel == data.ChannelUnknown || v > best.value || (v == best.value && at.Unix() < best.earliest) {
				best.value, best.channel, best.earliest = v, c, at.Unix()
			}
		}
	}
	if best.channel == data.ChannelUnknown {
		w.summary.Uncontactable++
		return
	}
	best.account, best.segment = da.ID, da.Segment
	best.overdue = int64(math.Round(acc.overdue))
	tier := 0
	if acc.weight > 0 {
		switch tierOf(&s.opt.Tiers, acc.risk/acc.weight) {
		case api.TierMedium:
			tier = 1
		case api.TierHigh:
			tier = 2
		case api.TierCritical:
			tier = 3
		}
	}
	best.tier, best.reason = uint8(tier), acc.reason
	w.push(best, s.opt.MaxWorklistItems)
}

// costs returns each channel's cost in reporting minor units.
func costsMinor(chans map[data.Channel]Channel, reporting string) [8]float64 {
	var out [8]float64
	scale := math.Pow10(data.CurrencyExponent(reporting))
	for c, e := range chans {
		out[c] = e.Cost * scale
	}
	return out
}
