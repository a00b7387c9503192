package data_test

import (
	"encoding/json"
	"testing"

	"github.com/duesight/duesight/data"
)

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in       string
		currency string
		dec, grp rune
		want     int64
		wantErr  bool
	}{
		{"55.94", "USD", '.', 0, 5594, false},
		{"55.9", "USD", '.', 0, 5590, false},
		{"55", "USD", '.', 0, 5500, false},
		{".5", "USD", '.', 0, 50, false},
		{"1.234,56", "EUR", ',', '.', 123456, false},
		{"1,234.56", "USD", '.', ',', 123456, false},
		{" -12.30 ", "USD", '.', 0, -1230, false},
		{"+7", "USD", '.', 0, 700, false},
		{"1500", "JPY", '.', 0, 1500, false},
		{"1500.00", "JPY", '.', 0, 1500, false}, // trailing zero decimals are fine
		{"1.234", "BHD", '.', 0, 1234, false},
		{"0.001", "USD", '.', 0, 0, true}, // more precision than the currency has
		{"1500.5", "JPY", '.', 0, 0, true},
		{"NaN", "USD", '.', 0, 0, true},
		{"Inf", "USD", '.', 0, 0, true},
		{"1e3", "USD", '.', 0, 0, true},
		{"", "USD", '.', 0, 0, true},
		{"-", "USD", '.', 0, 0, true},
		{".", "USD", '.', 0, 0, true},
		{"12.34.56", "USD", '.', 0, 0, true},
		{"99999999999999999999", "USD", '.', 0, 0, true},
		{"$12", "USD", '.', 0, 0, true},
	}
	for _, tc := range tests {
		got, err := data.ParseAmount(tc.in, tc.currency, tc.dec, tc.grp)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseAmount(%q, %s) = %d, %v; want %d, err=%v", tc.in, tc.currency, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestFormatAmount(t *testing.T) {
	tests := []struct {
		minor    int64
		currency string
		want     string
	}{
		{5594, "USD", "55.94"},
		{5, "USD", "0.05"},
		{-5, "EUR", "-0.05"},
		{1500, "JPY", "1500"},
		{1234, "BHD", "1.234"},
		{-9223372036854775808, "USD", "-92233720368547758.08"},
	}
	for _, tc := range tests {
		if got := data.FormatAmount(tc.minor, tc.currency); got != tc.want {
			t.Errorf("FormatAmount(%d, %s) = %q; want %q", tc.minor, tc.currency, got, tc.want)
		}
	}
}

func FuzzAmountRoundTrip(f *testing.F) {
	for _, s := range []string{"0", "55.94", "-1.00", "123456789.99", "0.01"} {
		f.Add(s, "USD")
	}
	f.Add("1.234", "KWD")
	f.Add("77", "JPY")
	f.Fuzz(func(t *testing.T, s, currency string) {
		v, err := data.ParseAmount(s, currency, '.', 0)
		if err != nil {
			return
		}
		back, err := data.ParseAmount(data.FormatAmount(v, currency), currency, '.', 0)
		if err != nil || back != v {
			t.Fatalf("%q → %d → %q → %d, %v", s, v, data.FormatAmount(v, currency), back, err)
		}
	})
}

func TestMoneyJSONIsDecimalString(t *testing.T) {
	b, err := json.Marshal(data.Money{Minor: 10, Currency: "USD"})
	if err != nil || string(b) != `{"amount":"0.10","currency":"USD"}` {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
}
