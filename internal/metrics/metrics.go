// Package metrics exposes svahub's Prometheus metrics: HTTP requests by
// route template, platform calls and token renewals (fed by the platform
// manager's observer), repaired drift and purged transmissions (fed by the
// provisioning engine) and gauges read from the database at scrape time
// (jobs, accesses, subscriptions).
//
// Every label is bounded: route templates, never paths with ids; platform
// names, operations and outcomes from fixed sets; states and statuses of
// the domain. A Metrics owns its registry, so several Apps (tests) never
// collide.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/svahub/svahub/internal/buildinfo"
	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/svahub"
)

// Namespace prefixes every svahub metric.
const Namespace = "svahub"

// Unmatched is the route label of requests no route matched (404), so
// that scanned or mistyped paths never become label values.
const Unmatched = "unmatched"

// None is the label shown for an empty state (no platform state yet).
const None = "nenhum"

// Defaults of Options.
const (
	DefaultStatsTimeout  = 2 * time.Second
	DefaultStatsInterval = 10 * time.Second
)

// StatsSource reads the database counts behind the gauges (*store.DB).
type StatsSource interface {
	Stats(ctx context.Context) (*store.Stats, error)
}

// Options configure a Metrics.
type Options struct {
	// Stats feeds the database gauges; nil leaves them out.
	Stats StatsSource
	// StatsTimeout bounds one read of the database gauges (default 2s).
	StatsTimeout time.Duration
	// StatsInterval is the minimum time between two reads of the database
	// gauges; scrapes in between reuse the last read (default 10s).
	StatsInterval time.Duration
	// Platforms are the registered platform names; their token renewal
	// series start at zero so that rates and alerts work from the start.
	Platforms []string
	// Logger receives failed database reads (default slog.Default()).
	Logger *slog.Logger
}

// Metrics holds svahub's collectors and their registry.
type Metrics struct {
	reg *prometheus.Registry

	httpRequests  *prometheus.CounterVec
	httpDuration  *prometheus.HistogramVec
	platformCalls *prometheus.CounterVec
	platformDur   *prometheus.HistogramVec
	tokenRenewals *prometheus.CounterVec
	driftRepaired prometheus.Counter
	purged        prometheus.Counter
	platformRate  *prometheus.GaugeVec
	budgetMembers *prometheus.GaugeVec
}

// New builds a Metrics with its own registry holding the svahub metrics,
// the Go runtime and process collectors and, when o.Stats is set, the
// database gauges.
func New(o Options) *Metrics {
	if o.StatsTimeout <= 0 {
		o.StatsTimeout = DefaultStatsTimeout
	}
	if o.StatsInterval <= 0 {
		o.StatsInterval = DefaultStatsInterval
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests answered, by method, route template and status code.",
		}, []string{"method", "route", "status"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "http", Name: "request_duration_seconds",
			Help:    "Time to answer HTTP requests, by method and route template.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route"}),
		platformCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "platform", Name: "calls_total",
			Help: "Calls to content platforms, by platform, operation and outcome (sucesso, erro, erro_temporario).",
		}, []string{"platform", "operation", "outcome"}),
		platformDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "platform", Name: "call_duration_seconds",
			Help:    "Duration of calls to content platforms, by platform and operation.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"platform", "operation"}),
		tokenRenewals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "token_renewals_total",
			Help: "Platform token renewals, by platform and result (ok, error).",
		}, []string{"platform", "result"}),
		driftRepaired: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "drift_repaired_total",
			Help: "Platform plans found to differ from svahub's record by reconciliation and queued for repair.",
		}),
		purged: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "transmissions_purged_total",
			Help: "Transmissions deleted by the periodic sweep because they were older than SVAHUB_TRANSMISSION_RETENTION.",
		}),
		platformRate: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Subsystem: "platform", Name: "rate_limit",
			Help: "Requests per second this process may send to an integration's platform: its share of the integration's limit.",
		}, []string{"integration"}),
		budgetMembers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Subsystem: "platform", Name: "budget_processes",
			Help: "Processes sharing an integration's platform rate limit, as this process last read it (1 on SQLite).",
		}, []string{"integration"}),
	}
	bi := buildinfo.Get()
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "build_info",
		Help: "Always 1; the labels name the running build (version, VCS revision, Go version).",
	}, []string{"version", "revision", "goversion"})
	build.WithLabelValues(bi.Version, bi.Revision, bi.GoVersion).Set(1)
	for _, p := range o.Platforms {
		m.tokenRenewals.WithLabelValues(p, "ok")
		m.tokenRenewals.WithLabelValues(p, "error")
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.httpRequests, m.httpDuration, m.platformCalls, m.platformDur, m.tokenRenewals, m.driftRepaired, m.purged,
		m.platformRate, m.budgetMembers, build,
	)
	if o.Stats != nil {
		m.reg.MustRegister(newDBCollector(o))
	}
	return m
}

// Registry returns the registry the metrics are registered in (to add
// collectors or gather in tests).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition formats
// (GET /metrics).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		Registry:      m.reg,
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// knownMethods are the method label values; any other method is "other".
var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}

// Middleware counts and times every request by method, route template
// (c.Path(); Unmatched when no route matched) and status. It hands errors
// to Echo's error handler first, so the status is the one answered.
func (m *Metrics) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			start := time.Now()
			defer func() {
				if r := recover(); r != nil {
					m.observeHTTP(c, err, http.StatusInternalServerError, time.Since(start))
					panic(r)
				}
			}()
			err = next(c)
			if err != nil {
				c.Error(err)
			}
			m.observeHTTP(c, err, c.Response().Status, time.Since(start))
			return nil
		}
	}
}

func (m *Metrics) observeHTTP(c echo.Context, err error, status int, d time.Duration) {
	method := c.Request().Method
	if !knownMethods[method] {
		method = "other"
	}
	route := c.Path()
	if route == "" || (status == http.StatusNotFound && errors.Is(err, echo.ErrNotFound)) {
		route = Unmatched
	}
	m.httpRequests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.httpDuration.WithLabelValues(method, route).Observe(d.Seconds())
}

// ObservePlatformCall records one platform call; it is the platform
// manager's Observer. A token operation also counts as a token renewal
// (result ok on sucesso, error otherwise).
func (m *Metrics) ObservePlatformCall(platform string, op svahub.Operation, outcome svahub.Outcome, d time.Duration) {
	m.platformCalls.WithLabelValues(platform, string(op), string(outcome)).Inc()
	m.platformDur.WithLabelValues(platform, string(op)).Observe(d.Seconds())
	if op == svahub.OpToken {
		result := "ok"
		if outcome != svahub.OutcomeSuccess {
			result = "error"
		}
		m.tokenRenewals.WithLabelValues(platform, result).Inc()
	}
}

// PlatformRate records the rate this process paces integration at, and
// how many processes share the integration's limit.
func (m *Metrics) PlatformRate(integration int64, processes int, rate float64) {
	id := strconv.FormatInt(integration, 10)
	m.platformRate.WithLabelValues(id).Set(rate)
	m.budgetMembers.WithLabelValues(id).Set(float64(processes))
}

// DriftRepaired counts plans reconciliation queued for repair; it makes
// Metrics a provision.Observer.
func (m *Metrics) DriftRepaired(n int) {
	if n > 0 {
		m.driftRepaired.Add(float64(n))
	}
}

// TransmissionsPurged counts transmissions deleted past their retention;
// it makes Metrics a provision.Observer.
func (m *Metrics) TransmissionsPurged(n int64) {
	if n > 0 {
		m.purged.Add(float64(n))
	}
}

// dbCollector reads the database gauges at scrape time, at most once per
// interval, each read bounded by a timeout. A failed read is logged and
// the last good values are served (or none).
type dbCollector struct {
	src      StatsSource
	timeout  time.Duration
	interval time.Duration
	log      *slog.Logger

	jobs, accesses, inError, subscriptions *prometheus.Desc

	mu      sync.Mutex
	last    *store.Stats
	checked time.Time // last read attempt
}

func newDBCollector(o Options) *dbCollector {
	return &dbCollector{
		src: o.Stats, timeout: o.StatsTimeout, interval: o.StatsInterval, log: o.Logger,
		jobs: prometheus.NewDesc(Namespace+"_jobs",
			"Provisioning jobs in the queue, by kind and River state.", []string{"kind", "state"}, nil),
		accesses: prometheus.NewDesc(Namespace+"_accesses",
			"Accesses by desired state and state on the platform (nenhum: none yet).", []string{"desired", "platform"}, nil),
		inError: prometheus.NewDesc(Namespace+"_accesses_in_error",
			"Accesses whose platform work failed permanently (shown as erro until retransmitted or changed).", nil, nil),
		subscriptions: prometheus.NewDesc(Namespace+"_subscriptions",
			"Subscriptions by status.", []string{"status"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.jobs
	ch <- c.accesses
	ch <- c.inError
	ch <- c.subscriptions
}

// Collect implements prometheus.Collector.
func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	if s == nil {
		return
	}
	for _, j := range s.Jobs {
		ch <- prometheus.MustNewConstMetric(c.jobs, prometheus.GaugeValue, float64(j.Count), j.Kind, j.State)
	}
	for _, a := range s.Accesses {
		ch <- prometheus.MustNewConstMetric(c.accesses, prometheus.GaugeValue, float64(a.Count), stateLabel(a.Desired), stateLabel(a.Platform))
	}
	ch <- prometheus.MustNewConstMetric(c.inError, prometheus.GaugeValue, float64(s.AccessesInError))
	for _, st := range s.Subscriptions {
		ch <- prometheus.MustNewConstMetric(c.subscriptions, prometheus.GaugeValue, float64(st.Count), string(st.Status))
	}
}

// stats returns the cached snapshot, reading the database when the last
// attempt is older than the interval. Concurrent scrapes wait for one read.
func (c *dbCollector) stats() *store.Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.checked.IsZero() && time.Since(c.checked) < c.interval {
		return c.last
	}
	c.checked = time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	s, err := c.src.Stats(ctx)
	if err != nil {
		c.log.Warn("metrics: database gauges not refreshed", "err", fmt.Errorf("read stats: %w", err))
		return c.last
	}
	c.last = s
	return s
}

func stateLabel(s svahub.AccessState) string {
	if s == svahub.AccessNone {
		return None
	}
	return string(s)
}
