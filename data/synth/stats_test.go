package synth_test

import (
	"math"
	"testing"
	"time"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/data/synth"
)

// Statistical sanity checks on a 1,500-account world. Tolerances are wide
// enough for sampling noise (each check's own comment says why) but narrow
// enough that the modelled effect must be there.

func TestLateRatioAndDistribution(t *testing.T) {
	r := sharedRun(t)
	n := len(r.truth.Invoices)
	var late, within30, over90 int
	for _, v := range r.truth.Invoices {
		if v.Late != (v.DaysLate > 0) {
			t.Fatalf("invoice %s: late=%v but days_late=%d", v.InvoiceID, v.Late, v.DaysLate)
		}
		if !v.Late {
			continue
		}
		late++
		if v.DaysLate <= 30 {
			within30++
		}
		if v.DaysLate > 90 {
			over90++
		}
	}
	share := float64(late) / float64(n)
	t.Logf("%d invoices, late share %.4f, within 30 days %.4f, 90+ %.4f of late, %.1f invoices/account", n, share,
		float64(within30)/float64(late), float64(over90)/float64(late), float64(n)/float64(len(r.truth.Accounts)))
	if share < 0.30 || share > 0.45 {
		t.Errorf("late share %.3f, want 0.30..0.45", share)
	}
	if f := float64(within30) / float64(late); f < 0.6 {
		t.Errorf("%.2f of late invoices within 30 days, want most (≥ 0.6)", f)
	}
	if f := float64(over90) / float64(late); f < 0.005 || f > 0.1 {
		t.Errorf("%.4f of late invoices 90+ days late, want a tail of 0.5%%..10%%", f)
	}
	if math.Abs(r.sum.LateShare()-share) > 1e-12 {
		t.Errorf("summary late share %v, truth %v", r.sum.LateShare(), share)
	}
	perAccount := float64(n) / float64(len(r.truth.Accounts))
	if perAccount < 22 || perAccount > 38 {
		t.Errorf("%.1f invoices per account, want ≈ 30 (150k for 5k accounts)", perAccount)
	}
}

// The truth's p_late is calibrated: within each decile of p_late, the mean
// p_late matches the realised late rate.
func TestCalibration(t *testing.T) {
	r := sharedRun(t)
	type bin struct {
		n       int
		sumP    float64
		late    float64
		sumVarP float64
	}
	var bins [10]bin
	for _, v := range r.truth.Invoices {
		if v.PLate < 0 || v.PLate > 1 || v.PLateNoContact < v.PLate-1e-9 {
			t.Fatalf("invoice %s: p_late %v, p_late_no_contact %v", v.InvoiceID, v.PLate, v.PLateNoContact)
		}
		b := &bins[min(int(v.PLate*10), 9)]
		b.n++
		b.sumP += v.PLate
		b.sumVarP += v.PLate * (1 - v.PLate)
		if v.Late {
			b.late++
		}
	}
	for i, b := range bins {
		if b.n < 300 {
			t.Errorf("decile %d has only %d invoices", i, b.n)
			continue
		}
		meanP, rate := b.sumP/float64(b.n), b.late/float64(b.n)
		// Invoices of one account are correlated through its latent
		// parameters only via p itself (outcomes are independent given
		// p), so the binomial sd applies; allow 3.5 sd plus 0.005.
		tol := 3.5*math.Sqrt(b.sumVarP)/float64(b.n) + 0.005
		t.Logf("decile %d: n=%d mean p_late %.4f realised %.4f (tolerance %.4f)", i, b.n, meanP, rate, tol)
		if math.Abs(meanP-rate) > tol {
			t.Errorf("decile %d (n=%d): mean p_late %.4f, realised %.4f, |diff| > %.4f", i, b.n, meanP, rate, tol)
		}
	}
}

func TestHoldoutNeverContacted(t *testing.T) {
	r := sharedRun(t)
	holdout := map[string]bool{}
	for _, a := range r.truth.Accounts {
		if a.Holdout {
			holdout[a.AccountID] = true
		}
	}
	if f := float64(len(holdout)) / float64(len(r.truth.Accounts)); f < 0.025 || f > 0.08 {
		t.Errorf("holdout share %.3f, want ≈ 0.05", f)
	}
	for _, c := range r.w.b.Contacts {
		if holdout[c.AccountID] {
			t.Fatalf("holdout account %s contacted: %+v", c.AccountID, c)
		}
	}
	var dh, dc float64
	var nh, nc int
	for _, v := range r.truth.Invoices {
		if holdout[v.AccountID] {
			if v.Regime != synth.RegimeHoldout || v.PLate != v.PLateNoContact {
				t.Fatalf("holdout invoice %s: regime %s, p_late %v vs %v", v.InvoiceID, v.Regime, v.PLate, v.PLateNoContact)
			}
			nh++
			dh += v.PLateNoContact - v.PLate
		} else {
			nc++
			dc += v.PLateNoContact - v.PLate
		}
	}
	t.Logf("holdout accounts %d, holdout invoices %d, mean p_late reduction by contacting %.4f", len(holdout), nh, dc/float64(nc))
	// Contacting must matter: the reminder lowers p_late on average.
	if nh == 0 || dc/float64(nc) < 0.005 {
		t.Errorf("mean reduction of p_late by contacting %.4f (holdout invoices %d), want ≥ 0.005", dc/float64(nc), nh)
	}
}

func TestRandomizedPeriodSpreads(t *testing.T) {
	r := sharedRun(t)
	type spread struct {
		n            int
		channels     map[data.Channel]bool
		hours, wdays map[int]bool
		weekendShare float64
	}
	by := map[synth.Regime]*spread{}
	country := map[string]string{}
	for _, a := range r.w.b.Accounts {
		country[a.ID] = a.Country
	}
	for _, c := range r.truth.Contacts {
		s := by[c.Regime]
		if s == nil {
			s = &spread{channels: map[data.Channel]bool{}, hours: map[int]bool{}, wdays: map[int]bool{}}
			by[c.Regime] = s
		}
		s.n++
		s.channels[c.Channel] = true
		s.hours[c.LocalHour] = true
		s.wdays[c.LocalWeekday] = true
		weekend := c.LocalWeekday == 0 || c.LocalWeekday == 6
		if country[c.AccountID] == "BH" { // Friday–Saturday weekend
			weekend = c.LocalWeekday == 5 || c.LocalWeekday == 6
		}
		if weekend {
			s.weekendShare++
		}
	}
	rnd, pol := by[synth.RegimeRandomized], by[synth.RegimePolicy]
	if rnd == nil || pol == nil || rnd.n < 1000 {
		t.Fatalf("contacts by regime: %v", by)
	}
	if len(rnd.channels) != 4 || len(rnd.hours) != 13 || len(rnd.wdays) != 7 {
		t.Errorf("randomised contacts use %d channels, %d hours, %d weekdays; want 4, 13, 7",
			len(rnd.channels), len(rnd.hours), len(rnd.wdays))
	}
	if len(pol.hours) > 4 || pol.weekendShare > 0 {
		t.Errorf("policy contacts use %d hours and %.0f weekend days; want the 4 policy hours, business days only",
			len(pol.hours), pol.weekendShare)
	}
	// Randomised contacts happen only for invoices due in [RandomFrom, RandomTo).
	h := r.truth.header
	due := map[string]data.Date{}
	for _, v := range r.truth.Invoices {
		due[v.InvoiceID] = v.DueDate
	}
	for _, c := range r.truth.Contacts {
		d := due[c.InvoiceID]
		if in := d >= h.RandomFrom && d < h.RandomTo; in != (c.Regime == synth.RegimeRandomized) {
			t.Fatalf("contact %s (invoice due %s) has regime %s; random period %s..%s", c.ContactID, d, c.Regime, h.RandomFrom, h.RandomTo)
		}
	}
}

// answered reports whether an observable outcome is a response.
func answered(o data.Outcome) bool {
	switch o {
	case data.OutcomeOpened, data.OutcomeReplied, data.OutcomeConversation, data.OutcomePromise, data.OutcomeRefused:
		return true
	}
	return false
}

// The signal later work must find: in the randomised period, contacts near
// the account's best local hour, on its preferred channel, get answered more.
// Uses only the observable outcome and the contact's local time recomputed
// from SentAt and the account's zone.
func TestBestHourAndChannelSignal(t *testing.T) {
	r := sharedRun(t)
	zone := map[string]*time.Location{}
	for _, a := range r.w.b.Accounts {
		loc, err := data.LoadZone(a.TimeZone)
		if err != nil {
			t.Fatal(err)
		}
		zone[a.ID] = loc
	}
	acct := map[string]*synth.AccountTruth{}
	for i := range r.truth.Accounts {
		acct[r.truth.Accounts[i].AccountID] = &r.truth.Accounts[i]
	}
	regime := map[string]synth.Regime{}
	for _, c := range r.truth.Contacts {
		regime[c.ContactID] = c.Regime
	}
	var near, far, pref, other [2]float64 // [answered, total]
	for _, c := range r.w.b.Contacts {
		if regime[c.ID] != synth.RegimeRandomized || c.Outcome == data.OutcomeBounced {
			continue
		}
		a := acct[c.AccountID]
		h := c.SentAt.In(zone[c.AccountID]).Hour()
		d := int(math.Abs(float64(h - a.BestLocalHour)))
		d = min(d, 24-d)
		ans := 0.0
		if answered(c.Outcome) {
			ans = 1
		}
		switch {
		case d <= 1:
			near[0] += ans
			near[1]++
		case d >= 5:
			far[0] += ans
			far[1]++
		}
		if c.Channel == a.PreferredChannel {
			pref[0] += ans
			pref[1]++
		} else {
			other[0] += ans
			other[1]++
		}
	}
	rate := func(x [2]float64) float64 { return x[0] / x[1] }
	t.Logf("answer rate near best hour %.3f (n=%.0f), far %.3f (n=%.0f); preferred channel %.3f, others %.3f",
		rate(near), near[1], rate(far), far[1], rate(pref), rate(other))
	if near[1] < 300 || far[1] < 300 {
		t.Fatalf("too few contacts: near %v far %v", near, far)
	}
	if rate(near) < 1.5*rate(far) {
		t.Errorf("answer rate near the best hour %.3f vs far from it %.3f; want ≥ 1.5×", rate(near), rate(far))
	}
	if rate(pref) < 1.2*rate(other) {
		t.Errorf("answer rate on the preferred channel %.3f vs others %.3f; want ≥ 1.2×", rate(pref), rate(other))
	}
}

// lastWeekdayOfMonth reports whether d is the last Monday–Friday of its month.
func lastWeekdayOfMonth(d data.Date) bool {
	if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	for n := d + 1; ; n++ {
		if n.Time().Month() != d.Time().Month() {
			return true
		}
		if wd := n.Weekday(); wd != time.Saturday && wd != time.Sunday {
			return false
		}
	}
}

func TestPaymentSeasonality(t *testing.T) {
	r := sharedRun(t)
	var monthEnd, otherWeekday, weekend, total, yearEnd float64
	monthEndDays, otherDays, yearEndDays := map[data.Date]bool{}, map[data.Date]bool{}, map[data.Date]bool{}
	for _, p := range r.w.b.Payments {
		if !p.Method.IsCash() {
			continue
		}
		total++
		d := p.Date
		_, m, day := d.Time().Date()
		switch wd := d.Weekday(); {
		case wd == time.Saturday || wd == time.Sunday:
			weekend++
		case (m == 12 && day >= 23) || (m == 1 && day <= 2):
			yearEnd++
		case lastWeekdayOfMonth(d):
			monthEnd++
		default:
			otherWeekday++
		}
	}
	from := testTo.AddDays(-synth.DefaultWindowDays)
	for d := from; d < testTo; d++ {
		_, m, day := d.Time().Date()
		switch wd := d.Weekday(); {
		case wd == time.Saturday || wd == time.Sunday:
		case (m == 12 && day >= 23) || (m == 1 && day <= 2):
			yearEndDays[d] = true
		case lastWeekdayOfMonth(d):
			monthEndDays[d] = true
		default:
			otherDays[d] = true
		}
	}
	perME := monthEnd / float64(len(monthEndDays))
	perOther := otherWeekday / float64(len(otherDays))
	perYE := yearEnd / float64(len(yearEndDays))
	t.Logf("cash payments per day: month-end %.1f, other weekdays %.1f, late December %.1f; weekend share %.4f",
		perME, perOther, perYE, weekend/total)
	if perME < 2*perOther {
		t.Errorf("cash payments per month-end day %.1f vs other weekdays %.1f; want a ≥ 2× spike", perME, perOther)
	}
	if perYE > 0.8*perOther {
		t.Errorf("cash payments per late-December weekday %.1f vs other weekdays %.1f; want a slowdown (≤ 0.8×)", perYE, perOther)
	}
	if f := weekend / total; f == 0 || f > 0.08 {
		t.Errorf("weekend share of cash payments %.4f; want a few (0 < f ≤ 8%%)", f)
	}
}

func TestEventMix(t *testing.T) {
	r := sharedRun(t)
	b := r.w.b
	var partial, creditNotes, writeOffs, unapplied, promises, broken, kept int
	perInvoice := map[string]int{}
	for _, p := range b.Payments {
		switch {
		case p.InvoiceID == "":
			unapplied++
		case p.Method == data.MethodCreditNote:
			creditNotes++
		case p.Method == data.MethodWriteOff:
			writeOffs++
		default:
			perInvoice[p.InvoiceID]++
		}
	}
	for _, n := range perInvoice {
		if n > 1 {
			partial++
		}
	}
	for _, c := range b.Contacts {
		if c.Outcome == data.OutcomePromise {
			promises++
			if c.PromisedDate == 0 {
				t.Fatalf("promise without a date: %+v", c)
			}
		}
	}
	for _, c := range r.truth.Contacts {
		if c.Responded && c.PromiseKept {
			kept++
		}
	}
	broken = promises - kept
	var resolved, open int
	for _, d := range b.Disputes {
		if d.ResolvedOn != 0 {
			resolved++
		} else {
			open++
		}
	}
	n := len(b.Invoices)
	t.Logf("invoices %d: partial %d, credit notes %d, write-offs %d, unapplied %d, promises %d (kept %d), disputes resolved %d open %d",
		n, partial, creditNotes, writeOffs, unapplied, promises, kept, resolved, open)
	checks := []struct {
		name   string
		got    int
		lo, hi float64 // share of invoices
	}{
		{"partially paid invoices", partial, 0.01, 0.15},
		{"credit notes", creditNotes, 0.01, 0.1},
		{"write-offs", writeOffs, 0.001, 0.03},
		{"unapplied payments", unapplied, 0.0005, 0.02},
		{"promises", promises, 0.005, 0.2},
		{"broken promises", broken, 0.001, 0.1},
		{"kept promises", kept, 0.002, 0.2},
		{"resolved disputes", resolved, 0.005, 0.05},
		{"open disputes", open, 0.00001, 0.01},
	}
	for _, c := range checks {
		if f := float64(c.got) / float64(n); f < c.lo || f > c.hi {
			t.Errorf("%s: %d (%.4f of %d invoices), want %.4f..%.4f", c.name, c.got, f, n, c.lo, c.hi)
		}
	}
	// Disputes delay payment: disputed invoices are late far more often.
	var dLate, dN, oLate, oN float64
	for _, v := range r.truth.Invoices {
		if v.Disputed {
			dN++
			if v.Late {
				dLate++
			}
		} else {
			oN++
			if v.Late {
				oLate++
			}
		}
	}
	t.Logf("late rate disputed %.3f, undisputed %.3f", dLate/dN, oLate/oN)
	if dLate/dN < 1.5*oLate/oN {
		t.Errorf("disputed late rate %.2f vs undisputed %.2f; want ≥ 1.5×", dLate/dN, oLate/oN)
	}
}

// Deteriorating accounts get later over time and improving ones earlier.
func TestDrift(t *testing.T) {
	r := sharedRun(t)
	typ := map[string]string{}
	for _, a := range r.truth.Accounts {
		typ[a.AccountID] = a.PayerType
	}
	from := testTo.AddDays(-synth.DefaultWindowDays)
	mid := from.AddDays(synth.DefaultWindowDays / 2)
	type acc struct{ early, late, ne, nl float64 }
	by := map[string]*acc{}
	issue := map[string]data.Date{}
	for _, inv := range r.w.b.Invoices {
		issue[inv.ID] = inv.IssueDate
	}
	for _, v := range r.truth.Invoices {
		x := by[typ[v.AccountID]]
		if x == nil {
			x = &acc{}
			by[typ[v.AccountID]] = x
		}
		if issue[v.InvoiceID] < mid {
			x.early += v.MuDays
			x.ne++
		} else {
			x.late += v.MuDays
			x.nl++
		}
	}
	det, imp := by["deteriorating"], by["improving"]
	if det == nil || imp == nil {
		t.Fatalf("missing payer types: %v", by)
	}
	t.Logf("mean μ first/second half: deteriorating %.1f → %.1f, improving %.1f → %.1f",
		det.early/det.ne, det.late/det.nl, imp.early/imp.ne, imp.late/imp.nl)
	if d := det.late/det.nl - det.early/det.ne; d < 3 {
		t.Errorf("deteriorating accounts' mean μ rose by %.1f days between halves, want ≥ 3", d)
	}
	if d := imp.late/imp.nl - imp.early/imp.ne; d > -2 {
		t.Errorf("improving accounts' mean μ changed by %.1f days between halves, want ≤ −2", d)
	}
}

// Censoring: invoices settled (latently) after To are open in the store.
func TestCensoring(t *testing.T) {
	r := sharedRun(t)
	paid := map[string]int64{}
	for _, p := range r.w.b.Payments {
		paid[p.InvoiceID] += p.Amount
	}
	amount := map[string]int64{}
	for _, inv := range r.w.b.Invoices {
		amount[inv.ID] = inv.Amount
	}
	var censored int
	for _, v := range r.truth.Invoices {
		open := amount[v.InvoiceID] - paid[v.InvoiceID]
		if v.Censored != (open > 0) {
			t.Fatalf("invoice %s: censored=%v but open amount %d at To (settled_on %s)", v.InvoiceID, v.Censored, open, v.SettledOn)
		}
		if v.Censored {
			censored++
		}
	}
	if censored == 0 || censored != r.sum.CensoredInvoices {
		t.Errorf("%d censored invoices, summary says %d", censored, r.sum.CensoredInvoices)
	}
}
