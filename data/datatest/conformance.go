package datatest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/duesight/duesight/data"
)

// Harness tells the conformance suite how to get stores.
type Harness struct {
	// Open returns a new, empty store. The suite closes it.
	Open func(t *testing.T) data.Store
	// Reopen closes s and opens the same underlying store again. Nil skips
	// the persistence test (for in-memory stores).
	Reopen func(t *testing.T, s data.Store) data.Store
}

// Run runs the conformance suite: every data.Store implementation must pass it.
func Run(t *testing.T, h Harness) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h Harness)
	}{
		{"Empty", testEmpty},
		{"RoundTrip", testRoundTrip},
		{"ManyWritesOneCommit", testManyWrites},
		{"CommitsAccumulate", testCommitsAccumulate},
		{"Versions", testVersions},
		{"Rollback", testRollback},
		{"UncommittedInvisible", testUncommittedInvisible},
		{"Window", testWindow},
		{"Shards", testShards},
		{"Lookup", testLookup},
		{"Ledger", testLedger},
		{"Ingest", testIngest},
		{"Persistence", testPersistence},
		{"ConcurrentReaders", testConcurrentReaders},
		{"EarlyBreakAndCancel", testEarlyBreak},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

func open(t *testing.T, h Harness) data.Store {
	t.Helper()
	s := h.Open(t)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func mustAppend(t *testing.T, s data.Store, b *data.Batch) {
	t.Helper()
	if err := data.Append(context.Background(), s, b); err != nil {
		t.Fatalf("append: %v", err)
	}
}

// Collect streams every history of q into a map, checking ascending order.
func Collect(t testing.TB, s data.Store, q data.HistoryQuery) (map[string]*data.History, []string) {
	t.Helper()
	out := map[string]*data.History{}
	var order []string
	for h, err := range s.Histories(context.Background(), q) {
		if err != nil {
			t.Fatalf("histories: %v", err)
		}
		if n := len(order); n > 0 && order[n-1] >= h.Account.ID {
			t.Fatalf("histories out of order: %q after %q", h.Account.ID, order[n-1])
		}
		order = append(order, h.Account.ID)
		out[h.Account.ID] = h
	}
	return out, order
}

// DiffHistories returns a description of the first difference, or "".
func DiffHistories(want, got map[string]*data.History) string {
	for _, id := range slices.Sorted(maps.Keys(want)) {
		g, ok := got[id]
		if !ok {
			return fmt.Sprintf("account %q missing", id)
		}
		if d := diffHistory(want[id], g); d != "" {
			return fmt.Sprintf("account %q: %s", id, d)
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			return fmt.Sprintf("unexpected account %q", id)
		}
	}
	return ""
}

func diffHistory(w, g *data.History) string {
	if !w.Account.Equal(g.Account) {
		return fmt.Sprintf("account\nwant %+v\ngot  %+v", w.Account, g.Account)
	}
	if d := diffSlice("invoices", w.Invoices, g.Invoices, func(a, b data.Invoice) bool { return a == b }); d != "" {
		return d
	}
	if d := diffSlice("payments", w.Payments, g.Payments, func(a, b data.Payment) bool { return a == b }); d != "" {
		return d
	}
	if d := diffSlice("contacts", w.Contacts, g.Contacts, data.Contact.Equal); d != "" {
		return d
	}
	return diffSlice("disputes", w.Disputes, g.Disputes, func(a, b data.Dispute) bool { return a == b })
}

func diffSlice[T any](name string, w, g []T, eq func(a, b T) bool) string {
	for i := 0; i < max(len(w), len(g)); i++ {
		switch {
		case i >= len(g):
			return fmt.Sprintf("%s: missing #%d %+v", name, i, w[i])
		case i >= len(w):
			return fmt.Sprintf("%s: extra #%d %+v", name, i, g[i])
		case !eq(w[i], g[i]):
			return fmt.Sprintf("%s #%d:\nwant %+v\ngot  %+v", name, i, w[i], g[i])
		}
	}
	return ""
}

func countsOf(m map[string]*data.History) data.Counts {
	var c data.Counts
	for _, h := range m {
		c = c.Add(h.Batch().Counts())
	}
	return c
}

func testEmpty(t *testing.T, h Harness) {
	s := open(t, h)
	ctx := context.Background()
	v, err := s.SchemaVersion(ctx)
	if err != nil || v != data.SchemaVersion {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, data.SchemaVersion)
	}
	if c, err := s.Count(ctx); err != nil || c.Total() != 0 {
		t.Fatalf("Count = %+v, %v; want zeros", c, err)
	}
	if got, _ := Collect(t, s, data.HistoryQuery{}); len(got) != 0 {
		t.Fatalf("Histories of an empty store returned %d", len(got))
	}
	for a, err := range s.Accounts(ctx, data.Shard{}) {
		t.Fatalf("Accounts of an empty store returned %v, %v", a, err)
	}
	if _, err := s.History(ctx, "nope"); data.ErrorCode(err) != data.NotFound {
		t.Fatalf("History(missing) error = %v (code %q); want NotFound", err, data.ErrorCode(err))
	}
	b, err := s.Lookup(ctx, data.Keys{Accounts: []string{"x"}, Invoices: []string{"y"}, PaymentsOfInvoices: []string{"y"}})
	if err != nil || b.Len() != 0 {
		t.Fatalf("Lookup on empty store = %d rows, %v", b.Len(), err)
	}
	if as, err := s.Actions(ctx, data.ActionQuery{}); err != nil || len(as) != 0 {
		t.Fatalf("Actions on empty store = %v, %v", as, err)
	}
}

func testRoundTrip(t *testing.T, h Harness) {
	s := open(t, h)
	ctx := context.Background()
	b := Sample(SampleOptions{Seed: 1, Accounts: 120})
	mustAppend(t, s, b)
	want := Group(b)
	got, _ := Collect(t, s, data.HistoryQuery{})
	if d := DiffHistories(want, got); d != "" {
		t.Fatal(d)
	}
	c, err := s.Count(ctx)
	if err != nil || c != b.Counts() {
		t.Fatalf("Count = %+v, %v; want %+v", c, err, b.Counts())
	}
	var ids []string
	for a, err := range s.Accounts(ctx, data.Shard{}) {
		if err != nil {
			t.Fatal(err)
		}
		if !a.Equal(want[a.ID].Account) {
			t.Fatalf("Accounts: %+v; want %+v", a, want[a.ID].Account)
		}
		ids = append(ids, a.ID)
	}
	if !slices.IsSorted(ids) || len(ids) != len(want) {
		t.Fatalf("Accounts returned %d ids (sorted=%v); want %d sorted", len(ids), slices.IsSorted(ids), len(want))
	}
	for _, id := range []string{"a1", "a2", "a10", "a5", "a9"} {
		g, err := s.History(ctx, id)
		if err != nil {
			t.Fatalf("History(%q): %v", id, err)
		}
		if d := diffHistory(want[id], g); d != "" {
			t.Fatalf("History(%q): %s", id, d)
		}
	}
}

func testManyWrites(t *testing.T, h Harness) {
	s := open(t, h)
	ctx := context.Background()
	b := Sample(SampleOptions{Seed: 2, Accounts: 60})
	w, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Write in reverse account order, one kind at a time, in small chunks.
	parts := []*data.Batch{{Disputes: b.Disputes}, {Contacts: b.Contacts}}
	for i := len(b.Payments); i > 0; i -= 17 {
		parts = append(parts, &data.Batch{Payments: b.Payments[max(0, i-17):i]})
	}
	for i := len(b.Invoices); i > 0; i -= 13 {
		parts = append(parts, &data.Batch{Invoices: b.Invoices[max(0, i-13):i]})
	}
	parts = append(parts, &data.Batch{Accounts: b.Accounts})
	for _, p := range parts {
		if err := w.Write(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	got, _ := Collect(t, s, data.HistoryQuery{})
	if d := DiffHistories(Group(b), got); d != "" {
		t.Fatal(d)
	}
	if err := w.Write(ctx, b); err == nil {
		t.Fatal("Write after Commit succeeded")
	}
}

func testCommitsAccumulate(t *testing.T, h Harness) {
	s := open(t, h)
	b := Sample(SampleOptions{Seed: 3, Accounts: 40})
	// First commit: accounts and half the invoices; second: the rest.
	half := len(b.Invoices) / 2
	first := &data.Batch{Accounts: b.Accounts, Invoices: b.Invoices[:half]}
	second := &data.Batch{Invoices: b.Invoices[half:], Payments: b.Payments, Contacts: b.Contacts, Disputes: b.Disputes}
	mustAppend(t, s, first)
	got, _ := Collect(t, s, data.HistoryQuery{})
	if d := DiffHistories(Group(first), got); d != "" {
		t.Fatalf("after first commit: %s", d)
	}
	mustAppend(t, s, second)
	got, _ = Collect(t, s, data.HistoryQuery{})
	if d := DiffHistories(Group(b), got); d != "" {
		t.Fatalf("after second commit: %s", d)
	}
	// A third commit with another sample in between ids.
	other := Sample(SampleOptions{Seed: 4, Accounts: 10, Prefix: "m"})
	mustAppend(t, s, other)
	got, _ = Collect(t, s, data.HistoryQuery{})
	if d := DiffHistories(Group(b, other), got); d != "" {
		t.Fatalf("after third commit: %s", d)
	}
}

func testVersions(t *testing.T, h Harness) {
	s := open(t, h)
	ctx := context.Background()
	b := Sample(SampleOptions{Seed: 5, Accounts: 30})
	mustAppend(t, s, b)
	if len(b.Contacts) == 0 || len(b.Disputes) == 0 {
		t.Fatal("sample has no contacts or disputes")
	}
	acc := b.Accounts[4]
	acc.Consent = 0
	acc.CreditLimit = 123
	acc.Name = "renamed"
	con := b.Contacts[0]
	con.Outcome = data.OutcomeReplied
	con.PromisedDate, con.PromisedAmount = 0, 0
	dis := b.Disputes[0]
	dis.ResolvedOn = dis.OpenedOn.AddDays(3)
	dis.Reason = "settled"
	upd := &data.Batch{Accounts: []data.Account{acc}, Contacts: []data.Contact{con}, Disputes: []data.Dispute{dis}}
	mustAppend(t, s, upd)
	got, _ := Collect(t, s, data.HistoryQuery{})
	if d := DiffHistories(Group(b, upd), got); d != "" {
		t.Fatal(d)
	}
	if c, _ := s.Count(ctx); c != b.Counts() {
		t.Fatalf("Count after new versions = %+v; want %+v (versions must not count twice)", c, b.Counts())
	}
	lk, err := s.Lookup(ctx, data.Keys{Accounts: []string{acc.ID}, Contacts: []string{con.ID}, Disputes: []string{dis.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if len(lk.Accounts) != 1 || !lk.Accounts[0].Equal(acc) || len(lk.Contacts) != 1 || !lk.Contacts[0].Equal(con) ||
		len(lk.Disputes) != 1 || lk.Disputes[0] != dis {
		t.Fatalf("Lookup after new versions = %+v", lk)
	}
	// The newest version wins even after a later unrelated commit.
	mustAppend(t, s, Sample(SampleOptions{Seed: 6, Accounts: 3, Prefix: "z"}))
	one, err := s.History(ctx, acc.ID)
	if err != nil || !one.Account.Equal(acc) {
		t.Fatalf("History(%q).Account = %+v, %v; want %+v", acc.ID, one.Account, err, acc)
	}
}

func testRollback(t *testing.T, h Harness) {
	s := open(t, h)
	ctx := context.Background()
	w, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, Sample(SampleOptions{Seed: 7, Accounts: 20})); err != nil {
		t.Fatal(err)
	}
	if err := w.Rollback(); err != nil {
		t.Fatal(err)
	}
	if c, err := s.Count(ctx); err != nil || c.Total() != 0 {
		t.Fatalf("Count after rollback = %+v, %v", c, err)
	}
	if got, _ := Collect(t, s, data.HistoryQuery{}); len(got) != 0 {
		t.Fatalf("%d histories visible after rollback", len(got))
	}
	// The store accepts a new writer afterwards.
	b := Sample(SampleOptions{Seed: 8, Accounts: 5})
	mustAppend(t, s, b)
	got, _ := Collect(t, s, data.HistoryQuery{})
	if d := DiffHistories(Group(b), got); d != "" {
		t.Fatal(d)
	}
	if err := w.Rollback(); err != nil {
		t.Fatalf("second Rollback: %v", err)
	}
}

func testUncommittedInvisible(t *testing.T, h Harness) {
	s := open(t, h)
	ctx := context.Background()
	first := Sample(SampleOptions{Seed: 9, Accounts: 10})
	mustAppend(t, s, first)
	w, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Rollback()
	second := Sample(SampleOptions{Seed: 10, Accounts: 10, Prefix: "n"})
	if err := w.Write(ctx, second); err != nil {
		t.Fatal(err)
	}
	got, _ := Collect(t, s, data.HistoryQuery{})
	if d := DiffHistories(Group(first), got); d != "" {
		t.Fatalf("before commit: %s", d)
	}
	if lk, _ := s.Lookup(ctx, data.Keys{Accounts: []string{"na1"}}); len(lk.Accounts) != 0 {
		t.Fatal("Lookup sees an uncommitted account")
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	got, _ = Collect(t, s, data.HistoryQuery{})
	if d := DiffHistories(Group(first, second), got); d != "" {
		t.Fatalf("after commit: %s", d)
	}
}

func testWindow(t *testing.T, h Harness) {
	s := open(t, h)
	b := Sample(SampleOptions{Seed: 11, Accounts: 60})
	mustAppend(t, s, b)
	all := Group(b)
	for _, w := range []data.Window{
		{From: data.NewDate(2022, 6, 1).Time()},
		{To: data.NewDate(2022, 6, 1).Time()},
		{From: data.NewDate(2022, 9, 1).Time(), To: data.NewDate(2023, 3, 1).Time().Add(36 * time.Hour)},
		{From: data.NewDate(2030, 1, 1).Time(), To: data.NewDate(2030, 1, 2).Time()},
	} {
		want := map[string]*data.History{}
		for id, hh := range all {
			want[id] = hh.Filter(w)
		}
		got, _ := Collect(t, s, data.HistoryQuery{Window: w})
		if d := DiffHistories(want, got); d != "" {
			t.Fatalf("window %v..%v: %s", w.From, w.To, d)
		}
	}
}

func testShards(t *testing.T, h Harness) {
	s := open(t, h)
	b := Sample(SampleOptions{Seed: 12, Accounts: 80})
	mustAppend(t, s, b)
	all := Group(b)
	for _, n := range []int{1, 3, 7} {
		seen := map[string]int{}
		for k := 0; k < n; k++ {
			sh := data.Shard{Index: k, Of: n}
			want := map[string]*data.History{}
			for id, hh := range all {
				if sh.Contains(id) {
					want[id] = hh
				}
			}
			got, _ := Collect(t, s, data.HistoryQuery{Shard: sh})
			if d := DiffHistories(want, got); d != "" {
				t.Fatalf("shard %d of %d: %s", k, n, d)
			}
			for id := range got {
				seen[id]++
			}
			var accs int
			for a, err := range s.Accounts(context.Background(), sh) {
				if err != nil || !sh.Contains(a.ID) {
					t.Fatalf("Accounts(shard %d/%d) returned %q, %v", k, n, a.ID, err)
				}
				accs++
			}
			if accs != len(want) {
				t.Fatalf("Accounts(shard %d/%d) returned %d; want %d", k, n, accs, len(want))
			}
		}
		if len(seen) != len(all) {
			t.Fatalf("%d shards cover %d of %d accounts", n, len(seen), len(all))
		}
	}
	for q, err := range s.Histories(context.Background(), data.HistoryQuery{Shard: data.Shard{Index: 3, Of: 2}}) {
		if err == nil {
			t.Fatalf("invalid shard streamed %v without error", q.Account.ID)
		}
		if data.ErrorCode(err) != data.Invalid {
			t.Fatalf("invalid shard error code %q; want invalid", data.ErrorCode(err))
		}
		break
	}
}

func testLookup(t *testing.T, h Harness) {
	s := open(t, h)
	ctx := context.Background()
	b := Sample(SampleOptions{Seed: 13, Accounts: 40})
	mustAppend(t, s, b)
	var paidInv string
	for _, p := range b.Payments {
		if p.InvoiceID != "" {
			paidInv = p.InvoiceID
		}
	}
	keys := data.Keys{
		Accounts:           []string{b.Accounts[3].ID, "missing"},
		Invoices:           []string{b.Invoices[0].ID, b.Invoices[len(b.Invoices)-1].ID, "missing"},
		Payments:           []string{b.Payments[1].ID},
		Contacts:           []string{b.Contacts[0].ID},
		Disputes:           []string{b.Disputes[0].ID},
		PaymentsOfInvoices: []string{paidInv, "missing"},
	}
	got, err := s.Lookup(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	var wantPays []data.Payment
	for _, p := range b.Payments {
		if p.ID == b.Payments[1].ID || p.InvoiceID == paidInv {
			wantPays = append(wantPays, p)
		}
	}
	byID := func(a, b data.Payment) int { return cmpStr(a.ID, b.ID) }
	slices.SortFunc(wantPays, byID)
	slices.SortFunc(got.Payments, byID)
	if len(got.Accounts) != 1 || !got.Accounts[0].Equal(b.Accounts[3]) {
		t.Fatalf("Lookup accounts = %+v", got.Accounts)
	}
	if len(got.Invoices) != 2 || len(got.Contacts) != 1 || !got.Contacts[0].Equal(b.Contacts[0]) ||
		len(got.Disputes) != 1 || got.Disputes[0] != b.Disputes[0] {
		t.Fatalf("Lookup = %d invoices, %d contacts, %d disputes", len(got.Invoices), len(got.Contacts), len(got.Disputes))
	}
	if !slices.Equal(wantPays, got.Payments) {
		t.Fatalf("Lookup payments = %+v\nwant %+v", got.Payments, wantPays)
	}
	// Many keys at once (stores may chunk them).
	var many data.Keys
	for _, inv := range b.Invoices {
		many.Invoices = append(many.Invoices, inv.ID)
	}
	for i := 0; i < 30000; i++ {
		many.Invoices = append(many.Invoices, fmt.Sprintf("missing-%d", i))
	}
	got, err = s.Lookup(ctx, many)
	if err != nil || len(got.Invoices) != len(b.Invoices) {
		t.Fatalf("Lookup of %d keys returned %d invoices, %v; want %d", len(many.Invoices), len(got.Invoices), err, len(b.Invoices))
	}
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func testLedger(t *testing.T, h Harness) {
	s := open(t, h)
	ctx := context.Background()
	t0 := time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)
	act := func(id string, v uint64, st data.ActionStatus, due time.Time) data.Action {
		return data.Action{ID: id, AccountID: "acc-" + id, InvoiceID: "inv-" + id, Policy: "standard", Step: "d+3",
			Channel: data.Email, DueAt: due, Status: st, Attempt: int(v) - 1, Version: v,
			UpdatedAt: t0.Add(time.Duration(v) * time.Minute), Detail: "step " + fmt.Sprint(v)}
	}
	recs := []data.Action{
		act("x", 1, data.ActionPlanned, t0), act("y", 1, data.ActionPlanned, t0.Add(time.Hour)),
		act("z", 1, data.ActionPlanned, t0.Add(-time.Hour)),
	}
	if err := s.AppendActions(ctx, recs); err != nil {
		t.Fatal(err)
	}
	// Versions may arrive out of order; the highest wins.
	if err := s.AppendActions(ctx, []data.Action{act("x", 3, data.ActionSent, t0), act("x", 2, data.ActionSending, t0)}); err != nil {
		t.Fatal(err)
	}
	// An identical repeat is idempotent; a different one at the same version conflicts.
	if err := s.AppendActions(ctx, []data.Action{act("x", 3, data.ActionSent, t0)}); err != nil {
		t.Fatalf("identical repeat: %v", err)
	}
	bad := act("y", 1, data.ActionFailed, t0)
	if err := s.AppendActions(ctx, []data.Action{bad}); data.ErrorCode(err) != data.Conflict {
		t.Fatalf("conflicting repeat: err = %v (code %q); want Conflict", err, data.ErrorCode(err))
	}
	if err := s.AppendActions(ctx, []data.Action{{ID: "no-version"}}); data.ErrorCode(err) != data.Invalid {
		t.Fatalf("invalid record: err = %v; want Invalid", err)
	}
	all, err := s.Actions(ctx, data.ActionQuery{})
	if err != nil {
		t.Fatal(err)
	}
	want := []data.Action{act("z", 1, data.ActionPlanned, t0.Add(-time.Hour)), act("x", 3, data.ActionSent, t0),
		act("y", 1, data.ActionPlanned, t0.Add(time.Hour))}
	if !slices.EqualFunc(all, want, data.Action.Equal) {
		t.Fatalf("Actions = %+v\nwant %+v", all, want)
	}
	planned, _ := s.Actions(ctx, data.ActionQuery{Status: data.ActionPlanned, DueBefore: t0})
	if len(planned) != 1 || planned[0].ID != "z" {
		t.Fatalf("Actions(planned, due before t0) = %+v; want only z", planned)
	}
	byAcc, _ := s.Actions(ctx, data.ActionQuery{AccountID: "acc-y"})
	if len(byAcc) != 1 || byAcc[0].ID != "y" {
		t.Fatalf("Actions(account acc-y) = %+v", byAcc)
	}
}

func testIngest(t *testing.T, h Harness) {
	s := open(t, h)
	ctx := context.Background()
	b := Sample(SampleOptions{Seed: 14, Accounts: 30})
	rep, err := data.Ingest(ctx, s, b, data.IngestOptions{})
	if err != nil {
		t.Fatalf("ingest: %v", err)
	}
	if rep.Added != b.Counts() {
		t.Fatalf("Added = %+v; want %+v", rep.Added, b.Counts())
	}
	again := Sample(SampleOptions{Seed: 14, Accounts: 30})
	rep, err = data.Ingest(ctx, s, again, data.IngestOptions{})
	if err != nil || rep.Added.Total() != 0 || rep.Unchanged != b.Counts() {
		t.Fatalf("re-ingest: added %+v unchanged %+v err %v; want nothing added", rep.Added, rep.Unchanged, err)
	}
	changed := &data.Batch{Invoices: []data.Invoice{b.Invoices[0]}}
	changed.Invoices[0].Amount++
	_, err = data.Ingest(ctx, s, changed, data.IngestOptions{})
	var ve *data.ValidationError
	if !errors.As(err, &ve) || ve.Issues[0].Field != "amount" {
		t.Fatalf("changed invoice: err = %v; want a ValidationError on amount", err)
	}
	got, _ := Collect(t, s, data.HistoryQuery{})
	if d := DiffHistories(Group(b), got); d != "" {
		t.Fatalf("store changed by rejected ingest: %s", d)
	}
}

func testPersistence(t *testing.T, h Harness) {
	if h.Reopen == nil {
		t.Skip("store is not persistent")
	}
	s := h.Open(t)
	b := Sample(SampleOptions{Seed: 15, Accounts: 50})
	mustAppend(t, s, b)
	ctx := context.Background()
	if err := s.AppendActions(ctx, []data.Action{{ID: "p", AccountID: "a1", Channel: data.SMS, DueAt: time.Unix(1e9, 0).UTC(),
		Status: data.ActionPlanned, Version: 1, UpdatedAt: time.Unix(1e9, 0).UTC()}}); err != nil {
		t.Fatal(err)
	}
	s = h.Reopen(t, s)
	t.Cleanup(func() { _ = s.Close() })
	got, _ := Collect(t, s, data.HistoryQuery{})
	if d := DiffHistories(Group(b), got); d != "" {
		t.Fatalf("after reopen: %s", d)
	}
	if as, err := s.Actions(ctx, data.ActionQuery{}); err != nil || len(as) != 1 {
		t.Fatalf("actions after reopen = %v, %v", as, err)
	}
}

func testConcurrentReaders(t *testing.T, h Harness) {
	s := open(t, h)
	const commits = 5
	var batches []*data.Batch
	valid := map[data.Counts]bool{{}: true}
	var total data.Counts
	for i := 0; i < commits; i++ {
		b := Sample(SampleOptions{Seed: uint64(100 + i), Accounts: 15, Prefix: fmt.Sprintf("c%d-", i)})
		batches = append(batches, b)
		total = total.Add(b.Counts())
		valid[total] = true
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for r := 0; r < 3; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				var c data.Counts
				for hh, err := range s.Histories(context.Background(), data.HistoryQuery{}) {
					if err != nil {
						errs <- err
						return
					}
					c = c.Add(hh.Batch().Counts())
				}
				if !valid[c] {
					errs <- fmt.Errorf("a reader saw a partial commit: %+v", c)
					return
				}
			}
		}()
	}
	for _, b := range batches {
		mustAppend(t, s, b)
	}
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got, _ := Collect(t, s, data.HistoryQuery{})
	if d := DiffHistories(Group(batches...), got); d != "" {
		t.Fatal(d)
	}
}

func testEarlyBreak(t *testing.T, h Harness) {
	s := open(t, h)
	mustAppend(t, s, Sample(SampleOptions{Seed: 16, Accounts: 40}))
	n := 0
	for _, err := range s.Histories(context.Background(), data.HistoryQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 3 {
			break
		}
	}
	// A broken-off stream must not block writers.
	done := make(chan error, 1)
	go func() {
		done <- data.Append(context.Background(), s, Sample(SampleOptions{Seed: 17, Accounts: 2, Prefix: "q"}))
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("write blocked after a reader broke off a stream")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var sawErr bool
	for _, err := range s.Histories(ctx, data.HistoryQuery{}) {
		if err != nil {
			sawErr = true
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled stream error = %v; want context.Canceled", err)
			}
			break
		}
	}
	if !sawErr {
		t.Fatal("a cancelled stream yielded no error")
	}
}
