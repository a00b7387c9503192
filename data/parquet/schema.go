package parquet

import (
	"cmp"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/schema"

	"github.com/duesight/duesight/data"
)

// physType is the physical Parquet type of a column as this package uses it.
type physType uint8

const (
	tString physType = iota // BYTE_ARRAY, UTF8
	tInt32                  // INT32 (dates, enum codes, small counts)
	tInt64                  // INT64 (amounts, unix seconds)
)

// logical is the Parquet logical annotation of a column.
type logical uint8

const (
	lNone   logical = iota
	lString         // UTF8 string
	lDate           // DATE: days since 1970-01-01 (= data.Date)
	lUint8          // INT(8, unsigned) stored in INT32: enum codes, ChannelSet
	lUint32         // INT(32, unsigned): account_hash
	lInt32          // INT(32, signed)
	lInt64          // INT(64, signed): minor units, unix seconds
)

// colDef describes one column of a table.
type colDef struct {
	name  string
	typ   physType
	log   logical
	dict  bool // dictionary-encode (low-cardinality strings only)
	bloom bool // write a split-block bloom filter (id columns used by Lookup)
}

// Column positions shared by every table: the sort key comes first.
const (
	colAccount = 0 // account_id
	colHash    = 1 // account_hash = data.AccountHash(account_id)
	colTime    = 2 // the row's own time (not for accounts)
	colID      = 3 // the row's id (not for accounts)
)

// tableDef describes one of the five history tables.
type tableDef struct {
	name      string    // file prefix and manifest key
	kind      data.Kind // entity kind
	cols      []colDef
	timeCol   int  // column holding the row's own time, -1 for accounts
	idCol     int  // column holding the row id
	versioned bool // rows of one id may be rewritten by later commits
	schema    *schema.GroupNode
}

func (t *tableDef) String() string { return t.name }

var (
	tblAccounts = &tableDef{name: "accounts", kind: data.KindAccount, timeCol: -1, idCol: colAccount, versioned: true,
		cols: []colDef{
			{name: "account_id", typ: tString, log: lString},
			{name: "account_hash", typ: tInt32, log: lUint32},
			{name: "name", typ: tString, log: lString},
			{name: "segment", typ: tString, log: lString, dict: true},
			{name: "country", typ: tString, log: lString, dict: true},
			{name: "currency", typ: tString, log: lString, dict: true},
			{name: "time_zone", typ: tString, log: lString, dict: true},
			{name: "terms_days", typ: tInt32, log: lInt32},
			{name: "credit_limit", typ: tInt64, log: lInt64},
			{name: "consent", typ: tInt32, log: lUint8},
			{name: "created_at", typ: tInt64, log: lInt64},
		}}
	tblInvoices = &tableDef{name: "invoices", kind: data.KindInvoice, timeCol: colTime, idCol: colID,
		cols: []colDef{
			{name: "account_id", typ: tString, log: lString},
			{name: "account_hash", typ: tInt32, log: lUint32},
			{name: "issue_date", typ: tInt32, log: lDate},
			{name: "invoice_id", typ: tString, log: lString, bloom: true},
			{name: "due_date", typ: tInt32, log: lDate},
			{name: "amount", typ: tInt64, log: lInt64},
			{name: "currency", typ: tString, log: lString, dict: true},
			{name: "delivered_by", typ: tInt32, log: lUint8},
		}}
	tblPayments = &tableDef{name: "payments", kind: data.KindPayment, timeCol: colTime, idCol: colID,
		cols: []colDef{
			{name: "account_id", typ: tString, log: lString},
			{name: "account_hash", typ: tInt32, log: lUint32},
			{name: "date", typ: tInt32, log: lDate},
			{name: "payment_id", typ: tString, log: lString, bloom: true},
			{name: "invoice_id", typ: tString, log: lString, bloom: true},
			{name: "amount", typ: tInt64, log: lInt64},
			{name: "currency", typ: tString, log: lString, dict: true},
			{name: "method", typ: tInt32, log: lUint8},
		}}
	tblContacts = &tableDef{name: "contacts", kind: data.KindContact, timeCol: colTime, idCol: colID, versioned: true,
		cols: []colDef{
			{name: "account_id", typ: tString, log: lString},
			{name: "account_hash", typ: tInt32, log: lUint32},
			{name: "sent_at", typ: tInt64, log: lInt64},
			{name: "contact_id", typ: tString, log: lString, bloom: true},
			{name: "invoice_id", typ: tString, log: lString},
			{name: "channel", typ: tInt32, log: lUint8},
			{name: "outcome", typ: tInt32, log: lUint8},
			{name: "promised_date", typ: tInt32, log: lDate},
			{name: "promised_amount", typ: tInt64, log: lInt64},
		}}
	tblDisputes = &tableDef{name: "disputes", kind: data.KindDispute, timeCol: colTime, idCol: colID, versioned: true,
		cols: []colDef{
			{name: "account_id", typ: tString, log: lString},
			{name: "account_hash", typ: tInt32, log: lUint32},
			{name: "opened_on", typ: tInt32, log: lDate},
			{name: "dispute_id", typ: tString, log: lString, bloom: true},
			{name: "invoice_id", typ: tString, log: lString},
			{name: "resolved_on", typ: tInt32, log: lDate},
			{name: "reason", typ: tString, log: lString},
		}}

	// tables lists the tables in data.Kinds order.
	tables = []*tableDef{tblAccounts, tblInvoices, tblPayments, tblContacts, tblDisputes}
)

// Account columns.
const (
	acName = iota + 2
	acSegment
	acCountry
	acCurrency
	acTimeZone
	acTerms
	acCredit
	acConsent
	acCreated
)

// Invoice columns.
const (
	ivDue = iota + 4
	ivAmount
	ivCurrency
	ivDelivered
)

// Payment columns.
const (
	pyInvoice = iota + 4
	pyAmount
	pyCurrency
	pyMethod
)

// Contact columns.
const (
	ctInvoice = iota + 4
	ctChannel
	ctOutcome
	ctPromDate
	ctPromAmount
)

// Dispute columns.
const (
	dsInvoice = iota + 4
	dsResolved
	dsReason
)

func init() {
	for _, t := range tables {
		t.schema = mustSchema(t)
	}
}

func mustSchema(t *tableDef) *schema.GroupNode {
	fields := make(schema.FieldList, len(t.cols))
	for i, c := range t.cols {
		var lt schema.LogicalType
		pt := parquet.Types.ByteArray
		switch c.log {
		case lString:
			lt = schema.StringLogicalType{}
		case lDate:
			lt, pt = schema.DateLogicalType{}, parquet.Types.Int32
		case lUint8:
			lt, pt = schema.NewIntLogicalType(8, false), parquet.Types.Int32
		case lUint32:
			lt, pt = schema.NewIntLogicalType(32, false), parquet.Types.Int32
		case lInt32:
			lt, pt = schema.NewIntLogicalType(32, true), parquet.Types.Int32
		case lInt64:
			lt, pt = schema.NewIntLogicalType(64, true), parquet.Types.Int64
		}
		n, err := schema.NewPrimitiveNodeLogical(c.name, parquet.Repetitions.Required, lt, pt, -1, int32(i))
		if err != nil {
			panic(fmt.Sprintf("parquet: schema of %s.%s: %v", t.name, c.name, err))
		}
		fields[i] = n
	}
	g, err := schema.NewGroupNode("duesight_"+t.name, parquet.Repetitions.Required, fields, -1)
	if err != nil {
		panic(fmt.Sprintf("parquet: schema of %s: %v", t.name, err))
	}
	return g
}

// colBatch holds up to n rows of one table column by column. Each column
// uses the slice of its physical type; the others are nil.
type colBatch struct {
	def *tableDef
	n   int
	str [][]string
	i32 [][]int32
	i64 [][]int64
}

func newColBatch(def *tableDef, capacity int) *colBatch {
	b := &colBatch{def: def, str: make([][]string, len(def.cols)), i32: make([][]int32, len(def.cols)),
		i64: make([][]int64, len(def.cols))}
	for i, c := range def.cols {
		switch c.typ {
		case tString:
			b.str[i] = make([]string, 0, capacity)
		case tInt32:
			b.i32[i] = make([]int32, 0, capacity)
		case tInt64:
			b.i64[i] = make([]int64, 0, capacity)
		}
	}
	return b
}

// reset empties the batch, keeping its capacity.
func (b *colBatch) reset() {
	b.n = 0
	for i := range b.def.cols {
		if b.str[i] != nil {
			clear(b.str[i]) // drop references to old strings
			b.str[i] = b.str[i][:0]
		}
		if b.i32[i] != nil {
			b.i32[i] = b.i32[i][:0]
		}
		if b.i64[i] != nil {
			b.i64[i] = b.i64[i][:0]
		}
	}
}

// appendRow copies row i of src (same table) to the end of b.
func (b *colBatch) appendRow(src *colBatch, i int) {
	for c, cd := range b.def.cols {
		switch cd.typ {
		case tString:
			b.str[c] = append(b.str[c], src.str[c][i])
		case tInt32:
			b.i32[c] = append(b.i32[c], src.i32[c][i])
		case tInt64:
			b.i64[c] = append(b.i64[c], src.i64[c][i])
		}
	}
	b.n++
}

// rowTime returns the row's own time as an int64 (days for dates, unix
// seconds for instants; 0 for accounts). Only compared within one table.
func (b *colBatch) rowTime(i int) int64 {
	switch b.def.timeCol {
	case -1:
		return 0
	}
	if b.i32[colTime] != nil {
		return int64(b.i32[colTime][i])
	}
	return b.i64[colTime][i]
}

// compareRows orders row i of a and row j of b (same table) by
// (account_id, time, id).
func compareRows(a *colBatch, i int, b *colBatch, j int) int {
	if c := cmp.Compare(a.str[colAccount][i], b.str[colAccount][j]); c != 0 {
		return c
	}
	if a.def.timeCol < 0 {
		return 0
	}
	return cmp.Or(cmp.Compare(a.rowTime(i), b.rowTime(j)), cmp.Compare(a.str[colID][i], b.str[colID][j]))
}

// unixOrZero converts a stored instant (unix seconds, 0 = unset) to time.Time.
func unixOrZero(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}

// secondsOf converts an instant to stored unix seconds (0 for the zero time).
func secondsOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// rowOps converts between rows of type T and colBatch rows.
type rowOps[T any] struct {
	def *tableDef
	put func(b *colBatch, r *T)
	get func(b *colBatch, i int) T
	cmp func(a, b T) int // (account_id, time, id) order
}

var accountRows = rowOps[data.Account]{
	def: tblAccounts,
	put: func(b *colBatch, r *data.Account) {
		b.str[colAccount] = append(b.str[colAccount], r.ID)
		b.i32[colHash] = append(b.i32[colHash], int32(data.AccountHash(r.ID)))
		b.str[acName] = append(b.str[acName], r.Name)
		b.str[acSegment] = append(b.str[acSegment], r.Segment)
		b.str[acCountry] = append(b.str[acCountry], r.Country)
		b.str[acCurrency] = append(b.str[acCurrency], r.Currency)
		b.str[acTimeZone] = append(b.str[acTimeZone], r.TimeZone)
		b.i32[acTerms] = append(b.i32[acTerms], int32(r.TermsDays))
		b.i64[acCredit] = append(b.i64[acCredit], r.CreditLimit)
		b.i32[acConsent] = append(b.i32[acConsent], int32(r.Consent))
		b.i64[acCreated] = append(b.i64[acCreated], secondsOf(r.CreatedAt))
		b.n++
	},
	get: func(b *colBatch, i int) data.Account {
		return data.Account{ID: b.str[colAccount][i], Name: b.str[acName][i], Segment: b.str[acSegment][i],
			Country: b.str[acCountry][i], Currency: b.str[acCurrency][i], TimeZone: b.str[acTimeZone][i],
			TermsDays: int(b.i32[acTerms][i]), CreditLimit: b.i64[acCredit][i],
			Consent: data.ChannelSet(b.i32[acConsent][i]), CreatedAt: unixOrZero(b.i64[acCreated][i])}
	},
	cmp: func(a, b data.Account) int { return cmp.Compare(a.ID, b.ID) },
}

var invoiceRows = rowOps[data.Invoice]{
	def: tblInvoices,
	put: func(b *colBatch, r *data.Invoice) {
		b.str[colAccount] = append(b.str[colAccount], r.AccountID)
		b.i32[colHash] = append(b.i32[colHash], int32(data.AccountHash(r.AccountID)))
		b.i32[colTime] = append(b.i32[colTime], int32(r.IssueDate))
		b.str[colID] = append(b.str[colID], r.ID)
		b.i32[ivDue] = append(b.i32[ivDue], int32(r.DueDate))
		b.i64[ivAmount] = append(b.i64[ivAmount], r.Amount)
		b.str[ivCurrency] = append(b.str[ivCurrency], r.Currency)
		b.i32[ivDelivered] = append(b.i32[ivDelivered], int32(r.DeliveredBy))
		b.n++
	},
	get: func(b *colBatch, i int) data.Invoice {
		return data.Invoice{ID: b.str[colID][i], AccountID: b.str[colAccount][i], IssueDate: data.Date(b.i32[colTime][i]),
			DueDate: data.Date(b.i32[ivDue][i]), Amount: b.i64[ivAmount][i], Currency: b.str[ivCurrency][i],
			DeliveredBy: data.Channel(b.i32[ivDelivered][i])}
	},
	cmp: func(a, b data.Invoice) int {
		return cmp.Or(cmp.Compare(a.AccountID, b.AccountID), cmp.Compare(a.IssueDate, b.IssueDate), cmp.Compare(a.ID, b.ID))
	},
}

var paymentRows = rowOps[data.Payment]{
	def: tblPayments,
	put: func(b *colBatch, r *data.Payment) {
		b.str[colAccount] = append(b.str[colAccount], r.AccountID)
		b.i32[colHash] = append(b.i32[colHash], int32(data.AccountHash(r.AccountID)))
		b.i32[colTime] = append(b.i32[colTime], int32(r.Date))
		b.str[colID] = append(b.str[colID], r.ID)
		b.str[pyInvoice] = append(b.str[pyInvoice], r.InvoiceID)
		b.i64[pyAmount] = append(b.i64[pyAmount], r.Amount)
		b.str[pyCurrency] = append(b.str[pyCurrency], r.Currency)
		b.i32[pyMethod] = append(b.i32[pyMethod], int32(r.Method))
		b.n++
	},
	get: func(b *colBatch, i int) data.Payment {
		return data.Payment{ID: b.str[colID][i], AccountID: b.str[colAccount][i], InvoiceID: b.str[pyInvoice][i],
			Date: data.Date(b.i32[colTime][i]), Amount: b.i64[pyAmount][i], Currency: b.str[pyCurrency][i],
			Method: data.Method(b.i32[pyMethod][i])}
	},
	cmp: func(a, b data.Payment) int {
		return cmp.Or(cmp.Compare(a.AccountID, b.AccountID), cmp.Compare(a.Date, b.Date), cmp.Compare(a.ID, b.ID))
	},
}

var contactRows = rowOps[data.Contact]{
	def: tblContacts,
	put: func(b *colBatch, r *data.Contact) {
		b.str[colAccount] = append(b.str[colAccount], r.AccountID)
		b.i32[colHash] = append(b.i32[colHash], int32(data.AccountHash(r.AccountID)))
		b.i64[colTime] = append(b.i64[colTime], secondsOf(r.SentAt))
		b.str[colID] = append(b.str[colID], r.ID)
		b.str[ctInvoice] = append(b.str[ctInvoice], r.InvoiceID)
		b.i32[ctChannel] = append(b.i32[ctChannel], int32(r.Channel))
		b.i32[ctOutcome] = append(b.i32[ctOutcome], int32(r.Outcome))
		b.i32[ctPromDate] = append(b.i32[ctPromDate], int32(r.PromisedDate))
		b.i64[ctPromAmount] = append(b.i64[ctPromAmount], r.PromisedAmount)
		b.n++
	},
	get: func(b *colBatch, i int) data.Contact {
		return data.Contact{ID: b.str[colID][i], AccountID: b.str[colAccount][i], InvoiceID: b.str[ctInvoice][i],
			Channel: data.Channel(b.i32[ctChannel][i]), SentAt: unixOrZero(b.i64[colTime][i]),
			Outcome: data.Outcome(b.i32[ctOutcome][i]), PromisedDate: data.Date(b.i32[ctPromDate][i]),
			PromisedAmount: b.i64[ctPromAmount][i]}
	},
	cmp: func(a, b data.Contact) int {
		return cmp.Or(cmp.Compare(a.AccountID, b.AccountID), cmp.Compare(secondsOf(a.SentAt), secondsOf(b.SentAt)),
			cmp.Compare(a.ID, b.ID))
	},
}

var disputeRows = rowOps[data.Dispute]{
	def: tblDisputes,
	put: func(b *colBatch, r *data.Dispute) {
		b.str[colAccount] = append(b.str[colAccount], r.AccountID)
		b.i32[colHash] = append(b.i32[colHash], int32(data.AccountHash(r.AccountID)))
		b.i32[colTime] = append(b.i32[colTime], int32(r.OpenedOn))
		b.str[colID] = append(b.str[colID], r.ID)
		b.str[dsInvoice] = append(b.str[dsInvoice], r.InvoiceID)
		b.i32[dsResolved] = append(b.i32[dsResolved], int32(r.ResolvedOn))
		b.str[dsReason] = append(b.str[dsReason], r.Reason)
		b.n++
	},
	get: func(b *colBatch, i int) data.Dispute {
		return data.Dispute{ID: b.str[colID][i], AccountID: b.str[colAccount][i], InvoiceID: b.str[dsInvoice][i],
			OpenedOn: data.Date(b.i32[colTime][i]), ResolvedOn: data.Date(b.i32[dsResolved][i]), Reason: b.str[dsReason][i]}
	},
	cmp: func(a, b data.Dispute) int {
		return cmp.Or(cmp.Compare(a.AccountID, b.AccountID), cmp.Compare(a.OpenedOn, b.OpenedOn), cmp.Compare(a.ID, b.ID))
	},
}
