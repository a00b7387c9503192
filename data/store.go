package data

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"slices"
	"time"
)

// SchemaVersion is the history schema version this code reads and writes.
// Stores refuse to open data written with a newer version.
const SchemaVersion = 1

// Batch is a set of history rows to append. Order within each slice is free.
type Batch struct {
	Accounts []Account
	Invoices []Invoice
	Payments []Payment
	Contacts []Contact
	Disputes []Dispute
}

// Len is the total number of rows.
func (b *Batch) Len() int {
	return len(b.Accounts) + len(b.Invoices) + len(b.Payments) + len(b.Contacts) + len(b.Disputes)
}

// Counts holds one number per entity kind.
type Counts struct {
	Accounts int `json:"accounts"`
	Invoices int `json:"invoices"`
	Payments int `json:"payments"`
	Contacts int `json:"contacts"`
	Disputes int `json:"disputes"`
}

// Counts returns the number of rows of each kind in b.
func (b *Batch) Counts() Counts {
	return Counts{len(b.Accounts), len(b.Invoices), len(b.Payments), len(b.Contacts), len(b.Disputes)}
}

// Add returns c+d.
func (c Counts) Add(d Counts) Counts {
	return Counts{c.Accounts + d.Accounts, c.Invoices + d.Invoices, c.Payments + d.Payments,
		c.Contacts + d.Contacts, c.Disputes + d.Disputes}
}

// Total is the sum over kinds.
func (c Counts) Total() int { return c.Accounts + c.Invoices + c.Payments + c.Contacts + c.Disputes }

// History is one account with its rows, each slice in canonical order (see
// SortHistory): by its time, then by id.
type History struct {
	Account  Account
	Invoices []Invoice // by IssueDate, ID
	Payments []Payment // by Date, ID
	Contacts []Contact // by SentAt, ID
	Disputes []Dispute // by OpenedOn, ID
}

// Window selects rows whose own time lies in [From, To): an invoice's
// IssueDate, a payment's Date, a contact's SentAt, a dispute's OpenedOn.
// Dates compare by their midnight UTC. A zero bound is open.
type Window struct {
	From, To time.Time
}

// ContainsDate reports whether day d's midnight UTC lies in the window.
func (w Window) ContainsDate(d Date) bool { return w.Contains(d.Time()) }

// Contains reports whether t lies in the window.
func (w Window) Contains(t time.Time) bool {
	return (w.From.IsZero() || !t.Before(w.From)) && (w.To.IsZero() || t.Before(w.To))
}

// HistoryQuery selects histories to stream. Every account in the shard is
// streamed, in ascending id order (bytewise), even when no row falls in the
// window.
type HistoryQuery struct {
	Window Window
	Shard  Shard
}

// Keys names rows to look up by id.
type Keys struct {
	Accounts []string
	Invoices []string
	Payments []string
	Contacts []string
	Disputes []string
	// PaymentsOfInvoices asks for every payment applied to these invoices.
	PaymentsOfInvoices []string
}

// Store is a payment-history backend. Implementations must be safe for
// concurrent use by many readers; writes go through one Writer at a time.
// Every implementation passes the conformance suite in data/datatest.
//
// Versions: accounts, contacts and disputes may be rewritten. When a commit
// holds a row whose id is already stored, readers see only the newest
// committed row of that id. (Ingest keeps the fields that order a row in its
// history unchanged across versions, so a new version takes the old one's
// place.) Invoices and payments are never rewritten. One commit never holds
// the same id twice.
type Store interface {
	// SchemaVersion returns the version of the stored schema.
	SchemaVersion(ctx context.Context) (int, error)
	// Begin starts an all-or-nothing write. Rows written become visible
	// together at Commit; Rollback (or a crash) leaves the store as before.
	// Begin may block or fail with Conflict while another writer is active.
	// Callers must ensure ids are new (see Ingest).
	Begin(ctx context.Context) (Writer, error)
	// Lookup returns the stored rows named by keys (missing ids are skipped).
	Lookup(ctx context.Context, keys Keys) (*Batch, error)
	// Accounts streams accounts of a shard in ascending id order.
	Accounts(ctx context.Context, shard Shard) iter.Seq2[Account, error]
	// History returns one account's full history (NotFound if absent).
	History(ctx context.Context, accountID string) (*History, error)
	// Histories streams histories in ascending account id order.
	Histories(ctx context.Context, q HistoryQuery) iter.Seq2[*History, error]
	// Count returns the number of committed rows per kind (each id once).
	Count(ctx context.Context) (Counts, error)
	Ledger
	Close() error
}

// Compactor is implemented by stores whose reads slow down as commits
// accumulate (the embedded store keeps one set of files per commit).
// Compact rewrites the stored rows into fewer, larger units without
// changing what readers see; it may run while readers stream.
type Compactor interface {
	Compact(ctx context.Context) error
}

// Writer is an open all-or-nothing write. Rows are written as given: a new
// version of an account, contact or dispute must keep the stored version's
// sort keys (Ingest enforces this); otherwise reads are undefined.
type Writer interface {
	// Write adds rows to the pending write. Rows may arrive in any order
	// and over many calls; memory use must not grow with the total.
	Write(ctx context.Context, b *Batch) error
	// Commit makes every written row visible atomically.
	Commit(ctx context.Context) error
	// Rollback discards the write. It is a no-op after Commit.
	Rollback() error
}

// ActionStatus is the state of a collection action. Codes are persisted;
// never renumber.
type ActionStatus uint8

const (
	ActionPlanned   ActionStatus = 1 // scheduled, not yet attempted
	ActionSending   ActionStatus = 2 // claimed by an executor, send in progress
	ActionSent      ActionStatus = 3 // handed to the sender successfully
	ActionFailed    ActionStatus = 4 // the send failed (Detail says why)
	ActionSkipped   ActionStatus = 5 // not sent by rule (consent, paid, quiet hours)
	ActionCancelled ActionStatus = 6 // withdrawn by a person or policy change
)

var actionStatusNames = [...]string{"", "planned", "sending", "sent", "failed", "skipped", "cancelled"}

func (s ActionStatus) String() string {
	if int(s) < len(actionStatusNames) && s != 0 {
		return actionStatusNames[s]
	}
	return "invalid"
}

// Valid reports whether s is a defined status.
func (s ActionStatus) Valid() bool { return s >= ActionPlanned && s <= ActionCancelled }

// Action is one state record of a collection action in the ledger. The
// ledger is append-only; the current state of an action is its record with
// the highest Version.
type Action struct {
	ID          string       `json:"id"` // idempotency key, stable across retries
	AccountID   string       `json:"account_id"`
	InvoiceID   string       `json:"invoice_id,omitempty"`
	Policy      string       `json:"policy,omitempty"`
	Step        string       `json:"step,omitempty"`
	Channel     Channel      `json:"channel"`
	DueAt       time.Time    `json:"due_at"` // when it should be sent (UTC)
	Status      ActionStatus `json:"status"`
	Attempt     int          `json:"attempt"`
	Version     uint64       `json:"version"`    // strictly increasing per ID
	UpdatedAt   time.Time    `json:"updated_at"` // UTC
	ProviderRef string       `json:"provider_ref,omitempty"`
	Detail      string       `json:"detail,omitempty"` // reason or error text; no personal data
}

// Equal reports whether a and b hold the same values.
func (a Action) Equal(b Action) bool {
	return a.ID == b.ID && a.AccountID == b.AccountID && a.InvoiceID == b.InvoiceID && a.Policy == b.Policy &&
		a.Step == b.Step && a.Channel == b.Channel && a.DueAt.Equal(b.DueAt) && a.Status == b.Status &&
		a.Attempt == b.Attempt && a.Version == b.Version && a.UpdatedAt.Equal(b.UpdatedAt) &&
		a.ProviderRef == b.ProviderRef && a.Detail == b.Detail
}

// Validate checks the action record.
func (a Action) Validate() []FieldError {
	var errs []FieldError
	errs = checkID(errs, "id", a.ID, true)
	errs = checkID(errs, "account_id", a.AccountID, true)
	errs = checkID(errs, "invoice_id", a.InvoiceID, false)
	errs = checkText(errs, "policy", a.Policy)
	errs = checkText(errs, "step", a.Step)
	errs = checkText(errs, "provider_ref", a.ProviderRef)
	errs = checkText(errs, "detail", a.Detail)
	if !a.Channel.Valid() {
		errs = append(errs, FieldError{"channel", "is required"})
	}
	if !a.Status.Valid() {
		errs = append(errs, FieldError{"status", "is not a known status"})
	}
	if a.Version == 0 {
		errs = append(errs, FieldError{"version", "must be positive"})
	}
	if a.Attempt < 0 {
		errs = append(errs, FieldError{"attempt", "is negative"})
	}
	errs = checkTime(errs, "due_at", a.DueAt, true)
	return checkTime(errs, "updated_at", a.UpdatedAt, true)
}

// ActionQuery filters the current states of actions. Zero fields match all.
type ActionQuery struct {
	AccountID string
	Status    ActionStatus
	DueBefore time.Time // DueAt < DueBefore
}

// Ledger is the collection-actions ledger used by the dunning executor.
type Ledger interface {
	// AppendActions durably appends state records (validated, times
	// normalised). Records with an (ID, Version) already stored are ignored
	// if identical and rejected with Conflict otherwise.
	AppendActions(ctx context.Context, actions []Action) error
	// Actions returns the current state (highest Version) of each action
	// matching q, ordered by DueAt then ID.
	Actions(ctx context.Context, q ActionQuery) ([]Action, error)
}

// Match reports whether the action's current state a matches q.
func (q ActionQuery) Match(a Action) bool {
	return (q.AccountID == "" || a.AccountID == q.AccountID) && (q.Status == 0 || a.Status == q.Status) &&
		(q.DueBefore.IsZero() || a.DueAt.Before(q.DueBefore))
}

// SortActions orders actions by DueAt, then ID.
func SortActions(as []Action) {
	slices.SortFunc(as, func(a, b Action) int { return cmp.Or(a.DueAt.Compare(b.DueAt), cmp.Compare(a.ID, b.ID)) })
}

// PrepareActions validates and normalises ledger records for AppendActions.
// It returns a copy with times in UTC at second precision, or a
// *ValidationError. Repeats of (ID, Version) within the slice must be identical.
func PrepareActions(actions []Action) ([]Action, error) {
	out := make([]Action, len(actions))
	var issues []Issue
	seen := map[[2]any]int{}
	for i, a := range actions {
		a.DueAt, a.UpdatedAt = NormalizeTime(a.DueAt), NormalizeTime(a.UpdatedAt)
		out[i] = a
		for _, e := range a.Validate() {
			issues = append(issues, Issue{Kind: KindAction, Index: i, ID: a.ID, Field: e.Field, Reason: e.Reason})
		}
		k := [2]any{a.ID, a.Version}
		if j, ok := seen[k]; ok && !out[j].Equal(a) {
			issues = append(issues, Issue{Kind: KindAction, Index: i, ID: a.ID, Field: "version",
				Reason: fmt.Sprintf("version %d repeated with different content (first at #%d)", a.Version, j)})
		}
		seen[k] = i
	}
	if len(issues) > 0 {
		return nil, &ValidationError{Issues: issues}
	}
	return out, nil
}
