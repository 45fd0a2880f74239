package crashtest

import (
	"fmt"
	"testing"
	"time"

	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/internal/svahub"
	"github.com/svahub/svahub/pkg/qualifica/qualificasim"
)

// The crash and worker suites run over every platform in
// platformsUnderTest: TestX/<platform>/<dialect>.
//
// Adding a platform (e.g. the webhook receiver, pkg/webhook/webhooksim):
//  1. Implement platformSim over its simulator: start it on a loopback
//     httptest server in the row's start function, say in Env which
//     SVAHUB_* variables the svahub child needs (none when the address is
//     in the parametros), and in Integration the "plataforma" and
//     "parametros" of POST /integracoes (usuario login_autenticacao).
//  2. Add one row to platformsUnderTest.
//
// Webhook event types map to operations as usuario.criar=criar_usuario,
// plano.ativar=ativar_plano, plano.atualizar_expiracao=atualizar_expiracao,
// plano.suspender=suspender, plano.reativar=reativar,
// plano.cancelar=cancelar.
//
// TestFaultConvergence stays Qualifica only for now: it needs a product the
// platform refuses by code (a catalogue), OAuth token revocation and the
// simulator's rate limit and random 503/timeout rates.

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
	// Describe summarises the calls, for logs.
	Describe() string
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
}

// platformCase is one row of platformsUnderTest.
type platformCase struct {
	name  string
	start func(t *testing.T, o simOptions) platformSim
}

// platformsUnderTest are the platforms the table-driven suites run on.
var platformsUnderTest = []platformCase{
	{name: "qualifica", start: func(t *testing.T, o simOptions) platformSim {
		return qualificaPlatform{qualificasim.NewServer(t, qualificasim.Options{Latency: o.Latency, Seed: o.Seed})}
	}},
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

func (q qualificaPlatform) Describe() string { return fmt.Sprint(q.sim.Calls()) }
