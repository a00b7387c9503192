package features

import (
	"fmt"
	"iter"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/duesight/duesight/data"
)

// Arrow column names of the row keys and labels. Feature columns follow
// them, named as in Catalog.
const (
	ColInvoiceID  = "invoice_id"
	ColAccountID  = "account_id"
	ColSnapshot   = "snapshot"
	ColAsOf       = "as_of"
	ColIssueDate  = "issue_date"
	ColDueDate    = "due_date"
	ColAmount     = "amount_minor"
	ColCurrency   = "currency"
	ColStatus     = "label_status"
	ColLate       = "late"
	ColDaysLate   = "days_late"
	ColLowerBound = "days_late_lower_bound"
	ColBucket     = "late_bucket"
	ColSettled    = "settled_date"
	ColWrittenOff = "written_off"
	ColCensored   = "censored"
)

// Schema metadata keys.
const (
	MetaSchemaHash    = "duesight.features.schema_hash"
	MetaSchemaVersion = "duesight.features.schema_version"
	MetaHorizon       = "duesight.features.horizon"
	MetaGrace         = "duesight.features.grace"
)

var keyFields = []arrow.Field{
	{Name: ColInvoiceID, Type: arrow.BinaryTypes.String},
	{Name: ColAccountID, Type: arrow.BinaryTypes.String},
	{Name: ColSnapshot, Type: arrow.BinaryTypes.String},
	{Name: ColAsOf, Type: arrow.FixedWidthTypes.Date32},
	{Name: ColIssueDate, Type: arrow.FixedWidthTypes.Date32},
	{Name: ColDueDate, Type: arrow.FixedWidthTypes.Date32},
	{Name: ColAmount, Type: arrow.PrimitiveTypes.Int64},
	{Name: ColCurrency, Type: arrow.BinaryTypes.String},
	{Name: ColStatus, Type: arrow.BinaryTypes.String},
	{Name: ColLate, Type: arrow.PrimitiveTypes.Float64},
	{Name: ColDaysLate, Type: arrow.PrimitiveTypes.Float64},
	{Name: ColLowerBound, Type: arrow.FixedWidthTypes.Boolean},
	{Name: ColBucket, Type: arrow.BinaryTypes.String},
	{Name: ColSettled, Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: ColWrittenOff, Type: arrow.FixedWidthTypes.Boolean},
	{Name: ColCensored, Type: arrow.FixedWidthTypes.Boolean},
}

// ArrowSchema returns the Arrow schema of t: the key and label columns, then
// one non-nullable float64 column per feature (NaN = missing). Dates are
// date32 (days since 1970-01-01, as data.Date); settled_date is null unless
// paid. The metadata holds the schema hash and version, the horizon
// (RFC 3339) and the grace days; each field's metadata holds its Role under
// MetaRole (key, time, label, outcome or feature).
func (t *Table) ArrowSchema() *arrow.Schema {
	fields := slices.Clone(keyFields)
	for i := range fields {
		fields[i].Metadata = roleMetadata(keyRoles[fields[i].Name])
	}
	feature := roleMetadata(RoleFeature)
	for _, n := range t.Names {
		fields = append(fields, arrow.Field{Name: n, Type: arrow.PrimitiveTypes.Float64, Metadata: feature})
	}
	h := ""
	if !t.Horizon.IsZero() {
		h = t.Horizon.UTC().Format(time.RFC3339)
	}
	md := arrow.NewMetadata(
		[]string{MetaSchemaHash, MetaSchemaVersion, MetaHorizon, MetaGrace},
		[]string{t.SchemaHash, strconv.Itoa(SchemaVersion), h, strconv.Itoa(t.Grace)})
	return arrow.NewSchema(fields, &md)
}

func roleMetadata(r Role) arrow.Metadata {
	return arrow.NewMetadata([]string{MetaRole}, []string{string(r)})
}

// Record returns rows [lo, hi) of t as an Arrow record batch, which the
// caller must Release. Float64 and int64 columns share memory with t: do not
// modify t while the record is in use.
func (t *Table) Record(mem memory.Allocator, lo, hi int) (arrow.RecordBatch, error) {
	if lo < 0 || hi > t.Len() || lo > hi {
		return nil, fmt.Errorf("features: record rows [%d, %d) outside table of %d rows", lo, hi, t.Len())
	}
	if len(t.Status) != t.Len() {
		return nil, fmt.Errorf("features: table has no labels (not built by Build or FeaturizeHistory)")
	}
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	n := hi - lo
	cols := make([]arrow.Array, 0, len(keyFields)+len(t.X))
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	str := func(get func(i int) string) {
		b := array.NewStringBuilder(mem)
		defer b.Release()
		b.Reserve(n)
		for i := lo; i < hi; i++ {
			b.Append(get(i))
		}
		cols = append(cols, b.NewArray())
	}
	date := func(v []data.Date, nullZero bool) {
		b := array.NewDate32Builder(mem)
		defer b.Release()
		b.Reserve(n)
		for _, d := range v[lo:hi] {
			if nullZero && d == 0 {
				b.AppendNull()
			} else {
				b.Append(arrow.Date32(d))
			}
		}
		cols = append(cols, b.NewArray())
	}
	boolean := func(get func(i int) bool) {
		b := array.NewBooleanBuilder(mem)
		defer b.Release()
		b.Reserve(n)
		for i := lo; i < hi; i++ {
			b.Append(get(i))
		}
		cols = append(cols, b.NewArray())
	}
	float := func(v []float64) {
		buf := memory.NewBufferBytes(arrow.Float64Traits.CastToBytes(v[lo:hi]))
		d := array.NewData(arrow.PrimitiveTypes.Float64, n, []*memory.Buffer{nil, buf}, nil, 0, 0)
		cols = append(cols, array.NewFloat64Data(d))
		d.Release()
	}
	str(func(i int) string { return t.InvoiceID[i] })
	str(func(i int) string { return t.AccountID[i] })
	str(func(i int) string { return t.Snapshot[i].String() })
	date(t.AsOf, false)
	date(t.IssueDate, false)
	date(t.DueDate, false)
	{
		buf := memory.NewBufferBytes(arrow.Int64Traits.CastToBytes(t.Amount[lo:hi]))
		d := array.NewData(arrow.PrimitiveTypes.Int64, n, []*memory.Buffer{nil, buf}, nil, 0, 0)
		cols = append(cols, array.NewInt64Data(d))
		d.Release()
	}
	str(func(i int) string { return t.Currency[i] })
	str(func(i int) string { return t.Status[i].String() })
	float(t.Late)
	float(t.DaysLate)
	boolean(func(i int) bool { return t.LowerBound[i] })
	str(func(i int) string { return t.Bucket[i].String() })
	date(t.Settled, true)
	boolean(func(i int) bool { return t.WrittenOff[i] })
	boolean(func(i int) bool { return t.Status[i].Censored() })
	for j := range t.X {
		float(t.X[j])
	}
	rec := array.NewRecordBatch(t.ArrowSchema(), cols, int64(n))
	return rec, nil
}

// Records yields t as record batches of at most batchRows rows (≤ 0 means
// 65536). Each batch must be released by the caller.
func (t *Table) Records(mem memory.Allocator, batchRows int) iter.Seq2[arrow.RecordBatch, error] {
	if batchRows <= 0 {
		batchRows = 1 << 16
	}
	return func(yield func(arrow.RecordBatch, error) bool) {
		if t.Len() == 0 { // one empty batch carries the schema
			rec, err := t.Record(mem, 0, 0)
			yield(rec, err)
			return
		}
		for lo := 0; lo < t.Len(); lo += batchRows {
			rec, err := t.Record(mem, lo, min(lo+batchRows, t.Len()))
			if !yield(rec, err) || err != nil {
				return
			}
		}
	}
}

// FromArrow rebuilds a Table from record batches of schema (as written by
// Record, or read back from Parquet). The columns must be those of
// ArrowSchema for the current Catalog, and the schema hash metadata, when
// present, must equal SchemaHash; the horizon and grace are taken from the
// metadata. Values are copied: FromArrow does not release the batches.
// Stats hold the row and label counts (build counters are not stored).
func FromArrow(schema *arrow.Schema, recs iter.Seq2[arrow.RecordBatch, error]) (*Table, error) {
	t := NewTable()
	if err := t.checkSchema(schema); err != nil {
		return nil, err
	}
	for rec, err := range recs {
		if err != nil {
			return nil, fmt.Errorf("features: read records: %w", err)
		}
		if err := checkFields(rec.Schema(), schema); err != nil {
			return nil, err
		}
		if err := t.appendRecord(rec); err != nil {
			return nil, err
		}
	}
	t.Stats = Stats{Rows: t.Len()}
	for i := range t.Len() {
		switch t.Status[i] {
		case StatusPaid:
			t.Stats.Paid++
		case StatusUnpaidLate:
			t.Stats.UnpaidLate++
		case StatusUnpaidPending:
			t.Stats.UnpaidPending++
		}
		if t.WrittenOff[i] {
			t.Stats.WrittenOff++
		}
		if t.Late[i] == 1 {
			t.Stats.Late++
		}
		switch t.Snapshot[i] {
		case SnapshotIssue:
			t.Stats.IssueRows++
		case SnapshotDue:
			t.Stats.DueRows++
		}
	}
	return t, nil
}

func (t *Table) checkSchema(s *arrow.Schema) error {
	md := s.Metadata()
	if i := md.FindKey(MetaSchemaHash); i >= 0 && md.Values()[i] != t.SchemaHash {
		return fmt.Errorf("features: schema hash %s in the data differs from this build's %s (schema version %d)",
			md.Values()[i], t.SchemaHash, SchemaVersion)
	}
	if i := md.FindKey(MetaHorizon); i >= 0 && md.Values()[i] != "" {
		h, err := time.Parse(time.RFC3339, md.Values()[i])
		if err != nil {
			return fmt.Errorf("features: metadata %s: %w", MetaHorizon, err)
		}
		t.Horizon = h.UTC()
	}
	if i := md.FindKey(MetaGrace); i >= 0 {
		g, err := strconv.Atoi(md.Values()[i])
		if err != nil {
			return fmt.Errorf("features: metadata %s: %w", MetaGrace, err)
		}
		t.Grace = g
	}
	return checkFields(s, t.ArrowSchema())
}

// checkFields checks that s has the column names and types of want.
func checkFields(s, want *arrow.Schema) error {
	if s.NumFields() != want.NumFields() {
		return fmt.Errorf("features: %d columns, want %d (%d keys and labels + %d features)",
			s.NumFields(), want.NumFields(), len(keyFields), numFeatures)
	}
	for i, f := range want.Fields() {
		g := s.Field(i)
		if g.Name != f.Name || !arrow.TypeEqual(g.Type, f.Type) {
			return fmt.Errorf("features: column %d is %s %s, want %s %s", i, g.Name, g.Type, f.Name, f.Type)
		}
	}
	return nil
}

// appendRecord appends a record whose schema passed checkSchema.
func (t *Table) appendRecord(rec arrow.RecordBatch) error {
	n := int(rec.NumRows())
	base := t.Len()
	col := func(i int) arrow.Array { return rec.Column(i) }
	bad := func(c, r int, why string) error {
		return fmt.Errorf("features: column %s row %d: %s", rec.Schema().Field(c).Name, base+r, why)
	}
	strs := func(c int) ([]string, error) {
		a, ok := col(c).(*array.String)
		if !ok {
			return nil, bad(c, 0, "not a string column")
		}
		out := make([]string, n)
		for r := range n {
			if a.IsNull(r) {
				return nil, bad(c, r, "null")
			}
			out[r] = a.Value(r)
		}
		return out, nil
	}
	dates := func(c int, nullable bool) ([]data.Date, error) {
		a := col(c).(*array.Date32)
		out := make([]data.Date, n)
		for r := range n {
			if a.IsNull(r) {
				if !nullable {
					return nil, bad(c, r, "null")
				}
				continue
			}
			out[r] = data.Date(a.Value(r))
		}
		return out, nil
	}
	bools := func(c int) ([]bool, error) {
		a := col(c).(*array.Boolean)
		out := make([]bool, n)
		for r := range n {
			if a.IsNull(r) {
				return nil, bad(c, r, "null")
			}
			out[r] = a.Value(r)
		}
		return out, nil
	}
	floats := func(c int) ([]float64, error) {
		a := col(c).(*array.Float64)
		if a.NullN() > 0 {
			for r := range n {
				if a.IsNull(r) {
					return nil, bad(c, r, "null (missing values are NaN, not null)")
				}
			}
		}
		return a.Float64Values(), nil
	}
	var err error
	var s []string
	if s, err = strs(0); err != nil {
		return err
	}
	t.InvoiceID = append(t.InvoiceID, s...)
	if s, err = strs(1); err != nil {
		return err
	}
	t.AccountID = append(t.AccountID, s...)
	if s, err = strs(2); err != nil {
		return err
	}
	for r, v := range s {
		k, err := ParseSnapshot(v)
		if err != nil {
			return bad(2, r, err.Error())
		}
		t.Snapshot = append(t.Snapshot, k)
	}
	for c, dst := range []*[]data.Date{&t.AsOf, &t.IssueDate, &t.DueDate} {
		d, err := dates(3+c, false)
		if err != nil {
			return err
		}
		*dst = append(*dst, d...)
	}
	amt := col(6).(*array.Int64)
	if amt.NullN() > 0 {
		return bad(6, 0, "contains nulls")
	}
	t.Amount = append(t.Amount, amt.Int64Values()...)
	if s, err = strs(7); err != nil {
		return err
	}
	t.Currency = append(t.Currency, s...)
	if s, err = strs(8); err != nil {
		return err
	}
	for r, v := range s {
		st, err := ParseLabelStatus(v)
		if err != nil {
			return bad(8, r, err.Error())
		}
		t.Status = append(t.Status, st)
	}
	for c, dst := range []*[]float64{&t.Late, &t.DaysLate} {
		f, err := floats(9 + c)
		if err != nil {
			return err
		}
		*dst = append(*dst, f...)
	}
	b, err := bools(11)
	if err != nil {
		return err
	}
	t.LowerBound = append(t.LowerBound, b...)
	if s, err = strs(12); err != nil {
		return err
	}
	for r, v := range s {
		k, err := ParseLateBucket(v)
		if err != nil {
			return bad(12, r, err.Error())
		}
		t.Bucket = append(t.Bucket, k)
	}
	d, err := dates(13, true)
	if err != nil {
		return err
	}
	t.Settled = append(t.Settled, d...)
	if b, err = bools(14); err != nil {
		return err
	}
	t.WrittenOff = append(t.WrittenOff, b...)
	if b, err = bools(15); err != nil {
		return err
	}
	for r, c := range b {
		if c != t.Status[base+r].Censored() {
			return bad(15, r, fmt.Sprintf("censored=%t contradicts label_status %s", c, t.Status[base+r]))
		}
	}
	for r := range n {
		if l := t.Late[base+r]; !(l == 0 || l == 1 || math.IsNaN(l)) {
			return bad(9, r, fmt.Sprintf("late is %v, want 0, 1 or NaN", l))
		}
	}
	for j := range t.X {
		f, err := floats(len(keyFields) + j)
		if err != nil {
			return err
		}
		t.X[j] = append(t.X[j], f...)
	}
	return nil
}
