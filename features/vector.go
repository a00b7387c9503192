package features

import (
	"math"
	"math/bits"
	"time"

	"github.com/duesight/duesight/data"
)

const secondsPerDay = 86400

// Vector returns the features of invoice inv as of asOf, in Catalog order,
// reusing dst's storage when it has room for NumFeatures values. NaN marks a
// missing value.
//
// Precondition: every applied event happened strictly before asOf
// (asOf.After(s.Watermark())); otherwise the vector includes events that are
// not in the past of asOf. Featurizer.Vector checks this. asOf is used at
// one-second precision for durations. inv should be the invoice being
// scored: not yet issued (issue snapshot) or still open at asOf.
func (s *State) Vector(asOf time.Time, inv data.Invoice, dst []float64) []float64 {
	if cap(dst) < numFeatures {
		dst = make([]float64, numFeatures)
	}
	v := dst[:numFeatures]
	nan := math.NaN()
	at := asOf.Unix()
	days := func(sec int64) float64 { return float64(at-sec) / secondsPerDay }
	midnight := func(d data.Date) int64 { return int64(d) * secondsPerDay }
	ratio := func(a, b float64) float64 {
		if b == 0 {
			return nan
		}
		return a / b
	}

	// History of paid invoices.
	n := float64(s.paidN)
	v[fInvoicesN] = float64(s.invoicesN)
	v[fSettledN] = n
	v[fLateN] = float64(s.lateN)
	v[fLateRatio] = ratio(float64(s.lateN), n)
	v[fLateAmountRatio] = ratio(s.lateAmt, s.paidAmt)
	if s.paidN == 0 {
		for _, j := range [...]int{fDaysLateMean, fDaysLateMedian, fDaysLateP90, fDaysLateMax, fDaysLateStd,
			fDaysLateEWM, fLateRatioEWM, fDaysToPayMean} {
			v[j] = nan
		}
	} else {
		mean := s.dlSum / n
		v[fDaysLateMean] = mean
		v[fDaysLateMedian] = s.quantile(0.5)
		v[fDaysLateP90] = s.quantile(0.9)
		v[fDaysLateMax] = float64(s.dlMax)
		v[fDaysLateStd] = math.Sqrt(max(s.dlSumSq/n-mean*mean, 0))
		v[fDaysLateEWM] = s.ewNum / s.ewDen
		v[fLateRatioEWM] = s.ewLate / s.ewDen
		v[fDaysToPayMean] = s.dtpSum / n
	}
	v[fDaysLateTrend] = nan
	if s.paidN > TrendN {
		var sum float64
		for _, x := range s.recent {
			sum += float64(x)
		}
		v[fDaysLateTrend] = sum/TrendN - s.dlSum/n
	}
	v[fWriteOffN] = float64(s.writeOffN)
	v[fCreditNoteN] = float64(s.creditNoteN)
	v[fUnappliedN] = float64(s.unappliedN)
	v[fDaysSinceLastPayment] = nan
	if s.lastPay != 0 {
		v[fDaysSinceLastPayment] = days(midnight(s.lastPay))
	}
	v[fDaysSinceLastInvoice] = nan
	if s.lastIssue != 0 {
		v[fDaysSinceLastInvoice] = days(midnight(s.lastIssue))
	}
	v[fPayMonthEndShare], v[fPayMidMonthShare], v[fPayTopWeekdayShare], v[fInvDueToPayWeekday] = nan, nan, nan, nan
	if s.payDaysN > 0 {
		pd := float64(s.payDaysN)
		wd, top := s.topPayWeekday()
		v[fPayMonthEndShare] = float64(s.payMonthEnd) / pd
		v[fPayMidMonthShare] = float64(s.payMidMonth) / pd
		v[fPayTopWeekdayShare] = float64(top) / pd
		if inv.DueDate != 0 {
			v[fInvDueToPayWeekday] = float64((int(wd) - int(inv.DueDate.Weekday()) + 7) % 7)
		}
	}

	// Open position.
	meanAmt := nan
	if s.curInvoicesN > 0 {
		meanAmt = s.amtSum / float64(s.curInvoicesN)
	}
	var openN, overdueN, disputedN int
	var openAmt, overdueAmt int64
	oldest := nan
	for i := range s.open {
		e := &s.open[i]
		openN++
		if e.sameCur {
			openAmt += e.open
		}
		if at >= midnight(e.due+1) {
			overdueN++
			if e.sameCur {
				overdueAmt += e.open
			}
			if age := days(midnight(e.due)); !(age <= oldest) {
				oldest = age
			}
		}
		if e.disputes > 0 {
			disputedN++
		}
	}
	v[fOpenN] = float64(openN)
	v[fOpenAmountLog] = math.Log10(1 + float64(openAmt)/s.attrs.scale)
	v[fOpenAmountRatio] = float64(openAmt) / meanAmt
	v[fOverdueN] = float64(overdueN)
	v[fOverdueAmountRatio] = float64(overdueAmt) / meanAmt
	v[fOverdueOldestDays] = oldest
	v[fCreditLimitUse] = ratio(float64(openAmt), float64(s.attrs.creditLimit))
	v[fOpenDisputedN] = float64(disputedN)

	// The invoice.
	amt := float64(inv.Amount)
	same := inv.Currency == s.attrs.currency
	v[fInvAmountLog] = math.Log10(amt / math.Pow10(data.CurrencyExponent(inv.Currency)))
	v[fInvAmountRelMean] = nan
	v[fInvAmountLogZ] = nan
	if same {
		v[fInvAmountRelMean] = amt / meanAmt
		if c := float64(s.curInvoicesN); c >= 2 {
			m := s.lnAmtSum / c
			if sd := math.Sqrt(max(s.lnAmtSumSq/c-m*m, 0)); sd >= 1e-6 {
				v[fInvAmountLogZ] = (math.Log(amt) - m) / sd
			}
		}
	}
	terms := inv.DueDate.Sub(inv.IssueDate)
	v[fInvTermsDays] = float64(terms)
	v[fInvTermsVsAccount] = float64(terms - int(s.attrs.termsDays))
	v[fInvIssueWeekday] = float64(inv.IssueDate.Weekday())
	v[fInvDueWeekday] = float64(inv.DueDate.Weekday())
	iy, im, id := inv.IssueDate.Time().Date()
	dy, dm, dd := inv.DueDate.Time().Date()
	v[fInvIssueDayOfMonth] = float64(id)
	v[fInvDueDayOfMonth] = float64(dd)
	v[fInvIssueDaysToMonthEnd] = float64(daysIn(iy, im) - id)
	v[fInvDueDaysToMonthEnd] = float64(daysIn(dy, dm) - dd)
	v[fInvIssueMonth] = float64(im)
	v[fInvDueMonth] = float64(dm)
	v[fInvAgeDays] = days(midnight(inv.IssueDate))
	v[fInvDaysToDue] = float64(midnight(inv.DueDate)-at) / secondsPerDay
	var paid int64
	var disputes, contacts uint8
	id64 := hashID(inv.ID)
	if i := s.findOpen(id64); i >= 0 {
		e := &s.open[i]
		paid, disputes, contacts = e.amount-e.open, e.disputes, e.contacts
	} else {
		for _, p := range s.prepaid {
			if p.id == id64 {
				paid += p.amount
			}
		}
	}
	v[fInvPaidFraction] = float64(paid) / amt
	v[fInvOpenDisputes] = float64(disputes)
	v[fInvContactsN] = float64(contacts)
	for k, j := range [...]int{fInvDeliveredEmail, fInvDeliveredSMS, fInvDeliveredCall, fInvDeliveredLetter} {
		switch {
		case !inv.DeliveredBy.Valid():
			v[j] = nan
		case int(inv.DeliveredBy) == k+1:
			v[j] = 1
		default:
			v[j] = 0
		}
	}
	v[fInvSameCurrency] = 0
	if same {
		v[fInvSameCurrency] = 1
	}

	// Disputes.
	v[fDisputesN] = float64(s.disputesN)
	v[fDisputesOpen] = float64(s.disputesOpen)
	v[fDisputesPerInvoice] = ratio(float64(s.disputesN), float64(s.invoicesN))
	v[fDisputesDaysSinceLast] = nan
	if s.lastDispute != 0 {
		v[fDisputesDaysSinceLast] = days(midnight(s.lastDispute))
	}
	v[fDisputesResolveDaysMean] = ratio(s.resolveDaysSum, float64(s.disputesResolvedN))

	// Promises.
	broken := s.promisesBroken
	for _, p := range s.pending {
		if at >= midnight(p.deadline+1) {
			broken++
		}
	}
	v[fPromisesN] = float64(s.promisesN)
	v[fPromisesKept] = float64(s.promisesKept)
	v[fPromisesBroken] = float64(broken)
	v[fPromisesPending] = float64(len(s.pending) - int(broken-s.promisesBroken))
	v[fPromisesKeptRatio] = ratio(float64(s.promisesKept), float64(s.promisesKept+broken))

	// Contacts.
	var byCh [5]int
	var resp, bounced int
	from := uint32(max(floorDiv(at, secondsPerDay)-ContactWindowDays, 0)) << 8
	for _, c := range s.recentC {
		if c < from {
			continue
		}
		byCh[(c>>4)&7]++
		o := data.Outcome(c & 15)
		if responded(o) {
			resp++
		}
		if o == data.OutcomeBounced {
			bounced++
		}
	}
	var total uint32
	for k, j := range [...]int{fContacts90Email, fContacts90SMS, fContacts90Call, fContacts90Letter} {
		v[j] = float64(byCh[k+1])
		total += s.contactsN[k]
	}
	v[fContacts90Responded] = float64(resp)
	v[fContacts90Bounced] = float64(bounced)
	v[fContactsN] = float64(total)
	for k, j := range [...]int{fResponseRateEmail, fResponseRateSMS, fResponseRateCall, fResponseRateLetter} {
		v[j] = ratio(float64(s.respondedN[k]), float64(s.contactsN[k]))
	}
	v[fDaysSinceLastContact] = nan
	if s.lastContact != 0 {
		v[fDaysSinceLastContact] = days(s.lastContact)
	}

	// Account attributes.
	v[fTenureDays] = nan
	if s.attrs.created != 0 {
		v[fTenureDays] = days(s.attrs.created)
	}
	v[fAcctTermsDays] = float64(s.attrs.termsDays)
	v[fHasCreditLimit] = 0
	v[fCreditLimitLog] = nan
	if s.attrs.creditLimit > 0 {
		v[fHasCreditLimit] = 1
		v[fCreditLimitLog] = math.Log10(float64(s.attrs.creditLimit) / s.attrs.scale)
	}
	v[fConsentN] = float64(bits.OnesCount8(s.attrs.consent & uint8(data.AllChannels)))
	oneHot(v[fSegmentH0:fSegmentH0+SegmentBuckets], s.attrs.segment)
	oneHot(v[fCountryH0:fCountryH0+CountryBuckets], s.attrs.country)
	return v
}

// oneHot sets dst to the one-hot encoding of bucket b, or all NaN if b < 0.
func oneHot(dst []float64, b int8) {
	for i := range dst {
		switch {
		case b < 0:
			dst[i] = math.NaN()
		case i == int(b):
			dst[i] = 1
		default:
			dst[i] = 0
		}
	}
}

// quantile is the upper bound of the first histogram bin whose cumulative
// count reaches q × the total count, clamped to [min, max] days late (exact
// when every value falls in one bin).
func (s *State) quantile(q float64) float64 {
	var total int
	for _, c := range s.hist {
		total += int(c)
	}
	need := q * float64(total)
	cum := 0
	for b, c := range s.hist {
		cum += int(c)
		if c > 0 && float64(cum) >= need {
			return min(max(binValue(b), float64(s.dlMin)), float64(s.dlMax))
		}
	}
	return float64(s.dlMax)
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
