// Package kinds registers every duesight model kind with package model
// (see model.Register). Programs that load or activate artifacts import it
// once, for its side effect:
//
//	import _ "github.com/duesight/duesight/model/kinds" // registers every model kind
//
// It is the one list of kinds: a new kind is added here, not to each
// program. Kinds registered: "gbdt" (model/gbdtkind), "logreg"
// (model/logreg) and "golearn-forest-baseline" (model/forest) — late-payment
// models; "weekly-hazard" (payment timing) and "weekly-hazard-buckets"
// (late buckets) from model/timing.
//
// Import rules: only packages implementing kinds; imported only by
// programs (cmd/...) and tests.
package kinds

import (
	_ "github.com/duesight/duesight/model/forest"   // golearn-forest-baseline
	_ "github.com/duesight/duesight/model/gbdtkind" // gbdt
	_ "github.com/duesight/duesight/model/logreg"   // logreg
	_ "github.com/duesight/duesight/model/timing"   // weekly-hazard, weekly-hazard-buckets
)
