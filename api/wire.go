package api

import (
	"math"
	"strconv"
)

// MarshalJSON writes the reason with a NaN (missing) value as null.
func (r Reason) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 64+len(r.Feature))
	b = append(b, `{"feature":`...)
	b = appendHTMLSafeString(b, r.Feature)
	b = append(b, `,"value":`...)
	b = appendJSONFloat(b, r.Value)
	b = append(b, `,"contribution":`...)
	b = appendJSONFloat(b, r.Contribution)
	return append(b, '}'), nil
}

// appendJSONFloat appends f the way encoding/json does; NaN and ±Inf
// (which JSON cannot represent) become null.
func appendJSONFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"
