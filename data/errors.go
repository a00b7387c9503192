package data

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Code classifies an error for callers (the API maps each code to one HTTP
// status in exactly one place).
type Code string

const (
	Invalid     Code = "invalid"     // the caller's input is wrong
	NotFound    Code = "not_found"   // the thing asked for does not exist
	Conflict    Code = "conflict"    // the input contradicts stored state
	Unavailable Code = "unavailable" // a dependency (store, server) cannot be reached
	Internal    Code = "internal"    // a bug or an unexpected failure
)

// Error is duesight's domain error: a code, a message safe to show to the
// caller, and an optional wrapped cause (which may hold internal detail).
type Error struct {
	Code    Code
	Message string
	Err     error
}

// Error returns Message, followed by the cause's text unless Message
// already ends with it (as it does when made by Errorf with %w).
func (e *Error) Error() string {
	if e.Err == nil {
		return e.Message
	}
	cause := e.Err.Error()
	if e.Message == "" {
		return cause
	}
	if strings.HasSuffix(e.Message, cause) {
		return e.Message
	}
	return e.Message + ": " + cause
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with code and a formatted message. %w verbs wrap
// their operands (errors.Is and errors.As see every one of them).
func Errorf(code Code, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Code: code, Message: err.Error(), Err: err}
}

// ErrorCode returns the code of the first *Error in err's chain, Internal for
// any other non-nil error, and "" for nil. Context cancellation maps to
// Unavailable.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return Unavailable
	}
	return Internal
}

// Kind names an entity type.
type Kind string

const (
	KindAccount Kind = "account"
	KindInvoice Kind = "invoice"
	KindPayment Kind = "payment"
	KindContact Kind = "contact"
	KindDispute Kind = "dispute"
	KindAction  Kind = "action"
)

// Kinds lists the history entity kinds in dependency order.
var Kinds = []Kind{KindAccount, KindInvoice, KindPayment, KindContact, KindDispute}

// Issue is one problem with one input row: which entity (kind and index in
// its Batch slice), which field, and why. Importers translate Index into a
// file and line.
type Issue struct {
	Kind   Kind   `json:"kind"`
	Index  int    `json:"index"`
	ID     string `json:"id,omitempty"`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

func (i Issue) String() string {
	s := fmt.Sprintf("%s #%d", i.Kind, i.Index)
	if i.ID != "" {
		s += fmt.Sprintf(" (id %q)", i.ID)
	}
	if i.Field != "" {
		s += " field " + i.Field
	}
	return s + ": " + i.Reason
}

// ValidationError carries every issue found in a batch. Its Code is Invalid
// (or Conflict if every issue is a conflict with stored data).
type ValidationError struct {
	Issues []Issue
}

func (e *ValidationError) Error() string {
	const show = 5
	var b strings.Builder
	fmt.Fprintf(&b, "%d invalid row(s)", len(e.Issues))
	for i, is := range e.Issues {
		if i == show {
			fmt.Fprintf(&b, "; and %d more", len(e.Issues)-show)
			break
		}
		b.WriteString("; ")
		b.WriteString(is.String())
	}
	return b.String()
}

// As lets errors.As find an *Error with code Invalid in a ValidationError.
func (e *ValidationError) As(target any) bool {
	if t, ok := target.(**Error); ok {
		*t = &Error{Code: Invalid, Message: e.Error()}
		return true
	}
	return false
}
