package csvio

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/duesight/duesight/data"
)

// Problem is one bad input row, located in its file.
type Problem struct {
	File   string    `json:"file"`             // path as given in the files argument
	Source string    `json:"source"`           // mapping source name
	Line   int       `json:"line"`             // CSV: line where the record starts; Parquet: 1-based row
	Column string    `json:"column,omitempty"` // source column(s) of Field, "A+B" for a template over two
	Field  string    `json:"field,omitempty"`  // entity field, e.g. due_date
	Kind   data.Kind `json:"kind,omitempty"`   // entity kind the problem is about
	ID     string    `json:"id,omitempty"`     // entity id, when known
	Reason string    `json:"reason"`

	row int32 // index into Locator.rows; -1 when the row is not known
}

// String renders the problem as `invoices.csv:17: column "DueDate"
// (due_date): 2013-01-01 is before issue_date 2013-01-31`.
func (p Problem) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d: ", p.File, p.Line)
	switch {
	case p.Column != "" && p.Field != "":
		fmt.Fprintf(&b, "column %q (%s): ", p.Column, p.Field)
	case p.Column != "":
		fmt.Fprintf(&b, "column %q: ", p.Column)
	case p.Field != "":
		fmt.Fprintf(&b, "%s %s: ", p.Kind, p.Field)
	}
	b.WriteString(p.Reason)
	return b.String()
}

// RowsError reports bad rows. Without SkipInvalid nothing was written.
type RowsError struct {
	Problems []Problem // every problem, ordered by source, line, kind and field
	Rows     int       // distinct rows with a problem
	// Imported is true when the valid rows were written (SkipInvalid).
	Imported bool
	// RejectPath is the reject file listing every problem, "" when none
	// was written (ImportOptions.RejectPath unset).
	RejectPath string
}

// MaxShown is how many problems Error lists before "and N more".
const MaxShown = 20

func (e *RowsError) Error() string {
	var b strings.Builder
	what := "nothing was imported"
	if e.Imported {
		what = "those rows were skipped"
	}
	fmt.Fprintf(&b, "%d problem(s) in %d row(s), %s:", len(e.Problems), e.Rows, what)
	for i, p := range e.Problems {
		if i == MaxShown {
			if e.RejectPath != "" {
				fmt.Fprintf(&b, "\n  ... and %d more (all %d are listed in %s)", len(e.Problems)-MaxShown, len(e.Problems), e.RejectPath)
			} else {
				fmt.Fprintf(&b, "\n  ... and %d more, not shown (no reject file was written)", len(e.Problems)-MaxShown)
			}
			break
		}
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// As lets errors.As find a *data.Error with code Invalid.
func (e *RowsError) As(target any) bool {
	if t, ok := target.(**data.Error); ok {
		*t = &data.Error{Code: data.Invalid, Message: e.Error()}
		return true
	}
	return false
}

// rowRef locates one input row.
type rowRef struct {
	src  int32
	line int32
}

// entMeta says which row and entity spec produced a batch entity.
type entMeta struct {
	row  int32 // primary row: the one whose content the entity holds
	spec int32 // index in the source's entities
}

type entKey struct {
	kind data.Kind
	idx  int32
}

type idKey struct {
	kind data.Kind
	id   string
}

// Locator maps the entities of a Batch produced by Read back to the file,
// line and column each came from, so that data.Ingest's issues (which name
// a kind, a batch index and a field) can be shown as file:line problems.
type Locator struct {
	m        *Mapping
	files    []string // per source index
	rows     []rowRef
	meta     map[data.Kind][]entMeta
	owners   map[entKey][]int32 // further rows that produced the same entity
	batch    *data.Batch
	rejected map[idKey]int32 // ids produced by rejected rows → row
	problems []Problem       // conversion problems found while reading
	rowsRead int64
	merged   data.Counts
}

func newLocator(m *Mapping, files []string) *Locator {
	return &Locator{m: m, files: files, meta: map[data.Kind][]entMeta{}, owners: map[entKey][]int32{},
		rejected: map[idKey]int32{}}
}

// Location is where an entity field came from.
type Location struct {
	File   string
	Source string
	Line   int
	Column string // "" when the field is a constant or not mapped
}

// Locate returns where field of the index-th entity of kind in the batch
// came from. For an entity read from several identical rows it is the row
// whose content was kept.
func (l *Locator) Locate(kind data.Kind, index int, field string) (Location, bool) {
	ms := l.meta[kind]
	if index < 0 || index >= len(ms) {
		return Location{}, false
	}
	r := l.rows[ms[index].row]
	s := l.m.sources[r.src]
	loc := Location{File: l.files[r.src], Source: s.name, Line: int(r.line)}
	loc.Column = l.column(s, s.entities[ms[index].spec], field)
	return loc, true
}

// Rows returns the number of data rows read (header and blank lines excluded).
func (l *Locator) Rows() int64 { return l.rowsRead }

// Merged returns how many rows repeated an id already read and were folded
// into it (identical repeats, and differing ones under on_conflict: first
// or last).
func (l *Locator) Merged() data.Counts { return l.merged }

// Problems returns the conversion problems found while reading.
func (l *Locator) Problems() []Problem { return slices.Clone(l.problems) }

func (l *Locator) column(s *source, e *entity, field string) string {
	f := e.fields[field]
	if f == nil && field == "due_date" {
		f = e.fields["terms_days"]
	}
	if f == nil {
		return ""
	}
	return f.columnLabel(s)
}

// Explain turns issues reported by data.Ingest for the Locator's batch into
// problems located by file, line and column.
func (l *Locator) Explain(issues []data.Issue) []Problem {
	out := make([]Problem, 0, len(issues))
	for _, is := range issues {
		out = append(out, l.explain(is, is.Index))
	}
	return out
}

// explain renders issue is about the entity at original batch index idx.
func (l *Locator) explain(is data.Issue, idx int) Problem {
	p := Problem{Kind: is.Kind, ID: is.ID, Field: is.Field, Reason: is.Reason, row: -1}
	ms := l.meta[is.Kind]
	if idx < 0 || idx >= len(ms) {
		p.Reason = fmt.Sprintf("%s #%d: %s", is.Kind, idx, is.Reason)
		return p
	}
	p.row = ms[idx].row
	r := l.rows[p.row]
	s := l.m.sources[r.src]
	p.File, p.Source, p.Line = l.files[r.src], s.name, int(r.line)
	p.Column = l.column(s, s.entities[ms[idx].spec], is.Field)
	// "unknown account" because that account's own row was rejected.
	if ref := l.reference(is.Kind, idx, is.Field); ref != "" {
		kind := data.KindAccount
		if is.Field == "invoice_id" {
			kind = data.KindInvoice
		}
		if row, ok := l.rejected[idKey{kind, ref}]; ok {
			p.Reason = fmt.Sprintf("%s %q was rejected (%s)", kind, ref, l.where(row))
		}
	}
	return p
}

// reference returns the account or invoice id that entity (kind, idx)
// refers to through field.
func (l *Locator) reference(kind data.Kind, idx int, field string) string {
	b := l.batch
	switch {
	case field == "account_id" && kind == data.KindInvoice:
		return b.Invoices[idx].AccountID
	case field == "account_id" && kind == data.KindPayment:
		return b.Payments[idx].AccountID
	case field == "account_id" && kind == data.KindContact:
		return b.Contacts[idx].AccountID
	case field == "account_id" && kind == data.KindDispute:
		return b.Disputes[idx].AccountID
	case field == "invoice_id" && kind == data.KindPayment:
		return b.Payments[idx].InvoiceID
	case field == "invoice_id" && kind == data.KindContact:
		return b.Contacts[idx].InvoiceID
	case field == "invoice_id" && kind == data.KindDispute:
		return b.Disputes[idx].InvoiceID
	}
	return ""
}

// where renders a row as file:line.
func (l *Locator) where(row int32) string {
	r := l.rows[row]
	return fmt.Sprintf("%s:%d", l.files[r.src], r.line)
}

// ownerRows returns every row that produced entity (kind, idx).
func (l *Locator) ownerRows(kind data.Kind, idx int) []int32 {
	out := []int32{l.meta[kind][idx].row}
	return append(out, l.owners[entKey{kind, int32(idx)}]...)
}

// sortProblems orders problems by source, line, kind and field.
func (l *Locator) sortProblems(ps []Problem) {
	kindRank := func(k data.Kind) int { return slices.Index(data.Kinds, k) }
	src := func(p Problem) int {
		if p.row >= 0 {
			return int(l.rows[p.row].src)
		}
		return -1
	}
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(src(a), src(b)), cmp.Compare(a.Line, b.Line), cmp.Compare(kindRank(a.Kind), kindRank(b.Kind)),
			cmp.Compare(a.Field, b.Field))
	})
}

func countRows(ps []Problem) int {
	seen := map[int32]bool{}
	n := 0
	for _, p := range ps {
		if p.row < 0 {
			n++
			continue
		}
		if !seen[p.row] {
			seen[p.row] = true
			n++
		}
	}
	return n
}
