// Package data is duesight's payment-history domain: accounts, invoices,
// payments, collection contacts (including promises to pay), disputes and the
// collection-actions ledger; the Store interface every backend implements;
// validation; the shared ingest logic (deduplication, reference and
// open-amount checks, all-or-nothing commits); and the domain error type.
//
// Conventions:
//   - Money is an int64 count of minor units (cents) plus an ISO 4217 code.
//   - Calendar dates are [Date] (days since 1970-01-01); instants are
//     time.Time in UTC with one-second precision. The zero value of either
//     means "unset". Valid values lie in [MinDate, MaxDate], the range both
//     storage engines represent.
//   - Enumerations (Channel, Outcome, Method, ActionStatus) have frozen
//     numeric codes: they are persisted and must never be renumbered.
//
// This package imports only the standard library. Storage adapters live in
// sub-packages (data/parquet, data/clickhouse) and never import each other.
package data
