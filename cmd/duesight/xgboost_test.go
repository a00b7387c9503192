package main

import (
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/duesight/duesight/features"
	"github.com/duesight/duesight/model/train"
)

// xgbPython is Debian's interpreter, the only one that sees python3-xgboost.
const xgbPython = "/usr/bin/python3"

func requireXGBoost(t *testing.T) {
	t.Helper()
	if err := exec.Command(xgbPython, "-c", "import xgboost, pandas").Run(); err != nil {
		if os.Getenv("DUESIGHT_REQUIRE_PEERS") == "1" {
			t.Fatalf("python3-xgboost is required (DUESIGHT_REQUIRE_PEERS=1): %v", err)
		}
		t.Skip("python3-xgboost not installed")
	}
}

// TestImportXGBoostModel: an analyst trains XGBoost in Python on duesight's
// exported feature table under other feature names, and deploys it with
// `duesight models import-xgboost --feature-map`; the registered model must
// score like xgboost itself (to 1e-6).
func TestImportXGBoostModel(t *testing.T) {
	requireXGBoost(t)
	dir := chdir(t)
	mustCLI(t, nil, "gen", "--accounts", "80", "--to", "2025-06-01", "--truth", "")
	mustCLI(t, nil, "features", "export", "table.csv")
	names := features.Names()
	if err := os.WriteFile("names.txt", []byte(strings.Join(names, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `
import sys, numpy as np, pandas as pd, xgboost as xgb
names = open("names.txt").read().split("\n")
df = pd.read_csv("table.csv", na_values=[""], keep_default_na=True)
df = df[df["late"].notna()]
X = df[names].to_numpy(dtype=np.float64)
renamed = ["f%d" % i for i in range(len(names))]
d = xgb.DMatrix(X, label=df["late"].to_numpy(), feature_names=renamed, missing=np.nan)
bst = xgb.train({"objective": "binary:logistic", "max_depth": 4, "eta": 0.3, "tree_method": "hist", "nthread": 1}, d, 25)
bst.save_model("xgb.json")
np.savetxt("xgb_pred.txt", bst.predict(d), fmt="%.17g")
df[names].to_csv("rows.csv", index=False, na_rep="")
with open("map.txt", "w") as f:
    for a, b in zip(renamed, names):
        f.write(a + " " + b + "\n")
`
	if out, err := exec.Command(xgbPython, "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("xgboost: %v\n%s", err, out)
	}
	// Without the map the names do not match duesight's catalog: refused.
	if _, err := cli(t, nil, "models", "import-xgboost", "xgb.json"); err == nil || !strings.Contains(err.Error(), "feature catalog") {
		t.Fatalf("import without a feature map: err = %v", err)
	}
	out := mustCLI(t, nil, "models", "import-xgboost", "xgb.json", "--feature-map", "map.txt", "--format", "text")
	version := strings.Fields(strings.TrimPrefix(out, "registered "))[0]

	ctx := context.Background()
	reg, err := (&app{now: time.Now}).openRegistry(ctx, filepath.Join(dir, DefaultModels))
	if err != nil {
		t.Fatal(err)
	}
	art, err := reg.Get(ctx, version, train.Schema())
	if err != nil {
		t.Fatal(err)
	}
	m, err := art.Model()
	if err != nil {
		t.Fatal(err)
	}
	rows, err := train.ReadTable(ctx, "rows.csv", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var cols [][]float64
	for _, c := range rows.Columns {
		cols = append(cols, c.Values)
	}
	got := make([]float64, len(cols[0]))
	if err := m.PredictBatch(cols, got); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("xgb_pred.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Fields(string(b))
	if len(want) != len(got) || len(got) < 500 {
		t.Fatalf("%d xgboost predictions for %d rows", len(want), len(got))
	}
	var worst float64
	for i, s := range want {
		w, _ := strconv.ParseFloat(s, 64)
		worst = max(worst, math.Abs(got[i]-w))
	}
	t.Logf("%d rows: max |duesight − xgboost| = %.3g", len(got), worst)
	if worst > 1e-6 {
		t.Fatalf("imported model scores differ from xgboost's by up to %g", worst)
	}
}
