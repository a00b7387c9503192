package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/duesight/duesight/api"
	"github.com/duesight/duesight/model"
	"github.com/duesight/duesight/scoring"
)

// DefaultKeys is the API key file.
const DefaultKeys = "./duesight-keys.json"

// loadRetry is how long serve waits before retrying a failed initial load
// of the online state.
const loadRetry = 5 * time.Second

func serveCommand() command {
	return command{
		name:    "serve",
		summary: "serve the scoring API over HTTP(S): scores, account views, worklist, events, models",
		flags: func(fs *flag.FlagSet) func(context.Context, *app, []string) error {
			addr := fs.String("addr", "127.0.0.1:8080", "listen address (host:port; port 0 picks a free one)")
			models := fs.String("models", DefaultModels, "model registry directory (its active version is served)")
			keys := fs.String("keys", DefaultKeys, "API key file (create keys with 'duesight keys create')")
			cert := fs.String("tls-cert", "", "TLS certificate file (PEM); with --tls-key serves HTTPS")
			key := fs.String("tls-key", "", "TLS private key file (PEM)")
			fxPath := fs.String("fx", "", "FX table for the worklist (YAML or JSON: 'reporting: EUR' and 'rates: {USD: 0.92, ...}',\n"+
				"units of the reporting currency per unit); default: reporting USD and no other rate, so amounts\n"+
				"in other currencies are left out of the ranking and counted")
			resync := fs.Duration("resync", 0, "rebuild the online state from the store and pick up registry activations\n"+
				"this often (e.g. 1h); 0 means only on SIGHUP")
			rate := fs.Float64("rate-limit", 0, "requests per second per API key (0: the API default of 50; negative: no limit)")
			workers := fs.Int("workers", 0, "goroutines for state loading, batch scoring and ranking (0: GOMAXPROCS);\n"+
				"memory: about 0.9 KB of live heap per account (2x that during a resync; with the default GOGC=100 the\n"+
				"process may use twice the live heap); GOMEMLIMIT and GOGC tune the GC")
			protect := fs.Bool("protect-metrics", false, "require an admin key for /metrics")
			debugAddr := fs.String("debug-addr", "", "serve Go's profiler (net/http/pprof) on this separate address, e.g. 127.0.0.1:6060;\nkeep it on loopback: it is not authenticated")
			wait := fs.Bool("wait-for-better-channel", false, "worklist: let a channel allowed only later (e.g. a call at 08:00 local)\n"+
				"beat one allowed now when its delay-discounted value is higher (default: a channel allowed now wins)")
			return func(ctx context.Context, a *app, args []string) error {
				if len(args) > 0 {
					return usagef("serve takes no arguments, got %q", args)
				}
				if (*cert == "") != (*key == "") {
					return usagef("--tls-cert and --tls-key go together")
				}
				if *workers < 0 {
					return usagef("--workers must be ≥ 0")
				}
				opts := scoring.Options{Clock: a.now, Logger: a.logger, Workers: *workers, WaitForBetterChannel: *wait}
				if *fxPath != "" {
					b, err := os.ReadFile(*fxPath)
					if err != nil {
						return fmt.Errorf("read --fx: %w", err)
					}
					fx, err := scoring.ParseFX(b)
					if err != nil {
						return usagef("--fx %s: %v", *fxPath, err)
					}
					opts.FX = &fx
				}
				store, err := a.openStore(ctx, false)
				if err != nil {
					return err
				}
				defer store.Close()
				reg, err := a.openRegistry(ctx, *models)
				if err != nil {
					return err
				}
				ks, err := api.OpenKeyStore(*keys, api.KeyStoreOptions{Clock: a.now, Logger: a.logger})
				if err != nil {
					return fmt.Errorf("open key file: %w", err)
				}
				opts.Store, opts.Registry = store, reg
				svc, err := scoring.New(ctx, opts)
				if err != nil {
					return err
				}
				srv, err := api.New(api.Options{Backend: svc, Keys: ks, Logger: a.logger, Registry: prometheus.NewRegistry(),
					Clock: a.now, RateLimit: api.RateLimit{PerSecond: *rate}, ProtectMetrics: *protect})
				if err != nil {
					return err
				}
				if *debugAddr != "" {
					stop, err := startDebugServer(*debugAddr)
					if err != nil {
						return err
					}
					defer stop()
				}
				return a.serve(ctx, svc, srv, reg, *addr, *cert, *key, *resync)
			}
		},
	}
}

// serve listens, loads the online state, keeps it fresh and serves until
// ctx is done (SIGINT, SIGTERM), then drains in-flight requests.
func (a *app) serve(ctx context.Context, svc *scoring.Service, srv *api.Server, reg *model.Registry,
	addr, cert, key string, every time.Duration) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	scheme := "http"
	if cert != "" {
		scheme = "https"
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln, cert, key) }()
	fmt.Fprintf(a.io.out, "duesight serve: listening on %s://%s\n", scheme, ln.Addr())

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	refreshed := make(chan struct{})
	go func() {
		defer close(refreshed)
		a.keepFresh(ctx, svc, hup, every)
	}()
	err = <-served
	cancel()
	<-refreshed
	if err != nil {
		return err
	}
	fmt.Fprintf(a.io.out, "duesight serve: stopped\n")
	return nil
}

// keepFresh loads the online state (retrying until it succeeds), then
// resyncs it and picks up registry activations on SIGHUP and every `every`.
func (a *app) keepFresh(ctx context.Context, svc *scoring.Service, hup <-chan os.Signal, every time.Duration) {
	start := a.now()
	for {
		err := svc.Resync(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return
		}
		a.logger.Error("serve: loading the online state failed; retrying", "err", err, "retry_in", loadRetry)
		select {
		case <-ctx.Done():
			return
		case <-time.After(loadRetry):
		}
	}
	debug.FreeOSMemory() // return the load's garbage (decode buffers, replay scratch) to the OS
	st := svc.Stats()
	fmt.Fprintf(a.io.out, "duesight serve: ready: %d accounts (~%d MiB of state) loaded in %s, model %s\n",
		st.FeatureStateEntries, st.FeatureStateBytes>>20, a.now().Sub(start).Round(time.Millisecond), orNone(st.ActiveModel))
	var tick <-chan time.Time
	if every > 0 {
		t := time.NewTicker(every)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		case <-tick:
		}
		if _, err := svc.SyncModel(ctx); err != nil && !errors.Is(err, context.Canceled) {
			a.logger.Error("serve: picking up the registry's active model failed", "err", err)
		}
		if err := svc.Resync(ctx); err != nil && ctx.Err() == nil {
			a.logger.Error("serve: resync failed; still serving the previous state", "err", err)
		}
		debug.FreeOSMemory() // the previous state is garbage now
	}
}

// startDebugServer serves net/http/pprof on its own listener and mux (the
// API's mux never exposes it). stop closes it.
func startDebugServer(addr string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--debug-addr %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	return func() { _ = hs.Close() }, nil
}
