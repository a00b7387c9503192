package data

import (
	"cmp"
	"slices"
	"time"
)

// SortHistory puts h's slices in canonical order: by their time, then id.
func SortHistory(h *History) {
	slices.SortFunc(h.Invoices, func(a, b Invoice) int {
		return cmp.Or(cmp.Compare(a.IssueDate, b.IssueDate), cmp.Compare(a.ID, b.ID))
	})
	slices.SortFunc(h.Payments, func(a, b Payment) int {
		return cmp.Or(cmp.Compare(a.Date, b.Date), cmp.Compare(a.ID, b.ID))
	})
	slices.SortFunc(h.Contacts, func(a, b Contact) int {
		return cmp.Or(a.SentAt.Compare(b.SentAt), cmp.Compare(a.ID, b.ID))
	})
	slices.SortFunc(h.Disputes, func(a, b Dispute) int {
		return cmp.Or(cmp.Compare(a.OpenedOn, b.OpenedOn), cmp.Compare(a.ID, b.ID))
	})
}

// Equal reports whether h and g hold the same rows in the same order.
func (h *History) Equal(g *History) bool {
	return h.Account.Equal(g.Account) && slices.Equal(h.Invoices, g.Invoices) &&
		slices.Equal(h.Payments, g.Payments) && slices.EqualFunc(h.Contacts, g.Contacts, Contact.Equal) &&
		slices.Equal(h.Disputes, g.Disputes)
}

// Filter returns a copy of h holding only the rows whose own time is in w.
func (h *History) Filter(w Window) *History {
	out := &History{Account: h.Account}
	for _, r := range h.Invoices {
		if w.ContainsDate(r.IssueDate) {
			out.Invoices = append(out.Invoices, r)
		}
	}
	for _, r := range h.Payments {
		if w.ContainsDate(r.Date) {
			out.Payments = append(out.Payments, r)
		}
	}
	for _, r := range h.Contacts {
		if w.Contains(r.SentAt) {
			out.Contacts = append(out.Contacts, r)
		}
	}
	for _, r := range h.Disputes {
		if w.ContainsDate(r.OpenedOn) {
			out.Disputes = append(out.Disputes, r)
		}
	}
	return out
}

// Batch returns h's rows as a batch.
func (h *History) Batch() *Batch {
	return &Batch{Accounts: []Account{h.Account}, Invoices: h.Invoices, Payments: h.Payments,
		Contacts: h.Contacts, Disputes: h.Disputes}
}

// EventKind says which slice of a History an Event points into.
type EventKind uint8

const (
	EventInvoice EventKind = iota + 1
	EventPayment
	EventContact
	EventDispute
	// EventDisputeResolved marks the resolution of a dispute (at ResolvedOn).
	EventDisputeResolved
)

// Event is one happening in an account's history, pointing at a row of the
// History it came from.
type Event struct {
	At    time.Time // UTC; a date event happens at its midnight UTC
	Kind  EventKind
	Index int // index into the History slice for Kind
}

// Events returns h's happenings in time order. Ties are broken by kind in
// the order invoice, payment, dispute opened, dispute resolved, contact —
// so that on one day an invoice exists before it is paid — then by index.
// Dispute resolutions appear as their own events.
func (h *History) Events() []Event {
	ev := make([]Event, 0, len(h.Invoices)+len(h.Payments)+len(h.Contacts)+2*len(h.Disputes))
	for i, r := range h.Invoices {
		ev = append(ev, Event{r.IssueDate.Time(), EventInvoice, i})
	}
	for i, r := range h.Payments {
		ev = append(ev, Event{r.Date.Time(), EventPayment, i})
	}
	for i, r := range h.Contacts {
		ev = append(ev, Event{r.SentAt, EventContact, i})
	}
	for i, r := range h.Disputes {
		ev = append(ev, Event{r.OpenedOn.Time(), EventDispute, i})
		if r.ResolvedOn != 0 {
			ev = append(ev, Event{r.ResolvedOn.Time(), EventDisputeResolved, i})
		}
	}
	rank := [...]int{EventInvoice: 0, EventPayment: 1, EventDispute: 2, EventDisputeResolved: 3, EventContact: 4}
	slices.SortStableFunc(ev, func(a, b Event) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(rank[a.Kind], rank[b.Kind]), cmp.Compare(a.Index, b.Index))
	})
	return ev
}

// OpenAmounts returns, for each invoice of h (same index), its open amount at
// the end of day asOf: Amount minus payments applied to it dated on or before
// asOf. Overpayment yields a negative value. asOf == 0 means "all payments".
func (h *History) OpenAmounts(asOf Date) []int64 {
	idx := make(map[string]int, len(h.Invoices))
	open := make([]int64, len(h.Invoices))
	for i, inv := range h.Invoices {
		idx[inv.ID] = i
		open[i] = inv.Amount
	}
	for _, p := range h.Payments {
		if p.InvoiceID == "" || (asOf != 0 && p.Date > asOf) {
			continue
		}
		if i, ok := idx[p.InvoiceID]; ok {
			open[i] -= p.Amount
		}
	}
	return open
}

// SettledDates returns, for each invoice of h, the date its open amount first
// reached zero or below (0 if it is still open).
func (h *History) SettledDates() []Date {
	idx := make(map[string]int, len(h.Invoices))
	open := make([]int64, len(h.Invoices))
	settled := make([]Date, len(h.Invoices))
	for i, inv := range h.Invoices {
		idx[inv.ID] = i
		open[i] = inv.Amount
	}
	for _, p := range h.Payments { // payments are in date order
		i, ok := idx[p.InvoiceID]
		if !ok || p.InvoiceID == "" {
			continue
		}
		open[i] -= p.Amount
		if open[i] <= 0 && settled[i] == 0 {
			settled[i] = p.Date
		}
	}
	return settled
}
