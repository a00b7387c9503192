package train

import (
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/features"
	"github.com/duesight/duesight/model"
	"github.com/duesight/duesight/model/calibrate"
	"github.com/duesight/duesight/model/eval"
)

// ColumnType is what the cells of a table column hold.
type ColumnType uint8

const (
	// Numeric: numbers and booleans (true/false read as 1/0).
	Numeric ColumnType = iota
	// Dates: YYYY-MM-DD cells in CSV, date or timestamp columns in
	// Parquet; read as days since 1970-01-01.
	Dates
	// Text: anything else (identifiers, names, categories); not read.
	Text
)

func (c ColumnType) String() string {
	return [...]string{"numeric", "date", "text"}[c]
}

// TableColumn is one column of a Table.
type TableColumn struct {
	Name string
	Type ColumnType
	// Role is the role the file marks the column with ("" = unmarked).
	Role features.Role
	// Values holds the cells of Numeric and Dates columns (NaN = missing);
	// nil for Text.
	Values []float64
	// Stray, for a column of numbers (or dates), names its first cell that
	// is neither ("line 7: \"n/a2\""); a feature, label or time column
	// with one is an error. For a Text column it names its first cell.
	Stray string
}

// Table is a table read for fitting by ReadTable: typed columns with the
// roles the file marks (see ReadTable).
type Table struct {
	Path    string
	Columns []TableColumn
	// Marks says where the roles came from: "parquet field metadata", the
	// sidecar's path, or "" when the file marks none.
	Marks string
	// Label and Time are the label and time columns the marks name.
	Label, Time string
}

// Column returns the named column or nil.
func (t *Table) Column(name string) *TableColumn {
	for i := range t.Columns {
		if t.Columns[i].Name == name {
			return &t.Columns[i]
		}
	}
	return nil
}

// Names lists the column names in file order.
func (t *Table) Names() []string {
	out := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		out[i] = c.Name
	}
	return out
}

// ReadTable reads a CSV file (header row; empty, NA, NaN, null and none
// cells are missing) or a Parquet file into typed columns. Columns named in
// drop are not read (every name must exist); columns named in need must
// exist (checked before any cell is parsed). Errors name the file, line
// and column.
//
// Column roles come from the file's marks: the field metadata
// features.MetaRole of a Parquet file (written by `duesight features
// export`), else a sidecar FILE.columns.json beside the file (written with
// a CSV export; see features.Columns). Unmarked columns have Role "".
func ReadTable(ctx context.Context, path string, drop, need []string) (*Table, error) {
	var t *Table
	var err error
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		t, err = readCSVTable(path, drop, need)
	case ".parquet":
		t, err = readParquetTable(ctx, path, drop, need)
	default:
		return nil, data.Errorf(data.Invalid, "%s: want a .csv or .parquet file", path)
	}
	if err != nil {
		return nil, err
	}
	if t.Marks == "" {
		if err := t.readSidecar(); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// readSidecar applies the roles of PATH.columns.json when it exists.
func (t *Table) readSidecar() error {
	side := t.Path + features.ColumnsSuffix
	c, err := features.ReadColumns(side)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return data.Errorf(data.Invalid, "column roles: %w", err)
	}
	t.Marks, t.Label, t.Time = side, c.Label, c.Time
	for i := range t.Columns {
		if r, ok := c.Role(t.Columns[i].Name); ok {
			t.Columns[i].Role = r
		}
	}
	return nil
}

func checkColumns(path string, have, drop, need []string) error {
	for _, n := range need {
		if n != "" && !slices.Contains(have, n) {
			return data.Errorf(data.Invalid, "%s: no column %q (columns: %s)", path, n, strings.Join(have, ", "))
		}
	}
	for _, n := range drop {
		if !slices.Contains(have, n) {
			return data.Errorf(data.Invalid, "%s: --drop %q: no such column (columns: %s)", path, n, strings.Join(have, ", "))
		}
	}
	return nil
}

// cellKind classifies one CSV cell.
type cellKind uint8

const (
	cellMissing cellKind = iota
	cellNumber
	cellDate
	cellText
)

// csvColumn accumulates one CSV column while reading.
type csvColumn struct {
	values []float64
	n      [4]int    // cells per kind
	first  [4]string // first cell of each kind, with its line
}

func readCSVTable(path string, drop, need []string) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.ReuseRecord = true
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, data.Errorf(data.Invalid, "%s: empty file", path)
	}
	if err != nil {
		return nil, data.Errorf(data.Invalid, "%s: header: %w", path, err)
	}
	header = slices.Clone(header)
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	for i, h := range header {
		if slices.Contains(header[:i], h) {
			return nil, data.Errorf(data.Invalid, "%s:1: column %q appears twice", path, h)
		}
	}
	if err := checkColumns(path, header, drop, need); err != nil {
		return nil, err
	}
	var keep []int
	for i, h := range header {
		if !slices.Contains(drop, h) || slices.Contains(need, h) {
			keep = append(keep, i)
		}
	}
	cols := make([]csvColumn, len(keep))
	rows := 0
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, data.Errorf(data.Invalid, "%s:%d: %w", path, line, err)
		}
		rows++
		for k, i := range keep {
			c := &cols[k]
			v, kind := parseCell(rec[i])
			c.values = append(c.values, v)
			if c.n[kind] == 0 {
				c.first[kind] = fmt.Sprintf("line %d: %q", line, rec[i])
			}
			c.n[kind]++
		}
	}
	if rows == 0 {
		return nil, data.Errorf(data.Invalid, "%s: no data rows", path)
	}
	t := &Table{Path: path}
	for k, i := range keep {
		c := &cols[k]
		col := TableColumn{Name: header[i], Values: c.values}
		switch {
		case c.n[cellText] > 0 && c.n[cellNumber]+c.n[cellDate] == 0:
			col.Type, col.Values, col.Stray = Text, nil, c.first[cellText]
		case c.n[cellDate] > c.n[cellNumber]:
			col.Type = Dates
			col.Stray = cmp.Or(c.first[cellText], c.first[cellNumber])
		default:
			col.Type = Numeric
			col.Stray = cmp.Or(c.first[cellText], c.first[cellDate])
		}
		t.Columns = append(t.Columns, col)
	}
	return t, nil
}

// parseCell reads a CSV cell: missing, a number (true/false are 1/0), an
// ISO date (days since 1970-01-01) or text.
func parseCell(s string) (float64, cellKind) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "", "na", "nan", "null", "none":
		return math.NaN(), cellMissing
	case "true":
		return 1, cellNumber
	case "false":
		return 0, cellNumber
	}
	if v, err := strconv.ParseFloat(s, 64); err == nil {
		return v, cellNumber
	}
	if d, err := data.ParseDate(s); err == nil {
		return float64(d), cellDate
	}
	return math.NaN(), cellText
}

func readParquetTable(ctx context.Context, path string, drop, need []string) (*Table, error) {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, data.Errorf(data.Invalid, "%s: %w", path, err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1 << 16}, memory.DefaultAllocator)
	if err != nil {
		return nil, data.Errorf(data.Invalid, "%s: %w", path, err)
	}
	schema, err := fr.Schema()
	if err != nil {
		return nil, data.Errorf(data.Invalid, "%s: %w", path, err)
	}
	var names []string
	for _, f := range schema.Fields() {
		names = append(names, f.Name)
	}
	if err := checkColumns(path, names, drop, need); err != nil {
		return nil, err
	}
	t := &Table{Path: path}
	var read []int
	for i, f := range schema.Fields() {
		if slices.Contains(drop, f.Name) && !slices.Contains(need, f.Name) {
			continue
		}
		col := TableColumn{Name: f.Name, Type: parquetType(f.Type)}
		if v, ok := f.Metadata.GetValue(features.MetaRole); ok {
			r, err := features.ParseRole(v)
			if err != nil {
				return nil, data.Errorf(data.Invalid, "%s: column %q: %w", path, f.Name, err)
			}
			col.Role, t.Marks = r, "parquet field metadata"
		}
		if col.Type == Text {
			col.Stray = "type " + f.Type.String()
		} else {
			read = append(read, i)
		}
		t.Columns = append(t.Columns, col)
	}
	if t.Marks != "" {
		t.Label, t.Time = features.ColLate, features.ColIssueDate
		if t.Column(t.Label) == nil || t.Column(t.Label).Role != features.RoleLabel {
			t.Label = ""
		}
		if t.Column(t.Time) == nil || t.Column(t.Time).Role != features.RoleTime {
			t.Time = ""
		}
	}
	if len(read) > 0 {
		tbl, err := fr.ReadTable(ctx)
		if err != nil {
			return nil, data.Errorf(data.Invalid, "%s: %w", path, err)
		}
		defer tbl.Release()
		for k := range t.Columns {
			col := &t.Columns[k]
			if col.Type == Text {
				continue
			}
			i := slices.Index(names, col.Name)
			vals := make([]float64, 0, tbl.NumRows())
			for _, chunk := range tbl.Column(i).Data().Chunks() {
				if vals, err = appendFloats(vals, chunk); err != nil {
					return nil, data.Errorf(data.Invalid, "%s: column %q: %v", path, col.Name, err)
				}
			}
			col.Values = vals
		}
	}
	if len(read) == 0 || len(t.Columns[read[0]].Values) == 0 {
		return nil, data.Errorf(data.Invalid, "%s: no data rows (or no numeric column)", path)
	}
	return t, nil
}

// parquetType classifies an Arrow type.
func parquetType(dt arrow.DataType) ColumnType {
	switch dt.ID() {
	case arrow.FLOAT64, arrow.FLOAT32, arrow.INT64, arrow.INT32, arrow.INT16, arrow.INT8,
		arrow.UINT64, arrow.UINT32, arrow.UINT16, arrow.UINT8, arrow.BOOL:
		return Numeric
	case arrow.DATE32, arrow.DATE64, arrow.TIMESTAMP:
		return Dates
	}
	return Text
}

func appendFloats(dst []float64, a arrow.Array) ([]float64, error) {
	var get func(i int) float64
	switch c := a.(type) {
	case *array.Float64:
		get = func(i int) float64 { return c.Value(i) }
	case *array.Float32:
		get = func(i int) float64 { return float64(c.Value(i)) }
	case *array.Int64:
		get = func(i int) float64 { return float64(c.Value(i)) }
	case *array.Int32:
		get = func(i int) float64 { return float64(c.Value(i)) }
	case *array.Int16:
		get = func(i int) float64 { return float64(c.Value(i)) }
	case *array.Int8:
		get = func(i int) float64 { return float64(c.Value(i)) }
	case *array.Uint64:
		get = func(i int) float64 { return float64(c.Value(i)) }
	case *array.Uint32:
		get = func(i int) float64 { return float64(c.Value(i)) }
	case *array.Uint16:
		get = func(i int) float64 { return float64(c.Value(i)) }
	case *array.Uint8:
		get = func(i int) float64 { return float64(c.Value(i)) }
	case *array.Boolean:
		get = func(i int) float64 {
			if c.Value(i) {
				return 1
			}
			return 0
		}
	case *array.Date32:
		get = func(i int) float64 { return float64(c.Value(i)) }
	case *array.Date64:
		get = func(i int) float64 { return math.Floor(float64(c.Value(i)) / 86400e3) }
	case *array.Timestamp:
		unit := c.DataType().(*arrow.TimestampType).Unit
		get = func(i int) float64 {
			return math.Floor(float64(c.Value(i)) * unit.Multiplier().Seconds() / 86400)
		}
	default:
		return nil, fmt.Errorf("type %s is not numeric", a.DataType())
	}
	for i := 0; i < a.Len(); i++ {
		if a.IsNull(i) {
			dst = append(dst, math.NaN())
		} else {
			dst = append(dst, get(i))
		}
	}
	return dst, nil
}

// TableData is a binary dataset made from a Table by TableDataset, with
// an account of every column it did not use as a feature.
type TableData struct {
	*model.Dataset
	// Label and Time are the columns used ("" = no time: a random split).
	Label, Time string
	// Unlabeled counts rows left out because their label is missing.
	Unlabeled int
	// Excluded lists the columns not used as features, in file order.
	Excluded []Excluded
	// Positive and Negative name the label's classes in reports:
	// late/on_time for duesight's marked late label, else LABEL=1 and
	// LABEL=0.
	Positive, Negative string
}

// Excluded is a column left out of the features, and why.
type Excluded struct {
	Column string `json:"column"`
	// Why is "label", "time", "key", "outcome" (each as marked, or as
	// named in duesight's feature export), "date" or "text".
	Why string `json:"why"`
	// ByName is set when the reason is the column's name (a duesight
	// export column in a file without marks).
	ByName bool `json:"by_name,omitempty"`
}

// TableDataset makes a binary dataset from a table. label is the 0/1
// label column and timeCol the column that orders a time split ("" = no
// time); either defaults to the one the file's marks name (t.Label,
// t.Time) when empty and useMarkedTime. Every other column is a feature
// unless
//
//   - the file marks it key, time, label or outcome (see features.Role),
//     or, in a file without marks, it bears the name duesight's feature
//     export gives such a column (invoice_id, days_late, settled_date, …):
//     a pandas round trip of an export stays safe;
//   - it holds text or dates.
//
// Those columns are listed in Excluded. Label-derived (outcome) columns
// are never features: a model fitted on one "predicts" what it was told.
// Rows whose label is missing are left out and counted in Unlabeled.
func TableDataset(t *Table, label, timeCol string, useMarkedTime bool) (*TableData, error) {
	if label == "" {
		label = t.Label
	}
	if label == "" {
		return nil, data.Errorf(data.Invalid, "%s: name the label column (the file marks none)", t.Path)
	}
	if timeCol == "" && useMarkedTime && t.Column(t.Time) != nil {
		timeCol = t.Time // not when the marked time column was dropped
	}
	y := t.Column(label)
	if y == nil {
		return nil, data.Errorf(data.Invalid, "%s: no label column %q (columns: %s)", t.Path, label, strings.Join(t.Names(), ", "))
	}
	if y.Type != Numeric || y.Stray != "" {
		return nil, data.Errorf(data.Invalid, "%s: label column %q: %s is not 0 or 1", t.Path, label, cmp.Or(y.Stray, "a date"))
	}
	var tc *TableColumn
	if timeCol != "" {
		if tc = t.Column(timeCol); tc == nil {
			return nil, data.Errorf(data.Invalid, "%s: no time column %q (columns: %s)", t.Path, timeCol, strings.Join(t.Names(), ", "))
		}
		if role := roleOf(t, tc); role == features.RoleOutcome || role == features.RoleLabel {
			return nil, data.Errorf(data.Invalid, "%s: time column %q is marked %s: it is known only after the label and cannot order the split",
				t.Path, timeCol, role)
		}
		if tc.Type == Text || tc.Stray != "" {
			return nil, data.Errorf(data.Invalid, "%s: time column %q: %s is not a number or a YYYY-MM-DD date", t.Path, timeCol, tc.Stray)
		}
	}
	td := &TableData{Label: label, Time: timeCol, Positive: label + "=1", Negative: label + "=0"}
	if label == features.ColLate && y.Role == features.RoleLabel {
		td.Positive, td.Negative = eval.ClassLate, eval.ClassOnTime
	}
	var rows []int
	for i, v := range y.Values {
		switch {
		case math.IsNaN(v):
			td.Unlabeled++
			continue
		case v != 0 && v != 1:
			return nil, data.Errorf(data.Invalid, "%s: label column %q: data row %d is %v; want 0 or 1", t.Path, label, i+1, v)
		case tc != nil && math.IsNaN(tc.Values[i]):
			return nil, data.Errorf(data.Invalid, "%s: time column %q: data row %d is missing", t.Path, timeCol, i+1)
		}
		rows = append(rows, i)
	}
	pick := func(col []float64) []float64 {
		out := make([]float64, len(rows))
		for k, i := range rows {
			out[k] = col[i]
		}
		return out
	}
	d := &model.Dataset{Y: pick(y.Values)}
	if tc != nil {
		d.Time = make([]int64, len(rows))
		for k, i := range rows {
			d.Time[k] = int64(tc.Values[i])
		}
	}
	for k := range t.Columns {
		c := &t.Columns[k]
		if c.Name == label || c.Name == timeCol {
			continue
		}
		role, byName := c.Role, false
		if role == "" {
			if r, ok := features.ColumnRole(c.Name); ok && r != features.RoleFeature {
				role, byName = r, true
			}
		}
		switch {
		case role != "" && role != features.RoleFeature:
			td.Excluded = append(td.Excluded, Excluded{Column: c.Name, Why: string(role), ByName: byName})
		case c.Type == Text:
			td.Excluded = append(td.Excluded, Excluded{Column: c.Name, Why: "text"})
		case c.Type == Dates:
			td.Excluded = append(td.Excluded, Excluded{Column: c.Name, Why: "date"})
		case c.Stray != "":
			return nil, data.Errorf(data.Invalid, "%s: column %q: %s is not a number (drop the column with --drop if it is not a feature)",
				t.Path, c.Name, c.Stray)
		default:
			d.Names = append(d.Names, c.Name)
			d.X = append(d.X, pick(c.Values))
		}
	}
	if len(d.Names) == 0 {
		return nil, data.Errorf(data.Invalid, "%s: no feature columns left (left out: %s)", t.Path, excludedText(td.Excluded))
	}
	td.Dataset = d
	return td, nil
}

// roleOf is a column's role: marked, or by duesight's export name.
func roleOf(t *Table, c *TableColumn) features.Role {
	if c.Role != "" {
		return c.Role
	}
	if r, ok := features.ColumnRole(c.Name); ok && r != features.RoleFeature {
		return r
	}
	return ""
}

// ExcludedText summarises excluded columns by reason, for people.
func ExcludedText(ex []Excluded) string { return excludedText(ex) }

func excludedText(ex []Excluded) string {
	order := []string{"key", "time", "label", "outcome", "date", "text"}
	what := map[string]string{"key": "keys", "time": "time columns", "label": "other labels",
		"outcome": "outcomes (label-derived)", "date": "dates", "text": "text"}
	var parts []string
	for _, why := range order {
		var names []string
		byName := false
		for _, e := range ex {
			if e.Why == why {
				names = append(names, e.Column)
				byName = byName || e.ByName
			}
		}
		if len(names) == 0 {
			continue
		}
		p := what[why] + " " + strings.Join(names, ", ")
		if byName {
			p += " (by duesight's export names)"
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}

// TableResult is what FitTable produced.
type TableResult struct {
	Kind  string
	Model model.Model
	// Rows per set of the split.
	Train, Valid, Test int
	// Reports on the test set (calibrated and not) and on validation.
	TestReport, TestUncalibrated, ValidReport *eval.Report
	FitSeconds                                float64
	Rounds                                    int
	Calibration                               string
	raw                                       model.Model
	cal                                       calibrate.Calibrator
}

// FitTable fits, calibrates and evaluates a model on any binary dataset
// (bring-your-own features): split by d.Time when opt.Split is a time
// split and d.Time is set, else randomly.
func FitTable(ctx context.Context, d *model.Dataset, opt Options) (*TableResult, error) {
	if err := d.ValidateBinary(); err != nil {
		return nil, err
	}
	if opt.Split.Method == eval.ByTime && d.Time == nil {
		return nil, data.Errorf(data.Invalid, "a time-ordered split needs a time column; name one or ask for a random split")
	}
	kind := opt.Kind
	if kind == "" {
		kind = KindGBDT
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sp, err := eval.SplitRows(d, opt.Split)
	if err != nil {
		return nil, fmt.Errorf("split: %w", err)
	}
	tr, va, te := d.Subset(sp.Train), d.Subset(sp.Valid), d.Subset(sp.Test)
	f, err := fitEvaluate(ctx, kind, tr, va, te, opt, log)
	if err != nil {
		return nil, err
	}
	return &TableResult{Kind: kind, Model: f.model, Train: tr.Rows(), Valid: va.Rows(), Test: te.Rows(),
		TestReport: f.test, TestUncalibrated: f.testRaw, ValidReport: f.valid, FitSeconds: f.seconds, Rounds: f.rounds, Calibration: f.calMethod,
		raw: f.raw, cal: f.cal}, nil
}

// Artifact builds an artifact of the fitted model for schema version sv.
func (r *TableResult) Artifact(sv string, createdAt time.Time) (*model.Artifact, error) {
	m := map[string]float64{}
	for k, v := range r.TestReport.Metrics("test_") {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			m[k] = v
		}
	}
	return model.NewArtifact(r.raw, model.Meta{SchemaVersion: sv, TrainFrom: "1970-01-02", TrainTo: "1970-01-02",
		CreatedAt: createdAt, Metrics: m, Calibration: r.cal})
}
