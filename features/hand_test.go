package features_test

import (
	"math"
	"testing"
	"time"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/features"
)

// handHistory is a small account history whose features are computed by
// hand in TestHandComputed.
func handHistory() *data.History {
	D := data.NewDate
	at := func(y int, m time.Month, d, hh int) time.Time { return time.Date(y, m, d, hh, 0, 0, 0, time.UTC) }
	acc := data.Account{ID: "acc", Name: "Muster GmbH", Segment: " SMB ", Country: "de", Currency: "EUR",
		TimeZone: "Europe/Berlin", TermsDays: 30, CreditLimit: 1_000_000, Consent: data.ChannelSet(0).With(data.Email).With(data.Call),
		CreatedAt: at(2023, 1, 1, 0)}
	inv := func(id string, issue, due data.Date, amt int64) data.Invoice {
		return data.Invoice{ID: id, AccountID: "acc", IssueDate: issue, DueDate: due, Amount: amt, Currency: "EUR", DeliveredBy: data.Letter}
	}
	pay := func(id, inv string, d data.Date, amt int64, m data.Method) data.Payment {
		return data.Payment{ID: id, AccountID: "acc", InvoiceID: inv, Date: d, Amount: amt, Currency: "EUR", Method: m}
	}
	h := &data.History{Account: acc,
		Invoices: []data.Invoice{
			inv("I1", D(2024, 1, 1), D(2024, 1, 31), 10_000),
			inv("I2", D(2024, 2, 1), D(2024, 3, 2), 20_000),
			inv("I3", D(2024, 3, 1), D(2024, 3, 31), 40_000),
			inv("I4", D(2024, 4, 1), D(2024, 5, 1), 10_000),
		},
		Payments: []data.Payment{
			pay("P1", "I1", D(2024, 1, 31), 10_000, data.MethodBankTransfer), // I1 paid on its due date: 0 days late
			pay("P2", "I2", D(2024, 3, 1), 5_000, data.MethodCard),
			pay("P3", "I2", D(2024, 3, 12), 15_000, data.MethodCreditNote), // closes I2: 10 days late
			pay("P4", "", D(2024, 4, 5), 1_000, data.MethodCheck),          // unapplied
			pay("P5", "I3", D(2024, 4, 10), 10_000, data.MethodBankTransfer),
			pay("P6", "I4", D(2024, 4, 15), 10_000, data.MethodBankTransfer), // closes I4 16 days early
			pay("P7", "I3", D(2024, 4, 18), 30_000, data.MethodBankTransfer), // closes I3: 18 days late
		},
		Contacts: []data.Contact{
			{ID: "C1", AccountID: "acc", InvoiceID: "I2", Channel: data.Email, SentAt: at(2024, 3, 5, 10), Outcome: data.OutcomeOpened},
			{ID: "C2", AccountID: "acc", InvoiceID: "I3", Channel: data.Call, SentAt: at(2024, 4, 3, 9), Outcome: data.OutcomePromise,
				PromisedDate: D(2024, 4, 8), PromisedAmount: 20_000},
			{ID: "C3", AccountID: "acc", Channel: data.Email, SentAt: at(2024, 4, 12, 8), Outcome: data.OutcomeBounced},
			{ID: "C4", AccountID: "acc", InvoiceID: "I3", Channel: data.SMS, SentAt: at(2024, 4, 16, 12), Outcome: data.OutcomePromise,
				PromisedDate: D(2024, 4, 18)},
		},
		Disputes: []data.Dispute{{ID: "D1", AccountID: "acc", InvoiceID: "I3", OpenedOn: D(2024, 4, 2), ResolvedOn: D(2024, 4, 20)}},
	}
	data.SortHistory(h)
	return h
}

func TestHandComputed(t *testing.T) {
	h := handHistory()
	I5 := data.Invoice{ID: "I5", AccountID: "acc", IssueDate: data.NewDate(2024, 4, 15), DueDate: data.NewDate(2024, 5, 15),
		Amount: 30_000, Currency: "EUR", DeliveredBy: data.Email}
	I3 := h.Invoices[2]
	nan := math.NaN()
	ln2 := math.Ln2
	w := func(days float64) float64 { return math.Exp2(-days / features.HalfLifeDays) }
	// Segment " SMB " and country "de" hash (FNV-1a-32 of "smb" / "DE") to one bucket each.
	segBucket := int(data.AccountHash("smb") % features.SegmentBuckets)
	ctyBucket := int(data.AccountHash("DE") % features.CountryBuckets)

	cases := []struct {
		name string
		asOf time.Time
		inv  data.Invoice
		want map[string]float64
	}{
		{"2024-04-15 issue of I5", time.Date(2024, 4, 15, 0, 0, 0, 0, time.UTC), I5, map[string]float64{
			// Known: I1..I4, P1..P5 (P6 is dated exactly 04-15: not known), C1..C3, D1 opened.
			"hist_invoices_n":        4,
			"hist_paid_n":            2,       // I1 (0 days late), I2 (closed 03-12, due 03-02: 10)
			"hist_late_n":            1,       // I2
			"hist_late_ratio":        0.5,     // 1/2
			"hist_late_amount_ratio": 2.0 / 3, // 20000 / (10000 + 20000)
			"hist_days_late_mean":    5,       // (0 + 10) / 2
			"hist_days_late_median":  0,       // n=2, need 1: bin ≤0 holds 0
			"hist_days_late_p90":     10,      // need 1.8: bin (7,10] → 10
			"hist_days_late_max":     10,
			"hist_days_late_std":     5, // sqrt((0² + 10²)/2 − 5²)
			// I1 folded 01-31, I2 on 03-12 (41 days later): weights 2^(−41/90) and 1.
			"hist_days_late_ewm":           10 / (1 + w(41)),
			"hist_late_ratio_ewm":          1 / (1 + w(41)),
			"hist_days_to_pay_mean":        35, // (30 + 40) / 2: I1 01-01→01-31, I2 02-01→03-12 (2024 is a leap year)
			"hist_days_late_trend":         nan,
			"hist_writeoff_n":              0,
			"hist_credit_note_n":           1, // P3
			"hist_unapplied_payments_n":    1, // P4
			"hist_days_since_last_payment": 5, // P5 on 04-10 (P3 is a credit note, not cash)
			"hist_days_since_last_invoice": 14,
			// Cash-payment days: 01-31 (Wed, last day of January), 03-01 (Fri, the 1st),
			// 04-05 (Fri), 04-10 (Wed); P3 is a credit note. Month-end run days 2 of 4;
			// none on the 14th–16th; Wednesday and Friday 2 each, the tie goes to
			// Wednesday (earlier from Sunday); I5 is due Wednesday 05-15: 0 days to it.
			"hist_pay_monthend_share":     0.5,
			"hist_pay_midmonth_share":     0,
			"hist_pay_top_weekday_share":  0.5,
			"inv_due_days_to_pay_weekday": 0,
			// Open: I3 (40000 − 10000 = 30000, due 03-31, disputed), I4 (10000, due 05-01).
			"open_n":               2,
			"open_amount_log":      math.Log10(1 + 400), // 40000 minor = 400.00 EUR
			"open_amount_ratio":    2,                   // 40000 / mean(10000, 20000, 40000, 10000) = 40000 / 20000
			"overdue_n":            1,                   // I3
			"overdue_amount_ratio": 1.5,                 // 30000 / 20000
			"overdue_oldest_days":  15,                  // 04-15 − 03-31
			"credit_limit_use":     0.04,                // 40000 / 1000000
			"open_disputed_n":      1,
			// I5 itself.
			"inv_amount_log":      math.Log10(300),
			"inv_amount_rel_mean": 1.5, // 30000 / 20000
			// ln amounts: a, a+ln2, a+2ln2, a (a = ln 10000): mean a + ¾ln2, variance 11/16 ln2².
			"inv_amount_log_z":            (math.Log(3) - 0.75*ln2) / (math.Sqrt(11) / 4 * ln2),
			"inv_terms_days":              30,
			"inv_terms_vs_account":        0,
			"inv_issue_weekday":           1, // Monday
			"inv_due_weekday":             3, // Wednesday
			"inv_issue_day_of_month":      15,
			"inv_due_day_of_month":        15,
			"inv_issue_days_to_month_end": 15, // April 30 − 15
			"inv_due_days_to_month_end":   16, // May 31 − 15
			"inv_issue_month":             4,
			"inv_due_month":               5,
			"inv_age_days":                0,
			"inv_days_to_due":             30,
			"inv_paid_fraction":           0,
			"inv_open_disputes":           0,
			"inv_contacts_n":              0,
			"inv_delivered_email":         1, "inv_delivered_sms": 0, "inv_delivered_call": 0, "inv_delivered_letter": 0,
			"inv_same_currency":          1,
			"disputes_n":                 1,
			"disputes_open":              1,
			"disputes_per_invoice":       0.25,
			"disputes_days_since_last":   13, // 04-15 − 04-02
			"disputes_resolve_days_mean": nan,
			// C2 promised 20000 by 04-08; only P4 (1000) was paid 04-03..04-08: broken from 04-09.
			"promises_n": 1, "promises_kept_n": 0, "promises_broken_n": 1, "promises_pending_n": 0, "promises_kept_ratio": 0,
			// Window: contacts dated ≥ 04-15 − 90 days = 2024-01-16: C1, C2, C3.
			"contacts_90d_email": 2, "contacts_90d_sms": 0, "contacts_90d_call": 1, "contacts_90d_letter": 0,
			"contacts_90d_responded":       2, // C1 opened, C2 promise
			"contacts_90d_bounced":         1, // C3
			"contacts_n":                   3,
			"contacts_response_rate_email": 0.5, "contacts_response_rate_sms": nan,
			"contacts_response_rate_call": 1, "contacts_response_rate_letter": nan,
			"contacts_days_since_last": 2 + 16.0/24, // 04-15 00:00 − 04-12 08:00
			"acct_tenure_days":         470,         // 2023-01-01 → 2024-04-15
			"acct_terms_days":          30,
			"acct_has_credit_limit":    1,
			"acct_credit_limit_log":    4, // 1000000 minor = 10000.00 EUR
			"acct_consent_n":           2,
		}},
		{"2024-04-15 I3 still open", time.Date(2024, 4, 15, 0, 0, 0, 0, time.UTC), I3, map[string]float64{
			"inv_paid_fraction":   0.25, // P5 10000 of 40000
			"inv_open_disputes":   1,    // D1
			"inv_contacts_n":      1,    // C2 (C4 is later)
			"inv_age_days":        45,   // 04-15 − 03-01
			"inv_days_to_due":     -15,  // 03-31 − 04-15
			"inv_amount_rel_mean": 2,    // 40000 / 20000
			"inv_delivered_email": 0, "inv_delivered_letter": 1,
		}},
		{"2024-04-20 midnight: resolution at t not yet known", time.Date(2024, 4, 20, 0, 0, 0, 0, time.UTC), I5, map[string]float64{
			// Paid: I1 0, I2 10, I4 −16 (closed 04-15, due 05-01), I3 18 (closed 04-18, due 03-31).
			"hist_paid_n":            4,
			"hist_late_n":            2,
			"hist_late_ratio":        0.5,
			"hist_late_amount_ratio": 0.75, // (20000 + 40000) / 80000
			"hist_days_late_mean":    3,    // 12 / 4
			"hist_days_late_median":  0,    // need 2: bins ≤−15 (1), ≤0 (2)
			"hist_days_late_p90":     18,   // need 3.6: bin (14,21] → 21, clamped to max 18
			"hist_days_late_max":     18,
			"hist_days_late_std":     math.Sqrt(161), // Σx² = 680: 680/4 − 3²
			// Closed 01-31, 03-12, 04-15, 04-18: ages 78, 37, 3, 0 days at the latest closing.
			"hist_days_late_ewm":           (10*w(37) - 16*w(3) + 18) / (w(78) + w(37) + w(3) + 1),
			"hist_late_ratio_ewm":          (w(37) + 1) / (w(78) + w(37) + w(3) + 1),
			"hist_days_to_pay_mean":        33, // (30 + 40 + 14 + 48) / 4
			"hist_days_since_last_payment": 2,  // P7 04-18
			"hist_days_since_last_invoice": 19,
			"open_n":                       0, "open_amount_log": 0, "open_amount_ratio": 0, "overdue_n": 0,
			"overdue_amount_ratio": 0, "overdue_oldest_days": nan, "credit_limit_use": 0, "open_disputed_n": 0,
			"disputes_open":              1,  // resolved on 04-20 = exactly t: not known
			"disputes_days_since_last":   18, // 04-20 − 04-02
			"disputes_resolve_days_mean": nan,
			// C4 (target = I3's open 30000) kept by P7 on its promised date.
			"promises_n": 2, "promises_kept_n": 1, "promises_broken_n": 1, "promises_pending_n": 0, "promises_kept_ratio": 0.5,
			"contacts_90d_email": 2, "contacts_90d_sms": 1, "contacts_90d_call": 1,
			"contacts_90d_responded":     3, // C1, C2, C4
			"contacts_n":                 4,
			"contacts_response_rate_sms": 1,
			"contacts_days_since_last":   3.5, // 04-20 00:00 − 04-16 12:00
			"inv_age_days":               5,
			"inv_days_to_due":            25,
			"acct_tenure_days":           475,
		}},
		{"2024-04-20 one second later: resolved", time.Date(2024, 4, 20, 0, 0, 1, 0, time.UTC), I5, map[string]float64{
			"disputes_open":              0,
			"disputes_resolve_days_mean": 18, // 04-02 → 04-20
			"contacts_days_since_last":   3.5 + 1.0/86400,
		}},
	}
	col := map[string]int{}
	for j, n := range features.Names() {
		col[n] = j
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := features.VectorAt(h, c.asOf, c.inv, nil)
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range c.want {
				j, ok := col[name]
				if !ok {
					t.Fatalf("no feature %q", name)
				}
				got := v[j]
				if !(sameFloat(got, want) || math.Abs(got-want) <= 1e-12*math.Max(1, math.Abs(want))) {
					t.Errorf("%s = %v, want %v", name, got, want)
				}
			}
			for b := range features.SegmentBuckets {
				want := 0.0
				if b == segBucket {
					want = 1
				}
				if got := v[col["acct_segment_h0"]+b]; got != want {
					t.Errorf("acct_segment_h%d = %v, want %v", b, got, want)
				}
			}
			for b := range features.CountryBuckets {
				want := 0.0
				if b == ctyBucket {
					want = 1
				}
				if got := v[col["acct_country_h0"]+b]; got != want {
					t.Errorf("acct_country_h%d = %v, want %v", b, got, want)
				}
			}
		})
	}
}

// TestMissingValues: an account with no history has NaN where a value does
// not exist and real zeros for counts.
func TestMissingValues(t *testing.T) {
	acc := data.Account{ID: "new", Currency: "JPY", TimeZone: "UTC"} // no segment, country, created-at, limit
	inv := data.Invoice{ID: "i", AccountID: "new", IssueDate: data.NewDate(2024, 1, 31), DueDate: data.NewDate(2024, 2, 29),
		Amount: 5000, Currency: "JPY"}
	s := features.NewState(acc)
	v := s.Vector(inv.IssueDate.Time(), inv, nil)
	names := features.Names()
	wantNaN := map[string]bool{"hist_late_ratio": true, "hist_late_amount_ratio": true, "hist_days_late_mean": true,
		"hist_days_late_median": true, "hist_days_late_p90": true, "hist_days_late_max": true, "hist_days_late_std": true,
		"hist_days_late_ewm": true, "hist_late_ratio_ewm": true, "hist_days_to_pay_mean": true, "hist_days_late_trend": true,
		"hist_days_since_last_payment": true, "hist_days_since_last_invoice": true, "open_amount_ratio": true,
		"overdue_amount_ratio": true, "overdue_oldest_days": true, "credit_limit_use": true, "inv_amount_rel_mean": true,
		"inv_amount_log_z": true, "inv_delivered_email": true, "inv_delivered_sms": true, "inv_delivered_call": true,
		"inv_delivered_letter": true, "disputes_per_invoice": true, "disputes_days_since_last": true,
		"disputes_resolve_days_mean": true, "promises_kept_ratio": true, "contacts_response_rate_email": true,
		"contacts_response_rate_sms": true, "contacts_response_rate_call": true, "contacts_response_rate_letter": true,
		"contacts_days_since_last": true, "acct_tenure_days": true, "acct_credit_limit_log": true,
		"hist_pay_monthend_share": true, "hist_pay_midmonth_share": true, "hist_pay_top_weekday_share": true,
		"inv_due_days_to_pay_weekday": true}
	for j, n := range names {
		isNaN := math.IsNaN(v[j])
		want := wantNaN[n] || len(n) > 12 && (n[:12] == "acct_segment" || n[:12] == "acct_country")
		if isNaN != want {
			t.Errorf("%s = %v, want NaN: %t", n, v[j], want)
		}
	}
	// JPY has no minor unit: 5000 minor = ¥5000.
	if got := v[slicesIndex(names, "inv_amount_log")]; math.Abs(got-math.Log10(5000)) > 1e-12 {
		t.Errorf("inv_amount_log = %v, want log10(5000)", got)
	}
	if got := v[slicesIndex(names, "inv_issue_days_to_month_end")]; got != 0 {
		t.Errorf("inv_issue_days_to_month_end on Jan 31 = %v, want 0", got)
	}
	if got := v[slicesIndex(names, "inv_due_days_to_month_end")]; got != 0 {
		t.Errorf("inv_due_days_to_month_end on Feb 29 2024 = %v, want 0", got)
	}
}

func slicesIndex(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}
