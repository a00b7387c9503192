package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/duesight/duesight/data/synth"
	"github.com/duesight/duesight/model/eval"
	"github.com/duesight/duesight/model/train"
)

func evaluateCommand() command {
	return command{
		name:    "evaluate",
		summary: "evaluate registered models side by side on a time window of the stored history (optionally against the generator's truth)",
		usage:   "[VERSION ...]   (default: the active model)",
		flags: func(fs *flag.FlagSet) func(context.Context, *app, []string) error {
			models := fs.String("models", DefaultModels, "model registry directory")
			window := fs.String("window", "", "evaluate on invoices issued in FROM..TO (YYYY-MM-DD..YYYY-MM-DD, TO exclusive; default: the test window of --split)")
			truth := fs.String("truth", "", "ground-truth file written by duesight gen: also compare predicted with true probabilities")
			ff := addFeatureFlags(fs)
			sf := addSplitFlags(fs)
			return func(ctx context.Context, a *app, args []string) error {
				spec, err := sf.spec()
				if err != nil {
					return err
				}
				set := train.EvalSet{Split: spec}
				if *window != "" {
					from, to, ok := cutRange(*window)
					if !ok {
						return usagef("--window %q: want FROM..TO", *window)
					}
					if set.From, err = parseDateFlag("window", from, 0); err != nil {
						return err
					}
					if set.To, err = parseDateFlag("window", to, 0); err != nil {
						return err
					}
				}
				fo, err := ff.options(a)
				if err != nil {
					return err
				}
				reg, err := a.openRegistry(ctx, *models)
				if err != nil {
					return err
				}
				if len(args) == 0 {
					active, err := activeVersion(ctx, reg)
					if err != nil {
						return err
					}
					if active == "" {
						return errNoActive
					}
					args = []string{active}
				}
				var named []train.Named
				trained := map[string][2]string{} // version → training window
				for _, v := range args {
					art, err := reg.Get(ctx, v, train.Schema())
					if err != nil {
						return err
					}
					m, err := art.Model()
					if err != nil {
						return fmt.Errorf("%s: %w", v, err)
					}
					named = append(named, train.Named{Name: v, Model: m})
					trained[v] = [2]string{art.Header.TrainFrom, art.Header.TrainTo}
				}
				t, err := a.buildFeatures(ctx, fo)
				if err != nil {
					return err
				}
				ev, err := train.Evaluate(t, named, set)
				if err != nil {
					return err
				}
				var text bytes.Buffer
				how := "the --window given"
				if ev.TestWindow {
					how = fmt.Sprintf("the test window of a %s split, valid %.0f%% / test %.0f%%", *sf.method, 100*spec.ValidFrac, 100*spec.TestFrac)
				}
				horizon := ev.Horizon.UTC().Format(time.DateOnly)
				fmt.Fprintf(&text, "%d labelled invoices issued %s..%s (%s); labels as of %s (late = paid more than %d days after due)\n",
					len(ev.Late), ev.From, ev.To, how, horizon, ev.Grace)
				for _, n := range named {
					// Dates compare as strings (YYYY-MM-DD); a random split's
					// test rows span the whole history, so only a time window
					// can be checked.
					w := trained[n.Name]
					if (spec.Method == eval.ByTime || !ev.TestWindow) && w[0] <= ev.To.String() && w[1] >= ev.From.String() {
						fmt.Fprintf(&text, "note: %s was trained on invoices issued %s..%s, overlapping this window: its numbers are optimistic\n",
							n.Name, w[0], w[1])
					}
				}
				text.WriteString("\n")
				if err := eval.WriteComparison(&text, ev.Reports...); err != nil {
					return err
				}
				out := map[string]any{"rows": len(ev.Late), "reports": ev.Reports,
					"window":  map[string]any{"from": ev.From, "to": ev.To, "test_window_of_split": ev.TestWindow},
					"horizon": ev.Horizon.UTC().Format(time.RFC3339), "grace_days": ev.Grace}
				if *truth != "" {
					tc, err := compareTruth(*truth, ev)
					if err != nil {
						return err
					}
					out["truth"] = tc
					fmt.Fprintf(&text, "\nagainst the generator's true P(late) (%d invoices):\n", tc.Rows)
					fmt.Fprintf(&text, "  true probabilities as a model: AUC %.4f, log loss %.4f (the ceiling)\n", tc.TrueAUC, tc.TrueLogLoss)
					for _, m := range tc.Models {
						fmt.Fprintf(&text, "  %s: mean |p − p_true| %.4f, RMSE %.4f, correlation %.4f\n", m.Name, m.MAE, m.RMSE, m.Correlation)
					}
				}
				return a.emit(out, text.String())
			}
		},
	}
}

func cutRange(s string) (string, string, bool) {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '.' && s[i+1] == '.' {
			return s[:i], s[i+2:], true
		}
	}
	return "", "", false
}

// truthComparison compares predicted with true late probabilities.
type truthComparison struct {
	Rows        int          `json:"rows"`
	TrueAUC     float64      `json:"true_probability_auc"`
	TrueLogLoss float64      `json:"true_probability_log_loss"`
	Models      []truthModel `json:"models"`
}

type truthModel struct {
	Name        string  `json:"name"`
	MAE         float64 `json:"mean_abs_error"`
	RMSE        float64 `json:"rmse"`
	Correlation float64 `json:"correlation"`
}

func compareTruth(path string, ev *train.Evaluation) (*truthComparison, error) {
	r, err := synth.OpenTruthFile(path)
	if err != nil {
		return nil, fmt.Errorf("truth: %w", err)
	}
	defer r.Close()
	want := make(map[string]int, len(ev.InvoiceID))
	for i, id := range ev.InvoiceID {
		want[id] = i
	}
	pTrue := make([]float64, len(ev.InvoiceID))
	for i := range pTrue {
		pTrue[i] = math.NaN()
	}
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("truth: %w", err)
		}
		if rec.Invoice != nil {
			if i, ok := want[rec.Invoice.InvoiceID]; ok {
				pTrue[i] = rec.Invoice.PLate
			}
		}
	}
	var idx []int
	for i, p := range pTrue {
		if !math.IsNaN(p) {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return nil, fmt.Errorf("truth: %s holds none of the evaluated invoices (was it written for this history?)", path)
	}
	pick := func(v []float64) []float64 {
		out := make([]float64, len(idx))
		for k, i := range idx {
			out[k] = v[i]
		}
		return out
	}
	y, pt := pick(ev.Late), pick(pTrue)
	tc := &truthComparison{Rows: len(idx)}
	if tc.TrueAUC, err = eval.AUC(y, pt, nil); err != nil {
		return nil, fmt.Errorf("truth: %w", err)
	}
	if tc.TrueLogLoss, err = eval.LogLoss(y, pt, nil); err != nil {
		return nil, fmt.Errorf("truth: %w", err)
	}
	for k, rep := range ev.Reports {
		p := pick(ev.Scores[k])
		var abs, sq float64
		for i := range p {
			d := p[i] - pt[i]
			abs += math.Abs(d)
			sq += d * d
		}
		n := float64(len(p))
		tc.Models = append(tc.Models, truthModel{Name: rep.Name, MAE: abs / n, RMSE: math.Sqrt(sq / n), Correlation: correlation(p, pt)})
	}
	return tc, nil
}

func correlation(x, y []float64) float64 {
	n := float64(len(x))
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx, my = mx/n, my/n
	var sxy, sxx, syy float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
		syy += (y[i] - my) * (y[i] - my)
	}
	return sxy / math.Sqrt(sxx*syy)
}
