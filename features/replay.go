package features

import (
	"cmp"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"time"

	"github.com/duesight/duesight/data"
)

// Options control Build and FeaturizeHistory.
type Options struct {
	// AsOf is the label horizon and the data cut: only events before it are
	// read, labels use payments dated before it, and no row has a snapshot
	// at or after it. Zero means the data end: midnight UTC after the
	// latest event date in the store (the history, for FeaturizeHistory).
	AsOf time.Time
	// From, if set, drops rows of invoices issued before it (their events
	// still feed the features of later invoices).
	From time.Time
	// Snapshots lists the snapshots to emit per invoice; nil means
	// {SnapshotIssue}.
	Snapshots []Snapshot
	// Grace is the number of days after the due date a payment still counts
	// as on time for the late label (default 0). Features do not use it.
	Grace int
	// Workers is the number of parallel account shards Build reads; ≤ 0
	// means runtime.GOMAXPROCS(0). The result does not depend on it.
	Workers int
	// Logger receives progress and counts (never names or amounts); nil
	// discards.
	Logger *slog.Logger
}

func (o *Options) normalize() error {
	if o.Grace < 0 || o.Grace > 3650 {
		return fmt.Errorf("features: grace %d days is outside 0..3650", o.Grace)
	}
	if len(o.Snapshots) == 0 {
		o.Snapshots = []Snapshot{SnapshotIssue}
	}
	seen := map[Snapshot]bool{}
	for _, s := range o.Snapshots {
		if s != SnapshotIssue && s != SnapshotDue {
			return fmt.Errorf("features: unknown snapshot %d (want issue or due)", s)
		}
		if seen[s] {
			return fmt.Errorf("features: snapshot %s listed twice", s)
		}
		seen[s] = true
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// replayer feeds a history's events to a State up to a moving as-of instant.
type replayer struct {
	h   *data.History
	ev  []data.Event
	pos int
	st  *State
}

func newReplayer(h *data.History) *replayer {
	return &replayer{h: h, ev: h.Events(), st: NewState(h.Account)}
}

// advance applies every not yet applied event that happened strictly before
// asOf. This is the point-in-time rule; Build, VectorAt and Featurizer.Load
// all go through it.
func (r *replayer) advance(asOf time.Time) error {
	for r.pos < len(r.ev) && known(r.ev[r.pos], asOf) {
		if err := r.st.Apply(r.h, r.ev[r.pos]); err != nil {
			return fmt.Errorf("account %q: %w", r.h.Account.ID, err)
		}
		r.pos++
	}
	return nil
}

// VectorAt returns the features of invoice inv as of asOf computed from
// history h: a fresh State fed every event of h that happened strictly
// before asOf. It equals what Build emits for a snapshot at asOf.
func VectorAt(h *data.History, asOf time.Time, inv data.Invoice, dst []float64) ([]float64, error) {
	r := newReplayer(h)
	if err := r.advance(asOf); err != nil {
		return nil, err
	}
	return r.st.Vector(asOf, inv, dst), nil
}

// Replay returns the state of h's account after every event that happened
// strictly before until (zero = all events).
func Replay(h *data.History, until time.Time) (*State, error) {
	r := newReplayer(h)
	if until.IsZero() {
		until = data.MaxTime.Add(time.Second)
	}
	if err := r.advance(until); err != nil {
		return nil, err
	}
	return r.st, nil
}

// dataEnd returns the latest date of any event of h (0 if none).
func dataEnd(h *data.History) data.Date {
	var end data.Date
	for _, r := range h.Invoices {
		end = max(end, r.IssueDate)
	}
	for _, r := range h.Payments {
		end = max(end, r.Date)
	}
	for _, r := range h.Disputes {
		end = max(end, r.OpenedOn, r.ResolvedOn)
	}
	for _, r := range h.Contacts {
		end = max(end, data.DateOf(r.SentAt.UTC()))
	}
	return end
}

// FeaturizeHistory returns the rows of one account's history: one per
// invoice per requested snapshot, with labels at opts.AsOf (zero = this
// history's own data end, midnight UTC after its latest event date; Build
// uses the store's data end instead). opts.Workers is ignored.
func FeaturizeHistory(h *data.History, opts Options) (*Table, error) {
	if err := opts.normalize(); err != nil {
		return nil, err
	}
	t := NewTable()
	if err := featurizeHistory(h, &opts, t, make([]float64, numFeatures)); err != nil {
		return nil, err
	}
	horizon := opts.AsOf
	if horizon.IsZero() {
		if end := dataEnd(h); end != 0 {
			horizon = (end + 1).Time()
		}
	}
	t.Stats.Accounts = 1
	t.finalize(horizon, opts.Grace)
	return t, nil
}

type snap struct {
	at   time.Time
	inv  int
	kind Snapshot
}

// featurizeHistory appends h's rows (unlabelled) to t, updating t.Stats.
func featurizeHistory(h *data.History, opts *Options, t *Table, buf []float64) error {
	cut := opts.AsOf
	snaps := make([]snap, 0, len(h.Invoices)*len(opts.Snapshots))
	for i := range h.Invoices {
		inv := &h.Invoices[i]
		issue := inv.IssueDate.Time()
		if !cut.IsZero() && !issue.Before(cut) {
			continue
		}
		t.Stats.Invoices++
		if !opts.From.IsZero() && issue.Before(opts.From) {
			t.Stats.BeforeFrom++
			continue
		}
		for _, k := range opts.Snapshots {
			at := issue
			if k == SnapshotDue {
				if inv.DueDate <= inv.IssueDate {
					t.Stats.DueSkippedClosed++
					continue
				}
				at = inv.DueDate.Time()
				if !cut.IsZero() && !at.Before(cut) {
					t.Stats.DueSkippedHorizon++
					continue
				}
			}
			snaps = append(snaps, snap{at, i, k})
		}
	}
	if len(snaps) == 0 {
		return nil
	}
	slices.SortFunc(snaps, func(a, b snap) int {
		return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.inv, b.inv), cmp.Compare(a.kind, b.kind))
	})
	raw := closings(h, cut)
	r := newReplayer(h)
	t.grow(len(snaps))
	for _, s := range snaps {
		if err := r.advance(s.at); err != nil {
			return err
		}
		inv := &h.Invoices[s.inv]
		if s.kind == SnapshotDue && !r.st.isOpen(inv.ID) {
			t.Stats.DueSkippedClosed++
			continue
		}
		vec := r.st.Vector(s.at, *inv, buf)
		t.appendRow(inv, s.kind, data.DateOf(s.at), vec, raw[s.inv])
		if s.kind == SnapshotIssue {
			t.Stats.IssueRows++
		} else {
			t.Stats.DueRows++
		}
	}
	return nil
}
