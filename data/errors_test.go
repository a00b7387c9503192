package data_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/duesight/duesight/data"
)

func TestErrorText(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{data.Errorf(data.Unavailable, "open store: %w", io.EOF), "open store: EOF"},
		{&data.Error{Code: data.Internal, Message: "read segment", Err: io.EOF}, "read segment: EOF"},
		{&data.Error{Code: data.Internal, Err: io.EOF}, "EOF"},
		{data.Errorf(data.Invalid, "bad %s", "row"), "bad row"},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q; want %q", got, tc.want)
		}
	}
	if !errors.Is(data.Errorf(data.Unavailable, "x: %w", io.EOF), io.EOF) {
		t.Error("Errorf does not wrap its %w operand")
	}
	two := data.Errorf(data.Internal, "a: %w, b: %w", io.EOF, context.Canceled)
	if !errors.Is(two, io.EOF) || !errors.Is(two, context.Canceled) || two.Error() != "a: EOF, b: context canceled" {
		t.Errorf("two %%w: %q; Is(EOF) %v, Is(Canceled) %v", two, errors.Is(two, io.EOF), errors.Is(two, context.Canceled))
	}
}

func TestErrorCode(t *testing.T) {
	tests := []struct {
		err  error
		want data.Code
	}{
		{nil, ""},
		{io.EOF, data.Internal},
		{fmt.Errorf("wrapped: %w", data.Errorf(data.NotFound, "no account")), data.NotFound},
		{fmt.Errorf("stream: %w", context.Canceled), data.Unavailable},
		{context.DeadlineExceeded, data.Unavailable},
		{&data.ValidationError{Issues: []data.Issue{{Kind: data.KindInvoice, Reason: "x"}}}, data.Invalid},
	}
	for _, tc := range tests {
		if got := data.ErrorCode(tc.err); got != tc.want {
			t.Errorf("ErrorCode(%v) = %q; want %q", tc.err, got, tc.want)
		}
	}
}
