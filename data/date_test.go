package data_test

import (
	"testing"
	"time"

	"github.com/duesight/duesight/data"
)

func TestDateBounds(t *testing.T) {
	if got := data.MinDate.String(); got != "1970-01-02" {
		t.Errorf("MinDate = %s; want 1970-01-02", got)
	}
	if got := data.MaxDate.String(); got != "2105-12-31" {
		t.Errorf("MaxDate = %s; want 2105-12-31", got)
	}
	if !data.MaxTime.Equal(data.MaxDate.Time().Add(24*time.Hour - time.Second)) {
		t.Errorf("MaxTime %v is not the last second of MaxDate", data.MaxTime)
	}
}

func TestDateRoundTrip(t *testing.T) {
	tests := []struct {
		in      string
		weekday time.Weekday
	}{
		{"1970-01-02", time.Friday},
		{"2000-02-29", time.Tuesday},
		{"2024-12-31", time.Tuesday},
		{"1969-12-31", time.Wednesday}, // before the epoch: negative day numbers still work
		{"2105-12-31", time.Thursday},  // weekdays checked with Python datetime
	}
	for _, tc := range tests {
		d, err := data.ParseDate(tc.in)
		if err != nil {
			t.Fatalf("ParseDate(%q): %v", tc.in, err)
		}
		if d.String() != tc.in {
			t.Errorf("ParseDate(%q).String() = %q", tc.in, d.String())
		}
		if d.Weekday() != tc.weekday {
			t.Errorf("%s.Weekday() = %v; want %v", tc.in, d.Weekday(), tc.weekday)
		}
		if d.Time().Weekday() != d.Weekday() {
			t.Errorf("%s: Weekday disagrees with time.Time", tc.in)
		}
	}
	for _, bad := range []string{"", "2024-13-01", "2024-02-30", "24-1-1", "2024/01/01"} {
		if _, err := data.ParseDate(bad); err == nil {
			t.Errorf("ParseDate(%q) succeeded", bad)
		}
	}
}

func TestDateOfUsesLocalCalendarDay(t *testing.T) {
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	// 2024-03-01 01:00 in Tokyo is 2024-02-29 16:00 UTC.
	ts := time.Date(2024, 3, 1, 1, 0, 0, 0, tokyo)
	if got := data.DateOf(ts).String(); got != "2024-03-01" {
		t.Errorf("DateOf(Tokyo) = %s; want 2024-03-01", got)
	}
	if got := data.DateOf(ts.UTC()).String(); got != "2024-02-29" {
		t.Errorf("DateOf(UTC) = %s; want 2024-02-29", got)
	}
}

func TestDateText(t *testing.T) {
	var d data.Date
	if err := d.UnmarshalText([]byte("2023-07-04")); err != nil || d.String() != "2023-07-04" {
		t.Fatalf("UnmarshalText = %v, %v", d, err)
	}
	if err := d.UnmarshalText(nil); err != nil || !d.IsZero() {
		t.Fatalf("UnmarshalText(empty) = %v, %v; want zero", d, err)
	}
	if b, _ := data.Date(0).MarshalText(); len(b) != 0 {
		t.Fatalf("zero date marshals to %q", b)
	}
}
