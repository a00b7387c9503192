package train

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/features"
	"github.com/duesight/duesight/model"
	"github.com/duesight/duesight/model/calibrate"
	"github.com/duesight/duesight/model/eval"
	"github.com/duesight/duesight/model/forest"
	"github.com/duesight/duesight/model/gbdt"
	"github.com/duesight/duesight/model/gbdtkind"
	"github.com/duesight/duesight/model/logreg"
	"github.com/duesight/duesight/model/timing"
)

// Kinds of late-payment model Train can fit.
const (
	KindGBDT   = gbdtkind.Kind
	KindLogReg = "logreg"
	// KindForest is the random forest of golearn ID3 trees, a comparison
	// baseline only: it is fitted with seed 1 on a seeded sample of at most
	// ForestSampleRows training rows (golearn's trees are slow).
	KindForest = "forest"
)

// ForestSampleRows caps the training rows of the forest baseline.
const ForestSampleRows = 20000

// SchemaVersion is the model.Schema version string of models trained on
// the current feature catalog.
func SchemaVersion() string { return fmt.Sprintf("features/v%d", features.SchemaVersion) }

// Schema is the feature schema current models are trained on.
func Schema() model.Schema { return model.Schema{Version: SchemaVersion(), Names: features.Names()} }

// DefaultGBDT returns the gbdt parameters duesight trains with: 0.1
// shrinkage, depth 6, up to 600 rounds early-stopped after 30 rounds
// without validation log-loss improvement, 80% row and column sampling.
func DefaultGBDT() gbdt.Params {
	p := gbdt.DefaultParams()
	p.Eta, p.MaxDepth, p.NumRounds, p.EarlyStoppingRounds = 0.1, 6, 600, 30
	p.Subsample, p.ColsampleByTree, p.MinChildWeight, p.Lambda = 0.8, 0.8, 1, 1
	p.Seed = 1
	return p
}

// DefaultLogReg returns ridge λ = 1 with missing-value indicators.
func DefaultLogReg() logreg.Params { return logreg.Params{L2: 1, MissingIndicators: true} }

// Options control Train. The zero value trains a gbdt with defaults but
// needs Clock.
type Options struct {
	// Kind is KindGBDT (default) or KindLogReg.
	Kind string
	// Split defaults to the time-ordered 70/15/15 split.
	Split eval.SplitSpec
	// GBDT and LogReg hold the learner parameters; nil means the defaults.
	GBDT   *gbdt.Params
	LogReg *logreg.Params
	// Calibration is "auto" (default), "isotonic", "platt" or "none".
	// auto picks among the other three by fitting each on the older half of
	// the validation window and comparing log loss on its newer half, then
	// refits the winner on the whole window: isotonic regression can overfit
	// a small or drifting validation window and make the test window worse.
	Calibration string
	// SkipTiming trains no payment-timing model.
	SkipTiming bool
	// TimingArtifact, when set, is linked instead of fitting a new timing
	// model (e.g. when several kinds are trained on one table).
	TimingArtifact *model.Artifact
	Timing         timing.Params
	// Positive and Negative name the label's classes in the reports'
	// confusion matrices (default late and on_time; see TableData).
	Positive, Negative string
	// CodeVersion is recorded in the artifacts (default: model.CodeVersion,
	// the binary's VCS revision).
	CodeVersion string
	// Clock stamps the artifacts (required).
	Clock func() time.Time
	// Logger receives progress (counts only). Nil discards.
	Logger *slog.Logger
	// Stage, when set, is told each long step as it starts, for people
	// ("fitting the payment-timing model on 3,608 invoices").
	Stage func(step string)
}

func (o *Options) stage(format string, args ...any) {
	if o.Stage != nil {
		o.Stage(fmt.Sprintf(format, args...))
	}
}

// Artifact params recording the test window the test_* metrics were
// measured on (first and last issue date, YYYY-MM-DD). Metrics of two
// models compare only when their test windows and horizons are equal.
const (
	ParamTestFrom = "test_from"
	ParamTestTo   = "test_to"
	ParamHorizon  = "horizon"
)

// Result is what Train produced.
type Result struct {
	Kind string `json:"kind"`
	// Late is the calibrated late-payment artifact; Timing the linked
	// payment-timing artifact (nil with SkipTiming).
	Late   *model.Artifact `json:"-"`
	Timing *model.Artifact `json:"-"`
	// Model is Late's calibrated model, ready to score.
	Model model.Model `json:"-"`
	// Rows per set and the issue-date window of each.
	Train Window `json:"train"`
	Valid Window `json:"valid"`
	Test  Window `json:"test"`
	// Unlabeled counts rows left out because their label is unknown.
	Unlabeled int `json:"unlabeled"`
	// Reports on the test window: calibrated, uncalibrated; and on validation.
	TestReport, TestUncalibrated, ValidReport *eval.Report `json:"-"`
	TimingTest                                *eval.TimingReport
	// Rounds is the number of boosting rounds kept (gbdt).
	Rounds int `json:"rounds,omitempty"`
	// Seconds spent fitting the late-payment model.
	FitSeconds float64 `json:"fit_seconds"`
	// Calibration is the calibration method used (see Options.Calibration).
	Calibration string `json:"calibration"`
}

// Window describes one set of a split.
type Window struct {
	Rows     int       `json:"rows"`
	From     data.Date `json:"from"`
	To       data.Date `json:"to"`
	LateRate float64   `json:"late_rate"`
}

// Dataset turns the labelled rows of t into a model dataset: X the feature
// columns, Y the late flag, Time the issue day, Group the account. It
// returns the row indices of t used.
func Dataset(t *features.Table) (*model.Dataset, []int) {
	idx := t.Labeled()
	s := t.Select(idx)
	d := &model.Dataset{Names: s.Names, X: s.X, Y: s.Late, Time: make([]int64, s.Len()), Group: s.AccountID}
	for i, day := range s.IssueDate {
		d.Time[i] = int64(day)
	}
	return d, idx
}

// Train fits, calibrates and evaluates a late-payment model (and a
// payment-timing model) on the issue-snapshot rows of t.
func Train(ctx context.Context, t *features.Table, opt Options) (*Result, error) {
	if opt.Clock == nil {
		return nil, errors.New("train: Options.Clock is required")
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	kind := opt.Kind
	if kind == "" {
		kind = KindGBDT
	}
	issue := onlySnapshot(t, features.SnapshotIssue)
	d, rows := Dataset(issue)
	res := &Result{Kind: kind, Unlabeled: issue.Len() - len(rows)}
	if d.Rows() < 100 {
		return nil, data.Errorf(data.Invalid, "train: %d labelled invoices; need at least 100", d.Rows())
	}
	sp, err := eval.SplitRows(d, opt.Split)
	if err != nil {
		return nil, fmt.Errorf("train: split: %w", err)
	}
	tr, va, te := d.Subset(sp.Train), d.Subset(sp.Valid), d.Subset(sp.Test)
	res.Train, res.Valid, res.Test = window(tr), window(va), window(te)
	log.Info("train: split", "train", tr.Rows(), "valid", va.Rows(), "test", te.Rows(), "unlabeled", res.Unlabeled)

	fitted, err := fitEvaluate(ctx, kind, tr, va, te, opt, log)
	if err != nil {
		return nil, err
	}
	raw, cal := fitted.raw, fitted.cal
	res.Model, res.FitSeconds, res.Rounds = fitted.model, fitted.seconds, fitted.rounds
	res.ValidReport, res.TestReport, res.TestUncalibrated = fitted.valid, fitted.test, fitted.testRaw
	res.Calibration = fitted.calMethod

	meta := model.Meta{SchemaVersion: SchemaVersion(), TrainFrom: res.Train.From.String(), TrainTo: res.Train.To.String(),
		CreatedAt: opt.Clock(), Metrics: metrics(res), Calibration: cal, CodeVersion: opt.CodeVersion,
		Params: map[string]any{"label": fmt.Sprintf("late: paid more than %d days after due", t.Grace), "grace_days": t.Grace,
			ParamHorizon: t.Horizon.UTC().Format(time.RFC3339), "split": splitName(opt.Split), "calibration": res.Calibration,
			ParamTestFrom: res.Test.From.String(), ParamTestTo: res.Test.To.String()}}
	switch {
	case opt.TimingArtifact != nil:
		res.Timing = opt.TimingArtifact
		meta.Params["timing_model"] = res.Timing.Header.Version
	case !opt.SkipTiming:
		opt.stage("fitting the weekly-hazard payment-timing model on %d invoices, testing it on %d", len(sp.Train), len(sp.Test))
		tm, rep, err := fitTiming(ctx, issue, rows, sp, opt, log)
		if err != nil {
			return nil, err
		}
		res.TimingTest = rep
		tmeta := meta
		tmeta.Calibration = nil
		tmeta.Metrics = map[string]float64{"test_mae_days": rep.MAE, "test_coverage_p10_p90": rep.Coverage}
		tmeta.Params = map[string]any{ParamHorizon: meta.Params[ParamHorizon]}
		if res.Timing, err = model.NewArtifact(tm, tmeta); err != nil {
			return nil, fmt.Errorf("train: timing artifact: %w", err)
		}
		meta.Params["timing_model"] = res.Timing.Header.Version
	}
	if res.Late, err = model.NewArtifact(raw, meta); err != nil {
		return nil, fmt.Errorf("train: artifact: %w", err)
	}
	return res, nil
}

// fitted is a model fitted, calibrated and evaluated on one split.
type fitted struct {
	raw, model           model.Model
	cal                  calibrate.Calibrator
	valid, test, testRaw *eval.Report
	seconds              float64
	rounds               int
	calMethod            string
}

// fitEvaluate fits kind on tr (early stopping on va), calibrates on va and
// reports on va and te.
func fitEvaluate(ctx context.Context, kind string, tr, va, te *model.Dataset, opt Options, log *slog.Logger) (*fitted, error) {
	opt.stage("fitting %s on %d rows × %d features (validation: %d rows)", kind, tr.Rows(), len(tr.Names), va.Rows())
	start := time.Now()
	raw, err := fit(ctx, kind, tr, va, opt, log)
	if err != nil {
		return nil, err
	}
	f := &fitted{raw: raw, seconds: time.Since(start).Seconds()}
	if b, ok := raw.(*gbdtkind.Model); ok {
		f.rounds = b.Ensemble().NumRounds()
	}
	opt.stage("calibrating %s on the validation rows, testing it on %d rows", kind, te.Rows())
	validScores, err := predict(raw, va)
	if err != nil {
		return nil, err
	}
	if f.calMethod, f.cal, err = chooseCalibration(opt.Calibration, validScores, va); err != nil {
		return nil, err
	}
	f.model = model.Calibrated(raw, f.cal)
	if f.valid, err = report(kind+" (valid)", f.model, va, opt); err != nil {
		return nil, err
	}
	if f.test, err = report(kind, f.model, te, opt); err != nil {
		return nil, err
	}
	if f.testRaw, err = report(kind+" uncalibrated", raw, te, opt); err != nil {
		return nil, err
	}
	return f, nil
}

func fit(ctx context.Context, kind string, tr, va *model.Dataset, opt Options, log *slog.Logger) (model.Model, error) {
	switch kind {
	case KindGBDT:
		p := DefaultGBDT()
		if opt.GBDT != nil {
			p = *opt.GBDT
		}
		p.Logger = log
		m, err := gbdtkind.Fit(ctx, tr, va, p)
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		return m, nil
	case KindLogReg:
		p := DefaultLogReg()
		if opt.LogReg != nil {
			p = *opt.LogReg
		}
		m, err := logreg.Fit(ctx, tr, p, log)
		if err != nil {
			return nil, fmt.Errorf("train: logreg: %w", err)
		}
		return m, nil
	case KindForest:
		sample := tr
		if n := tr.Rows(); n > ForestSampleRows {
			idx := rand.New(rand.NewPCG(1, 2)).Perm(n)[:ForestSampleRows]
			slices.Sort(idx)
			sample = tr.Subset(idx)
		}
		m, err := forest.Fit(ctx, sample, forest.Params{Seed: 1}, log)
		if err != nil {
			return nil, fmt.Errorf("train: forest baseline: %w", err)
		}
		return m, nil
	}
	return nil, data.Errorf(data.Invalid, "train: unknown model kind %q (want %s, %s or %s)", kind, KindGBDT, KindLogReg, KindForest)
}

// chooseCalibration fits the requested calibrator, or with "auto" (or "")
// the one that generalises best across the validation window (see
// Options.Calibration). It returns the method used.
func chooseCalibration(method string, scores []float64, va *model.Dataset) (string, calibrate.Calibrator, error) {
	if method != "" && method != "auto" {
		c, err := fitCalibration(method, scores, va.Y, va.W)
		return method, c, err
	}
	order := make([]int, len(scores))
	for i := range order {
		order[i] = i
	}
	if va.Time != nil {
		slices.SortStableFunc(order, func(a, b int) int { return cmpInt64(va.Time[a], va.Time[b]) })
	}
	half := len(order) / 2
	pick := func(idx []int, v []float64) []float64 {
		if v == nil {
			return nil
		}
		out := make([]float64, len(idx))
		for k, i := range idx {
			out[k] = v[i]
		}
		return out
	}
	older, newer := order[:half], order[half:]
	best, bestLoss := "none", math.Inf(1)
	for _, m := range []string{"none", "platt", "isotonic"} {
		c, err := fitCalibration(m, pick(older, scores), pick(older, va.Y), pick(older, va.W))
		if err != nil {
			continue // e.g. one class only in the older half
		}
		p := pick(newer, scores)
		if c != nil {
			for i := range p {
				p[i] = c.Apply(p[i])
			}
		}
		loss, err := eval.LogLoss(pick(newer, va.Y), p, pick(newer, va.W))
		if err == nil && loss < bestLoss-1e-12 {
			best, bestLoss = m, loss
		}
	}
	c, err := fitCalibration(best, scores, va.Y, va.W)
	return best, c, err
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func fitCalibration(method string, scores, y, w []float64) (calibrate.Calibrator, error) {
	switch method {
	case "isotonic":
		c, err := calibrate.FitIsotonic(scores, y, w)
		if err != nil {
			return nil, fmt.Errorf("train: isotonic calibration: %w", err)
		}
		return c, nil
	case "platt":
		c, err := calibrate.FitPlatt(scores, y, w)
		if err != nil {
			return nil, fmt.Errorf("train: platt calibration: %w", err)
		}
		return c, nil
	case "none":
		return nil, nil
	}
	return nil, data.Errorf(data.Invalid, "train: calibration %q: want auto, isotonic, platt or none", method)
}

func predict(m model.Model, d *model.Dataset) ([]float64, error) {
	out := make([]float64, d.Rows())
	if err := m.PredictBatch(d.X, out); err != nil {
		return nil, fmt.Errorf("train: predict: %w", err)
	}
	return out, nil
}

func report(name string, m model.Model, d *model.Dataset, opt Options) (*eval.Report, error) {
	p, err := predict(m, d)
	if err != nil {
		return nil, err
	}
	r, err := eval.Binary(name, d.Y, p, d.W, eval.Options{Positive: opt.Positive, Negative: opt.Negative})
	if err != nil {
		return nil, fmt.Errorf("train: evaluate %s: %w", name, err)
	}
	return r, nil
}

func metrics(r *Result) map[string]float64 {
	m := map[string]float64{}
	for k, v := range r.TestReport.Metrics("test_") {
		m[k] = v
	}
	for k, v := range r.ValidReport.Metrics("valid_") {
		m[k] = v
	}
	for k, v := range m {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			delete(m, k)
		}
	}
	return m
}

func window(d *model.Dataset) Window {
	w := Window{Rows: d.Rows()}
	if w.Rows == 0 {
		return w
	}
	w.From, w.To = data.Date(slices.Min(d.Time)), data.Date(slices.Max(d.Time))
	var late float64
	for _, y := range d.Y {
		late += y
	}
	w.LateRate = late / float64(w.Rows)
	return w
}

func splitName(s eval.SplitSpec) string {
	if s.Method == eval.ByTime {
		return "time"
	}
	return "random"
}

// onlySnapshot returns the rows of t with snapshot s.
func onlySnapshot(t *features.Table, s features.Snapshot) *features.Table {
	var idx []int
	for i, v := range t.Snapshot {
		if v == s {
			idx = append(idx, i)
		}
	}
	if len(idx) == t.Len() {
		return t
	}
	return t.Select(idx)
}

// fitTiming fits the weekly-hazard timing model on the training rows and
// evaluates it on the test rows. Y is the payment day relative to the due
// date for paid invoices, the last observed day for the others.
func fitTiming(ctx context.Context, issue *features.Table, rows []int, sp eval.Split, opt Options, log *slog.Logger) (*timing.Model, *eval.TimingReport, error) {
	last := features.LastKnownDay(issue.Horizon)
	build := func(set []int) (*model.Dataset, timing.Outcomes) {
		src := make([]int, len(set))
		for k, i := range set {
			src[k] = rows[i]
		}
		s := issue.Select(src)
		d := &model.Dataset{Names: s.Names, X: s.X, Y: make([]float64, s.Len())}
		o := timing.Outcomes{Paid: make([]bool, s.Len()), ObservedThrough: make([]int, s.Len())}
		for i := range d.Y {
			o.ObservedThrough[i] = last.Sub(s.DueDate[i])
			if s.Status[i] == features.StatusPaid {
				o.Paid[i] = true
				d.Y[i] = s.DaysLate[i]
			} else {
				d.Y[i] = float64(o.ObservedThrough[i])
			}
		}
		return d, o
	}
	trD, trO := build(sp.Train)
	tm, err := timing.Fit(ctx, trD, trO, opt.Timing, log)
	if err != nil {
		return nil, nil, fmt.Errorf("train: timing model: %w", err)
	}
	teD, teO := build(sp.Test)
	rep, err := timing.Evaluate("timing", tm, teD, teO.Paid)
	if err != nil {
		return nil, nil, fmt.Errorf("train: evaluate timing model: %w", err)
	}
	return tm, rep, nil
}
