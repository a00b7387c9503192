package features

import (
	"fmt"
	"math"
	"time"

	"github.com/duesight/duesight/data"
)

// LabelStatus says what is known at the label horizon about an invoice's
// payment.
type LabelStatus uint8

const (
	// StatusPaid: closed by payments and credit notes (and immaterial
	// write-offs) by the horizon. late and days_late are exact.
	StatusPaid LabelStatus = 1
	// StatusUnpaidLate: not paid by the horizon (still open, or closed by a
	// material write-off), and the horizon is past due + grace: it is known
	// to be late (late = 1) and days_late is a lower bound. Censored.
	StatusUnpaidLate LabelStatus = 2
	// StatusUnpaidPending: not paid by the horizon, which is not yet past
	// due + grace: the label is unknown (late and days_late NaN). Censored;
	// excluded from binary training by default (Table.Labeled).
	StatusUnpaidPending LabelStatus = 3
)

var statusNames = [...]string{"", "paid", "unpaid_late", "unpaid_pending"}

func (s LabelStatus) String() string {
	if int(s) < len(statusNames) && s != 0 {
		return statusNames[s]
	}
	return fmt.Sprintf("status(%d)", s)
}

// ParseLabelStatus is the inverse of LabelStatus.String.
func ParseLabelStatus(v string) (LabelStatus, error) {
	for i, n := range statusNames {
		if n == v && i != 0 {
			return LabelStatus(i), nil
		}
	}
	return 0, fmt.Errorf("unknown label status %q (want paid, unpaid_late or unpaid_pending)", v)
}

// Censored reports whether the payment date is not observed by the horizon.
func (s LabelStatus) Censored() bool { return s != StatusPaid }

// LateBucket classifies days late: on time (≤ 0), 1–30, 31–60, 61–90, over
// 90, or unknown. For StatusUnpaidLate it classifies the lower bound (the
// invoice is at least that late).
type LateBucket uint8

const (
	BucketUnknown LateBucket = 0
	BucketOnTime  LateBucket = 1
	Bucket1to30   LateBucket = 2
	Bucket31to60  LateBucket = 3
	Bucket61to90  LateBucket = 4
	Bucket90Plus  LateBucket = 5
)

var bucketNames = [...]string{"unknown", "on_time", "1_30", "31_60", "61_90", "90_plus"}

func (b LateBucket) String() string {
	if int(b) < len(bucketNames) {
		return bucketNames[b]
	}
	return fmt.Sprintf("bucket(%d)", b)
}

// ParseLateBucket is the inverse of LateBucket.String.
func ParseLateBucket(v string) (LateBucket, error) {
	for i, n := range bucketNames {
		if n == v {
			return LateBucket(i), nil
		}
	}
	return 0, fmt.Errorf("unknown late bucket %q", v)
}

// BucketOf returns the bucket of a number of days late.
func BucketOf(daysLate int) LateBucket {
	switch {
	case daysLate <= 0:
		return BucketOnTime
	case daysLate <= 30:
		return Bucket1to30
	case daysLate <= 60:
		return Bucket31to60
	case daysLate <= 90:
		return Bucket61to90
	}
	return Bucket90Plus
}

// Label is what an invoice's payment history says at the label horizon.
type Label struct {
	Status LabelStatus
	// Late is 1 (late), 0 (on time) or NaN (unknown).
	Late float64
	// DaysLate is settled − due for paid invoices, the lower bound
	// (horizon day − due + 1, see LastKnownDay) for StatusUnpaidLate, NaN
	// for StatusUnpaidPending.
	DaysLate float64
	// LowerBound reports that DaysLate is a lower bound (StatusUnpaidLate).
	LowerBound bool
	Bucket     LateBucket
	// Settled is the date the invoice was paid (0 unless StatusPaid).
	Settled data.Date
	// WrittenOff reports write-offs above MaterialWriteOff of the amount
	// dated before the horizon. Such an invoice is never StatusPaid.
	WrittenOff bool
}

// LastKnownDay returns the last calendar day whose payments are known at the
// horizon asOf: the largest date d with midnight UTC of d < asOf.
func LastKnownDay(asOf time.Time) data.Date {
	sec := asOf.Unix()
	d := floorDiv(sec, secondsPerDay)
	if sec%secondsPerDay == 0 && asOf.Nanosecond() == 0 {
		d--
	}
	return data.Date(d)
}

// closing is the raw label information of one invoice: when its open amount
// reached ≤ 0 counting every applied payment dated before the cut, and its
// write-offs by then.
type closing struct {
	closed     data.Date
	writtenOff bool
}

// closings computes, for each invoice of h (same index), the first date its
// open amount (amount − cash − credit notes − write-offs applied to it,
// payments in date then id order, also payments dated before the invoice)
// reached ≤ 0 using only payments dated before cut (zero = all), and whether
// write-offs applied by then (or by cut, if still open) exceed
// MaterialWriteOff of the amount.
func closings(h *data.History, cut time.Time) []closing {
	idx := make(map[string]int, len(h.Invoices))
	open := make([]int64, len(h.Invoices))
	wo := make([]int64, len(h.Invoices))
	out := make([]closing, len(h.Invoices))
	for i, inv := range h.Invoices {
		idx[inv.ID] = i
		open[i] = inv.Amount
	}
	for _, p := range h.Payments {
		if !cut.IsZero() && !p.Date.Time().Before(cut) {
			break // payments are in date order
		}
		i, ok := idx[p.InvoiceID]
		if !ok || p.InvoiceID == "" || out[i].closed != 0 {
			continue
		}
		open[i] -= p.Amount
		if p.Method == data.MethodWriteOff {
			wo[i] += p.Amount
		}
		if open[i] <= 0 {
			out[i].closed = p.Date
		}
	}
	for i, inv := range h.Invoices {
		out[i].writtenOff = float64(wo[i]) > MaterialWriteOff*float64(inv.Amount)
	}
	return out
}

// label turns raw closing information into a label at the horizon whose last
// known day is last, with grace days of tolerance.
func label(c closing, due, last data.Date, grace int) Label {
	if c.closed != 0 && c.closed <= last && !c.writtenOff {
		dl := c.closed.Sub(due)
		l := Label{Status: StatusPaid, DaysLate: float64(dl), Bucket: BucketOf(dl), Settled: c.closed}
		if dl > grace {
			l.Late = 1
		}
		return l
	}
	lb := last.Sub(due) + 1 // unpaid at the end of day last: at least this late
	if lb > grace {
		return Label{Status: StatusUnpaidLate, Late: 1, DaysLate: float64(lb), LowerBound: true,
			Bucket: BucketOf(lb), WrittenOff: c.writtenOff}
	}
	return Label{Status: StatusUnpaidPending, Late: math.NaN(), DaysLate: math.NaN(), Bucket: BucketUnknown,
		WrittenOff: c.writtenOff}
}

// Labels computes the label of every invoice of h (same index) at the
// horizon asOf with grace days of tolerance, from h's payments dated before
// asOf. An invoice is paid on the first date its open amount reaches ≤ 0
// through applied payments, credit notes and write-offs, unless write-offs
// exceed MaterialWriteOff of its amount: then it is treated as never paid
// (written off). days_late = paid date − due date; late = days_late > grace.
// An invoice not paid by the horizon is censored: known late (late = 1,
// days_late a lower bound) once LastKnownDay(asOf) − due + 1 > grace,
// unknown otherwise. Invoices issued on or after asOf get a label too, but
// Build never emits rows for them.
func Labels(h *data.History, asOf time.Time, grace int) []Label {
	cs := closings(h, asOf)
	last := LastKnownDay(asOf)
	out := make([]Label, len(h.Invoices))
	for i, inv := range h.Invoices {
		out[i] = label(cs[i], inv.DueDate, last, grace)
	}
	return out
}
