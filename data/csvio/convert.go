package csvio

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/duesight/duesight/data"
)

type formatKind uint8

const (
	fmtISO    formatKind = iota + 1 // YYYY-MM-DD; RFC 3339 and "YYYY-MM-DD hh:mm:ss" for timestamps
	fmtLayout                       // a Go time layout
	fmtExcel                        // spreadsheet serial day number (days since 1899-12-30)
	fmtUnix                         // seconds since 1970-01-01T00:00:00Z
)

// dateFormat is one accepted spelling of a date or timestamp.
type dateFormat struct {
	kind   formatKind
	layout string // fmtLayout
	text   string // as written in the mapping
}

var isoFormat = dateFormat{kind: fmtISO, text: "iso"}

// tokens maps the spreadsheet-style date tokens to Go layout elements,
// longest first.
var tokens = []struct{ tok, layout string }{
	{"YYYY", "2006"}, {"YY", "06"},
	{"MMMM", "January"}, {"MMM", "Jan"}, {"MM", "01"}, {"M", "1"},
	{"DDDD", "Monday"}, {"DDD", "Mon"}, {"DD", "02"}, {"D", "2"},
	{"HH", "15"}, {"H", "15"}, {"hh", "03"}, {"h", "3"},
	{"mm", "04"}, {"m", "4"}, {"ss", "05"}, {"s", "5"},
	{"SSSSSSSSS", "000000000"}, {"SSSSSS", "000000"}, {"SSS", "000"},
	{"A", "PM"}, {"a", "pm"}, {"ZZ", "-0700"}, {"Z", "Z07:00"},
}

// parseDateFormat compiles a format: "iso", "excel", "unix", a Go layout
// (any format containing 2006), or spreadsheet tokens such as M/D/YYYY,
// DD.MM.YYYY or YYYY-MM-DDTHH:mm:ssZ. Literal text goes in [brackets].
func parseDateFormat(s string) (dateFormat, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "iso", "":
		return isoFormat, nil
	case "excel":
		return dateFormat{kind: fmtExcel, text: s}, nil
	case "unix":
		return dateFormat{kind: fmtUnix, text: s}, nil
	}
	if strings.Contains(s, "2006") {
		return dateFormat{kind: fmtLayout, layout: s, text: s}, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] == '[' {
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return dateFormat{}, fmt.Errorf("date format %q: unclosed '['", s)
			}
			b.WriteString(s[i+1 : i+end])
			i += end + 1
			continue
		}
		matched := false
		for _, t := range tokens {
			if strings.HasPrefix(s[i:], t.tok) {
				b.WriteString(t.layout)
				i += len(t.tok)
				matched = true
				break
			}
		}
		if matched {
			continue
		}
		c := s[i]
		switch {
		case c == 'T':
			b.WriteByte(c)
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			return dateFormat{}, fmt.Errorf("date format %q: unknown token %q (use YYYY YY MM M MMM DD D HH mm ss, "+
				"put literal text in [brackets], or give a Go layout containing 2006)", s, string(c))
		default:
			b.WriteByte(c)
		}
		i++
	}
	layout := b.String()
	if !strings.Contains(layout, "2006") && !strings.Contains(layout, "06") {
		return dateFormat{}, fmt.Errorf("date format %q has no year (YYYY or YY)", s)
	}
	return dateFormat{kind: fmtLayout, layout: layout, text: s}, nil
}

func formatList(fs []dateFormat) string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.text
	}
	return strings.Join(out, " or ")
}

var isoTimeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04",
	"2006-01-02 15:04", time.DateOnly}

// parseTime parses s with one of fs in zone (for values without an offset).
func parseTime(s string, fs []dateFormat, zone *time.Location) (time.Time, bool) {
	for _, f := range fs {
		switch f.kind {
		case fmtISO:
			for _, l := range isoTimeLayouts {
				if t, err := time.ParseInLocation(l, s, zone); err == nil {
					return t, true
				}
			}
		case fmtLayout:
			if t, err := time.ParseInLocation(f.layout, s, zone); err == nil {
				return t, true
			}
		case fmtExcel:
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(v) || v < 1 || v > 100000 {
				continue
			}
			days := math.Floor(v)
			secs := math.Round((v - days) * 86400)
			base := time.Date(1899, 12, 30, 0, 0, 0, 0, zone)
			return base.AddDate(0, 0, int(days)).Add(time.Duration(secs) * time.Second), true
		case fmtUnix:
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil || v < -1e11 || v > 1e11 {
				continue
			}
			return time.Unix(v, 0).UTC(), true
		}
	}
	return time.Time{}, false
}

// parseDate parses a calendar date; a timestamp format yields its date in
// zone (values with an offset are converted to zone first).
func parseDate(s string, fs []dateFormat, zone *time.Location) (data.Date, bool) {
	for _, f := range fs {
		if f.kind == fmtISO {
			if t, err := time.Parse(time.DateOnly, s); err == nil {
				return data.DateOf(t), true
			}
			continue
		}
		if t, ok := parseTime(s, []dateFormat{f}, zone); ok {
			return data.DateOf(t.In(zone)), true
		}
	}
	return 0, false
}

// parseAmount parses a decimal amount into minor units of currency. It
// accepts SAP-style trailing minus ("1.234,56-") and accounting parentheses
// ("(1,234.56)"); minor, when set, reads an integer count of minor units.
func parseAmount(s, currency string, decimal, thousands rune, minor bool) (int64, error) {
	t := s
	neg := false
	switch {
	case strings.HasSuffix(t, "-") && len(t) > 1:
		t, neg = strings.TrimSpace(t[:len(t)-1]), true
	case strings.HasPrefix(t, "(") && strings.HasSuffix(t, ")"):
		t, neg = strings.TrimSpace(t[1:len(t)-1]), true
	}
	if neg && (strings.HasPrefix(t, "-") || strings.HasPrefix(t, "+")) {
		return 0, fmt.Errorf("amount %q has two signs", s)
	}
	var v int64
	if minor {
		if thousands != 0 {
			t = strings.ReplaceAll(t, string(thousands), "")
		}
		n, err := strconv.ParseInt(t, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("amount %q is not a whole number of minor units", s)
		}
		v = n
	} else {
		n, err := data.ParseAmount(t, currency, decimal, thousands)
		if err != nil {
			return 0, err
		}
		v = n
	}
	if neg {
		v = -v
	}
	return v, nil
}

// value is a converted field value.
type value struct {
	s string
	i int64
	d data.Date
	t time.Time
}

// convert turns the text of f into a value. native says the text is the
// canonical rendering of a typed Parquet value (ISO dates, RFC 3339
// instants), which bypasses the field's formats. currency is the row's
// currency, used for amounts.
func (f *field) convert(s string, native nativeKind, currency string) (value, error) {
	var v value
	switch f.def.typ {
	case tID, tText:
		v.s = s
	case tZone:
		if _, err := data.LoadZone(s); err != nil {
			return v, err
		}
		v.s = s
	case tInt:
		n, err := strconv.Atoi(s)
		if err != nil {
			if x, ferr := strconv.ParseFloat(s, 64); ferr == nil && x == math.Trunc(x) && math.Abs(x) < 1e9 {
				v.i = int64(x) // "30.0" from spreadsheets and float Parquet columns
				return v, nil
			}
			return v, fmt.Errorf("%q is not a whole number", s)
		}
		v.i = int64(n)
	case tAmount:
		if !data.KnownCurrency(currency) && currency != "XXX" {
			return v, fmt.Errorf("cannot read amount %q: currency %q is not an ISO 4217 code", s, currency)
		}
		dec, thou := f.decimal, f.thousand
		if native == natNumber {
			dec, thou = '.', 0
		}
		n, err := parseAmount(s, currency, dec, thou, f.minor)
		if err != nil {
			return v, err
		}
		if f.negate {
			n = -n
		}
		v.i = n
	case tCurrency:
		c := strings.ToUpper(s)
		if !data.KnownCurrency(c) {
			return v, fmt.Errorf("unknown currency %q (not an ISO 4217 code)", s)
		}
		v.s = c
	case tDate:
		fs := f.formats
		if native == natTime {
			fs = []dateFormat{isoFormat, {kind: fmtLayout, layout: time.RFC3339}, {kind: fmtLayout, layout: "2006-01-02T15:04:05"}}
		}
		d, ok := parseDate(s, fs, f.zone)
		if !ok {
			return v, fmt.Errorf("unparseable date %q (want %s)", s, formatList(f.formats))
		}
		v.d = d
	case tTime:
		fs := f.formats
		if native == natTime {
			fs = []dateFormat{isoFormat}
		}
		t, ok := parseTime(s, fs, f.zone)
		if !ok {
			return v, fmt.Errorf("unparseable timestamp %q (want %s)", s, formatList(f.formats))
		}
		v.t = data.NormalizeTime(t)
	case tChannel:
		c, err := data.ParseChannel(s)
		if err != nil {
			return v, err
		}
		v.i = int64(c)
	case tChannelSet:
		c, err := data.ParseChannelSet(s)
		if err != nil {
			return v, err
		}
		v.i = int64(c)
	case tOutcome:
		o, err := data.ParseOutcome(s)
		if err != nil {
			return v, err
		}
		v.i = int64(o)
	case tMethod:
		m, err := data.ParseMethod(s)
		if err != nil {
			return v, err
		}
		v.i = int64(m)
	}
	return v, nil
}

// text computes the field's text for a row: the column, template or
// constant, trimmed, mapped through the value map, and defaulted when
// empty. native says whether the text is a typed Parquet rendering.
func (f *field) text(r *row) (s string, native nativeKind) {
	switch f.src {
	case srcColumn:
		s, native = r.cell(f.slot), r.native(f.slot)
		if f.trim {
			s = strings.TrimSpace(s)
		}
	case srcTemplate:
		var b strings.Builder
		empty := false
		for _, p := range f.parts {
			if p.slot < 0 {
				b.WriteString(p.lit)
				continue
			}
			c := strings.TrimSpace(r.cell(p.slot))
			if c == "" { // a template over an empty cell is empty, not "pay-"
				empty = true
				break
			}
			b.WriteString(c)
		}
		if !empty {
			s = b.String()
		}
	case srcValue:
		s = f.value
	}
	if f.vmap != nil {
		if to, ok := f.vmap[strings.TrimSpace(s)]; ok {
			s, native = to, natText
		} else if to, ok := f.vmapFold[strings.ToLower(strings.TrimSpace(s))]; ok {
			s, native = to, natText
		}
	}
	if s == "" && f.hasDflt {
		s, native = f.dflt, natText
	}
	return s, native
}

// match reports whether the row satisfies the condition.
func (c *cond) match(r *row) bool {
	v := strings.TrimSpace(r.cell(c.slot))
	eq := func(x string) bool {
		if c.fold {
			return strings.EqualFold(v, x)
		}
		return v == x
	}
	switch c.op {
	case opEquals:
		return eq(c.values[0])
	case opNotEquals:
		return !eq(c.values[0])
	case opIn, opNotIn:
		in := false
		for _, x := range c.values {
			in = in || eq(x)
		}
		return in == (c.op == opIn)
	case opEmpty:
		return v == ""
	case opNotEmpty:
		return v != ""
	}
	return false
}
