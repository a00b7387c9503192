package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/duesight/duesight/model"
)

// TestOnlyLatePaymentModelsBecomeActive: `models activate` refuses the
// payment-timing model that train registers (naming its kind and what can
// be activated), so serve never finds one active; `models rollback` over an
// activation stack written before that check skips the timing model and
// says so.
func TestOnlyLatePaymentModelsBecomeActive(t *testing.T) {
	chdir(t)
	mustCLI(t, nil, "gen", "--accounts", "120", "--to", "2025-06-01", "--seed", "5")
	var tr struct {
		Models []struct {
			Version       string
			TimingVersion string `json:"timing_version"`
		} `json:"models"`
		Active string `json:"active"`
	}
	for _, l2 := range []string{"1", "5"} {
		out := mustCLI(t, nil, "train", "--kind", "logreg", "--param", "l2="+l2, "--activate", "yes", "--format", "json")
		if err := json.Unmarshal([]byte(out), &tr); err != nil || len(tr.Models) != 1 {
			t.Fatalf("train output %s: %v", out, err)
		}
	}
	first, second := "", tr.Models[0].Version
	var list []struct{ Version, Kind string }
	if err := json.Unmarshal([]byte(mustCLI(t, nil, "models", "list", "--format", "json")), &list); err != nil {
		t.Fatal(err)
	}
	for _, e := range list {
		if e.Kind == "logreg" && e.Version != second {
			first = e.Version
		}
	}
	timing := tr.Models[0].TimingVersion
	if first == "" || !strings.HasPrefix(timing, "weekly-hazard-") {
		t.Fatalf("models %+v, timing %q", list, timing)
	}

	_, err := cli(t, nil, "models", "activate", timing)
	if err == nil {
		t.Fatal("models activate accepted the payment-timing model")
	}
	for _, want := range []string{timing, `payment-timing model (kind "weekly-hazard")`, "only late-payment models can be active",
		"late-payment versions in this registry: ", first, second} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("activate error %q does not mention %q", err, want)
		}
	}
	var active struct{ Active string }
	if err := json.Unmarshal([]byte(mustCLI(t, nil, "models", "rollback", "--format", "json")), &active); err != nil || active.Active != first {
		t.Fatalf("rollback: %+v, %v; want %s active (the refused activation left no trace)", active, err, first)
	}

	// A stack from before the check: first, timing, second.
	state := filepath.Join(DefaultModels, "state.json")
	b, err := json.Marshal(map[string]any{"format": 1, "stack": []string{first, timing, second}, "log": []any{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(state, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out := mustCLI(t, nil, "models", "rollback", "--format", "text")
	if !strings.Contains(out, "active model: "+first) || !strings.Contains(out, "skipped "+timing+": not a late-payment model") {
		t.Errorf("rollback output %q; want %s active and %s reported as skipped", out, first, timing)
	}
	var hist []struct {
		Action, Version string
		Skipped         []string
	}
	if err := json.Unmarshal([]byte(mustCLI(t, nil, "models", "history", "--format", "json")), &hist); err != nil || len(hist) != 1 ||
		hist[0].Version != first || !slices.Equal(hist[0].Skipped, []string{timing}) {
		t.Errorf("history %+v, %v; want one rollback to %s skipping %s", hist, err, first, timing)
	}
}

// The CLI registers every model kind through model/kinds (main.go), so each
// command can load every artifact.
func TestCLIRegistersEveryKind(t *testing.T) {
	want := []string{"gbdt", "golearn-forest-baseline", "logreg", "weekly-hazard", "weekly-hazard-buckets"}
	if got := model.Kinds(); !slices.Equal(got, want) {
		t.Errorf("registered kinds %v, want %v", got, want)
	}
}
