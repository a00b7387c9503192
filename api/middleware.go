package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// reqInfo is what the middleware chain learns about a request, for the
// access log.
type reqInfo struct {
	id      string
	keyID   string
	problem string // slug of the problem sent, if any
	err     error  // server-side error to log (never sent)
}

const infoKey = "duesight.req"

func infoOf(c *gin.Context) *reqInfo {
	if v, ok := c.Get(infoKey); ok {
		return v.(*reqInfo)
	}
	info := &reqInfo{}
	c.Set(infoKey, info)
	return info
}

// requestID returns the client's X-Request-ID if it is short and plain,
// else a new id.
func (s *Server) requestID(h string) string {
	if n := len(h); n > 0 && n <= 64 {
		ok := true
		for i := 0; i < n && ok; i++ {
			c := h[i]
			ok = c == '-' || c == '_' || c == '.' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		}
		if ok {
			return h
		}
	}
	return s.reqPrefix + strconv.FormatUint(s.reqSeq.Add(1), 36)
}

// observe is the outermost middleware: request id, security headers, panic
// recovery, metrics and the access log.
func (s *Server) observe(c *gin.Context) {
	start := s.clock()
	info := &reqInfo{id: s.requestID(c.GetHeader("X-Request-ID"))}
	c.Set(infoKey, info)
	h := c.Writer.Header()
	h.Set("X-Request-ID", info.id)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			info.err = fmt.Errorf("panic: %v\n%s", v, debug.Stack())
			if !c.Writer.Written() {
				p, _ := problemFor(errors.New("panic"))
				s.writeProblem(c, p)
			}
		}
		s.finish(c, info, s.clock().Sub(start))
	}()
	c.Next()
}

// finish records the request's metrics and its access-log line. The line
// names the route template, never the raw path (which may hold ids).
func (s *Server) finish(c *gin.Context, info *reqInfo, d time.Duration) {
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	status := c.Writer.Status()
	s.metrics.observe(route, c.Request.Method, status, d.Seconds())
	level := slog.LevelInfo
	if info.err != nil {
		level = slog.LevelError
	}
	ctx := c.Request.Context()
	if !s.log.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 9)
	attrs = append(attrs,
		slog.String("method", c.Request.Method),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Duration("latency", d),
		slog.String("request_id", info.id),
		slog.Int("bytes_out", max(0, c.Writer.Size())))
	if info.keyID != "" {
		attrs = append(attrs, slog.String("key_id", info.keyID))
	}
	if info.problem != "" {
		attrs = append(attrs, slog.String("problem", info.problem))
	}
	if info.err != nil {
		attrs = append(attrs, slog.String("err", info.err.Error()))
	}
	s.log.LogAttrs(ctx, level, "http request", attrs...)
}

// fail answers with the problem for err. Server faults keep err for the
// access log (logged once, never sent).
func (s *Server) fail(c *gin.Context, err error) {
	p, fault := problemFor(err)
	if fault {
		infoOf(c).err = err
	}
	s.writeProblem(c, p)
}

// writeProblem sends p as application/problem+json and aborts the chain.
func (s *Server) writeProblem(c *gin.Context, p Problem) {
	info := infoOf(c)
	info.problem = strings.TrimPrefix(p.Type, problemTypePrefix)
	p.Instance = "urn:duesight:request:" + info.id
	if p.Status == http.StatusServiceUnavailable {
		c.Header("Retry-After", retrySeconds(s.opt.RetryAfter))
	}
	b, err := json.Marshal(p)
	if err != nil { // cannot happen: Problem holds only strings and ints
		b = []byte(`{"type":"urn:duesight:problem:internal","title":"Internal error","status":500}`)
		p.Status = http.StatusInternalServerError
	}
	s.write(c, p.Status, ProblemContentType, b)
	c.Abort()
}

// retrySeconds renders d as a Retry-After delay (whole seconds, ≥ 1).
func retrySeconds(d time.Duration) string {
	return strconv.FormatInt(max(1, int64(math.Ceil(d.Seconds()))), 10)
}

// writeJSON sends v as application/json with status.
func (s *Server) writeJSON(c *gin.Context, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.fail(c, fmt.Errorf("encode %T response: %w", v, err))
		return
	}
	s.write(c, status, "application/json", b)
}

func (s *Server) write(c *gin.Context, status int, contentType string, b []byte) {
	h := c.Writer.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	c.Status(status)
	_, _ = c.Writer.Write(b) // a failed write means the client left; nothing to do
}

// auth returns the middleware that authenticates the API key, applies its
// rate limit and checks that its role grants perm.
func (s *Server) auth(perm Permission) gin.HandlerFunc {
	return func(c *gin.Context) {
		key, presented := bearer(c.GetHeader("Authorization"))
		if key == "" {
			s.unauthorized(c, presented, "an API key is required: send Authorization: Bearer dsk_<id>_<secret>")
			return
		}
		ki, err := s.keys.Verify(c.Request.Context(), key)
		switch {
		case errors.Is(err, ErrKeyMalformed):
			s.unauthorized(c, true, "the API key is malformed (want dsk_<id>_<secret>)")
			return
		case errors.Is(err, ErrKeyUnknown):
			s.unauthorized(c, true, "the API key is not known")
			return
		case errors.Is(err, ErrKeyRevoked):
			infoOf(c).keyID = ki.ID
			s.unauthorized(c, true, "the API key has been revoked")
			return
		case err != nil:
			s.fail(c, fmt.Errorf("verify api key: %w", err))
			return
		}
		info := infoOf(c)
		info.keyID = ki.ID
		if ok, wait := s.limiter.allow(ki.ID); !ok {
			c.Header("Retry-After", retrySeconds(wait))
			s.fail(c, newRequestError(kindRateLimited, fmt.Sprintf(
				"this API key's rate limit is exhausted; retry after %s seconds", retrySeconds(wait))))
			return
		}
		if !ki.Role.Allows(perm) {
			s.fail(c, newRequestError(kindForbidden, fmt.Sprintf("role %s does not grant %s", ki.Role, perm)))
			return
		}
		c.Next()
	}
}

// bearer extracts the token of an "Authorization: Bearer <token>" header;
// presented says whether any Authorization header was sent.
func bearer(h string) (token string, presented bool) {
	if h == "" {
		return "", false
	}
	const scheme = "bearer "
	if len(h) <= len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) {
		return "", true
	}
	return strings.TrimSpace(h[len(scheme):]), true
}

func (s *Server) unauthorized(c *gin.Context, presented bool, detail string) {
	challenge := `Bearer realm="duesight"`
	if presented {
		challenge += `, error="invalid_token"`
	}
	c.Header("WWW-Authenticate", challenge)
	s.fail(c, newRequestError(kindUnauthorized, detail))
}

// readBody checks the media type and reads the body within the limit.
func (s *Server) readBody(c *gin.Context) ([]byte, error) {
	ct := c.GetHeader("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" || (params["charset"] != "" && !strings.EqualFold(params["charset"], "utf-8")) {
		return nil, newRequestError(kindMediaType, "send the body as application/json (UTF-8)",
			FieldError{In: inHeader, Path: "Content-Type", Reason: fmt.Sprintf("is %q; want application/json", ct)})
	}
	limit := s.opt.BodyLimit
	if c.Request.ContentLength > limit {
		c.Header("Connection", "close")
		return nil, &http.MaxBytesError{Limit: limit}
	}
	size := c.Request.ContentLength
	if size <= 0 {
		size = 4096
	}
	var buf bytes.Buffer
	buf.Grow(int(size) + 1)
	if _, err := buf.ReadFrom(http.MaxBytesReader(c.Writer, c.Request.Body, limit)); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			c.Header("Connection", "close")
			return nil, mbe
		}
		return nil, newRequestError(kindMalformed, "the request body could not be read completely")
	}
	return buf.Bytes(), nil
}

// noRoute answers unknown paths.
func (s *Server) noRoute(c *gin.Context) {
	s.fail(c, newRequestError(kindNotFound, "no such endpoint; see /v1/openapi.json"))
}

// noMethod answers known paths with a method they do not serve.
func (s *Server) noMethod(c *gin.Context) {
	if allow := s.allowedMethods(c.Request.URL.EscapedPath()); allow != "" {
		c.Header("Allow", allow)
	}
	s.fail(c, newRequestError(kindMethod, fmt.Sprintf("%s is not served at this path", c.Request.Method)))
}

// allowedMethods lists the methods registered for path's route.
func (s *Server) allowedMethods(path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	var out []string
	for _, r := range s.engine.Routes() {
		t := strings.Split(strings.Trim(r.Path, "/"), "/")
		if len(t) != len(segs) {
			continue
		}
		match := true
		for i := range t {
			if !strings.HasPrefix(t[i], ":") && t[i] != segs[i] {
				match = false
				break
			}
		}
		if match {
			out = append(out, r.Method)
		}
	}
	return strings.Join(out, ", ")
}
