package synth

import (
	"errors"
	"fmt"
	"slices"

	"github.com/duesight/duesight/data"
)

// Model holds every behavioural parameter of the generator. DefaultModel
// returns the documented defaults (see the package documentation for the
// formulas they enter); callers may copy and change fields. Days are calendar
// days; "logit" values are added inside a logistic function.
type Model struct {
	PayerTypes []PayerType `json:"payer_types"`
	Segments   []Segment   `json:"segments"`
	Markets    []Market    `json:"markets"`

	// Account mix.
	HoldoutShare      float64    `json:"holdout_share"`       // accounts never contacted
	AnyDayShare       float64    `json:"any_day_share"`       // accounts that pay on any day (cards), incl. weekends
	HolidayPauseShare float64    `json:"holiday_pause_share"` // accounts that pay nothing 22 Dec – 2 Jan
	RunShare          [4]float64 `json:"run_share"`           // payment runs: daily, weekly, semimonthly, monthly
	RunShift          [4]float64 `json:"run_shift_days"`      // added to μ for each run kind (planning ahead)
	ChurnPerYear      float64    `json:"churn_per_year"`      // hazard of an account stopping to buy
	CreatedInWindow   float64    `json:"created_in_window"`   // share of accounts created inside [From, To)
	CreditLimitShare  float64    `json:"credit_limit_share"`  // accounts with a credit limit
	CreditLimitMonths [2]float64 `json:"credit_limit_months"` // limit = U(a,b) × monthly billing (median amount × rate)
	OptOut            [5]float64 `json:"opt_out"`             // P(opted out) by channel code (letter is never opted out)
	InvoiceRateScale  float64    `json:"invoice_rate_scale"`  // multiplies every segment's InvoicesPerMonth
	RecurringShare    float64    `json:"recurring_share"`     // accounts billed once a month on a fixed day

	// Per-invoice timing model (days).
	AmountSigma     float64    `json:"amount_sigma"`      // log-sd of an account's invoice amounts
	AccountSigma    float64    `json:"account_sigma"`     // log-sd of account medians around the segment median
	AmountEffect    float64    `json:"amount_effect"`     // days added to μ per log-sd above the account median
	LetterDelay     float64    `json:"letter_delay"`      // days added to μ when the invoice is delivered by letter
	NewAccountDelay float64    `json:"new_account_delay"` // days added to μ × exp(−tenure/TenureScale)
	TenureScale     float64    `json:"tenure_scale"`      // days
	DecemberDelay   float64    `json:"december_delay"`    // days added when due 1 Dec – 10 Jan
	AugustDelay     float64    `json:"august_delay"`      // days added when due in August in a European market
	QuarterEndShift float64    `json:"quarter_end_shift"` // days added when due in the last 10 days of a quarter
	ShockRho        float64    `json:"shock_rho"`         // AR(1) coefficient of the monthly shock
	MuRange         [2]float64 `json:"mu_range"`          // clamp of μ

	// Payment paths.
	CancelShare     float64 `json:"cancel_share"`      // invoices cancelled by a full credit note
	CreditNoteShare float64 `json:"credit_note_share"` // invoices partly credited (5–30%) before payment
	UnappliedShare  float64 `json:"unapplied_share"`   // cash payments followed by an unapplied payment
	PartialGap      [2]int  `json:"partial_gap"`       // days between first and last instalment, U{a..b}
	WriteOffAfter   [2]int  `json:"write_off_after"`   // days after due a never-paid invoice is written off, U{a..b}
	NeverPayPartial float64 `json:"never_pay_partial"` // never-paid invoices that got a part payment first
	MaxNeverPay     float64 `json:"max_never_pay"`     // cap of P(never paid)
	MaxDispute      float64 `json:"max_dispute"`       // cap of P(dispute)

	DisputeOpenMin     int     `json:"dispute_open_min"` // days after issue, U{min..max}
	DisputeOpenMax     int     `json:"dispute_open_max"`
	DisputeDurationMin int     `json:"dispute_duration_min"` // days from opening to resolution, U{min..max}
	DisputeDurationMax int     `json:"dispute_duration_max"`
	DisputeCustomerWin float64 `json:"dispute_customer_win"` // resolved by a full credit note
	DisputeSplit       float64 `json:"dispute_split"`        // resolved by a partial credit note + cash
	DisputePayLag      int     `json:"dispute_pay_lag"`      // cash follows resolution after U{1..lag} days, then the pay run

	// Contact policy.
	ReminderDaysBefore int            `json:"reminder_days_before"` // pre-due reminder, days before due
	DunningDays        []int          `json:"dunning_days"`         // dunning steps, days after due
	DunningChannels    []data.Channel `json:"dunning_channels"`     // preferred channel per step (falls back to email, then letter)
	PolicyHour         [5]int         `json:"policy_hour"`          // local send hour by channel code
	RandomHours        [2]int         `json:"random_hours"`         // randomised regime: local hour U{a..b}
	RandomDaySpread    int            `json:"random_day_spread"`    // randomised regime: step day + U{0..n}; reminder due − U{1..n+1}

	// Contact response: P(response) = σ(α + channel + hour + weekday + stage).
	ChannelBase      [5]float64 `json:"channel_base"`      // logit by channel code
	ChannelSD        float64    `json:"channel_sd"`        // account-level noise of channel effects
	PreferredBoost   float64    `json:"preferred_boost"`   // logit added for the account's preferred channel
	PreferredShare   [5]float64 `json:"preferred_share"`   // which channel is preferred (among consented)
	HourPenalty      [2]float64 `json:"hour_penalty"`      // w ~ U(a,b); hour term −w·(d/4)², d = circular distance to best hour
	WeekdayBoost     float64    `json:"weekday_boost"`     // logit for the account's best weekday
	WeekendPenalty   float64    `json:"weekend_penalty"`   // logit subtracted on Saturday/Sunday (local)
	WeekdaySD        float64    `json:"weekday_sd"`        // account-level noise per weekday
	StageEffect      []float64  `json:"stage_effect"`      // logit by step: reminder, dunning 1..n
	PromiseShare     [2]float64 `json:"promise_share"`     // share of responses that are promises, U(a,b)
	CallPromise      float64    `json:"call_promise"`      // multiplier of the promise share on calls
	MoveOpened       float64    `json:"move_opened"`       // P(an "opened" response moves the payment)
	MoveReplied      float64    `json:"move_replied"`      // P(a "replied" response moves the payment)
	MoveConversation float64    `json:"move_conversation"` // P(a conversation moves the payment)
	PromiseDays      [2]int     `json:"promise_days"`      // promised date = contact date + U{a..b}
	ResponseLag      [2]int     `json:"response_lag"`      // moved payment = next business day ≥ contact + lag, lag ~ account U{a..b}
	BounceRate       float64    `json:"bounce_rate"`       // emails that bounce (no response possible)
	RefuseShare      float64    `json:"refuse_share"`      // responses of never-payers that are refusals
}

// PayerType is one latent payer class. μ0 (days after due the account means
// to pay) ~ N(DelayMean, DelaySD); the logistic noise scale s ~ U(Scale);
// drift ~ N(DriftMean, DriftSD) days per year, starting at From or, with
// OnsetRandom, at a uniform date inside the window.
type PayerType struct {
	Name            string     `json:"name"`
	Weight          float64    `json:"weight"`
	DelayMean       float64    `json:"delay_mean"`
	DelaySD         float64    `json:"delay_sd"`
	Scale           [2]float64 `json:"scale"`
	DriftMean       float64    `json:"drift_mean"`
	DriftSD         float64    `json:"drift_sd"`
	OnsetRandom     bool       `json:"onset_random"`
	ShockSD         float64    `json:"shock_sd"`           // stationary sd of the monthly AR(1) shock, days
	NeverPay        float64    `json:"never_pay"`          // base P(never paid)
	NeverPayPerYear float64    `json:"never_pay_per_year"` // added per year after the drift onset
	DisputeRate     float64    `json:"dispute_rate"`       // mean P(dispute); account rate ~ Exp(mean)
	PartialRate     float64    `json:"partial_rate"`       // mean P(instalments); account rate ~ U(0, 2·mean)
	Responsiveness  float64    `json:"responsiveness"`     // mean α (logit); account α ~ N(mean, 0.5)
	PromiseKeep     float64    `json:"promise_keep"`       // P(a promise is kept)
}

// Segment is a customer segment: amount scale, billing rate and terms.
type Segment struct {
	Name             string    `json:"name"`
	Weight           float64   `json:"weight"`
	AmountMedianUSD  float64   `json:"amount_median_usd"`  // segment median invoice amount, USD
	InvoicesPerMonth float64   `json:"invoices_per_month"` // mean rate; account rate ~ LogNormal(mean, 0.5)
	Terms            []int     `json:"terms"`              // payment terms in days
	TermsWeights     []float64 `json:"terms_weights"`
	LetterShare      float64   `json:"letter_share"` // accounts billed on paper
	RunFactor        float64   `json:"run_factor"`   // multiplies the non-daily run shares
}

// Market is a country, time zone and currency. Holidays come from the
// country code (see the package documentation).
type Market struct {
	Country  string  `json:"country"`
	Zone     string  `json:"zone"`
	Currency string  `json:"currency"`
	Weight   float64 `json:"weight"`
	PerUSD   float64 `json:"per_usd"` // currency units per US dollar (scales amounts)
}

// DefaultModel returns the default parameters, tuned so that with the
// default Options about 38% of invoices are settled after their due date.
func DefaultModel() *Model {
	return &Model{
		PayerTypes: []PayerType{
			{Name: "prompt", Weight: 0.56, DelayMean: -7, DelaySD: 2, Scale: [2]float64{1, 2.5}, DriftSD: 1,
				ShockSD: 0.8, NeverPay: 0.0005, DisputeRate: 0.01, PartialRate: 0.02, Responsiveness: -0.3, PromiseKeep: 0.92},
			{Name: "late_payer", Weight: 0.19, DelayMean: 8, DelaySD: 5, Scale: [2]float64{2.5, 6}, DriftSD: 2,
				ShockSD: 2, NeverPay: 0.002, DisputeRate: 0.02, PartialRate: 0.06, Responsiveness: -0.9, PromiseKeep: 0.75},
			{Name: "chaotic", Weight: 0.10, DelayMean: 6, DelaySD: 8, Scale: [2]float64{7, 14}, DriftSD: 3,
				ShockSD: 5, NeverPay: 0.01, DisputeRate: 0.04, PartialRate: 0.1, Responsiveness: -1.4, PromiseKeep: 0.5},
			{Name: "deteriorating", Weight: 0.10, DelayMean: -3, DelaySD: 3, Scale: [2]float64{2.5, 6}, DriftMean: 25, DriftSD: 8,
				OnsetRandom: true, ShockSD: 3, NeverPay: 0.003, NeverPayPerYear: 0.12, DisputeRate: 0.03, PartialRate: 0.12,
				Responsiveness: -1.0, PromiseKeep: 0.4},
			{Name: "improving", Weight: 0.05, DelayMean: 18, DelaySD: 6, Scale: [2]float64{3, 7}, DriftMean: -14, DriftSD: 4,
				OnsetRandom: true, ShockSD: 2, NeverPay: 0.003, DisputeRate: 0.02, PartialRate: 0.05, Responsiveness: -0.6, PromiseKeep: 0.8},
		},
		Segments: []Segment{
			{Name: "consumer", Weight: 0.15, AmountMedianUSD: 120, InvoicesPerMonth: 1, Terms: []int{0, 15}, TermsWeights: []float64{0.5, 0.5}, LetterShare: 0.15, RunFactor: 0.2},
			{Name: "smb", Weight: 0.45, AmountMedianUSD: 900, InvoicesPerMonth: 1.2, Terms: []int{15, 30, 45}, TermsWeights: []float64{0.3, 0.6, 0.1}, LetterShare: 0.2, RunFactor: 0.8},
			{Name: "mid_market", Weight: 0.25, AmountMedianUSD: 4500, InvoicesPerMonth: 1.6, Terms: []int{30, 45, 60}, TermsWeights: []float64{0.6, 0.25, 0.15}, LetterShare: 0.15, RunFactor: 1.3},
			{Name: "enterprise", Weight: 0.10, AmountMedianUSD: 25000, InvoicesPerMonth: 2.2, Terms: []int{30, 60, 90}, TermsWeights: []float64{0.4, 0.4, 0.2}, LetterShare: 0.1, RunFactor: 1.8},
			{Name: "public_sector", Weight: 0.05, AmountMedianUSD: 9000, InvoicesPerMonth: 1.2, Terms: []int{30, 60}, TermsWeights: []float64{0.7, 0.3}, LetterShare: 0.5, RunFactor: 1.8},
		},
		Markets: []Market{
			{Country: "US", Zone: "America/New_York", Currency: "USD", Weight: 0.18, PerUSD: 1},
			{Country: "US", Zone: "America/Chicago", Currency: "USD", Weight: 0.06, PerUSD: 1},
			{Country: "US", Zone: "America/Los_Angeles", Currency: "USD", Weight: 0.07, PerUSD: 1},
			{Country: "GB", Zone: "Europe/London", Currency: "GBP", Weight: 0.10, PerUSD: 0.79},
			{Country: "DE", Zone: "Europe/Berlin", Currency: "EUR", Weight: 0.10, PerUSD: 0.92},
			{Country: "FR", Zone: "Europe/Paris", Currency: "EUR", Weight: 0.06, PerUSD: 0.92},
			{Country: "NL", Zone: "Europe/Amsterdam", Currency: "EUR", Weight: 0.04, PerUSD: 0.92},
			{Country: "JP", Zone: "Asia/Tokyo", Currency: "JPY", Weight: 0.07, PerUSD: 150},
			{Country: "IN", Zone: "Asia/Kolkata", Currency: "INR", Weight: 0.06, PerUSD: 83},
			{Country: "SG", Zone: "Asia/Singapore", Currency: "SGD", Weight: 0.04, PerUSD: 1.35},
			{Country: "AU", Zone: "Australia/Sydney", Currency: "AUD", Weight: 0.06, PerUSD: 1.5},
			{Country: "BR", Zone: "America/Sao_Paulo", Currency: "BRL", Weight: 0.06, PerUSD: 5},
			{Country: "ZA", Zone: "Africa/Johannesburg", Currency: "ZAR", Weight: 0.04, PerUSD: 18},
			{Country: "BH", Zone: "Asia/Bahrain", Currency: "BHD", Weight: 0.02, PerUSD: 0.376},
		},
		HoldoutShare:      0.05,
		AnyDayShare:       0.08,
		HolidayPauseShare: 0.7,
		RunShare:          [4]float64{0.55, 0.2, 0.1, 0.15},
		RunShift:          [4]float64{0, -3, -7, -14},
		ChurnPerYear:      0.08,
		CreatedInWindow:   0.35,
		CreditLimitShare:  0.6,
		CreditLimitMonths: [2]float64{2, 6},
		OptOut:            [5]float64{0, 0.05, 0.25, 0.3, 0},
		InvoiceRateScale:  1,
		RecurringShare:    0.4,

		AmountSigma:     0.7,
		AccountSigma:    0.9,
		AmountEffect:    1.5,
		LetterDelay:     2,
		NewAccountDelay: 4,
		TenureScale:     180,
		DecemberDelay:   3,
		AugustDelay:     2,
		QuarterEndShift: -2,
		ShockRho:        0.7,
		MuRange:         [2]float64{-20, 150},

		CancelShare:     0.01,
		CreditNoteShare: 0.03,
		UnappliedShare:  0.004,
		PartialGap:      [2]int{7, 35},
		WriteOffAfter:   [2]int{90, 180},
		NeverPayPartial: 0.3,
		MaxNeverPay:     0.5,
		MaxDispute:      0.3,

		DisputeOpenMin:     1,
		DisputeOpenMax:     25,
		DisputeDurationMin: 5,
		DisputeDurationMax: 60,
		DisputeCustomerWin: 0.25,
		DisputeSplit:       0.3,
		DisputePayLag:      10,

		ReminderDaysBefore: 3,
		DunningDays:        []int{7, 21, 45, 75},
		DunningChannels:    []data.Channel{data.Email, data.SMS, data.Call, data.Letter},
		PolicyHour:         [5]int{0, 10, 14, 11, 9},
		RandomHours:        [2]int{8, 20},
		RandomDaySpread:    4,

		ChannelBase:      [5]float64{0, 0, -0.2, 0.2, -0.8},
		ChannelSD:        0.3,
		PreferredBoost:   1.0,
		PreferredShare:   [5]float64{0, 0.45, 0.2, 0.25, 0.1},
		HourPenalty:      [2]float64{0.5, 1.3},
		WeekdayBoost:     0.4,
		WeekendPenalty:   0.7,
		WeekdaySD:        0.15,
		StageEffect:      []float64{0, 0.2, 0.3, 0.4, 0.1},
		PromiseShare:     [2]float64{0.15, 0.45},
		CallPromise:      1.5,
		MoveOpened:       0.25,
		MoveReplied:      0.5,
		MoveConversation: 0.6,
		PromiseDays:      [2]int{2, 10},
		ResponseLag:      [2]int{1, 4},
		BounceRate:       0.015,
		RefuseShare:      0.4,
	}
}

// Validate checks that every parameter is usable. The error lists every
// problem, each naming its field.
func (m *Model) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	share := func(field string, v float64) {
		if !(v >= 0 && v <= 1) {
			bad(field, "%v is outside [0, 1]", v)
		}
	}
	nonneg := func(field string, v float64) {
		if !(v >= 0) {
			bad(field, "%v is negative or NaN", v)
		}
	}
	rangeInt := func(field string, r [2]int, lo int) {
		if r[0] < lo || r[1] < r[0] {
			bad(field, "%v: want %d ≤ a ≤ b", r, lo)
		}
	}
	if len(m.PayerTypes) == 0 {
		bad("PayerTypes", "is empty")
	}
	var wsum float64
	for i, t := range m.PayerTypes {
		f := fmt.Sprintf("PayerTypes[%d]", i)
		nonneg(f+".Weight", t.Weight)
		wsum += t.Weight
		if t.Name == "" {
			bad(f+".Name", "is empty")
		}
		nonneg(f+".DelaySD", t.DelaySD)
		nonneg(f+".DriftSD", t.DriftSD)
		nonneg(f+".ShockSD", t.ShockSD)
		if !(t.Scale[0] > 0 && t.Scale[1] >= t.Scale[0]) {
			bad(f+".Scale", "%v: want 0 < a ≤ b", t.Scale)
		}
		share(f+".NeverPay", t.NeverPay)
		nonneg(f+".NeverPayPerYear", t.NeverPayPerYear)
		share(f+".DisputeRate", t.DisputeRate)
		share(f+".PartialRate", 2*t.PartialRate)
		share(f+".PromiseKeep", t.PromiseKeep)
	}
	if len(m.PayerTypes) > 0 && !(wsum > 0) {
		bad("PayerTypes", "weights sum to %v; want > 0", wsum)
	}
	if len(m.Segments) == 0 {
		bad("Segments", "is empty")
	}
	wsum = 0
	for i, s := range m.Segments {
		f := fmt.Sprintf("Segments[%d]", i)
		nonneg(f+".Weight", s.Weight)
		wsum += s.Weight
		if !(s.AmountMedianUSD >= 1 && s.AmountMedianUSD <= 1e9) {
			bad(f+".AmountMedianUSD", "%v is outside [1, 1e9]", s.AmountMedianUSD)
		}
		if !(s.InvoicesPerMonth > 0 && s.InvoicesPerMonth <= 100) {
			bad(f+".InvoicesPerMonth", "%v is outside (0, 100]", s.InvoicesPerMonth)
		}
		if len(s.Terms) == 0 || len(s.Terms) != len(s.TermsWeights) {
			bad(f+".Terms", "want one or more terms with as many TermsWeights (%d terms, %d weights)", len(s.Terms), len(s.TermsWeights))
		}
		for _, t := range s.Terms {
			if t < 0 || t > 365 {
				bad(f+".Terms", "%d days is outside 0..365", t)
			}
		}
		for _, w := range s.TermsWeights {
			nonneg(f+".TermsWeights", w)
		}
		share(f+".LetterShare", s.LetterShare)
		nonneg(f+".RunFactor", s.RunFactor)
	}
	if len(m.Segments) > 0 && !(wsum > 0) {
		bad("Segments", "weights sum to %v; want > 0", wsum)
	}
	if len(m.Markets) == 0 {
		bad("Markets", "is empty")
	}
	wsum = 0
	for i, mk := range m.Markets {
		f := fmt.Sprintf("Markets[%d]", i)
		nonneg(f+".Weight", mk.Weight)
		wsum += mk.Weight
		if !data.KnownCurrency(mk.Currency) {
			bad(f+".Currency", "%q is not an ISO 4217 code", mk.Currency)
		}
		if _, err := data.LoadZone(mk.Zone); err != nil {
			bad(f+".Zone", "%v", err)
		}
		if !(mk.PerUSD > 0) {
			bad(f+".PerUSD", "%v: want > 0", mk.PerUSD)
		}
		if mk.Country == "" || len(mk.Country) > 8 {
			bad(f+".Country", "%q: want a short country code", mk.Country)
		}
	}
	if len(m.Markets) > 0 && !(wsum > 0) {
		bad("Markets", "weights sum to %v; want > 0", wsum)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"HoldoutShare", m.HoldoutShare}, {"AnyDayShare", m.AnyDayShare},
		{"HolidayPauseShare", m.HolidayPauseShare}, {"CreatedInWindow", m.CreatedInWindow},
		{"CreditLimitShare", m.CreditLimitShare}, {"RecurringShare", m.RecurringShare}, {"CancelShare", m.CancelShare},
		{"CreditNoteShare", m.CreditNoteShare}, {"UnappliedShare", m.UnappliedShare}, {"NeverPayPartial", m.NeverPayPartial},
		{"MaxNeverPay", m.MaxNeverPay}, {"MaxDispute", m.MaxDispute}, {"DisputeCustomerWin", m.DisputeCustomerWin},
		{"DisputeSplit", m.DisputeSplit}, {"MoveOpened", m.MoveOpened}, {"MoveReplied", m.MoveReplied},
		{"MoveConversation", m.MoveConversation}, {"BounceRate", m.BounceRate}, {"RefuseShare", m.RefuseShare},
		{"ShockRho", m.ShockRho}} {
		share(f.name, f.v)
	}
	if m.CancelShare+m.MaxNeverPay+m.MaxDispute > 1 {
		bad("CancelShare", "CancelShare + MaxNeverPay + MaxDispute = %v exceeds 1", m.CancelShare+m.MaxNeverPay+m.MaxDispute)
	}
	if m.DisputeCustomerWin+m.DisputeSplit > 1 {
		bad("DisputeSplit", "DisputeCustomerWin + DisputeSplit exceeds 1")
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"ChurnPerYear", m.ChurnPerYear}, {"AmountSigma", m.AmountSigma}, {"AccountSigma", m.AccountSigma},
		{"ChannelSD", m.ChannelSD}, {"WeekdaySD", m.WeekdaySD}, {"CallPromise", m.CallPromise}} {
		nonneg(f.name, f.v)
	}
	if !(m.InvoiceRateScale > 0) {
		bad("InvoiceRateScale", "%v: want > 0", m.InvoiceRateScale)
	}
	if !(m.TenureScale > 0) {
		bad("TenureScale", "%v: want > 0", m.TenureScale)
	}
	var rs float64
	for _, v := range m.RunShare {
		nonneg("RunShare", v)
		rs += v
	}
	if !(rs > 0) {
		bad("RunShare", "sums to %v; want > 0", rs)
	}
	if !(m.CreditLimitMonths[0] > 0 && m.CreditLimitMonths[1] >= m.CreditLimitMonths[0]) {
		bad("CreditLimitMonths", "%v: want 0 < a ≤ b", m.CreditLimitMonths)
	}
	for c := data.Email; c <= data.Letter; c++ {
		share(fmt.Sprintf("OptOut[%s]", c), m.OptOut[c])
		nonneg(fmt.Sprintf("PreferredShare[%s]", c), m.PreferredShare[c])
		if h := m.PolicyHour[c]; h < 0 || h > 23 {
			bad(fmt.Sprintf("PolicyHour[%s]", c), "%d is outside 0..23", h)
		}
	}
	if m.OptOut[data.Letter] != 0 {
		bad("OptOut[letter]", "must be 0: letters are the channel of last resort")
	}
	if !(m.MuRange[0] < m.MuRange[1]) {
		bad("MuRange", "%v: want a < b", m.MuRange)
	}
	rangeInt("PartialGap", m.PartialGap, 1)
	rangeInt("WriteOffAfter", m.WriteOffAfter, 1)
	rangeInt("PromiseDays", m.PromiseDays, 2)
	rangeInt("ResponseLag", m.ResponseLag, 0)
	rangeInt("RandomHours", m.RandomHours, 0)
	if m.RandomHours[1] > 23 {
		bad("RandomHours", "%v: hours must be ≤ 23", m.RandomHours)
	}
	if m.WriteOffAfter[1] > 400 || m.PartialGap[1] > 120 || m.PromiseDays[1] > 60 || m.ResponseLag[1] > 30 {
		bad("WriteOffAfter", "day ranges too long (write-off ≤ 400, gap ≤ 120, promise ≤ 60, lag ≤ 30)")
	}
	rangeInt("DisputeOpen", [2]int{m.DisputeOpenMin, m.DisputeOpenMax}, 1)
	rangeInt("DisputeDuration", [2]int{m.DisputeDurationMin, m.DisputeDurationMax}, 1)
	if m.DisputeOpenMax+m.DisputeDurationMax > 400 {
		bad("DisputeDurationMax", "opening + duration may reach %d days; want ≤ 400", m.DisputeOpenMax+m.DisputeDurationMax)
	}
	if m.DisputePayLag < 1 || m.DisputePayLag > 60 {
		bad("DisputePayLag", "%d is outside 1..60", m.DisputePayLag)
	}
	if m.ReminderDaysBefore < 1 || m.ReminderDaysBefore > 30 {
		bad("ReminderDaysBefore", "%d is outside 1..30", m.ReminderDaysBefore)
	}
	if len(m.DunningDays) != len(m.DunningChannels) {
		bad("DunningChannels", "has %d entries for %d DunningDays", len(m.DunningChannels), len(m.DunningDays))
	}
	if !slices.IsSorted(m.DunningDays) || (len(m.DunningDays) > 0 && (m.DunningDays[0] < 1 || m.DunningDays[len(m.DunningDays)-1] > 365)) {
		bad("DunningDays", "%v: want ascending days in 1..365", m.DunningDays)
	}
	for i, c := range m.DunningChannels {
		if !c.Valid() {
			bad(fmt.Sprintf("DunningChannels[%d]", i), "is not a channel")
		}
	}
	if len(m.StageEffect) != len(m.DunningDays)+1 {
		bad("StageEffect", "has %d entries; want 1 + len(DunningDays) = %d", len(m.StageEffect), len(m.DunningDays)+1)
	}
	if m.RandomDaySpread < 0 || m.RandomDaySpread > 14 {
		bad("RandomDaySpread", "%d is outside 0..14", m.RandomDaySpread)
	}
	if !(m.HourPenalty[0] >= 0 && m.HourPenalty[1] >= m.HourPenalty[0]) {
		bad("HourPenalty", "%v: want 0 ≤ a ≤ b", m.HourPenalty)
	}
	if !(m.PromiseShare[0] >= 0 && m.PromiseShare[1] >= m.PromiseShare[0] && m.PromiseShare[1] <= 1) {
		bad("PromiseShare", "%v: want 0 ≤ a ≤ b ≤ 1", m.PromiseShare)
	}
	return errors.Join(errs...)
}
