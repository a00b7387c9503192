// Package boost makes a model/gbdt ensemble a duesight model kind: "gbdt"
// for binary late-payment probability (model.Model). Explanations are exact
// TreeSHAP contributions in log-odds. Import it (for its registration) in
// every program that loads gbdt artifacts.
//
// It imports model and model/gbdt only; model/gbdt itself stays free of
// duesight packages.
package boost
