package scoring

import (
	"context"
	"errors"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/features"
	"github.com/duesight/duesight/model"
)

// TimingParam is the key, in a late-payment artifact's Header.Params JSON
// object, whose string value names the version of the payment-timing
// artifact (in the same registry) that goes with it.
const TimingParam = "timing_model"

// SchemaVersion is the model.Schema version string of the features this
// service computes: "features/v" + features.SchemaVersion. Served artifacts
// must have been trained on exactly this schema (version and names).
func SchemaVersion() string { return "features/v" + strconv.Itoa(features.SchemaVersion) }

// Schema is the feature schema served models must match.
func Schema() model.Schema { return model.Schema{Version: SchemaVersion(), Names: features.Names()} }

// bundle is an immutable set of models served together: the late-payment
// model of one registry version and the timing model it names. The service
// holds the active bundle in an atomic pointer; each request loads it once,
// so every answer is computed by exactly one bundle.
type bundle struct {
	version   string
	kind      string
	trainedAt time.Time
	late      model.Model
	// fast is the exact allocation-free path of logreg models (nil for
	// other kinds); see linearFast.
	fast *linearFast

	// timing is nil when the late-payment artifact names no timing model
	// (the empirical fallback is used).
	timing        model.Timing
	timingVersion string
	// hazards and ends are the allocation-free fast path of timing (see
	// newTimingFast); nil when the timing model does not offer it.
	hazards func(row, out []float64) []float64
	ends    []int
	// hazardsFromPayload: hazards are computed from the timing payload
	// (weeklyHazards) rather than by the model's Hazards method.
	hazardsFromPayload bool
}

// hazardModel is implemented by discrete-time hazard models such as
// model/timing's weekly-hazard model.
type hazardModel interface {
	Hazards(row []float64, out []float64) []float64
}

// timingVersionOf reads TimingParam from the artifact header's params.
func timingVersionOf(h *model.Header) (string, error) {
	var v string
	if _, err := h.Param(TimingParam, &v); err != nil {
		return "", err
	}
	return v, nil
}

// registryError maps a registry error to a data.Error code.
func registryError(err error, format string, args ...any) error {
	code := data.Internal
	switch {
	case errors.Is(err, model.ErrNotFound):
		code = data.NotFound
	case errors.Is(err, model.ErrSchemaMismatch), errors.Is(err, model.ErrWrongType),
		errors.Is(err, model.ErrUnknownKind), errors.Is(err, model.ErrCorrupt),
		errors.Is(err, model.ErrUnsupportedFormat):
		code = data.Invalid
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		code = data.Unavailable
	}
	return data.Errorf(code, format+": %w", append(args, err)...)
}

// wellFormedVersion reports whether v has the registry's version form
// "<kind>-<16 lower-case hex digits>".
func wellFormedVersion(v string) bool {
	if len(v) < 18 || v[len(v)-17] != '-' {
		return false
	}
	for _, c := range v[len(v)-16:] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// loadBundle reads version (and its timing model) from the registry.
func loadBundle(ctx context.Context, reg *model.Registry, version string, reasons int) (*bundle, error) {
	if !wellFormedVersion(version) {
		return nil, data.Errorf(data.NotFound, "no model version %q (versions look like <kind>-<16 hex digits>)", version)
	}
	a, err := reg.Get(ctx, version, Schema())
	if err != nil {
		return nil, registryError(err, "model %q", version)
	}
	m, err := a.Model()
	if err != nil {
		return nil, registryError(err, "model %q is not a late-payment model", version)
	}
	b := &bundle{version: version, kind: a.Header.Kind, trainedAt: a.Header.CreatedAt, late: m,
		fast: newLinearFast(a, m, reasons)}
	tv, err := timingVersionOf(&a.Header)
	if err != nil {
		return nil, data.Errorf(data.Invalid, "model %q: %w", version, err)
	}
	if tv == "" {
		return b, nil
	}
	ta, err := reg.Get(ctx, tv, Schema())
	if err != nil {
		return nil, registryError(err, "model %q: its timing model %q", version, tv)
	}
	tm, err := ta.Timing()
	if err != nil {
		return nil, registryError(err, "model %q: %s %q", version, TimingParam, tv)
	}
	b.timing, b.timingVersion = tm, tv
	b.hazards, b.ends = newTimingFast(tm, weeklyHazards(ta, tm.Features()))
	if b.hazards == nil { // the payload path failed its check: try the model's method
		b.hazards, b.ends = newTimingFast(tm, nil)
	} else {
		b.hazardsFromPayload = true
	}
	return b, nil
}

// newTimingFast returns the allocation-free path of tm.Distribution when tm
// is a hazard model whose Distribution is exactly NewDistribution(ends,
// hazards(row)).Condition(elapsed), with hazards = fromPayload when given
// (computed from the persisted payload, see weeklyHazards) else the model's
// own Hazards method. It is checked on probe rows at load, so the fast path
// can never disagree with the model.
func newTimingFast(tm model.Timing, fromPayload func(row, out []float64) []float64) (func(row, out []float64) []float64, []int) {
	hazards := fromPayload
	if hazards == nil {
		hm, ok := tm.(hazardModel)
		if !ok {
			return nil, nil
		}
		hazards = hm.Hazards
	}
	n := len(tm.Features())
	probes := [][]float64{make([]float64, n), make([]float64, n), make([]float64, n)}
	for j := range n {
		probes[1][j] = math.NaN()
		if j%3 == 0 {
			probes[2][j] = math.NaN()
		} else {
			probes[2][j] = float64(j)*0.7 - 3
		}
	}
	ends := slices.Clone(tm.Distribution(probes[0], -1).PeriodEnd)
	var sc timingScratch
	for _, row := range probes {
		for _, elapsed := range []int{-1, 0, 10, 40} {
			want := tm.Distribution(row, elapsed)
			got := fastDistribution(hazards, ends, row, elapsed, &sc)
			if !slices.Equal(want.PeriodEnd, got.PeriodEnd) || !slices.Equal(want.Prob, got.Prob) ||
				!slices.Equal(want.Survival, got.Survival) {
				return nil, nil
			}
		}
	}
	return hazards, ends
}

type timingScratch struct{ h, prob, surv []float64 }

// fastDistribution computes NewDistribution(ends, hazards(row)).Condition(
// elapsed) into sc's buffers: hazards of periods ending by elapsed are 0,
// P_k = S_{k−1}·h_k, S_k = S_{k−1}·(1 − h_k).
func fastDistribution(hazards func(row, out []float64) []float64, ends []int, row []float64, elapsed int,
	sc *timingScratch) model.Distribution {
	h := hazards(row, sc.h[:0])
	sc.h = h
	if cap(sc.prob) < len(h) {
		sc.prob, sc.surv = make([]float64, len(h)), make([]float64, len(h))
	}
	prob, surv := sc.prob[:len(h)], sc.surv[:len(h)]
	if elapsed >= 0 {
		for k := range h {
			if ends[k] <= elapsed {
				h[k] = 0
			}
		}
	}
	s := 1.0
	for k, hk := range h {
		prob[k] = s * hk
		s *= 1 - hk
		surv[k] = s
	}
	return model.Distribution{PeriodEnd: ends, Hazard: h, Prob: prob, Survival: surv}
}

// predict returns the calibrated P(late) of row.
func (b *bundle) predict(row []float64) float64 {
	if b.fast != nil {
		p, _ := b.fast.score(row, 0, nil, nil)
		return p
	}
	return b.late.PredictProba(row)
}
