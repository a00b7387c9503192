package features_test

import (
	"math"
	"testing"
	"time"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/features"
)

func TestLabels(t *testing.T) {
	issue := data.NewDate(2024, 1, 1)
	due := data.NewDate(2024, 1, 31)
	inv := data.Invoice{ID: "i", AccountID: "a", IssueDate: issue, DueDate: due, Amount: 10_000, Currency: "EUR"}
	pay := func(id string, d data.Date, amt int64, m data.Method) data.Payment {
		return data.Payment{ID: id, AccountID: "a", InvoiceID: "i", Date: d, Amount: amt, Currency: "EUR", Method: m}
	}
	cash, credit, wo := data.MethodBankTransfer, data.MethodCreditNote, data.MethodWriteOff
	late := data.NewDate(2024, 2, 10)      // due + 10
	farHorizon := data.NewDate(2025, 1, 1) // everything known
	nan := math.NaN()
	type want struct {
		status   features.LabelStatus
		late     float64
		daysLate float64
		lower    bool
		bucket   features.LateBucket
		settled  data.Date
		written  bool
	}
	cases := []struct {
		name    string
		pays    []data.Payment
		horizon time.Time
		grace   int
		want    want
	}{
		{"paid on the due date is on time", []data.Payment{pay("p", due, 10_000, cash)}, farHorizon.Time(), 0,
			want{features.StatusPaid, 0, 0, false, features.BucketOnTime, due, false}},
		{"paid one day late", []data.Payment{pay("p", due+1, 10_000, cash)}, farHorizon.Time(), 0,
			want{features.StatusPaid, 1, 1, false, features.Bucket1to30, due + 1, false}},
		{"paid early: negative days late", []data.Payment{pay("p", due-7, 10_000, cash)}, farHorizon.Time(), 0,
			want{features.StatusPaid, 0, -7, false, features.BucketOnTime, due - 7, false}},
		{"within grace is on time", []data.Payment{pay("p", due+3, 10_000, cash)}, farHorizon.Time(), 3,
			want{features.StatusPaid, 0, 3, false, features.Bucket1to30, due + 3, false}},
		{"one day beyond grace is late", []data.Payment{pay("p", due+4, 10_000, cash)}, farHorizon.Time(), 3,
			want{features.StatusPaid, 1, 4, false, features.Bucket1to30, due + 4, false}},
		{"partial payments settle on the last one", []data.Payment{pay("p1", due-10, 4_000, cash),
			pay("p2", due+30, 5_999, cash), pay("p3", due+45, 1, cash)}, farHorizon.Time(), 0,
			want{features.StatusPaid, 1, 45, false, features.Bucket31to60, due + 45, false}},
		{"credit note completes the payment", []data.Payment{pay("p1", due, 6_000, cash),
			pay("p2", due+61, 4_000, credit)}, farHorizon.Time(), 0,
			want{features.StatusPaid, 1, 61, false, features.Bucket61to90, due + 61, false}},
		{"overpayment settles at once", []data.Payment{pay("p1", due+91, 15_000, cash),
			pay("p2", due+200, 100, cash)}, farHorizon.Time(), 0,
			want{features.StatusPaid, 1, 91, false, features.Bucket90Plus, due + 91, false}},
		{"prepayment before issue", []data.Payment{pay("p", issue-5, 10_000, cash)}, farHorizon.Time(), 0,
			want{features.StatusPaid, 0, -35, false, features.BucketOnTime, issue - 5, false}},
		{"write-off of 5% counts as paid", []data.Payment{pay("p1", late, 9_500, cash), pay("p2", late+2, 500, wo)},
			farHorizon.Time(), 0, want{features.StatusPaid, 1, 12, false, features.Bucket1to30, late + 2, false}},
		{"write-off above 5% is unpaid, known late", []data.Payment{pay("p1", late, 9_499, cash), pay("p2", late+2, 501, wo)},
			farHorizon.Time(), 0,
			// lower bound = last known day (2024-12-31) − due + 1 = 335 + 1
			want{features.StatusUnpaidLate, 1, 336, true, features.Bucket90Plus, 0, true}},
		{"written off before due, horizon before due: unknown", []data.Payment{pay("p", due-10, 10_000, wo)},
			due.Time(), 0, want{features.StatusUnpaidPending, nan, nan, false, features.BucketUnknown, 0, true}},
		{"open, horizon = midnight after due: known late by 1 day", nil, (due + 1).Time(), 0,
			want{features.StatusUnpaidLate, 1, 1, true, features.Bucket1to30, 0, false}},
		{"open, horizon = midnight of due: unknown", nil, due.Time(), 0,
			want{features.StatusUnpaidPending, nan, nan, false, features.BucketUnknown, 0, false}},
		{"open, horizon inside grace: unknown", nil, (due + 2).Time(), 2,
			want{features.StatusUnpaidPending, nan, nan, false, features.BucketUnknown, 0, false}},
		{"open, horizon just past grace: known late", nil, (due + 3).Time(), 2,
			want{features.StatusUnpaidLate, 1, 3, true, features.Bucket1to30, 0, false}},
		{"horizon mid-day knows that day's payments", []data.Payment{pay("p", due+5, 10_000, cash)},
			(due + 5).Time().Add(time.Hour), 0, want{features.StatusPaid, 1, 5, false, features.Bucket1to30, due + 5, false}},
		{"payment at the horizon is not known", []data.Payment{pay("p", due+5, 10_000, cash)},
			(due + 5).Time(), 0, want{features.StatusUnpaidLate, 1, 5, true, features.Bucket1to30, 0, false}},
		{"partially paid at the horizon stays censored", []data.Payment{pay("p", due-1, 9_999, cash)},
			(due + 40).Time(), 0, want{features.StatusUnpaidLate, 1, 40, true, features.Bucket31to60, 0, false}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := &data.History{Account: data.Account{ID: "a", Currency: "EUR"}, Invoices: []data.Invoice{inv}, Payments: c.pays}
			// An unapplied payment and a payment of another invoice never count.
			h.Payments = append(h.Payments,
				data.Payment{ID: "u", AccountID: "a", Date: issue, Amount: 99_999, Currency: "EUR", Method: cash},
				data.Payment{ID: "o", AccountID: "a", InvoiceID: "other", Date: issue, Amount: 99_999, Currency: "EUR", Method: cash})
			data.SortHistory(h)
			l := features.Labels(h, c.horizon, c.grace)[0]
			w := c.want
			if l.Status != w.status || !sameFloat(l.Late, w.late) || !sameFloat(l.DaysLate, w.daysLate) ||
				l.LowerBound != w.lower || l.Bucket != w.bucket || l.Settled != w.settled || l.WrittenOff != w.written {
				t.Fatalf("got %+v (status %s, bucket %s)\nwant %+v", l, l.Status, l.Bucket, w)
			}
			if l.Status.Censored() != (w.status != features.StatusPaid) {
				t.Fatalf("Censored() = %t for %s", l.Status.Censored(), l.Status)
			}
		})
	}
}

func TestLastKnownDay(t *testing.T) {
	d := data.NewDate(2024, 5, 6)
	cases := []struct {
		at   time.Time
		want data.Date
	}{
		{d.Time(), d - 1},
		{d.Time().Add(time.Nanosecond), d},
		{d.Time().Add(time.Second), d},
		{d.Time().Add(24*time.Hour - time.Second), d},
		{d.Time().In(time.FixedZone("X", 5*3600)), d - 1},
	}
	for _, c := range cases {
		if got := features.LastKnownDay(c.at); got != c.want {
			t.Errorf("LastKnownDay(%s) = %s, want %s", c.at, got, c.want)
		}
	}
}

func TestBucketOf(t *testing.T) {
	cases := []struct {
		days int
		want features.LateBucket
	}{{-100, features.BucketOnTime}, {0, features.BucketOnTime}, {1, features.Bucket1to30}, {30, features.Bucket1to30},
		{31, features.Bucket31to60}, {60, features.Bucket31to60}, {61, features.Bucket61to90}, {90, features.Bucket61to90},
		{91, features.Bucket90Plus}}
	for _, c := range cases {
		if got := features.BucketOf(c.days); got != c.want {
			t.Errorf("BucketOf(%d) = %s, want %s", c.days, got, c.want)
		}
		if b, err := features.ParseLateBucket(c.want.String()); err != nil || b != c.want {
			t.Errorf("ParseLateBucket(%s) = %v, %v", c.want, b, err)
		}
	}
}
