package scoring_test

import (
	"strings"
	"testing"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/scoring"
)

func TestParseFX(t *testing.T) {
	cases := []struct {
		name, in string
		want     scoring.FX
		errHas   string
	}{
		{name: "yaml", in: "reporting: eur\nrates:\n  usd: 0.92\n  GBP: 1.17\n",
			want: scoring.FX{Reporting: "EUR", Rates: map[string]float64{"USD": 0.92, "GBP": 1.17}}},
		{name: "json", in: `{"reporting":"USD","rates":{"EUR":1.08}}`,
			want: scoring.FX{Reporting: "USD", Rates: map[string]float64{"EUR": 1.08}}},
		{name: "reporting listed at 1", in: "reporting: USD\nrates: {USD: 1, EUR: 1.1}\n",
			want: scoring.FX{Reporting: "USD", Rates: map[string]float64{"USD": 1, "EUR": 1.1}}},
		{name: "unknown key", in: "reporting: USD\nrate: {EUR: 1}\n", errHas: "rate"},
		{name: "bad reporting", in: "reporting: XYZ\n", errHas: "reporting currency"},
		{name: "missing reporting", in: "rates: {EUR: 1}\n", errHas: "reporting currency"},
		{name: "bad code", in: "reporting: USD\nrates: {EURO: 1}\n", errHas: "EURO"},
		{name: "zero rate", in: "reporting: USD\nrates: {EUR: 0}\n", errHas: "EUR rate"},
		{name: "negative rate", in: "reporting: USD\nrates: {EUR: -1}\n", errHas: "EUR rate"},
		{name: "reporting not 1", in: "reporting: USD\nrates: {USD: 2}\n", errHas: "must have rate 1"},
		{name: "not yaml", in: "reporting: [", errHas: "fx table"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := scoring.ParseFX([]byte(c.in))
			if c.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), c.errHas) || data.ErrorCode(err) != data.Invalid {
					t.Fatalf("err = %v; want an Invalid error containing %q", err, c.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Reporting != c.want.Reporting || len(got.Rates) != len(c.want.Rates) {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
			for k, v := range c.want.Rates {
				if got.Rates[k] != v {
					t.Errorf("rate %s = %v, want %v", k, got.Rates[k], v)
				}
			}
		})
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	e := newEnv(t, envOptions{noServer: true})
	bad := []struct {
		name string
		opt  scoring.Options
	}{
		{"no store", scoring.Options{Registry: e.reg, Clock: e.clock.Now}},
		{"no registry", scoring.Options{Store: e.store, Clock: e.clock.Now}},
		{"no clock", scoring.Options{Store: e.store, Registry: e.reg}},
		{"short ttl", scoring.Options{Store: e.store, Registry: e.reg, Clock: e.clock.Now, SnapshotTTL: 1}},
		{"bad tiers", scoring.Options{Store: e.store, Registry: e.reg, Clock: e.clock.Now, Tiers: [3]float64{0.5, 0.4, 0.9}}},
		{"bad fx", scoring.Options{Store: e.store, Registry: e.reg, Clock: e.clock.Now, FX: &scoring.FX{Reporting: "usd"}}},
		{"bad channel", scoring.Options{Store: e.store, Registry: e.reg, Clock: e.clock.Now,
			Channels: map[data.Channel]scoring.Channel{data.Email: {Uplift: 2}}}},
		{"bad loss", scoring.Options{Store: e.store, Registry: e.reg, Clock: e.clock.Now, LossGivenLate: 1.5}},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			if _, err := scoring.New(e.ctx, c.opt); err == nil {
				t.Error("New accepted the options")
			}
		})
	}
}
