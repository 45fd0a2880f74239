package crashtest

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/pkg/qualifica/qualificasim"
)

const (
	// budgetServices and budgetRate size TestFleetSharesPlatformBudget: the
	// debt run's ideal is budgetServices / budgetRate seconds (10 s).
	budgetServices = 400
	budgetRate     = 40.0
	fleetWorkers   = 3
)

// TestFleetSharesPlatformBudget runs three `svahub worker` processes and
// one `svahub serve --workers=false` on one PostgreSQL database against a
// Qualifica simulator allowing budgetRate requests per second — the same
// SVAHUB_PLATFORM_RATE_LIMIT every process is given. Each process must pace
// itself at its share of that limit: at most 1 % of the platform calls of
// the whole run (activation of every service, then a debt run suspending
// them all) may be answered 429. The debt run's time is logged against
// its ideal (services / rate) and bounded loosely (1.5 × ideal + 5 s), so a
// loaded machine does not make it flaky.
//
// Qualifica only (see platform_test.go): it needs the simulator's rate limit.
func TestFleetSharesPlatformBudget(t *testing.T) {
	skipShort(t)
	storetest.Each(t, func(t *testing.T, dialect string) {
		if dialect != store.DialectPostgres {
			t.Skip("several processes on one database is the PostgreSQL deployment (SQLite runs a single instance, which keeps the whole limit)")
		}
		runFleetBudget(t, dialect)
	})
}

func runFleetBudget(t *testing.T, dialect string) {
	t0 := time.Now()
	phase := func(f string, a ...any) {
		t.Logf("[+%5.1fs] %s", time.Since(t0).Seconds(), fmt.Sprintf(f, a...))
	}
	sim := qualificasim.NewServer(t, qualificasim.Options{Latency: 5 * time.Millisecond, RateLimit: budgetRate, Seed: 15})
	plat := qualificaPlatform{sim}
	env := map[string]string{"SVAHUB_PLATFORM_RATE_LIMIT": strconv.FormatFloat(budgetRate, 'f', -1, 64)}
	api := NewServer(t, dialect, plat, ServerOptions{Args: []string{"serve", "--workers=false"}, Env: env})
	api.Start()
	setupCatalogue(t, api, plat)
	for range fleetWorkers {
		NewServer(t, dialect, plat, ServerOptions{Args: []string{"worker"}, DSN: api.DSN, Env: env}).Start()
	}
	phase("API process and %d workers ready; limit %.0f req/s", fleetWorkers, budgetRate)

	ids := make([]int64, budgetServices)
	for i := range ids {
		ids[i] = 150001 + int64(i)
	}
	createServices(t, api, ids, 8, nil)
	waitSubscriptions(t, api, "ativo", budgetServices, 3*time.Minute)
	phase("activation done: %v", sim.Calls())

	before := sim.Calls()
	start := time.Now()
	items := make([]Item, len(ids))
	for i, id := range ids {
		items[i] = Item{ID: id, Status: stDebt}
	}
	sendBatch(t, api, items)
	deadline := start.Add(3 * time.Minute)
	for countSimPlans(sim, "suspenso") < budgetServices {
		if time.Now().After(deadline) {
			t.Fatalf("debt run: %d of %d plans suspended after 3 min", countSimPlans(sim, "suspenso"), budgetServices)
		}
		time.Sleep(50 * time.Millisecond)
	}
	elapsed := time.Since(start)
	ideal := time.Duration(float64(budgetServices) / budgetRate * float64(time.Second))
	debt := deltaCalls(sim.Calls(), before)
	all := sim.Calls()
	phase("debt run: %s for %d services, ideal %s, time/ideal %.2f; calls %v", elapsed.Round(time.Millisecond), budgetServices, ideal, elapsed.Seconds()/ideal.Seconds(), debt)

	for name, c := range map[string]map[string]int{"whole run": all, "debt run": debt} {
		total, n429 := platformRequests(c), c[qualificasim.Call429]
		share := float64(n429) / float64(max(1, total))
		t.Logf("%s: %d platform requests, %d answered 429 (%.2f %%)", name, total, n429, 100*share)
		require.LessOrEqual(t, share, 0.01, "%s: 429s above 1 %% of platform calls: the processes spend more than the shared budget", name)
	}
	require.Less(t, elapsed, ideal*3/2+5*time.Second, "debt run far slower than services / rate: the budget is under-used")

	// The API process called the platform only while saving the
	// catalogue: it has left every budget; each worker holds a share.
	members := budgetMembers(t, api)
	require.Equal(t, map[int64]int{0: fleetWorkers}, members, "live budget members (0: every integration)")
}

// waitSubscriptions waits until n subscriptions have status.
func waitSubscriptions(t *testing.T, s *Server, status string, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for Count(t, s, "/api/v1/assinaturas?status="+status) < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d subscriptions %s after %s", Count(t, s, "/api/v1/assinaturas?status="+status), n, status, within)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// countSimPlans counts the simulator's "pro" plans with status.
func countSimPlans(sim *qualificasim.Sim, status string) int {
	n := 0
	for _, u := range sim.Users() {
		for _, p := range u.Plans {
			if p.Product == "pro" && p.Status == status {
				n++
			}
		}
	}
	return n
}

// platformRequests sums the requests that reached any operation.
func platformRequests(c map[string]int) int {
	n := 0
	for _, op := range []string{qualificasim.OpToken, qualificasim.OpProducts, qualificasim.OpCreateUser, qualificasim.OpQuery,
		qualificasim.OpPutPlan, qualificasim.OpSuspend, qualificasim.OpReactivate, qualificasim.OpCancel} {
		n += c[op]
	}
	return n
}

func deltaCalls(after, before map[string]int) map[string]int {
	d := map[string]int{}
	for k, v := range after {
		if n := v - before[k]; n != 0 {
			d[k] = n
		}
	}
	return d
}

// budgetMembers reads the live platform budget members per integration id
// straight from the database, waiting (up to 15 s) for members of single
// integrations (processes without workers) to leave.
func budgetMembers(t *testing.T, s *Server) map[int64]int {
	t.Helper()
	ctx := context.Background()
	db, err := store.OpenRaw(ctx, s.Dialect, s.DSN)
	require.NoError(t, err)
	defer db.Close()
	deadline := time.Now().Add(15 * time.Second)
	for {
		rows, err := db.QueryContext(ctx, `SELECT integration_id, count(*) FROM platform_budget_members WHERE expires_at >= now() GROUP BY integration_id`)
		require.NoError(t, err)
		out := map[int64]int{}
		for rows.Next() {
			var id int64
			var n int
			require.NoError(t, rows.Scan(&id, &n))
			out[id] = n
		}
		require.NoError(t, rows.Close())
		if len(out) <= 1 || time.Now().After(deadline) {
			return out
		}
		time.Sleep(500 * time.Millisecond)
	}
}
