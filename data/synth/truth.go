package synth

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/duesight/duesight/data"
)

// TruthFormat and TruthVersion identify the truth file format.
const (
	TruthFormat  = "duesight-synth-truth"
	TruthVersion = 1
)

// TruthSink receives the ground truth of a run. Generate calls Start once,
// then WriteTruth once per chunk, in account-id order, from one goroutine.
// The store never sees the truth.
type TruthSink interface {
	Start(ctx context.Context, h *TruthHeader) error
	WriteTruth(ctx context.Context, b *TruthBatch) error
}

// TruthBatch is the truth of a chunk of accounts: each account, its
// invoices (in issue order) and its emitted contacts (in generation order).
type TruthBatch struct {
	Accounts []AccountTruth
	Invoices []InvoiceTruth
	Contacts []ContactTruth
}

// AccountTruth is an account's latent parameters. Days are calendar days;
// "logit" values enter P(response) = σ(Σ terms), see the package doc.
type AccountTruth struct {
	AccountID        string       `json:"account_id"`
	PayerType        string       `json:"payer_type"`          // name of the latent payer type
	BaseDelayDays    float64      `json:"base_delay_days"`     // μ0: intended payment, days after due
	NoiseScaleDays   float64      `json:"noise_scale_days"`    // s: logistic scale of the payment delay
	DriftDaysPerYear float64      `json:"drift_days_per_year"` // added to μ per year after DriftOnset
	DriftOnset       data.Date    `json:"drift_onset"`
	ShockSDDays      float64      `json:"shock_sd_days"`   // stationary sd of the monthly AR(1) shock
	PayRun           string       `json:"pay_run"`         // daily, weekly, semimonthly, monthly
	PayRunWeekday    int          `json:"pay_run_weekday"` // weekly runs: 1=Monday … 5=Friday; else 0
	AnyDay           bool         `json:"any_day"`         // pays on weekends and holidays too
	HolidayPause     bool         `json:"holiday_pause"`   // pays nothing 22 Dec – 2 Jan
	DisputeRate      float64      `json:"dispute_rate"`    // P(dispute) at the account's median amount
	InstalmentRate   float64      `json:"instalment_rate"` // P(paid in instalments)
	NeverPayBase     float64      `json:"never_pay_base"`
	NeverPayPerYear  float64      `json:"never_pay_per_year"` // added per year after DriftOnset
	AmountMedianUSD  float64      `json:"amount_median_usd"`
	InvoicesPerMonth float64      `json:"invoices_per_month"`
	Recurring        bool         `json:"recurring"`      // billed monthly on a fixed day
	ChurnOn          data.Date    `json:"churn_on"`       // stops buying; "" = not before To
	Holdout          bool         `json:"holdout"`        // never contacted
	Responsiveness   float64      `json:"responsiveness"` // α, logit
	PreferredChannel data.Channel `json:"preferred_channel"`
	ChannelEffect    [4]float64   `json:"channel_effect"` // logit for email, sms, call, letter
	BestLocalHour    int          `json:"best_local_hour"`
	HourPenalty      float64      `json:"hour_penalty"`   // w: hour term −w·(d/4)²
	BestWeekday      int          `json:"best_weekday"`   // 0=Sunday … 6=Saturday
	WeekdayEffect    [7]float64   `json:"weekday_effect"` // logit, Sunday first
	PromiseShare     float64      `json:"promise_share"`  // share of answers that are promises (calls ×CallPromise)
	PromiseKeep      float64      `json:"promise_keep"`
	ResponseLagDays  int          `json:"response_lag_days"`
}

// InvoiceTruth is an invoice's truth. "Late" means settled (open amount
// reaching zero through cash, credit notes or write-off) after the due date,
// with zero grace days.
type InvoiceTruth struct {
	InvoiceID string    `json:"invoice_id"`
	AccountID string    `json:"account_id"`
	DueDate   data.Date `json:"due_date"`
	Regime    Regime    `json:"regime"`
	// MuDays is the location μ of the intended payment delay at issue
	// (days after due, before payment-run snapping).
	MuDays float64 `json:"mu_days"`
	// PLate is the exact model probability, given everything known at the
	// issue date, that the invoice is settled after its due date under the
	// generator's contact policy. PLateNoContact is the same without any
	// contact (the counterfactual of the holdout).
	PLate          float64 `json:"p_late"`
	PLateNoContact float64 `json:"p_late_no_contact"`
	Path           Path    `json:"path"`
	// Disputed: the model disputes the invoice (the dispute row exists in
	// the store only if it was opened before To).
	Disputed bool `json:"disputed"`
	// SettledOn is the latent settlement date, simulated past To; DaysLate
	// = SettledOn − DueDate; Late = DaysLate > 0. Censored: SettledOn ≥ To,
	// so the store shows the invoice (partly) open.
	SettledOn  data.Date `json:"settled_on"`
	DaysLate   int       `json:"days_late"`
	Late       bool      `json:"late"`
	Censored   bool      `json:"censored"`
	WrittenOff bool      `json:"written_off"`
}

// ContactTruth is the truth of an emitted contact.
type ContactTruth struct {
	ContactID    string       `json:"contact_id"`
	InvoiceID    string       `json:"invoice_id"`
	AccountID    string       `json:"account_id"`
	Regime       Regime       `json:"regime"`
	Step         int          `json:"step"` // 0 = pre-due reminder, 1… = dunning steps
	Channel      data.Channel `json:"channel"`
	LocalDate    data.Date    `json:"local_date"`
	LocalHour    int          `json:"local_hour"`
	LocalWeekday int          `json:"local_weekday"` // 0=Sunday
	PResponse    float64      `json:"p_response"`    // true P(answer) before the email-bounce draw
	Responded    bool         `json:"responded"`
	Moved        bool         `json:"moved_payment"` // the answer brought the settlement forward
	PromiseKept  bool         `json:"promise_kept"`
}

// Column describes one field of a truth record.
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Doc  string `json:"doc"`
}

// TruthHeader is the first line of a truth file.
type TruthHeader struct {
	Format         string              `json:"format"`
	Version        int                 `json:"version"`
	Seed           uint64              `json:"seed"`
	Accounts       int                 `json:"accounts"`
	From           data.Date           `json:"from"`
	To             data.Date           `json:"to"`
	RandomFrom     data.Date           `json:"random_from"`
	RandomTo       data.Date           `json:"random_to"`
	LateDefinition string              `json:"late_definition"`
	PLateMethod    string              `json:"p_late_method"`
	Columns        map[string][]Column `json:"columns"`
	Model          *Model              `json:"model"`
}

func (r Regime) MarshalText() ([]byte, error) { return []byte(r.String()), nil }
func (r *Regime) UnmarshalText(b []byte) error {
	for i, n := range regimeNames {
		if i > 0 && n == string(b) {
			*r = Regime(i)
			return nil
		}
	}
	return fmt.Errorf("unknown regime %q", b)
}
func (p Path) MarshalText() ([]byte, error) { return []byte(p.String()), nil }
func (p *Path) UnmarshalText(b []byte) error {
	for i, n := range pathNames {
		if i > 0 && n == string(b) {
			*p = Path(i)
			return nil
		}
	}
	return fmt.Errorf("unknown path %q", b)
}

// columnsOf documents every field of v from its json tag and this table.
func truthColumns() map[string][]Column {
	cols := func(v any, docs map[string]string) []Column {
		b, _ := json.Marshal(v)
		var out []Column
		dec := json.NewDecoder(bytes.NewReader(b))
		_, _ = dec.Token()
		for dec.More() {
			tok, _ := dec.Token()
			name := tok.(string)
			var raw json.RawMessage
			_ = dec.Decode(&raw)
			typ := "number"
			switch raw[0] {
			case '"':
				typ = "string"
			case 't', 'f':
				typ = "bool"
			case '[':
				typ = "array of number"
			}
			if strings.HasSuffix(name, "_date") || strings.HasSuffix(name, "_on") || name == "drift_onset" || name == "local_date" {
				typ = "date (YYYY-MM-DD, \"\" = none)"
			}
			out = append(out, Column{Name: name, Type: typ, Doc: docs[name]})
		}
		return out
	}
	return map[string][]Column{
		"account": cols(AccountTruth{}, map[string]string{
			"payer_type": "latent payer type", "base_delay_days": "μ0, days after due the account intends to pay",
			"noise_scale_days": "logistic scale s of the delay", "drift_days_per_year": "μ drift after drift_onset",
			"shock_sd_days": "sd of the monthly AR(1) shock added to μ", "pay_run": "daily|weekly|semimonthly|monthly",
			"pay_run_weekday": "weekly run weekday 1..5, else 0", "any_day": "pays on any day incl. weekends",
			"holiday_pause": "no payments 22 Dec – 2 Jan", "dispute_rate": "P(dispute) at the median amount",
			"instalment_rate": "P(instalments)", "never_pay_base": "base P(never paid)",
			"never_pay_per_year": "added to P(never paid) per year after drift_onset",
			"amount_median_usd":  "median invoice amount in USD", "invoices_per_month": "billing rate",
			"recurring": "billed monthly on a fixed day", "churn_on": "date the account stops buying",
			"holdout": "never contacted", "responsiveness": "α, logit", "preferred_channel": "channel with +PreferredBoost",
			"channel_effect": "logit for email, sms, call, letter", "best_local_hour": "local hour of best response",
			"hour_penalty": "w in −w·(d/4)²", "best_weekday": "0=Sunday", "weekday_effect": "logit, Sunday first",
			"promise_share": "share of answers that are promises", "promise_keep": "P(promise kept)",
			"response_lag_days": "moved payment = next business day ≥ contact + lag"}),
		"invoice": cols(InvoiceTruth{}, map[string]string{
			"regime": "policy|randomized|holdout", "mu_days": "μ at issue, days after due",
			"p_late":            "exact P(settled after due | state at issue), generator's contact policy",
			"p_late_no_contact": "same without any contact", "path": "normal|instalments|dispute|never_paid|cancelled",
			"settled_on": "latent settlement date (may be ≥ To)", "days_late": "settled_on − due_date",
			"late": "days_late > 0", "censored": "settled_on ≥ To: open in the store", "written_off": "settled by a write-off"}),
		"contact": cols(ContactTruth{}, map[string]string{
			"step": "0 = pre-due reminder, 1.. = dunning steps", "local_hour": "hour in the account's zone",
			"local_weekday": "0=Sunday", "p_response": "true P(answer)", "moved_payment": "answer moved the settlement earlier",
			"promise_kept": "the promise will be kept"}),
	}
}

// TruthWriter writes a truth file as JSON lines: a header line (TruthHeader),
// then one object per record with "kind" first: "account", "invoice" or
// "contact". Each account's line precedes its invoices' and contacts'.
// It is not safe for concurrent use.
type TruthWriter struct {
	bw     *bufio.Writer
	gz     *gzip.Writer
	file   *os.File
	buf    []byte
	start  bool
	err    error
	closed bool
}

// NewTruthWriter writes JSON lines to w, gzip-compressed (fastest level) when gz.
func NewTruthWriter(w io.Writer, gz bool) *TruthWriter {
	t := &TruthWriter{}
	if gz {
		// BestSpeed: the truth is written by one goroutine, and default
		// compression would be the bottleneck of large runs.
		t.gz, _ = gzip.NewWriterLevel(w, gzip.BestSpeed)
		w = t.gz
	}
	t.bw = bufio.NewWriterSize(w, 1<<16)
	return t
}

// CreateTruthFile creates path (gzip-compressed when it ends in ".gz").
func CreateTruthFile(path string) (*TruthWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("synth: create truth file: %w", err)
	}
	t := NewTruthWriter(f, strings.HasSuffix(path, ".gz"))
	t.file = f
	return t, nil
}

// Start implements TruthSink: it writes the header line.
func (t *TruthWriter) Start(_ context.Context, h *TruthHeader) error {
	if t.start {
		return errors.New("synth: truth writer: Start called twice")
	}
	t.start = true
	b, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("synth: truth header: %w", err)
	}
	return t.write(append(b, '\n'))
}

func (t *TruthWriter) write(b []byte) error {
	if t.err != nil {
		return t.err
	}
	if _, err := t.bw.Write(b); err != nil {
		t.err = fmt.Errorf("synth: write truth: %w", err)
	}
	return t.err
}

// WriteTruth implements TruthSink.
func (t *TruthWriter) WriteTruth(ctx context.Context, b *TruthBatch) error {
	if !t.start {
		return errors.New("synth: truth writer: WriteTruth before Start")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	ii, ci := 0, 0
	for ai := range b.Accounts {
		a := &b.Accounts[ai]
		t.buf = appendAccountTruth(t.buf[:0], a)
		for ; ii < len(b.Invoices) && b.Invoices[ii].AccountID == a.AccountID; ii++ {
			t.buf = appendInvoiceTruth(t.buf, &b.Invoices[ii])
		}
		for ; ci < len(b.Contacts) && b.Contacts[ci].AccountID == a.AccountID; ci++ {
			t.buf = appendContactTruth(t.buf, &b.Contacts[ci])
		}
		if err := t.write(t.buf); err != nil {
			return err
		}
	}
	if ii != len(b.Invoices) || ci != len(b.Contacts) {
		return fmt.Errorf("synth: truth batch: invoices/contacts not grouped by account in account order (%d/%d invoices, %d/%d contacts placed)",
			ii, len(b.Invoices), ci, len(b.Contacts))
	}
	return nil
}

// Close flushes and closes the output (and the file of CreateTruthFile).
func (t *TruthWriter) Close() error {
	if t.closed {
		return nil
	}
	t.closed = true
	err := t.err
	if e := t.bw.Flush(); e != nil && err == nil {
		err = fmt.Errorf("synth: flush truth: %w", e)
	}
	if t.gz != nil {
		if e := t.gz.Close(); e != nil && err == nil {
			err = fmt.Errorf("synth: close truth gzip: %w", e)
		}
	}
	if t.file != nil {
		if e := t.file.Close(); e != nil && err == nil {
			err = fmt.Errorf("synth: close truth file: %w", e)
		}
	}
	return err
}

// JSON appenders (hand-written for speed; the reader uses encoding/json).

func appendStr(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
			i++
		case c < 0x20:
			b = append(b, `\u00`...)
			b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
			i++
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, s[i:i+n]...)
			}
			i += n
		}
	}
	return append(b, '"')
}

func key(b []byte, k string) []byte {
	b = append(b, ',', '"')
	b = append(b, k...)
	return append(b, '"', ':')
}

func appendF(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

func appendB(b []byte, v bool) []byte { return strconv.AppendBool(b, v) }

func appendDate(b []byte, d data.Date) []byte {
	b = append(b, '"')
	if d != 0 {
		b = d.Time().AppendFormat(b, time.DateOnly)
	}
	return append(b, '"')
}

func appendAccountTruth(b []byte, a *AccountTruth) []byte {
	b = append(b, `{"kind":"account"`...)
	b = appendStr(key(b, "account_id"), a.AccountID)
	b = appendStr(key(b, "payer_type"), a.PayerType)
	b = appendF(key(b, "base_delay_days"), a.BaseDelayDays)
	b = appendF(key(b, "noise_scale_days"), a.NoiseScaleDays)
	b = appendF(key(b, "drift_days_per_year"), a.DriftDaysPerYear)
	b = appendDate(key(b, "drift_onset"), a.DriftOnset)
	b = appendF(key(b, "shock_sd_days"), a.ShockSDDays)
	b = appendStr(key(b, "pay_run"), a.PayRun)
	b = strconv.AppendInt(key(b, "pay_run_weekday"), int64(a.PayRunWeekday), 10)
	b = appendB(key(b, "any_day"), a.AnyDay)
	b = appendB(key(b, "holiday_pause"), a.HolidayPause)
	b = appendF(key(b, "dispute_rate"), a.DisputeRate)
	b = appendF(key(b, "instalment_rate"), a.InstalmentRate)
	b = appendF(key(b, "never_pay_base"), a.NeverPayBase)
	b = appendF(key(b, "never_pay_per_year"), a.NeverPayPerYear)
	b = appendF(key(b, "amount_median_usd"), a.AmountMedianUSD)
	b = appendF(key(b, "invoices_per_month"), a.InvoicesPerMonth)
	b = appendB(key(b, "recurring"), a.Recurring)
	b = appendDate(key(b, "churn_on"), a.ChurnOn)
	b = appendB(key(b, "holdout"), a.Holdout)
	b = appendF(key(b, "responsiveness"), a.Responsiveness)
	b = appendStr(key(b, "preferred_channel"), a.PreferredChannel.String())
	b = append(key(b, "channel_effect"), '[')
	for i, v := range a.ChannelEffect {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendF(b, v)
	}
	b = append(b, ']')
	b = strconv.AppendInt(key(b, "best_local_hour"), int64(a.BestLocalHour), 10)
	b = appendF(key(b, "hour_penalty"), a.HourPenalty)
	b = strconv.AppendInt(key(b, "best_weekday"), int64(a.BestWeekday), 10)
	b = append(key(b, "weekday_effect"), '[')
	for i, v := range a.WeekdayEffect {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendF(b, v)
	}
	b = append(b, ']')
	b = appendF(key(b, "promise_share"), a.PromiseShare)
	b = appendF(key(b, "promise_keep"), a.PromiseKeep)
	b = strconv.AppendInt(key(b, "response_lag_days"), int64(a.ResponseLagDays), 10)
	return append(b, '}', '\n')
}

func appendInvoiceTruth(b []byte, t *InvoiceTruth) []byte {
	b = append(b, `{"kind":"invoice"`...)
	b = appendStr(key(b, "invoice_id"), t.InvoiceID)
	b = appendStr(key(b, "account_id"), t.AccountID)
	b = appendDate(key(b, "due_date"), t.DueDate)
	b = appendStr(key(b, "regime"), t.Regime.String())
	b = appendF(key(b, "mu_days"), t.MuDays)
	b = appendF(key(b, "p_late"), t.PLate)
	b = appendF(key(b, "p_late_no_contact"), t.PLateNoContact)
	b = appendStr(key(b, "path"), t.Path.String())
	b = appendB(key(b, "disputed"), t.Disputed)
	b = appendDate(key(b, "settled_on"), t.SettledOn)
	b = strconv.AppendInt(key(b, "days_late"), int64(t.DaysLate), 10)
	b = appendB(key(b, "late"), t.Late)
	b = appendB(key(b, "censored"), t.Censored)
	b = appendB(key(b, "written_off"), t.WrittenOff)
	return append(b, '}', '\n')
}

func appendContactTruth(b []byte, t *ContactTruth) []byte {
	b = append(b, `{"kind":"contact"`...)
	b = appendStr(key(b, "contact_id"), t.ContactID)
	b = appendStr(key(b, "invoice_id"), t.InvoiceID)
	b = appendStr(key(b, "account_id"), t.AccountID)
	b = appendStr(key(b, "regime"), t.Regime.String())
	b = strconv.AppendInt(key(b, "step"), int64(t.Step), 10)
	b = appendStr(key(b, "channel"), t.Channel.String())
	b = appendDate(key(b, "local_date"), t.LocalDate)
	b = strconv.AppendInt(key(b, "local_hour"), int64(t.LocalHour), 10)
	b = strconv.AppendInt(key(b, "local_weekday"), int64(t.LocalWeekday), 10)
	b = appendF(key(b, "p_response"), t.PResponse)
	b = appendB(key(b, "responded"), t.Responded)
	b = appendB(key(b, "moved_payment"), t.Moved)
	b = appendB(key(b, "promise_kept"), t.PromiseKept)
	return append(b, '}', '\n')
}

// TruthRecord is one record of a truth file: exactly one pointer is set,
// matching Kind ("account", "invoice" or "contact").
type TruthRecord struct {
	Kind    string
	Line    int
	Account *AccountTruth
	Invoice *InvoiceTruth
	Contact *ContactTruth
}

// TruthReader reads a truth file written by TruthWriter.
type TruthReader struct {
	sc     *bufio.Scanner
	name   string
	line   int
	header TruthHeader
	closer []io.Closer
}

// NewTruthReader reads the header from r (plain or gzip, detected by its
// magic bytes). name labels errors (e.g. the file path).
func NewTruthReader(r io.Reader, name string) (*TruthReader, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	t := &TruthReader{name: name}
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%s: open gzip: %w", name, err)
		}
		t.closer = append(t.closer, gz)
		t.sc = bufio.NewScanner(gz)
	} else {
		t.sc = bufio.NewScanner(br)
	}
	t.sc.Buffer(make([]byte, 0, 1<<16), 1<<24)
	if !t.sc.Scan() {
		if err := t.sc.Err(); err != nil {
			return nil, fmt.Errorf("%s:1: read header: %w", name, err)
		}
		return nil, fmt.Errorf("%s:1: empty file, want a %s header line", name, TruthFormat)
	}
	t.line = 1
	dec := json.NewDecoder(bytes.NewReader(t.sc.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t.header); err != nil {
		return nil, fmt.Errorf("%s:1: header: %w", name, err)
	}
	if t.header.Format != TruthFormat {
		return nil, fmt.Errorf("%s:1: header field format: %q, want %q", name, t.header.Format, TruthFormat)
	}
	if t.header.Version != TruthVersion {
		return nil, fmt.Errorf("%s:1: header field version: %d, this reader reads version %d", name, t.header.Version, TruthVersion)
	}
	return t, nil
}

// OpenTruthFile opens a truth file; Close closes it.
func OpenTruthFile(path string) (*TruthReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("synth: open truth file: %w", err)
	}
	t, err := NewTruthReader(f, path)
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	t.closer = append(t.closer, f)
	return t, nil
}

// Header returns the file's header.
func (t *TruthReader) Header() TruthHeader { return t.header }

// Next returns the next record, or io.EOF after the last. Errors name the
// file, line and field.
func (t *TruthReader) Next() (TruthRecord, error) {
	if !t.sc.Scan() {
		if err := t.sc.Err(); err != nil {
			return TruthRecord{}, fmt.Errorf("%s:%d: %w", t.name, t.line+1, err)
		}
		return TruthRecord{}, io.EOF
	}
	t.line++
	line := t.sc.Bytes()
	var k struct {
		Kind string `json:"kind"`
	}
	if err := json.Unmarshal(line, &k); err != nil {
		return TruthRecord{}, fmt.Errorf("%s:%d: %w", t.name, t.line, err)
	}
	rec := TruthRecord{Kind: k.Kind, Line: t.line}
	var dst any
	switch k.Kind {
	case "account":
		rec.Account = &AccountTruth{}
		dst = rec.Account
	case "invoice":
		rec.Invoice = &InvoiceTruth{}
		dst = rec.Invoice
	case "contact":
		rec.Contact = &ContactTruth{}
		dst = rec.Contact
	default:
		return TruthRecord{}, fmt.Errorf("%s:%d: field kind: %q, want account, invoice or contact", t.name, t.line, k.Kind)
	}
	// Strip "kind" so that unknown fields are still rejected.
	obj := map[string]json.RawMessage{}
	if err := json.Unmarshal(line, &obj); err != nil {
		return TruthRecord{}, fmt.Errorf("%s:%d: %w", t.name, t.line, err)
	}
	delete(obj, "kind")
	rest, _ := json.Marshal(obj)
	dec := json.NewDecoder(bytes.NewReader(rest))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return TruthRecord{}, fmt.Errorf("%s:%d: %s field %s: %w", t.name, t.line, k.Kind, ute.Field, err)
		}
		return TruthRecord{}, fmt.Errorf("%s:%d: %s: %w", t.name, t.line, k.Kind, err)
	}
	return rec, nil
}

// Close closes what OpenTruthFile opened.
func (t *TruthReader) Close() error {
	var errs []error
	for _, c := range t.closer {
		errs = append(errs, c.Close())
	}
	t.closer = nil
	return errors.Join(errs...)
}
