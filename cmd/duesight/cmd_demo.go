package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/duesight/duesight/api"
	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/data/synth"
)

func demoCommand() command {
	return command{
		name: "demo",
		summary: "one command from a fresh clone: generate a history into the store (if empty), train and activate a model\n" +
			"           (if none is active), create a demo API key and serve the API; prints the URL, the key and sample curls",
		flags: func(fs *flag.FlagSet) func(context.Context, *app, []string) error {
			accounts := fs.Int("accounts", synth.DefaultAccounts, "accounts to generate when the store is empty")
			addr := fs.String("addr", "127.0.0.1:8080", "listen address of the API")
			models := fs.String("models", DefaultModels, "model registry directory")
			keys := fs.String("keys", DefaultKeys, "API key file")
			noServe := fs.Bool("no-serve", false, "prepare (history, model, key) but do not start the server")
			fxPath := fs.String("fx", "duesight-fx.yaml", "FX table for the worklist; written with the synthetic world's illustrative rates if missing")
			return func(ctx context.Context, a *app, args []string) error {
				if len(args) > 0 {
					return usagef("demo takes no arguments")
				}
				// The demo is for people: its steps report in text.
				if a.format == "auto" {
					a.format = "text"
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
				reg, err := a.openRegistry(ctx, *models)
				if err != nil {
					return err
				}
				if active, err := activeVersion(ctx, reg); err != nil {
					return err
				} else if active == "" {
					fmt.Fprintf(a.io.err, "demo: training a model on it\n")
					if err := a.sub(ctx, trainCommand(), "--kind", "gbdt", "--models", *models, "--activate", "yes"); err != nil {
						return err
					}
				} else {
					fmt.Fprintf(a.io.err, "demo: serving the active model %s\n", active)
				}
				ks, err := api.OpenKeyStore(*keys, api.KeyStoreOptions{Clock: a.now, Logger: a.logger})
				if err != nil {
					return fmt.Errorf("open key file: %w", err)
				}
				key, revoked, err := replaceDemoKey(ctx, ks)
				if err != nil {
					return err
				}
				if revoked > 0 {
					fmt.Fprintf(a.io.err, "demo: replaced the previous demo key (revoked; keys labelled %q are the demo's)\n", demoKeyLabel)
				}
				invoice, account, err := a.sampleOpenInvoice(ctx)
				if err != nil {
					return err
				}
				base := "http://" + *addr
				fmt.Fprintf(a.io.out, "\nduesight demo\n  API:      %s (OpenAPI document at %s/v1/openapi.json)\n  API key:  %s  (role analyst; shown once, stored hashed in %s)\n\ntry:\n", base, base, key, *keys)
				fmt.Fprintf(a.io.out, "  curl -s -H 'Authorization: Bearer %s' '%s/v1/worklist?limit=5'\n", key, base)
				if invoice != "" {
					fmt.Fprintf(a.io.out, "  curl -s -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' \\\n       -d '{\"invoices\":[{\"invoice_id\":\"%s\"}]}' %s/v1/score\n", key, invoice, base)
					fmt.Fprintf(a.io.out, "  curl -s -H 'Authorization: Bearer %s' %s/v1/accounts/%s\n", key, base, account)
				}
				fmt.Fprintln(a.io.out)
				if err := writeDemoFX(*fxPath); err != nil {
					return err
				}
				if *noServe {
					return nil
				}
				return a.sub(ctx, serveCommand(), "--addr", *addr, "--models", *models, "--keys", *keys, "--fx", *fxPath)
			}
		},
	}
}

// demoKeyLabel labels the key demo creates.
const demoKeyLabel = "demo"

// replaceDemoKey revokes the keys an earlier demo run created and creates
// a new one, so that repeated runs leave one valid demo key (the key file
// keeps only hashes: an old key cannot be shown again, so it is replaced).
// It returns the new key and how many were revoked.
func replaceDemoKey(ctx context.Context, ks *api.KeyStore) (string, int, error) {
	list, err := ks.List(ctx)
	if err != nil {
		return "", 0, fmt.Errorf("list api keys: %w", err)
	}
	revoked := 0
	for _, k := range list {
		if k.Label == demoKeyLabel && k.Role == api.RoleAnalyst && !k.Revoked() {
			if _, err := ks.Revoke(ctx, k.ID); err != nil {
				return "", revoked, fmt.Errorf("revoke the previous demo key: %w", err)
			}
			revoked++
		}
	}
	key, _, err := ks.Create(ctx, api.RoleAnalyst, demoKeyLabel)
	if err != nil {
		return "", revoked, fmt.Errorf("create demo key: %w", err)
	}
	return key, revoked, nil
}

// sampleOpenInvoice finds an open invoice to show in the sample curl.
func (a *app) sampleOpenInvoice(ctx context.Context) (invoice, account string, err error) {
	s, err := a.openStore(ctx, true)
	if err != nil {
		return "", "", err
	}
	defer s.Close()
	for h, err := range s.Histories(ctx, data.HistoryQuery{}) {
		if err != nil {
			return "", "", err
		}
		open := h.OpenAmounts(0)
		for i := len(h.Invoices) - 1; i >= 0; i-- {
			if open[i] > 0 {
				return h.Invoices[i].ID, h.Account.ID, nil
			}
		}
	}
	return "", "", nil
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

// writeDemoFX writes, unless the file exists, an FX table to USD from the
// synthetic world's own exchange rates, so that the demo worklist ranks
// accounts of every currency. They are illustrative, not market data.
func writeDemoFX(path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	var b strings.Builder
	b.WriteString("# Illustrative rates of duesight's synthetic world (data/synth), NOT market data.\n")
	b.WriteString("# Units of the reporting currency per unit of each currency. Replace with your own.\n")
	b.WriteString("reporting: USD\nrates:\n")
	seen := map[string]bool{"USD": true}
	for _, m := range synth.DefaultModel().Markets {
		if !seen[m.Currency] {
			seen[m.Currency] = true
			fmt.Fprintf(&b, "  %s: %.6g\n", m.Currency, 1/m.PerUSD)
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("write demo FX table: %w", err)
	}
	return nil
}
