package csvio

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/duesight/duesight/data"
)

// Format is an export file format.
type Format string

const (
	FormatCSV     Format = "csv"
	FormatParquet Format = "parquet"
)

// ParseFormat parses "csv" or "parquet" (case-insensitive).
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case FormatCSV, FormatParquet:
		return f, nil
	}
	return "", data.Errorf(data.Invalid, "unknown format %q (want csv or parquet)", s)
}

//go:embed default_mapping.yaml
var defaultMappingYAML []byte

// DefaultMappingYAML returns the text of the default mapping: the one that
// reads the files Export writes. It is also a complete, commented example.
func DefaultMappingYAML() []byte { return append([]byte(nil), defaultMappingYAML...) }

// DefaultMapping returns the compiled default mapping. Its sources are
// accounts, invoices, payments, contacts and disputes; ExportFiles names
// their files.
func DefaultMapping() *Mapping {
	m, err := ParseMapping("default mapping", defaultMappingYAML)
	if err != nil {
		panic(fmt.Sprintf("csvio: embedded default mapping is invalid: %v", err)) // a build defect, caught by tests
	}
	return m
}

// ExportFiles returns the files Export writes in dir, keyed by the source
// names of DefaultMapping: pass it to Import to read an export back.
func ExportFiles(dir string, f Format) map[string]string {
	out := map[string]string{}
	for _, t := range tables {
		out[t.name] = filepath.Join(dir, t.name+"."+string(f))
	}
	return out
}

type colType uint8

const (
	cString colType = iota + 1
	cInt
	cDate   // YYYY-MM-DD; Parquet date32
	cTime   // RFC 3339 UTC; Parquet timestamp[s, UTC]
	cAmount // decimal in the currency's minor unit; Parquet decimal128(24, 4)
)

type column struct {
	name string
	typ  colType
}

// cell is one exported value; null cells are empty in CSV and null in Parquet.
type cell struct {
	s    string
	i    int64
	d    data.Date
	t    time.Time
	cur  string // currency of an amount
	null bool
}

func str(s string) cell               { return cell{s: s} }
func num(i int) cell                  { return cell{i: int64(i)} }
func day(d data.Date) cell            { return cell{d: d, null: d == 0} }
func instant(t time.Time) cell        { return cell{t: t, null: t.IsZero()} }
func amount(v int64, cur string) cell { return cell{i: v, cur: cur} }

func channelText(c data.Channel) string {
	if c == data.ChannelUnknown {
		return ""
	}
	return c.String()
}

// table is one exported entity file.
type table struct {
	name string
	cols []column
}

// tables is the default export layout; default_mapping.yaml reads it.
var tables = []table{
	{"accounts", []column{{"id", cString}, {"name", cString}, {"segment", cString}, {"country", cString},
		{"currency", cString}, {"time_zone", cString}, {"terms_days", cInt}, {"credit_limit", cAmount},
		{"consent", cString}, {"created_at", cTime}}},
	{"invoices", []column{{"id", cString}, {"account_id", cString}, {"issue_date", cDate}, {"due_date", cDate},
		{"amount", cAmount}, {"currency", cString}, {"delivered_by", cString}}},
	{"payments", []column{{"id", cString}, {"account_id", cString}, {"invoice_id", cString}, {"date", cDate},
		{"amount", cAmount}, {"currency", cString}, {"method", cString}}},
	{"contacts", []column{{"id", cString}, {"account_id", cString}, {"invoice_id", cString}, {"channel", cString},
		{"sent_at", cTime}, {"outcome", cString}, {"promised_date", cDate}, {"promised_amount", cAmount},
		{"currency", cString}}},
	{"disputes", []column{{"id", cString}, {"account_id", cString}, {"invoice_id", cString}, {"opened_on", cDate},
		{"resolved_on", cDate}, {"reason", cString}}},
}

// rowsOf renders a history as rows of each table, in tables order.
func rowsOf(h *data.History, emit func(t int, row []cell) error) error {
	a := h.Account
	if err := emit(0, []cell{str(a.ID), str(a.Name), str(a.Segment), str(a.Country), str(a.Currency), str(a.TimeZone),
		num(a.TermsDays), amount(a.CreditLimit, a.Currency), str(a.Consent.String()), instant(a.CreatedAt)}); err != nil {
		return err
	}
	for _, r := range h.Invoices {
		if err := emit(1, []cell{str(r.ID), str(r.AccountID), day(r.IssueDate), day(r.DueDate), amount(r.Amount, r.Currency),
			str(r.Currency), str(channelText(r.DeliveredBy))}); err != nil {
			return err
		}
	}
	for _, r := range h.Payments {
		if err := emit(2, []cell{str(r.ID), str(r.AccountID), str(r.InvoiceID), day(r.Date), amount(r.Amount, r.Currency),
			str(r.Currency), str(r.Method.String())}); err != nil {
			return err
		}
	}
	for _, r := range h.Contacts {
		pa := amount(r.PromisedAmount, a.Currency)
		pa.null = r.PromisedAmount == 0
		if err := emit(3, []cell{str(r.ID), str(r.AccountID), str(r.InvoiceID), str(r.Channel.String()), instant(r.SentAt),
			str(r.Outcome.String()), day(r.PromisedDate), pa, str(a.Currency)}); err != nil {
			return err
		}
	}
	for _, r := range h.Disputes {
		if err := emit(4, []cell{str(r.ID), str(r.AccountID), str(r.InvoiceID), day(r.OpenedOn), day(r.ResolvedOn),
			str(r.Reason)}); err != nil {
			return err
		}
	}
	return nil
}

// tableWriter writes one table file.
type tableWriter interface {
	write(row []cell) error
	close() error // flushes; the file is complete after a nil return
}

// Export writes every history of s to dir, one file per entity kind
// (accounts, invoices, payments, contacts, disputes; see ExportFiles) in
// format f. Import with DefaultMapping reads them back exactly.
//
// Layout (column: meaning): ids and text as stored; dates YYYY-MM-DD
// (Parquet date32); instants RFC 3339 in UTC (Parquet timestamp[s, UTC]);
// amounts as decimals in the currency's minor unit, "1234.50" (Parquet
// decimal128(24,4)); enums by name (delivered_by empty when unknown);
// consent as names joined by "|"; unset dates, instants and a zero
// promised_amount are empty (null). contacts.currency is the account's
// currency, in which promised_amount is written.
//
// Files are written under temporary names and renamed into place when all
// are complete; on error none of the new files is left behind. It returns
// the number of rows written per kind.
func Export(ctx context.Context, s data.Store, dir string, f Format) (data.Counts, error) {
	var n data.Counts
	if _, err := ParseFormat(string(f)); err != nil {
		return n, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return n, fmt.Errorf("csvio: export: %w", err)
	}
	final := ExportFiles(dir, f)
	tmps := make([]string, len(tables))
	ws := make([]tableWriter, len(tables))
	cleanup := func() {
		for i, w := range ws {
			if w != nil {
				_ = w.close()
			}
			if tmps[i] != "" {
				_ = os.Remove(tmps[i])
			}
		}
	}
	for i, t := range tables {
		fh, err := createTemp(dir, "."+t.name+".")
		if err != nil {
			cleanup()
			return n, fmt.Errorf("csvio: export: %w", err)
		}
		tmps[i] = fh.Name()
		if f == FormatParquet {
			ws[i], err = newParquetTable(fh, t)
		} else {
			ws[i] = newCSVTable(fh, t)
		}
		if err != nil {
			fh.Close()
			cleanup()
			return n, fmt.Errorf("csvio: export %s: %w", t.name, err)
		}
	}
	counts := make([]int, len(tables))
	emit := func(t int, row []cell) error {
		counts[t]++
		return ws[t].write(row)
	}
	for h, err := range s.Histories(ctx, data.HistoryQuery{}) {
		if err != nil {
			cleanup()
			return n, fmt.Errorf("csvio: export: read histories: %w", err)
		}
		if err := rowsOf(h, emit); err != nil {
			cleanup()
			return n, fmt.Errorf("csvio: export: write: %w", err)
		}
	}
	for i, w := range ws {
		err := w.close()
		ws[i] = nil
		if err != nil {
			cleanup()
			return n, fmt.Errorf("csvio: export %s: %w", tables[i].name, err)
		}
	}
	for i, t := range tables {
		if err := os.Rename(tmps[i], final[t.name]); err != nil {
			cleanup()
			return n, fmt.Errorf("csvio: export: %w", err)
		}
		tmps[i] = ""
	}
	return data.Counts{Accounts: counts[0], Invoices: counts[1], Payments: counts[2], Contacts: counts[3],
		Disputes: counts[4]}, nil
}

type csvTable struct {
	f    *os.File
	bw   *bufio.Writer
	w    *csv.Writer
	cols []column
	rec  []string
}

func newCSVTable(f *os.File, t table) *csvTable {
	bw := bufio.NewWriterSize(f, 64<<10)
	c := &csvTable{f: f, bw: bw, w: csv.NewWriter(bw), cols: t.cols, rec: make([]string, len(t.cols))}
	for i, col := range t.cols {
		c.rec[i] = col.name
	}
	_ = c.w.Write(c.rec) // a write error is sticky and reported by close
	return c
}

func (c *csvTable) write(row []cell) error {
	for i, v := range row {
		c.rec[i] = cellString(v, c.cols[i].typ)
	}
	return c.w.Write(c.rec)
}

// cellString renders a cell of type t for CSV.
func cellString(v cell, t colType) string {
	if v.null {
		return ""
	}
	switch t {
	case cInt:
		return strconv.FormatInt(v.i, 10)
	case cAmount:
		return data.FormatAmount(v.i, v.cur)
	case cDate:
		return v.d.String()
	case cTime:
		return v.t.UTC().Format(time.RFC3339)
	}
	return v.s
}

func (c *csvTable) close() error {
	if c.f == nil {
		return nil
	}
	f := c.f
	c.f = nil
	c.w.Flush()
	err := c.w.Error()
	if err == nil {
		err = c.bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// amountType holds every supported currency exactly: scale 4 is the largest
// ISO 4217 minor unit, and 24 digits cover MaxAmount of a zero-decimal
// currency at scale 4.
var amountType = &arrow.Decimal128Type{Precision: 24, Scale: 4}

type parquetTable struct {
	f    *os.File
	fw   *pqarrow.FileWriter
	rb   *array.RecordBuilder
	cols []column
	n    int
}

const parquetChunk = 8192

func newParquetTable(f *os.File, t table) (*parquetTable, error) {
	fields := make([]arrow.Field, len(t.cols))
	for i, c := range t.cols {
		var dt arrow.DataType
		switch c.typ {
		case cString:
			dt = arrow.BinaryTypes.String
		case cInt:
			dt = arrow.PrimitiveTypes.Int64
		case cDate:
			dt = arrow.FixedWidthTypes.Date32
		case cTime:
			dt = &arrow.TimestampType{Unit: arrow.Second, TimeZone: "UTC"}
		case cAmount:
			dt = amountType
		}
		fields[i] = arrow.Field{Name: c.name, Type: dt, Nullable: c.typ != cString && c.typ != cInt}
	}
	sc := arrow.NewSchema(fields, nil)
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy))
	fw, err := pqarrow.NewFileWriter(sc, f, props, pqarrow.DefaultWriterProps())
	if err != nil {
		return nil, err
	}
	return &parquetTable{f: f, fw: fw, rb: array.NewRecordBuilder(memory.DefaultAllocator, sc), cols: t.cols}, nil
}

var pow10 = [...]int64{1, 10, 100, 1000, 10000}

func (p *parquetTable) write(row []cell) error {
	for i, v := range row {
		b := p.rb.Field(i)
		if v.null {
			b.AppendNull()
			continue
		}
		switch p.cols[i].typ {
		case cString:
			b.(*array.StringBuilder).Append(v.s)
		case cInt:
			b.(*array.Int64Builder).Append(v.i)
		case cDate:
			b.(*array.Date32Builder).Append(arrow.Date32(v.d))
		case cTime:
			b.(*array.TimestampBuilder).Append(arrow.Timestamp(v.t.Unix()))
		case cAmount:
			scale := pow10[int(amountType.Scale)-data.CurrencyExponent(v.cur)]
			b.(*array.Decimal128Builder).Append(decimal128.FromI64(v.i).Mul(decimal128.FromI64(scale)))
		}
	}
	if p.n++; p.n == parquetChunk {
		return p.flush()
	}
	return nil
}

func (p *parquetTable) flush() error {
	if p.n == 0 {
		return nil
	}
	rec := p.rb.NewRecordBatch()
	defer rec.Release()
	p.n = 0
	return p.fw.Write(rec)
}

func (p *parquetTable) close() error {
	if p.f == nil {
		return nil
	}
	err := p.flush()
	p.rb.Release()
	if cerr := p.fw.Close(); err == nil {
		err = cerr
	}
	// FileWriter.Close closes the underlying file when it is an io.Closer.
	_ = p.f.Close()
	p.f = nil
	return err
}
