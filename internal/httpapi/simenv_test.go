package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/app"
	"github.com/svahub/svahub/internal/platform/egress"
	"github.com/svahub/svahub/internal/provision"
	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/internal/svahub"
	"github.com/svahub/svahub/pkg/qualifica/qualificasim"
)

// simEnv is the whole wired svahub (app.New) over a real database and an
// in-process platform simulator (platformsim_test.go).
type simEnv struct {
	*env
	app *app.App
	// plat is the platform under test.
	plat platformSim
	// sim is the Qualifica simulator itself when plat is Qualifica (nil
	// otherwise), for the Qualifica-only tests.
	sim   *qualificasim.Sim
	clock *clock
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

// newSimEnv is the wired svahub over the Qualifica simulator only. The tests
// on it (rather than on eachPlatform/newPlatformEnv) are Qualifica-specific
// or not about the platform; see platformsim_test.go.
func newSimEnv(t *testing.T, dialect string, simOpts qualificasim.Options) *simEnv {
	t.Helper()
	return newSimEnvClock(t, dialect, simOpts, &clock{})
}

func newSimEnvClock(t *testing.T, dialect string, simOpts qualificasim.Options, clk *clock) *simEnv {
	t.Helper()
	return newSimEnvWith(t, dialect, simOpts, clk, nil)
}

// newSimEnvWith is newSimEnvClock with the app options adjusted by tune.
// It is Qualifica only: the simulator is built from simOpts.
func newSimEnvWith(t *testing.T, dialect string, simOpts qualificasim.Options, clk *clock, tune func(*app.Options)) *simEnv {
	t.Helper()
	return newEnvOver(t, dialect, newQualificaPlatformOpts(t, simOpts), clk, tune)
}

// newEnvOver wires svahub over dialect and the platform simulator plat.
func newEnvOver(t *testing.T, dialect string, plat platformSim, clk *clock, tune func(*app.Options)) *simEnv {
	t.Helper()
	logBuf := &bytes.Buffer{}
	log := slog.New(slog.NewJSONHandler(&lockedWriter{w: logBuf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	loc, err := time.LoadLocation("America/Sao_Paulo")
	require.NoError(t, err)
	ctx := context.Background()
	// Loopback is allowed as an operator running local fakes would: the
	// tests point integrations at closed ports and second servers there.
	// The egress tests that need it refused set their own list.
	opts := app.Options{Logger: log, Location: loc, PlatformAllowedHosts: []string{"127.0.0.1"}, PlatformTimeout: 2 * time.Second, PlatformRateLimit: 1000,
		Workers: true, Provision: provision.Options{FetchPollInterval: 20 * time.Millisecond, RetryBase: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond}}
	plat.Configure(&opts)
	if tune != nil {
		tune(&opts)
	}
	db := storetest.Open(t, dialect, storetest.Options{Adapters: opts.Registry, Logger: log, Location: loc, Now: clk.Now})
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
	_, ro, err := db.CreateAPIKey(ctx, "leitor", svahub.ScopeRead)
	require.NoError(t, err)
	srv := httptest.NewServer(a.API)
	t.Cleanup(srv.Close)
	e := &simEnv{env: &env{t: t, db: db, srv: srv, key: key, roKey: ro, logBuf: logBuf}, app: a, plat: plat, clock: clk}
	if q, ok := plat.(*qualificaPlatform); ok {
		e.sim = q.sim
	}
	e.dumpLogsOnFailure()
	return e
}

// eventually polls cond until it holds or 15 s pass.
func (e *simEnv) eventually(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// subscription fetches /assinaturas/{id}.
func (e *simEnv) subscription(id int64) map[string]any {
	e.t.Helper()
	r := e.do("GET", path("/api/v1/assinaturas/%d", id), nil)
	require.Equal(e.t, 200, r.Status, "%s", r.Body)
	return r.JSON(e.t)
}

// waitStatus waits until subscription id has status.
func (e *simEnv) waitStatus(id int64, status string) map[string]any {
	e.t.Helper()
	var last map[string]any
	e.eventually("subscription "+status, func() bool {
		last = e.subscription(id)
		return last["status"] == status
	})
	return last
}

// simPlan returns the platform's plan status for a user and product.
func (e *simEnv) simPlan(username, product string) (status, expiry string) {
	status, expiry, _ = e.plat.Plan(username, product)
	return status, expiry
}

// waitSimPlan waits until the simulator shows the plan in status.
func (e *simEnv) waitSimPlan(username, product, status string) {
	e.t.Helper()
	e.eventually(username+"/"+product+" "+status+" on the platform", func() bool {
		st, _ := e.simPlan(username, product)
		return st == status
	})
}

// catalogue creates an integration (with extra fields), products for codes
// and one package with them; it returns the integration and package ids.
func (e *simEnv) catalogue(extra map[string]any, params map[string]any, valor string, codes ...string) (int64, int64) {
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

// putService upserts a customer service.
func (e *simEnv) putService(id int64, body map[string]any) response {
	e.t.Helper()
	base := map[string]any{
		"login": path("login%d", id), "senha": path("senha%d", id), "status_prefixo": "servico_habilitado",
		"cliente": map[string]any{"id_cliente": 100 + id, "codigo_cliente": path("C%d", id), "nome_razaosocial": "Maria da Silva",
			"cpf_cnpj": "529.982.247-25", "email_principal": path("cliente%d@example.com", id), "telefone_primario": "11999990000"},
	}
	for k, v := range body {
		base[k] = v
	}
	return e.do("PUT", path("/api/v1/servicos/%d", id), base)
}

// createIntegration posts an integration and returns its JSON.
func (e *simEnv) createIntegration(params map[string]any, extra map[string]any) map[string]any {
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

func idOf(m map[string]any, key string) int64 {
	return int64(m[key].(float64))
}

func path(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// dumpLogs prints the captured log when the test failed.
func (e *simEnv) dumpLogsOnFailure() {
	e.t.Cleanup(func() {
		if e.t.Failed() {
			e.t.Log(e.logBuf.String())
		}
	})
}

// doKey sends a POST with an Idempotency-Key.
func (e *env) doKey(method, path, body, key string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	require.NoError(e.t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+e.key)
	req.Header.Set("Idempotency-Key", key)
	res, err := e.srv.Client().Do(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	return response{Status: res.StatusCode, Header: res.Header, Body: raw}
}

// newSimEnvAllow is newSimEnv with SVAHUB_PLATFORM_ALLOWED_HOSTS set to
// allow and, when lookup is not nil, platform names resolved by it.
func newSimEnvAllow(t *testing.T, dialect string, allow []string, lookup egress.Lookup) *simEnv {
	t.Helper()
	return newSimEnvWith(t, dialect, qualificasim.Options{}, &clock{}, func(o *app.Options) {
		o.PlatformAllowedHosts, o.PlatformLookup = allow, lookup
	})
}
