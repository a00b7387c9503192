// Package gbdt is duesight's histogram gradient-boosted decision tree learner:
// the main late-payment model. It trains binary log-loss (probability that an
// invoice is paid late), multiclass softmax (late buckets) and squared-error
// regression (expected days late) ensembles, scores them quickly, explains
// them with exact TreeSHAP contributions, serializes them deterministically
// and imports models saved by XGBoost ≥ 1.7 as JSON.
//
// # Data layout
//
// Training input is column-major: X[j][i] is feature j of row i, NaN means
// missing. Labels, optional weights and optional feature names travel in a
// [Dataset]. Prediction accepts a single row, a column-major batch or a
// row-major batch.
//
// # Algorithm
//
// Each feature is cut into at most [Params.MaxBin] quantile bins (uint8) plus
// one dedicated missing bin. A tree is grown depthwise or loss-guided from
// per-node gradient histograms; the histogram of the smaller child is built
// from its rows and its sibling's is derived by subtraction from the parent.
// With gradient g, hessian h, sums G and H over a node, L2 penalty λ and L1
// penalty α, the optimal leaf weight is w* = -T(G)/(H+λ) with
// T(G) = sign(G)·max(|G|-α, 0), and a split's loss change is
//
//	T(G_L)²/(H_L+λ) + T(G_R)²/(H_R+λ) - T(G)²/(H+λ)
//
// (the XGBoost convention: twice the decrease of the regularised objective).
// A split is kept when its loss change exceeds max(γ, 1e-6) and both children
// hold hessian ≥ MinChildWeight. Missing values are routed to whichever side
// scored better at that split (the "default direction"). Monotone
// constraints bound leaf weights as XGBoost does. Work is split into
// fixed-size row blocks whose partial histograms are summed in block order,
// so a model depends only on the data, the parameters and the seed — not on
// the number of threads or on goroutine scheduling.
//
// Scoring uses a flattened array of 16-byte nodes. Batch prediction moves
// blocks of rows one tree level at a time with branch-free steps; missing
// values are handled by scoring a doubled row in which NaN reads as −∞ or
// +∞ depending on each node's default direction (see node).
//
// # Comparison with XGBoost
//
// TestCompareXGBoost (compare_test.go, with testdata/compare_xgboost.py)
// trains this package and XGBoost 1.7 (tree_method=hist) on the same CSV in
// the same run and prints test AUC, log loss, train time and batch-predict
// rows/s for both, with ratios:
//
//	DUESIGHT_COMPARE_XGBOOST=1 go test ./model/gbdt -run CompareXGBoost -v -timeout 60m
//	DUESIGHT_COMPARE_XGBOOST=1 DUESIGHT_COMPARE_TRAIN=train.csv DUESIGHT_COMPARE_TEST=test.csv \
//	    DUESIGHT_COMPARE_LABEL=paid_late go test ./model/gbdt -run CompareXGBoost -v -timeout 60m
//
// Without CSV files it generates a synthetic 250k-row invoice table.
//
// # Imports
//
// This package imports only the standard library. The histogram kernel
// (accumulate) is SSE2 assembly on amd64 and unsafe-pointer Go elsewhere;
// its index invariants are documented there and both are tested against a
// bounds-checked loop. It must
// not import duesight's data or model packages (the model package wraps
// this one), nor any third-party module; keep it that way so the learner
// can be vendored and benchmarked on its own.
package gbdt
