// Package synth generates a realistic, seeded, deterministic synthetic
// payment history — accounts, invoices, payments (incl. credit notes,
// write-offs and unapplied cash), collection contacts with promises to pay,
// and disputes — together with its ground truth, so that late-payment
// models, contact policies and forecasts can be scored against the truth.
// It backs `duesight gen`.
//
// # Use
//
//	w, err := store.Begin(ctx)
//	tf, err := synth.CreateTruthFile("truth.jsonl.gz") // gzip by extension
//	sum, err := synth.Generate(ctx, synth.Options{Seed: 1, To: data.NewDate(2025, 7, 1)}, w, tf)
//	// on error: w.Rollback(); otherwise w.Commit(ctx). Then tf.Close().
//
// Generate writes rows through the data.Writer without validation (it is a
// trusted source; every row passes data.Ingest, which the tests check) and
// the truth through a TruthSink. The store never sees the truth.
//
// # Determinism and memory
//
// Account k (1-based, id "A" + k zero-padded to 7 digits, so byte order is
// numeric order) draws everything from its own PCG stream seeded by
// (splitmix64(Seed), splitmix64(Seed ⊕ splitmix64(k))). Accounts are
// generated in parallel and written in id order, ChunkAccounts per Write;
// at most Workers+2 chunks exist at once, so memory is bounded by the chunk
// size, not by the run (1M accounts / 50M invoices stream through). Output
// bytes depend only on Options minus Workers/ChunkAccounts/Logger; a run of
// n accounts is a prefix of a run of m > n accounts. Row ids inside an
// account are <account>-I00001 (invoices by issue date), -P (payments),
// -C (contacts), -D (disputes).
//
// # Window and censoring
//
// Invoices, payments, contacts (SentAt, UTC) and dispute openings and
// resolutions all lie in [From, To). Accounts may be created before From
// (tenure up to 8 years) and a promise made before To may name a date after
// it. The latent process runs past To (up to 1,300 days) so every invoice has
// a true settlement; what happens at or after To is not emitted: invoices
// open at To stay open (censored), open disputes have no ResolvedOn.
//
// # The model
//
// Accounts. Each account draws a market (country, IANA zone, currency;
// default 14 markets on 6 continents: US×3 zones, GB, DE, FR, NL, JP, IN, SG,
// AU, BR, ZA, BH — currency always the country's), a segment (consumer,
// smb, mid_market, enterprise, public_sector: amount scale, billing rate,
// terms, paper billing, payment-run propensity), a latent payer type
// (default mix: prompt 56%, late_payer 19%, chaotic 10%, deteriorating
// 10%, improving 5%), consent (opt-out of email 5%, SMS 25%, call 30%;
// letter always allowed), a credit limit (60% of accounts: billing of
// terms/30 + U(2,6) months; an order that would exceed it is not invoiced),
// tenure, churn (8%/year), and whether it is in the no-contact holdout (5%).
//
// Invoices. 40% of accounts are billed monthly on a fixed day plus Poisson
// extras at 20% of their rate; the rest get Poisson arrivals. Rates are
// LogNormal around the segment's invoices/month (default 1–2.2, ≈ 30
// invoices per account over 2.5 years). Issue days are Monday–Friday; due =
// issue + account terms (net 0/15/30/45/60/90 by segment). Amount in USD =
// account median × exp(0.7·z), z ~ N(0,1), account median = segment median
// (120 … 25,000 USD) × exp(0.9·N(0,1)); converted with the market's
// PerUSD and rounded to the currency's minor unit (JPY 0, BHD 3 decimals).
// Delivery is by letter for paper-billed accounts (5% of invoices flip).
//
// Payment timing. The account intends to pay k = ⌊L + ½⌋ days after due,
// L ~ Logistic(μ, s), s ~ U(type's Scale), with
//
//	μ = μ0 + drift·max(0, issue − onset)/365.25 + shock(month)
//	    + RunShift[run] + 1.5·z + 2·[letter] + 4·exp(−tenure/180)
//	    + 3·[due 1 Dec – 10 Jan] + 2·[due in August, Europe] − 2·[due in last 10 days of a quarter]
//
// clamped to [−20, 150]. μ0 ~ N(type mean, sd) (prompt −7±2, late_payer
// 8±5, chaotic 6±8, deteriorating −3±3, improving 18±6); drift ~ N(type)
// days/year (deteriorating +25±8 and improving −14±4 from a random onset
// inside the window; others 0±1…3 from From); shock is a monthly AR(1),
// ρ = 0.7, stationary sd 0.8…5 by type. The money arrives on f(max(issue,
// due + k)), f = the account's next payment-run day: daily (business days),
// weekly (a fixed weekday), semimonthly (15th and month end) or monthly
// (last business day), mixed 55/20/10/15 (non-daily shares × the segment's
// RunFactor), RunShift 0/−3/−7/−14 days. Business days follow the market's
// weekend (Fri–Sat in Bahrain) and public holidays (fixed, Easter-based and
// n-th-weekday rules per country); 70% of accounts also pause 22 Dec –
// 2 Jan; 8% (24% of consumers) pay on any day, weekends included. This
// gives month-end spikes, holiday slowdowns and no weekend payments for most.
//
// Paths. Per invoice, exclusively: cancelled by a full credit note within
// 10 days (1%); never paid (type base + per-year increase after onset, ≤ 50%):
// 30% pay part first, the rest is written off 90–180 days after due;
// disputed (account rate ~ type mean × Exp(1), × exp(0.3 z), ≤ 30%): opened
// 1–25 days after issue, resolved 5–60 days later, then a full credit note
// (25%), a 10–50% credit note plus cash (30%) or full cash (45%), the cash
// on f(resolution + U{1..10}); instalments (account rate ~ U(0, 2×type
// mean)): 2–3 payments, the last on f(x + gap), gap ~ U{7..35}; otherwise
// one payment. 3% of normal/instalment invoices first get a 5–30% credit
// note; 0.4% of paid invoices are followed by an unapplied payment.
//
// Contacts. Holdout accounts are never contacted. Others get, while the
// invoice is open and no dispute is open, a pre-due reminder (3 days before
// due, moved back to a business day; only if after the issue day) and
// dunning steps 7, 21, 45 and 75 days after due, moved forward to a business
// day (email, SMS, call, letter;
// a channel without consent falls back to email, then letter), sent at the
// policy's local hour (email 10, SMS 14, call 11, letter 9; random minute).
// Invoices due in [RandomFrom, RandomTo) (default the half-year ending six
// months before To) are in the randomised regime: every contact gets a
// uniformly random consented channel, local hour U{8..20} and day (reminder
// due − U{1..5}, step day + U{0..4}, weekends included). SentAt is the
// local time in the account's zone, stored in UTC.
//
// Response. P(answer) = σ(α + c[channel] + hour + w[weekday] + stage), with
// α ~ N(type mean, 0.5); c = base (email 0, SMS −0.2, call 0.2, letter −0.8)
// + N(0, 0.3) + 1.0 on the account's preferred channel; hour = −w_h·(d/4)²,
// d the circular distance to the account's best local hour (≈ 10 or 15),
// w_h ~ U(0.5, 1.3); w = N(0, 0.15) + 0.4 on its best weekday − 0.7 on
// Saturday/Sunday; stage = 0, 0.2, 0.3, 0.4, 0.1 (reminder, steps). 1.5% of
// emails bounce first. An answer is a promise to pay with probability
// U(0.15, 0.45) (×1.5 on calls): promised date = contact + U{2..10}, kept
// with the type's probability (0.4–0.92) → paid on the next business day
// ≥ the promised date. Otherwise it is opened/replied (email 55/45),
// replied (SMS, letter) or a conversation (call), which moves payment to
// the next business day ≥ contact + lag (lag ~ U{1..4}) with probability
// 0.25/0.5/0.6. 40% of never-payers' answers are refusals. Answers move
// payment only on normal and instalment paths; a move only brings the
// settlement earlier.
//
// # Ground truth
//
// The truth (TruthSink; file format below) holds per account its latent
// parameters (AccountTruth), per invoice (InvoiceTruth) its regime, μ, path,
// latent settlement and days late, and p_late: the probability, given the
// state at the issue date, that the invoice is settled after its due date
// (0 grace days) under the generator's own contact policy, plus
// p_late_no_contact, the same with no contact. p_late is exact, not
// Monte-Carlo: with T = the last payment-run day ≤ due and
// P(k > v) = 1/(1 + exp((v + ½ − μ)/s)),
//
//	p_late = P(never) + P(dispute)·[0.25·P(S > terms) + 0.75·mean_lag P(S > T − issue − lag)]
//	       + (P(normal)·P_n + P(instalments)·P_i)·(1 − M)
//	P_n = 1 if issue > T else P(k > T − due);  P_i = mean_gap of the same with T − gap
//
// where S = dispute opening + duration (tabulated convolution) and M is the
// probability that the pre-due reminder is answered in a way that settles
// the invoice by its due date (summed exactly over the regime's day,
// channel, hour, outcome and promise-date distributions; 0 for holdouts).
// Dunning after due cannot make an invoice on time, so it does not enter.
// Per contact (ContactTruth): regime, step, local date/hour/weekday, the true
// P(answer), whether it was answered, moved the payment, and whether a
// promise was kept.
//
// # Truth file
//
// JSON lines. Line 1 is a TruthHeader: format "duesight-synth-truth",
// version 1, the seed, account count, window, randomised period, the late
// definition, the p_late method, "columns" (name, type, doc of every field
// of each record kind) and the full Model. Every further line is one record
// with "kind" first — "account", then that account's "invoice" lines, then
// its "contact" lines — accounts in id order. Dates are "YYYY-MM-DD" ("" =
// none), channels and enums are names, floats are rounded (probabilities to
// 1e-6, days and logits to 1e-4). CreateTruthFile gzips when the path ends
// in ".gz"; NewTruthReader/OpenTruthFile read either.
//
// # Imports
//
// synth imports only package data and the standard library. It must not
// import storage adapters (data/parquet, data/clickhouse, ...), data/datatest
// (tests only), the model, API or CLI packages: they depend on it, not the
// reverse. Zones are resolved with data.LoadZone; binaries should embed
// time/tzdata.
package synth
