package data

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Money is an amount in integer minor units (e.g. cents) of an ISO 4217
// currency. Sums of Money never suffer binary floating-point rounding.
type Money struct {
	Minor    int64  `json:"-"`
	Currency string `json:"currency"`
}

// String formats m as "1234.56 USD" using the currency's minor-unit exponent.
func (m Money) String() string {
	return FormatAmount(m.Minor, m.Currency) + " " + m.Currency
}

// MarshalJSON renders {"amount":"1234.56","currency":"USD"}: the amount is a
// decimal string so that JSON consumers never parse it as a binary float.
func (m Money) MarshalJSON() ([]byte, error) {
	return []byte(`{"amount":"` + FormatAmount(m.Minor, m.Currency) + `","currency":` + strconv.Quote(m.Currency) + `}`), nil
}

// currencyExponent lists ISO 4217 codes whose minor unit is not 2 decimals.
var currencyExponent = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
	"PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	"CLF": 4, "UYW": 4,
}

// knownCurrencies is the set of active ISO 4217 codes accepted by validation.
var knownCurrencies = func() map[string]bool {
	const codes = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD " +
		"BTN BWP BYN BZD CAD CDF CHF CLF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR " +
		"FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY " +
		"KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU " +
		"MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD " +
		"RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY " +
		"TTD TWD TZS UAH UGX USD UYI UYU UYW UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG"
	m := map[string]bool{}
	for _, c := range strings.Fields(codes) {
		m[c] = true
	}
	return m
}()

// KnownCurrency reports whether code is an active ISO 4217 currency code.
func KnownCurrency(code string) bool { return knownCurrencies[code] }

// CurrencyExponent returns the number of minor-unit decimals of code (2 unless
// ISO 4217 says otherwise).
func CurrencyExponent(code string) int {
	if e, ok := currencyExponent[code]; ok {
		return e
	}
	return 2
}

var pow10 = [...]int64{1, 10, 100, 1000, 10000}

// FormatAmount formats minor units of currency as a plain decimal string
// ("-1234.50"), without grouping.
func FormatAmount(minor int64, currency string) string {
	e := CurrencyExponent(currency)
	if e == 0 {
		return strconv.FormatInt(minor, 10)
	}
	neg := minor < 0
	u := uint64(minor)
	if neg {
		u = uint64(-minor) // -MinInt64 wraps to itself, and uint64 of it is 2^63: correct.
	}
	p := uint64(pow10[e])
	s := strconv.FormatUint(u/p, 10) + "." + fmt.Sprintf("%0*d", e, u%p)
	if neg {
		s = "-" + s
	}
	return s
}

// ParseAmount parses a decimal amount into minor units of currency. decimalSep
// is the decimal separator ('.' or ','); thousandsSep, if not zero, is a
// grouping character that is removed. It rejects NaN, infinities, exponents,
// more decimals than the currency has (unless they are zeros), and overflow.
// A leading '-' or '+' sign is accepted; callers decide whether negatives are
// valid.
func ParseAmount(s string, currency string, decimalSep, thousandsSep rune) (int64, error) {
	orig := s
	s = strings.TrimSpace(s)
	if thousandsSep != 0 {
		s = strings.ReplaceAll(s, string(thousandsSep), "")
	}
	if s == "" {
		return 0, fmt.Errorf("empty amount")
	}
	neg := false
	switch s[0] {
	case '-':
		neg, s = true, s[1:]
	case '+':
		s = s[1:]
	}
	intPart, frac := s, ""
	if i := strings.IndexRune(s, decimalSep); i >= 0 {
		intPart, frac = s[:i], s[i+len(string(decimalSep)):]
	}
	if intPart == "" && frac == "" {
		return 0, fmt.Errorf("amount %q has no digits", orig)
	}
	for _, part := range []string{intPart, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return 0, fmt.Errorf("amount %q is not a decimal number", orig)
			}
		}
	}
	e := CurrencyExponent(currency)
	if len(frac) > e {
		if strings.Trim(frac[e:], "0") != "" {
			return 0, fmt.Errorf("amount %q has more than %d decimals for %s", orig, e, currency)
		}
		frac = frac[:e]
	}
	frac += strings.Repeat("0", e-len(frac))
	digits := strings.TrimLeft(intPart+frac, "0")
	if digits == "" {
		return 0, nil
	}
	if len(digits) > 18 {
		return 0, fmt.Errorf("amount %q is too large", orig)
	}
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || v > math.MaxInt64/2 {
		return 0, fmt.Errorf("amount %q is too large", orig)
	}
	if neg {
		v = -v
	}
	return v, nil
}

// MaxAmount bounds a single stored amount: 10^15 minor units (ten trillion
// dollars). Any 9,000 such amounts still sum without overflowing int64.
const MaxAmount int64 = 1_000_000_000_000_000
