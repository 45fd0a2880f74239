package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/secret"
	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/internal/svahub"
)

// twoProcesses is a fresh database opened by two processes (p1, p2) on
// one clock: e.db is p1; raw reads River's table.
type twoProcesses struct {
	*confEnv
	p2  *store.DB
	raw *sql.DB
	dsn string
	// open opens one more process on the database at dsn.
	open func(id, dsn string) *store.DB
}

func newTwoProcesses(t *testing.T, dialect string) *twoProcesses {
	t.Helper()
	dsn := storetest.DSN(t, dialect)
	clk := newConfClock()
	q := &confQueue{}
	open := func(id, dsn string) *store.DB {
		box, err := secret.NewBox(storetest.Key)
		require.NoError(t, err)
		db, err := store.Open(context.Background(), dialect, dsn, store.Options{Sealer: box, Now: clk.Now, Location: time.UTC,
			Logger: slog.New(slog.DiscardHandler), ProcessID: id, JobQueue: q, Adapters: storetest.Adapters()})
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Close() })
		return db
	}
	p1 := open("p1", dsn)
	require.NoError(t, p1.Migrate(context.Background()))
	raw, err := store.OpenRaw(context.Background(), dialect, dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = raw.Close() })
	return &twoProcesses{confEnv: &confEnv{t: t, ctx: context.Background(), db: p1, clock: clk, queue: q}, p2: open("p2", dsn), raw: raw, dsn: dsn, open: open}
}

// runningJob inserts a River job running in process attemptedBy.
func (e *twoProcesses) runningJob(dialect, attemptedBy string) int64 {
	e.t.Helper()
	q := `INSERT INTO river_job (args, kind, max_attempts, state, attempt, attempted_by) VALUES ('{}', 'converge_plan', 25, 'running', 1, ARRAY[$1]) RETURNING id`
	if dialect == store.DialectSQLite {
		q = `INSERT INTO river_job (kind, max_attempts, state, attempt, attempted_by) VALUES ('converge_plan', 25, 'running', 1, jsonb_array(?)) RETURNING id`
	}
	var id int64
	require.NoError(e.t, e.raw.QueryRowContext(e.ctx, q, attemptedBy).Scan(&id))
	return id
}

func (e *twoProcesses) jobState(id int64) string {
	e.t.Helper()
	var st string
	require.NoError(e.t, e.raw.QueryRowContext(e.ctx, `SELECT state FROM river_job WHERE id = `+strconv.FormatInt(id, 10)).Scan(&st))
	return st
}

// heapOrderedPlans makes two plans a < b held by p whose live row
// versions are in the opposite order in the heap (a was updated last).
func (e *twoProcesses) heapOrderedPlans(p *store.DB) (a, b int64) {
	e.t.Helper()
	_, pkg := e.catalogue()
	_, a, _ = e.subscription(904, pkg.ID, "2027-05-01")
	_, b, _ = e.subscription(905, pkg.ID, "2027-05-01")
	require.Less(e.t, a, b)
	for _, plan := range []int64{a, b} {
		_, ok, err := p.ClaimPlan(e.ctx, plan, time.Minute)
		require.NoError(e.t, err)
		require.True(e.t, ok)
	}
	_, err := e.raw.ExecContext(e.ctx, `UPDATE platform_plans SET reconciled_at = now() WHERE id = $1`, a)
	require.NoError(e.t, err)
	return a, b
}

// heapScanner opens a process whose statements scan tables in heap order,
// as a bitmap scan of a large chunk does (pgx passes the URL's other
// parameters as the session's settings).
func (e *twoProcesses) heapScanner(id string) *store.DB {
	e.t.Helper()
	return e.open(id, e.dsn+"&enable_indexscan=off&enable_bitmapscan=off")
}

// waitForLockWait waits (up to 5 s) until a statement of this database
// containing text waits for a row lock.
func (e *twoProcesses) waitForLockWait(text string) {
	e.t.Helper()
	require.Eventually(e.t, func() bool {
		var n int
		require.NoError(e.t, e.raw.QueryRowContext(e.ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND position($1 in query) > 0`, text).Scan(&n))
		return n > 0
	}, 5*time.Second, 10*time.Millisecond)
}

func confLeases() []confCase {
	return []confCase{
		{"Leases/ProcessID", func(t *testing.T, d string) {
			e := newTwoProcesses(t, d)
			require.Equal(t, "p1", e.db.ProcessID())
			require.Equal(t, "p2", e.p2.ProcessID())
			require.NotEmpty(t, storetest.Open(t, d).ProcessID(), "a process gets a name of its own")
		}},
		{"Leases/RenewLeases", func(t *testing.T, d string) {
			e := newTwoProcesses(t, d)
			_, pkg := e.catalogue()
			_, plan, account := e.subscription(901, pkg.ID, "")
			e.claim(plan)
			ok, _, err := e.db.ClaimAccount(e.ctx, account, 15*time.Second)
			require.NoError(t, err)
			require.True(t, ok)
			e.clock.Advance(10 * time.Second)
			plans, accounts, err := e.db.RenewLeases(e.ctx, 15*time.Second, []int64{plan}, []int64{account})
			require.NoError(t, err)
			require.Equal(t, []int64{plan}, plans)
			require.Equal(t, []int64{account}, accounts)
			e.clock.Advance(10 * time.Second) // renewed: still held
			_, ok, err = e.p2.ClaimPlan(e.ctx, plan, 15*time.Second)
			require.NoError(t, err)
			require.False(t, ok, "a renewed lease holds")
			plans, _, err = e.p2.RenewLeases(e.ctx, 15*time.Second, []int64{plan}, nil)
			require.NoError(t, err)
			require.Empty(t, plans, "a process renews only its own leases")

			e.clock.Advance(20 * time.Second) // p1 silent for longer than the TTL
			_, ok, err = e.p2.ClaimPlan(e.ctx, plan, 15*time.Second)
			require.NoError(t, err)
			require.True(t, ok, "an expired lease is taken over")
			plans, _, err = e.db.RenewLeases(e.ctx, 15*time.Second, []int64{plan}, nil)
			require.NoError(t, err)
			require.Empty(t, plans, "p1 learns it lost the plan")
			require.NoError(t, e.db.ReleasePlan(e.ctx, plan))
			_, ok, err = e.db.ClaimPlan(e.ctx, plan, 15*time.Second)
			require.NoError(t, err)
			require.False(t, ok, "p1's release leaves p2's lease alone")
		}},
		{"Leases/RenewLeases/Retire/NoDeadlockWithOrderedLocker", func(t *testing.T, d string) {
			// Found in the debt benchmark's server log: a renewal locked its
			// plans in heap order and deadlocked with a group commit, which
			// locks them in id order (each deadlock stalls both for a
			// second). Retire, which releases every lease, did the same, as
			// did an integration's reactivation, which bumps the versions
			// of the plans it held (UpdateIntegration, enqueueHeld).
			if d != store.DialectPostgres {
				t.Skip("SQLite has one writer at a time: no row locks to order")
			}
			ops := map[string]struct {
				prepare func(e *twoProcesses, integ int64)
				run     func(p *store.DB, integ int64, plans []int64) error
				waits   string // text of the statement that waits for a
			}{
				"RenewLeases": {run: func(p *store.DB, _ int64, plans []int64) error {
					kept, _, err := p.RenewLeases(context.Background(), time.Minute, plans, nil)
					if err == nil && len(kept) != len(plans) {
						err = fmt.Errorf("renewed %v of %v", kept, plans)
					}
					return err
				}, waits: "lease_holder"},
				"Retire": {run: func(p *store.DB, _ int64, _ []int64) error { return p.Retire(context.Background()) }, waits: "lease_holder"},
				"UpdateIntegration": {prepare: func(e *twoProcesses, integ int64) {
					_, err := e.db.UpdateIntegration(e.ctx, integ, svahub.IntegrationUpdate{Active: ptr(false)})
					require.NoError(e.t, err)
				}, run: func(p *store.DB, integ int64, _ []int64) error {
					_, err := p.UpdateIntegration(context.Background(), integ, svahub.IntegrationUpdate{Active: ptr(true)})
					return err
				}, waits: "platform_plans"},
			}
			for name, op := range ops {
				t.Run(name, func(t *testing.T) {
					e := newTwoProcesses(t, d)
					p3 := e.heapScanner("p3")
					a, b := e.heapOrderedPlans(p3)
					var integ int64
					e.scalar(`SELECT integration_id FROM platform_plans WHERE id = ?`, &integ, a)
					if op.prepare != nil {
						op.prepare(e, integ)
					}
					locker, err := e.raw.BeginTx(e.ctx, nil) // as CompletePlans: a, then b
					require.NoError(t, err)
					defer func() { _ = locker.Rollback() }()
					lock := func(id int64) error {
						_, err := locker.ExecContext(e.ctx, `SELECT id FROM platform_plans WHERE id = $1 FOR NO KEY UPDATE`, id)
						return err
					}
					require.NoError(t, lock(a))
					done := make(chan error, 1)
					go func() { done <- op.run(p3, integ, []int64{a, b}) }()
					e.waitForLockWait(op.waits) // the operation waits for a
					// Shorter than deadlock_timeout: with a cycle, the locker
					// times out before the operation is aborted (and retried).
					_, err = locker.ExecContext(e.ctx, `SET LOCAL lock_timeout = '700ms'`)
					require.NoError(t, err)
					require.NoError(t, lock(b), "the ordered locker gets b: the operation waits for a without holding b")
					require.NoError(t, locker.Commit())
					require.NoError(t, <-done)
				})
			}
		}},
		{"Provision/CompletePlans/AfterTakeover", func(t *testing.T, d string) {
			// Found by a hostile review: a worker whose lease expired while
			// its completion waited (renewals failing, the group commit's
			// wait) overwrote the plan another process had taken over.
			e := newTwoProcesses(t, d)
			_, pkg := e.catalogue()
			_, plan, _ := e.subscription(903, pkg.ID, "2027-05-01")
			w := e.claim(plan) // a lease of a minute
			e.clock.Advance(2 * time.Minute)
			w2, ok, err := e.p2.ClaimPlan(e.ctx, plan, 15*time.Second)
			require.NoError(t, err)
			require.True(t, ok, "p2 takes the expired lease over")
			require.NoError(t, e.db.CompletePlan(e.ctx, plan, w.Version, svahub.AccessActive, "2027-05-01", true))
			var applied int64
			var holder *string
			require.NoError(t, e.raw.QueryRowContext(e.ctx, e.rebind(`SELECT applied_version, lease_holder FROM platform_plans WHERE id = ?`), plan).
				Scan(&applied, &holder))
			require.Equal(t, w2.AppliedVersion, applied, "p1's late completion leaves p2's plan alone")
			require.NotNil(t, holder)
			require.Equal(t, "p2", *holder)
			require.NoError(t, e.p2.CompletePlan(e.ctx, plan, w2.Version, svahub.AccessActive, "2027-05-01", true))
			require.NoError(t, e.raw.QueryRowContext(e.ctx, e.rebind(`SELECT applied_version, lease_holder FROM platform_plans WHERE id = ?`), plan).
				Scan(&applied, &holder))
			require.Equal(t, w2.Version, applied, "the holder's completion is recorded")
			require.Nil(t, holder)
		}},
		{"Leases/Heartbeat", func(t *testing.T, d string) {
			e := newTwoProcesses(t, d)
			require.NoError(t, e.db.Heartbeat(e.ctx))
			job := e.runningJob(d, "p1")
			e.clock.Advance(10 * time.Second)
			require.NoError(t, e.db.Heartbeat(e.ctx))
			e.clock.Advance(10 * time.Second)
			n, err := e.p2.RescueDeadWorkers(e.ctx, 15*time.Second)
			require.NoError(t, err)
			require.Zero(t, n, "a heartbeat 10 s old is alive")
			require.Equal(t, "running", e.jobState(job))
		}},
		{"Leases/RescueDeadWorkers", func(t *testing.T, d string) {
			e := newTwoProcesses(t, d)
			require.NoError(t, e.db.Heartbeat(e.ctx))
			require.NoError(t, e.p2.Heartbeat(e.ctx))
			dead, alive, unknown := e.runningJob(d, "p1"), e.runningJob(d, "p2"), e.runningJob(d, "old-svahub")
			e.clock.Advance(16 * time.Second)
			require.NoError(t, e.p2.Heartbeat(e.ctx))
			n, err := e.p2.RescueDeadWorkers(e.ctx, 15*time.Second)
			require.NoError(t, err)
			require.Equal(t, int64(1), n)
			require.Equal(t, "available", e.jobState(dead), "the dead process's job runs again")
			require.Equal(t, "running", e.jobState(alive))
			require.Equal(t, "running", e.jobState(unknown), "a process without a heartbeat is left to River's rescuer")
		}},
		{"Leases/Retire", func(t *testing.T, d string) {
			e := newTwoProcesses(t, d)
			_, pkg := e.catalogue()
			_, plan, account := e.subscription(911, pkg.ID, "")
			e.claim(plan)
			ok, _, err := e.db.ClaimAccount(e.ctx, account, time.Minute)
			require.NoError(t, err)
			require.True(t, ok)
			require.NoError(t, e.db.Heartbeat(e.ctx))
			require.NoError(t, e.p2.Heartbeat(e.ctx))
			job := e.runningJob(d, "p1")
			require.NoError(t, e.db.Retire(e.ctx))
			_, ok, err = e.p2.ClaimPlan(e.ctx, plan, time.Minute)
			require.NoError(t, err)
			require.True(t, ok, "a retired process's plan is free at once")
			ok, _, err = e.p2.ClaimAccount(e.ctx, account, time.Minute)
			require.NoError(t, err)
			require.True(t, ok, "and its account")
			n, err := e.p2.RescueDeadWorkers(e.ctx, 15*time.Second)
			require.NoError(t, err)
			require.Equal(t, int64(1), n, "a job it left running is rescued at once")
			require.Equal(t, "available", e.jobState(job))
		}},
	}
}
