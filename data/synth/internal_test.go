package synth

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
	_ "time/tzdata" // zones resolve without a system zoneinfo database

	"github.com/duesight/duesight/data"
)

var internalTo = data.NewDate(2025, 7, 1)

func mustResolve(t *testing.T, o Options) *config {
	t.Helper()
	c, err := o.resolve()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The truth's p_late is exact: re-simulating one invoice (same account, same
// state at issue) many times with fresh random streams gives a late rate
// that matches p_late within sampling error, in every regime and path mix.
func TestPLateMatchesResimulation(t *testing.T) {
	c := mustResolve(t, Options{Seed: 99, Accounts: 400, To: internalTo})
	const trials = 3000
	type tc struct {
		idx     int
		issue   data.Date
		holdout bool
	}
	var cases []tc
	seenType := map[int]int{}
	for idx := 0; idx < c.accounts && len(cases) < 16; idx++ {
		a := c.newAccount(accountRNG(c.seed, idx), idx)
		if seenType[a.typ] >= 3 {
			continue
		}
		seenType[a.typ]++
		k := seenType[a.typ]
		// One invoice due inside the randomised period, one under the
		// policy; every third account also as a holdout.
		cases = append(cases,
			tc{idx, sellerDay(c.randFrom.AddDays(10 - a.terms + 3*k)), false},
			tc{idx, sellerDay(c.from.AddDays(200 + 17*k)), k == 3})
	}
	var sumP, sumLate, sumVar float64
	var moved int
	for _, x := range cases {
		a := c.newAccount(accountRNG(c.seed, x.idx), x.idx)
		a.holdout = x.holdout
		var p, pNC float64
		late := 0
		for i := range trials {
			g := &gen{c: c, m: c.model, r: rand.New(rand.NewPCG(uint64(i), uint64(x.idx))), a: a, out: &accountOut{a: a}}
			inv := g.invoice(x.issue, 50_000, 0.3, false)
			if i == 0 {
				p, pNC = inv.pLate, inv.pLateNC
			} else if inv.pLate != p {
				t.Fatalf("p_late changed between trials: %v vs %v", inv.pLate, p)
			}
			if inv.settle > inv.due {
				late++
			}
		}
		emp := float64(late) / trials
		t.Logf("account %d (%s) holdout=%v: p_late %.4f (no contact %.4f), re-simulated %.4f", x.idx,
			c.model.PayerTypes[a.typ].Name, x.holdout, p, pNC, emp)
		tol := 4*math.Sqrt(p*(1-p)/trials) + 0.003
		if math.Abs(emp-p) > tol {
			s := c.model.PayerTypes[a.typ].Name
			t.Errorf("account %d (%s, terms %d, run %s) issue %s holdout=%v: p_late %.4f (no contact %.4f), simulated %.4f, |diff| > %.4f",
				x.idx, s, a.terms, a.run, x.issue, x.holdout, p, pNC, emp, tol)
		}
		if pNC-p > 0.01 {
			moved++
		}
		if x.holdout && p != pNC {
			t.Errorf("holdout case: p_late %v ≠ no-contact %v", p, pNC)
		}
		sumP += p * trials
		sumLate += float64(late)
		sumVar += p * (1 - p) * trials
	}
	if moved < 3 {
		t.Errorf("only %d cases where contacting changes p_late by > 0.01: the reminder term is barely exercised", moved)
	}
	if d := math.Abs(sumP - sumLate); d > 4*math.Sqrt(sumVar)+1 {
		t.Errorf("pooled: expected %.1f late, simulated %.0f", sumP, sumLate)
	}
}

func TestEaster(t *testing.T) {
	for _, tc := range []struct {
		y    int
		want data.Date
	}{{2000, data.NewDate(2000, 4, 23)}, {2019, data.NewDate(2019, 4, 21)}, {2024, data.NewDate(2024, 3, 31)},
		{2025, data.NewDate(2025, 4, 20)}, {2038, data.NewDate(2038, 4, 25)}} {
		if got := easter(tc.y); got != tc.want {
			t.Errorf("easter(%d) = %s, want %s", tc.y, got, tc.want)
		}
	}
}

func TestCivil(t *testing.T) {
	for d := data.MinDate; d < data.NewDate(2110, 1, 1); d += 37 {
		y, m, day := civil(d)
		ty, tm, td := d.Time().Date()
		if y != ty || m != tm || day != td {
			t.Fatalf("civil(%d) = %d-%d-%d, want %d-%d-%d", d, y, m, day, ty, tm, td)
		}
	}
}

func TestHolidays(t *testing.T) {
	tests := []struct {
		h    holiday
		year int
		want data.Date
	}{
		{nth(11, time.Thursday, 4), 2024, data.NewDate(2024, 11, 28)}, // Thanksgiving
		{lastWD(5, time.Monday), 2025, data.NewDate(2025, 5, 26)},     // Memorial Day
		{nth(9, time.Monday, 1), 2025, data.NewDate(2025, 9, 1)},      // Labor Day
		{easterOff(-2), 2025, data.NewDate(2025, 4, 18)},              // Good Friday
		{fixed(12, 25), 2023, data.NewDate(2023, 12, 25)},
	}
	for _, tc := range tests {
		if got := tc.h.date(tc.year); got != tc.want {
			t.Errorf("%+v in %d = %s, want %s", tc.h, tc.year, got, tc.want)
		}
	}
}

func TestSchedules(t *testing.T) {
	c := mustResolve(t, Options{To: internalTo})
	us, bh := -1, -1
	for i, m := range c.markets {
		if m.Country == "US" && us < 0 {
			us = i
		}
		if m.Country == "BH" {
			bh = i
		}
	}
	usBiz := c.cal.runs[us][0][0]
	for _, tc := range []struct {
		s    *schedule
		d    data.Date
		want bool
	}{
		{usBiz, data.NewDate(2024, 11, 28), false}, // Thanksgiving
		{usBiz, data.NewDate(2024, 11, 29), true},
		{usBiz, data.NewDate(2024, 12, 28), false},                // Saturday
		{c.cal.runs[us][1][0], data.NewDate(2024, 12, 27), false}, // holiday pause
		{c.cal.runs[bh][0][0], data.NewDate(2025, 3, 7), false},   // Friday in Bahrain
		{c.cal.runs[bh][0][0], data.NewDate(2025, 3, 9), true},    // Sunday in Bahrain
		{c.cal.runs[us][0][7], data.NewDate(2025, 5, 30), true},   // last business day of May 2025
		{c.cal.runs[us][0][7], data.NewDate(2025, 5, 29), false},
		{c.cal.runs[us][0][6], data.NewDate(2025, 3, 17), true}, // the 15th was a Saturday
		{c.cal.runs[us][0][int(time.Tuesday)], data.NewDate(2025, 3, 11), true},
		{c.cal.runs[us][0][int(time.Tuesday)], data.NewDate(2025, 3, 12), false},
	} {
		if got := tc.s.has(tc.d); got != tc.want {
			t.Errorf("has(%s %s) = %v, want %v", tc.d, tc.d.Weekday(), got, tc.want)
		}
	}
	// next and prev agree with a brute-force scan over has.
	for _, s := range []*schedule{usBiz, c.cal.runs[us][1][7], c.cal.runs[bh][1][3], c.cal.runs[us][0][6]} {
		for d := c.from; d < c.to; d += 3 {
			want := d
			for !s.has(want) {
				want++
			}
			if got := s.next(d); got != want {
				t.Fatalf("next(%s) = %s, want %s", d, got, want)
			}
			want = d
			for !s.has(want) {
				want--
			}
			if got := s.prev(d); got != want {
				t.Fatalf("prev(%s) = %s, want %s", d, got, want)
			}
		}
	}
}

func TestAccountIDWidth(t *testing.T) {
	for _, tc := range []struct {
		idx, width int
		want       string
	}{{0, 7, "A0000001"}, {9_999_998, 7, "A9999999"}, {41, 8, "A00000042"}} {
		if got := accountID(tc.idx, tc.width); got != tc.want {
			t.Errorf("accountID(%d, %d) = %q, want %q", tc.idx, tc.width, got, tc.want)
		}
	}
}
