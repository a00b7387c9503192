package contact

import (
	"fmt"
	"time"

	"github.com/duesight/duesight/data"
)

// Cap limits contacts on a channel (ChannelUnknown = all channels together)
// to Max within any rolling window of length Per.
type Cap struct {
	Channel data.Channel
	Max     int
	Per     time.Duration
}

// Rules are the contact rules. The zero value allows nothing useful; start
// from DefaultRules.
type Rules struct {
	// Earliest and Latest bound the local time of day of a contact on
	// email, SMS and call: allowed iff Earliest ≤ local clock < Latest.
	// Letters are exempt (they are not received when sent).
	Earliest, Latest time.Duration
	// Weekends allows email/SMS/call contacts on local Saturdays and Sundays.
	Weekends bool
	// Caps are rolling-window limits counted over past contacts.
	Caps []Cap
	// CallPauseAfterConversation forbids calls for this long after a
	// telephone conversation (OutcomeConversation or OutcomePromise on a call).
	CallPauseAfterConversation time.Duration
	// SkipBounced stops using a channel whose latest contact bounced.
	SkipBounced bool
}

// DefaultRules returns 08:00–21:00 local, weekdays only, one contact per day
// across channels, ≤7 calls / 7 days, ≤3 emails / 7 days, ≤3 SMS / 7 days,
// ≤1 letter / 7 days, no call within 7 days of a conversation, skip bounced.
func DefaultRules() Rules {
	const day = 24 * time.Hour
	return Rules{
		Earliest: 8 * time.Hour, Latest: 21 * time.Hour,
		Caps: []Cap{
			{data.ChannelUnknown, 1, day},
			{data.Call, 7, 7 * day},
			{data.Email, 3, 7 * day},
			{data.SMS, 3, 7 * day},
			{data.Letter, 1, 7 * day},
		},
		CallPauseAfterConversation: 7 * day,
		SkipBounced:                true,
	}
}

// Validate checks that the rules are usable.
func (r Rules) Validate() error {
	if r.Earliest < 0 || r.Latest > 24*time.Hour || r.Earliest >= r.Latest {
		return data.Errorf(data.Invalid, "contact rules: window %v–%v: want 0 ≤ earliest < latest ≤ 24h", r.Earliest, r.Latest)
	}
	for _, c := range r.Caps {
		if c.Max < 1 || c.Per <= 0 {
			return data.Errorf(data.Invalid, "contact rules: cap on %s: want max ≥ 1 per positive duration", c.Channel)
		}
	}
	return nil
}

// Reason says why a contact is not allowed.
type Reason string

const (
	ReasonNone              Reason = ""
	ReasonNoConsent         Reason = "no_consent"
	ReasonBadChannel        Reason = "unknown_channel"
	ReasonQuietHours        Reason = "quiet_hours"
	ReasonWeekend           Reason = "weekend"
	ReasonCap               Reason = "cap"
	ReasonAfterConversation Reason = "after_conversation"
	ReasonBounced           Reason = "bounced"
	ReasonBadZone           Reason = "bad_time_zone"
)

// Decision is the answer for one (account, channel, instant).
type Decision struct {
	Allowed bool
	Reason  Reason
	Detail  string // for people; contains no personal data
}

func deny(r Reason, format string, args ...any) Decision {
	return Decision{Reason: r, Detail: fmt.Sprintf(format, args...)}
}

// Check decides whether acc may be contacted on ch at instant at, given its
// past contacts (any order; contacts at or after at are ignored).
func (r Rules) Check(acc data.Account, ch data.Channel, at time.Time, past []data.Contact) Decision {
	if !ch.Valid() {
		return deny(ReasonBadChannel, "channel %d is not a contact channel", ch)
	}
	if !acc.Consent.Has(ch) {
		return deny(ReasonNoConsent, "the account has not consented to %s", ch)
	}
	loc, err := data.LoadZone(acc.TimeZone)
	if err != nil {
		return deny(ReasonBadZone, "%v", err)
	}
	if ch != data.Letter {
		local := at.In(loc)
		if wd := local.Weekday(); !r.Weekends && (wd == time.Saturday || wd == time.Sunday) {
			return deny(ReasonWeekend, "%s is a %s in %s", local.Format("2006-01-02"), wd, acc.TimeZone)
		}
		if clock := sinceMidnight(local); clock < r.Earliest || clock >= r.Latest {
			return deny(ReasonQuietHours, "%s local time is outside %s–%s", local.Format("15:04"), hhmm(r.Earliest), hhmm(r.Latest))
		}
	}
	if d, ok := r.history(ch, at, past); !ok {
		return d
	}
	return Decision{Allowed: true}
}

// history applies the rules that look at past contacts.
func (r Rules) history(ch data.Channel, at time.Time, past []data.Contact) (Decision, bool) {
	var lastOnChannel *data.Contact
	for i := range past {
		c := &past[i]
		if !c.SentAt.Before(at) {
			continue
		}
		if c.Channel == ch && (lastOnChannel == nil || c.SentAt.After(lastOnChannel.SentAt)) {
			lastOnChannel = c
		}
		if ch == data.Call && c.Channel == data.Call && r.CallPauseAfterConversation > 0 &&
			(c.Outcome == data.OutcomeConversation || c.Outcome == data.OutcomePromise) &&
			at.Sub(c.SentAt) < r.CallPauseAfterConversation {
			return deny(ReasonAfterConversation, "a call conversation took place %s ago (pause %s)",
				at.Sub(c.SentAt).Round(time.Minute), r.CallPauseAfterConversation), false
		}
	}
	if r.SkipBounced && lastOnChannel != nil && lastOnChannel.Outcome == data.OutcomeBounced {
		return deny(ReasonBounced, "the last %s contact bounced", ch), false
	}
	for _, cp := range r.Caps {
		if cp.Channel != data.ChannelUnknown && cp.Channel != ch {
			continue
		}
		n := 0
		for _, c := range past {
			if c.SentAt.Before(at) && at.Sub(c.SentAt) < cp.Per && (cp.Channel == data.ChannelUnknown || c.Channel == cp.Channel) {
				n++
			}
		}
		if n >= cp.Max {
			scope := cp.Channel.String()
			if cp.Channel == data.ChannelUnknown {
				scope = "all channels"
			}
			return deny(ReasonCap, "%d contacts on %s within %s (max %d)", n, scope, cp.Per, cp.Max), false
		}
	}
	return Decision{Allowed: true}, true
}

// Next returns the earliest instant ≥ from at which acc may be contacted on
// ch, searching up to horizon ahead. ok is false (with the blocking
// decision) when the rules never allow it within the horizon — e.g. no
// consent or a bounced address. Returned instants are truncated to the minute.
func (r Rules) Next(acc data.Account, ch data.Channel, from time.Time, past []data.Contact, horizon time.Duration) (time.Time, Decision, bool) {
	t := from.Truncate(time.Minute)
	if t.Before(from) {
		t = t.Add(time.Minute)
	}
	end := from.Add(horizon)
	var d Decision
	for i := 0; i < 1000 && !t.After(end); i++ {
		d = r.Check(acc, ch, t, past)
		switch d.Reason {
		case ReasonNone:
			return t, d, true
		case ReasonNoConsent, ReasonBadChannel, ReasonBounced, ReasonBadZone:
			return time.Time{}, d, false
		case ReasonQuietHours, ReasonWeekend:
			t = r.nextWindowStart(acc, t)
		case ReasonCap, ReasonAfterConversation:
			t = r.nextHistoryRelease(ch, t, past)
		}
	}
	return time.Time{}, d, false
}

// nextWindowStart is the next local Earliest on an allowed day after t.
func (r Rules) nextWindowStart(acc data.Account, t time.Time) time.Time {
	loc, _ := data.LoadZone(acc.TimeZone)
	local := t.In(loc)
	day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	start := atClock(day, r.Earliest)
	if !local.Before(start) {
		day = day.AddDate(0, 0, 1)
		start = atClock(day, r.Earliest)
	}
	for !r.Weekends && (start.Weekday() == time.Saturday || start.Weekday() == time.Sunday) {
		day = day.AddDate(0, 0, 1)
		start = atClock(day, r.Earliest)
	}
	return start.UTC()
}

// atClock returns day (local midnight) + clock of wall time, correct across
// DST changes because it builds the wall-clock time directly.
func atClock(day time.Time, clock time.Duration) time.Time {
	h, m := int(clock/time.Hour), int(clock%time.Hour/time.Minute)
	return time.Date(day.Year(), day.Month(), day.Day(), h, m, 0, 0, day.Location())
}

// nextHistoryRelease is the earliest instant after t at which some past
// contact leaves a cap window or a conversation pause ends.
func (r Rules) nextHistoryRelease(ch data.Channel, t time.Time, past []data.Contact) time.Time {
	best := time.Time{}
	consider := func(x time.Time) {
		if x.After(t) && (best.IsZero() || x.Before(best)) {
			best = x
		}
	}
	for _, c := range past {
		for _, cp := range r.Caps {
			if cp.Channel == data.ChannelUnknown || (cp.Channel == ch && c.Channel == ch) {
				consider(c.SentAt.Add(cp.Per))
			}
		}
		if ch == data.Call && c.Channel == data.Call {
			consider(c.SentAt.Add(r.CallPauseAfterConversation))
		}
	}
	if best.IsZero() {
		return t.Add(time.Hour)
	}
	if up := best.Truncate(time.Minute); up.Before(best) {
		return up.Add(time.Minute)
	}
	return best
}

func sinceMidnight(t time.Time) time.Duration {
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute + time.Duration(t.Second())*time.Second
}

func hhmm(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
}
