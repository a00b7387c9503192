// Package forest wraps golearn's random forest as a COMPARISON BASELINE
// (kind "golearn-forest-baseline"). It is not a production scorer: golearn's
// trees are slow (about 5 minutes for 100k rows × 20 features on this
// project's 2-core machines) and weaker than gradient boosting (model/gbdt),
// so Fit refuses more than MaxRows rows unless Params.Force is set. Use it on
// samples to sanity-check the main models.
//
// Training: each tree is a golearn ID3 tree (trees.ID3DecisionTree, no
// pruning) fitted on a bootstrap sample of the rows restricted to a random
// subset of FeaturesPerTree features — the random forest that golearn's
// ensemble.RandomForest builds — but the bagging, the split search and one
// stopping rule are this package's, because golearn's are wrong:
//
//   - Bagging. meta.BaggedModel draws each tree's sample with
//     base.SampleWithReplacement, an InstancesView whose Get maps view row i
//     to a random source row but whose MapOverRows ignores that mapping and
//     walks the source rows. The information-gain scan reads feature values
//     through MapOverRows and classes through Get, so at the root every
//     value is paired with the label of another, random row: the root split
//     is chosen on noise, and the split feature is then removed from the
//     subtree (ID3 uses a feature once per path). With one informative
//     feature the forest learned nothing (P(late) ≈ 0.5 for every row); with
//     several, the remaining ones carried it. Fit draws the sample and the
//     feature subset itself and materialises them as DenseInstances.
//   - Split search. InformationGainRuleGenerator's threshold scan advances
//     its loop index in both of its loops: on values with repeats it skips
//     candidate thresholds and returns threshold v for the partition x < v,
//     which the tree applies as x ≤ v. splitRule scans every midpoint
//     between adjacent distinct values (golearn's RuleGenerator interface).
//   - Depth. InferID3Tree makes a leaf when two attributes remain (the class
//     and one feature), so a tree never splits on its last feature and a
//     one-feature tree never splits. Every tree's instances carry a constant
//     padding attribute that splitRule never picks.
//
// golearn's ensemble package is not imported either: it links cgo/C++
// liblinear bindings (ensemble/multisvc.go) into every binary. golearn's
// LogisticRegression is deliberately not used (it panics unless cgo pointer
// checks are disabled and silently zeroes negative features at predict time).
// TestGolearnDefectsStillPresent fails when a golearn upgrade fixes one of
// the defects above, so the workaround can go.
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
// Reproducibility: every random choice comes from math/rand/v2 PCG
// generators seeded with (Params.Seed, tree index) — never from math/rand's
// global source, which golearn's bagging uses and which cannot be seeded
// since Go 1.24 (rand.Seed is a no-op). Trees are fitted concurrently, but
// each from its own generator, so equal data, Params and Seed give a
// byte-identical artifact whatever GOMAXPROCS.
//
// Missing values (NaN) are imputed with the training mean of the feature
// (golearn cannot represent them); sample weights are not supported.
//
// Import rules: standard library, golearn (base, trees) and duesight's
// model package only. It must not import golearn/ensemble or
// golearn/linear_models (cgo), data or features.
package forest
