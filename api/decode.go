package api

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/duesight/duesight/data"
)

// Member names of the entity objects, in the order of the switch cases of
// their readers. They match the JSON tags of the data package's types.
var (
	accountFields = []string{"id", "name", "segment", "country", "currency", "time_zone", "terms_days",
		"credit_limit", "consent", "created_at"}
	invoiceFields = []string{"id", "account_id", "issue_date", "due_date", "amount", "currency", "delivered_by"}
	paymentFields = []string{"id", "account_id", "invoice_id", "date", "amount", "currency", "method"}
	contactFields = []string{"id", "account_id", "invoice_id", "channel", "sent_at", "outcome",
		"promised_date", "promised_amount"}
	disputeFields = []string{"id", "account_id", "invoice_id", "opened_on", "resolved_on", "reason"}

	scoreFields     = []string{"as_of", "invoices"}
	scoreItemFields = []string{"invoice_id", "invoice", "account"}
	eventsFields    = []string{"accounts", "invoices", "payments", "contacts", "disputes"}
)

func (r *jsonReader) date(dst *data.Date) {
	r.text("a string (YYYY-MM-DD date)", func(s string) error {
		if s == "" {
			*dst = 0
			return nil
		}
		d, err := data.ParseDate(s)
		if err != nil {
			return fmt.Errorf("%q is not a calendar date (want YYYY-MM-DD)", s)
		}
		*dst = d
		return nil
	})
}

func (r *jsonReader) channel(dst *data.Channel) {
	r.text("a string (channel name)", func(s string) (err error) {
		if s == "" {
			*dst = data.ChannelUnknown
			return nil
		}
		*dst, err = data.ParseChannel(s)
		return err
	})
}

func (r *jsonReader) account(a *data.Account) {
	r.object(accountFields, func(i int) {
		switch i {
		case 0:
			r.str(&a.ID)
		case 1:
			r.str(&a.Name)
		case 2:
			r.str(&a.Segment)
		case 3:
			r.str(&a.Country)
		case 4:
			r.str(&a.Currency)
		case 5:
			r.str(&a.TimeZone)
		case 6:
			r.intv(&a.TermsDays)
		case 7:
			r.int64v(&a.CreditLimit)
		case 8:
			r.text("a string (channels joined by |, e.g. email|sms)", func(s string) (err error) {
				a.Consent, err = data.ParseChannelSet(s)
				return err
			})
		case 9:
			r.timestamp(&a.CreatedAt)
		}
	})
}

func (r *jsonReader) invoice(v *data.Invoice) {
	r.object(invoiceFields, func(i int) {
		switch i {
		case 0:
			r.str(&v.ID)
		case 1:
			r.str(&v.AccountID)
		case 2:
			r.date(&v.IssueDate)
		case 3:
			r.date(&v.DueDate)
		case 4:
			r.int64v(&v.Amount)
		case 5:
			r.str(&v.Currency)
		case 6:
			r.channel(&v.DeliveredBy)
		}
	})
}

func (r *jsonReader) payment(p *data.Payment) {
	r.object(paymentFields, func(i int) {
		switch i {
		case 0:
			r.str(&p.ID)
		case 1:
			r.str(&p.AccountID)
		case 2:
			r.str(&p.InvoiceID)
		case 3:
			r.date(&p.Date)
		case 4:
			r.int64v(&p.Amount)
		case 5:
			r.str(&p.Currency)
		case 6:
			r.text("a string (payment method)", func(s string) (err error) {
				p.Method, err = data.ParseMethod(s)
				return err
			})
		}
	})
}

func (r *jsonReader) contact(c *data.Contact) {
	r.object(contactFields, func(i int) {
		switch i {
		case 0:
			r.str(&c.ID)
		case 1:
			r.str(&c.AccountID)
		case 2:
			r.str(&c.InvoiceID)
		case 3:
			r.channel(&c.Channel)
		case 4:
			r.timestamp(&c.SentAt)
		case 5:
			r.text("a string (outcome name)", func(s string) (err error) {
				c.Outcome, err = data.ParseOutcome(s)
				return err
			})
		case 6:
			r.date(&c.PromisedDate)
		case 7:
			r.int64v(&c.PromisedAmount)
		}
	})
}

func (r *jsonReader) dispute(d *data.Dispute) {
	r.object(disputeFields, func(i int) {
		switch i {
		case 0:
			r.str(&d.ID)
		case 1:
			r.str(&d.AccountID)
		case 2:
			r.str(&d.InvoiceID)
		case 3:
			r.date(&d.OpenedOn)
		case 4:
			r.date(&d.ResolvedOn)
		case 5:
			r.str(&d.Reason)
		}
	})
}

// readErr turns the reader's state after a document into an error (nil if
// it read cleanly).
func (r *jsonReader) readErr() error {
	if len(r.errs) > 0 {
		detail := "the body is not valid JSON of the documented shape"
		if r.limit == nil && len(r.errs) >= maxDecodeErrors {
			detail += fmt.Sprintf("; reading stopped after %d problems", maxDecodeErrors)
		}
		return newRequestError(kindMalformed, detail, r.errs...)
	}
	if r.limit != nil {
		return newRequestError(kindInvalid, "too many items in one request", *r.limit)
	}
	return nil
}

// decodeScoreRequest reads and checks a POST /v1/score body.
func decodeScoreRequest(body []byte, maxItems int) (*ScoreRequest, error) {
	req := &ScoreRequest{}
	r := newJSONReader(body)
	r.document(func() {
		r.object(scoreFields, func(i int) {
			switch i {
			case 0:
				r.timestamp(&req.AsOf)
			case 1:
				req.Items = make([]ScoreItem, 0, min(maxItems, 64))
				r.array(maxItems, "invoices", func(int) {
					req.Items = append(req.Items, ScoreItem{})
					it := &req.Items[len(req.Items)-1]
					r.object(scoreItemFields, func(i int) {
						switch i {
						case 0:
							r.str(&it.InvoiceID)
						case 1:
							if r.peek() != 'n' {
								it.Invoice = &data.Invoice{}
							}
							r.invoice(it.Invoice)
						case 2:
							if r.peek() != 'n' {
								it.Account = &data.Account{}
							}
							r.account(it.Account)
						}
					})
				})
			}
		})
	})
	if err := r.readErr(); err != nil {
		return nil, err
	}
	if errs := checkScoreRequest(req); len(errs) > 0 {
		return nil, newRequestError(kindInvalid, fmt.Sprintf("%d problem(s) with the invoices to score", len(errs)), errs...)
	}
	return req, nil
}

// checkScoreRequest checks what the JSON shape cannot: each item names
// exactly one invoice, inline rows are valid, as_of is in range.
func checkScoreRequest(req *ScoreRequest) []FieldError {
	var errs []FieldError
	add := func(path, reason string) {
		if len(errs) < maxProblemErrors {
			errs = append(errs, FieldError{Path: path, Reason: reason})
		}
	}
	if !req.AsOf.IsZero() && (req.AsOf.Before(data.MinTime) || req.AsOf.After(data.MaxTime)) {
		add("/as_of", fmt.Sprintf("is outside %s..%s", data.MinTime.Format(time.RFC3339), data.MaxTime.Format(time.RFC3339)))
	}
	if len(req.Items) == 0 {
		add("/invoices", "must hold at least one invoice")
	}
	for i := range req.Items {
		it := &req.Items[i]
		base := "/invoices/" + strconv.Itoa(i)
		switch {
		case it.InvoiceID != "" && it.Invoice != nil:
			add(base, "give either invoice_id or invoice, not both")
			continue
		case it.InvoiceID == "" && it.Invoice == nil:
			add(base, "needs invoice_id (a stored invoice) or invoice (an inline one)")
			continue
		case it.Invoice == nil && it.Account != nil:
			add(base+"/account", "is allowed only with an inline invoice")
			continue
		case it.InvoiceID != "":
			if reason := checkID(it.InvoiceID); reason != "" {
				add(base+"/invoice_id", reason)
			}
			continue
		}
		for _, e := range it.Invoice.Validate() {
			add(base+"/invoice/"+e.Field, e.Reason)
		}
		if it.Account != nil {
			for _, e := range it.Account.Validate() {
				add(base+"/account/"+e.Field, e.Reason)
			}
			if it.Account.ID != it.Invoice.AccountID {
				add(base+"/account/id", "must equal invoice.account_id")
			}
			it.Account.CreatedAt = data.NormalizeTime(it.Account.CreatedAt)
		}
	}
	return errs
}

// checkID returns why id is not a usable identifier, or "".
func checkID(id string) string {
	switch {
	case id == "":
		return "is required"
	case len(id) > data.MaxIDLen:
		return fmt.Sprintf("is longer than %d bytes", data.MaxIDLen)
	case !utf8.ValidString(id):
		return "is not valid UTF-8"
	}
	for _, c := range id {
		if c < 0x20 || c == 0x7f {
			return "contains a control character"
		}
	}
	return ""
}

// decodeEvents reads a POST /v1/events body into a batch; maxRows bounds
// each of its five arrays. Row validation is the backend's (data.Ingest).
func decodeEvents(body []byte, maxRows int) (*data.Batch, error) {
	b := &data.Batch{}
	r := newJSONReader(body)
	r.document(func() {
		r.object(eventsFields, func(i int) {
			switch i {
			case 0:
				r.array(maxRows, "accounts", func(int) {
					b.Accounts = append(b.Accounts, data.Account{})
					r.account(&b.Accounts[len(b.Accounts)-1])
				})
			case 1:
				r.array(maxRows, "invoices", func(int) {
					b.Invoices = append(b.Invoices, data.Invoice{})
					r.invoice(&b.Invoices[len(b.Invoices)-1])
				})
			case 2:
				r.array(maxRows, "payments", func(int) {
					b.Payments = append(b.Payments, data.Payment{})
					r.payment(&b.Payments[len(b.Payments)-1])
				})
			case 3:
				r.array(maxRows, "contacts", func(int) {
					b.Contacts = append(b.Contacts, data.Contact{})
					r.contact(&b.Contacts[len(b.Contacts)-1])
				})
			case 4:
				r.array(maxRows, "disputes", func(int) {
					b.Disputes = append(b.Disputes, data.Dispute{})
					r.dispute(&b.Disputes[len(b.Disputes)-1])
				})
			}
		})
	})
	if err := r.readErr(); err != nil {
		return nil, err
	}
	if b.Len() == 0 {
		return nil, newRequestError(kindInvalid, "the batch holds no rows",
			FieldError{Path: "", Reason: "must hold at least one account, invoice, payment, contact or dispute"})
	}
	return b, nil
}

// queryParams parses a raw query string strictly: every name must be in
// allowed and appear at most once.
func queryParams(raw string, allowed ...string) (map[string]string, error) {
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return nil, newRequestError(kindMalformed, "the query string cannot be parsed",
			FieldError{In: inQuery, Path: "", Reason: "is not a valid URL query (" + queryParseReason(err) + ")"})
	}
	out := make(map[string]string, len(vals))
	var errs []FieldError
	names := make([]string, 0, len(vals))
	for k := range vals {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		v := vals[k]
		switch {
		case len(allowed) == 0:
			errs = append(errs, FieldError{In: inQuery, Path: k, Reason: "is not accepted: this endpoint takes no query parameters"})
		case !slices.Contains(allowed, k):
			errs = append(errs, FieldError{In: inQuery, Path: k, Reason: "is not a known parameter (known: " + strings.Join(allowed, ", ") + ")"})
		case len(v) > 1:
			errs = append(errs, FieldError{In: inQuery, Path: k, Reason: "is given more than once"})
		case !utf8.ValidString(v[0]):
			errs = append(errs, FieldError{In: inQuery, Path: k, Reason: "is not valid UTF-8"})
		default:
			out[k] = v[0]
		}
	}
	if len(errs) > 0 {
		return nil, newRequestError(kindMalformed, "bad query parameters", errs...)
	}
	return out, nil
}

// queryParseReason shortens url's parse errors (which quote the input).
func queryParseReason(err error) string {
	if strings.Contains(err.Error(), "semicolon") {
		return "';' is not a separator; use '&'"
	}
	return "bad percent-encoding"
}

// queryTime parses an optional RFC 3339 query parameter.
func queryTime(q map[string]string, name string) (time.Time, *FieldError) {
	s, ok := q[name]
	if !ok || s == "" {
		return time.Time{}, nil
	}
	t, err := parseTimestamp(s)
	if err != nil {
		return time.Time{}, &FieldError{In: inQuery, Path: name, Reason: err.Error()}
	}
	if t.Before(data.MinTime) || t.After(data.MaxTime) {
		return time.Time{}, &FieldError{In: inQuery, Path: name, Reason: fmt.Sprintf("is outside %s..%s",
			data.MinTime.Format(time.RFC3339), data.MaxTime.Format(time.RFC3339))}
	}
	return t, nil
}

// worklistParams are the checked parameters of GET /v1/worklist.
type worklistParams struct {
	asOf    time.Time
	segment string
	limit   int
	cursor  *cursor
}

// defaultWorklistLimit is the page size when limit is not given.
const defaultWorklistLimit = 50

// decodeWorklistQuery reads the query string of GET /v1/worklist.
func decodeWorklistQuery(raw string, maxLimit int) (*worklistParams, error) {
	q, err := queryParams(raw, "as_of", "limit", "segment", "cursor")
	if err != nil {
		return nil, err
	}
	p := &worklistParams{limit: min(defaultWorklistLimit, maxLimit)}
	var errs []FieldError
	t, fe := queryTime(q, "as_of")
	if fe != nil {
		errs = append(errs, *fe)
	}
	p.asOf = t
	if s, ok := q["limit"]; ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			errs = append(errs, FieldError{In: inQuery, Path: "limit", Reason: fmt.Sprintf("must be an integer in 1..%d", maxLimit)})
		} else {
			p.limit = n
		}
	}
	if s, ok := q["segment"]; ok {
		if reason := checkText(s); reason != "" {
			errs = append(errs, FieldError{In: inQuery, Path: "segment", Reason: reason})
		}
		p.segment = s
	}
	if s, ok := q["cursor"]; ok {
		c, err := decodeCursor(s)
		if err != nil {
			errs = append(errs, FieldError{In: inQuery, Path: "cursor", Reason: err.Error()})
		} else {
			p.cursor = c
			if _, given := q["segment"]; given && p.segment != c.segment {
				errs = append(errs, FieldError{In: inQuery, Path: "segment", Reason: "differs from the segment of the cursor's first page"})
			}
			if _, given := q["as_of"]; given && fe == nil && !p.asOf.Equal(c.asOf) {
				errs = append(errs, FieldError{In: inQuery, Path: "as_of", Reason: "differs from the as_of of the cursor's first page"})
			}
			p.segment, p.asOf = c.segment, c.asOf
		}
	}
	if len(errs) > 0 {
		return nil, newRequestError(kindMalformed, "bad worklist query", errs...)
	}
	return p, nil
}

// checkText returns why s is not acceptable free text (segment names), or "".
func checkText(s string) string {
	if len(s) > data.MaxTextLen {
		return fmt.Sprintf("is longer than %d bytes", data.MaxTextLen)
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return "contains a control character"
		}
	}
	return ""
}
