package crashtest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/svahub"
)

// TestTwoWorkerProcesses runs an API-only process and two `svahub worker`
// processes on one PostgreSQL database: the work is shared between the
// workers and each piece of it is done exactly once.
func TestTwoWorkerProcesses(t *testing.T) {
	skipShort(t)
	eachPlatform(t, func(t *testing.T, dialect string, pc platformCase) {
		if dialect != store.DialectPostgres {
			t.Skip("several processes on one database is the PostgreSQL deployment (SQLite runs a single instance)")
		}
		sim := pc.start(t, simOptions{Latency: 5 * time.Millisecond})
		api := NewServer(t, dialect, sim, ServerOptions{Args: []string{"serve", "--workers=false"}})
		api.Start()
		setupCatalogue(t, api, sim)
		w1 := NewServer(t, dialect, sim, ServerOptions{Args: []string{"worker"}, DSN: api.DSN, Env: map[string]string{"SVAHUB_MAX_WORKERS": "2"}})
		w2 := NewServer(t, dialect, sim, ServerOptions{Args: []string{"worker"}, DSN: api.DSN, Env: map[string]string{"SVAHUB_MAX_WORKERS": "2"}})
		w1.Start()
		w2.Start()

		const n = 300
		ids := make([]int64, n)
		for i := range ids {
			ids[i] = 300001 + int64(i)
		}
		createServices(t, api, ids, 8, nil)
		deadline := time.Now().Add(3 * time.Minute)
		for Count(t, api, "/api/v1/assinaturas?status=ativo") < n {
			if time.Now().After(deadline) {
				t.Fatalf("only %d of %d subscriptions ativo", Count(t, api, "/api/v1/assinaturas?status=ativo"), n)
			}
			time.Sleep(200 * time.Millisecond)
		}

		// On the platform: one user per service, created once; one plan
		// activation per service (no work done twice).
		users := sim.Users()
		require.Len(t, users, n)
		for _, u := range users {
			require.Equal(t, 1, u.CreateCalls, u.Username)
		}
		require.Equal(t, n, sim.Calls(svahub.OpCreateUser))
		require.Equal(t, n, sim.Calls(svahub.OpActivatePlan))

		// In River: every converge job ran once, and both workers took some.
		ctx := context.Background()
		db, err := store.OpenRaw(ctx, dialect, api.DSN)
		require.NoError(t, err)
		defer db.Close()
		var jobs, retried, clients int
		require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE attempt > 1)
			FROM river_job WHERE kind = 'converge_plan'`).Scan(&jobs, &retried))
		require.Equal(t, n, jobs)
		require.Zero(t, retried, "no converge job ran twice")
		require.NoError(t, db.QueryRowContext(ctx, `SELECT count(DISTINCT attempted_by[1]) FROM river_job WHERE kind = 'converge_plan'`).Scan(&clients))
		require.Equal(t, 2, clients, "both worker processes took jobs (2 slots each for 300 jobs)")
		// Periodic jobs run on the elected leader only: one leader row.
		var leaders int
		require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM river_leader`).Scan(&leaders))
		require.Equal(t, 1, leaders, "one elected leader")
	})
}
