// Package model is duesight's model core: the training-input type
// ([Dataset]), the interfaces every scoring model implements ([Model] for
// binary late/not-late probabilities, [Multiclass] for late buckets, [Timing]
// for payment-timing distributions), the versioned artifact file format
// ([Artifact], [Load], [Decode]) with its registry of kind decoders
// ([Register]), probability calibration attached to a model ([Calibrated]),
// and a crash-safe, multi-process directory registry of artifacts with
// activation history and rollback ([OpenRegistry]).
//
// Conventions shared by all model packages:
//   - Feature matrices are column-major: X[j][i] is feature j of row i.
//   - NaN marks a missing value; ±Inf is rejected.
//   - Probabilities are P(invoice paid late) in [0, 1]; explanations are
//     additive contributions whose unit each implementation documents
//     (log-odds for logistic models, probability for trees).
//   - Time is passed in by the caller; nothing here reads the wall clock.
//
// Kinds registered today, all through model/kinds (the one list, which
// every program imports for its side effect):
//   - late-payment models ([Model]): "gbdt" (model/gbdtkind, the adapter
//     over the standard-library-only learner model/gbdt), "logreg"
//     (model/logreg) and "golearn-forest-baseline" (model/forest, a
//     comparison baseline);
//   - payment timing ([Timing]): "weekly-hazard" (model/timing);
//   - late buckets ([Multiclass]): "weekly-hazard-buckets" (model/timing).
//
// Only late-payment models can be active in a [Registry]: Activate refuses
// anything else (ErrNotLatePayment) and Rollback passes over it. A timing
// model is stored next to the late-payment model that links it and is
// served through that link.
//
// Extending with a new model kind: implement [Predictor] plus one of [Model],
// [Multiclass] or [Timing]; give it a stable kind string (lower-case letters,
// digits, '-') and a deterministic payload encoding (MarshalPayload); in
// the implementing package's init, call Register(kind, decoder) where
// decoder turns the payload back into the value; and add a blank import of
// the package to model/kinds (and the kind to its test). Optionally
// implement [ParamsReporter] so the training parameters are recorded in the
// header. Calibration is not the kind's concern: wrap with [Calibrated] and
// [NewArtifact] stores the calibrator in the header.
//
// Import rules: this package imports only the standard library and
// model/calibrate. It must not import duesight's data or features packages
// (callers convert feature tables into [Dataset]) nor any model
// implementation package (they import this one).
package model
