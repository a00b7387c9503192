package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/data/synth"
)

func demoCommand() command {
	return command{
		name:    "demo",
		summary: "one command from a fresh clone: generate a demo history into the store (if empty) and summarise it",
		flags: func(fs *flag.FlagSet) func(context.Context, *app, []string) error {
			accounts := fs.Int("accounts", synth.DefaultAccounts, "accounts to generate when the store is empty")
			return func(ctx context.Context, a *app, args []string) error {
				if len(args) > 0 {
					return usagef("demo takes no arguments")
				}
				empty, err := a.storeEmpty(ctx)
				if err != nil {
					return err
				}
				if empty {
					fmt.Fprintf(a.io.err, "demo: generating %d accounts of history into %s\n", *accounts, a.storeURL)
					if err := a.sub(ctx, genCommand(), "--accounts", strconv.Itoa(*accounts)); err != nil {
						return err
					}
				} else {
					fmt.Fprintf(a.io.err, "demo: using the history already in %s\n", a.storeURL)
				}
				return a.sub(ctx, statsCommand())
			}
		},
	}
}

// storeEmpty reports whether the configured store holds no rows (a missing
// embedded store counts as empty).
func (a *app) storeEmpty(ctx context.Context) (bool, error) {
	s, err := a.openStore(ctx, false)
	if err != nil {
		return false, err
	}
	defer s.Close()
	n, err := s.Count(ctx)
	if err != nil {
		return false, fmt.Errorf("count stored rows: %w", err)
	}
	return n == (data.Counts{}), nil
}

// sub runs another command with this app's settings.
func (a *app) sub(ctx context.Context, c command, args ...string) error {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	exec := c.flags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := a.bindDefaults(fs, c.name, visited(fs)); err != nil {
		return err
	}
	return exec(ctx, a, fs.Args())
}

func visited(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}
