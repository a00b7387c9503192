// Package csvio imports payment histories from ERP exports (CSV or Parquet
// files) through a column-mapping file, and exports a store back to files
// that the built-in default mapping re-imports exactly. It is the library
// behind `duesight import` and `duesight export`.
//
// # Importing
//
//	m, err := csvio.LoadMapping("erp.yaml")
//	res, err := csvio.Import(ctx, store, m, map[string]string{"invoices": "open_items.csv"},
//		csvio.ImportOptions{RejectPath: "rejects.csv"})
//
// A mapping (YAML, see MAPPING.md) names one or more sources (files); each
// source yields entities (account, invoice, payment, contact, dispute), and
// one row may yield several: an invoice row can carry its account, its
// settlement payment and a dispute. Each entity field comes from a column,
// a constant or a template ("pay-{Invoice No}"), converted with per-field
// date formats (M/D/YYYY, DD.MM.YYYY, ISO, Excel serials, Go layouts),
// decimal and thousands separators, value maps (Paper → letter) and
// defaults. An entity may carry `when:` conditions (derive the payment only
// when SettledDate is set). Invoice due dates may be derived as
// baseline_date (or issue_date) + terms_days.
//
// Reading streams each file row by row: memory grows with the entities kept,
// not the file. CSV is RFC 4180 with a required header row (checked against
// the mapped columns), an optional UTF-8 byte-order mark, LF or CRLF line
// ends, quoted delimiters and newlines, any one-character delimiter, and
// UTF-8, Latin-1 or Windows-1252 text. Parquet files are read through Arrow
// (pqarrow); typed dates, timestamps and numbers bypass the mapping's text
// formats, so one mapping serves both formats.
//
// # Problems
//
// Conversion problems (unparseable date, unknown currency or enum value,
// malformed CSV, a repeated id with different content) are found while
// reading; semantic ones (negative amounts, due before issue, unknown
// account, overpayment beyond tolerance, a stored id with other content)
// come from data.Ingest. The Locator maps every entity back to its file,
// line and column, so each is reported as
//
//	invoices.csv:17: column "DueDate" (due_date): 2013-01-01 is before issue_date 2013-01-31
//
// Import is all-or-nothing by default: any problem means nothing is
// written, and the error (*RowsError) lists every problem (the message shows
// the first 20 and names the reject file, when one was asked for, that
// lists all). With SkipInvalid the valid rows are
// written; a row is skipped whole when any entity derived from it is
// rejected. The reject file (ImportOptions.RejectPath) is a CSV of file,
// line, column, field, kind, id, reason and the raw row. Ids come only from
// the data, so re-importing the same files adds nothing.
//
// # Exporting
//
// Export writes accounts, invoices, payments, contacts and disputes files
// (CSV or Parquet) in the layout documented on Export; DefaultMapping reads
// them back to identical histories.
//
// # Dependencies
//
// csvio imports the data package, the standard library, go.yaml.in/yaml/v3
// and apache/arrow-go (parquet, pqarrow). It must not import storage
// adapters (data/parquet, data/clickhouse), the model, the API or cmd: it
// works on any data.Store. It holds no global state; times come from the
// input, never from the clock; logs (log/slog, injected) carry counts only,
// never names or amounts.
package csvio
