package gbdt_test

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/duesight/duesight/model/gbdt"
)

// importData makes a small table whose float64 values carry more precision
// than float32 (so XGBoost's float32 rounding matters at split points) and
// whose columns 1 and 4 are 20% missing.
func importData(n int, seed uint64, obj string, K int) ([]string, [][]float64, []float64) {
	rng := rand.New(rand.NewPCG(seed, 99))
	F := 6
	names := []string{"a", "b", "c", "d", "e", "f"}
	X := make([][]float64, F)
	for j := range X {
		X[j] = make([]float64, n)
	}
	y := make([]float64, n)
	for i := range n {
		for j := range F {
			v := rng.NormFloat64()
			if j == 2 {
				v = math.Exp(3 * v) // heavy tail
			}
			if j == 5 {
				v = float64(rng.IntN(5))
			}
			if (j == 1 || j == 4) && rng.Float64() < 0.2 {
				v = math.NaN()
			}
			X[j][i] = v
		}
		z := X[0][i] + 0.5*X[3][i]*X[5][i]
		if !math.IsNaN(X[1][i]) {
			z -= X[1][i]
		} else {
			z += 0.7
		}
		z += 0.2 * math.Log1p(X[2][i])
		switch obj {
		case "binary:logistic":
			if rng.Float64() < 1/(1+math.Exp(-z)) {
				y[i] = 1
			}
		case "multi:softprob":
			y[i] = float64(min(K-1, max(0, int(math.Floor(z+rng.NormFloat64()*0.5+1.5)))))
		default:
			y[i] = 10*z + rng.NormFloat64()
		}
	}
	return names, X, y
}

// TestImportXGBoostJSON trains XGBoost 1.7 (Debian's, through
// /usr/bin/python3), imports its JSON model, and checks that predictions,
// margins and TreeSHAP contributions match XGBoost's own on every row.
func TestImportXGBoostJSON(t *testing.T) {
	requireXGBoost(t)
	cases := []struct {
		name  string
		obj   string
		K     int
		extra []string
		tol   float64 // on margins, probabilities and contributions, relative to max(1, |x|)
	}{
		{"binary", "binary:logistic", 0, nil, 1e-6},
		{"binary-lossguide", "binary:logistic", 0, []string{"--grow-policy", "lossguide", "--max-leaves", "13", "--max-depth", "0"}, 1e-6},
		{"multiclass", "multi:softprob", 3, nil, 1e-6},
		{"regression", "reg:squarederror", 0, []string{"--base-score", "3.25"}, 1e-6},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			names, X, y := importData(1500, 5, tc.obj, tc.K)
			csv := filepath.Join(dir, "data.csv")
			if err := writeCSV(csv, names, "label", X, y); err != nil {
				t.Fatal(err)
			}
			args := []string{filepath.Join("testdata", "xgb_export.py"), "--data", csv, "--objective", tc.obj, "--out-dir", dir}
			if tc.K > 0 {
				args = append(args, "--num-class", fmt.Sprint(tc.K))
			}
			args = append(args, tc.extra...)
			var stderr bytes.Buffer
			cmd := exec.Command(peerPython, args...)
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("xgb_export.py: %v\n%s", err, stderr.String())
			}
			f, err := os.Open(filepath.Join(dir, "model.json"))
			if err != nil {
				t.Fatal(err)
			}
			m, err := gbdt.ImportXGBoostJSON(f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			K := max(tc.K, 1)
			if m.NumOutputs() != K || m.NumFeatures() != len(names) {
				t.Fatalf("imported %d outputs × %d features, want %d × %d", m.NumOutputs(), m.NumFeatures(), K, len(names))
			}
			wantPred := mustFloats(t, filepath.Join(dir, "pred.txt"))
			wantMargin := mustFloats(t, filepath.Join(dir, "margin.txt"))
			wantContrib := mustFloats(t, filepath.Join(dir, "contribs.txt"))
			n, F := len(y), len(names)
			if len(wantPred) != n*K || len(wantMargin) != n*K || len(wantContrib) != n*K*(F+1) {
				t.Fatalf("xgboost output sizes %d, %d, %d for %d rows", len(wantPred), len(wantMargin), len(wantContrib), n)
			}
			gotPred, err := m.PredictColumns(nil, X, gbdt.PredictOptions{})
			if err != nil {
				t.Fatal(err)
			}
			gotMargin, err := m.PredictColumns(nil, X, gbdt.PredictOptions{Raw: true})
			if err != nil {
				t.Fatal(err)
			}
			var maxPred, maxMargin, maxContrib float64
			row := make([]float64, F)
			var contrib []float64
			for i := range n {
				for j := range F {
					row[j] = X[j][i]
				}
				for k := range K {
					maxPred = math.Max(maxPred, relDiff(gotPred[i*K+k], wantPred[i*K+k]))
					maxMargin = math.Max(maxMargin, relDiff(gotMargin[i*K+k], wantMargin[i*K+k]))
				}
				if contrib, err = m.Contributions(contrib, row); err != nil {
					t.Fatal(err)
				}
				for c := range contrib {
					maxContrib = math.Max(maxContrib, relDiff(contrib[c], wantContrib[i*K*(F+1)+c]))
				}
			}
			t.Logf("%d rows, %d trees: max relative difference to xgboost: predict %.2e, margin %.2e, contributions %.2e",
				n, m.NumTrees(), maxPred, maxMargin, maxContrib)
			if maxPred > tc.tol || maxMargin > tc.tol || maxContrib > tc.tol {
				t.Errorf("differences exceed %g", tc.tol)
			}
		})
	}
}

// relDiff is |a-b| / max(1, |b|).
func relDiff(a, b float64) float64 { return math.Abs(a-b) / math.Max(1, math.Abs(b)) }

func mustFloats(t *testing.T, path string) []float64 {
	t.Helper()
	v, err := readFloats(path)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestImportXGBoostJSONRejectsBadInput(t *testing.T) {
	valid := `{"learner":{"feature_names":[],"gradient_booster":{"model":{"gbtree_model_param":{"num_parallel_tree":"1"},"tree_info":[0],"trees":[{"base_weights":[0,0,0],"default_left":[1,0,0],"left_children":[1,-1,-1],"right_children":[2,-1,-1],"split_indices":[0,0,0],"split_conditions":[0.5,-0.1,0.2],"split_type":[0,0,0],"sum_hessian":[10,4,6],"loss_changes":[3,0,0]}]},"name":"gbtree"},"learner_model_param":{"base_score":"5E-1","num_class":"0","num_feature":"2","num_target":"1"},"objective":{"name":"binary:logistic"}},"version":[1,7,4]}`
	m, err := gbdt.ImportXGBoostJSON(strings.NewReader(valid))
	if err != nil {
		t.Fatalf("valid model: %v", err)
	}
	// Hand check: x0 = 0.7 ≥ 0.5 goes right (0.2); NaN goes left (-0.1).
	for _, c := range []struct {
		x    float64
		want float64
	}{{0.7, 0.2}, {0.3, -0.1}, {math.NaN(), -0.1}} {
		got, err := m.PredictRaw(nil, []float64{c.x, 0})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got[0]-c.want) > 1e-7 { // leaf values are float32
			t.Errorf("x0=%v: margin %v, want %v", c.x, got[0], c.want)
		}
	}
	bad := map[string]string{
		"not json":          `{"learner":`,
		"dart":              strings.Replace(valid, `"name":"gbtree"`, `"name":"dart"`, 1),
		"objective":         strings.Replace(valid, `binary:logistic`, `rank:pairwise`, 1),
		"feature range":     strings.Replace(valid, `"split_indices":[0,0,0]`, `"split_indices":[5,0,0]`, 1),
		"child range":       strings.Replace(valid, `"left_children":[1,-1,-1]`, `"left_children":[7,-1,-1]`, 1),
		"cycle":             strings.Replace(valid, `"left_children":[1,-1,-1]`, `"left_children":[0,-1,-1]`, 1),
		"short array":       strings.Replace(valid, `"sum_hessian":[10,4,6]`, `"sum_hessian":[10,4]`, 1),
		"tree_info":         strings.Replace(valid, `"tree_info":[0]`, `"tree_info":[0,0]`, 1),
		"group range":       strings.Replace(valid, `"tree_info":[0]`, `"tree_info":[3]`, 1),
		"base score":        strings.Replace(valid, `"base_score":"5E-1"`, `"base_score":"2"`, 1),
		"num_feature":       strings.Replace(valid, `"num_feature":"2"`, `"num_feature":"x"`, 1),
		"categorical":       strings.Replace(valid, `"split_type":[0,0,0]`, `"split_type":[1,0,0]`, 1),
		"default_left type": strings.Replace(valid, `"default_left":[1,0,0]`, `"default_left":["x",0,0]`, 1),
	}
	for name, doc := range bad {
		if _, err := gbdt.ImportXGBoostJSON(strings.NewReader(doc)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
