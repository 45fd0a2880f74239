package crashtest

import (
	"fmt"
	"testing"
	"time"

	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/internal/svahub"
	"github.com/svahub/svahub/pkg/qualifica/qualificasim"
)

// The crash, worker and fault suites run over every platform in
// platformsUnderTest: TestX/<platform>/<dialect>. The rows are Qualifica
// (qualificasim, this file) and the webhook receiver (webhooksim,
// platform_webhook_test.go).
//
// Adding a platform:
//  1. Implement platformSim over its simulator: start it on a loopback
//     httptest server in the row's start function, say in Env which
//     SVAHUB_* variables the svahub child needs (none when the address is
//     in the parametros), and in Integration the "plataforma" and
//     "parametros" of POST /integracoes (usuario login_autenticacao).
//  2. Add one row to platformsUnderTest.
//
// What differs by platform (a catalogue, a token, how faults are injected)
// lives behind platformSim, not in the suites.

// platformSim is a content platform's simulator as the crash suites see it.
type platformSim interface {
	// Name is the plataforma value and the subtest name.
	Name() string
	// Env are SVAHUB_* variables for the svahub processes.
	Env() map[string]string
	// Integration is the body of POST /integracoes (plataforma,
	// parametros, descricao) with suspender_inadimplencia true.
	Integration() map[string]any
	// HasCatalogue tells whether products are verified against the
	// platform (verificado true after creation).
	HasCatalogue() bool
	// Users are the platform's users.
	Users() []simUser
	// User is the platform's user named username.
	User(username string) (simUser, bool)
	// Calls counts the requests for op that reached the platform.
	Calls(op svahub.Operation) int
	// Applied counts the commands for op the platform applied: Calls on a
	// platform svahub reads back before it resends (Qualifica); on one it
	// cannot read back (webhook) a lost answer is settled by resending
	// the same command id, which the receiver applies once.
	Applied(op svahub.Operation) int
	// Describe summarises the calls, for logs.
	Describe() string

	// FaultSetup creates the fault suite's integration (as Integration)
	// with products "pro", which the platform sells, and ghost, which it
	// refuses; ghost is saved without the platform being asked about it.
	FaultSetup(t *testing.T, s *Server, ghost string) (integration, pro, ghostProduct int64)
	// SetFaults makes a share rate5xx of the calls answer 503 and a share
	// rateTimeout answer only after simOptions.FaultHold (past the
	// platform timeout); 0, 0 stops them.
	SetFaults(rate5xx, rateTimeout float64)
	// SetRateLimit answers 429 with Retry-After above rps requests a
	// second; 0 lifts it.
	SetRateLimit(rps int)
	// RevokeTokens revokes every access token the platform gave; false
	// when the platform has no tokens.
	RevokeTokens() bool
	// Faults counts the injected 503s, late answers and 429s.
	Faults() (fails, timeouts, limited int)
}

// simUser is a platform user as the suites check it.
type simUser struct {
	Username    string
	Reference   string
	CreateCalls int
	Plans       map[string]string // product code → status
}

// simOptions are platform-neutral simulator options.
type simOptions struct {
	Latency time.Duration
	Seed    int64
	// FaultHold is how long a "timeout" fault holds its answer.
	FaultHold time.Duration
}

// platformCase is one row of platformsUnderTest.
type platformCase struct {
	name  string
	start func(t *testing.T, o simOptions) platformSim
}

// platformsUnderTest are the platforms the table-driven suites run on.
var platformsUnderTest = []platformCase{
	{name: "qualifica", start: func(t *testing.T, o simOptions) platformSim {
		return qualificaPlatform{qualificasim.NewServer(t, qualificasim.Options{Latency: o.Latency, Seed: o.Seed, TimeoutDelay: o.FaultHold})}
	}},
	webhookCase,
}

// eachPlatform runs fn for every platform and dialect, as subtests
// platform/dialect.
func eachPlatform(t *testing.T, fn func(t *testing.T, dialect string, pc platformCase)) {
	t.Helper()
	for _, pc := range platformsUnderTest {
		t.Run(pc.name, func(t *testing.T) {
			t.Parallel()
			storetest.Each(t, func(t *testing.T, dialect string) { fn(t, dialect, pc) })
		})
	}
}

// qualificaPlatform is platformSim over qualificasim.
type qualificaPlatform struct{ sim *qualificasim.Sim }

func (q qualificaPlatform) Name() string { return "qualifica" }

func (q qualificaPlatform) Env() map[string]string {
	return map[string]string{"SVAHUB_QUALIFICA_URL": q.sim.URL()}
}

func (q qualificaPlatform) Integration() map[string]any { return integrationBody(q.sim.URL()) }

func (q qualificaPlatform) HasCatalogue() bool { return true }

func (q qualificaPlatform) Users() []simUser {
	var out []simUser
	for _, u := range q.sim.Users() {
		out = append(out, qualificaUser(u))
	}
	return out
}

func (q qualificaPlatform) User(username string) (simUser, bool) {
	u, ok := q.sim.UserByUsername(username)
	if !ok {
		return simUser{}, false
	}
	return qualificaUser(u), true
}

func qualificaUser(u qualificasim.SimUser) simUser {
	out := simUser{Username: u.Username, Reference: u.Reference, CreateCalls: u.CreateCalls, Plans: map[string]string{}}
	for _, p := range u.Plans {
		out.Plans[p.Product] = p.Status
	}
	return out
}

// qualificaCallKeys maps operations to qualificasim.Calls keys (PUT plan is
// both activation and expiry change on Qualifica).
var qualificaCallKeys = map[svahub.Operation]string{
	svahub.OpToken: qualificasim.OpToken, svahub.OpCatalogue: qualificasim.OpProducts, svahub.OpCreateUser: qualificasim.OpCreateUser,
	svahub.OpQuery: qualificasim.OpQuery, svahub.OpActivatePlan: qualificasim.OpPutPlan, svahub.OpUpdateExpiry: qualificasim.OpPutPlan,
	svahub.OpSuspend: qualificasim.OpSuspend, svahub.OpReactivate: qualificasim.OpReactivate, svahub.OpCancel: qualificasim.OpCancel,
}

func (q qualificaPlatform) Calls(op svahub.Operation) int {
	return q.sim.Calls()[qualificaCallKeys[op]]
}

func (q qualificaPlatform) Applied(op svahub.Operation) int { return q.Calls(op) }

func (q qualificaPlatform) Describe() string { return fmt.Sprint(q.sim.Calls()) }

// FaultSetup first points the integration at a closed port, so products
// are saved unverified and the ghost code (not in the simulator's
// catalogue) is accepted; then at the simulator: a new token, and testar
// re-verifies (pro verificado, ghost not).
func (q qualificaPlatform) FaultSetup(t *testing.T, s *Server, ghost string) (integration, pro, ghostProduct int64) {
	t.Helper()
	closed := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	var integ struct {
		ID    int64 `json:"id_integracao"`
		Token struct {
			Status string `json:"status"`
		} `json:"token"`
	}
	s.Call(t, "POST", "/api/v1/integracoes", integrationBody(closed), 201).JSON(t, &integ)
	if integ.Token.Status != "erro" {
		t.Fatalf("token of an integration at a closed port is %q, want erro", integ.Token.Status)
	}
	pro, ghostProduct = unverifiedProduct(t, s, integ.ID, "pro"), unverifiedProduct(t, s, integ.ID, ghost)
	// A new address needs the secret again (it is never sent elsewhere).
	s.Call(t, "PUT", fmt.Sprintf("/api/v1/integracoes/%d", integ.ID), q.Integration(), 200).JSON(t, &integ)
	if integ.Token.Status != "valido" {
		t.Fatalf("token after pointing url_base at the simulator: %q, want valido", integ.Token.Status)
	}
	s.Call(t, "POST", fmt.Sprintf("/api/v1/integracoes/%d/testar", integ.ID), nil, 200)
	for id, want := range map[int64]bool{pro: true, ghostProduct: false} {
		var p struct {
			Verified bool `json:"verificado"`
		}
		s.Call(t, "GET", fmt.Sprintf("/api/v1/produtos/%d", id), nil, 200).JSON(t, &p)
		if p.Verified != want {
			t.Errorf("product %d verificado=%v after testar, want %v", id, p.Verified, want)
		}
	}
	return integ.ID, pro, ghostProduct
}

// unverifiedProduct creates a product of code and requires it unverified.
func unverifiedProduct(t *testing.T, s *Server, integration int64, code string) int64 {
	t.Helper()
	var p struct {
		ID       int64 `json:"id_produto"`
		Verified bool  `json:"verificado"`
	}
	s.Call(t, "POST", fmt.Sprintf("/api/v1/integracoes/%d/produtos", integration),
		map[string]any{"descricao": "Produto " + code, "codigo": code}, 201).JSON(t, &p)
	if p.Verified {
		t.Fatalf("product %q verified without asking the platform", code)
	}
	return p.ID
}

func (q qualificaPlatform) SetFaults(rate5xx, rateTimeout float64) {
	q.sim.SetFaults(rate5xx, rateTimeout)
}

func (q qualificaPlatform) SetRateLimit(rps int) { q.sim.SetRateLimit(float64(rps)) }

func (q qualificaPlatform) RevokeTokens() bool {
	q.sim.RevokeTokens()
	return true
}

func (q qualificaPlatform) Faults() (fails, timeouts, limited int) {
	c := q.sim.Calls()
	return c[qualificasim.Call5xx], c[qualificasim.CallTimeout], c[qualificasim.Call429]
}
