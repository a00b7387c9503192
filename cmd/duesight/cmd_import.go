package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/data/csvio"
)

func importCommand() command {
	return command{
		name:    "import",
		summary: "load CSV or Parquet files into the store through a column mapping (all-or-nothing by default)",
		usage: "[SOURCE=]FILE ... | EXPORT_DIR\n\n" +
			"With --mapping, give each file as SOURCE=FILE, SOURCE being a source name of the mapping\n" +
			"(a mapping with a single source also takes a bare FILE). Without --mapping, give a\n" +
			"directory written by 'duesight export' (CSV or Parquet).",
		flags: func(fs *flag.FlagSet) func(context.Context, *app, []string) error {
			mappingPath := fs.String("mapping", "", "column-mapping file (YAML); see data/csvio/MAPPING.md")
			skip := fs.Bool("skip-invalid", false, "load the valid rows and write the rejected ones to --rejects")
			rejects := fs.String("rejects", "", "CSV file listing every rejected row with file, line, column and reason (default rejects.csv with --skip-invalid)")
			tolerance := fs.Float64("overpay-tolerance", data.DefaultOverpayTolerance.Rel,
				"relative tolerance for payments above an invoice's open amount (at least one minor unit)")
			return func(ctx context.Context, a *app, args []string) error {
				m, files, err := importInputs(*mappingPath, args)
				if err != nil {
					return err
				}
				if *skip && *rejects == "" {
					*rejects = "rejects.csv"
				}
				s, err := a.openStore(ctx, false)
				if err != nil {
					return err
				}
				defer s.Close()
				var total int64
				p := a.newProgress("import", "rows", 0)
				tol := data.Tolerance{Abs: 1, Rel: *tolerance}
				res, err := csvio.Import(ctx, s, m, files, csvio.ImportOptions{
					SkipInvalid: *skip, RejectPath: *rejects, Overpay: &tol, Logger: a.logger,
					Progress: func(pr csvio.Progress) {
						if total == 0 && pr.TotalBytes > 0 {
							total = pr.TotalBytes
							p.total, p.unit = total, "bytes"
						}
						p.SetCount(pr.Rows, "rows")
						p.Set(pr.Bytes)
					},
				})
				p.Finish()
				var rowsErr *csvio.RowsError
				switch {
				case errors.As(err, &rowsErr) && rowsErr.Imported:
					// --skip-invalid: the valid rows are in; the result says
					// how many were skipped and where the reasons are.
				case errors.As(err, &rowsErr) && *rejects != "":
					return fmt.Errorf("%w\n(every problem, with its row, is listed in %s)", err, *rejects)
				case errors.As(err, &rowsErr) && len(rowsErr.Problems) > csvio.MaxShown:
					return fmt.Errorf("%w\n(list them all with --rejects FILE)", err)
				case err != nil:
					return err
				}
				return a.emit(res, importText(res, *rejects))
			}
		},
	}
}

// importInputs resolves the mapping and the source files from the arguments.
func importInputs(mappingPath string, args []string) (*csvio.Mapping, map[string]string, error) {
	if len(args) == 0 {
		return nil, nil, usagef("import needs files (see duesight help import)")
	}
	if mappingPath == "" {
		if len(args) != 1 {
			return nil, nil, usagef("without --mapping, give one directory written by 'duesight export'")
		}
		dir := args[0]
		for _, f := range []csvio.Format{csvio.FormatCSV, csvio.FormatParquet} {
			files := csvio.ExportFiles(dir, f)
			if exists(files["accounts"]) {
				for src, path := range files {
					if !exists(path) {
						delete(files, src)
					}
				}
				return csvio.DefaultMapping(), files, nil
			}
		}
		return nil, nil, usagef("%s holds no accounts.csv or accounts.parquet from 'duesight export'; to load other files give --mapping", dir)
	}
	m, err := csvio.LoadMapping(mappingPath)
	if err != nil {
		return nil, nil, err
	}
	files := map[string]string{}
	sources := m.Sources()
	for _, arg := range args {
		src, path, ok := strings.Cut(arg, "=")
		if !ok {
			if len(sources) != 1 {
				return nil, nil, usagef("%q: the mapping has sources %s; give SOURCE=FILE", arg, strings.Join(sources, ", "))
			}
			src, path = sources[0], arg
		}
		if _, dup := files[src]; dup {
			return nil, nil, usagef("source %q given twice", src)
		}
		files[src] = path
	}
	return m, files, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func importText(res *csvio.Result, rejects string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "read %d rows\n", res.Rows)
	if r := res.Report; r != nil {
		fmt.Fprintf(&b, "added      %s\n", countsText(r.Added))
		if r.Updated.Total() > 0 {
			fmt.Fprintf(&b, "updated    %s\n", countsText(r.Updated))
		}
		if r.Unchanged.Total() > 0 {
			fmt.Fprintf(&b, "unchanged  %s (already stored)\n", countsText(r.Unchanged))
		}
	} else {
		b.WriteString("nothing new to write\n")
	}
	if res.RejectedRows > 0 {
		fmt.Fprintf(&b, "skipped %d invalid rows; reasons in %s\n", res.RejectedRows, rejects)
	}
	return b.String()
}

func countsText(c data.Counts) string {
	return fmt.Sprintf("%d accounts, %d invoices, %d payments, %d contacts, %d disputes",
		c.Accounts, c.Invoices, c.Payments, c.Contacts, c.Disputes)
}
