package httpapi_test

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

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/app"
	"github.com/svahub/svahub/internal/httpapi"
	"github.com/svahub/svahub/internal/platform/egress"
	"github.com/svahub/svahub/internal/provision"
	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/internal/svahub"
	"github.com/svahub/svahub/pkg/qualifica/qualificasim"
)

// harness is one svahub under test over a real database of one dialect,
// reached through an httptest server with an escrita and a leitura key. By
// default it is the whole wired svahub (app.New, workers running) over an
// in-process Qualifica simulator (platformsim_test.go); apiOnly makes it
// the HTTP API alone (httpapi.New over the store, no app, no workers, no
// platform). newHarness is the only place that wires it.
type harness struct {
	t     *testing.T
	db    *store.DB
	srv   *httptest.Server
	key   string // escrita key
	roKey string // leitura key
	// app is the wired svahub (nil with apiOnly).
	app *app.App
	// plat is the platform under test (nil with apiOnly).
	plat platformSim
	// sim is the Qualifica simulator itself when plat is Qualifica (nil
	// otherwise), for the Qualifica-only tests.
	sim   *qualificasim.Sim
	clock *clock
	logs  *lockedWriter
	buf   *bytes.Buffer
}

// harnessConfig is what the harnessOptions set.
type harnessConfig struct {
	apiOnly   bool
	platform  *platformCase
	simOpts   simOptions
	qualifica qualificasim.Options
	clock     *clock
	tunes     []func(*app.Options)
	simTap    func(http.Handler) http.Handler
	transport func(http.RoundTripper) http.RoundTripper
	catalogue func(*store.DB) svahub.CatalogueService
	proxies   []*net.IPNet
}

// harnessOption adjusts newHarness.
type harnessOption func(*harnessConfig)

// apiOnly is the HTTP API alone over the store (httpapi.New, no workers, no
// platform), with the store's defaults (UTC, no clock, no logger).
func apiOnly() harnessOption { return func(c *harnessConfig) { c.apiOnly = true } }

// withCatalogue (apiOnly) serves the catalogue through wrap(db) instead of
// the store itself.
func withCatalogue(wrap func(*store.DB) svahub.CatalogueService) harnessOption {
	return func(c *harnessConfig) { c.catalogue = wrap }
}

// withTrustedProxies (apiOnly) sets httpapi.Deps.TrustedProxies.
func withTrustedProxies(proxies []*net.IPNet) harnessOption {
	return func(c *harnessConfig) { c.proxies = proxies }
}

// withQualifica sets the Qualifica simulator's options (the default
// platform). It is Qualifica only.
func withQualifica(o qualificasim.Options) harnessOption {
	return func(c *harnessConfig) { c.qualifica = o }
}

// withPlatform runs over a new simulator of platform p with the
// platform-neutral options o, instead of the default Qualifica.
func withPlatform(p platformCase, o simOptions) harnessOption {
	return func(c *harnessConfig) { c.platform, c.simOpts = &p, o }
}

// withClock is the store's clock (default: a clock{} that follows
// time.Now until set).
func withClock(clk *clock) harnessOption { return func(c *harnessConfig) { c.clock = clk } }

// withTune adjusts the app options after the defaults and the platform's
// Configure; tune may be nil.
func withTune(tune func(*app.Options)) harnessOption {
	return func(c *harnessConfig) {
		if tune != nil {
			c.tunes = append(c.tunes, tune)
		}
	}
}

// withAllowedHosts sets SVAHUB_PLATFORM_ALLOWED_HOSTS to allow and, when
// lookup is not nil, resolves platform names by it.
func withAllowedHosts(allow []string, lookup egress.Lookup) harnessOption {
	return withTune(func(o *app.Options) { o.PlatformAllowedHosts, o.PlatformLookup = allow, lookup })
}

// withSimTap puts wrap(simulator) between svahub and the Qualifica
// simulator (behind the failure injection of FailNext). Qualifica only.
func withSimTap(wrap func(http.Handler) http.Handler) harnessOption {
	return func(c *harnessConfig) { c.simTap = wrap }
}

// withTransport wraps the test client's transport (e.g. to record every
// answer).
func withTransport(wrap func(http.RoundTripper) http.RoundTripper) harnessOption {
	return func(c *harnessConfig) { c.transport = wrap }
}

// newHarness wires svahub over dialect as the options say.
func newHarness(t *testing.T, dialect string, opts ...harnessOption) *harness {
	t.Helper()
	c := harnessConfig{clock: &clock{}}
	for _, o := range opts {
		o(&c)
	}
	h := &harness{t: t, clock: c.clock, buf: &bytes.Buffer{}}
	h.logs = &lockedWriter{w: h.buf}
	log := slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()
	var api http.Handler
	if c.apiOnly {
		h.db = storetest.Open(t, dialect)
		cat := svahub.CatalogueService(h.db)
		if c.catalogue != nil {
			cat = c.catalogue(h.db)
		}
		api = httpapi.New(httpapi.Deps{Catalogue: cat, APIKeys: h.db, Idempotency: h.db, Logger: log, TrustedProxies: c.proxies,
			Ready: func(ctx context.Context) error { return h.db.Ping(ctx) }})
	} else {
		require.True(t, c.catalogue == nil && c.proxies == nil, "withCatalogue and withTrustedProxies go with apiOnly")
		h.startApp(dialect, c, log)
		api = h.app.API
	}
	var err error
	_, h.key, err = h.db.CreateAPIKey(ctx, "tests", svahub.ScopeWrite)
	require.NoError(t, err)
	_, h.roKey, err = h.db.CreateAPIKey(ctx, "leitor", svahub.ScopeRead)
	require.NoError(t, err)
	h.srv = httptest.NewServer(api)
	t.Cleanup(h.srv.Close)
	if c.transport != nil {
		h.srv.Client().Transport = c.transport(h.srv.Client().Transport)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(h.Logs())
		}
	})
	return h
}

// startApp starts the platform simulator, opens the store and starts the
// wired app (workers included) over them.
func (h *harness) startApp(dialect string, c harnessConfig, log *slog.Logger) {
	t := h.t
	t.Helper()
	switch {
	case c.platform != nil:
		require.Nil(t, c.simTap, "withSimTap is Qualifica only")
		h.plat = c.platform.start(t, c.simOpts)
	default:
		h.plat = newQualificaPlatformOpts(t, c.qualifica, c.simTap)
	}
	if q, ok := h.plat.(*qualificaPlatform); ok {
		h.sim = q.sim
	}
	loc, err := time.LoadLocation("America/Sao_Paulo")
	require.NoError(t, err)
	// Loopback is allowed as an operator running local fakes would: the
	// tests point integrations at closed ports and second servers there.
	// The egress tests that need it refused set their own list.
	opts := app.Options{Logger: log, Location: loc, PlatformAllowedHosts: []string{"127.0.0.1"}, PlatformTimeout: 2 * time.Second, PlatformRateLimit: 1000,
		Workers: true, Provision: provision.Options{FetchPollInterval: 20 * time.Millisecond, RetryBase: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond}}
	h.plat.Configure(&opts)
	for _, tune := range c.tunes {
		tune(&opts)
	}
	h.db = storetest.Open(t, dialect, storetest.Options{Adapters: opts.Registry, Logger: log, Location: loc, Now: h.clock.Now})
	ctx := context.Background()
	h.app, err = app.New(ctx, h.db, opts)
	require.NoError(t, err)
	require.NoError(t, h.app.Start(ctx))
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = h.app.Stop(sctx)
	})
}

// Logs is what svahub logged so far (JSON lines, debug level).
func (h *harness) Logs() string {
	h.logs.mu.Lock()
	defer h.logs.mu.Unlock()
	return h.buf.String()
}

// lockedWriter serialises writes (the log is written from many goroutines).
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.now.IsZero() {
		return time.Now()
	}
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// response is a decoded answer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic map.
func (r response) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &m), "body: %s", r.Body)
	return m
}

// do sends a request with the escrita key. body may be nil, a string (sent
// verbatim) or any value (JSON-encoded).
func (h *harness) do(method, path string, body any) response {
	return h.doWith(h.key, "application/json", method, path, body)
}

// doWith sends a request with key (none if empty) and contentType (none if
// empty or without a body).
func (h *harness) doWith(key, contentType, method, path string, body any) response {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(h.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, h.srv.URL+path, rd)
	require.NoError(h.t, err)
	if rd != nil && contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	return h.send(req)
}

// doKey sends a JSON body with the escrita key and an Idempotency-Key.
func (h *harness) doKey(method, path, body, key string) response {
	h.t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+path, strings.NewReader(body))
	require.NoError(h.t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+h.key)
	req.Header.Set("Idempotency-Key", key)
	return h.send(req)
}

// send sends req with the test client and reads the whole answer.
func (h *harness) send(req *http.Request) response {
	h.t.Helper()
	res, err := h.srv.Client().Do(req)
	require.NoError(h.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(h.t, err)
	return response{Status: res.StatusCode, Header: res.Header, Body: raw}
}

// requireProblem checks a problem+json answer and returns it.
func requireProblem(t *testing.T, r response, status int, fields ...string) map[string]any {
	t.Helper()
	require.Equal(t, status, r.Status, "body: %s", r.Body)
	require.True(t, strings.HasPrefix(r.Header.Get("Content-Type"), "application/problem+json"), "content type %q", r.Header.Get("Content-Type"))
	p := r.JSON(t)
	require.EqualValues(t, status, p["status"])
	require.NotEmpty(t, p["title"])
	require.NotEmpty(t, p["detail"])
	require.NotEmpty(t, p["type"])
	for _, f := range fields {
		found := false
		errs, _ := p["erros"].([]any)
		for _, e := range errs {
			if m, _ := e.(map[string]any); m["campo"] == f {
				found = true
				require.NotEmpty(t, m["mensagem"])
			}
		}
		require.True(t, found, "field %q not in erros: %s", f, r.Body)
	}
	return p
}

// eventually polls cond until it holds or 15 s pass.
func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// subscription fetches /assinaturas/{id}.
func (h *harness) subscription(id int64) map[string]any {
	h.t.Helper()
	r := h.do("GET", path("/api/v1/assinaturas/%d", id), nil)
	require.Equal(h.t, 200, r.Status, "%s", r.Body)
	return r.JSON(h.t)
}

// waitStatus waits until subscription id has status.
func (h *harness) waitStatus(id int64, status string) map[string]any {
	h.t.Helper()
	var last map[string]any
	h.eventually("subscription "+status, func() bool {
		last = h.subscription(id)
		return last["status"] == status
	})
	return last
}

// simPlan returns the platform's plan status for a user and product.
func (h *harness) simPlan(username, product string) (status, expiry string) {
	status, expiry, _ = h.plat.Plan(username, product)
	return status, expiry
}

// waitSimPlan waits until the simulator shows the plan in status.
func (h *harness) waitSimPlan(username, product, status string) {
	h.t.Helper()
	h.eventually(username+"/"+product+" "+status+" on the platform", func() bool {
		st, _ := h.simPlan(username, product)
		return st == status
	})
}

// catalogue creates an integration (with extra fields), products for codes
// and one package with them; it returns the integration and package ids.
func (h *harness) catalogue(extra map[string]any, params map[string]any, valor string, codes ...string) (int64, int64) {
	h.t.Helper()
	integ := idOf(h.createIntegration(params, extra), "id_integracao")
	var prods []int64
	for _, c := range codes {
		r := h.do("POST", path("/api/v1/integracoes/%d/produtos", integ), map[string]any{"descricao": c, "codigo": c})
		require.Equal(h.t, 201, r.Status, "%s", r.Body)
		prods = append(prods, idOf(r.JSON(h.t), "id_produto"))
	}
	r := h.do("POST", "/api/v1/pacotes", map[string]any{"descricao": "Pacote " + valor, "valor": valor, "id_integracao": integ, "produtos": prods})
	require.Equal(h.t, 201, r.Status, "%s", r.Body)
	return integ, idOf(r.JSON(h.t), "id_pacote")
}

// serviceBody is the PUT /servicos/{id} body of service id (login<id>,
// senha<id>, customer 100+id) with extra fields over it.
func serviceBody(id int64, extra map[string]any) map[string]any {
	base := map[string]any{
		"login": path("login%d", id), "senha": path("senha%d", id), "status_prefixo": "servico_habilitado",
		"cliente": map[string]any{"id_cliente": 100 + id, "codigo_cliente": path("C%d", id), "nome_razaosocial": "Maria da Silva",
			"cpf_cnpj": "529.982.247-25", "email_principal": path("cliente%d@example.com", id), "telefone_primario": "11999990000"},
	}
	for k, v := range extra {
		base[k] = v
	}
	return base
}

// putService upserts a customer service.
func (h *harness) putService(id int64, body map[string]any) response {
	h.t.Helper()
	return h.do("PUT", path("/api/v1/servicos/%d", id), serviceBody(id, body))
}

// createIntegration posts an integration and returns its JSON.
func (h *harness) createIntegration(params map[string]any, extra map[string]any) map[string]any {
	h.t.Helper()
	body := h.plat.Integration(params)
	if _, ok := body["descricao"]; !ok {
		body["descricao"] = h.plat.Name()
	}
	for k, v := range extra {
		body[k] = v
	}
	r := h.do("POST", "/api/v1/integracoes", body)
	require.Equal(h.t, 201, r.Status, "%s", r.Body)
	return r.JSON(h.t)
}

func idOf(m map[string]any, key string) int64 {
	return int64(m[key].(float64))
}

func path(format string, args ...any) string { return fmt.Sprintf(format, args...) }
