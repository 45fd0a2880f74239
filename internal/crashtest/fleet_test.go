package crashtest

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/internal/svahub"
)

// fleetServices is the size of the debt runs of the fleet suites.
const fleetServices = 200

// fleetEnv is what the fleet suites need of a worker process: a client
// side rate limit keeps each job waiting in the limiter with its plan
// leased, so a process always holds several plans when it is stopped.
var fleetEnv = map[string]string{"SVAHUB_PLATFORM_RATE_LIMIT": "20", "SVAHUB_MAX_WORKERS": "8"}

// fleet is an API process and the services of a debt run, all ativo.
type fleet struct {
	sim platformSim
	api *Server
	raw *sql.DB
	ids []int64
}

// newFleet creates fleetServices services through api (started) and
// waits until they are all ativo.
func newFleet(t *testing.T, sim platformSim, api *Server) *fleet {
	t.Helper()
	setupCatalogue(t, api, sim)
	ids := make([]int64, fleetServices)
	for i := range ids {
		ids[i] = 700001 + int64(i)
	}
	createServices(t, api, ids, 8, nil)
	waitFor(t, 3*time.Minute, "every subscription ativo", func() bool {
		return Count(t, api, "/api/v1/assinaturas?status=ativo") == len(ids)
	})
	raw, err := store.OpenRaw(context.Background(), api.Dialect, api.DSN)
	require.NoError(t, err)
	t.Cleanup(func() { _ = raw.Close() })
	return &fleet{sim: sim, api: api, raw: raw, ids: ids}
}

func waitFor(t *testing.T, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("not after %s: %s", limit, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// debtRun suspends every service for debt (one batch) and waits until the
// platform has made some suspensions.
func (f *fleet) debtRun(t *testing.T) {
	t.Helper()
	items := make([]Item, len(f.ids))
	for i, id := range f.ids {
		items[i] = Item{ID: id, Status: stDebt}
	}
	sendBatch(t, f.api, items)
	waitFor(t, time.Minute, "a quarter of the suspensions made", func() bool {
		return f.sim.Calls(svahub.OpSuspend) >= len(f.ids)/4
	})
}

// held is the plans process pid holds: leased to it, or named by a job it
// was running.
func (f *fleet) held(t *testing.T, pid string) []int64 {
	t.Helper()
	q1 := `SELECT id FROM platform_plans WHERE lease_holder = $1 AND lease_until IS NOT NULL`
	q2 := `SELECT CAST(args->>'plan_id' AS BIGINT) FROM river_job WHERE kind = 'converge_plan' AND state = 'running'
		AND attempted_by[array_length(attempted_by, 1)] = $1`
	if f.api.Dialect == store.DialectSQLite {
		q1 = strings.ReplaceAll(q1, "$1", "?")
		q2 = `SELECT json_extract(args, '$.plan_id') FROM river_job WHERE kind = 'converge_plan' AND state = 'running'
		AND json_extract(attempted_by, '$[#-1]') = ?`
	}
	seen := map[int64]bool{}
	var out []int64
	for _, q := range []string{q1, q2} {
		rows, err := f.raw.QueryContext(context.Background(), q, pid)
		require.NoError(t, err)
		for rows.Next() {
			var id int64
			require.NoError(t, rows.Scan(&id))
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
		require.NoError(t, rows.Close())
	}
	return out
}

// waitHeld waits until process pid holds plans and returns them. A quick
// peer can make the debt run's first calls before pid's first fetch
// (workers poll every second), so one look is not enough.
func (f *fleet) waitHeld(t *testing.T, pid string) []int64 {
	t.Helper()
	var held []int64
	waitFor(t, 10*time.Second, "the process holds plans", func() bool {
		held = f.held(t, pid)
		return len(held) > 0
	})
	return held
}

// pending counts the plans among ids (all plans when nil) whose desired
// version is not applied yet.
func (f *fleet) pending(t *testing.T, ids []int64) int {
	t.Helper()
	q := `SELECT count(*) FROM platform_plans WHERE applied_version <> version AND error_version <> version`
	if ids != nil {
		if len(ids) == 0 {
			return 0
		}
		list := make([]string, len(ids))
		for i, id := range ids {
			list[i] = strconv.FormatInt(id, 10)
		}
		q += ` AND id IN (` + strings.Join(list, ",") + `)`
	}
	var n int
	require.NoError(t, f.raw.QueryRowContext(context.Background(), q).Scan(&n))
	return n
}

// leftBy counts leases and running jobs process pid left behind.
func (f *fleet) leftBy(t *testing.T, pid string) int { return len(f.held(t, pid)) }

// checkDoneOnce waits for the end of the debt run and checks the platform:
// every plan suspended, by exactly one suspension each, every user
// created once.
func (f *fleet) checkDoneOnce(t *testing.T) {
	t.Helper()
	waitFor(t, 2*time.Minute, "every plan converged", func() bool { return f.pending(t, nil) == 0 })
	for _, id := range f.ids {
		u, ok := f.sim.User(login(id))
		require.True(t, ok, login(id))
		require.Equal(t, "suspenso", u.Plans["pro"], login(id))
		require.Equal(t, 1, u.CreateCalls, login(id))
	}
	// Applied: a webhook command whose answer the SIGKILL lost is resent
	// under the same webhook-id and applied once (WEBHOOK.md); Qualifica
	// is read back first, so there every call counts.
	require.Equal(t, len(f.ids), f.sim.Applied(svahub.OpSuspend), "one suspension per plan: no command applied twice for one plan version (calls: %s)", f.sim.Describe())
	require.Equal(t, len(f.ids), f.sim.Applied(svahub.OpCreateUser))
}

// TestKilledWorkerResumesInSeconds SIGKILLs a worker process during a debt
// run: the plans it held resume within 30 s (its leases last
// SVAHUB_LEASE_TTL, 15 s, and the live process makes its running jobs
// available once its heartbeat is that old), and no platform call is made
// twice for one plan version. On PostgreSQL a second worker takes over; on
// SQLite (one process) the restarted process does.
func TestKilledWorkerResumesInSeconds(t *testing.T) {
	skipShort(t)
	eachPlatform(t, func(t *testing.T, dialect string, pc platformCase) {
		sim := pc.start(t, simOptions{})
		var f *fleet
		victim := NewServer(t, dialect, sim, ServerOptions{Env: fleetEnv})
		if dialect == store.DialectPostgres {
			api := NewServer(t, dialect, sim, ServerOptions{Args: []string{"serve", "--workers=false"}})
			api.Start()
			victim = NewServer(t, dialect, sim, ServerOptions{Args: []string{"worker"}, DSN: api.DSN, Env: fleetEnv})
			other := NewServer(t, dialect, sim, ServerOptions{Args: []string{"worker"}, DSN: api.DSN, Env: fleetEnv})
			victim.Start()
			other.Start()
			f = newFleet(t, sim, api)
		} else {
			victim.Start()
			f = newFleet(t, sim, victim)
		}
		pid := victim.ProcessID()
		f.debtRun(t)
		f.waitHeld(t, pid)
		victim.Kill()
		killed := time.Now()
		held := f.held(t, pid)
		require.NotEmpty(t, held, "the killed process held plans")
		if dialect == store.DialectSQLite {
			victim.Start() // the same database, a new process
		}
		waitFor(t, time.Minute, "the killed process's plans converged", func() bool { return f.pending(t, held) == 0 })
		recovery := time.Since(killed)
		t.Logf("%s: SIGKILL with %d plans held; they converged %s after the kill (every plan: %d pending then)",
			dialect, len(held), recovery.Round(100*time.Millisecond), f.pending(t, nil))
		require.LessOrEqual(t, recovery, 30*time.Second, "a killed worker's plans resume within 30 s")
		f.checkDoneOnce(t)
	})
}

// TestDrainHandsWorkOver sends SIGTERM to a process serving the API and
// running workers during a debt run, while an HTTP request to it is in
// flight: the request is answered, the process exits within
// SVAHUB_SHUTDOWN_GRACE leaving no lease and no running job behind, and
// (PostgreSQL) the other worker finishes the run at once, without waiting
// for a lease to expire; no platform call is made twice.
func TestDrainHandsWorkOver(t *testing.T) {
	skipShort(t)
	eachPlatform(t, func(t *testing.T, dialect string, pc platformCase) {
		const grace = 3 * time.Second
		sim := pc.start(t, simOptions{})
		env := map[string]string{"SVAHUB_SHUTDOWN_GRACE": grace.String(), "SVAHUB_PLATFORM_RATE_LIMIT": "10", "SVAHUB_MAX_WORKERS": "30"}
		var f *fleet
		victim := NewServer(t, dialect, sim, ServerOptions{Env: env})
		if dialect == store.DialectPostgres {
			api := NewServer(t, dialect, sim, ServerOptions{Args: []string{"serve", "--workers=false"}})
			api.Start()
			victim = NewServer(t, dialect, sim, ServerOptions{DSN: api.DSN, Env: env, Key: api.Key()})
			// The other worker is quick: what it finishes late is the
			// victim's work, not its own backlog.
			other := NewServer(t, dialect, sim, ServerOptions{Args: []string{"worker"}, DSN: api.DSN,
				Env: map[string]string{"SVAHUB_PLATFORM_RATE_LIMIT": "100", "SVAHUB_MAX_WORKERS": "8"}})
			victim.Start()
			other.Start()
			f = newFleet(t, sim, api)
		} else {
			victim.Start()
			f = newFleet(t, sim, victim)
		}
		pid := victim.ProcessID()
		f.debtRun(t)
		held := f.waitHeld(t, pid)

		// An in-flight request: headers and half the body sent, the rest
		// after SIGTERM.
		pr, pw := io.Pipe()
		req, err := http.NewRequest("POST", victim.Base()+"/api/v1/servicos/status", pr)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+victim.Key())
		req.Header.Set("Content-Type", "application/json")
		answered := make(chan int, 1)
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				answered <- -1
				return
			}
			_ = resp.Body.Close()
			answered <- resp.StatusCode
		}()
		body := `{"itens":[{"id_cliente_servico":` + strconv.FormatInt(f.ids[0], 10) + `,"status_prefixo":"` + stDebt + `"}]}`
		_, _ = pw.Write([]byte(body[:20]))
		time.Sleep(200 * time.Millisecond)
		exited := make(chan time.Duration, 1)
		go func() { exited <- victim.Terminate() }()
		time.Sleep(300 * time.Millisecond)
		_, _ = pw.Write([]byte(body[20:]))
		_ = pw.Close()
		took := <-exited
		stopped := time.Now()
		status := <-answered
		left := f.leftBy(t, pid)
		t.Logf("%s: SIGTERM with %d plans held: exited in %s (grace %s); in-flight request answered %d; left behind %d",
			dialect, len(held), took.Round(10*time.Millisecond), grace, status, left)
		require.Equal(t, http.StatusOK, status, "the in-flight request is answered")
		require.LessOrEqual(t, took, grace, "exit within SVAHUB_SHUTDOWN_GRACE")
		require.Zero(t, left, "no lease or running job left behind")
		if dialect == store.DialectSQLite {
			victim.Start()
		}
		waitFor(t, time.Minute, "the stopped process's plans converged", func() bool { return f.pending(t, held) == 0 })
		takeover := time.Since(stopped)
		t.Logf("%s: its plans converged %s after it exited", dialect, takeover.Round(100*time.Millisecond))
		if dialect == store.DialectPostgres {
			require.Less(t, takeover, 10*time.Second, "taken over at once, not after a lease expiry (15 s) and rescue")
		}
		f.checkDoneOnce(t)
	})
}

// TestReplicasBootstrapOneKey starts two API processes together on one
// empty PostgreSQL schema: exactly one bootstrap key is created, and it
// is printed once across both.
func TestReplicasBootstrapOneKey(t *testing.T) {
	skipShort(t)
	storeEachPostgres(t, func(t *testing.T, dialect string) {
		a := NewServer(t, dialect, nil, ServerOptions{Key: "-"})
		b := NewServer(t, dialect, nil, ServerOptions{DSN: a.DSN, Key: "-"})
		a.launch()
		b.launch()
		a.waitReady()
		b.waitReady()
		time.Sleep(time.Second) // the key is printed after listening
		printed := a.KeysPrinted() + b.KeysPrinted()
		raw, err := store.OpenRaw(context.Background(), dialect, a.DSN)
		require.NoError(t, err)
		defer raw.Close()
		var keys int
		require.NoError(t, raw.QueryRow(`SELECT count(*) FROM api_keys`).Scan(&keys))
		t.Logf("two replicas on an empty database: %d key(s) created, printed %d time(s)", keys, printed)
		require.Equal(t, 1, keys, "exactly one bootstrap key")
		require.Equal(t, 1, printed, "printed once across the replicas")
	})
}

// storeEachPostgres runs fn on PostgreSQL only (several processes on one
// database is the PostgreSQL deployment), skipping SQLite visibly.
func storeEachPostgres(t *testing.T, fn func(t *testing.T, dialect string)) {
	t.Helper()
	t.Run(store.DialectSQLite, func(t *testing.T) {
		t.Skip("several replicas on one database is the PostgreSQL deployment (SQLite runs a single instance)")
	})
	t.Run(store.DialectPostgres, func(t *testing.T) {
		t.Parallel()
		if os.Getenv(storetest.EnvDatabaseURL) == "" {
			t.Skip("PostgreSQL suite skipped: set SVAHUB_TEST_DATABASE_URL to run it")
		}
		fn(t, store.DialectPostgres)
	})
}
