package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/app"
	"github.com/svahub/svahub/internal/metrics"
	"github.com/svahub/svahub/internal/provision"
	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/internal/svahub"
	"github.com/svahub/svahub/pkg/qualifica/qualificasim"
)

// numericSegment matches a path segment made of digits (an id).
var numericSegment = regexp.MustCompile(`(^|/)[0-9]+(/|$)`)

func TestHTTPMetrics(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect)
		id := idOf(e.createIntegration(nil), "id_integracao")
		require.Equal(t, 200, e.do("GET", fmt.Sprintf("/api/v1/integracoes/%d", id), nil).Status)
		require.Equal(t, 404, e.do("GET", "/api/v1/integracoes/987654", nil).Status)
		require.Equal(t, 404, e.do("GET", "/nao-existe/123456", nil).Status)
		require.Equal(t, 404, e.do("DELETE", "/api/v1/nada/42/mais/7", nil).Status)

		f := e.scrape()
		requireAtLeast(t, f, "svahub_http_requests_total", map[string]string{"method": "POST", "route": "/api/v1/integracoes", "status": "201"}, 1)
		requireAtLeast(t, f, "svahub_http_requests_total", map[string]string{"method": "GET", "route": "/api/v1/integracoes/:id", "status": "200"}, 1)
		// A missing resource keeps its route; an unknown path is "unmatched".
		requireAtLeast(t, f, "svahub_http_requests_total", map[string]string{"method": "GET", "route": "/api/v1/integracoes/:id", "status": "404"}, 1)
		requireAtLeast(t, f, "svahub_http_requests_total", map[string]string{"route": metrics.Unmatched, "status": "404"}, 2)
		requireAtLeast(t, f, "svahub_http_request_duration_seconds", map[string]string{"method": "POST", "route": "/api/v1/integracoes"}, 1)
		requireAtLeast(t, f, "svahub_http_request_duration_seconds", map[string]string{"route": metrics.Unmatched}, 2)

		// No label of the HTTP metrics carries an id.
		for _, name := range []string{"svahub_http_requests_total", "svahub_http_request_duration_seconds"} {
			fam := f[name]
			require.NotNil(t, fam, name)
			for _, m := range fam.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "status" {
						continue
					}
					require.False(t, numericSegment.MatchString(l.GetValue()), "%s{%s=%q} has a numeric path segment", name, l.GetName(), l.GetValue())
				}
			}
		}
		// Go and process collectors are registered.
		requireAtLeast(t, f, "go_goroutines", nil, 1)
	})
}

func TestPlatformAndDatabaseMetrics(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect)
		integ := idOf(e.createIntegration(nil), "id_integracao")
		pkg := e.pkg(integ, e.product(integ, "pro"))
		sub := e.attach(7001, pkg)
		e.waitStatus(sub, "ativo")

		// A wrong client_secret: the token renewal fails.
		bad := e.createIntegration(map[string]any{"client_secret": "errado"})
		require.Equal(t, "erro", bad["token"].(map[string]any)["status"])

		f := e.scrape()
		for _, op := range []string{"token", "criar_usuario", "ativar_plano"} {
			requireAtLeast(t, f, "svahub_platform_calls_total", map[string]string{"platform": "qualifica", "operation": op, "outcome": "sucesso"}, 1)
			requireAtLeast(t, f, "svahub_platform_call_duration_seconds", map[string]string{"platform": "qualifica", "operation": op}, 1)
		}
		requireAtLeast(t, f, "svahub_platform_calls_total", map[string]string{"platform": "qualifica", "operation": "token", "outcome": "erro"}, 1)
		requireAtLeast(t, f, "svahub_token_renewals_total", map[string]string{"platform": "qualifica", "result": "ok"}, 1)
		requireAtLeast(t, f, "svahub_token_renewals_total", map[string]string{"platform": "qualifica", "result": "error"}, 1)

		// Database gauges.
		requireAtLeast(t, f, "svahub_jobs", map[string]string{"kind": "converge_plan"}, 1)
		requireAtLeast(t, f, "svahub_accesses", map[string]string{"desired": "ativo", "platform": "ativo"}, 1)
		requireAtLeast(t, f, "svahub_subscriptions", map[string]string{"status": "ativo"}, 1)
		v, ok := f.value("svahub_accesses_in_error", nil)
		require.True(t, ok, f.describe("svahub_accesses_in_error"))
		require.Zero(t, v)
		v, ok = f.value("svahub_drift_repaired_total", nil)
		require.True(t, ok)
		require.Zero(t, v)
	})
}

func TestAccessesInErrorMetric(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect)
		// The platform is unreachable: an unknown code is saved unverified.
		integ := idOf(e.createIntegration(map[string]any{"url_base": closedURL(t)}), "id_integracao")
		pkg := e.pkg(integ, e.product(integ, "xyz"))
		f := e.scrape()
		requireAtLeast(t, f, "svahub_platform_calls_total", map[string]string{"operation": "token", "outcome": "erro_temporario"}, 1)

		// Point it at the simulator, attach: the platform refuses the code.
		r := e.do("PUT", fmt.Sprintf("/api/v1/integracoes/%d", integ), map[string]any{
			"descricao": "Qualifica", "plataforma": "qualifica",
			"parametros": map[string]any{"client_id": qualificasim.DefaultClientID, "client_secret": qualificasim.DefaultClientSecret, "url_base": e.sim.URL()},
		})
		require.Equal(t, 200, r.Status, "%s", r.Body)
		sub := e.attach(7101, pkg)
		e.waitStatus(sub, "erro")

		f = e.scrape()
		requireAtLeast(t, f, "svahub_accesses_in_error", nil, 1)
		requireAtLeast(t, f, "svahub_subscriptions", map[string]string{"status": "erro"}, 1)
		requireAtLeast(t, f, "svahub_platform_calls_total", map[string]string{"operation": "ativar_plano", "outcome": "erro"}, 1)
		requireAtLeast(t, f, "svahub_accesses", map[string]string{"desired": "ativo"}, 1)
	})
}

func TestDriftRepairedMetric(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect)
		integ := idOf(e.createIntegration(nil), "id_integracao")
		pkg := e.pkg(integ, e.product(integ, "pro"))
		sub := e.attach(7201, pkg)
		e.waitStatus(sub, "ativo")

		// Cancel the plan behind svahub's back, through the platform's API.
		u, ok := e.sim.UserByUsername("login7201")
		require.True(t, ok)
		tok := simToken(t, e.sim.URL())
		req, err := http.NewRequest("DELETE", e.sim.URL()+"/v1/usuarios/"+url.PathEscape(u.ID)+"/planos/pro", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		require.NoError(t, res.Body.Close())
		require.Equal(t, 204, res.StatusCode)

		repaired, _, err := e.app.Engine.Reconcile(context.Background(), 100)
		require.NoError(t, err)
		require.GreaterOrEqual(t, repaired, 1)

		f := e.scrape()
		requireAtLeast(t, f, "svahub_drift_repaired_total", nil, float64(repaired))
		requireAtLeast(t, f, "svahub_platform_calls_total", map[string]string{"operation": "consultar", "outcome": "sucesso"}, 1)
	})
}

// simToken gets a token from the simulator's OAuth endpoint.
func simToken(t *testing.T, base string) string {
	t.Helper()
	res, err := http.PostForm(base+"/oauth/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {qualificasim.DefaultClientID}, "client_secret": {qualificasim.DefaultClientSecret},
	})
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, 200, res.StatusCode)
	var body struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(t, jsonDecode(res, &body))
	require.NotEmpty(t, body.AccessToken)
	return body.AccessToken
}

var quiet = slog.New(slog.DiscardHandler)

// fakeStats is a StatsSource that counts reads.
type fakeStats struct {
	calls atomic.Int32
	fail  atomic.Bool
	block atomic.Bool
}

func (f *fakeStats) Stats(ctx context.Context) (*store.Stats, error) {
	f.calls.Add(1)
	if f.block.Load() {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if f.fail.Load() {
		return nil, errors.New("database down")
	}
	return &store.Stats{
		Jobs:            []store.JobCount{{Kind: "converge_plan", State: "available", Count: 3}},
		Accesses:        []store.AccessStateCount{{Desired: svahub.AccessActive, Platform: svahub.AccessNone, Count: 2}},
		AccessesInError: 1,
		Subscriptions:   []store.StatusCount{{Status: svahub.SubPending, Count: 2}},
	}, nil
}

func gather(t *testing.T, m *metrics.Metrics) families {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	require.Equal(t, 200, rec.Code)
	return parse(t, rec.Body)
}

func TestDatabaseGaugesAreCached(t *testing.T) {
	t.Parallel()
	src := &fakeStats{}
	m := metrics.New(metrics.Options{Stats: src, StatsInterval: time.Hour, Logger: quiet})
	for range 3 {
		f := gather(t, m)
		requireAtLeast(t, f, "svahub_jobs", map[string]string{"kind": "converge_plan", "state": "available"}, 3)
		requireAtLeast(t, f, "svahub_accesses", map[string]string{"desired": "ativo", "platform": metrics.None}, 2)
		requireAtLeast(t, f, "svahub_accesses_in_error", nil, 1)
		requireAtLeast(t, f, "svahub_subscriptions", map[string]string{"status": "pendente"}, 2)
	}
	require.EqualValues(t, 1, src.calls.Load(), "one database read per interval")
}

func TestDatabaseGaugesSurviveFailures(t *testing.T) {
	t.Parallel()
	src := &fakeStats{}
	m := metrics.New(metrics.Options{Stats: src, StatsInterval: time.Nanosecond, StatsTimeout: 50 * time.Millisecond, Logger: quiet})
	requireAtLeast(t, gather(t, m), "svahub_jobs", nil, 3)

	// A failing read serves the last good values.
	src.fail.Store(true)
	requireAtLeast(t, gather(t, m), "svahub_jobs", nil, 3)

	// A hanging read is cut by the timeout.
	src.fail.Store(false)
	src.block.Store(true)
	start := time.Now()
	f := gather(t, m)
	require.Less(t, time.Since(start), 2*time.Second)
	requireAtLeast(t, f, "svahub_accesses_in_error", nil, 1)

	// Without any good read, the gauges are absent but the rest is served.
	empty := &fakeStats{}
	empty.fail.Store(true)
	f = gather(t, metrics.New(metrics.Options{Stats: empty, Logger: quiet}))
	_, ok := f.value("svahub_jobs", nil)
	require.False(t, ok)
	requireAtLeast(t, f, "go_goroutines", nil, 1)
}

func TestMiddlewareLabels(t *testing.T) {
	t.Parallel()
	m := metrics.New(metrics.Options{Platforms: []string{"qualifica"}})
	e := echo.New()
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisablePrintStack: true}))
	e.Use(m.Middleware())
	e.GET("/itens/:id", func(c echo.Context) error { return c.String(200, c.Param("id")) })
	e.GET("/erro/:id", func(echo.Context) error { return echo.NewHTTPError(http.StatusConflict, "conflito") })
	e.GET("/panico", func(echo.Context) error { panic("boom") })
	send := func(method, target string) int {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
		return rec.Code
	}
	require.Equal(t, 200, send("GET", "/itens/123"))
	require.Equal(t, 409, send("GET", "/erro/9"))
	require.Equal(t, 500, send("GET", "/panico"))
	require.Equal(t, 404, send("GET", "/nada/1"))
	require.Equal(t, 405, send("BREW", "/itens/5"))

	f := gather(t, m)
	requireAtLeast(t, f, "svahub_http_requests_total", map[string]string{"method": "GET", "route": "/itens/:id", "status": "200"}, 1)
	requireAtLeast(t, f, "svahub_http_requests_total", map[string]string{"method": "GET", "route": "/erro/:id", "status": "409"}, 1)
	requireAtLeast(t, f, "svahub_http_requests_total", map[string]string{"method": "GET", "route": "/panico", "status": "500"}, 1)
	requireAtLeast(t, f, "svahub_http_requests_total", map[string]string{"method": "GET", "route": metrics.Unmatched, "status": "404"}, 1)
	requireAtLeast(t, f, "svahub_http_requests_total", map[string]string{"method": "other", "route": "/itens/:id", "status": "405"}, 1)

	// Token renewal series of known platforms start at zero.
	v, ok := f.value("svahub_token_renewals_total", map[string]string{"platform": "qualifica", "result": "error"})
	require.True(t, ok)
	require.Zero(t, v)
	m.ObservePlatformCall("qualifica", svahub.OpToken, svahub.OutcomeTemporary, time.Second)
	m.ObservePlatformCall("qualifica", svahub.OpCancel, svahub.OutcomeSuccess, time.Second)
	m.DriftRepaired(2)
	m.DriftRepaired(0)
	f = gather(t, m)
	requireAtLeast(t, f, "svahub_token_renewals_total", map[string]string{"platform": "qualifica", "result": "error"}, 1)
	requireAtLeast(t, f, "svahub_platform_calls_total", map[string]string{"operation": "cancelar", "outcome": "sucesso"}, 1)
	v, _ = f.value("svahub_token_renewals_total", map[string]string{"result": "ok"})
	require.Zero(t, v, "cancelar is not a token renewal")
	v, _ = f.value("svahub_drift_repaired_total", nil)
	require.Equal(t, 2.0, v)
	require.False(t, strings.Contains(f.describe("svahub_http_requests_total"), "123"))
}

// TestTransmissionsPurgedMetric: the periodic sweep deletes transmissions
// older than the retention and counts them.
func TestTransmissionsPurgedMetric(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newEnvWith(t, dialect, func(o *app.Options) {
			o.Provision.TransmissionRetention = 24 * time.Hour
			o.Provision.Purge = store.PurgeOptions{BatchSize: 3}
		})
		f := e.scrape()
		v, ok := f.value("svahub_transmissions_purged_total", nil)
		require.True(t, ok, "the counter exists from the start")
		require.Zero(t, v)

		old := time.Now().Add(-48 * time.Hour).UTC()
		for i := 0; i < 7; i++ {
			require.NoError(t, e.db.Gorm().Exec(`INSERT INTO transmissions (integration_id, operation, outcome, http_status, message, created_at)
				VALUES (?, ?, ?, ?, ?, ?)`, 1, "suspender", "sucesso", 200, "", old).Error)
		}
		e.eventually("7 transmissions purged", func() bool {
			// A sweep (one at a time: a second insert is skipped while one waits or runs).
			_, err := e.app.Engine.Client().Insert(context.Background(), provision.SweepArgs{}, nil)
			require.NoError(t, err)
			v, _ := e.scrape().value("svahub_transmissions_purged_total", nil)
			return v >= 7
		})
		var left int64
		require.NoError(t, e.db.Gorm().Raw("SELECT count(*) FROM transmissions WHERE created_at < ?", time.Now().Add(-24*time.Hour).UTC()).Scan(&left).Error)
		require.Zero(t, left)
	})
}
