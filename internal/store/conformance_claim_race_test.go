package store_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/svahub"
)

// claimDuring claims plan while a transaction running writes (raw SQL,
// one statement each) holds the plan's row lock: the claim does not wait
// for it but answers Busy at once; once the writer committed, a claim
// returns what it committed.
func (e *twoProcesses) claimDuring(plan int64, writes ...string) *store.PlanWork {
	e.t.Helper()
	return e.claimDuringWith(nil, plan, writes...)
}

// claimDuringWith is claimDuring with other plans (free, their rows not
// locked) claimed in the same ClaimPlans before plan: they are claimed.
func (e *twoProcesses) claimDuringWith(others []int64, plan int64, writes ...string) *store.PlanWork {
	e.t.Helper()
	tx, err := e.raw.BeginTx(e.ctx, nil)
	require.NoError(e.t, err)
	defer func() { _ = tx.Rollback() }()
	for _, w := range writes {
		_, err := tx.ExecContext(e.ctx, w)
		require.NoError(e.t, err, w)
	}
	ctx, cancel := context.WithTimeout(e.ctx, 5*time.Second)
	defer cancel()
	cs, err := e.p2.ClaimPlans(ctx, append(others, plan), time.Minute)
	require.NoError(e.t, err, "the claim does not wait for the writer's row lock")
	for _, c := range cs[:len(others)] {
		require.True(e.t, c.OK, "a free plan beside the locked one is claimed")
		require.NoError(e.t, c.Err)
	}
	c := cs[len(others)]
	require.NoError(e.t, c.Err)
	require.False(e.t, c.OK)
	require.True(e.t, c.Busy, "a plan whose row a writer holds is answered busy")
	require.NoError(e.t, tx.Commit())
	w, ok, err := e.p2.ClaimPlan(e.ctx, plan, time.Minute)
	require.NoError(e.t, err)
	require.True(e.t, ok)
	return w
}

// confClaimRaces: PostgreSQL's one-statement claim (qClaimPlanWork) never
// waits for a writer of a plan (it answers Busy), so it cannot deadlock
// with one; a claim after the writer committed must not see half of its
// change (ForgetPlatformUser, an integration update that refreshes
// plans).
func confClaimRaces() []confCase {
	return []confCase{
		{"Provision/ClaimPlans/ForgottenUserDuringGroupClaim", func(t *testing.T, d string) {
			if d != store.DialectPostgres {
				t.Skip("SQLite has one writer at a time: a claim never waits inside its statement")
			}
			e := newTwoProcesses(t, d)
			_, pkg := e.catalogue()
			_, before, _ := e.subscription(964, pkg.ID, "2027-05-01")
			_, plan, account := e.subscription(965, pkg.ID, "2027-05-01")
			_, after, _ := e.subscription(966, pkg.ID, "2027-05-01")
			w := e.claim(plan)
			// ForgetPlatformUser's writes: the account first, then its plans.
			require.NoError(t, e.db.SetPlatformUser(e.ctx, account, "u-lost"))
			require.NoError(t, e.db.CompletePlan(e.ctx, plan, w.Version, svahub.AccessActive, "2027-05-01", true))
			got := e.claimDuringWith([]int64{after, before}, plan,
				`UPDATE platform_accounts SET platform_user_id = '' WHERE id = `+strconv.FormatInt(account, 10),
				`UPDATE platform_plans SET platform_state = '', platform_expiry = '', version = version + 1 WHERE account_id = `+strconv.FormatInt(account, 10))
			require.Equal(t, w.Version+1, got.Version)
			require.Equal(t, svahub.AccessNone, got.PlatformState)
			require.Empty(t, got.PlatformUserID, "the user the platform lost is forgotten: the worker must create it, not activate a plan on it")
			require.False(t, got.Uncertain)
		}},
		{"Provision/ClaimPlans/NoDeadlockWithForget", func(t *testing.T, d string) {
			// Found by a hostile review: ForgetPlatformUser locks an
			// account's plans in scan order, not id order. A group claim
			// that waited for the higher plan while holding the lower one
			// deadlocked with it.
			if d != store.DialectPostgres {
				t.Skip("SQLite has one writer at a time: a claim never waits inside its statement")
			}
			e := newConfEnv(t, d)
			integ := e.integration()
			p1 := e.product(integ.ID, "pro")
			p2 := e.product(integ.ID, "max")
			pkg := e.pkg(integ.ID, "29.90", p1.ID, p2.ID)
			_, _, account := e.subscription(4711, pkg.ID, "2027-05-01")
			var a, b int64
			require.NoError(t, e.db.SQL().QueryRowContext(e.ctx, `SELECT min(id), max(id) FROM platform_plans WHERE account_id = $1`, account).Scan(&a, &b))
			require.Less(t, a, b)
			exec := func(q string) {
				_, err := e.db.SQL().ExecContext(e.ctx, q)
				require.NoError(t, err, q)
			}
			// The lower plan's row is the later one in the heap and in the
			// (account_id, product_code) index: Forget's scan meets b first.
			exec(fmt.Sprintf(`UPDATE platform_plans SET product_code = 'tmp' WHERE id = %d`, a))
			exec(fmt.Sprintf(`UPDATE platform_plans SET product_code = 'aa' WHERE id = %d`, b))
			exec(fmt.Sprintf(`UPDATE platform_plans SET product_code = 'zz', platform_state = 'active' WHERE id = %d`, a))
			exec(fmt.Sprintf(`UPDATE platform_plans SET platform_state = 'active' WHERE id = %d`, b))
			exec(fmt.Sprintf(`UPDATE platform_accounts SET platform_user_id = 'u1' WHERE id = %d`, account))
			// A trigger (this database only) holds Forget between its two row locks.
			exec(`CREATE FUNCTION conf_slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.5); RETURN NEW; END $$`)
			exec(fmt.Sprintf(`CREATE TRIGGER conf_slow BEFORE UPDATE ON platform_plans FOR EACH ROW
				WHEN (OLD.id = %d AND NEW.platform_state = '' AND OLD.platform_state <> '') EXECUTE FUNCTION conf_slow()`, b))
			forgot := make(chan error, 1)
			go func() { forgot <- e.db.ForgetPlatformUser(context.Background(), b) }()
			time.Sleep(150 * time.Millisecond) // Forget holds b (its trigger sleeps)
			cs, cerr := e.db.ClaimPlans(e.ctx, []int64{a, b}, time.Minute)
			require.NoError(t, <-forgot, "ForgetPlatformUser (reconciliation)")
			require.NoError(t, cerr, "the group claim")
			require.True(t, cs[0].OK, "the free plan is claimed")
			require.True(t, cs[1].Busy, "the plan Forget holds is answered busy, not waited for")
		}},
		{"Provision/ClaimPlan/DeactivatedDuringClaim", func(t *testing.T, d string) {
			if d != store.DialectPostgres {
				t.Skip("SQLite has one writer at a time: a claim never waits inside its statement")
			}
			e := newTwoProcesses(t, d)
			integ, pkg := e.catalogue()
			_, plan, _ := e.subscription(962, pkg.ID, "2027-05-01")
			// An integration update that pauses it and refreshes its plans
			// (suspender_inadimplencia changed in the same PUT).
			got := e.claimDuring(plan,
				`UPDATE integrations SET active = FALSE WHERE id = `+strconv.FormatInt(integ.ID, 10),
				`UPDATE platform_plans SET version = version + 1 WHERE id = `+strconv.FormatInt(plan, 10))
			require.False(t, got.IntegrationActive, "paused: the worker must hold the plan, not call the platform")
			require.False(t, got.Marked, "a held plan is not marked uncertain")
			require.NoError(t, e.p2.ReleasePlan(e.ctx, plan))
			again := e.claim(plan)
			require.False(t, again.Uncertain, "no mark is left on a held plan")
		}},
	}
}

// confCompletionText: a platform's message is text the store must take
// as it comes (JSON "\u0000" decodes to a NUL, which PostgreSQL's text
// refuses): since the transmissions are inserted with the completion, a
// message the database refuses would fail the plan's completion, not
// just lose its log row.
func confCompletionText() []confCase {
	return []confCase{
		{"Provision/CompletePlans/PlatformMessageWithNUL", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			_, pkg := e.catalogue()
			sub, plan, _ := e.subscription(963, pkg.ID, "2027-05-01")
			w := e.claim(plan)
			lost := &svahub.Transmission{IntegrationID: w.IntegrationID, SubscriptionID: &w.SubscriptionID, AccessID: &w.AccessID,
				Operation: svahub.OpSuspend, Outcome: svahub.OutcomeError, HTTPStatus: 404, Message: "plano\x00 não existe \xff", Attempt: 1}
			require.NoError(t, e.db.CompletePlans(e.ctx, []store.Completion{{PlanID: plan, Version: w.Version, State: svahub.AccessActive,
				Expiry: "2027-05-01", Resolved: true, Transmissions: []*svahub.Transmission{lost}}}), "the plan completes")
			ts, _, err := e.db.FindTransmissions(e.ctx, svahub.TransmissionFilter{SubscriptionID: &sub.ID, Page: svahub.Page{Size: 10}})
			require.NoError(t, err)
			require.Len(t, ts, 1)
			require.Equal(t, "plano não existe \uFFFD", ts[0].Message)
			require.NoError(t, e.db.FailPlan(e.ctx, plan, w.Version+1, svahub.AccessActive, "x\x00y"), "a stale FailPlan writes nothing")
		}},
	}
}

// readPlanWork reads plan as the claim-then-read path did (qPlanWork),
// without claiming it.
func (e *confEnv) readPlanWork(plan int64) store.PlanWork {
	e.t.Helper()
	var (
		w                                    store.PlanWork
		desired, desiredExp, pstate, pexpiry string
		accessID, subscriptionID             *int64
	)
	require.NoError(e.t, e.db.SQL().QueryRowContext(e.ctx, e.rebind(`SELECT p.id, p.integration_id, p.account_id, p.product_code,
		p.desired_state, p.desired_expiry, p.version, p.applied_version, p.platform_state, p.platform_expiry, p.error_version,
		p.state_uncertain, i.active, acc.username, acc.reference, acc.platform_user_id,
		(SELECT a.id FROM accesses a WHERE a.plan_id = p.id ORDER BY a.id LIMIT 1),
		(SELECT a.subscription_id FROM accesses a WHERE a.plan_id = p.id ORDER BY a.id LIMIT 1)
		FROM platform_plans p JOIN integrations i ON i.id = p.integration_id
		JOIN platform_accounts acc ON acc.id = p.account_id WHERE p.id = ?`), plan).Scan(&w.PlanID, &w.IntegrationID, &w.AccountID,
		&w.ProductCode, &desired, &desiredExp, &w.Version, &w.AppliedVersion, &pstate, &pexpiry, &w.ErrorVersion, &w.Uncertain,
		&w.IntegrationActive, &w.Username, &w.Reference, &w.PlatformUserID, &accessID, &subscriptionID))
	w.Desired, w.DesiredExpiry = svahub.AccessState(desired), svahub.Date(desiredExp)
	w.PlatformState, w.PlatformExpiry = svahub.AccessState(pstate), svahub.Date(pexpiry)
	if accessID != nil {
		w.AccessID, w.SubscriptionID = *accessID, *subscriptionID
	}
	return w
}

// confClaimReads: on every fixture, ClaimPlan returns what the plan held
// before the claim (as the old claim-then-read did), Uncertain the value
// before the claim, and marks it (PostgreSQL) exactly when the worker
// will work it: not applied, not in erro, integration active.
func confClaimReads() []confCase {
	return []confCase{
		{"Provision/ClaimPlan/ReadsWhatTheOldPathRead", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			integ, pkg := e.catalogue()
			fixtures := map[string]func(plan, account int64){
				"new": func(int64, int64) {},
				"applied": func(plan, _ int64) {
					w := e.claim(plan)
					require.NoError(t, e.db.CompletePlan(e.ctx, plan, w.Version, svahub.AccessActive, "2027-05-01", true))
				},
				"erro": func(plan, _ int64) {
					w := e.claim(plan)
					require.NoError(t, e.db.FailPlan(e.ctx, plan, w.Version, svahub.AccessNone, "recusado"))
				},
				"unsure": func(plan, _ int64) {
					e.claim(plan)
					require.NoError(t, e.db.MarkUncertain(e.ctx, plan))
					require.NoError(t, e.db.ReleasePlan(e.ctx, plan))
				},
				"user": func(_, account int64) { require.NoError(t, e.db.SetPlatformUser(e.ctx, account, "u-9")) },
				"suspended": func(plan, account int64) {
					w := e.claim(plan)
					require.NoError(t, e.db.SetPlatformUser(e.ctx, account, "u-8"))
					require.NoError(t, e.db.CompletePlan(e.ctx, plan, w.Version, svahub.AccessSuspended, "2026-12-01", true))
					_, err := e.db.SQL().ExecContext(e.ctx, e.rebind(`UPDATE platform_plans SET version = version + 1, desired_state = 'cancelado' WHERE id = ?`), plan)
					require.NoError(t, err)
				},
			}
			n := int64(970)
			for name, setup := range fixtures {
				n++
				_, plan, account := e.subscription(n, pkg.ID, "2027-05-01")
				setup(plan, account)
				before := e.readPlanWork(plan)
				got := e.claim(plan)
				due := before.AppliedVersion != before.Version && before.ErrorVersion != before.Version && before.IntegrationActive
				want := before
				want.Marked = before.Uncertain || (d == store.DialectPostgres && due)
				require.Equal(t, want, *got, name)
				require.Equal(t, want.Marked, e.readPlanWork(plan).Uncertain, "%s: the mark is stored", name)
				require.NoError(t, e.db.ReleaseUnchanged(e.ctx, plan))
			}
			// An inactive integration's plan is held: not marked.
			_, plan, _ := e.subscription(n+1, pkg.ID, "")
			off := false
			_, err := e.db.UpdateIntegration(e.ctx, integ.ID, svahub.IntegrationUpdate{Active: &off})
			require.NoError(t, err)
			before := e.readPlanWork(plan)
			got := e.claim(plan)
			before.Marked = false
			require.Equal(t, before, *got, "inactive")
			require.False(t, e.readPlanWork(plan).Uncertain, "a held plan is not marked")
		}},
	}
}
