package features

import (
	"fmt"
	"math"
	"time"

	"github.com/duesight/duesight/data"
)

// Snapshot says as of when a row's features are computed.
type Snapshot uint8

const (
	// SnapshotIssue: as of midnight UTC of the invoice's issue date (the
	// invoice itself and everything else dated that day is not yet known).
	SnapshotIssue Snapshot = 1
	// SnapshotDue: as of midnight UTC of the due date, only for invoices
	// still open then and with due date after issue date.
	SnapshotDue Snapshot = 2
)

var snapshotNames = [...]string{"", "issue", "due"}

func (s Snapshot) String() string {
	if int(s) < len(snapshotNames) && s != 0 {
		return snapshotNames[s]
	}
	return fmt.Sprintf("snapshot(%d)", s)
}

// ParseSnapshot parses "issue" or "due".
func ParseSnapshot(v string) (Snapshot, error) {
	switch v {
	case "issue":
		return SnapshotIssue, nil
	case "due":
		return SnapshotDue, nil
	}
	return 0, fmt.Errorf("unknown snapshot %q (want issue or due)", v)
}

// Stats counts what a build produced and skipped.
type Stats struct {
	Accounts  int `json:"accounts"` // histories read
	Invoices  int `json:"invoices"` // invoices issued before the horizon (one issue row each when requested)
	Rows      int `json:"rows"`
	IssueRows int `json:"issue_rows"`
	DueRows   int `json:"due_rows"`
	// DueSkippedClosed counts due snapshots not emitted because the
	// invoice was closed before its due date (or due date = issue date).
	DueSkippedClosed int `json:"due_skipped_closed"`
	// DueSkippedHorizon counts due snapshots at or after the horizon.
	DueSkippedHorizon int `json:"due_skipped_horizon"`
	// BeforeFrom counts invoices issued before Options.From (no rows).
	BeforeFrom int `json:"before_from"`
	// Label counts over rows.
	Paid          int `json:"paid"`
	UnpaidLate    int `json:"unpaid_late"`    // censored, known late
	UnpaidPending int `json:"unpaid_pending"` // censored, label unknown
	WrittenOff    int `json:"written_off"`
	Late          int `json:"late"` // rows with late = 1
}

// Table is a feature matrix with row keys and labels. Feature columns are
// column-major: X[j][i] is feature j (Catalog order) of row i; NaN = missing.
// All row slices have Len() elements.
type Table struct {
	Names      []string // feature names, Catalog order
	SchemaHash string
	X          [][]float64

	// Row keys.
	InvoiceID []string
	AccountID []string
	Snapshot  []Snapshot
	AsOf      []data.Date // features are as of midnight UTC of this date
	IssueDate []data.Date
	DueDate   []data.Date
	Amount    []int64 // minor units of Currency
	Currency  []string

	// Labels at the horizon (see Labels).
	Status     []LabelStatus
	Late       []float64 // 1, 0 or NaN (unknown)
	DaysLate   []float64 // NaN when unknown
	LowerBound []bool    // DaysLate is a lower bound
	Bucket     []LateBucket
	Settled    []data.Date // paid date; 0 unless StatusPaid
	WrittenOff []bool

	// Horizon is the label horizon: payments dated before it are known.
	Horizon time.Time
	// Grace is the number of days late still counted as on time.
	Grace int
	Stats Stats

	raw []closing // per row, until finalize
}

// NewTable returns an empty table for the current schema.
func NewTable() *Table {
	return &Table{Names: Names(), SchemaHash: SchemaHash(), X: make([][]float64, numFeatures)}
}

// Len is the number of rows.
func (t *Table) Len() int { return len(t.InvoiceID) }

func (t *Table) appendRow(inv *data.Invoice, snap Snapshot, asOf data.Date, vec []float64, raw closing) {
	for j, x := range vec {
		t.X[j] = append(t.X[j], x)
	}
	t.InvoiceID = append(t.InvoiceID, inv.ID)
	t.AccountID = append(t.AccountID, inv.AccountID)
	t.Snapshot = append(t.Snapshot, snap)
	t.AsOf = append(t.AsOf, asOf)
	t.IssueDate = append(t.IssueDate, inv.IssueDate)
	t.DueDate = append(t.DueDate, inv.DueDate)
	t.Amount = append(t.Amount, inv.Amount)
	t.Currency = append(t.Currency, inv.Currency)
	t.raw = append(t.raw, raw)
}

// finalize labels every row at horizon (dropping rows whose snapshot is at
// or after it) and fills the label counts.
func (t *Table) finalize(horizon time.Time, grace int) {
	t.Horizon, t.Grace = horizon, grace
	last := LastKnownDay(horizon)
	keep := make([]bool, t.Len())
	n := 0
	for i := range keep {
		keep[i] = horizon.IsZero() || t.AsOf[i].Time().Before(horizon)
		if !keep[i] {
			t.Stats.DueSkippedHorizon++
			t.Stats.DueRows--
			continue
		}
		n++
	}
	if n < t.Len() {
		t.compact(keep)
	}
	rows := t.Len()
	t.Status = make([]LabelStatus, rows)
	t.Late = make([]float64, rows)
	t.DaysLate = make([]float64, rows)
	t.LowerBound = make([]bool, rows)
	t.Bucket = make([]LateBucket, rows)
	t.Settled = make([]data.Date, rows)
	t.WrittenOff = make([]bool, rows)
	st := &t.Stats
	st.Rows = rows
	st.Paid, st.UnpaidLate, st.UnpaidPending, st.WrittenOff, st.Late = 0, 0, 0, 0, 0
	for i := range rows {
		l := label(t.raw[i], t.DueDate[i], last, grace)
		t.Status[i], t.Late[i], t.DaysLate[i], t.LowerBound[i] = l.Status, l.Late, l.DaysLate, l.LowerBound
		t.Bucket[i], t.Settled[i], t.WrittenOff[i] = l.Bucket, l.Settled, l.WrittenOff
		switch l.Status {
		case StatusPaid:
			st.Paid++
		case StatusUnpaidLate:
			st.UnpaidLate++
		case StatusUnpaidPending:
			st.UnpaidPending++
		}
		if l.WrittenOff {
			st.WrittenOff++
		}
		if l.Late == 1 {
			st.Late++
		}
	}
	t.raw = nil
}

// compact keeps the rows with keep[i] (key and feature columns; labels are
// not yet computed).
func (t *Table) compact(keep []bool) {
	t.InvoiceID = filter(t.InvoiceID, keep)
	t.AccountID = filter(t.AccountID, keep)
	t.Snapshot = filter(t.Snapshot, keep)
	t.AsOf = filter(t.AsOf, keep)
	t.IssueDate = filter(t.IssueDate, keep)
	t.DueDate = filter(t.DueDate, keep)
	t.Amount = filter(t.Amount, keep)
	t.Currency = filter(t.Currency, keep)
	t.raw = filter(t.raw, keep)
	for j := range t.X {
		t.X[j] = filter(t.X[j], keep)
	}
}

func filter[T any](s []T, keep []bool) []T {
	out := s[:0]
	for i, v := range s {
		if keep[i] {
			out = append(out, v)
		}
	}
	return out
}

// Labeled returns the indices of rows whose binary label is known (paid, or
// unpaid and known late). Censored rows of unknown label are excluded; their
// count is Stats.UnpaidPending.
func (t *Table) Labeled() []int {
	out := make([]int, 0, t.Len())
	for i, l := range t.Late {
		if !math.IsNaN(l) {
			out = append(out, i)
		}
	}
	return out
}

// Select returns a new table holding rows idx of t, in that order. Stats
// keep the build counters of t, with the label counts recomputed.
func (t *Table) Select(idx []int) *Table {
	o := &Table{Names: t.Names, SchemaHash: t.SchemaHash, X: make([][]float64, len(t.X)),
		Horizon: t.Horizon, Grace: t.Grace, Stats: t.Stats}
	for j := range t.X {
		o.X[j] = pick(t.X[j], idx)
	}
	o.InvoiceID, o.AccountID, o.Snapshot = pick(t.InvoiceID, idx), pick(t.AccountID, idx), pick(t.Snapshot, idx)
	o.AsOf, o.IssueDate, o.DueDate = pick(t.AsOf, idx), pick(t.IssueDate, idx), pick(t.DueDate, idx)
	o.Amount, o.Currency = pick(t.Amount, idx), pick(t.Currency, idx)
	o.Status, o.Late, o.DaysLate = pick(t.Status, idx), pick(t.Late, idx), pick(t.DaysLate, idx)
	o.LowerBound, o.Bucket, o.Settled = pick(t.LowerBound, idx), pick(t.Bucket, idx), pick(t.Settled, idx)
	o.WrittenOff = pick(t.WrittenOff, idx)
	o.Stats.Rows = len(idx)
	o.Stats.Paid, o.Stats.UnpaidLate, o.Stats.UnpaidPending, o.Stats.WrittenOff, o.Stats.Late = 0, 0, 0, 0, 0
	for i := range idx {
		switch o.Status[i] {
		case StatusPaid:
			o.Stats.Paid++
		case StatusUnpaidLate:
			o.Stats.UnpaidLate++
		case StatusUnpaidPending:
			o.Stats.UnpaidPending++
		}
		if o.WrittenOff[i] {
			o.Stats.WrittenOff++
		}
		if o.Late[i] == 1 {
			o.Stats.Late++
		}
	}
	return o
}

func pick[T any](s []T, idx []int) []T {
	out := make([]T, len(idx))
	for k, i := range idx {
		out[k] = s[i]
	}
	return out
}

// appendTable appends rows [lo, hi) of u (unfinalized) to t.
func (t *Table) appendRange(u *Table, lo, hi int) {
	for j := range t.X {
		t.X[j] = append(t.X[j], u.X[j][lo:hi]...)
	}
	t.InvoiceID = append(t.InvoiceID, u.InvoiceID[lo:hi]...)
	t.AccountID = append(t.AccountID, u.AccountID[lo:hi]...)
	t.Snapshot = append(t.Snapshot, u.Snapshot[lo:hi]...)
	t.AsOf = append(t.AsOf, u.AsOf[lo:hi]...)
	t.IssueDate = append(t.IssueDate, u.IssueDate[lo:hi]...)
	t.DueDate = append(t.DueDate, u.DueDate[lo:hi]...)
	t.Amount = append(t.Amount, u.Amount[lo:hi]...)
	t.Currency = append(t.Currency, u.Currency[lo:hi]...)
	t.raw = append(t.raw, u.raw[lo:hi]...)
}

// grow reserves room for n more rows.
func (t *Table) grow(n int) {
	for j := range t.X {
		t.X[j] = growSlice(t.X[j], n)
	}
	t.InvoiceID, t.AccountID = growSlice(t.InvoiceID, n), growSlice(t.AccountID, n)
	t.Snapshot, t.AsOf = growSlice(t.Snapshot, n), growSlice(t.AsOf, n)
	t.IssueDate, t.DueDate = growSlice(t.IssueDate, n), growSlice(t.DueDate, n)
	t.Amount, t.Currency, t.raw = growSlice(t.Amount, n), growSlice(t.Currency, n), growSlice(t.raw, n)
}

// growSlice makes room for n more elements, at least doubling the capacity
// when it must reallocate (append grows large slices by only 1.25×, which
// makes the feature columns of a big build allocate ~5× their final size).
func growSlice[T any](s []T, n int) []T {
	if cap(s)-len(s) >= n {
		return s
	}
	out := make([]T, len(s), max(len(s)+n, 2*cap(s)))
	copy(out, s)
	return out
}
