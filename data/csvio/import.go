package csvio

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/duesight/duesight/data"
)

// ImportOptions control Import. The zero value is all-or-nothing with the
// default overpayment tolerance and no reject file.
type ImportOptions struct {
	// SkipInvalid loads the valid rows and skips the bad ones. A row is
	// skipped whole: if any entity derived from it is rejected, none of its
	// entities is written (an invoice is never loaded without the payment
	// its row records). An entity shared by several rows (an account) is
	// written while any of its rows is loaded; when it is itself rejected,
	// every row that produced it is skipped.
	SkipInvalid bool
	// RejectPath, if set, receives a CSV of every problem (see
	// RejectHeader), in both modes; with no problems it holds only the
	// header. It is not written when the import stops on a fatal error
	// (missing file, wrong header), which concerns no row.
	RejectPath string
	// Overpay overrides data.DefaultOverpayTolerance when not nil.
	Overpay *data.Tolerance
	// Progress receives reading progress (see ReadOptions).
	Progress func(Progress)
	// Logger receives counts (never values). Nil discards.
	Logger *slog.Logger
}

// Result says what Import read and wrote.
type Result struct {
	Rows         int64              `json:"rows"`          // data rows read
	RejectedRows int                `json:"rejected_rows"` // rows not loaded
	Read         data.Counts        `json:"read"`          // distinct entities derived from the rows
	Merged       data.Counts        `json:"merged"`        // repeated ids folded while reading
	Report       *data.IngestReport `json:"report"`        // the write; nil when nothing was written
	Problems     []Problem          `json:"problems"`      // every problem, in file order
}

// RejectHeader is the header of the reject file. raw is the original row
// re-encoded as one CSV line with the source's delimiter (empty when the row
// could not be parsed at all).
var RejectHeader = []string{"file", "line", "column", "field", "kind", "id", "reason", "raw"}

// Import reads files with m and ingests the result into s with
// data.Ingest: validation, deduplication, reference and overpayment checks.
//
// All-or-nothing (default): if any row has a problem, conversion or
// semantic, nothing is written and the error is a *RowsError listing every
// problem. With SkipInvalid the valid rows are written and the error is a
// *RowsError with Imported set when rows were skipped. Fatal errors (a
// missing file, a wrong header) are returned as is with a nil Result.
// Re-importing the same files adds nothing: ids are deterministic.
func Import(ctx context.Context, s data.Store, m *Mapping, files map[string]string, opt ImportOptions) (*Result, error) {
	log := logger(opt.Logger)
	b, loc, err := Read(ctx, m, files, ReadOptions{Progress: opt.Progress, Logger: opt.Logger})
	var re *RowsError
	if err != nil && !errors.As(err, &re) {
		return nil, err
	}
	res := &Result{Rows: loc.rowsRead, Read: b.Counts(), Merged: loc.merged}
	problems := loc.Problems()
	iopt := data.IngestOptions{Overpay: opt.Overpay}
	if !opt.SkipInvalid {
		target := s
		if len(problems) > 0 {
			target = dryRun{s} // find the semantic problems too, write nothing
		}
		rep, err := data.Ingest(ctx, target, b, iopt)
		var ve *data.ValidationError
		switch {
		case errors.As(err, &ve):
			problems = append(problems, loc.Explain(ve.Issues)...)
		case err != nil:
			return nil, fmt.Errorf("csvio: import: %w", err)
		case len(problems) == 0:
			res.Report = rep
		}
	} else {
		rep, more, err := ingestSkipping(ctx, s, b, loc, iopt)
		if err != nil {
			return nil, fmt.Errorf("csvio: import: %w", err)
		}
		res.Report = rep
		problems = append(problems, more...)
	}
	loc.sortProblems(problems)
	res.Problems = problems
	res.RejectedRows = countRows(problems)
	if opt.RejectPath != "" {
		if err := writeRejects(ctx, opt.RejectPath, m, loc, problems); err != nil {
			return res, err
		}
	}
	attrs := []any{slog.Int64("rows", res.Rows), slog.Int("problems", len(problems)), slog.Int("rejected_rows", res.RejectedRows)}
	if res.Report != nil {
		attrs = append(attrs, slog.Int("added", res.Report.Added.Total()), slog.Int("updated", res.Report.Updated.Total()),
			slog.Int("unchanged", res.Report.Unchanged.Total()))
	}
	log.Info("csvio: import", attrs...)
	if len(problems) > 0 {
		return res, &RowsError{Problems: problems, Rows: res.RejectedRows, Imported: opt.SkipInvalid, RejectPath: opt.RejectPath}
	}
	return res, nil
}

// ingestSkipping writes the rows of b that pass data.Ingest, skipping whole
// rows: it ingests all-or-nothing, and on issues drops the rejected
// entities, every row that produced them, and every entity left without a
// loaded row, then tries again. Each round drops at least one entity.
func ingestSkipping(ctx context.Context, s data.Store, b *data.Batch, loc *Locator, iopt data.IngestOptions) (*data.IngestReport, []Problem, error) {
	rowBad := make([]bool, len(loc.rows))
	for _, p := range loc.problems {
		if p.row >= 0 {
			rowBad[p.row] = true
		}
	}
	dead := map[data.Kind][]bool{}
	n := b.Counts()
	for _, k := range data.Kinds {
		dead[k] = make([]bool, countOf(n, k))
	}
	cause := map[int32]string{} // row → why it was dropped with another row's entity
	direct := map[int32]bool{}
	var problems []Problem
	for round := 0; ; round++ {
		cur, back := subset(b, loc, dead, rowBad)
		if cur.Len() == 0 {
			return &data.IngestReport{}, finishCascade(loc, problems, cause, direct, rowBad), nil
		}
		rep, err := data.Ingest(ctx, s, cur, iopt)
		var ve *data.ValidationError
		if err == nil {
			return rep, finishCascade(loc, problems, cause, direct, rowBad), nil
		}
		if !errors.As(err, &ve) {
			return nil, nil, err
		}
		progress := false
		for _, is := range ve.Issues {
			orig := back[is.Kind][is.Index]
			p := loc.explain(is, orig)
			problems = append(problems, p)
			if !dead[is.Kind][orig] {
				dead[is.Kind][orig] = true
				progress = true
			}
			if p.row >= 0 {
				direct[p.row] = true
			}
			if id := is.ID; id != "" {
				if _, ok := loc.rejected[idKey{is.Kind, id}]; !ok {
					loc.rejected[idKey{is.Kind, id}] = loc.meta[is.Kind][orig].row
				}
			}
			for _, r := range loc.ownerRows(is.Kind, orig) {
				if !rowBad[r] {
					rowBad[r] = true
					cause[r] = fmt.Sprintf("not loaded: %s %q from this row was rejected (%s)", is.Kind, is.ID,
						loc.where(loc.meta[is.Kind][orig].row))
				}
			}
		}
		if !progress {
			return nil, nil, fmt.Errorf("skip-invalid made no progress in round %d: %w", round, err)
		}
	}
}

// finishCascade adds one problem for each row dropped only because an
// entity it shares with a bad row was rejected.
func finishCascade(loc *Locator, problems []Problem, cause map[int32]string, direct map[int32]bool, rowBad []bool) []Problem {
	for r, why := range cause {
		if direct[r] || !rowBad[r] {
			continue
		}
		ref := loc.rows[r]
		problems = append(problems, Problem{File: loc.files[ref.src], Source: loc.m.sources[ref.src].name,
			Line: int(ref.line), Reason: why, row: r})
	}
	return problems
}

func countOf(c data.Counts, k data.Kind) int {
	switch k {
	case data.KindAccount:
		return c.Accounts
	case data.KindInvoice:
		return c.Invoices
	case data.KindPayment:
		return c.Payments
	case data.KindContact:
		return c.Contacts
	}
	return c.Disputes
}

// subset returns the live entities of b and, per kind, the original index
// of each. An entity lives when it is not dead and one of its rows is good.
func subset(b *data.Batch, loc *Locator, dead map[data.Kind][]bool, rowBad []bool) (*data.Batch, map[data.Kind][]int) {
	back := map[data.Kind][]int{}
	live := func(k data.Kind, i int) bool {
		if dead[k][i] {
			return false
		}
		for _, r := range loc.ownerRows(k, i) {
			if !rowBad[r] {
				back[k] = append(back[k], i)
				return true
			}
		}
		return false
	}
	out := &data.Batch{}
	for i, r := range b.Accounts {
		if live(data.KindAccount, i) {
			out.Accounts = append(out.Accounts, r)
		}
	}
	for i, r := range b.Invoices {
		if live(data.KindInvoice, i) {
			out.Invoices = append(out.Invoices, r)
		}
	}
	for i, r := range b.Payments {
		if live(data.KindPayment, i) {
			out.Payments = append(out.Payments, r)
		}
	}
	for i, r := range b.Contacts {
		if live(data.KindContact, i) {
			out.Contacts = append(out.Contacts, r)
		}
	}
	for i, r := range b.Disputes {
		if live(data.KindDispute, i) {
			out.Disputes = append(out.Disputes, r)
		}
	}
	return out, back
}

// dryRun is a Store whose writes are discarded: Ingest on it only validates.
type dryRun struct{ data.Store }

func (dryRun) Begin(context.Context) (data.Writer, error) { return discard{}, nil }

type discard struct{}

func (discard) Write(context.Context, *data.Batch) error { return nil }
func (discard) Commit(context.Context) error             { return nil }
func (discard) Rollback() error                          { return nil }

// writeRejects writes problems with their raw rows to path (via a
// temporary file renamed into place).
func writeRejects(ctx context.Context, path string, m *Mapping, loc *Locator, problems []Problem) error {
	raw, err := rawRows(ctx, m, loc, problems)
	if err != nil {
		return fmt.Errorf("csvio: reject file: re-read rows: %w", err)
	}
	tmp, err := createTemp(filepath.Dir(path), "."+filepath.Base(path)+".")
	if err != nil {
		return fmt.Errorf("csvio: reject file: %w", err)
	}
	defer os.Remove(tmp.Name())
	w := csv.NewWriter(tmp)
	_ = w.Write(RejectHeader)
	for _, p := range problems {
		r := ""
		if p.row >= 0 {
			r = raw[p.row]
		}
		_ = w.Write([]string{p.File, strconv.Itoa(p.Line), p.Column, p.Field, string(p.Kind), p.ID, p.Reason, r})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		tmp.Close()
		return fmt.Errorf("csvio: reject file: write: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("csvio: reject file: close: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("csvio: reject file: %w", err)
	}
	return nil
}

// rawRows re-reads the files for the rows named by problems and returns
// each as one CSV line in its source's delimiter.
func rawRows(ctx context.Context, m *Mapping, loc *Locator, problems []Problem) (map[int32]string, error) {
	want := map[rowRef]int32{}
	for _, p := range problems {
		if p.row >= 0 {
			want[loc.rows[p.row]] = p.row
		}
	}
	out := map[int32]string{}
	for si, s := range m.sources {
		n := 0
		for ref := range want {
			if int(ref.src) == si {
				n++
			}
		}
		if n == 0 {
			continue
		}
		r, err := openReader(ctx, s, loc.files[si])
		if err != nil {
			return nil, err
		}
		for found := 0; found < n; {
			rec, line, err := r.next()
			if errors.Is(err, io.EOF) {
				break
			}
			var re *rowError
			if err != nil && !errors.As(err, &re) {
				r.close()
				return nil, err
			}
			if ri, ok := want[rowRef{src: int32(si), line: int32(line)}]; ok {
				found++
				if rec != nil {
					out[ri] = encodeRecord(rec, s.delimiter)
				}
			}
		}
		if err := r.close(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func encodeRecord(rec []string, delim rune) string {
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Comma = delim
	_ = w.Write(rec)
	w.Flush()
	return strings.TrimRight(b.String(), "\n")
}
