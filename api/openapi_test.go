package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/duesight/duesight/api"
)

// The OpenAPI 3.1 document's schemas are JSON Schema 2020-12, so responses
// are validated with santhosh-tekuri/jsonschema (formats asserted) at the
// JSON pointer of each operation's response schema. The harness below does
// the OpenAPI part: it matches the request to a path template and
// operation, picks the response by status, checks the media type and the
// required headers, then validates the body.

const docURL = "mem:///openapi.json"

type apiDoc struct {
	doc      map[string]any
	compiler *jsonschema.Compiler
	mu       sync.Mutex
	schemas  map[string]*jsonschema.Schema
}

var loadDoc = sync.OnceValues(func() (*apiDoc, error) {
	raw := api.OpenAPI()
	parsed, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(docURL, parsed); err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	return &apiDoc{doc: doc, compiler: c, schemas: map[string]*jsonschema.Schema{}}, nil
})

func openAPI(t testing.TB) *apiDoc {
	t.Helper()
	d, err := loadDoc()
	if err != nil {
		t.Fatalf("load OpenAPI document: %v", err)
	}
	return d
}

// schema compiles (once) the schema at a JSON pointer of the document.
func (d *apiDoc) schema(t testing.TB, pointer string) *jsonschema.Schema {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	if s, ok := d.schemas[pointer]; ok {
		return s
	}
	s, err := d.compiler.Compile(docURL + "#" + pointer)
	if err != nil {
		t.Fatalf("compile schema %s: %v", pointer, err)
	}
	d.schemas[pointer] = s
	return s
}

func ptrEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// lookup follows a pointer into the raw document.
func (d *apiDoc) lookup(pointer string) any {
	var cur any = d.doc
	for _, tok := range strings.Split(strings.TrimPrefix(pointer, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[tok]
	}
	return cur
}

// deref resolves a local $ref, returning the target's pointer and value.
func (d *apiDoc) deref(pointer string) (string, map[string]any) {
	for range 8 {
		m, _ := d.lookup(pointer).(map[string]any)
		if m == nil {
			return pointer, nil
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return pointer, m
		}
		pointer = strings.TrimPrefix(ref, "#")
	}
	return pointer, nil
}

// template finds the documented path template matching an escaped URL path.
func (d *apiDoc) template(path string) string {
	paths, _ := d.doc["paths"].(map[string]any)
	segs := strings.Split(path, "/")
	for tmpl := range paths {
		ts := strings.Split(tmpl, "/")
		if len(ts) != len(segs) {
			continue
		}
		ok := true
		for i := range ts {
			if !(strings.HasPrefix(ts[i], "{") && segs[i] != "") && ts[i] != segs[i] {
				ok = false
				break
			}
		}
		if ok {
			return tmpl
		}
	}
	return ""
}

// checkResponse validates a response against the document.
func (d *apiDoc) checkResponse(t testing.TB, method, escapedPath string, resp *http.Response, body []byte) {
	t.Helper()
	status := strconv.Itoa(resp.StatusCode)
	tmpl := d.template(escapedPath)
	var respPtr string
	if tmpl != "" {
		opPtr := "/paths/" + ptrEscape(tmpl) + "/" + strings.ToLower(method)
		if d.lookup(opPtr) != nil {
			respPtr = opPtr + "/responses/" + status
			if d.lookup(respPtr) == nil {
				t.Errorf("%s %s: status %d is not documented for %s %s; body %s", method, escapedPath, resp.StatusCode, method, tmpl, body)
				return
			}
		}
	}
	if respPtr == "" {
		// Unknown route or method: a generic problem.
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: undocumented route answered %d", method, escapedPath, resp.StatusCode)
			return
		}
		respPtr = "/components/responses/NotFound"
	}
	respPtr, r := d.deref(respPtr)
	if r == nil {
		t.Fatalf("response %s does not resolve", respPtr)
	}
	if hs, ok := r["headers"].(map[string]any); ok {
		for name := range hs {
			hPtr, h := d.deref(respPtr + "/headers/" + ptrEscape(name))
			if req, _ := h["required"].(bool); req && resp.Header.Get(name) == "" {
				t.Errorf("%s %s → %d: required header %s missing", method, escapedPath, resp.StatusCode, name)
			} else if v := resp.Header.Get(name); v != "" && h["schema"] != nil {
				if err := d.schema(t, hPtr+"/schema").Validate(v); err != nil {
					t.Errorf("%s %s → %d: header %s=%q: %v", method, escapedPath, resp.StatusCode, name, v, err)
				}
			}
		}
	}
	content, _ := r["content"].(map[string]any)
	mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil {
		t.Errorf("%s %s → %d: bad Content-Type %q", method, escapedPath, resp.StatusCode, resp.Header.Get("Content-Type"))
		return
	}
	if _, ok := content[mt]; !ok {
		t.Errorf("%s %s → %d: media type %s not documented (have %v)", method, escapedPath, resp.StatusCode, mt, keys(content))
		return
	}
	schemaPtr := respPtr + "/content/" + ptrEscape(mt) + "/schema"
	var v any = string(body)
	if strings.HasSuffix(mt, "json") {
		if v, err = jsonschema.UnmarshalJSON(bytes.NewReader(body)); err != nil {
			t.Errorf("%s %s → %d: body is not JSON: %v\n%s", method, escapedPath, resp.StatusCode, err, body)
			return
		}
	}
	if err := d.schema(t, schemaPtr).Validate(v); err != nil {
		t.Errorf("%s %s → %d: body does not match %s:\n%v\nbody: %.2000s", method, escapedPath, resp.StatusCode, schemaPtr, err, body)
	}
	if strings.HasSuffix(mt, "problem+json") {
		var p api.Problem
		if err := json.Unmarshal(body, &p); err == nil && p.Status != resp.StatusCode {
			t.Errorf("%s %s: problem status %d differs from HTTP status %d", method, escapedPath, p.Status, resp.StatusCode)
		}
	}
}

// checkRequest validates a request body we send in a happy-path test, so
// the document and the decoder agree.
func (d *apiDoc) checkRequest(t testing.TB, method, tmpl string, body []byte) {
	t.Helper()
	ptr := "/paths/" + ptrEscape(tmpl) + "/" + strings.ToLower(method) + "/requestBody/content/application~1json/schema"
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("request body is not JSON: %v", err)
	}
	if err := d.schema(t, ptr).Validate(v); err != nil {
		t.Errorf("request body for %s %s does not match the document: %v", method, tmpl, err)
	}
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestOpenAPIDocument checks the document itself: every schema compiles,
// every route the server serves is documented with the permission it
// enforces, and every documented operation exists.
func TestOpenAPIDocument(t *testing.T) {
	d := openAPI(t)
	if v, _ := d.doc["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Fatalf("openapi = %q, want 3.1.x", v)
	}
	schemas, _ := d.lookup("/components/schemas").(map[string]any)
	if len(schemas) < 20 {
		t.Fatalf("only %d component schemas", len(schemas))
	}
	for name := range schemas {
		d.schema(t, "/components/schemas/"+ptrEscape(name))
	}

	perms := map[string]api.Permission{}
	paths, _ := d.doc["paths"].(map[string]any)
	for tmpl, item := range paths {
		for method, op := range item.(map[string]any) {
			p, ok := op.(map[string]any)["x-duesight-permission"].(string)
			if !ok {
				t.Errorf("%s %s: no x-duesight-permission", method, tmpl)
			}
			perms[strings.ToUpper(method)+" "+tmpl] = api.Permission(p)
		}
	}
	e := newEnv(t, envOptions{})
	served := map[string]bool{}
	for _, rt := range e.srv.Routes() {
		key := rt.Method + " " + rt.Path
		served[key] = true
		want, ok := perms[key]
		if !ok {
			t.Errorf("route %s is not in the OpenAPI document", key)
			continue
		}
		if rt.Permission != want {
			t.Errorf("route %s enforces %q, the document says %q", key, rt.Permission, want)
		}
	}
	for key := range perms {
		if !served[key] {
			t.Errorf("documented operation %s is not served", key)
		}
	}
}

// recTB records failures instead of failing the test.
type recTB struct {
	testing.TB
	msgs []string
}

func (r *recTB) Helper() {}
func (r *recTB) Errorf(format string, args ...any) {
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}

// TestOpenAPIValidatorRejects proves the harness can fail: responses that
// break the document are reported.
func TestOpenAPIValidatorRejects(t *testing.T) {
	d := openAPI(t)
	hdr := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i+1 < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	okHdr := hdr("Content-Type", "application/json", "X-Request-ID", "r1")
	tests := []struct {
		name, method, path string
		status             int
		header             http.Header
		body               string
		want               string
	}{
		{"missing required field", "GET", "/v1/models", 200, okHdr, `{"models":[]}`, "missing property"},
		{"extra field", "GET", "/v1/models", 200, okHdr, `{"active":"","models":[],"x":1}`, "additional properties"},
		{"wrong type", "POST", "/v1/models/m1/activate", 200, okHdr, `{"active":1,"previous":""}`, "want string"},
		{"p_late out of range", "POST", "/v1/score", 200, okHdr,
			`{"model_version":"m","as_of":"2026-01-01T00:00:00Z","scores":[{"invoice_id":"i","account_id":"a","p_late":1.5,"expected_days_late":0,"payment_date_quantiles":{"p10":"2026-01-01","p50":"2026-01-01","p90":"2026-01-01"},"risk_tier":"low","reasons":[]}]}`,
			"maximum"},
		{"undocumented status", "GET", "/v1/models", 418, okHdr, `{}`, "not documented"},
		{"wrong media type", "GET", "/v1/models", 200, hdr("Content-Type", "text/html", "X-Request-ID", "r"), `{}`, "media type"},
		{"missing required header", "GET", "/v1/models", 401, hdr("Content-Type", api.ProblemContentType, "X-Request-ID", "r"),
			`{"type":"urn:duesight:problem:unauthorized","title":"t","status":401}`, "WWW-Authenticate"},
		{"problem status mismatch", "GET", "/v1/models", 403, hdr("Content-Type", api.ProblemContentType, "X-Request-ID", "r"),
			`{"type":"urn:duesight:problem:forbidden","title":"t","status":401}`, "differs"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recTB{TB: t}
			d.checkResponse(rec, tc.method, tc.path, &http.Response{StatusCode: tc.status, Header: tc.header}, []byte(tc.body))
			if !strings.Contains(strings.Join(rec.msgs, "\n"), tc.want) {
				t.Errorf("validator said %q, want a message containing %q", rec.msgs, tc.want)
			}
		})
	}
}
