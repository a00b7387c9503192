package scoring

import (
	"cmp"
	"context"
	"math"
	"slices"
	"time"

	"github.com/duesight/duesight/api"
	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/features"
)

// acctView is a consistent copy of what an account view or the worklist
// needs of one account at an instant.
type acctView struct {
	acc      data.Account
	invoices []data.Invoice // open at asOf (issued before it), with ...
	open     []int64        // ... their open amounts
	disputed []bool
	vecs     [][]float64 // ... and feature vectors as of asOf
	contacts []data.Contact
	// history is the stored history when the view was replayed from it.
	history *data.History
}

// viewLive copies account a's view at asOf from the online state. It
// returns false when the online state cannot serve asOf (see table.mode).
func (s *Service) viewLive(t *table, a *account, asOf, now time.Time, withVectors bool) (*acctView, bool) {
	sh := t.shardOf(a.id)
	for attempt := 0; ; attempt++ {
		sh.mu.RLock()
		switch t.mode(sh, a, asOf, now) {
		case modeLive:
			v := &acctView{acc: a.dataAccount(t.in)}
			for i := range a.open {
				o := &a.open[i]
				if !o.issue.Time().Before(asOf) || o.open <= 0 {
					continue
				}
				inv := a.invoice(t.in, i)
				v.invoices = append(v.invoices, inv)
				v.open = append(v.open, o.open)
				v.disputed = append(v.disputed, o.disputes > 0)
				if withVectors {
					v.vecs = append(v.vecs, a.st.Vector(asOf, inv, nil))
				}
			}
			for _, p := range a.contacts {
				at, ch, out := unpackContact(p)
				v.contacts = append(v.contacts, data.Contact{AccountID: a.id, Channel: ch, SentAt: time.Unix(at, 0).UTC(), Outcome: out})
			}
			sh.mu.RUnlock()
			return v, true
		case modePromote:
			sh.mu.RUnlock()
			if attempt == 0 && t.promote(a, now, s.log) {
				continue
			}
			return nil, false
		default:
			sh.mu.RUnlock()
			return nil, false
		}
	}
}

// viewReplay computes the view of account id at asOf from its stored
// history (the point-in-time rule: events strictly before asOf).
func (s *Service) viewReplay(ctx context.Context, id string, asOf time.Time, withVectors bool) (*acctView, error) {
	h, err := s.store.History(ctx, id)
	if err != nil {
		s.noteStoreError(ctx, err)
		return nil, data.Errorf(data.Unavailable, "this as_of needs the stored history of the account, and the store cannot be read: %w", err)
	}
	return s.viewOf(h, asOf, withVectors)
}

func (s *Service) viewOf(h *data.History, asOf time.Time, withVectors bool) (*acctView, error) {
	st, err := features.Replay(h, asOf)
	if err != nil {
		return nil, data.Errorf(data.Internal, "replay the stored history of one account: %w", err)
	}
	v := &acctView{acc: h.Account, history: h}
	open := make(map[string]int64, len(h.Invoices))
	for _, inv := range h.Invoices {
		open[inv.ID] = inv.Amount
	}
	for _, p := range h.Payments {
		if p.InvoiceID != "" && p.Date.Time().Before(asOf) {
			open[p.InvoiceID] -= p.Amount
		}
	}
	for _, inv := range h.Invoices {
		if !inv.IssueDate.Time().Before(asOf) || open[inv.ID] <= 0 {
			continue
		}
		disputed := slices.ContainsFunc(h.Disputes, func(d data.Dispute) bool {
			return d.InvoiceID == inv.ID && d.OpenedOn.Time().Before(asOf) && (d.ResolvedOn == 0 || !d.ResolvedOn.Time().Before(asOf))
		})
		v.invoices = append(v.invoices, inv)
		v.open = append(v.open, open[inv.ID])
		v.disputed = append(v.disputed, disputed)
		if withVectors {
			v.vecs = append(v.vecs, st.Vector(asOf, inv, nil))
		}
	}
	for _, c := range h.Contacts {
		if c.SentAt.Before(asOf) {
			v.contacts = append(v.contacts, c)
		}
	}
	return v, nil
}

// Account returns the account's position at as_of: open and overdue
// amounts per currency (exact integer sums), the current score of each open
// invoice, expected loss per currency and the latest contacts.
//
// Expected loss (per currency, rounded to the minor unit):
//
//	EL = Σ_{open invoices i} open_i × P(late_i) × LossGivenLate
//
// with LossGivenLate = Options.LossGivenLate (default 0.10). An invoice is
// overdue when its due date is before as_of's UTC date. The recent contacts
// (newest first, at most Options.RecentContacts) and the account name are
// read from the store; when it cannot be read the contacts come from
// memory, which keeps only the contacts the contact rules need and no
// contact ids, and the name is empty (names are not kept in memory).
func (s *Service) Account(ctx context.Context, q api.AccountQuery) (*api.AccountView, error) {
	b, t, err := s.serving()
	if err != nil {
		return nil, err
	}
	now := s.now()
	asOf := s.asOf(q.AsOf, now)
	a := t.lookupAccount(q.AccountID)
	if a == nil {
		return nil, data.Errorf(data.NotFound, "account %q is not known", issueText(q.AccountID))
	}
	v, ok := s.viewLive(t, a, asOf, now, true)
	if !ok {
		if v, err = s.viewReplay(ctx, a.id, asOf, true); err != nil {
			return nil, err
		}
	}
	out := &api.AccountView{AccountID: v.acc.ID, Segment: v.acc.Segment, Currency: v.acc.Currency,
		AsOf: asOf, ModelVersion: b.version}
	type sums struct {
		open, overdue int64
		loss          float64
	}
	per := map[string]*sums{}
	day := data.DateOf(asOf)
	sc := s.getScratch()
	defer s.putScratch(sc)
	k := s.opt.Reasons
	slab := make([]api.Reason, len(v.invoices)*k)
	resp := &api.ScoreResponse{Scores: make([]api.InvoiceScore, len(v.invoices))}
	job := scoreJob{s: s, b: b, t: t, resp: resp, slab: slab, k: k, asOf: asOf, now: now}
	for i := range v.invoices {
		inv := &v.invoices[i]
		if err := job.fill(sc, i, v.vecs[i], inv); err != nil {
			return nil, err
		}
		sm := per[inv.Currency]
		if sm == nil {
			sm = &sums{}
			per[inv.Currency] = sm
		}
		dpd := max(0, day.Sub(inv.DueDate))
		sm.open += v.open[i]
		if dpd > 0 {
			sm.overdue += v.open[i]
		}
		sm.loss += float64(v.open[i]) * resp.Scores[i].PLate * s.opt.LossGivenLate
		out.OpenInvoices = append(out.OpenInvoices, api.OpenInvoice{InvoiceID: inv.ID, IssueDate: inv.IssueDate,
			DueDate: inv.DueDate, Amount: inv.Money(), OpenAmount: data.Money{Minor: v.open[i], Currency: inv.Currency},
			DaysPastDue: dpd, Disputed: v.disputed[i], Score: resp.Scores[i]})
	}
	slices.SortFunc(out.OpenInvoices, func(x, y api.OpenInvoice) int {
		return cmp.Or(cmp.Compare(x.DueDate, y.DueDate), cmp.Compare(x.InvoiceID, y.InvoiceID))
	})
	curs := make([]string, 0, len(per))
	for c := range per {
		curs = append(curs, c)
	}
	slices.Sort(curs)
	for _, c := range curs {
		sm := per[c]
		out.Open = append(out.Open, data.Money{Minor: sm.open, Currency: c})
		out.Overdue = append(out.Overdue, data.Money{Minor: sm.overdue, Currency: c})
		out.ExpectedLoss = append(out.ExpectedLoss, data.Money{Minor: int64(math.Round(sm.loss)), Currency: c})
	}
	out.RecentContacts = s.recentContacts(ctx, v, asOf)
	out.Name = v.acc.Name
	return out, nil
}

// recentContacts lists the newest contacts before asOf, from the stored
// history when possible (which also gives the account name, not kept in
// memory).
func (s *Service) recentContacts(ctx context.Context, v *acctView, asOf time.Time) []api.ContactView {
	cs := v.contacts
	if v.history == nil {
		if h, err := s.store.History(ctx, v.acc.ID); err == nil {
			v.acc.Name = h.Account.Name
			cs = cs[:0:0]
			for _, c := range h.Contacts {
				if c.SentAt.Before(asOf) {
					cs = append(cs, c)
				}
			}
		} else {
			s.noteStoreError(ctx, err)
		}
	}
	slices.SortStableFunc(cs, func(x, y data.Contact) int {
		return cmp.Or(y.SentAt.Compare(x.SentAt), cmp.Compare(y.ID, x.ID))
	})
	cs = cs[:min(len(cs), s.opt.RecentContacts)]
	out := make([]api.ContactView, 0, len(cs))
	for _, c := range cs {
		cv := api.ContactView{ContactID: c.ID, InvoiceID: c.InvoiceID, Channel: c.Channel, SentAt: c.SentAt,
			Outcome: c.Outcome, PromisedDate: c.PromisedDate}
		if c.PromisedAmount > 0 {
			cv.PromisedAmount = &data.Money{Minor: c.PromisedAmount, Currency: v.acc.Currency}
		}
		out = append(out, cv)
	}
	return out
}
