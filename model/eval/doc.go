// Package eval measures late-payment models: time-ordered (default) or
// seeded random train/validation/test splits, with an option to keep each
// group (account) on one side of a random split; ranking metrics (ROC AUC
// with ties, average precision), probability metrics (log loss, Brier score,
// expected calibration error and the reliability table), operational metrics
// (lift and capture in the top 10 % and 20 % of scores, the confusion matrix
// and per-class precision/recall/F1 at a threshold, via golearn's
// evaluation package), timing metrics (MAE of days late, coverage of
// predicted intervals), and side-by-side comparison tables as aligned text
// or JSON.
//
// Import rules: standard library, gonum (stat, integrate), golearn's
// evaluation package and duesight's model package only. It must not import
// data, features or any model implementation package.
package eval
