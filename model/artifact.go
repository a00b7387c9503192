package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"regexp"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/duesight/duesight/model/calibrate"
)

// FormatVersion is the artifact file-format version written by this build.
// Readers accept files with format ≤ FormatVersion.
const FormatVersion = 1

// Magic identifies an artifact file.
const Magic = "duesight-model"

// MaxArtifactBytes bounds how much Decode reads.
const MaxArtifactBytes = 1 << 30

// Sentinel errors; match with errors.Is.
var (
	// ErrCorrupt: the file is not a well-formed artifact or its checksum,
	// payload hash or version id does not match its content.
	ErrCorrupt = errors.New("corrupt model artifact")
	// ErrSchemaMismatch: the artifact was trained on a different feature
	// schema than the caller expects. The error is a *SchemaMismatchError.
	ErrSchemaMismatch = errors.New("model feature schema mismatch")
	// ErrUnknownKind: no decoder is registered for the artifact's kind.
	ErrUnknownKind = errors.New("unknown model kind")
	// ErrUnsupportedFormat: the file was written by a newer format version.
	ErrUnsupportedFormat = errors.New("unsupported model artifact format")
	// ErrWrongType: the artifact holds a different kind of predictor than
	// requested (e.g. Timing() on a binary model).
	ErrWrongType = errors.New("artifact holds a different predictor type")
)

// Decoder turns a payload written by Predictor.MarshalPayload back into the
// predictor.
type Decoder func(payload []byte) (Predictor, error)

var (
	decodersMu sync.RWMutex
	decoders   = map[string]Decoder{}
)

var kindRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// Register makes a decoder available for kind. It is meant to be called from
// the init function of the package implementing the kind; like
// database/sql.Register it panics when kind is malformed (lower-case letters,
// digits and '-', at most 63 characters), dec is nil, or kind is already
// registered.
func Register(kind string, dec Decoder) {
	if !kindRE.MatchString(kind) {
		panic(fmt.Sprintf("model: Register: malformed kind %q (want [a-z0-9-], ≤ 63 chars)", kind))
	}
	if dec == nil {
		panic("model: Register: nil decoder for kind " + kind)
	}
	decodersMu.Lock()
	defer decodersMu.Unlock()
	if _, dup := decoders[kind]; dup {
		panic("model: Register called twice for kind " + kind)
	}
	decoders[kind] = dec
}

// Kinds returns the registered kinds, sorted.
func Kinds() []string {
	decodersMu.RLock()
	defer decodersMu.RUnlock()
	out := make([]string, 0, len(decoders))
	for k := range decoders {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func decoderFor(kind string) (Decoder, bool) {
	decodersMu.RLock()
	defer decodersMu.RUnlock()
	d, ok := decoders[kind]
	return d, ok
}

// Schema identifies the feature layout a model consumes: the caller's schema
// version string (e.g. the feature pipeline version "features/v3") and the
// ordered feature names.
type Schema struct {
	Version string
	Names   []string
}

// Hash returns "sha256:" + hex SHA-256 over the length-prefixed (uint32
// big-endian) version string followed by each length-prefixed name, in
// order. Renaming, reordering, adding or removing a feature, or changing the
// version string changes the hash.
func (s Schema) Hash() string {
	h := sha256.New()
	var n [4]byte
	put := func(v string) {
		binary.BigEndian.PutUint32(n[:], uint32(len(v)))
		h.Write(n[:])
		h.Write([]byte(v))
	}
	put(s.Version)
	for _, name := range s.Names {
		put(name)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// SchemaMismatchError describes how an artifact's schema differs from the
// expected one.
type SchemaMismatchError struct {
	WantHash, GotHash       string
	WantVersion, GotVersion string
	// Missing are expected features the model lacks; Extra are model
	// features the caller does not provide.
	Missing, Extra []string
	// Moved lists features present in both whose positions differ, as
	// "name: model position i, expected j".
	Moved []string
}

func (e *SchemaMismatchError) Error() string {
	var parts []string
	if e.WantVersion != e.GotVersion {
		parts = append(parts, fmt.Sprintf("schema version %q, expected %q", e.GotVersion, e.WantVersion))
	}
	if len(e.Missing) > 0 {
		parts = append(parts, "model lacks expected features "+strings.Join(e.Missing, ", "))
	}
	if len(e.Extra) > 0 {
		parts = append(parts, "model needs features not provided "+strings.Join(e.Extra, ", "))
	}
	if len(e.Moved) > 0 {
		const maxMoved = 5
		m := e.Moved
		suffix := ""
		if len(m) > maxMoved {
			suffix = fmt.Sprintf(" (and %d more)", len(m)-maxMoved)
			m = m[:maxMoved]
		}
		parts = append(parts, "features reordered: "+strings.Join(m, "; ")+suffix)
	}
	return fmt.Sprintf("%v: artifact schema %s, expected %s: %s", ErrSchemaMismatch, short(e.GotHash), short(e.WantHash), strings.Join(parts, "; "))
}

// Unwrap lets errors.Is match ErrSchemaMismatch.
func (e *SchemaMismatchError) Unwrap() error { return ErrSchemaMismatch }

func short(h string) string {
	if len(h) > 19 {
		return h[:19]
	}
	return h
}

func diffSchema(want Schema, gotVersion string, got []string) *SchemaMismatchError {
	e := &SchemaMismatchError{WantHash: want.Hash(), GotHash: Schema{gotVersion, got}.Hash(), WantVersion: want.Version, GotVersion: gotVersion}
	wantPos := make(map[string]int, len(want.Names))
	for i, n := range want.Names {
		wantPos[n] = i
	}
	gotPos := make(map[string]int, len(got))
	for i, n := range got {
		gotPos[n] = i
		j, ok := wantPos[n]
		switch {
		case !ok:
			e.Extra = append(e.Extra, n)
		case i != j:
			e.Moved = append(e.Moved, fmt.Sprintf("%s: model position %d, expected %d", n, i, j))
		}
	}
	for _, n := range want.Names {
		if _, ok := gotPos[n]; !ok {
			e.Missing = append(e.Missing, n)
		}
	}
	return e
}

// Header is the metadata block of an artifact file.
type Header struct {
	// Format is the file-format version (FormatVersion when written).
	Format int `json:"format"`
	// Kind selects the payload decoder.
	Kind string `json:"kind"`
	// Version is the content-addressed artifact id, "<kind>-<16 hex>": the
	// first 64 bits of SHA-256 over the model's identity (kind, schema
	// hash, features, training window, params, calibration and payload
	// hash). Artifacts with equal versions predict identically; creation
	// time, metrics and code version do not enter it.
	Version string `json:"version"`
	// CreatedAt is the caller-supplied creation instant, UTC, whole seconds.
	CreatedAt time.Time `json:"created_at"`
	// SchemaVersion and SchemaHash identify the feature schema (see Schema).
	SchemaVersion string   `json:"schema_version"`
	SchemaHash    string   `json:"schema_hash"`
	Features      []string `json:"features"`
	// TrainFrom and TrainTo bound the training window, "YYYY-MM-DD".
	TrainFrom string `json:"train_from"`
	TrainTo   string `json:"train_to"`
	// Params are the training parameters as reported by the predictor.
	Params json.RawMessage `json:"params,omitempty"`
	// Metrics are named evaluation results (e.g. "valid_auc").
	Metrics map[string]float64 `json:"metrics,omitempty"`
	// Calibration is the calibrate.Marshal encoding of the attached
	// calibrator, if any.
	Calibration json.RawMessage `json:"calibration,omitempty"`
	// CodeVersion is the VCS revision of the training binary (suffixed
	// "-dirty" for modified trees) or "devel".
	CodeVersion string `json:"code_version"`
	// PayloadSHA256 is the hex SHA-256 of the payload; PayloadBytes its size.
	PayloadSHA256 string `json:"payload_sha256"`
	PayloadBytes  int    `json:"payload_bytes"`
}

// Meta is what the caller supplies when building an artifact.
type Meta struct {
	// SchemaVersion is the feature-schema version string (required).
	SchemaVersion string
	// TrainFrom and TrainTo bound the training window, "YYYY-MM-DD"
	// (required, TrainFrom ≤ TrainTo).
	TrainFrom, TrainTo string
	// CreatedAt is the creation instant from the caller's clock (required).
	CreatedAt time.Time
	// Metrics are optional named evaluation results; values must be finite.
	Metrics map[string]float64
	// Calibration is an optional calibrator. When the predictor is a
	// *CalibratedModel its calibrator is used unless this is set.
	Calibration calibrate.Calibrator
	// CodeVersion overrides the detected code version when non-empty.
	CodeVersion string
	// Params are extra training facts merged into the predictor's reported
	// params (which must then be a JSON object; keys must not collide), e.g.
	// {"timing_model": "<version>"} linking a late-payment model to the
	// payment-timing model trained with it. They enter the version hash.
	Params map[string]any
}

// Param decodes one entry of the header's params into v; ok is false when
// the params hold no such key.
func (h *Header) Param(key string, v any) (ok bool, err error) {
	if len(h.Params) == 0 {
		return false, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(h.Params, &m); err != nil {
		return false, fmt.Errorf("model: params of %s are not a JSON object: %w", h.Version, err)
	}
	raw, ok := m[key]
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, fmt.Errorf("model: param %q of %s: %w", key, h.Version, err)
	}
	return true, nil
}

// Artifact is a decoded (or freshly built) model artifact.
type Artifact struct {
	Header  Header
	Payload []byte
	pred    Predictor
	cal     calibrate.Calibrator
}

// NewArtifact builds an artifact for p. The result is deterministic: the
// same predictor and Meta yield byte-identical files.
func NewArtifact(p Predictor, meta Meta) (*Artifact, error) {
	if p == nil {
		return nil, errors.New("model: NewArtifact: nil predictor")
	}
	cal := meta.Calibration
	if cm, ok := p.(*CalibratedModel); ok {
		if cal == nil {
			cal = cm.Calibrator
		}
		p = cm.Base
	}
	kind := p.Kind()
	if !kindRE.MatchString(kind) {
		return nil, fmt.Errorf("model: NewArtifact: malformed kind %q", kind)
	}
	if meta.SchemaVersion == "" {
		return nil, errors.New("model: NewArtifact: Meta.SchemaVersion is required")
	}
	if meta.CreatedAt.IsZero() {
		return nil, errors.New("model: NewArtifact: Meta.CreatedAt is required (pass your clock's time)")
	}
	from, err := time.Parse(time.DateOnly, meta.TrainFrom)
	if err != nil {
		return nil, fmt.Errorf("model: NewArtifact: Meta.TrainFrom %q: want YYYY-MM-DD: %w", meta.TrainFrom, err)
	}
	to, err := time.Parse(time.DateOnly, meta.TrainTo)
	if err != nil {
		return nil, fmt.Errorf("model: NewArtifact: Meta.TrainTo %q: want YYYY-MM-DD: %w", meta.TrainTo, err)
	}
	if to.Before(from) {
		return nil, fmt.Errorf("model: NewArtifact: training window ends (%s) before it starts (%s)", meta.TrainTo, meta.TrainFrom)
	}
	for _, name := range slices.Sorted(maps.Keys(meta.Metrics)) { // sorted: the same error every run
		if v := meta.Metrics[name]; math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("model: NewArtifact: metric %q is %v (metrics must be finite)", name, v)
		}
	}
	features := slices.Clone(p.Features())
	if len(features) == 0 {
		return nil, fmt.Errorf("model: NewArtifact: %s predictor has no features", kind)
	}
	payload, err := p.MarshalPayload()
	if err != nil {
		return nil, fmt.Errorf("model: NewArtifact: encoding %s payload: %w", kind, err)
	}
	h := Header{
		Format:        FormatVersion,
		Kind:          kind,
		CreatedAt:     meta.CreatedAt.UTC().Truncate(time.Second),
		SchemaVersion: meta.SchemaVersion,
		SchemaHash:    Schema{meta.SchemaVersion, features}.Hash(),
		Features:      features,
		TrainFrom:     meta.TrainFrom,
		TrainTo:       meta.TrainTo,
		Metrics:       meta.Metrics,
		CodeVersion:   meta.CodeVersion,
		PayloadBytes:  len(payload),
	}
	if h.CodeVersion == "" {
		h.CodeVersion = CodeVersion()
	}
	sum := sha256.Sum256(payload)
	h.PayloadSHA256 = hex.EncodeToString(sum[:])
	if pr, ok := p.(ParamsReporter); ok {
		if params := pr.Params(); params != nil {
			b, err := json.Marshal(params)
			if err != nil {
				return nil, fmt.Errorf("model: NewArtifact: encoding %s params: %w", kind, err)
			}
			h.Params = b
		}
	}
	if len(meta.Params) > 0 {
		merged := map[string]any{}
		if len(h.Params) > 0 {
			if err := json.Unmarshal(h.Params, &merged); err != nil {
				return nil, fmt.Errorf("model: NewArtifact: %s params are not a JSON object, cannot add Meta.Params: %w", kind, err)
			}
		}
		for _, k := range slices.Sorted(maps.Keys(meta.Params)) {
			if _, dup := merged[k]; dup {
				return nil, fmt.Errorf("model: NewArtifact: Meta.Params key %q collides with a %s param", k, kind)
			}
			merged[k] = meta.Params[k]
		}
		b, err := json.Marshal(merged) // map keys are sorted: deterministic
		if err != nil {
			return nil, fmt.Errorf("model: NewArtifact: encoding Meta.Params: %w", err)
		}
		h.Params = b
	}
	if cal != nil {
		b, err := calibrate.Marshal(cal)
		if err != nil {
			return nil, fmt.Errorf("model: NewArtifact: encoding calibration: %w", err)
		}
		h.Calibration = b
	}
	h.Version = versionOf(&h)
	return &Artifact{Header: h, Payload: payload, pred: p, cal: cal}, nil
}

// versionOf computes the content-addressed version id from the identity
// fields of h.
func versionOf(h *Header) string {
	id := struct {
		Kind        string          `json:"kind"`
		SchemaHash  string          `json:"schema_hash"`
		Features    []string        `json:"features"`
		TrainFrom   string          `json:"train_from"`
		TrainTo     string          `json:"train_to"`
		Params      json.RawMessage `json:"params,omitempty"`
		Calibration json.RawMessage `json:"calibration,omitempty"`
		Payload     string          `json:"payload_sha256"`
	}{h.Kind, h.SchemaHash, h.Features, h.TrainFrom, h.TrainTo, h.Params, h.Calibration, h.PayloadSHA256}
	b, _ := json.Marshal(id) // strings, slices and valid raw JSON only: cannot fail
	sum := sha256.Sum256(b)
	return h.Kind + "-" + hex.EncodeToString(sum[:8])
}

// CodeVersion returns the VCS revision recorded in the running binary's
// build info ("-dirty" appended when vcs.modified is true), or "devel".
func CodeVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "devel"
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}

// Predictor returns the decoded predictor (without calibration).
func (a *Artifact) Predictor() Predictor { return a.pred }

// Calibrator returns the attached calibrator, or nil.
func (a *Artifact) Calibrator() calibrate.Calibrator { return a.cal }

// Model returns the binary model, wrapped with the artifact's calibrator
// when one is attached.
func (a *Artifact) Model() (Model, error) {
	m, ok := a.pred.(Model)
	if !ok {
		return nil, fmt.Errorf("%w: artifact %s (kind %s) is not a binary model", ErrWrongType, a.Header.Version, a.Header.Kind)
	}
	return Calibrated(m, a.cal), nil
}

// Timing returns the payment-timing model.
func (a *Artifact) Timing() (Timing, error) {
	m, ok := a.pred.(Timing)
	if !ok {
		return nil, fmt.Errorf("%w: artifact %s (kind %s) is not a timing model", ErrWrongType, a.Header.Version, a.Header.Kind)
	}
	return m, nil
}

// Multiclass returns the multiclass model.
func (a *Artifact) Multiclass() (Multiclass, error) {
	m, ok := a.pred.(Multiclass)
	if !ok {
		return nil, fmt.Errorf("%w: artifact %s (kind %s) is not a multiclass model", ErrWrongType, a.Header.Version, a.Header.Kind)
	}
	return m, nil
}

// CheckSchema returns a *SchemaMismatchError (wrapping ErrSchemaMismatch)
// when the artifact's schema hash differs from want's.
func (a *Artifact) CheckSchema(want Schema) error {
	if len(want.Names) == 0 {
		return fmt.Errorf("%w: expected schema has no features", ErrSchemaMismatch)
	}
	if want.Hash() == a.Header.SchemaHash {
		return nil
	}
	return diffSchema(want, a.Header.SchemaVersion, a.Header.Features)
}

// file is the on-disk envelope. The checksum is
// "sha256:" + hex SHA-256(compact(header) ‖ "\n" ‖ payload), where
// compact(header) is the header JSON with insignificant whitespace removed.
type file struct {
	Magic    string          `json:"magic"`
	Header   json.RawMessage `json:"header"`
	Payload  []byte          `json:"payload"`
	Checksum string          `json:"checksum"`
}

func checksum(compactHeader, payload []byte) string {
	h := sha256.New()
	h.Write(compactHeader)
	h.Write([]byte{'\n'})
	h.Write(payload)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// MarshalBinary encodes the artifact file:
//
//	{"magic":"duesight-model",
//	"header":{…},
//	"payload":"<base64>",
//	"checksum":"sha256:<hex>"}
func (a *Artifact) MarshalBinary() ([]byte, error) {
	hb, err := json.Marshal(a.Header)
	if err != nil {
		return nil, fmt.Errorf("model: encoding artifact header: %w", err)
	}
	pb, err := json.Marshal(a.Payload)
	if err != nil {
		return nil, fmt.Errorf("model: encoding artifact payload: %w", err)
	}
	var buf bytes.Buffer
	buf.Grow(len(hb) + len(pb) + 160)
	buf.WriteString(`{"magic":"` + Magic + `",` + "\n")
	buf.WriteString(`"header":`)
	buf.Write(hb)
	buf.WriteString(",\n" + `"payload":`)
	buf.Write(pb)
	buf.WriteString(",\n" + `"checksum":"` + checksum(hb, a.Payload) + `"}` + "\n")
	return buf.Bytes(), nil
}

// Encode writes the artifact file to w.
func (a *Artifact) Encode(w io.Writer) error {
	b, err := a.MarshalBinary()
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("model: writing artifact %s: %w", a.Header.Version, err)
	}
	return nil
}

// ReadHeader parses an artifact file and verifies its checksum, payload hash
// and version id without decoding the payload (so the kind need not be
// registered). Errors wrap ErrCorrupt or ErrUnsupportedFormat.
func ReadHeader(b []byte) (*Header, []byte, error) {
	var f file
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, nil, fmt.Errorf("%w: not a JSON artifact envelope: %v", ErrCorrupt, err)
	}
	if f.Magic != Magic {
		return nil, nil, fmt.Errorf("%w: magic is %q, want %q", ErrCorrupt, f.Magic, Magic)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, f.Header); err != nil {
		return nil, nil, fmt.Errorf("%w: header: %v", ErrCorrupt, err)
	}
	if got := checksum(compact.Bytes(), f.Payload); got != f.Checksum {
		return nil, nil, fmt.Errorf("%w: checksum mismatch: file records %q, content hashes to %q", ErrCorrupt, f.Checksum, got)
	}
	var h Header
	dec := json.NewDecoder(bytes.NewReader(compact.Bytes()))
	if err := dec.Decode(&h); err != nil {
		return nil, nil, fmt.Errorf("%w: header: %v", ErrCorrupt, err)
	}
	if h.Format < 1 {
		return nil, nil, fmt.Errorf("%w: header format %d", ErrCorrupt, h.Format)
	}
	if h.Format > FormatVersion {
		return nil, nil, fmt.Errorf("%w: artifact format %d is newer than this build supports (%d)", ErrUnsupportedFormat, h.Format, FormatVersion)
	}
	sum := sha256.Sum256(f.Payload)
	if hex.EncodeToString(sum[:]) != h.PayloadSHA256 || len(f.Payload) != h.PayloadBytes {
		return nil, nil, fmt.Errorf("%w: payload does not match header hash/size (%d bytes, header says %d)", ErrCorrupt, len(f.Payload), h.PayloadBytes)
	}
	if h.SchemaHash != (Schema{h.SchemaVersion, h.Features}).Hash() {
		return nil, nil, fmt.Errorf("%w: schema hash does not match schema version and features", ErrCorrupt)
	}
	if v := versionOf(&h); v != h.Version {
		return nil, nil, fmt.Errorf("%w: version id %q does not match content (%q)", ErrCorrupt, h.Version, v)
	}
	return &h, f.Payload, nil
}

// Decode reads an artifact file from r, verifies it (see ReadHeader) and
// decodes the payload with the decoder registered for its kind. It does not
// check the feature schema; use Load for that.
func Decode(r io.Reader) (*Artifact, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxArtifactBytes+1))
	if err != nil {
		return nil, fmt.Errorf("model: reading artifact: %w", err)
	}
	if len(b) > MaxArtifactBytes {
		return nil, fmt.Errorf("%w: artifact exceeds %d bytes", ErrCorrupt, MaxArtifactBytes)
	}
	return decodeBytes(b)
}

func decodeBytes(b []byte) (*Artifact, error) {
	h, payload, err := ReadHeader(b)
	if err != nil {
		return nil, err
	}
	dec, ok := decoderFor(h.Kind)
	if !ok {
		return nil, fmt.Errorf("%w: %q (artifact %s); registered kinds: %s; import _ \"github.com/duesight/duesight/model/kinds\" (it registers every kind)",
			ErrUnknownKind, h.Kind, h.Version, strings.Join(Kinds(), ", "))
	}
	p, err := dec(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: decoding %s payload of %s: %v", ErrCorrupt, h.Kind, h.Version, err)
	}
	if p.Kind() != h.Kind {
		return nil, fmt.Errorf("%w: payload decodes to kind %q, header says %q", ErrCorrupt, p.Kind(), h.Kind)
	}
	if !slices.Equal(p.Features(), h.Features) {
		return nil, fmt.Errorf("%w: payload features %v differ from header features %v", ErrCorrupt, p.Features(), h.Features)
	}
	a := &Artifact{Header: *h, Payload: payload, pred: p}
	if len(h.Calibration) > 0 {
		c, err := calibrate.Unmarshal(h.Calibration)
		if err != nil {
			return nil, fmt.Errorf("%w: calibration of %s: %v", ErrCorrupt, h.Version, err)
		}
		a.cal = c
	}
	return a, nil
}

// Load decodes an artifact from r and checks that it was trained on the
// expected feature schema. A schema mismatch returns a *SchemaMismatchError
// naming the missing, extra and reordered features; corruption returns an
// error wrapping ErrCorrupt.
func Load(r io.Reader, want Schema) (*Artifact, error) {
	a, err := Decode(r)
	if err != nil {
		return nil, err
	}
	if err := a.CheckSchema(want); err != nil {
		return nil, fmt.Errorf("model: artifact %s: %w", a.Header.Version, err)
	}
	return a, nil
}
