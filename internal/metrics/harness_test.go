package metrics_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/app"
	"github.com/svahub/svahub/internal/metrics"
	"github.com/svahub/svahub/internal/provision"
	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/internal/svahub"
	"github.com/svahub/svahub/pkg/qualifica/qualificasim"
)

// env is the wired svahub (app.New, workers on) over a real database and
// the in-process Qualifica simulator, served over HTTP.
type env struct {
	t   *testing.T
	db  *store.DB
	app *app.App
	sim *qualificasim.Sim
	srv *httptest.Server
	key string
	log *lockedBuffer
}

func newEnv(t *testing.T, dialect string) *env {
	t.Helper()
	return newEnvWith(t, dialect, nil)
}

// newEnvWith is newEnv with the app options adjusted by tune.
func newEnvWith(t *testing.T, dialect string, tune func(*app.Options)) *env {
	t.Helper()
	logBuf := &lockedBuffer{}
	log := slog.New(slog.NewJSONHandler(logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sim := qualificasim.NewServer(t, qualificasim.Options{})
	db := storetest.Open(t, dialect, storetest.Options{Logger: log})
	ctx := context.Background()
	opts := app.Options{
		Logger: log, QualificaURL: sim.URL(), PlatformAllowedHosts: []string{"127.0.0.1"}, PlatformTimeout: 2 * time.Second, PlatformRateLimit: 1000, Workers: true,
		Provision: provision.Options{FetchPollInterval: 20 * time.Millisecond, RetryBase: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond},
		// Every scrape reads the database, so tests see changes at once.
		Metrics: metrics.Options{StatsInterval: time.Nanosecond},
	}
	if tune != nil {
		tune(&opts)
	}
	a, err := app.New(ctx, db, opts)
	require.NoError(t, err)
	require.NoError(t, a.Start(ctx))
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = a.Stop(sctx)
	})
	_, key, err := db.CreateAPIKey(ctx, "tests", svahub.ScopeWrite)
	require.NoError(t, err)
	srv := httptest.NewServer(a.API)
	t.Cleanup(srv.Close)
	e := &env{t: t, db: db, app: a, sim: sim, srv: srv, key: key, log: logBuf}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(logBuf.String())
		}
	})
	return e
}

// lockedBuffer is a log sink safe for concurrent writers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type response struct {
	Status int
	Body   []byte
}

func (r response) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &m), "body: %s", r.Body)
	return m
}

// do sends a JSON request with the escrita key.
func (e *env) do(method, path string, body any) response {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(e.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	require.NoError(e.t, err)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+e.key)
	res, err := e.srv.Client().Do(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	return response{Status: res.StatusCode, Body: raw}
}

// createIntegration posts a Qualifica integration (params override the
// simulator's default credentials) and returns its JSON.
func (e *env) createIntegration(params map[string]any) map[string]any {
	e.t.Helper()
	p := map[string]any{"client_id": qualificasim.DefaultClientID, "client_secret": qualificasim.DefaultClientSecret}
	for k, v := range params {
		p[k] = v
	}
	r := e.do("POST", "/api/v1/integracoes", map[string]any{"descricao": "Qualifica", "plataforma": "qualifica", "parametros": p})
	require.Equal(e.t, 201, r.Status, "%s", r.Body)
	return r.JSON(e.t)
}

// product creates a product of the integration.
func (e *env) product(integ int64, code string) int64 {
	e.t.Helper()
	r := e.do("POST", fmt.Sprintf("/api/v1/integracoes/%d/produtos", integ), map[string]any{"descricao": code, "codigo": code})
	require.Equal(e.t, 201, r.Status, "%s", r.Body)
	return idOf(r.JSON(e.t), "id_produto")
}

// pkg creates a package of products.
func (e *env) pkg(integ int64, prods ...int64) int64 {
	e.t.Helper()
	r := e.do("POST", "/api/v1/pacotes", map[string]any{"descricao": "Pacote", "valor": "29.90", "id_integracao": integ, "produtos": prods})
	require.Equal(e.t, 201, r.Status, "%s", r.Body)
	return idOf(r.JSON(e.t), "id_pacote")
}

// attach upserts an enabled service and attaches a package; it returns the
// subscription id.
func (e *env) attach(service, pkg int64) int64 {
	e.t.Helper()
	r := e.do("PUT", fmt.Sprintf("/api/v1/servicos/%d", service), map[string]any{
		"login": fmt.Sprintf("login%d", service), "senha": fmt.Sprintf("senha%d", service), "status_prefixo": "servico_habilitado",
		"cliente": map[string]any{"id_cliente": 100 + service, "codigo_cliente": fmt.Sprintf("C%d", service), "nome_razaosocial": "Maria da Silva",
			"cpf_cnpj": "529.982.247-25", "email_principal": fmt.Sprintf("cliente%d@example.com", service), "telefone_primario": "11999990000"},
	})
	require.Equal(e.t, 201, r.Status, "%s", r.Body)
	r = e.do("POST", fmt.Sprintf("/api/v1/servicos/%d/pacotes", service), map[string]any{"id_pacote": pkg})
	require.Equal(e.t, 201, r.Status, "%s", r.Body)
	return idOf(r.JSON(e.t), "id_assinatura")
}

// waitStatus waits until the subscription has status.
func (e *env) waitStatus(sub int64, status string) {
	e.t.Helper()
	var last string
	e.eventually("subscription "+status, func() bool {
		r := e.do("GET", fmt.Sprintf("/api/v1/assinaturas/%d", sub), nil)
		require.Equal(e.t, 200, r.Status, "%s", r.Body)
		last, _ = r.JSON(e.t)["status"].(string)
		return last == status
	})
}

// eventually polls cond until it holds or 15 s pass.
func (e *env) eventually(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// scrape fetches GET /metrics (no credentials) and parses it.
func (e *env) scrape() families {
	e.t.Helper()
	res, err := e.srv.Client().Get(e.srv.URL + "/metrics")
	require.NoError(e.t, err)
	defer res.Body.Close()
	require.Equal(e.t, 200, res.StatusCode)
	return parse(e.t, res.Body)
}

// families are parsed metric families by name.
type families map[string]*dto.MetricFamily

func parse(t *testing.T, r io.Reader) families {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	require.NoError(t, err)
	return fams
}

// value sums the samples of name whose labels include want (counter,
// gauge, or a histogram's sample count); ok is false when none matched.
func (f families) value(name string, want map[string]string) (v float64, ok bool) {
	fam, found := f[name]
	if !found {
		return 0, false
	}
	for _, m := range fam.GetMetric() {
		if !hasLabels(m, want) {
			continue
		}
		ok = true
		switch {
		case m.Counter != nil:
			v += m.GetCounter().GetValue()
		case m.Gauge != nil:
			v += m.GetGauge().GetValue()
		case m.Histogram != nil:
			v += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return v, ok
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	have := map[string]string{}
	for _, l := range m.GetLabel() {
		have[l.GetName()] = l.GetValue()
	}
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// describe lists the samples of name, for failure messages.
func (f families) describe(name string) string {
	fam, ok := f[name]
	if !ok {
		return name + ": absent"
	}
	var b strings.Builder
	for _, m := range fam.GetMetric() {
		fmt.Fprintf(&b, "%s%v ", name, m.GetLabel())
	}
	return b.String()
}

// requireAtLeast asserts that the samples of name matching labels add up
// to at least min.
func requireAtLeast(t *testing.T, f families, name string, labels map[string]string, min float64) {
	t.Helper()
	v, ok := f.value(name, labels)
	require.True(t, ok, "no %s%v; have: %s", name, labels, f.describe(name))
	require.GreaterOrEqual(t, v, min, "%s%v; have: %s", name, labels, f.describe(name))
}

func idOf(m map[string]any, key string) int64 { return int64(m[key].(float64)) }

// closedURL returns a loopback URL where nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return "http://" + addr
}

func jsonDecode(res *http.Response, v any) error { return json.NewDecoder(res.Body).Decode(v) }
