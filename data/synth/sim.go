package synth

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/duesight/duesight/data"
)

// Regime is the contact regime an invoice's contacts follow.
type Regime uint8

const (
	RegimePolicy     Regime = 1 // the fixed policy: reminder, then dunning steps at fixed channel/hour
	RegimeRandomized Regime = 2 // channel, local hour and day randomised per contact
	RegimeHoldout    Regime = 3 // the account is in the no-contact holdout
)

var regimeNames = [...]string{"", "policy", "randomized", "holdout"}

func (r Regime) String() string {
	if int(r) < len(regimeNames) && r != 0 {
		return regimeNames[r]
	}
	return "unknown"
}

// Path is how an invoice gets settled in the generator's process.
type Path uint8

const (
	PathNormal      Path = 1 // one payment (plus perhaps a credit note)
	PathInstalments Path = 2 // two or three partial payments
	PathDispute     Path = 3 // disputed; settled after resolution
	PathNeverPaid   Path = 4 // (partly) unpaid and written off
	PathCancelled   Path = 5 // cancelled by a full credit note
)

var pathNames = [...]string{"", "normal", "instalments", "dispute", "never_paid", "cancelled"}

func (p Path) String() string {
	if int(p) < len(pathNames) && p != 0 {
		return pathNames[p]
	}
	return "unknown"
}

// invState is what is known about an invoice at its issue date.
type invState struct {
	issue, due data.Date
	amount     int64
	letter     bool
	regime     Regime
	mu         float64 // location of the intended delay, days after due
	pCancel    float64
	pNever     float64
	pDisp      float64
	pPartial   float64
	runDay     data.Date // T: the last payment-run day ≤ due
}

func (s *invState) pNormal() float64 { return max(0, 1-s.pCancel-s.pNever-s.pDisp-s.pPartial) }

// payEv is one planned payment row of an invoice.
type payEv struct {
	date   data.Date
	amount int64
	method data.Method
}

// simInvoice is a generated invoice with its truth.
type simInvoice struct {
	issue, due data.Date
	amount     int64
	letter     bool
	regime     Regime
	mu         float64
	pLate      float64
	pLateNC    float64
	path       Path
	settle     data.Date
}

type simPayment struct {
	inv    int32 // index into invoices, −1 = unapplied
	date   data.Date
	amount int64
	method data.Method
}

type simContact struct {
	inv         int32
	ch          data.Channel
	sentAt      time.Time
	outcome     data.Outcome
	promised    data.Date
	promisedAmt int64
	regime      Regime
	step        int8
	hour        int8
	localDate   data.Date
	p           float64
	responded   bool
	moved       bool
	kept        bool
}

type simDispute struct {
	inv              int32
	opened, resolved data.Date
	reason           string
}

// accountOut is one account's generated rows and truth, before ids are
// materialised.
type accountOut struct {
	a        *account
	invoices []simInvoice
	payments []simPayment
	contacts []simContact
	disputes []simDispute
}

var disputeReasons = []string{"pricing", "quantity", "quality", "not received", "duplicate billing", "missing purchase order"}

// gen generates one account.
type gen struct {
	c   *config
	m   *Model
	r   *rand.Rand
	a   *account
	out *accountOut
	ev  []payEv // scratch: the current invoice's payments
	con []simContact
}

// generateAccount builds account idx from its own random stream.
func (c *config) generateAccount(idx int) *accountOut {
	r := accountRNG(c.seed, idx)
	a := c.newAccount(r, idx)
	g := &gen{c: c, m: c.model, r: r, a: a, out: &accountOut{a: a}}
	g.invoices()
	return g.out
}

// seller issue days are Monday to Friday.
func sellerDay(d data.Date) data.Date {
	switch d.Weekday() {
	case time.Saturday:
		return d + 2
	case time.Sunday:
		return d + 1
	}
	return d
}

// invoices draws the account's invoice arrival process and simulates each.
func (g *gen) invoices() {
	a, r, m, c := g.a, g.r, g.m, g.c
	perDay := a.rate / 30.4375
	// Recurring accounts get one invoice a month on billDay plus extras at
	// 20% of their rate; the others get a Poisson stream at their rate.
	extra := perDay
	var nextRec data.Date
	if a.recurring {
		extra = 0.2 * perDay
		y, mo, d := civil(a.start)
		nextRec = data.NewDate(y, mo, a.billDay)
		if a.billDay < d {
			nextRec = data.NewDate(y, mo+1, a.billDay)
		}
	}
	// Gaps are capped at the window length so that tiny rates cannot overflow.
	maxGap := float64(c.to.Sub(c.from) + 1)
	nextPois := a.start.AddDays(int(min(r.ExpFloat64()/extra, maxGap)))
	type open struct {
		settle data.Date
		amount int64
	}
	var outstanding []open
	for {
		var issue data.Date
		if a.recurring && nextRec <= nextPois {
			issue = nextRec
			y, mo, _ := civil(nextRec)
			nextRec = data.NewDate(y, mo+1, a.billDay)
		} else {
			issue = nextPois
			nextPois = nextPois.AddDays(1 + int(min(r.ExpFloat64()/extra, maxGap)))
		}
		issue = sellerDay(issue)
		if issue >= a.end {
			return
		}
		if issue < a.start {
			continue
		}
		z := r.NormFloat64()
		usd := a.medianUSD * math.Exp(m.AmountSigma*z)
		amount := int64(math.Round(usd * a.mk.PerUSD * a.mk.pow))
		amount = min(max(amount, 100), data.MaxAmount/100)
		letter := a.letter
		if r.Float64() < 0.05 {
			letter = !letter
		}
		if a.limit > 0 {
			var bal int64
			k := 0
			for _, o := range outstanding {
				if o.settle > issue {
					bal += o.amount
					outstanding[k] = o
					k++
				}
			}
			outstanding = outstanding[:k]
			if bal+amount > a.limit {
				continue // order blocked by the credit limit
			}
		}
		inv := g.invoice(issue, amount, z, letter)
		if a.limit > 0 {
			outstanding = append(outstanding, open{inv.settle, inv.amount})
		}
	}
}

// state computes what is known at issue: μ, the path probabilities, the
// regime and the last payment-run day before due.
func (g *gen) state(issue data.Date, amount int64, z float64, letter bool) invState {
	a, m, c := g.a, g.m, g.c
	due := issue.AddDays(a.terms)
	years := math.Max(0, float64(issue.Sub(a.onset))/365.25)
	mu := a.mu0 + a.drift*years + a.shocks[min(monthIndex(c.from, issue), len(a.shocks)-1)] +
		m.RunShift[a.run] + m.AmountEffect*z + m.NewAccountDelay*math.Exp(-float64(issue.Sub(a.created))/m.TenureScale)
	if letter {
		mu += m.LetterDelay
	}
	_, mo, d := civil(due)
	switch {
	case (mo == 12) || (mo == 1 && d <= 10):
		mu += m.DecemberDelay
	case mo == 8 && a.mk.european:
		mu += m.AugustDelay
	}
	if (mo == 3 || mo == 6 || mo == 9 || mo == 12) && d >= 21 {
		mu += m.QuarterEndShift
	}
	mu = min(max(mu, m.MuRange[0]), m.MuRange[1])
	s := invState{issue: issue, due: due, amount: amount, letter: letter, mu: mu}
	s.pCancel = m.CancelShare
	s.pNever = min(m.MaxNeverPay, a.neverBase+a.neverPerYear*years)
	s.pDisp = min(m.MaxDispute, a.disputeRate*math.Exp(0.3*z))
	s.pPartial = min(a.partialRate, max(0, 1-s.pCancel-s.pNever-s.pDisp))
	switch {
	case a.holdout:
		s.regime = RegimeHoldout
	case due >= c.randFrom && due < c.randTo:
		s.regime = RegimeRandomized
	default:
		s.regime = RegimePolicy
	}
	s.runDay = a.pay.prev(due)
	return s
}

// sfDelay returns P(k > v) for the intended delay k = ⌊L + ½⌋,
// L ~ Logistic(μ, s): P(L ≥ v + ½) = 1 / (1 + exp((v + ½ − μ)/s)).
func (g *gen) sfDelay(s *invState, v int) float64 {
	return 1 / (1 + math.Exp((float64(v)+0.5-s.mu)/g.a.scale))
}

// pLate returns the exact probability, under the model, that the invoice
// is settled after its due date, with the generator's contact policy (p)
// and without any contact (pNC). See the package documentation.
func (g *gen) pLate(s *invState) (p, pNC float64) {
	m, c := g.m, g.c
	T := s.runDay
	// Normal path: settled at f(max(issue, due+k)), late iff that exceeds T.
	pn := 1.0
	if s.issue <= T {
		pn = g.sfDelay(s, T.Sub(s.due))
	}
	// Instalments: last instalment at f(max(issue, due+k) + gap).
	var pp float64
	for gap := m.PartialGap[0]; gap <= m.PartialGap[1]; gap++ {
		if s.issue > T.AddDays(-gap) {
			pp++
		} else {
			pp += g.sfDelay(s, T.Sub(s.due)-gap)
		}
	}
	pp /= float64(m.PartialGap[1] - m.PartialGap[0] + 1)
	// Dispute: resolution at issue + S (S = opening + duration); a full
	// credit note settles at resolution, otherwise cash follows at
	// f(resolution + lag), lag ~ U{1..DisputePayLag}.
	var cash float64
	for lag := 1; lag <= m.DisputePayLag; lag++ {
		cash += c.pSumGreater(T.Sub(s.issue) - lag)
	}
	cash /= float64(m.DisputePayLag)
	pd := m.DisputeCustomerWin*c.pSumGreater(s.due.Sub(s.issue)) + (1-m.DisputeCustomerWin)*cash

	base := s.pNever + s.pDisp*pd
	movable := s.pNormal()*pn + s.pPartial*pp
	pNC = base + movable
	p = base + movable*(1-g.reminderMove(s))
	return min(p, 1), min(pNC, 1)
}

// reminderMove is the probability that the pre-due reminder is answered in
// a way that settles the invoice by its due date, given that it would
// otherwise be late (then the reminder is always sent: the invoice is open).
//
// For a reminder on local day D with channel ch at hour h it is
//
//	r(ch, h, wd(D))·(1 − bounce_ch)·[(1 − π_ch)·soft_ch·1{D + lag ≤ P} + π_ch·keep·F(D)]
//
// where P = the last ad hoc payment day ≤ due (adhoc.next(x) ≤ due ⇔ x ≤ P)
// and F(D) = the share of promise offsets pd ∈ [a, b] with D + pd ≤ P. In
// the randomised regime this is averaged over D, ch and h; the (ch, h)
// average depends on D only through its weekday, so it is tabulated once
// per account (remSoft, remProm).
func (g *gen) reminderMove(s *invState) float64 {
	a, m := g.a, g.m
	P := a.adhoc.prev(s.due)
	pdLo, pdHi := m.PromiseDays[0], m.PromiseDays[1]
	promShare := func(day data.Date) float64 {
		n := P.Sub(day) - pdLo + 1 // offsets pdLo..P−day qualify
		return float64(min(max(n, 0), pdHi-pdLo+1)) / float64(pdHi-pdLo+1)
	}
	soft := func(day data.Date) float64 {
		if day.AddDays(a.lag) <= P {
			return 1
		}
		return 0
	}
	switch s.regime {
	case RegimeHoldout:
		return 0
	case RegimePolicy:
		day := a.biz.prev(s.due.AddDays(-m.ReminderDaysBefore))
		if day <= s.issue {
			return 0
		}
		ch := a.policyChannel(data.Email)
		sw, pw := a.reminderWeights(m, ch, m.PolicyHour[ch], day.Weekday())
		return soft(day)*sw + promShare(day)*pw
	}
	if !a.remReady {
		nh := m.RandomHours[1] - m.RandomHours[0] + 1
		for wd := range 7 {
			var sw, pw float64
			for i := range a.nCons {
				ch := a.consented(i)
				for h := m.RandomHours[0]; h <= m.RandomHours[1]; h++ {
					x, y := a.reminderWeights(m, ch, h, time.Weekday(wd))
					sw += x
					pw += y
				}
			}
			a.remSoft[wd], a.remProm[wd] = sw/float64(a.nCons*nh), pw/float64(a.nCons*nh)
		}
		a.remReady = true
	}
	nd := m.RandomDaySpread + 1
	var sum float64
	for off := 1; off <= nd; off++ {
		day := s.due.AddDays(-off)
		if day <= s.issue {
			continue
		}
		wd := day.Weekday()
		sum += soft(day)*a.remSoft[wd] + promShare(day)*a.remProm[wd]
	}
	return sum / float64(nd)
}

// reminderWeights returns, for a reminder on channel ch at local hour h on
// weekday wd, P(answer)·(1−bounce)·(1−π)·softMove and P(answer)·(1−bounce)·π·keep.
func (a *account) reminderWeights(m *Model, ch data.Channel, h int, wd time.Weekday) (soft, prom float64) {
	r := a.respProb(m, ch, h, wd, 0)
	if ch == data.Email {
		r *= 1 - m.BounceRate
	}
	pi := a.promiseProb(m, ch)
	return r * (1 - pi) * softMove(m, ch), r * pi * a.keep
}

// invoice simulates one invoice end to end and records its rows.
func (g *gen) invoice(issue data.Date, amount int64, z float64, letter bool) *simInvoice {
	a, m, r, c := g.a, g.m, g.r, g.c
	s := g.state(issue, amount, z, letter)
	inv := simInvoice{issue: issue, due: s.due, amount: amount, letter: letter, regime: s.regime, mu: s.mu}
	inv.pLate, inv.pLateNC = g.pLate(&s)
	invIdx := int32(len(g.out.invoices))

	// Path and intended delay.
	u := r.Float64()
	switch {
	case u < s.pCancel:
		inv.path = PathCancelled
	case u < s.pCancel+s.pNever:
		inv.path = PathNeverPaid
	case u < s.pCancel+s.pNever+s.pDisp:
		inv.path = PathDispute
	case u < s.pCancel+s.pNever+s.pDisp+s.pPartial:
		inv.path = PathInstalments
	default:
		inv.path = PathNormal
	}
	v := open01(r)
	L := s.mu + a.scale*math.Log(v/(1-v)) // logistic(μ, s) by inversion
	k := int(math.Floor(min(max(L+0.5, -1000), 365)))
	x := max(issue, s.due.AddDays(k))

	g.ev = g.ev[:0]
	var disp *simDispute
	var dispOpen, dispRes data.Date
	switch inv.path {
	case PathCancelled:
		g.ev = append(g.ev, payEv{issue.AddDays(r.IntN(min(10, a.terms) + 1)), amount, data.MethodCreditNote})
	case PathNormal, PathInstalments:
		cash := amount
		var cn payEv
		if r.Float64() < m.CreditNoteShare {
			cn = payEv{issue.AddDays(1 + r.IntN(20)), max(1, int64(math.Round(float64(amount)*uniform(r, 0.05, 0.3)))), data.MethodCreditNote}
			cash -= cn.amount
		}
		first := a.pay.next(x)
		if inv.path == PathNormal {
			g.ev = append(g.ev, payEv{first, cash, a.method})
		} else {
			n := 2 + r.IntN(2)
			gap := uniformInt(r, m.PartialGap[0], m.PartialGap[1])
			a1 := max(1, int64(math.Round(float64(cash)*uniform(r, 0.3, 0.6))))
			if n == 2 {
				g.ev = append(g.ev, payEv{first, a1, a.method}, payEv{a.pay.next(x.AddDays(gap)), cash - a1, a.method})
			} else {
				a2 := max(1, (cash-a1)/2)
				g.ev = append(g.ev, payEv{first, a1, a.method}, payEv{a.pay.next(x.AddDays(gap / 2)), a2, a.method},
					payEv{a.pay.next(x.AddDays(gap)), cash - a1 - a2, a.method})
			}
		}
		if cn.amount > 0 {
			cn.date = min(cn.date, first)
			g.ev = append(g.ev, cn)
		}
	case PathNeverPaid:
		wo := a.biz.next(s.due.AddDays(uniformInt(r, m.WriteOffAfter[0], m.WriteOffAfter[1])))
		rest := amount
		if r.Float64() < m.NeverPayPartial {
			if d := a.pay.next(x); d < wo {
				part := max(1, int64(math.Round(float64(amount)*uniform(r, 0.2, 0.6))))
				g.ev = append(g.ev, payEv{d, part, a.method})
				rest -= part
			}
		}
		g.ev = append(g.ev, payEv{wo, rest, data.MethodWriteOff})
	case PathDispute:
		dispOpen = issue.AddDays(uniformInt(r, m.DisputeOpenMin, m.DisputeOpenMax))
		dispRes = dispOpen.AddDays(uniformInt(r, m.DisputeDurationMin, m.DisputeDurationMax))
		disp = &simDispute{inv: invIdx, opened: dispOpen, resolved: dispRes, reason: disputeReasons[r.IntN(len(disputeReasons))]}
		v := r.Float64()
		lag := 1 + r.IntN(m.DisputePayLag)
		switch {
		case v < m.DisputeCustomerWin:
			g.ev = append(g.ev, payEv{dispRes, amount, data.MethodCreditNote})
		case v < m.DisputeCustomerWin+m.DisputeSplit:
			cn := max(1, int64(math.Round(float64(amount)*uniform(r, 0.1, 0.5))))
			g.ev = append(g.ev, payEv{dispRes, cn, data.MethodCreditNote}, payEv{a.pay.next(dispRes.AddDays(lag)), amount - cn, a.method})
		default:
			g.ev = append(g.ev, payEv{a.pay.next(dispRes.AddDays(lag)), amount, a.method})
		}
	}
	settle := g.settled()
	movable := inv.path == PathNormal || inv.path == PathInstalments

	// Contacts: the pre-due reminder (step 0), then the dunning steps.
	g.con = g.con[:0]
	if s.regime != RegimeHoldout {
		for step := 0; step <= len(m.DunningDays); step++ {
			day, ch, hour := g.plan(&s, step)
			if step == 0 && day <= issue {
				continue
			}
			if settle <= day {
				break
			}
			if disp != nil && dispOpen <= day && day < dispRes {
				continue // dunning pauses while a dispute is open
			}
			minute, second := r.IntN(60), r.IntN(60)
			y, mo, dd := civil(day)
			sent := time.Date(y, mo, dd, hour, minute, second, 0, a.mk.loc).UTC()
			ct := simContact{inv: invIdx, ch: ch, sentAt: sent, regime: s.regime, step: int8(step), hour: int8(hour), localDate: day}
			ct.p = a.respProb(m, ch, hour, day.Weekday(), step)
			switch {
			case ch == data.Email && r.Float64() < m.BounceRate:
				ct.outcome = data.OutcomeBounced
			case r.Float64() < ct.p:
				ct.responded = true
			}
			var newDate data.Date
			if ct.responded {
				switch {
				case inv.path == PathNeverPaid && r.Float64() < m.RefuseShare:
					ct.outcome = data.OutcomeRefused
				case r.Float64() < a.promiseProb(m, ch):
					ct.outcome = data.OutcomePromise
					ct.promised = day.AddDays(uniformInt(r, m.PromiseDays[0], m.PromiseDays[1]))
					ct.kept = r.Float64() < a.keep && movable
					if ct.kept {
						newDate = a.adhoc.next(ct.promised)
					}
				default:
					var mv float64
					switch ch {
					case data.Email:
						ct.outcome, mv = data.OutcomeReplied, m.MoveReplied
						if r.Float64() < 0.55 {
							ct.outcome, mv = data.OutcomeOpened, m.MoveOpened
						}
					case data.Call:
						ct.outcome, mv = data.OutcomeConversation, m.MoveConversation
					default:
						ct.outcome, mv = data.OutcomeReplied, m.MoveReplied
					}
					if r.Float64() < mv && movable {
						newDate = a.adhoc.next(day.AddDays(a.lag))
					}
				}
			} else if ct.outcome == data.OutcomeUnknown {
				ct.outcome = data.OutcomeDelivered
				if ch == data.Call {
					ct.outcome = data.OutcomeNoAnswer
					if r.Float64() < 0.4 {
						ct.outcome = data.OutcomeVoicemail
					}
				}
			}
			if newDate != 0 && newDate < settle {
				g.collapse(newDate)
				settle = newDate
				ct.moved = true
			}
			g.con = append(g.con, ct)
		}
	}
	inv.settle = settle

	// An occasional unapplied payment (a duplicate or unreferenced transfer).
	var unapplied *simPayment
	if inv.path != PathCancelled && r.Float64() < m.UnappliedShare {
		var last data.Date
		for _, e := range g.ev {
			if e.method.IsCash() {
				last = max(last, e.date)
			}
		}
		if last != 0 {
			unapplied = &simPayment{inv: -1, date: last, amount: max(1, int64(math.Round(float64(amount)*uniform(r, 0.02, 1)))), method: a.method}
		}
	}

	// Record what happened before To.
	out := g.out
	out.invoices = append(out.invoices, inv)
	for _, e := range g.ev {
		if e.date < c.to {
			out.payments = append(out.payments, simPayment{inv: invIdx, date: e.date, amount: e.amount, method: e.method})
		}
	}
	if unapplied != nil && unapplied.date < c.to {
		out.payments = append(out.payments, *unapplied)
	}
	toT := c.to.Time()
	for _, ct := range g.con {
		if !ct.sentAt.Before(toT) {
			continue
		}
		if ct.outcome == data.OutcomePromise && r.Float64() < 0.8 {
			open := amount
			for _, e := range g.ev {
				if e.date <= ct.localDate {
					open -= e.amount
				}
			}
			ct.promisedAmt = max(open, 0)
		}
		out.contacts = append(out.contacts, ct)
	}
	if disp != nil && disp.opened < c.to {
		if disp.resolved >= c.to {
			disp.resolved = 0
		}
		out.disputes = append(out.disputes, *disp)
	}
	return &out.invoices[len(out.invoices)-1]
}

// settled returns the date the planned payments complete.
func (g *gen) settled() data.Date {
	var d data.Date
	for _, e := range g.ev {
		d = max(d, e.date)
	}
	return d
}

// collapse moves every planned payment after d to d, merging cash.
func (g *gen) collapse(d data.Date) {
	var cash int64
	k := 0
	method := g.a.method
	for _, e := range g.ev {
		switch {
		case e.date <= d:
			g.ev[k] = e
			k++
		case e.method.IsCash():
			cash += e.amount
			method = e.method
		default:
			e.date = d
			g.ev[k] = e
			k++
		}
	}
	g.ev = g.ev[:k]
	if cash > 0 {
		g.ev = append(g.ev, payEv{d, cash, method})
	}
}

// plan returns the local day, channel and hour of contact step (0 =
// reminder) under the invoice's regime, drawing the randomised choices.
func (g *gen) plan(s *invState, step int) (data.Date, data.Channel, int) {
	a, m, r := g.a, g.m, g.r
	if s.regime == RegimeRandomized {
		ch := a.consented(r.IntN(a.nCons))
		h := uniformInt(r, m.RandomHours[0], m.RandomHours[1])
		if step == 0 {
			return s.due.AddDays(-(1 + r.IntN(m.RandomDaySpread+1))), ch, h
		}
		return s.due.AddDays(m.DunningDays[step-1] + r.IntN(m.RandomDaySpread+1)), ch, h
	}
	if step == 0 {
		ch := a.policyChannel(data.Email)
		return a.biz.prev(s.due.AddDays(-m.ReminderDaysBefore)), ch, m.PolicyHour[ch]
	}
	ch := a.policyChannel(m.DunningChannels[step-1])
	return a.biz.next(s.due.AddDays(m.DunningDays[step-1])), ch, m.PolicyHour[ch]
}
