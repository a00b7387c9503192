// Package features computes duesight's point-in-time invoice features and
// late-payment labels. One implementation serves training and serving:
//
//   - State is one account's online state. Apply* folds in events in time
//     order (invoice issued, payment/credit note/write-off, contact with its
//     outcome, dispute opened, dispute resolved); Vector reads the features
//     of an invoice as of an instant. Featurizer holds the States of many
//     accounts for the serving API.
//   - Build (training) streams data.Store histories in parallel over account
//     shards and replays each account's events through the same State,
//     emitting one row per invoice per snapshot (issue date, optionally due
//     date) into a column-major Table, with labels computed separately from
//     the full history at a horizon. FeaturizeHistory and VectorAt do the
//     same for one history.
//   - Catalog lists every feature (name, group, unit, definition) in column
//     order; SchemaHash identifies the schema for models.
//   - Table converts to Arrow record batches and writes Parquet and CSV.
//     Every column has a Role — key, time, label, outcome (label-derived:
//     never an input) or feature — kept in the Parquet field metadata
//     (MetaRole) and, for CSV, in a Columns sidecar (FILE.csv.columns.json),
//     so that learners fed an exported table use only the features.
//
// # Point-in-time rule
//
// Every event has an instant: an invoice its IssueDate, a payment its Date,
// a dispute opening its OpenedOn and its resolution its ResolvedOn — each at
// midnight UTC of that date — and a contact its SentAt. The features as of
// instant t depend only on events whose instant is strictly before t, and on
// t itself (durations such as days overdue are measured to t). An event at
// exactly t is not known at t. Consequences:
//
//   - The issue snapshot of an invoice is as of midnight UTC of its issue
//     date: nothing dated that day is known, including the invoice itself
//     (its own attributes are inputs) and payments dated that day.
//   - A dispute is open at t if opened before t and not resolved before t;
//     a stored ResolvedOn at or after t is not looked at.
//   - A promise to pay is broken at t only if midnight UTC after its promised
//     date is ≤ t; until then it is pending.
//   - Contacts are versioned in the store; the stored (latest) outcome of a
//     contact is treated as known at its SentAt.
//   - Account attributes (segment, country, currency, terms, credit limit,
//     consent, created-at) are NOT versioned in time: the stored, current
//     values are used for every as-of instant, also in training. A change
//     of segment or credit limit is therefore visible in past rows.
//
// # Labels
//
// Labels use the whole history up to a horizon (Options.AsOf, default the
// data end) and never feed the features. An invoice is paid on the first
// date its open amount reaches ≤ 0 through applied payments, credit notes
// and write-offs, unless write-offs exceed MaterialWriteOff (5%) of its
// amount, in which case it is written off and treated as never paid.
// days_late = paid date − due date; late = days_late > grace. Unpaid
// invoices are censored: known late once the horizon is past due + grace
// (days_late is then a lower bound), unknown otherwise (excluded by
// Table.Labeled, counted in Stats).
//
// # Money and categories
//
// Amounts are never converted between currencies. Amount aggregates
// (means, sums, ratios) use only invoices in the account's own currency and
// are reported as ratios or log10 of major units. Segment and country are
// encoded by feature hashing (FNV-1a-32 into fixed one-hot buckets): the
// encoding needs no vocabulary, so training and serving agree by
// construction and unseen values still map to a bucket; collisions are the
// price, and the bucket counts are part of SchemaVersion.
//
// # Memory
//
// A State keeps running aggregates (counts, sums, sums of squares,
// exponentially decayed sums, maxima), a 23-bin days-late histogram, a ring
// of the last 5 days-late values, and short lists: open invoices (matched by
// a 64-bit id hash), pending promises (≤ 32), contacts of the last 90 days
// (≤ 128, 4 bytes each) and held prepayments (≤ 8, ≤ 365 days). Paid
// invoices are folded into the aggregates and forgotten.
//
// Missing values are NaN, never a fake 0. Tests and benchmarks live in
// package features_test.
//
// Imports: data and arrow-go (output) besides the standard library. It must
// not import a concrete store (data/parquet, data/clickhouse, …), the API,
// the CLI or model packages.
package features
