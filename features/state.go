package features

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/duesight/duesight/data"
)

// ErrOutOfOrder is returned (wrapped) by the State.Apply methods when an
// event happened before the latest event already applied. State folds events
// into running aggregates, so it cannot insert one in the past: rebuild the
// account's state by replaying its history (Featurizer.Load, Replay).
var ErrOutOfOrder = errors.New("event is older than the latest applied event")

// Limits on the small per-account lists (they bound memory per account).
const (
	maxPendingPromises = 32  // promises beyond this are counted in promises_n but never kept or broken
	maxRecentContacts  = 128 // contacts_90d_* count at most this many latest contacts
	maxPrepaid         = 8   // payments held for invoices not open yet
	prepaidKeepDays    = 365 // ... for at most this many days
)

// binUpper are the inclusive upper bounds (days late) of the days-late
// histogram bins; one more bin holds everything above the last bound.
var binUpper = [...]int32{-31, -15, -8, -4, -2, -1, 0, 1, 2, 3, 5, 7, 10, 14, 21, 30, 45, 60, 90, 120, 180, 365}

const numBins = len(binUpper) + 1

func binBoundsText() string {
	parts := make([]string, len(binUpper))
	for i, u := range binUpper {
		parts[i] = strconv.Itoa(int(u))
	}
	return strings.Join(parts, ", ")
}

func binOf(x int32) int {
	for i, u := range binUpper {
		if x <= u {
			return i
		}
	}
	return len(binUpper)
}

// binValue is the value reported for quantiles falling in bin b.
func binValue(b int) float64 {
	if b < len(binUpper) {
		return float64(binUpper[b])
	}
	return float64(binUpper[len(binUpper)-1] + 1)
}

// openInvoice is an invoice issued and not yet closed.
type openInvoice struct {
	id       uint64 // hashID(invoice id)
	amount   int64  // minor units of the invoice currency
	open     int64  // amount − applied payments, credit notes and write-offs
	wo       int64  // write-offs applied
	issue    data.Date
	due      data.Date
	disputes uint8 // open disputes (saturating)
	contacts uint8 // contacts about it (saturating)
	sameCur  bool  // invoice currency == account currency
}

// promise is a pending promise to pay.
type promise struct {
	deadline data.Date // promised date; broken from deadline+1 midnight
	target   int64     // minor units
	credit   int64     // cash received towards it so far
}

// prepayment is a payment applied to an invoice that was not open when the
// payment happened (a prepayment, or a payment to an already closed invoice).
type prepayment struct {
	id       uint64
	amount   int64
	date     data.Date
	writeOff bool
}

// attrs are the account's stored attributes in encoded form.
type attrs struct {
	currency    string
	scale       float64 // 10^exponent of currency
	created     int64   // unix seconds; 0 = unset
	creditLimit int64
	termsDays   int32
	consent     uint8
	segment     int8 // hashed bucket; −1 = empty
	country     int8 // hashed bucket; −1 = empty
}

// State is one account's online feature state: running aggregates of its
// history, plus the short lists that cannot be aggregated (open invoices,
// pending promises, the last 90 days of contacts, held prepayments).
//
// Events must be applied in time order (ties in the order of
// data.History.Events); Vector then reads the features as of any instant
// after the latest applied event. The same State serves training (Replay,
// Build) and serving (Featurizer), so both compute identical vectors.
//
// A State is not safe for concurrent use.
type State struct {
	attrs attrs
	wm    int64 // unix seconds of the latest applied event; noEvent if none

	invoicesN    uint32
	curInvoicesN uint32  // invoices in the account currency
	amtSum       float64 // Σ amount (minor) of account-currency invoices
	lnAmtSum     float64 // Σ ln amount of account-currency invoices
	lnAmtSumSq   float64
	lastIssue    data.Date

	paidN      uint32
	lateN      uint32
	writeOffN  uint32
	paidAmt    float64 // Σ amount (minor) of paid account-currency invoices
	lateAmt    float64 // ... of those paid late
	dlSum      float64 // Σ days late of paid invoices
	dlSumSq    float64
	dtpSum     float64 // Σ days to pay
	dlMax      int32
	dlMin      int32
	hist       [numBins]uint16
	ewRef      data.Date // day the ew* sums are referenced to
	ewNum      float64   // Σ w·days late
	ewLate     float64   // Σ w·[late]
	ewDen      float64   // Σ w
	recent     [TrendN]int16
	recentNext uint8 // ring position of the next write

	lastPay     data.Date
	payDaysN    uint32    // distinct days with a cash payment
	payWeekday  [7]uint32 // of those days, by weekday
	payMonthEnd uint32    // of those days, the last 3 of a month or the 1st
	payMidMonth uint32    // of those days, the 14th–16th
	payDay      data.Date // date of the latest cash payment...
	payDayCash  int64     // ... and the cash received on that date
	unappliedN  uint32
	creditNoteN uint32

	disputesN         uint32
	disputesOpen      uint32
	disputesResolvedN uint32
	resolveDaysSum    float64
	lastDispute       data.Date

	promisesN      uint32
	promisesKept   uint32
	promisesBroken uint32
	pending        []promise

	contactsN   [4]uint32 // by channel code − 1
	respondedN  [4]uint32
	lastContact int64    // unix seconds; 0 = none
	recentC     []uint32 // packed recent contacts, oldest first: day<<8 | channel<<4 | outcome

	open    []openInvoice // sorted by id hash
	prepaid []prepayment  // in payment order
}

const noEvent = math.MinInt64

// NewState returns the empty state of an account.
func NewState(acc data.Account) *State {
	s := &State{wm: noEvent}
	s.SetAccount(acc)
	return s
}

// SetAccount replaces the account attributes (segment, country, currency,
// terms, credit limit, consent, created-at). Attributes are not versioned in
// time: features always use the latest ones, also when replaying the past.
func (s *State) SetAccount(acc data.Account) {
	a := attrs{currency: acc.Currency, scale: math.Pow10(data.CurrencyExponent(acc.Currency)),
		creditLimit: acc.CreditLimit, termsDays: int32(acc.TermsDays), consent: uint8(acc.Consent),
		segment: bucket(strings.ToLower(strings.TrimSpace(acc.Segment)), SegmentBuckets),
		country: bucket(strings.ToUpper(strings.TrimSpace(acc.Country)), CountryBuckets)}
	if !acc.CreatedAt.IsZero() {
		a.created = acc.CreatedAt.Unix()
	}
	s.attrs = a
}

// Watermark returns the time of the latest applied event (zero if none).
// Vector must be called with asOf strictly after it.
func (s *State) Watermark() time.Time {
	if s.wm == noEvent {
		return time.Time{}
	}
	return time.Unix(s.wm, 0).UTC()
}

// Compact releases the spare capacity of the state's lists (open invoices,
// pending promises, recent contacts, held prepayments): after a replay they
// hold up to twice what they need. Long-lived serving states call it once
// loaded; applying later events grows the lists again as needed.
func (s *State) Compact() {
	s.open = shrink(s.open)
	s.pending = shrink(s.pending)
	s.recentC = shrink(s.recentC)
	s.prepaid = shrink(s.prepaid)
}

func shrink[T any](v []T) []T {
	if len(v) == 0 {
		return nil
	}
	if cap(v) == len(v) {
		return v
	}
	out := make([]T, len(v))
	copy(out, v)
	return out
}

// SizeBytes estimates the memory the state holds: the struct plus the
// capacity of its lists (the currency string is shared with the Account).
func (s *State) SizeBytes() int {
	return int(unsafe.Sizeof(*s)) + cap(s.pending)*int(unsafe.Sizeof(promise{})) +
		cap(s.recentC)*4 + cap(s.open)*int(unsafe.Sizeof(openInvoice{})) +
		cap(s.prepaid)*int(unsafe.Sizeof(prepayment{}))
}

// bucket is FNV-1a-32(v) mod n, or −1 for "".
func bucket(v string, n int) int8 {
	if v == "" {
		return -1
	}
	return int8(data.AccountHash(v) % uint32(n))
}

// hashID is the 64-bit FNV-1a hash of an id; open invoices are matched by it
// instead of storing their ids.
func hashID(id string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	return h
}

// advance moves the watermark to t, refusing to go back in time.
func (s *State) advance(t time.Time, kind, id string) error {
	if t.IsZero() {
		return fmt.Errorf("features: %s %q: event time is unset", kind, id)
	}
	u := t.Unix()
	if s.wm != noEvent && u < s.wm {
		return fmt.Errorf("features: %s %q at %s is before the latest applied event at %s: %w",
			kind, id, t.UTC().Format(time.RFC3339), s.Watermark().Format(time.RFC3339), ErrOutOfOrder)
	}
	s.wm = u
	return nil
}

// findOpen returns the index of the open invoice with id hash id, or −1.
// s.open is sorted by id hash: lookups are O(log n) even for accounts with
// thousands of open invoices. (Vector's aggregates over s.open are integer
// sums, counts and maxima, so the order does not affect any value.)
func (s *State) findOpen(id uint64) int {
	if i, ok := slices.BinarySearchFunc(s.open, id, func(e openInvoice, id uint64) int { return cmp.Compare(e.id, id) }); ok {
		return i
	}
	return -1
}

// addOpen inserts e keeping s.open sorted by id hash.
func (s *State) addOpen(e openInvoice) {
	i, _ := slices.BinarySearchFunc(s.open, e.id, func(e openInvoice, id uint64) int { return cmp.Compare(e.id, id) })
	s.open = slices.Insert(s.open, i, e)
}

// expirePromises counts pending promises whose deadline is before day as
// broken: an event on day `day` happens at or after midnight of deadline+1.
func (s *State) expirePromises(day data.Date) {
	s.pending = slices.DeleteFunc(s.pending, func(p promise) bool {
		if p.deadline < day {
			s.promisesBroken++
			return true
		}
		return false
	})
}

// ApplyInvoice folds in an invoice issued on inv.IssueDate (at its midnight UTC).
func (s *State) ApplyInvoice(inv data.Invoice) error {
	if inv.Amount <= 0 || inv.IssueDate == 0 || inv.DueDate < inv.IssueDate {
		return fmt.Errorf("features: invoice %q: want amount > 0, issue date set and due date not before it", inv.ID)
	}
	if err := s.advance(inv.IssueDate.Time(), "invoice", inv.ID); err != nil {
		return err
	}
	s.expirePromises(inv.IssueDate)
	s.invoicesN++
	s.lastIssue = inv.IssueDate
	same := inv.Currency == s.attrs.currency
	if same {
		a := float64(inv.Amount)
		l := math.Log(a)
		s.curInvoicesN++
		s.amtSum += a
		s.lnAmtSum += l
		s.lnAmtSumSq += l * l
	}
	e := openInvoice{id: hashID(inv.ID), amount: inv.Amount, open: inv.Amount, issue: inv.IssueDate,
		due: inv.DueDate, sameCur: same}
	var closed data.Date
	if len(s.prepaid) > 0 {
		s.prepaid = slices.DeleteFunc(s.prepaid, func(p prepayment) bool {
			if p.id != e.id {
				return false
			}
			e.open -= p.amount
			if p.writeOff {
				e.wo += p.amount
			}
			if e.open <= 0 && closed == 0 {
				closed = p.date
			}
			return true
		})
	}
	if closed != 0 {
		s.close(e, closed, inv.IssueDate)
		return nil
	}
	s.addOpen(e)
	return nil
}

// ApplyPayment folds in a payment, credit note or write-off dated p.Date (at
// its midnight UTC), applied to p.InvoiceID or unapplied.
func (s *State) ApplyPayment(p data.Payment) error {
	if p.Amount <= 0 || p.Date == 0 {
		return fmt.Errorf("features: payment %q: want amount > 0 and date set", p.ID)
	}
	if err := s.advance(p.Date.Time(), "payment", p.ID); err != nil {
		return err
	}
	s.expirePromises(p.Date)
	if p.Method == data.MethodCreditNote {
		s.creditNoteN++
	}
	if p.Method.IsCash() {
		s.lastPay = p.Date
		if s.payDay == p.Date {
			s.payDayCash += p.Amount
		} else {
			s.payDay, s.payDayCash = p.Date, p.Amount
			s.notePayDay(p.Date)
		}
		for i := 0; i < len(s.pending); {
			s.pending[i].credit += p.Amount
			if s.pending[i].credit >= s.pending[i].target {
				s.promisesKept++
				s.pending = slices.Delete(s.pending, i, i+1)
				continue
			}
			i++
		}
	}
	if p.InvoiceID == "" {
		s.unappliedN++
		return nil
	}
	id := hashID(p.InvoiceID)
	wo := p.Method == data.MethodWriteOff
	if i := s.findOpen(id); i >= 0 {
		e := &s.open[i]
		e.open -= p.Amount
		if wo {
			e.wo += p.Amount
		}
		if e.open <= 0 {
			c := *e
			s.open = slices.Delete(s.open, i, i+1)
			s.close(c, p.Date, p.Date)
		}
		return nil
	}
	// Not open: hold it for an invoice issued later (a prepayment). Held
	// payments older than prepaidKeepDays are dropped, and the oldest one
	// when the list is full.
	s.prepaid = slices.DeleteFunc(s.prepaid, func(q prepayment) bool { return p.Date.Sub(q.date) > prepaidKeepDays })
	if len(s.prepaid) == maxPrepaid {
		s.prepaid = slices.Delete(s.prepaid, 0, 1)
	}
	s.prepaid = append(s.prepaid, prepayment{id: id, amount: p.Amount, date: p.Date, writeOff: wo})
	return nil
}

// notePayDay counts a new distinct day with a cash payment in the
// payment-run pattern (days arrive in order, so "new" = after the latest).
func (s *State) notePayDay(d data.Date) {
	s.payDaysN++
	s.payWeekday[d.Weekday()]++
	t := d.Time()
	y, m, dom := t.Date()
	switch toEnd := daysIn(y, m) - dom; {
	case toEnd <= 2 || dom == 1:
		s.payMonthEnd++
	case dom >= 14 && dom <= 16:
		s.payMidMonth++
	}
}

// topPayWeekday returns the most frequent cash-payment weekday (ties: the
// earliest from Sunday) and its count.
func (s *State) topPayWeekday() (time.Weekday, uint32) {
	best := 0
	for w := 1; w < 7; w++ {
		if s.payWeekday[w] > s.payWeekday[best] {
			best = w
		}
	}
	return time.Weekday(best), s.payWeekday[best]
}

// close folds an invoice whose open amount reached ≤ 0 on day closed into
// the history aggregates; foldDay is the day the closing became known (the
// payment date, or the issue date for a prepaid invoice).
func (s *State) close(e openInvoice, closed, foldDay data.Date) {
	if float64(e.wo) > MaterialWriteOff*float64(e.amount) {
		s.writeOffN++
		return
	}
	dl := int32(closed.Sub(e.due))
	x := float64(dl)
	late := dl > 0
	lateF := 0.0
	s.paidN++
	if late {
		s.lateN++
		lateF = 1
	}
	if e.sameCur {
		s.paidAmt += float64(e.amount)
		if late {
			s.lateAmt += float64(e.amount)
		}
	}
	s.dlSum += x
	s.dlSumSq += x * x
	s.dtpSum += float64(closed.Sub(e.issue))
	if s.paidN == 1 || dl > s.dlMax {
		s.dlMax = dl
	}
	if s.paidN == 1 || dl < s.dlMin {
		s.dlMin = dl
	}
	b := binOf(dl)
	if s.hist[b] == math.MaxUint16 { // halve every bin; keeps the proportions
		for i := range s.hist {
			s.hist[i] = s.hist[i]/2 + s.hist[i]%2 // rounds up; (c+1)/2 would overflow at 65535
		}
	}
	s.hist[b]++
	if s.paidN == 1 {
		s.ewRef, s.ewNum, s.ewLate, s.ewDen = foldDay, x, lateF, 1
	} else {
		f := math.Exp2(-float64(foldDay.Sub(s.ewRef)) / HalfLifeDays)
		s.ewNum = s.ewNum*f + x
		s.ewLate = s.ewLate*f + lateF
		s.ewDen = s.ewDen*f + 1
		s.ewRef = foldDay
	}
	s.recent[s.recentNext] = int16(max(min(dl, math.MaxInt16), math.MinInt16))
	s.recentNext = (s.recentNext + 1) % TrendN
}

// responded reports whether an outcome shows the customer engaged.
func responded(o data.Outcome) bool {
	switch o {
	case data.OutcomeOpened, data.OutcomeReplied, data.OutcomeConversation, data.OutcomePromise,
		data.OutcomeDispute, data.OutcomeRefused:
		return true
	}
	return false
}

// ApplyContact folds in a collection contact sent at c.SentAt with its
// recorded outcome. Contacts are versioned in the store: the outcome used is
// the one stored, treated as known at SentAt.
func (s *State) ApplyContact(c data.Contact) error {
	if err := s.advance(c.SentAt, "contact", c.ID); err != nil {
		return err
	}
	day := data.DateOf(c.SentAt.UTC())
	s.expirePromises(day)
	if c.Channel.Valid() {
		s.contactsN[c.Channel-1]++
		if responded(c.Outcome) {
			s.respondedN[c.Channel-1]++
		}
	}
	s.lastContact = c.SentAt.Unix()
	cut := uint32(max(int(day)-ContactWindowDays, 0)) << 8
	drop := 0
	for drop < len(s.recentC) && s.recentC[drop] < cut {
		drop++
	}
	if len(s.recentC)-drop >= maxRecentContacts {
		drop = len(s.recentC) - maxRecentContacts + 1
	}
	if drop > 0 {
		s.recentC = slices.Delete(s.recentC, 0, drop)
	}
	s.recentC = append(s.recentC, uint32(day)<<8|uint32(c.Channel&7)<<4|uint32(c.Outcome&15))
	var inv *openInvoice
	if c.InvoiceID != "" {
		if i := s.findOpen(hashID(c.InvoiceID)); i >= 0 {
			inv = &s.open[i]
			if inv.contacts < math.MaxUint8 {
				inv.contacts++
			}
		}
	}
	if c.Outcome != data.OutcomePromise {
		return nil
	}
	s.promisesN++
	if c.PromisedDate == 0 {
		return nil // no deadline: never kept or broken
	}
	if c.PromisedDate < day {
		s.promisesBroken++ // promised a date already past
		return nil
	}
	p := promise{deadline: c.PromisedDate, target: c.PromisedAmount}
	if p.target <= 0 {
		p.target = 1
		if inv != nil && inv.open > 0 {
			p.target = inv.open
		}
	}
	if s.payDay == day {
		p.credit = s.payDayCash // cash dated the promise's own day counts
	}
	switch {
	case p.credit >= p.target:
		s.promisesKept++
	case len(s.pending) < maxPendingPromises:
		s.pending = append(s.pending, p)
	}
	return nil
}

// ApplyDisputeOpened folds in a dispute opened on d.OpenedOn (at its midnight
// UTC). d.ResolvedOn is ignored: the resolution is its own event.
func (s *State) ApplyDisputeOpened(d data.Dispute) error {
	if d.OpenedOn == 0 {
		return fmt.Errorf("features: dispute %q: opened_on is unset", d.ID)
	}
	if err := s.advance(d.OpenedOn.Time(), "dispute", d.ID); err != nil {
		return err
	}
	s.expirePromises(d.OpenedOn)
	s.disputesN++
	if !leakResolution || d.ResolvedOn == 0 { // leakResolution is a test-only deliberate leak (false in builds)
		s.disputesOpen++
	}
	s.lastDispute = d.OpenedOn
	if i := s.findOpen(hashID(d.InvoiceID)); i >= 0 && s.open[i].disputes < math.MaxUint8 {
		s.open[i].disputes++
	}
	return nil
}

// ApplyDisputeResolved folds in the resolution of a dispute on d.ResolvedOn
// (at its midnight UTC). Its opening must have been applied before.
func (s *State) ApplyDisputeResolved(d data.Dispute) error {
	if d.ResolvedOn == 0 {
		return fmt.Errorf("features: dispute %q: resolved_on is unset", d.ID)
	}
	if err := s.advance(d.ResolvedOn.Time(), "dispute resolution", d.ID); err != nil {
		return err
	}
	s.expirePromises(d.ResolvedOn)
	if s.disputesOpen > 0 {
		s.disputesOpen--
	}
	s.disputesResolvedN++
	s.resolveDaysSum += float64(d.ResolvedOn.Sub(d.OpenedOn))
	if i := s.findOpen(hashID(d.InvoiceID)); i >= 0 && s.open[i].disputes > 0 {
		s.open[i].disputes--
	}
	return nil
}

// Apply applies the event ev of history h (see data.History.Events).
func (s *State) Apply(h *data.History, ev data.Event) error {
	switch ev.Kind {
	case data.EventInvoice:
		return s.ApplyInvoice(h.Invoices[ev.Index])
	case data.EventPayment:
		return s.ApplyPayment(h.Payments[ev.Index])
	case data.EventContact:
		return s.ApplyContact(h.Contacts[ev.Index])
	case data.EventDispute:
		return s.ApplyDisputeOpened(h.Disputes[ev.Index])
	case data.EventDisputeResolved:
		return s.ApplyDisputeResolved(h.Disputes[ev.Index])
	}
	return fmt.Errorf("features: unknown event kind %d", ev.Kind)
}

// isOpen reports whether the invoice with this id is open in the state.
func (s *State) isOpen(invoiceID string) bool { return s.findOpen(hashID(invoiceID)) >= 0 }
