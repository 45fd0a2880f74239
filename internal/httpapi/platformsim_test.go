package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/app"
	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/internal/svahub"
	"github.com/svahub/svahub/pkg/qualifica"
	"github.com/svahub/svahub/pkg/qualifica/qualificasim"
)

// The lifecycle suites run over every platform in platformsUnderTest: each
// table-driven test is named TestX/<platform>/<dialect>. The rows are
// Qualifica (qualificasim, this file) and the webhook receiver
// (webhooksim, platformsim_webhook_test.go), whose integrations are created
// through POST /integracoes with {"plataforma": "webhook", "parametros":
// {"url", "segredo", "usuario"}}; loopback is allowed by newHarness.
//
// Adding a platform:
//  1. Implement platformSim over its simulator, in a file like this one. The
//     simulator serves on its own httptest server; Integration returns the
//     "plataforma" and "parametros" that point an integration at it (the
//     caller's params, e.g. "usuario", merged into parametros); Configure
//     sets any app.Options the platform needs (none for a platform whose
//     address is in its parametros).
//  2. Add one row to platformsUnderTest.
//
// What differs by platform lives behind platformSim (how a user, a plan
// and the calls are seen, failure injection, a foreign user), not in the
// tests. Tests that exercise what only Qualifica has (catalogue sync,
// OAuth token renewal, read-back with consultar and reconciliation,
// recovery through GetUser, the simulator's raw API) stay on newHarness's
// default platform (Qualifica, withQualifica) and say so in a comment.
// Whole files on Qualifica for that reason: catalogue_rules_test.go and
// catalogue_test.go (catalogue and verificado), platform_test.go (token
// lifetime and renewal, testar),
// egress_e2e_test.go and secrets_test.go (Qualifica's url_base,
// client_secret and token traffic), ratelimit_shown_test.go (Qualifica's
// limite_requisicoes_por_segundo). retention_e2e_test.go, hostile_test.go
// and the idempotency edge tests only need some platform, not a particular
// one.

// platformSim is a content platform's simulator as the lifecycle suites see
// it: what the platform holds, how often it was called, and failure
// injection.
type platformSim interface {
	// Name is the plataforma value and the subtest name.
	Name() string
	// URL is the address svahub reaches the simulator at.
	URL() string
	// Configure adjusts the app options (e.g. the platform's default URL).
	Configure(o *app.Options)
	// Integration returns "plataforma" and "parametros" (and optionally
	// "descricao") for POST /integracoes; params are merged into the
	// parametros.
	Integration(params map[string]any) map[string]any
	// User returns what the platform holds for a username.
	User(username string) (simUser, bool)
	// UserCount is the number of users on the platform.
	UserCount() int
	// Plan returns the platform's plan status (ativo, suspenso, cancelado,
	// expirado) and expiry (YYYY-MM-DD or "") for a user and product.
	Plan(username, product string) (status, expiry string, ok bool)
	// Calls counts the requests for op that reached the platform, whatever
	// their outcome (retries and injected failures included).
	Calls(op svahub.Operation) int
	// FailNext makes the next n requests for op answer status; n = 0
	// clears it.
	FailNext(op svahub.Operation, status int, n int)
	// SetDown makes every provisioning request answer 503 until called
	// with false.
	SetDown(down bool)
	// AddForeignUser creates, behind svahub's back, a platform user named
	// username under another reference (someone else's account), so that
	// svahub's create of that username is refused.
	AddForeignUser(t *testing.T, username string)
	// Dump describes what the platform holds, for failure messages.
	Dump() string
}

// simUser is a platform user as the suites check it.
type simUser struct {
	Password    string
	CreateCalls int // successful creates of this user
	// CreateConflicts counts creates refused because the user existed.
	CreateConflicts int
	Plans           []string // product codes of its plans
}

// simOptions are platform-neutral simulator options.
type simOptions struct {
	// Latency is added to every platform request.
	Latency time.Duration
	// Products is the catalogue for platforms that have one (codes);
	// empty means the simulator's default.
	Products []string
	// Now is the simulator's clock (plan expiry); nil means time.Now.
	Now func() time.Time
}

// platformCase is one row of platformsUnderTest.
type platformCase struct {
	name  string
	start func(t *testing.T, o simOptions) platformSim
}

// qualificaCase is the Qualifica row, also used alone by the
// Qualifica-only tests that need platform-neutral helpers.
var qualificaCase = platformCase{name: "qualifica", start: func(t *testing.T, o simOptions) platformSim { return newQualificaPlatform(t, o) }}

// platformsUnderTest are the platforms the table-driven suites run on.
var platformsUnderTest = []platformCase{qualificaCase, webhookCase}

// eachPlatform runs fn for every platform in platformsUnderTest and every
// dialect (storetest.Each), as subtests platform/dialect.
func eachPlatform(t *testing.T, fn func(t *testing.T, dialect string, p platformCase)) {
	t.Helper()
	for _, p := range platformsUnderTest {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			storetest.Each(t, func(t *testing.T, dialect string) { fn(t, dialect, p) })
		})
	}
}

// qualificaPlatform is platformSim over qualificasim. svahub reaches it
// through a front server that injects FailNext failures; the simulator's
// own server (sim.URL()) stays reachable for Qualifica-only tests.
type qualificaPlatform struct {
	sim   *qualificasim.Sim
	front *httptest.Server
	// inner is what the front serves after failure injection: the
	// simulator, or a tap in front of it (withSimTap).
	inner http.Handler

	mu   sync.Mutex
	fail map[svahub.Operation]injected
}

type injected struct{ status, n int }

// qualificaRoutes maps the simulator's routes to operations. PUT plan is
// both activation and expiry change on Qualifica.
var qualificaRoutes = map[string]svahub.Operation{
	"POST /oauth/token":                           svahub.OpToken,
	"GET /v1/produtos":                            svahub.OpCatalogue,
	"POST /v1/usuarios":                           svahub.OpCreateUser,
	"GET /v1/usuarios":                            svahub.OpQuery,
	"GET /v1/usuarios/{id}":                       svahub.OpQuery,
	"PUT /v1/usuarios/{id}/planos/{p}":            svahub.OpActivatePlan,
	"DELETE /v1/usuarios/{id}/planos/{p}":         svahub.OpCancel,
	"POST /v1/usuarios/{id}/planos/{p}/suspender": svahub.OpSuspend,
	"POST /v1/usuarios/{id}/planos/{p}/reativar":  svahub.OpReactivate,
}

// qualificaCallKeys maps operations to qualificasim.Calls keys.
var qualificaCallKeys = map[svahub.Operation]string{
	svahub.OpToken: qualificasim.OpToken, svahub.OpCatalogue: qualificasim.OpProducts, svahub.OpCreateUser: qualificasim.OpCreateUser,
	svahub.OpQuery: qualificasim.OpQuery, svahub.OpActivatePlan: qualificasim.OpPutPlan, svahub.OpUpdateExpiry: qualificasim.OpPutPlan,
	svahub.OpSuspend: qualificasim.OpSuspend, svahub.OpReactivate: qualificasim.OpReactivate, svahub.OpCancel: qualificasim.OpCancel,
}

func newQualificaPlatform(t *testing.T, o simOptions) *qualificaPlatform {
	t.Helper()
	opts := qualificasim.Options{Latency: o.Latency, Now: o.Now}
	for _, c := range o.Products {
		opts.Catalogue = append(opts.Catalogue, qualifica.Product{Code: c, Name: "Produto " + c})
	}
	return newQualificaPlatformOpts(t, opts, nil)
}

// newQualificaPlatformOpts starts a Qualifica simulator with opts behind
// its front server; tap, when not nil, wraps the simulator behind the
// failure injection.
func newQualificaPlatformOpts(t *testing.T, opts qualificasim.Options, tap func(http.Handler) http.Handler) *qualificaPlatform {
	t.Helper()
	q := &qualificaPlatform{fail: map[svahub.Operation]injected{}}
	mux := http.NewServeMux()
	for pattern := range qualificaRoutes {
		mux.HandleFunc(pattern, func(http.ResponseWriter, *http.Request) {})
	}
	// The front closes after the simulator released its hanging requests
	// (cleanups run last-registered first).
	q.front = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, pattern := mux.Handler(r)
		if q.injectFailure(w, qualificaRoutes[pattern]) {
			return
		}
		q.inner.ServeHTTP(w, r)
	}))
	t.Cleanup(q.front.Close)
	q.sim = qualificasim.NewServer(t, opts)
	q.inner = q.sim
	if tap != nil {
		q.inner = tap(q.sim)
	}
	return q
}

// injectFailure answers an injected failure for op, if one is pending.
func (q *qualificaPlatform) injectFailure(w http.ResponseWriter, op svahub.Operation) bool {
	if op == "" {
		return false
	}
	q.mu.Lock()
	f, ok := q.fail[op]
	if !ok && op == svahub.OpActivatePlan { // the same PUT on Qualifica
		op = svahub.OpUpdateExpiry
		f, ok = q.fail[op]
	}
	if ok {
		f.n--
		if f.n <= 0 {
			delete(q.fail, op)
		} else {
			q.fail[op] = f
		}
	}
	q.mu.Unlock()
	if !ok {
		return false
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.status)
	_, _ = fmt.Fprintf(w, `{"codigo":"falha_injetada","mensagem":"falha injetada em %s"}`, op)
	return true
}

func (q *qualificaPlatform) Name() string { return "qualifica" }

func (q *qualificaPlatform) URL() string { return q.front.URL }

func (q *qualificaPlatform) Configure(o *app.Options) { o.QualificaURL = q.front.URL }

func (q *qualificaPlatform) Integration(params map[string]any) map[string]any {
	p := map[string]any{"client_id": qualificasim.DefaultClientID, "client_secret": qualificasim.DefaultClientSecret}
	for k, v := range params {
		p[k] = v
	}
	return map[string]any{"descricao": "Qualifica", "plataforma": "qualifica", "parametros": p}
}

func (q *qualificaPlatform) User(username string) (simUser, bool) {
	u, ok := q.sim.UserByUsername(username)
	if !ok {
		return simUser{}, false
	}
	out := simUser{Password: u.Password, CreateCalls: u.CreateCalls, CreateConflicts: u.CreateConflicts}
	for _, p := range u.Plans {
		out.Plans = append(out.Plans, p.Product)
	}
	return out, true
}

func (q *qualificaPlatform) Dump() string {
	raw, _ := json.Marshal(q.sim.Users())
	return string(raw)
}

func (q *qualificaPlatform) UserCount() int { return len(q.sim.Users()) }

func (q *qualificaPlatform) Plan(username, product string) (status, expiry string, ok bool) {
	u, found := q.sim.UserByUsername(username)
	if !found {
		return "", "", false
	}
	for _, p := range u.Plans {
		if p.Product == product {
			return p.Status, p.ExpiresOn, true
		}
	}
	return "", "", false
}

func (q *qualificaPlatform) Calls(op svahub.Operation) int {
	return q.sim.Calls()[qualificaCallKeys[op]]
}

func (q *qualificaPlatform) FailNext(op svahub.Operation, status int, n int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if n <= 0 {
		delete(q.fail, op)
		return
	}
	q.fail[op] = injected{status: status, n: n}
}

// AddForeignUser creates the user through the simulator's contract API,
// as another client of the platform would.
func (q *qualificaPlatform) AddForeignUser(t *testing.T, username string) {
	t.Helper()
	tok := simToken(t, q.sim)
	st, raw := simCall(t, q.sim, "POST", "/v1/usuarios", tok, map[string]any{"usuario": username, "senha": "outra", "nome": "Outra Pessoa", "referencia": "externa-1"})
	require.Equal(t, 201, st, "%s", raw)
}

// SetDown uses the simulator's own fault rate (every contract route,
// token included, answers 503).
func (q *qualificaPlatform) SetDown(down bool) {
	if down {
		q.sim.SetFaults(1.0, 0)
		return
	}
	q.sim.SetFaults(0, 0)
}
