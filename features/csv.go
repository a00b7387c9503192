package features

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/duesight/duesight/data"
)

// WriteCSV writes t as RFC 4180 CSV with a header row naming the columns of
// ArrowSchema, in the same order. Dates are YYYY-MM-DD, amounts integer
// minor units, booleans true/false, floats in shortest round-trip form;
// missing values (NaN, an unset settled_date) are empty cells. CSV has no
// place for the column roles and the schema metadata: write t.Columns to
// the sidecar FILE.csv.columns.json beside it (as `duesight features
// export` does). ctx is checked every 4096 rows.
func (t *Table) WriteCSV(ctx context.Context, w io.Writer) error {
	if len(t.Status) != t.Len() {
		return fmt.Errorf("features: table has no labels (not built by Build or FeaturizeHistory)")
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	cw := csv.NewWriter(bw)
	schema := t.ArrowSchema()
	rec := make([]string, schema.NumFields())
	for i, f := range schema.Fields() {
		rec[i] = f.Name
	}
	if err := cw.Write(rec); err != nil {
		return fmt.Errorf("features: write csv header: %w", err)
	}
	date := func(d data.Date) string {
		if d == 0 {
			return ""
		}
		return d.String()
	}
	num := func(x float64) string {
		if math.IsNaN(x) {
			return ""
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	for i := range t.Len() {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("features: write csv: %w", err)
			}
		}
		rec = append(rec[:0], t.InvoiceID[i], t.AccountID[i], t.Snapshot[i].String(), date(t.AsOf[i]),
			date(t.IssueDate[i]), date(t.DueDate[i]), strconv.FormatInt(t.Amount[i], 10), t.Currency[i],
			t.Status[i].String(), num(t.Late[i]), num(t.DaysLate[i]), strconv.FormatBool(t.LowerBound[i]),
			t.Bucket[i].String(), date(t.Settled[i]), strconv.FormatBool(t.WrittenOff[i]),
			strconv.FormatBool(t.Status[i].Censored()))
		for j := range t.X {
			rec = append(rec, num(t.X[j][i]))
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("features: write csv row %d: %w", i+1, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("features: write csv: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("features: write csv: %w", err)
	}
	return nil
}
