package data

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
)

// Tolerance is how far payments may take an invoice's applied total beyond
// its amount: max(Abs minor units, Rel × amount).
type Tolerance struct {
	Abs int64
	Rel float64
}

// DefaultOverpayTolerance allows one minor unit or 0.1%, whichever is larger:
// ERP exports round partial payments, and real overpayments are larger.
var DefaultOverpayTolerance = Tolerance{Abs: 1, Rel: 0.001}

func (t Tolerance) allowance(amount int64) int64 {
	return max(t.Abs, int64(math.Floor(t.Rel*float64(amount))))
}

// IngestOptions control Ingest. The zero value is all-or-nothing with the
// default overpayment tolerance.
type IngestOptions struct {
	// SkipInvalid loads the valid rows and reports the rest instead of
	// rejecting the whole batch. Rows that reference a rejected row are
	// rejected too.
	SkipInvalid bool
	// Overpay overrides DefaultOverpayTolerance when not nil.
	Overpay *Tolerance
}

// IngestReport says what Ingest did with each row.
type IngestReport struct {
	Added      Counts  `json:"added"`      // new ids written
	Updated    Counts  `json:"updated"`    // new versions of stored accounts, contacts, disputes
	Unchanged  Counts  `json:"unchanged"`  // already stored with identical content
	Duplicates Counts  `json:"duplicates"` // repeated within the batch (identical, or superseded by a later version)
	Rejected   []Issue `json:"rejected"`   // one issue per problem (a row may have several)
}

// Mutability: invoices and payments are immutable once stored (corrections
// are credit notes, i.e. payments with MethodCreditNote). Accounts, contacts
// and disputes are versioned: a row with a stored id and different content is
// a new version and wins over the stored one, provided the fields that place
// it in time order (the "key fields" below) are unchanged.

// kindOps describes one entity kind to the generic ingest steps.
type kindOps[T any] struct {
	kind Kind
	id   func(*T) string
	// diff names the first differing field of a and b, "" if equal.
	diff func(a, b *T) string
	// keyDiff names the first differing field that may not change in a new
	// version; nil for immutable kinds.
	keyDiff func(a, b *T) string
}

var (
	accountOps = kindOps[Account]{KindAccount, func(r *Account) string { return r.ID }, diffAccount,
		func(a, b *Account) string { return "" }}
	invoiceOps = kindOps[Invoice]{KindInvoice, func(r *Invoice) string { return r.ID }, diffInvoice, nil}
	paymentOps = kindOps[Payment]{KindPayment, func(r *Payment) string { return r.ID }, diffPayment, nil}
	contactOps = kindOps[Contact]{KindContact, func(r *Contact) string { return r.ID }, diffContact,
		func(a, b *Contact) string {
			if !a.SentAt.Equal(b.SentAt) {
				return "sent_at"
			}
			return firstDiff("account_id", a.AccountID, b.AccountID, "invoice_id", a.InvoiceID, b.InvoiceID,
				"channel", a.Channel, b.Channel)
		}}
	disputeOps = kindOps[Dispute]{KindDispute, func(r *Dispute) string { return r.ID }, diffDispute,
		func(a, b *Dispute) string {
			return firstDiff("account_id", a.AccountID, b.AccountID, "invoice_id", a.InvoiceID, b.InvoiceID,
				"opened_on", a.OpenedOn, b.OpenedOn)
		}}
)

// rowState is the fate of one input row.
type rowState struct {
	bad    bool // invalid or rejected: never written
	skip   bool // duplicate or unchanged: nothing to write
	update bool // a new version of a stored row
}

type ingestState struct {
	issues []Issue
	rows   map[Kind][]rowState
}

func (st *ingestState) reject(k Kind, i int, id, field, reason string) {
	st.issues = append(st.issues, Issue{Kind: k, Index: i, ID: id, Field: field, Reason: reason})
	st.rows[k][i].bad = true
}

func (st *ingestState) ok(k Kind, i int) bool { return !st.rows[k][i].bad }

func (st *ingestState) writes(k Kind, i int) bool { r := st.rows[k][i]; return !r.bad && !r.skip }

// Ingest validates b against itself and the store and appends what is new
// in one all-or-nothing write. It normalises b's times in place.
//
// Re-ingesting stored rows adds nothing. A stored invoice or payment id with
// different content is an issue; a stored account, contact or dispute id with
// different content is a new version (an issue only if a key field changed).
// With any issue and !opt.SkipInvalid nothing is written and the error is a
// *ValidationError listing every issue.
func Ingest(ctx context.Context, s Store, b *Batch, opt IngestOptions) (*IngestReport, error) {
	b.Normalize()
	tol := DefaultOverpayTolerance
	if opt.Overpay != nil {
		tol = *opt.Overpay
	}
	rep := &IngestReport{}
	n := b.Counts()
	st := &ingestState{rows: map[Kind][]rowState{
		KindAccount: make([]rowState, n.Accounts), KindInvoice: make([]rowState, n.Invoices),
		KindPayment: make([]rowState, n.Payments), KindContact: make([]rowState, n.Contacts),
		KindDispute: make([]rowState, n.Disputes)}}

	// 1. Each row's own fields.
	validateRows(st, KindAccount, b.Accounts, Account.Validate)
	validateRows(st, KindInvoice, b.Invoices, Invoice.Validate)
	validateRows(st, KindPayment, b.Payments, Payment.Validate)
	validateRows(st, KindContact, b.Contacts, Contact.Validate)
	validateRows(st, KindDispute, b.Disputes, Dispute.Validate)

	// 2. Repeated ids within the batch.
	dedupe(st, accountOps, b.Accounts, &rep.Duplicates.Accounts)
	dedupe(st, invoiceOps, b.Invoices, &rep.Duplicates.Invoices)
	dedupe(st, paymentOps, b.Payments, &rep.Duplicates.Payments)
	dedupe(st, contactOps, b.Contacts, &rep.Duplicates.Contacts)
	dedupe(st, disputeOps, b.Disputes, &rep.Duplicates.Disputes)

	// 3. What the store already holds.
	stored := &Batch{}
	if b.Len() > 0 {
		var err error
		if stored, err = s.Lookup(ctx, lookupKeys(b)); err != nil {
			return nil, fmt.Errorf("ingest: look up stored rows: %w", err)
		}
	}

	// 4. Stored ids: identical → unchanged; different → new version or conflict.
	storedAcc := index(stored.Accounts, accountOps.id)
	storedInv := index(stored.Invoices, invoiceOps.id)
	reconcile(st, accountOps, b.Accounts, storedAcc, &rep.Unchanged.Accounts)
	reconcile(st, invoiceOps, b.Invoices, storedInv, &rep.Unchanged.Invoices)
	reconcile(st, paymentOps, b.Payments, index(stored.Payments, paymentOps.id), &rep.Unchanged.Payments)
	reconcile(st, contactOps, b.Contacts, index(stored.Contacts, contactOps.id), &rep.Unchanged.Contacts)
	reconcile(st, disputeOps, b.Disputes, index(stored.Disputes, disputeOps.id), &rep.Unchanged.Disputes)

	// 5. References, in dependency order so that rejections cascade.
	refs := &references{st: st, accounts: map[string]bool{}, rejectedAcc: map[string]bool{},
		invoices: map[string]*Invoice{}, rejectedInv: map[string]bool{}}
	for id := range storedAcc {
		refs.accounts[id] = true
	}
	for i, r := range b.Accounts {
		if st.ok(KindAccount, i) {
			refs.accounts[r.ID] = true
		} else {
			refs.rejectedAcc[r.ID] = true
		}
	}
	for id, r := range storedInv {
		refs.invoices[id] = r
	}
	for i := range b.Invoices {
		r := &b.Invoices[i]
		refs.account(KindInvoice, i, r.ID, r.AccountID)
		if st.ok(KindInvoice, i) {
			if refs.invoices[r.ID] == nil {
				refs.invoices[r.ID] = r
			}
		} else {
			refs.rejectedInv[r.ID] = true
		}
	}
	for i, r := range b.Payments {
		if inv := refs.invoice(KindPayment, i, r.ID, r.AccountID, r.InvoiceID); inv != nil && inv.Currency != r.Currency {
			st.reject(KindPayment, i, r.ID, "currency", fmt.Sprintf("%s differs from the invoice's currency %s", r.Currency, inv.Currency))
		}
	}
	for i, r := range b.Contacts {
		refs.invoice(KindContact, i, r.ID, r.AccountID, r.InvoiceID)
	}
	for i, r := range b.Disputes {
		if inv := refs.invoice(KindDispute, i, r.ID, r.AccountID, r.InvoiceID); inv != nil && r.OpenedOn < inv.IssueDate {
			st.reject(KindDispute, i, r.ID, "opened_on", fmt.Sprintf("%s is before the invoice's issue_date %s", r.OpenedOn, inv.IssueDate))
		}
	}

	// 6. Payments must not take an invoice beyond its amount plus tolerance.
	checkOverpayment(st, b.Payments, stored.Payments, refs.invoices, tol)

	// 7. Decide.
	slices.SortStableFunc(st.issues, func(x, y Issue) int {
		return cmp.Or(cmp.Compare(slices.Index(Kinds, x.Kind), slices.Index(Kinds, y.Kind)), cmp.Compare(x.Index, y.Index))
	})
	rep.Rejected = st.issues
	if len(st.issues) > 0 && !opt.SkipInvalid {
		return rep, &ValidationError{Issues: st.issues}
	}
	var added, updated Counts
	out := &Batch{
		Accounts: pick(st, KindAccount, b.Accounts, &added.Accounts, &updated.Accounts),
		Invoices: pick(st, KindInvoice, b.Invoices, &added.Invoices, &updated.Invoices),
		Payments: pick(st, KindPayment, b.Payments, &added.Payments, &updated.Payments),
		Contacts: pick(st, KindContact, b.Contacts, &added.Contacts, &updated.Contacts),
		Disputes: pick(st, KindDispute, b.Disputes, &added.Disputes, &updated.Disputes),
	}
	if out.Len() > 0 {
		if err := Append(ctx, s, out); err != nil {
			return rep, fmt.Errorf("ingest: %w", err)
		}
	}
	rep.Added, rep.Updated = added, updated
	return rep, nil
}

// Append writes b in one all-or-nothing write without validation: for
// trusted sources (the generator) and for Ingest after validation.
func Append(ctx context.Context, s Store, b *Batch) error {
	w, err := s.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin write: %w", err)
	}
	if err := w.Write(ctx, b); err != nil {
		_ = w.Rollback()
		return fmt.Errorf("write: %w", err)
	}
	if err := w.Commit(ctx); err != nil {
		_ = w.Rollback()
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func validateRows[T any](st *ingestState, k Kind, rows []T, validate func(T) []FieldError) {
	for i, r := range rows {
		for _, e := range validate(r) {
			st.reject(k, i, idOf(r), e.Field, e.Reason)
		}
	}
}

func idOf(r any) string {
	switch v := r.(type) {
	case Account:
		return v.ID
	case Invoice:
		return v.ID
	case Payment:
		return v.ID
	case Contact:
		return v.ID
	case Dispute:
		return v.ID
	}
	return ""
}

// lookupKeys names every stored row Ingest needs to see for b.
func lookupKeys(b *Batch) Keys {
	var k Keys
	refInv := []string{}
	for _, r := range b.Accounts {
		k.Accounts = append(k.Accounts, r.ID)
	}
	for _, r := range b.Invoices {
		k.Invoices = append(k.Invoices, r.ID)
		k.Accounts = append(k.Accounts, r.AccountID)
	}
	add := func(accountID, invoiceID string) {
		k.Accounts = append(k.Accounts, accountID)
		if invoiceID != "" {
			refInv = append(refInv, invoiceID)
		}
	}
	for _, r := range b.Payments {
		k.Payments = append(k.Payments, r.ID)
		add(r.AccountID, r.InvoiceID)
	}
	for _, r := range b.Contacts {
		k.Contacts = append(k.Contacts, r.ID)
		add(r.AccountID, r.InvoiceID)
	}
	for _, r := range b.Disputes {
		k.Disputes = append(k.Disputes, r.ID)
		add(r.AccountID, r.InvoiceID)
	}
	k.Invoices = uniq(append(k.Invoices, refInv...))
	k.PaymentsOfInvoices = uniq(refInv)
	k.Accounts = uniq(k.Accounts)
	k.Payments = uniq(k.Payments)
	k.Contacts = uniq(k.Contacts)
	k.Disputes = uniq(k.Disputes)
	return k
}

// references checks that rows point at accounts and invoices that exist.
type references struct {
	st          *ingestState
	accounts    map[string]bool
	rejectedAcc map[string]bool
	invoices    map[string]*Invoice
	rejectedInv map[string]bool
}

func (r *references) account(k Kind, i int, id, accountID string) bool {
	if !r.st.ok(k, i) {
		return false
	}
	if !r.accounts[accountID] {
		reason := fmt.Sprintf("unknown account %q", accountID)
		if r.rejectedAcc[accountID] {
			reason = fmt.Sprintf("account %q was rejected", accountID)
		}
		r.st.reject(k, i, id, "account_id", reason)
		return false
	}
	return true
}

func (r *references) invoice(k Kind, i int, id, accountID, invoiceID string) *Invoice {
	if !r.account(k, i, id, accountID) || invoiceID == "" {
		return nil
	}
	inv := r.invoices[invoiceID]
	switch {
	case inv == nil && r.rejectedInv[invoiceID]:
		r.st.reject(k, i, id, "invoice_id", fmt.Sprintf("invoice %q was rejected", invoiceID))
	case inv == nil:
		r.st.reject(k, i, id, "invoice_id", fmt.Sprintf("unknown invoice %q", invoiceID))
	case inv.AccountID != accountID:
		r.st.reject(k, i, id, "invoice_id", fmt.Sprintf("invoice %q belongs to another account", invoiceID))
	default:
		return inv
	}
	return nil
}

// checkOverpayment applies new payments to their invoices in (date, id)
// order on top of the stored ones and rejects any that takes the applied
// total beyond the invoice amount plus tolerance.
func checkOverpayment(st *ingestState, pays, stored []Payment, invoices map[string]*Invoice, tol Tolerance) {
	applied := map[string]int64{}
	for _, p := range stored {
		if p.InvoiceID != "" {
			applied[p.InvoiceID] += p.Amount
		}
	}
	order := make([]int, 0, len(pays))
	for i, p := range pays {
		if st.writes(KindPayment, i) && p.InvoiceID != "" {
			order = append(order, i)
		}
	}
	slices.SortFunc(order, func(x, y int) int {
		return cmp.Or(cmp.Compare(pays[x].Date, pays[y].Date), cmp.Compare(pays[x].ID, pays[y].ID))
	})
	for _, i := range order {
		p := pays[i]
		inv := invoices[p.InvoiceID]
		total := applied[p.InvoiceID] + p.Amount
		if allow := tol.allowance(inv.Amount); total > inv.Amount+allow {
			st.reject(KindPayment, i, p.ID, "amount", fmt.Sprintf(
				"brings payments on invoice %q to %s %s, over its amount %s by %s (tolerance %s)", p.InvoiceID,
				FormatAmount(total, p.Currency), p.Currency, FormatAmount(inv.Amount, p.Currency),
				FormatAmount(total-inv.Amount, p.Currency), FormatAmount(allow, p.Currency)))
			continue
		}
		applied[p.InvoiceID] = total
	}
}

func uniq(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

func index[T any](rows []T, id func(*T) string) map[string]*T {
	m := make(map[string]*T, len(rows))
	for i := range rows {
		m[id(&rows[i])] = &rows[i]
	}
	return m
}

// dedupe handles ids repeated within the batch. Identical repeats are
// skipped. For versioned kinds a later row with the same key fields
// supersedes an earlier one (the earlier is skipped). Any other repeat
// rejects every row of that id.
func dedupe[T any](st *ingestState, ops kindOps[T], rows []T, n *int) {
	last := make(map[string]int, len(rows))
	conflicted := map[string]bool{}
	for i := range rows {
		key := ops.id(&rows[i])
		if key == "" || !st.ok(ops.kind, i) {
			continue
		}
		j, seen := last[key]
		last[key] = i
		if !seen {
			continue
		}
		switch {
		case ops.diff(&rows[j], &rows[i]) == "":
			st.rows[ops.kind][i].skip = true // keep the first of identical rows
			last[key] = j
			*n++
		case ops.keyDiff != nil && ops.keyDiff(&rows[j], &rows[i]) == "":
			st.rows[ops.kind][j].skip = true // a later version supersedes
			*n++
		default:
			f := ops.diff(&rows[j], &rows[i])
			if ops.keyDiff != nil {
				f = ops.keyDiff(&rows[j], &rows[i])
			}
			st.reject(ops.kind, i, key, f, fmt.Sprintf("duplicate id with a different %s (first seen at %s #%d)", f, ops.kind, j))
			if !conflicted[key] {
				conflicted[key] = true
				st.reject(ops.kind, j, key, f, fmt.Sprintf("duplicate id with a different %s (repeated at %s #%d)", f, ops.kind, i))
			}
		}
	}
}

// reconcile compares rows with stored ones of the same id.
func reconcile[T any](st *ingestState, ops kindOps[T], rows []T, stored map[string]*T, unchanged *int) {
	for i := range rows {
		if st.rows[ops.kind][i].skip || !st.ok(ops.kind, i) {
			continue
		}
		key := ops.id(&rows[i])
		old, ok := stored[key]
		if !ok {
			continue
		}
		f := ops.diff(old, &rows[i])
		switch {
		case f == "":
			st.rows[ops.kind][i].skip = true
			*unchanged++
		case ops.keyDiff == nil:
			st.reject(ops.kind, i, key, f, fmt.Sprintf("id already stored with a different %s (stored %s rows cannot change)", f, ops.kind))
		case ops.keyDiff(old, &rows[i]) != "":
			k := ops.keyDiff(old, &rows[i])
			st.reject(ops.kind, i, key, k, fmt.Sprintf("id already stored with a different %s, which cannot change", k))
		default:
			st.rows[ops.kind][i].update = true
		}
	}
}

// pick returns the rows to write, counting new ids and new versions.
func pick[T any](st *ingestState, k Kind, rows []T, added, updated *int) []T {
	var out []T
	for i, r := range rows {
		if st.writes(k, i) {
			out = append(out, r)
			if st.rows[k][i].update {
				*updated++
			} else {
				*added++
			}
		}
	}
	return out
}

// firstDiff takes (name, a, b) triples and names the first whose a != b.
func firstDiff(triples ...any) string {
	for i := 0; i+2 < len(triples); i += 3 {
		if triples[i+1] != triples[i+2] {
			return triples[i].(string)
		}
	}
	return ""
}

func diffAccount(a, b *Account) string {
	if !a.CreatedAt.Equal(b.CreatedAt) {
		return "created_at"
	}
	return firstDiff("name", a.Name, b.Name, "segment", a.Segment, b.Segment, "country", a.Country, b.Country,
		"currency", a.Currency, b.Currency, "time_zone", a.TimeZone, b.TimeZone, "terms_days", a.TermsDays, b.TermsDays,
		"credit_limit", a.CreditLimit, b.CreditLimit, "consent", a.Consent, b.Consent)
}

func diffInvoice(a, b *Invoice) string {
	return firstDiff("account_id", a.AccountID, b.AccountID, "issue_date", a.IssueDate, b.IssueDate,
		"due_date", a.DueDate, b.DueDate, "amount", a.Amount, b.Amount, "currency", a.Currency, b.Currency,
		"delivered_by", a.DeliveredBy, b.DeliveredBy)
}

func diffPayment(a, b *Payment) string {
	return firstDiff("account_id", a.AccountID, b.AccountID, "invoice_id", a.InvoiceID, b.InvoiceID,
		"date", a.Date, b.Date, "amount", a.Amount, b.Amount, "currency", a.Currency, b.Currency,
		"method", a.Method, b.Method)
}

func diffContact(a, b *Contact) string {
	if !a.SentAt.Equal(b.SentAt) {
		return "sent_at"
	}
	return firstDiff("account_id", a.AccountID, b.AccountID, "invoice_id", a.InvoiceID, b.InvoiceID,
		"channel", a.Channel, b.Channel, "outcome", a.Outcome, b.Outcome, "promised_date", a.PromisedDate, b.PromisedDate,
		"promised_amount", a.PromisedAmount, b.PromisedAmount)
}

func diffDispute(a, b *Dispute) string {
	return firstDiff("account_id", a.AccountID, b.AccountID, "invoice_id", a.InvoiceID, b.InvoiceID,
		"opened_on", a.OpenedOn, b.OpenedOn, "resolved_on", a.ResolvedOn, b.ResolvedOn, "reason", a.Reason, b.Reason)
}
