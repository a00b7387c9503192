package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestTrainEvaluateModelsFlow runs the analyst's loop on a small generated
// history: train two kinds, list, evaluate against the truth, export features,
// fit the exported table, activate, roll back, compact.
func TestTrainEvaluateModelsFlow(t *testing.T) {
	chdir(t)
	mustCLI(t, nil, "gen", "--accounts", "150", "--to", "2025-06-01", "--seed", "3")
	var tr struct {
		Models []struct {
			Kind, Version, TimingVersion string
			Test                         struct{ AUC float64 } `json:"test"`
		} `json:"models"`
		Active string `json:"active"`
	}
	out := mustCLI(t, nil, "train", "--kind", "gbdt,logreg", "--param", "gbdt.num_round=60", "--format", "json")
	if err := json.Unmarshal([]byte(out), &tr); err != nil || len(tr.Models) != 2 {
		t.Fatalf("train output %s: %v", out, err)
	}
	for _, m := range tr.Models {
		if m.Test.AUC < 0.65 || m.Test.AUC > 1 {
			t.Errorf("%s test AUC %.3f", m.Kind, m.Test.AUC)
		}
	}
	gbdtV, logregV := tr.Models[0].Version, tr.Models[1].Version
	if tr.Active != gbdtV || !strings.HasPrefix(gbdtV, "gbdt-") || !strings.HasPrefix(logregV, "logreg-") {
		t.Fatalf("versions %s %s, active %s", gbdtV, logregV, tr.Active)
	}
	// A second train does not change the active model (auto activates only the first time).
	mustCLI(t, nil, "train", "--kind", "logreg", "--param", "l2=5")
	var list []struct {
		Version string
		Kind    string
		Active  bool
	}
	if err := json.Unmarshal([]byte(mustCLI(t, nil, "models", "list", "--format", "json")), &list); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range list {
		kinds = append(kinds, e.Kind)
		if e.Active != (e.Version == gbdtV) {
			t.Errorf("models list: %s active=%v", e.Version, e.Active)
		}
	}
	if len(list) != 4 { // gbdt, logreg, logreg (l2=5), and one shared timing model
		t.Fatalf("models list has %d entries %v; want 4", len(list), kinds)
	}

	// A model trained with an earlier horizon was tested on another window:
	// models list marks its test AUC as not comparable with the others.
	mustCLI(t, nil, "train", "--kind", "logreg", "--as-of", "2025-03-01", "--no-timing")
	var list2 []struct {
		Version    string
		Kind       string
		Group      string                             `json:"comparable_group"`
		TestWindow struct{ From, To, Horizon string } `json:"test_window"`
	}
	if err := json.Unmarshal([]byte(mustCLI(t, nil, "models", "list", "--format", "json")), &list2); err != nil {
		t.Fatal(err)
	}
	groups := map[string]int{}
	for _, e := range list2 {
		if e.Kind != "weekly-hazard" {
			if e.Group == "" || e.TestWindow.From == "" || e.TestWindow.Horizon == "" {
				t.Errorf("%s: no test window: %+v", e.Version, e)
			}
			groups[e.Group]++
		}
	}
	if len(groups) != 2 || groups["A"]*groups["B"] != 3 {
		t.Fatalf("comparable groups %v; want one letter for the three models of the first window, another for the last", groups)
	}
	if text := mustCLI(t, nil, "models", "list", "--format", "text"); !strings.Contains(text, "compare only within one letter") ||
		!strings.Contains(text, "labels as of 2025-03-01") {
		t.Fatalf("models list text:\n%s", text)
	}

	var ev struct {
		Rows   int `json:"rows"`
		Window struct {
			From, To string
			Test     bool `json:"test_window_of_split"`
		} `json:"window"`
		Horizon string `json:"horizon"`
		Truth   struct {
			TrueAUC float64 `json:"true_probability_auc"`
			Models  []struct {
				Name        string
				Correlation float64
			}
		} `json:"truth"`
	}
	out = mustCLI(t, nil, "evaluate", gbdtV, logregV, "--truth", "duesight-truth.jsonl.gz", "--format", "json")
	if err := json.Unmarshal([]byte(out), &ev); err != nil || ev.Rows == 0 || len(ev.Truth.Models) != 2 {
		t.Fatalf("evaluate output %s: %v", out, err)
	}
	if !ev.Window.Test || ev.Window.From == "" || ev.Window.From > ev.Window.To || !strings.HasPrefix(ev.Horizon, "2025-06-0") {
		t.Errorf("evaluate does not state its window and horizon: %+v %q", ev.Window, ev.Horizon)
	}
	if text := mustCLI(t, nil, "evaluate", gbdtV, "--window", "2024-06-01..2025-01-01", "--format", "text"); !strings.Contains(text, "issued 2024-06-") ||
		!strings.Contains(text, "labels as of 2025-06-0") || !strings.Contains(text, "overlapping this window") {
		t.Errorf("evaluate --window text:\n%s", text)
	}
	if ev.Truth.TrueAUC < 0.75 || ev.Truth.Models[0].Correlation < 0.5 {
		t.Errorf("truth comparison implausible: %+v", ev.Truth)
	}
	if _, err := cli(t, nil, "evaluate", "gbdt-0000000000000000"); err == nil {
		t.Error("evaluate of an unknown version succeeded")
	}

	var cat struct {
		Features []struct{ Name string } `json:"features"`
	}
	if err := json.Unmarshal([]byte(mustCLI(t, nil, "features", "list", "--format", "json")), &cat); err != nil || len(cat.Features) < 60 {
		t.Fatalf("features list: %d features, %v", len(cat.Features), err)
	}
	mustCLI(t, nil, "features", "export", "table.parquet")
	mustCLI(t, nil, "features", "export", "table.csv")
	if _, err := cli(t, nil, "features", "export", "table.xlsx"); err == nil {
		t.Error("export to .xlsx accepted")
	}
	for _, table := range []string{"table.csv", "table.parquet"} {
		var fit struct {
			Rows   int `json:"rows"`
			Models []struct {
				Test struct{ AUC float64 } `json:"test"`
			} `json:"models"`
		}
		out = mustCLI(t, nil, "model", "fit", "--table", table, "--label", "late", "--time", "issue_date",
			"--param", "num_round=60", "--out", "fit.json", "--format", "json")
		if err := json.Unmarshal([]byte(out), &fit); err != nil || fit.Rows == 0 || fit.Models[0].Test.AUC < 0.65 {
			t.Fatalf("model fit %s: %s %v", table, out, err)
		}
	}
	if _, err := os.Stat("fit.json"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli(t, nil, "model", "fit", "--table", "table.csv", "--label", "nope"); err == nil || !strings.Contains(err.Error(), `no column "nope"`) {
		t.Errorf("missing label column: %v", err)
	}

	mustCLI(t, nil, "models", "activate", logregV)
	if out := mustCLI(t, nil, "models", "rollback", "--format", "json"); !strings.Contains(out, gbdtV) {
		t.Fatalf("rollback: %s; want %s active again", out, gbdtV)
	}
	if _, err := cli(t, nil, "models", "activate", "nope"); err == nil {
		t.Error("activating an unknown version succeeded")
	}
	mustCLI(t, nil, "compact")
	if n := countAccounts(t, DefaultStore); n != 150 {
		t.Fatalf("after compact %d accounts", n)
	}
}
