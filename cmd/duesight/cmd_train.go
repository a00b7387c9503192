package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/duesight/duesight/features"
	"github.com/duesight/duesight/model"
	"github.com/duesight/duesight/model/eval"
	"github.com/duesight/duesight/model/gbdt"
	"github.com/duesight/duesight/model/logreg"
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

// stage tells a person at a terminal what long step is running, with the
// time since the command started; elsewhere it goes to the log (info).
func (a *app) stage(msg string) {
	if a.isTerminal(a.io.err) {
		fmt.Fprintf(a.io.err, "[%6.1fs] %s...\n", a.now().Sub(a.started).Seconds(), msg)
		return
	}
	if a.logger != nil {
		a.logger.Info(msg)
	}
}

func (a *app) openRegistry(ctx context.Context, dir string) (*model.Registry, error) {
	r, err := model.OpenRegistry(ctx, dir, model.RegistryOptions{Clock: a.now, Logger: a.logger})
	if err != nil {
		return nil, fmt.Errorf("open model registry %s: %w", dir, err)
	}
	return r, nil
}

// logregParams are the parameters of the logreg kind.
var logregParams = []string{"l2", "lambda", "balanced", "missing_indicators", "max_iter"}

// paramHelp documents --param for train and model fit.
const paramHelp = "learner parameter, repeatable: name=value goes to every kind given that has the parameter\n" +
	"(an error only if none has it), kind.name=value to that kind only (e.g. gbdt.max_depth=4, logreg.l2=10).\n" +
	"gbdt takes XGBoost's names (eta, max_depth, num_round, min_child_weight, lambda, subsample, ...);\n" +
	"logreg takes " + "l2 (alias lambda), balanced, missing_indicators, max_iter; forest takes none"

// kindParams assigns the --param values to the kinds being fitted:
// "kind.name=value" to that kind, which must be among kinds; a bare
// "name=value" to every kind that has a parameter of that name, an error
// only when none has. Values are checked by learnerParams.
func kindParams(kinds, params []string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, kv := range params {
		name, value, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, usagef("--param %q: want name=value or kind.name=value", kv)
		}
		if k, rest, dotted := strings.Cut(name, "."); dotted && (k == train.KindGBDT || k == train.KindLogReg || k == train.KindForest) {
			if !slices.Contains(kinds, k) {
				return nil, usagef("--param %s: %s is not among the kinds fitted (%s)", kv, k, strings.Join(kinds, ", "))
			}
			out[k] = append(out[k], rest+"="+value)
			continue
		}
		var takers []string
		for _, k := range kinds {
			has, err := hasParam(k, name, value)
			if err != nil {
				return nil, usagef("--param %s: %v", kv, err)
			}
			if has {
				takers = append(takers, k)
				out[k] = append(out[k], kv)
			}
		}
		if len(takers) == 0 {
			return nil, usagef("--param %s: none of the kinds fitted (%s) has a parameter %q\n(%s)", kv, strings.Join(kinds, ", "), name, paramHelp)
		}
	}
	return out, nil
}

// hasParam reports whether kind has a parameter name (an error when it has
// and value is invalid for it).
func hasParam(kind, name, value string) (bool, error) {
	switch kind {
	case train.KindGBDT:
		p := train.DefaultGBDT()
		err := p.Set(name, value)
		if errors.Is(err, gbdt.ErrUnknownParam) {
			return false, nil
		}
		return true, err
	case train.KindLogReg:
		return slices.Contains(logregParams, name), nil
	}
	return false, nil
}

// learnerParams parses name=value pairs for a model kind.
func learnerParams(kind string, params []string) (*gbdt.Params, *logreg.Params, error) {
	switch kind {
	case train.KindGBDT:
		p := train.DefaultGBDT()
		for _, kv := range params {
			k, v, _ := strings.Cut(kv, "=")
			if err := p.Set(k, v); err != nil {
				return nil, nil, usagef("--param %s: %v", kv, err)
			}
		}
		return &p, nil, nil
	case train.KindLogReg:
		p := train.DefaultLogReg()
		for _, kv := range params {
			k, v, _ := strings.Cut(kv, "=")
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
				return nil, nil, usagef("--param logreg.%s: logreg takes %s", k, strings.Join(logregParams, ", "))
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

// parseKinds splits --kind into kind names, rejecting unknown and repeated ones.
func parseKinds(v string) ([]string, error) {
	var kinds []string
	for _, k := range strings.Split(v, ",") {
		k = strings.TrimSpace(k)
		if k != train.KindGBDT && k != train.KindLogReg && k != train.KindForest {
			return nil, usagef("--kind %q: want gbdt, logreg or forest (golearn baseline)", k)
		}
		if slices.Contains(kinds, k) {
			return nil, usagef("--kind: %s is given twice", k)
		}
		kinds = append(kinds, k)
	}
	return kinds, nil
}

func trainCommand() command {
	return command{
		name:    "train",
		summary: "train late-payment and payment-timing models on the stored history, evaluate them on a time-ordered test window, register them",
		flags: func(fs *flag.FlagSet) func(context.Context, *app, []string) error {
			kinds := fs.String("kind", "gbdt", "model kinds to train and compare, comma-separated: gbdt, logreg, forest\n(golearn random forest, a comparison baseline fitted on ≤ 20,000 sampled rows)")
			var params multiFlag
			fs.Var(&params, "param", paramHelp)
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
				kindList, err := parseKinds(*kinds)
				if err != nil {
					return err
				}
				perKind, err := kindParams(kindList, params)
				if err != nil {
					return err
				}
				var opts []train.Options
				for _, kind := range kindList {
					g, l, err := learnerParams(kind, perKind[kind])
					if err != nil {
						return err
					}
					opts = append(opts, train.Options{Kind: kind, Split: spec, GBDT: g, LogReg: l, Calibration: *calib,
						SkipTiming: *noTiming, CodeVersion: codeVersion(), Clock: a.now, Logger: a.logger, Stage: a.stage})
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

var errNoActive = errors.New("no active model: run duesight train, or duesight models activate VERSION")

// activeVersion is the registry's active version, "" when none is active.
func activeVersion(ctx context.Context, reg *model.Registry) (string, error) {
	v, err := reg.Active(ctx)
	if errors.Is(err, model.ErrNoActive) {
		return "", nil
	}
	return v, err
}
