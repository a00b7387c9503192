package gbdt_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/duesight/duesight/model/gbdt"
)

// peerPython is Debian's interpreter, the one that sees python3-xgboost.
const peerPython = "/usr/bin/python3"

// requireXGBoost skips the test when XGBoost cannot be imported, or fails it
// when DUESIGHT_REQUIRE_PEERS=1.
func requireXGBoost(t testing.TB) {
	t.Helper()
	out, err := exec.Command(peerPython, "-c", "import xgboost; print(xgboost.__version__)").CombinedOutput()
	if err == nil {
		return
	}
	msg := fmt.Sprintf("%s cannot import xgboost: %v: %s", peerPython, err, bytes.TrimSpace(out))
	if os.Getenv("DUESIGHT_REQUIRE_PEERS") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, s, err)
	}
	return v
}

func envFloat(t *testing.T, name string, def float64) float64 {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, s, err)
	}
	return v
}

type xgbResult struct {
	Version        string  `json:"xgboost_version"`
	TrainSeconds   float64 `json:"train_seconds"`
	TrainCPU       float64 `json:"train_cpu_seconds"`
	PredictCPU     float64 `json:"predict_cpu_seconds"`
	OMPWait        string  `json:"omp_wait_policy"`
	DMatrixSeconds float64 `json:"dmatrix_seconds"`
	PredictSeconds float64 `json:"predict_seconds"`
	RowsPerSecond  float64 `json:"rows_per_second"`
	AUC            float64 `json:"auc"`
	LogLoss        float64 `json:"logloss"`
}

type compareRun struct {
	goTrain, xgbTrain       float64 // seconds
	goTrainCPU, xgbTrainCPU float64 // CPU seconds
	goPredCPU, xgbPredCPU   float64 // CPU seconds per test set
	goRowsPerS, xgbRowsPerS float64
	goAUC, xgbAUC           float64
	goLogLoss, xgbLogLoss   float64
}

// TestCompareXGBoost trains duesight's GBDT and XGBoost (hist) side by side
// on the same train/test CSV and reports quality and speed with ratios.
//
//	DUESIGHT_COMPARE_XGBOOST=1      enable (the test is skipped otherwise)
//	DUESIGHT_COMPARE_TRAIN, _TEST   CSV files with a header (default: synthetic data)
//	DUESIGHT_COMPARE_LABEL          label column (default "label"; 0/1 values)
//	DUESIGHT_COMPARE_ROWS           synthetic rows, 80% train / 20% test (default 250000)
//	DUESIGHT_COMPARE_ROUNDS, _DEPTH, _ETA, _MCW, _LAMBDA, _MAXBIN, _NTHREAD
//	                                hyper-parameters for both (200, 6, 0.1, 1, 1, 256, 2)
//	DUESIGHT_COMPARE_REPEAT         repetitions; medians are reported (default 3)
//	DUESIGHT_COMPARE_STRICT=1       also fail when a speed goal is missed
//	DUESIGHT_COMPARE_OMP_WAIT       OMP_WAIT_POLICY for XGBoost (default PASSIVE;
//	                                "default" leaves it unset). With the default
//	                                ACTIVE policy XGBoost's OpenMP threads spin at
//	                                barriers, which on a shared, oversubscribed
//	                                machine made it 2–3× slower; PASSIVE is its
//	                                better setting there.
//
// The AUC goal (duesight ≥ XGBoost − 0.002) always fails the test when
// missed. Both sides' test-set metrics are computed by the same Go code
// from the predictions.
func TestCompareXGBoost(t *testing.T) {
	if os.Getenv("DUESIGHT_COMPARE_XGBOOST") != "1" {
		t.Skip("set DUESIGHT_COMPARE_XGBOOST=1 to compare against XGBoost")
	}
	requireXGBoost(t)
	dir := t.TempDir()
	label := os.Getenv("DUESIGHT_COMPARE_LABEL")
	if label == "" {
		label = "label"
	}
	trainCSV, testCSV := os.Getenv("DUESIGHT_COMPARE_TRAIN"), os.Getenv("DUESIGHT_COMPARE_TEST")
	if (trainCSV == "") != (testCSV == "") {
		t.Fatal("set both DUESIGHT_COMPARE_TRAIN and DUESIGHT_COMPARE_TEST, or neither")
	}
	if trainCSV == "" {
		n := envInt(t, "DUESIGHT_COMPARE_ROWS", 250000)
		X, y := synthInvoices(n, 20240601)
		split := n * 4 / 5
		trainCSV, testCSV = filepath.Join(dir, "train.csv"), filepath.Join(dir, "test.csv")
		if err := writeCSV(trainCSV, synthNames, label, sliceRows(X, 0, split), y[:split]); err != nil {
			t.Fatal(err)
		}
		if err := writeCSV(testCSV, synthNames, label, sliceRows(X, split, n), y[split:]); err != nil {
			t.Fatal(err)
		}
	}
	names, Xtr, ytr, err := readCSV(trainCSV, label)
	if err != nil {
		t.Fatal(err)
	}
	_, Xte, yte, err := readCSV(testCSV, label)
	if err != nil {
		t.Fatal(err)
	}
	p := gbdt.DefaultParams()
	p.NumRounds = envInt(t, "DUESIGHT_COMPARE_ROUNDS", 200)
	p.MaxDepth = envInt(t, "DUESIGHT_COMPARE_DEPTH", 6)
	p.Eta = envFloat(t, "DUESIGHT_COMPARE_ETA", 0.1)
	p.MinChildWeight = envFloat(t, "DUESIGHT_COMPARE_MCW", 1)
	p.Lambda = envFloat(t, "DUESIGHT_COMPARE_LAMBDA", 1)
	p.MaxBin = envInt(t, "DUESIGHT_COMPARE_MAXBIN", 256)
	p.NThread = envInt(t, "DUESIGHT_COMPARE_NTHREAD", 2)
	pos := 0.0
	for _, v := range ytr {
		pos += v
	}
	p.BaseScore = pos / float64(len(ytr)) // what XGBoost is given too
	repeat := envInt(t, "DUESIGHT_COMPARE_REPEAT", 3)
	t.Logf("data: %d train rows, %d test rows, %d features; rounds=%d depth=%d eta=%g mcw=%g lambda=%g max_bin=%d nthread=%d base_score=%.6f",
		len(ytr), len(yte), len(names), p.NumRounds, p.MaxDepth, p.Eta, p.MinChildWeight, p.Lambda, p.MaxBin, p.NThread, p.BaseScore)

	var runs []compareRun
	for rep := range repeat {
		var r compareRun
		load := loadAvg()
		start, c0 := time.Now(), cpuTime()
		m, err := gbdt.Train(context.Background(), gbdt.Dataset{X: Xtr, Y: ytr, FeatureNames: names}, nil, p)
		if err != nil {
			t.Fatal(err)
		}
		r.goTrain, r.goTrainCPU = time.Since(start).Seconds(), (cpuTime() - c0).Seconds()
		var pred []float64
		best := 1e300
		r.goPredCPU = 1e300
		for range 6 { // XGBoost's side also takes the best of 6 timed calls
			start, c0 = time.Now(), cpuTime()
			pred, err = m.PredictColumns(pred, Xte, gbdt.PredictOptions{Threads: p.NThread})
			if err != nil {
				t.Fatal(err)
			}
			best = min(best, time.Since(start).Seconds())
			r.goPredCPU = min(r.goPredCPU, (cpuTime() - c0).Seconds())
		}
		r.goRowsPerS = float64(len(yte)) / best
		r.goAUC, r.goLogLoss = refAUC(yte, pred), refLogLoss(yte, pred)

		predFile := filepath.Join(dir, fmt.Sprintf("xgb_pred_%d.txt", rep))
		cmd := exec.Command(peerPython, filepath.Join("testdata", "compare_xgboost.py"),
			"--train", trainCSV, "--test", testCSV, "--label", label,
			"--rounds", strconv.Itoa(p.NumRounds), "--max-depth", strconv.Itoa(p.MaxDepth),
			"--eta", fmt.Sprint(p.Eta), "--min-child-weight", fmt.Sprint(p.MinChildWeight),
			"--lambda", fmt.Sprint(p.Lambda), "--max-bin", strconv.Itoa(p.MaxBin),
			"--nthread", strconv.Itoa(p.NThread), "--base-score", fmt.Sprint(p.BaseScore),
			"--out", predFile)
		omp := os.Getenv("DUESIGHT_COMPARE_OMP_WAIT")
		switch omp {
		case "":
			omp = "PASSIVE"
			fallthrough
		default:
			cmd.Env = append(os.Environ(), "OMP_WAIT_POLICY="+omp)
		case "default":
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("compare_xgboost.py: %v\n%s", err, stderr.String())
		}
		var xr xgbResult
		if err := json.Unmarshal(out, &xr); err != nil {
			t.Fatalf("compare_xgboost.py output %q: %v", out, err)
		}
		xpred, err := readFloats(predFile)
		if err != nil {
			t.Fatal(err)
		}
		if len(xpred) != len(yte) {
			t.Fatalf("xgboost wrote %d predictions for %d test rows", len(xpred), len(yte))
		}
		r.xgbTrain, r.xgbRowsPerS = xr.TrainSeconds, xr.RowsPerSecond
		r.xgbTrainCPU, r.xgbPredCPU = xr.TrainCPU, xr.PredictCPU
		r.xgbAUC, r.xgbLogLoss = refAUC(yte, xpred), refLogLoss(yte, xpred)
		t.Logf("run %d (load %s → %s): duesight train %.3fs (cpu %.3fs) %.0f rows/s (cpu %.4fs) auc %.5f logloss %.5f | xgboost %s OMP_WAIT_POLICY=%q train %.3fs (cpu %.3fs) %.0f rows/s (cpu %.4fs) auc %.5f (sklearn %.5f) logloss %.5f",
			rep, load, loadAvg(), r.goTrain, r.goTrainCPU, r.goRowsPerS, r.goPredCPU, r.goAUC, r.goLogLoss,
			xr.Version, xr.OMPWait, r.xgbTrain, r.xgbTrainCPU, r.xgbRowsPerS, r.xgbPredCPU, r.xgbAUC, xr.AUC, r.xgbLogLoss)
		runs = append(runs, r)
	}
	med := func(f func(compareRun) float64) float64 {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	trainRatio := med(func(r compareRun) float64 { return r.goTrain / r.xgbTrain })
	predRatio := med(func(r compareRun) float64 { return r.goRowsPerS / r.xgbRowsPerS })
	goAUC, xgbAUC := med(func(r compareRun) float64 { return r.goAUC }), med(func(r compareRun) float64 { return r.xgbAUC })
	var b strings.Builder
	fmt.Fprintf(&b, "median of %d runs:\n", len(runs))
	fmt.Fprintf(&b, "  %-22s %12s %12s %10s\n", "", "duesight", "xgboost", "ratio")
	fmt.Fprintf(&b, "  %-22s %12.5f %12.5f %+10.5f (diff)\n", "test AUC", goAUC, xgbAUC, goAUC-xgbAUC)
	fmt.Fprintf(&b, "  %-22s %12.5f %12.5f %+10.5f (diff)\n", "test log loss",
		med(func(r compareRun) float64 { return r.goLogLoss }), med(func(r compareRun) float64 { return r.xgbLogLoss }),
		med(func(r compareRun) float64 { return r.goLogLoss - r.xgbLogLoss }))
	fmt.Fprintf(&b, "  %-22s %12.3f %12.3f %10.3f (go/xgb, per-run median)\n", "train seconds",
		med(func(r compareRun) float64 { return r.goTrain }), med(func(r compareRun) float64 { return r.xgbTrain }), trainRatio)
	fmt.Fprintf(&b, "  %-22s %12.3f %12.3f %10.3f (go/xgb, per-run median)\n", "train CPU seconds",
		med(func(r compareRun) float64 { return r.goTrainCPU }), med(func(r compareRun) float64 { return r.xgbTrainCPU }),
		med(func(r compareRun) float64 { return r.goTrainCPU / r.xgbTrainCPU }))
	fmt.Fprintf(&b, "  %-22s %12.0f %12.0f %10.3f (go/xgb, per-run median)\n", "predict rows/s",
		med(func(r compareRun) float64 { return r.goRowsPerS }), med(func(r compareRun) float64 { return r.xgbRowsPerS }), predRatio)
	fmt.Fprintf(&b, "  %-22s %12.4f %12.4f %10.3f (go/xgb, per-run median)\n", "predict CPU seconds",
		med(func(r compareRun) float64 { return r.goPredCPU }), med(func(r compareRun) float64 { return r.xgbPredCPU }),
		med(func(r compareRun) float64 { return r.goPredCPU / r.xgbPredCPU }))
	goal := func(ok bool) string {
		if ok {
			return "met"
		}
		return "MISSED"
	}
	fmt.Fprintf(&b, "  goals: AUC ≥ xgb−0.002 %s; train ≤ 1.0× %s; predict ≥ 1.0× %s",
		goal(goAUC >= xgbAUC-0.002), goal(trainRatio <= 1), goal(predRatio >= 1))
	t.Log(b.String())
	if goAUC < xgbAUC-0.002 {
		t.Errorf("AUC goal missed: duesight %.5f < xgboost %.5f − 0.002", goAUC, xgbAUC)
	}
	if os.Getenv("DUESIGHT_COMPARE_STRICT") == "1" && (trainRatio > 1 || predRatio < 1) {
		t.Errorf("speed goal missed: train ratio %.3f (want ≤ 1), predict ratio %.3f (want ≥ 1)", trainRatio, predRatio)
	}
}

// loadAvg returns the 1-minute load average ("?" if unknown).
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

// readFloats reads one float per line.
func readFloats(path string) ([]float64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []float64
	for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		v, err := strconv.ParseFloat(strings.TrimSpace(line), 64)
		if err != nil {
			return nil, fmt.Errorf("%s: line %d: %w", path, i+1, err)
		}
		out = append(out, v)
	}
	return out, nil
}
