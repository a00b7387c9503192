package features_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/data/datatest"
	"github.com/duesight/duesight/features"
)

// gen builds random histories dense in the situations the featurizer must
// handle: partial payments, credit notes, small and large write-offs,
// overpayments, prepayments, unapplied payments, several events on one day,
// promises (with and without amounts and invoices), disputes resolved on the
// day they open or later or never, contacts at midnight and at one shared
// instant, invoices in a foreign currency.
type gen struct {
	r   *rand.Rand
	acc string
	seq int
}

var genBase = data.NewDate(2023, 1, 2)

func (g *gen) id(kind string) string {
	g.seq++
	return fmt.Sprintf("%s-%s%d", g.acc, kind, g.seq)
}

func (g *gen) instant(d data.Date) time.Time {
	switch g.r.IntN(4) {
	case 0:
		return d.Time() // exactly midnight
	case 1:
		return d.Time().Add(12 * time.Hour)
	}
	return d.Time().Add(time.Duration(g.r.IntN(86400)) * time.Second)
}

func (g *gen) contact(sent time.Time, invoices []data.Invoice) data.Contact {
	c := data.Contact{ID: g.id("c"), AccountID: g.acc, Channel: data.Channels[g.r.IntN(4)], SentAt: sent,
		Outcome: data.Outcomes[g.r.IntN(len(data.Outcomes))]}
	if len(invoices) > 0 && g.r.IntN(3) > 0 {
		c.InvoiceID = invoices[g.r.IntN(len(invoices))].ID
	}
	if g.r.IntN(4) == 0 {
		c.Outcome = data.OutcomePromise
	}
	if c.Outcome == data.OutcomePromise && g.r.IntN(6) > 0 {
		c.PromisedDate = data.DateOf(sent).AddDays(g.r.IntN(10))
		if g.r.IntN(2) == 0 {
			c.PromisedAmount = int64(1 + g.r.IntN(300_000))
		}
	}
	return c
}

func (g *gen) history(acc string) *data.History {
	g.acc, g.seq = acc, 0
	r := g.r
	cur := []string{"EUR", "EUR", "USD", "JPY"}[r.IntN(4)]
	a := data.Account{ID: acc, Name: "Kunde " + acc, Segment: []string{"smb", "Enterprise", "", "public"}[r.IntN(4)],
		Country: []string{"DE", "us", "", "FR", "JP"}[r.IntN(5)], Currency: cur, TimeZone: "Europe/Berlin",
		TermsDays: []int{0, 14, 30, 60}[r.IntN(4)], CreditLimit: int64(r.IntN(3)) * 500_000,
		Consent: data.ChannelSet(r.IntN(16)) << 1}
	if r.IntN(4) > 0 {
		a.CreatedAt = genBase.AddDays(-r.IntN(400)).Time().Add(time.Duration(r.IntN(86400)) * time.Second)
	}
	h := &data.History{Account: a}
	nInv := r.IntN(15)
	span := 60 + r.IntN(300)
	for range nInv {
		issue := genBase.AddDays(r.IntN(span))
		if len(h.Invoices) > 0 && r.IntN(5) == 0 {
			issue = h.Invoices[len(h.Invoices)-1].IssueDate // same day as another invoice
		}
		terms := a.TermsDays
		if r.IntN(4) == 0 {
			terms = r.IntN(61)
		}
		inv := data.Invoice{ID: g.id("i"), AccountID: acc, IssueDate: issue, DueDate: issue.AddDays(terms),
			Amount: int64(100 + r.IntN(1_000_000)), Currency: cur,
			DeliveredBy: []data.Channel{data.ChannelUnknown, data.Email, data.Letter, data.SMS}[r.IntN(4)]}
		if r.IntN(10) == 0 {
			inv.Currency = "CHF"
		}
		h.Invoices = append(h.Invoices, inv)
		pay := func(d data.Date, amt int64, m data.Method) {
			h.Payments = append(h.Payments, data.Payment{ID: g.id("p"), AccountID: acc, InvoiceID: inv.ID,
				Date: max(d, data.MinDate), Amount: max(amt, 1), Currency: inv.Currency, Method: m})
		}
		cash := func() data.Method { return data.Method(1 + r.IntN(5)) }
		late := inv.DueDate.AddDays(r.IntN(80) - 20)
		switch r.IntN(9) {
		case 0: // open
		case 1, 2: // paid in full, maybe before issue (prepaid)
			pay(late, inv.Amount, cash())
		case 3: // partial payments, maybe finished by a credit note, maybe still open
			part := inv.Amount / 3
			pay(issue.AddDays(r.IntN(30)), part, cash())
			if r.IntN(3) > 0 {
				pay(issue.AddDays(30+r.IntN(40)), inv.Amount-part, []data.Method{data.MethodCreditNote, cash()}[r.IntN(2)])
			}
		case 4: // small write-off of the remainder (paid)
			pay(late, inv.Amount-inv.Amount/100, cash())
			pay(late.AddDays(r.IntN(3)), inv.Amount/100, data.MethodWriteOff)
		case 5: // material write-off
			pay(late, inv.Amount/2, cash())
			pay(late.AddDays(30+r.IntN(60)), inv.Amount-inv.Amount/2, data.MethodWriteOff)
		case 6: // overpayment
			pay(late, inv.Amount+int64(r.IntN(5000)), cash())
		case 7: // two payments on one day
			pay(late, inv.Amount/2, cash())
			pay(late, inv.Amount-inv.Amount/2, cash())
		case 8: // prepayment well before issue
			pay(issue.AddDays(-1-r.IntN(20)), inv.Amount, cash())
		}
	}
	for range r.IntN(3) {
		h.Payments = append(h.Payments, data.Payment{ID: g.id("u"), AccountID: acc, Date: genBase.AddDays(r.IntN(span + 60)),
			Amount: int64(1 + r.IntN(200_000)), Currency: cur, Method: data.MethodCheck})
	}
	var shared time.Time
	for k := range r.IntN(14) {
		sent := g.instant(genBase.AddDays(r.IntN(span + 90)))
		if k > 0 && r.IntN(5) == 0 {
			sent = shared
		}
		shared = sent
		h.Contacts = append(h.Contacts, g.contact(sent, h.Invoices))
	}
	for range r.IntN(4) {
		if len(h.Invoices) == 0 {
			break
		}
		inv := h.Invoices[r.IntN(len(h.Invoices))]
		d := data.Dispute{ID: g.id("d"), AccountID: acc, InvoiceID: inv.ID, OpenedOn: inv.IssueDate.AddDays(r.IntN(40))}
		if r.IntN(3) > 0 {
			d.ResolvedOn = d.OpenedOn.AddDays(r.IntN(30)) // may be the same day
		}
		h.Disputes = append(h.Disputes, d)
	}
	data.SortHistory(h)
	return h
}

func cloneHistory(h *data.History) *data.History {
	return &data.History{Account: h.Account, Invoices: slices.Clone(h.Invoices), Payments: slices.Clone(h.Payments),
		Contacts: slices.Clone(h.Contacts), Disputes: slices.Clone(h.Disputes)}
}

// ceilDay is the first date whose midnight UTC is at or after t.
func ceilDay(t time.Time) data.Date {
	d := data.DateOf(t.UTC())
	if d.Time().Before(t) {
		d++
	}
	return d
}

// futureDay returns a date whose midnight is ≥ t, often the first one.
func (g *gen) futureDay(t time.Time) data.Date {
	if g.r.IntN(2) == 0 {
		return ceilDay(t)
	}
	return ceilDay(t).AddDays(g.r.IntN(40))
}

// futureInstant returns an instant ≥ t, often t itself.
func (g *gen) futureInstant(t time.Time) time.Time {
	switch g.r.IntN(3) {
	case 0:
		return t.UTC().Truncate(time.Second).Add(time.Second * time.Duration(b2i(t.Nanosecond() > 0)))
	case 1:
		return g.futureDay(t).Time()
	}
	return t.Add(time.Duration(1+g.r.IntN(40*86400)) * time.Second).UTC().Truncate(time.Second).Add(time.Second)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// mutateFuture returns a copy of h with one change to events that happen at
// or after t (added, removed or altered), and a description of it.
func (g *gen) mutateFuture(h *data.History, t time.Time) (*data.History, string) {
	m := cloneHistory(h)
	r := g.r
	anyInvoice := func() string {
		if len(m.Invoices) == 0 || r.IntN(8) == 0 {
			return ""
		}
		return m.Invoices[r.IntN(len(m.Invoices))].ID
	}
	future := func(n int, at func(i int) time.Time) []int {
		var out []int
		for i := range n {
			if !at(i).Before(t) {
				out = append(out, i)
			}
		}
		return out
	}
	for range 20 { // retry until a mutation applies
		switch r.IntN(9) {
		case 0:
			d := g.futureDay(t)
			inv := data.Invoice{ID: g.id("fi"), AccountID: m.Account.ID, IssueDate: d, DueDate: d.AddDays(r.IntN(40)),
				Amount: int64(1 + r.IntN(900_000)), Currency: m.Account.Currency, DeliveredBy: data.Email}
			m.Invoices = append(m.Invoices, inv)
			return sorted(m), fmt.Sprintf("add invoice issued %s", d)
		case 1, 2:
			p := data.Payment{ID: g.id("fp"), AccountID: m.Account.ID, InvoiceID: anyInvoice(), Date: g.futureDay(t),
				Amount: int64(1 + r.IntN(900_000)), Currency: m.Account.Currency, Method: data.Method(1 + r.IntN(8))}
			if p.InvoiceID != "" && r.IntN(2) == 0 {
				for _, inv := range m.Invoices {
					if inv.ID == p.InvoiceID {
						p.Amount = inv.Amount // settles it
					}
				}
			}
			m.Payments = append(m.Payments, p)
			return sorted(m), fmt.Sprintf("add payment %+v", p)
		case 3:
			c := g.contact(g.futureInstant(t), m.Invoices)
			m.Contacts = append(m.Contacts, c)
			return sorted(m), fmt.Sprintf("add contact %+v", c)
		case 4:
			if len(m.Invoices) == 0 {
				continue
			}
			inv := m.Invoices[r.IntN(len(m.Invoices))]
			d := data.Dispute{ID: g.id("fd"), AccountID: m.Account.ID, InvoiceID: inv.ID, OpenedOn: g.futureDay(t)}
			if r.IntN(2) == 0 {
				d.ResolvedOn = d.OpenedOn.AddDays(r.IntN(5))
			}
			m.Disputes = append(m.Disputes, d)
			return sorted(m), fmt.Sprintf("add dispute %+v", d)
		case 5: // remove a future event
			switch r.IntN(4) {
			case 0:
				if f := future(len(m.Payments), func(i int) time.Time { return m.Payments[i].Date.Time() }); len(f) > 0 {
					i := f[r.IntN(len(f))]
					desc := fmt.Sprintf("remove payment %+v", m.Payments[i])
					m.Payments = slices.Delete(m.Payments, i, i+1)
					return m, desc
				}
			case 1:
				if f := future(len(m.Invoices), func(i int) time.Time { return m.Invoices[i].IssueDate.Time() }); len(f) > 0 {
					i := f[r.IntN(len(f))]
					desc := fmt.Sprintf("remove invoice %+v", m.Invoices[i])
					m.Invoices = slices.Delete(m.Invoices, i, i+1)
					return m, desc
				}
			case 2:
				if f := future(len(m.Contacts), func(i int) time.Time { return m.Contacts[i].SentAt }); len(f) > 0 {
					i := f[r.IntN(len(f))]
					desc := fmt.Sprintf("remove contact %+v", m.Contacts[i])
					m.Contacts = slices.Delete(m.Contacts, i, i+1)
					return m, desc
				}
			case 3:
				if f := future(len(m.Disputes), func(i int) time.Time { return m.Disputes[i].OpenedOn.Time() }); len(f) > 0 {
					i := f[r.IntN(len(f))]
					desc := fmt.Sprintf("remove dispute %+v", m.Disputes[i])
					m.Disputes = slices.Delete(m.Disputes, i, i+1)
					return m, desc
				}
			}
		case 6: // alter a future payment: date (to another future date, often exactly t's day), amount, method
			if f := future(len(m.Payments), func(i int) time.Time { return m.Payments[i].Date.Time() }); len(f) > 0 {
				i := f[r.IntN(len(f))]
				old := m.Payments[i]
				p := &m.Payments[i]
				p.Date = g.futureDay(t)
				if r.IntN(2) == 0 {
					p.Amount = max(1, p.Amount/int64(1+r.IntN(4)))
				}
				if r.IntN(2) == 0 {
					p.Method = data.Method(1 + r.IntN(8))
				}
				return sorted(m), fmt.Sprintf("alter payment %+v -> %+v", old, *p)
			}
		case 7: // alter a future contact
			if f := future(len(m.Contacts), func(i int) time.Time { return m.Contacts[i].SentAt }); len(f) > 0 {
				i := f[r.IntN(len(f))]
				old := m.Contacts[i]
				c := g.contact(g.futureInstant(t), m.Invoices)
				c.ID = old.ID
				m.Contacts[i] = c
				return sorted(m), fmt.Sprintf("alter contact %+v -> %+v", old, c)
			}
		case 8: // alter a resolution that lies at or after t (or add one)
			var cand []int
			for i, d := range m.Disputes {
				if d.ResolvedOn == 0 || !d.ResolvedOn.Time().Before(t) {
					cand = append(cand, i)
				}
			}
			if len(cand) > 0 {
				i := cand[r.IntN(len(cand))]
				old := m.Disputes[i]
				d := &m.Disputes[i]
				if d.ResolvedOn != 0 && r.IntN(2) == 0 {
					d.ResolvedOn = 0
				} else {
					d.ResolvedOn = max(g.futureDay(t), d.OpenedOn)
				}
				return m, fmt.Sprintf("alter dispute %+v -> %+v", old, *d)
			}
		}
	}
	return m, "no-op"
}

func sorted(h *data.History) *data.History {
	data.SortHistory(h)
	return h
}

// sameFloat reports a == b, treating NaN as equal to NaN.
func sameFloat(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }

// diffVec names the first differing feature, "" if equal.
func diffVec(a, b []float64) string {
	if len(a) != len(b) {
		return fmt.Sprintf("length %d vs %d", len(a), len(b))
	}
	names := features.Names()
	for j := range a {
		if !sameFloat(a[j], b[j]) {
			return fmt.Sprintf("%s: %v vs %v", names[j], a[j], b[j])
		}
	}
	return ""
}

// diffTables names the first difference between two tables, "" if equal.
func diffTables(a, b *features.Table) string {
	if a.Len() != b.Len() {
		return fmt.Sprintf("rows %d vs %d", a.Len(), b.Len())
	}
	if !slices.Equal(a.Names, b.Names) || a.SchemaHash != b.SchemaHash {
		return "schema differs"
	}
	for i := range a.Len() {
		ka := fmt.Sprint(a.InvoiceID[i], a.AccountID[i], a.Snapshot[i], a.AsOf[i], a.IssueDate[i], a.DueDate[i],
			a.Amount[i], a.Currency[i], a.Status[i], a.LowerBound[i], a.Bucket[i], a.Settled[i], a.WrittenOff[i])
		kb := fmt.Sprint(b.InvoiceID[i], b.AccountID[i], b.Snapshot[i], b.AsOf[i], b.IssueDate[i], b.DueDate[i],
			b.Amount[i], b.Currency[i], b.Status[i], b.LowerBound[i], b.Bucket[i], b.Settled[i], b.WrittenOff[i])
		if ka != kb {
			return fmt.Sprintf("row %d keys/labels: %s vs %s", i, ka, kb)
		}
		if !sameFloat(a.Late[i], b.Late[i]) || !sameFloat(a.DaysLate[i], b.DaysLate[i]) {
			return fmt.Sprintf("row %d late/days_late: %v %v vs %v %v", i, a.Late[i], a.DaysLate[i], b.Late[i], b.DaysLate[i])
		}
		for j := range a.X {
			if !sameFloat(a.X[j][i], b.X[j][i]) {
				return fmt.Sprintf("row %d (%s) feature %s: %v vs %v", i, a.InvoiceID[i], a.Names[j], a.X[j][i], b.X[j][i])
			}
		}
	}
	return ""
}

// writeRaw stores histories without ingest validation (the generator makes
// overpayments that Ingest would reject).
func writeRaw(t testing.TB, s data.Store, hs ...*data.History) {
	t.Helper()
	ctx := context.Background()
	w, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hs {
		if err := w.Write(ctx, h.Batch()); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

// testStore returns a MemStore holding datatest.Sample accounts and
// generated histories.
func testStore(t testing.TB, seed uint64, sampleAccounts, genAccounts int) (*datatest.MemStore, []*data.History) {
	t.Helper()
	s := datatest.NewMemStore()
	if err := data.Append(context.Background(), s, datatest.Sample(datatest.SampleOptions{Seed: seed, Accounts: sampleAccounts, Prefix: "s"})); err != nil {
		t.Fatal(err)
	}
	g := &gen{r: rand.New(rand.NewPCG(seed, 99))}
	var hs []*data.History
	for k := range genAccounts {
		hs = append(hs, g.history(fmt.Sprintf("g%d", k)))
	}
	writeRaw(t, s, hs...)
	return s, hs
}
