//go:build featuresleak_resolution && !featuresleak_payment

package features

// This file exists only to prove that the leakage test can fail. Built with
// -tags featuresleak_resolution, a dispute whose stored ResolvedOn is set is
// never counted as open — it peeks at a resolution date that may lie after
// the as-of instant. TestNoLeakage must catch it. Never use this tag outside
// that check.

import (
	"time"

	"github.com/duesight/duesight/data"
)

func known(ev data.Event, asOf time.Time) bool { return ev.At.Before(asOf) }

const leakResolution = true
