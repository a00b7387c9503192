// Package datatest holds the conformance suite that every data.Store must
// pass (Run), an in-memory reference Store (MemStore) for unit tests of code
// that reads history, and helpers that build small valid histories.
//
// It imports only data and the standard library (plus testing).
package datatest
