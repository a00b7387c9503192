package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/duesight/duesight/model/eval"
	"github.com/duesight/duesight/model/train"
)

func modelCommand() command {
	return command{
		name:    "model",
		summary: "fit duesight's learners on an exported feature table or any other table: model fit --table FILE [--label COL]",
		usage: "fit --table FILE.csv|FILE.parquet [--label COL] [--time COL] [--drop COLS] [--kind gbdt,logreg] [--out ARTIFACT]\n\n" +
			"Every column is a feature except the label, the time column, columns given to --drop, text and date\n" +
			"columns, and columns the file marks as key, time, label or outcome: a table from 'duesight features export'\n" +
			"marks them (Parquet field metadata; FILE.csv.columns.json beside a CSV), and in a file without marks\n" +
			"the column names of such an export are recognised. Outcome (label-derived) columns are never features.\n" +
			"Features that alone separate the label almost perfectly, and test AUCs ≥ 0.999, are reported as suspected leaks.",
		flags: func(fs *flag.FlagSet) func(context.Context, *app, []string) error {
			table := fs.String("table", "", "CSV (header row) or Parquet file")
			label := fs.String("label", "", "0/1 label column (default: the column the file marks as label)")
			timeCol := fs.String("time", "", "ordering column (numbers or YYYY-MM-DD dates) of a time-ordered split\n(default: the column the file marks as time; without one, a random split)")
			drop := fs.String("drop", "", "comma-separated columns that are not features (ids, text, anything known only later)")
			kinds := fs.String("kind", "gbdt", "learners to fit and compare, comma-separated: gbdt, logreg, forest")
			var params multiFlag
			fs.Var(&params, "param", paramHelp)
			calib := fs.String("calibration", "auto", "calibration on the validation set: auto, isotonic, platt or none")
			out := fs.String("out", "", "write the first kind's artifact to this file")
			sf := addSplitFlags(fs)
			return func(ctx context.Context, a *app, args []string) error {
				if len(args) != 1 || args[0] != "fit" {
					hint := ""
					if len(args) > 0 {
						hint = didYouMean(args[0], []string{"fit"})
					}
					return usagef("model %s%s: usage: duesight model fit --table FILE [--label COL] (see duesight help model)", strings.Join(args, " "), hint)
				}
				if *table == "" {
					return usagef("model fit needs --table")
				}
				spec, err := sf.spec()
				if err != nil {
					return err
				}
				kindList, err := parseKinds(*kinds)
				if err != nil {
					return err
				}
				perKind, err := kindParams(kindList, params)
				if err != nil {
					return err
				}
				var skip []string
				for _, c := range strings.Split(*drop, ",") {
					if c = strings.TrimSpace(c); c != "" {
						skip = append(skip, c)
					}
				}
				a.stage("reading " + *table)
				t, err := train.ReadTable(ctx, *table, skip, []string{*label, *timeCol})
				if err != nil {
					return err
				}
				td, err := train.TableDataset(t, *label, *timeCol, spec.Method == eval.ByTime)
				if err != nil {
					return err
				}
				if td.Time == "" {
					spec.Method = eval.Random
				}
				spec.ByGroup = false // a table has no account column to group by
				res := map[string]any{"rows": td.Rows(), "unlabeled": td.Unlabeled, "features": len(td.Names),
					"label": td.Label, "time": td.Time, "excluded": td.Excluded, "roles_from": t.Marks}
				var text bytes.Buffer
				var warnings []string
				warn := func(msg string) {
					warnings = append(warnings, msg)
					fmt.Fprintf(a.io.err, "duesight: WARNING: %s\n", msg)
				}
				split := "random"
				if td.Time != "" {
					split = "by " + td.Time
				}
				fmt.Fprintf(&text, "%s: %d labelled rows (%d without a label left out) × %d features; label %s; split %s\n",
					*table, td.Rows(), td.Unlabeled, len(td.Names), td.Label, split)
				if t.Marks != "" {
					fmt.Fprintf(&text, "column roles from %s\n", t.Marks)
				}
				fmt.Fprintf(&text, "not features: %s\n", train.ExcludedText(td.Excluded))

				a.stage("checking single columns for label leakage")
				leaks, checked := train.CheckLeaks(td.Dataset)
				for _, l := range leaks {
					warn(fmt.Sprintf("column %s alone separates %s (AUC %.4f as a score): it is probably derived from the label, "+
						"known only after the fact. Drop it (--drop %s) or mark it as outcome, unless it is truly known when predicting.",
						l.Feature, td.Label, l.AUC, l.Feature))
				}
				res["leak_check"] = map[string]any{"checked": checked, "suspects": leaks, "auc_threshold": train.LeakAUC}
				if !checked {
					fmt.Fprintf(&text, "leakage check skipped: a class has fewer than %d rows\n", train.LeakMinClass)
				}

				var results []*train.TableResult
				var reports []*eval.Report
				for _, kind := range kindList {
					g, l, err := learnerParams(kind, perKind[kind])
					if err != nil {
						return err
					}
					r, err := train.FitTable(ctx, td.Dataset, train.Options{Kind: kind, Split: spec, GBDT: g, LogReg: l,
						Calibration: *calib, Positive: td.Positive, Negative: td.Negative, Clock: a.now, Logger: a.logger, Stage: a.stage})
					if err != nil {
						return err
					}
					results = append(results, r)
					reports = append(reports, r.TestReport)
					if r.TestReport.AUC >= train.PerfectAUC {
						warn(fmt.Sprintf("%s's test AUC is %.4f: implausibly perfect; some input probably encodes the label "+
							"(a column known only after the fact, or several that together give it away, such as a settlement date and a due date)",
							kind, r.TestReport.AUC))
					}
				}
				r0 := results[0]
				fmt.Fprintf(&text, "train %d, valid %d, test %d rows\n\n", r0.Train, r0.Valid, r0.Test)
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
				for _, w := range warnings {
					fmt.Fprintf(&text, "\nWARNING: %s\n", w)
				}
				res["models"], res["warnings"] = list, warnings
				if warnings == nil {
					res["warnings"] = []string{}
				}
				if *out != "" {
					art, err := r0.Artifact("table:"+filepath.Base(*table), a.now())
					if err != nil {
						return err
					}
					if err := writeFileAtomic(*out, writeBytes(art.MarshalBinary)); err != nil {
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
