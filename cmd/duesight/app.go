package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/duesight/duesight/data"
)

// stdio is the process's standard streams (tests pass buffers).
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

// app holds what every command needs: streams, settings, logger, clock.
type app struct {
	io     stdio
	getenv func(string) string
	now    func() time.Time

	// global settings, bound to flags in every command's flag set
	storeURL   string
	configPath string
	logLevel   string
	format     string // auto, text or json

	cfg     config
	logger  *slog.Logger
	started time.Time // when the command started (stage timings)
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	usage   string // arguments after the flags
	flags   func(fs *flag.FlagSet) func(ctx context.Context, a *app, args []string) error
}

// errUsage marks errors in how the CLI was called (exit code 2).
var errUsage = errors.New("usage")

type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }
func (e *usageError) Is(t error) bool {
	return t == errUsage
}

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

func exitCode(err error) int {
	if errors.Is(err, errUsage) || errors.Is(err, flag.ErrHelp) {
		return 2
	}
	return 1
}

// DefaultStore is where history lives when nothing else is configured.
const DefaultStore = "file://./duesight-data"

func commands() []command {
	return []command{
		demoCommand(),
		genCommand(),
		importCommand(),
		exportCommand(),
		statsCommand(),
		compactCommand(),
		featuresCommand(),
		trainCommand(),
		evaluateCommand(),
		modelsCommand(),
		modelCommand(),
		serveCommand(),
		keysCommand(),
		versionCommand(),
	}
}

// run is the whole CLI: main only wires signals and the process's streams.
func run(ctx context.Context, args []string, std stdio, getenv func(string) string) error {
	a := &app{io: std, getenv: getenv, now: time.Now}
	a.started = a.now()
	cmds := commands()
	global := flag.NewFlagSet("duesight", flag.ContinueOnError)
	global.SetOutput(io.Discard)
	a.globalFlags(global)
	if err := global.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			a.printHelp(cmds)
			return nil
		}
		return usagef("%v%s (see duesight help)", err, flagSuggestion(global, err))
	}
	rest := global.Args()
	if len(rest) == 0 || rest[0] == "help" || rest[0] == "-h" {
		if len(rest) > 1 {
			return a.commandHelp(cmds, rest[1])
		}
		a.printHelp(cmds)
		return nil
	}
	i := slices.IndexFunc(cmds, func(c command) bool { return c.name == rest[0] })
	if i < 0 {
		return usagef("unknown command %q%s (see duesight help)", rest[0], didYouMean(rest[0], append(commandNames(cmds), "help")))
	}
	cmd := cmds[i]
	// Global values given before the command name; registering the global
	// flags again below resets their variables to the defaults.
	early := map[string]string{}
	global.Visit(func(f *flag.Flag) { early[f.Name] = f.Value.String() })
	fs := flag.NewFlagSet("duesight "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	a.globalFlags(fs)
	exec := cmd.flags(fs)
	for name, v := range early {
		_ = fs.Set(name, v)
	}
	positional, err := parseInterspersed(fs, rest[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return a.commandHelp(cmds, cmd.name)
		}
		return usagef("%s: %v%s (see duesight help %s)", cmd.name, err, flagSuggestion(fs, err), cmd.name)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if err := a.loadConfig(set["config"]); err != nil {
		return err
	}
	if err := a.bindDefaults(fs, cmd.name, set); err != nil {
		return err
	}
	if err := a.setupLogger(); err != nil {
		return err
	}
	return exec(ctx, a, positional)
}

func (a *app) globalFlags(fs *flag.FlagSet) {
	fs.StringVar(&a.storeURL, "store", DefaultStore, "history store: file://DIR (embedded Parquet) or clickhouse://HOST:PORT/DB")
	fs.StringVar(&a.configPath, "config", "duesight.yaml", "config file (YAML); missing default file is fine")
	fs.StringVar(&a.logLevel, "log-level", "warn", "log level: debug, info, warn, error")
	fs.StringVar(&a.format, "format", "auto", "output: text, json, or auto (text on a terminal, json otherwise)")
}

func (a *app) setupLogger() error {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(a.logLevel)); err != nil {
		return usagef("--log-level %q: want debug, info, warn or error", a.logLevel)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if a.isTerminal(a.io.err) {
		a.logger = slog.New(slog.NewTextHandler(a.io.err, opts))
	} else {
		a.logger = slog.New(slog.NewJSONHandler(a.io.err, opts))
	}
	switch a.format {
	case "auto", "text", "json":
	default:
		return usagef("--format %q: want text, json or auto", a.format)
	}
	return nil
}

// isTerminal reports whether w is a terminal (progress bars and text output
// only go to terminals).
func (a *app) isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// jsonOutput reports whether results should be printed as JSON.
func (a *app) jsonOutput() bool {
	return a.format == "json" || (a.format == "auto" && !a.isTerminal(a.io.out))
}

// emit prints a result: v as one JSON document, or text for people.
func (a *app) emit(v any, text string) error {
	if a.jsonOutput() {
		enc := json.NewEncoder(a.io.out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	_, err := io.WriteString(a.io.out, text)
	return err
}

func (a *app) printHelp(cmds []command) {
	w := a.io.out
	fmt.Fprintf(w, "duesight — who will pay late, whom to contact first, how and when.\n\nUsage: duesight [global flags] <command> [flags]\n\nCommands:\n")
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nGlobal flags (also accepted after the command):\n")
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	(&app{}).globalFlags(fs)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprintf(w, "\nEvery flag can also be set by an environment variable (DUESIGHT_STORE, DUESIGHT_GEN_ACCOUNTS, ...)\n"+
		"or in the config file (top-level keys for global flags, a section per command). Precedence: flag, env, file, default.\n"+
		"Run 'duesight help <command>' for a command's flags.\n")
}

func (a *app) commandHelp(cmds []command, name string) error {
	i := slices.IndexFunc(cmds, func(c command) bool { return c.name == name })
	if i < 0 {
		return usagef("unknown command %q%s", name, didYouMean(name, commandNames(cmds)))
	}
	c := cmds[i]
	fmt.Fprintf(a.io.out, "Usage: duesight %s [flags] %s\n\n%s\n\nFlags:\n", c.name, c.usage, c.summary)
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	c.flags(fs)
	fs.SetOutput(a.io.out)
	fs.PrintDefaults()
	return nil
}

// envName is the environment variable for a flag: DUESIGHT_STORE for the
// global --store, DUESIGHT_GEN_ACCOUNTS for gen --accounts.
func envName(cmd, flagName string, global bool) string {
	n := "DUESIGHT_"
	if !global {
		n += strings.ToUpper(cmd) + "_"
	}
	return n + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

var globalFlagNames = map[string]bool{"store": true, "config": true, "log-level": true, "format": true}

// bindDefaults fills flags not given on the command line from the
// environment, then from the config file.
func (a *app) bindDefaults(fs *flag.FlagSet, cmd string, set map[string]bool) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || set[f.Name] || f.Name == "config" {
			return
		}
		global := globalFlagNames[f.Name]
		if v := a.getenv(envName(cmd, f.Name, global)); v != "" {
			if e := fs.Set(f.Name, v); e != nil {
				err = usagef("environment %s=%q: %v", envName(cmd, f.Name, global), v, e)
			}
			return
		}
		if v, ok := a.cfg.lookup(cmd, f.Name, global); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = usagef("%s: %s: %v", a.cfg.path, f.Name, e)
			}
		}
	})
	return err
}

// openStore opens the configured history store.
func (a *app) openStore(ctx context.Context, readOnly bool) (data.Store, error) {
	return openStore(ctx, a.storeURL, readOnly, a.logger)
}

// parseInterspersed parses flags anywhere among the arguments (as in
// "import out --format text"); "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}
