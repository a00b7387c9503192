package csvio

import (
	"strings"
	"testing"
	"time"

	"github.com/duesight/duesight/data"
)

func TestParseDateFormat(t *testing.T) {
	cases := []struct {
		format, layout, err string
	}{
		{"M/D/YYYY", "1/2/2006", ""},
		{"DD.MM.YYYY", "02.01.2006", ""},
		{"YYYY-MM-DDTHH:mm:ssZ", "2006-01-02T15:04:05Z07:00", ""},
		{"D MMM YY", "2 Jan 06", ""},
		{"DDDD, D MMMM YYYY", "Monday, 2 January 2006", ""},
		{"[week ]YYYY/MM/DD", "week 2006/01/02", ""},
		{"hh:mm A DD/MM/YYYY", "03:04 PM 02/01/2006", ""},
		{"02/01/2006", "02/01/2006", ""}, // a Go layout passes through
		{"DD/MM", "", "has no year"},
		{"YYYY-MM-DD Q", "", `unknown token "Q"`},
		{"YYYY[", "", "unclosed '['"},
	}
	for _, tc := range cases {
		f, err := parseDateFormat(tc.format)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.format, err, tc.err)
			}
			continue
		}
		if err != nil || f.kind != fmtLayout || f.layout != tc.layout {
			t.Errorf("%q: got %+v, %v; want layout %q", tc.format, f, err, tc.layout)
		}
	}
	for _, s := range []string{"iso", "ISO", "", "excel", "unix"} {
		if f, err := parseDateFormat(s); err != nil || f.kind == fmtLayout {
			t.Errorf("%q: %+v %v", s, f, err)
		}
	}
}

func TestParseDate(t *testing.T) {
	utc := time.UTC
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	mf := func(ss ...string) []dateFormat {
		var out []dateFormat
		for _, s := range ss {
			f, err := parseDateFormat(s)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, f)
		}
		return out
	}
	cases := []struct {
		in      string
		formats []dateFormat
		zone    *time.Location
		want    data.Date // 0 = unparseable
	}{
		{"1/2/2013", mf("M/D/YYYY"), utc, data.NewDate(2013, 1, 2)},
		{"12/31/2013", mf("M/D/YYYY"), utc, data.NewDate(2013, 12, 31)},
		{"01/02/2013", mf("M/D/YYYY"), utc, data.NewDate(2013, 1, 2)},
		{"2/29/2013", mf("M/D/YYYY"), utc, 0}, // not a leap year
		{"31.12.2024", mf("DD.MM.YYYY"), utc, data.NewDate(2024, 12, 31)},
		{"1.2.2024", mf("DD.MM.YYYY"), utc, 0}, // DD wants two digits
		{"2024-02-29", mf("iso"), utc, data.NewDate(2024, 2, 29)},
		{"2024-02-29T10:00:00Z", mf("iso"), utc, 0}, // iso dates are dates
		{"45322", mf("excel"), utc, data.NewDate(2024, 1, 31)},
		{"1706745600", mf("unix"), utc, data.NewDate(2024, 2, 1)},
		{"2024-01-31T20:00:00Z", mf("YYYY-MM-DDTHH:mm:ssZ"), tokyo, data.NewDate(2024, 2, 1)}, // 05:00 next day in Tokyo
		{"31/01/24", mf("M/D/YYYY", "DD/MM/YY"), utc, data.NewDate(2024, 1, 31)},
		{"", mf("iso"), utc, 0},
		{"NaN", mf("excel"), utc, 0},
	}
	for _, tc := range cases {
		got, ok := parseDate(tc.in, tc.formats, tc.zone)
		if (tc.want == 0) == ok || got != tc.want {
			t.Errorf("parseDate(%q) = %s, %v; want %s", tc.in, got, ok, tc.want)
		}
	}
}

func TestParseAmount(t *testing.T) {
	cases := []struct {
		in        string
		cur       string
		dec, thou rune
		minor     bool
		want      int64
		err       string
	}{
		{"55.94", "USD", '.', 0, false, 5594, ""},
		{"1.234,56", "EUR", ',', '.', false, 123456, ""},
		{"1.234,56-", "EUR", ',', '.', false, -123456, ""}, // SAP trailing minus
		{"(1,234.56)", "USD", '.', ',', false, -123456, ""},
		{"-0.5", "USD", '.', 0, false, -50, ""},
		{"1 250 000", "JPY", ',', ' ', false, 1250000, ""},
		{"12.345", "BHD", '.', 0, false, 12345, ""},
		{"12.3456", "BHD", '.', 0, false, 0, "more than 3 decimals"},
		{"12.3400", "USD", '.', 0, false, 1234, ""},
		{"5594", "USD", '.', 0, true, 5594, ""},
		{"1,000", "USD", '.', ',', true, 1000, ""},
		{"55.94", "USD", '.', 0, true, 0, "not a whole number of minor units"},
		{"NaN", "USD", '.', 0, false, 0, "not a decimal number"},
		{"Inf", "USD", '.', 0, false, 0, "not a decimal number"},
		{"1e3", "USD", '.', 0, false, 0, "not a decimal number"},
		{"-5-", "USD", '.', 0, false, 0, "two signs"},
		{"", "USD", '.', 0, false, 0, "empty amount"},
		{"99999999999999999999", "USD", '.', 0, false, 0, "too large"},
	}
	for _, tc := range cases {
		got, err := parseAmount(tc.in, tc.cur, tc.dec, tc.thou, tc.minor)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("parseAmount(%q) error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseAmount(%q, %s) = %d, %v; want %d", tc.in, tc.cur, got, err, tc.want)
		}
	}
}

func TestParseTemplate(t *testing.T) {
	s := &source{slots: map[string]int{}}
	parts, err := parseTemplate("{{x}}-{Company Code}-{No}{No}", s)
	if err != nil {
		t.Fatal(err)
	}
	want := []tmplPart{{lit: "{x}-", slot: -1}, {slot: 0}, {lit: "-", slot: -1}, {slot: 1}, {slot: 1}}
	if len(parts) != len(want) {
		t.Fatalf("parts %+v", parts)
	}
	for i := range want {
		if parts[i] != want[i] {
			t.Errorf("part %d = %+v, want %+v", i, parts[i], want[i])
		}
	}
	if s.columns[0] != "Company Code" || s.columns[1] != "No" {
		t.Errorf("columns %q", s.columns)
	}
	for _, bad := range []string{"x}", "{}", "{a", "plain", "{a{b}}"} {
		if _, err := parseTemplate(bad, &source{slots: map[string]int{}}); err == nil {
			t.Errorf("template %q accepted", bad)
		}
	}
}
