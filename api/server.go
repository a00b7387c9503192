package api

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Defaults of Options.
const (
	DefaultBodyLimit        = 16 << 20 // enough for 10,000 inline invoices with accounts (~5 MiB)
	DefaultMaxScoreBatch    = 10_000
	DefaultMaxEventRows     = 100_000
	DefaultMaxWorklistLimit = 1000
	DefaultRequestTimeout   = 60 * time.Second
	DefaultRetryAfter       = 5 * time.Second
	// MinSnapshotTTL is how long Backend.Worklist must keep a ranking
	// snapshot after creating it, so cursors stay usable.
	MinSnapshotTTL = 15 * time.Minute
)

// Options configure a Server. Backend, Keys and Registry are required;
// zero values of the others mean the documented defaults.
type Options struct {
	// Backend serves the requests.
	Backend Backend
	// Keys checks API keys (usually a *KeyStore).
	Keys KeyVerifier
	// Logger receives the access log and server errors; nil discards.
	Logger *slog.Logger
	// Registry receives the server's metrics and is what /metrics serves.
	Registry *prometheus.Registry
	// Clock is the time source for latency measurements and rate limits;
	// nil means time.Now. (Backend call deadlines use the runtime's timers.)
	Clock func() time.Time
	// BodyLimit caps request bodies in bytes (413 beyond); 0 means
	// DefaultBodyLimit.
	BodyLimit int64
	// RateLimit is the per-key token bucket.
	RateLimit RateLimit
	// MaxScoreBatch caps invoices per POST /v1/score (422 beyond); 0 means
	// DefaultMaxScoreBatch.
	MaxScoreBatch int
	// MaxEventRows caps each array of a POST /v1/events body; 0 means
	// DefaultMaxEventRows.
	MaxEventRows int
	// MaxWorklistLimit caps the worklist page size; 0 means
	// DefaultMaxWorklistLimit.
	MaxWorklistLimit int
	// RequestTimeout bounds each backend call; 0 means
	// DefaultRequestTimeout.
	RequestTimeout time.Duration
	// RetryAfter is sent with 503 answers; 0 means DefaultRetryAfter.
	RetryAfter time.Duration
	// ProtectMetrics makes /metrics require a key with PermMetrics
	// (admin); by default it is open like /healthz, for scrapers.
	ProtectMetrics bool
	// Timeouts of the HTTP server used by Serve.
	Timeouts Timeouts
}

// Timeouts of the HTTP server (zero values mean the defaults shown).
type Timeouts struct {
	ReadHeader time.Duration // 10s: slow-loris guard
	Read       time.Duration // 2m: whole request including a 16 MiB body
	Write      time.Duration // 2m: from the end of the headers to the end of the response
	Idle       time.Duration // 2m: keep-alive
	Shutdown   time.Duration // 30s: drain in-flight requests, then close
}

func (t Timeouts) withDefaults() Timeouts {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.ReadHeader, 10*time.Second)
	def(&t.Read, 2*time.Minute)
	def(&t.Write, 2*time.Minute)
	def(&t.Idle, 2*time.Minute)
	def(&t.Shutdown, 30*time.Second)
	return t
}

// Server is the HTTP API. Create it with New; it is safe for concurrent use.
type Server struct {
	opt     Options
	log     *slog.Logger
	clock   func() time.Time
	backend Backend
	keys    KeyVerifier
	limiter *limiter
	metrics *metrics
	engine  *gin.Engine

	routeList []RouteInfo

	reqPrefix string
	reqSeq    atomic.Uint64
}

// New checks opts and builds the server (routes and metrics). It registers
// the server's collectors on opts.Registry, so one registry serves one
// Server.
func New(opts Options) (*Server, error) {
	switch {
	case opts.Backend == nil:
		return nil, errors.New("api: Options.Backend is required")
	case opts.Keys == nil:
		return nil, errors.New("api: Options.Keys is required")
	case opts.Registry == nil:
		return nil, errors.New("api: Options.Registry is required (the server never uses the default registry)")
	case opts.BodyLimit < 0:
		return nil, fmt.Errorf("api: Options.BodyLimit is %d; want ≥ 0", opts.BodyLimit)
	case opts.MaxScoreBatch < 0, opts.MaxEventRows < 0, opts.MaxWorklistLimit < 0:
		return nil, errors.New("api: Options.MaxScoreBatch, MaxEventRows and MaxWorklistLimit must be ≥ 0")
	case opts.RequestTimeout < 0 || opts.RetryAfter < 0:
		return nil, errors.New("api: Options.RequestTimeout and RetryAfter must be ≥ 0")
	case opts.RateLimit.PerSecond > 0 && opts.RateLimit.Burst < 0:
		return nil, fmt.Errorf("api: Options.RateLimit.Burst is %d; want ≥ 0", opts.RateLimit.Burst)
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	if opts.BodyLimit == 0 {
		opts.BodyLimit = DefaultBodyLimit
	}
	def(&opts.MaxScoreBatch, DefaultMaxScoreBatch)
	def(&opts.MaxEventRows, DefaultMaxEventRows)
	def(&opts.MaxWorklistLimit, DefaultMaxWorklistLimit)
	if opts.RequestTimeout == 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	if opts.RetryAfter == 0 {
		opts.RetryAfter = DefaultRetryAfter
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	opts.Timeouts = opts.Timeouts.withDefaults()
	s := &Server{opt: opts, log: opts.Logger, clock: opts.Clock, backend: opts.Backend, keys: opts.Keys,
		limiter: newLimiter(opts.RateLimit, opts.Clock)}
	var p [6]byte
	rand.Read(p[:])
	s.reqPrefix = hex.EncodeToString(p[:]) + "-"
	m, err := newMetrics(opts.Registry, opts.Backend)
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	s.metrics = m
	s.engine = s.routes()
	return s, nil
}

// Handler returns the API's http.Handler (for httptest or custom servers).
func (s *Server) Handler() http.Handler { return s.engine }

// routes builds the gin engine: release mode, no default middleware, no
// redirects, problem+json for unknown routes and methods.
func (s *Server) routes() *gin.Engine {
	// gin's mode is process-wide; release mode only silences gin's own
	// debug printing to stdout, which this server never wants.
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.RedirectTrailingSlash = false
	e.RedirectFixedPath = false
	e.HandleMethodNotAllowed = true
	e.ForwardedByClientIP = false
	e.UseRawPath = true // ids may contain %2F
	e.UnescapePathValues = true
	e.Use(s.observe)
	e.NoRoute(s.noRoute)
	e.NoMethod(s.noMethod)

	s.handle(e, "GET", "/healthz", "", s.healthz)
	s.handle(e, "GET", "/readyz", "", s.readyz)
	metricsHandler := gin.WrapH(promhttp.HandlerFor(s.opt.Registry, promhttp.HandlerOpts{
		ErrorLog: promLogger{s.log}, ErrorHandling: promhttp.ContinueOnError}))
	if s.opt.ProtectMetrics {
		s.handle(e, "GET", "/metrics", PermMetrics, metricsHandler)
	} else {
		s.handle(e, "GET", "/metrics", "", metricsHandler)
	}
	s.handle(e, "GET", "/v1/openapi.json", "", s.openapi)
	s.handle(e, "POST", "/v1/score", PermScore, s.score)
	s.handle(e, "GET", "/v1/accounts/:id", PermAccounts, s.account)
	s.handle(e, "GET", "/v1/worklist", PermWorklist, s.worklist)
	s.handle(e, "POST", "/v1/events", PermEvents, s.events)
	s.handle(e, "GET", "/v1/models", PermModelsRead, s.models)
	s.handle(e, "POST", "/v1/models/:version/activate", PermModelsManage, s.activate)
	return e
}

// RouteInfo describes one served route.
type RouteInfo struct {
	Method string
	// Path is the route template in OpenAPI form (/v1/accounts/{id}).
	Path string
	// Permission is what the route requires ("" for public routes).
	Permission Permission
}

// handle registers a route, behind auth when perm is not "".
func (s *Server) handle(e *gin.Engine, method, path string, perm Permission, h gin.HandlerFunc) {
	if perm != "" {
		e.Handle(method, path, s.auth(perm), h)
	} else {
		e.Handle(method, path, h)
	}
	segs := strings.Split(path, "/")
	for i, seg := range segs {
		if strings.HasPrefix(seg, ":") {
			segs[i] = "{" + seg[1:] + "}"
		}
	}
	s.routeList = append(s.routeList, RouteInfo{Method: method, Path: strings.Join(segs, "/"), Permission: perm})
}

// Routes lists the served routes and the permission each requires.
func (s *Server) Routes() []RouteInfo { return slices.Clone(s.routeList) }

// promLogger adapts slog to promhttp's error log.
type promLogger struct{ log *slog.Logger }

func (l promLogger) Println(v ...any) { l.log.Error("metrics scrape", "err", fmt.Sprint(v...)) }

// Serve serves the API on ln until ctx is done, then shuts down
// gracefully: it stops accepting connections, lets in-flight requests
// finish (their contexts are not cancelled) for up to
// Options.Timeouts.Shutdown, and returns. With certFile and keyFile it
// serves HTTPS (TLS 1.2+). It returns nil after a clean shutdown.
func (s *Server) Serve(ctx context.Context, ln net.Listener, certFile, keyFile string) error {
	if (certFile == "") != (keyFile == "") {
		return errors.New("api: serve: TLS needs both a certificate and a key file")
	}
	t := s.opt.Timeouts
	srv := &http.Server{
		Handler:           s.engine,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		// Requests must outlive ctx: cancelling it starts the drain.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		TLSConfig:   &tls.Config{MinVersion: tls.VersionTLS12},
	}
	errc := make(chan error, 1)
	go func() {
		if certFile != "" {
			errc <- srv.ServeTLS(ln, certFile, keyFile)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	s.log.Info("api serving", "addr", ln.Addr().String(), "tls", certFile != "")
	select {
	case err := <-errc:
		return fmt.Errorf("api: serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	s.log.Info("api shutting down", "drain_timeout", t.Shutdown)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.Shutdown)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return fmt.Errorf("api: serve %s: %w", ln.Addr(), serr)
	}
	if err != nil {
		_ = srv.Close()
		return fmt.Errorf("api: shutdown: in-flight requests did not finish within %s: %w", t.Shutdown, err)
	}
	s.log.Info("api stopped")
	return nil
}
