package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/internal/svahub"
	"github.com/svahub/svahub/pkg/qualifica/qualificasim"
)

// Helpers of this file only are prefixed lb; the shared ones are methods of
// the harness (harness_test.go).

// simToken gets a token straight from the simulator, as another client of
// the platform would.
func simToken(t *testing.T, sim *qualificasim.Sim) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {qualificasim.DefaultClientID}, "client_secret": {qualificasim.DefaultClientSecret}}
	res, err := http.Post(sim.URL()+"/oauth/token", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, 200, res.StatusCode, "%s", raw)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(t, json.Unmarshal(raw, &tok))
	require.NotEmpty(t, tok.AccessToken)
	return tok.AccessToken
}

// simCall calls the simulator's contract API behind svahub's back.
func simCall(t *testing.T, sim *qualificasim.Sim, method, p, token string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, sim.URL()+p, rd)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, raw
}

// 1. Default expiry: same day and month next year in São Paulo; 29 Feb → 28 Feb.
func TestLBExpiryDefault(t *testing.T) {
	t.Parallel()
	eachPlatform(t, func(t *testing.T, dialect string, pc platformCase) {
		// 02:30 UTC on the 28th is still the 27th in São Paulo.
		e := newHarness(t, dialect, withPlatform(pc, simOptions{}), withClockAt(saoPauloAt(t, "2026-11-28T02:30:00Z")))
		_, pkg := e.catalogue(nil, nil, "29.90", "pro")

		require.Equal(t, 201, e.putService(6101, nil).Status)
		sub := e.attachWith(6101, map[string]any{"id_pacote": pkg})
		require.Equal(t, "2027-11-27", sub["data_expiracao"])
		e.waitStatus(idOf(sub, "id_assinatura"), "ativo")
		e.waitSimExpiry("login6101", "pro", "ativo", "2027-11-27")

		// Leap day.
		e.clock.Set(saoPauloAt(t, "2028-02-29T15:00:00-03:00"))
		require.Equal(t, 201, e.putService(6102, nil).Status)
		sub = e.attachWith(6102, map[string]any{"id_pacote": pkg})
		require.Equal(t, "2029-02-28", sub["data_expiracao"])
		e.waitStatus(idOf(sub, "id_assinatura"), "ativo")
		e.waitSimExpiry("login6102", "pro", "ativo", "2029-02-28")

		// An explicit date before today (in São Paulo) → 422.
		require.Equal(t, 201, e.putService(6103, nil).Status)
		requireProblem(t, e.do("POST", "/api/v1/servicos/6103/pacotes", map[string]any{"id_pacote": pkg, "data_expiracao": "2028-02-28"}), 422, "data_expiracao")
		r := e.do("GET", "/api/v1/servicos/6103/pacotes", nil)
		require.Empty(t, e.items(r), "a refused attach leaves nothing behind")

		// Late evening in São Paulo is already tomorrow in UTC: today's
		// São Paulo date is still accepted.
		e.clock.Set(saoPauloAt(t, "2028-03-01T01:00:00Z")) // 2028-02-29 22:00 in São Paulo
		sub = e.attachWith(6103, map[string]any{"id_pacote": pkg, "data_expiracao": "2028-02-29"})
		require.Equal(t, "2028-02-29", sub["data_expiracao"])
		e.waitStatus(idOf(sub, "id_assinatura"), "ativo")
		e.waitSimExpiry("login6103", "pro", "ativo", "2028-02-29")
	})
}

// 2 and 3. PATCH moves the date on the platform (also while suspended);
// past the date the subscription is expirado; moving it forward revives it.
func TestLBExpiryPatchAndExpire(t *testing.T) {
	t.Parallel()
	eachPlatform(t, func(t *testing.T, dialect string, pc platformCase) {
		ctx := context.Background()
		e := newHarness(t, dialect, withPlatform(pc, simOptions{}), withClockAt(saoPauloAt(t, "2026-11-28T02:30:00Z")))
		_, pkg := e.catalogue(nil, nil, "29.90", "pro")
		require.Equal(t, 201, e.putService(6201, nil).Status)
		sub := idOf(e.attachWith(6201, map[string]any{"id_pacote": pkg}), "id_assinatura")
		e.waitStatus(sub, "ativo")
		e.waitSimExpiry("login6201", "pro", "ativo", "2027-11-27")

		// Move forward while active.
		r := e.patchExpiry(sub, "2028-01-31")
		require.Equal(t, 200, r.Status, "%s", r.Body)
		require.Equal(t, "2028-01-31", r.JSON(t)["data_expiracao"])
		e.waitSimExpiry("login6201", "pro", "ativo", "2028-01-31")
		got := e.waitStatus(sub, "ativo")
		require.Equal(t, "2028-01-31", got["data_expiracao"])
		trs := e.transmissions(path("id_assinatura=%d&operacao=atualizar_expiracao&resultado=sucesso", sub))
		require.NotEmpty(t, trs)

		// A past date → 422, nothing changes; today (São Paulo) is fine.
		requireProblem(t, e.patchExpiry(sub, "2026-11-26"), 422, "data_expiracao")
		require.Equal(t, "2028-01-31", e.subscription(sub)["data_expiracao"])
		requireProblem(t, e.patchExpiry(sub, "2026-02-30"), 422, "data_expiracao")
		r = e.patchExpiry(sub, "2026-11-27") // 2026-11-28 in UTC
		require.Equal(t, 200, r.Status, "%s", r.Body)
		e.waitSimExpiry("login6201", "pro", "ativo", "2026-11-27")
		e.waitStatus(sub, "ativo")

		// While suspended: the date moves, the plan stays suspended.
		e.setStatus(6201, "suspenso_pedido_cliente")
		e.waitSimPlan("login6201", "pro", "suspenso")
		e.waitStatus(sub, "suspenso")
		updates, suspends := e.plat.Calls(svahub.OpUpdateExpiry), e.plat.Calls(svahub.OpSuspend)
		r = e.patchExpiry(sub, "2028-06-30")
		require.Equal(t, 200, r.Status, "%s", r.Body)
		e.waitSimExpiry("login6201", "pro", "suspenso", "2028-06-30")
		got = e.waitStatus(sub, "suspenso")
		require.Equal(t, "2028-06-30", got["data_expiracao"])
		require.Empty(t, got["ultimo_erro"])
		require.Greater(t, e.plat.Calls(svahub.OpUpdateExpiry), updates, "an expiry update, not an activation")
		require.Equal(t, suspends, e.plat.Calls(svahub.OpSuspend), "the plan was never reactivated by the move")
		e.setStatus(6201, "servico_habilitado")
		e.waitSimPlan("login6201", "pro", "ativo")
		e.waitStatus(sub, "ativo")

		// Expiry marking.
		r = e.patchExpiry(sub, "2026-12-10")
		require.Equal(t, 200, r.Status, "%s", r.Body)
		e.waitSimExpiry("login6201", "pro", "ativo", "2026-12-10")
		e.waitStatus(sub, "ativo")
		n, err := e.app.DB.ExpireSubscriptions(ctx)
		require.NoError(t, err)
		require.Zero(t, n, "not expired on its last day")

		e.clock.Set(saoPauloAt(t, "2026-12-11T09:00:00-03:00"))
		n, err = e.app.DB.ExpireSubscriptions(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		got = e.subscription(sub)
		require.Equal(t, "expirado", got["status"])
		items := e.items(e.do("GET", "/api/v1/assinaturas?status=expirado", nil))
		require.Len(t, items, 1)
		require.EqualValues(t, sub, items[0]["id_assinatura"])
		n, err = e.app.DB.ExpireSubscriptions(ctx)
		require.NoError(t, err)
		require.Zero(t, n, "idempotent")
		st, _ := e.simPlan("login6201", "pro")
		require.Equal(t, "expirado", st, "the platform enforces the date itself")

		// A past date is still refused; a future one revives it.
		requireProblem(t, e.patchExpiry(sub, "2026-12-10"), 422, "data_expiracao")
		r = e.patchExpiry(sub, "2027-06-30")
		require.Equal(t, 200, r.Status, "%s", r.Body)
		require.NotEqual(t, "expirado", r.JSON(t)["status"])
		e.waitSimExpiry("login6201", "pro", "ativo", "2027-06-30")
		got = e.waitStatus(sub, "ativo")
		require.Equal(t, "2027-06-30", got["data_expiracao"])
		n, err = e.app.DB.ExpireSubscriptions(ctx)
		require.NoError(t, err)
		require.Zero(t, n)
		require.Equal(t, "ativo", e.subscription(sub)["status"])
	})
}

// 4. An unknown product code fails permanently with the platform's message;
// fixing the code and retransmitir activates it.
//
// Qualifica only: the error comes from a code missing in Qualifica's
// catalogue (products saved unverified, then verified); the
// platform-neutral version is TestLBPermanentErrorRetransmit.
func TestLBInvalidProductCodeRetransmit(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect)
		integ := e.createIntegration(map[string]any{"url_base": closedURL(t)}, nil)
		require.Equal(t, "erro", integ["token"].(map[string]any)["status"])
		integID := idOf(integ, "id_integracao")

		// The platform is unreachable: the wrong code is saved unverified.
		r := e.do("POST", path("/api/v1/integracoes/%d/produtos", integID), map[string]any{"descricao": "Errado", "codigo": "xyz"})
		require.Equal(t, 201, r.Status, "%s", r.Body)
		prod := r.JSON(t)
		require.Equal(t, false, prod["verificado"])
		prodID := idOf(prod, "id_produto")
		r = e.do("POST", "/api/v1/pacotes", map[string]any{"descricao": "Pacote X", "valor": "19.90", "id_integracao": integID, "produtos": []int64{prodID}})
		require.Equal(t, 201, r.Status, "%s", r.Body)
		pkg := idOf(r.JSON(t), "id_pacote")

		// Point the integration at the platform: token generated at once.
		r = e.do("PUT", path("/api/v1/integracoes/%d", integID), map[string]any{
			"descricao": "Qualifica", "plataforma": "qualifica",
			"parametros": map[string]any{"client_id": qualificasim.DefaultClientID, "client_secret": qualificasim.DefaultClientSecret, "url_base": e.sim.URL()},
		})
		require.Equal(t, 200, r.Status, "%s", r.Body)
		require.Equal(t, "valido", r.JSON(t)["token"].(map[string]any)["status"], "%s", r.Body)

		require.Equal(t, 201, e.putService(6401, nil).Status)
		sub := idOf(e.attachWith(6401, map[string]any{"id_pacote": pkg}), "id_assinatura")
		got := e.waitStatus(sub, "erro")
		require.Contains(t, got["ultimo_erro"], "xyz", "%v", got)
		acc := got["acessos"].([]any)[0].(map[string]any)
		require.Equal(t, "xyz", acc["codigo_produto"])
		require.Contains(t, acc["ultimo_erro"], "xyz")

		trs := e.transmissions(path("id_assinatura=%d&resultado=erro", sub))
		require.NotEmpty(t, trs)
		found := false
		for _, tr := range trs {
			require.Equal(t, "erro", tr["resultado"])
			if tr["operacao"] == "ativar_plano" && strings.Contains(tr["mensagem"].(string), "xyz") {
				require.EqualValues(t, 422, tr["status_http"])
				found = true
			}
		}
		require.True(t, found, "no ativar_plano erro transmission: %v", trs)
		items := e.items(e.do("GET", "/api/v1/assinaturas?status=erro", nil))
		require.Len(t, items, 1)

		// A permanent error is not retried on its own.
		calls := e.sim.Calls()[qualificasim.OpPutPlan]
		require.Equal(t, "erro", e.subscription(sub)["status"])

		// Fix the code, retransmit.
		r = e.do("PUT", path("/api/v1/produtos/%d", prodID), map[string]any{"descricao": "Pro", "codigo": "pro"})
		require.Equal(t, 200, r.Status, "%s", r.Body)
		require.Equal(t, true, r.JSON(t)["verificado"])
		require.Equal(t, calls, e.sim.Calls()[qualificasim.OpPutPlan])
		r = e.do("POST", path("/api/v1/assinaturas/%d/retransmitir", sub), nil)
		require.Equal(t, 202, r.Status, "%s", r.Body)
		got = e.waitStatus(sub, "ativo")
		require.Empty(t, got["ultimo_erro"])
		acc = got["acessos"].([]any)[0].(map[string]any)
		require.Equal(t, "pro", acc["codigo_produto"])
		require.Empty(t, acc["ultimo_erro"])
		e.waitSimPlan("login6401", "pro", "ativo")
		u, ok := e.sim.UserByUsername("login6401")
		require.True(t, ok)
		require.Equal(t, 1, u.CreateCalls)
		require.Len(t, u.Plans, 1, "no plan for the wrong code on the platform")
	})
}

// 4b. A permanent refusal (4xx) of ativar_plano puts the subscription in
// erro with the platform's status; it is not retried on its own;
// retransmitir activates it, without a second user.
func TestLBPermanentErrorRetransmit(t *testing.T) {
	t.Parallel()
	eachPlatform(t, func(t *testing.T, dialect string, pc platformCase) {
		e := newHarness(t, dialect, withPlatform(pc, simOptions{}))
		_, pkg := e.catalogue(nil, nil, "29.90", "pro")
		e.plat.FailNext(svahub.OpActivatePlan, 422, 1)
		require.Equal(t, 201, e.putService(6451, nil).Status)
		sub := idOf(e.attachWith(6451, map[string]any{"id_pacote": pkg}), "id_assinatura")
		got := e.waitStatus(sub, "erro")
		require.NotEmpty(t, got["ultimo_erro"], "%v", got)
		require.NotEmpty(t, firstAccess(got)["ultimo_erro"])
		found := false
		for _, tr := range e.transmissions(path("id_assinatura=%d&resultado=erro", sub)) {
			if tr["operacao"] == "ativar_plano" {
				require.EqualValues(t, 422, tr["status_http"], "%v", tr)
				found = true
			}
		}
		require.True(t, found, "no ativar_plano erro transmission")
		require.Len(t, e.items(e.do("GET", "/api/v1/assinaturas?status=erro", nil)), 1)

		// Not retried on its own.
		calls := e.plat.Calls(svahub.OpActivatePlan)
		e.quiet()
		require.Equal(t, calls, e.plat.Calls(svahub.OpActivatePlan))
		require.Equal(t, "erro", e.subscription(sub)["status"])

		r := e.do("POST", path("/api/v1/assinaturas/%d/retransmitir", sub), nil)
		require.Equal(t, 202, r.Status, "%s", r.Body)
		got = e.waitStatus(sub, "ativo")
		require.Empty(t, got["ultimo_erro"])
		require.Empty(t, firstAccess(got)["ultimo_erro"])
		e.waitSimPlan("login6451", "pro", "ativo")
		u, ok := e.plat.User("login6451")
		require.True(t, ok)
		require.Equal(t, 1, u.CreateCalls)
		require.Equal(t, 1, e.plat.Calls(svahub.OpCreateUser))
	})
}

// 5a. 5xx during a status change are temporary: logged, retried, converged.
func TestLBPlatformDownDuringStatusChange(t *testing.T) {
	t.Parallel()
	eachPlatform(t, func(t *testing.T, dialect string, pc platformCase) {
		e := newHarness(t, dialect, withPlatform(pc, simOptions{}))
		_, pkg := e.catalogue(nil, nil, "29.90", "pro")
		require.Equal(t, 201, e.putService(6501, nil).Status)
		sub := idOf(e.attachWith(6501, map[string]any{"id_pacote": pkg}), "id_assinatura")
		e.waitStatus(sub, "ativo")
		e.waitSimPlan("login6501", "pro", "ativo")

		e.plat.SetDown(true)
		e.setStatus(6501, "suspenso_pedido_cliente")
		var trs []map[string]any
		e.eventually("temporary errors logged", func() bool {
			trs = e.transmissions(path("id_assinatura=%d&resultado=erro_temporario", sub))
			return len(trs) >= 3
		})
		for _, tr := range trs {
			require.EqualValues(t, 503, tr["status_http"], "%v", tr)
			require.NotEmpty(t, tr["mensagem"])
		}
		got := e.subscription(sub)
		require.NotEqual(t, "erro", got["status"], "%v", got)
		require.Empty(t, got["ultimo_erro"])
		st, _ := e.simPlan("login6501", "pro")
		require.Equal(t, "ativo", st)

		e.plat.SetDown(false)
		e.waitSimPlan("login6501", "pro", "suspenso")
		got = e.waitStatus(sub, "suspenso")
		require.Empty(t, got["ultimo_erro"])
		require.NotEmpty(t, e.transmissions(path("id_assinatura=%d&operacao=suspender&resultado=sucesso", sub)))
	})
}

// 5b. 429 with Retry-After: work is snoozed and everything converges.
//
// Qualifica only: it uses the simulator's per-client rate limit.
func TestLBRateLimitedConverges(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect)
		_, pkg := e.catalogue(nil, nil, "29.90", "pro")
		ids := []int64{6551, 6552, 6553, 6554, 6555, 6556}
		var subs []int64
		enable := make([]map[string]any, 0, len(ids))
		for _, id := range ids {
			require.Equal(t, 201, e.putService(id, map[string]any{"status_prefixo": "aguardando_instalacao"}).Status)
			subs = append(subs, idOf(e.attachWith(id, map[string]any{"id_pacote": pkg}), "id_assinatura"))
			enable = append(enable, map[string]any{"id_cliente_servico": id, "status_prefixo": "servico_habilitado"})
		}
		// Enabled together, the six plans hit a platform allowing 2 requests
		// per second (burst 2) at once.
		e.sim.SetRateLimit(2)
		r := e.do("POST", "/api/v1/servicos/status", map[string]any{"itens": enable})
		require.Equal(t, 200, r.Status, "%s", r.Body)
		for i, id := range ids {
			e.waitStatus(subs[i], "ativo")
			e.waitSimPlan(path("login%d", id), "pro", "ativo")
			u, _ := e.sim.UserByUsername(path("login%d", id))
			require.Equal(t, 1, u.CreateCalls)
		}
		require.Positive(t, e.sim.Calls()[qualificasim.Call429])
		var limited int
		for _, tr := range e.transmissions("resultado=erro_temporario") {
			if tr["status_http"] == float64(429) {
				limited++
			}
		}
		require.Positive(t, limited, "429 answers are logged as erro_temporario")
		for _, s := range subs {
			require.Empty(t, e.transmissions(path("id_assinatura=%d&resultado=erro", s)), "429 is never permanent")
		}
	})
}

// 6. An inactive integration holds its work; re-activating releases it.
func TestLBInactiveIntegrationHoldsWork(t *testing.T) {
	t.Parallel()
	eachPlatform(t, func(t *testing.T, dialect string, pc platformCase) {
		ctx := context.Background()
		e := newHarness(t, dialect, withPlatform(pc, simOptions{}))
		integA, pkgA := e.catalogue(nil, nil, "10.00", "pro")
		_, pkgB := e.catalogue(nil, nil, "20.00", "premium")
		require.Equal(t, 201, e.putService(6601, nil).Status)
		require.Equal(t, 201, e.putService(6602, nil).Status)
		subA := idOf(e.attachWith(6601, map[string]any{"id_pacote": pkgA}), "id_assinatura")
		subB := idOf(e.attachWith(6602, map[string]any{"id_pacote": pkgB}), "id_assinatura")
		e.waitStatus(subA, "ativo")
		e.waitStatus(subB, "ativo")
		e.waitSimPlan("login6601", "pro", "ativo")
		e.waitSimPlan("login6602", "premium", "ativo")

		setActive := func(active bool) {
			t.Helper()
			r := e.do("PUT", path("/api/v1/integracoes/%d", integA), map[string]any{"ativo": active})
			require.Equal(t, 200, r.Status, "%s", r.Body)
			got := r.JSON(t)
			require.Equal(t, active, got["ativo"])
			require.Equal(t, "valido", got["token"].(map[string]any)["status"], "credentials unchanged: token kept")
		}
		setActive(false)

		e.setStatus(6601, "suspenso_pedido_cliente")
		e.setStatus(6602, "suspenso_pedido_cliente")
		e.waitSimPlan("login6602", "premium", "suspenso")
		e.waitStatus(subB, "suspenso")

		// The sweep leaves held work alone too.
		n, err := e.app.DB.EnqueuePending(ctx, 1000)
		require.NoError(t, err)
		require.Zero(t, n)

		st, _ := e.simPlan("login6601", "pro")
		require.Equal(t, "ativo", st, "no platform call for an inactive integration")
		require.Empty(t, e.transmissions(path("id_assinatura=%d&operacao=suspender", subA)))
		got := e.subscription(subA)
		require.NotEqual(t, "suspenso", got["status"])
		require.NotEqual(t, "erro", got["status"])
		acc := got["acessos"].([]any)[0].(map[string]any)
		require.Equal(t, "suspenso", acc["estado_desejado"])
		require.Equal(t, "ativo", acc["estado_plataforma"])

		// Re-activating releases the held work (nothing lost). First let the
		// job that found the integration inactive be finalised (see below).
		e.eventuallyWithin("held job finalised", 15*time.Second, func() bool { return e.liveJobs() == 0 })
		setActive(true)
		e.waitSimPlanOf(subA, "login6601", "pro", "suspenso")
		e.waitStatus(subA, "suspenso")

		// Again, re-activated right after the change, while the job that
		// found the integration inactive may still be finishing.
		setActive(false)
		e.setStatus(6601, "servico_habilitado")
		got = e.subscription(subA)
		require.Equal(t, "ativo", got["acessos"].([]any)[0].(map[string]any)["estado_desejado"])
		setActive(true)
		simActive := func() bool { st, _ := e.simPlan("login6601", "pro"); return st == "ativo" }
		stuck := false
		e.eventuallyWithin("held work sent, or no job left to send it", time.Minute, func() bool {
			// A job converging the plan calls the platform before it is
			// finalised: no live job and no platform call means stuck.
			live := e.liveJobs()
			if simActive() {
				return true
			}
			stuck = live == 0
			return stuck
		})
		require.False(t, stuck, "held plan not sent on resume; jobs: %s", e.jobs())
		e.waitStatus(subA, "ativo")
		n, err = e.app.DB.EnqueuePending(ctx, 1000)
		require.NoError(t, err)
		require.Zero(t, n, "nothing left for the sweep")
		st, _ = e.simPlan("login6602", "premium")
		require.Equal(t, "suspenso", st)
	})
}

// 7. Billing feed: pro rata by São Paulo days; the cancel day is not billed.
func TestLBBillingFeed(t *testing.T) {
	t.Parallel()
	eachPlatform(t, func(t *testing.T, dialect string, pc platformCase) {
		e := newHarness(t, dialect, withPlatform(pc, simOptions{}), withClockAt(saoPauloAt(t, "2026-11-01T12:00:00-03:00")))
		_, pkg30 := e.catalogue(nil, nil, "30.00", "pro")
		_, pkg2990 := e.catalogue(nil, nil, "29.90", "premium")
		_, pkg0 := e.catalogue(nil, nil, "0.00", "1001")

		require.Equal(t, 201, e.putService(6702, nil).Status)
		cancelled := idOf(e.attachWith(6702, map[string]any{"id_pacote": pkg2990}), "id_assinatura")

		// 02:00 UTC on the 15th is still the 14th in São Paulo.
		e.clock.Set(saoPauloAt(t, "2026-11-15T02:00:00Z"))
		require.Equal(t, 201, e.putService(6701, nil).Status)
		live := idOf(e.attachWith(6701, map[string]any{"id_pacote": pkg30}), "id_assinatura")
		benefit := idOf(e.attachWith(6701, map[string]any{"id_pacote": pkg0}), "id_assinatura")

		// 01:00 UTC on the 19th is still the 18th in São Paulo.
		e.clock.Set(saoPauloAt(t, "2026-11-19T01:00:00Z"))
		r := e.do("DELETE", path("/api/v1/servicos/6702/pacotes/%d", cancelled), nil)
		require.Equal(t, 204, r.Status, "%s", r.Body)

		r = e.do("GET", "/api/v1/cobrancas?competencia=2026-11", nil)
		require.Equal(t, 200, r.Status, "%s", r.Body)
		body := r.JSON(t)
		require.Equal(t, "2026-11", body["competencia"])
		items := e.items(r)
		bySub := map[int64]map[string]any{}
		for _, it := range items {
			bySub[idOf(it, "id_assinatura")] = it
		}
		require.Len(t, items, 2, "%s", r.Body)
		require.NotContains(t, bySub, benefit, "a 0.00 benefit is not billed")
		require.EqualValues(t, 2, body["paginacao"].(map[string]any)["total_registros"])

		it := bySub[live]
		require.NotNil(t, it, "%s", r.Body)
		require.Equal(t, "30.00", it["valor"])
		require.EqualValues(t, 17, it["dias_cobrados"], "14..30 Nov: %v", it)
		require.EqualValues(t, 30, it["dias_no_mes"])
		require.Equal(t, "17.00", it["valor_proporcional"])
		require.EqualValues(t, 6701, it["id_cliente_servico"])
		require.EqualValues(t, pkg30, it["id_pacote"])

		it = bySub[cancelled]
		require.NotNil(t, it, "%s", r.Body)
		require.Equal(t, "29.90", it["valor"])
		require.EqualValues(t, 17, it["dias_cobrados"], "1..17 Nov, cancelled on the 18th: %v", it)
		require.EqualValues(t, 30, it["dias_no_mes"])
		require.Equal(t, "16.94", it["valor_proporcional"])
		require.EqualValues(t, 6702, it["id_cliente_servico"])

		r = e.do("GET", "/api/v1/cobrancas?competencia=2026-12", nil)
		items = e.items(r)
		require.Len(t, items, 1, "%s", r.Body)
		require.EqualValues(t, live, items[0]["id_assinatura"])
		require.EqualValues(t, 31, items[0]["dias_cobrados"])
		require.EqualValues(t, 31, items[0]["dias_no_mes"])
		require.Equal(t, "30.00", items[0]["valor_proporcional"])

		// Before anything existed: empty.
		require.Empty(t, e.items(e.do("GET", "/api/v1/cobrancas?competencia=2026-10", nil)))

		for _, bad := range []string{"2026-13", "nov", "", "2026-1", "2026-11-01"} {
			requireProblem(t, e.do("GET", "/api/v1/cobrancas?competencia="+url.QueryEscape(bad), nil), 400)
		}
	})
}

// 8. Batch status change: 1,000 items over ~300 real services.
func TestLBBatchStatus(t *testing.T) {
	t.Parallel()
	eachPlatform(t, func(t *testing.T, dialect string, pc platformCase) {
		// modernc SQLite under -race costs ~200 ms per write transaction and
		// serialises every writer: fewer real services there keep the suite
		// within its time budget; the batch is 1,000 items on both.
		nReal := 300
		if dialect == "sqlite" {
			nReal = 120
		}
		const base = int64(20001)
		e := newHarness(t, dialect, withPlatform(pc, simOptions{}))
		_, pkg := e.catalogue(map[string]any{"suspender_inadimplencia": true}, nil, "9.90", "pro")
		r := e.do("PUT", "/api/v1/planos/900", map[string]any{"descricao": "Fibra + Qualifica", "pacotes": []int64{pkg}})
		require.Contains(t, []int{200, 201}, r.Status, "%s", r.Body)

		var ids []int64 // the real services, set below
		countPlans := func(status string) int {
			n := 0
			for _, id := range ids {
				if st, _, ok := e.plat.Plan(path("login%d", id), "pro"); ok && st == status {
					n++
				}
			}
			return n
		}
		batch := func(items []map[string]any) []map[string]any {
			t.Helper()
			r := e.do("POST", "/api/v1/servicos/status", map[string]any{"itens": items})
			got := e.items(r)
			require.Len(t, got, len(items))
			return got
		}

		// The services arrive awaiting installation with the combo (no
		// platform user yet) and one batch enables them all.
		ids = make([]int64, nReal)
		enable := make([]map[string]any, nReal)
		for i := range ids {
			ids[i] = base + int64(i)
			enable[i] = map[string]any{"id_cliente_servico": ids[i], "status_prefixo": "servico_habilitado"}
		}
		e.putServices(ids, map[string]any{"id_servico": 900, "status_prefixo": "aguardando_instalacao"}, 6)
		require.Zero(t, e.plat.UserCount())
		for _, it := range batch(enable) {
			require.Equal(t, "atualizado", it["resultado"], "%v", it)
		}
		e.eventuallyWithin("every plan active on the platform", time.Minute, func() bool { return countPlans("ativo") == nReal })

		// Validation is all or nothing.
		requireProblem(t, e.do("POST", "/api/v1/servicos/status", map[string]any{"itens": []map[string]any{
			{"id_cliente_servico": base, "status_prefixo": "suspenso_debito"},
			{"id_cliente_servico": base + 1, "status_prefixo": "voando"},
		}}), 422)
		too := make([]map[string]any, 1001)
		for i := range too {
			too[i] = map[string]any{"id_cliente_servico": base + int64(i), "status_prefixo": "suspenso_debito"}
		}
		requireProblem(t, e.do("POST", "/api/v1/servicos/status", map[string]any{"itens": too}), 422)
		r = e.do("GET", path("/api/v1/servicos/%d", base), nil)
		require.Equal(t, "servico_habilitado", r.JSON(t)["status_prefixo"])

		// The first 20 are suspended ahead of the big batch.
		first := make([]map[string]any, 20)
		for i := range first {
			first[i] = map[string]any{"id_cliente_servico": ids[i], "status_prefixo": "suspenso_debito"}
		}
		for _, it := range batch(first) {
			require.Equal(t, "atualizado", it["resultado"], "%v", it)
		}

		// 1,000 items: the real services spread among unknown ids.
		items := make([]map[string]any, 0, 1000)
		want := make([]string, 0, 1000)
		step, next, unknown := 1000/nReal, 0, int64(900001)
		for i := 0; i < 1000; i++ {
			if i%step == 0 && next < nReal {
				items = append(items, map[string]any{"id_cliente_servico": ids[next], "status_prefixo": "suspenso_debito"})
				if next < len(first) {
					want = append(want, "inalterado")
				} else {
					want = append(want, "atualizado")
				}
				next++
				continue
			}
			items = append(items, map[string]any{"id_cliente_servico": unknown, "status_prefixo": "suspenso_debito"})
			want = append(want, "nao_encontrado")
			unknown++
		}
		require.Equal(t, nReal, next)
		got := batch(items)
		counts := map[string]int{}
		for i, it := range got {
			require.EqualValues(t, items[i]["id_cliente_servico"], it["id_cliente_servico"], "item %d", i)
			require.Equal(t, want[i], it["resultado"], "item %d: %v", i, it)
			counts[it["resultado"].(string)]++
		}
		require.Equal(t, map[string]int{"atualizado": nReal - 20, "inalterado": 20, "nao_encontrado": 1000 - nReal}, counts)

		e.eventuallyWithin("every plan suspended on the platform", time.Minute, func() bool { return countPlans("suspenso") == nReal })
		e.eventuallyWithin("every subscription suspended", time.Minute, func() bool {
			r := e.do("GET", "/api/v1/assinaturas?status=suspenso&itens_por_pagina=1", nil)
			return r.Status == 200 && r.JSON(t)["paginacao"].(map[string]any)["total_registros"] == float64(nReal)
		})
		r = e.do("GET", path("/api/v1/servicos/%d", ids[nReal-1]), nil)
		require.Equal(t, "suspenso_debito", r.JSON(t)["status_prefixo"])
		for _, id := range ids {
			u, ok := e.plat.User(path("login%d", id))
			require.True(t, ok, id)
			require.Equal(t, 1, u.CreateCalls, id)
		}
	})
}

// 9. Reconciliation repairs changes made on the platform behind svahub's back.
//
// Qualifica only: reconciliation needs read-back (consultar), and the drift
// is made through Qualifica's own API.
func TestLBReconcileRepairsDrift(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		e := newHarness(t, dialect)
		_, pkg := e.catalogue(nil, nil, "29.90", "pro", "premium", "1001")
		require.Equal(t, 201, e.putService(6901, nil).Status)
		subJSON := e.attachWith(6901, map[string]any{"id_pacote": pkg})
		sub, expiry := idOf(subJSON, "id_assinatura"), subJSON["data_expiracao"].(string)
		e.waitAccesses(sub, "ativo") // status: see TestLBMultiProductSubscriptionStatus
		for _, p := range []string{"pro", "premium", "1001"} {
			e.waitSimExpiry("login6901", p, "ativo", expiry)
		}

		// Healthy: nothing to repair.
		repaired, checked, err := e.app.Engine.Reconcile(ctx, 100)
		require.NoError(t, err)
		require.Zero(t, repaired)
		require.Equal(t, 3, checked)

		// Behind svahub's back: suspend one, cancel one, move the date of one.
		tok := simToken(t, e.sim)
		u, ok := e.sim.UserByUsername("login6901")
		require.True(t, ok)
		st, raw := simCall(t, e.sim, "POST", "/v1/usuarios/"+u.ID+"/planos/pro/suspender", tok, nil)
		require.Equal(t, 200, st, "%s", raw)
		st, raw = simCall(t, e.sim, "DELETE", "/v1/usuarios/"+u.ID+"/planos/premium", tok, nil)
		require.Equal(t, 204, st, "%s", raw)
		st, raw = simCall(t, e.sim, "PUT", "/v1/usuarios/"+u.ID+"/planos/1001", tok, map[string]any{"data_expiracao": "2099-12-31"})
		require.Equal(t, 200, st, "%s", raw)
		s, _ := e.simPlan("login6901", "pro")
		require.Equal(t, "suspenso", s)
		s, _ = e.simPlan("login6901", "premium")
		require.Equal(t, "cancelado", s)

		repaired, checked, err = e.app.Engine.Reconcile(ctx, 100)
		require.NoError(t, err)
		require.Equal(t, 3, checked)
		require.Equal(t, 3, repaired)
		for _, p := range []string{"pro", "premium", "1001"} {
			e.waitSimExpiry("login6901", p, "ativo", expiry)
		}
		e.waitAccesses(sub, "ativo") // status: see TestLBMultiProductSubscriptionStatus
		u, _ = e.sim.UserByUsername("login6901")
		require.Equal(t, 1, u.CreateCalls)

		repaired, _, err = e.app.Engine.Reconcile(ctx, 100)
		require.NoError(t, err)
		require.Zero(t, repaired, "a healthy system needs no repair")
	})
}

// A subscription of several products: each product is its own platform
// plan, converged by its own job; the subscription status follows them all.
func TestLBMultiProductSubscriptionStatus(t *testing.T) {
	t.Parallel()
	eachPlatform(t, func(t *testing.T, dialect string, pc platformCase) {
		var codes []string
		for i := 1; i <= 10; i++ { // a package holds up to 10 products
			codes = append(codes, path("c%02d", i))
		}
		// A fixed platform latency keeps the plans' jobs, which start
		// together, finishing together.
		e := newHarness(t, dialect, withPlatform(pc, simOptions{Products: codes, Latency: 30 * time.Millisecond}))
		_, pkg := e.catalogue(nil, nil, "39.90", codes...)
		var ids, subs []int64
		for id := int64(6801); id <= 6803; id++ {
			require.Equal(t, 201, e.putService(id, nil).Status)
			ids = append(ids, id)
			subs = append(subs, idOf(e.attachWith(id, map[string]any{"id_pacote": pkg}), "id_assinatura"))
		}
		check := func(state, status string) {
			t.Helper()
			for i, sub := range subs {
				e.waitAccesses(sub, state)
				for _, c := range codes {
					st, _ := e.simPlan(path("login%d", ids[i]), c)
					require.Equal(t, state, st)
				}
				// Every plan has been applied (estado_plataforma is written in
				// the same transaction as the status): the status is final.
				got := e.subscription(sub)
				require.Equal(t, status, got["status"], "subscription %d of service %d", sub, ids[i])
			}
		}
		check("ativo", "ativo")
		for _, id := range ids {
			e.setStatus(id, "suspenso_pedido_cliente")
		}
		check("suspenso", "suspenso")
	})
}

// waitAccesses waits until every access of sub wants state and the
// platform reached it.
func (e *harness) waitAccesses(sub int64, state string) map[string]any {
	e.t.Helper()
	var last map[string]any
	e.eventually(path("accesses of subscription %d %s", sub, state), func() bool {
		last = e.subscription(sub)
		accs, _ := last["acessos"].([]any)
		for _, a := range accs {
			m := a.(map[string]any)
			if m["estado_desejado"] != state || m["estado_plataforma"] != state {
				return false
			}
		}
		return len(accs) > 0
	})
	return last
}

// putServices upserts many services (same body as putService plus
// extra) from a few goroutines and requires 201 for each.
func (e *harness) putServices(ids []int64, extra map[string]any, workers int) {
	e.t.Helper()
	work := make(chan int64)
	errs := make(chan error, len(ids))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				body := serviceBody(id, extra)
				raw, _ := json.Marshal(body)
				req, err := http.NewRequest("PUT", e.srv.URL+path("/api/v1/servicos/%d", id), bytes.NewReader(raw))
				if err != nil {
					errs <- err
					continue
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+e.key)
				res, err := e.srv.Client().Do(req)
				if err != nil {
					errs <- err
					continue
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != 201 {
					errs <- fmt.Errorf("PUT /servicos/%d: %d %s", id, res.StatusCode, b)
				}
			}
		}()
	}
	for _, id := range ids {
		work <- id
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(e.t, err)
	}
}
