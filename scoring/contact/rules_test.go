package contact_test

import (
	"testing"
	"time"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/scoring/contact"
)

func acct(zone string, consent data.ChannelSet) data.Account {
	return data.Account{ID: "a1", Currency: "USD", TimeZone: zone, Consent: consent}
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestCheck(t *testing.T) {
	r := contact.DefaultRules()
	ny := acct("America/New_York", data.AllChannels)
	tokyo := acct("Asia/Tokyo", data.AllChannels)
	noSMS := acct("America/New_York", data.AllChannels&^(1<<data.SMS))
	call := func(at string, o data.Outcome) data.Contact {
		return data.Contact{ID: at, AccountID: "a1", Channel: data.Call, SentAt: utc(at), Outcome: o}
	}
	tests := []struct {
		name string
		acc  data.Account
		ch   data.Channel
		at   string // UTC
		past []data.Contact
		want contact.Reason
	}{
		// 2024-03-05 is a Tuesday. 13:00Z = 08:00 EST.
		{"ny 08:00 local is allowed", ny, data.Call, "2024-03-05T13:00:00Z", nil, ""},
		{"ny 07:59 local is quiet", ny, data.Call, "2024-03-05T12:59:00Z", nil, contact.ReasonQuietHours},
		{"ny 21:00 local is quiet", ny, data.Email, "2024-03-06T02:00:00Z", nil, contact.ReasonQuietHours},
		{"ny 20:59 local is allowed", ny, data.Email, "2024-03-06T01:59:00Z", nil, ""},
		// Same instant is 22:00 in Tokyo.
		{"tokyo 22:00 local is quiet", tokyo, data.Call, "2024-03-05T13:00:00Z", nil, contact.ReasonQuietHours},
		{"tokyo 09:00 local is allowed", tokyo, data.Call, "2024-03-05T00:00:00Z", nil, ""},
		// Saturday 2024-03-09 15:00Z is 10:00 EST Saturday.
		{"saturday", ny, data.Call, "2024-03-09T15:00:00Z", nil, contact.ReasonWeekend},
		{"letters ignore the clock and weekends", ny, data.Letter, "2024-03-09T03:00:00Z", nil, ""},
		{"no consent", noSMS, data.SMS, "2024-03-05T15:00:00Z", nil, contact.ReasonNoConsent},
		{"unknown channel", ny, data.ChannelUnknown, "2024-03-05T15:00:00Z", nil, contact.ReasonBadChannel},
		{"one contact per day across channels", ny, data.Email, "2024-03-05T15:00:00Z",
			[]data.Contact{call("2024-03-04T16:00:00Z", data.OutcomeNoAnswer)}, contact.ReasonCap},
		{"a day later is fine", ny, data.Email, "2024-03-05T16:00:00Z",
			[]data.Contact{call("2024-03-04T16:00:00Z", data.OutcomeNoAnswer)}, ""},
		{"no call within 7 days of a conversation", ny, data.Call, "2024-03-08T15:00:00Z",
			[]data.Contact{call("2024-03-04T16:00:00Z", data.OutcomeConversation)}, contact.ReasonAfterConversation},
		{"email is fine after a call conversation", ny, data.Email, "2024-03-08T15:00:00Z",
			[]data.Contact{call("2024-03-04T16:00:00Z", data.OutcomeConversation)}, ""},
		{"contacts in the future are ignored", ny, data.Call, "2024-03-05T15:00:00Z",
			[]data.Contact{call("2024-03-05T15:30:00Z", data.OutcomeConversation)}, ""},
		{"bounced email", ny, data.Email, "2024-03-08T15:00:00Z",
			[]data.Contact{{ID: "e", Channel: data.Email, SentAt: utc("2024-03-01T15:00:00Z"), Outcome: data.OutcomeBounced}}, contact.ReasonBounced},
		{"bounce cleared by a later delivery", ny, data.Email, "2024-03-08T15:00:00Z",
			[]data.Contact{{ID: "e", Channel: data.Email, SentAt: utc("2024-03-01T15:00:00Z"), Outcome: data.OutcomeBounced},
				{ID: "f", Channel: data.Email, SentAt: utc("2024-03-04T15:00:00Z"), Outcome: data.OutcomeDelivered}}, ""},
		{"bad zone", acct("Nowhere/City", data.AllChannels), data.Call, "2024-03-05T15:00:00Z", nil, contact.ReasonBadZone},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := r.Check(tc.acc, tc.ch, utc(tc.at), tc.past)
			if d.Reason != tc.want || d.Allowed != (tc.want == "") {
				t.Fatalf("Check = %+v; want reason %q", d, tc.want)
			}
		})
	}
}

func TestCallCapSevenInSevenDays(t *testing.T) {
	r := contact.DefaultRules()
	r.Caps = []contact.Cap{{Channel: data.Call, Max: 7, Per: 7 * 24 * time.Hour}}
	r.Weekends = true
	acc := acct("UTC", data.AllChannels)
	var past []data.Contact
	start := utc("2024-04-01T09:00:00Z")
	for i := 0; i < 7; i++ {
		past = append(past, data.Contact{ID: string(rune('a' + i)), Channel: data.Call, SentAt: start.Add(time.Duration(i) * time.Hour), Outcome: data.OutcomeNoAnswer})
	}
	if d := r.Check(acc, data.Call, start.Add(24*time.Hour), past); d.Reason != contact.ReasonCap {
		t.Fatalf("8th call within 7 days: %+v; want cap", d)
	}
	// The first call leaves the window exactly 7 days after it was made.
	at, d, ok := r.Next(acc, data.Call, start.Add(24*time.Hour), past, 30*24*time.Hour)
	if want := start.Add(7 * 24 * time.Hour); !ok || !at.Equal(want) {
		t.Fatalf("Next = %v, %+v, %v; want %v", at, d, ok, want)
	}
}

func TestNextAcrossDSTAndWeekends(t *testing.T) {
	r := contact.DefaultRules()
	ny := acct("America/New_York", data.AllChannels)
	tests := []struct {
		name, from, want string
	}{
		// Friday 2024-03-08 22:00 EST → Monday 2024-03-11 08:00 EDT (DST began Sunday): 12:00Z.
		{"over a weekend and the spring DST change", "2024-03-09T03:00:00Z", "2024-03-11T12:00:00Z"},
		// Tuesday 2024-11-05 06:30 EST → same day 08:00 EST = 13:00Z (DST ended Sunday 11-03).
		{"early morning after fall DST change", "2024-11-05T11:30:00Z", "2024-11-05T13:00:00Z"},
		{"already allowed", "2024-11-05T15:00:00Z", "2024-11-05T15:00:00Z"},
		{"seconds round up to the minute", "2024-11-05T15:00:30Z", "2024-11-05T15:01:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, d, ok := r.Next(ny, data.Call, utc(tc.from), nil, 14*24*time.Hour)
			if !ok || !got.Equal(utc(tc.want)) {
				t.Fatalf("Next(%s) = %v, %+v, %v; want %s", tc.from, got, d, ok, tc.want)
			}
			if chk := r.Check(ny, data.Call, got, nil); !chk.Allowed {
				t.Fatalf("Next returned a forbidden instant: %+v", chk)
			}
		})
	}
}

func TestNextNeverWithoutConsent(t *testing.T) {
	r := contact.DefaultRules()
	_, d, ok := r.Next(acct("UTC", 0), data.Email, utc("2024-03-05T10:00:00Z"), nil, 30*24*time.Hour)
	if ok || d.Reason != contact.ReasonNoConsent {
		t.Fatalf("Next without consent = %+v, %v", d, ok)
	}
}

func TestNextAfterConversationPause(t *testing.T) {
	r := contact.DefaultRules()
	acc := acct("UTC", data.AllChannels)
	conv := data.Contact{ID: "c", Channel: data.Call, SentAt: utc("2024-03-04T10:00:00Z"), Outcome: data.OutcomePromise}
	got, d, ok := r.Next(acc, data.Call, utc("2024-03-05T10:00:00Z"), []data.Contact{conv}, 30*24*time.Hour)
	// Pause ends 2024-03-11T10:00Z, a Monday within 08–21 UTC.
	if !ok || !got.Equal(utc("2024-03-11T10:00:00Z")) {
		t.Fatalf("Next = %v, %+v, %v", got, d, ok)
	}
}

func TestValidate(t *testing.T) {
	bad := contact.DefaultRules()
	bad.Earliest, bad.Latest = 21*time.Hour, 8*time.Hour
	if bad.Validate() == nil {
		t.Fatal("inverted window validated")
	}
	if err := contact.DefaultRules().Validate(); err != nil {
		t.Fatal(err)
	}
}
