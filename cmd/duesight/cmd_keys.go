package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/duesight/duesight/api"
)

func keysCommand() command {
	return command{
		name:    "keys",
		summary: "API keys of the server: create --role ROLE [--name N] | list | revoke ID",
		usage:   "create --role ROLE [--name N] | list | revoke ID",
		flags: func(fs *flag.FlagSet) func(context.Context, *app, []string) error {
			keys := fs.String("keys", DefaultKeys, "API key file (shared with 'duesight serve')")
			roleFlag := fs.String("role", "", "create: the key's role: "+roleNames())
			name := fs.String("name", "", "create: a label for people, e.g. erp-sync (no personal data)")
			return func(ctx context.Context, a *app, args []string) error {
				if len(args) == 0 {
					return usagef("keys needs a subcommand: create, list or revoke (see duesight help keys)")
				}
				ks, err := api.OpenKeyStore(*keys, api.KeyStoreOptions{Clock: a.now, Logger: a.logger, ReloadInterval: -1})
				if err != nil {
					return fmt.Errorf("open key file: %w", err)
				}
				switch sub := args[0]; {
				case sub == "create" && len(args) == 1:
					if *roleFlag == "" {
						return usagef("keys create needs --role (%s)", roleNames())
					}
					role, err := api.ParseRole(*roleFlag)
					if err != nil {
						return usagef("--role: %v", err)
					}
					key, info, err := ks.Create(ctx, role, *name)
					if err != nil {
						return fmt.Errorf("create key: %w", err)
					}
					return a.emit(map[string]any{"key": key, "id": info.ID, "role": info.Role, "name": info.Label,
						"created_at": info.CreatedAt, "file": ks.Path()},
						fmt.Sprintf("created key %s (role %s) in %s\n\n  %s\n\nKeep it secret and store it now: it is not shown again.\n",
							info.ID, info.Role, ks.Path(), key))
				case sub == "list" && len(args) == 1:
					list, err := ks.List(ctx)
					if err != nil {
						return fmt.Errorf("list keys: %w", err)
					}
					var b strings.Builder
					tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "ID\tROLE\tNAME\tCREATED\tREVOKED")
					for _, k := range list {
						revoked := "-"
						if k.Revoked() {
							revoked = k.RevokedAt.Format(time.RFC3339)
						}
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Role, orNone(k.Label), k.CreatedAt.Format(time.RFC3339), revoked)
					}
					tw.Flush()
					if list == nil {
						list = []api.KeyInfo{}
					}
					return a.emit(list, b.String())
				case sub == "revoke" && len(args) == 2:
					info, err := ks.Revoke(ctx, args[1])
					if err != nil {
						return fmt.Errorf("revoke key: %w", err)
					}
					return a.emit(info, fmt.Sprintf("revoked key %s (role %s); servers sharing %s refuse it within a second\n",
						info.ID, info.Role, ks.Path()))
				default:
					return usagef("keys %s%s: want create --role ROLE [--name N], list, or revoke ID", strings.Join(args, " "),
						didYouMean(args[0], []string{"create", "list", "revoke"}))
				}
			}
		},
	}
}

func roleNames() string {
	var names []string
	for _, r := range api.Roles() {
		names = append(names, string(r))
	}
	return strings.Join(names, ", ")
}
