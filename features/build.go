package features

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/duesight/duesight/data"
)

// block is the row range [lo, hi) of one account in a worker's table.
type block struct {
	account string
	part    int
	lo, hi  int
}

type part struct {
	t      *Table
	blocks []block
	end    data.Date // latest event date seen
	err    error
}

// Build replays every history of store and returns one row per invoice per
// requested snapshot, with labels at the horizon (see Options.AsOf).
//
// opts.Workers goroutines each stream one account shard
// (data.Shard{Index: k, Of: Workers}) and replay each account's events in
// time order through a State (the same code that serves online). Rows are
// ordered by account id, then snapshot instant, then the invoice's position
// in its history, then snapshot kind: the table does not depend on the number
// of workers.
func Build(ctx context.Context, store data.Store, opts Options) (*Table, error) {
	if err := opts.normalize(); err != nil {
		return nil, err
	}
	n := opts.Workers
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	parts := make([]part, n)
	var wg sync.WaitGroup
	for k := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := &parts[k]
			p.err = buildShard(ctx, store, &opts, data.Shard{Index: k, Of: n}, p)
			if p.err != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	if err := firstError(parts); err != nil {
		return nil, err
	}

	var blocks []block
	var end data.Date
	var st Stats
	rows := 0
	for i := range parts {
		blocks = append(blocks, parts[i].blocks...)
		end = max(end, parts[i].end)
		st.add(parts[i].t.Stats)
		rows += parts[i].t.Len()
	}
	slices.SortFunc(blocks, func(a, b block) int { return cmp.Compare(a.account, b.account) })
	out := NewTable()
	out.grow(rows)
	for _, b := range blocks {
		out.appendRange(parts[b.part].t, b.lo, b.hi)
	}
	out.Stats = st
	horizon := opts.AsOf
	if horizon.IsZero() && end != 0 {
		horizon = (end + 1).Time()
	}
	out.finalize(horizon, opts.Grace)
	s := out.Stats
	opts.Logger.Info("features built", "accounts", s.Accounts, "invoices", s.Invoices, "rows", s.Rows,
		"issue_rows", s.IssueRows, "due_rows", s.DueRows, "paid", s.Paid, "unpaid_late", s.UnpaidLate,
		"unpaid_pending", s.UnpaidPending, "written_off", s.WrittenOff,
		"due_skipped_closed", s.DueSkippedClosed, "due_skipped_horizon", s.DueSkippedHorizon,
		"horizon", horizon.Format(time.RFC3339), "workers", n)
	return out, nil
}

func buildShard(ctx context.Context, store data.Store, opts *Options, shard data.Shard, p *part) error {
	p.t = NewTable()
	buf := make([]float64, numFeatures)
	q := data.HistoryQuery{Shard: shard, Window: data.Window{To: opts.AsOf}}
	for h, err := range store.Histories(ctx, q) {
		if err != nil {
			return fmt.Errorf("features: read histories of shard %d/%d: %w", shard.Index, shard.Of, err)
		}
		lo := p.t.Len()
		if err := featurizeHistory(h, opts, p.t, buf); err != nil {
			return fmt.Errorf("features: shard %d/%d: %w", shard.Index, shard.Of, err)
		}
		p.t.Stats.Accounts++
		p.end = max(p.end, dataEnd(h))
		if hi := p.t.Len(); hi > lo {
			p.blocks = append(p.blocks, block{account: h.Account.ID, part: shard.Index, lo: lo, hi: hi})
		}
	}
	return nil
}

// firstError returns the error that made the build stop: a shard's own
// failure in preference to the cancellations it caused.
func firstError(parts []part) error {
	var first error
	for _, p := range parts {
		if p.err == nil {
			continue
		}
		if !errors.Is(p.err, context.Canceled) {
			return p.err
		}
		if first == nil {
			first = p.err
		}
	}
	return first
}

func (s *Stats) add(o Stats) {
	s.Accounts += o.Accounts
	s.Invoices += o.Invoices
	s.Rows += o.Rows
	s.IssueRows += o.IssueRows
	s.DueRows += o.DueRows
	s.DueSkippedClosed += o.DueSkippedClosed
	s.DueSkippedHorizon += o.DueSkippedHorizon
	s.BeforeFrom += o.BeforeFrom
}
