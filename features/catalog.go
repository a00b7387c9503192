package features

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
)

// SchemaVersion is the version of the feature definitions. Bump it whenever a
// feature's meaning changes (a definition, a constant such as a half-life or
// a hash bucket count) even if no name changes: SchemaHash includes it, and a
// model trained on one schema must refuse vectors of another.
const SchemaVersion = 2

// Group names a family of features.
type Group string

const (
	GroupHistory  Group = "history"  // invoices paid before the as-of instant
	GroupOpen     Group = "open"     // the open position at the as-of instant
	GroupInvoice  Group = "invoice"  // the invoice being scored
	GroupDisputes Group = "disputes" // disputes opened and resolved
	GroupPromises Group = "promises" // promises to pay and whether they were kept
	GroupContacts Group = "contacts" // collection contacts and their outcomes
	GroupAccount  Group = "account"  // the account's stored (current) attributes
)

// Spec describes one feature column.
type Spec struct {
	Name       string `json:"name"`
	Group      Group  `json:"group"`
	Unit       string `json:"unit"`
	Definition string `json:"definition"`
	// Missing says when the value is NaN ("" = never).
	Missing string `json:"missing,omitempty"`
}

// Tuning constants. They are part of the feature definitions: changing one
// requires bumping SchemaVersion.
const (
	// HalfLifeDays is the half-life of the recency weights of
	// hist_days_late_ewm and hist_late_ratio_ewm: an invoice closed Δ days
	// before the latest closing weighs 2^(−Δ/HalfLifeDays).
	HalfLifeDays = 90
	// TrendN is the number of most recently paid invoices that
	// hist_days_late_trend compares with the whole history.
	TrendN = 5
	// ContactWindowDays is the look-back of the contacts_90d_* features.
	ContactWindowDays = 90
	// MaterialWriteOff is the share of an invoice's amount that write-offs
	// must exceed for the invoice to count as written off (unpaid) rather
	// than paid; smaller write-offs (rounding differences, bank fees) are
	// treated like the payment they complete. Used by features and labels.
	MaterialWriteOff = 0.05
	// SegmentBuckets and CountryBuckets are the widths of the hashed one-hot
	// encodings of Account.Segment and Account.Country.
	SegmentBuckets = 8
	CountryBuckets = 16
)

// Feature column indices, in catalog order.
const (
	fInvoicesN = iota
	fSettledN
	fLateN
	fLateRatio
	fLateAmountRatio
	fDaysLateMean
	fDaysLateMedian
	fDaysLateP90
	fDaysLateMax
	fDaysLateStd
	fDaysLateEWM
	fLateRatioEWM
	fDaysToPayMean
	fDaysLateTrend
	fWriteOffN
	fCreditNoteN
	fUnappliedN
	fDaysSinceLastPayment
	fDaysSinceLastInvoice
	fPayMonthEndShare
	fPayMidMonthShare
	fPayTopWeekdayShare
	fInvDueToPayWeekday

	fOpenN
	fOpenAmountLog
	fOpenAmountRatio
	fOverdueN
	fOverdueAmountRatio
	fOverdueOldestDays
	fCreditLimitUse
	fOpenDisputedN

	fInvAmountLog
	fInvAmountRelMean
	fInvAmountLogZ
	fInvTermsDays
	fInvTermsVsAccount
	fInvIssueWeekday
	fInvDueWeekday
	fInvIssueDayOfMonth
	fInvDueDayOfMonth
	fInvIssueDaysToMonthEnd
	fInvDueDaysToMonthEnd
	fInvIssueMonth
	fInvDueMonth
	fInvAgeDays
	fInvDaysToDue
	fInvPaidFraction
	fInvOpenDisputes
	fInvContactsN
	fInvDeliveredEmail
	fInvDeliveredSMS
	fInvDeliveredCall
	fInvDeliveredLetter
	fInvSameCurrency

	fDisputesN
	fDisputesOpen
	fDisputesPerInvoice
	fDisputesDaysSinceLast
	fDisputesResolveDaysMean

	fPromisesN
	fPromisesKept
	fPromisesBroken
	fPromisesPending
	fPromisesKeptRatio

	fContacts90Email
	fContacts90SMS
	fContacts90Call
	fContacts90Letter
	fContacts90Responded
	fContacts90Bounced
	fContactsN
	fResponseRateEmail
	fResponseRateSMS
	fResponseRateCall
	fResponseRateLetter
	fDaysSinceLastContact

	fTenureDays
	fAcctTermsDays
	fHasCreditLimit
	fCreditLimitLog
	fConsentN
	fSegmentH0
	fCountryH0  = fSegmentH0 + SegmentBuckets
	numFeatures = fCountryH0 + CountryBuckets
)

// NumFeatures is the number of feature columns (len(Catalog())).
const NumFeatures = numFeatures

// Unit strings.
const (
	unitCount   = "count"
	unitRatio   = "ratio"
	unitDays    = "days"
	unitLog     = "log10(major units)"
	unitFlag    = "0/1"
	unitWeekday = "weekday (0=Sunday … 6=Saturday)"
)

var catalog = buildCatalog()

func buildCatalog() []Spec {
	s := make([]Spec, numFeatures)
	set := func(i int, name string, g Group, unit, def, missing string) {
		s[i] = Spec{Name: name, Group: g, Unit: unit, Definition: def, Missing: missing}
	}
	const noPaid = "no invoice paid before as-of"
	const paidNote = " Paid invoices are those whose open amount reached ≤ 0 through payments, credit notes and " +
		"immaterial write-offs (see MaterialWriteOff) before as-of; days late = closing date − due date " +
		"(negative = early)."
	h := GroupHistory
	set(fInvoicesN, "hist_invoices_n", h, unitCount, "Invoices of the account issued before as-of.", "")
	set(fSettledN, "hist_paid_n", h, unitCount, "Invoices paid before as-of."+paidNote, "")
	set(fLateN, "hist_late_n", h, unitCount, "Paid invoices with days late > 0."+paidNote, "")
	set(fLateRatio, "hist_late_ratio", h, unitRatio, "hist_late_n / hist_paid_n.", noPaid)
	set(fLateAmountRatio, "hist_late_amount_ratio", h, unitRatio,
		"Σ amount of late paid invoices / Σ amount of paid invoices, over invoices in the account currency.",
		"no invoice in the account currency paid before as-of")
	set(fDaysLateMean, "hist_days_late_mean", h, unitDays, "Mean days late of paid invoices.", noPaid)
	set(fDaysLateMedian, "hist_days_late_median", h, unitDays,
		"Median days late of paid invoices at histogram resolution: the upper bound of the first bin whose "+
			"cumulative count reaches half the paid invoices. Bin upper bounds: "+binBoundsText()+
			", the last bin (>365) reporting 366; the result is clamped to [min, max] days late.", noPaid)
	set(fDaysLateP90, "hist_days_late_p90", h, unitDays,
		"90th percentile of days late of paid invoices, with the histogram rule of hist_days_late_median.", noPaid)
	set(fDaysLateMax, "hist_days_late_max", h, unitDays, "Maximum days late of paid invoices.", noPaid)
	set(fDaysLateStd, "hist_days_late_std", h, unitDays,
		"Population standard deviation of days late of paid invoices: sqrt(Σx²/n − (Σx/n)²).", noPaid)
	set(fDaysLateEWM, "hist_days_late_ewm", h, unitDays,
		"Recency-weighted mean days late of paid invoices: Σ wₖ·xₖ / Σ wₖ with wₖ = 2^(−(c − cₖ)/90), "+
			"cₖ the day invoice k was closed (its issue date if it was prepaid) and c the latest such day; "+
			"half-life 90 days.", noPaid)
	set(fLateRatioEWM, "hist_late_ratio_ewm", h, unitRatio,
		"Recency-weighted share of late paid invoices, with the weights of hist_days_late_ewm.", noPaid)
	set(fDaysToPayMean, "hist_days_to_pay_mean", h, unitDays, "Mean (closing date − issue date) of paid invoices.", noPaid)
	set(fDaysLateTrend, "hist_days_late_trend", h, unitDays,
		"Mean days late of the 5 most recently closed paid invoices − hist_days_late_mean.",
		"5 or fewer invoices paid before as-of")
	set(fWriteOffN, "hist_writeoff_n", h, unitCount,
		"Invoices closed before as-of with write-offs above MaterialWriteOff (5%) of their amount; they count as "+
			"unpaid, not in the paid statistics.", "")
	set(fCreditNoteN, "hist_credit_note_n", h, unitCount, "Credit notes (payments with method credit_note) dated before as-of.", "")
	set(fUnappliedN, "hist_unapplied_payments_n", h, unitCount, "Payments without an invoice dated before as-of.", "")
	set(fDaysSinceLastPayment, "hist_days_since_last_payment", h, unitDays,
		"as-of − midnight UTC of the latest cash payment (any method but credit note and write-off, applied or not), "+
			"in fractional days.", "no cash payment before as-of")
	set(fDaysSinceLastInvoice, "hist_days_since_last_invoice", h, unitDays,
		"as-of − midnight UTC of the latest issue date of an earlier invoice, in fractional days.",
		"no invoice issued before as-of")
	// Payment-run pattern: many payers settle in runs (weekly, mid-month,
	// month-end), so where a due date falls relative to the run predicts
	// lateness. Counted over distinct days with a cash payment.
	const noPayDay = "no cash payment before as-of"
	set(fPayMonthEndShare, "hist_pay_monthend_share", h, unitRatio,
		"Share of the distinct days with a cash payment before as-of that are one of the last 3 days of their month "+
			"or the 1st (a month-end payment run).", noPayDay)
	set(fPayMidMonthShare, "hist_pay_midmonth_share", h, unitRatio,
		"Share of the distinct days with a cash payment before as-of that are the 14th, 15th or 16th of their month.", noPayDay)
	set(fPayTopWeekdayShare, "hist_pay_top_weekday_share", h, unitRatio,
		"Share of the distinct days with a cash payment before as-of that fall on the account's most frequent "+
			"payment weekday (1/7 = no weekly pattern, 1 = one weekday only).", noPayDay)
	set(fInvDueToPayWeekday, "inv_due_days_to_pay_weekday", GroupInvoice, unitDays,
		"Days from the due date forward to the account's most frequent cash-payment weekday (0–6; ties: the "+
			"earliest weekday from Sunday).", noPayDay)

	o := GroupOpen
	const noMean = "no invoice in the account currency issued before as-of (no usual amount)"
	set(fOpenN, "open_n", o, unitCount, "Invoices issued before as-of and not closed before as-of.", "")
	set(fOpenAmountLog, "open_amount_log", o, unitLog,
		"log10(1 + Σ open amount of open invoices in the account currency, in major units). Not converted between currencies.", "")
	set(fOpenAmountRatio, "open_amount_ratio", o, unitRatio,
		"Σ open amount of open invoices in the account currency / mean amount of the account-currency invoices issued before as-of.",
		noMean)
	set(fOverdueN, "overdue_n", o, unitCount,
		"Open invoices whose due date is before the as-of date, i.e. midnight UTC after the due date ≤ as-of.", "")
	set(fOverdueAmountRatio, "overdue_amount_ratio", o, unitRatio,
		"Σ open amount of overdue account-currency invoices / mean invoice amount (as open_amount_ratio).", noMean)
	set(fOverdueOldestDays, "overdue_oldest_days", o, unitDays,
		"max over overdue invoices of (as-of − midnight UTC of the due date), in fractional days.", "no overdue invoice")
	set(fCreditLimitUse, "credit_limit_use", o, unitRatio,
		"Σ open amount of account-currency invoices / account credit limit.", "the account has no credit limit (0)")
	set(fOpenDisputedN, "open_disputed_n", o, unitCount, "Open invoices with at least one open dispute.", "")

	in := GroupInvoice
	set(fInvAmountLog, "inv_amount_log", in, unitLog,
		"log10(amount in major units of the invoice's own currency). Not converted between currencies.", "")
	set(fInvAmountRelMean, "inv_amount_rel_mean", in, unitRatio,
		"amount / mean amount of the account-currency invoices issued before as-of.",
		"no earlier invoice in the account currency, or the invoice is in another currency")
	set(fInvAmountLogZ, "inv_amount_log_z", in, "z-score",
		"(ln amount − mean ln amount) / std ln amount over account-currency invoices issued before as-of "+
			"(population std).", "fewer than 2 earlier account-currency invoices, zero spread, or another currency")
	set(fInvTermsDays, "inv_terms_days", in, unitDays, "due date − issue date.", "")
	set(fInvTermsVsAccount, "inv_terms_vs_account", in, unitDays, "inv_terms_days − the account's default terms days.", "")
	set(fInvIssueWeekday, "inv_issue_weekday", in, unitWeekday, "Weekday of the issue date.", "")
	set(fInvDueWeekday, "inv_due_weekday", in, unitWeekday, "Weekday of the due date.", "")
	set(fInvIssueDayOfMonth, "inv_issue_day_of_month", in, "day (1–31)", "Day of month of the issue date.", "")
	set(fInvDueDayOfMonth, "inv_due_day_of_month", in, "day (1–31)", "Day of month of the due date.", "")
	set(fInvIssueDaysToMonthEnd, "inv_issue_days_to_month_end", in, unitDays,
		"Last day of the issue date's month − issue date (0 on the last day).", "")
	set(fInvDueDaysToMonthEnd, "inv_due_days_to_month_end", in, unitDays,
		"Last day of the due date's month − due date (0 on the last day).", "")
	set(fInvIssueMonth, "inv_issue_month", in, "month (1–12)", "Calendar month of the issue date.", "")
	set(fInvDueMonth, "inv_due_month", in, "month (1–12)", "Calendar month of the due date (year-end and summer slowdowns).", "")
	set(fInvAgeDays, "inv_age_days", in, unitDays, "as-of − midnight UTC of the issue date, in fractional days (0 at the issue snapshot).", "")
	set(fInvDaysToDue, "inv_days_to_due", in, unitDays,
		"midnight UTC of the due date − as-of, in fractional days (negative once overdue).", "")
	set(fInvPaidFraction, "inv_paid_fraction", in, unitRatio,
		"(amount − open amount) / amount of this invoice as of as-of, counting payments applied to it before as-of "+
			"(also payments made before it was issued).", "")
	set(fInvOpenDisputes, "inv_open_disputes", in, unitCount, "Disputes of this invoice open at as-of.", "")
	set(fInvContactsN, "inv_contacts_n", in, unitCount, "Contacts about this invoice sent before as-of (saturates at 255).", "")
	set(fInvDeliveredEmail, "inv_delivered_email", in, unitFlag, "1 if the invoice was delivered by email.", "delivery channel unknown")
	set(fInvDeliveredSMS, "inv_delivered_sms", in, unitFlag, "1 if the invoice was delivered by SMS.", "delivery channel unknown")
	set(fInvDeliveredCall, "inv_delivered_call", in, unitFlag, "1 if the invoice was delivered by call.", "delivery channel unknown")
	set(fInvDeliveredLetter, "inv_delivered_letter", in, unitFlag, "1 if the invoice was delivered by letter.", "delivery channel unknown")
	set(fInvSameCurrency, "inv_same_currency", in, unitFlag, "1 if the invoice currency is the account currency.", "")

	d := GroupDisputes
	set(fDisputesN, "disputes_n", d, unitCount, "Disputes opened before as-of.", "")
	set(fDisputesOpen, "disputes_open", d, unitCount, "Disputes opened before as-of and not resolved before as-of.", "")
	set(fDisputesPerInvoice, "disputes_per_invoice", d, unitRatio, "disputes_n / hist_invoices_n.", "no invoice issued before as-of")
	set(fDisputesDaysSinceLast, "disputes_days_since_last", d, unitDays,
		"as-of − midnight UTC of the latest dispute opening, in fractional days.", "no dispute before as-of")
	set(fDisputesResolveDaysMean, "disputes_resolve_days_mean", d, unitDays,
		"Mean (resolved on − opened on) of disputes resolved before as-of.", "no dispute resolved before as-of")

	const promiseNote = " A promise is a contact with outcome promise_to_pay and a promised date. It is kept once " +
		"cash payments of the account (applied or not) dated from the promise's UTC date through the promised date " +
		"sum to its target: the promised amount, else the open amount of the named open invoice, else 1 minor unit. " +
		"It is broken once the day after the promised date has begun (midnight UTC ≤ as-of) without being kept."
	p := GroupPromises
	set(fPromisesN, "promises_n", p, unitCount, "Contacts with outcome promise_to_pay sent before as-of."+promiseNote, "")
	set(fPromisesKept, "promises_kept_n", p, unitCount, "Promises kept before as-of."+promiseNote, "")
	set(fPromisesBroken, "promises_broken_n", p, unitCount, "Promises broken at as-of."+promiseNote, "")
	set(fPromisesPending, "promises_pending_n", p, unitCount, "Promises neither kept nor broken at as-of."+promiseNote, "")
	set(fPromisesKeptRatio, "promises_kept_ratio", p, unitRatio, "promises_kept_n / (promises_kept_n + promises_broken_n).",
		"no promise kept or broken at as-of")

	const window = " sent before as-of on a UTC date ≥ as-of's UTC date − 90 days (at most the 128 latest are kept)"
	c := GroupContacts
	set(fContacts90Email, "contacts_90d_email", c, unitCount, "Email contacts"+window+".", "")
	set(fContacts90SMS, "contacts_90d_sms", c, unitCount, "SMS contacts"+window+".", "")
	set(fContacts90Call, "contacts_90d_call", c, unitCount, "Call contacts"+window+".", "")
	set(fContacts90Letter, "contacts_90d_letter", c, unitCount, "Letter contacts"+window+".", "")
	set(fContacts90Responded, "contacts_90d_responded", c, unitCount,
		"Contacts"+window+" whose outcome is a response: opened, replied, conversation, promise_to_pay, dispute or refused.", "")
	set(fContacts90Bounced, "contacts_90d_bounced", c, unitCount, "Contacts"+window+" with outcome bounced.", "")
	set(fContactsN, "contacts_n", c, unitCount, "Contacts sent before as-of.", "")
	const rate = " contacts sent before as-of whose outcome is a response (see contacts_90d_responded) / all of them."
	set(fResponseRateEmail, "contacts_response_rate_email", c, unitRatio, "Email"+rate, "no email contact before as-of")
	set(fResponseRateSMS, "contacts_response_rate_sms", c, unitRatio, "SMS"+rate, "no SMS contact before as-of")
	set(fResponseRateCall, "contacts_response_rate_call", c, unitRatio, "Call"+rate, "no call before as-of")
	set(fResponseRateLetter, "contacts_response_rate_letter", c, unitRatio, "Letter"+rate, "no letter before as-of")
	set(fDaysSinceLastContact, "contacts_days_since_last", c, unitDays,
		"as-of − the latest contact's SentAt, in fractional days.", "no contact before as-of")

	a := GroupAccount
	set(fTenureDays, "acct_tenure_days", a, unitDays,
		"as-of − Account.CreatedAt, in fractional days (negative if invoiced before the account record was created).",
		"CreatedAt unset")
	set(fAcctTermsDays, "acct_terms_days", a, unitDays, "Account default terms days.", "")
	set(fHasCreditLimit, "acct_has_credit_limit", a, unitFlag, "1 if the account has a credit limit (CreditLimit > 0).", "")
	set(fCreditLimitLog, "acct_credit_limit_log", a, unitLog, "log10(credit limit in major units of the account currency).",
		"no credit limit")
	set(fConsentN, "acct_consent_n", a, unitCount, "Number of channels the account consents to be contacted on (0–4).", "")
	for b := range SegmentBuckets {
		set(fSegmentH0+b, "acct_segment_h"+strconv.Itoa(b), a, unitFlag,
			fmt.Sprintf("1 if FNV-1a-32(lower-cased, trimmed Account.Segment) mod %d = %d, else 0 (hashed one-hot).",
				SegmentBuckets, b), "segment empty")
	}
	for b := range CountryBuckets {
		set(fCountryH0+b, "acct_country_h"+strconv.Itoa(b), a, unitFlag,
			fmt.Sprintf("1 if FNV-1a-32(upper-cased, trimmed Account.Country) mod %d = %d, else 0 (hashed one-hot).",
				CountryBuckets, b), "country empty")
	}
	return s
}

// Catalog returns the feature specs in column order. The order is part of
// the schema (see SchemaHash).
func Catalog() []Spec { return slices.Clone(catalog) }

// Names returns the feature names in column order.
func Names() []string {
	out := make([]string, len(catalog))
	for i, s := range catalog {
		out[i] = s.Name
	}
	return out
}

// SchemaHash identifies the feature schema: the hex SHA-256 (first 16 bytes)
// of "duesight-features/v<SchemaVersion>\n" followed by each feature name and
// a newline, in column order. Models store it and refuse vectors whose hash
// differs.
func SchemaHash() string { return schemaHash }

var schemaHash = computeSchemaHash()

func computeSchemaHash() string {
	h := sha256.New()
	fmt.Fprintf(h, "duesight-features/v%d\n", SchemaVersion)
	for _, s := range catalog {
		h.Write([]byte(s.Name))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
