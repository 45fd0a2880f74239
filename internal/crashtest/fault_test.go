package crashtest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/pkg/qualifica/qualificasim"
)

const (
	faultServices        = 300
	faultRounds          = 4
	faultSeed            = 4242
	faultPlatformTimeout = 200 * time.Millisecond
	// ghostCode is a product code the platform catalogue does not have.
	ghostCode = "curso-fantasma"
)

// TestFaultConvergence runs ~300 services against a simulator answering 20%
// of calls 503 and hanging 10% past SVAHUB_PLATFORM_TIMEOUT, revokes every
// token midway and throttles the client to a 429 burst; the batch must still
// converge. A few services also carry a package whose product is not on the
// platform (saved unverified while the integration pointed at a closed
// port): exactly those subscriptions end in erro.
//
// Qualifica only (see platform_test.go): a product refused by code needs a
// catalogue, and it revokes OAuth tokens and uses the simulator's rate
// limit and random 503/timeout rates.
func TestFaultConvergence(t *testing.T) {
	skipShort(t)
	storetest.Each(t, func(t *testing.T, dialect string) {
		runFaults(t, dialect)
	})
}

func runFaults(t *testing.T, dialect string) {
	t0 := time.Now()
	phase := func(f string, a ...any) {
		t.Logf("[%s +%5.1fs] %s", dialect, time.Since(t0).Seconds(), fmt.Sprintf(f, a...))
	}
	sim := qualificasim.NewServer(t, qualificasim.Options{TimeoutDelay: 300 * time.Millisecond, Seed: faultSeed})
	plat := qualificaPlatform{sim}
	s := NewServer(t, dialect, plat, ServerOptions{Env: map[string]string{"SVAHUB_PLATFORM_TIMEOUT": faultPlatformTimeout.String()}})
	s.Start()

	// The integration first points at a closed port: products are saved
	// unverified, so the ghost code is accepted.
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
	product := func(code string) int64 {
		var p struct {
			ID       int64 `json:"id_produto"`
			Verified bool  `json:"verificado"`
		}
		s.Call(t, "POST", fmt.Sprintf("/api/v1/integracoes/%d/produtos", integ.ID),
			map[string]any{"descricao": "Produto " + code, "codigo": code}, 201).JSON(t, &p)
		if p.Verified {
			t.Fatalf("product %q verified with the platform unreachable", code)
		}
		return p.ID
	}
	pro, ghost := product("pro"), product(ghostCode)
	comboPkg := createPackage(t, s, "QPRO", integ.ID, pro)
	ghostPkg := createPackage(t, s, "QFANT", integ.ID, ghost)
	s.Call(t, "PUT", fmt.Sprintf("/api/v1/planos/%d", comboPlan),
		map[string]any{"descricao": "Fibra + Qualifica", "pacotes": []int64{comboPkg}}, 200, 201)

	// Now point it at the simulator: a new token, and testar re-verifies.
	// A new address needs the secret again (it is never sent elsewhere).
	body := integrationBody(sim.URL())
	s.Call(t, "PUT", fmt.Sprintf("/api/v1/integracoes/%d", integ.ID), body, 200).JSON(t, &integ)
	if integ.Token.Status != "valido" {
		t.Fatalf("token after pointing url_base at the simulator: %q, want valido", integ.Token.Status)
	}
	s.Call(t, "POST", fmt.Sprintf("/api/v1/integracoes/%d/testar", integ.ID), nil, 200)
	for id, want := range map[int64]bool{pro: true, ghost: false} {
		var p struct {
			Verified bool `json:"verificado"`
		}
		s.Call(t, "GET", fmt.Sprintf("/api/v1/produtos/%d", id), nil, 200).JSON(t, &p)
		if p.Verified != want {
			t.Errorf("product %d verificado=%v after testar, want %v", id, p.Verified, want)
		}
	}
	phase("catalogue ready (product %q unverified)", ghostCode)

	sim.SetFaults(0.2, 0.1)
	ids := make([]int64, faultServices)
	broken := map[int64]bool{}
	for i := range ids {
		ids[i] = 200001 + int64(i)
		if i%30 == 7 {
			broken[ids[i]] = true
		}
	}
	m := newModel(ids)
	createServices(t, s, ids, 8, nil)
	if t.Failed() {
		t.FailNow()
	}
	var ghostSubs []int64
	for _, id := range ids {
		if broken[id] {
			var sub struct {
				ID int64 `json:"id_assinatura"`
			}
			s.Call(t, "POST", fmt.Sprintf("/api/v1/servicos/%d/pacotes", id), map[string]any{"id_pacote": ghostPkg}, 201).JSON(t, &sub)
			ghostSubs = append(ghostSubs, sub.ID)
		}
	}
	phase("%d services created (%d with the %q package); faults on: 20%% 503, 10%% timeouts", len(ids), len(broken), ghostCode)

	rng := rand.New(rand.NewPCG(faultSeed, 2))
	tokensBeforeRevoke := 0
	statuses := []string{stEnabled, stEnabled, stDebt, stCustomer, stCustomer, stDebt, stEnabled, stCancelled}
	for round := 1; round <= faultRounds; round++ {
		var items []Item
		for _, id := range ids {
			if !broken[id] { // their combo must stay ativo, their ghost plan in erro
				items = append(items, Item{ID: id, Status: statuses[rng.IntN(len(statuses))]})
			}
		}
		sendBatch(t, s, items)
		m.Apply(items)
		phase("round %d acknowledged", round)
		switch round {
		case 1:
			time.Sleep(time.Second)
			tokensBeforeRevoke = sim.Calls()[qualificasim.OpToken]
			sim.RevokeTokens()
			phase("every platform token revoked")
		case 2:
			time.Sleep(500 * time.Millisecond)
			sim.SetRateLimit(2)
			time.Sleep(3 * time.Second)
			sim.SetRateLimit(0)
			phase("429 burst: 2 requests/s for 3 s")
		}
	}
	counts := map[string]int{}
	for _, id := range ids {
		counts[m.Desired(id)]++
	}
	phase("final desired states: %v", counts)

	e := Expect{Model: m, Services: ids, ComboPackage: comboPkg, Broken: broken, BrokenPkg: ghostPkg, BrokenCode: ghostCode}
	probs, waited := e.waitConverged(t, s, plat, time.Now().Add(faultConvergeWait))
	calls := sim.Calls()
	phase("convergence: %d problems after %s; simulator calls %v", len(probs), waited.Round(time.Millisecond), calls)
	for _, k := range []string{qualificasim.Call5xx, qualificasim.CallTimeout, qualificasim.Call429} {
		if calls[k] == 0 {
			t.Errorf("the simulator injected no %s: the suite did not exercise it", k)
		}
	}
	if calls[qualificasim.OpToken] <= tokensBeforeRevoke {
		t.Errorf("no token requested after RevokeTokens (%d before, %d after)", tokensBeforeRevoke, calls[qualificasim.OpToken])
	}

	// Exactly the ghost subscriptions are in erro.
	var inErro []int64
	for _, sub := range ListAll[Subscription](t, s, "/api/v1/assinaturas?status=erro") {
		inErro = append(inErro, sub.ID)
	}
	slices.Sort(inErro)
	slices.Sort(ghostSubs)
	if !slices.Equal(inErro, ghostSubs) {
		t.Errorf("subscriptions in erro %v, want exactly the %q ones %v", inErro, ghostCode, ghostSubs)
	}
	if len(probs) > 0 {
		explain(t, s, probs).report(t)
	}
}

// faultConvergeWait bounds the wait for convergence under faults (River's
// retry backoff doubles from 1 s).
const faultConvergeWait = 90 * time.Second
