// Package calibrate maps raw model scores to calibrated probabilities of
// late payment: isotonic regression (pool-adjacent-violators with linear
// interpolation between knots) and Platt scaling (a logistic curve on the
// score's log-odds). Calibrators are fitted on a validation window that the
// model did not train on, are monotone non-decreasing in the score, and
// serialise to a small JSON document ([Marshal], [Unmarshal]) that the model
// artifact embeds.
//
// Import rules: standard library only. It must not import duesight's model
// package (model imports this one), data or features.
package calibrate
