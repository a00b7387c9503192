package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/duesight/duesight/data/csvio"
)

func exportCommand() command {
	return command{
		name:    "export",
		summary: "write the stored history as one CSV or Parquet file per entity ('duesight import DIR' reads it back)",
		usage:   "DIR",
		flags: func(fs *flag.FlagSet) func(context.Context, *app, []string) error {
			format := fs.String("file-format", "csv", "csv or parquet")
			return func(ctx context.Context, a *app, args []string) error {
				if len(args) != 1 {
					return usagef("export needs one output directory")
				}
				f, err := csvio.ParseFormat(*format)
				if err != nil {
					return usagef("--file-format: %v", err)
				}
				s, err := a.openStore(ctx, true)
				if err != nil {
					return err
				}
				defer s.Close()
				n, err := csvio.Export(ctx, s, args[0], f)
				if err != nil {
					return err
				}
				return a.emit(map[string]any{"dir": args[0], "format": f, "rows": n},
					fmt.Sprintf("exported %s to %s\n", countsText(n), args[0]))
			}
		},
	}
}
