package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/duesight/duesight/data"
)

// ProblemContentType is the media type of error responses (RFC 9457).
const ProblemContentType = "application/problem+json"

// problemTypePrefix starts every problem type URI; the suffix is the
// problem's slug (see the OpenAPI document's Problem schema).
const problemTypePrefix = "urn:duesight:problem:"

// Problem is an RFC 9457 problem details document, the body of every error
// response.
type Problem struct {
	// Type is a URI naming the kind of problem: urn:duesight:problem:<slug>.
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	// Detail explains this occurrence in words, for people.
	Detail string `json:"detail,omitempty"`
	// Instance identifies the occurrence: urn:duesight:request:<request id>
	// (the X-Request-ID response header), to quote when asking for help.
	Instance string `json:"instance,omitempty"`
	// Errors lists the offending values, if the problem is with the input.
	Errors []FieldError `json:"errors,omitempty"`
}

// FieldError is one offending value of a request.
type FieldError struct {
	// In says where the value is: "body" (omitted), "query", "path" or
	// "header".
	In string `json:"in,omitempty"`
	// Path locates the value: an RFC 6901 JSON pointer into the body
	// ("/invoices/3/due_date", "" for the whole body), or the parameter
	// or header name.
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// Where a FieldError's value lies.
const (
	inBody   = ""
	inQuery  = "query"
	inPath   = "path"
	inHeader = "header"
)

// maxProblemErrors caps the errors listed in one problem document.
const maxProblemErrors = 1000

// kind is a class of problem with its one HTTP status.
type kind struct {
	slug   string
	title  string
	status int
}

var (
	kindMalformed    = kind{"malformed-request", "Malformed request", http.StatusBadRequest}
	kindUnauthorized = kind{"unauthorized", "Missing or invalid API key", http.StatusUnauthorized}
	kindForbidden    = kind{"forbidden", "The API key's role does not allow this", http.StatusForbidden}
	kindNotFound     = kind{"not-found", "Not found", http.StatusNotFound}
	kindMethod       = kind{"method-not-allowed", "Method not allowed", http.StatusMethodNotAllowed}
	kindConflict     = kind{"conflict", "Conflict with stored data", http.StatusConflict}
	kindGone         = kind{"cursor-expired", "The worklist snapshot of this cursor expired", http.StatusGone}
	kindTooLarge     = kind{"body-too-large", "Request body too large", http.StatusRequestEntityTooLarge}
	kindMediaType    = kind{"unsupported-media-type", "Unsupported media type", http.StatusUnsupportedMediaType}
	kindInvalid      = kind{"validation", "The request is not valid", http.StatusUnprocessableEntity}
	kindRateLimited  = kind{"rate-limited", "Too many requests", http.StatusTooManyRequests}
	kindInternal     = kind{"internal", "Internal error", http.StatusInternalServerError}
	kindUnavailable  = kind{"unavailable", "Service unavailable", http.StatusServiceUnavailable}
)

// requestError is a problem the API itself finds with a request.
type requestError struct {
	kind   kind
	detail string
	errs   []FieldError
}

func (e *requestError) Error() string {
	if len(e.errs) == 0 {
		return e.kind.slug + ": " + e.detail
	}
	return fmt.Sprintf("%s: %s (%s %s)", e.kind.slug, e.detail, e.errs[0].Path, e.errs[0].Reason)
}

func newRequestError(k kind, detail string, errs ...FieldError) *requestError {
	return &requestError{kind: k, detail: detail, errs: errs}
}

// problemFor turns any error of a handler into the problem to send and says
// whether the error is the server's fault (to be logged with its detail).
// It is the one place that maps errors — data.Error codes, this package's
// request errors and sentinels — to HTTP statuses.
func problemFor(err error) (p Problem, serverFault bool) {
	k := kindInternal
	var (
		re  *requestError
		mbe *http.MaxBytesError
		ve  *data.ValidationError
		de  *data.Error
	)
	switch {
	case errors.As(err, &re):
		k = re.kind
		p.Detail, p.Errors = re.detail, re.errs
	case errors.As(err, &mbe):
		k = kindTooLarge
		p.Detail = fmt.Sprintf("the body exceeds the limit of %d bytes", mbe.Limit)
	case errors.Is(err, ErrSnapshotExpired):
		k = kindGone
		p.Detail = "the ranking snapshot this cursor belongs to is gone; request the first page again"
	case errors.As(err, &ve):
		k = kindInvalid
		p.Detail = fmt.Sprintf("%d issue(s) found", len(ve.Issues))
		p.Errors = make([]FieldError, 0, min(len(ve.Issues), maxProblemErrors))
		for _, is := range ve.Issues {
			p.Errors = append(p.Errors, FieldError{Path: issuePointer(is), Reason: is.Reason})
		}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// The client left or the request timed out before the backend
		// answered: nothing was acknowledged, so the client may retry.
		k = kindUnavailable
		p.Detail = "the request was not completed in time; retry later"
	case errors.As(err, &de):
		switch de.Code {
		case data.Invalid:
			k = kindInvalid
		case data.NotFound:
			k = kindNotFound
		case data.Conflict:
			k = kindConflict
		case data.Unavailable:
			k = kindUnavailable
		}
		if k.status < 500 {
			p.Detail = de.Message // data.Error.Message is meant for the caller
		}
	}
	if len(p.Errors) > maxProblemErrors {
		p.Detail = fmt.Sprintf("%s; the first %d of %d are listed", p.Detail, maxProblemErrors, len(p.Errors))
		p.Errors = p.Errors[:maxProblemErrors]
	}
	switch k {
	case kindInternal:
		p.Detail = "internal error; the server logged it under the request id in instance"
	case kindUnavailable:
		if p.Detail == "" {
			p.Detail = "a dependency is unavailable and nothing was changed; retry later"
		}
	}
	p.Type, p.Title, p.Status = problemTypePrefix+k.slug, k.title, k.status
	return p, k.status >= 500
}

// kindPlural maps an entity kind to the events-request member holding it.
var kindPlural = map[data.Kind]string{
	data.KindAccount: "accounts", data.KindInvoice: "invoices", data.KindPayment: "payments",
	data.KindContact: "contacts", data.KindDispute: "disputes", data.KindAction: "actions",
}

// issuePointer is the JSON pointer of an ingest issue: /<kind>s/<index>/<field>.
func issuePointer(is data.Issue) string {
	plural, ok := kindPlural[is.Kind]
	if !ok {
		plural = string(is.Kind) + "s"
	}
	p := "/" + plural + "/" + strconv.Itoa(is.Index)
	if f := strings.TrimPrefix(is.Field, "/"); f != "" {
		// Fields are member names or, for nested values, relative
		// pointers ("invoice/due_date"); they are not escaped.
		p += "/" + f
	}
	return p
}

// pointerEscaper escapes a JSON pointer reference token (RFC 6901).
var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

func escapePointer(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return pointerEscaper.Replace(s)
}
