package httpapi_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/internal/svahub"
	"github.com/svahub/svahub/pkg/qualifica/qualificasim"
)

// End-to-end lifecycle tests through the HTTP API against the in-process
// Qualifica simulator (DOMAIN.md: combos, username policies, the lifecycle
// table, shared accounts, credentials, filters and validation).

// --- helpers of this file (prefixed la; the shared ones are harness methods) ---

// laSubsByPackage indexes a service's subscriptions by id_pacote; only the
// live one (not cancelled) is kept when there are several.
func laSubsByPackage(svc map[string]any) map[int64]map[string]any {
	out := map[int64]map[string]any{}
	for _, s := range svc["pacotes"].([]any) {
		m := s.(map[string]any)
		p := idOf(m, "id_pacote")
		if prev, ok := out[p]; ok && prev["status"] != "cancelado" {
			continue
		}
		out[p] = m
	}
	return out
}

// laIDs lists the id_cliente_servico of a list answer.
func laIDs(t *testing.T, r response) []int64 {
	t.Helper()
	require.Equal(t, 200, r.Status, "%s", r.Body)
	var out []int64
	for _, it := range r.JSON(t)["itens"].([]any) {
		out = append(out, idOf(it.(map[string]any), "id_cliente_servico"))
	}
	return out
}

// --- 1. combo on service creation ---

func TestLifecycleA_ComboOnServiceCreation(t *testing.T) {
	t.Parallel()
	eachPlatform(t, func(t *testing.T, dialect string, pc platformCase) {
		e := newHarness(t, dialect, withPlatform(pc, simOptions{}))
		integ := e.addIntegration("login_autenticacao", true)
		p1 := e.addPackage(integ, "29.90", e.addProduct(integ, "pro"))
		p2 := e.addPackage(integ, "19.90", e.addProduct(integ, "premium"))
		e.putPlan(10, p1, p2)

		r := e.putService(5001, map[string]any{"id_servico": 10})
		require.Equal(t, 201, r.Status, "%s", r.Body)
		subs := laSubsByPackage(r.JSON(t))
		require.Len(t, subs, 2)
		for _, p := range []int64{p1, p2} {
			s := subs[p]
			require.NotNil(t, s, "package %d not attached by the combo", p)
			require.Equal(t, "plano", s["origem"])
			require.Equal(t, "0.00", s["valor"])
		}
		for _, p := range []int64{p1, p2} {
			got := e.waitStatus(idOf(subs[p], "id_assinatura"), "ativo")
			require.Equal(t, "0.00", got["valor"])
			require.Equal(t, "login5001", firstAccess(got)["usuario_plataforma"])
		}
		e.waitSimPlan("login5001", "pro", "ativo")
		e.waitSimPlan("login5001", "premium", "ativo")
		u, ok := e.plat.User("login5001")
		require.True(t, ok)
		require.Equal(t, 1, u.CreateCalls)
		require.Equal(t, "senha5001", u.Password)
		// Two plans of one new account: the account lease lets only one of
		// them send the credentials.
		require.Equal(t, 1, e.plat.Calls(svahub.OpCreateUser))
	})
}

// --- 2. username policies ---

func TestLifecycleA_UsernamePolicies(t *testing.T) {
	t.Parallel()
	eachPlatform(t, func(t *testing.T, dialect string, pc platformCase) {
		e := newHarness(t, dialect, withPlatform(pc, simOptions{}))
		type policy struct {
			name, user, pass string
			pkg              int64
			sub              int64
		}
		policies := []*policy{
			{name: "login_autenticacao", user: "login5001", pass: "senha5001"},
			{name: "cpf_cnpj", user: "52998224725", pass: "52998224725"},
			{name: "email", user: "cliente5001@example.com", pass: "cliente5001@example.com"},
			{name: "codigo_cliente", user: "C5001", pass: "C5001"},
		}
		for _, p := range policies {
			integ := e.addIntegration(p.name, true)
			p.pkg = e.addPackage(integ, "9.90", e.addProduct(integ, "pro"))
		}
		r := e.putService(5001, nil)
		require.Equal(t, 201, r.Status, "%s", r.Body)
		for _, p := range policies {
			p.sub = e.attach(5001, p.pkg, "")
		}
		for _, p := range policies {
			got := e.waitStatus(p.sub, "ativo")
			require.Equal(t, p.user, firstAccess(got)["usuario_plataforma"], "policy %s", p.name)
			e.waitSimPlan(p.user, "pro", "ativo")
			u, ok := e.plat.User(p.user)
			require.True(t, ok, "policy %s: no platform user %q", p.name, p.user)
			require.Equal(t, p.pass, u.Password, "policy %s", p.name)
			require.Equal(t, 1, u.CreateCalls, "policy %s", p.name)
		}
		require.Equal(t, 4, e.plat.UserCount())
		creates := e.plat.Calls(svahub.OpCreateUser)
		require.Equal(t, 4, creates)

		// Empty source: a customer without e-mail under the email policy.
		r = e.putService(5002, map[string]any{"cliente": customer(102, "C5002", "529.982.247-25", "")})
		require.Equal(t, 201, r.Status, "%s", r.Body)
		sub := e.attach(5002, policies[2].pkg, "")
		got := e.waitStatus(sub, "erro")
		require.Equal(t, "cliente sem e-mail cadastrado", got["ultimo_erro"])
		require.Equal(t, "cliente sem e-mail cadastrado", firstAccess(got)["ultimo_erro"])
		require.Equal(t, creates, e.plat.Calls(svahub.OpCreateUser), "no platform call for an empty source")
		require.Equal(t, 4, e.plat.UserCount())
		tr := e.do("GET", path("/api/v1/transmissoes?id_assinatura=%d", sub), nil)
		require.Equal(t, 200, tr.Status, "%s", tr.Body)
		require.Empty(t, tr.JSON(t)["itens"], "no transmission for an empty source")
	})
}

// --- 3. debt suspension with the key on and off ---

func TestLifecycleA_DebtSuspension(t *testing.T) {
	t.Parallel()
	eachPlatform(t, func(t *testing.T, dialect string, pc platformCase) {
		e := newHarness(t, dialect, withPlatform(pc, simOptions{}))
		// Two integrations on one simulator: distinct username policies so
		// their platform users do not collide.
		on := e.addIntegration("login_autenticacao", true)
		off := e.addIntegration("codigo_cliente", false)
		pkgOn := e.addPackage(on, "10.00", e.addProduct(on, "pro"))
		pkgOff := e.addPackage(off, "10.00", e.addProduct(off, "premium"))
		require.Equal(t, 201, e.putService(5001, nil).Status)
		subOn := e.attach(5001, pkgOn, "")
		subOff := e.attach(5001, pkgOff, "")
		e.waitStatus(subOn, "ativo")
		e.waitStatus(subOff, "ativo")
		e.waitSimPlan("login5001", "pro", "ativo")
		e.waitSimPlan("C5001", "premium", "ativo")

		for i, st := range []string{"suspenso_debito", "suspenso_parcialmente"} {
			e.setStatus(5001, st)
			// Key off: the desired state is unchanged at once.
			got := e.subscription(subOff)
			require.Equal(t, "ativo", got["status"], st)
			require.Equal(t, "ativo", firstAccess(got)["estado_desejado"], st)
			// Key on: suspended on the platform.
			e.waitSimPlan("login5001", "pro", "suspenso")
			e.waitStatus(subOn, "suspenso")
			// After the key-on work converged, the key-off plan is still active.
			status, _ := e.simPlan("C5001", "premium")
			require.Equal(t, "ativo", status, st)
			require.Equal(t, "ativo", e.subscription(subOff)["status"], st)
			require.Equal(t, i+1, e.plat.Calls(svahub.OpSuspend), st)

			e.setStatus(5001, "servico_habilitado")
			e.waitSimPlan("login5001", "pro", "ativo")
			e.waitStatus(subOn, "ativo")
			require.Equal(t, "ativo", e.subscription(subOff)["status"], st)
			status, _ = e.simPlan("C5001", "premium")
			require.Equal(t, "ativo", status, st)
			require.Equal(t, i+1, e.plat.Calls(svahub.OpReactivate), st)
		}
	})
}

// --- 4. customer-requested suspension ---

func TestLifecycleA_CustomerRequestedSuspension(t *testing.T) {
	t.Parallel()
	eachPlatform(t, func(t *testing.T, dialect string, pc platformCase) {
		e := newHarness(t, dialect, withPlatform(pc, simOptions{}))
		on := e.addIntegration("login_autenticacao", true)
		off := e.addIntegration("codigo_cliente", false)
		pkgOn := e.addPackage(on, "10.00", e.addProduct(on, "pro"))
		pkgOff := e.addPackage(off, "10.00", e.addProduct(off, "premium"))
		require.Equal(t, 201, e.putService(5001, nil).Status)
		subOn := e.attach(5001, pkgOn, "")
		subOff := e.attach(5001, pkgOff, "")
		e.waitStatus(subOn, "ativo")
		e.waitStatus(subOff, "ativo")

		e.setStatus(5001, "suspenso_pedido_cliente")
		e.waitSimPlan("login5001", "pro", "suspenso")
		e.waitSimPlan("C5001", "premium", "suspenso")
		e.waitStatus(subOn, "suspenso")
		e.waitStatus(subOff, "suspenso")

		e.setStatus(5001, "servico_habilitado")
		e.waitSimPlan("login5001", "pro", "ativo")
		e.waitSimPlan("C5001", "premium", "ativo")
		e.waitStatus(subOn, "ativo")
		e.waitStatus(subOff, "ativo")
		require.Equal(t, 2, e.plat.Calls(svahub.OpCreateUser))
	})
}

// --- 5. cancellation ---

func TestLifecycleA_Cancellation(t *testing.T) {
	t.Parallel()
	eachPlatform(t, func(t *testing.T, dialect string, pc platformCase) {
		e := newHarness(t, dialect, withPlatform(pc, simOptions{}))
		integ := e.addIntegration("login_autenticacao", true)
		pkgA := e.addPackage(integ, "10.00", e.addProduct(integ, "pro"))
		pkgB := e.addPackage(integ, "20.00", e.addProduct(integ, "premium"))
		require.Equal(t, 201, e.putService(5001, nil).Status)
		subA := e.attach(5001, pkgA, "")
		subB := e.attach(5001, pkgB, "")
		e.waitStatus(subA, "ativo")
		e.waitStatus(subB, "ativo")

		// Same package twice while live → 409.
		r := e.do("POST", "/api/v1/servicos/5001/pacotes", map[string]any{"id_pacote": pkgA})
		requireProblem(t, r, 409)

		// DELETE → cancelado on svahub and on the platform; twice → 204.
		r = e.do("DELETE", path("/api/v1/servicos/5001/pacotes/%d", subA), nil)
		require.Equal(t, 204, r.Status, "%s", r.Body)
		e.waitSimPlan("login5001", "pro", "cancelado")
		got := e.waitStatus(subA, "cancelado")
		require.NotNil(t, got["data_cancelamento"])
		r = e.do("DELETE", path("/api/v1/servicos/5001/pacotes/%d", subA), nil)
		require.Equal(t, 204, r.Status, "%s", r.Body)
		status, _ := e.simPlan("login5001", "premium")
		require.Equal(t, "ativo", status, "cancelling one subscription leaves the others")

		// After cancel the package can be attached again.
		subA2 := e.attach(5001, pkgA, "")
		require.NotEqual(t, subA, subA2)
		e.waitStatus(subA2, "ativo")
		e.waitSimPlan("login5001", "pro", "ativo")
		require.Equal(t, "cancelado", e.subscription(subA)["status"])

		// Service cancel → every plan cancelado.
		e.setStatus(5001, "cancelado")
		e.waitSimPlan("login5001", "pro", "cancelado")
		e.waitSimPlan("login5001", "premium", "cancelado")
		e.waitStatus(subA2, "cancelado")
		e.waitStatus(subB, "cancelado")

		// inativo → cancelado too.
		require.Equal(t, 201, e.putService(5002, nil).Status)
		subC := e.attach(5002, pkgA, "")
		e.waitStatus(subC, "ativo")
		e.waitSimPlan("login5002", "pro", "ativo")
		e.setStatus(5002, "inativo")
		e.waitSimPlan("login5002", "pro", "cancelado")
		e.waitStatus(subC, "cancelado")

		u, _ := e.plat.User("login5001")
		require.Equal(t, 1, u.CreateCalls)
	})
}

// --- 6. plan change ---

func TestLifecycleA_PlanChange(t *testing.T) {
	t.Parallel()
	eachPlatform(t, func(t *testing.T, dialect string, pc platformCase) {
		e := newHarness(t, dialect, withPlatform(pc, simOptions{Products: []string{"p1", "p2", "p3", "p4"}}))
		integ := e.addIntegration("login_autenticacao", true)
		pk := map[string]int64{}
		for _, c := range []string{"p1", "p2", "p3", "p4"} {
			pk[c] = e.addPackage(integ, "5.00", e.addProduct(integ, c))
		}
		e.putPlan(1, pk["p1"], pk["p2"])
		e.putPlan(2, pk["p2"], pk["p4"])

		r := e.putService(5001, map[string]any{"id_servico": 1})
		require.Equal(t, 201, r.Status, "%s", r.Body)
		before := laSubsByPackage(r.JSON(t))
		require.Len(t, before, 2)
		sub1, sub2 := idOf(before[pk["p1"]], "id_assinatura"), idOf(before[pk["p2"]], "id_assinatura")
		sub3 := e.attach(5001, pk["p3"], "")
		for _, s := range []int64{sub1, sub2, sub3} {
			e.waitStatus(s, "ativo")
		}
		for _, c := range []string{"p1", "p2", "p3"} {
			e.waitSimPlan("login5001", c, "ativo")
		}

		r = e.putService(5001, map[string]any{"id_servico": 2})
		require.Equal(t, 200, r.Status, "%s", r.Body)
		after := laSubsByPackage(r.JSON(t))
		require.Equal(t, "cancelado", after[pk["p1"]]["status"], "P1 (not in plan B) is cancelled")
		require.Equal(t, sub2, idOf(after[pk["p2"]], "id_assinatura"), "P2 keeps its subscription")
		require.Equal(t, sub3, idOf(after[pk["p3"]], "id_assinatura"), "avulso P3 is kept")
		require.Equal(t, "avulso", after[pk["p3"]]["origem"])
		require.NotNil(t, after[pk["p4"]], "P4 is added")
		require.Equal(t, "plano", after[pk["p4"]]["origem"])
		require.Equal(t, "0.00", after[pk["p4"]]["valor"])
		sub4 := idOf(after[pk["p4"]], "id_assinatura")

		e.waitSimPlan("login5001", "p1", "cancelado")
		e.waitSimPlan("login5001", "p4", "ativo")
		e.waitStatus(sub1, "cancelado")
		e.waitStatus(sub4, "ativo")
		e.waitStatus(sub2, "ativo")
		e.waitStatus(sub3, "ativo")
		for _, c := range []string{"p2", "p3"} {
			st, _ := e.simPlan("login5001", c)
			require.Equal(t, "ativo", st, c)
		}
		live := 0
		for _, s := range e.service(5001)["pacotes"].([]any) {
			if s.(map[string]any)["status"] != "cancelado" {
				live++
			}
		}
		require.Equal(t, 3, live)
		// Plans of one new account converge concurrently, so a second create
		// may reach the platform and be adopted (409, same referencia); the
		// user itself is created once.
		u, ok := e.plat.User("login5001")
		require.True(t, ok)
		require.Equal(t, 1, u.CreateCalls)
		require.Equal(t, 1, e.plat.UserCount())

		// No plan at all (id_servico null): every plano subscription goes,
		// the avulso one stays.
		r = e.putService(5001, map[string]any{"id_servico": nil})
		require.Equal(t, 200, r.Status, "%s", r.Body)
		e.waitSimPlan("login5001", "p2", "cancelado")
		e.waitSimPlan("login5001", "p4", "cancelado")
		e.waitStatus(sub2, "cancelado")
		e.waitStatus(sub4, "cancelado")
		e.waitStatus(sub3, "ativo")
		st, _ := e.simPlan("login5001", "p3")
		require.Equal(t, "ativo", st)
	})
}

// --- 7. credentials are never re-sent ---

// Qualifica only: it changes the password on the platform side
// (qualificasim.SetPassword), which a webhook receiver has no API for.
func TestLifecycleA_CredentialsNotResent(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect)
		integ := e.addIntegration("login_autenticacao", true)
		pkg1 := e.addPackage(integ, "10.00", e.addProduct(integ, "pro"))
		pkg2 := e.addPackage(integ, "10.00", e.addProduct(integ, "premium"))
		require.Equal(t, 201, e.putService(5001, nil).Status)
		sub1 := e.attach(5001, pkg1, "")
		e.waitStatus(sub1, "ativo")
		e.waitSimPlan("login5001", "pro", "ativo")
		require.NoError(t, e.sim.SetPassword("login5001", "nova"))

		e.setStatus(5001, "suspenso_debito")
		e.waitSimPlan("login5001", "pro", "suspenso")
		e.waitStatus(sub1, "suspenso")
		e.setStatus(5001, "servico_habilitado")
		e.waitSimPlan("login5001", "pro", "ativo")
		e.waitStatus(sub1, "ativo")

		newExpiry := dateFromToday(3, 0)
		r := e.do("PATCH", path("/api/v1/assinaturas/%d", sub1), map[string]any{"data_expiracao": newExpiry})
		require.Equal(t, 200, r.Status, "%s", r.Body)
		require.Equal(t, newExpiry, r.JSON(t)["data_expiracao"])
		e.eventually("expiry on the platform", func() bool {
			_, exp := e.simPlan("login5001", "pro")
			return exp == newExpiry
		})

		// HubSoft pushes a new senha: still not sent to the platform.
		r = e.putService(5001, map[string]any{"senha": "outra-senha"})
		require.Equal(t, 200, r.Status, "%s", r.Body)

		sub2 := e.attach(5001, pkg2, "")
		e.waitStatus(sub2, "ativo")
		e.waitSimPlan("login5001", "premium", "ativo")
		e.waitStatus(sub1, "ativo")

		u, ok := e.sim.UserByUsername("login5001")
		require.True(t, ok)
		require.Equal(t, "nova", u.Password)
		require.Equal(t, 1, u.CreateCalls)
		require.Equal(t, 0, u.CreateConflicts)
		require.Equal(t, 1, e.sim.Calls()[qualificasim.OpCreateUser])
	})
}

// --- 8. shared platform account ---

func TestLifecycleA_SharedAccount(t *testing.T) {
	t.Parallel()
	eachPlatform(t, func(t *testing.T, dialect string, pc platformCase) {
		e := newHarness(t, dialect, withPlatform(pc, simOptions{}))
		integ := e.addIntegration("cpf_cnpj", true)
		pkg := e.addPackage(integ, "10.00", e.addProduct(integ, "pro"))
		const user = "52998224725"
		for _, id := range []int64{5001, 5002} {
			r := e.putService(id, map[string]any{"cliente": customer(900, "C900", "529.982.247-25", "maria@example.com")})
			require.Equal(t, 201, r.Status, "%s", r.Body)
		}
		d1, d2 := dateFromToday(2, 0), dateFromToday(3, 0)
		sub1 := e.attach(5001, pkg, d1)
		sub2 := e.attach(5002, pkg, d2)
		got1 := e.waitStatus(sub1, "ativo")
		got2 := e.waitStatus(sub2, "ativo")
		require.Equal(t, d1, got1["data_expiracao"])
		require.Equal(t, d2, got2["data_expiracao"])
		require.Equal(t, user, firstAccess(got1)["usuario_plataforma"])
		require.Equal(t, user, firstAccess(got2)["usuario_plataforma"])
		e.waitSimPlan(user, "pro", "ativo")
		e.eventually("shared plan expiry is the latest", func() bool {
			_, exp := e.simPlan(user, "pro")
			return exp == d2
		})
		require.Equal(t, 1, e.plat.UserCount(), "one platform user")
		u, _ := e.plat.User(user)
		require.Len(t, u.Plans, 1, "one platform plan")
		require.Equal(t, 1, u.CreateCalls)
		require.Equal(t, user, u.Password)

		// Suspending one service (pedido_cliente) keeps the shared plan
		// active: the most permissive state wins.
		e.setStatus(5001, "suspenso_pedido_cliente")
		e.waitStatus(sub1, "suspenso")
		st, _ := e.simPlan(user, "pro")
		require.Equal(t, "ativo", st)
		require.Equal(t, "ativo", e.subscription(sub2)["status"])
		require.Zero(t, e.plat.Calls(svahub.OpSuspend))
		e.setStatus(5001, "servico_habilitado")
		e.waitStatus(sub1, "ativo")

		// Cancelling one subscription keeps the plan active; its expiry
		// falls back to the latest among those not cancelled.
		r := e.do("DELETE", path("/api/v1/servicos/5002/pacotes/%d", sub2), nil)
		require.Equal(t, 204, r.Status, "%s", r.Body)
		e.waitStatus(sub2, "cancelado")
		e.eventually("shared plan expiry back to the remaining subscription's", func() bool {
			_, exp := e.simPlan(user, "pro")
			return exp == d1
		})
		e.waitStatus(sub1, "ativo")
		st, _ = e.simPlan(user, "pro")
		require.Equal(t, "ativo", st)
		require.Zero(t, e.plat.Calls(svahub.OpCancel))

		// Cancelling both → cancelado.
		r = e.do("DELETE", path("/api/v1/servicos/5001/pacotes/%d", sub1), nil)
		require.Equal(t, 204, r.Status, "%s", r.Body)
		e.waitSimPlan(user, "pro", "cancelado")
		e.waitStatus(sub1, "cancelado")
		require.Equal(t, 1, e.plat.Calls(svahub.OpCreateUser))
	})
}

// --- 9. aguardando statuses ---

func TestLifecycleA_AwaitingStatuses(t *testing.T) {
	t.Parallel()
	eachPlatform(t, func(t *testing.T, dialect string, pc platformCase) {
		e := newHarness(t, dialect, withPlatform(pc, simOptions{}))
		integ := e.addIntegration("login_autenticacao", true)
		pkg := e.addPackage(integ, "10.00", e.addProduct(integ, "pro"))
		r := e.putService(5001, map[string]any{"status_prefixo": "aguardando_instalacao"})
		require.Equal(t, 201, r.Status, "%s", r.Body)
		sub := e.attach(5001, pkg, "")
		require.Equal(t, "pendente", e.subscription(sub)["status"])
		// Wait until the plan's work ran (synchronised), then nothing may
		// exist on the platform.
		e.eventually("plan work converged with nothing to do", func() bool {
			return firstAccess(e.subscription(sub))["sincronizado_em"] != nil
		})
		got := e.subscription(sub)
		require.Equal(t, "pendente", got["status"])
		require.Empty(t, firstAccess(got)["estado_plataforma"])
		require.Zero(t, e.plat.UserCount(), "no platform user while aguardando_instalacao")
		require.Zero(t, e.plat.Calls(svahub.OpCreateUser))

		e.setStatus(5001, "servico_habilitado")
		e.waitStatus(sub, "ativo")
		e.waitSimPlan("login5001", "pro", "ativo")
		u, ok := e.plat.User("login5001")
		require.True(t, ok)
		require.Equal(t, 1, u.CreateCalls)

		// An existing user is left as it is.
		e.setStatus(5001, "aguardando_migracao")
		got = e.subscription(sub)
		require.Equal(t, "ativo", got["status"])
		require.Equal(t, "ativo", firstAccess(got)["estado_desejado"])
	})
}

// --- 10. service filters and the password ---

func TestLifecycleA_ServiceFiltersAndPassword(t *testing.T) {
	t.Parallel()
	eachPlatform(t, func(t *testing.T, dialect string, pc platformCase) {
		e := newHarness(t, dialect, withPlatform(pc, simOptions{}))
		const secret = "S3nh4-Secreta-XYZ"
		r := e.putService(5001, map[string]any{"senha": secret, "cliente": customer(900, "C900", "529.982.247-25", "a@example.com")})
		require.Equal(t, 201, r.Status, "%s", r.Body)
		require.NotContains(t, string(r.Body), secret)
		r = e.putService(5002, map[string]any{"status_prefixo": "suspenso_debito", "cliente": customer(900, "C900", "52998224725", "a@example.com")})
		require.Equal(t, 201, r.Status, "%s", r.Body)
		r = e.putService(5003, map[string]any{"cliente": customer(901, "C901", "11.222.333/0001-81", "b@example.com")})
		require.Equal(t, 201, r.Status, "%s", r.Body)

		q := func(query string) []int64 { return laIDs(t, e.do("GET", "/api/v1/servicos?"+query, nil)) }
		require.Equal(t, []int64{5001, 5002}, q("id_cliente=900"))
		require.Equal(t, []int64{5003}, q("id_cliente=901"))
		require.Equal(t, []int64{5002}, q("status_prefixo=suspenso_debito"))
		require.Equal(t, []int64{5001, 5003}, q("status_prefixo=servico_habilitado"))
		require.Equal(t, []int64{5001}, q("id_cliente=900&status_prefixo=servico_habilitado"))
		require.Equal(t, []int64{5001, 5002}, q("cpf_cnpj="+url.QueryEscape("529.982.247-25")))
		require.Equal(t, []int64{5001, 5002}, q("cpf_cnpj=52998224725"))
		require.Equal(t, []int64{5003}, q("cpf_cnpj="+url.QueryEscape("11.222.333/0001-81")))
		require.Empty(t, q("cpf_cnpj="+url.QueryEscape("111.444.777-35")))
		require.Empty(t, q("id_cliente=999"))

		list := e.do("GET", "/api/v1/servicos?id_cliente=900", nil)
		require.NotContains(t, string(list.Body), secret)
		require.NotContains(t, string(list.Body), `"senha"`)
		require.Equal(t, "52998224725", list.JSON(t)["itens"].([]any)[0].(map[string]any)["cliente"].(map[string]any)["cpf_cnpj"])

		svc := e.do("GET", "/api/v1/servicos/5001", nil)
		require.Equal(t, 200, svc.Status, "%s", svc.Body)
		require.NotContains(t, string(svc.Body), secret)
		m := svc.JSON(t)
		_, hasSenha := m["senha"]
		require.False(t, hasSenha, "GET /servicos/{id} must not carry senha: %s", svc.Body)
		require.Equal(t, true, m["senha_definida"])
		require.Equal(t, "52998224725", m["cliente"].(map[string]any)["cpf_cnpj"])

		var sealed string
		require.NoError(t, e.db.SQL().QueryRow("SELECT password_sealed FROM services WHERE id = 5001").Scan(&sealed))
		require.NotEmpty(t, sealed)
		require.NotContains(t, sealed, secret)
		require.NotContains(t, strings.ToLower(sealed), strings.ToLower(secret))
	})
}

// --- 11. validation through HTTP ---

func TestLifecycleA_Validation(t *testing.T) {
	t.Parallel()
	eachPlatform(t, func(t *testing.T, dialect string, pc platformCase) {
		e := newHarness(t, dialect, withPlatform(pc, simOptions{}))
		integ := e.addIntegration("login_autenticacao", true)
		pkg := e.addPackage(integ, "10.00", e.addProduct(integ, "pro"))

		// Unknown status_prefixo in bodies → 422; in the query → 400.
		requireProblem(t, e.putService(5001, map[string]any{"status_prefixo": "desconhecido"}), 422, "status_prefixo")
		require.Equal(t, 404, e.do("GET", "/api/v1/servicos/5001", nil).Status, "nothing saved")
		require.Equal(t, 201, e.putService(5001, nil).Status)
		require.Equal(t, 201, e.putService(5002, nil).Status)
		requireProblem(t, e.do("PUT", "/api/v1/servicos/5001/status", map[string]any{"status_prefixo": "desconhecido"}), 422, "status_prefixo")
		requireProblem(t, e.do("GET", "/api/v1/servicos?status_prefixo=desconhecido", nil), 400, "status_prefixo")

		// Invalid CPF → 422 on cliente.cpf_cnpj.
		requireProblem(t, e.putService(5003, map[string]any{"cliente": customer(103, "C5003", "529.982.247-26", "x@example.com")}), 422, "cliente.cpf_cnpj")
		requireProblem(t, e.putService(5003, map[string]any{"cliente": customer(103, "C5003", "123", "x@example.com")}), 422, "cliente.cpf_cnpj")

		// Batch over 1,000 items → 422.
		items := make([]map[string]any, 1001)
		for i := range items {
			items[i] = map[string]any{"id_cliente_servico": 5001, "status_prefixo": "suspenso_debito"}
		}
		requireProblem(t, e.do("POST", "/api/v1/servicos/status", map[string]any{"itens": items}), 422, "itens")
		require.Equal(t, "servico_habilitado", e.service(5001)["status_prefixo"])

		// One bad item among valid ones → 422, nothing changed.
		r := e.do("POST", "/api/v1/servicos/status", map[string]any{"itens": []map[string]any{
			{"id_cliente_servico": 5001, "status_prefixo": "suspenso_debito"},
			{"id_cliente_servico": 5002, "status_prefixo": "desconhecido"},
		}})
		p := requireProblem(t, r, 422)
		require.Contains(t, fmt.Sprint(p["erros"]), "itens[1]", "the bad item is named: %s", r.Body)
		require.Equal(t, "servico_habilitado", e.service(5001)["status_prefixo"])
		require.Equal(t, "servico_habilitado", e.service(5002)["status_prefixo"])

		// Unknown ids → nao_encontrado; known ones are applied.
		r = e.do("POST", "/api/v1/servicos/status", map[string]any{"itens": []map[string]any{
			{"id_cliente_servico": 5001, "status_prefixo": "suspenso_debito"},
			{"id_cliente_servico": 999999, "status_prefixo": "suspenso_debito"},
			{"id_cliente_servico": 5002, "status_prefixo": "servico_habilitado"},
		}})
		require.Equal(t, 200, r.Status, "%s", r.Body)
		res := r.JSON(t)["itens"].([]any)
		require.Len(t, res, 3)
		want := []struct {
			id     int64
			result string
		}{{5001, "atualizado"}, {999999, "nao_encontrado"}, {5002, "inalterado"}}
		for i, w := range want {
			m := res[i].(map[string]any)
			require.Equal(t, w.id, idOf(m, "id_cliente_servico"))
			require.Equal(t, w.result, m["resultado"], "item %d", i)
		}
		require.Equal(t, "suspenso_debito", e.service(5001)["status_prefixo"])

		// Dates: past → 422, bad format → 422.
		for _, d := range []string{"2000-01-01", dateFromToday(0, -1)} {
			requireProblem(t, e.do("POST", "/api/v1/servicos/5002/pacotes", map[string]any{"id_pacote": pkg, "data_expiracao": d}), 422, "data_expiracao")
		}
		for _, d := range []string{"31/12/2030", "2030-02-30", "2030-1-5", "amanhã"} {
			requireProblem(t, e.do("POST", "/api/v1/servicos/5002/pacotes", map[string]any{"id_pacote": pkg, "data_expiracao": d}), 422, "data_expiracao")
		}
		require.Empty(t, e.service(5002)["pacotes"], "no subscription from refused attaches")
		sub := e.attach(5002, pkg, dateFromToday(0, 0))
		require.Equal(t, dateFromToday(0, 0), e.subscription(sub)["data_expiracao"], "today is accepted")
		requireProblem(t, e.do("PATCH", path("/api/v1/assinaturas/%d", sub), map[string]any{"data_expiracao": "2000-01-01"}), 422, "data_expiracao")
		requireProblem(t, e.do("PATCH", path("/api/v1/assinaturas/%d", sub), map[string]any{"data_expiracao": "2030/01/01"}), 422, "data_expiracao")
	})
}
