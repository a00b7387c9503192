package scoring_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/duesight/duesight/model/gbdt"
	"github.com/duesight/duesight/model/gbdtkind"
	"io"
	"iter"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/duesight/duesight/api"
	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/data/parquet"
	"github.com/duesight/duesight/data/synth"
	"github.com/duesight/duesight/features"
	"github.com/duesight/duesight/model"
	"github.com/duesight/duesight/model/calibrate"
	"github.com/duesight/duesight/model/logreg"
	"github.com/duesight/duesight/model/timing"
	"github.com/duesight/duesight/scoring"
)

// The fixture: a Parquet store with a generated history (synth, seed 1,
// fixtureAccounts accounts ending fixtureTo) and a registry holding
//
//	m1: logreg (L2 1, missing indicators) + Platt calibration, linked to
//	    a weekly-hazard timing model through the "timing_model" param;
//	m2: logreg (L2 100), no calibration, no timing model (fallback);
//	tm: the timing model.
//
// m1 is active. It is built once per test binary into a template directory
// and copied into each test's own directory.
const fixtureAccounts = 250

var (
	fixtureTo   = data.NewDate(2025, 7, 1)
	fixtureNow  = time.Date(2025, 7, 1, 14, 0, 0, 0, time.UTC) // a Tuesday
	fixtureDir  string
	fixtureVers struct{ m1, m2, m3, tm string } // logreg+timing, logreg alone, gbdt+timing, timing
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "scoring-fixture-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fixtureDir = dir
	if err := buildFixture(context.Background(), dir); err != nil {
		fmt.Fprintln(os.Stderr, "fixture:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := 0
	func() {
		defer os.RemoveAll(dir)
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines left after building the fixture:", err)
			code = 1
			return
		}
		code = m.Run()
		if code == 0 {
			if err := goleak.Find(goleak.IgnoreCurrent()); err != nil {
				fmt.Fprintln(os.Stderr, "goleak:", err)
				code = 1
			}
		}
	}()
	os.Exit(code)
}

func buildFixture(ctx context.Context, dir string) error {
	st, err := parquet.Open(ctx, filepath.Join(dir, "store"), parquet.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	w, err := st.Begin(ctx)
	if err != nil {
		return err
	}
	if _, err := synth.Generate(ctx, synth.Options{Seed: 1, Accounts: fixtureAccounts, To: fixtureTo}, w, nil); err != nil {
		_ = w.Rollback()
		return err
	}
	if err := w.Commit(ctx); err != nil {
		return err
	}
	tab, err := features.Build(ctx, st, features.Options{})
	if err != nil {
		return err
	}
	idx := tab.Labeled()
	s := tab.Select(idx)
	d := &model.Dataset{Names: s.Names, X: s.X, Y: s.Late}
	lr1, err := logreg.Fit(ctx, d, logreg.Params{L2: 1, MissingIndicators: true}, nil)
	if err != nil {
		return fmt.Errorf("fit m1: %w", err)
	}
	raw := make([]float64, d.Rows())
	if err := lr1.PredictBatch(d.X, raw); err != nil {
		return err
	}
	platt, err := calibrate.FitPlatt(raw, d.Y, nil)
	if err != nil {
		return err
	}
	lr2, err := logreg.Fit(ctx, d, logreg.Params{L2: 100}, nil)
	if err != nil {
		return fmt.Errorf("fit m2: %w", err)
	}
	gp := gbdt.DefaultParams()
	gp.NumRounds, gp.MaxDepth, gp.Eta = 60, 5, 0.2
	gb, err := gbdtkind.Fit(ctx, d, nil, gp)
	if err != nil {
		return fmt.Errorf("fit m3: %w", err)
	}
	// Timing: Y = days late of paid invoices, last observed day otherwise.
	last := features.LastKnownDay(tab.Horizon)
	td := &model.Dataset{Names: tab.Names, X: tab.X, Y: make([]float64, tab.Len())}
	o := timing.Outcomes{Paid: make([]bool, tab.Len()), ObservedThrough: make([]int, tab.Len())}
	for i := range td.Y {
		o.ObservedThrough[i] = last.Sub(tab.DueDate[i])
		if tab.Status[i] == features.StatusPaid {
			o.Paid[i], td.Y[i] = true, tab.DaysLate[i]
		} else {
			td.Y[i] = float64(o.ObservedThrough[i])
		}
	}
	tm, err := timing.Fit(ctx, td, o, timing.Params{Weeks: 12, MaxIter: 200}, nil)
	if err != nil {
		return fmt.Errorf("fit timing: %w", err)
	}
	reg, err := model.OpenRegistry(ctx, filepath.Join(dir, "models"), model.RegistryOptions{Clock: func() time.Time { return fixtureNow }})
	if err != nil {
		return err
	}
	meta := func(params map[string]any) model.Meta {
		return model.Meta{SchemaVersion: scoring.SchemaVersion(), TrainFrom: "2023-01-01", TrainTo: "2025-06-30",
			CreatedAt: fixtureNow.Add(-time.Hour), Params: params, Metrics: map[string]float64{"test_auc": 0.7}}
	}
	put := func(p model.Predictor, m model.Meta) (string, error) {
		a, err := model.NewArtifact(p, m)
		if err != nil {
			return "", err
		}
		return reg.Put(ctx, a)
	}
	if fixtureVers.tm, err = put(tm, meta(nil)); err != nil {
		return err
	}
	if fixtureVers.m1, err = put(model.Calibrated(lr1, platt), meta(map[string]any{scoring.TimingParam: fixtureVers.tm})); err != nil {
		return err
	}
	if fixtureVers.m2, err = put(lr2, meta(nil)); err != nil {
		return err
	}
	if fixtureVers.m3, err = put(gb, meta(map[string]any{scoring.TimingParam: fixtureVers.tm})); err != nil {
		return err
	}
	return reg.Activate(ctx, fixtureVers.m1)
}

// flakyStore wraps a store; while down is set every call fails with
// data.Unavailable (the store "is unreachable").
type flakyStore struct {
	data.Store
	down atomic.Bool
	// gate, when set, holds every Histories stream after its first row
	// (when it has its snapshot of the store) until it is closed.
	gate atomic.Pointer[chan struct{}]
}

var errDown = data.Errorf(data.Unavailable, "test: the store is down")

func (f *flakyStore) SchemaVersion(ctx context.Context) (int, error) {
	if f.down.Load() {
		return 0, errDown
	}
	return f.Store.SchemaVersion(ctx)
}

func (f *flakyStore) Begin(ctx context.Context) (data.Writer, error) {
	if f.down.Load() {
		return nil, errDown
	}
	return f.Store.Begin(ctx)
}

func (f *flakyStore) Lookup(ctx context.Context, k data.Keys) (*data.Batch, error) {
	if f.down.Load() {
		return nil, errDown
	}
	return f.Store.Lookup(ctx, k)
}

func (f *flakyStore) History(ctx context.Context, id string) (*data.History, error) {
	if f.down.Load() {
		return nil, errDown
	}
	return f.Store.History(ctx, id)
}

func (f *flakyStore) Histories(ctx context.Context, q data.HistoryQuery) iter.Seq2[*data.History, error] {
	if f.down.Load() {
		return func(yield func(*data.History, error) bool) { yield(nil, errDown) }
	}
	if g := f.gate.Load(); g != nil {
		return func(yield func(*data.History, error) bool) {
			first := true
			for h, err := range f.Store.Histories(ctx, q) {
				if first { // the stream has taken its snapshot of the store
					first = false
					select {
					case <-*g:
					case <-ctx.Done():
						yield(nil, ctx.Err())
						return
					}
				}
				if !yield(h, err) {
					return
				}
			}
		}
	}
	return f.Store.Histories(ctx, q)
}

// clock is a settable test clock.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock    { c := &clock{}; c.ns.Store(t.UnixNano()); return c }
func (c *clock) Now() time.Time      { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Add(d time.Duration) { c.ns.Add(int64(d)) }

// env is one test's service: its own copy of the fixture, a real HTTP
// server on a loopback port, and a key per role.
type env struct {
	t      testing.TB
	ctx    context.Context
	dir    string
	store  *flakyStore
	reg    *model.Registry
	clock  *clock
	svc    *scoring.Service
	url    string
	keys   map[api.Role]string
	client *http.Client
	logs   *syncBuffer
}

type envOptions struct {
	opts     scoring.Options // Store, Registry, Clock and Logger are set by newEnv
	noServer bool
	dir      string // an existing store+models directory instead of the fixture
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, ctx: ctx, dir: t.TempDir(), clock: newClock(fixtureNow), logs: &syncBuffer{}}
	src := fixtureDir
	if o.dir != "" {
		src = o.dir
	}
	if err := os.CopyFS(e.dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	ps, err := parquet.Open(ctx, filepath.Join(e.dir, "store"), parquet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ps.Close() })
	e.store = &flakyStore{Store: ps}
	if e.reg, err = model.OpenRegistry(ctx, filepath.Join(e.dir, "models"), model.RegistryOptions{Clock: e.clock.Now}); err != nil {
		t.Fatal(err)
	}
	opts := o.opts
	opts.Store, opts.Registry, opts.Clock = e.store, e.reg, e.clock.Now
	opts.Logger = slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if e.svc, err = scoring.New(ctx, opts); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Resync(ctx); err != nil {
		t.Fatal(err)
	}
	if !o.noServer {
		e.serve()
	}
	return e
}

// serve starts the API on a loopback listener and stops it at cleanup.
func (e *env) serve() {
	t := e.t
	ks, err := api.OpenKeyStore(filepath.Join(e.dir, "keys.json"), api.KeyStoreOptions{Clock: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.keys = map[api.Role]string{}
	for _, r := range api.Roles() {
		k, _, err := ks.Create(e.ctx, r, "test")
		if err != nil {
			t.Fatal(err)
		}
		e.keys[r] = k
	}
	srv, err := api.New(api.Options{Backend: e.svc, Keys: ks, Registry: prometheus.NewRegistry(), Clock: e.clock.Now,
		RateLimit: api.RateLimit{PerSecond: -1},
		Logger:    slog.New(slog.NewJSONHandler(e.logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, "", "") }()
	e.url = "http://" + ln.Addr().String()
	e.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 60 * time.Second}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		e.client.CloseIdleConnections()
	})
}

// do sends a request with role's key (no key for role "") and returns the
// status and body.
func (e *env) do(method, path string, role api.Role, body any) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+e.keys[role])
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, b
}

// must sends a request that must answer want, and decodes the body into out.
func (e *env) must(want int, method, path string, role api.Role, body, out any) []byte {
	e.t.Helper()
	status, b := e.do(method, path, role, body)
	if status != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: decode %T: %v: %s", method, path, out, err, b)
		}
	}
	return b
}

// Wire shapes decoded by the tests (amounts are decimal strings).
type wireMoney struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

type wireReason struct {
	Feature      string   `json:"feature"`
	Value        *float64 `json:"value"`
	Contribution float64  `json:"contribution"`
}

type wireScore struct {
	InvoiceID        string  `json:"invoice_id"`
	AccountID        string  `json:"account_id"`
	PLate            float64 `json:"p_late"`
	ExpectedDaysLate float64 `json:"expected_days_late"`
	PaymentDate      struct {
		P10, P50, P90 string
	} `json:"payment_date_quantiles"`
	RiskTier string       `json:"risk_tier"`
	Reasons  []wireReason `json:"reasons"`
}

type wireScoreResponse struct {
	ModelVersion string      `json:"model_version"`
	AsOf         time.Time   `json:"as_of"`
	Scores       []wireScore `json:"scores"`
}

type wireWorklist struct {
	AsOf         time.Time `json:"as_of"`
	ModelVersion string    `json:"model_version"`
	Total        int       `json:"total"`
	NextCursor   string    `json:"next_cursor"`
	Items        []struct {
		Rank          int       `json:"rank"`
		AccountID     string    `json:"account_id"`
		Segment       string    `json:"segment"`
		ExpectedValue wireMoney `json:"expected_value"`
		Overdue       wireMoney `json:"overdue_amount"`
		RiskTier      string    `json:"risk_tier"`
		NextAction    struct {
			Channel    string    `json:"channel"`
			EarliestAt time.Time `json:"earliest_send_at"`
			Reason     string    `json:"reason"`
		} `json:"next_action"`
	} `json:"items"`
}

type wireAccount struct {
	AccountID    string      `json:"account_id"`
	Name         string      `json:"name"`
	ModelVersion string      `json:"model_version"`
	Open         []wireMoney `json:"open_amounts"`
	Overdue      []wireMoney `json:"overdue_amounts"`
	ExpectedLoss []wireMoney `json:"expected_loss"`
	OpenInvoices []struct {
		InvoiceID   string    `json:"invoice_id"`
		OpenAmount  wireMoney `json:"open_amount"`
		DaysPastDue int       `json:"days_past_due"`
		Score       wireScore `json:"score"`
	} `json:"open_invoices"`
	RecentContacts []struct {
		ContactID string    `json:"contact_id"`
		Channel   string    `json:"channel"`
		SentAt    time.Time `json:"sent_at"`
		Outcome   string    `json:"outcome"`
	} `json:"recent_contacts"`
}

// syncBuffer is a log sink safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// openInvoices returns up to n open invoices (open at the fixture's now)
// of the store, by account id order.
func openInvoices(t testing.TB, s data.Store, n int) []data.Invoice {
	t.Helper()
	var out []data.Invoice
	for h, err := range s.Histories(context.Background(), data.HistoryQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
		open := h.OpenAmounts(0)
		for i, inv := range h.Invoices {
			if open[i] > 0 && len(out) < n {
				inv.ID, inv.AccountID, inv.Currency = strings.Clone(inv.ID), strings.Clone(inv.AccountID), strings.Clone(inv.Currency)
				out = append(out, inv)
			}
		}
		if len(out) >= n {
			break
		}
	}
	if len(out) == 0 {
		t.Fatal("the fixture has no open invoice")
	}
	return out
}

// offline computes what the service must answer for inv as of asOf with
// artifact version v: features.VectorAt over the stored history and the
// registry's model.
type offlineModel struct {
	late   model.Model
	timing model.Timing
}

func loadOffline(t testing.TB, reg *model.Registry, version string) offlineModel {
	t.Helper()
	ctx := context.Background()
	a, err := reg.Get(ctx, version, scoring.Schema())
	if err != nil {
		t.Fatal(err)
	}
	m, err := a.Model()
	if err != nil {
		t.Fatal(err)
	}
	om := offlineModel{late: m}
	var tv string
	if ok, err := a.Header.Param(scoring.TimingParam, &tv); err != nil {
		t.Fatal(err)
	} else if ok {
		ta, err := reg.Get(ctx, tv, scoring.Schema())
		if err != nil {
			t.Fatal(err)
		}
		if om.timing, err = ta.Timing(); err != nil {
			t.Fatal(err)
		}
	}
	return om
}

func closeTo(a, b float64) bool { return a == b || math.Abs(a-b) <= 1e-12 }

var errStop = errors.New("stop")

func jsonUnmarshal(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %T: %w: %.200s", v, err, b)
	}
	return nil
}
