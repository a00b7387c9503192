//go:build !featuresleak_payment && !featuresleak_resolution

package features

import (
	"time"

	"github.com/duesight/duesight/data"
)

// known is the point-in-time rule: an event is known as of asOf iff it
// happened strictly before asOf (dates at their midnight UTC, contacts at
// SentAt).
func known(ev data.Event, asOf time.Time) bool { return ev.At.Before(asOf) }

// leakResolution is false in real builds; see leak_resolution.go.
const leakResolution = false
