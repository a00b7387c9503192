package csvio

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/duesight/duesight/data"
)

// rowReader yields the data rows of one input file.
type rowReader interface {
	// header returns the column names.
	header() []string
	// native reports, per header column, whether cells are canonical
	// renderings of typed values (nil for CSV).
	native() []nativeKind
	// next returns the next row and its line (CSV: physical line where the
	// record starts; Parquet: 1-based row number). It returns io.EOF at
	// the end and a *rowError for a row that cannot be parsed (reading may
	// continue); any other error is fatal.
	next() ([]string, int, error)
	// offset returns the bytes of the file consumed so far.
	offset() int64
	close() error
}

// rowError is an unparseable row.
type rowError struct {
	line   int
	column int // 1-based, 0 when unknown
	reason string
}

func (e *rowError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.reason) }

// row is the current row of a source, seen through the mapping's column slots.
type row struct {
	rec  []string
	idx  []int        // slot → header index
	nat  []nativeKind // header index → native kind; nil for CSV
	line int
}

// nativeKind says a cell is the canonical rendering of a typed Parquet
// value, which bypasses the field's date formats or decimal separators.
type nativeKind uint8

const (
	natText   nativeKind = iota // plain text: the mapping's formats apply
	natTime                     // YYYY-MM-DD or RFC 3339
	natNumber                   // digits with '.' as the decimal point
)

func (r *row) cell(slot int) string {
	if i := r.idx[slot]; i >= 0 && i < len(r.rec) {
		return r.rec[i]
	}
	return ""
}

func (r *row) native(slot int) nativeKind {
	if i := r.idx[slot]; i >= 0 && i < len(r.nat) {
		return r.nat[i]
	}
	return natText
}

// openReader opens path as s says.
func openReader(ctx context.Context, s *source, path string) (rowReader, error) {
	if s.fileFormat(path) == "parquet" {
		return openParquet(ctx, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, data.Errorf(data.Invalid, "source %s: %w", s.name, err)
	}
	r, err := newCSVReader(path, f, s)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closer = f
	return r, nil
}

// csvReader reads RFC 4180 CSV: a header row, quoted fields with embedded
// delimiters, quotes and newlines, CRLF or LF line ends, an optional UTF-8
// byte-order mark; blank lines (and lines of only empty fields) are skipped.
type csvReader struct {
	name   string
	cr     *csv.Reader
	cnt    *countingReader
	bom    int64
	raw    bool // offsets count raw file bytes (single-byte encodings expand in UTF-8)
	hdr    []string
	closer io.Closer
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func newCSVReader(name string, r io.Reader, s *source) (*csvReader, error) {
	cnt := &countingReader{r: r}
	br := bufio.NewReaderSize(cnt, 64<<10)
	var bom int64
	var in io.Reader = br
	switch s.encoding {
	case "latin1", "windows-1252":
		in = &singleByteReader{r: br, cp1252: s.encoding == "windows-1252"}
	default:
		if b, err := br.Peek(3); err == nil && string(b) == "\uFEFF" {
			_, _ = br.Discard(3)
			bom = 3
		}
	}
	cr := csv.NewReader(in)
	cr.Comma = s.delimiter
	cr.Comment = s.comment
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	c := &csvReader{name: name, cr: cr, cnt: cnt, bom: bom, raw: s.encoding != "utf-8"}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil, data.Errorf(data.Invalid, "%s: file is empty (want a header row naming the columns)", name)
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, data.Errorf(data.Invalid, "%s:%d: header row: column %d: %v", name, pe.Line, pe.Column, pe.Err)
		}
		if err != nil {
			return nil, data.Errorf(data.Invalid, "%s: read header: %w", name, err)
		}
		if blank(rec) {
			continue
		}
		c.hdr = make([]string, len(rec))
		for i, h := range rec {
			c.hdr[i] = strings.TrimSpace(h)
		}
		return c, nil
	}
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

func (c *csvReader) header() []string     { return c.hdr }
func (c *csvReader) native() []nativeKind { return nil }
func (c *csvReader) offset() int64 {
	if c.raw {
		return c.cnt.n // read-ahead included: within one buffer of the truth
	}
	return c.cr.InputOffset() + c.bom
}

func (c *csvReader) next() ([]string, int, error) {
	for {
		before := c.cr.InputOffset()
		rec, err := c.cr.Read()
		if errors.Is(err, io.EOF) {
			return nil, 0, io.EOF
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			if c.cr.InputOffset() == before {
				return nil, 0, data.Errorf(data.Invalid, "%s:%d: %v", c.name, pe.Line, pe.Err)
			}
			return nil, pe.StartLine, &rowError{line: pe.StartLine, column: pe.Column,
				reason: fmt.Sprintf("malformed CSV at line %d, character %d: %v", pe.Line, pe.Column, pe.Err)}
		}
		if err != nil {
			return nil, 0, data.Errorf(data.Invalid, "%s: read: %w", c.name, err)
		}
		line, _ := c.cr.FieldPos(0)
		if blank(rec) {
			continue
		}
		if n := len(rec); n != len(c.hdr) {
			if n < len(c.hdr) || !blank(rec[len(c.hdr):]) {
				return rec, line, &rowError{line: line, reason: fmt.Sprintf("row has %d fields, the header has %d", n, len(c.hdr))}
			}
			rec = rec[:len(c.hdr)] // trailing empty fields, as spreadsheets write them
		}
		return rec, line, nil
	}
}

func (c *csvReader) close() error {
	if c.closer != nil {
		return c.closer.Close()
	}
	return nil
}

// cp1252 maps bytes 0x80..0x9F of Windows-1252 to runes (0 = undefined,
// decoded as U+FFFD).
var cp1252 = [32]rune{0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039,
	0x0152, 0, 0x017D, 0, 0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161,
	0x203A, 0x0153, 0, 0x017E, 0x0178}

// singleByteReader decodes ISO-8859-1 or Windows-1252 into UTF-8.
type singleByteReader struct {
	r      *bufio.Reader
	cp1252 bool
	buf    []byte
}

func (s *singleByteReader) Read(p []byte) (int, error) {
	for len(s.buf) == 0 {
		b, err := s.r.ReadByte()
		if err != nil {
			return 0, err
		}
		r := rune(b)
		if s.cp1252 && b >= 0x80 && b <= 0x9f {
			if r = cp1252[b-0x80]; r == 0 {
				r = utf8.RuneError
			}
		}
		s.buf = utf8.AppendRune(s.buf[:0], r)
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	return n, nil
}

// parquetReader reads a flat Parquet file through Arrow, rendering each
// cell as the text a mapping converts: strings as is, integers and floats
// in decimal (floats in shortest round-trip form, NaN as "NaN"), decimals
// with their scale, booleans as true/false, dates as YYYY-MM-DD and
// timestamps as RFC 3339 (UTC when the column has a time zone, without
// offset otherwise). Nulls are empty cells.
type parquetReader struct {
	name   string
	f      *os.File
	pr     *file.Reader
	rr     pqarrow.RecordReader
	hdr    []string
	nat    []nativeKind
	rec    arrow.RecordBatch
	i      int64 // next row in rec
	row    int64 // rows returned
	rows   int64 // rows in file
	size   int64
	rec0   []string
	closed bool
}

func openParquet(ctx context.Context, path string) (*parquetReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, data.Errorf(data.Invalid, "open parquet: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, data.Errorf(data.Invalid, "%s: %w", path, err)
	}
	if st.Size() == 0 {
		f.Close()
		return nil, data.Errorf(data.Invalid, "%s: file is empty (want a Parquet file)", path)
	}
	pr, err := file.NewParquetReader(f)
	if err != nil {
		f.Close()
		return nil, data.Errorf(data.Invalid, "%s: not a readable Parquet file: %w", path, err)
	}
	fr, err := pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{BatchSize: 8192}, memory.DefaultAllocator)
	if err != nil {
		pr.Close()
		f.Close()
		return nil, data.Errorf(data.Invalid, "%s: %w", path, err)
	}
	sc, err := fr.Schema()
	if err != nil {
		pr.Close()
		f.Close()
		return nil, data.Errorf(data.Invalid, "%s: schema: %w", path, err)
	}
	p := &parquetReader{name: path, f: f, pr: pr, rows: pr.NumRows(), size: st.Size()}
	for _, fl := range sc.Fields() {
		p.hdr = append(p.hdr, strings.TrimSpace(fl.Name))
		dt := fl.Type
		if d, ok := dt.(*arrow.DictionaryType); ok {
			dt = d.ValueType
		}
		switch dt.ID() {
		case arrow.LIST, arrow.LARGE_LIST, arrow.STRUCT, arrow.MAP, arrow.FIXED_SIZE_LIST, arrow.LIST_VIEW:
			pr.Close()
			f.Close()
			return nil, data.Errorf(data.Invalid, "%s: column %q has nested type %s; only flat files are supported", path, fl.Name, fl.Type)
		}
		nk := natText
		switch dt.ID() {
		case arrow.DATE32, arrow.DATE64, arrow.TIMESTAMP:
			nk = natTime
		case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
			arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64, arrow.DECIMAL128, arrow.DECIMAL256:
			nk = natNumber
		}
		p.nat = append(p.nat, nk)
	}
	if p.rows > 0 {
		if p.rr, err = fr.GetRecordReader(ctx, nil, nil); err != nil {
			pr.Close()
			f.Close()
			return nil, data.Errorf(data.Invalid, "%s: %w", path, err)
		}
	}
	return p, nil
}

func (p *parquetReader) header() []string     { return p.hdr }
func (p *parquetReader) native() []nativeKind { return p.nat }

func (p *parquetReader) offset() int64 {
	if p.rows == 0 {
		return p.size
	}
	return p.size * p.row / p.rows
}

func (p *parquetReader) next() ([]string, int, error) {
	for p.rec == nil || p.i >= p.rec.NumRows() {
		if p.rr == nil || !p.rr.Next() {
			if p.rr != nil && p.rr.Err() != nil && !errors.Is(p.rr.Err(), io.EOF) {
				return nil, 0, data.Errorf(data.Invalid, "%s: row %d: %w", p.name, p.row+1, p.rr.Err())
			}
			return nil, 0, io.EOF
		}
		p.rec, p.i = p.rr.RecordBatch(), 0
	}
	if cap(p.rec0) < len(p.hdr) {
		p.rec0 = make([]string, len(p.hdr))
	}
	out := p.rec0[:len(p.hdr)]
	for c := range out {
		out[c] = cellText(p.rec.Column(c), int(p.i))
	}
	p.i++
	p.row++
	return out, int(p.row), nil
}

func (p *parquetReader) close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	if p.rr != nil {
		p.rr.Release()
	}
	err := p.pr.Close() // closes the file too
	if cerr := p.f.Close(); err == nil && !errors.Is(cerr, os.ErrClosed) {
		err = cerr
	}
	return err
}

// cellText renders one Arrow value as mapping input text.
func cellText(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return ""
	}
	switch v := a.(type) {
	case *array.String:
		return v.Value(i)
	case *array.LargeString:
		return v.Value(i)
	case *array.StringView:
		return v.Value(i)
	case *array.Binary:
		return string(v.Value(i))
	case *array.LargeBinary:
		return string(v.Value(i))
	case *array.Int8:
		return strconv.FormatInt(int64(v.Value(i)), 10)
	case *array.Int16:
		return strconv.FormatInt(int64(v.Value(i)), 10)
	case *array.Int32:
		return strconv.FormatInt(int64(v.Value(i)), 10)
	case *array.Int64:
		return strconv.FormatInt(v.Value(i), 10)
	case *array.Uint8:
		return strconv.FormatUint(uint64(v.Value(i)), 10)
	case *array.Uint16:
		return strconv.FormatUint(uint64(v.Value(i)), 10)
	case *array.Uint32:
		return strconv.FormatUint(uint64(v.Value(i)), 10)
	case *array.Uint64:
		return strconv.FormatUint(v.Value(i), 10)
	case *array.Float32:
		return formatFloat(float64(v.Value(i)), 32)
	case *array.Float64:
		return formatFloat(v.Value(i), 64)
	case *array.Boolean:
		return strconv.FormatBool(v.Value(i))
	case *array.Decimal128:
		return v.Value(i).ToString(v.DataType().(*arrow.Decimal128Type).Scale)
	case *array.Decimal256:
		return v.Value(i).ToString(v.DataType().(*arrow.Decimal256Type).Scale)
	case *array.Date32:
		return v.Value(i).ToTime().Format(time.DateOnly)
	case *array.Date64:
		return v.Value(i).ToTime().Format(time.DateOnly)
	case *array.Timestamp:
		ts := v.DataType().(*arrow.TimestampType)
		t := v.Value(i).ToTime(ts.Unit)
		if ts.TimeZone != "" {
			return t.UTC().Format(time.RFC3339Nano)
		}
		return t.UTC().Format("2006-01-02T15:04:05.999999999")
	case *array.Dictionary:
		return cellText(v.Dictionary(), v.GetValueIndex(i))
	}
	return a.ValueStr(i)
}

func formatFloat(f float64, bits int) string {
	if math.IsNaN(f) {
		return "NaN"
	}
	return strconv.FormatFloat(f, 'f', -1, bits)
}
