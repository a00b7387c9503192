package api

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/duesight/duesight/data"
)

// backendCtx bounds a backend call by Options.RequestTimeout.
func (s *Server) backendCtx(c *gin.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.Request.Context(), s.opt.RequestTimeout)
}

// contractError reports a backend answer that breaks the Backend contract
// (a bug: 500, logged).
func contractError(format string, args ...any) error {
	return &data.Error{Code: data.Internal, Message: "backend contract violated", Err: fmt.Errorf(format, args...)}
}

// score serves POST /v1/score.
func (s *Server) score(c *gin.Context) {
	if _, err := queryParams(c.Request.URL.RawQuery); err != nil {
		s.fail(c, err)
		return
	}
	body, err := s.readBody(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	req, err := decodeScoreRequest(body, s.opt.MaxScoreBatch)
	if err != nil {
		s.fail(c, err)
		return
	}
	ctx, cancel := s.backendCtx(c)
	defer cancel()
	resp, err := s.backend.Score(ctx, req)
	if err != nil {
		s.fail(c, fmt.Errorf("score %d invoice(s): %w", len(req.Items), err))
		return
	}
	if err := checkScoreResponse(req, resp); err != nil {
		s.fail(c, err)
		return
	}
	s.metrics.scores.WithLabelValues(resp.ModelVersion).Add(float64(len(resp.Scores)))
	buf := scoreBuffers.Get().(*[]byte)
	*buf = resp.AppendJSON((*buf)[:0])
	s.write(c, http.StatusOK, "application/json", *buf)
	if cap(*buf) <= maxPooledBuffer {
		scoreBuffers.Put(buf)
	}
}

// scoreBuffers recycles score response buffers; those grown beyond
// maxPooledBuffer (large batches) are left to the garbage collector.
var scoreBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

const maxPooledBuffer = 1 << 20

func checkScoreResponse(req *ScoreRequest, resp *ScoreResponse) error {
	switch {
	case resp == nil:
		return contractError("Score returned no response")
	case resp.ModelVersion == "":
		return contractError("Score response names no model version")
	case resp.AsOf.IsZero():
		return contractError("Score response has no as_of")
	case len(resp.Scores) != len(req.Items):
		return contractError("Score returned %d scores for %d invoices", len(resp.Scores), len(req.Items))
	}
	for i := range resp.Scores {
		want := req.Items[i].InvoiceID
		if inv := req.Items[i].Invoice; inv != nil {
			want = inv.ID
		}
		if resp.Scores[i].InvoiceID != want {
			return contractError("score %d is for another invoice than requested (order must be kept)", i)
		}
		if err := checkScore(&resp.Scores[i]); err != nil {
			return contractError("score %d: %w", i, err)
		}
	}
	return nil
}

// checkScore checks one score's numbers; it replaces nil reasons by an
// empty list.
func checkScore(sc *InvoiceScore) error {
	q := sc.PaymentDate
	switch {
	case !(sc.PLate >= 0 && sc.PLate <= 1):
		return fmt.Errorf("p_late %v is outside [0, 1]", sc.PLate)
	case !(sc.ExpectedDaysLate >= 0) || math.IsInf(sc.ExpectedDaysLate, 0):
		return fmt.Errorf("expected_days_late %v is not a finite number ≥ 0", sc.ExpectedDaysLate)
	case !sc.RiskTier.Valid():
		return fmt.Errorf("risk_tier %q is not a tier", sc.RiskTier)
	case q.P10 <= 0 || q.P10 > q.P50 || q.P50 > q.P90:
		return fmt.Errorf("payment date quantiles are unset or out of order")
	}
	for j, r := range sc.Reasons {
		if math.IsNaN(r.Contribution) || math.IsInf(r.Contribution, 0) || math.IsInf(r.Value, 0) {
			return fmt.Errorf("reason %d has a non-finite number", j)
		}
	}
	if sc.Reasons == nil {
		sc.Reasons = []Reason{}
	}
	return nil
}

// account serves GET /v1/accounts/{id}.
func (s *Server) account(c *gin.Context) {
	id := c.Param("id")
	q, err := queryParams(c.Request.URL.RawQuery, "as_of")
	if err != nil {
		s.fail(c, err)
		return
	}
	var errs []FieldError
	if reason := checkID(id); reason != "" {
		errs = append(errs, FieldError{In: inPath, Path: "id", Reason: reason})
	}
	asOf, fe := queryTime(q, "as_of")
	if fe != nil {
		errs = append(errs, *fe)
	}
	if len(errs) > 0 {
		s.fail(c, newRequestError(kindMalformed, "bad account request", errs...))
		return
	}
	ctx, cancel := s.backendCtx(c)
	defer cancel()
	v, err := s.backend.Account(ctx, AccountQuery{AccountID: id, AsOf: asOf})
	if err != nil {
		s.fail(c, fmt.Errorf("account view: %w", err))
		return
	}
	if err := checkAccountView(v); err != nil {
		s.fail(c, err)
		return
	}
	s.writeJSON(c, http.StatusOK, v)
}

func checkAccountView(v *AccountView) error {
	switch {
	case v == nil:
		return contractError("Account returned no view")
	case v.ModelVersion == "" || v.AsOf.IsZero():
		return contractError("account view names no model version or as_of")
	}
	for i := range v.OpenInvoices {
		if err := checkScore(&v.OpenInvoices[i].Score); err != nil {
			return contractError("account view open invoice %d: %w", i, err)
		}
	}
	for _, p := range []*[]data.Money{&v.Open, &v.Overdue, &v.ExpectedLoss} {
		if *p == nil {
			*p = []data.Money{}
		}
	}
	if v.OpenInvoices == nil {
		v.OpenInvoices = []OpenInvoice{}
	}
	if v.RecentContacts == nil {
		v.RecentContacts = []ContactView{}
	}
	return nil
}

// worklistResponse is the body of GET /v1/worklist.
type worklistResponse struct {
	AsOf         time.Time      `json:"as_of"`
	ModelVersion string         `json:"model_version"`
	Total        int            `json:"total"`
	Items        []WorklistItem `json:"items"`
	// NextCursor fetches the following page of the same snapshot; absent
	// on the last page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// worklist serves GET /v1/worklist.
func (s *Server) worklist(c *gin.Context) {
	p, err := decodeWorklistQuery(c.Request.URL.RawQuery, s.opt.MaxWorklistLimit)
	if err != nil {
		s.fail(c, err)
		return
	}
	q := WorklistQuery{AsOf: p.asOf, Segment: p.segment, Limit: p.limit}
	if p.cursor != nil {
		q.Snapshot, q.Offset = p.cursor.snapshot, p.cursor.offset
	}
	ctx, cancel := s.backendCtx(c)
	defer cancel()
	page, err := s.backend.Worklist(ctx, q)
	if err != nil {
		s.fail(c, fmt.Errorf("worklist page: %w", err))
		return
	}
	if err := checkWorklistPage(q, page); err != nil {
		s.fail(c, err)
		return
	}
	resp := worklistResponse{AsOf: page.AsOf, ModelVersion: page.ModelVersion, Total: page.Total, Items: page.Items}
	if resp.Items == nil {
		resp.Items = []WorklistItem{}
	}
	if next := q.Offset + len(page.Items); len(page.Items) > 0 && next < page.Total {
		resp.NextCursor = (&cursor{snapshot: page.Snapshot, offset: next, segment: p.segment, asOf: p.asOf}).encode()
	}
	s.writeJSON(c, http.StatusOK, resp)
}

func checkWorklistPage(q WorklistQuery, page *WorklistPage) error {
	switch {
	case page == nil:
		return contractError("Worklist returned no page")
	case page.Snapshot == "" || len(page.Snapshot) > maxSnapshotLen:
		return contractError("worklist snapshot id is empty or longer than %d bytes", maxSnapshotLen)
	case q.Snapshot != "" && page.Snapshot != q.Snapshot:
		return contractError("worklist page comes from another snapshot than the cursor's")
	case page.ModelVersion == "" || page.AsOf.IsZero():
		return contractError("worklist page names no model version or as_of")
	case len(page.Items) > q.Limit:
		return contractError("worklist page has %d items for limit %d", len(page.Items), q.Limit)
	case page.Total < q.Offset+len(page.Items):
		return contractError("worklist total %d is below the items served", page.Total)
	}
	for i, it := range page.Items {
		switch {
		case it.Rank != q.Offset+i+1:
			return contractError("worklist item %d has rank %d, want %d", i, it.Rank, q.Offset+i+1)
		case !it.RiskTier.Valid():
			return contractError("worklist item %d risk_tier %q is not a tier", i, it.RiskTier)
		case !it.NextAction.Channel.Valid() || it.NextAction.EarliestAt.IsZero():
			return contractError("worklist item %d next action has no channel or time", i)
		}
	}
	return nil
}

// events serves POST /v1/events.
func (s *Server) events(c *gin.Context) {
	if _, err := queryParams(c.Request.URL.RawQuery); err != nil {
		s.fail(c, err)
		return
	}
	body, err := s.readBody(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	b, err := decodeEvents(body, s.opt.MaxEventRows)
	if err != nil {
		s.fail(c, err)
		return
	}
	ctx, cancel := s.backendCtx(c)
	defer cancel()
	rep, err := s.backend.ApplyEvents(ctx, b)
	if err != nil {
		s.fail(c, fmt.Errorf("apply %d event row(s): %w", b.Len(), err))
		return
	}
	if rep == nil {
		s.fail(c, contractError("ApplyEvents returned no report"))
		return
	}
	if rep.Rejected == nil {
		rep.Rejected = []data.Issue{}
	}
	s.writeJSON(c, http.StatusOK, rep)
}

// modelsResponse is the body of GET /v1/models.
type modelsResponse struct {
	Active string      `json:"active"`
	Models []ModelInfo `json:"models"`
}

// models serves GET /v1/models.
func (s *Server) models(c *gin.Context) {
	if _, err := queryParams(c.Request.URL.RawQuery); err != nil {
		s.fail(c, err)
		return
	}
	ctx, cancel := s.backendCtx(c)
	defer cancel()
	ms, err := s.backend.Models(ctx)
	if err != nil {
		s.fail(c, fmt.Errorf("list models: %w", err))
		return
	}
	resp := modelsResponse{Models: make([]ModelInfo, len(ms))}
	for i, m := range ms {
		if m.Active {
			resp.Active = m.Version
		}
		if len(m.Metrics) > 0 {
			clean := make(map[string]float64, len(m.Metrics))
			for k, v := range m.Metrics {
				if !math.IsNaN(v) && !math.IsInf(v, 0) {
					clean[k] = v
				}
			}
			m.Metrics = clean
		}
		resp.Models[i] = m
	}
	s.writeJSON(c, http.StatusOK, resp)
}

// activate serves POST /v1/models/{version}/activate.
func (s *Server) activate(c *gin.Context) {
	version := c.Param("version")
	if reason := checkID(version); reason != "" {
		s.fail(c, newRequestError(kindMalformed, "bad model version", FieldError{In: inPath, Path: "version", Reason: reason}))
		return
	}
	if _, err := queryParams(c.Request.URL.RawQuery); err != nil {
		s.fail(c, err)
		return
	}
	ctx, cancel := s.backendCtx(c)
	defer cancel()
	res, err := s.backend.ActivateModel(ctx, version)
	if err != nil {
		s.fail(c, fmt.Errorf("activate model: %w", err))
		return
	}
	if res == nil || res.Active != version {
		s.fail(c, contractError("ActivateModel did not report the requested version active"))
		return
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "model activated", slog.String("version", res.Active),
		slog.String("previous", res.Previous), slog.String("key_id", infoOf(c).keyID))
	s.writeJSON(c, http.StatusOK, res)
}

// healthResponse is the body of /healthz and /readyz.
type healthResponse struct {
	Status      string `json:"status"`
	Reason      string `json:"reason,omitempty"`
	ActiveModel string `json:"model_version,omitempty"`
}

// healthz serves GET /healthz: the process is alive.
func (s *Server) healthz(c *gin.Context) {
	s.writeJSON(c, http.StatusOK, healthResponse{Status: "ok"})
}

// readyProbeTimeout bounds Backend.Ready.
const readyProbeTimeout = 2 * time.Second

// readyz serves GET /readyz: 200 when the backend is ready, 503 with the
// reason when it is degraded or not ready.
func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), readyProbeTimeout)
	defer cancel()
	r := s.backend.Ready(ctx)
	resp := healthResponse{Status: string(r.Status), Reason: r.Reason, ActiveModel: s.backend.Stats().ActiveModel}
	status := http.StatusOK
	switch r.Status {
	case StatusReady:
	case StatusDegraded, StatusNotReady:
		status = http.StatusServiceUnavailable
	default:
		resp.Status, resp.Reason = string(StatusNotReady), "the backend reported an unknown status"
		status = http.StatusServiceUnavailable
	}
	if status != http.StatusOK {
		c.Header("Retry-After", retrySeconds(s.opt.RetryAfter))
	}
	s.writeJSON(c, status, resp)
}

// openapi serves the embedded OpenAPI document.
func (s *Server) openapi(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=300")
	s.write(c, http.StatusOK, "application/json", openAPIDocument)
}
