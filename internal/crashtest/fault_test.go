package crashtest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/svahub/svahub/internal/svahub"
)

const (
	faultServices        = 300
	faultRounds          = 4
	faultSeed            = 4242
	faultPlatformTimeout = 200 * time.Millisecond
	// ghostCode is a product code the platform catalogue does not have.
	ghostCode = "curso-fantasma"
)

// TestFaultConvergence runs ~300 services against a platform answering 20%
// of calls 503 and 10% past SVAHUB_PLATFORM_TIMEOUT, revokes every token
// midway (a platform with tokens) and throttles the client to a 429 burst;
// the batch must still converge. A few services also carry a package whose
// product the platform refuses (saved unverified): exactly those
// subscriptions end in erro. It runs over every platform
// (platformsUnderTest): on Qualifica the late answers are never applied,
// on the webhook receiver they are applied and their answer lost, so the
// same command is sent again under the same webhook-id.
func TestFaultConvergence(t *testing.T) {
	skipShort(t)
	eachPlatform(t, func(t *testing.T, dialect string, pc platformCase) {
		runFaults(t, dialect, pc)
	})
}

func runFaults(t *testing.T, dialect string, pc platformCase) {
	t0 := time.Now()
	phase := func(f string, a ...any) {
		t.Logf("[%s/%s +%5.1fs] %s", pc.name, dialect, time.Since(t0).Seconds(), fmt.Sprintf(f, a...))
	}
	plat := pc.start(t, simOptions{FaultHold: 300 * time.Millisecond, Seed: faultSeed})
	s := NewServer(t, dialect, plat, ServerOptions{Env: map[string]string{"SVAHUB_PLATFORM_TIMEOUT": faultPlatformTimeout.String()}})
	s.Start()

	integ, pro, ghost := plat.FaultSetup(t, s, ghostCode)
	comboPkg := createPackage(t, s, "QPRO", integ, pro)
	ghostPkg := createPackage(t, s, "QFANT", integ, ghost)
	s.Call(t, "PUT", fmt.Sprintf("/api/v1/planos/%d", comboPlan),
		map[string]any{"descricao": "Fibra + Qualifica", "pacotes": []int64{comboPkg}}, 200, 201)
	phase("catalogue ready (product %q unverified)", ghostCode)

	plat.SetFaults(0.2, 0.1)
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
	tokensBeforeRevoke, revoked := 0, false
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
			tokensBeforeRevoke = plat.Calls(svahub.OpToken)
			if revoked = plat.RevokeTokens(); revoked {
				phase("every platform token revoked")
			}
		case 2:
			time.Sleep(500 * time.Millisecond)
			plat.SetRateLimit(2)
			time.Sleep(3 * time.Second)
			plat.SetRateLimit(0)
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
	fails, timeouts, limited := plat.Faults()
	phase("convergence: %d problems after %s; platform calls %s", len(probs), waited.Round(time.Millisecond), plat.Describe())
	for k, n := range map[string]int{"503": fails, "timeout": timeouts, "429": limited} {
		if n == 0 {
			t.Errorf("the platform injected no %s: the suite did not exercise it", k)
		}
	}
	if revoked && plat.Calls(svahub.OpToken) <= tokensBeforeRevoke {
		t.Errorf("no token requested after RevokeTokens (%d before, %d after)", tokensBeforeRevoke, plat.Calls(svahub.OpToken))
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
