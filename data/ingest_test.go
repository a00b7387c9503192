package data_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/data/datatest"
)

func base() *data.Batch {
	d := data.NewDate(2024, 1, 10)
	return &data.Batch{
		Accounts: []data.Account{{ID: "acc1", Name: "Acme", Currency: "USD", TimeZone: "America/Chicago", TermsDays: 30,
			Consent: data.AllChannels, CreatedAt: time.Date(2023, 5, 1, 12, 0, 0, 0, time.UTC)}},
		Invoices: []data.Invoice{{ID: "inv1", AccountID: "acc1", IssueDate: d, DueDate: d.AddDays(30), Amount: 10000, Currency: "USD"}},
		Payments: []data.Payment{{ID: "pay1", AccountID: "acc1", InvoiceID: "inv1", Date: d.AddDays(20), Amount: 4000, Currency: "USD",
			Method: data.MethodBankTransfer}},
		Contacts: []data.Contact{{ID: "con1", AccountID: "acc1", InvoiceID: "inv1", Channel: data.Email,
			SentAt: d.AddDays(31).Time().Add(9 * time.Hour), Outcome: data.OutcomePromise, PromisedDate: d.AddDays(40)}},
		Disputes: []data.Dispute{{ID: "dis1", AccountID: "acc1", InvoiceID: "inv1", OpenedOn: d.AddDays(5)}},
	}
}

func TestIngestRejects(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(b *data.Batch)
		kind   data.Kind
		field  string
		reason string // substring
	}{
		{"negative amount", func(b *data.Batch) { b.Invoices[0].Amount = -5 }, data.KindInvoice, "amount", "negative"},
		{"zero amount", func(b *data.Batch) { b.Payments[0].Amount = 0 }, data.KindPayment, "amount", "zero"},
		{"due before issue", func(b *data.Batch) { b.Invoices[0].DueDate = b.Invoices[0].IssueDate - 1 }, data.KindInvoice, "due_date", "before issue_date"},
		{"missing issue date", func(b *data.Batch) { b.Invoices[0].IssueDate = 0 }, data.KindInvoice, "issue_date", "required"},
		{"date out of range", func(b *data.Batch) { b.Payments[0].Date = data.MaxDate + 1 }, data.KindPayment, "date", "outside"},
		{"unknown account", func(b *data.Batch) { b.Invoices[0].AccountID = "nope" }, data.KindInvoice, "account_id", `unknown account "nope"`},
		{"unknown invoice", func(b *data.Batch) { b.Payments[0].InvoiceID = "nope" }, data.KindPayment, "invoice_id", `unknown invoice "nope"`},
		{"unknown currency", func(b *data.Batch) { b.Accounts[0].Currency = "XXY" }, data.KindAccount, "currency", "ISO 4217"},
		{"bad zone", func(b *data.Batch) { b.Accounts[0].TimeZone = "Mars/Olympus" }, data.KindAccount, "time_zone", "IANA"},
		{"currency mismatch", func(b *data.Batch) { b.Payments[0].Currency = "EUR" }, data.KindPayment, "currency", "differs from the invoice's currency USD"},
		{"overpayment", func(b *data.Batch) { b.Payments[0].Amount = 10011 }, data.KindPayment, "amount", "over its amount 100.00 by 0.11"},
		{"promise without promise outcome", func(b *data.Batch) { b.Contacts[0].Outcome = data.OutcomeReplied }, data.KindContact, "outcome", "promise_to_pay"},
		{"promise before contact", func(b *data.Batch) { b.Contacts[0].PromisedDate = data.NewDate(2024, 1, 1) }, data.KindContact, "promised_date", "before the contact"},
		{"dispute before invoice", func(b *data.Batch) { b.Disputes[0].OpenedOn = data.NewDate(2024, 1, 1) }, data.KindDispute, "opened_on", "before the invoice's issue_date"},
		{"dispute resolved before opened", func(b *data.Batch) { b.Disputes[0].ResolvedOn = b.Disputes[0].OpenedOn - 1 }, data.KindDispute, "resolved_on", "before opened_on"},
		{"control character in id", func(b *data.Batch) { b.Accounts[0].ID = "a\x01" }, data.KindAccount, "id", "control character"},
		{"invalid utf-8 name", func(b *data.Batch) { b.Accounts[0].Name = "\xff" }, data.KindAccount, "name", "UTF-8"},
		{"invoice of another account", func(b *data.Batch) {
			b.Accounts = append(b.Accounts, b.Accounts[0])
			b.Accounts[1].ID = "acc2"
			b.Payments[0].AccountID = "acc2"
		}, data.KindPayment, "invoice_id", "belongs to another account"},
		{"duplicate id different content", func(b *data.Batch) {
			dup := b.Invoices[0]
			dup.Amount = 1
			b.Invoices = append(b.Invoices, dup)
		}, data.KindInvoice, "amount", "duplicate id with a different amount"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := datatest.NewMemStore()
			b := base()
			tc.mutate(b)
			rep, err := data.Ingest(context.Background(), s, b, data.IngestOptions{})
			var ve *data.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v; want a *ValidationError", err)
			}
			if data.ErrorCode(err) != data.Invalid {
				t.Errorf("code = %q; want invalid", data.ErrorCode(err))
			}
			found := false
			for _, is := range ve.Issues {
				if is.Kind == tc.kind && is.Field == tc.field && strings.Contains(is.Reason, tc.reason) {
					found = true
				}
			}
			if !found {
				t.Fatalf("issues %v; want %s field %s containing %q", ve.Issues, tc.kind, tc.field, tc.reason)
			}
			if c, _ := s.Count(context.Background()); c.Total() != 0 || rep.Added.Total() != 0 {
				t.Fatalf("store holds %+v after a rejected ingest; want nothing (all-or-nothing)", c)
			}
		})
	}
}

func TestIngestAcceptsBase(t *testing.T) {
	s := datatest.NewMemStore()
	rep, err := data.Ingest(context.Background(), s, base(), data.IngestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := base().Counts(); rep.Added != want {
		t.Fatalf("Added = %+v; want %+v", rep.Added, want)
	}
}

func TestIngestOverpaymentAcrossBatchesAndTolerance(t *testing.T) {
	ctx := context.Background()
	s := datatest.NewMemStore()
	if _, err := data.Ingest(ctx, s, base(), data.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	d := data.NewDate(2024, 2, 20)
	// 4000 stored + 6010 = 10010: 0.10 over 100.00; tolerance is max(0.01, 0.1% = 0.10) → accepted.
	ok := &data.Batch{Payments: []data.Payment{{ID: "pay2", AccountID: "acc1", InvoiceID: "inv1", Date: d, Amount: 6010, Currency: "USD"}}}
	if _, err := data.Ingest(ctx, s, ok, data.IngestOptions{}); err != nil {
		t.Fatalf("payment within tolerance rejected: %v", err)
	}
	// Anything more now exceeds it, counting the stored payments.
	over := &data.Batch{Payments: []data.Payment{{ID: "pay3", AccountID: "acc1", InvoiceID: "inv1", Date: d, Amount: 1, Currency: "USD"}}}
	if _, err := data.Ingest(ctx, s, over, data.IngestOptions{}); data.ErrorCode(err) != data.Invalid {
		t.Fatalf("payment over tolerance: err = %v; want invalid", err)
	}
	strict := data.Tolerance{}
	over.Payments[0].ID = "pay4"
	if _, err := data.Ingest(ctx, s, over, data.IngestOptions{Overpay: &strict}); err == nil {
		t.Fatal("strict tolerance accepted an overpayment")
	}
}

func TestIngestSkipInvalidCascades(t *testing.T) {
	ctx := context.Background()
	s := datatest.NewMemStore()
	b := base()
	b.Invoices[0].DueDate = b.Invoices[0].IssueDate - 3 // invalid invoice: everything on it must go too
	extra := data.Invoice{ID: "inv2", AccountID: "acc1", IssueDate: data.NewDate(2024, 3, 1), DueDate: data.NewDate(2024, 3, 31), Amount: 500, Currency: "USD"}
	b.Invoices = append(b.Invoices, extra)
	rep, err := data.Ingest(ctx, s, b, data.IngestOptions{SkipInvalid: true})
	if err != nil {
		t.Fatal(err)
	}
	want := data.Counts{Accounts: 1, Invoices: 1}
	if rep.Added != want {
		t.Fatalf("Added = %+v; want %+v", rep.Added, want)
	}
	var cascaded int
	for _, is := range rep.Rejected {
		if strings.Contains(is.Reason, `invoice "inv1" was rejected`) {
			cascaded++
		}
	}
	if cascaded != 3 { // payment, contact, dispute
		t.Fatalf("rejected = %v; want the payment, contact and dispute rejected because inv1 was", rep.Rejected)
	}
	h, _ := s.History(ctx, "acc1")
	if len(h.Invoices) != 1 || h.Invoices[0].ID != "inv2" || len(h.Payments) != 0 {
		t.Fatalf("stored history = %+v", h)
	}
}

func TestIngestIdempotentAndVersions(t *testing.T) {
	ctx := context.Background()
	s := datatest.NewMemStore()
	if _, err := data.Ingest(ctx, s, base(), data.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	rep, err := data.Ingest(ctx, s, base(), data.IngestOptions{})
	if err != nil || rep.Added.Total() != 0 || rep.Unchanged != base().Counts() {
		t.Fatalf("re-ingest: %+v, %v", rep, err)
	}
	// Versioned kinds: a resolved dispute, an opted-out account, a contact whose outcome arrived.
	upd := base()
	upd.Invoices, upd.Payments = nil, nil
	upd.Accounts[0].Consent = data.ChannelSet(0).With(data.Letter)
	upd.Disputes[0].ResolvedOn = upd.Disputes[0].OpenedOn.AddDays(4)
	upd.Contacts[0].Outcome, upd.Contacts[0].PromisedDate = data.OutcomeReplied, 0
	rep, err = data.Ingest(ctx, s, upd, data.IngestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := (data.Counts{Accounts: 1, Contacts: 1, Disputes: 1}); rep.Updated != want || rep.Added.Total() != 0 {
		t.Fatalf("Updated = %+v Added = %+v; want updated %+v", rep.Updated, rep.Added, want)
	}
	h, _ := s.History(ctx, "acc1")
	if h.Account.Consent.Has(data.Email) || h.Disputes[0].ResolvedOn == 0 || h.Contacts[0].Outcome != data.OutcomeReplied {
		t.Fatalf("new versions not visible: %+v", h)
	}
	// Key fields of versioned kinds cannot change; invoices cannot change at all.
	bad := &data.Batch{Disputes: []data.Dispute{upd.Disputes[0]}}
	bad.Disputes[0].OpenedOn++
	if _, err := data.Ingest(ctx, s, bad, data.IngestOptions{}); err == nil || !strings.Contains(err.Error(), "opened_on, which cannot change") {
		t.Fatalf("changed dispute key: err = %v", err)
	}
	inv := &data.Batch{Invoices: []data.Invoice{base().Invoices[0]}}
	inv.Invoices[0].DueDate++
	if _, err := data.Ingest(ctx, s, inv, data.IngestOptions{}); err == nil || !strings.Contains(err.Error(), "stored invoice rows cannot change") {
		t.Fatalf("changed invoice: err = %v", err)
	}
}

func TestIngestSameBatchVersionsAndDuplicates(t *testing.T) {
	ctx := context.Background()
	s := datatest.NewMemStore()
	b := base()
	b.Invoices = append(b.Invoices, b.Invoices[0]) // identical repeat: fine
	later := b.Contacts[0]
	later.Outcome, later.PromisedDate = data.OutcomeReplied, 0
	b.Contacts = append(b.Contacts, later) // later version of the same contact wins
	rep, err := data.Ingest(ctx, s, b, data.IngestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Duplicates.Invoices != 1 || rep.Duplicates.Contacts != 1 {
		t.Fatalf("Duplicates = %+v", rep.Duplicates)
	}
	h, _ := s.History(ctx, "acc1")
	if len(h.Invoices) != 1 || len(h.Contacts) != 1 || h.Contacts[0].Outcome != data.OutcomeReplied {
		t.Fatalf("history = %+v", h)
	}
}
