package api

import (
	"context"
	"errors"
	"time"

	"github.com/duesight/duesight/data"
)

// Backend is what the API serves: the scoring service (online feature
// state, models, worklist ranking, event store). Implementations must be
// safe for concurrent use.
//
// Errors: return *data.Error values (data.Errorf) so the API can pick the
// status: data.Invalid → 422, data.NotFound → 404, data.Conflict → 409,
// data.Unavailable → 503 with Retry-After, anything else → 500. A
// *data.ValidationError is 422 with one problem entry per issue; the API
// turns Issue{Kind, Index, Field} into the JSON pointer
// /<kind>s/<index>/<field> (for Score, Kind is data.KindInvoice and Index
// the position in ScoreRequest.Items, so an unknown invoice id is
// Issue{Kind: "invoice", Index: i, Field: "invoice_id"}). Error messages of
// 4xx errors are sent to the client; those of 5xx errors are logged and
// must hold no personal data, amounts or secrets.
//
// Model versions: every response that carries ModelVersion must have been
// computed entirely by that one model version. ActivateModel must swap
// atomically: requests in flight when it is called finish on the version
// they started with, and none fails because of the swap.
type Backend interface {
	// Score scores every item of req (already decoded and checked by the
	// API: each item has exactly one of InvoiceID or Invoice, inline rows
	// pass data validation, len(Items) ≤ Options.MaxScoreBatch). Scores are
	// returned in request order, one per item. Inline invoices and accounts
	// are scored as given and are not stored. A zero AsOf means the
	// backend's clock; the response names the instant used.
	Score(ctx context.Context, req *ScoreRequest) (*ScoreResponse, error)
	// Account returns the current view of one account (data.NotFound if
	// there is none). A zero AsOf means the backend's clock.
	Account(ctx context.Context, q AccountQuery) (*AccountView, error)
	// Worklist returns one page of the ranked worklist. With q.Snapshot ==
	// "" it ranks now (or as of q.AsOf) into a new immutable snapshot and
	// returns its first q.Limit items; with a snapshot id it returns items
	// [q.Offset, q.Offset+q.Limit) of that same snapshot, so that pages
	// neither repeat nor skip while the live ranking changes. Snapshots
	// must be kept for at least Options.WorklistSnapshotTTL after their
	// creation; an expired or unknown snapshot is ErrSnapshotExpired.
	Worklist(ctx context.Context, q WorklistQuery) (*WorklistPage, error)
	// ApplyEvents validates b (with data.Ingest semantics: all or nothing,
	// a *data.ValidationError listing every issue), persists it durably
	// and applies it to the online state before returning. When the store
	// cannot be reached it must return a data.Unavailable error and must
	// not acknowledge the batch.
	ApplyEvents(ctx context.Context, b *data.Batch) (*data.IngestReport, error)
	// Models lists the known model versions, the active one marked.
	Models(ctx context.Context) ([]ModelInfo, error)
	// ActivateModel makes version the active model (data.NotFound if
	// unknown) with the atomic-swap guarantee above.
	ActivateModel(ctx context.Context, version string) (*ActivateResult, error)
	// Ready reports whether the backend can serve. It is called by /readyz
	// and must answer quickly (the API bounds it with a short timeout).
	Ready(ctx context.Context) Readiness
	// Stats returns gauges for /metrics. It is called on every scrape, must
	// not block and does no I/O.
	Stats() Stats
}

// ErrSnapshotExpired is returned by [Backend.Worklist] when the snapshot a
// cursor refers to is gone; the API answers 410 Gone and the client starts
// again from the first page.
var ErrSnapshotExpired = errors.New("worklist snapshot expired")

// ScoreRequest asks for scores of a batch of invoices at one instant.
type ScoreRequest struct {
	// AsOf is the instant to score at; zero means the backend's clock.
	AsOf time.Time `json:"as_of,omitzero"`
	// Items are the invoices to score, in the order results are wanted.
	Items []ScoreItem `json:"invoices"`
}

// ScoreItem names one invoice: a stored one by InvoiceID, or an inline
// Invoice (optionally with the Account it belongs to, for an account the
// backend has not stored yet). Exactly one of InvoiceID and Invoice is set.
type ScoreItem struct {
	InvoiceID string        `json:"invoice_id,omitempty"`
	Invoice   *data.Invoice `json:"invoice,omitempty"`
	Account   *data.Account `json:"account,omitempty"`
}

// RiskTier is a coarse bucket of lateness risk.
type RiskTier string

// Risk tiers, from least to most risky. The backend chooses the cut-offs.
const (
	TierLow      RiskTier = "low"
	TierMedium   RiskTier = "medium"
	TierHigh     RiskTier = "high"
	TierCritical RiskTier = "critical"
)

// Valid reports whether t is one of the four tiers.
func (t RiskTier) Valid() bool {
	return t == TierLow || t == TierMedium || t == TierHigh || t == TierCritical
}

// ScoreResponse holds one score per requested invoice, all computed by one
// model version at one instant.
type ScoreResponse struct {
	ModelVersion string         `json:"model_version"`
	AsOf         time.Time      `json:"as_of"`
	Scores       []InvoiceScore `json:"scores"`
}

// InvoiceScore is the prediction for one invoice.
type InvoiceScore struct {
	InvoiceID string `json:"invoice_id"`
	AccountID string `json:"account_id"`
	// PLate is the calibrated probability that the invoice is paid after
	// its due date, in [0, 1].
	PLate float64 `json:"p_late"`
	// ExpectedDaysLate is the expected number of days past due at payment
	// (0 when paid on time), ≥ 0.
	ExpectedDaysLate float64 `json:"expected_days_late"`
	// PaymentDate holds quantiles of the predicted payment date.
	PaymentDate Quantiles `json:"payment_date_quantiles"`
	RiskTier    RiskTier  `json:"risk_tier"`
	// Reasons are the top feature contributions, largest magnitude first.
	Reasons []Reason `json:"reasons"`
}

// Quantiles are the 10th, 50th and 90th percentiles of a predicted date
// (P10 ≤ P50 ≤ P90).
type Quantiles struct {
	P10 data.Date `json:"p10"`
	P50 data.Date `json:"p50"`
	P90 data.Date `json:"p90"`
}

// Reason is one feature's contribution to a score.
type Reason struct {
	Feature string `json:"feature"`
	// Value is the feature's value; NaN (missing) is sent as null.
	Value float64 `json:"value"`
	// Contribution is the feature's additive share of the score, in the
	// unit the model documents (log-odds or probability).
	Contribution float64 `json:"contribution"`
}

// AccountQuery names the account to show.
type AccountQuery struct {
	AccountID string
	AsOf      time.Time // zero = the backend's clock
}

// AccountView is an account's collection position.
type AccountView struct {
	AccountID    string    `json:"account_id"`
	Name         string    `json:"name"`
	Segment      string    `json:"segment"`
	Currency     string    `json:"currency"`
	AsOf         time.Time `json:"as_of"`
	ModelVersion string    `json:"model_version"`
	// Open, Overdue and ExpectedLoss hold one amount per currency the
	// account has open invoices in, sorted by currency code. ExpectedLoss
	// is the sum over open invoices of P(not recovered) × open amount.
	Open           []data.Money  `json:"open_amounts"`
	Overdue        []data.Money  `json:"overdue_amounts"`
	ExpectedLoss   []data.Money  `json:"expected_loss"`
	OpenInvoices   []OpenInvoice `json:"open_invoices"`
	RecentContacts []ContactView `json:"recent_contacts"`
}

// OpenInvoice is an invoice with an open amount and its current score.
type OpenInvoice struct {
	InvoiceID   string       `json:"invoice_id"`
	IssueDate   data.Date    `json:"issue_date"`
	DueDate     data.Date    `json:"due_date"`
	Amount      data.Money   `json:"amount"`
	OpenAmount  data.Money   `json:"open_amount"`
	DaysPastDue int          `json:"days_past_due"` // 0 when not yet due
	Disputed    bool         `json:"disputed"`
	Score       InvoiceScore `json:"score"`
}

// ContactView is one recent collection contact and what came of it.
type ContactView struct {
	ContactID      string       `json:"contact_id"`
	InvoiceID      string       `json:"invoice_id,omitempty"`
	Channel        data.Channel `json:"channel"`
	SentAt         time.Time    `json:"sent_at"`
	Outcome        data.Outcome `json:"outcome"`
	PromisedDate   data.Date    `json:"promised_date,omitzero"`
	PromisedAmount *data.Money  `json:"promised_amount,omitempty"`
}

// WorklistQuery asks for one page of the worklist.
type WorklistQuery struct {
	// AsOf is the ranking instant of a new snapshot; zero = the backend's
	// clock. Ignored when Snapshot is set.
	AsOf time.Time
	// Segment restricts the ranking to one account segment; "" = all.
	Segment string
	// Limit is the page size (1..Options.MaxWorklistLimit).
	Limit int
	// Snapshot is "" for a first page, else the snapshot id of the page
	// before; Offset is the number of items already served from it.
	Snapshot string
	Offset   int
}

// WorklistPage is one page of a ranking snapshot.
type WorklistPage struct {
	// Snapshot identifies the immutable ranking the page was cut from. It
	// is opaque to the API (which puts it in the next cursor) and at most
	// 128 bytes long.
	Snapshot     string
	AsOf         time.Time
	ModelVersion string
	// Total is the number of items in the snapshot.
	Total int
	// Items are the snapshot's items from the query's offset on, at most
	// Limit of them.
	Items []WorklistItem
}

// WorklistItem is one account to work, with the action recommended now.
type WorklistItem struct {
	// Rank is the 1-based position in the snapshot.
	Rank      int    `json:"rank"`
	AccountID string `json:"account_id"`
	Segment   string `json:"segment"`
	// ExpectedValue is the expected amount recovered by acting now, net of
	// the action's cost, in the account's currency; items are ranked by it.
	ExpectedValue data.Money `json:"expected_value"`
	// Overdue is the account's overdue amount in the same currency.
	Overdue    data.Money `json:"overdue_amount"`
	RiskTier   RiskTier   `json:"risk_tier"`
	NextAction NextAction `json:"next_action"`
}

// NextAction is the recommended collection action.
type NextAction struct {
	Channel data.Channel `json:"channel"`
	// EarliestAt is the earliest instant the contact rules allow sending.
	EarliestAt time.Time `json:"earliest_send_at"`
	// Reason says why this action (a short machine-readable phrase such as
	// "promise_broken" or "first_reminder"; no personal data).
	Reason string `json:"reason"`
}

// ModelInfo describes one model version.
type ModelInfo struct {
	Version     string    `json:"version"`
	Kind        string    `json:"kind"`
	TrainedAt   time.Time `json:"trained_at,omitzero"`
	ActivatedAt time.Time `json:"activated_at,omitzero"`
	Active      bool      `json:"active"`
	// Metrics are evaluation metrics by name (e.g. "auc", "brier");
	// non-finite values are not sent.
	Metrics map[string]float64 `json:"metrics,omitempty"`
}

// ActivateResult reports a model activation.
type ActivateResult struct {
	Active   string `json:"active"`
	Previous string `json:"previous"`
}

// ReadyStatus is the backend's serving state.
type ReadyStatus string

// Readiness states: ready (200), degraded (503: serving, but e.g. the store
// is unreachable and state comes from memory), not ready (503).
const (
	StatusReady    ReadyStatus = "ready"
	StatusDegraded ReadyStatus = "degraded"
	StatusNotReady ReadyStatus = "not_ready"
)

// Readiness is the answer to a readiness probe.
type Readiness struct {
	Status ReadyStatus
	// Reason explains a non-ready status to operators (no secrets).
	Reason string
}

// Stats are the backend's gauges.
type Stats struct {
	// ActiveModel is the active model version ("" when none).
	ActiveModel string
	// FeatureStateEntries is the number of accounts (or entities) held in
	// the online feature state; FeatureStateBytes its approximate size.
	FeatureStateEntries int64
	FeatureStateBytes   int64
}
