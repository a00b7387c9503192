package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/duesight/duesight/features"
	"github.com/duesight/duesight/model"
	_ "github.com/duesight/duesight/model/boost" // registers the gbdt kind
	"github.com/duesight/duesight/model/eval"
	"github.com/duesight/duesight/model/gbdt"
	"github.com/duesight/duesight/model/logreg"
	_ "github.com/duesight/duesight/model/timing" // registers the timing kind
	"github.com/duesight/duesight/model/train"
)

// DefaultModels is the model registry directory.
const DefaultModels = "./duesight-models"

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// splitFlags are the split settings shared by train and evaluate.
type splitFlags struct {
	method              *string
	validFrac, testFrac *float64
	seed                *uint64
}

func addSplitFlags(fs *flag.FlagSet) splitFlags {
	return splitFlags{
		method:    fs.String("split", "time", "time (train on the oldest invoices, test on the newest) or random (by account)"),
		validFrac: fs.Float64("valid-frac", 0.15, "fraction of labelled invoices for validation (early stopping, calibration)"),
		testFrac:  fs.Float64("test-frac", 0.15, "fraction of labelled invoices for the test report"),
		seed:      fs.Uint64("split-seed", 1, "seed of a random split"),
	}
}

func (s splitFlags) spec() (eval.SplitSpec, error) {
	sp := eval.SplitSpec{ValidFrac: *s.validFrac, TestFrac: *s.testFrac, Seed: *s.seed}
	switch *s.method {
	case "time":
		sp.Method = eval.ByTime
	case "random":
		sp.Method, sp.ByGroup = eval.Random, true
	default:
		return sp, usagef("--split %q: want time or random", *s.method)
	}
	if sp.ValidFrac <= 0 || sp.TestFrac <= 0 || sp.ValidFrac+sp.TestFrac >= 1 {
		return sp, usagef("--valid-frac and --test-frac must be positive and sum to less than 1")
	}
	return sp, nil
}

// featureFlags are the feature-table settings shared by several commands.
type featureFlags struct {
	asOf, from *string
	grace      *int
	workers    *int
}

func addFeatureFlags(fs *flag.FlagSet) featureFlags {
	return featureFlags{
		asOf:    fs.String("as-of", "", "label horizon and data cut, YYYY-MM-DD (default: the day after the last event)"),
		from:    fs.String("from", "", "leave out invoices issued before this date (their history still counts)"),
		grace:   fs.Int("grace", 0, "days after the due date a payment still counts as on time"),
		workers: fs.Int("workers", 4, "parallel account shards while building features"),
	}
}

func (f featureFlags) options(a *app) (features.Options, error) {
	o := features.Options{Grace: *f.grace, Workers: *f.workers, Logger: a.logger}
	if *f.grace < 0 {
		return o, usagef("--grace must not be negative")
	}
	for _, x := range []struct {
		name string
		v    string
		dst  *time.Time
	}{{"as-of", *f.asOf, &o.AsOf}, {"from", *f.from, &o.From}} {
		d, err := parseDateFlag(x.name, x.v, 0)
		if err != nil {
			return o, err
		}
		if d != 0 {
			*x.dst = d.Time()
		}
	}
	return o, nil
}

// buildFeatures builds the feature table from the store with a progress line.
func (a *app) buildFeatures(ctx context.Context, o features.Options) (*features.Table, error) {
	s, err := a.openStore(ctx, true)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	a.stage("building point-in-time features")
	t, err := features.Build(ctx, s, o)
	if err != nil {
		return nil, fmt.Errorf("build features: %w", err)
	}
	return t, nil
}

// stage tells a person at a terminal what long step is running.
func (a *app) stage(msg string) {
	if a.isTerminal(a.io.err) {
		fmt.Fprintf(a.io.err, "%s...\n", msg)
	}
}

func (a *app) openRegistry(ctx context.Context, dir string) (*model.Registry, error) {
	r, err := model.OpenRegistry(ctx, dir, model.RegistryOptions{Clock: a.now, Logger: a.logger})
	if err != nil {
		return nil, fmt.Errorf("open model registry %s: %w", dir, err)
	}
	return r, nil
}

// learnerParams parses --param name=value pairs for a model kind.
func learnerParams(kind string, params []string) (*gbdt.Params, *logreg.Params, error) {
	switch kind {
	case train.KindGBDT:
		p := train.DefaultGBDT()
		for _, kv := range params {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return nil, nil, usagef("--param %q: want name=value", kv)
			}
			if err := p.Set(k, v); err != nil {
				return nil, nil, usagef("--param %s: %v", kv, err)
			}
		}
		return &p, nil, nil
	case train.KindLogReg:
		p := train.DefaultLogReg()
		for _, kv := range params {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return nil, nil, usagef("--param %q: want name=value", kv)
			}
			var err error
			switch k {
			case "l2", "lambda":
				p.L2, err = strconv.ParseFloat(v, 64)
			case "balanced":
				p.Balanced, err = strconv.ParseBool(v)
			case "missing_indicators":
				p.MissingIndicators, err = strconv.ParseBool(v)
			case "max_iter":
				p.MaxIter, err = strconv.Atoi(v)
			default:
				return nil, nil, usagef("--param %s: logreg takes l2, balanced, missing_indicators, max_iter", k)
			}
			if err != nil {
				return nil, nil, usagef("--param %s: %v", kv, err)
			}
		}
		return nil, &p, nil
	case train.KindForest:
		if len(params) > 0 {
			return nil, nil, usagef("--param: the forest baseline takes no parameters")
		}
		return nil, nil, nil
	}
	return nil, nil, usagef("--kind %q: want gbdt, logreg or forest (golearn baseline)", kind)
}

func trainCommand() command {
	return command{
		name:    "train",
		summary: "train late-payment and payment-timing models on the stored history, evaluate them on a time-ordered test window, register them",
		flags: func(fs *flag.FlagSet) func(context.Context, *app, []string) error {
			kinds := fs.String("kind", "gbdt", "model kinds to train and compare, comma-separated: gbdt, logreg, forest\n(golearn random forest, a comparison baseline fitted on ≤ 20,000 sampled rows)")
			var params multiFlag
			fs.Var(&params, "param", "learner parameter name=value (XGBoost names for gbdt, e.g. eta=0.05; repeatable; applies to every kind given)")
			calib := fs.String("calibration", "auto", "calibration fitted on the validation window: auto (the best of none, platt, isotonic on a time-ordered\nhold-out of that window), isotonic, platt or none")
			models := fs.String("models", DefaultModels, "model registry directory")
			activate := fs.String("activate", "auto", "activate the first kind's model: yes, no, or auto (when no model is active)")
			noTiming := fs.Bool("no-timing", false, "skip the payment-timing model")
			ff := addFeatureFlags(fs)
			sf := addSplitFlags(fs)
			return func(ctx context.Context, a *app, args []string) error {
				if len(args) > 0 {
					return usagef("train takes no arguments")
				}
				spec, err := sf.spec()
				if err != nil {
					return err
				}
				fo, err := ff.options(a)
				if err != nil {
					return err
				}
				if *activate != "yes" && *activate != "no" && *activate != "auto" {
					return usagef("--activate %q: want yes, no or auto", *activate)
				}
				var opts []train.Options
				for _, kind := range strings.Split(*kinds, ",") {
					kind = strings.TrimSpace(kind)
					g, l, err := learnerParams(kind, filterParams(kind, params))
					if err != nil {
						return err
					}
					opts = append(opts, train.Options{Kind: kind, Split: spec, GBDT: g, LogReg: l, Calibration: *calib,
						SkipTiming: *noTiming, Clock: a.now, Logger: a.logger})
				}
				reg, err := a.openRegistry(ctx, *models)
				if err != nil {
					return err
				}
				t, err := a.buildFeatures(ctx, fo)
				if err != nil {
					return err
				}
				var results []*train.Result
				var reports []*eval.Report
				out := map[string]any{"models": []any{}}
				for _, o := range opts {
					a.stage("training " + o.Kind)
					if len(results) > 0 {
						o.TimingArtifact, o.SkipTiming = results[0].Timing, results[0].Timing == nil
					}
					res, err := train.Train(ctx, t, o)
					if err != nil {
						return err
					}
					results = append(results, res)
					reports = append(reports, res.TestReport)
					if res.Timing != nil {
						if _, err := reg.Put(ctx, res.Timing); err != nil {
							return fmt.Errorf("register timing model: %w", err)
						}
					}
					if _, err := reg.Put(ctx, res.Late); err != nil {
						return fmt.Errorf("register model: %w", err)
					}
				}
				active, err := activeVersion(ctx, reg)
				if err != nil {
					return err
				}
				activated := ""
				if *activate == "yes" || (*activate == "auto" && active == "") {
					activated = results[0].Late.Header.Version
					if err := reg.Activate(ctx, activated); err != nil {
						return err
					}
				}
				var text bytes.Buffer
				fmt.Fprintf(&text, "features: %d invoices of %d accounts, horizon %s; %d labelled rows, %d unlabelled (not yet due)\n",
					t.Stats.Invoices, t.Stats.Accounts, t.Horizon.Format(time.DateOnly), t.Len()-results[0].Unlabeled, results[0].Unlabeled)
				r0 := results[0]
				fmt.Fprintf(&text, "split (%s): train %d (%s..%s), valid %d (%s..%s), test %d (%s..%s)\n\n", *sf.method,
					r0.Train.Rows, r0.Train.From, r0.Train.To, r0.Valid.Rows, r0.Valid.From, r0.Valid.To, r0.Test.Rows, r0.Test.From, r0.Test.To)
				if err := eval.WriteComparison(&text, reports...); err != nil {
					return err
				}
				list := []any{}
				for _, r := range results {
					fmt.Fprintf(&text, "\n%s  %s  fit %.1fs, calibration %s", r.Late.Header.Version, r.Kind, r.FitSeconds, r.Calibration)
					if r.Rounds > 0 {
						fmt.Fprintf(&text, ", %d rounds", r.Rounds)
					}
					entry := map[string]any{"kind": r.Kind, "version": r.Late.Header.Version, "fit_seconds": r.FitSeconds, "calibration": r.Calibration,
						"split": map[string]any{"train": r.Train, "valid": r.Valid, "test": r.Test}, "unlabeled": r.Unlabeled,
						"test": r.TestReport, "test_uncalibrated": r.TestUncalibrated, "valid": r.ValidReport}
					if r.Timing != nil {
						fmt.Fprintf(&text, "; timing model %s (test MAE %.1f days, [p10,p90] coverage %.2f)",
							r.Timing.Header.Version, results[0].TimingTest.MAE, results[0].TimingTest.Coverage)
						entry["timing_version"], entry["timing_test"] = r.Timing.Header.Version, results[0].TimingTest
					}
					list = append(list, entry)
				}
				out["models"] = list
				if activated != "" {
					fmt.Fprintf(&text, "\nactive model: %s\n", activated)
				} else {
					fmt.Fprintf(&text, "\nactive model unchanged: %s (activate with: duesight models activate VERSION)\n", active)
				}
				out["active"] = map[bool]string{true: activated, false: active}[activated != ""]
				out["registry"] = *models
				return a.emit(out, text.String())
			}
		},
	}
}

// filterParams keeps the params meant for kind: "kind.name=value" goes to
// that kind only, a plain "name=value" to every kind.
func filterParams(kind string, params []string) []string {
	var out []string
	for _, p := range params {
		if k, rest, ok := strings.Cut(p, "."); ok && (k == train.KindGBDT || k == train.KindLogReg) {
			if k == kind {
				out = append(out, rest)
			}
			continue
		}
		out = append(out, p)
	}
	return out
}

var errNoActive = errors.New("no active model: run duesight train, or duesight models activate VERSION")

// activeVersion is the registry's active version, "" when none is active.
func activeVersion(ctx context.Context, reg *model.Registry) (string, error) {
	v, err := reg.Active(ctx)
	if errors.Is(err, model.ErrNoActive) {
		return "", nil
	}
	return v, err
}
