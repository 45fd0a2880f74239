package httpapi_test

import (
	"encoding/json"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/svahub"
)

// TestAttachAnswerMatchesStoredState checks the lean attach path (POST
// /servicos/{id}/pacotes builds its answer and its plans' first aggregate
// in memory when the plans are new) against what the database then holds:
// the answer must equal GET /assinaturas/{id}, each plan's desired state,
// expiry and version must be what the general aggregate computes, and one
// River job must exist per plan version. The integration is paused while
// attaching so nothing converges in between; resuming it must then bring
// every plan to the simulator.
func TestAttachAnswerMatchesStoredState(t *testing.T) {
	t.Parallel()
	eachPlatform(t, func(t *testing.T, dialect string, pc platformCase) {
		e := newHarness(t, dialect, withPlatform(pc, simOptions{}))
		integ := idOf(e.createIntegration(map[string]any{"usuario": "login_autenticacao"}, map[string]any{"suspender_inadimplencia": true, "ativo": false}), "id_integracao")
		pro, premium, cursos := e.addProduct(integ, "pro"), e.addProduct(integ, "premium"), e.addProduct(integ, "1001")
		pkgBoth := e.addPackage(integ, "10.00", pro, premium)
		pkgShared := e.addPackage(integ, "5.00", cursos, pro) // "pro" is already on the account after pkgBoth
		pkgOne := e.addPackage(integ, "3.00", cursos)
		inactive := e.addPackage(integ, "1.00", cursos)
		r := e.do("PUT", path("/api/v1/pacotes/%d", inactive), map[string]any{"descricao": "Inativo", "valor": "1.00", "id_integracao": integ, "produtos": []int64{cursos}, "ativo": false})
		require.Equal(t, 200, r.Status, "%s", r.Body)

		type plan struct {
			desired, expiry string
			version         int64
		}
		planOf := func(username, code string) plan {
			var p plan
			require.NoError(t, e.db.SQL().QueryRow(e.rebind(`SELECT p.desired_state, p.desired_expiry, p.version FROM platform_plans p
				JOIN platform_accounts a ON a.id = p.account_id WHERE a.username = ? AND p.product_code = ?`), username, code).Scan(&p.desired, &p.expiry, &p.version))
			return p
		}
		jobs := func(username, code string) (n int, maxVersion int64) {
			var id int64 // before the job query: SQLite has one connection
			require.NoError(t, e.db.SQL().QueryRow(e.rebind(`SELECT p.id FROM platform_plans p JOIN platform_accounts a ON a.id = p.account_id
				WHERE a.username = ? AND p.product_code = ?`), username, code).Scan(&id))
			q := `SELECT args FROM river_job WHERE kind = 'converge_plan'`
			if dialect == store.DialectSQLite {
				q = `SELECT json(args) FROM river_job WHERE kind = 'converge_plan'`
			}
			rows, err := e.db.SQL().Query(q)
			require.NoError(t, err)
			defer rows.Close()
			for rows.Next() {
				var raw []byte
				require.NoError(t, rows.Scan(&raw))
				var a struct {
					PlanID  int64 `json:"plan_id"`
					Version int64 `json:"version"`
				}
				require.NoError(t, json.Unmarshal(raw, &a))
				if a.PlanID == id {
					n++
					maxVersion = max(maxVersion, a.Version)
				}
			}
			require.NoError(t, rows.Err())
			return n, maxVersion
		}
		attach := func(svc, pkg int64, expiry string) map[string]any {
			t.Helper()
			body := map[string]any{"id_pacote": pkg}
			if expiry != "" {
				body["data_expiracao"] = expiry
			}
			r := e.do("POST", path("/api/v1/servicos/%d/pacotes", svc), body)
			require.Equal(t, 201, r.Status, "%s", r.Body)
			got := r.JSON(t)
			require.Equal(t, e.subscription(idOf(got, "id_assinatura")), got, "the answer is what GET /assinaturas/{id} shows")
			return got
		}

		// 1. An enabled service, two new plans.
		require.Equal(t, 201, e.putService(7001, nil).Status)
		d1 := dateFromToday(1, 0)
		s1 := attach(7001, pkgBoth, d1)
		require.Equal(t, "pendente", s1["status"])
		accs := s1["acessos"].([]any)
		require.Len(t, accs, 2)
		for i, code := range []string{"pro", "premium"} {
			a := accs[i].(map[string]any)
			require.Equal(t, code, a["codigo_produto"])
			require.Equal(t, "ativo", a["estado_desejado"])
			require.Equal(t, "login7001", a["usuario_plataforma"])
			require.Equal(t, plan{"ativo", d1, 1}, planOf("login7001", code))
			n, v := jobs("login7001", code)
			require.Equal(t, 1, n)
			require.EqualValues(t, 1, v)
		}

		// 2. A package sharing "pro" with the first: the existing plan is
		// re-aggregated (the later expiry wins), the new one created.
		d2 := dateFromToday(2, 0)
		s2 := attach(7001, pkgShared, d2)
		require.Equal(t, "pendente", s2["status"])
		require.Equal(t, plan{"ativo", d2, 2}, planOf("login7001", "pro"))
		require.Equal(t, plan{"ativo", d2, 1}, planOf("login7001", "1001"))
		_, v := jobs("login7001", "pro")
		require.EqualValues(t, 2, v)

		// 3. Debt-suspended service, key on: suspenso from the start.
		require.Equal(t, 201, e.putService(7002, map[string]any{"status_prefixo": "suspenso_debito"}).Status)
		s3 := attach(7002, pkgOne, "")
		require.Equal(t, "suspenso", s3["acessos"].([]any)[0].(map[string]any)["estado_desejado"])
		require.Equal(t, "suspenso", planOf("login7002", "1001").desired)

		// 3b. New plans on an account that already exists (the one-statement
		// path on PostgreSQL).
		s3b := attach(7002, pkgBoth, d2)
		require.Equal(t, "pendente", s3b["status"])
		require.Equal(t, plan{"suspenso", d2, 1}, planOf("login7002", "pro"))
		require.Equal(t, plan{"suspenso", d2, 1}, planOf("login7002", "premium"))

		// 4. Awaiting installation: no platform state wanted yet, but the
		// plan exists and carries the expiry.
		require.Equal(t, 201, e.putService(7003, map[string]any{"status_prefixo": "aguardando_instalacao"}).Status)
		s4 := attach(7003, pkgOne, d1)
		require.Equal(t, "pendente", s4["status"])
		require.Equal(t, plan{"", d1, 1}, planOf("login7003", "1001"))

		// 5. Cancelled service: nothing is attached (it would be billed) until
		// the service comes back.
		require.Equal(t, 201, e.putService(7004, map[string]any{"status_prefixo": "cancelado"}).Status)
		requireProblem(t, e.do("POST", "/api/v1/servicos/7004/pacotes", map[string]any{"id_pacote": pkgOne}), 409)
		require.Empty(t, e.service(7004)["pacotes"])

		// 6. No login under the login policy: erro, no plan.
		require.Equal(t, 201, e.putService(7005, map[string]any{"login": ""}).Status)
		s6 := attach(7005, pkgOne, "")
		require.Equal(t, "erro", s6["status"])
		require.NotEmpty(t, s6["ultimo_erro"])
		require.Empty(t, s6["acessos"].([]any)[0].(map[string]any)["usuario_plataforma"])

		// Refusals change nothing.
		var before int
		require.NoError(t, e.db.SQL().QueryRow("SELECT count(*) FROM subscriptions").Scan(&before))
		requireProblem(t, e.do("POST", "/api/v1/servicos/7001/pacotes", map[string]any{"id_pacote": pkgBoth}), 409)
		requireProblem(t, e.do("POST", "/api/v1/servicos/7001/pacotes", map[string]any{"id_pacote": 999999}), 422, "id_pacote")
		requireProblem(t, e.do("POST", "/api/v1/servicos/7001/pacotes", map[string]any{"id_pacote": inactive}), 422, "id_pacote")
		requireProblem(t, e.do("POST", "/api/v1/servicos/999999/pacotes", map[string]any{"id_pacote": pkgOne}), 404)
		var after int
		require.NoError(t, e.db.SQL().QueryRow("SELECT count(*) FROM subscriptions").Scan(&after))
		require.Equal(t, before, after)

		// Resuming the integration converges everything on the simulator.
		body := e.plat.Integration(map[string]any{"usuario": "login_autenticacao"})
		body["ativo"], body["suspender_inadimplencia"] = true, true
		r = e.do("PUT", path("/api/v1/integracoes/%d", integ), body)
		require.Equal(t, 200, r.Status, "%s", r.Body)
		e.waitStatus(idOf(s1, "id_assinatura"), "ativo")
		e.waitStatus(idOf(s2, "id_assinatura"), "ativo")
		e.waitStatus(idOf(s3, "id_assinatura"), "suspenso")
		e.waitSimPlan("login7001", "pro", "ativo")
		e.waitSimPlan("login7001", "premium", "ativo")
		e.waitSimPlan("login7001", "1001", "ativo")
		_, exp := e.simPlan("login7001", "pro")
		require.Equal(t, d2, exp)
		require.Equal(t, 1, e.plat.Calls(svahub.OpCreateUser), "only the enabled service needs a platform user")
	})
}

// TestConcurrentAttachSharedAccount attaches one package to many services
// sharing a platform account (cpf_cnpj policy) at once: the account and its
// plan are created by whichever transaction comes first, the others find
// them (on PostgreSQL a transaction that could not see a plan created
// meanwhile runs again), and the plan ends with every subscription as a
// member and the latest expiry.
func TestConcurrentAttachSharedAccount(t *testing.T) {
	t.Parallel()
	eachPlatform(t, func(t *testing.T, dialect string, pc platformCase) {
		e := newHarness(t, dialect, withPlatform(pc, simOptions{}))
		integ := idOf(e.createIntegration(map[string]any{"usuario": "cpf_cnpj"}, map[string]any{"ativo": false}), "id_integracao")
		pkg := e.addPackage(integ, "10.00", e.addProduct(integ, "pro"))
		const n = 12
		for i := range n {
			r := e.putService(int64(8000+i), map[string]any{"cliente": customer(900, "C900", "529.982.247-25", "maria@example.com")})
			require.Equal(t, 201, r.Status, "%s", r.Body)
		}
		// The account exists (another product), the plan does not: on
		// PostgreSQL the attaches race in the one-statement path.
		other := e.addPackage(integ, "5.00", e.addProduct(integ, "premium"))
		r := e.do("POST", "/api/v1/servicos/8000/pacotes", map[string]any{"id_pacote": other})
		require.Equal(t, 201, r.Status, "%s", r.Body)
		var wg sync.WaitGroup
		answers := make([]response, n)
		for i := range n {
			wg.Go(func() {
				answers[i] = e.do("POST", path("/api/v1/servicos/%d/pacotes", 8000+i), map[string]any{"id_pacote": pkg, "data_expiracao": dateFromToday(1, i)})
			})
		}
		wg.Wait()
		for i, r := range answers {
			require.Equal(t, 201, r.Status, "service %d: %s", 8000+i, r.Body)
			got := r.JSON(t)
			require.Equal(t, "52998224725", firstAccess(got)["usuario_plataforma"])
			require.Equal(t, e.subscription(idOf(got, "id_assinatura"))["acessos"], got["acessos"])
		}
		var accounts, plans, members, nullPlans int
		require.NoError(t, e.db.SQL().QueryRow("SELECT count(*) FROM platform_accounts").Scan(&accounts))
		require.NoError(t, e.db.SQL().QueryRow("SELECT count(*) FROM platform_plans").Scan(&plans))
		require.NoError(t, e.db.SQL().QueryRow("SELECT count(*) FROM accesses WHERE plan_id IS NOT NULL").Scan(&members))
		require.NoError(t, e.db.SQL().QueryRow("SELECT count(*) FROM accesses WHERE plan_id IS NULL").Scan(&nullPlans))
		require.Equal(t, []int{1, 2, n + 1, 0}, []int{accounts, plans, members, nullPlans})
		var desired, expiry string
		require.NoError(t, e.db.SQL().QueryRow("SELECT desired_state, desired_expiry FROM platform_plans WHERE product_code = 'pro'").Scan(&desired, &expiry))
		require.Equal(t, "ativo", desired)
		require.Equal(t, dateFromToday(1, n-1), expiry, "the latest expiry of the members")

		body := e.plat.Integration(map[string]any{"usuario": "cpf_cnpj"})
		body["ativo"] = true
		r = e.do("PUT", path("/api/v1/integracoes/%d", integ), body)
		require.Equal(t, 200, r.Status, "%s", r.Body)
		for _, a := range answers {
			e.waitStatus(idOf(a.JSON(t), "id_assinatura"), "ativo")
		}
		_, exp := e.simPlan("52998224725", "pro")
		require.Equal(t, dateFromToday(1, n-1), exp)
		require.Equal(t, 1, e.plat.Calls(svahub.OpCreateUser))
	})
}
