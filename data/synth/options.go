package synth

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"strconv"

	"github.com/duesight/duesight/data"
)

// Options say what to generate. The zero value of every field but To means
// "use the default"; To must be set (there is deliberately no "now").
type Options struct {
	// Seed selects the random world. Same Options (Seed, sizes, dates, Model)
	// → byte-identical rows and truth, whatever Workers, ChunkAccounts and
	// GOMAXPROCS are (on one architecture and Go release: math.Exp and
	// math/rand/v2's samplers are not promised bit-identical across them).
	Seed uint64
	// Accounts is the number of accounts (default DefaultAccounts = 5,000,
	// at most MaxAccounts). Account k (1-based) has id "A" + k zero-padded to
	// 7 digits ("A0000001"), so byte order is numeric order.
	// An account's rows depend only on (Seed, k, window, Model), not on
	// Accounts, so a smaller run is a prefix of a larger one.
	Accounts int
	// From and To bound every generated event: [From, To). To is required;
	// From defaults to To − DefaultWindowDays (913 days ≈ 2.5 years).
	// Accounts may have been created before From (tenure), and promised dates
	// may lie after To (a promise made before To), but invoices, payments,
	// contacts and dispute openings/resolutions all fall in [From, To).
	// History is cut at To: invoices still open at To stay open.
	From, To data.Date
	// RandomFrom and RandomTo bound the randomised contacting period: every
	// contact about an invoice whose due date lies in [RandomFrom, RandomTo)
	// gets a random channel (among consented ones), local hour and day.
	// Both zero: the default [To − 365, To − 183), clipped to the window.
	// Set both to the same non-zero date to disable the period.
	RandomFrom, RandomTo data.Date
	// Model holds the behavioural parameters; nil means DefaultModel().
	Model *Model
	// Workers is the number of generating goroutines (default GOMAXPROCS).
	Workers int
	// ChunkAccounts is the number of accounts per data.Writer.Write call and
	// per TruthSink.WriteTruth call (default 256). At most Workers+2 chunks
	// are held in memory at once.
	ChunkAccounts int
	// Logger receives progress (counts only, never names or amounts); nil
	// discards.
	Logger *slog.Logger
}

// Defaults applied by Generate.
const (
	DefaultAccounts      = 5000
	DefaultWindowDays    = 913
	DefaultChunkAccounts = 256
	// MaxAccounts bounds Options.Accounts (ids stay 7 digits wide up to
	// 9,999,999; memory is bounded by chunking, not by this number).
	MaxAccounts = 9_999_999
	// horizonDays is how far past To the latent process (and its calendars)
	// is simulated, so that censored invoices still get a true settlement.
	horizonDays = 1300
	// maxTenureDays is how long before From an account may have been created.
	maxTenureDays = 8 * 365
	// calendarLead is how far before From the calendars start (for
	// look-backs such as the last run day before a due date).
	calendarLead = 60
	maxWorkers   = 1024
)

// config is validated Options with defaults applied and derived tables.
type config struct {
	seed                     uint64
	accounts                 int
	idWidth                  int
	from, to                 data.Date
	randFrom, randTo         data.Date
	model                    *Model
	workers, chunk           int
	log                      *slog.Logger
	cal                      *calendars
	markets                  []market
	marketCum, segCum        []float64
	typeCum                  []float64
	disputeSumCDF            []float64 // P(O+R ≤ v) indexed by v
	disputeMinS, disputeMaxS int
}

// resolve validates o and applies defaults. Every error names the field and
// the reason.
func (o Options) resolve() (*config, error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("synth: Options.%s: %s", field, fmt.Sprintf(format, args...)))
	}
	c := &config{seed: o.Seed, accounts: o.Accounts, from: o.From, to: o.To, workers: o.Workers, chunk: o.ChunkAccounts}
	switch {
	case c.accounts == 0:
		c.accounts = DefaultAccounts
	case c.accounts < 0:
		bad("Accounts", "%d is negative", c.accounts)
	case c.accounts > MaxAccounts:
		bad("Accounts", "%d exceeds the maximum %d", c.accounts, MaxAccounts)
	}
	c.idWidth = max(7, len(strconv.Itoa(max(c.accounts, 1))))
	if c.to == 0 {
		bad("To", "is required (the end of the generated window, exclusive)")
	}
	if c.from == 0 && c.to != 0 {
		c.from = c.to.AddDays(-DefaultWindowDays)
	}
	if c.to != 0 {
		switch {
		case c.from.AddDays(-maxTenureDays-calendarLead) < data.MinDate:
			bad("From", "%s is too early: accounts may be created up to %d days before From, which must stay after %s",
				c.from, maxTenureDays, data.MinDate)
		case c.to.AddDays(horizonDays) > data.MaxDate:
			bad("To", "%s is too late: the latent process runs %d days past To, which must stay before %s",
				c.to, horizonDays, data.MaxDate)
		case c.to.Sub(c.from) < 60:
			bad("To", "window %s..%s is %d days; want at least 60", c.from, c.to, c.to.Sub(c.from))
		case c.to.Sub(c.from) > 20*365:
			bad("To", "window %s..%s is %d days; want at most 20 years", c.from, c.to, c.to.Sub(c.from))
		}
	}
	c.randFrom, c.randTo = o.RandomFrom, o.RandomTo
	switch {
	case c.randFrom == 0 && c.randTo == 0 && c.to != 0:
		c.randFrom, c.randTo = max(c.from, c.to.AddDays(-365)), max(c.from, c.to.AddDays(-183))
	case (c.randFrom == 0) != (c.randTo == 0):
		bad("RandomTo", "set both RandomFrom and RandomTo, or neither (got %q and %q)", c.randFrom, c.randTo)
	case c.randTo < c.randFrom:
		bad("RandomTo", "%s is before RandomFrom %s", c.randTo, c.randFrom)
	}
	switch {
	case c.workers == 0:
		c.workers = runtime.GOMAXPROCS(0)
	case c.workers < 0 || c.workers > maxWorkers:
		bad("Workers", "%d is outside 0..%d", c.workers, maxWorkers)
	}
	switch {
	case c.chunk == 0:
		c.chunk = DefaultChunkAccounts
	case c.chunk < 0:
		bad("ChunkAccounts", "%d is negative", c.chunk)
	}
	c.model = o.Model
	if c.model == nil {
		c.model = DefaultModel()
	}
	if err := c.model.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("synth: Options.Model: %w", err))
	}
	c.log = o.Logger
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	c.markets = c.model.markets()
	c.cal = buildCalendars(c.markets, c.from.AddDays(-calendarLead), c.to.AddDays(horizonDays))
	c.marketCum = cumulative(len(c.markets), func(i int) float64 { return c.markets[i].Weight })
	c.segCum = cumulative(len(c.model.Segments), func(i int) float64 { return c.model.Segments[i].Weight })
	c.typeCum = cumulative(len(c.model.PayerTypes), func(i int) float64 { return c.model.PayerTypes[i].Weight })
	c.buildDisputeCDF()
	return c, nil
}

// cumulative returns normalised cumulative weights.
func cumulative(n int, w func(int) float64) []float64 {
	out := make([]float64, n)
	var s float64
	for i := range n {
		s += w(i)
		out[i] = s
	}
	for i := range out {
		out[i] /= s
	}
	out[n-1] = 1
	return out
}

// pick returns the index i with cum[i-1] ≤ u < cum[i].
func pick(cum []float64, u float64) int {
	for i, c := range cum {
		if u < c {
			return i
		}
	}
	return len(cum) - 1
}

// buildDisputeCDF tabulates P(O+R ≤ v) for the dispute opening offset
// O ~ U{DisputeOpenMin..DisputeOpenMax} and duration R ~ U{..}.
func (c *config) buildDisputeCDF() {
	m := c.model
	lo := m.DisputeOpenMin + m.DisputeDurationMin
	hi := m.DisputeOpenMax + m.DisputeDurationMax
	n := float64((m.DisputeOpenMax - m.DisputeOpenMin + 1) * (m.DisputeDurationMax - m.DisputeDurationMin + 1))
	pmf := make([]float64, hi+1)
	for o := m.DisputeOpenMin; o <= m.DisputeOpenMax; o++ {
		for r := m.DisputeDurationMin; r <= m.DisputeDurationMax; r++ {
			pmf[o+r] += 1 / n
		}
	}
	cdf := make([]float64, hi+1)
	var s float64
	for v := range pmf {
		s += pmf[v]
		cdf[v] = s
	}
	cdf[hi] = 1
	c.disputeSumCDF, c.disputeMinS, c.disputeMaxS = cdf, lo, hi
}

// pSumGreater returns P(O+R > v).
func (c *config) pSumGreater(v int) float64 {
	switch {
	case v < c.disputeMinS:
		return 1
	case v >= c.disputeMaxS:
		return 0
	}
	return math.Max(0, 1-c.disputeSumCDF[v])
}
