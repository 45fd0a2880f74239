package httpapi_test

import (
	"bytes"
	"context"
	"database/sql"
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

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
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
	// shareClock gives clock to the simulator too (withClockAt).
	shareClock bool
	tunes      []func(*app.Options)
	simTap     func(http.Handler) http.Handler
	transport  func(http.RoundTripper) http.RoundTripper
	catalogue  func(*store.DB) svahub.CatalogueService
	proxies    []*net.IPNet
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

// withClockAt is withClock set at at, shared by the store and the
// simulator (plan expiry).
func withClockAt(at time.Time) harnessOption {
	return func(c *harnessConfig) {
		c.clock = &clock{}
		c.clock.Set(at)
		c.shareClock = true
	}
}

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
	e := &harness{t: t, clock: c.clock, buf: &bytes.Buffer{}}
	e.logs = &lockedWriter{w: e.buf}
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()
	var api http.Handler
	if c.apiOnly {
		e.db = storetest.Open(t, dialect)
		cat := svahub.CatalogueService(e.db)
		if c.catalogue != nil {
			cat = c.catalogue(e.db)
		}
		api = httpapi.New(httpapi.Deps{Catalogue: cat, APIKeys: e.db, Idempotency: e.db, Logger: log, TrustedProxies: c.proxies,
			Ready: func(ctx context.Context) error { return e.db.Ping(ctx) }})
	} else {
		require.True(t, c.catalogue == nil && c.proxies == nil, "withCatalogue and withTrustedProxies go with apiOnly")
		e.startApp(dialect, c, log)
		api = e.app.API
	}
	var err error
	_, e.key, err = e.db.CreateAPIKey(ctx, "tests", svahub.ScopeWrite)
	require.NoError(t, err)
	_, e.roKey, err = e.db.CreateAPIKey(ctx, "leitor", svahub.ScopeRead)
	require.NoError(t, err)
	e.srv = httptest.NewServer(api)
	t.Cleanup(e.srv.Close)
	if c.transport != nil {
		e.srv.Client().Transport = c.transport(e.srv.Client().Transport)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(e.Logs())
		}
	})
	return e
}

// startApp starts the platform simulator, opens the store and starts the
// wired app (workers included) over them.
func (e *harness) startApp(dialect string, c harnessConfig, log *slog.Logger) {
	t := e.t
	t.Helper()
	if c.shareClock {
		c.simOpts.Now, c.qualifica.Now = e.clock.Now, e.clock.Now
	}
	switch {
	case c.platform != nil:
		require.Nil(t, c.simTap, "withSimTap is Qualifica only")
		e.plat = c.platform.start(t, c.simOpts)
	default:
		e.plat = newQualificaPlatformOpts(t, c.qualifica, c.simTap)
	}
	if q, ok := e.plat.(*qualificaPlatform); ok {
		e.sim = q.sim
	}
	loc := saoPaulo
	// Loopback is allowed as an operator running local fakes would: the
	// tests point integrations at closed ports and second servers there.
	// The egress tests that need it refused set their own list.
	opts := app.Options{Logger: log, Location: loc, PlatformAllowedHosts: []string{"127.0.0.1"}, PlatformTimeout: 2 * time.Second, PlatformRateLimit: 1000,
		Workers: true, Provision: provision.Options{FetchPollInterval: 20 * time.Millisecond, RetryBase: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond}}
	e.plat.Configure(&opts)
	for _, tune := range c.tunes {
		tune(&opts)
	}
	e.db = storetest.Open(t, dialect, storetest.Options{Adapters: opts.Registry, Logger: log, Location: loc, Now: e.clock.Now})
	ctx := context.Background()
	var err error
	e.app, err = app.New(ctx, e.db, opts)
	require.NoError(t, err)
	require.NoError(t, e.app.Start(ctx))
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.app.Stop(sctx)
	})
}

// Logs is what svahub logged so far (JSON lines, debug level).
func (e *harness) Logs() string {
	e.logs.mu.Lock()
	defer e.logs.mu.Unlock()
	return e.buf.String()
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
func (e *harness) do(method, path string, body any) response {
	return e.doWith(e.key, "application/json", method, path, body)
}

// doWith sends a request with key (none if empty) and contentType (none if
// empty or without a body).
func (e *harness) doWith(key, contentType, method, path string, body any) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(e.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	require.NoError(e.t, err)
	if rd != nil && contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	return e.send(req)
}

// doKey sends a JSON body with the escrita key and an Idempotency-Key.
func (e *harness) doKey(method, path, body, key string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	require.NoError(e.t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+e.key)
	req.Header.Set("Idempotency-Key", key)
	return e.send(req)
}

// send sends req with the test client and reads the whole answer.
func (e *harness) send(req *http.Request) response {
	e.t.Helper()
	res, err := e.srv.Client().Do(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
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
func (e *harness) eventually(what string, cond func() bool) {
	e.t.Helper()
	e.eventuallyWithin(what, 15*time.Second, cond)
}

// subscription fetches /assinaturas/{id}.
func (e *harness) subscription(id int64) map[string]any {
	e.t.Helper()
	r := e.do("GET", path("/api/v1/assinaturas/%d", id), nil)
	require.Equal(e.t, 200, r.Status, "%s", r.Body)
	return r.JSON(e.t)
}

// simPlan returns the platform's plan status for a user and product.
func (e *harness) simPlan(username, product string) (status, expiry string) {
	status, expiry, _ = e.plat.Plan(username, product)
	return status, expiry
}

// waitSimPlan waits until the simulator shows the plan in status.
func (e *harness) waitSimPlan(username, product, status string) {
	e.t.Helper()
	e.eventually(username+"/"+product+" "+status+" on the platform", func() bool {
		st, _ := e.simPlan(username, product)
		return st == status
	})
}

// catalogue creates an integration (with extra fields), products for codes
// and one package with them; it returns the integration and package ids.
func (e *harness) catalogue(extra map[string]any, params map[string]any, valor string, codes ...string) (int64, int64) {
	e.t.Helper()
	integ := idOf(e.createIntegration(params, extra), "id_integracao")
	var prods []int64
	for _, c := range codes {
		r := e.do("POST", path("/api/v1/integracoes/%d/produtos", integ), map[string]any{"descricao": c, "codigo": c})
		require.Equal(e.t, 201, r.Status, "%s", r.Body)
		prods = append(prods, idOf(r.JSON(e.t), "id_produto"))
	}
	r := e.do("POST", "/api/v1/pacotes", map[string]any{"descricao": "Pacote " + valor, "valor": valor, "id_integracao": integ, "produtos": prods})
	require.Equal(e.t, 201, r.Status, "%s", r.Body)
	return integ, idOf(r.JSON(e.t), "id_pacote")
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
func (e *harness) putService(id int64, body map[string]any) response {
	e.t.Helper()
	return e.do("PUT", path("/api/v1/servicos/%d", id), serviceBody(id, body))
}

// createIntegration posts an integration and returns its JSON.
func (e *harness) createIntegration(params map[string]any, extra map[string]any) map[string]any {
	e.t.Helper()
	body := e.plat.Integration(params)
	if _, ok := body["descricao"]; !ok {
		body["descricao"] = e.plat.Name()
	}
	for k, v := range extra {
		body[k] = v
	}
	r := e.do("POST", "/api/v1/integracoes", body)
	require.Equal(e.t, 201, r.Status, "%s", r.Body)
	return r.JSON(e.t)
}

// rebind turns ? placeholders into $n on PostgreSQL, for raw SQL on e.db.
func (e *harness) rebind(q string) string {
	if e.db.Dialect() != store.DialectPostgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// eachRow runs query on db and calls fn with the columns and the values of
// every row; it returns the number of rows.
func eachRow(t *testing.T, db *sql.DB, query string, fn func(cols []string, vals []any)) int {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), query)
	require.NoError(t, err, query)
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(t, err)
	n := 0
	for rows.Next() {
		n++
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		fn(cols, vals)
	}
	require.NoError(t, rows.Err())
	return n
}

func idOf(m map[string]any, key string) int64 {
	return int64(m[key].(float64))
}

func path(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// --- helpers shared by the lifecycle, attach, edge and webhook suites ---

// addIntegration creates an integration and returns its id.
func (e *harness) addIntegration(usuario string, suspendOnDebt bool) int64 {
	e.t.Helper()
	return idOf(e.createIntegration(map[string]any{"usuario": usuario}, map[string]any{"suspender_inadimplencia": suspendOnDebt}), "id_integracao")
}

// addProduct registers product code under integration integ.
func (e *harness) addProduct(integ int64, code string) int64 {
	e.t.Helper()
	r := e.do("POST", path("/api/v1/integracoes/%d/produtos", integ), map[string]any{"descricao": "Produto " + code, "codigo": code})
	require.Equal(e.t, 201, r.Status, "%s", r.Body)
	return idOf(r.JSON(e.t), "id_produto")
}

// addPackage creates a package of integration integ with products.
func (e *harness) addPackage(integ int64, valor string, prods ...int64) int64 {
	e.t.Helper()
	r := e.do("POST", "/api/v1/pacotes", map[string]any{"descricao": fmt.Sprintf("Pacote %v", prods), "valor": valor, "id_integracao": integ, "produtos": prods})
	require.Equal(e.t, 201, r.Status, "%s", r.Body)
	return idOf(r.JSON(e.t), "id_pacote")
}

// putPlan upserts a plan (combo) with packages.
func (e *harness) putPlan(id int64, pkgs ...int64) {
	e.t.Helper()
	r := e.do("PUT", path("/api/v1/planos/%d", id), map[string]any{"descricao": path("Plano %d", id), "pacotes": pkgs})
	require.Contains(e.t, []int{200, 201}, r.Status, "%s", r.Body)
}

// attach attaches a package (optionally with data_expiracao) and returns
// the subscription id.
func (e *harness) attach(svc, pkg int64, expiry string) int64 {
	e.t.Helper()
	body := map[string]any{"id_pacote": pkg}
	if expiry != "" {
		body["data_expiracao"] = expiry
	}
	r := e.do("POST", path("/api/v1/servicos/%d/pacotes", svc), body)
	require.Equal(e.t, 201, r.Status, "%s", r.Body)
	return idOf(r.JSON(e.t), "id_assinatura")
}

// setStatus changes a service's status_prefixo.
func (e *harness) setStatus(svc int64, status string) {
	e.t.Helper()
	r := e.do("PUT", path("/api/v1/servicos/%d/status", svc), map[string]any{"status_prefixo": status})
	require.Equal(e.t, 200, r.Status, "%s", r.Body)
	require.Equal(e.t, status, r.JSON(e.t)["status_prefixo"])
}

// service fetches GET /servicos/{id}.
func (e *harness) service(svc int64) map[string]any {
	e.t.Helper()
	r := e.do("GET", path("/api/v1/servicos/%d", svc), nil)
	require.Equal(e.t, 200, r.Status, "%s", r.Body)
	return r.JSON(e.t)
}

// attachWith attaches a package (body fields) to a service and returns the
// 201 subscription.
func (e *harness) attachWith(svc int64, body map[string]any) map[string]any {
	e.t.Helper()
	r := e.do("POST", path("/api/v1/servicos/%d/pacotes", svc), body)
	require.Equal(e.t, 201, r.Status, "%s", r.Body)
	return r.JSON(e.t)
}

func (e *harness) items(r response) []map[string]any {
	e.t.Helper()
	require.Equal(e.t, 200, r.Status, "%s", r.Body)
	raw, _ := r.JSON(e.t)["itens"].([]any)
	out := make([]map[string]any, 0, len(raw))
	for _, it := range raw {
		out = append(out, it.(map[string]any))
	}
	return out
}

// transmissions lists /transmissoes with a query string.
func (e *harness) transmissions(query string) []map[string]any {
	e.t.Helper()
	return e.items(e.do("GET", "/api/v1/transmissoes?itens_por_pagina=500&"+query, nil))
}

// waitSimExpiry waits until the simulator shows the plan with status and date.
func (e *harness) waitSimExpiry(username, product, status, expiry string) {
	e.t.Helper()
	e.eventually(username+"/"+product+" "+status+" until "+expiry+" on the platform", func() bool {
		st, exp := e.simPlan(username, product)
		return st == status && exp == expiry
	})
}

// waitStatus waits until subscription sub has status; on timeout it
// reports the last subscription, the platform's users and the
// subscription's transmissions.
func (e *harness) waitStatus(sub int64, status string) map[string]any {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := e.subscription(sub)
		if got["status"] == status {
			return got
		}
		if time.Now().After(deadline) {
			users := e.plat.Dump()
			e.t.Fatalf("timed out waiting for subscription %d %s: last %v\nplatform users: %s\ntransmissions: %v",
				sub, status, got, users, e.transmissions(path("id_assinatura=%d", sub)))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitSimPlanOf is waitSimPlan that reports the subscription and its
// transmissions on timeout.
func (e *harness) waitSimPlanOf(sub int64, username, product, status string) {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if st, _ := e.simPlan(username, product); st == status {
			return
		}
		if time.Now().After(deadline) {
			users := e.plat.Dump()
			e.t.Fatalf("timed out waiting for %s/%s %s on the platform: subscription %v\nplatform users: %s\ntransmissions: %v\njobs: %s",
				username, product, status, e.subscription(sub), users, e.transmissions(path("id_assinatura=%d", sub)), e.jobs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// eventuallyWithin is eventually with a deadline of its own, for
// convergence of hundreds of plans.
func (e *harness) eventuallyWithin(what string, within time.Duration, cond func() bool) {
	e.t.Helper()
	if !await(within, cond) {
		e.t.Fatalf("timed out after %s waiting for %s", within, what)
	}
}

// liveJobs counts converge jobs not finalised yet.
func (e *harness) liveJobs() int {
	e.t.Helper()
	res, err := e.app.Engine.Client().JobList(context.Background(), river.NewJobListParams().Kinds("converge_plan").
		States(rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled).First(1000))
	require.NoError(e.t, err)
	return len(res.Jobs)
}

// jobs describes the engine's converge jobs (diagnostics).
func (e *harness) jobs() string {
	res, err := e.app.Engine.Client().JobList(context.Background(), river.NewJobListParams().Kinds("converge_plan").First(100))
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, j := range res.Jobs {
		fmt.Fprintf(&b, "\n  job %d %s args=%s attempt=%d created=%s finalized=%v", j.ID, j.State, j.EncodedArgs, j.Attempt, j.CreatedAt.Format(time.StampMilli), j.FinalizedAt)
	}
	return b.String()
}

func (e *harness) patchExpiry(sub int64, date string) response {
	e.t.Helper()
	return e.do("PATCH", path("/api/v1/assinaturas/%d", sub), map[string]any{"data_expiracao": date})
}

// quiet waits until no convergence job is left to run.
func (e *harness) quiet() {
	e.t.Helper()
	e.eventuallyWithin("no converge job left", 15*time.Second, func() bool { return e.liveJobs() == 0 })
}

// await polls cond until it holds (true) or within passes (false).
func await(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// saoPaulo is the business time zone of the tests.
var saoPaulo = func() *time.Location {
	loc, err := time.LoadLocation("America/Sao_Paulo")
	if err != nil {
		panic(err)
	}
	return loc
}()

// saoPauloAt parses an RFC 3339 instant and expresses it in São Paulo, so that the
// simulator (which formats its clock as is) sees the same calendar day as
// svahub's business time zone.
func saoPauloAt(t *testing.T, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339, s)
	require.NoError(t, err)
	return ts.In(saoPaulo)
}

// firstAccess returns the first access of a subscription.
func firstAccess(sub map[string]any) map[string]any {
	return sub["acessos"].([]any)[0].(map[string]any)
}

// customer builds a cliente block.
func customer(id int64, code, doc, email string) map[string]any {
	return map[string]any{"id_cliente": id, "codigo_cliente": code, "nome_razaosocial": "Maria da Silva",
		"cpf_cnpj": doc, "email_principal": email, "telefone_primario": "11999990000"}
}

// dateFromToday is today (in the business time zone) plus years and days, as
// YYYY-MM-DD.
func dateFromToday(years, days int) string {
	loc, err := time.LoadLocation("America/Sao_Paulo")
	if err != nil {
		panic(err)
	}
	y, m, d := time.Now().In(loc).Date()
	return time.Date(y+years, m, d+days, 12, 0, 0, 0, time.UTC).Format("2006-01-02")
}
