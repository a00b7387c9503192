package scoring

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"time"

	"github.com/duesight/duesight/api"
	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/model"
	"github.com/duesight/duesight/scoring/contact"
)

// Channel is the economics of one collection channel for the worklist.
type Channel struct {
	// Uplift is the expected share of the amount at risk (open × P(late))
	// that one action on this channel recovers, in [0, 1].
	Uplift float64 `json:"uplift" yaml:"uplift"`
	// Cost is the cost of one action in major units of the reporting
	// currency (≥ 0).
	Cost float64 `json:"cost" yaml:"cost"`
}

// DefaultChannels are the channel economics used when none are configured.
// They are product defaults for a first ranking, meant to be replaced by
// measured uplifts (for example from the synthetic generator's holdout or a
// real A/B holdout):
//
//	channel  uplift  cost (reporting major units)
//	email    0.05    0.05
//	sms      0.04    0.10
//	call     0.12    4.00
//	letter   0.03    1.50
func DefaultChannels() map[data.Channel]Channel {
	return map[data.Channel]Channel{
		data.Email:  {Uplift: 0.05, Cost: 0.05},
		data.SMS:    {Uplift: 0.04, Cost: 0.10},
		data.Call:   {Uplift: 0.12, Cost: 4.00},
		data.Letter: {Uplift: 0.03, Cost: 1.50},
	}
}

// Defaults of Options.
const (
	// DefaultLossGivenLate is the share of a late invoice's open amount
	// expected to be lost (never recovered): expected loss = Σ open × P(late)
	// × DefaultLossGivenLate.
	DefaultLossGivenLate = 0.10
	// DefaultDelayDiscountPerDay is r in the delay discount δ(Δ) = e^{−r·Δ}
	// (Δ in days) applied to the recovery of an action that the contact
	// rules allow only later: about 5% less per day of waiting.
	DefaultDelayDiscountPerDay = 0.05
	// DefaultNextHorizon is how far ahead the worklist looks for the next
	// allowed contact instant.
	DefaultNextHorizon = 14 * 24 * time.Hour
	// DefaultReasons is the number of reason codes per score.
	DefaultReasons = 3
	// DefaultMaxSnapshots bounds the worklist snapshots kept at once.
	DefaultMaxSnapshots = 64
	// DefaultMaxWorklistItems bounds the accounts kept in one snapshot (the
	// highest ranked ones).
	DefaultMaxWorklistItems = 10_000
	// DefaultRecentContacts is the number of contacts an account view shows.
	DefaultRecentContacts = 10
	// DefaultSnapshotReuse: a worklist request without as_of reuses a
	// snapshot of the same segment made at most this long ago, provided no
	// event, resync or model change happened since.
	DefaultSnapshotReuse = time.Minute
)

// DefaultTiers are the risk-tier cut-offs on calibrated P(late): low below
// 0.25, medium below 0.5, high below 0.75, critical from 0.75.
func DefaultTiers() [3]float64 { return [3]float64{0.25, 0.5, 0.75} }

// Options configure New. Store, Registry and Clock are required; zero values
// of the others mean the documented defaults.
type Options struct {
	// Store is the history store events are written to and the online state
	// is loaded from.
	Store data.Store
	// Registry holds the model artifacts; its active version is served.
	Registry *model.Registry
	// Clock is the time source for "now" (as-of defaults, snapshot ages).
	Clock func() time.Time
	// Logger receives operational messages (counts, ids of models and
	// snapshots; never names, amounts or keys). Nil discards.
	Logger *slog.Logger
	// Rules are the contact rules; nil means contact.DefaultRules().
	Rules *contact.Rules
	// FX converts amounts for the worklist; nil means DefaultFX().
	FX *FX
	// Channels are the channel economics; nil means DefaultChannels(). A
	// channel missing from the map is never recommended.
	Channels map[data.Channel]Channel
	// LossGivenLate is the loss share of a late invoice for expected loss;
	// 0 means DefaultLossGivenLate.
	LossGivenLate float64
	// DelayDiscountPerDay is r of the worklist delay discount; 0 means
	// DefaultDelayDiscountPerDay, negative means no discount.
	DelayDiscountPerDay float64
	// NextHorizon is how far ahead to look for an allowed contact; 0 means
	// DefaultNextHorizon.
	NextHorizon time.Duration
	// WaitForBetterChannel lets channels not allowed now compete with those
	// allowed now, each valued at its discounted EV′ (so a call at 08:00
	// local time can beat a letter now). By default, as specified for the
	// worklist, a channel allowed now always wins over waiting.
	WaitForBetterChannel bool
	// Tiers are the risk-tier cut-offs; the zero value means DefaultTiers().
	Tiers [3]float64
	// Reasons is the number of reason codes per score; 0 means
	// DefaultReasons, negative means none.
	Reasons int
	// SnapshotTTL is how long worklist snapshots are kept; 0 means
	// api.MinSnapshotTTL, and shorter values are refused.
	SnapshotTTL time.Duration
	// SnapshotReuse: see DefaultSnapshotReuse; 0 means the default,
	// negative means never reuse.
	SnapshotReuse time.Duration
	// MaxSnapshots and MaxWorklistItems bound worklist memory to about
	// MaxSnapshots × MaxWorklistItems × 72 bytes; 0 means the defaults.
	MaxSnapshots, MaxWorklistItems int
	// RecentContacts is the number of contacts an account view lists; 0
	// means DefaultRecentContacts.
	RecentContacts int
	// Workers is the parallelism of state loading, batch scoring and
	// ranking; 0 means GOMAXPROCS.
	Workers int
}

func (o *Options) normalize() error {
	switch {
	case o.Store == nil:
		return errors.New("scoring: Options.Store is required")
	case o.Registry == nil:
		return errors.New("scoring: Options.Registry is required")
	case o.Clock == nil:
		return errors.New("scoring: Options.Clock is required (pass time.Now in production, a fixed clock in tests)")
	case o.SnapshotTTL != 0 && o.SnapshotTTL < api.MinSnapshotTTL:
		return fmt.Errorf("scoring: Options.SnapshotTTL %s is below the API minimum %s", o.SnapshotTTL, api.MinSnapshotTTL)
	case o.LossGivenLate < 0 || o.LossGivenLate > 1:
		return fmt.Errorf("scoring: Options.LossGivenLate %v is outside [0, 1]", o.LossGivenLate)
	case o.NextHorizon < 0:
		return fmt.Errorf("scoring: Options.NextHorizon %s is negative", o.NextHorizon)
	case o.MaxSnapshots < 0 || o.MaxWorklistItems < 0 || o.RecentContacts < 0 || o.Workers < 0:
		return errors.New("scoring: Options.MaxSnapshots, MaxWorklistItems, RecentContacts and Workers must be ≥ 0")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Rules == nil {
		r := contact.DefaultRules()
		o.Rules = &r
	}
	if err := o.Rules.Validate(); err != nil {
		return fmt.Errorf("scoring: %w", err)
	}
	if o.FX == nil {
		f := DefaultFX()
		o.FX = &f
	}
	if err := o.FX.Validate(); err != nil {
		return fmt.Errorf("scoring: %w", err)
	}
	if o.Channels == nil {
		o.Channels = DefaultChannels()
	}
	for c, e := range o.Channels {
		switch {
		case !c.Valid():
			return fmt.Errorf("scoring: Options.Channels: %d is not a contact channel", c)
		case !(e.Uplift >= 0 && e.Uplift <= 1):
			return fmt.Errorf("scoring: Options.Channels: %s uplift %v is outside [0, 1]", c, e.Uplift)
		case !(e.Cost >= 0) || math.IsInf(e.Cost, 0):
			return fmt.Errorf("scoring: Options.Channels: %s cost %v is not a finite number ≥ 0", c, e.Cost)
		}
	}
	if o.LossGivenLate == 0 {
		o.LossGivenLate = DefaultLossGivenLate
	}
	switch {
	case o.DelayDiscountPerDay == 0:
		o.DelayDiscountPerDay = DefaultDelayDiscountPerDay
	case o.DelayDiscountPerDay < 0:
		o.DelayDiscountPerDay = 0
	}
	if o.NextHorizon == 0 {
		o.NextHorizon = DefaultNextHorizon
	}
	if o.Tiers == [3]float64{} {
		o.Tiers = DefaultTiers()
	}
	if !(0 < o.Tiers[0] && o.Tiers[0] <= o.Tiers[1] && o.Tiers[1] <= o.Tiers[2] && o.Tiers[2] <= 1) {
		return fmt.Errorf("scoring: Options.Tiers %v: want 0 < low ≤ medium ≤ high ≤ 1", o.Tiers)
	}
	switch {
	case o.Reasons == 0:
		o.Reasons = DefaultReasons
	case o.Reasons < 0:
		o.Reasons = 0
	}
	if o.SnapshotTTL == 0 {
		o.SnapshotTTL = api.MinSnapshotTTL
	}
	switch {
	case o.SnapshotReuse == 0:
		o.SnapshotReuse = DefaultSnapshotReuse
	case o.SnapshotReuse < 0:
		o.SnapshotReuse = 0
	}
	if o.MaxSnapshots == 0 {
		o.MaxSnapshots = DefaultMaxSnapshots
	}
	if o.MaxWorklistItems == 0 {
		o.MaxWorklistItems = DefaultMaxWorklistItems
	}
	if o.RecentContacts == 0 {
		o.RecentContacts = DefaultRecentContacts
	}
	if o.Workers == 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	return nil
}

// tier returns the risk tier of calibrated probability p.
func tierOf(t *[3]float64, p float64) api.RiskTier {
	switch {
	case p < t[0]:
		return api.TierLow
	case p < t[1]:
		return api.TierMedium
	case p < t[2]:
		return api.TierHigh
	}
	return api.TierCritical
}
