package synth

import (
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/duesight/duesight/data"
)

// account is one account's latent parameters (the truth) and derived tables.
type account struct {
	idx                    int // 0-based; the id holds idx+1
	id                     string
	name                   string
	mk                     *market
	seg                    *Segment
	typ                    int
	created                data.Date
	createdAt              time.Time
	terms                  int
	limit                  int64 // credit limit in minor units, 0 = none
	consent                data.ChannelSet
	nCons                  int // number of consented channels
	holdout, anyDay, pause bool
	run                    runKind
	runWD                  time.Weekday
	pay                    *schedule // payment-run days
	adhoc                  *schedule // days an ad hoc payment can be made (promises, responses)
	biz                    *schedule // market business days (policy contact days)

	mu0, scale, drift        float64
	onset                    data.Date
	shockSD                  float64
	shocks                   []float64 // monthly AR(1) shock, index = months since From's month
	neverBase, neverPerYear  float64
	disputeRate, partialRate float64
	medianUSD                float64
	letter                   bool // billed on paper
	method                   data.Method

	alpha        float64
	chEff        [5]float64
	pref         data.Channel
	bestHour     int
	hourW        float64
	wdEff        [7]float64
	bestWD       time.Weekday
	promiseShare float64
	keep         float64
	lag          int
	// Reminder weights averaged over the randomised channels and hours, by
	// weekday (see reminderMove); filled on first use.
	remSoft, remProm [7]float64
	remReady         bool

	rate       float64 // invoices per month
	recurring  bool
	billDay    int
	start, end data.Date // invoicing happens in [start, end)
	churn      data.Date // 0 = no churn before To
}

// splitmix64 is the SplitMix64 finaliser, used to derive stream seeds.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// accountRNG returns account idx's private stream: PCG seeded by
// (splitmix(seed), splitmix(seed ⊕ splitmix(idx+1))).
func accountRNG(seed uint64, idx int) *rand.Rand {
	return rand.New(rand.NewPCG(splitmix64(seed), splitmix64(seed^splitmix64(uint64(idx)+1))))
}

// open01 returns a uniform number in the open interval (0, 1).
func open01(r *rand.Rand) float64 { return (float64(r.Uint64()>>11) + 0.5) / (1 << 53) }

func uniform(r *rand.Rand, a, b float64) float64 { return a + (b-a)*r.Float64() }

func uniformInt(r *rand.Rand, a, b int) int { return a + r.IntN(b-a+1) }

func accountID(idx, width int) string {
	s := strconv.Itoa(idx + 1)
	b := make([]byte, 0, width+1)
	b = append(b, 'A')
	for range width - len(s) {
		b = append(b, '0')
	}
	return string(append(b, s...))
}

var (
	nameFirst   = []string{"North", "Blue", "Silver", "Granite", "Harbor", "Summit", "Cedar", "Atlas", "Vertex", "Orchid", "Meridian", "Falcon", "Pioneer", "Lumen", "Kestrel", "Sterling"}
	nameSecond  = []string{"Logistics", "Foods", "Systems", "Textiles", "Media", "Engineering", "Health", "Retail", "Energy", "Labs", "Consulting", "Motors", "Build", "Trading", "Analytics", "Print"}
	personFirst = []string{"Ana", "Ben", "Chloé", "Dmitri", "Emeka", "Fatima", "Hiro", "Ines", "Jonas", "Kavya", "Liam", "Mei", "Nora", "Óscar", "Priya", "Zoë"}
	personLast  = []string{"Almeida", "Brown", "Dubois", "Fischer", "García", "Ito", "Kumar", "Lee", "Müller", "Naidoo", "Okafor", "Rossi", "Sato", "Silva", "Smith", "Van Dijk"}
	legalSuffix = map[string]string{"US": "Inc.", "GB": "Ltd", "DE": "GmbH", "FR": "SAS", "NL": "B.V.", "JP": "K.K.",
		"IN": "Pvt Ltd", "SG": "Pte Ltd", "AU": "Pty Ltd", "BR": "Ltda", "ZA": "(Pty) Ltd", "BH": "W.L.L."}
)

// newAccount draws account idx's latent parameters from r.
func (c *config) newAccount(r *rand.Rand, idx int) *account {
	m := c.model
	a := &account{idx: idx, id: accountID(idx, c.idWidth)}
	mi := pick(c.marketCum, r.Float64())
	a.mk = &c.markets[mi]
	a.seg = &m.Segments[pick(c.segCum, r.Float64())]
	a.typ = pick(c.typeCum, r.Float64())
	pt := &m.PayerTypes[a.typ]

	if a.seg.Name == "consumer" {
		a.name = personFirst[r.IntN(len(personFirst))] + " " + personLast[r.IntN(len(personLast))]
	} else {
		a.name = nameFirst[r.IntN(len(nameFirst))] + " " + nameSecond[r.IntN(len(nameSecond))]
		if s, ok := legalSuffix[a.mk.Country]; ok {
			a.name += " " + s
		}
	}

	// Tenure: created inside the window, or up to maxTenureDays before From.
	window := c.to.Sub(c.from)
	var sec int64
	if r.Float64() < m.CreatedInWindow {
		sec = int64(c.from)*86400 + r.Int64N(int64(max(window-30, 1))*86400)
	} else {
		sec = int64(c.from)*86400 - 1 - r.Int64N(int64(maxTenureDays)*86400)
	}
	a.createdAt = time.Unix(sec, 0).UTC()
	a.created = data.DateOf(a.createdAt)

	// Terms.
	tw := cumulative(len(a.seg.Terms), func(i int) float64 { return a.seg.TermsWeights[i] })
	a.terms = a.seg.Terms[pick(tw, r.Float64())]

	// Consent and channel preferences.
	a.consent = data.ChannelSet(0).With(data.Letter)
	for ch := data.Email; ch <= data.Call; ch++ {
		if r.Float64() >= m.OptOut[ch] {
			a.consent = a.consent.With(ch)
		}
	}
	var prefW [5]float64
	var ps float64
	for _, ch := range data.Channels {
		if a.consent.Has(ch) {
			a.nCons++
			prefW[ch] = m.PreferredShare[ch]
			ps += prefW[ch]
		}
	}
	u := r.Float64() * ps
	a.pref = data.Letter
	for _, ch := range data.Channels {
		if prefW[ch] > 0 && u < prefW[ch] {
			a.pref = ch
			break
		}
		u -= prefW[ch]
	}
	for _, ch := range data.Channels {
		a.chEff[ch] = m.ChannelBase[ch] + m.ChannelSD*r.NormFloat64()
		if ch == a.pref {
			a.chEff[ch] += m.PreferredBoost
		}
	}
	if r.Float64() < 0.5 {
		a.bestHour = int(math.Round(10 + 1.5*r.NormFloat64()))
	} else {
		a.bestHour = int(math.Round(15 + 2*r.NormFloat64()))
	}
	a.bestHour = min(max(a.bestHour, 8), 19)
	a.hourW = uniform(r, m.HourPenalty[0], m.HourPenalty[1])
	a.bestWD = time.Weekday(1 + r.IntN(5))
	for wd := range 7 {
		a.wdEff[wd] = m.WeekdaySD * r.NormFloat64()
		if time.Weekday(wd) == a.bestWD {
			a.wdEff[wd] += m.WeekdayBoost
		}
		if wd == int(time.Saturday) || wd == int(time.Sunday) {
			a.wdEff[wd] -= m.WeekendPenalty
		}
	}
	a.alpha = pt.Responsiveness + 0.5*r.NormFloat64()
	a.promiseShare = uniform(r, m.PromiseShare[0], m.PromiseShare[1])
	a.keep = min(0.98, pt.PromiseKeep*uniform(r, 0.85, 1.15))
	a.lag = uniformInt(r, m.ResponseLag[0], m.ResponseLag[1])
	a.holdout = r.Float64() < m.HoldoutShare

	// Payment behaviour.
	a.mu0 = pt.DelayMean + pt.DelaySD*r.NormFloat64()
	a.scale = uniform(r, pt.Scale[0], pt.Scale[1])
	a.drift = pt.DriftMean + pt.DriftSD*r.NormFloat64()
	a.onset = c.from
	if pt.OnsetRandom {
		a.onset = c.from.AddDays(r.IntN(window))
	}
	a.shockSD = pt.ShockSD
	months := monthIndex(c.from, c.to) + 1
	a.shocks = make([]float64, months)
	s := a.shockSD * r.NormFloat64()
	innov := a.shockSD * math.Sqrt(1-m.ShockRho*m.ShockRho)
	for i := range a.shocks {
		if i > 0 {
			s = m.ShockRho*s + innov*r.NormFloat64()
		}
		a.shocks[i] = s
	}
	a.neverBase, a.neverPerYear = pt.NeverPay, pt.NeverPayPerYear
	a.disputeRate = pt.DisputeRate * r.ExpFloat64()
	a.partialRate = pt.PartialRate * 2 * r.Float64()

	anyDayShare := m.AnyDayShare
	if a.seg.Name == "consumer" {
		anyDayShare = min(1, 3*anyDayShare)
	}
	a.anyDay = r.Float64() < anyDayShare
	a.pause = r.Float64() < m.HolidayPauseShare
	rw := [4]float64{m.RunShare[0], m.RunShare[1] * a.seg.RunFactor, m.RunShare[2] * a.seg.RunFactor, m.RunShare[3] * a.seg.RunFactor}
	a.run = runKind(pick(cumulative(4, func(i int) float64 { return rw[i] }), r.Float64()))
	a.runWD = []time.Weekday{time.Monday, time.Tuesday, time.Tuesday, time.Wednesday, time.Thursday, time.Thursday,
		time.Friday, time.Friday}[r.IntN(8)]
	pause := 0
	if a.pause {
		pause = 1
	}
	if a.anyDay {
		a.run, a.pause = runDaily, false
		a.pay, a.adhoc = c.cal.anyDay, c.cal.anyDay
	} else {
		a.pay = c.cal.runs[mi][pause][runKey(a.run, a.runWD)]
		a.adhoc = c.cal.runs[mi][pause][0]
	}
	a.biz = c.cal.runs[mi][0][0]

	// Amounts, billing and credit limit.
	a.medianUSD = a.seg.AmountMedianUSD * math.Exp(m.AccountSigma*r.NormFloat64())
	a.rate = a.seg.InvoicesPerMonth * m.InvoiceRateScale * math.Exp(0.5*r.NormFloat64()-0.125)
	a.recurring = r.Float64() < m.RecurringShare
	a.billDay = 1
	if r.Float64() < 0.4 {
		a.billDay = 1 + r.IntN(28)
	}
	a.letter = r.Float64() < a.seg.LetterShare
	switch {
	case a.seg.Name == "consumer" || a.anyDay:
		a.method = []data.Method{data.MethodCard, data.MethodCard, data.MethodBankTransfer}[r.IntN(3)]
	case a.mk.Country == "US" && r.Float64() < 0.3:
		a.method = data.MethodCheck
	case a.mk.european && a.typ == 0 && r.Float64() < 0.3:
		a.method = data.MethodDirectDebit
	default:
		a.method = data.MethodBankTransfer
	}
	if r.Float64() < m.CreditLimitShare {
		monthly := a.medianUSD * math.Exp(m.AmountSigma*m.AmountSigma/2) * a.rate
		months := float64(a.terms)/30 + uniform(r, m.CreditLimitMonths[0], m.CreditLimitMonths[1])
		major := monthly * months * a.mk.PerUSD
		step := math.Pow(10, math.Max(0, math.Floor(math.Log10(major))-1)) // two significant digits
		a.limit = int64(math.Ceil(major/step)*step) * int64(a.mk.pow)
		a.limit = min(max(a.limit, 1), data.MaxAmount)
	}

	// Invoicing window: from shortly after creation, until churn.
	a.start = max(c.from, a.created.AddDays(r.IntN(21)))
	a.end = c.to
	if years := r.ExpFloat64() / max(m.ChurnPerYear, 1e-9); years*365.25 < float64(c.to.Sub(a.start)) {
		a.churn = a.start.AddDays(int(years * 365.25))
		a.end = a.churn
	}
	return a
}

// monthIndex returns the number of calendar months from d0's month to d's.
func monthIndex(d0, d data.Date) int {
	y0, m0, _ := civil(d0)
	y, mo, _ := civil(d)
	return (y-y0)*12 + int(mo) - int(m0)
}

// respProb is the true probability that a contact is answered:
// σ(α + channel[ch] + hour(h) + weekday[wd] + stage[step]), with
// hour(h) = −w·(d/4)², d the circular distance in hours between h and the
// account's best local hour.
func (a *account) respProb(m *Model, ch data.Channel, h int, wd time.Weekday, step int) float64 {
	d := h - a.bestHour
	if d < 0 {
		d = -d
	}
	d = min(d, 24-d)
	x := a.alpha + a.chEff[ch] - a.hourW*float64(d*d)/16 + a.wdEff[wd] + m.StageEffect[step]
	return 1 / (1 + math.Exp(-x))
}

// promiseProb is the share of answered contacts that are promises to pay.
func (a *account) promiseProb(m *Model, ch data.Channel) float64 {
	p := a.promiseShare
	if ch == data.Call {
		p *= m.CallPromise
	}
	return min(p, 0.9)
}

// softMove is P(an answered, non-promise contact moves the payment):
// email answers are "opened" (55%) or "replied" (45%); SMS and letter
// answers are replies; call answers are conversations.
func softMove(m *Model, ch data.Channel) float64 {
	switch ch {
	case data.Email:
		return 0.55*m.MoveOpened + 0.45*m.MoveReplied
	case data.Call:
		return m.MoveConversation
	}
	return m.MoveReplied
}

// consented returns the i-th consented channel in code order.
func (a *account) consented(i int) data.Channel {
	for _, ch := range data.Channels {
		if a.consent.Has(ch) {
			if i == 0 {
				return ch
			}
			i--
		}
	}
	return data.Letter
}

// policyChannel returns want if consented, else email, else letter.
func (a *account) policyChannel(want data.Channel) data.Channel {
	switch {
	case a.consent.Has(want):
		return want
	case a.consent.Has(data.Email):
		return data.Email
	}
	return data.Letter
}
