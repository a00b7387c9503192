package api

import (
	"fmt"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the server's collectors, registered on the injected registry.
type metrics struct {
	latency *prometheus.HistogramVec
	scores  *prometheus.CounterVec
}

// latencyBuckets span sub-millisecond cached reads to multi-second batches.
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

func newMetrics(reg *prometheus.Registry, b Backend) (*metrics, error) {
	m := &metrics{
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "duesight", Subsystem: "http", Name: "request_duration_seconds",
			Help:    "Time to serve API requests, by route template, method and status code.",
			Buckets: latencyBuckets,
		}, []string{"route", "method", "status"}),
		scores: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "duesight", Name: "scores_served_total",
			Help: "Invoice scores returned by POST /v1/score, by model version.",
		}, []string{"model_version"}),
	}
	for _, c := range []prometheus.Collector{m.latency, m.scores, &backendCollector{b: b}} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) observe(route, method string, status int, seconds float64) {
	m.latency.WithLabelValues(route, method, statusLabel(status)).Observe(seconds)
}

// statusLabel avoids an allocation for the common codes.
func statusLabel(code int) string {
	switch code {
	case 200:
		return "200"
	case 400:
		return "400"
	case 401:
		return "401"
	case 403:
		return "403"
	case 404:
		return "404"
	case 422:
		return "422"
	case 429:
		return "429"
	case 500:
		return "500"
	case 503:
		return "503"
	}
	return strconv.Itoa(code)
}

// backendCollector exports the backend's gauges at scrape time.
type backendCollector struct{ b Backend }

var (
	descModel = prometheus.NewDesc("duesight_model_active_info",
		"The active model version (value 1; the version is the label).", []string{"version"}, nil)
	descStateEntries = prometheus.NewDesc("duesight_feature_state_entries",
		"Entities held in the backend's online feature state.", nil, nil)
	descStateBytes = prometheus.NewDesc("duesight_feature_state_bytes",
		"Approximate memory held by the backend's online feature state.", nil, nil)
)

func (c *backendCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descModel
	ch <- descStateEntries
	ch <- descStateBytes
}

func (c *backendCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.b.Stats()
	if st.ActiveModel != "" {
		// NewConstMetric fails on a label that is not valid UTF-8: such a
		// version is left out rather than breaking the scrape.
		if m, err := prometheus.NewConstMetric(descModel, prometheus.GaugeValue, 1, st.ActiveModel); err == nil {
			ch <- m
		}
	}
	ch <- prometheus.MustNewConstMetric(descStateEntries, prometheus.GaugeValue, float64(st.FeatureStateEntries))
	ch <- prometheus.MustNewConstMetric(descStateBytes, prometheus.GaugeValue, float64(st.FeatureStateBytes))
}
