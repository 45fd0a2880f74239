package crashtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

const (
	crashServices = 2000
	crashRounds   = 5
	batchSize     = 1000
	crashSeed     = 20240601
)

// TestCrashConvergence creates ~2,000 services, flips their statuses in
// batches of 1,000 and SIGKILLs svahub three times while its workers are
// busy (during creation, during an in-flight batch, right after a batch);
// after the last restart the platform must match the final desired state of
// every service, with every user created once and nothing pendente or erro.
func TestCrashConvergence(t *testing.T) {
	skipShort(t)
	eachPlatform(t, func(t *testing.T, dialect string, pc platformCase) {
		runCrash(t, dialect, pc)
	})
}

func runCrash(t *testing.T, dialect string, pc platformCase) {
	t0 := time.Now()
	phase := func(f string, a ...any) {
		t.Logf("[%s +%5.1fs] %s", dialect, time.Since(t0).Seconds(), fmt.Sprintf(f, a...))
	}
	sim := pc.start(t, simOptions{Latency: 2 * time.Millisecond, Seed: crashSeed})
	s := NewServer(t, dialect, sim, ServerOptions{Env: map[string]string{"SVAHUB_PLATFORM_TIMEOUT": crashPlatformTimeout.String()}})
	s.Start()
	cat := setupCatalogue(t, s, sim)
	phase("started, catalogue ready")

	ids := make([]int64, crashServices)
	for i := range ids {
		ids[i] = 100001 + int64(i)
	}
	m := newModel(ids)

	// Kill #1 while services are being created (workers creating users).
	reached, created := make(chan struct{}), make(chan struct{})
	var once sync.Once
	go func() {
		defer close(created)
		createServices(t, s, ids, 16, func(n int64) {
			if n >= crashServices*2/5 {
				once.Do(func() { close(reached) })
			}
		})
	}()
	select {
	case <-reached:
	case <-created:
	}
	s.Restart()
	phase("kill #1 during service creation; restarted")
	<-created
	if t.Failed() {
		t.FailNow()
	}
	checkPersisted(t, s, m)
	phase("%d services created", len(ids))

	rng := rand.New(rand.NewPCG(crashSeed, 1))
	pick := func() string {
		switch x := rng.IntN(100); {
		case x < 8:
			return stCancelled
		case x < 36:
			return stDebt
		case x < 64:
			return stCustomer
		default:
			return stEnabled
		}
	}
	var batchTime time.Duration
	batches := 0
	for round := 1; round <= crashRounds; round++ {
		items := make([]Item, len(ids))
		for i, id := range ids {
			items[i] = Item{ID: id, Status: pick()}
		}
		for b := 0; b < len(items); b += batchSize {
			batch := items[b:min(b+batchSize, len(items))]
			if round == 2 && b == 0 {
				// Kill #2 while this batch is in flight.
				delay := batchTime / time.Duration(max(batches, 1)) / 2
				what := killDuringBatch(t, s, m, batch, delay)
				phase("kill #2 %s after sending a batch: %s; restarted", delay.Round(time.Millisecond), what)
				continue
			}
			start := time.Now()
			sendBatch(t, s, batch)
			batchTime += time.Since(start)
			batches++
			m.Apply(batch)
		}
		phase("round %d acknowledged (mean batch %s)", round, (batchTime / time.Duration(max(batches, 1))).Round(time.Millisecond))
		if round == 3 {
			// Kill #3 right after acknowledged batches: workers are busy.
			s.Restart()
			checkPersisted(t, s, m)
			phase("kill #3 after round 3; restarted, every acknowledged change persisted")
		}
	}
	checkPersisted(t, s, m)
	counts := map[string]int{}
	for _, id := range ids {
		counts[m.Desired(id)]++
	}
	phase("final desired states: %v", counts)

	e := Expect{Model: m, Services: ids, ComboPackage: cat.Package}
	probs, waited := e.waitConverged(t, s, sim, recoveryDeadline(s, 30*time.Second))
	phase("convergence: %d problems after %s; simulator calls %v", len(probs), waited.Round(time.Millisecond), sim.Describe())
	// check compared every subscription with its desired status (so none is
	// pendente or erro) and every platform plan with the desired state.
	if len(probs) > 0 {
		explain(t, s, probs).report(t)
	}
}

// crashPlatformTimeout is SVAHUB_PLATFORM_TIMEOUT of the crash suite; the
// job timeout derives from it (leases last SVAHUB_LEASE_TTL, 15 s).
const crashPlatformTimeout = time.Second

// killDuringBatch sends batch, SIGKILLs svahub after delay, restarts it and
// makes sure the batch ends up applied exactly as HubSoft would: a batch
// answered 200 before the kill must be persisted; one that was not answered
// must be all-or-nothing, and is sent again.
func killDuringBatch(t *testing.T, s *Server, m *Model, batch []Item, delay time.Duration) string {
	t.Helper()
	type result struct {
		r   Response
		err error
	}
	ch := make(chan result, 1)
	go func() {
		r, err := s.Do(context.Background(), "POST", "/api/v1/servicos/status", map[string]any{"itens": batch})
		ch <- result{r, err}
	}()
	time.Sleep(delay)
	s.Kill()
	got := <-ch
	s.Start()
	if got.err == nil && got.r.Status == 200 {
		checkBatchAnswer(t, got.r, batch)
		m.Apply(batch)
		checkPersisted(t, s, m)
		return "answered 200 before the kill, persisted"
	}
	// Unanswered: the batch is one transaction, so all or none of it.
	persisted := map[int64]string{}
	for _, sv := range ListAll[Service](t, s, "/api/v1/servicos") {
		persisted[sv.ID] = sv.Status
	}
	changed, applied := 0, 0
	for _, it := range batch {
		if m.status[it.ID] == it.Status {
			continue
		}
		changed++
		if persisted[it.ID] == it.Status {
			applied++
		} else if persisted[it.ID] != m.status[it.ID] {
			t.Fatalf("service %d: status %q is neither the old %q nor the new %q", it.ID, persisted[it.ID], m.status[it.ID], it.Status)
		}
	}
	if applied != 0 && applied != changed {
		t.Fatalf("an unanswered batch was half applied: %d of %d changes persisted", applied, changed)
	}
	sendBatch(t, s, batch) // HubSoft retries
	m.Apply(batch)
	checkPersisted(t, s, m)
	status := "error " + fmt.Sprint(got.err)
	if got.err == nil {
		status = fmt.Sprintf("status %d", got.r.Status)
	}
	return fmt.Sprintf("unanswered (%s), %d of %d changes had committed, retried", status, applied, changed)
}
