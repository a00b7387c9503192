package features_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/data/datatest"
	"github.com/duesight/duesight/features"
)

// pickTime returns an instant that is likely to sit exactly on an event:
// an event's instant, a payment's date, one second around an event, or a
// random instant in the history's span.
func pickTime(r *rand.Rand, h *data.History) time.Time {
	ev := h.Events()
	if len(ev) == 0 {
		return genBase.AddDays(r.IntN(300)).Time()
	}
	e := ev[r.IntN(len(ev))].At
	switch r.IntN(6) {
	case 0, 1:
		return e
	case 2:
		if len(h.Payments) > 0 {
			return h.Payments[r.IntN(len(h.Payments))].Date.Time()
		}
		return e
	case 3:
		return e.Add(time.Second)
	case 4:
		return e.Add(-time.Second)
	}
	first, last := ev[0].At, ev[len(ev)-1].At
	return first.Add(time.Duration(r.Int64N(int64(last.Sub(first)) + int64(48*time.Hour))))
}

// pickInvoice returns an invoice to score: one of h's, or a new one issued
// on the first day at or after t.
func pickInvoice(r *rand.Rand, h *data.History, t time.Time) data.Invoice {
	if len(h.Invoices) > 0 && r.IntN(3) > 0 {
		return h.Invoices[r.IntN(len(h.Invoices))]
	}
	d := ceilDay(t)
	return data.Invoice{ID: "new", AccountID: h.Account.ID, IssueDate: d, DueDate: d.AddDays(30), Amount: 123_456,
		Currency: h.Account.Currency, DeliveredBy: data.Letter}
}

// TestNoLeakage is the point-in-time property: for random histories and
// random instants t, no feature as of t changes when an event at or after t
// is added, removed or altered — payments (also moved to exactly t's day),
// invoices, contacts (also at exactly t), disputes and dispute resolution
// dates. It checks both VectorAt and the rows FeaturizeHistory emits with
// as-of ≤ t.
//
// Its strength is checked by building the package with a deliberate leak:
//
//	go test -tags featuresleak_payment -run TestNoLeakage ./features   # must FAIL
//	go test -tags featuresleak_resolution -run TestNoLeakage ./features # must FAIL
func TestNoLeakage(t *testing.T) {
	const histories, times, mutations = 400, 6, 5
	far := time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC)
	opts := features.Options{AsOf: far, Snapshots: []features.Snapshot{features.SnapshotIssue, features.SnapshotDue}}
	sample := datatest.Group(datatest.Sample(datatest.SampleOptions{Seed: 5, Accounts: 60}))
	var sampleIDs []string
	for id, h := range sample {
		if len(h.Invoices) > 0 && h.Invoices[len(h.Invoices)-1].IssueDate < data.NewDate(2030, 1, 1) {
			sampleIDs = append(sampleIDs, id)
		}
	}
	checked, changedLater := 0, 0
	for seed := range uint64(histories) {
		r := rand.New(rand.NewPCG(seed, 1))
		g := &gen{r: r}
		var h *data.History
		if seed%4 == 3 && len(sampleIDs) > 0 {
			h = sample[sampleIDs[int(seed)%len(sampleIDs)]]
		} else {
			h = g.history(fmt.Sprintf("acc%d", seed))
		}
		base, err := features.FeaturizeHistory(h, opts)
		if err != nil {
			t.Fatal(err)
		}
		for range times {
			at := pickTime(r, h)
			inv := pickInvoice(r, h, at)
			want, err := features.VectorAt(h, at, inv, nil)
			if err != nil {
				t.Fatal(err)
			}
			for range mutations {
				g.acc = h.Account.ID
				m, desc := g.mutateFuture(h, at)
				got, err := features.VectorAt(m, at, inv, nil)
				if err != nil {
					t.Fatal(err)
				}
				if d := diffVec(want, got); d != "" {
					t.Fatalf("seed %d: account %s as of %s, invoice %s: %s changed after %s",
						seed, h.Account.ID, at.Format(time.RFC3339), inv.ID, d, desc)
				}
				if d := diffRowsUpTo(base, m, opts, at); d != "" {
					t.Fatalf("seed %d: account %s: FeaturizeHistory rows as of ≤ %s changed after %s: %s",
						seed, h.Account.ID, at.Format(time.RFC3339), desc, d)
				}
				checked++
				later := at.Add(49 * time.Hour)
				lh, _ := features.VectorAt(h, later, inv, nil)
				lm, _ := features.VectorAt(m, later, inv, nil)
				if diffVec(lh, lm) != "" {
					changedLater++
				}
			}
		}
	}
	// The mutations must matter once they are in the past: otherwise this
	// test would pass for a featurizer that ignores everything.
	if changedLater < checked/3 {
		t.Fatalf("only %d of %d mutations change the features as of t + 49 h: the mutations are too weak", changedLater, checked)
	}
	t.Logf("%d mutations checked; %d of them change the vector as of t + 49 h", checked, changedLater)
}

// diffRowsUpTo compares the rows of base (built from the original history)
// and of m's table whose as-of instant is ≤ at: rows as of < at must exist in
// both with identical features; rows as of exactly at may be added or
// removed (their invoice is an event at at) but must agree where both exist.
func diffRowsUpTo(base *features.Table, m *data.History, opts features.Options, at time.Time) string {
	mt, err := features.FeaturizeHistory(m, opts)
	if err != nil {
		return err.Error()
	}
	type key struct {
		inv  string
		snap features.Snapshot
	}
	index := func(tb *features.Table) map[key]int {
		out := map[key]int{}
		for i := range tb.Len() {
			if !tb.AsOf[i].Time().After(at) {
				out[key{tb.InvoiceID[i], tb.Snapshot[i]}] = i
			}
		}
		return out
	}
	a, b := index(base), index(mt)
	for k, i := range a {
		j, ok := b[k]
		if !ok {
			if base.AsOf[i].Time().Before(at) {
				return fmt.Sprintf("row %s/%s as of %s missing", k.inv, k.snap, base.AsOf[i])
			}
			continue
		}
		for f := range base.X {
			if !sameFloat(base.X[f][i], mt.X[f][j]) {
				return fmt.Sprintf("row %s/%s feature %s: %v vs %v", k.inv, k.snap, base.Names[f], base.X[f][i], mt.X[f][j])
			}
		}
	}
	for k, j := range b {
		if _, ok := a[k]; !ok && mt.AsOf[j].Time().Before(at) {
			return fmt.Sprintf("row %s/%s as of %s appeared", k.inv, k.snap, mt.AsOf[j])
		}
	}
	return ""
}

// TestBoundaryEvents pins the point-in-time rule at exactly t for each event
// kind: an event at t is invisible at t and visible one second later.
func TestBoundaryEvents(t *testing.T) {
	d := data.NewDate(2024, 3, 10)
	acc := data.Account{ID: "a", Currency: "EUR", TimeZone: "UTC"}
	inv := data.Invoice{ID: "i1", AccountID: "a", IssueDate: d.AddDays(-20), DueDate: d.AddDays(-5), Amount: 1000, Currency: "EUR"}
	score := data.Invoice{ID: "new", AccountID: "a", IssueDate: d, DueDate: d.AddDays(30), Amount: 500, Currency: "EUR"}
	at := d.Time()
	cases := []struct {
		name    string
		h       *data.History
		feature string
		before  float64 // value as of at
		after   float64 // value as of at + 1 s
	}{
		{"payment", &data.History{Account: acc, Invoices: []data.Invoice{inv},
			Payments: []data.Payment{{ID: "p", AccountID: "a", InvoiceID: "i1", Date: d, Amount: 1000, Currency: "EUR", Method: data.MethodCard}}},
			"hist_paid_n", 0, 1},
		{"invoice", &data.History{Account: acc, Invoices: []data.Invoice{inv, {ID: "i2", AccountID: "a", IssueDate: d,
			DueDate: d, Amount: 7, Currency: "EUR"}}}, "hist_invoices_n", 1, 2},
		{"contact", &data.History{Account: acc, Invoices: []data.Invoice{inv},
			Contacts: []data.Contact{{ID: "c", AccountID: "a", Channel: data.SMS, SentAt: at, Outcome: data.OutcomeReplied}}},
			"contacts_90d_sms", 0, 1},
		{"dispute opened", &data.History{Account: acc, Invoices: []data.Invoice{inv},
			Disputes: []data.Dispute{{ID: "d", AccountID: "a", InvoiceID: "i1", OpenedOn: d}}}, "disputes_open", 0, 1},
		{"dispute resolved", &data.History{Account: acc, Invoices: []data.Invoice{inv},
			Disputes: []data.Dispute{{ID: "d", AccountID: "a", InvoiceID: "i1", OpenedOn: d.AddDays(-3), ResolvedOn: d}}},
			"disputes_open", 1, 0},
		{"promise deadline", &data.History{Account: acc, Invoices: []data.Invoice{inv},
			Contacts: []data.Contact{{ID: "c", AccountID: "a", Channel: data.Call, SentAt: d.AddDays(-2).Time(),
				Outcome: data.OutcomePromise, PromisedDate: d.AddDays(-1)}}}, "promises_broken_n", 1, 1},
		{"promise pending until the day after", &data.History{Account: acc, Invoices: []data.Invoice{inv},
			Contacts: []data.Contact{{ID: "c", AccountID: "a", Channel: data.Call, SentAt: d.AddDays(-2).Time(),
				Outcome: data.OutcomePromise, PromisedDate: d}}}, "promises_pending_n", 1, 1},
	}
	col := map[string]int{}
	for j, n := range features.Names() {
		col[n] = j
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j, ok := col[c.feature]
			if !ok {
				t.Fatalf("no feature %s", c.feature)
			}
			data.SortHistory(c.h)
			v, err := features.VectorAt(c.h, at, score, nil)
			if err != nil {
				t.Fatal(err)
			}
			w, err := features.VectorAt(c.h, at.Add(time.Second), score, nil)
			if err != nil {
				t.Fatal(err)
			}
			if v[j] != c.before || w[j] != c.after {
				t.Fatalf("%s as of t = %v, t+1s = %v; want %v, %v", c.feature, v[j], w[j], c.before, c.after)
			}
		})
	}
}
