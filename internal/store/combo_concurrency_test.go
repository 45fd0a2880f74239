package store_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/internal/svahub"
)

// TestConcurrentCombosShareAccount creates, at the same time, two
// services of one login (one platform account, which exists already) on
// combos listing the same packages in opposite orders, on PostgreSQL:
// both PUTs succeed, the account gets one plan per product, every access
// has it, and the last job of each plan is at its version.
func TestConcurrentCombosShareAccount(t *testing.T) {
	t.Parallel()
	if !slices.Contains(storetest.Dialects(), store.DialectPostgres) {
		t.Skip("needs " + storetest.EnvDatabaseURL)
	}
	e := newConfEnv(t, store.DialectPostgres)
	integ := e.integration()
	p1, p2, p3, p9 := e.product(integ.ID, "p1"), e.product(integ.ID, "p2"), e.product(integ.ID, "p3"), e.product(integ.ID, "p9")
	x, y, z := e.pkg(integ.ID, "1.00", p1.ID, p2.ID), e.pkg(integ.ID, "2.00", p3.ID, p2.ID), e.pkg(integ.ID, "3.00", p9.ID)
	for id, pkgs := range map[int64][]int64{930: {x.ID, y.ID}, 931: {y.ID, x.ID}} {
		_, _, err := e.db.UpsertCombo(e.ctx, id, svahub.ComboUpdate{Description: ptr("Combo"), Packages: pkgs})
		require.NoError(t, err)
	}
	put := func(id int64, login string, combo *int64) error {
		_, _, err := e.db.UpsertService(e.ctx, id, svahub.ServiceInput{Login: login, Password: ptr("senha"), Status: string(svahub.StatusEnabled),
			ComboID: combo, Customer: svahub.CustomerInput{ID: id, Name: "Cliente"}})
		return err
	}
	const pairs = 20
	for i := range int64(pairs) {
		require.NoError(t, put(1000+i, fmt.Sprint("l", i), nil))
		_, err := e.db.AttachPackage(e.ctx, 1000+i, svahub.AttachInput{PackageID: z.ID})
		require.NoError(t, err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*pairs)
	for i := range int64(pairs) {
		for j, combo := range []int64{930, 931} {
			wg.Go(func() { errs <- put(2000+10*i+int64(j), fmt.Sprint("l", i), &combo) })
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	var n int
	e.scalar(`SELECT COUNT(*) FROM accesses WHERE plan_id IS NULL`, &n)
	require.Zero(t, n, "every access has its plan")
	e.scalar(`SELECT COUNT(*) FROM platform_plans`, &n)
	require.Equal(t, 4*pairs, n, "one plan per (account, product)")
	e.scalar(`SELECT COUNT(*) FROM subscriptions WHERE status <> 'pendente'`, &n)
	require.Zero(t, n)
	for _, desired := range plansAtLastJob(t, e, "desired_state") {
		require.Equal(t, "ativo", desired)
	}
}

// TestConcurrentComboChangesCrossPlans changes, at the same time,
// the combo and status of two services of one login whose kept avulso
// subscriptions hold the plans the other's new combo shares (pro and
// ebook, in opposite orders): each PUT locks one plan in its attach and
// the other in its refresh. Both succeed (a deadlock is retried) and end
// with one job per plan at its version.
func TestConcurrentComboChangesCrossPlans(t *testing.T) {
	t.Parallel()
	if !slices.Contains(storetest.Dialects(), store.DialectPostgres) {
		t.Skip("needs " + storetest.EnvDatabaseURL)
	}
	e := newConfEnv(t, store.DialectPostgres)
	integ := e.integration()
	pro, ebook := e.product(integ.ID, "pro"), e.product(integ.ID, "ebook")
	x, y := e.pkg(integ.ID, "1.00", ebook.ID), e.pkg(integ.ID, "2.00", pro.ID)
	p, q := e.pkg(integ.ID, "3.00", pro.ID), e.pkg(integ.ID, "4.00", ebook.ID)
	for id, pkgs := range map[int64][]int64{940: {p.ID}, 941: {q.ID}} {
		_, _, err := e.db.UpsertCombo(e.ctx, id, svahub.ComboUpdate{Description: ptr("Combo"), Packages: pkgs})
		require.NoError(t, err)
	}
	put := func(id int64, login string, status svahub.ServiceStatus, combo *int64) error {
		_, _, err := e.db.UpsertService(e.ctx, id, svahub.ServiceInput{Login: login, Password: ptr("senha"), Status: string(status),
			ComboID: combo, Customer: svahub.CustomerInput{ID: id, Name: "Cliente"}})
		return err
	}
	const pairs = 20
	for i := range int64(pairs) {
		for j, pkg := range []int64{x.ID, y.ID} {
			id := 3000 + 10*i + int64(j)
			require.NoError(t, put(id, fmt.Sprint("m", i), svahub.StatusEnabled, nil))
			_, err := e.db.AttachPackage(e.ctx, id, svahub.AttachInput{PackageID: pkg, ExpiresOn: "2027-01-15"})
			require.NoError(t, err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*pairs)
	for i := range int64(pairs) {
		for j, combo := range []int64{940, 941} {
			wg.Go(func() {
				errs <- put(3000+10*i+int64(j), fmt.Sprint("m", i), svahub.StatusCustomerSuspended, &combo)
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	aggs := plansAtLastJob(t, e, "desired_state || ' ' || desired_expiry")
	for _, agg := range aggs {
		require.Equal(t, "suspenso 2027-11-20", agg)
	}
	require.Len(t, aggs, 2*pairs)
}

// plansAtLastJob checks that each platform plan's last queued job is at
// the plan's version, and returns expr (SQL over platform_plans) per plan.
func plansAtLastJob(t *testing.T, e *confEnv, expr string) []string {
	t.Helper()
	last := map[int64]int64{}
	for _, j := range e.queue.Jobs() {
		last[j.PlanID] = max(last[j.PlanID], j.Version)
	}
	rows, err := e.db.SQL().QueryContext(e.ctx, `SELECT id, version, `+expr+` FROM platform_plans`)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var (
			id, version int64
			v           string
		)
		require.NoError(t, rows.Scan(&id, &version, &v))
		require.Equal(t, version, last[id], "plan %d: the last job is at its version", id)
		out = append(out, v)
	}
	require.NoError(t, rows.Err())
	return out
}
