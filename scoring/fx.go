package scoring

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/duesight/duesight/data"
)

// FX converts amounts into one reporting currency for the worklist ranking.
//
// Rates[c] is the number of major units of Reporting that one major unit of
// currency c is worth (e.g. Reporting "USD", Rates["EUR"] = 1.08). The
// reporting currency itself always has rate 1. An amount of m minor units of
// c becomes
//
//	m × Rates[c] × 10^(e(Reporting) − e(c))
//
// minor units of Reporting, where e is the ISO 4217 minor-unit exponent
// (data.CurrencyExponent). Conversions are done in float64 and each derived
// amount is rounded once, to the nearest minor unit, when it is reported.
// Amounts in a currency without a rate are never converted or mixed in: the
// worklist leaves them out and counts them (see WorklistSummary).
type FX struct {
	Reporting string             `json:"reporting" yaml:"reporting"`
	Rates     map[string]float64 `json:"rates" yaml:"rates"`
}

// DefaultFX is the table used when none is configured: reporting currency
// USD and no other rate, so only USD amounts are ranked and every other
// currency is counted as unrated. Configure real rates (ParseFX) for
// multi-currency books.
func DefaultFX() FX { return FX{Reporting: "USD", Rates: map[string]float64{}} }

// ParseFX reads an FX table from YAML or JSON (JSON is YAML):
//
//	reporting: EUR
//	rates:
//	  USD: 0.92
//	  GBP: 1.17
//
// Unknown keys are errors; the table is validated (see FX.Validate).
func ParseFX(b []byte) (FX, error) {
	var f FX
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return FX{}, data.Errorf(data.Invalid, "fx table: %w", err)
	}
	f.Reporting = strings.ToUpper(strings.TrimSpace(f.Reporting))
	if len(f.Rates) > 0 {
		up := make(map[string]float64, len(f.Rates))
		for c, r := range f.Rates {
			up[strings.ToUpper(strings.TrimSpace(c))] = r
		}
		f.Rates = up
	}
	if err := f.Validate(); err != nil {
		return FX{}, err
	}
	return f, nil
}

// Validate checks that Reporting and every rated currency are ISO 4217 codes
// and every rate is finite and positive (the reporting currency, if listed,
// must have rate 1).
func (f FX) Validate() error {
	if !data.KnownCurrency(f.Reporting) {
		return data.Errorf(data.Invalid, "fx table: reporting currency %q is not an ISO 4217 code", f.Reporting)
	}
	codes := make([]string, 0, len(f.Rates))
	for c := range f.Rates {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	for _, c := range codes {
		r := f.Rates[c]
		switch {
		case !data.KnownCurrency(c):
			return data.Errorf(data.Invalid, "fx table: rates: %q is not an ISO 4217 code", c)
		case math.IsNaN(r) || math.IsInf(r, 0) || r <= 0:
			return data.Errorf(data.Invalid, "fx table: rates: %s rate %v is not a finite positive number", c, r)
		case c == f.Reporting && r != 1:
			return data.Errorf(data.Invalid, "fx table: rates: the reporting currency %s must have rate 1, not %v", c, r)
		}
	}
	return nil
}

// factors returns, per currency, the minor units of Reporting per minor unit
// of that currency (the reporting currency included, factor 1).
func (f FX) factors() map[string]float64 {
	out := make(map[string]float64, len(f.Rates)+1)
	er := data.CurrencyExponent(f.Reporting)
	for c, r := range f.Rates {
		out[c] = r * math.Pow10(er-data.CurrencyExponent(c))
	}
	out[f.Reporting] = 1
	return out
}

// String describes the table for logs (codes and count only).
func (f FX) String() string {
	return fmt.Sprintf("reporting %s, %d rate(s)", f.Reporting, len(f.Rates))
}
