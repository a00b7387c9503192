package features_test

import (
	"context"
	"errors"
	"iter"
	"testing"
	"time"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/features"
)

// TestTrainingServingEquality replays each account's events one by one
// through the serving Featurizer (typed Apply* calls, as the API does) and
// checks that Vector at every row's as-of instant equals, bit for bit, the
// row Build emitted.
func TestTrainingServingEquality(t *testing.T) {
	ctx := context.Background()
	store, _ := testStore(t, 11, 60, 150)
	tb, err := features.Build(ctx, store, features.Options{Workers: 3,
		Snapshots: []features.Snapshot{features.SnapshotIssue, features.SnapshotDue}})
	if err != nil {
		t.Fatal(err)
	}
	if tb.Stats.DueRows == 0 || tb.Stats.IssueRows == 0 {
		t.Fatalf("want rows of both snapshots, got %+v", tb.Stats)
	}
	rowsOf := map[string][]int{}
	for i := range tb.Len() {
		rowsOf[tb.AccountID[i]] = append(rowsOf[tb.AccountID[i]], i) // ordered by as-of within an account
	}
	f := features.NewFeaturizer(nil)
	compared := 0
	for h, err := range store.Histories(ctx, data.HistoryQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
		f.SetAccount(h.Account)
		invByID := map[string]data.Invoice{}
		for _, inv := range h.Invoices {
			invByID[inv.ID] = inv
		}
		rows := rowsOf[h.Account.ID]
		next := 0
		emit := func(upTo time.Time, all bool) {
			for ; next < len(rows); next++ {
				i := rows[next]
				at := tb.AsOf[i].Time()
				if !all && at.After(upTo) {
					return
				}
				got, err := f.Vector(h.Account.ID, at, invByID[tb.InvoiceID[i]], nil)
				if err != nil {
					t.Fatal(err)
				}
				want := make([]float64, len(tb.X))
				for j := range tb.X {
					want[j] = tb.X[j][i]
				}
				if d := diffVec(want, got); d != "" {
					t.Fatalf("account %s invoice %s snapshot %s as of %s: training vs serving %s",
						h.Account.ID, tb.InvoiceID[i], tb.Snapshot[i], tb.AsOf[i], d)
				}
				compared++
			}
		}
		for _, ev := range h.Events() {
			emit(ev.At, false) // rows as of ≤ the event's instant do not see it
			err := f.Apply(h, ev)
			if err != nil {
				t.Fatal(err)
			}
		}
		emit(time.Time{}, true)
	}
	if compared != tb.Len() {
		t.Fatalf("compared %d rows of %d", compared, tb.Len())
	}
	if f.Len() != tb.Stats.Accounts {
		t.Fatalf("featurizer holds %d accounts, build read %d", f.Len(), tb.Stats.Accounts)
	}
}

// TestDeterminism: the same store gives the same table whatever the number
// of workers.
func TestDeterminism(t *testing.T) {
	ctx := context.Background()
	store, _ := testStore(t, 3, 80, 120)
	opts := features.Options{Snapshots: []features.Snapshot{features.SnapshotDue, features.SnapshotIssue}, Grace: 3,
		AsOf: time.Date(2023, 9, 1, 12, 0, 0, 0, time.UTC)}
	var first *features.Table
	for _, w := range []int{1, 2, 3, 7} {
		opts.Workers = w
		tb, err := features.Build(ctx, store, opts)
		if err != nil {
			t.Fatal(err)
		}
		if tb.Len() == 0 {
			t.Fatal("empty table")
		}
		if first == nil {
			first = tb
			continue
		}
		if d := diffTables(first, tb); d != "" {
			t.Fatalf("workers=%d differs from workers=1: %s", w, d)
		}
		if first.Stats != tb.Stats {
			t.Fatalf("workers=%d stats %+v, workers=1 %+v", w, tb.Stats, first.Stats)
		}
	}
}

// TestBuildMatchesFeaturizeHistory: Build is FeaturizeHistory per account,
// and its labels are Labels at the horizon.
func TestBuildMatchesFeaturizeHistory(t *testing.T) {
	ctx := context.Background()
	store, _ := testStore(t, 8, 30, 60)
	asOf := time.Date(2023, 8, 15, 0, 0, 0, 0, time.UTC)
	opts := features.Options{AsOf: asOf, Grace: 2, Snapshots: []features.Snapshot{features.SnapshotIssue, features.SnapshotDue}}
	tb, err := features.Build(ctx, store, opts)
	if err != nil {
		t.Fatal(err)
	}
	row := 0
	for h, err := range store.Histories(ctx, data.HistoryQuery{Window: data.Window{To: asOf}}) {
		if err != nil {
			t.Fatal(err)
		}
		one, err := features.FeaturizeHistory(h, opts)
		if err != nil {
			t.Fatal(err)
		}
		if row+one.Len() > tb.Len() {
			t.Fatalf("build has fewer rows than the per-history tables")
		}
		idx := make([]int, one.Len())
		for k := range idx {
			idx[k] = row + k
		}
		if d := diffTables(one, tb.Select(idx)); d != "" {
			t.Fatalf("account %s: %s", h.Account.ID, d)
		}
		labels := features.Labels(h, asOf, 2)
		pos := map[string]int{}
		for k, inv := range h.Invoices {
			pos[inv.ID] = k
		}
		for k := range one.Len() {
			l := labels[pos[one.InvoiceID[k]]]
			if one.Status[k] != l.Status || !sameFloat(one.Late[k], l.Late) || !sameFloat(one.DaysLate[k], l.DaysLate) ||
				one.Settled[k] != l.Settled || one.WrittenOff[k] != l.WrittenOff || one.Bucket[k] != l.Bucket {
				t.Fatalf("row label %v differs from Labels %+v", one.Status[k], l)
			}
		}
		row += one.Len()
	}
	if row != tb.Len() {
		t.Fatalf("per-history rows %d, build rows %d", row, tb.Len())
	}
	if tb.Stats.Paid+tb.Stats.UnpaidLate+tb.Stats.UnpaidPending != tb.Len() {
		t.Fatalf("label counts %+v do not add up to %d rows", tb.Stats, tb.Len())
	}
	if tb.Stats.UnpaidPending == 0 || tb.Stats.UnpaidLate == 0 || tb.Stats.WrittenOff == 0 {
		t.Fatalf("want censored rows of both kinds and written-off rows, got %+v", tb.Stats)
	}
	if got := len(tb.Labeled()); got != tb.Len()-tb.Stats.UnpaidPending {
		t.Fatalf("Labeled() = %d rows, want %d", got, tb.Len()-tb.Stats.UnpaidPending)
	}
	for i := range tb.Len() {
		if !tb.AsOf[i].Time().Before(asOf) {
			t.Fatalf("row %d as of %s is not before the horizon", i, tb.AsOf[i])
		}
	}
}

// errStore fails while streaming one shard.
type errStore struct {
	data.Store
	failShard int
}

func (s errStore) Histories(ctx context.Context, q data.HistoryQuery) iter.Seq2[*data.History, error] {
	inner := s.Store.Histories(ctx, q)
	return func(yield func(*data.History, error) bool) {
		if q.Shard.Index == s.failShard {
			yield(nil, data.Errorf(data.Unavailable, "disk on fire"))
			return
		}
		inner(yield)
	}
}

func TestBuildErrors(t *testing.T) {
	ctx := context.Background()
	store, _ := testStore(t, 1, 10, 10)
	_, err := features.Build(ctx, errStore{Store: store, failShard: 1}, features.Options{Workers: 3})
	if err == nil || data.ErrorCode(err) != data.Unavailable {
		t.Fatalf("want the shard's Unavailable error, got %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := features.Build(cctx, store, features.Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: got %v", err)
	}
	for _, o := range []features.Options{{Grace: -1}, {Snapshots: []features.Snapshot{9}},
		{Snapshots: []features.Snapshot{features.SnapshotDue, features.SnapshotDue}}} {
		if _, err := features.Build(ctx, store, o); err == nil {
			t.Errorf("options %+v: want an error", o)
		}
	}
}
