// Package logreg is duesight's explainable late-payment scorer: L2-penalised
// logistic regression fitted with L-BFGS (gonum.org/v1/gonum/optimize) on
// standardised features, with an unpenalised intercept, sample and class
// weights, mean imputation of missing values and optional missing-value
// indicator columns. Explanations are exact: logit(P(late)) equals the
// intercept plus the sum of per-feature contributions (coefficient ×
// standardised value). The kind "logreg" is registered with package model so
// artifacts decode after a blank import.
//
// The exported [Scaler] (standardisation with imputation and indicators) is
// shared with model/timing.
//
// Import rules: standard library, gonum, and duesight's model package only.
// It must not import data, features, golearn or any other model/...
// implementation package.
package logreg
