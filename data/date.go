package data

import (
	"fmt"
	"time"
)

// Date is a calendar date counted in days since 1970-01-01 (UTC). The zero
// value means "no date". Dates are the granularity of issue, due, payment,
// promise and dispute dates.
type Date int32

// MinDate and MaxDate bound the dates duesight stores: 1970-01-02 is the first
// day distinguishable from "unset" and 2105-12-31 is the last day ClickHouse's
// Date and DateTime types hold.
const (
	MinDate Date = 1
	MaxDate Date = 49672 // 2105-12-31
)

// MinTime and MaxTime bound stored instants (seconds precision, UTC).
var (
	MinTime = time.Unix(1, 0).UTC()
	MaxTime = time.Date(2105, 12, 31, 23, 59, 59, 0, time.UTC)
)

const secondsPerDay = 86400

// NewDate returns the date y-m-d. Out-of-range months and days are normalised
// as time.Date does.
func NewDate(y int, m time.Month, d int) Date {
	return DateOf(time.Date(y, m, d, 0, 0, 0, 0, time.UTC))
}

// DateOf returns the calendar date of t in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	u := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix()
	return Date(floorDiv(u, secondsPerDay))
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// ParseDate parses an ISO 8601 calendar date (2006-01-02).
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, fmt.Errorf("parse date %q: want YYYY-MM-DD", s)
	}
	return DateOf(t), nil
}

// Time returns midnight UTC at the start of d.
func (d Date) Time() time.Time { return time.Unix(int64(d)*secondsPerDay, 0).UTC() }

// IsZero reports whether d is unset.
func (d Date) IsZero() bool { return d == 0 }

// AddDays returns d+n days.
func (d Date) AddDays(n int) Date { return d + Date(n) }

// Sub returns d−e in days.
func (d Date) Sub(e Date) int { return int(d) - int(e) }

// Weekday returns the day of the week of d (1970-01-01 was a Thursday).
func (d Date) Weekday() time.Weekday {
	return time.Weekday((int64(d)%7 + 7 + 4) % 7)
}

// String formats d as YYYY-MM-DD, or "" when unset.
func (d Date) String() string {
	if d == 0 {
		return ""
	}
	return d.Time().Format(time.DateOnly)
}

// MarshalText implements encoding.TextMarshaler (YYYY-MM-DD; empty when unset).
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = 0
		return nil
	}
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// validDate reports whether d is set and within [MinDate, MaxDate].
func validDate(d Date) bool { return d >= MinDate && d <= MaxDate }

// validTime reports whether t is set and within [MinTime, MaxTime].
func validTime(t time.Time) bool { return !t.Before(MinTime) && !t.After(MaxTime) }

// NormalizeTime returns t in UTC truncated to whole seconds (the precision of
// both stores); the zero time stays zero.
func NormalizeTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Second)
}
