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
// Extending with a new model kind: implement [Predictor] plus one of [Model],
// [Multiclass] or [Timing]; give it a stable kind string (lower-case letters,
// digits, '-') and a deterministic payload encoding (MarshalPayload); and,
// in the implementing package's init, call Register(kind, decoder) where
// decoder turns the payload back into the value. Programs that load
// artifacts must import the implementing package (blank-imported, like
// database/sql drivers). Optionally implement [ParamsReporter] so the
// training parameters are recorded in the header. Calibration is not the
// kind's concern: wrap with [Calibrated] and [NewArtifact] stores the
// calibrator in the header. Kinds registered today: "logreg" (model/logreg),
// "weekly-hazard" and "weekly-hazard-buckets" (model/timing) and
// "golearn-forest-baseline" (model/forest). model/gbdt is to be wrapped the
// same way: a small adapter type in package gbdt (or a sub-package) with
// Kind "gbdt", PredictProba/PredictBatch/Explain over the booster, and
// model.Register("gbdt", …) in its init.
//
// Import rules: this package imports only the standard library and
// model/calibrate. It must not import duesight's data or features packages
// (callers convert feature tables into [Dataset]) nor any model
// implementation package (they import this one).
package model
