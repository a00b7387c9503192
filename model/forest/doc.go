// Package forest wraps golearn's random forest as a COMPARISON BASELINE
// (kind "golearn-forest-baseline"). It is not a production scorer: golearn's
// trees are slow (about 5 minutes for 100k rows × 20 features on this
// project's 2-core machines) and weaker than gradient boosting (model/gbdt),
// so Fit refuses more than MaxRows rows unless Params.Force is set. Use it on
// samples to sanity-check the main models.
//
// Training is golearn's algorithm exactly as ensemble.RandomForest builds
// it — a meta.BaggedModel of unpruned ID3 trees (trees.NewID3DecisionTree(0))
// with a random subset of FeaturesPerTree features per tree and a bootstrap
// sample per tree — but assembled from golearn's meta and trees packages
// directly, because importing golearn/ensemble links its cgo/C++ liblinear
// bindings (ensemble/multisvc.go) into every binary. golearn's
// LogisticRegression is deliberately not used (it panics unless cgo pointer
// checks are disabled and silently zeroes negative features at predict time).
//
// After fitting, every ID3 tree is converted to a plain threshold tree, so
// prediction, explanation and the artifact payload do not depend on golearn.
// Probabilities are the mean over trees of each tree's leaf class frequency
// (the fraction of late rows of the bootstrap sample that reached the leaf),
// not vote fractions. Explanations are Saabas path attributions in
// probability units: along each tree's path, the change in leaf-frequency
// at each split is credited to the split feature, averaged over trees, so the
// forest's mean root frequency plus all contributions equals the prediction.
//
// Reproducibility: golearn draws bootstrap samples and feature subsets from
// math/rand's global source, which cannot be seeded since Go 1.24 (rand.Seed
// is a no-op), and fits trees in concurrent goroutines. Two fits on the same
// data therefore give different forests; there is no seed parameter. What is
// deterministic: predictions and explanations of a fitted model, and its
// artifact encoding (byte-identical across encode/decode round trips).
//
// Missing values (NaN) are imputed with the training mean of the feature
// (golearn cannot represent them); sample weights are not supported.
//
// Import rules: standard library, golearn (base, meta, trees) and duesight's
// model package only. It must not import golearn/ensemble or
// golearn/linear_models (cgo), data or features.
package forest
