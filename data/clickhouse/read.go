package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/duesight/duesight/data"
)

// Read queries select dates as toUInt16 (day numbers, = data.Date) and
// instants as toUInt32 (Unix seconds), so that decoding never depends on
// the server's or the client's time zone.
const (
	accountCols = "account_id, name, segment, country, currency, time_zone, terms_days, credit_limit, consent, toUInt32(created_at)"
	invoiceCols = "account_id, id, toUInt16(issue_date), toUInt16(due_date), amount, currency, delivered_by"
	paymentCols = "account_id, id, invoice_id, toUInt16(date), amount, currency, method"
	contactCols = "account_id, id, invoice_id, channel, toUInt32(sent_at), outcome, toUInt16(promised_date), promised_amount"
	disputeCols = "account_id, id, invoice_id, toUInt16(opened_on), toUInt16(resolved_on), reason"
)

func timeOf(u uint32) time.Time {
	if u == 0 {
		return time.Time{}
	}
	return time.Unix(int64(u), 0).UTC()
}

// rowScanner decodes rows of one query. It reuses one destination list
// (and scratch fields) for every row, so that scanning allocates only the
// strings.
type rowScanner[T any] func(driver.Rows) (T, error)

func scanAccounts() rowScanner[data.Account] {
	var r data.Account
	var terms int32
	var consent uint8
	var created uint32
	dest := []any{&r.ID, &r.Name, &r.Segment, &r.Country, &r.Currency, &r.TimeZone, &terms, &r.CreditLimit, &consent, &created}
	return func(rows driver.Rows) (data.Account, error) {
		err := rows.Scan(dest...)
		r.TermsDays, r.Consent, r.CreatedAt = int(terms), data.ChannelSet(consent), timeOf(created)
		return r, err
	}
}

func scanInvoices() rowScanner[data.Invoice] {
	var r data.Invoice
	var issue, due uint16
	var by uint8
	dest := []any{&r.AccountID, &r.ID, &issue, &due, &r.Amount, &r.Currency, &by}
	return func(rows driver.Rows) (data.Invoice, error) {
		err := rows.Scan(dest...)
		r.IssueDate, r.DueDate, r.DeliveredBy = data.Date(issue), data.Date(due), data.Channel(by)
		return r, err
	}
}

func scanPayments() rowScanner[data.Payment] {
	var r data.Payment
	var date uint16
	var method uint8
	dest := []any{&r.AccountID, &r.ID, &r.InvoiceID, &date, &r.Amount, &r.Currency, &method}
	return func(rows driver.Rows) (data.Payment, error) {
		err := rows.Scan(dest...)
		r.Date, r.Method = data.Date(date), data.Method(method)
		return r, err
	}
}

func scanContacts() rowScanner[data.Contact] {
	var r data.Contact
	var channel, outcome uint8
	var sent uint32
	var promised uint16
	dest := []any{&r.AccountID, &r.ID, &r.InvoiceID, &channel, &sent, &outcome, &promised, &r.PromisedAmount}
	return func(rows driver.Rows) (data.Contact, error) {
		err := rows.Scan(dest...)
		r.Channel, r.SentAt, r.Outcome, r.PromisedDate = data.Channel(channel), timeOf(sent), data.Outcome(outcome), data.Date(promised)
		return r, err
	}
}

func scanDisputes() rowScanner[data.Dispute] {
	var r data.Dispute
	var opened, resolved uint16
	dest := []any{&r.AccountID, &r.ID, &r.InvoiceID, &opened, &resolved, &r.Reason}
	return func(rows driver.Rows) (data.Dispute, error) {
		err := rows.Scan(dest...)
		r.OpenedOn, r.ResolvedOn = data.Date(opened), data.Date(resolved)
		return r, err
	}
}

// kind describes how to read one history table.
type kind[T any] struct {
	table     string
	cols      string
	order     string               // ORDER BY of a stream; ends with seq for versioned kinds
	timeCol   string               // the column Window applies to ("" = none)
	timeIsDay bool                 // timeCol is a Date (else a DateTime)
	versioned bool                 // rows may be rewritten: keep the last of equal ids
	scanner   func() rowScanner[T] // a new decoder for one query
	account   func(*T) string
	id        func(*T) string
}

var (
	accountKind = kind[data.Account]{table: "accounts", cols: accountCols, order: "account_id, seq", versioned: true,
		scanner: scanAccounts, account: func(r *data.Account) string { return r.ID }, id: func(r *data.Account) string { return r.ID }}
	invoiceKind = kind[data.Invoice]{table: "invoices", cols: invoiceCols, order: "account_id, issue_date, id",
		timeCol: "issue_date", timeIsDay: true, scanner: scanInvoices,
		account: func(r *data.Invoice) string { return r.AccountID }, id: func(r *data.Invoice) string { return r.ID }}
	paymentKind = kind[data.Payment]{table: "payments", cols: paymentCols, order: "account_id, date, id",
		timeCol: "date", timeIsDay: true, scanner: scanPayments,
		account: func(r *data.Payment) string { return r.AccountID }, id: func(r *data.Payment) string { return r.ID }}
	contactKind = kind[data.Contact]{table: "contacts", cols: contactCols, order: "account_id, sent_at, id, seq",
		timeCol: "sent_at", versioned: true, scanner: scanContacts,
		account: func(r *data.Contact) string { return r.AccountID }, id: func(r *data.Contact) string { return r.ID }}
	disputeKind = kind[data.Dispute]{table: "disputes", cols: disputeCols, order: "account_id, opened_on, id, seq",
		timeCol: "opened_on", timeIsDay: true, versioned: true, scanner: scanDisputes,
		account: func(r *data.Dispute) string { return r.AccountID }, id: func(r *data.Dispute) string { return r.ID }}
)

// ceilUnix returns the smallest whole Unix second ≥ t.
func ceilUnix(t time.Time) int64 {
	u := t.Unix()
	if t.Nanosecond() > 0 {
		u++
	}
	return u
}

func ceilDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) == (b < 0) {
		q++
	}
	return q
}

// windowCond returns the condition selecting rows whose time column lies in
// w, "" when every stored row does, or "0" when none can.
//
// A Date d is in w iff From ≤ midnight(d) < To, i.e. lo ≤ d < hi with
// lo = ⌈⌈From⌉s / 86400⌉ and hi = ⌈⌈To⌉s / 86400⌉ (⌈t⌉s: t rounded up to a
// whole second). A DateTime s (whole seconds) is in w iff ⌈From⌉s ≤ s < ⌈To⌉s.
// Bounds beyond the stored range [MinDate, MaxDate] / [MinTime, MaxTime] are
// dropped or make the condition empty, so literals never overflow.
func windowCond(col string, isDay bool, w data.Window) string {
	var conds []string
	lo, hi := int64(1), int64(0) // stored values of required time columns are ≥ 1
	maxV := data.MaxTime.Unix()
	if isDay {
		maxV = int64(data.MaxDate)
	}
	conv := func(v int64) int64 { return v }
	if isDay {
		conv = func(v int64) int64 { return ceilDiv(v, 86400) }
	}
	if !w.From.IsZero() {
		lo = conv(ceilUnix(w.From))
		if lo > maxV {
			return "0"
		}
		if lo > 1 {
			conds = append(conds, col+" >= "+literal(lo, isDay))
		}
	}
	if !w.To.IsZero() {
		hi = conv(ceilUnix(w.To))
		if hi <= 1 || hi <= lo {
			return "0"
		}
		if hi <= maxV {
			conds = append(conds, col+" < "+literal(hi, isDay))
		}
	}
	return strings.Join(conds, " AND ")
}

// literal renders a day number as toDate('YYYY-MM-DD') or Unix seconds as
// toDateTime(n): both are time-zone independent.
func literal(v int64, isDay bool) string {
	if isDay {
		return "toDate('" + data.Date(v).String() + "')"
	}
	return "toDateTime(" + strconv.FormatInt(v, 10) + ")"
}

// shardCond selects a shard by the stored account_hash.
func shardCond(sh data.Shard) string {
	if sh.Of <= 1 {
		return ""
	}
	return "account_hash % " + strconv.Itoa(sh.Of) + " = " + strconv.Itoa(sh.Index)
}

// where joins non-empty conditions.
func where(conds ...string) string {
	var keep []string
	for _, c := range conds {
		if c != "" {
			keep = append(keep, c)
		}
	}
	return strings.Join(keep, " AND ")
}

// streamQuery is the SQL of one ordered per-table stream.
func streamQuery[T any](s *Store, k kind[T], snap snapshot, q data.HistoryQuery, extra string) string {
	var win string
	if k.timeCol != "" {
		win = windowCond(k.timeCol, k.timeIsDay, q.Window)
	}
	return "SELECT " + k.cols + " FROM " + s.d.table(k.table) + " WHERE " +
		where(s.filter(snap), shardCond(q.Shard), win, extra) + " ORDER BY " + k.order
}

// cursor reads one ordered table stream, one account at a time.
type cursor[T any] struct {
	k       kind[T]
	scan    rowScanner[T]
	scratch []T // rows of the current account, reused
	rows    driver.Rows
	head    T
	acc     string // account of head
	valid   bool
	err     error
}

func (c *cursor[T]) next() {
	if !c.rows.Next() {
		c.valid, c.err = false, c.rows.Err()
		return
	}
	c.head, c.err = c.scan(c.rows)
	c.valid = c.err == nil
	c.acc = c.k.account(&c.head)
}

// peek returns the account of the next row, if any.
func (c *cursor[T]) peek() (string, bool) { return c.acc, c.valid }

// take returns the rows of account acc (nil if none), keeping only the
// last row of equal consecutive ids for versioned kinds (streams are
// ordered by time, id, seq and a new version keeps its time, so versions
// are adjacent and the last one is the newest). Rows are gathered in a
// reused scratch slice and copied out once, at their final length.
func (c *cursor[T]) take(acc string) []T {
	if !c.valid || c.acc != acc {
		return nil
	}
	rows := c.scratch[:0]
	var last string
	for c.valid && c.acc == acc {
		id := c.k.id(&c.head)
		if c.k.versioned && len(rows) > 0 && id == last {
			rows[len(rows)-1] = c.head
		} else {
			rows = append(rows, c.head)
		}
		last = id
		c.next()
	}
	out := slices.Clone(rows)
	clear(rows) // drop references to the rows' strings
	c.scratch = rows[:0]
	return out
}

func (c *cursor[T]) close() error {
	if c == nil || c.rows == nil {
		return nil
	}
	return c.rows.Close()
}

// open runs the cursor's query.
func (c *cursor[T]) open(ctx context.Context, s *Store, query string, args ...any) error {
	rows, err := s.conn.Query(ctx, query, args...)
	if err != nil {
		return fail(err, "query %s", c.k.table)
	}
	c.rows = rows
	c.scan = c.k.scanner()
	c.next()
	if c.err != nil {
		return fail(c.err, "read %s", c.k.table)
	}
	return nil
}

// peeker is what the merge needs from every cursor.
type peeker interface {
	peek() (string, bool)
	failed() error
}

func (c *cursor[T]) failed() error {
	if c.err != nil {
		return fmt.Errorf("read %s: %w", c.k.table, c.err)
	}
	return nil
}

// historyStream merges the five ordered table streams of one snapshot.
type historyStream struct {
	acc *cursor[data.Account]
	inv *cursor[data.Invoice]
	pay *cursor[data.Payment]
	con *cursor[data.Contact]
	dis *cursor[data.Dispute]
}

func (h *historyStream) all() []peeker { return []peeker{h.acc, h.inv, h.pay, h.con, h.dis} }

// open starts the five queries concurrently (each on its own connection:
// in 18.16 ORDER BY sorts before the first block, so they overlap).
func (h *historyStream) open(ctx context.Context, s *Store, snap snapshot, q data.HistoryQuery) error {
	h.acc = &cursor[data.Account]{k: accountKind}
	h.inv = &cursor[data.Invoice]{k: invoiceKind}
	h.pay = &cursor[data.Payment]{k: paymentKind}
	h.con = &cursor[data.Contact]{k: contactKind}
	h.dis = &cursor[data.Dispute]{k: disputeKind}
	accQ := "SELECT " + accountKind.cols + " FROM " + s.d.table("accounts") + " WHERE " +
		where(s.filter(snap), shardCond(q.Shard)) + " ORDER BY " + accountKind.order
	opens := []func() error{
		func() error { return h.acc.open(ctx, s, accQ) },
		func() error { return h.inv.open(ctx, s, streamQuery(s, invoiceKind, snap, q, "")) },
		func() error { return h.pay.open(ctx, s, streamQuery(s, paymentKind, snap, q, "")) },
		func() error { return h.con.open(ctx, s, streamQuery(s, contactKind, snap, q, "")) },
		func() error { return h.dis.open(ctx, s, streamQuery(s, disputeKind, snap, q, "")) },
	}
	errs := make([]error, len(opens))
	var wg sync.WaitGroup
	for i, f := range opens {
		wg.Go(func() { errs[i] = f() })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (h *historyStream) close() {
	for _, c := range []interface{ close() error }{h.acc, h.inv, h.pay, h.con, h.dis} {
		_ = c.close()
	}
}

// next returns the next account's history, nil at the end.
func (h *historyStream) next() (*data.History, error) {
	var first string // the smallest account id at the streams' heads
	found := false
	for _, c := range h.all() {
		if err := c.failed(); err != nil {
			return nil, err
		}
		if acc, ok := c.peek(); ok && (!found || acc < first) {
			first, found = acc, true
		}
	}
	if !found {
		return nil, nil
	}
	out := &data.History{Account: data.Account{ID: first}}
	if accs := h.acc.take(first); len(accs) > 0 {
		out.Account = accs[len(accs)-1]
	}
	out.Invoices = h.inv.take(first)
	out.Payments = h.pay.take(first)
	out.Contacts = h.con.take(first)
	out.Disputes = h.dis.take(first)
	for _, c := range h.all() {
		if err := c.failed(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// acquireStream takes a stream token (MaxStreams bound the connections
// streams hold, so that concurrent streams cannot starve each other of
// pooled connections).
func (s *Store) acquireStream(ctx context.Context) (func(), error) {
	select {
	case s.streams <- struct{}{}:
		return func() { <-s.streams }, nil
	case <-ctx.Done():
		return nil, errorf(data.Unavailable, ctx.Err(), "clickhouse: wait for a stream slot")
	}
}

// streamErr prefers the context's error (cancellation closes connections,
// which surfaces as network errors).
func streamErr(ctx context.Context, err error) error {
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return errorf(data.Unavailable, ctx.Err(), "clickhouse: stream: %v", err)
	}
	return err
}

// Histories streams the histories of a shard in ascending account id order
// from one snapshot: five ordered queries (one per table, each on its own
// connection) merged by account in Go. Every account with an account row
// in the shard is streamed, even when no row falls in the window (an
// account known only from other rows appears when one of them does).
// Breaking off the loop cancels the queries.
//
// ClickHouse 18.16 sorts each query's rows before sending the first one
// (current releases too, unless they can read in primary-key order), so a
// stream's server memory grows with its share of the store: stream large
// stores by Shard, or allow spilling with Options.Settings
// {"max_bytes_before_external_sort": …}.
func (s *Store) Histories(ctx context.Context, q data.HistoryQuery) iter.Seq2[*data.History, error] {
	return func(yield func(*data.History, error) bool) {
		if err := q.Shard.Validate(); err != nil {
			yield(nil, err)
			return
		}
		for h, err := range s.histories(ctx, q) {
			if !yield(h, err) || err != nil {
				return
			}
		}
	}
}

func (s *Store) histories(ctx context.Context, q data.HistoryQuery) iter.Seq2[*data.History, error] {
	return func(yield func(*data.History, error) bool) {
		if err := s.check(); err != nil {
			yield(nil, err)
			return
		}
		if err := ctx.Err(); err != nil {
			yield(nil, errorf(data.Unavailable, err, "clickhouse: histories"))
			return
		}
		release, err := s.acquireStream(ctx)
		if err != nil {
			yield(nil, err)
			return
		}
		defer release()
		ctx, cancel := context.WithCancel(ctx)
		var hs historyStream
		defer func() {
			cancel() // first: cancelling makes the driver drop running queries
			hs.close()
		}()
		snap, err := s.snapshot(ctx)
		if err != nil {
			yield(nil, streamErr(ctx, err))
			return
		}
		if err := hs.open(ctx, s, snap, q); err != nil {
			yield(nil, streamErr(ctx, err))
			return
		}
		for {
			if err := ctx.Err(); err != nil {
				yield(nil, errorf(data.Unavailable, err, "clickhouse: histories"))
				return
			}
			h, err := hs.next()
			if err != nil {
				yield(nil, streamErr(ctx, fail(err, "histories")))
				return
			}
			if h == nil {
				return
			}
			if !yield(h, nil) {
				return
			}
		}
	}
}

// History returns one account's full history (NotFound when the account
// has no committed rows). Its five queries (account_id = ?, which uses the
// primary key) run one after another on one connection at a time and take
// no stream slot, so History may be called while streaming.
func (s *Store) History(ctx context.Context, accountID string) (*data.History, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	snap, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	const cond = "account_id = ?"
	h := &data.History{Account: data.Account{ID: accountID}}
	found := false
	accQ := "SELECT " + accountKind.cols + " FROM " + s.d.table("accounts") + " WHERE " + where(s.filter(snap), cond) +
		" ORDER BY " + accountKind.order
	accs, err := readAccount(ctx, s, accountKind, accQ, accountID)
	if err != nil {
		return nil, err
	}
	if len(accs) > 0 {
		h.Account, found = accs[len(accs)-1], true
	}
	q := data.HistoryQuery{}
	if h.Invoices, err = readAccount(ctx, s, invoiceKind, streamQuery(s, invoiceKind, snap, q, cond), accountID); err != nil {
		return nil, err
	}
	if h.Payments, err = readAccount(ctx, s, paymentKind, streamQuery(s, paymentKind, snap, q, cond), accountID); err != nil {
		return nil, err
	}
	if h.Contacts, err = readAccount(ctx, s, contactKind, streamQuery(s, contactKind, snap, q, cond), accountID); err != nil {
		return nil, err
	}
	if h.Disputes, err = readAccount(ctx, s, disputeKind, streamQuery(s, disputeKind, snap, q, cond), accountID); err != nil {
		return nil, err
	}
	if !found && len(h.Invoices)+len(h.Payments)+len(h.Contacts)+len(h.Disputes) == 0 {
		return nil, errorf(data.NotFound, nil, "clickhouse: account %q not found", accountID)
	}
	return h, nil
}

// readAccount runs one table's query for one account and returns its rows
// (newest version of each id).
func readAccount[T any](ctx context.Context, s *Store, k kind[T], query, accountID string) ([]T, error) {
	c := &cursor[T]{k: k}
	defer c.close()
	if err := c.open(ctx, s, query, accountID); err != nil {
		return nil, fmt.Errorf("history of one account: %w", err)
	}
	rows := c.take(accountID)
	if err := c.failed(); err != nil {
		return nil, fail(err, "history of one account")
	}
	return rows, nil
}

// Accounts streams the newest committed version of every account of a
// shard in ascending id order.
func (s *Store) Accounts(ctx context.Context, shard data.Shard) iter.Seq2[data.Account, error] {
	return func(yield func(data.Account, error) bool) {
		if err := shard.Validate(); err != nil {
			yield(data.Account{}, err)
			return
		}
		if err := s.check(); err != nil {
			yield(data.Account{}, err)
			return
		}
		ctx, cancel := context.WithCancel(ctx)
		c := &cursor[data.Account]{k: accountKind}
		defer func() {
			cancel()
			_ = c.close()
		}()
		snap, err := s.snapshot(ctx)
		if err != nil {
			yield(data.Account{}, streamErr(ctx, err))
			return
		}
		qs := "SELECT " + accountKind.cols + " FROM " + s.d.table("accounts") + " WHERE " +
			where(s.filter(snap), shardCond(shard)) + " ORDER BY " + accountKind.order
		if err := c.open(ctx, s, qs); err != nil {
			yield(data.Account{}, streamErr(ctx, err))
			return
		}
		for {
			acc, ok := c.peek()
			if !ok {
				if err := c.failed(); err != nil {
					yield(data.Account{}, streamErr(ctx, fail(err, "accounts")))
				}
				return
			}
			if err := ctx.Err(); err != nil {
				yield(data.Account{}, errorf(data.Unavailable, err, "clickhouse: accounts"))
				return
			}
			rows := c.take(acc)
			if err := c.failed(); err != nil {
				yield(data.Account{}, streamErr(ctx, fail(err, "accounts")))
				return
			}
			if !yield(rows[len(rows)-1], nil) {
				return
			}
		}
	}
}
