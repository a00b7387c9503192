package main

import (
	"context"
	"flag"
	"fmt"
	"runtime/debug"

	"github.com/duesight/duesight/data"
)

func statsCommand() command {
	return command{
		name:    "stats",
		summary: "summarise the stored history: counts, date range, late ratio, money per currency",
		flags: func(fs *flag.FlagSet) func(context.Context, *app, []string) error {
			return func(ctx context.Context, a *app, args []string) error {
				if len(args) > 0 {
					return usagef("stats takes no arguments")
				}
				s, err := a.openStore(ctx, true)
				if err != nil {
					return err
				}
				defer s.Close()
				total, err := s.Count(ctx)
				if err != nil {
					return fmt.Errorf("count rows: %w", err)
				}
				p := a.newProgress("stats", "rows", int64(total.Total()))
				sum, err := data.Summarize(ctx, s, p.Set)
				p.Finish()
				if err != nil {
					return err
				}
				return a.emit(sum.JSON(), sum.Text())
			}
		},
	}
}

func versionCommand() command {
	return command{
		name:    "version",
		summary: "print the duesight version and the history schema version",
		flags: func(fs *flag.FlagSet) func(context.Context, *app, []string) error {
			return func(ctx context.Context, a *app, args []string) error {
				v := codeVersion()
				return a.emit(map[string]any{"version": v, "schema_version": data.SchemaVersion},
					fmt.Sprintf("duesight %s (history schema %d)\n", v, data.SchemaVersion))
			}
		},
	}
}

// codeVersion is the VCS revision the binary was built from, or "devel".
func codeVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}
