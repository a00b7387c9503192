package data

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Summary describes a store's history: what `duesight stats` prints.
type Summary struct {
	Counts        Counts                      `json:"counts"`
	FirstInvoice  Date                        `json:"first_invoice,omitempty"`
	LastInvoice   Date                        `json:"last_invoice,omitempty"`
	LastEvent     Date                        `json:"last_event,omitempty"`
	ByCurrency    map[string]*CurrencySummary `json:"by_currency"`
	Settled       int                         `json:"settled_invoices"`
	SettledLate   int                         `json:"settled_late"` // settled after the due date
	OpenInvoices  int                         `json:"open_invoices"`
	Unapplied     int                         `json:"unapplied_payments"`
	ContactsBy    map[string]int              `json:"contacts_by_channel"`
	Promises      int                         `json:"promises"`
	OpenDisputes  int                         `json:"open_disputes"`
	EmptyAccounts int                         `json:"accounts_without_invoices"`
}

// CurrencySummary holds money totals of one currency, in minor units. They
// are integer sums: no floating-point rounding.
type CurrencySummary struct {
	Invoiced int64 `json:"-"`
	Paid     int64 `json:"-"` // payments applied to invoices, all methods
	Open     int64 `json:"-"` // Σ max(0, invoice open amount) at the end of the history
	Invoices int   `json:"invoices"`
}

// jsonFields renders amounts as decimal strings in the currency's minor unit.
func (c *CurrencySummary) jsonFields(cur string) map[string]any {
	return map[string]any{"invoiced": FormatAmount(c.Invoiced, cur), "paid": FormatAmount(c.Paid, cur),
		"open": FormatAmount(c.Open, cur), "invoices": c.Invoices}
}

// LateRatio is SettledLate / Settled (0 when nothing is settled).
func (s *Summary) LateRatio() float64 {
	if s.Settled == 0 {
		return 0
	}
	return float64(s.SettledLate) / float64(s.Settled)
}

// JSON returns s as a JSON-ready map with amounts as decimal strings.
func (s *Summary) JSON() map[string]any {
	cur := map[string]any{}
	for c, v := range s.ByCurrency {
		cur[c] = v.jsonFields(c)
	}
	return map[string]any{
		"counts": s.Counts, "first_invoice": s.FirstInvoice, "last_invoice": s.LastInvoice,
		"last_event": s.LastEvent, "by_currency": cur, "settled_invoices": s.Settled,
		"settled_late": s.SettledLate, "late_ratio": s.LateRatio(), "open_invoices": s.OpenInvoices,
		"unapplied_payments": s.Unapplied, "contacts_by_channel": s.ContactsBy, "promises": s.Promises,
		"open_disputes": s.OpenDisputes, "accounts_without_invoices": s.EmptyAccounts,
	}
}

// Text renders s for people.
func (s *Summary) Text() string {
	var b strings.Builder
	c := s.Counts
	fmt.Fprintf(&b, "accounts  %d (%d without invoices)\ninvoices  %d\npayments  %d (%d unapplied)\ncontacts  %d (%d promises)\ndisputes  %d (%d open)\n",
		c.Accounts, s.EmptyAccounts, c.Invoices, c.Payments, s.Unapplied, c.Contacts, s.Promises, c.Disputes, s.OpenDisputes)
	if c.Invoices > 0 {
		fmt.Fprintf(&b, "invoice dates  %s .. %s (last event %s)\n", s.FirstInvoice, s.LastInvoice, s.LastEvent)
		fmt.Fprintf(&b, "settled  %d, of which late %d (%.1f%%); open %d\n", s.Settled, s.SettledLate, 100*s.LateRatio(), s.OpenInvoices)
	}
	for _, cur := range slices.Sorted(maps.Keys(s.ByCurrency)) {
		v := s.ByCurrency[cur]
		fmt.Fprintf(&b, "%s  invoiced %s  paid %s  open %s  (%d invoices)\n", cur, FormatAmount(v.Invoiced, cur),
			FormatAmount(v.Paid, cur), FormatAmount(v.Open, cur), v.Invoices)
	}
	if len(s.ContactsBy) > 0 {
		var parts []string
		for _, ch := range Channels {
			if n := s.ContactsBy[ch.String()]; n > 0 {
				parts = append(parts, fmt.Sprintf("%s %d", ch, n))
			}
		}
		fmt.Fprintf(&b, "contacts by channel  %s\n", strings.Join(parts, ", "))
	}
	return b.String()
}

// Summarize streams every history of s once and summarises it. progress, if
// not nil, is called after each account with the number of rows seen so far.
func Summarize(ctx context.Context, s Store, progress func(rows int64)) (*Summary, error) {
	sum := &Summary{ByCurrency: map[string]*CurrencySummary{}, ContactsBy: map[string]int{}}
	var rows int64
	for h, err := range s.Histories(ctx, HistoryQuery{}) {
		if err != nil {
			return nil, fmt.Errorf("summarize: %w", err)
		}
		sum.add(h)
		rows += int64(h.Batch().Len())
		if progress != nil {
			progress(rows)
		}
	}
	return sum, nil
}

func (sum *Summary) add(h *History) {
	sum.Counts = sum.Counts.Add(h.Batch().Counts())
	if len(h.Invoices) == 0 {
		sum.EmptyAccounts++
	}
	last := func(d Date) {
		if d > sum.LastEvent {
			sum.LastEvent = d
		}
	}
	settled := h.SettledDates()
	open := h.OpenAmounts(0)
	for i, inv := range h.Invoices {
		if sum.FirstInvoice == 0 || inv.IssueDate < sum.FirstInvoice {
			sum.FirstInvoice = inv.IssueDate
		}
		if inv.IssueDate > sum.LastInvoice {
			sum.LastInvoice = inv.IssueDate
		}
		last(inv.IssueDate)
		cs := sum.ByCurrency[inv.Currency]
		if cs == nil {
			cs = &CurrencySummary{}
			sum.ByCurrency[inv.Currency] = cs
		}
		cs.Invoices++
		cs.Invoiced += inv.Amount
		cs.Open += max(0, open[i])
		if settled[i] == 0 {
			sum.OpenInvoices++
			continue
		}
		sum.Settled++
		if settled[i] > inv.DueDate {
			sum.SettledLate++
		}
	}
	for _, p := range h.Payments {
		last(p.Date)
		if p.InvoiceID == "" {
			sum.Unapplied++
			continue
		}
		if cs := sum.ByCurrency[p.Currency]; cs != nil {
			cs.Paid += p.Amount
		}
	}
	for _, c := range h.Contacts {
		last(DateOf(c.SentAt))
		sum.ContactsBy[c.Channel.String()]++
		if c.Outcome == OutcomePromise {
			sum.Promises++
		}
	}
	for _, d := range h.Disputes {
		last(max(d.OpenedOn, d.ResolvedOn))
		if d.ResolvedOn == 0 {
			sum.OpenDisputes++
		}
	}
}
