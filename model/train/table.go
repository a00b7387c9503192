package train

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
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
	"github.com/duesight/duesight/model"
	"github.com/duesight/duesight/model/calibrate"
	"github.com/duesight/duesight/model/eval"
)

// NumericTable is a table of named float64 columns (NaN = missing).
type NumericTable struct {
	Names []string
	Cols  [][]float64
}

// Column returns the named column or nil.
func (t *NumericTable) Column(name string) []float64 {
	if i := slices.Index(t.Names, name); i >= 0 {
		return t.Cols[i]
	}
	return nil
}

// ReadNumericTable reads a CSV (header row; empty, NA, NaN and null cells
// are missing, true/false are 1/0, YYYY-MM-DD dates are days since
// 1970-01-01) or Parquet file (numeric and boolean columns; others are
// skipped only if listed in skip) into float64 columns. Columns named in
// skip are not read; columns named in need must exist (checked before any
// cell is parsed). Errors name the file, line and column.
func ReadNumericTable(ctx context.Context, path string, skip, need []string) (*NumericTable, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return readCSVTable(path, skip, need)
	case ".parquet":
		return readParquetTable(ctx, path, skip, need)
	}
	return nil, data.Errorf(data.Invalid, "%s: want a .csv or .parquet file", path)
}

func checkNeeded(path string, have, need []string) error {
	for _, n := range need {
		if n != "" && !slices.Contains(have, n) {
			return data.Errorf(data.Invalid, "%s: no column %q (columns: %s)", path, n, strings.Join(have, ", "))
		}
	}
	return nil
}

func readCSVTable(path string, skip, need []string) (*NumericTable, error) {
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
	if err := checkNeeded(path, header, need); err != nil {
		return nil, err
	}
	keep := []int{}
	t := &NumericTable{}
	for i, h := range header {
		if slices.Contains(t.Names, h) {
			return nil, data.Errorf(data.Invalid, "%s:1: column %q appears twice", path, h)
		}
		if !slices.Contains(skip, h) {
			keep = append(keep, i)
			t.Names = append(t.Names, h)
		}
	}
	t.Cols = make([][]float64, len(keep))
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, data.Errorf(data.Invalid, "%s:%d: %w", path, line, err)
		}
		for k, i := range keep {
			v, err := parseCell(rec[i])
			if err != nil {
				return nil, data.Errorf(data.Invalid, "%s:%d: column %q: %v", path, line, header[i], err)
			}
			t.Cols[k] = append(t.Cols[k], v)
		}
	}
	if len(t.Cols) == 0 || len(t.Cols[0]) == 0 {
		return nil, data.Errorf(data.Invalid, "%s: no data rows", path)
	}
	return t, nil
}

func parseCell(s string) (float64, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "", "na", "nan", "null", "none":
		return math.NaN(), nil
	case "true":
		return 1, nil
	case "false":
		return 0, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err == nil {
		return v, nil
	}
	if d, derr := data.ParseDate(s); derr == nil {
		return float64(d), nil // ISO dates become days since 1970-01-01
	}
	return 0, fmt.Errorf("%q is not a number or a YYYY-MM-DD date", s)
}

func readParquetTable(ctx context.Context, path string, skip, need []string) (*NumericTable, error) {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, data.Errorf(data.Invalid, "%s: %w", path, err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1 << 16}, memory.DefaultAllocator)
	if err != nil {
		return nil, data.Errorf(data.Invalid, "%s: %w", path, err)
	}
	tbl, err := fr.ReadTable(ctx)
	if err != nil {
		return nil, data.Errorf(data.Invalid, "%s: %w", path, err)
	}
	defer tbl.Release()
	var names []string
	for i := 0; i < int(tbl.NumCols()); i++ {
		names = append(names, tbl.Column(i).Name())
	}
	if err := checkNeeded(path, names, need); err != nil {
		return nil, err
	}
	t := &NumericTable{}
	for i := 0; i < int(tbl.NumCols()); i++ {
		col := tbl.Column(i)
		name := col.Name()
		if slices.Contains(skip, name) {
			continue
		}
		vals := make([]float64, 0, tbl.NumRows())
		for _, chunk := range col.Data().Chunks() {
			var err error
			if vals, err = appendFloats(vals, chunk); err != nil {
				return nil, data.Errorf(data.Invalid, "%s: column %q: %v (drop it with --drop)", path, name, err)
			}
		}
		t.Names = append(t.Names, name)
		t.Cols = append(t.Cols, vals)
	}
	if len(t.Cols) == 0 || len(t.Cols[0]) == 0 {
		return nil, data.Errorf(data.Invalid, "%s: no data rows", path)
	}
	return t, nil
}

func appendFloats(dst []float64, a arrow.Array) ([]float64, error) {
	get := func(i int) float64 { return math.NaN() }
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

// TableDataset makes a binary dataset from a numeric table: label is the
// 0/1 label column, time (optional) an ordering column for time splits;
// every other column is a feature. Rows whose label is missing are left out
// and counted in unlabeled.
func TableDataset(t *NumericTable, label, timeCol string) (d *model.Dataset, unlabeled int, err error) {
	y := t.Column(label)
	if y == nil {
		return nil, 0, data.Errorf(data.Invalid, "no label column %q (columns: %s)", label, strings.Join(t.Names, ", "))
	}
	var tc []float64
	if timeCol != "" {
		if tc = t.Column(timeCol); tc == nil {
			return nil, 0, data.Errorf(data.Invalid, "no time column %q", timeCol)
		}
	}
	var rows []int
	for i, v := range y {
		switch {
		case math.IsNaN(v):
			unlabeled++
			continue
		case v != 0 && v != 1:
			return nil, 0, data.Errorf(data.Invalid, "label column %q: data row %d is %v; want 0 or 1", label, i+1, v)
		case tc != nil && math.IsNaN(tc[i]):
			return nil, 0, data.Errorf(data.Invalid, "time column %q: data row %d is missing", timeCol, i+1)
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
	d = &model.Dataset{Y: pick(y)}
	if tc != nil {
		d.Time = make([]int64, len(rows))
		for k, i := range rows {
			d.Time[k] = int64(tc[i])
		}
	}
	for i, n := range t.Names {
		if n != label && n != timeCol {
			d.Names = append(d.Names, n)
			d.X = append(d.X, pick(t.Cols[i]))
		}
	}
	return d, unlabeled, nil
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
