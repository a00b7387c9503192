package model_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/duesight/duesight/model"
	"github.com/duesight/duesight/model/calibrate"
)

func encode(t *testing.T, p model.Predictor, m model.Meta) []byte {
	t.Helper()
	a, err := model.NewArtifact(p, m)
	if err != nil {
		t.Fatal(err)
	}
	b, err := a.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestArtifactRoundTrip(t *testing.T) {
	cal := &calibrate.Platt{A: -1.2, B: 0.3}
	src := model.Calibrated(newLin(0.5, -0.25, 2), cal)
	b := encode(t, src, meta())
	a, err := model.Load(bytes.NewReader(b), model.Schema{Version: "features/v1", Names: baseNames})
	if err != nil {
		t.Fatal(err)
	}
	h := a.Header
	if h.Format != model.FormatVersion || h.Kind != linKind || h.TrainFrom != "2024-01-01" || h.TrainTo != "2024-12-31" ||
		!h.CreatedAt.Equal(fixedTime) || h.CodeVersion != "test" || h.Metrics["test_auc"] != 0.8 {
		t.Errorf("header not preserved: %+v", h)
	}
	if want := (model.Schema{Version: "features/v1", Names: baseNames}).Hash(); h.SchemaHash != want {
		t.Errorf("schema hash %s, want %s", h.SchemaHash, want)
	}
	if string(h.Params) != `{"features":3}` {
		t.Errorf("params = %s", h.Params)
	}
	m, err := a.Model()
	if err != nil {
		t.Fatal(err)
	}
	row := []float64{3, math.NaN(), 0.4}
	if got, want := m.PredictProba(row), src.PredictProba(row); got != want {
		t.Errorf("loaded model predicts %v, original %v", got, want)
	}
	raw := newLin(0.5, -0.25, 2).PredictProba(row)
	if got, want := m.PredictProba(row), cal.Apply(raw); got != want {
		t.Errorf("calibration not applied after load: %v, want %v", got, want)
	}
	if _, err := a.Timing(); !errors.Is(err, model.ErrWrongType) {
		t.Errorf("Timing() on a binary model: err = %v, want ErrWrongType", err)
	}
	// Re-encoding is byte-identical.
	a2, err := model.NewArtifact(m, meta())
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := a2.MarshalBinary()
	if !bytes.Equal(b, b2) {
		t.Errorf("re-encoded artifact differs:\n%s\n%s", b, b2)
	}
}

func TestArtifactDeterministicVersion(t *testing.T) {
	b1 := encode(t, newLin(1, 2, 3), meta())
	b2 := encode(t, newLin(1, 2, 3), meta())
	if !bytes.Equal(b1, b2) {
		t.Fatal("same model and meta produced different bytes")
	}
	version := func(p model.Predictor, m model.Meta) string {
		a, err := model.NewArtifact(p, m)
		if err != nil {
			t.Fatal(err)
		}
		return a.Header.Version
	}
	v := version(newLin(1, 2, 3), meta())
	later := meta()
	later.CreatedAt = later.CreatedAt.Add(time.Hour)
	later.Metrics = map[string]float64{"x": 1}
	if version(newLin(1, 2, 3), later) != v {
		t.Error("creation time and metrics must not change the version id")
	}
	otherWindow := meta()
	otherWindow.TrainTo = "2025-01-31"
	for name, got := range map[string]string{
		"payload":     version(newLin(1, 2, 4), meta()),
		"window":      version(newLin(1, 2, 3), otherWindow),
		"calibration": version(model.Calibrated(newLin(1, 2, 3), &calibrate.Platt{A: -1}), meta()),
	} {
		if got == v {
			t.Errorf("changing the %s must change the version id", name)
		}
	}
}

func TestLoadSchemaMismatch(t *testing.T) {
	b := encode(t, newLin(1, 2, 3), meta())
	cases := []struct {
		name string
		want model.Schema
		msgs []string
	}{
		{"missing and extra", model.Schema{Version: "features/v1", Names: []string{"days_past_due", "amount", "dispute_count"}},
			[]string{"model lacks expected features dispute_count", "model needs features not provided prior_late_rate"}},
		{"reordered", model.Schema{Version: "features/v1", Names: []string{"amount", "days_past_due", "prior_late_rate"}},
			[]string{"features reordered", "days_past_due: model position 0, expected 1"}},
		{"version", model.Schema{Version: "features/v2", Names: baseNames},
			[]string{`schema version "features/v1", expected "features/v2"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := model.Load(bytes.NewReader(b), tc.want)
			if !errors.Is(err, model.ErrSchemaMismatch) {
				t.Fatalf("err = %v, want ErrSchemaMismatch", err)
			}
			var sm *model.SchemaMismatchError
			if !errors.As(err, &sm) {
				t.Fatalf("err %T is not a *SchemaMismatchError", err)
			}
			for _, m := range tc.msgs {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not say %q", err, m)
				}
			}
		})
	}
}

func TestLoadCorrupt(t *testing.T) {
	good := encode(t, newLin(1, 2, 3), meta())
	s := string(good)
	flipPayload := func() string {
		// Replace the payload with a valid base64 of different bytes.
		i := strings.Index(s, `"payload":"`) + len(`"payload":"`)
		j := strings.Index(s[i:], `"`) + i
		raw, _ := base64.StdEncoding.DecodeString(s[i:j])
		raw[5] ^= 1
		return s[:i] + base64.StdEncoding.EncodeToString(raw) + s[j:]
	}
	cases := []struct {
		name, file, want string
		sentinel         error
	}{
		{"truncated", s[:len(s)/2], "not a JSON artifact envelope", model.ErrCorrupt},
		{"empty", "", "not a JSON artifact envelope", model.ErrCorrupt},
		{"wrong magic", strings.Replace(s, model.Magic, "something-else", 1), "magic", model.ErrCorrupt},
		{"header edited", strings.Replace(s, `"train_to":"2024-12-31"`, `"train_to":"2025-12-31"`, 1), "checksum mismatch", model.ErrCorrupt},
		{"payload bit flip", flipPayload(), "checksum mismatch", model.ErrCorrupt},
		{"unknown kind", "", "", nil}, // filled below
	}
	// An artifact whose kind nobody registered: valid file, unknown kind.
	other := &otherKind{linModel: *newLin(1, 2, 3)}
	cases[len(cases)-1].file = string(encode(t, other, meta()))
	cases[len(cases)-1].want = `"test-unregistered"`
	cases[len(cases)-1].sentinel = model.ErrUnknownKind
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := model.Load(strings.NewReader(tc.file), model.Schema{Version: "features/v1", Names: baseNames})
			if !errors.Is(err, tc.sentinel) {
				t.Fatalf("err = %v, want %v", err, tc.sentinel)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
	// Whitespace re-formatting of the header keeps the checksum valid.
	pretty := strings.Replace(s, `"header":{`, "\"header\":  {\n  ", 1)
	if _, err := model.Load(strings.NewReader(pretty), model.Schema{Version: "features/v1", Names: baseNames}); err != nil {
		t.Errorf("reformatted header rejected: %v", err)
	}
}

type otherKind struct{ linModel }

func (o *otherKind) Kind() string { return "test-unregistered" }

func TestNewArtifactRejectsBadMeta(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*model.Meta)
		want string
	}{
		{"no schema version", func(m *model.Meta) { m.SchemaVersion = "" }, "SchemaVersion is required"},
		{"no clock", func(m *model.Meta) { m.CreatedAt = time.Time{} }, "CreatedAt is required"},
		{"bad from", func(m *model.Meta) { m.TrainFrom = "2024/01/01" }, `TrainFrom "2024/01/01"`},
		{"reversed window", func(m *model.Meta) { m.TrainFrom = "2025-01-01" }, "before it starts"},
		{"NaN metric", func(m *model.Meta) { m.Metrics = map[string]float64{"auc": math.NaN()} }, `metric "auc" is NaN`},
		{"several bad metrics: the first by name, every run", func(m *model.Meta) {
			m.Metrics = map[string]float64{"log_loss": math.NaN(), "ece": math.Inf(1), "brier": math.NaN(), "recall": math.Inf(-1), "auc_pr": math.NaN()}
		}, `metric "auc_pr" is NaN`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := meta()
			tc.mod(&m)
			_, err := model.NewArtifact(newLin(1, 2, 3), m)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want mention of %q", err, tc.want)
			}
		})
	}
}

func TestRegisterPanics(t *testing.T) {
	cases := []struct {
		name string
		kind string
		dec  model.Decoder
	}{
		{"duplicate", linKind, func([]byte) (model.Predictor, error) { return nil, nil }},
		{"malformed", "Bad Kind", func([]byte) (model.Predictor, error) { return nil, nil }},
		{"nil decoder", "test-nil", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("Register did not panic")
				}
			}()
			model.Register(tc.kind, tc.dec)
		})
	}
}
