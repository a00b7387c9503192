package csvio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/duesight/duesight/data"
)

// ReadOptions control Read.
type ReadOptions struct {
	// Progress, if set, is called every few thousand rows and at the end
	// of each file.
	Progress func(Progress)
	// Logger receives one summary line per file (counts only, never
	// values). Nil discards.
	Logger *slog.Logger
}

// Progress reports how far reading has got.
type Progress struct {
	Source     string // source being read
	Rows       int64  // data rows read so far, over all files
	Bytes      int64  // bytes of all files consumed so far (Parquet: estimated from rows)
	TotalBytes int64  // total size of all files
}

func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// Read applies m to files (source name → path) and returns the entities
// found, with a Locator that maps each back to its file, line and column.
//
// Files are read in mapping order, one row at a time (memory grows with the
// batch, not the files). Each row yields the entities of its source whose
// `when` conditions hold. Repeats of an id (an account on every invoice row)
// are folded: identical repeats silently, differing ones as the entity's
// on_conflict says. A row is all-or-nothing: when any of its fields cannot
// be converted, none of its entities is added and each problem is recorded.
//
// Errors: a file that is missing, empty, unreadable or lacks a mapped
// column is fatal (nil batch). Bad rows are not: Read then returns the
// batch of good rows, its Locator and a *RowsError listing every problem.
func Read(ctx context.Context, m *Mapping, files map[string]string, opt ReadOptions) (*data.Batch, *Locator, error) {
	paths, sizes, err := resolveFiles(m, files)
	if err != nil {
		return nil, nil, err
	}
	rd := &reader{m: m, b: &data.Batch{}, loc: newLocator(m, paths), opt: opt, log: logger(opt.Logger),
		intern: map[string]string{}}
	for _, k := range data.Kinds {
		rd.ids[kindIndex(k)] = map[string]int32{}
	}
	rd.loc.batch = rd.b
	for _, sz := range sizes {
		rd.total += sz
	}
	for i, s := range m.sources {
		r, err := openReader(ctx, s, paths[i])
		if err != nil {
			return nil, nil, err
		}
		err = rd.readSource(ctx, s, r, paths[i])
		if cerr := r.close(); err == nil && cerr != nil {
			err = data.Errorf(data.Invalid, "%s: close: %w", paths[i], cerr)
		}
		if err != nil {
			return nil, nil, err
		}
		rd.done += sizes[i]
	}
	rd.loc.sortProblems(rd.loc.problems)
	if len(rd.loc.problems) > 0 {
		return rd.b, rd.loc, &RowsError{Problems: slices.Clone(rd.loc.problems), Rows: countRows(rd.loc.problems)}
	}
	return rd.b, rd.loc, nil
}

// resolveFiles checks that files names exactly the mapping's sources and
// returns their paths and sizes in mapping order.
func resolveFiles(m *Mapping, files map[string]string) ([]string, []int64, error) {
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if !slices.Contains(m.Sources(), name) {
			return nil, nil, data.Errorf(data.Invalid, "file given for unknown source %q (mapping %s has sources: %s)",
				name, m.file, strings.Join(m.Sources(), ", "))
		}
	}
	paths := make([]string, len(m.sources))
	sizes := make([]int64, len(m.sources))
	for i, s := range m.sources {
		p, ok := files[s.name]
		if !ok || p == "" {
			return nil, nil, data.Errorf(data.Invalid, "no file given for source %q of mapping %s (given: %s)", s.name,
				m.file, strings.Join(slices.Sorted(maps.Keys(files)), ", "))
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, nil, data.Errorf(data.Invalid, "source %s: %w", s.name, err)
		}
		if st.IsDir() {
			return nil, nil, data.Errorf(data.Invalid, "source %s: %s is a directory", s.name, p)
		}
		paths[i], sizes[i] = p, st.Size()
	}
	return paths, sizes, nil
}

// bindHeader maps each column slot of s to its header index: an exact
// match, else the one header that matches ignoring case and surrounding
// space.
func bindHeader(file string, s *source, header []string) ([]int, error) {
	idx := make([]int, len(s.columns))
	var missing []string
	for slot, col := range s.columns {
		idx[slot] = -1
		var exact, folded []int
		for i, h := range header {
			if h == col {
				exact = append(exact, i)
			} else if strings.EqualFold(h, strings.TrimSpace(col)) {
				folded = append(folded, i)
			}
		}
		cands := exact
		if len(cands) == 0 {
			cands = folded
		}
		switch len(cands) {
		case 0:
			missing = append(missing, fmt.Sprintf("%q", col))
		case 1:
			idx[slot] = cands[0]
		default:
			return nil, data.Errorf(data.Invalid, "%s:1: header: column %q appears %d times (columns %v); mapped columns must be unique",
				file, col, len(cands), plusOne(cands))
		}
	}
	if len(missing) > 0 {
		return nil, data.Errorf(data.Invalid, "%s:1: wrong header: missing mapped column(s) %s\n  expected (mapped by %s): %s\n  found: %s",
			file, strings.Join(missing, ", "), s.name, quoteList(s.columns), quoteList(header))
	}
	return idx, nil
}

func plusOne(xs []int) []int {
	out := make([]int, len(xs))
	for i, x := range xs {
		out[i] = x + 1
	}
	return out
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

func kindIndex(k data.Kind) int { return slices.Index(data.Kinds, k) }

// reader holds the state of one Read.
type reader struct {
	m      *Mapping
	b      *data.Batch
	loc    *Locator
	opt    ReadOptions
	log    *slog.Logger
	ids    [5]map[string]int32 // per kind: id → batch index
	intern map[string]string
	done   int64 // bytes of finished files
	total  int64
	pend   []pending
	probs  []Problem
}

// pending is one entity built from the current row, not yet added.
type pending struct {
	e   *entity
	acc data.Account
	inv data.Invoice
	pay data.Payment
	con data.Contact
	dis data.Dispute
}

func (p *pending) id() string {
	switch p.e.kind {
	case data.KindAccount:
		return p.acc.ID
	case data.KindInvoice:
		return p.inv.ID
	case data.KindPayment:
		return p.pay.ID
	case data.KindContact:
		return p.con.ID
	}
	return p.dis.ID
}

func (rd *reader) readSource(ctx context.Context, s *source, r rowReader, path string) error {
	idx, err := bindHeader(path, s, r.header())
	if err != nil {
		return err
	}
	before, beforeProblems := rd.loc.rowsRead, len(rd.loc.problems)
	cur := &row{idx: idx, nat: r.native()}
	for n := 0; ; n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("csvio: read %s: %w", path, err)
			}
			rd.progress(s, r)
		}
		rec, line, err := r.next()
		if errors.Is(err, io.EOF) {
			break
		}
		var re *rowError
		if err != nil && !errors.As(err, &re) {
			return err
		}
		if line > math.MaxInt32 {
			return data.Errorf(data.Invalid, "%s: more than %d lines", path, math.MaxInt32)
		}
		rd.loc.rowsRead++
		if re != nil {
			ri := rd.addRow(s, re.line)
			rd.loc.problems = append(rd.loc.problems, Problem{File: path, Source: s.name, Line: re.line,
				Reason: re.reason, row: ri})
			continue
		}
		cur.rec, cur.line = rec, line
		rd.row(s, cur, path)
	}
	rd.progress(s, r)
	rd.log.Info("csvio: read source", slog.String("source", s.name), slog.Int64("rows", rd.loc.rowsRead-before),
		slog.Int("problems", len(rd.loc.problems)-beforeProblems))
	return nil
}

func (rd *reader) progress(s *source, r rowReader) {
	if rd.opt.Progress != nil {
		rd.opt.Progress(Progress{Source: s.name, Rows: rd.loc.rowsRead, Bytes: rd.done + r.offset(), TotalBytes: rd.total})
	}
}

func (rd *reader) addRow(s *source, line int) int32 {
	rd.loc.rows = append(rd.loc.rows, rowRef{src: int32(s.index), line: int32(line)})
	return int32(len(rd.loc.rows) - 1)
}

// row converts one row into entities and adds them, or records its problems.
func (rd *reader) row(s *source, r *row, path string) {
	rd.pend, rd.probs = rd.pend[:0], rd.probs[:0]
	for _, e := range s.entities {
		if !e.matches(r) {
			continue
		}
		fr := fieldReader{rd: rd, s: s, e: e, r: r, path: path}
		if p, ok := fr.build(); ok {
			rd.pend = append(rd.pend, p)
		}
	}
	if len(rd.probs) == 0 {
		rd.checkConflicts(s, r, path)
	}
	if len(rd.probs) == 0 && len(rd.pend) == 0 {
		return // no entity applies to this row
	}
	ri := rd.addRow(s, r.line)
	if len(rd.probs) > 0 {
		for _, p := range rd.probs {
			p.row = ri
			rd.loc.problems = append(rd.loc.problems, p)
		}
		for i := range rd.pend {
			if id := rd.pend[i].id(); id != "" {
				if _, seen := rd.loc.rejected[idKey{rd.pend[i].e.kind, id}]; !seen {
					rd.loc.rejected[idKey{rd.pend[i].e.kind, strings.Clone(id)}] = ri
				}
			}
		}
		return
	}
	for i := range rd.pend {
		rd.add(&rd.pend[i], ri)
	}
}

func (e *entity) matches(r *row) bool {
	for i := range e.when {
		if !e.when[i].match(r) {
			return false
		}
	}
	return true
}

// checkConflicts reports entities of the row whose id was read before with
// different content, under on_conflict: error.
func (rd *reader) checkConflicts(s *source, r *row, path string) {
	for i := range rd.pend {
		p := &rd.pend[i]
		if p.e.conflict != conflictError {
			continue
		}
		id := p.id()
		if id == "" {
			continue
		}
		var field, here, there, prevWhere string
		if j, ok := rd.ids[kindIndex(p.e.kind)][id]; ok {
			field, here, there = rd.diff(p, int(j))
			prevWhere = rd.loc.where(rd.loc.meta[p.e.kind][j].row)
		} else {
			for k := range i { // the same id twice in one row
				if q := &rd.pend[k]; q.e.kind == p.e.kind && q.id() == id {
					field, here, there = diffPending(p, q)
					prevWhere = fmt.Sprintf("%s:%d", path, r.line)
					break
				}
			}
		}
		if field == "" {
			continue
		}
		rd.probs = append(rd.probs, Problem{File: path, Source: s.name, Line: r.line, Kind: p.e.kind, ID: id,
			Field: field, Column: rd.loc.column(s, p.e, field),
			Reason: fmt.Sprintf("duplicate %s id %q with a different %s: %s here, %s at %s (set on_conflict: first or last to accept this)",
				p.e.kind, id, field, here, there, prevWhere)})
	}
}

// add appends p to the batch, or folds it into the entity of the same id.
func (rd *reader) add(p *pending, ri int32) {
	k := p.e.kind
	ki := kindIndex(k)
	id := p.id()
	if j, ok := rd.ids[ki][id]; ok && id != "" {
		key := entKey{k, j}
		field, _, _ := rd.diff(p, int(j))
		if field != "" && p.e.conflict == conflictLast {
			rd.set(p, int(j))
			m := &rd.loc.meta[k][j]
			rd.loc.owners[key] = append(rd.loc.owners[key], m.row)
			m.row, m.spec = ri, int32(p.e.index)
		} else {
			rd.loc.owners[key] = append(rd.loc.owners[key], ri)
		}
		rd.countMerged(k)
		return
	}
	var n int
	switch k {
	case data.KindAccount:
		rd.b.Accounts = append(rd.b.Accounts, p.acc)
		n = len(rd.b.Accounts)
	case data.KindInvoice:
		rd.b.Invoices = append(rd.b.Invoices, p.inv)
		n = len(rd.b.Invoices)
	case data.KindPayment:
		rd.b.Payments = append(rd.b.Payments, p.pay)
		n = len(rd.b.Payments)
	case data.KindContact:
		rd.b.Contacts = append(rd.b.Contacts, p.con)
		n = len(rd.b.Contacts)
	case data.KindDispute:
		rd.b.Disputes = append(rd.b.Disputes, p.dis)
		n = len(rd.b.Disputes)
	}
	rd.loc.meta[k] = append(rd.loc.meta[k], entMeta{row: ri, spec: int32(p.e.index)})
	if id != "" {
		rd.ids[ki][id] = int32(n - 1)
	}
}

func (rd *reader) countMerged(k data.Kind) {
	switch k {
	case data.KindAccount:
		rd.loc.merged.Accounts++
	case data.KindInvoice:
		rd.loc.merged.Invoices++
	case data.KindPayment:
		rd.loc.merged.Payments++
	case data.KindContact:
		rd.loc.merged.Contacts++
	case data.KindDispute:
		rd.loc.merged.Disputes++
	}
}

func (rd *reader) set(p *pending, j int) {
	switch p.e.kind {
	case data.KindAccount:
		rd.b.Accounts[j] = p.acc
	case data.KindInvoice:
		rd.b.Invoices[j] = p.inv
	case data.KindPayment:
		rd.b.Payments[j] = p.pay
	case data.KindContact:
		rd.b.Contacts[j] = p.con
	case data.KindDispute:
		rd.b.Disputes[j] = p.dis
	}
}

// diff compares p with batch entity j of the same kind: the first
// differing field and both values for messages ("" when equal).
func (rd *reader) diff(p *pending, j int) (field, here, there string) {
	q := pending{e: p.e}
	switch p.e.kind {
	case data.KindAccount:
		q.acc = rd.b.Accounts[j]
	case data.KindInvoice:
		q.inv = rd.b.Invoices[j]
	case data.KindPayment:
		q.pay = rd.b.Payments[j]
	case data.KindContact:
		q.con = rd.b.Contacts[j]
	case data.KindDispute:
		q.dis = rd.b.Disputes[j]
	}
	return diffPending(p, &q)
}

type fv struct {
	name string
	a, b any
}

func money(v int64, cur string) string { return data.FormatAmount(v, cur) }

func diffPending(p, q *pending) (string, string, string) {
	var fs []fv
	switch p.e.kind {
	case data.KindAccount:
		a, b := p.acc, q.acc
		if a.Equal(b) {
			return "", "", ""
		}
		fs = []fv{{"name", a.Name, b.Name}, {"segment", a.Segment, b.Segment}, {"country", a.Country, b.Country},
			{"currency", a.Currency, b.Currency}, {"time_zone", a.TimeZone, b.TimeZone}, {"terms_days", a.TermsDays, b.TermsDays},
			{"credit_limit", money(a.CreditLimit, a.Currency), money(b.CreditLimit, b.Currency)},
			{"consent", a.Consent.String(), b.Consent.String()}, {"created_at", timeText(a.CreatedAt), timeText(b.CreatedAt)}}
	case data.KindInvoice:
		a, b := p.inv, q.inv
		if a == b {
			return "", "", ""
		}
		fs = []fv{{"account_id", a.AccountID, b.AccountID}, {"issue_date", a.IssueDate.String(), b.IssueDate.String()},
			{"due_date", a.DueDate.String(), b.DueDate.String()}, {"currency", a.Currency, b.Currency},
			{"amount", money(a.Amount, a.Currency), money(b.Amount, b.Currency)}, {"delivered_by", a.DeliveredBy.String(), b.DeliveredBy.String()}}
	case data.KindPayment:
		a, b := p.pay, q.pay
		if a == b {
			return "", "", ""
		}
		fs = []fv{{"account_id", a.AccountID, b.AccountID}, {"invoice_id", a.InvoiceID, b.InvoiceID},
			{"date", a.Date.String(), b.Date.String()}, {"currency", a.Currency, b.Currency},
			{"amount", money(a.Amount, a.Currency), money(b.Amount, b.Currency)}, {"method", a.Method.String(), b.Method.String()}}
	case data.KindContact:
		a, b := p.con, q.con
		if a.Equal(b) {
			return "", "", ""
		}
		fs = []fv{{"account_id", a.AccountID, b.AccountID}, {"invoice_id", a.InvoiceID, b.InvoiceID},
			{"channel", a.Channel.String(), b.Channel.String()}, {"sent_at", timeText(a.SentAt), timeText(b.SentAt)},
			{"outcome", a.Outcome.String(), b.Outcome.String()}, {"promised_date", a.PromisedDate.String(), b.PromisedDate.String()},
			{"promised_amount", a.PromisedAmount, b.PromisedAmount}}
	case data.KindDispute:
		a, b := p.dis, q.dis
		if a == b {
			return "", "", ""
		}
		fs = []fv{{"account_id", a.AccountID, b.AccountID}, {"invoice_id", a.InvoiceID, b.InvoiceID},
			{"opened_on", a.OpenedOn.String(), b.OpenedOn.String()}, {"resolved_on", a.ResolvedOn.String(), b.ResolvedOn.String()},
			{"reason", a.Reason, b.Reason}}
	}
	for _, f := range fs {
		if f.a != f.b {
			return f.name, fmt.Sprintf("%q", fmt.Sprint(f.a)), fmt.Sprintf("%q", fmt.Sprint(f.b))
		}
	}
	return "", "", ""
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// fieldReader converts the fields of one entity of one row.
type fieldReader struct {
	rd      *reader
	s       *source
	e       *entity
	r       *row
	path    string
	cur     string
	curBad  bool
	lastBad bool // the last get failed to convert
}

func (fr *fieldReader) problem(f *field, reason string) {
	fr.rd.probs = append(fr.rd.probs, Problem{File: fr.path, Source: fr.s.name, Line: fr.r.line, Kind: fr.e.kind,
		Field: f.def.name, Column: f.columnLabel(fr.s), Reason: reason})
}

// get converts field name; ok is false when it is unmapped, empty or bad
// (bad fields are recorded as problems).
func (fr *fieldReader) get(name string) (value, bool) {
	fr.lastBad = false
	f := fr.e.fields[name]
	if f == nil {
		return value{}, false
	}
	s, native := f.text(fr.r)
	if s == "" {
		return value{}, false
	}
	if f.def.typ == tAmount && fr.curBad {
		return value{}, false // the currency problem is reported already
	}
	v, err := f.convert(s, native, fr.cur)
	if err != nil {
		fr.problem(f, err.Error())
		fr.lastBad = true
		return value{}, false
	}
	return v, true
}

// str returns a text field, copied so that it does not pin the row's memory.
func (fr *fieldReader) str(name string) string {
	v, _ := fr.get(name)
	return strings.Clone(v.s)
}

// ref returns an account id, interned: the same id repeats on many rows.
func (fr *fieldReader) ref(name string) string {
	v, _ := fr.get(name)
	if v.s == "" {
		return ""
	}
	if s, ok := fr.rd.intern[v.s]; ok {
		return s
	}
	s := strings.Clone(v.s)
	fr.rd.intern[s] = s
	return s
}

// currency resolves the row's currency first: amounts depend on it.
func (fr *fieldReader) currency(required bool) string {
	f := fr.e.fields["currency"]
	v, ok := fr.get("currency")
	switch {
	case ok:
		fr.cur = v.s
	case fr.lastBad:
		fr.curBad = true
	case required && f != nil:
		fr.problem(f, "is empty (want an ISO 4217 code such as USD, or set default:)")
		fr.curBad = true
	default:
		fr.curBad = true
	}
	return fr.cur
}

// build converts the row into the entity.
func (fr *fieldReader) build() (pending, bool) {
	p := pending{e: fr.e}
	before := len(fr.rd.probs)
	switch fr.e.kind {
	case data.KindAccount:
		a := &p.acc
		a.ID = fr.ref("id")
		a.Name, a.Segment, a.Country = fr.str("name"), fr.str("segment"), fr.str("country")
		a.Currency = fr.currency(true)
		a.TimeZone = fr.str("time_zone")
		if v, ok := fr.get("terms_days"); ok {
			a.TermsDays = int(v.i)
		}
		if v, ok := fr.get("credit_limit"); ok {
			a.CreditLimit = v.i
		}
		if v, ok := fr.get("consent"); ok {
			a.Consent = data.ChannelSet(v.i)
		}
		if v, ok := fr.get("created_at"); ok {
			a.CreatedAt = v.t
		}
	case data.KindInvoice:
		in := &p.inv
		in.ID, in.AccountID = fr.str("id"), fr.ref("account_id")
		in.Currency = fr.currency(true)
		if v, ok := fr.get("issue_date"); ok {
			in.IssueDate = v.d
		}
		if v, ok := fr.get("due_date"); ok {
			in.DueDate = v.d
		} else if t, ok := fr.get("terms_days"); ok {
			base := in.IssueDate
			if b, ok := fr.get("baseline_date"); ok {
				base = b.d
			}
			if t.i < 0 || t.i > 3650 {
				fr.problem(fr.e.fields["terms_days"], fmt.Sprintf("%d is outside 0..3650", t.i))
			} else if base != 0 {
				in.DueDate = base.AddDays(int(t.i))
			}
		}
		if v, ok := fr.get("amount"); ok {
			in.Amount = v.i
		}
		if v, ok := fr.get("delivered_by"); ok {
			in.DeliveredBy = data.Channel(v.i)
		}
	case data.KindPayment:
		pa := &p.pay
		pa.ID, pa.AccountID, pa.InvoiceID = fr.str("id"), fr.ref("account_id"), fr.str("invoice_id")
		pa.Currency = fr.currency(true)
		if v, ok := fr.get("date"); ok {
			pa.Date = v.d
		}
		if v, ok := fr.get("amount"); ok {
			pa.Amount = v.i
		}
		if v, ok := fr.get("method"); ok {
			pa.Method = data.Method(v.i)
		}
	case data.KindContact:
		c := &p.con
		c.ID, c.AccountID, c.InvoiceID = fr.str("id"), fr.ref("account_id"), fr.str("invoice_id")
		fr.currency(fr.hasText("promised_amount"))
		if v, ok := fr.get("channel"); ok {
			c.Channel = data.Channel(v.i)
		}
		if v, ok := fr.get("sent_at"); ok {
			c.SentAt = v.t
		}
		if v, ok := fr.get("outcome"); ok {
			c.Outcome = data.Outcome(v.i)
		}
		if v, ok := fr.get("promised_date"); ok {
			c.PromisedDate = v.d
		}
		if v, ok := fr.get("promised_amount"); ok {
			c.PromisedAmount = v.i
		}
	case data.KindDispute:
		d := &p.dis
		d.ID, d.AccountID, d.InvoiceID = fr.str("id"), fr.ref("account_id"), fr.str("invoice_id")
		if v, ok := fr.get("opened_on"); ok {
			d.OpenedOn = v.d
		}
		if v, ok := fr.get("resolved_on"); ok {
			d.ResolvedOn = v.d
		}
		d.Reason = fr.str("reason")
	}
	if id := p.id(); id != "" {
		for i := before; i < len(fr.rd.probs); i++ {
			fr.rd.probs[i].ID = strings.Clone(id)
		}
	}
	return p, true
}

func (fr *fieldReader) hasText(name string) bool {
	f := fr.e.fields[name]
	if f == nil {
		return false
	}
	s, _ := f.text(fr.r)
	return s != ""
}
