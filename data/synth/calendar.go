package synth

import (
	"math/bits"
	"time"

	"github.com/duesight/duesight/data"
)

// market is a Model market with its resolved zone and currency exponent.
type market struct {
	Market
	loc      *time.Location
	exp      int
	pow      float64 // 10^exp
	weekend  [7]bool
	european bool
}

func (m *Model) markets() []market {
	out := make([]market, len(m.Markets))
	for i, mk := range m.Markets {
		loc, _ := data.LoadZone(mk.Zone) // validated
		e := data.CurrencyExponent(mk.Currency)
		p := 1.0
		for range e {
			p *= 10
		}
		out[i] = market{Market: mk, loc: loc, exp: e, pow: p}
		out[i].weekend[time.Saturday], out[i].weekend[time.Sunday] = true, true
		if mk.Country == "BH" { // Bahrain: Friday–Saturday weekend
			out[i].weekend[time.Sunday], out[i].weekend[time.Friday] = false, true
		}
		switch mk.Country {
		case "GB", "DE", "FR", "NL", "ES", "IT", "AT", "BE", "IE", "PT", "SE", "DK", "FI", "PL", "CH", "NO":
			out[i].european = true
		}
	}
	return out
}

// civil returns the year, month and day of d (Hinnant's days-to-civil).
func civil(d data.Date) (y int, m time.Month, day int) {
	z := int64(d) + 719468
	era := z / 146097
	if z < 0 {
		era = (z - 146096) / 146097
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	dd := doy - (153*mp+2)/5 + 1
	mm := mp + 3
	if mp >= 10 {
		mm = mp - 9
	}
	yy := yoe + era*400
	if mm <= 2 {
		yy++
	}
	return int(yy), time.Month(mm), int(dd)
}

// easter returns Easter Sunday of year y (anonymous Gregorian algorithm).
func easter(y int) data.Date {
	a, b, c := y%19, y/100, y%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return data.NewDate(y, time.Month(month), day)
}

// holiday is a rule yielding one date per year.
type holiday struct {
	kind  uint8 // 0 fixed month/day, 1 Easter + off, 2 n-th weekday of month, 3 last weekday of month
	month time.Month
	day   int
	off   int
	wd    time.Weekday
}

func fixed(m time.Month, d int) holiday { return holiday{kind: 0, month: m, day: d} }
func easterOff(off int) holiday         { return holiday{kind: 1, off: off} }
func nth(m time.Month, wd time.Weekday, n int) holiday {
	return holiday{kind: 2, month: m, wd: wd, day: n}
}
func lastWD(m time.Month, wd time.Weekday) holiday { return holiday{kind: 3, month: m, wd: wd} }

func (h holiday) date(y int) data.Date {
	switch h.kind {
	case 1:
		return easter(y).AddDays(h.off)
	case 2:
		first := data.NewDate(y, h.month, 1)
		return first.AddDays((int(h.wd)-int(first.Weekday())+7)%7 + 7*(h.day-1))
	case 3:
		last := data.NewDate(y, h.month+1, 0)
		return last.AddDays(-((int(last.Weekday()) - int(h.wd) + 7) % 7))
	}
	return data.NewDate(y, h.month, h.day)
}

// countryHolidays lists public (bank) holidays by country. Moving Islamic,
// Hindu and lunar holidays are not modelled; substitute days are not either.
// Read-only.
var countryHolidays = map[string][]holiday{
	"US": {fixed(1, 1), nth(1, time.Monday, 3), nth(2, time.Monday, 3), lastWD(5, time.Monday), fixed(6, 19),
		fixed(7, 4), nth(9, time.Monday, 1), nth(10, time.Monday, 2), fixed(11, 11), nth(11, time.Thursday, 4), fixed(12, 25)},
	"GB": {fixed(1, 1), easterOff(-2), easterOff(1), nth(5, time.Monday, 1), lastWD(5, time.Monday),
		lastWD(8, time.Monday), fixed(12, 25), fixed(12, 26)},
	"DE": {fixed(1, 1), easterOff(-2), easterOff(1), fixed(5, 1), easterOff(39), easterOff(50), fixed(10, 3),
		fixed(12, 25), fixed(12, 26)},
	"FR": {fixed(1, 1), easterOff(1), fixed(5, 1), fixed(5, 8), easterOff(39), easterOff(50), fixed(7, 14),
		fixed(8, 15), fixed(11, 1), fixed(11, 11), fixed(12, 25)},
	"NL": {fixed(1, 1), easterOff(-2), easterOff(1), fixed(4, 27), easterOff(39), easterOff(50), fixed(12, 25), fixed(12, 26)},
	"JP": {fixed(1, 1), fixed(1, 2), fixed(1, 3), nth(1, time.Monday, 2), fixed(2, 11), fixed(2, 23), fixed(3, 20),
		fixed(4, 29), fixed(5, 3), fixed(5, 4), fixed(5, 5), nth(7, time.Monday, 3), fixed(8, 11),
		nth(9, time.Monday, 3), fixed(9, 23), nth(10, time.Monday, 2), fixed(11, 3), fixed(11, 23), fixed(12, 31)},
	"IN": {fixed(1, 26), fixed(5, 1), fixed(8, 15), fixed(10, 2), fixed(12, 25)},
	"SG": {fixed(1, 1), easterOff(-2), fixed(5, 1), fixed(8, 9), fixed(12, 25)},
	"AU": {fixed(1, 1), fixed(1, 26), easterOff(-2), easterOff(1), fixed(4, 25), nth(6, time.Monday, 2),
		nth(10, time.Monday, 1), fixed(12, 25), fixed(12, 26)},
	"BR": {fixed(1, 1), easterOff(-48), easterOff(-47), easterOff(-2), fixed(4, 21), fixed(5, 1), easterOff(60),
		fixed(9, 7), fixed(10, 12), fixed(11, 2), fixed(11, 15), fixed(11, 20), fixed(12, 25)},
	"ZA": {fixed(1, 1), fixed(3, 21), easterOff(-2), easterOff(1), fixed(4, 27), fixed(5, 1), fixed(6, 16),
		fixed(8, 9), fixed(9, 24), fixed(12, 16), fixed(12, 25), fixed(12, 26)},
	"BH": {fixed(1, 1), fixed(5, 1), fixed(12, 16), fixed(12, 17)},
}

// inPause reports whether d lies in the year-end slowdown, 22 Dec – 2 Jan.
func inPause(d data.Date) bool {
	_, m, day := civil(d)
	return (m == 12 && day >= 22) || (m == 1 && day <= 2)
}

// runKind is how an account batches its payments.
type runKind uint8

const (
	runDaily       runKind = iota // any business day
	runWeekly                     // one fixed weekday (Mon–Fri), moved to the next business day
	runSemimonthly                // the 15th (moved to the next business day) and the last business day
	runMonthly                    // the last business day of the month
)

var runNames = [...]string{"daily", "weekly", "semimonthly", "monthly"}

func (k runKind) String() string { return runNames[k] }

// schedule is a set of days (payment-run days, or business days) over
// [first, first+len): bit i set ⇔ day first+i is in the set.
type schedule struct {
	first data.Date
	n     int
	bits  []uint64
}

func newSchedule(first data.Date, n int) *schedule {
	return &schedule{first: first, n: n, bits: make([]uint64, (n+63)/64)}
}

func (s *schedule) set(i int) { s.bits[i>>6] |= 1 << (i & 63) }

// has reports whether d is in the set; days outside the range are in it.
func (s *schedule) has(d data.Date) bool {
	i := d.Sub(s.first)
	if i < 0 || i >= s.n {
		return true
	}
	return s.bits[i>>6]&(1<<(i&63)) != 0
}

// next returns the first day ≥ d in the set. Days past the range count as
// in the set, so next never fails.
func (s *schedule) next(d data.Date) data.Date {
	i := d.Sub(s.first)
	if i < 0 || i >= s.n {
		return d
	}
	w := i >> 6
	word := s.bits[w] &^ (1<<(i&63) - 1)
	for {
		if word != 0 {
			j := w<<6 + bits.TrailingZeros64(word)
			if j >= s.n {
				return s.first.AddDays(s.n)
			}
			return s.first.AddDays(j)
		}
		w++
		if w >= len(s.bits) {
			return s.first.AddDays(s.n)
		}
		word = s.bits[w]
	}
}

// prev returns the last day ≤ d in the set, or s.first−1 if there is none
// in the range.
func (s *schedule) prev(d data.Date) data.Date {
	i := d.Sub(s.first)
	if i >= s.n {
		return d
	}
	if i < 0 {
		return s.first - 1
	}
	w := i >> 6
	word := s.bits[w]
	if r := i & 63; r < 63 {
		word &= 1<<(r+1) - 1
	}
	for {
		if word != 0 {
			return s.first.AddDays(w<<6 + 63 - bits.LeadingZeros64(word))
		}
		w--
		if w < 0 {
			return s.first - 1
		}
		word = s.bits[w]
	}
}

// nRunKeys is the number of run schedules per market and pause flag:
// daily, weekly Monday..Friday, semimonthly, monthly.
const nRunKeys = 8

func runKey(k runKind, wd time.Weekday) int {
	switch k {
	case runWeekly:
		return int(wd) // Monday=1 … Friday=5
	case runSemimonthly:
		return 6
	case runMonthly:
		return 7
	}
	return 0
}

// calendars holds every schedule, built once per Generate and read-only.
type calendars struct {
	first data.Date
	n     int
	// runs[market][pause][runKey]; runs[m][0][0] is the market's business days.
	runs   [][2][nRunKeys]*schedule
	anyDay *schedule
}

func buildCalendars(ms []market, first, last data.Date) *calendars {
	n := last.Sub(first) + 1
	c := &calendars{first: first, n: n, runs: make([][2][nRunKeys]*schedule, len(ms)), anyDay: newSchedule(first, n)}
	for i := range n {
		c.anyDay.set(i)
	}
	y0, _, _ := civil(first)
	y1, _, _ := civil(last)
	for mi := range ms {
		m := &ms[mi]
		hol := make([]bool, n)
		for _, h := range countryHolidays[m.Country] {
			for y := y0; y <= y1; y++ {
				if i := h.date(y).Sub(first); i >= 0 && i < n {
					hol[i] = true
				}
			}
		}
		for pause := range 2 {
			biz := make([]bool, n)
			for i := range n {
				d := first.AddDays(i)
				biz[i] = !m.weekend[d.Weekday()] && !hol[i] && !(pause == 1 && inPause(d))
			}
			c.runs[mi][pause] = buildRuns(first, biz)
		}
	}
	return c
}

// buildRuns derives the run schedules from a business-day mask.
func buildRuns(first data.Date, biz []bool) [nRunKeys]*schedule {
	n := len(biz)
	var out [nRunKeys]*schedule
	for k := range out {
		out[k] = newSchedule(first, n)
	}
	nextBiz := make([]int, n+1) // index of the first business day > i (n if none)
	nextBiz[n] = n
	nb := n
	for i := n - 1; i >= 0; i-- {
		nextBiz[i] = nb
		if biz[i] {
			nb = i
		}
	}
	prevBiz := -1
	for i := range n {
		if !biz[i] {
			continue
		}
		d := first.AddDays(i)
		_, m, _ := civil(d)
		out[0].set(i)
		lastOfMonth := nextBiz[i] == n
		if !lastOfMonth {
			_, m2, _ := civil(first.AddDays(nextBiz[i]))
			lastOfMonth = m2 != m
		}
		// (prevBiz, i] is the span of raw days this business day absorbs.
		lo := prevBiz + 1
		if prevBiz < 0 {
			lo = i
		}
		has15 := false
		for j := lo; j <= i; j++ {
			dj := first.AddDays(j)
			if _, _, dd := civil(dj); dd == 15 {
				has15 = true
			}
			if wd := dj.Weekday(); wd >= time.Monday && wd <= time.Friday {
				out[int(wd)].set(i)
			}
		}
		if i-lo >= 7 { // a long closure absorbs every weekday
			for wd := 1; wd <= 5; wd++ {
				out[wd].set(i)
			}
		}
		if has15 || lastOfMonth {
			out[6].set(i)
		}
		if lastOfMonth {
			out[7].set(i)
		}
		prevBiz = i
	}
	return out
}
