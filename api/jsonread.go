package api

import (
	"fmt"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// jsonReader is a strict, allocation-light JSON reader over a whole request
// body. Decoders drive it with object and array, naming the fields they
// accept; it reports every problem with the JSON pointer of the value:
//
//   - syntax errors stop reading (one error, with the byte offset);
//   - wrong types, unknown and duplicate fields, invalid UTF-8 and
//     unparseable values are recorded and the value skipped, so one
//     response lists up to maxDecodeErrors of them.
//
// null is accepted for any member and leaves the destination unset.
type jsonReader struct {
	buf    []byte
	pos    int
	path   []pathSeg
	errs   []FieldError
	fatal  bool // stop reading: syntax error, too many errors or a limit
	depth  int
	scrtch []byte // reused for strings with escapes
	// limit is set when an array limit stopped reading (a 422, not a 400).
	limit *FieldError
}

type pathSeg struct {
	key   string
	idx   int
	isIdx bool
}

const (
	maxDecodeErrors = 100
	maxDepth        = 32
)

func newJSONReader(buf []byte) *jsonReader {
	return &jsonReader{buf: buf, path: make([]pathSeg, 0, 8)}
}

// pointer renders the current path as an RFC 6901 JSON pointer.
func (r *jsonReader) pointer() string {
	if len(r.path) == 0 {
		return ""
	}
	b := make([]byte, 0, 32)
	for _, s := range r.path {
		b = append(b, '/')
		if s.isIdx {
			b = strconv.AppendInt(b, int64(s.idx), 10)
		} else {
			b = append(b, escapePointer(s.key)...)
		}
	}
	return string(b)
}

// fail records a problem with the value at the current path.
func (r *jsonReader) fail(reason string) {
	if len(r.errs) >= maxDecodeErrors {
		r.fatal = true
		return
	}
	r.errs = append(r.errs, FieldError{Path: r.pointer(), Reason: reason})
}

// syntax records a syntax error and stops reading.
func (r *jsonReader) syntax(reason string) {
	if !r.fatal {
		r.errs = append(r.errs, FieldError{Path: r.pointer(),
			Reason: fmt.Sprintf("invalid JSON at byte %d: %s", r.pos, reason)})
	}
	r.fatal = true
}

func (r *jsonReader) ws() {
	for r.pos < len(r.buf) {
		switch r.buf[r.pos] {
		case ' ', '\t', '\n', '\r':
			r.pos++
		default:
			return
		}
	}
}

// peek returns the next non-space byte without consuming it (0 at the end).
func (r *jsonReader) peek() byte {
	r.ws()
	if r.pos >= len(r.buf) {
		return 0
	}
	return r.buf[r.pos]
}

// document reads the single top-level value with value and checks that
// nothing follows it.
func (r *jsonReader) document(value func()) {
	if r.ws(); r.pos >= len(r.buf) {
		r.fail("the request body is empty; a JSON object is required")
		r.fatal = true
		return
	}
	value()
	if r.fatal {
		return
	}
	if r.ws(); r.pos < len(r.buf) {
		r.syntax("unexpected data after the JSON value")
	}
}

// typeName names the JSON type starting with c, for error messages.
func typeName(c byte) string {
	switch {
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == '"':
		return "a string"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '-' || (c >= '0' && c <= '9'):
		return "a number"
	}
	return "invalid JSON"
}

// isNull consumes a null literal if one is next.
func (r *jsonReader) isNull() bool {
	if r.peek() != 'n' {
		return false
	}
	r.literal("null")
	return true
}

// expect checks that the next value starts with c; otherwise it records
// "must be <want>", skips the value and returns false.
func (r *jsonReader) expect(c byte, want string) bool {
	got := r.peek()
	if got == c {
		return true
	}
	if typeName(got) == "invalid JSON" {
		if r.pos >= len(r.buf) {
			r.syntax("unexpected end of input")
		} else {
			r.syntax(fmt.Sprintf("unexpected character %q", got))
		}
		return false
	}
	r.fail("must be " + want + ", not " + typeName(got))
	r.skip()
	return false
}

// object reads an object whose members are named in fields, calling member
// with the index of each member's name to read its value. Unknown and
// repeated members are recorded as errors. null is accepted as "absent".
func (r *jsonReader) object(fields []string, member func(i int)) {
	if r.fatal || r.isNull() || !r.expect('{', "an object") {
		return
	}
	if !r.enter() {
		return
	}
	defer r.leave()
	r.pos++
	if r.peek() == '}' {
		r.pos++
		return
	}
	var seen uint64
	for !r.fatal {
		if r.peek() != '"' {
			r.syntax("expected a member name in double quotes")
			return
		}
		key, ok := r.stringBytes()
		if !ok {
			return
		}
		if r.peek() != ':' {
			r.syntax("expected ':' after a member name")
			return
		}
		r.pos++
		i := -1
		for j, f := range fields {
			if f == string(key) {
				i = j
				break
			}
		}
		switch {
		case i < 0:
			r.path = append(r.path, pathSeg{key: string(key)})
			r.fail("is not a known field")
			r.skip()
		case seen&(1<<i) != 0:
			r.path = append(r.path, pathSeg{key: fields[i]})
			r.fail("appears more than once")
			r.skip()
		default:
			seen |= 1 << i
			r.path = append(r.path, pathSeg{key: fields[i]})
			member(i)
		}
		r.path = r.path[:len(r.path)-1]
		if r.fatal {
			return
		}
		switch r.peek() {
		case ',':
			r.pos++
		case '}':
			r.pos++
			return
		default:
			r.syntax("expected ',' or '}' after an object member")
			return
		}
	}
}

// array reads an array, calling elem for each element. After max elements
// it records a limit problem (see jsonReader.limit) and stops reading.
func (r *jsonReader) array(max int, what string, elem func(i int)) {
	if r.fatal || r.isNull() || !r.expect('[', "an array") {
		return
	}
	if !r.enter() {
		return
	}
	defer r.leave()
	r.pos++
	if r.peek() == ']' {
		r.pos++
		return
	}
	for i := 0; !r.fatal; i++ {
		if i == max {
			r.limit = &FieldError{Path: r.pointer(), Reason: fmt.Sprintf("holds more than %d %s; split the request", max, what)}
			r.fatal = true
			return
		}
		r.path = append(r.path, pathSeg{idx: i, isIdx: true})
		elem(i)
		r.path = r.path[:len(r.path)-1]
		if r.fatal {
			return
		}
		switch r.peek() {
		case ',':
			r.pos++
		case ']':
			r.pos++
			return
		default:
			r.syntax("expected ',' or ']' after an array element")
			return
		}
	}
}

func (r *jsonReader) enter() bool {
	r.depth++
	if r.depth > maxDepth {
		r.syntax(fmt.Sprintf("nesting deeper than %d levels", maxDepth))
		return false
	}
	return true
}

func (r *jsonReader) leave() { r.depth-- }

// skip reads and discards one value, checking its syntax.
func (r *jsonReader) skip() {
	if r.fatal {
		return
	}
	switch c := r.peek(); {
	case c == '{':
		if !r.enter() {
			return
		}
		r.pos++
		if r.peek() == '}' {
			r.pos++
			r.leave()
			return
		}
		for !r.fatal {
			if r.peek() != '"' {
				r.syntax("expected a member name in double quotes")
				return
			}
			if _, ok := r.stringBytes(); !ok {
				return
			}
			if r.peek() != ':' {
				r.syntax("expected ':' after a member name")
				return
			}
			r.pos++
			r.skip()
			switch r.peek() {
			case ',':
				r.pos++
			case '}':
				r.pos++
				r.leave()
				return
			default:
				r.syntax("expected ',' or '}' after an object member")
			}
		}
	case c == '[':
		if !r.enter() {
			return
		}
		r.pos++
		if r.peek() == ']' {
			r.pos++
			r.leave()
			return
		}
		for !r.fatal {
			r.skip()
			switch r.peek() {
			case ',':
				r.pos++
			case ']':
				r.pos++
				r.leave()
				return
			default:
				r.syntax("expected ',' or ']' after an array element")
			}
		}
	case c == '"':
		r.stringBytes()
	case c == 't':
		r.literal("true")
	case c == 'f':
		r.literal("false")
	case c == 'n':
		r.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		r.number()
	case r.pos >= len(r.buf):
		r.syntax("unexpected end of input")
	default:
		r.syntax(fmt.Sprintf("unexpected character %q", c))
	}
}

func (r *jsonReader) literal(lit string) {
	if len(r.buf)-r.pos >= len(lit) && string(r.buf[r.pos:r.pos+len(lit)]) == lit {
		r.pos += len(lit)
		return
	}
	r.syntax("invalid literal (want " + lit + ")")
}

// number consumes a JSON number and reports its bounds and whether it is
// written as an integer (no fraction, no exponent).
func (r *jsonReader) number() (start, end int, integer bool) {
	b, i := r.buf, r.pos
	start, integer = i, true
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		r.pos = i
		r.syntax("invalid number")
		return start, i, false
	}
	if i < len(b) && b[i] == '.' {
		integer = false
		i++
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			r.pos = i
			r.syntax("invalid number: digits must follow '.'")
			return start, i, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		integer = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			r.pos = i
			r.syntax("invalid number: digits must follow the exponent")
			return start, i, false
		}
	}
	r.pos = i
	return start, i, integer
}

// stringBytes consumes a string (the reader is at its opening quote) and
// returns its decoded bytes, valid until the next call. Invalid UTF-8 is
// recorded as an error at the current path (ok stays true: the reader can
// go on).
func (r *jsonReader) stringBytes() (s []byte, ok bool) {
	b := r.buf
	i := r.pos + 1
	ascii := true
	for i < len(b) {
		c := b[i]
		if c == '"' {
			s = b[r.pos+1 : i]
			r.pos = i + 1
			if !ascii && !utf8.Valid(s) {
				r.fail("contains invalid UTF-8")
			}
			return s, true
		}
		if c == '\\' || c < 0x20 {
			return r.stringSlow(i)
		}
		if c >= 0x80 {
			ascii = false
		}
		i++
	}
	r.pos = i
	r.syntax("unterminated string")
	return nil, false
}

// stringSlow decodes a string with escapes; i is the first byte that needs
// care.
func (r *jsonReader) stringSlow(i int) ([]byte, bool) {
	b := r.buf
	out := append(r.scrtch[:0], b[r.pos+1:i]...)
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			r.pos = i + 1
			r.scrtch = out
			if !utf8.Valid(out) {
				r.fail("contains invalid UTF-8")
			}
			return out, true
		case c < 0x20:
			r.pos = i
			r.syntax("control character in string (escape it)")
			return nil, false
		case c != '\\':
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(b) {
			break
		}
		e := b[i+1]
		i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r1, ok := hex4(b, i)
			if !ok {
				r.pos = i
				r.syntax(`invalid \u escape`)
				return nil, false
			}
			i += 4
			if utf16.IsSurrogate(r1) {
				var r2 rune = -1
				if i+1 < len(b) && b[i] == '\\' && b[i+1] == 'u' {
					if v, ok := hex4(b, i+2); ok {
						r2 = v
					}
				}
				dec := utf16.DecodeRune(r1, r2)
				if dec == utf8.RuneError {
					r.pos = i
					r.syntax(`invalid \u escape: unpaired UTF-16 surrogate`)
					return nil, false
				}
				i += 6
				r1 = dec
			}
			out = utf8.AppendRune(out, r1)
		default:
			r.pos = i - 1
			r.syntax(fmt.Sprintf("invalid escape %q in string", "\\"+string(rune(e))))
			return nil, false
		}
	}
	r.pos = i
	r.syntax("unterminated string")
	return nil, false
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var v rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		v = v<<4 | rune(c)
	}
	return v, true
}

// str reads a string member into dst.
func (r *jsonReader) str(dst *string) {
	if r.isNull() || !r.expect('"', "a string") {
		return
	}
	n := len(r.errs)
	s, ok := r.stringBytes()
	if ok && len(r.errs) == n {
		*dst = string(s)
	}
}

// text reads a string member and hands it to parse, recording parse's
// error as the reason.
func (r *jsonReader) text(want string, parse func(s string) error) {
	if r.isNull() || !r.expect('"', want) {
		return
	}
	n := len(r.errs)
	s, ok := r.stringBytes()
	if !ok || len(r.errs) != n {
		return
	}
	if err := parse(string(s)); err != nil {
		r.fail(err.Error())
	}
}

// int64v reads an integer member into dst.
func (r *jsonReader) int64v(dst *int64) {
	if r.isNull() {
		return
	}
	c := r.peek()
	if c != '-' && (c < '0' || c > '9') {
		r.expect('-', "an integer") // records the type error and skips
		return
	}
	start, end, integer := r.number()
	if r.fatal {
		return
	}
	if !integer {
		r.fail("must be an integer, not " + string(r.buf[start:end]))
		return
	}
	v, ok := parseInt64(r.buf[start:end])
	if !ok {
		r.fail("is out of range for a 64-bit integer")
		return
	}
	*dst = v
}

// intv reads an integer member that must fit in 32 bits.
func (r *jsonReader) intv(dst *int) {
	var v int64
	n := len(r.errs)
	r.int64v(&v)
	if len(r.errs) != n || r.fatal {
		return
	}
	if v < -1<<31 || v > 1<<31-1 {
		r.fail("is out of range")
		return
	}
	*dst = int(v)
}

// parseInt64 parses a JSON integer (already syntax-checked) without
// allocating.
func parseInt64(b []byte) (int64, bool) {
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	var u uint64
	for _, c := range b {
		d := uint64(c - '0')
		if u > (1<<63)/10 {
			return 0, false
		}
		u = u*10 + d
		if u > 1<<63 {
			return 0, false
		}
	}
	if neg {
		return -int64(u), true // -(1<<63) wraps to itself: correct
	}
	if u > 1<<63-1 {
		return 0, false
	}
	return int64(u), true
}

// timestamp reads an RFC 3339 instant.
func (r *jsonReader) timestamp(dst *time.Time) {
	r.text("a string (RFC 3339 date-time)", func(s string) error {
		if s == "" {
			*dst = time.Time{}
			return nil
		}
		t, err := parseTimestamp(s)
		if err != nil {
			return err
		}
		*dst = t
		return nil
	})
}

// parseTimestamp parses an RFC 3339 date-time (offset required).
func parseTimestamp(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 date-time such as 2026-03-01T09:30:00Z", s)
	}
	return t, nil
}

// boolv reads a boolean member.
func (r *jsonReader) boolv(dst *bool) {
	if r.isNull() {
		return
	}
	switch r.peek() {
	case 't':
		r.literal("true")
		*dst = true
	case 'f':
		r.literal("false")
		*dst = false
	default:
		r.expect('t', "a boolean")
	}
}
