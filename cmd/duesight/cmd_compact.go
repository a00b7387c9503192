package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/duesight/duesight/data"
)

func compactCommand() command {
	return command{
		name:    "compact",
		summary: "rewrite the embedded store's files into one sorted set per table (reads slow down as imports and event batches accumulate)",
		flags: func(fs *flag.FlagSet) func(context.Context, *app, []string) error {
			return func(ctx context.Context, a *app, args []string) error {
				if len(args) > 0 {
					return usagef("compact takes no arguments")
				}
				s, err := a.openStore(ctx, false)
				if err != nil {
					return err
				}
				defer s.Close()
				c, ok := s.(data.Compactor)
				if !ok {
					return a.emit(map[string]any{"compacted": false}, "this store needs no compaction\n")
				}
				a.stage("compacting")
				if err := c.Compact(ctx); err != nil {
					return fmt.Errorf("compact: %w", err)
				}
				return a.emit(map[string]any{"compacted": true}, "compacted\n")
			}
		},
	}
}
