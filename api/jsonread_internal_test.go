package api

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/duesight/duesight/data"
)

// These tests reach the unexported JSON reader and cursor codec directly:
// they are the parts most likely to hide an off-by-one, and the public API
// only shows them through error messages.

// readString decodes a JSON string document with the reader.
func readString(doc []byte) (string, bool) {
	r := newJSONReader(doc)
	var s string
	r.document(func() { r.str(&s) })
	return s, len(r.errs) == 0 && r.limit == nil
}

func TestReaderStrings(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{`"plain"`, "plain", true},
		{`""`, "", true},
		{`"a\"b\\c\/d\b\f\n\r\t"`, "a\"b\\c/d\b\f\n\r\t", true},
		{`"\u00e9\u20AC"`, "é€", true},
		{`"\ud83d\ude00"`, "😀", true},
		{`"é€😀"`, "é€😀", true},
		{`"\ud83d"`, "", false},         // lone high surrogate
		{`"\ude00"`, "", false},         // lone low surrogate
		{`"\ud83d\u0041"`, "", false},   // high surrogate + non-surrogate
		{`"\x41"`, "", false},           // not a JSON escape
		{`"\u12"`, "", false},           // short escape
		{"\"a\tb\"", "", false},         // raw control character
		{"\"\xff\"", "", false},         // invalid UTF-8
		{"\"\xed\xa0\x80\"", "", false}, // UTF-8-encoded surrogate
		{`"abc`, "", false},
		{`"abc\`, "", false},
		{` "x" `, "x", true},
		{`"x" "y"`, "", false},
		{`null`, "", true},
		{`5`, "", false},
	}
	for _, tc := range tests {
		got, ok := readString([]byte(tc.in))
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("read %s = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestReaderIntegers(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"-0", 0, true}, {"42", 42, true}, {"-42", -42, true},
		{"9223372036854775807", 1<<63 - 1, true}, {"-9223372036854775808", -1 << 63, true},
		{"9223372036854775808", 0, false}, {"-9223372036854775809", 0, false},
		{"99999999999999999999999", 0, false},
		{"01", 0, false}, {"1.0", 0, false}, {"1e2", 0, false}, {"-", 0, false}, {"+1", 0, false},
		{"1.", 0, false}, {".5", 0, false}, {"1e", 0, false}, {`"1"`, 0, false}, {"true", 0, false},
	}
	for _, tc := range tests {
		r := newJSONReader([]byte(tc.in))
		var v int64
		r.document(func() { r.int64v(&v) })
		ok := len(r.errs) == 0
		if ok != tc.ok || v != tc.want {
			t.Errorf("read %s = %d, %v (%v); want %d, %v", tc.in, v, ok, r.errs, tc.want, tc.ok)
		}
	}
}

// FuzzReaderAgreesWithEncodingJSON: for any input, if the reader accepts
// it as a string, encoding/json accepts it too and decodes the same text
// (the reader is stricter: it rejects invalid UTF-8 and lone surrogates
// that encoding/json replaces with U+FFFD); and skipping any value accepts
// exactly the documents encoding/json calls valid (up to the depth limit).
func FuzzReaderAgreesWithEncodingJSON(f *testing.F) {
	for _, s := range []string{`"a"`, `"\u00e9"`, `"\ud83d\ude00"`, `{"a":[1,2,{"b":null}]}`, `[1e5,-0.5,true,false,null]`,
		`"\ud800"`, "\"\xff\"", `{"a":1,}`, `[01]`, `1.e5`, `  {}  `, `"\/"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, ok := readString(in)
		var want string
		jerr := json.Unmarshal(in, &want)
		if ok {
			if jerr != nil && !strings.HasPrefix(strings.TrimSpace(string(in)), "null") {
				t.Fatalf("reader accepted %q, encoding/json: %v", in, jerr)
			}
			if jerr == nil && got != want {
				t.Fatalf("reader read %q as %q, encoding/json as %q", in, got, want)
			}
			if !utf8.ValidString(got) {
				t.Fatalf("reader returned invalid UTF-8 for %q", in)
			}
		}
		r := newJSONReader(in)
		r.document(r.skip)
		skipOK := len(r.errs) == 0
		if valid := json.Valid(in); skipOK && !valid {
			t.Fatalf("skip accepted invalid JSON %q", in)
		} else if valid && !skipOK && !strings.Contains(r.errs[0].Reason, "nesting") && !strings.Contains(r.errs[0].Reason, "UTF") &&
			!strings.Contains(r.errs[0].Reason, "surrogate") {
			t.Fatalf("skip rejected valid JSON %q: %v", in, r.errs)
		}
	})
}

func TestCursorRoundTrip(t *testing.T) {
	tests := []cursor{
		{snapshot: "s", offset: 0},
		{snapshot: "snap-123", offset: 1 << 20, segment: "smb", asOf: time.Date(2026, 3, 1, 0, 0, 0, 5, time.UTC)},
		{snapshot: strings.Repeat("x", maxSnapshotLen), offset: 7, segment: "Größe ü"},
	}
	for _, c := range tests {
		enc := c.encode()
		got, err := decodeCursor(enc)
		if err != nil || got.snapshot != c.snapshot || got.offset != c.offset || got.segment != c.segment || !got.asOf.Equal(c.asOf) {
			t.Errorf("round trip of %+v: %+v, %v", c, got, err)
		}
		// Any single-character change is detected.
		for i := range len(enc) {
			b := []byte(enc)
			b[i] = "AB"[0] + byte(i%2)
			if string(b) == enc {
				continue
			}
			if d, err := decodeCursor(string(b)); err == nil && *d != *got {
				t.Errorf("altered cursor %q decoded to %+v", b, d)
			}
		}
	}
	for _, bad := range []string{"", "!!!", "AQ", strings.Repeat("A", maxCursorLen+1)} {
		if _, err := decodeCursor(bad); err == nil {
			t.Errorf("decoded %q", bad)
		}
	}
}

func TestProblemForMapsEveryCode(t *testing.T) {
	// One row per data code and sentinel: the single mapping function.
	tests := []struct {
		err    error
		status int
		fault  bool
	}{
		{errString("x"), 500, true},
		{dataErr("invalid"), 422, false},
		{dataErr("not_found"), 404, false},
		{dataErr("conflict"), 409, false},
		{dataErr("unavailable"), 503, true},
		{dataErr("internal"), 500, true},
		{ErrSnapshotExpired, 410, false},
		{newRequestError(kindMalformed, "m"), 400, false},
		{newRequestError(kindRateLimited, "m"), 429, false},
	}
	for _, tc := range tests {
		p, fault := problemFor(tc.err)
		if p.Status != tc.status || fault != tc.fault {
			t.Errorf("%v → %d fault=%v; want %d fault=%v", tc.err, p.Status, fault, tc.status, tc.fault)
		}
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func dataErr(code string) error {
	return fmt.Errorf("wrapped: %w", data.Errorf(data.Code(code), "msg"))
}

// BenchmarkDecodeScore10k measures the strict reader on a maximal score
// body (10,000 inline invoices with accounts), with encoding/json decoding
// the same body into the same types as a reference.
func BenchmarkDecodeScore10k(b *testing.B) {
	req := ScoreRequest{Items: make([]ScoreItem, DefaultMaxScoreBatch)}
	for i := range req.Items {
		acc := data.Account{ID: fmt.Sprintf("acc-%05d", i), Name: "Erika Mustermann", Segment: "smb", Country: "DE",
			Currency: "EUR", TimeZone: "Europe/Berlin", TermsDays: 30, Consent: data.AllChannels}
		inv := data.Invoice{ID: fmt.Sprintf("inv-%05d", i), AccountID: acc.ID, IssueDate: data.NewDate(2026, 1, 10),
			DueDate: data.NewDate(2026, 2, 9), Amount: int64(1000 + i), Currency: "EUR", DeliveredBy: data.Email}
		req.Items[i] = ScoreItem{Invoice: &inv, Account: &acc}
	}
	body, err := json.Marshal(req)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("strict", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if _, err := decodeScoreRequest(body, DefaultMaxScoreBatch); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var r ScoreRequest
			if err := json.Unmarshal(body, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
