package main

import (
	"context"
	"flag"
	"fmt"
	"runtime"
	"sync/atomic"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/data/synth"
)

func genCommand() command {
	return command{
		name:    "gen",
		summary: "generate a seeded synthetic payment history (with ground truth) into the store",
		flags: func(fs *flag.FlagSet) func(context.Context, *app, []string) error {
			accounts := fs.Int("accounts", synth.DefaultAccounts, "number of accounts (about 30 invoices each)")
			seed := fs.Uint64("seed", 1, "random seed: the same seed and dates give the same history")
			to := fs.String("to", "", "end of the history, exclusive (YYYY-MM-DD; default today, UTC)")
			from := fs.String("from", "", "start of the history (YYYY-MM-DD; default about 2.5 years before --to)")
			truth := fs.String("truth", "duesight-truth.jsonl.gz", "file for the ground truth (gzip JSON lines); empty to skip")
			workers := fs.Int("workers", runtime.GOMAXPROCS(0), "generator goroutines (the output does not depend on it)")
			return func(ctx context.Context, a *app, args []string) error {
				if len(args) > 0 {
					return usagef("gen takes no arguments, got %q", args)
				}
				opts := synth.Options{Seed: *seed, Accounts: *accounts, Workers: *workers, Logger: a.logger}
				var err error
				if opts.To, err = parseDateFlag("to", *to, data.DateOf(a.now().UTC()).AddDays(1)); err != nil {
					return err
				}
				if opts.From, err = parseDateFlag("from", *from, 0); err != nil {
					return err
				}
				if *accounts < 1 {
					return usagef("--accounts must be at least 1")
				}
				s, err := a.openStore(ctx, false)
				if err != nil {
					return err
				}
				defer s.Close()
				if n, err := s.Count(ctx); err != nil {
					return fmt.Errorf("count stored rows: %w", err)
				} else if n.Total() > 0 {
					return usagef("the store %s already holds %d rows; generate into an empty store (--store)", a.storeURL, n.Total())
				}
				var sink synth.TruthSink
				var tw *synth.TruthWriter
				if *truth != "" {
					if tw, err = synth.CreateTruthFile(*truth); err != nil {
						return fmt.Errorf("create truth file: %w", err)
					}
					sink = tw
				}
				w, err := s.Begin(ctx)
				if err != nil {
					return fmt.Errorf("begin write: %w", err)
				}
				p := a.newProgress("gen", "rows", 0)
				cw := &countingWriter{Writer: w, progress: p}
				sum, err := synth.Generate(ctx, opts, cw, sink)
				if err == nil && tw != nil {
					err = tw.Close()
				}
				if err == nil {
					err = w.Commit(ctx)
				}
				p.Finish()
				if err != nil {
					_ = w.Rollback()
					return fmt.Errorf("generate: %w", err)
				}
				text := fmt.Sprintf("generated %d accounts, %d invoices, %d payments, %d contacts, %d disputes into %s\n",
					sum.Rows.Accounts, sum.Rows.Invoices, sum.Rows.Payments, sum.Rows.Contacts, sum.Rows.Disputes, a.storeURL)
				if *truth != "" {
					text += fmt.Sprintf("ground truth: %s\n", *truth)
				}
				return a.emit(map[string]any{"summary": sum, "store": a.storeURL, "truth": *truth,
					"from": opts.From, "to": opts.To, "seed": opts.Seed}, text)
			}
		},
	}
}

// countingWriter reports rows written to a progress bar.
type countingWriter struct {
	data.Writer
	rows     atomic.Int64
	progress *progress
}

func (c *countingWriter) Write(ctx context.Context, b *data.Batch) error {
	if err := c.Writer.Write(ctx, b); err != nil {
		return err
	}
	c.progress.Set(c.rows.Add(int64(b.Len())))
	return nil
}

// parseDateFlag parses a YYYY-MM-DD flag value; empty gives def.
func parseDateFlag(name, v string, def data.Date) (data.Date, error) {
	if v == "" {
		return def, nil
	}
	d, err := data.ParseDate(v)
	if err != nil {
		return 0, usagef("--%s: %v", name, err)
	}
	return d, nil
}
