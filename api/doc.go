// Package api is duesight's HTTP API: a gin-based JSON service under /v1
// that scores invoices, shows accounts, pages through the collection
// worklist, accepts new events (invoices, payments, contacts, disputes),
// lists and activates models, and exposes /healthz, /readyz, /metrics and
// its own OpenAPI 3.1 document (/v1/openapi.json).
//
// The server is built around the [Backend] interface declared here; the
// scoring service implements it. The package also provides API-key
// management ([KeyStore]) for the `duesight keys` command.
//
// # Security and robustness
//
//   - Every /v1 endpoint except the OpenAPI document needs an API key
//     (Authorization: Bearer dsk_<id>_<secret>). Keys carry one [Role]; the
//     role→permission table is [RolePermissions]. Missing, malformed,
//     unknown or revoked keys get 401 with WWW-Authenticate; a key whose
//     role lacks the permission gets 403.
//   - Request bodies are capped ([Options].BodyLimit, 413 beyond it) and
//     decoded by a strict hand-written JSON reader: unknown fields,
//     duplicate fields, wrong types, invalid UTF-8 and unparseable dates are
//     400 problems naming the JSON pointer of the offending value.
//   - Each key has a token bucket ([RateLimit]); an empty bucket gives 429
//     with Retry-After.
//   - Every error is an RFC 9457 application/problem+json document. The
//     mapping from errors (data.Error codes and this package's request
//     errors) to HTTP status lives in one function, problemFor. Internal
//     details are logged once and never sent.
//
// # Status codes
//
// 400 the request cannot be read as the documented type (syntax, type,
// unknown field, bad date or enum, bad query parameter or cursor); 401 no
// valid key; 403 role lacks permission; 404 unknown id or route; 405 wrong
// method; 410 worklist cursor whose snapshot expired; 413 body over the
// limit; 415 body not application/json; 422 readable but invalid (data
// validation issues, unknown invoice ids inside a score batch, more than
// MaxScoreBatch invoices); 409 conflict with stored state; 429 rate limited;
// 503 backend unavailable (with Retry-After: writes are never silently
// dropped); 500 only for bugs.
//
// # Logging and metrics
//
// One access-log line per request (method, route template, status,
// latency, key id, request id). Account names, amounts, ids taken from
// paths and keys are never logged. Metrics are registered on the injected
// *prometheus.Registry, never the default one.
//
// # Imports
//
// This package imports the standard library, duesight's data package, gin
// and prometheus/client_golang. It must not import the scoring, model,
// features or cmd packages: the scoring logic reaches it only through
// [Backend].
package api
