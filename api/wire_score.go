package api

import (
	"time"
	"unicode/utf8"

	"github.com/duesight/duesight/data"
)

// AppendJSON appends r encoded exactly as encoding/json.Marshal encodes it
// (checked byte for byte by the tests), without reflection or per-value
// allocations: the score endpoint's responses are its largest and most
// frequent.
func (r *ScoreResponse) AppendJSON(b []byte) []byte {
	b = append(b, `{"model_version":`...)
	b = appendHTMLSafeString(b, r.ModelVersion)
	b = append(b, `,"as_of":"`...)
	b = r.AsOf.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","scores":`...)
	if r.Scores == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range r.Scores {
			if i > 0 {
				b = append(b, ',')
			}
			b = r.Scores[i].appendJSON(b)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func (s *InvoiceScore) appendJSON(b []byte) []byte {
	b = append(b, `{"invoice_id":`...)
	b = appendHTMLSafeString(b, s.InvoiceID)
	b = append(b, `,"account_id":`...)
	b = appendHTMLSafeString(b, s.AccountID)
	b = append(b, `,"p_late":`...)
	b = appendJSONFloat(b, s.PLate)
	b = append(b, `,"expected_days_late":`...)
	b = appendJSONFloat(b, s.ExpectedDaysLate)
	b = append(b, `,"payment_date_quantiles":{"p10":"`...)
	b = appendDate(b, s.PaymentDate.P10)
	b = append(b, `","p50":"`...)
	b = appendDate(b, s.PaymentDate.P50)
	b = append(b, `","p90":"`...)
	b = appendDate(b, s.PaymentDate.P90)
	b = append(b, `"},"risk_tier":`...)
	b = appendHTMLSafeString(b, string(s.RiskTier))
	b = append(b, `,"reasons":`...)
	if s.Reasons == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range s.Reasons {
			if i > 0 {
				b = append(b, ',')
			}
			r := &s.Reasons[i]
			b = append(b, `{"feature":`...)
			b = appendHTMLSafeString(b, r.Feature)
			b = append(b, `,"value":`...)
			b = appendJSONFloat(b, r.Value)
			b = append(b, `,"contribution":`...)
			b = appendJSONFloat(b, r.Contribution)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendDate appends d as data.Date.MarshalText does (YYYY-MM-DD; nothing
// for the zero date).
func appendDate(b []byte, d data.Date) []byte {
	if d.IsZero() {
		return b
	}
	return d.Time().AppendFormat(b, time.DateOnly)
}

// appendHTMLSafeString appends s as encoding/json.Marshal does: invalid
// UTF-8 becomes U+FFFD, and <, >, & and U+2028/U+2029 are escaped as \u
// sequences so that the output is safe to embed in HTML.
func appendHTMLSafeString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default: // other control characters, <, >, &
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
