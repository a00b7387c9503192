package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/duesight/duesight/features"
)

func featuresCommand() command {
	return command{
		name:    "features",
		summary: "the feature catalog (list) and point-in-time feature tables for analysts (export FILE.parquet|FILE.csv)",
		usage:   "list | export FILE",
		flags: func(fs *flag.FlagSet) func(context.Context, *app, []string) error {
			snapshots := fs.String("snapshots", "issue", "export: snapshots per invoice, comma-separated: issue, due")
			ff := addFeatureFlags(fs)
			return func(ctx context.Context, a *app, args []string) error {
				switch {
				case len(args) == 0 || (args[0] == "list" && len(args) == 1):
					return a.listFeatures()
				case args[0] == "export" && len(args) == 2:
					o, err := ff.options(a)
					if err != nil {
						return err
					}
					for _, s := range strings.Split(*snapshots, ",") {
						snap, err := features.ParseSnapshot(strings.TrimSpace(s))
						if err != nil {
							return usagef("--snapshots: %v", err)
						}
						o.Snapshots = append(o.Snapshots, snap)
					}
					return a.exportFeatures(ctx, o, args[1])
				}
				return usagef("features %s%s: see duesight help features", strings.Join(args, " "), didYouMean(args[0], []string{"list", "export"}))
			}
		},
	}
}

func (a *app) listFeatures() error {
	cat := features.Catalog()
	var b bytes.Buffer
	fmt.Fprintf(&b, "feature schema v%d, hash %s, %d features\n\n", features.SchemaVersion, features.SchemaHash(), len(cat))
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tGROUP\tUNIT\tDEFINITION")
	for _, s := range cat {
		def := s.Definition
		if s.Missing != "" {
			def += " Missing: " + s.Missing
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, s.Group, s.Unit, def)
	}
	tw.Flush()
	return a.emit(map[string]any{"schema_version": features.SchemaVersion, "schema_hash": features.SchemaHash(), "features": cat}, b.String())
}

// exportFeatures writes the table to path (format by extension) through a
// temporary file renamed into place, so a failed export leaves nothing. A
// CSV gets the sidecar PATH.columns.json with each column's role (Parquet
// keeps the roles in its field metadata).
func (a *app) exportFeatures(ctx context.Context, o features.Options, path string) error {
	ext := strings.ToLower(filepath.Ext(path))
	if ext != ".parquet" && ext != ".csv" {
		return usagef("features export %s: the file name must end in .parquet or .csv", path)
	}
	t, err := a.buildFeatures(ctx, o)
	if err != nil {
		return err
	}
	res := map[string]any{"file": path, "rows": t.Len(), "features": len(t.Names), "stats": t.Stats}
	text := fmt.Sprintf("wrote %d rows × %d features to %s\n", t.Len(), len(t.Names), path)
	if ext == ".parquet" {
		err = writeFileAtomic(path, func(w io.Writer) error {
			// Hide Close: the Parquet writer closes a sink that has one.
			return t.WriteParquet(ctx, struct{ io.Writer }{w}, features.ParquetOptions{})
		})
		text += "column roles (key, time, label, outcome, feature) are in the field metadata \"" + features.MetaRole + "\"\n"
	} else {
		side := path + features.ColumnsSuffix
		err = writeFileAtomic(side, writeBytes(t.Columns(filepath.Base(path)).Encode))
		if err == nil {
			err = writeFileAtomic(path, func(w io.Writer) error { return t.WriteCSV(ctx, w) })
		}
		res["columns"] = side
		text += fmt.Sprintf("column roles (key, time, label, outcome, feature) and definitions: %s\n", side)
	}
	if err != nil {
		return fmt.Errorf("export features: %w", err)
	}
	return a.emit(res, text)
}
