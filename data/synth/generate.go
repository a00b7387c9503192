package synth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"sync"

	"github.com/duesight/duesight/data"
)

// Summary describes a finished run. Row counts are what was written to the
// data.Writer; the latent figures come from the truth.
type Summary struct {
	Rows               data.Counts `json:"rows"`
	HoldoutAccounts    int         `json:"holdout_accounts"`
	LateInvoices       int         `json:"late_invoices"`     // latent: settled after due (incl. censored ones)
	CensoredInvoices   int         `json:"censored_invoices"` // latent settlement ≥ To: open in the store
	MeanPLate          float64     `json:"mean_p_late"`
	RandomizedContacts int         `json:"randomized_contacts"`
	Chunks             int         `json:"chunks"`
}

// LateShare is LateInvoices / Rows.Invoices (0 without invoices).
func (s Summary) LateShare() float64 {
	if s.Rows.Invoices == 0 {
		return 0
	}
	return float64(s.LateInvoices) / float64(s.Rows.Invoices)
}

// Generate writes a synthetic payment history to w and its ground truth to
// truth (nil discards the truth). Accounts are generated in parallel over
// opts.Workers goroutines, each from its own random stream, and written in
// account-id order, opts.ChunkAccounts accounts per w.Write and per
// truth.WriteTruth call; at most Workers+2 chunks are in memory at once.
// Generate neither commits nor rolls back w: the caller does, so that the
// whole history lands in one all-or-nothing write. Every row passes
// data.Ingest. On error (including ctx cancellation) Generate returns it
// after its goroutines have stopped; w then holds a partial write that the
// caller must roll back.
func Generate(ctx context.Context, opts Options, w data.Writer, truth TruthSink) (Summary, error) {
	var sum Summary
	if w == nil {
		return sum, errors.New("synth: Generate: nil data.Writer")
	}
	c, err := opts.resolve()
	if err != nil {
		return sum, err
	}
	c.log.InfoContext(ctx, "synth: generating", slog.Uint64("seed", c.seed), slog.Int("accounts", c.accounts),
		slog.String("from", c.from.String()), slog.String("to", c.to.String()),
		slog.String("random_from", c.randFrom.String()), slog.String("random_to", c.randTo.String()),
		slog.Int("workers", c.workers), slog.Int("chunk_accounts", c.chunk))
	if truth != nil {
		if err := truth.Start(ctx, c.header()); err != nil {
			return sum, fmt.Errorf("synth: start truth: %w", err)
		}
	}
	nChunks := (c.accounts + c.chunk - 1) / c.chunk
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	inflight := c.workers + 2
	tokens := make(chan struct{}, inflight)
	jobs := make(chan int)
	results := make(chan *chunkResult, inflight)
	var wg sync.WaitGroup
	wg.Go(func() { // dispatch chunk numbers in order, at most inflight unwritten
		defer close(jobs)
		for i := range nChunks {
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	})
	for range c.workers {
		wg.Go(func() {
			for i := range jobs {
				r := c.generateChunk(ctx, i)
				select {
				case results <- r:
				case <-ctx.Done():
					return
				}
			}
		})
	}
	stop := func(err error) (Summary, error) {
		cancel()
		wg.Wait()
		return sum, err
	}
	pending := make(map[int]*chunkResult, inflight)
	var pSum float64
	for next := 0; next < nChunks; {
		r, ok := pending[next]
		if !ok {
			select {
			case r = <-results:
			case <-ctx.Done():
				return stop(fmt.Errorf("synth: %w", ctx.Err()))
			}
			if r.idx != next {
				pending[r.idx] = r
				continue
			}
		}
		delete(pending, next)
		if r.err != nil {
			return stop(fmt.Errorf("synth: chunk %d: %w", r.idx, r.err))
		}
		if err := w.Write(ctx, r.rows); err != nil {
			return stop(fmt.Errorf("synth: write chunk %d (accounts %s..): %w", r.idx, r.rows.Accounts[0].ID, err))
		}
		if truth != nil {
			if err := truth.WriteTruth(ctx, r.truth); err != nil {
				return stop(fmt.Errorf("synth: write truth chunk %d: %w", r.idx, err))
			}
		}
		sum.Rows = sum.Rows.Add(r.rows.Counts())
		sum.HoldoutAccounts += r.holdout
		sum.LateInvoices += r.late
		sum.CensoredInvoices += r.censored
		sum.RandomizedContacts += r.randomized
		for i := range r.truth.Invoices { // in invoice order: the float sum does not depend on chunking
			pSum += r.truth.Invoices[i].PLate
		}
		sum.Chunks++
		<-tokens
		next++
		if next%64 == 0 {
			c.log.DebugContext(ctx, "synth: progress", slog.Int("chunks", next), slog.Int("of", nChunks),
				slog.Int("invoices", sum.Rows.Invoices))
		}
	}
	cancel()
	wg.Wait()
	if sum.Rows.Invoices > 0 {
		sum.MeanPLate = pSum / float64(sum.Rows.Invoices)
	}
	c.log.InfoContext(ctx, "synth: generated", slog.Int("accounts", sum.Rows.Accounts), slog.Int("invoices", sum.Rows.Invoices),
		slog.Int("payments", sum.Rows.Payments), slog.Int("contacts", sum.Rows.Contacts), slog.Int("disputes", sum.Rows.Disputes),
		slog.Float64("late_share", sum.LateShare()), slog.Float64("mean_p_late", sum.MeanPLate))
	return sum, nil
}

// chunkResult is one generated chunk.
type chunkResult struct {
	idx                                 int
	rows                                *data.Batch
	truth                               *TruthBatch
	err                                 error
	holdout, late, censored, randomized int
}

// generateChunk generates accounts [idx·chunk, min(accounts, (idx+1)·chunk)).
func (c *config) generateChunk(ctx context.Context, idx int) *chunkResult {
	lo, hi := idx*c.chunk, min(c.accounts, (idx+1)*c.chunk)
	res := &chunkResult{idx: idx, rows: &data.Batch{}, truth: &TruthBatch{}}
	outs := make([]*accountOut, 0, hi-lo)
	var n data.Counts
	for i := lo; i < hi; i++ {
		if err := ctx.Err(); err != nil {
			res.err = err
			return res
		}
		o := c.generateAccount(i)
		outs = append(outs, o)
		n = n.Add(data.Counts{Accounts: 1, Invoices: len(o.invoices), Payments: len(o.payments),
			Contacts: len(o.contacts), Disputes: len(o.disputes)})
	}
	// Exact capacities: no append growth in the batch.
	res.rows.Accounts = make([]data.Account, 0, n.Accounts)
	res.rows.Invoices = make([]data.Invoice, 0, n.Invoices)
	res.rows.Payments = make([]data.Payment, 0, n.Payments)
	res.rows.Contacts = make([]data.Contact, 0, n.Contacts)
	res.rows.Disputes = make([]data.Dispute, 0, n.Disputes)
	res.truth.Accounts = make([]AccountTruth, 0, n.Accounts)
	res.truth.Invoices = make([]InvoiceTruth, 0, n.Invoices)
	res.truth.Contacts = make([]ContactTruth, 0, n.Contacts)
	for _, o := range outs {
		c.materialize(o, res)
	}
	return res
}

func round(v, unit float64) float64 { return math.Round(v/unit) * unit }

// idArena builds an account's row ids into one string: one allocation per
// account instead of one per row.
type idArena struct {
	buf  []byte
	ends []int
}

func (z *idArena) add(prefix string, kind byte, seq int) {
	z.buf = append(z.buf, prefix...)
	z.buf = append(z.buf, '-', kind)
	s := strconv.AppendInt(nil, int64(seq), 10)
	for range 5 - len(s) {
		z.buf = append(z.buf, '0')
	}
	z.buf = append(z.buf, s...)
	z.ends = append(z.ends, len(z.buf))
}

// materialize turns an account's simulation into rows and truth records.
// Row ids are <account>-I00001 (invoices, issue order), -P (payments),
// -C (contacts), -D (disputes), numbered from 1 in generation order.
func (c *config) materialize(o *accountOut, res *chunkResult) {
	a := o.a
	cur, zone := a.mk.Currency, a.mk.Zone
	b, t := res.rows, res.truth
	b.Accounts = append(b.Accounts, data.Account{ID: a.id, Name: a.name, Segment: a.seg.Name, Country: a.mk.Country,
		Currency: cur, TimeZone: zone, TermsDays: a.terms, CreditLimit: a.limit, Consent: a.consent, CreatedAt: a.createdAt})
	t.Accounts = append(t.Accounts, c.accountTruth(a))
	if a.holdout {
		res.holdout++
	}

	var z idArena
	n := len(o.invoices) + len(o.payments) + len(o.contacts) + len(o.disputes)
	z.buf = make([]byte, 0, n*(len(a.id)+7))
	z.ends = make([]int, 0, n)
	for i := range o.invoices {
		z.add(a.id, 'I', i+1)
	}
	for i := range o.payments {
		z.add(a.id, 'P', i+1)
	}
	for i := range o.contacts {
		z.add(a.id, 'C', i+1)
	}
	for i := range o.disputes {
		z.add(a.id, 'D', i+1)
	}
	ids := string(z.buf)
	k := 0
	nextID := func() string {
		start := 0
		if k > 0 {
			start = z.ends[k-1]
		}
		k++
		return ids[start:z.ends[k-1]]
	}
	invIDs := make([]string, len(o.invoices))
	for i := range o.invoices {
		invIDs[i] = nextID()
	}
	for i := range o.invoices {
		v := &o.invoices[i]
		ch := data.Email
		if v.letter {
			ch = data.Letter
		}
		b.Invoices = append(b.Invoices, data.Invoice{ID: invIDs[i], AccountID: a.id, IssueDate: v.issue, DueDate: v.due,
			Amount: v.amount, Currency: cur, DeliveredBy: ch})
		late := v.settle > v.due
		t.Invoices = append(t.Invoices, InvoiceTruth{InvoiceID: invIDs[i], AccountID: a.id, DueDate: v.due, Regime: v.regime,
			MuDays: round(v.mu, 1e-4), PLate: round(v.pLate, 1e-6), PLateNoContact: round(v.pLateNC, 1e-6), Path: v.path,
			Disputed: v.path == PathDispute, SettledOn: v.settle, DaysLate: v.settle.Sub(v.due), Late: late,
			Censored: v.settle >= c.to, WrittenOff: v.path == PathNeverPaid})
		if late {
			res.late++
		}
		if v.settle >= c.to {
			res.censored++
		}
	}
	for _, p := range o.payments {
		var inv string
		if p.inv >= 0 {
			inv = invIDs[p.inv]
		}
		b.Payments = append(b.Payments, data.Payment{ID: nextID(), AccountID: a.id, InvoiceID: inv, Date: p.date,
			Amount: p.amount, Currency: cur, Method: p.method})
	}
	for _, ct := range o.contacts {
		id := nextID()
		b.Contacts = append(b.Contacts, data.Contact{ID: id, AccountID: a.id, InvoiceID: invIDs[ct.inv], Channel: ct.ch,
			SentAt: ct.sentAt, Outcome: ct.outcome, PromisedDate: ct.promised, PromisedAmount: ct.promisedAmt})
		t.Contacts = append(t.Contacts, ContactTruth{ContactID: id, InvoiceID: invIDs[ct.inv], AccountID: a.id, Regime: ct.regime,
			Step: int(ct.step), Channel: ct.ch, LocalDate: ct.localDate, LocalHour: int(ct.hour),
			LocalWeekday: int(ct.localDate.Weekday()), PResponse: round(ct.p, 1e-6), Responded: ct.responded,
			Moved: ct.moved, PromiseKept: ct.kept})
		if ct.regime == RegimeRandomized {
			res.randomized++
		}
	}
	for _, d := range o.disputes {
		b.Disputes = append(b.Disputes, data.Dispute{ID: nextID(), AccountID: a.id, InvoiceID: invIDs[d.inv],
			OpenedOn: d.opened, ResolvedOn: d.resolved, Reason: d.reason})
	}
}

func (c *config) accountTruth(a *account) AccountTruth {
	pt := &c.model.PayerTypes[a.typ]
	t := AccountTruth{AccountID: a.id, PayerType: pt.Name, BaseDelayDays: round(a.mu0, 1e-4),
		NoiseScaleDays: round(a.scale, 1e-4), DriftDaysPerYear: round(a.drift, 1e-4), DriftOnset: a.onset,
		ShockSDDays: a.shockSD, PayRun: a.run.String(), AnyDay: a.anyDay, HolidayPause: a.pause,
		DisputeRate: round(a.disputeRate, 1e-6), InstalmentRate: round(a.partialRate, 1e-6),
		NeverPayBase: a.neverBase, NeverPayPerYear: a.neverPerYear, AmountMedianUSD: round(a.medianUSD, 0.01),
		InvoicesPerMonth: round(a.rate, 1e-4), Recurring: a.recurring, ChurnOn: a.churn, Holdout: a.holdout,
		Responsiveness: round(a.alpha, 1e-4), PreferredChannel: a.pref, BestLocalHour: a.bestHour,
		HourPenalty: round(a.hourW, 1e-4), BestWeekday: int(a.bestWD), PromiseShare: round(a.promiseShare, 1e-4),
		PromiseKeep: round(a.keep, 1e-4), ResponseLagDays: a.lag}
	if a.run == runWeekly {
		t.PayRunWeekday = int(a.runWD)
	}
	for i, ch := range data.Channels {
		t.ChannelEffect[i] = round(a.chEff[ch], 1e-4)
	}
	for i := range 7 {
		t.WeekdayEffect[i] = round(a.wdEff[i], 1e-4)
	}
	return t
}

func (c *config) header() *TruthHeader {
	return &TruthHeader{Format: TruthFormat, Version: TruthVersion, Seed: c.seed, Accounts: c.accounts,
		From: c.from, To: c.to, RandomFrom: c.randFrom, RandomTo: c.randTo,
		LateDefinition: "settled (open amount reaches zero by cash, credit note or write-off) after due_date, 0 grace days; " +
			"settlement simulated past To, so censored invoices have a true outcome",
		PLateMethod: "exact: closed form under the generator's model given the state at issue (logistic delay CDF, " +
			"sums over instalment gaps, dispute durations and lags, reminder day/channel/hour, answer and promise outcomes); " +
			"no Monte-Carlo",
		Columns: truthColumns(), Model: c.model}
}
