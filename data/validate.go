package data

import (
	"fmt"
	"sync"
	"time"
	"unicode/utf8"
)

// FieldError is one invalid field of one entity.
type FieldError struct {
	Field  string
	Reason string
}

// Limits on identifiers and free text.
const (
	MaxIDLen   = 128
	MaxTextLen = 1024
)

func checkID(errs []FieldError, field, v string, required bool) []FieldError {
	switch {
	case v == "":
		if required {
			errs = append(errs, FieldError{field, "is required"})
		}
	case len(v) > MaxIDLen:
		errs = append(errs, FieldError{field, fmt.Sprintf("is longer than %d bytes", MaxIDLen)})
	case !utf8.ValidString(v):
		errs = append(errs, FieldError{field, "is not valid UTF-8"})
	default:
		for _, r := range v {
			if r < 0x20 || r == 0x7f {
				return append(errs, FieldError{field, "contains a control character"})
			}
		}
	}
	return errs
}

func checkText(errs []FieldError, field, v string) []FieldError {
	if len(v) > MaxTextLen {
		return append(errs, FieldError{field, fmt.Sprintf("is longer than %d bytes", MaxTextLen)})
	}
	if !utf8.ValidString(v) {
		return append(errs, FieldError{field, "is not valid UTF-8"})
	}
	return errs
}

func checkCurrency(errs []FieldError, field, v string) []FieldError {
	if v == "" {
		return append(errs, FieldError{field, "is required (ISO 4217 code such as USD)"})
	}
	if !KnownCurrency(v) {
		return append(errs, FieldError{field, fmt.Sprintf("%q is not an ISO 4217 currency code", v)})
	}
	return errs
}

func checkAmount(errs []FieldError, field string, v int64, allowZero bool) []FieldError {
	switch {
	case v < 0:
		return append(errs, FieldError{field, "is negative"})
	case v == 0 && !allowZero:
		return append(errs, FieldError{field, "is zero"})
	case v > MaxAmount:
		return append(errs, FieldError{field, fmt.Sprintf("exceeds the maximum of %d minor units", MaxAmount)})
	}
	return errs
}

func checkDate(errs []FieldError, field string, d Date, required bool) []FieldError {
	if d == 0 {
		if required {
			errs = append(errs, FieldError{field, "is required"})
		}
		return errs
	}
	if !validDate(d) {
		return append(errs, FieldError{field, fmt.Sprintf("%s is outside %s..%s", d, MinDate, MaxDate)})
	}
	return errs
}

func checkTime(errs []FieldError, field string, t time.Time, required bool) []FieldError {
	if t.IsZero() {
		if required {
			errs = append(errs, FieldError{field, "is required"})
		}
		return errs
	}
	if !validTime(t) {
		return append(errs, FieldError{field, fmt.Sprintf("%s is outside %s..%s", t.UTC().Format(time.RFC3339),
			MinTime.Format(time.RFC3339), MaxTime.Format(time.RFC3339))})
	}
	return errs
}

var zoneCache sync.Map // string → error (nil when valid)

// LoadZone returns the IANA location name, caching lookups. Binaries embed
// time/tzdata so that zones resolve on machines without a zoneinfo database.
func LoadZone(name string) (*time.Location, error) {
	if v, ok := zoneCache.Load(name); ok {
		if err, bad := v.(error); bad {
			return nil, err
		}
		return v.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil || name == "" || name == "Local" {
		err = fmt.Errorf("%q is not an IANA time zone", name)
		zoneCache.Store(name, err)
		return nil, err
	}
	zoneCache.Store(name, loc)
	return loc, nil
}

// Validate checks the account's own fields.
func (a Account) Validate() []FieldError {
	var errs []FieldError
	errs = checkID(errs, "id", a.ID, true)
	errs = checkText(errs, "name", a.Name)
	errs = checkText(errs, "segment", a.Segment)
	if len(a.Country) > 64 {
		errs = append(errs, FieldError{"country", "is longer than 64 bytes"})
	}
	errs = checkText(errs, "country", a.Country)
	errs = checkCurrency(errs, "currency", a.Currency)
	if a.TimeZone == "" {
		errs = append(errs, FieldError{"time_zone", "is required (IANA zone such as Europe/Berlin)"})
	} else if _, err := LoadZone(a.TimeZone); err != nil {
		errs = append(errs, FieldError{"time_zone", err.Error()})
	}
	if a.TermsDays < 0 || a.TermsDays > 3650 {
		errs = append(errs, FieldError{"terms_days", fmt.Sprintf("%d is outside 0..3650", a.TermsDays)})
	}
	errs = checkAmount(errs, "credit_limit", a.CreditLimit, true)
	if !a.Consent.Valid() {
		errs = append(errs, FieldError{"consent", "contains an unknown channel"})
	}
	return checkTime(errs, "created_at", a.CreatedAt, false)
}

// Validate checks the invoice's own fields (not its account reference).
func (i Invoice) Validate() []FieldError {
	var errs []FieldError
	errs = checkID(errs, "id", i.ID, true)
	errs = checkID(errs, "account_id", i.AccountID, true)
	errs = checkDate(errs, "issue_date", i.IssueDate, true)
	errs = checkDate(errs, "due_date", i.DueDate, true)
	if i.IssueDate != 0 && i.DueDate != 0 && i.DueDate < i.IssueDate {
		errs = append(errs, FieldError{"due_date", fmt.Sprintf("%s is before issue_date %s", i.DueDate, i.IssueDate)})
	}
	errs = checkAmount(errs, "amount", i.Amount, false)
	if i.DeliveredBy != ChannelUnknown && !i.DeliveredBy.Valid() {
		errs = append(errs, FieldError{"delivered_by", "is not a known channel"})
	}
	return checkCurrency(errs, "currency", i.Currency)
}

// Validate checks the payment's own fields (not its references).
func (p Payment) Validate() []FieldError {
	var errs []FieldError
	errs = checkID(errs, "id", p.ID, true)
	errs = checkID(errs, "account_id", p.AccountID, true)
	errs = checkID(errs, "invoice_id", p.InvoiceID, false)
	errs = checkDate(errs, "date", p.Date, true)
	errs = checkAmount(errs, "amount", p.Amount, false)
	errs = checkCurrency(errs, "currency", p.Currency)
	if !p.Method.Valid() {
		errs = append(errs, FieldError{"method", "is not a known payment method"})
	}
	return errs
}

// Validate checks the contact's own fields (not its references).
func (c Contact) Validate() []FieldError {
	var errs []FieldError
	errs = checkID(errs, "id", c.ID, true)
	errs = checkID(errs, "account_id", c.AccountID, true)
	errs = checkID(errs, "invoice_id", c.InvoiceID, false)
	if !c.Channel.Valid() {
		errs = append(errs, FieldError{"channel", "is required (email, sms, call or letter)"})
	}
	errs = checkTime(errs, "sent_at", c.SentAt, true)
	if !c.Outcome.Valid() {
		errs = append(errs, FieldError{"outcome", "is not a known outcome"})
	}
	errs = checkDate(errs, "promised_date", c.PromisedDate, false)
	errs = checkAmount(errs, "promised_amount", c.PromisedAmount, true)
	if (c.PromisedDate != 0 || c.PromisedAmount != 0) && c.Outcome != OutcomePromise {
		errs = append(errs, FieldError{"outcome", "must be promise_to_pay when a promised date or amount is given"})
	}
	if c.PromisedDate != 0 && !c.SentAt.IsZero() && c.PromisedDate < DateOf(c.SentAt.UTC()) {
		errs = append(errs, FieldError{"promised_date", "is before the contact"})
	}
	return errs
}

// Validate checks the dispute's own fields (not its references).
func (d Dispute) Validate() []FieldError {
	var errs []FieldError
	errs = checkID(errs, "id", d.ID, true)
	errs = checkID(errs, "account_id", d.AccountID, true)
	errs = checkID(errs, "invoice_id", d.InvoiceID, true)
	errs = checkDate(errs, "opened_on", d.OpenedOn, true)
	errs = checkDate(errs, "resolved_on", d.ResolvedOn, false)
	if d.ResolvedOn != 0 && d.OpenedOn != 0 && d.ResolvedOn < d.OpenedOn {
		errs = append(errs, FieldError{"resolved_on", fmt.Sprintf("%s is before opened_on %s", d.ResolvedOn, d.OpenedOn)})
	}
	return checkText(errs, "reason", d.Reason)
}

// Normalize puts times in UTC at one-second precision, the form stores keep.
func (b *Batch) Normalize() {
	for i := range b.Accounts {
		b.Accounts[i].CreatedAt = NormalizeTime(b.Accounts[i].CreatedAt)
	}
	for i := range b.Contacts {
		b.Contacts[i].SentAt = NormalizeTime(b.Contacts[i].SentAt)
	}
}
