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
				v := buildVersion()
				text := fmt.Sprintf("duesight %s (%s, history schema %d)\n", v.Version, v.Go, data.SchemaVersion)
				if v.Version == "devel" {
					text += "no version information: 'go run' and -buildvcs=false builds carry none; build with 'go build' in a\n" +
						"git checkout, or stamp one: go build -ldflags \"-X main.version=v1.2.3\" ./cmd/duesight\n"
				}
				return a.emit(map[string]any{"version": v.Version, "go": v.Go, "revision": v.Revision, "revision_time": v.Time,
					"modified": v.Modified, "schema_version": data.SchemaVersion}, text)
			}
		},
	}
}

// version is stamped at link time:
//
//	go build -ldflags "-X main.version=v1.2.3" ./cmd/duesight
var version string

// versionInfo says what code a binary was built from.
type versionInfo struct {
	Version  string // see codeVersion
	Go       string // toolchain, e.g. go1.26.8
	Revision string // VCS revision, "" when not recorded
	Time     string // VCS commit time (RFC 3339), "" when not recorded
	Modified bool   // built from a working tree with local changes
}

func buildVersion() versionInfo {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return versionOf(version, bi)
}

// codeVersion is the version recorded in artifacts and printed by
// `duesight version`.
func codeVersion() string { return buildVersion().Version }

// versionOf picks the version: the one stamped with -ldflags, else the
// module version (go install ...@v1.2.3), else the VCS revision (12 hex
// digits, "-dirty" with local changes; go build in a git checkout), else
// "devel".
func versionOf(linked string, bi *debug.BuildInfo) versionInfo {
	v := versionInfo{Version: linked}
	if bi == nil {
		if v.Version == "" {
			v.Version = "devel"
		}
		return v
	}
	v.Go = bi.GoVersion
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	switch {
	case v.Version != "":
	case bi.Main.Version != "" && bi.Main.Version != "(devel)":
		v.Version = bi.Main.Version
	case v.Revision != "":
		v.Version = v.Revision[:min(12, len(v.Revision))]
		if v.Modified {
			v.Version += "-dirty"
		}
	default:
		v.Version = "devel"
	}
	return v
}
