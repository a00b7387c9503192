package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/duesight/duesight/features"
	"github.com/duesight/duesight/model"
	"github.com/duesight/duesight/model/gbdt"
	"github.com/duesight/duesight/model/gbdtkind"
	"github.com/duesight/duesight/model/train"
)

func modelsCommand() command {
	return command{
		name: "models",
		summary: "the model registry: list | activate VERSION | rollback | history | import-xgboost FILE\n" +
			"           (only late-payment models can be active; rollback skips any other earlier activation)",
		usage: "list | activate VERSION | rollback | history | import-xgboost MODEL.json --feature-map FILE",
		flags: func(fs *flag.FlagSet) func(context.Context, *app, []string) error {
			models := fs.String("models", DefaultModels, "model registry directory")
			trainedFrom := fs.String("trained-from", "1970-01-02", "import-xgboost: first issue date of the model's training data")
			trainedTo := fs.String("trained-to", "1970-01-02", "import-xgboost: last issue date of the model's training data")
			featureMap := fs.String("feature-map", "", "import-xgboost: file mapping the XGBoost model's feature names to duesight's (lines 'xgb_name duesight_name'; default: the model's own names)")
			return func(ctx context.Context, a *app, args []string) error {
				if len(args) == 0 {
					args = []string{"list"}
				}
				reg, err := a.openRegistry(ctx, *models)
				if err != nil {
					return err
				}
				switch sub := args[0]; {
				case sub == "list" && len(args) == 1:
					return a.listModels(ctx, reg)
				case sub == "activate" && len(args) == 2:
					if err := reg.Activate(ctx, args[1]); err != nil {
						return err
					}
					return a.emit(map[string]string{"active": args[1]}, fmt.Sprintf("active model: %s\n", args[1]))
				case sub == "rollback" && len(args) == 1:
					ev, err := reg.Rollback(ctx)
					if err != nil {
						return err
					}
					text := fmt.Sprintf("rolled back; active model: %s\n", ev.Version)
					for _, v := range ev.Skipped {
						text += fmt.Sprintf("skipped %s: not a late-payment model\n", v)
					}
					return a.emit(map[string]any{"active": ev.Version, "previous": ev.Previous, "skipped": ev.Skipped}, text)
				case sub == "history" && len(args) == 1:
					h, err := reg.History(ctx)
					if err != nil {
						return err
					}
					var b strings.Builder
					for _, e := range h {
						fmt.Fprintf(&b, "%s  %-8s %s (was %s)", e.At.Format(time.RFC3339), e.Action, e.Version, orNone(e.Previous))
						if len(e.Skipped) > 0 {
							fmt.Fprintf(&b, ", skipped %s", strings.Join(e.Skipped, ", "))
						}
						b.WriteByte('\n')
					}
					return a.emit(h, b.String())
				case sub == "import-xgboost" && len(args) == 2:
					return a.importXGBoost(ctx, reg, args[1], *featureMap, [2]string{*trainedFrom, *trainedTo})
				}
				return usagef("models %s%s: see duesight help models", strings.Join(args, " "),
					didYouMean(args[0], []string{"list", "activate", "rollback", "history", "import-xgboost"}))
			}
		},
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func (a *app) listModels(ctx context.Context, reg *model.Registry) error {
	entries, err := reg.List(ctx)
	if err != nil {
		return err
	}
	// Test metrics compare only between models measured on the same
	// window with labels at the same horizon: each distinct (window,
	// horizon) gets a letter.
	groups := map[testWindow]string{}
	var order []testWindow
	for _, e := range entries {
		if e.Err == nil {
			if w, ok := windowOf(e.Header); ok && groups[w] == "" {
				groups[w] = string(rune('A' + len(order)%26))
				order = append(order, w)
			}
		}
	}
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACTIVE\tVERSION\tKIND\tCREATED\tTRAINED ON\tTEST WINDOW\tTEST AUC\tTEST ECE")
	out := []map[string]any{}
	unknown := false
	for _, e := range entries {
		if e.Err != nil {
			fmt.Fprintf(tw, "\t%s\tCORRUPT: %v\t\t\t\t\t\n", e.Version, e.Err)
			out = append(out, map[string]any{"version": e.Version, "error": e.Err.Error()})
			continue
		}
		h := e.Header
		mark := ""
		if e.Active {
			mark = "*"
		}
		entry := map[string]any{"version": h.Version, "kind": h.Kind, "active": e.Active, "created_at": h.CreatedAt,
			"train_from": h.TrainFrom, "train_to": h.TrainTo, "metrics": h.Metrics, "code_version": h.CodeVersion}
		window, group := "-", ""
		if w, ok := windowOf(h); ok {
			group = groups[w]
			window = group + " " + w.from + ".." + w.to
			entry["test_window"] = map[string]string{"from": w.from, "to": w.to, "horizon": w.horizon}
			entry["comparable_group"] = group
		} else if _, has := h.Metrics["test_auc"]; has {
			window, group, unknown = "? (not recorded)", "?", true
		}
		auc, ece := metric(h.Metrics, "test_auc"), metric(h.Metrics, "test_ece")
		if group != "" && auc != "-" {
			auc += " " + group
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s..%s\t%s\t%s\t%s\n", mark, h.Version, h.Kind, h.CreatedAt.Format(time.DateOnly),
			h.TrainFrom, h.TrainTo, window, auc, ece)
		out = append(out, entry)
	}
	tw.Flush()
	if len(order) > 1 || (len(order) > 0 && unknown) {
		b.WriteString("\nTest metrics compare only within one letter (same test window, labels at the same horizon):\n")
		for _, w := range order {
			fmt.Fprintf(&b, "  %s  invoices issued %s..%s, labels as of %s\n", groups[w], w.from, w.to, w.horizon)
		}
		if unknown {
			b.WriteString("  ?  window not recorded (trained by an older duesight)\n")
		}
		b.WriteString("To compare models on one window: duesight evaluate VERSION VERSION ...\n")
	}
	return a.emit(out, b.String())
}

// testWindow is where a model's test metrics were measured.
type testWindow struct{ from, to, horizon string }

// windowOf reads the test window a model's metrics were measured on.
func windowOf(h *model.Header) (testWindow, bool) {
	var w testWindow
	if _, ok := h.Metrics["test_auc"]; !ok {
		return w, false
	}
	for _, p := range []struct {
		key string
		dst *string
	}{{train.ParamTestFrom, &w.from}, {train.ParamTestTo, &w.to}, {train.ParamHorizon, &w.horizon}} {
		if ok, err := h.Param(p.key, p.dst); !ok || err != nil {
			return w, false
		}
	}
	if t, err := time.Parse(time.RFC3339, w.horizon); err == nil {
		w.horizon = t.UTC().Format(time.DateOnly)
	}
	return w, true
}

func metric(m map[string]float64, k string) string {
	if v, ok := m[k]; ok {
		return fmt.Sprintf("%.4f", v)
	}
	return "-"
}

// importXGBoost registers an XGBoost (≥ 1.7) JSON model as a gbdt artifact
// on duesight's feature schema, renaming features through the map file.
func (a *app) importXGBoost(ctx context.Context, reg *model.Registry, path, mapPath string, window [2]string) error {
	for _, d := range window {
		if _, err := parseDateFlag("trained", d, 0); err != nil {
			return err
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	e, err := gbdt.ImportXGBoostJSON(f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	names := e.FeatureNames()
	if mapPath != "" {
		rename, err := readFeatureMap(mapPath)
		if err != nil {
			return err
		}
		for i, n := range names {
			if to, ok := rename[n]; ok {
				names[i] = to
			}
		}
	}
	want := features.Names()
	if strings.Join(names, ",") != strings.Join(want, ",") {
		return fmt.Errorf("%s: the model's features (after --feature-map) must be duesight's feature catalog in order (duesight features list); first difference: %s",
			path, firstDifference(names, want))
	}
	m, err := gbdtkind.WrapNamed(e, names)
	if err != nil {
		return err
	}
	art, err := model.NewArtifact(m, model.Meta{SchemaVersion: train.SchemaVersion(), TrainFrom: window[0], TrainTo: window[1],
		CreatedAt: a.now(), Params: map[string]any{"imported_from": filepath.Base(path)}})
	if err != nil {
		return err
	}
	v, err := reg.Put(ctx, art)
	if err != nil {
		return err
	}
	return a.emit(map[string]string{"version": v}, fmt.Sprintf("registered %s (activate with: duesight models activate %s)\n", v, v))
}

func readFeatureMap(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("%s:%d: want 'xgboost_name duesight_name'", path, i+1)
		}
		m[f[0]] = f[1]
	}
	return m, nil
}

func firstDifference(got, want []string) string {
	for i := 0; i < max(len(got), len(want)); i++ {
		switch {
		case i >= len(got):
			return fmt.Sprintf("missing %q at position %d", want[i], i)
		case i >= len(want):
			return fmt.Sprintf("extra %q at position %d", got[i], i)
		case got[i] != want[i]:
			return fmt.Sprintf("position %d is %q, want %q", i, got[i], want[i])
		}
	}
	return "none"
}
