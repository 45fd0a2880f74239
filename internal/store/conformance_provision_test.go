package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/svahub"
)

// claim claims plan and requires the lease.
func (e *confEnv) claim(plan int64) *store.PlanWork {
	e.t.Helper()
	w, ok, err := e.db.ClaimPlan(e.ctx, plan, time.Minute)
	require.NoError(e.t, err)
	require.True(e.t, ok, "the plan is free to claim")
	return w
}

func confProvision() []confCase {
	return []confCase{
		{"Provision/ClaimPlan", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			integ, pkg := e.catalogue()
			sub, plan, account := e.subscription(201, pkg.ID, "2027-05-01")
			w := e.claim(plan)
			require.Equal(t, plan, w.PlanID)
			require.Equal(t, integ.ID, w.IntegrationID)
			require.True(t, w.IntegrationActive)
			require.Equal(t, account, w.AccountID)
			require.Equal(t, "pro", w.ProductCode)
			require.Equal(t, svahub.AccessActive, w.Desired)
			require.Equal(t, svahub.Date("2027-05-01"), w.DesiredExpiry)
			require.Equal(t, sub.ID, w.SubscriptionID)
			require.Greater(t, w.Version, w.AppliedVersion)
			_, ok, err := e.db.ClaimPlan(e.ctx, plan, time.Minute)
			require.NoError(t, err)
			require.False(t, ok, "a second claim fails while the lease holds")
			e.clock.Advance(2 * time.Minute)
			_, ok, err = e.db.ClaimPlan(e.ctx, plan, time.Minute)
			require.NoError(t, err)
			require.True(t, ok, "an expired lease can be claimed again")
			_, _, err = e.db.ClaimPlan(e.ctx, plan+100, time.Minute)
			code(t, svahub.ENOTFOUND, err)
		}},
		{"Provision/ClaimPlans", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			_, pkg := e.catalogue()
			sub1, p1, _ := e.subscription(231, pkg.ID, "2027-05-01")
			_, p2, _ := e.subscription(232, pkg.ID, "2027-05-01")
			sub3, p3, _ := e.subscription(233, pkg.ID, "")
			e.claim(p2)
			cs, err := e.db.ClaimPlans(e.ctx, []int64{p3, p2, p3 + 1000, p1, p3}, time.Minute)
			require.NoError(t, err)
			require.Len(t, cs, 5, "one answer per id, in order")
			require.True(t, cs[0].OK)
			require.Equal(t, p3, cs[0].Work.PlanID)
			require.Equal(t, sub3.ID, cs[0].Work.SubscriptionID)
			require.False(t, cs[1].OK, "held by an earlier claim")
			require.NoError(t, cs[1].Err)
			require.Nil(t, cs[1].Work)
			code(t, svahub.ENOTFOUND, cs[2].Err)
			require.True(t, cs[3].OK)
			require.Equal(t, p1, cs[3].Work.PlanID)
			require.Equal(t, sub1.ID, cs[3].Work.SubscriptionID)
			require.Equal(t, svahub.Date("2027-05-01"), cs[3].Work.DesiredExpiry)
			require.False(t, cs[4].OK, "a plan named twice is claimed once")
			require.NoError(t, cs[4].Err)
			for _, plan := range []int64{p1, p3} {
				_, ok, err := e.db.ClaimPlan(e.ctx, plan, time.Minute)
				require.NoError(t, err)
				require.False(t, ok, "plan %d is held after the group claim", plan)
			}
			cs, err = e.db.ClaimPlans(e.ctx, nil, time.Minute)
			require.NoError(t, err)
			require.Empty(t, cs)
		}},
		{"Provision/ReleasePlan", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			_, pkg := e.catalogue()
			_, plan, _ := e.subscription(211, pkg.ID, "")
			e.claim(plan)
			require.NoError(t, e.db.ReleasePlan(e.ctx, plan))
			e.claim(plan)
		}},
		{"Provision/CompletePlan", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			_, pkg := e.catalogue()
			sub, plan, _ := e.subscription(221, pkg.ID, "2027-05-01")
			w := e.claim(plan)
			require.NoError(t, e.db.CompletePlan(e.ctx, plan, w.Version, svahub.AccessActive, "2027-05-01", true))
			w2 := e.claim(plan) // the lease was released
			require.Equal(t, w.Version, w2.AppliedVersion, "the completed version is applied")
			require.Equal(t, svahub.AccessActive, w2.PlatformState)
			require.Equal(t, svahub.Date("2027-05-01"), w2.PlatformExpiry)
			pending, err := e.db.PendingPlans(e.ctx, 10)
			require.NoError(t, err)
			require.Empty(t, pending)
			got, err := e.db.FindSubscriptionByID(e.ctx, sub.ID)
			require.NoError(t, err)
			require.Equal(t, svahub.SubActive, got.Status)
			// Stale work never lowers the applied version.
			require.NoError(t, e.db.CompletePlan(e.ctx, plan, w.Version-1, svahub.AccessActive, "2027-05-01", true))
			w3 := e.claim(plan)
			require.Equal(t, w.Version, w3.AppliedVersion)
		}},
		{"Provision/CompletePlans", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			_, pkg := e.catalogue()
			sub1, plan1, _ := e.subscription(222, pkg.ID, "2027-05-01")
			sub2, plan2, _ := e.subscription(223, pkg.ID, "")
			w1, w2 := e.claim(plan1), e.claim(plan2)
			require.NoError(t, e.db.CompletePlans(e.ctx, nil))
			sent := func(w *store.PlanWork, op svahub.Operation) *svahub.Transmission {
				return &svahub.Transmission{IntegrationID: w.IntegrationID, SubscriptionID: &w.SubscriptionID, AccessID: &w.AccessID,
					Operation: op, Outcome: svahub.OutcomeSuccess, HTTPStatus: 200, Message: "ok", DurationMS: 3, Attempt: 1}
			}
			early := sent(w1, svahub.OpCreateUser)
			early.CreatedAt = e.clock.Now().Add(-3 * time.Second).Truncate(time.Microsecond)
			require.NoError(t, e.db.CompletePlans(e.ctx, []store.Completion{ // out of order: the store sorts
				{PlanID: plan2, Version: w2.Version, State: svahub.AccessSuspended, Resolved: true,
					Transmissions: []*svahub.Transmission{sent(w2, svahub.OpSuspend)}},
				{PlanID: plan1, Version: w1.Version, State: svahub.AccessActive, Expiry: "2027-05-01", Resolved: true,
					Transmissions: []*svahub.Transmission{early, sent(w1, svahub.OpActivatePlan)}},
			}))
			ts1, _, err := e.db.FindTransmissions(e.ctx, svahub.TransmissionFilter{SubscriptionID: &sub1.ID, Page: svahub.Page{Size: 10}})
			require.NoError(t, err)
			require.Equal(t, svahub.OpCreateUser, ts1[1].Operation)
			require.True(t, early.CreatedAt.Equal(ts1[1].CreatedAt), "a held transmission keeps the time its call ended: %v, want %v", ts1[1].CreatedAt, early.CreatedAt)
			for sub, n := range map[int64]int{sub1.ID: 2, sub2.ID: 1} {
				ts, total, err := e.db.FindTransmissions(e.ctx, svahub.TransmissionFilter{SubscriptionID: &sub, Page: svahub.Page{Size: 10}})
				require.NoError(t, err)
				require.Equal(t, n, total, "the transmissions are recorded with the completions")
				require.True(t, e.clock.Now().Equal(ts[0].CreatedAt), "without a call time, stamped with the store's clock")
			}
			for _, c := range []struct {
				plan, sub int64
				w         *store.PlanWork
				state     svahub.AccessState
			}{{plan1, sub1.ID, w1, svahub.AccessActive}, {plan2, sub2.ID, w2, svahub.AccessSuspended}} {
				again := e.claim(c.plan) // each lease was released
				require.Equal(t, c.w.Version, again.AppliedVersion)
				require.Equal(t, c.state, again.PlatformState)
				got, err := e.db.FindSubscriptionByID(e.ctx, c.sub)
				require.NoError(t, err)
				require.NotEqual(t, svahub.SubPending, got.Status, "the subscription was refreshed")
			}
		}},
		{"Provision/FailPlan", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			_, pkg := e.catalogue()
			sub, plan, _ := e.subscription(231, pkg.ID, "")
			w := e.claim(plan)
			require.NoError(t, e.db.FailPlan(e.ctx, plan, w.Version, svahub.AccessNone, "produto inexistente"))
			got, err := e.db.FindSubscriptionByID(e.ctx, sub.ID)
			require.NoError(t, err)
			require.Equal(t, svahub.SubError, got.Status)
			require.Contains(t, got.Accesses[0].LastError+got.LastError, "produto inexistente")
			pending, err := e.db.PendingPlans(e.ctx, 10)
			require.NoError(t, err)
			require.Empty(t, pending, "a plan in erro is not swept again")
			w2 := e.claim(plan)
			require.Equal(t, w.Version, w2.ErrorVersion)
		}},
		{"Provision/MarkUncertain", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			_, pkg := e.catalogue()
			_, plan, _ := e.subscription(241, pkg.ID, "")
			w := e.claim(plan)
			require.False(t, w.Uncertain)
			require.NoError(t, e.db.MarkUncertain(e.ctx, plan))
			require.NoError(t, e.db.ReleasePlan(e.ctx, plan))
			w = e.claim(plan)
			require.True(t, w.Uncertain)
			require.NoError(t, e.db.CompletePlan(e.ctx, plan, w.Version, svahub.AccessActive, "", true))
			require.False(t, e.claim(plan).Uncertain, "CompletePlan clears the uncertainty")
		}},
		{"Provision/ReleaseUnchanged", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			_, pkg := e.catalogue()
			_, plan, _ := e.subscription(245, pkg.ID, "")
			w := e.claim(plan)
			require.False(t, w.Uncertain, "the uncertainty from before the claim")
			require.Equal(t, d == store.DialectPostgres, w.Marked, "PostgreSQL's claim marks a plan with work due")
			require.NoError(t, e.db.ReleasePlan(e.ctx, plan))
			w = e.claim(plan)
			require.Equal(t, d == store.DialectPostgres, w.Uncertain, "the mark outlives a plain release")
			require.NoError(t, e.db.ReleaseUnchanged(e.ctx, plan))
			w = e.claim(plan)
			require.False(t, w.Uncertain, "ReleaseUnchanged undoes the claim's mark")
			require.NoError(t, e.db.CompletePlan(e.ctx, plan, w.Version, svahub.AccessActive, "", true))
			w = e.claim(plan)
			require.False(t, w.Uncertain)
			require.False(t, w.Marked, "no work due: the claim marks nothing")
		}},
		{"Provision/NotePlatformState", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			_, pkg := e.catalogue()
			_, plan, _ := e.subscription(251, pkg.ID, "")
			e.claim(plan)
			require.NoError(t, e.db.MarkUncertain(e.ctx, plan))
			require.NoError(t, e.db.NotePlatformState(e.ctx, plan, svahub.AccessSuspended, "2027-01-01"))
			require.NoError(t, e.db.ReleasePlan(e.ctx, plan))
			w := e.claim(plan)
			require.Equal(t, svahub.AccessSuspended, w.PlatformState)
			require.Equal(t, svahub.Date("2027-01-01"), w.PlatformExpiry)
			require.False(t, w.Uncertain)
			require.Less(t, w.AppliedVersion, w.Version, "noting a state applies no version")
		}},
		{"Provision/PendingPlans", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			integ, pkg := e.catalogue()
			_, plan, _ := e.subscription(261, pkg.ID, "")
			pending, err := e.db.PendingPlans(e.ctx, 10)
			require.NoError(t, err)
			require.Len(t, pending, 1)
			require.Equal(t, plan, pending[0].PlanID)
			off := false
			_, err = e.db.UpdateIntegration(e.ctx, integ.ID, svahub.IntegrationUpdate{Active: &off})
			require.NoError(t, err)
			pending, err = e.db.PendingPlans(e.ctx, 10)
			require.NoError(t, err)
			require.Empty(t, pending, "plans of inactive integrations wait")
		}},
		{"Provision/EnqueuePending", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			_, pkg := e.catalogue()
			_, plan, _ := e.subscription(271, pkg.ID, "")
			before := len(e.queue.Jobs())
			n, err := e.db.EnqueuePending(e.ctx, 10)
			require.NoError(t, err)
			require.Equal(t, 1, n)
			jobs := e.queue.Jobs()
			require.Len(t, jobs, before+1)
			require.Equal(t, plan, jobs[len(jobs)-1].PlanID)
		}},
		{"Provision/ExpireSubscriptions", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			_, pkg := e.catalogue()
			sub, _, _ := e.subscription(281, pkg.ID, "2026-11-25")
			n, err := e.db.ExpireSubscriptions(e.ctx)
			require.NoError(t, err)
			require.Zero(t, n)
			e.clock.Advance(6 * 24 * time.Hour)
			n, err = e.db.ExpireSubscriptions(e.ctx)
			require.NoError(t, err)
			require.Equal(t, 1, n)
			got, err := e.db.FindSubscriptionByID(e.ctx, sub.ID)
			require.NoError(t, err)
			require.Equal(t, svahub.SubExpired, got.Status)
			n, err = e.db.ExpireSubscriptions(e.ctx)
			require.NoError(t, err)
			require.Zero(t, n, "idempotent")
		}},
		{"Provision/ReconcileCandidates", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			integ, pkg := e.catalogue()
			_, plan, account := e.subscription(291, pkg.ID, "")
			got, err := e.db.ReconcileCandidates(e.ctx, 10)
			require.NoError(t, err)
			require.Empty(t, got, "an unsynchronised plan is no candidate")
			require.NoError(t, e.db.SetPlatformUser(e.ctx, account, "u-291"))
			w := e.claim(plan)
			require.NoError(t, e.db.CompletePlan(e.ctx, plan, w.Version, svahub.AccessActive, w.DesiredExpiry, true))
			got, err = e.db.ReconcileCandidates(e.ctx, 10)
			require.NoError(t, err)
			require.Len(t, got, 1)
			require.Equal(t, store.ReconcileCandidate{PlanID: plan, IntegrationID: integ.ID, PlatformUserID: "u-291", ProductCode: "pro",
				Desired: svahub.AccessActive, DesiredExpiry: w.DesiredExpiry, PlatformState: svahub.AccessActive, Version: w.Version}, got[0])
			_, err = e.db.SQL().ExecContext(e.ctx, e.rebind("UPDATE integrations SET platform = 'webhook' WHERE id = ?"), integ.ID)
			require.NoError(t, err)
			got, err = e.db.ReconcileCandidates(e.ctx, 10)
			require.NoError(t, err)
			require.Empty(t, got, "a platform without the Reconcile capability has no candidates")
		}},
		{"Provision/MarkDrift", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			_, pkg := e.catalogue()
			_, plan, _ := e.subscription(301, pkg.ID, "")
			w := e.claim(plan)
			require.NoError(t, e.db.CompletePlan(e.ctx, plan, w.Version, svahub.AccessActive, w.DesiredExpiry, true))
			ok, err := e.db.MarkDrift(e.ctx, plan, w.Version, svahub.AccessActive, w.DesiredExpiry, false)
			require.NoError(t, err)
			require.False(t, ok, "no drift, no repair")
			before := len(e.queue.Jobs())
			ok, err = e.db.MarkDrift(e.ctx, plan, w.Version, svahub.AccessSuspended, w.DesiredExpiry, true)
			require.NoError(t, err)
			require.True(t, ok)
			require.Len(t, e.queue.Jobs(), before+1)
			w2 := e.claim(plan)
			require.Equal(t, w.Version+1, w2.Version)
			require.Equal(t, svahub.AccessSuspended, w2.PlatformState)
			ok, err = e.db.MarkDrift(e.ctx, plan, w.Version, svahub.AccessSuspended, w.DesiredExpiry, true)
			require.NoError(t, err)
			require.False(t, ok, "a stale version repairs nothing")
		}},
		{"Provision/ForgetPlatformUser", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			_, pkg := e.catalogue()
			_, plan, account := e.subscription(311, pkg.ID, "")
			require.NoError(t, e.db.SetPlatformUser(e.ctx, account, "u-311"))
			w := e.claim(plan)
			require.NoError(t, e.db.CompletePlan(e.ctx, plan, w.Version, svahub.AccessActive, w.DesiredExpiry, true))
			require.NoError(t, e.db.ForgetPlatformUser(e.ctx, plan))
			w2 := e.claim(plan)
			require.Empty(t, w2.PlatformUserID)
			require.Equal(t, svahub.AccessNone, w2.PlatformState)
			require.Greater(t, w2.Version, w2.AppliedVersion, "queued again from nothing")
			code(t, svahub.ENOTFOUND, e.db.ForgetPlatformUser(e.ctx, plan+100))
		}},
		{"Provision/AccountUser", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			_, pkg := e.catalogue()
			_, _, account := e.subscription(321, pkg.ID, "")
			u, err := e.db.AccountUser(e.ctx, account)
			require.NoError(t, err)
			require.Equal(t, "Cliente", u.Name)
			require.NotEmpty(t, u.Username)
			require.Equal(t, int64(321), u.ServiceID, "the service that needed the account")
			require.Equal(t, int64(321), u.CustomerID, "its customer (the fixture gives both the same id)")
			_, err = e.db.AccountUser(e.ctx, account+100)
			code(t, svahub.ENOTFOUND, err)
		}},
		{"Provision/ClaimAccount", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			_, pkg := e.catalogue()
			_, _, account := e.subscription(331, pkg.ID, "")
			ok, user, err := e.db.ClaimAccount(e.ctx, account, time.Minute)
			require.NoError(t, err)
			require.True(t, ok)
			require.Empty(t, user)
			ok, _, err = e.db.ClaimAccount(e.ctx, account, time.Minute)
			require.NoError(t, err)
			require.False(t, ok, "a second claim fails while the lease holds")
			_, _, err = e.db.ClaimAccount(e.ctx, account+100, time.Minute)
			code(t, svahub.ENOTFOUND, err)
		}},
		{"Provision/SetPlatformUser", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			_, pkg := e.catalogue()
			_, _, account := e.subscription(341, pkg.ID, "")
			ok, _, err := e.db.ClaimAccount(e.ctx, account, time.Minute)
			require.NoError(t, err)
			require.True(t, ok)
			require.NoError(t, e.db.SetPlatformUser(e.ctx, account, "u-341"))
			ok, user, err := e.db.ClaimAccount(e.ctx, account, time.Minute)
			require.NoError(t, err)
			require.False(t, ok, "an account with a user is not claimed")
			require.Equal(t, "u-341", user)
		}},
		{"Provision/ReleaseAccount", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			_, pkg := e.catalogue()
			_, _, account := e.subscription(351, pkg.ID, "")
			ok, _, err := e.db.ClaimAccount(e.ctx, account, time.Minute)
			require.NoError(t, err)
			require.True(t, ok)
			require.NoError(t, e.db.ReleaseAccount(e.ctx, account))
			ok, _, err = e.db.ClaimAccount(e.ctx, account, time.Minute)
			require.NoError(t, err)
			require.True(t, ok, "a released account can be claimed again")
		}},
	}
}
