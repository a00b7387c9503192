// Package train is where features meet models: it turns a feature table
// (features.Build over a data.Store) into late-payment and payment-timing
// models, evaluates them on a time-ordered test window and builds artifacts
// ready for the registry. The CLI (`duesight train`, `evaluate`, `model fit`)
// and tests call it; the serving path only loads the artifacts it produces.
//
// The protocol, by default:
//  1. rows = one per invoice as of its issue date (features.SnapshotIssue),
//     labelled at the horizon; rows whose label is unknown (unpaid, not yet
//     due + grace at the horizon) are left out and counted;
//  2. time-ordered split by issue date: train (oldest 70%), validation
//     (next 15%), test (newest 15%); no issue date straddles two sets;
//  3. fit on train (gbdt early-stops on validation log loss);
//  4. calibrate on validation (isotonic by default);
//  5. report every metric on test, with and without calibration;
//  6. fit the weekly-hazard payment-timing model on the train rows
//     (censored rows contribute their observed weeks) and link it to the
//     late-payment artifact with the param "timing_model".
//
// FitTable fits the same learners on any table (`duesight model fit`):
// ReadTable reads a CSV or Parquet file with the column roles the file
// marks (features.Role), TableDataset keeps only feature columns — never
// keys, dates, text or label-derived outcomes — and CheckLeaks flags
// single columns that separate the label almost perfectly.
//
// This package may import data, features and the model packages; model
// packages other than this one must not import data or features.
package train
