package data

import (
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Channel is a collection contact channel. Codes are persisted; never renumber.
type Channel uint8

const (
	ChannelUnknown Channel = 0
	Email          Channel = 1
	SMS            Channel = 2
	Call           Channel = 3
	Letter         Channel = 4
)

// Channels lists the contact channels in code order.
var Channels = []Channel{Email, SMS, Call, Letter}

var channelNames = [...]string{"unknown", "email", "sms", "call", "letter"}

func (c Channel) String() string {
	if int(c) < len(channelNames) {
		return channelNames[c]
	}
	return fmt.Sprintf("channel(%d)", c)
}

// Valid reports whether c is one of the four real channels.
func (c Channel) Valid() bool { return c >= Email && c <= Letter }

// ParseChannel parses a channel name (case-insensitive; "phone" is an alias of call,
// "mail"/"post" of letter, "text" of sms).
func ParseChannel(s string) (Channel, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "email", "e-mail":
		return Email, nil
	case "sms", "text":
		return SMS, nil
	case "call", "phone":
		return Call, nil
	case "letter", "mail", "post":
		return Letter, nil
	}
	return ChannelUnknown, fmt.Errorf("unknown channel %q (want email, sms, call or letter)", s)
}

func (c Channel) MarshalText() ([]byte, error) { return []byte(c.String()), nil }
func (c *Channel) UnmarshalText(b []byte) error {
	v, err := ParseChannel(string(b))
	*c = v
	return err
}

// ChannelSet is a set of channels, bit (1<<code). An account's Consent is the
// set of channels it may be contacted on; a channel not in the set is opted out.
type ChannelSet uint8

// AllChannels contains every channel.
const AllChannels ChannelSet = 1<<Email | 1<<SMS | 1<<Call | 1<<Letter

// Has reports whether c is in s.
func (s ChannelSet) Has(c Channel) bool { return s&(1<<c) != 0 }

// With returns s ∪ {c}.
func (s ChannelSet) With(c Channel) ChannelSet { return s | 1<<c }

// Valid reports whether s contains only real channels.
func (s ChannelSet) Valid() bool { return s&^AllChannels == 0 }

// String lists the channels joined by "|" ("email|letter"), "" for none.
func (s ChannelSet) String() string {
	var parts []string
	for _, c := range Channels {
		if s.Has(c) {
			parts = append(parts, c.String())
		}
	}
	return strings.Join(parts, "|")
}

// ParseChannelSet parses channel names separated by '|', ',', ';' or spaces;
// "all" means every channel, "" or "none" the empty set.
func ParseChannelSet(s string) (ChannelSet, error) {
	var out ChannelSet
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == '|' || r == ',' || r == ';' || r == ' ' }) {
		switch strings.ToLower(f) {
		case "all":
			out |= AllChannels
			continue
		case "none":
			continue
		}
		c, err := ParseChannel(f)
		if err != nil {
			return 0, err
		}
		out = out.With(c)
	}
	return out, nil
}

func (s ChannelSet) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
func (s *ChannelSet) UnmarshalText(b []byte) error {
	v, err := ParseChannelSet(string(b))
	*s = v
	return err
}

// Outcome is what a collection contact led to. Codes are persisted; never renumber.
type Outcome uint8

const (
	OutcomeUnknown      Outcome = 0  // sent; nothing heard yet
	OutcomeDelivered    Outcome = 1  // email/SMS/letter delivered
	OutcomeBounced      Outcome = 2  // undeliverable
	OutcomeOpened       Outcome = 3  // email opened / link followed
	OutcomeReplied      Outcome = 4  // customer wrote back
	OutcomeNoAnswer     Outcome = 5  // call not answered
	OutcomeVoicemail    Outcome = 6  // message left
	OutcomeConversation Outcome = 7  // spoke with the customer, no commitment
	OutcomePromise      Outcome = 8  // promise to pay (PromisedDate/Amount set)
	OutcomeDispute      Outcome = 9  // customer disputed the invoice
	OutcomeRefused      Outcome = 10 // customer refused to pay
)

var outcomeNames = [...]string{"unknown", "delivered", "bounced", "opened", "replied", "no_answer",
	"voicemail", "conversation", "promise_to_pay", "dispute", "refused"}

// Outcomes lists every outcome in code order.
var Outcomes = []Outcome{OutcomeUnknown, OutcomeDelivered, OutcomeBounced, OutcomeOpened, OutcomeReplied,
	OutcomeNoAnswer, OutcomeVoicemail, OutcomeConversation, OutcomePromise, OutcomeDispute, OutcomeRefused}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", o)
}

// Valid reports whether o is a defined outcome.
func (o Outcome) Valid() bool { return int(o) < len(outcomeNames) }

// ParseOutcome parses an outcome name (case-insensitive; "promise" and "ptp" are
// aliases of promise_to_pay, "" of unknown).
func ParseOutcome(s string) (Outcome, error) {
	k := strings.ToLower(strings.TrimSpace(s))
	switch k {
	case "":
		return OutcomeUnknown, nil
	case "promise", "ptp":
		return OutcomePromise, nil
	case "disputed":
		return OutcomeDispute, nil
	}
	for i, n := range outcomeNames {
		if n == k {
			return Outcome(i), nil
		}
	}
	return OutcomeUnknown, fmt.Errorf("unknown outcome %q (want one of %s)", s, strings.Join(outcomeNames[:], ", "))
}

func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }
func (o *Outcome) UnmarshalText(b []byte) error {
	v, err := ParseOutcome(string(b))
	*o = v
	return err
}

// Method is how a payment was made. A credit note or write-off applied to an
// invoice is recorded as a Payment with that method: it reduces the invoice's
// open amount like cash does. Codes are persisted; never renumber.
type Method uint8

const (
	MethodUnknown      Method = 0
	MethodBankTransfer Method = 1
	MethodCard         Method = 2
	MethodCheck        Method = 3
	MethodDirectDebit  Method = 4
	MethodCash         Method = 5
	MethodCreditNote   Method = 6
	MethodWriteOff     Method = 7
	MethodOther        Method = 8
)

var methodNames = [...]string{"unknown", "bank_transfer", "card", "check", "direct_debit", "cash",
	"credit_note", "write_off", "other"}

func (m Method) String() string {
	if int(m) < len(methodNames) {
		return methodNames[m]
	}
	return fmt.Sprintf("method(%d)", m)
}

// Valid reports whether m is a defined method.
func (m Method) Valid() bool { return int(m) < len(methodNames) }

// IsCash reports whether m moves money (everything but credit notes and write-offs).
func (m Method) IsCash() bool { return m != MethodCreditNote && m != MethodWriteOff }

// ParseMethod parses a payment method name (case-insensitive; "" is unknown).
func ParseMethod(s string) (Method, error) {
	k := strings.ToLower(strings.TrimSpace(s))
	switch k {
	case "":
		return MethodUnknown, nil
	case "wire", "transfer", "ach", "sepa":
		return MethodBankTransfer, nil
	case "cheque":
		return MethodCheck, nil
	case "credit_memo", "credit":
		return MethodCreditNote, nil
	}
	for i, n := range methodNames {
		if n == k {
			return Method(i), nil
		}
	}
	return MethodUnknown, fmt.Errorf("unknown payment method %q (want one of %s)", s, strings.Join(methodNames[:], ", "))
}

func (m Method) MarshalText() ([]byte, error) { return []byte(m.String()), nil }
func (m *Method) UnmarshalText(b []byte) error {
	v, err := ParseMethod(string(b))
	*m = v
	return err
}

// Account is a customer that is invoiced.
type Account struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"` // personal data: never logged
	Segment     string     `json:"segment"`
	Country     string     `json:"country"`      // ISO 3166-1 alpha-2 preferred; any short code accepted
	Currency    string     `json:"currency"`     // ISO 4217 code of the account's default currency
	TimeZone    string     `json:"time_zone"`    // IANA zone, used only for contact timing
	TermsDays   int        `json:"terms_days"`   // default payment terms, days from issue to due
	CreditLimit int64      `json:"credit_limit"` // minor units of Currency; 0 = no limit
	Consent     ChannelSet `json:"consent"`      // channels the account may be contacted on
	CreatedAt   time.Time  `json:"created_at"`   // UTC
}

// LogValue redacts the account name.
func (a Account) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", a.ID), slog.String("segment", a.Segment), slog.String("country", a.Country))
}

// Equal reports whether a and b hold the same values.
func (a Account) Equal(b Account) bool {
	return a.ID == b.ID && a.Name == b.Name && a.Segment == b.Segment && a.Country == b.Country &&
		a.Currency == b.Currency && a.TimeZone == b.TimeZone && a.TermsDays == b.TermsDays &&
		a.CreditLimit == b.CreditLimit && a.Consent == b.Consent && a.CreatedAt.Equal(b.CreatedAt)
}

// Invoice is an amount billed to an account, due on DueDate.
type Invoice struct {
	ID        string `json:"id"`
	AccountID string `json:"account_id"`
	IssueDate Date   `json:"issue_date"`
	DueDate   Date   `json:"due_date"`
	Amount    int64  `json:"amount"` // minor units, > 0
	Currency  string `json:"currency"`
	// DeliveredBy is how the invoice reached the customer (email for
	// electronic/paperless billing, letter for paper); ChannelUnknown if not known.
	DeliveredBy Channel `json:"delivered_by,omitempty"`
}

// Money returns the invoice amount with its currency.
func (i Invoice) Money() Money { return Money{Minor: i.Amount, Currency: i.Currency} }

// TermsDays returns DueDate − IssueDate in days.
func (i Invoice) TermsDays() int { return i.DueDate.Sub(i.IssueDate) }

// LogValue omits the amount.
func (i Invoice) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", i.ID), slog.String("account", i.AccountID))
}

// Payment is money (or a credit note / write-off) received from an account.
// InvoiceID is empty for an unapplied payment.
type Payment struct {
	ID        string `json:"id"`
	AccountID string `json:"account_id"`
	InvoiceID string `json:"invoice_id,omitempty"`
	Date      Date   `json:"date"`
	Amount    int64  `json:"amount"` // minor units, > 0
	Currency  string `json:"currency"`
	Method    Method `json:"method"`
}

// Money returns the payment amount with its currency.
func (p Payment) Money() Money { return Money{Minor: p.Amount, Currency: p.Currency} }

// LogValue omits the amount.
func (p Payment) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", p.ID), slog.String("account", p.AccountID))
}

// Contact is one collection touch: a message or call to an account, with what
// came of it. A promise to pay is a contact with Outcome == OutcomePromise and
// PromisedDate (and optionally PromisedAmount, in the account currency) set.
type Contact struct {
	ID             string    `json:"id"`
	AccountID      string    `json:"account_id"`
	InvoiceID      string    `json:"invoice_id,omitempty"`
	Channel        Channel   `json:"channel"`
	SentAt         time.Time `json:"sent_at"` // UTC
	Outcome        Outcome   `json:"outcome"`
	PromisedDate   Date      `json:"promised_date,omitempty"`
	PromisedAmount int64     `json:"promised_amount,omitempty"` // minor units; 0 = not stated
}

// Equal reports whether c and d hold the same values.
func (c Contact) Equal(d Contact) bool {
	return c.ID == d.ID && c.AccountID == d.AccountID && c.InvoiceID == d.InvoiceID && c.Channel == d.Channel &&
		c.SentAt.Equal(d.SentAt) && c.Outcome == d.Outcome && c.PromisedDate == d.PromisedDate &&
		c.PromisedAmount == d.PromisedAmount
}

// Dispute is a customer's challenge of an invoice. ResolvedOn is zero while open.
type Dispute struct {
	ID         string `json:"id"`
	AccountID  string `json:"account_id"`
	InvoiceID  string `json:"invoice_id"`
	OpenedOn   Date   `json:"opened_on"`
	ResolvedOn Date   `json:"resolved_on,omitempty"`
	Reason     string `json:"reason,omitempty"`
}

// OpenAt reports whether the dispute is open at the end of day d.
func (d Dispute) OpenAt(day Date) bool {
	return d.OpenedOn <= day && (d.ResolvedOn == 0 || d.ResolvedOn > day)
}
