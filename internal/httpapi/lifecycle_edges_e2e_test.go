package httpapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/provision"
	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/internal/svahub"
	"github.com/svahub/svahub/pkg/qualifica/qualificasim"
)

// Lifecycle edges (issue 12): cancelled services, abandoned idempotency
// keys, retransmission, billing, PUT semantics, filters and timestamps,
// through the HTTP API, a real database, the River workers and the
// Qualifica simulator. Helpers of this file only are prefixed le.

// leSubs lists a service's subscriptions by id_pacote, oldest first.
func leSubs(svc map[string]any) map[int64][]map[string]any {
	out := map[int64][]map[string]any{}
	for _, s := range svc["pacotes"].([]any) {
		m := s.(map[string]any)
		out[idOf(m, "id_pacote")] = append(out[idOf(m, "id_pacote")], m)
	}
	return out
}

// leLive returns the one live (not cancelled) subscription of a package
// among subs, failing when there is none or several.
func leLive(t *testing.T, subs []map[string]any) map[string]any {
	t.Helper()
	var live []map[string]any
	for _, s := range subs {
		if s["data_cancelamento"] == nil {
			live = append(live, s)
		}
	}
	require.Len(t, live, 1, "live subscriptions: %v", subs)
	return live[0]
}

// 1. Cancelling a service by status cancels its subscriptions (billing
// stops); returning it attaches its plan's packages anew; a cancelled
// avulso package may be attached again; nothing is attached while it is
// cancelled.
func TestEdgeCancelledServiceStopsBillingAndReturns(t *testing.T) {
	t.Parallel()
	eachPlatform(t, func(t *testing.T, dialect string, pc platformCase) {
		e := newHarness(t, dialect, withPlatform(pc, simOptions{}), withClockAt(saoPauloAt(t, "2026-11-10T12:00:00-03:00")))
		integ := e.addIntegration("login_autenticacao", true)
		avulso := e.addPackage(integ, "30.00", e.addProduct(integ, "pro"))
		combo := e.addPackage(integ, "19.90", e.addProduct(integ, "premium"))
		e.putPlan(10, combo)

		r := e.putService(7101, map[string]any{"id_servico": 10})
		require.Equal(t, 201, r.Status, "%s", r.Body)
		plano := idOf(leLive(t, leSubs(r.JSON(t))[combo]), "id_assinatura")
		av := e.attach(7101, avulso, "")
		e.waitStatus(plano, "ativo")
		e.waitStatus(av, "ativo")

		// 23:30 in São Paulo on the 20th (02:30 UTC on the 21st).
		e.clock.Set(saoPauloAt(t, "2026-11-21T02:30:00Z"))
		e.setStatus(7101, "cancelado")
		for _, id := range []int64{plano, av} {
			got := e.waitStatus(id, "cancelado")
			when, _ := got["data_cancelamento"].(string)
			require.True(t, strings.HasPrefix(when, "2026-11-20T23:30:00") && strings.HasSuffix(when, "-03:00"),
				"subscription %d: data_cancelamento %v", id, got["data_cancelamento"])
		}
		e.waitSimPlanOf(av, "login7101", "pro", "cancelado")
		e.waitSimPlanOf(plano, "login7101", "premium", "cancelado")

		// Billing: 10..19 November only; nothing in December.
		nov := e.billing("2026-11")
		require.Contains(t, nov, av)
		require.EqualValues(t, 10, nov[av]["dias_cobrados"], "%v", nov[av])
		require.Equal(t, "10.00", nov[av]["valor_proporcional"])
		require.NotNil(t, nov[av]["data_cancelamento"])
		require.Empty(t, e.billing("2026-12"), "a cancelled service is not billed the next month")

		// While cancelled nothing is attached: not by HubSoft's upsert, not avulso.
		r = e.putService(7101, map[string]any{"id_servico": 10, "status_prefixo": "cancelado"})
		require.Equal(t, 200, r.Status, "%s", r.Body)
		requireProblem(t, e.do("POST", "/api/v1/servicos/7101/pacotes", map[string]any{"id_pacote": avulso}), 409)
		for _, s := range e.service(7101)["pacotes"].([]any) {
			require.NotNil(t, s.(map[string]any)["data_cancelamento"], "live subscription on a cancelled service: %v", s)
		}

		// Back on 5 December: the combo comes anew, the avulso stays cancelled
		// and may be attached again.
		e.clock.Set(saoPauloAt(t, "2026-12-05T12:00:00-03:00"))
		e.setStatus(7101, "servico_habilitado")
		subs := leSubs(e.service(7101))
		require.Len(t, subs[combo], 2, "%v", subs[combo])
		plano2 := leLive(t, subs[combo])
		require.NotEqual(t, plano, idOf(plano2, "id_assinatura"))
		require.Equal(t, "plano", plano2["origem"])
		require.Equal(t, "0.00", plano2["valor"])
		require.Len(t, subs[avulso], 1)
		require.Equal(t, "cancelado", subs[avulso][0]["status"])
		e.waitStatus(idOf(plano2, "id_assinatura"), "ativo")
		e.waitSimPlanOf(idOf(plano2, "id_assinatura"), "login7101", "premium", "ativo")

		av2 := e.attach(7101, avulso, "")
		e.waitStatus(av2, "ativo")
		e.waitSimPlanOf(av2, "login7101", "pro", "ativo")
		require.Equal(t, "cancelado", e.subscription(av)["status"])

		dec := e.billing("2026-12")
		require.Len(t, dec, 1, "%v", dec)
		require.EqualValues(t, 27, dec[av2]["dias_cobrados"], "5..31 December: %v", dec[av2])
		require.Equal(t, "26.13", dec[av2]["valor_proporcional"])

	})
}

// inativo through HubSoft's upsert ends a service too; the batch brings it
// back with its combo.
func TestEdgeInactiveServiceReturnsThroughBatch(t *testing.T) {
	t.Parallel()
	eachPlatform(t, func(t *testing.T, dialect string, pc platformCase) {
		e := newHarness(t, dialect, withPlatform(pc, simOptions{}))
		integ := e.addIntegration("login_autenticacao", true)
		combo := e.addPackage(integ, "19.90", e.addProduct(integ, "premium"))
		e.putPlan(10, combo)
		r := e.putService(7102, map[string]any{"id_servico": 10})
		require.Equal(t, 201, r.Status, "%s", r.Body)
		p7102 := idOf(leLive(t, leSubs(r.JSON(t))[combo]), "id_assinatura")
		e.waitStatus(p7102, "ativo")
		r = e.putService(7102, map[string]any{"id_servico": 10, "status_prefixo": "inativo"})
		require.Equal(t, 200, r.Status, "%s", r.Body)
		got := e.waitStatus(p7102, "cancelado")
		require.NotNil(t, got["data_cancelamento"])
		e.waitSimPlanOf(p7102, "login7102", "premium", "cancelado")
		r = e.do("POST", "/api/v1/servicos/status", map[string]any{"itens": []map[string]any{{"id_cliente_servico": 7102, "status_prefixo": "servico_habilitado"}}})
		require.Equal(t, 200, r.Status, "%s", r.Body)
		back := leLive(t, leSubs(e.service(7102))[combo])
		e.waitStatus(idOf(back, "id_assinatura"), "ativo")
		e.waitSimPlanOf(idOf(back, "id_assinatura"), "login7102", "premium", "ativo")
	})
}

// A service created already cancelled gets no subscriptions; it gets its
// plan's packages when it is enabled.
func TestEdgeServiceCreatedCancelled(t *testing.T) {
	t.Parallel()
	eachPlatform(t, func(t *testing.T, dialect string, pc platformCase) {
		e := newHarness(t, dialect, withPlatform(pc, simOptions{}))
		integ := e.addIntegration("login_autenticacao", true)
		combo := e.addPackage(integ, "19.90", e.addProduct(integ, "pro"))
		e.putPlan(10, combo)
		r := e.putService(7151, map[string]any{"id_servico": 10, "status_prefixo": "cancelado"})
		require.Equal(t, 201, r.Status, "%s", r.Body)
		require.Empty(t, r.JSON(t)["pacotes"])
		e.setStatus(7151, "servico_habilitado")
		sub := leLive(t, leSubs(e.service(7151))[combo])
		e.waitStatus(idOf(sub, "id_assinatura"), "ativo")
		e.waitSimPlan("login7151", "pro", "ativo")
	})
}

// On a plan change, an avulso package the new plan includes is cancelled
// and replaced by the plano one; the platform plan stays ativo throughout.
func TestEdgePlanChangeReplacesAvulsoWithoutFlap(t *testing.T) {
	t.Parallel()
	eachPlatform(t, func(t *testing.T, dialect string, pc platformCase) {
		e := newHarness(t, dialect, withPlatform(pc, simOptions{}))
		integ := e.addIntegration("login_autenticacao", true)
		p := e.addPackage(integ, "29.90", e.addProduct(integ, "pro"))
		q := e.addPackage(integ, "9.90", e.addProduct(integ, "premium"))
		e.putPlan(10, q)
		e.putPlan(20, p, q)
		r := e.putService(7201, map[string]any{"id_servico": 10})
		require.Equal(t, 201, r.Status, "%s", r.Body)
		qSub := idOf(leLive(t, leSubs(r.JSON(t))[q]), "id_assinatura")
		av := e.attach(7201, p, dateFromToday(2, 0))
		e.waitStatus(av, "ativo")
		e.waitStatus(qSub, "ativo")
		e.quiet()
		ops := []svahub.Operation{svahub.OpSuspend, svahub.OpReactivate, svahub.OpCancel, svahub.OpCreateUser}
		before := map[svahub.Operation]int{}
		for _, op := range ops {
			before[op] = e.plat.Calls(op)
		}

		// Watch the platform plan while the change converges.
		var flaps atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				case <-time.After(2 * time.Millisecond):
				}
				if st, _ := e.simPlan("login7201", "pro"); st != "ativo" {
					flaps.Add(1)
				}
			}
		}()

		r = e.putService(7201, map[string]any{"id_servico": 20})
		require.Equal(t, 200, r.Status, "%s", r.Body)
		subs := leSubs(r.JSON(t))
		require.Len(t, subs[p], 2, "%v", subs[p])
		for _, s := range subs[p] {
			if idOf(s, "id_assinatura") == av {
				require.Equal(t, "cancelado", s["status"])
				require.NotNil(t, s["data_cancelamento"])
			}
		}
		repl := leLive(t, subs[p])
		require.Equal(t, "plano", repl["origem"])
		require.Equal(t, "0.00", repl["valor"])
		require.Equal(t, qSub, idOf(leLive(t, subs[q]), "id_assinatura"), "the combo package already there is kept")
		e.waitStatus(idOf(repl, "id_assinatura"), "ativo")
		e.quiet()
		close(stop)
		wg.Wait()

		for _, op := range ops {
			require.Equal(t, before[op], e.plat.Calls(op), "no %s call on a plan change that keeps the product", op)
		}
		require.Zero(t, flaps.Load(), "the platform plan left ativo during the change")
		_, exp := e.simPlan("login7201", "pro")
		require.Equal(t, repl["data_expiracao"], exp, "the platform carries the plano subscription's date")

		// No double charge: the avulso was cancelled the day it was attached.
		comp := time.Now().In(saoPaulo).Format("2006-01")
		require.NotContains(t, e.billing(comp), av)
	})
}

// Editing a plan affects the services created on it or moved to it
// afterwards; services already on it keep their subscriptions.
func TestEdgePlanEditAffectsLaterServicesOnly(t *testing.T) {
	t.Parallel()
	eachPlatform(t, func(t *testing.T, dialect string, pc platformCase) {
		e := newHarness(t, dialect, withPlatform(pc, simOptions{}))
		integ := e.addIntegration("login_autenticacao", true)
		p1 := e.addPackage(integ, "5.00", e.addProduct(integ, "pro"))
		p2 := e.addPackage(integ, "6.00", e.addProduct(integ, "premium"))
		e.putPlan(10, p1)
		e.putPlan(11)
		require.Equal(t, 201, e.putService(7301, map[string]any{"id_servico": 10}).Status)
		require.Equal(t, 201, e.putService(7303, map[string]any{"id_servico": 11}).Status)

		e.putPlan(10, p1, p2)
		require.Equal(t, 200, e.putService(7301, map[string]any{"id_servico": 10}).Status)
		e.setStatus(7301, "suspenso_pedido_cliente")
		e.setStatus(7301, "servico_habilitado")
		subs := leSubs(e.service(7301))
		require.Len(t, subs, 1, "a service already on the plan keeps its subscriptions: %v", subs)
		require.Contains(t, subs, p1)

		require.Equal(t, 201, e.putService(7302, map[string]any{"id_servico": 10}).Status)
		require.Len(t, leSubs(e.service(7302)), 2, "a service created afterwards gets the edited plan")
		require.Equal(t, 200, e.putService(7303, map[string]any{"id_servico": 10}).Status)
		require.Len(t, leSubs(e.service(7303)), 2, "a service moved afterwards gets the edited plan")

		e.putPlan(10, p2)
		for _, id := range []int64{7301, 7302, 7303} {
			leLive(t, leSubs(e.service(id))[p1])
		}
	})
}

// 2a. A client that gives up (disconnects) does not lock its
// Idempotency-Key: the work finishes, its answer is kept, and the retry
// replays it without doing the work twice.
// Qualifica only: it holds the platform's token request (latency, token
// count) to catch the request in flight.
func TestEdgeIdempotencyClientDisconnect(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect)
		e.sim.SetLatency(1500 * time.Millisecond)
		body := fmt.Sprintf(`{"descricao":"Qualifica","plataforma":"qualifica","parametros":{"client_id":%q,"client_secret":%q}}`,
			qualificasim.DefaultClientID, qualificasim.DefaultClientSecret)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, "POST", e.srv.URL+"/api/v1/integracoes", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+e.key)
		req.Header.Set("Idempotency-Key", "le-disconnect")
		gone := make(chan error, 1)
		go func() {
			res, err := e.srv.Client().Do(req)
			if err == nil {
				res.Body.Close()
			}
			gone <- err
		}()
		// The client gives up while svahub waits for the platform's token.
		e.eventuallyWithin("the token request on the platform", 10*time.Second, func() bool { return e.sim.Calls()[qualificasim.OpToken] > 0 })
		cancel()
		require.Error(t, <-gone, "the client gave up")
		e.sim.SetLatency(0)

		var last response
		ok := await(10*time.Second, func() bool {
			last = e.doKey("POST", "/api/v1/integracoes", body, "le-disconnect")
			return last.Status != 409
		})
		require.True(t, ok, "the key stayed locked: %d %s", last.Status, last.Body)
		require.Equal(t, 201, last.Status, "%s", last.Body)
		require.Equal(t, "true", last.Header.Get("Idempotent-Replayed"), "the first request's answer is replayed")
		require.Equal(t, "valido", last.JSON(t)["token"].(map[string]any)["status"], "%s", last.Body)
		list := e.do("GET", "/api/v1/integracoes", nil).JSON(t)
		require.EqualValues(t, 1, list["paginacao"].(map[string]any)["total_registros"], "created once")
	})
}

// panicOnce makes the first CreateIntegration panic (a handler bug).
type panicOnce struct {
	*store.DB
	done atomic.Bool
}

func (p *panicOnce) CreateIntegration(ctx context.Context, in svahub.IntegrationInput) (*svahub.Integration, error) {
	if p.done.CompareAndSwap(false, true) {
		panic("boom")
	}
	return p.DB.CreateIntegration(ctx, in)
}

// 2b. A panic releases the key at once: the retry runs.
func TestEdgeIdempotencyPanicReleasesKey(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect, apiOnly(), withCatalogue(func(db *store.DB) svahub.CatalogueService { return &panicOnce{DB: db} }))
		body := `{"descricao":"Q","plataforma":"qualifica","parametros":{"client_id":"c","client_secret":"s"}}`
		r := e.doKey("POST", "/api/v1/integracoes", body, "le-panic")
		requireProblem(t, r, 500)
		r = e.doKey("POST", "/api/v1/integracoes", body, "le-panic")
		require.Equal(t, 201, r.Status, "%s", r.Body)
		require.Empty(t, r.Header.Get("Idempotent-Replayed"))
		r = e.doKey("POST", "/api/v1/integracoes", body, "le-panic")
		require.Equal(t, 201, r.Status, "%s", r.Body)
		require.Equal(t, "true", r.Header.Get("Idempotent-Replayed"))
	})
}

// 2c. A reservation whose request died with its process is abandoned after
// svahub.IdempotencyAbandonAfter: the retry runs.
func TestEdgeIdempotencyAbandonedReservation(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		clk := &clock{}
		clk.Set(time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC))
		e := newHarness(t, dialect, withClock(clk))
		ctx := context.Background()
		key, err := e.db.AuthenticateAPIKey(ctx, e.key)
		require.NoError(t, err)
		body := `{"descricao":"Q","plataforma":"qualifica","parametros":{"client_id":"c","client_secret":"s"}}`
		// What the middleware hashes: method, path, body.
		hash := leRequestHash("POST", "/api/v1/integracoes", body)
		stored, err := e.db.BeginIdempotent(ctx, key.ID, "le-abandoned", hash)
		require.NoError(t, err)
		require.Nil(t, stored)

		clk.Set(clk.Now().Add(time.Minute))
		requireProblem(t, e.doKey("POST", "/api/v1/integracoes", body, "le-abandoned"), 409)
		clk.Set(clk.Now().Add(10 * time.Minute))
		r := e.doKey("POST", "/api/v1/integracoes", body, "le-abandoned")
		require.Equal(t, 201, r.Status, "%s", r.Body)
	})
}

// 3. retransmitir after a product-code fix leaves no plan with a job that
// fails forever: the old plan (no access left) is never bumped, the sweep
// finds nothing, and a job for it is a no-op.
// Qualifica only: the error comes from a code missing in Qualifica's
// catalogue (a platform without a catalogue accepts any code); the
// platform-neutral version is TestLBPermanentErrorRetransmit.
func TestEdgeRetransmitLeavesNoOrphanWork(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect)
		ctx := context.Background()
		// Paused integration: the wrong code is saved unverified.
		integ := idOf(e.createIntegration(nil, map[string]any{"ativo": false}), "id_integracao")
		prod := e.addProduct(integ, "xyz")
		pkg := e.addPackage(integ, "19.90", prod)
		r := e.do("PUT", path("/api/v1/integracoes/%d", integ), map[string]any{"descricao": "Qualifica", "plataforma": "qualifica",
			"parametros": map[string]any{"client_id": qualificasim.DefaultClientID}, "ativo": true})
		require.Equal(t, 200, r.Status, "%s", r.Body)
		require.Equal(t, 201, e.putService(7401, nil).Status)
		sub := idOf(e.attachWith(7401, map[string]any{"id_pacote": pkg}), "id_assinatura")
		e.waitStatus(sub, "erro")
		e.quiet()
		var oldPlan, oldVersion int64
		require.NoError(t, e.db.SQL().QueryRowContext(ctx, `SELECT id, version FROM platform_plans WHERE product_code = 'xyz'`).Scan(&oldPlan, &oldVersion))

		r = e.do("PUT", path("/api/v1/produtos/%d", prod), map[string]any{"descricao": "Pro", "codigo": "pro"})
		require.Equal(t, 200, r.Status, "%s", r.Body)
		r = e.do("POST", path("/api/v1/assinaturas/%d/retransmitir", sub), nil)
		require.Equal(t, 202, r.Status, "%s", r.Body)
		e.waitStatus(sub, "ativo")
		e.waitSimPlan("login7401", "pro", "ativo")

		settled := await(3*time.Second, func() bool { return e.liveJobs() == 0 })
		require.True(t, settled, "a job is still retrying: %s", e.jobs())
		n, err := e.app.DB.EnqueuePending(ctx, 1000)
		require.NoError(t, err)
		require.Zero(t, n, "the sweep re-queued work: %s", e.jobs())
		var version int64
		require.NoError(t, e.db.SQL().QueryRowContext(ctx, e.rebind(`SELECT version FROM platform_plans WHERE id = ?`), oldPlan).Scan(&version))
		require.Equal(t, oldVersion, version, "the plan with no access left was bumped")
		res, err := e.app.Engine.Client().JobList(ctx, river.NewJobListParams().Kinds("converge_plan").States(rivertype.JobStateDiscarded, rivertype.JobStateRetryable).First(100))
		require.NoError(t, err)
		require.Empty(t, res.Jobs, "failing converge jobs: %s", e.jobs())

		// A job for the plan with no access is a no-op.
		ins, err := e.app.Engine.Client().Insert(ctx, provision.ConvergeArgs{PlanID: oldPlan, Version: oldVersion + 7}, nil)
		require.NoError(t, err)
		e.eventuallyWithin("the orphan plan's job", 10*time.Second, func() bool {
			j, err := e.app.Engine.Client().JobGet(ctx, ins.Job.ID)
			require.NoError(t, err)
			require.Empty(t, j.Errors, "job for a plan with no access failed")
			return j.State == rivertype.JobStateCompleted
		})
	})
}

// 5. A permanent error stays visible, with its message, across a status
// change that resolves nothing.
// The platform already has the username under someone else's account.
func TestEdgeErrorSurvivesStatusChange(t *testing.T) {
	t.Parallel()
	eachPlatform(t, func(t *testing.T, dialect string, pc platformCase) {
		e := newHarness(t, dialect, withPlatform(pc, simOptions{}))
		_, pkg := e.catalogue(map[string]any{"suspender_inadimplencia": true}, nil, "29.90", "pro")
		e.plat.AddForeignUser(t, "login7501")

		require.Equal(t, 201, e.putService(7501, nil).Status)
		sub := idOf(e.attachWith(7501, map[string]any{"id_pacote": pkg}), "id_assinatura")
		got := e.waitStatus(sub, "erro")
		msg, _ := got["ultimo_erro"].(string)
		require.Contains(t, msg, "já em uso")
		e.quiet()

		for _, st := range []string{"suspenso_debito", "suspenso_pedido_cliente"} {
			e.setStatus(7501, st)
			e.quiet()
			got = e.subscription(sub)
			require.Equal(t, "erro", got["status"], "after %s: %v", st, got)
			require.Equal(t, msg, got["ultimo_erro"])
			require.Equal(t, msg, firstAccess(got)["ultimo_erro"])
		}
		require.Equal(t, 200, e.putService(7501, map[string]any{"status_prefixo": "suspenso_debito"}).Status)
		e.quiet()
		require.Equal(t, "erro", e.subscription(sub)["status"])
		items := e.items(e.do("GET", "/api/v1/assinaturas?status=erro", nil))
		require.Len(t, items, 1)
		u, _ := e.plat.User("login7501")
		require.Equal(t, "outra", u.Password, "the platform user is still someone else's")
		require.Equal(t, 1, u.CreateCalls, "created once, by the other system")
	})
}

// 6. Transmissions record the platform's real HTTP status.
// Qualifica only: it checks Qualifica's status codes per operation and its
// token transmissions.
func TestEdgeTransmissionHTTPStatus(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect)
		_, pkg := e.catalogue(nil, nil, "29.90", "pro")
		require.Equal(t, 201, e.putService(7601, nil).Status)
		sub := idOf(e.attachWith(7601, map[string]any{"id_pacote": pkg}), "id_assinatura")
		e.waitStatus(sub, "ativo")
		r := e.do("DELETE", path("/api/v1/servicos/7601/pacotes/%d", sub), nil)
		require.Equal(t, 204, r.Status, "%s", r.Body)
		e.waitSimPlan("login7601", "pro", "cancelado")
		e.quiet()
		want := map[string]float64{"criar_usuario": 201, "ativar_plano": 200, "cancelar": 204}
		seen := map[string]bool{}
		for _, tr := range e.transmissions(path("id_assinatura=%d&resultado=sucesso", sub)) {
			op := tr["operacao"].(string)
			if w, ok := want[op]; ok {
				require.Equal(t, w, tr["status_http"], "%s: %v", op, tr)
				seen[op] = true
			}
		}
		require.Len(t, seen, 3, "transmissions seen: %v", seen)
		for _, tr := range e.transmissions("operacao=token") {
			require.EqualValues(t, 200, tr["status_http"])
		}
	})
}

// 7. GET /servicos lists each service with its subscriptions.
func TestEdgeServiceListHasPackages(t *testing.T) {
	t.Parallel()
	eachPlatform(t, func(t *testing.T, dialect string, pc platformCase) {
		e := newHarness(t, dialect, withPlatform(pc, simOptions{}))
		integ := e.addIntegration("login_autenticacao", true)
		p1 := e.addPackage(integ, "5.00", e.addProduct(integ, "pro"))
		e.putPlan(10, p1)
		require.Equal(t, 201, e.putService(7701, map[string]any{"id_servico": 10}).Status)
		require.Equal(t, 201, e.putService(7702, nil).Status)
		e.quiet() // nothing changes between the two reads compared below
		byID := map[int64]map[string]any{}
		for _, s := range e.items(e.do("GET", "/api/v1/servicos?itens_por_pagina=500", nil)) {
			byID[idOf(s, "id_cliente_servico")] = s
		}
		require.Len(t, byID, 2)
		pk := byID[7701]["pacotes"].([]any)
		require.Len(t, pk, 1, "%v", byID[7701])
		require.EqualValues(t, p1, pk[0].(map[string]any)["id_pacote"])
		require.Len(t, pk[0].(map[string]any)["acessos"].([]any), 1)
		require.Empty(t, byID[7702]["pacotes"])
		require.NotNil(t, byID[7702]["pacotes"], "an empty list, not null")
		require.Equal(t, e.service(7701)["pacotes"], byID[7701]["pacotes"], "the list shows what GET /servicos/{id} shows")
		require.NotContains(t, e.items(e.do("GET", "/api/v1/servicos?status_prefixo=servico_habilitado", nil))[0], "senha")
	})
}

// 8. PUT keeps omitted fields, for every field alike; changing usuario
// while the integration has platform accounts is a 409.
// Qualifica only: it checks Qualifica's parametros (url_base, client_id,
// limite_requisicoes_por_segundo).
func TestEdgePutKeepsOmittedFields(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect)
		integ := e.createIntegration(map[string]any{"usuario": "cpf_cnpj", "url_base": e.sim.URL(), "limite_requisicoes_por_segundo": 5},
			map[string]any{"suspender_inadimplencia": true})
		id := idOf(integ, "id_integracao")
		expiry := integ["token"].(map[string]any)["expira_em"]
		put := func(p string, body any) map[string]any {
			t.Helper()
			r := e.do("PUT", p, body)
			require.Equal(t, 200, r.Status, "%s", r.Body)
			return r.JSON(t)
		}
		got := put(path("/api/v1/integracoes/%d", id), map[string]any{"descricao": "Qualifica matriz"})
		require.Equal(t, "Qualifica matriz", got["descricao"])
		require.Equal(t, map[string]any{"client_id": qualificasim.DefaultClientID, "client_secret_definido": true, "usuario": "cpf_cnpj",
			"url_base": e.sim.URL(), "limite_requisicoes_por_segundo": float64(5)}, got["parametros"])
		require.Equal(t, true, got["suspender_inadimplencia"])
		require.Equal(t, true, got["ativo"])
		require.Equal(t, "valido", got["token"].(map[string]any)["status"])
		require.Equal(t, expiry, got["token"].(map[string]any)["expira_em"], "credentials unchanged: no new token")

		got = put(path("/api/v1/integracoes/%d", id), map[string]any{"parametros": map[string]any{"limite_requisicoes_por_segundo": 7}, "ativo": false})
		require.Equal(t, float64(7), got["parametros"].(map[string]any)["limite_requisicoes_por_segundo"])
		require.Equal(t, "cpf_cnpj", got["parametros"].(map[string]any)["usuario"])
		require.Equal(t, e.sim.URL(), got["parametros"].(map[string]any)["url_base"])
		require.Equal(t, "Qualifica matriz", got["descricao"])
		got = put(path("/api/v1/integracoes/%d", id), map[string]any{"suspender_inadimplencia": false})
		require.Equal(t, false, got["ativo"])
		require.Equal(t, false, got["suspender_inadimplencia"])
		got = put(path("/api/v1/integracoes/%d", id), map[string]any{"ativo": true})
		require.Equal(t, true, got["ativo"])
		creds, err := e.db.Credentials(context.Background(), id)
		require.NoError(t, err)
		require.Equal(t, qualificasim.DefaultClientSecret, creds.Params["client_secret"], "the secret is kept")
		requireProblem(t, e.do("PUT", path("/api/v1/integracoes/%d", id), map[string]any{"descricao": ""}), 422, "descricao")
		requireProblem(t, e.do("PUT", path("/api/v1/integracoes/%d", id), map[string]any{"parametros": map[string]any{"usuario": "x"}}), 422, "parametros.usuario")

		// Package: omitted ativo, codigo, produtos, descricao are kept.
		prod := e.addProduct(id, "pro")
		r := e.do("POST", "/api/v1/pacotes", map[string]any{"descricao": "Pro", "codigo": "QP", "valor": "29.90", "id_integracao": id, "produtos": []int64{prod}, "ativo": false})
		require.Equal(t, 201, r.Status, "%s", r.Body)
		pkg := idOf(r.JSON(t), "id_pacote")
		got = put(path("/api/v1/pacotes/%d", pkg), map[string]any{"valor": "39.90"})
		require.Equal(t, "39.90", got["valor"])
		require.Equal(t, false, got["ativo"])
		require.Equal(t, "QP", got["codigo"])
		require.Equal(t, "Pro", got["descricao"])
		require.EqualValues(t, id, got["id_integracao"])
		require.Len(t, got["produtos"], 1)
		got = put(path("/api/v1/pacotes/%d", pkg), map[string]any{"ativo": true, "codigo": ""})
		require.Equal(t, true, got["ativo"])
		require.Equal(t, "", got["codigo"])
		require.Equal(t, "39.90", got["valor"])

		// Plan: omitted pacotes are kept; an empty list empties it.
		e.putPlan(10, pkg)
		got = put("/api/v1/planos/10", map[string]any{"descricao": "Fibra 1 Giga"})
		require.Equal(t, "Fibra 1 Giga", got["descricao"])
		require.Len(t, got["pacotes"], 1)
		got = put("/api/v1/planos/10", map[string]any{"pacotes": []int64{}})
		require.Equal(t, "Fibra 1 Giga", got["descricao"])
		require.Empty(t, got["pacotes"])
		requireProblem(t, e.do("PUT", "/api/v1/planos/11", map[string]any{"pacotes": []int64{pkg}}), 422, "descricao")

		// usuario: free to change without platform accounts, 409 with them.
		got = put(path("/api/v1/integracoes/%d", id), map[string]any{"parametros": map[string]any{"usuario": "email"}})
		require.Equal(t, "email", got["parametros"].(map[string]any)["usuario"])
		require.Equal(t, 201, e.putService(7801, nil).Status)
		e.attachWith(7801, map[string]any{"id_pacote": pkg})
		requireProblem(t, e.do("PUT", path("/api/v1/integracoes/%d", id), map[string]any{"parametros": map[string]any{"usuario": "login_autenticacao"}}), 409, "parametros.usuario")
		got = put(path("/api/v1/integracoes/%d", id), map[string]any{"parametros": map[string]any{"usuario": "email"}, "descricao": "Q"})
		require.Equal(t, "email", got["parametros"].(map[string]any)["usuario"])
	})
}

// 9. desde and ate take a date (the whole day, inclusive) or a timestamp
// (inclusive).
func TestEdgeTransmissionDateFilters(t *testing.T) {
	t.Parallel()
	eachPlatform(t, func(t *testing.T, dialect string, pc platformCase) {
		e := newHarness(t, dialect, withPlatform(pc, simOptions{}), withClockAt(saoPauloAt(t, "2026-11-10T15:00:00-03:00")))
		integ := idOf(e.createIntegration(nil, nil), "id_integracao")
		all := e.transmissions(path("id_integracao=%d", integ))
		require.NotEmpty(t, all)
		at := all[0]["data"].(string)
		require.Equal(t, "2026-11-10T15:00:00-03:00", at)
		count := func(q string) int {
			t.Helper()
			return len(e.transmissions(path("id_integracao=%d&", integ) + q))
		}
		n := len(all)
		for q, want := range map[string]int{
			"ate=2026-11-10":                     n,
			"desde=2026-11-10&ate=2026-11-10":    n,
			"desde=2026-11-10":                   n,
			"ate=2026-11-09":                     0,
			"desde=2026-11-11":                   0,
			"ate=" + url.QueryEscape(at):         n,
			"desde=" + url.QueryEscape(at):       n,
			"ate=2026-11-10T14:59:59-03:00":      0,
			"desde=2026-11-10T15:00:01-03:00":    0,
			"ate=2026-11-10T18:00:00Z":           n,
			"desde=2026-11-10T17:59:59.999999Z":  n,
			"ate=2026-11-10T17:59:59.999999Z":    0,
			"desde=2026-11-10&ate=2026-11-10T15": -1,
		} {
			if want < 0 {
				requireProblem(t, e.do("GET", "/api/v1/transmissoes?"+q, nil), 400, "ate")
				continue
			}
			require.Equal(t, want, count(q), q)
		}
	})
}

var leTimestamp = regexp.MustCompile(`"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))"`)

// 10. Every timestamp of every answer carries the business time zone's
// offset; testar answers the same instant GET /integracoes/{id} shows.
func TestEdgeTimestampsOneOffset(t *testing.T) {
	t.Parallel()
	eachPlatform(t, func(t *testing.T, dialect string, pc platformCase) {
		e := newHarness(t, dialect, withPlatform(pc, simOptions{}))
		var answers []response
		keep := func(r response) response {
			answers = append(answers, r)
			return r
		}
		integ := idOf(keep(e.do("POST", "/api/v1/integracoes", e.plat.Integration(nil))).JSON(t), "id_integracao")
		tested := keep(e.do("POST", path("/api/v1/integracoes/%d/testar", integ), nil))
		require.Equal(t, 200, tested.Status, "%s", tested.Body)
		shown := keep(e.do("GET", path("/api/v1/integracoes/%d", integ), nil))
		require.Equal(t, shown.JSON(t)["token"].(map[string]any)["expira_em"], tested.JSON(t)["expira_em"], "the same instant, written the same way")

		prod := idOf(keep(e.do("POST", path("/api/v1/integracoes/%d/produtos", integ), map[string]any{"descricao": "Pro", "codigo": "pro"})).JSON(t), "id_produto")
		pkg := idOf(keep(e.do("POST", "/api/v1/pacotes", map[string]any{"descricao": "P", "valor": "9.90", "id_integracao": integ, "produtos": []int64{prod}})).JSON(t), "id_pacote")
		keep(e.do("PUT", "/api/v1/planos/10", map[string]any{"descricao": "Plano", "pacotes": []int64{pkg}}))
		keep(e.putService(7901, map[string]any{"id_servico": 10}))
		r := keep(e.do("POST", "/api/v1/servicos/7901/pacotes", map[string]any{"id_pacote": e.addPackage(integ, "1.00", prod)}))
		sub := idOf(r.JSON(t), "id_assinatura")
		e.waitStatus(sub, "ativo")
		keep(e.do("PATCH", path("/api/v1/assinaturas/%d", sub), map[string]any{"data_expiracao": dateFromToday(2, 0)}))
		keep(e.do("DELETE", path("/api/v1/servicos/7901/pacotes/%d", sub), nil))
		for _, p := range []string{"/api/v1/integracoes", "/api/v1/produtos/" + fmt.Sprint(prod), path("/api/v1/integracoes/%d/produtos", integ),
			"/api/v1/pacotes", "/api/v1/planos", "/api/v1/servicos", "/api/v1/servicos/7901", "/api/v1/servicos/7901/pacotes",
			"/api/v1/assinaturas", path("/api/v1/assinaturas/%d", sub), "/api/v1/transmissoes"} {
			keep(e.do("GET", p, nil))
		}
		stamps := 0
		for _, a := range answers {
			require.Less(t, a.Status, 300, "%s", a.Body)
			for _, m := range leTimestamp.FindAllStringSubmatch(string(a.Body), -1) {
				stamps++
				require.True(t, strings.HasSuffix(m[1], "-03:00"), "timestamp %s in %s", m[1], a.Body)
			}
		}
		require.Greater(t, stamps, 20)
	})
}

// 11. SetSubscriptionExpiry locks the service before the subscription,
// like every other path. SQLite runs one writer at a time, so the order is
// only observable on PostgreSQL: while the service row is held elsewhere,
// a PATCH waiting for it must not hold the subscription.
func TestEdgeExpiryLocksServiceFirst(t *testing.T) {
	t.Parallel()
	eachPlatform(t, func(t *testing.T, dialect string, pc platformCase) {
		e := newHarness(t, dialect, withPlatform(pc, simOptions{}))
		_, pkg := e.catalogue(nil, nil, "9.90", "pro")
		require.Equal(t, 201, e.putService(7951, nil).Status)
		sub := idOf(e.attachWith(7951, map[string]any{"id_pacote": pkg}), "id_assinatura")
		e.waitStatus(sub, "ativo")
		if dialect != store.DialectPostgres {
			require.Equal(t, 200, e.patchExpiry(sub, dateFromToday(2, 0)).Status)
			return
		}
		ctx := context.Background()
		holder, err := e.db.SQL().BeginTx(ctx, nil)
		require.NoError(t, err)
		defer func() { _ = holder.Rollback() }()
		var pid int
		require.NoError(t, holder.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid))
		_, err = holder.ExecContext(ctx, `SELECT id FROM services WHERE id = 7951 FOR UPDATE`)
		require.NoError(t, err)

		done := make(chan response, 1)
		go func() { done <- e.patchExpiry(sub, dateFromToday(2, 0)) }()
		e.eventuallyWithin("the PATCH waiting for the service", 10*time.Second, func() bool {
			var n int
			require.NoError(t, e.db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))`, pid).Scan(&n))
			return n > 0
		})
		probe, err := e.db.SQL().BeginTx(ctx, nil)
		require.NoError(t, err)
		_, perr := probe.ExecContext(ctx, `SELECT id FROM subscriptions WHERE id = $1 FOR UPDATE NOWAIT`, sub)
		require.NoError(t, probe.Rollback())
		require.NoError(t, holder.Rollback())
		require.NoError(t, perr, "the PATCH held the subscription while waiting for the service")
		r := <-done
		require.Equal(t, 200, r.Status, "%s", r.Body)
	})
}

// leRequestHash is what the idempotency middleware hashes: method, path
// and body.
func leRequestHash(method, p, body string) string {
	sum := sha256.Sum256([]byte(method + " " + p + "\n" + body))
	return hex.EncodeToString(sum[:])
}

// billing returns the billing items of a competence by id_assinatura.
func (e *harness) billing(competence string) map[int64]map[string]any {
	e.t.Helper()
	out := map[int64]map[string]any{}
	for _, it := range e.items(e.do("GET", "/api/v1/cobrancas?itens_por_pagina=500&competencia="+competence, nil)) {
		out[idOf(it, "id_assinatura")] = it
	}
	return out
}
