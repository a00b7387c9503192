package csvio

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/duesight/duesight/data"
)

// MappingVersion is the only mapping format version this package reads.
const MappingVersion = 1

// maxMappingBytes bounds a mapping file: real mappings are a few kilobytes.
const maxMappingBytes = 1 << 20

// Mapping is a compiled column mapping: which files (sources) hold which
// entities and how each entity field is computed from a row. It is immutable
// after loading and safe for concurrent use. See MAPPING.md for the format.
type Mapping struct {
	file    string
	sources []*source
}

// MappingError is a problem in a mapping file, located by line and column of
// the YAML text and by the path of the offending key.
type MappingError struct {
	File   string // mapping file name as given to LoadMapping/ParseMapping
	Line   int    // 1-based; 0 when unknown
	Column int    // 1-based; 0 when unknown
	Path   string // e.g. "sources[0].entities[1].fields.amount"; "" for the whole file
	Reason string
}

func (e *MappingError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc += fmt.Sprintf(":%d:%d", e.Line, e.Column)
	}
	if e.Path != "" {
		return fmt.Sprintf("%s: %s: %s", loc, e.Path, e.Reason)
	}
	return loc + ": " + e.Reason
}

// As lets errors.As find a *data.Error with code Invalid.
func (e *MappingError) As(target any) bool {
	if t, ok := target.(**data.Error); ok {
		*t = &data.Error{Code: data.Invalid, Message: e.Error()}
		return true
	}
	return false
}

// LoadMapping reads and compiles the mapping file at path.
func LoadMapping(path string) (*Mapping, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, data.Errorf(data.Invalid, "mapping: %w", err)
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, maxMappingBytes+1))
	if err != nil {
		return nil, data.Errorf(data.Invalid, "mapping %s: read: %w", path, err)
	}
	return ParseMapping(path, src)
}

// ParseMapping compiles mapping text; name is used in error messages.
func ParseMapping(name string, src []byte) (*Mapping, error) {
	if len(src) > maxMappingBytes {
		return nil, &MappingError{File: name, Reason: fmt.Sprintf("mapping is larger than %d bytes", maxMappingBytes)}
	}
	if !utf8.Valid(src) {
		return nil, &MappingError{File: name, Reason: "mapping is not valid UTF-8"}
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &MappingError{File: name, Reason: "mapping is empty (want version, defaults and sources)"}
		}
		return nil, &MappingError{File: name, Reason: err.Error()}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, &MappingError{File: name, Line: extra.Line, Column: extra.Column,
			Reason: "mapping holds more than one YAML document"}
	}
	p := &parser{file: name}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, p.errf(&doc, "", "mapping is empty")
	}
	return p.mapping(doc.Content[0])
}

// Sources returns the source names in mapping order: the keys that Read and
// Import expect in their files argument.
func (m *Mapping) Sources() []string {
	out := make([]string, len(m.sources))
	for i, s := range m.sources {
		out[i] = s.name
	}
	return out
}

// File returns the name the mapping was loaded from.
func (m *Mapping) File() string { return m.file }

// valueType is what an entity field holds.
type valueType uint8

const (
	tID         valueType = iota + 1 // identifier text
	tText                            // free text
	tInt                             // whole number
	tAmount                          // money, minor units of the row's currency
	tCurrency                        // ISO 4217 code
	tZone                            // IANA time zone name
	tDate                            // calendar date
	tTime                            // instant
	tChannel                         // data.Channel
	tChannelSet                      // data.ChannelSet
	tOutcome                         // data.Outcome
	tMethod                          // data.Method
)

var typeNames = map[valueType]string{tID: "id", tText: "text", tInt: "whole number", tAmount: "amount",
	tCurrency: "currency", tZone: "time zone", tDate: "date", tTime: "timestamp", tChannel: "channel",
	tChannelSet: "channel set", tOutcome: "outcome", tMethod: "payment method"}

// fieldDef describes one mappable field of an entity kind.
type fieldDef struct {
	name string
	typ  valueType
}

// kindFields lists the mappable fields of each kind. Besides the data
// package's own fields: invoice terms_days and baseline_date (due_date =
// baseline_date, or issue_date, + terms_days when due_date is empty) and
// contact currency (the currency promised_amount is written in).
var kindFields = map[data.Kind][]fieldDef{
	data.KindAccount: {{"id", tID}, {"name", tText}, {"segment", tText}, {"country", tText}, {"currency", tCurrency},
		{"time_zone", tZone}, {"terms_days", tInt}, {"credit_limit", tAmount}, {"consent", tChannelSet},
		{"created_at", tTime}},
	data.KindInvoice: {{"id", tID}, {"account_id", tID}, {"issue_date", tDate}, {"due_date", tDate},
		{"baseline_date", tDate}, {"terms_days", tInt}, {"amount", tAmount}, {"currency", tCurrency},
		{"delivered_by", tChannel}},
	data.KindPayment: {{"id", tID}, {"account_id", tID}, {"invoice_id", tID}, {"date", tDate}, {"amount", tAmount},
		{"currency", tCurrency}, {"method", tMethod}},
	data.KindContact: {{"id", tID}, {"account_id", tID}, {"invoice_id", tID}, {"channel", tChannel},
		{"sent_at", tTime}, {"outcome", tOutcome}, {"promised_date", tDate}, {"promised_amount", tAmount},
		{"currency", tCurrency}},
	data.KindDispute: {{"id", tID}, {"account_id", tID}, {"invoice_id", tID}, {"opened_on", tDate},
		{"resolved_on", tDate}, {"reason", tText}},
}

// requiredFields must be mapped (currency and time_zone may instead come
// from defaults).
var requiredFields = map[data.Kind][]string{
	data.KindAccount: {"id"},
	data.KindInvoice: {"id", "account_id", "issue_date", "amount"},
	data.KindPayment: {"id", "account_id", "date", "amount"},
	data.KindContact: {"id", "account_id", "channel", "sent_at"},
	data.KindDispute: {"id", "account_id", "invoice_id", "opened_on"},
}

func fieldNames(k data.Kind) []string {
	var out []string
	for _, f := range kindFields[k] {
		out = append(out, f.name)
	}
	return out
}

func lookupField(k data.Kind, name string) (fieldDef, bool) {
	for _, f := range kindFields[k] {
		if f.name == name {
			return f, true
		}
	}
	return fieldDef{}, false
}

// conflictMode says what happens when an id is read again with different
// content.
type conflictMode uint8

const (
	conflictError conflictMode = iota // the later row is a problem
	conflictFirst                     // the first row read wins
	conflictLast                      // the last row read wins
)

// source is one compiled input file description.
type source struct {
	name      string
	index     int
	format    string // "csv", "parquet" or "" (by file extension)
	delimiter rune
	comment   rune
	encoding  string // "utf-8", "latin1", "windows-1252"
	columns   []string
	slots     map[string]int
	entities  []*entity
}

// slot returns the column slot of name, adding it.
func (s *source) slot(name string) int {
	if i, ok := s.slots[name]; ok {
		return i
	}
	s.slots[name] = len(s.columns)
	s.columns = append(s.columns, name)
	return len(s.columns) - 1
}

// entity is one compiled entity description of a source.
type entity struct {
	kind     data.Kind
	index    int
	path     string
	when     []cond
	conflict conflictMode
	fields   map[string]*field
}

type condOp uint8

const (
	opEquals condOp = iota + 1
	opNotEquals
	opIn
	opNotIn
	opEmpty
	opNotEmpty
)

// cond is one `when` test on a column's trimmed value.
type cond struct {
	slot   int
	column string
	op     condOp
	values []string
	fold   bool
}

type srcKind uint8

const (
	srcColumn srcKind = iota + 1
	srcTemplate
	srcValue
)

type tmplPart struct {
	lit  string
	slot int // -1 for a literal part
}

// field is one compiled field: where its text comes from and how it is
// converted.
type field struct {
	def      fieldDef
	path     string
	src      srcKind
	slot     int // srcColumn
	column   string
	parts    []tmplPart // srcTemplate
	template string
	value    string // srcValue
	trim     bool
	vmap     map[string]string
	vmapFold map[string]string
	dflt     string
	hasDflt  bool
	formats  []dateFormat
	zone     *time.Location
	decimal  rune
	thousand rune
	negate   bool
	minor    bool
	currency string // default currency of the entity (for amounts)
}

// columnLabel names the source column(s) of f for messages ("" for a constant).
func (f *field) columnLabel(s *source) string {
	switch f.src {
	case srcColumn:
		return f.column
	case srcTemplate:
		var cols []string
		for _, p := range f.parts {
			if p.slot >= 0 {
				cols = append(cols, s.columns[p.slot])
			}
		}
		return strings.Join(slices.Compact(cols), "+")
	}
	return ""
}

// options are the settings inherited from defaults to sources to fields.
type options struct {
	currency    *string
	zone        *string
	dateFormats []dateFormat
	timeFormats []dateFormat
	decimal     *rune
	thousands   *rune
	trim        *bool
}

func (o options) over(parent options) options {
	if o.currency == nil {
		o.currency = parent.currency
	}
	if o.zone == nil {
		o.zone = parent.zone
	}
	if o.dateFormats == nil {
		o.dateFormats = parent.dateFormats
	}
	if o.timeFormats == nil {
		o.timeFormats = parent.timeFormats
	}
	if o.decimal == nil {
		o.decimal = parent.decimal
	}
	if o.thousands == nil {
		o.thousands = parent.thousands
	}
	if o.trim == nil {
		o.trim = parent.trim
	}
	return o
}

func ptr[T any](v T) *T { return &v }

// builtinOptions apply when neither defaults nor a source says otherwise.
var builtinOptions = options{currency: ptr(""), zone: ptr("UTC"), dateFormats: []dateFormat{isoFormat},
	timeFormats: []dateFormat{isoFormat}, decimal: ptr('.'), thousands: ptr(rune(0)), trim: ptr(true)}

var optionKeys = []string{"currency", "time_zone", "date_format", "time_format", "decimal", "thousands", "trim"}

type parser struct {
	file string
}

func (p *parser) errf(n *yaml.Node, path, format string, args ...any) *MappingError {
	e := &MappingError{File: p.file, Path: path, Reason: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	return e
}

// object returns the keys of mapping node n, rejecting keys not in allowed
// and repeated keys.
func (p *parser) object(n *yaml.Node, path string, allowed ...string) (map[string]*yaml.Node, []*yaml.Node, error) {
	if err := p.noAlias(n, path); err != nil {
		return nil, nil, err
	}
	if n.Kind != yaml.MappingNode {
		return nil, nil, p.errf(n, path, "want a mapping of keys (%s), found %s", strings.Join(allowed, ", "), nodeKind(n))
	}
	out := map[string]*yaml.Node{}
	var keys []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, nil, p.errf(k, path, "keys must be plain text")
		}
		if err := p.noAlias(v, path+"."+k.Value); err != nil {
			return nil, nil, err
		}
		if allowed != nil && !slices.Contains(allowed, k.Value) {
			return nil, nil, p.errf(k, path, "unknown key %q (allowed: %s)", k.Value, strings.Join(allowed, ", "))
		}
		if _, dup := out[k.Value]; dup {
			return nil, nil, p.errf(k, path, "key %q appears twice", k.Value)
		}
		out[k.Value] = v
		keys = append(keys, k)
	}
	return out, keys, nil
}

func (p *parser) noAlias(n *yaml.Node, path string) error {
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		return p.errf(n, path, "YAML anchors and aliases are not supported in mappings")
	}
	return nil
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "nothing"
}

// scalar returns the text of a scalar node ("" for null).
func (p *parser) scalar(n *yaml.Node, path string) (string, error) {
	if err := p.noAlias(n, path); err != nil {
		return "", err
	}
	if n.Kind != yaml.ScalarNode {
		return "", p.errf(n, path, "want a single value, found %s", nodeKind(n))
	}
	if n.ShortTag() == "!!null" {
		return "", nil
	}
	return n.Value, nil
}

// scalars accepts one value or a list of values.
func (p *parser) scalars(n *yaml.Node, path string) ([]string, error) {
	if n.Kind == yaml.SequenceNode {
		out := make([]string, 0, len(n.Content))
		for i, c := range n.Content {
			s, err := p.scalar(c, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	s, err := p.scalar(n, path)
	if err != nil {
		return nil, err
	}
	return []string{s}, nil
}

func (p *parser) boolean(n *yaml.Node, path string) (bool, error) {
	s, err := p.scalar(n, path)
	if err != nil {
		return false, err
	}
	switch strings.ToLower(s) {
	case "true", "yes", "on":
		return true, nil
	case "false", "no", "off":
		return false, nil
	}
	return false, p.errf(n, path, "want true or false, found %q", s)
}

// char parses a one-character setting ("" allowed when allowNone).
func (p *parser) char(n *yaml.Node, path string, allowNone bool) (rune, error) {
	s, err := p.scalar(n, path)
	if err != nil {
		return 0, err
	}
	switch strings.ToLower(s) {
	case "tab", `\t`:
		return '\t', nil
	case "space":
		return ' ', nil
	case "", "none":
		if allowNone {
			return 0, nil
		}
		return 0, p.errf(n, path, "want one character")
	}
	if utf8.RuneCountInString(s) != 1 {
		return 0, p.errf(n, path, "want one character (or tab, space), found %q", s)
	}
	r, _ := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError || r == '"' || r == '\r' || r == '\n' {
		return 0, p.errf(n, path, "%q cannot be used here", s)
	}
	return r, nil
}

func (p *parser) options(obj map[string]*yaml.Node, path string) (options, error) {
	var o options
	for _, key := range optionKeys {
		n, ok := obj[key]
		if !ok {
			continue
		}
		kp := path + "." + key
		switch key {
		case "currency":
			s, err := p.scalar(n, kp)
			if err != nil {
				return o, err
			}
			s = strings.ToUpper(strings.TrimSpace(s))
			if s != "" && !data.KnownCurrency(s) {
				return o, p.errf(n, kp, "%q is not an ISO 4217 currency code", s)
			}
			o.currency = &s
		case "time_zone":
			s, err := p.scalar(n, kp)
			if err != nil {
				return o, err
			}
			if _, err := data.LoadZone(s); err != nil {
				return o, p.errf(n, kp, "%v", err)
			}
			o.zone = &s
		case "date_format", "time_format":
			fs, err := p.formats(n, kp)
			if err != nil {
				return o, err
			}
			if key == "date_format" {
				o.dateFormats = fs
			} else {
				o.timeFormats = fs
			}
		case "decimal":
			r, err := p.char(n, kp, false)
			if err != nil {
				return o, err
			}
			o.decimal = &r
		case "thousands":
			r, err := p.char(n, kp, true)
			if err != nil {
				return o, err
			}
			o.thousands = &r
		case "trim":
			b, err := p.boolean(n, kp)
			if err != nil {
				return o, err
			}
			o.trim = &b
		}
	}
	if o.decimal != nil && o.thousands != nil && *o.decimal == *o.thousands {
		return o, p.errf(obj["thousands"], path+".thousands", "must differ from the decimal separator")
	}
	return o, nil
}

func (p *parser) formats(n *yaml.Node, path string) ([]dateFormat, error) {
	ss, err := p.scalars(n, path)
	if err != nil {
		return nil, err
	}
	if len(ss) == 0 {
		return nil, p.errf(n, path, "want at least one format")
	}
	out := make([]dateFormat, 0, len(ss))
	for _, s := range ss {
		f, err := parseDateFormat(s)
		if err != nil {
			return nil, p.errf(n, path, "%v", err)
		}
		out = append(out, f)
	}
	return out, nil
}

func (p *parser) mapping(root *yaml.Node) (*Mapping, error) {
	obj, _, err := p.object(root, "", "version", "defaults", "sources")
	if err != nil {
		return nil, err
	}
	vn, ok := obj["version"]
	if !ok {
		return nil, p.errf(root, "", "missing key version (want version: %d)", MappingVersion)
	}
	if v, err := p.scalar(vn, "version"); err != nil {
		return nil, err
	} else if v != fmt.Sprint(MappingVersion) {
		return nil, p.errf(vn, "version", "unsupported mapping version %q (this duesight reads version %d)", v, MappingVersion)
	}
	defaults := builtinOptions
	if dn, ok := obj["defaults"]; ok {
		dobj, _, err := p.object(dn, "defaults", optionKeys...)
		if err != nil {
			return nil, err
		}
		o, err := p.options(dobj, "defaults")
		if err != nil {
			return nil, err
		}
		defaults = o.over(builtinOptions)
	}
	sn, ok := obj["sources"]
	if !ok {
		return nil, p.errf(root, "", "missing key sources (a list of input files)")
	}
	if sn.Kind != yaml.SequenceNode || len(sn.Content) == 0 {
		return nil, p.errf(sn, "sources", "want a non-empty list of sources")
	}
	m := &Mapping{file: p.file}
	names := map[string]bool{}
	for i, n := range sn.Content {
		s, err := p.source(n, fmt.Sprintf("sources[%d]", i), defaults)
		if err != nil {
			return nil, err
		}
		if names[s.name] {
			return nil, p.errf(n, fmt.Sprintf("sources[%d].name", i), "source name %q is used twice", s.name)
		}
		names[s.name] = true
		s.index = i
		m.sources = append(m.sources, s)
	}
	return m, nil
}

var sourceKeys = append([]string{"name", "format", "delimiter", "comment", "encoding", "entities"}, optionKeys...)

func (p *parser) source(n *yaml.Node, path string, defaults options) (*source, error) {
	obj, _, err := p.object(n, path, sourceKeys...)
	if err != nil {
		return nil, err
	}
	s := &source{delimiter: ',', encoding: "utf-8", slots: map[string]int{}}
	nn, ok := obj["name"]
	if !ok {
		return nil, p.errf(n, path, "missing key name (the name the files are given under, e.g. invoices)")
	}
	if s.name, err = p.scalar(nn, path+".name"); err != nil {
		return nil, err
	}
	if s.name = strings.TrimSpace(s.name); s.name == "" || strings.ContainsAny(s.name, "=,") {
		return nil, p.errf(nn, path+".name", "want a non-empty name without '=' or ','")
	}
	if fn, ok := obj["format"]; ok {
		f, err := p.scalar(fn, path+".format")
		if err != nil {
			return nil, err
		}
		switch f = strings.ToLower(f); f {
		case "csv", "parquet", "":
			s.format = f
		default:
			return nil, p.errf(fn, path+".format", "unknown format %q (want csv or parquet)", f)
		}
	}
	if dn, ok := obj["delimiter"]; ok {
		if s.delimiter, err = p.char(dn, path+".delimiter", false); err != nil {
			return nil, err
		}
	}
	if cn, ok := obj["comment"]; ok {
		if s.comment, err = p.char(cn, path+".comment", true); err != nil {
			return nil, err
		}
		if s.comment == s.delimiter {
			return nil, p.errf(cn, path+".comment", "must differ from the delimiter")
		}
	}
	if en, ok := obj["encoding"]; ok {
		e, err := p.scalar(en, path+".encoding")
		if err != nil {
			return nil, err
		}
		switch strings.ToLower(strings.ReplaceAll(e, "_", "-")) {
		case "utf-8", "utf8", "":
			s.encoding = "utf-8"
		case "latin1", "latin-1", "iso-8859-1":
			s.encoding = "latin1"
		case "windows-1252", "cp1252":
			s.encoding = "windows-1252"
		default:
			return nil, p.errf(en, path+".encoding", "unknown encoding %q (want utf-8, latin1 or windows-1252)", e)
		}
	}
	o, err := p.options(obj, path)
	if err != nil {
		return nil, err
	}
	o = o.over(defaults)
	en, ok := obj["entities"]
	if !ok || en.Kind != yaml.SequenceNode || len(en.Content) == 0 {
		at := n
		if ok {
			at = en
		}
		return nil, p.errf(at, path+".entities", "want a non-empty list of entities (kind: account, invoice, payment, contact or dispute)")
	}
	for i, c := range en.Content {
		e, err := p.entity(c, fmt.Sprintf("%s.entities[%d]", path, i), s, o)
		if err != nil {
			return nil, err
		}
		e.index = i
		s.entities = append(s.entities, e)
	}
	return s, nil
}

func (p *parser) entity(n *yaml.Node, path string, s *source, o options) (*entity, error) {
	obj, _, err := p.object(n, path, "kind", "when", "on_conflict", "fields")
	if err != nil {
		return nil, err
	}
	e := &entity{path: path, fields: map[string]*field{}}
	kn, ok := obj["kind"]
	if !ok {
		return nil, p.errf(n, path, "missing key kind (account, invoice, payment, contact or dispute)")
	}
	k, err := p.scalar(kn, path+".kind")
	if err != nil {
		return nil, err
	}
	e.kind = data.Kind(strings.ToLower(k))
	if _, ok := kindFields[e.kind]; !ok {
		return nil, p.errf(kn, path+".kind", "unknown kind %q (want account, invoice, payment, contact or dispute)", k)
	}
	if cn, ok := obj["on_conflict"]; ok {
		c, err := p.scalar(cn, path+".on_conflict")
		if err != nil {
			return nil, err
		}
		switch strings.ToLower(c) {
		case "error", "":
			e.conflict = conflictError
		case "first":
			e.conflict = conflictFirst
		case "last":
			e.conflict = conflictLast
		default:
			return nil, p.errf(cn, path+".on_conflict", "unknown value %q (want first, last or error)", c)
		}
	}
	if wn, ok := obj["when"]; ok {
		if e.when, err = p.conds(wn, path+".when", s); err != nil {
			return nil, err
		}
	}
	fn, ok := obj["fields"]
	if !ok {
		return nil, p.errf(n, path, "missing key fields")
	}
	fobj, fkeys, err := p.object(fn, path+".fields")
	if err != nil {
		return nil, err
	}
	for _, kn := range fkeys {
		def, ok := lookupField(e.kind, kn.Value)
		if !ok {
			return nil, p.errf(kn, path+".fields", "unknown field %q for %s (fields: %s)", kn.Value, e.kind,
				strings.Join(fieldNames(e.kind), ", "))
		}
		f, err := p.field(fobj[kn.Value], path+".fields."+kn.Value, def, s, o)
		if err != nil {
			return nil, err
		}
		e.fields[def.name] = f
	}
	for _, name := range requiredFields[e.kind] {
		if e.fields[name] == nil {
			return nil, p.errf(fn, path+".fields", "%s field %s is not mapped", e.kind, name)
		}
	}
	if e.kind == data.KindInvoice && e.fields["due_date"] == nil && e.fields["terms_days"] == nil {
		return nil, p.errf(fn, path+".fields", "invoice needs due_date or terms_days (due = baseline_date or issue_date + terms_days)")
	}
	if e.kind == data.KindInvoice && e.fields["baseline_date"] != nil && e.fields["terms_days"] == nil {
		return nil, p.errf(fn, path+".fields", "baseline_date is only used with terms_days")
	}
	// Currency: the mapped field, else the default, which must then exist.
	if _, has := lookupField(e.kind, "currency"); has && e.fields["currency"] == nil {
		if *o.currency == "" && (e.kind != data.KindContact || e.fields["promised_amount"] != nil) {
			return nil, p.errf(fn, path+".fields", "%s currency is neither mapped nor set in defaults.currency", e.kind)
		}
		e.fields["currency"] = &field{def: fieldDef{"currency", tCurrency}, path: path + ".fields.currency",
			src: srcValue, value: *o.currency, trim: true}
	}
	if e.kind == data.KindAccount && e.fields["time_zone"] == nil {
		e.fields["time_zone"] = &field{def: fieldDef{"time_zone", tZone}, path: path + ".fields.time_zone",
			src: srcValue, value: *o.zone, trim: true}
	}
	cur := *o.currency
	if cf := e.fields["currency"]; cf != nil && cf.src == srcValue {
		cur = cf.value
	}
	for _, f := range e.fields {
		f.currency = cur
	}
	return e, nil
}

func (p *parser) conds(n *yaml.Node, path string, s *source) ([]cond, error) {
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
	}
	var out []cond
	for i, c := range items {
		cp := path
		if n.Kind == yaml.SequenceNode {
			cp = fmt.Sprintf("%s[%d]", path, i)
		}
		obj, _, err := p.object(c, cp, "column", "equals", "not_equals", "in", "not_in", "empty", "not_empty", "ignore_case")
		if err != nil {
			return nil, err
		}
		cn, ok := obj["column"]
		if !ok {
			return nil, p.errf(c, cp, "missing key column")
		}
		col, err := p.scalar(cn, cp+".column")
		if err != nil {
			return nil, err
		}
		if col == "" {
			return nil, p.errf(cn, cp+".column", "column name is empty")
		}
		cd := cond{column: col, slot: s.slot(col)}
		ops := 0
		for _, key := range []string{"equals", "not_equals", "in", "not_in", "empty", "not_empty"} {
			v, ok := obj[key]
			if !ok {
				continue
			}
			ops++
			switch key {
			case "equals", "not_equals":
				x, err := p.scalar(v, cp+"."+key)
				if err != nil {
					return nil, err
				}
				cd.op, cd.values = map[string]condOp{"equals": opEquals, "not_equals": opNotEquals}[key], []string{x}
			case "in", "not_in":
				if v.Kind != yaml.SequenceNode {
					return nil, p.errf(v, cp+"."+key, "want a list of values")
				}
				xs, err := p.scalars(v, cp+"."+key)
				if err != nil {
					return nil, err
				}
				cd.op, cd.values = map[string]condOp{"in": opIn, "not_in": opNotIn}[key], xs
			case "empty", "not_empty":
				b, err := p.boolean(v, cp+"."+key)
				if err != nil {
					return nil, err
				}
				if b == (key == "empty") {
					cd.op = opEmpty
				} else {
					cd.op = opNotEmpty
				}
			}
		}
		if ops != 1 {
			return nil, p.errf(c, cp, "want exactly one of equals, not_equals, in, not_in, empty, not_empty")
		}
		if fn, ok := obj["ignore_case"]; ok {
			if cd.fold, err = p.boolean(fn, cp+".ignore_case"); err != nil {
				return nil, err
			}
		}
		for j, v := range cd.values {
			cd.values[j] = strings.TrimSpace(v)
		}
		out = append(out, cd)
	}
	return out, nil
}

var fieldKeys = []string{"column", "template", "value", "format", "time_zone", "decimal", "thousands",
	"map", "default", "trim", "negate", "minor_units"}

func (p *parser) field(n *yaml.Node, path string, def fieldDef, s *source, o options) (*field, error) {
	f := &field{def: def, path: path, slot: -1}
	if n.Kind == yaml.ScalarNode {
		v, err := p.scalar(n, path)
		if err != nil {
			return nil, err
		}
		if err := p.setSource(f, n, path, v, strings.Contains(v, "{"), s); err != nil {
			return nil, err
		}
		return f, p.finishField(f, n, path, nil, o)
	}
	obj, _, err := p.object(n, path, fieldKeys...)
	if err != nil {
		return nil, err
	}
	srcs := 0
	for _, key := range []string{"column", "template", "value"} {
		v, ok := obj[key]
		if !ok {
			continue
		}
		srcs++
		x, err := p.scalar(v, path+"."+key)
		if err != nil {
			return nil, err
		}
		switch key {
		case "column":
			err = p.setSource(f, v, path+".column", x, false, s)
		case "template":
			err = p.setSource(f, v, path+".template", x, true, s)
		case "value":
			f.src, f.value = srcValue, x
		}
		if err != nil {
			return nil, err
		}
	}
	if srcs != 1 {
		return nil, p.errf(n, path, "want exactly one of column, template or value")
	}
	return f, p.finishField(f, n, path, obj, o)
}

func (p *parser) setSource(f *field, n *yaml.Node, path, v string, template bool, s *source) error {
	if !template {
		if strings.TrimSpace(v) == "" {
			return p.errf(n, path, "column name is empty")
		}
		f.src, f.column, f.slot = srcColumn, v, s.slot(v)
		return nil
	}
	parts, err := parseTemplate(v, s)
	if err != nil {
		return p.errf(n, path, "template %q: %v", v, err)
	}
	f.src, f.parts, f.template = srcTemplate, parts, v
	return nil
}

// parseTemplate splits "pay-{Invoice No}" into literal and column parts.
// "{{" and "}}" stand for literal braces.
func parseTemplate(t string, s *source) ([]tmplPart, error) {
	var parts []tmplPart
	var lit strings.Builder
	cols := 0
	for i := 0; i < len(t); i++ {
		switch c := t[i]; {
		case c == '{' && i+1 < len(t) && t[i+1] == '{':
			lit.WriteByte('{')
			i++
		case c == '}' && i+1 < len(t) && t[i+1] == '}':
			lit.WriteByte('}')
			i++
		case c == '}':
			return nil, fmt.Errorf("unmatched '}' at byte %d (write }} for a literal brace)", i+1)
		case c == '{':
			end := strings.IndexByte(t[i+1:], '}')
			if end < 0 {
				return nil, fmt.Errorf("unclosed '{' at byte %d", i+1)
			}
			name := t[i+1 : i+1+end]
			if strings.TrimSpace(name) == "" || strings.Contains(name, "{") {
				return nil, fmt.Errorf("empty or nested column reference at byte %d", i+1)
			}
			if lit.Len() > 0 {
				parts = append(parts, tmplPart{lit: lit.String(), slot: -1})
				lit.Reset()
			}
			parts = append(parts, tmplPart{slot: s.slot(name)})
			cols++
			i += end + 1
		default:
			lit.WriteByte(c)
		}
	}
	if lit.Len() > 0 {
		parts = append(parts, tmplPart{lit: lit.String(), slot: -1})
	}
	if cols == 0 {
		return nil, fmt.Errorf("references no column (use value: for a constant)")
	}
	return parts, nil
}

func (p *parser) finishField(f *field, n *yaml.Node, path string, obj map[string]*yaml.Node, o options) error {
	typ := f.def.typ
	f.trim = *o.trim
	f.decimal, f.thousand = *o.decimal, *o.thousands
	switch typ {
	case tDate:
		f.formats = o.dateFormats
	case tTime:
		f.formats = o.timeFormats
	}
	zone := *o.zone
	only := func(key string, types ...valueType) error {
		if _, ok := obj[key]; ok && !slices.Contains(types, typ) {
			return p.errf(obj[key], path+"."+key, "%s applies only to %s fields, and %s is a %s field", key,
				strings.Join(typeList(types), " or "), f.def.name, typeNames[typ])
		}
		return nil
	}
	for _, k := range []struct { // a slice, not a map: the same key is reported every run
		key   string
		types []valueType
	}{{"format", []valueType{tDate, tTime}}, {"time_zone", []valueType{tTime, tDate}}, {"decimal", []valueType{tAmount}},
		{"thousands", []valueType{tAmount}}, {"negate", []valueType{tAmount}}, {"minor_units", []valueType{tAmount}}} {
		if err := only(k.key, k.types...); err != nil {
			return err
		}
	}
	var err error
	if v, ok := obj["format"]; ok {
		if f.formats, err = p.formats(v, path+".format"); err != nil {
			return err
		}
	}
	if v, ok := obj["time_zone"]; ok {
		if zone, err = p.scalar(v, path+".time_zone"); err != nil {
			return err
		}
	}
	if f.zone, err = data.LoadZone(zone); err != nil {
		at := n
		if v, ok := obj["time_zone"]; ok {
			at = v
		}
		return p.errf(at, path+".time_zone", "%v", err)
	}
	if v, ok := obj["decimal"]; ok {
		if f.decimal, err = p.char(v, path+".decimal", false); err != nil {
			return err
		}
	}
	if v, ok := obj["thousands"]; ok {
		if f.thousand, err = p.char(v, path+".thousands", true); err != nil {
			return err
		}
	}
	if f.decimal == f.thousand {
		return p.errf(n, path, "decimal and thousands separators are both %q", f.decimal)
	}
	for _, b := range []struct {
		key string
		dst *bool
	}{{"trim", &f.trim}, {"negate", &f.negate}, {"minor_units", &f.minor}} {
		if v, ok := obj[b.key]; ok {
			if *b.dst, err = p.boolean(v, path+"."+b.key); err != nil {
				return err
			}
		}
	}
	if v, ok := obj["map"]; ok {
		mobj, mkeys, err := p.object(v, path+".map")
		if err != nil {
			return err
		}
		f.vmap, f.vmapFold = map[string]string{}, map[string]string{}
		for _, k := range mkeys {
			to, err := p.scalar(mobj[k.Value], path+".map."+k.Value)
			if err != nil {
				return err
			}
			if err := f.check(to); err != nil {
				return p.errf(mobj[k.Value], path+".map."+k.Value, "%v", err)
			}
			from := strings.TrimSpace(k.Value)
			f.vmap[from] = to
			f.vmapFold[strings.ToLower(from)] = to
		}
	}
	if v, ok := obj["default"]; ok {
		if f.dflt, err = p.scalar(v, path+".default"); err != nil {
			return err
		}
		if err := f.check(f.dflt); err != nil {
			return p.errf(v, path+".default", "%v", err)
		}
		f.hasDflt = true
	}
	if f.src == srcValue {
		if f.trim {
			f.value = strings.TrimSpace(f.value)
		}
		if err := f.check(f.value); err != nil {
			return p.errf(obj["value"], path+".value", "%v", err)
		}
	}
	return nil
}

func typeList(ts []valueType) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = typeNames[t]
	}
	return out
}

// check converts a constant (value, map target, default) at load time so
// that a typo in the mapping fails before any file is read. Amounts are
// checked for syntax with the default currency.
func (f *field) check(s string) error {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	cur := f.currency
	if cur == "" {
		cur = "XXX"
	}
	_, err := f.convert(s, natText, cur)
	return err
}

// sourceFormat returns the file format of s for path.
func (s *source) fileFormat(path string) string {
	if s.format != "" {
		return s.format
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".parquet", ".pq":
		return "parquet"
	}
	return "csv"
}
