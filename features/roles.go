package features

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"
)

// Role says what a column of an exported feature table is for, so that a
// learner fed the table uses only the features: identifiers, dates and
// outcomes must never become inputs (an outcome is known only after the
// row's as-of instant, and a model fitted on one predicts the past).
type Role string

const (
	// RoleKey identifies or describes the row: invoice_id, account_id,
	// snapshot, amount_minor (minor units of mixed currencies), currency.
	RoleKey Role = "key"
	// RoleTime is a date: as_of, issue_date, due_date. A date orders a
	// time-ordered split; it is not a feature.
	RoleTime Role = "time"
	// RoleLabel is the table's binary target: late (1, 0, or empty when
	// unknown at the horizon).
	RoleLabel Role = "label"
	// RoleOutcome is derived from what happened after the as-of instant
	// (label_status, days_late, days_late_lower_bound, late_bucket,
	// settled_date, written_off, censored): it encodes the label.
	RoleOutcome Role = "outcome"
	// RoleFeature is a point-in-time feature of the Catalog.
	RoleFeature Role = "feature"
)

// Roles lists the roles in the order above.
func Roles() []Role { return []Role{RoleKey, RoleTime, RoleLabel, RoleOutcome, RoleFeature} }

// ParseRole parses a role name.
func ParseRole(s string) (Role, error) {
	if r := Role(s); slices.Contains(Roles(), r) {
		return r, nil
	}
	return "", fmt.Errorf("unknown column role %q (want key, time, label, outcome or feature)", s)
}

// MetaRole is the Arrow field metadata key holding a column's Role in the
// schema of ArrowSchema (and so in exported Parquet files).
const MetaRole = "duesight.role"

// keyRoles and keyDescriptions describe the key and label columns of
// ArrowSchema, in its order.
var keyRoles = map[string]Role{
	ColInvoiceID: RoleKey, ColAccountID: RoleKey, ColSnapshot: RoleKey, ColAsOf: RoleTime,
	ColIssueDate: RoleTime, ColDueDate: RoleTime, ColAmount: RoleKey, ColCurrency: RoleKey,
	ColStatus: RoleOutcome, ColLate: RoleLabel, ColDaysLate: RoleOutcome, ColLowerBound: RoleOutcome,
	ColBucket: RoleOutcome, ColSettled: RoleOutcome, ColWrittenOff: RoleOutcome, ColCensored: RoleOutcome,
}

var keyDescriptions = map[string]string{
	ColInvoiceID:  "invoice id",
	ColAccountID:  "account id (split by it to keep one account's invoices in one set)",
	ColSnapshot:   "issue or due: the instant the row's features are as of",
	ColAsOf:       "features are as of midnight UTC of this date (YYYY-MM-DD)",
	ColIssueDate:  "invoice issue date (YYYY-MM-DD); orders a time split",
	ColDueDate:    "invoice due date (YYYY-MM-DD)",
	ColAmount:     "invoice amount in minor units of currency (currencies differ: not comparable across rows)",
	ColCurrency:   "ISO 4217 currency of amount_minor",
	ColStatus:     "label status at the horizon: paid, unpaid_late (censored, known late) or unpaid_pending (censored, unknown)",
	ColLate:       "1 if paid (or still unpaid) more than grace days after due at the horizon, 0 if paid in time, empty if unknown",
	ColDaysLate:   "paid date − due date in days (a lower bound when days_late_lower_bound); empty if unknown",
	ColLowerBound: "true when days_late is a lower bound (unpaid at the horizon)",
	ColBucket:     "days_late in buckets",
	ColSettled:    "date the open amount reached zero; empty unless paid",
	ColWrittenOff: "true when write-offs exceed 5% of the amount (treated as never paid)",
	ColCensored:   "true when unpaid at the horizon",
}

// ColumnRole returns the role of a column of ArrowSchema by name: a key or
// label column's role, RoleFeature for a Catalog feature, and false for any
// other name.
func ColumnRole(name string) (Role, bool) {
	if r, ok := keyRoles[name]; ok {
		return r, true
	}
	if _, ok := catalogIndex[name]; ok {
		return RoleFeature, true
	}
	return "", false
}

// catalogIndex maps feature names to their Catalog position.
var catalogIndex = func() map[string]int {
	m := make(map[string]int, len(catalog))
	for i, s := range catalog {
		m[s.Name] = i
	}
	return m
}()

// ColumnsSuffix names the sidecar of a CSV feature table: FILE.csv is
// described by FILE.csv.columns.json.
const ColumnsSuffix = ".columns.json"

// ColumnsFormat identifies the sidecar format.
const ColumnsFormat = "duesight-columns/1"

// Columns describes the columns of a CSV table in a JSON sidecar
// (FILE.csv.columns.json): each column's role and meaning, which column is
// the label and which orders time. WriteCSV's table comes with one (see
// Table.Columns); a user may write one for any CSV table to mark its
// columns for `duesight model fit`. Readers in pandas:
//
//	cols = json.load(open("table.csv.columns.json"))["columns"]
//	X = df[[c["name"] for c in cols if c["role"] == "feature"]]
type Columns struct {
	Format string `json:"format"` // ColumnsFormat
	// Table is the file name of the CSV the sidecar describes.
	Table string `json:"table,omitempty"`
	// Label and Time name the default label column and time column.
	Label string `json:"label,omitempty"`
	Time  string `json:"time,omitempty"`
	// Metadata holds what the CSV cannot: the Arrow schema metadata of the
	// table (schema hash and version, horizon, grace).
	Metadata map[string]string `json:"metadata,omitempty"`
	Columns  []Column          `json:"columns"`
}

// Column is one column of a Columns sidecar.
type Column struct {
	Name        string `json:"name"`
	Role        Role   `json:"role"`
	Unit        string `json:"unit,omitempty"`
	Description string `json:"description,omitempty"`
}

// Columns describes t's CSV columns (the order of ArrowSchema) for the
// sidecar of a CSV export; table is the CSV's file name.
func (t *Table) Columns(table string) *Columns {
	h := ""
	if !t.Horizon.IsZero() {
		h = t.Horizon.UTC().Format(time.RFC3339)
	}
	c := &Columns{Format: ColumnsFormat, Table: table, Label: ColLate, Time: ColIssueDate,
		Metadata: map[string]string{MetaSchemaHash: t.SchemaHash, MetaSchemaVersion: strconv.Itoa(SchemaVersion),
			MetaHorizon: h, MetaGrace: strconv.Itoa(t.Grace)}}
	for _, f := range keyFields {
		c.Columns = append(c.Columns, Column{Name: f.Name, Role: keyRoles[f.Name], Description: keyDescriptions[f.Name]})
	}
	for _, n := range t.Names {
		col := Column{Name: n, Role: RoleFeature}
		if i, ok := catalogIndex[n]; ok {
			col.Unit, col.Description = catalog[i].Unit, catalog[i].Definition
			if catalog[i].Missing != "" {
				col.Description += " Missing: " + catalog[i].Missing
			}
		}
		c.Columns = append(c.Columns, col)
	}
	return c
}

// Role returns the role the sidecar gives column name, if it names it.
func (c *Columns) Role(name string) (Role, bool) {
	for _, col := range c.Columns {
		if col.Name == name {
			return col.Role, true
		}
	}
	return "", false
}

// Encode returns the sidecar as indented JSON with a final newline.
func (c *Columns) Encode() ([]byte, error) {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("features: encode columns: %w", err)
	}
	return append(b, '\n'), nil
}

// ReadColumns reads and checks a sidecar: a known format, every column
// named once with a known role, and Label and Time naming columns it lists.
// A missing file is returned as an error satisfying errors.Is(err,
// fs.ErrNotExist).
func ReadColumns(path string) (*Columns, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c Columns
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if c.Format != ColumnsFormat {
		return nil, fmt.Errorf("%s: format %q, want %q", path, c.Format, ColumnsFormat)
	}
	seen := map[string]bool{}
	for i, col := range c.Columns {
		if col.Name == "" {
			return nil, fmt.Errorf("%s: column %d has no name", path, i+1)
		}
		if seen[col.Name] {
			return nil, fmt.Errorf("%s: column %q is listed twice", path, col.Name)
		}
		seen[col.Name] = true
		if _, err := ParseRole(string(col.Role)); err != nil {
			return nil, fmt.Errorf("%s: column %q: %w", path, col.Name, err)
		}
	}
	for _, x := range []struct{ what, name string }{{"label", c.Label}, {"time", c.Time}} {
		if x.name != "" && !seen[x.name] {
			return nil, fmt.Errorf("%s: %s column %q is not among the columns", path, x.what, x.name)
		}
	}
	return &c, nil
}
