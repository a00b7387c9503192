package datatest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/duesight/duesight/data"
)

// SampleOptions shape Sample's output.
type SampleOptions struct {
	Seed     uint64
	Accounts int // default 50
	// Prefix is prepended to every id so that several samples can share a store.
	Prefix string
}

var sampleZones = []string{"UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "America/Sao_Paulo"}
var sampleCurrencies = []string{"USD", "EUR", "JPY", "BHD", "GBP"}

// Sample returns a valid batch exercising the edges a store must round-trip:
// unicode and empty optional text, boundary dates (MinDate, MaxDate), large
// amounts, zero-decimal and three-decimal currencies, unapplied payments,
// partial payments, credit notes, promises, open and resolved disputes,
// several rows sharing one timestamp (ordered by id), accounts without rows,
// and ids whose byte order differs from numeric order ("a10" < "a9").
func Sample(o SampleOptions) *data.Batch {
	n := o.Accounts
	if n == 0 {
		n = 50
	}
	r := rand.New(rand.NewPCG(o.Seed, 0x5eed))
	clamp := func(d data.Date) data.Date { return min(max(d, data.MinDate), data.MaxDate) }
	b := &data.Batch{}
	base := data.NewDate(2022, 1, 3)
	for a := 0; a < n; a++ {
		accID := fmt.Sprintf("%sa%d", o.Prefix, a)
		cur := sampleCurrencies[a%len(sampleCurrencies)]
		acc := data.Account{
			ID: accID, Name: fmt.Sprintf("Kunde Ä%d — „Ωmega“ 株式会社", a), Segment: []string{"smb", "enterprise", ""}[a%3],
			Country: []string{"DE", "US", "JP", "", "BR"}[a%5], Currency: cur, TimeZone: sampleZones[a%len(sampleZones)],
			TermsDays: []int{0, 14, 30, 45, 60}[a%5], CreditLimit: int64(r.IntN(3)) * 1_000_000,
			Consent:   data.ChannelSet(r.IntN(16)) << 1,
			CreatedAt: time.Date(2021, 6, 1+a%28, r.IntN(24), r.IntN(60), r.IntN(60), 0, time.UTC),
		}
		if a%7 == 3 {
			acc.CreatedAt = time.Time{}
		}
		b.Accounts = append(b.Accounts, acc)
		if a%11 == 5 {
			continue // an account without rows
		}
		nInv := 1 + r.IntN(12)
		for i := 0; i < nInv; i++ {
			issue := base.AddDays(r.IntN(700))
			if i == 1 && nInv > 2 {
				issue = b.Invoices[len(b.Invoices)-1].IssueDate // a tie, ordered by id
			}
			if a == 1 && i == 0 {
				issue = data.MinDate
			}
			amount := int64(1 + r.IntN(5_000_000))
			if a == 2 && i == 0 {
				amount = data.MaxAmount
			}
			inv := data.Invoice{ID: fmt.Sprintf("%si%d-%d", o.Prefix, a, i), AccountID: accID, IssueDate: issue,
				DueDate: issue.AddDays(acc.TermsDays), Amount: amount, Currency: cur,
				DeliveredBy: []data.Channel{data.ChannelUnknown, data.Email, data.Letter}[r.IntN(3)]}
			if a == 1 && i == 1 {
				inv.IssueDate, inv.DueDate = data.MaxDate.AddDays(-10), data.MaxDate
			}
			b.Invoices = append(b.Invoices, inv)
			switch r.IntN(5) {
			case 0: // open
			case 1: // partial then rest, the rest maybe by credit note
				part := inv.Amount / 3
				b.Payments = append(b.Payments,
					data.Payment{ID: fmt.Sprintf("%sp%d-%d-1", o.Prefix, a, i), AccountID: accID, InvoiceID: inv.ID,
						Date: clamp(inv.IssueDate.AddDays(r.IntN(40))), Amount: part, Currency: cur, Method: data.MethodBankTransfer},
					data.Payment{ID: fmt.Sprintf("%sp%d-%d-2", o.Prefix, a, i), AccountID: accID, InvoiceID: inv.ID,
						Date: clamp(inv.IssueDate.AddDays(40 + r.IntN(40))), Amount: inv.Amount - part, Currency: cur,
						Method: []data.Method{data.MethodCreditNote, data.MethodCard}[r.IntN(2)]})
			default:
				b.Payments = append(b.Payments, data.Payment{ID: fmt.Sprintf("%sp%d-%d", o.Prefix, a, i), AccountID: accID,
					InvoiceID: inv.ID, Date: clamp(inv.DueDate.AddDays(r.IntN(60) - 20)), Amount: inv.Amount, Currency: cur,
					Method: data.Method(1 + r.IntN(5))})
			}
			if r.IntN(4) == 0 {
				sent := clamp(inv.DueDate.AddDays(3)).AddDays(-1).Time().Add(time.Duration(r.IntN(86400)) * time.Second)
				c := data.Contact{ID: fmt.Sprintf("%sc%d-%d", o.Prefix, a, i), AccountID: accID, InvoiceID: inv.ID,
					Channel: data.Channels[r.IntN(4)], SentAt: sent, Outcome: data.Outcomes[r.IntN(len(data.Outcomes))]}
				if c.Outcome == data.OutcomePromise {
					c.PromisedDate = clamp(data.DateOf(sent).AddDays(7))
					if r.IntN(2) == 0 {
						c.PromisedAmount = inv.Amount / 2
					}
				}
				b.Contacts = append(b.Contacts, c)
				// a second contact at the same instant on the account level
				b.Contacts = append(b.Contacts, data.Contact{ID: fmt.Sprintf("%sc%d-%d-b", o.Prefix, a, i), AccountID: accID,
					Channel: data.Email, SentAt: sent, Outcome: data.OutcomeDelivered})
			}
			if r.IntN(6) == 0 {
				d := data.Dispute{ID: fmt.Sprintf("%sd%d-%d", o.Prefix, a, i), AccountID: accID, InvoiceID: inv.ID,
					OpenedOn: inv.IssueDate.AddDays(5), Reason: []string{"", "pricing", "goods damaged — „quality“"}[r.IntN(3)]}
				if r.IntN(2) == 0 {
					d.ResolvedOn = clamp(d.OpenedOn.AddDays(r.IntN(30)))
				}
				b.Disputes = append(b.Disputes, d)
			}
		}
		if r.IntN(3) == 0 {
			b.Payments = append(b.Payments, data.Payment{ID: fmt.Sprintf("%su%d", o.Prefix, a), AccountID: accID,
				Date: base.AddDays(r.IntN(700)), Amount: int64(1 + r.IntN(100000)), Currency: cur, Method: data.MethodCheck})
		}
	}
	return b
}

// Group turns a batch into canonical histories keyed by account id, applying
// versions in order (later rows of one id replace earlier ones).
func Group(batches ...*data.Batch) map[string]*data.History {
	m := NewMemStore()
	for _, b := range batches {
		ctx := context.Background()
		w, _ := m.Begin(ctx)
		_ = w.Write(ctx, b)
		_ = w.Commit(ctx)
	}
	return m.hist
}
