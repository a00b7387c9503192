// Package scoring is duesight's scoring service: the api.Backend that serves
// late-payment scores, account views, the collection worklist, event
// ingestion and model activation from an online feature state in memory.
//
// # Online state
//
// The state holds, per account, the attributes serving needs (segment,
// currency, time zone interned; consent; no name: account views read it from
// the store), its features.State (the same State that features.Build replays
// for training, so serving vectors equal offline ones: training/serving skew
// is zero by construction and checked by the tests), its open invoices
// (id, amounts, dates, open disputes) indexed by invoice id, and the few
// recent contacts the contact rules need (packed in 8 bytes each). Resync
// builds it by streaming every stored history over Options.Workers account
// shards (data.Shard) and replaying each account's events strictly before
// now; rows dated in the future are held per account and applied once the
// clock passes them. Accounts live in 256 shards, each behind its own
// RWMutex; readers take a shard's read lock for the few hundred nanoseconds
// a feature vector takes. A resync builds a new state and swaps it in with
// one atomic pointer store: readers are never blocked.
//
// Reads at an instant the memory cannot serve (an as_of not after the
// account's latest applied event, or after post-dated events held for
// later) replay the account's stored history instead (features.Replay, the
// point-in-time rule of features.VectorAt): correct, but one store read per
// account.
//
// # Models and hot swap
//
// The served model is a bundle: a late-payment artifact of the registry
// (calibrated model.Model of any registered kind, trained on Schema()) and
// the payment-timing artifact its header param "timing_model" names. The
// bundle is immutable and held in an atomic.Pointer; every request loads it
// once, so each response is computed by exactly one version, and
// ActivateModel swaps it without failing or mixing in-flight requests.
// Without a timing model, expected days late and payment-date quantiles come
// from the empirical distribution of days late (paid date − due date,
// early = 0) of every invoice settled before the last resync, conditioned on
// the invoice being unpaid so far (see delayHist.summary).
//
// # Scores
//
// p_late is the calibrated model probability; the risk tier cuts it at
// Options.Tiers (default low < 0.25 ≤ medium < 0.5 ≤ high < 0.75 ≤ critical);
// reasons are the model's top Options.Reasons (default 3) contributions, in
// the model's unit (log-odds for logreg); expected_days_late and the
// p10/p50/p90 payment dates come from the timing distribution conditioned on
// the invoice being unpaid through features.LastKnownDay(as_of) (quantile
// days rounded up, capped at the model horizon, never before a day already
// known to have passed unpaid). Batches are split over Options.Workers
// goroutines with pooled buffers. For the "logreg" and "weekly-hazard"
// kinds the service computes probabilities, top reasons and hazards from the
// artifacts' persisted payloads in one allocation-free pass (top-k selection
// instead of model.TopReasons' full sort, which dominated scoring time); each
// such path is checked bit for bit against the model's own methods when the
// model is loaded and is not used if it differs. Other kinds use the
// model.Model and model.Timing methods.
//
// # Account view
//
// Open and overdue amounts are exact integer sums per currency. Expected
// loss per currency is Σ open_i × P(late_i) × LossGivenLate (default 0.10),
// rounded to the minor unit.
//
// # Worklist
//
// Accounts are ranked by the expected value of a collection action now:
// EV(a, c) = Σ_i fx(open_i) × P(late_i) × uplift(c) − cost(c), maximised over
// the channels the contact rules allow now; accounts with no channel allowed
// now are ranked by the best delayed action, its recovery discounted by
// e^{−r·Δdays} (r = Options.DelayDiscountPerDay, default 0.05);
// Options.WaitForBetterChannel lets delayed actions compete with immediate
// ones. Amounts are
// converted into the reporting currency with the FX table (default:
// reporting USD, no other rate); amounts without a rate are left out of the
// value and counted (WorklistSummary), never mixed in. Channel uplift and
// cost default to DefaultChannels. See worklist.go for the full formula and
// the next-action reason codes. Rankings are immutable snapshots (kept
// SnapshotTTL ≥ api.MinSnapshotTTL, at most MaxSnapshots × MaxWorklistItems
// items), so cursor pages are stable while events change the live ranking.
//
// # Events and degraded mode
//
// ApplyEvents runs data.Ingest (validation and an all-or-nothing write) and
// then updates the state before returning: rows new to the store are folded
// in incrementally in time order; accounts with re-sent rows, new versions,
// or rows older than their state are rebuilt from their stored history. If
// the store cannot be written the error is data.Unavailable and nothing is
// applied. Reads never need the store (except as_of replays and the contact
// list of account views, which falls back to memory), so they keep being
// served while Ready reports degraded.
//
// # Logging
//
// The injected logger receives counts, model and snapshot ids and errors;
// never account names, amounts or API keys.
//
// # Imports
//
// Standard library, go.yaml.in/yaml/v3 (FX tables), and duesight's data,
// features, model, model/calibrate, scoring/contact and api packages. It
// must not import a concrete store (data/parquet, data/clickhouse), a model
// implementation (the program registers the kinds it serves by blank
// imports; the fast paths read the persisted payloads without importing
// their packages), model/train, or the CLI.
package scoring
