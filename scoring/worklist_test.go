package scoring_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/duesight/duesight/api"
	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/data/parquet"
	"github.com/duesight/duesight/features"
	"github.com/duesight/duesight/model"
	"github.com/duesight/duesight/scoring"
	"github.com/duesight/duesight/scoring/contact"
)

// constModel is a test model kind: P(late) is the same for every invoice,
// so worklist values can be checked by hand.
type constModel struct{ P float64 }

const constKind = "const-test"

func init() {
	model.Register(constKind, func(b []byte) (model.Predictor, error) {
		var p float64
		err := json.Unmarshal(b, &p)
		return &constModel{P: p}, err
	})
}

func (m *constModel) Kind() string                          { return constKind }
func (m *constModel) Features() []string                    { return features.Names() }
func (m *constModel) MarshalPayload() ([]byte, error)       { return json.Marshal(m.P) }
func (m *constModel) PredictProba([]float64) float64        { return m.P }
func (m *constModel) Explain([]float64, int) []model.Reason { return nil }
func (m *constModel) PredictBatch(X [][]float64, out []float64) error {
	for i := range out {
		out[i] = m.P
	}
	return nil
}

// handCase writes a small store and a registry whose active model says
// P(late) = 0.5 for everything, and returns the directory.
//
// At fixtureNow (Tuesday 2025-07-01 14:00 UTC):
//
//	W1 USD New York (10:00, allowed), all channels, $1,000.00 overdue, no contact
//	W2 EUR Berlin (16:00, allowed), email only, €2,000.00 not yet due
//	W3 USD Tokyo (23:00, quiet hours), SMS only, $5,000.00 overdue, an SMS on 2025-06-20
//	W4 JPY Tokyo, ¥100,000 overdue: no FX rate → left out, counted
//	W5 USD Chicago, no consent at all → left out, counted
//	W6 USD, its only invoice paid → not ranked
//	W7 USD Los Angeles (07:00, quiet hours until 15:00 UTC), call and letter, $2,000.00 overdue
func handCase(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := parquet.Open(ctx, filepath.Join(dir, "store"), parquet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	created := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	acc := func(id, cur, zone, seg string, consent data.ChannelSet) data.Account {
		return data.Account{ID: id, Name: "Name " + id, Segment: seg, Country: "US", Currency: cur, TimeZone: zone,
			TermsDays: 30, Consent: consent, CreatedAt: created}
	}
	d := data.NewDate
	inv := func(id, account, cur string, issue, due data.Date, amount int64) data.Invoice {
		return data.Invoice{ID: id, AccountID: account, IssueDate: issue, DueDate: due, Amount: amount, Currency: cur}
	}
	b := &data.Batch{
		Accounts: []data.Account{
			acc("W1", "USD", "America/New_York", "smb", data.AllChannels),
			acc("W2", "EUR", "Europe/Berlin", "enterprise", data.ChannelSet(0).With(data.Email)),
			acc("W3", "USD", "Asia/Tokyo", "smb", data.ChannelSet(0).With(data.SMS)),
			acc("W4", "JPY", "Asia/Tokyo", "smb", data.AllChannels),
			acc("W5", "USD", "America/Chicago", "smb", 0),
			acc("W6", "USD", "America/New_York", "smb", data.AllChannels),
			acc("W7", "USD", "America/Los_Angeles", "smb", data.ChannelSet(0).With(data.Call).With(data.Letter)),
		},
		Invoices: []data.Invoice{
			inv("W1-I1", "W1", "USD", d(2025, 5, 1), d(2025, 5, 31), 100000),
			inv("W2-I1", "W2", "EUR", d(2025, 6, 20), d(2025, 7, 20), 200000),
			inv("W3-I1", "W3", "USD", d(2025, 5, 1), d(2025, 5, 31), 500000),
			inv("W4-I1", "W4", "JPY", d(2025, 5, 1), d(2025, 5, 31), 100000),
			inv("W5-I1", "W5", "USD", d(2025, 5, 1), d(2025, 5, 31), 30000),
			inv("W6-I1", "W6", "USD", d(2025, 5, 1), d(2025, 5, 31), 70000),
			inv("W7-I1", "W7", "USD", d(2025, 5, 1), d(2025, 5, 31), 200000),
		},
		Payments: []data.Payment{{ID: "W6-P1", AccountID: "W6", InvoiceID: "W6-I1", Date: d(2025, 6, 2), Amount: 70000,
			Currency: "USD", Method: data.MethodBankTransfer}},
		Contacts: []data.Contact{{ID: "W3-C1", AccountID: "W3", InvoiceID: "W3-I1", Channel: data.SMS,
			SentAt: time.Date(2025, 6, 20, 3, 0, 0, 0, time.UTC), Outcome: data.OutcomeDelivered}},
	}
	if _, err := data.Ingest(ctx, st, b, data.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	reg, err := model.OpenRegistry(ctx, filepath.Join(dir, "models"), model.RegistryOptions{Clock: func() time.Time { return fixtureNow }})
	if err != nil {
		t.Fatal(err)
	}
	a, err := model.NewArtifact(&constModel{P: 0.5}, model.Meta{SchemaVersion: scoring.SchemaVersion(),
		TrainFrom: "2025-01-01", TrainTo: "2025-06-30", CreatedAt: fixtureNow})
	if err != nil {
		t.Fatal(err)
	}
	v, err := reg.Put(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Activate(ctx, v); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestWorklistHandChecked: the ranking follows EV = R × uplift − cost with
// the default channel economics, the FX table, consent, quiet hours in the
// account's zone (a delayed action discounted by e^{−0.05·Δdays}), and
// leaves out (and counts) unrated and uncontactable accounts.
func TestWorklistHandChecked(t *testing.T) {
	fx := scoring.FX{Reporting: "USD", Rates: map[string]float64{"EUR": 1.10}}
	e := newEnv(t, envOptions{dir: handCase(t), opts: scoring.Options{FX: &fx}})
	// W3: R = 500000 × 0.5 = 250000 cents; SMS is first allowed at 08:00
	// Tokyo = 23:00 UTC, Δ = 9 h = 0.375 days.
	w3 := 250000*0.04*math.Exp(-0.05*0.375) - 10
	if got := fmt.Sprintf("%.2f", math.Round(w3)/100); got != "98.04" {
		t.Fatalf("hand computation: %s", got)
	}
	want := []struct {
		account, value, overdue, channel, reason string
		earliest                                 time.Time
	}{
		{"W3", "98.04", "5000.00", "sms", "follow_up", time.Date(2025, 7, 1, 23, 0, 0, 0, time.UTC)},
		{"W1", "56.00", "1000.00", "call", "first_reminder", fixtureNow},   // 50000 × 0.12 − 400
		{"W2", "54.95", "0.00", "email", "pre_due_high_risk", fixtureNow},  // 220000 × 0.5 × 0.05 − 5
		{"W7", "28.50", "2000.00", "letter", "first_reminder", fixtureNow}, // letters ignore quiet hours: 100000 × 0.03 − 150
	}
	var wl wireWorklist
	e.must(200, "GET", "/v1/worklist?limit=10", api.RoleManager, nil, &wl)
	if wl.Total != len(want) || len(wl.Items) != len(want) {
		t.Fatalf("worklist has %d items (total %d), want %d: %+v", len(wl.Items), wl.Total, len(want), wl.Items)
	}
	for i, w := range want {
		it := wl.Items[i]
		if it.AccountID != w.account || it.ExpectedValue.Amount != w.value || it.ExpectedValue.Currency != "USD" ||
			it.Overdue.Amount != w.overdue || it.NextAction.Channel != w.channel || it.NextAction.Reason != w.reason ||
			!it.NextAction.EarliestAt.Equal(w.earliest) || it.RiskTier != "high" || it.Rank != i+1 {
			t.Errorf("rank %d: got %s %s (overdue %s) %s at %s %q tier %s; want %s %s (overdue %s) %s at %s %q high",
				i+1, it.AccountID, it.ExpectedValue.Amount, it.Overdue.Amount, it.NextAction.Channel, it.NextAction.EarliestAt,
				it.NextAction.Reason, it.RiskTier, w.account, w.value, w.overdue, w.channel, w.earliest, w.reason)
		}
	}
	page, err := e.svc.Worklist(e.ctx, api.WorklistQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	sum, ok := e.svc.WorklistSummary(page.Snapshot)
	if !ok || sum.Ranked != 4 || sum.Unrated != 1 || sum.UnratedOpen["JPY"] != 100000 || sum.Uncontactable != 1 || sum.PartlyUnrated != 0 {
		t.Errorf("summary %+v (ok %v)", sum, ok)
	}

	// Segment filter.
	e.must(200, "GET", "/v1/worklist?segment=smb", api.RoleManager, nil, &wl)
	var got []string
	for _, it := range wl.Items {
		got = append(got, it.AccountID)
	}
	if !slices.Equal(got, []string{"W3", "W1", "W7"}) {
		t.Errorf("segment smb: %v, want [W3 W1 W7]", got)
	}

	// Without the EUR rate, W2 is left out and counted, never mixed in.
	e2 := newEnv(t, envOptions{dir: handCase(t), noServer: true})
	page, err = e2.svc.Worklist(e2.ctx, api.WorklistQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for _, it := range page.Items {
		got = append(got, it.AccountID)
	}
	sum, _ = e2.svc.WorklistSummary(page.Snapshot)
	if !slices.Equal(got, []string{"W3", "W1", "W7"}) || sum.Unrated != 2 || sum.UnratedOpen["EUR"] != 200000 {
		t.Errorf("default FX: ranked %v, summary %+v; want [W3 W1 W7] with W2 and W4 unrated", got, sum)
	}

	// Waiting for a better channel: W7's call at 08:00 Los Angeles (15:00
	// UTC, Δ = 1 h) is worth 100000 × 0.12 × e^{−0.05/24} − 400 = 11575.03
	// cents, more than the letter now.
	e3 := newEnv(t, envOptions{dir: handCase(t), noServer: true, opts: scoring.Options{FX: &fx, WaitForBetterChannel: true}})
	page, err = e3.svc.Worklist(e3.ctx, api.WorklistQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	w7 := 100000*0.12*math.Exp(-0.05/24) - 400
	var found bool
	for _, it := range page.Items {
		if it.AccountID != "W7" {
			continue
		}
		found = true
		if it.NextAction.Channel != data.Call || !it.NextAction.EarliestAt.Equal(time.Date(2025, 7, 1, 15, 0, 0, 0, time.UTC)) ||
			it.ExpectedValue.Minor != int64(math.Round(w7)) || it.ExpectedValue.Minor != 11575 {
			t.Errorf("W7 waiting for a call: %+v, want call at 15:00 UTC worth 11575", it)
		}
	}
	if !found {
		t.Error("W7 missing")
	}

	// Expected loss: 100000 × 0.5 × 0.10 = 5000 cents.
	var av wireAccount
	e.must(200, "GET", "/v1/accounts/W1", api.RoleManager, nil, &av)
	if len(av.ExpectedLoss) != 1 || av.ExpectedLoss[0].Amount != "50.00" || av.Overdue[0].Amount != "1000.00" || av.Name != "Name W1" {
		t.Errorf("account view W1: loss %+v overdue %+v name %q", av.ExpectedLoss, av.Overdue, av.Name)
	}
}

// TestWorklistPaginationStable: pages of one snapshot neither repeat nor
// skip while events change the live ranking; a new first page shows the
// change; an expired cursor is 410.
func TestWorklistPaginationStable(t *testing.T) {
	e := newEnv(t, envOptions{})
	var full wireWorklist
	e.must(200, "GET", "/v1/worklist?limit=1000", api.RoleManager, nil, &full)
	if full.Total < 30 || len(full.Items) != full.Total {
		t.Fatalf("worklist of %d items (total %d)", len(full.Items), full.Total)
	}
	var page wireWorklist
	e.must(200, "GET", "/v1/worklist?limit=10", api.RoleManager, nil, &page) // reuses the snapshot: nothing changed
	// Boost the last account far above everyone.
	last := full.Items[len(full.Items)-1]
	var av wireAccount
	e.must(200, "GET", "/v1/accounts/"+last.AccountID, api.RoleManager, nil, &av)
	if len(av.Open) == 0 {
		t.Fatal("the last account has no open amount")
	}
	cur := av.Open[0].Currency
	boost := data.Invoice{ID: "BOOST-1", AccountID: last.AccountID, IssueDate: data.NewDate(2025, 5, 1),
		DueDate: data.NewDate(2025, 5, 31), Amount: 900_000_000_000, Currency: cur}
	e.must(200, "POST", "/v1/events", api.RoleCollectorSystem, map[string]any{"invoices": []any{boost}}, nil)
	accounts := func(w wireWorklist) []string {
		var out []string
		for _, it := range w.Items {
			out = append(out, it.AccountID)
		}
		return out
	}
	got := accounts(page)
	for page.NextCursor != "" {
		next := page.NextCursor
		page = wireWorklist{}
		e.must(200, "GET", "/v1/worklist?limit=10&cursor="+next, api.RoleManager, nil, &page)
		if len(page.Items) > 0 && page.Items[0].Rank != len(got)+1 {
			t.Fatalf("page starts at rank %d after %d items", page.Items[0].Rank, len(got))
		}
		got = append(got, accounts(page)...)
	}
	if want := accounts(full); !slices.Equal(got, want) {
		t.Fatalf("paged accounts differ from the snapshot:\n got %v\nwant %v", got, want)
	}
	var fresh wireWorklist
	e.must(200, "GET", "/v1/worklist?limit=10", api.RoleManager, nil, &fresh)
	if fresh.Items[0].AccountID != last.AccountID {
		t.Errorf("a new ranking does not show the boosted account first: %v", accounts(fresh))
	}
	e.clock.Add(api.MinSnapshotTTL + time.Minute)
	if status, b := e.do("GET", "/v1/worklist?limit=10&cursor="+fresh.NextCursor, api.RoleManager, nil); status != 410 {
		t.Errorf("expired cursor: %d %s", status, b)
	}
}

// TestWorklistRespectsContactRules: every recommended action is allowed
// by the contact rules at its time on a consented channel, and an action
// is deferred only when no consented channel is allowed now.
func TestWorklistRespectsContactRules(t *testing.T) {
	e := newEnv(t, envOptions{})
	var wl wireWorklist
	e.must(200, "GET", "/v1/worklist?limit=1000", api.RoleManager, nil, &wl)
	rules := contact.DefaultRules()
	deferred := 0
	for _, it := range wl.Items {
		h, err := e.store.History(e.ctx, it.AccountID)
		if err != nil {
			t.Fatal(err)
		}
		ch, err := data.ParseChannel(it.NextAction.Channel)
		if err != nil {
			t.Fatal(err)
		}
		if !h.Account.Consent.Has(ch) {
			t.Errorf("%s: recommends %s without consent (%s)", it.AccountID, ch, h.Account.Consent)
		}
		if d := rules.Check(h.Account, ch, it.NextAction.EarliestAt, h.Contacts); !d.Allowed {
			t.Errorf("%s: %s at %s is not allowed: %s", it.AccountID, ch, it.NextAction.EarliestAt, d.Detail)
		}
		if it.NextAction.EarliestAt.After(wl.AsOf) {
			deferred++
			for _, c := range data.Channels {
				if h.Account.Consent.Has(c) && rules.Check(h.Account, c, wl.AsOf, h.Contacts).Allowed {
					t.Errorf("%s: deferred to %s though %s is allowed now", it.AccountID, it.NextAction.EarliestAt, c)
				}
			}
		}
	}
	t.Logf("%d items, %d deferred by the contact rules", len(wl.Items), deferred)
	if deferred == 0 {
		t.Error("no item was deferred: the fixture should have accounts in quiet hours at 14:00 UTC")
	}
}

// TestWorklistSnapshotCapacity: beyond MaxSnapshots live snapshots a new
// ranking is refused with 503 rather than dropping a snapshot early.
func TestWorklistSnapshotCapacity(t *testing.T) {
	e := newEnv(t, envOptions{opts: scoring.Options{MaxSnapshots: 2, SnapshotReuse: -1}})
	for range 2 {
		e.must(200, "GET", "/v1/worklist?limit=5", api.RoleManager, nil, nil)
	}
	if status, b := e.do("GET", "/v1/worklist?limit=5", api.RoleManager, nil); status != 503 {
		t.Errorf("third snapshot: %d %s", status, b)
	}
	e.clock.Add(api.MinSnapshotTTL + time.Second)
	e.must(200, "GET", "/v1/worklist?limit=5", api.RoleManager, nil, nil)
}
