//go:build featuresleak_payment

package features

// This file exists only to prove that the leakage test can fail. Built with
// -tags featuresleak_payment, a payment dated exactly at the as-of instant
// counts as known — a deliberate leak that TestNoLeakage must catch. Never
// use this tag outside that check.

import (
	"time"

	"github.com/duesight/duesight/data"
)

func known(ev data.Event, asOf time.Time) bool {
	return ev.At.Before(asOf) || ev.Kind == data.EventPayment && ev.At.Equal(asOf)
}

const leakResolution = false
