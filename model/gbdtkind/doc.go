// Package gbdtkind makes a model/gbdt ensemble the duesight model kind
// "gbdt": a binary late-payment probability (model.Model) whose
// explanations are exact TreeSHAP contributions in log-odds. Fit trains
// one on a model.Dataset; Wrap and WrapNamed adapt a trained or imported
// (XGBoost) ensemble. Importing the package registers the kind; programs
// import model/kinds, which registers every kind.
//
// It is a package of its own so that model/gbdt, the learner, keeps
// importing only the standard library. It imports model and model/gbdt
// only.
package gbdtkind
