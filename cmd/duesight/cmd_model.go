package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/duesight/duesight/model/eval"
	"github.com/duesight/duesight/model/train"
)

func modelCommand() command {
	return command{
		name:    "model",
		summary: "fit duesight's learners on any numeric table (bring your own features): model fit --table FILE --label COL",
		usage:   "fit --table FILE.csv|FILE.parquet --label COL [--time COL] [--kind gbdt,logreg] [--out ARTIFACT]",
		flags: func(fs *flag.FlagSet) func(context.Context, *app, []string) error {
			table := fs.String("table", "", "CSV (header row) or Parquet file of numeric columns")
			label := fs.String("label", "", "0/1 label column")
			timeCol := fs.String("time", "", "ordering column for a time-ordered split (default: a random split)")
			drop := fs.String("drop", "", "comma-separated columns to ignore (ids, text)")
			kinds := fs.String("kind", "gbdt", "learners to fit and compare, comma-separated: gbdt, logreg")
			var params multiFlag
			fs.Var(&params, "param", "learner parameter name=value, or kind.name=value (repeatable)")
			calib := fs.String("calibration", "auto", "calibration on the validation set: auto, isotonic, platt or none")
			out := fs.String("out", "", "write the first kind's artifact to this file")
			sf := addSplitFlags(fs)
			return func(ctx context.Context, a *app, args []string) error {
				if len(args) != 1 || args[0] != "fit" {
					return usagef("usage: duesight model fit --table FILE --label COL")
				}
				if *table == "" || *label == "" {
					return usagef("model fit needs --table and --label")
				}
				spec, err := sf.spec()
				if err != nil {
					return err
				}
				if *timeCol == "" && *sf.method == "time" {
					spec.Method, spec.ByGroup = eval.Random, false
				}
				var skip []string
				if *drop != "" {
					skip = strings.Split(*drop, ",")
				}
				a.stage("reading " + *table)
				t, err := train.ReadNumericTable(ctx, *table, skip, []string{*label, *timeCol})
				if err != nil {
					return err
				}
				d, unlabeled, err := train.TableDataset(t, *label, *timeCol)
				if err != nil {
					return fmt.Errorf("%s: %w", *table, err)
				}
				var results []*train.TableResult
				var reports []*eval.Report
				for _, kind := range strings.Split(*kinds, ",") {
					kind = strings.TrimSpace(kind)
					g, l, err := learnerParams(kind, filterParams(kind, params))
					if err != nil {
						return err
					}
					a.stage("fitting " + kind)
					r, err := train.FitTable(ctx, d, train.Options{Kind: kind, Split: spec, GBDT: g, LogReg: l,
						Calibration: *calib, Clock: a.now, Logger: a.logger})
					if err != nil {
						return err
					}
					results = append(results, r)
					reports = append(reports, r.TestReport)
				}
				var text bytes.Buffer
				r0 := results[0]
				fmt.Fprintf(&text, "%s: %d labelled rows (%d without a label left out) × %d features; split %s: train %d, valid %d, test %d\n\n", *table, d.Rows(), unlabeled, len(d.Names),
					map[bool]string{true: "by " + *timeCol, false: "random"}[*timeCol != ""], r0.Train, r0.Valid, r0.Test)
				if err := eval.WriteComparison(&text, reports...); err != nil {
					return err
				}
				var list []map[string]any
				for _, r := range results {
					fmt.Fprintf(&text, "\n%s: fit %.2fs", r.Kind, r.FitSeconds)
					if r.Rounds > 0 {
						fmt.Fprintf(&text, " (%d rounds)", r.Rounds)
					}
					list = append(list, map[string]any{"kind": r.Kind, "fit_seconds": r.FitSeconds, "rounds": r.Rounds,
						"test": r.TestReport, "test_uncalibrated": r.TestUncalibrated})
				}
				text.WriteString("\n")
				res := map[string]any{"rows": d.Rows(), "unlabeled": unlabeled, "features": len(d.Names), "models": list}
				if *out != "" {
					art, err := r0.Artifact("table:"+filepath.Base(*table), a.now())
					if err != nil {
						return err
					}
					if err := writeFileAtomic(*out, art.MarshalBinary); err != nil {
						return err
					}
					res["artifact"], res["version"] = *out, art.Header.Version
					fmt.Fprintf(&text, "wrote %s (%s)\n", *out, art.Header.Version)
				}
				return a.emit(res, text.String())
			}
		},
	}
}

// writeFileAtomic writes the bytes from gen to path via a synced temp file.
func writeFileAtomic(path string, gen func() ([]byte, error)) error {
	b, err := gen()
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err = tmp.Write(b); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
