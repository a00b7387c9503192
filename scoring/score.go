package scoring

import (
	"cmp"
	"context"
	"fmt"
	"github.com/duesight/duesight/model"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/duesight/duesight/api"
	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/features"
)

// scratch is a worker's reusable buffers (pooled per Service).
type scratch struct {
	vec     []float64
	timing  timingScratch
	past    []data.Contact
	top     []int
	tc      []float64
	reasons []model.Reason
}

func (s *Service) getScratch() *scratch   { return s.scratch.Get().(*scratch) }
func (s *Service) putScratch(sc *scratch) { s.scratch.Put(sc) }

// minChunk is the smallest share of a batch given to one goroutine.
const minChunk = 128

// parallel runs fn over [0, n) in chunks on up to Options.Workers
// goroutines (inline when the batch is small). fn gets the worker number.
func (s *Service) parallel(ctx context.Context, n int, fn func(w, lo, hi int)) error {
	workers := min(s.opt.Workers, (n+minChunk-1)/minChunk)
	if workers <= 1 {
		fn(0, 0, n)
		return nil
	}
	chunk := max(minChunk, n/(workers*4))
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				lo := int(next.Add(int64(chunk))) - chunk
				if lo >= n {
					return
				}
				fn(w, lo, min(lo+chunk, n))
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return data.Errorf(data.Unavailable, "scoring interrupted: %w", err)
	}
	return nil
}

// scoreWorker is one goroutine's share of a Score call.
type scoreWorker struct {
	sc     *scratch
	issues []data.Issue
	replay []int // items that need the stored history (see table.mode)
	err    error
}

// Score scores a batch: items by invoice id come from the online state (open
// invoices only), inline items are scored as given against their account's
// state (or an empty state for a new account sent along) and are not stored.
// The batch is split over Options.Workers goroutines. Items whose account
// cannot be read at as_of from memory (as_of not after the account's latest
// applied event, or after post-dated events held for later) are computed by
// replaying the account's stored history, exactly as features.VectorAt does.
//
// Each score: p_late = the calibrated late-payment model on the invoice's
// feature vector; risk tier by Options.Tiers; reasons = the model's top
// Options.Reasons contributions (Explain); expected days late and payment
// date quantiles from the timing model (see timingOf).
func (s *Service) Score(ctx context.Context, req *api.ScoreRequest) (*api.ScoreResponse, error) {
	b, t, err := s.serving()
	if err != nil {
		return nil, err
	}
	now := s.now()
	asOf := s.asOf(req.AsOf, now)
	n := len(req.Items)
	resp := &api.ScoreResponse{ModelVersion: b.version, AsOf: asOf, Scores: make([]api.InvoiceScore, n)}
	k := s.opt.Reasons
	slab := make([]api.Reason, n*k)
	job := scoreJob{s: s, b: b, t: t, req: req, resp: resp, slab: slab, k: k, asOf: asOf, now: now}
	nw := max(1, min(s.opt.Workers, (n+minChunk-1)/minChunk))
	workers := make([]scoreWorker, nw)
	err = s.parallel(ctx, n, func(w, lo, hi int) {
		sw := &workers[w]
		if sw.sc == nil {
			sw.sc = s.getScratch()
		}
		for i := lo; i < hi && sw.err == nil; i++ {
			job.item(sw, i)
		}
	})
	var issues []data.Issue
	var replay []int
	for i := range workers {
		sw := &workers[i]
		if sw.sc != nil {
			s.putScratch(sw.sc)
		}
		if sw.err != nil && err == nil {
			err = sw.err
		}
		issues = append(issues, sw.issues...)
		replay = append(replay, sw.replay...)
	}
	if err != nil {
		return nil, err
	}
	if len(replay) > 0 {
		if err := job.replay(ctx, replay, &issues); err != nil {
			return nil, err
		}
	}
	if len(issues) > 0 {
		slices.SortFunc(issues, func(x, y data.Issue) int { return cmp.Compare(x.Index, y.Index) })
		return nil, &data.ValidationError{Issues: issues}
	}
	s.scored.Add(int64(n))
	return resp, nil
}

type scoreJob struct {
	s         *Service
	b         *bundle
	t         *table
	req       *api.ScoreRequest
	resp      *api.ScoreResponse
	slab      []api.Reason
	k         int
	asOf, now time.Time
}

func unknownInvoice(i int, id string) data.Issue {
	return data.Issue{Kind: data.KindInvoice, Index: i, ID: id, Field: "invoice_id",
		Reason: fmt.Sprintf("%q is not an open invoice (unknown, or already paid, credited or written off)", issueText(id))}
}

// item scores request item i from the online state, or records an issue or
// the need for a replay.
func (j *scoreJob) item(w *scoreWorker, i int) {
	it := &j.req.Items[i]
	t := j.t
	var a *account
	if it.Invoice == nil {
		if a = t.lookupInvoice(it.InvoiceID); a == nil {
			w.issues = append(w.issues, unknownInvoice(i, it.InvoiceID))
			return
		}
	} else if a = t.lookupAccount(it.Invoice.AccountID); a == nil {
		if it.Account == nil {
			w.issues = append(w.issues, data.Issue{Kind: data.KindInvoice, Index: i, ID: it.Invoice.ID,
				Field: "invoice/account_id", Reason: fmt.Sprintf("unknown account %q: send the account along with an invoice of a new account",
					issueText(it.Invoice.AccountID))})
			return
		}
		st := features.NewState(*it.Account)
		vec := st.Vector(j.asOf, *it.Invoice, w.sc.vec)
		w.sc.vec = vec
		w.err = j.fill(w.sc, i, vec, it.Invoice)
		return
	}
	sh := t.shardOf(a.id)
	for attempt := 0; ; attempt++ {
		sh.mu.RLock()
		var inv data.Invoice
		if it.Invoice == nil {
			o := a.findOpen(it.InvoiceID)
			if o < 0 { // paid since the index lookup
				sh.mu.RUnlock()
				w.issues = append(w.issues, unknownInvoice(i, it.InvoiceID))
				return
			}
			inv = a.invoice(t.in, o)
		} else {
			inv = *it.Invoice
		}
		m := t.mode(sh, a, j.asOf, j.now)
		if m == modeLive {
			var vec []float64
			if it.Account != nil {
				cp := *a.st // Vector only reads; the copy shares the lists
				cp.SetAccount(*it.Account)
				vec = cp.Vector(j.asOf, inv, w.sc.vec)
			} else {
				vec = a.st.Vector(j.asOf, inv, w.sc.vec)
			}
			sh.mu.RUnlock()
			w.sc.vec = vec
			w.err = j.fill(w.sc, i, vec, &inv)
			return
		}
		sh.mu.RUnlock()
		if m == modePromote && attempt == 0 && t.promote(a, j.now, j.s.log) {
			continue
		}
		w.replay = append(w.replay, i)
		return
	}
}

// fill computes score i from its feature vector.
func (j *scoreJob) fill(sc *scratch, i int, vec []float64, inv *data.Invoice) error {
	b := j.b
	reasons := j.slab[i*j.k : i*j.k : (i+1)*j.k]
	var p float64
	if b.fast != nil {
		if len(sc.top) < j.k {
			sc.top, sc.tc = make([]int, j.k), make([]float64, j.k)
		}
		var n int
		p, n = b.fast.score(vec, j.k, sc.top, sc.tc)
		for r := range n {
			f := sc.top[r]
			reasons = append(reasons, api.Reason{Feature: b.fast.names[f], Value: vec[f], Contribution: sc.tc[r]})
		}
	} else if j.k > 0 {
		// One pass when the model supports it (gbdt: a single tree walk).
		p, sc.reasons = model.PredictExplain(b.late, vec, j.k, sc.reasons)
		for _, r := range sc.reasons {
			if len(reasons) == j.k {
				break
			}
			reasons = append(reasons, api.Reason{Feature: r.Feature, Value: r.Value, Contribution: r.Contribution})
		}
	} else {
		p = b.late.PredictProba(vec)
	}
	if math.IsNaN(p) {
		return data.Errorf(data.Internal, "model %s returned NaN for a score", b.version)
	}
	p = min(max(p, 0), 1)
	out := &j.resp.Scores[i]
	out.InvoiceID, out.AccountID = inv.ID, inv.AccountID
	out.PLate = p
	out.RiskTier = tierOf(&j.s.opt.Tiers, p)
	out.Reasons = reasons
	elapsed := elapsedDays(j.asOf, inv.DueDate)
	e, q := timingOf(b, j.t.fallback, vec, inv.DueDate, elapsed, sc)
	out.ExpectedDaysLate = e
	out.PaymentDate = api.Quantiles{P10: inv.DueDate.AddDays(int(q[0])), P50: inv.DueDate.AddDays(int(q[1])),
		P90: inv.DueDate.AddDays(int(q[2]))}
	return nil
}

// replay scores the listed items from their accounts' stored histories:
// features.Replay(h, asOf) is the state VectorAt uses.
func (j *scoreJob) replay(ctx context.Context, items []int, issues *[]data.Issue) error {
	byAccount := map[string][]int{}
	var order []string
	for _, i := range items {
		it := &j.req.Items[i]
		id := ""
		if it.Invoice != nil {
			id = it.Invoice.AccountID
		} else if a := j.t.lookupInvoice(it.InvoiceID); a != nil {
			id = a.id
		} else {
			*issues = append(*issues, unknownInvoice(i, it.InvoiceID))
			continue
		}
		if _, ok := byAccount[id]; !ok {
			order = append(order, id)
		}
		byAccount[id] = append(byAccount[id], i)
	}
	sc := j.s.getScratch()
	defer j.s.putScratch(sc)
	for _, id := range order {
		h, err := j.s.store.History(ctx, id)
		if err != nil {
			j.s.noteStoreError(ctx, err)
			return data.Errorf(data.Unavailable, "as_of %s is before events already applied to an account (or after events held for later), "+
				"which needs its stored history, and the store cannot be read: %w", j.asOf.Format(time.RFC3339), err)
		}
		st, err := features.Replay(h, j.asOf)
		if err != nil {
			return data.Errorf(data.Internal, "replay the stored history of one account: %w", err)
		}
		for _, i := range byAccount[id] {
			it := &j.req.Items[i]
			var inv data.Invoice
			if it.Invoice != nil {
				inv = *it.Invoice
			} else {
				k := slices.IndexFunc(h.Invoices, func(v data.Invoice) bool { return v.ID == it.InvoiceID })
				if k < 0 {
					*issues = append(*issues, unknownInvoice(i, it.InvoiceID))
					continue
				}
				inv = h.Invoices[k]
			}
			use := st
			if it.Account != nil {
				cp := *st
				cp.SetAccount(*it.Account)
				use = &cp
			}
			vec := use.Vector(j.asOf, inv, sc.vec)
			sc.vec = vec
			if err := j.fill(sc, i, vec, &inv); err != nil {
				return err
			}
		}
	}
	return nil
}
