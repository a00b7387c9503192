package clickhouse

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/duesight/duesight/data"
)

// buffer accumulates rows of one table column by column, ready to be sent
// as one insert block with batch.Column(i).Append(slice).
type buffer interface {
	// table is the logical table name (accounts, invoices, ...).
	table() string
	// columns lists the column names in the order of values.
	columns() []string
	// values returns one slice per column (len() rows each).
	values() []any
	len() int
	reset()
}

// Limits of the stored representations: Date holds day numbers up to
// data.MaxDate, DateTime('UTC') holds Unix seconds 0..data.MaxTime.
var maxUnix = data.MaxTime.Unix()

// dateValue converts a data.Date to the time.Time the driver encodes as a
// Date (day number = Unix seconds / 86400). 0 (unset) becomes 1970-01-01.
func dateValue(d data.Date) time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// unixValue converts an instant to Unix seconds (truncating sub-second
// precision, as data.NormalizeTime does); the zero time becomes 0.
func unixValue(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// rowError describes one row that cannot be stored.
func rowError(kind data.Kind, index int, id, field, reason string) error {
	return &data.ValidationError{Issues: []data.Issue{{Kind: kind, Index: index, ID: id, Field: field, Reason: reason}}}
}

func checkDate(kind data.Kind, i int, id, field string, d data.Date) error {
	if d < 0 || d > data.MaxDate {
		return rowError(kind, i, id, field, fmt.Sprintf("%s is outside %s..%s (day numbers 0..%d)", d, data.MinDate, data.MaxDate, data.MaxDate))
	}
	return nil
}

func checkUnix(kind data.Kind, i int, id, field string, t time.Time) (int64, error) {
	u := unixValue(t)
	if u < 0 || u > maxUnix {
		return 0, rowError(kind, i, id, field, fmt.Sprintf("%s is outside 1970-01-01T00:00:00Z..%s",
			t.UTC().Format(time.RFC3339), data.MaxTime.Format(time.RFC3339)))
	}
	return u, nil
}

type accountBuf struct {
	limit                                                 int // BlockRows: capacity is grown by doubling up to it
	accountID, name, segment, country, currency, timeZone []string
	hash                                                  []uint32
	termsDays                                             []int32
	creditLimit                                           []int64
	consent                                               []uint8
	createdAt                                             []int64
	seq                                                   []uint64
}

func (b *accountBuf) table() string { return "accounts" }
func (b *accountBuf) columns() []string {
	return []string{"account_id", "account_hash", "name", "segment", "country", "currency", "time_zone",
		"terms_days", "credit_limit", "consent", "created_at", "seq"}
}
func (b *accountBuf) values() []any {
	return []any{b.accountID, b.hash, b.name, b.segment, b.country, b.currency, b.timeZone,
		b.termsDays, b.creditLimit, b.consent, b.createdAt, b.seq}
}
func (b *accountBuf) len() int { return len(b.accountID) }
func (b *accountBuf) reset() {
	// Drop the references to the caller's strings before reuse.
	clear(b.accountID)
	clear(b.name)
	clear(b.segment)
	clear(b.country)
	clear(b.currency)
	clear(b.timeZone)
	b.accountID, b.name, b.segment, b.country = b.accountID[:0], b.name[:0], b.segment[:0], b.country[:0]
	b.currency, b.timeZone, b.hash, b.termsDays = b.currency[:0], b.timeZone[:0], b.hash[:0], b.termsDays[:0]
	b.creditLimit, b.consent, b.createdAt, b.seq = b.creditLimit[:0], b.consent[:0], b.createdAt[:0], b.seq[:0]
}

// reserve makes room for the next row, doubling capacity up to limit.
func (b *accountBuf) reserve() {
	if len(b.accountID) < cap(b.accountID) {
		return
	}
	n := nextCap(cap(b.accountID), b.limit)
	b.accountID = grow(b.accountID, n)
	b.name = grow(b.name, n)
	b.segment = grow(b.segment, n)
	b.country = grow(b.country, n)
	b.currency = grow(b.currency, n)
	b.timeZone = grow(b.timeZone, n)
	b.hash = grow(b.hash, n)
	b.termsDays = grow(b.termsDays, n)
	b.creditLimit = grow(b.creditLimit, n)
	b.consent = grow(b.consent, n)
	b.createdAt = grow(b.createdAt, n)
	b.seq = grow(b.seq, n)
}

func (b *accountBuf) add(i int, r *data.Account, seq uint64) error {
	created, err := checkUnix(data.KindAccount, i, r.ID, "created_at", r.CreatedAt)
	if err != nil {
		return err
	}
	if r.TermsDays < math.MinInt32 || r.TermsDays > math.MaxInt32 {
		return rowError(data.KindAccount, i, r.ID, "terms_days", fmt.Sprintf("%d does not fit in Int32", r.TermsDays))
	}
	b.reserve()
	b.accountID = append(b.accountID, r.ID)
	b.hash = append(b.hash, data.AccountHash(r.ID))
	b.name = append(b.name, r.Name)
	b.segment = append(b.segment, r.Segment)
	b.country = append(b.country, r.Country)
	b.currency = append(b.currency, r.Currency)
	b.timeZone = append(b.timeZone, r.TimeZone)
	b.termsDays = append(b.termsDays, int32(r.TermsDays))
	b.creditLimit = append(b.creditLimit, r.CreditLimit)
	b.consent = append(b.consent, uint8(r.Consent))
	b.createdAt = append(b.createdAt, created)
	b.seq = append(b.seq, seq)
	return nil
}

type invoiceBuf struct {
	limit                   int // BlockRows: capacity is grown by doubling up to it
	accountID, id, currency []string
	hash                    []uint32
	issue, due              []time.Time
	amount                  []int64
	deliveredBy             []uint8
	seq                     []uint64
}

func (b *invoiceBuf) table() string { return "invoices" }
func (b *invoiceBuf) columns() []string {
	return []string{"account_id", "account_hash", "id", "issue_date", "due_date", "amount", "currency", "delivered_by", "seq"}
}
func (b *invoiceBuf) values() []any {
	return []any{b.accountID, b.hash, b.id, b.issue, b.due, b.amount, b.currency, b.deliveredBy, b.seq}
}
func (b *invoiceBuf) len() int { return len(b.id) }
func (b *invoiceBuf) reset() {
	// Drop the references to the caller's strings before reuse.
	clear(b.accountID)
	clear(b.id)
	clear(b.currency)
	b.accountID, b.id, b.currency, b.hash = b.accountID[:0], b.id[:0], b.currency[:0], b.hash[:0]
	b.issue, b.due, b.amount, b.deliveredBy, b.seq = b.issue[:0], b.due[:0], b.amount[:0], b.deliveredBy[:0], b.seq[:0]
}

// reserve makes room for the next row, doubling capacity up to limit.
func (b *invoiceBuf) reserve() {
	if len(b.id) < cap(b.id) {
		return
	}
	n := nextCap(cap(b.id), b.limit)
	b.accountID = grow(b.accountID, n)
	b.id = grow(b.id, n)
	b.currency = grow(b.currency, n)
	b.hash = grow(b.hash, n)
	b.issue = grow(b.issue, n)
	b.due = grow(b.due, n)
	b.amount = grow(b.amount, n)
	b.deliveredBy = grow(b.deliveredBy, n)
	b.seq = grow(b.seq, n)
}

func (b *invoiceBuf) add(i int, r *data.Invoice, seq uint64) error {
	if err := checkDate(data.KindInvoice, i, r.ID, "issue_date", r.IssueDate); err != nil {
		return err
	}
	if err := checkDate(data.KindInvoice, i, r.ID, "due_date", r.DueDate); err != nil {
		return err
	}
	b.reserve()
	b.accountID = append(b.accountID, r.AccountID)
	b.hash = append(b.hash, data.AccountHash(r.AccountID))
	b.id = append(b.id, r.ID)
	b.issue = append(b.issue, dateValue(r.IssueDate))
	b.due = append(b.due, dateValue(r.DueDate))
	b.amount = append(b.amount, r.Amount)
	b.currency = append(b.currency, r.Currency)
	b.deliveredBy = append(b.deliveredBy, uint8(r.DeliveredBy))
	b.seq = append(b.seq, seq)
	return nil
}

type paymentBuf struct {
	limit                              int // BlockRows: capacity is grown by doubling up to it
	accountID, id, invoiceID, currency []string
	hash                               []uint32
	date                               []time.Time
	amount                             []int64
	method                             []uint8
	seq                                []uint64
}

func (b *paymentBuf) table() string { return "payments" }
func (b *paymentBuf) columns() []string {
	return []string{"account_id", "account_hash", "id", "invoice_id", "date", "amount", "currency", "method", "seq"}
}
func (b *paymentBuf) values() []any {
	return []any{b.accountID, b.hash, b.id, b.invoiceID, b.date, b.amount, b.currency, b.method, b.seq}
}
func (b *paymentBuf) len() int { return len(b.id) }
func (b *paymentBuf) reset() {
	// Drop the references to the caller's strings before reuse.
	clear(b.accountID)
	clear(b.id)
	clear(b.invoiceID)
	clear(b.currency)
	b.accountID, b.id, b.invoiceID, b.currency = b.accountID[:0], b.id[:0], b.invoiceID[:0], b.currency[:0]
	b.hash, b.date, b.amount, b.method, b.seq = b.hash[:0], b.date[:0], b.amount[:0], b.method[:0], b.seq[:0]
}

// reserve makes room for the next row, doubling capacity up to limit.
func (b *paymentBuf) reserve() {
	if len(b.id) < cap(b.id) {
		return
	}
	n := nextCap(cap(b.id), b.limit)
	b.accountID = grow(b.accountID, n)
	b.id = grow(b.id, n)
	b.invoiceID = grow(b.invoiceID, n)
	b.currency = grow(b.currency, n)
	b.hash = grow(b.hash, n)
	b.date = grow(b.date, n)
	b.amount = grow(b.amount, n)
	b.method = grow(b.method, n)
	b.seq = grow(b.seq, n)
}

func (b *paymentBuf) add(i int, r *data.Payment, seq uint64) error {
	if err := checkDate(data.KindPayment, i, r.ID, "date", r.Date); err != nil {
		return err
	}
	b.reserve()
	b.accountID = append(b.accountID, r.AccountID)
	b.hash = append(b.hash, data.AccountHash(r.AccountID))
	b.id = append(b.id, r.ID)
	b.invoiceID = append(b.invoiceID, r.InvoiceID)
	b.date = append(b.date, dateValue(r.Date))
	b.amount = append(b.amount, r.Amount)
	b.currency = append(b.currency, r.Currency)
	b.method = append(b.method, uint8(r.Method))
	b.seq = append(b.seq, seq)
	return nil
}

type contactBuf struct {
	limit                    int // BlockRows: capacity is grown by doubling up to it
	accountID, id, invoiceID []string
	hash                     []uint32
	channel, outcome         []uint8
	sentAt                   []int64
	promisedDate             []time.Time
	promisedAmount           []int64
	seq                      []uint64
}

func (b *contactBuf) table() string { return "contacts" }
func (b *contactBuf) columns() []string {
	return []string{"account_id", "account_hash", "id", "invoice_id", "channel", "sent_at", "outcome",
		"promised_date", "promised_amount", "seq"}
}
func (b *contactBuf) values() []any {
	return []any{b.accountID, b.hash, b.id, b.invoiceID, b.channel, b.sentAt, b.outcome,
		b.promisedDate, b.promisedAmount, b.seq}
}
func (b *contactBuf) len() int { return len(b.id) }
func (b *contactBuf) reset() {
	// Drop the references to the caller's strings before reuse.
	clear(b.accountID)
	clear(b.id)
	clear(b.invoiceID)
	b.accountID, b.id, b.invoiceID, b.hash = b.accountID[:0], b.id[:0], b.invoiceID[:0], b.hash[:0]
	b.channel, b.outcome, b.sentAt = b.channel[:0], b.outcome[:0], b.sentAt[:0]
	b.promisedDate, b.promisedAmount, b.seq = b.promisedDate[:0], b.promisedAmount[:0], b.seq[:0]
}

// reserve makes room for the next row, doubling capacity up to limit.
func (b *contactBuf) reserve() {
	if len(b.id) < cap(b.id) {
		return
	}
	n := nextCap(cap(b.id), b.limit)
	b.accountID = grow(b.accountID, n)
	b.id = grow(b.id, n)
	b.invoiceID = grow(b.invoiceID, n)
	b.hash = grow(b.hash, n)
	b.channel = grow(b.channel, n)
	b.outcome = grow(b.outcome, n)
	b.sentAt = grow(b.sentAt, n)
	b.promisedDate = grow(b.promisedDate, n)
	b.promisedAmount = grow(b.promisedAmount, n)
	b.seq = grow(b.seq, n)
}

func (b *contactBuf) add(i int, r *data.Contact, seq uint64) error {
	sent, err := checkUnix(data.KindContact, i, r.ID, "sent_at", r.SentAt)
	if err != nil {
		return err
	}
	if err := checkDate(data.KindContact, i, r.ID, "promised_date", r.PromisedDate); err != nil {
		return err
	}
	b.reserve()
	b.accountID = append(b.accountID, r.AccountID)
	b.hash = append(b.hash, data.AccountHash(r.AccountID))
	b.id = append(b.id, r.ID)
	b.invoiceID = append(b.invoiceID, r.InvoiceID)
	b.channel = append(b.channel, uint8(r.Channel))
	b.sentAt = append(b.sentAt, sent)
	b.outcome = append(b.outcome, uint8(r.Outcome))
	b.promisedDate = append(b.promisedDate, dateValue(r.PromisedDate))
	b.promisedAmount = append(b.promisedAmount, r.PromisedAmount)
	b.seq = append(b.seq, seq)
	return nil
}

type disputeBuf struct {
	limit                            int // BlockRows: capacity is grown by doubling up to it
	accountID, id, invoiceID, reason []string
	hash                             []uint32
	opened, resolved                 []time.Time
	seq                              []uint64
}

func (b *disputeBuf) table() string { return "disputes" }
func (b *disputeBuf) columns() []string {
	return []string{"account_id", "account_hash", "id", "invoice_id", "opened_on", "resolved_on", "reason", "seq"}
}
func (b *disputeBuf) values() []any {
	return []any{b.accountID, b.hash, b.id, b.invoiceID, b.opened, b.resolved, b.reason, b.seq}
}
func (b *disputeBuf) len() int { return len(b.id) }
func (b *disputeBuf) reset() {
	// Drop the references to the caller's strings before reuse.
	clear(b.accountID)
	clear(b.id)
	clear(b.invoiceID)
	clear(b.reason)
	b.accountID, b.id, b.invoiceID, b.reason = b.accountID[:0], b.id[:0], b.invoiceID[:0], b.reason[:0]
	b.hash, b.opened, b.resolved, b.seq = b.hash[:0], b.opened[:0], b.resolved[:0], b.seq[:0]
}

// reserve makes room for the next row, doubling capacity up to limit.
func (b *disputeBuf) reserve() {
	if len(b.id) < cap(b.id) {
		return
	}
	n := nextCap(cap(b.id), b.limit)
	b.accountID = grow(b.accountID, n)
	b.id = grow(b.id, n)
	b.invoiceID = grow(b.invoiceID, n)
	b.reason = grow(b.reason, n)
	b.hash = grow(b.hash, n)
	b.opened = grow(b.opened, n)
	b.resolved = grow(b.resolved, n)
	b.seq = grow(b.seq, n)
}

func (b *disputeBuf) add(i int, r *data.Dispute, seq uint64) error {
	if err := checkDate(data.KindDispute, i, r.ID, "opened_on", r.OpenedOn); err != nil {
		return err
	}
	if err := checkDate(data.KindDispute, i, r.ID, "resolved_on", r.ResolvedOn); err != nil {
		return err
	}
	b.reserve()
	b.accountID = append(b.accountID, r.AccountID)
	b.hash = append(b.hash, data.AccountHash(r.AccountID))
	b.id = append(b.id, r.ID)
	b.invoiceID = append(b.invoiceID, r.InvoiceID)
	b.opened = append(b.opened, dateValue(r.OpenedOn))
	b.resolved = append(b.resolved, dateValue(r.ResolvedOn))
	b.reason = append(b.reason, r.Reason)
	b.seq = append(b.seq, seq)
	return nil
}

// newBuffer returns an empty buffer for a history table whose capacity
// grows up to limit rows.
func newBuffer(table string, limit int) buffer {
	switch table {
	case "accounts":
		return &accountBuf{limit: limit}
	case "invoices":
		return &invoiceBuf{limit: limit}
	case "payments":
		return &paymentBuf{limit: limit}
	case "contacts":
		return &contactBuf{limit: limit}
	case "disputes":
		return &disputeBuf{limit: limit}
	}
	panic("clickhouse: no buffer for table " + table)
}

// nextCap doubles a buffer's capacity (from 256 rows) up to limit: a
// buffer filled to BlockRows rows allocates about twice its final size
// in total, where append's growth would allocate several times more.
func nextCap(c, limit int) int {
	return max(min(max(2*c, 256), limit), c+1)
}

// grow returns s with capacity at least n, keeping its contents.
func grow[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s
	}
	out := make([]T, len(s), n)
	copy(out, s)
	return out
}

// insertSQL is the INSERT statement (with its column list, which the
// driver needs to bind columns) for a buffer's table.
func insertSQL(table string, b buffer) string {
	return "INSERT INTO " + table + " (" + strings.Join(b.columns(), ", ") + ")"
}
