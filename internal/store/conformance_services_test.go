package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/svahub"
)

func confServices() []confCase {
	return []confCase{
		{"Services/UpsertService", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			in := svahub.ServiceInput{Login: "maria", Status: string(svahub.StatusEnabled), Customer: svahub.CustomerInput{ID: 7, Name: "Maria"}}
			svc, created, err := e.db.UpsertService(e.ctx, 501, in)
			require.NoError(t, err)
			require.True(t, created)
			require.Equal(t, int64(501), svc.ID)
			require.Equal(t, "maria", svc.Login)
			in.Login = "maria2"
			svc, created, err = e.db.UpsertService(e.ctx, 501, in)
			require.NoError(t, err)
			require.False(t, created)
			require.Equal(t, "maria2", svc.Login)
			in.Status = "nao_existe"
			_, _, err = e.db.UpsertService(e.ctx, 502, in)
			code(t, svahub.EINVALID, err)
		}},
		{"Services/FindServiceByID", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			e.service(11)
			svc, err := e.db.FindServiceByID(e.ctx, 11)
			require.NoError(t, err)
			require.Equal(t, int64(11), svc.Customer.ID)
			_, err = e.db.FindServiceByID(e.ctx, 12)
			code(t, svahub.ENOTFOUND, err)
		}},
		{"Services/FindServices", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			e.service(21)
			e.service(22)
			all, total, err := e.db.FindServices(e.ctx, svahub.ServiceFilter{Page: svahub.Page{Size: 10}})
			require.NoError(t, err)
			require.Equal(t, 2, total)
			require.Len(t, all, 2)
			cust := int64(22)
			one, total, err := e.db.FindServices(e.ctx, svahub.ServiceFilter{CustomerID: &cust, Page: svahub.Page{Size: 10}})
			require.NoError(t, err)
			require.Equal(t, 1, total)
			require.Equal(t, int64(22), one[0].ID)
		}},
		{"Services/SetServiceStatus", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			_, pkg := e.catalogue()
			e.subscription(31, pkg.ID, "")
			svc, err := e.db.SetServiceStatus(e.ctx, 31, svahub.StatusCustomerSuspended)
			require.NoError(t, err)
			require.Equal(t, svahub.StatusCustomerSuspended, svc.Status)
			require.Equal(t, svahub.AccessSuspended, svc.Subscriptions[0].Accesses[0].DesiredState)
			_, err = e.db.SetServiceStatus(e.ctx, 32, svahub.StatusEnabled)
			code(t, svahub.ENOTFOUND, err)
			_, err = e.db.SetServiceStatus(e.ctx, 31, "nao_existe")
			code(t, svahub.EINVALID, err)
		}},
		{"Services/SetServiceStatuses", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			e.service(41)
			res, err := e.db.SetServiceStatuses(e.ctx, []svahub.StatusBatchItem{
				{ServiceID: 41, Status: string(svahub.StatusCustomerSuspended)},
				{ServiceID: 42, Status: string(svahub.StatusEnabled)},
			})
			require.NoError(t, err)
			require.Len(t, res, 2)
			require.Equal(t, svahub.BatchNotFound, res[1].Result)
			require.NotEqual(t, svahub.BatchNotFound, res[0].Result)
			_, err = e.db.SetServiceStatuses(e.ctx, []svahub.StatusBatchItem{{ServiceID: 41, Status: "nao_existe"}})
			code(t, svahub.EINVALID, err)
		}},
		{"Services/CancelSubscription", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			_, pkg := e.catalogue()
			sub, _, _ := e.subscription(51, pkg.ID, "")
			require.NoError(t, e.db.CancelSubscription(e.ctx, 51, sub.ID))
			got, err := e.db.FindSubscriptionByID(e.ctx, sub.ID)
			require.NoError(t, err)
			require.NotNil(t, got.CancelledAt)
			require.Equal(t, svahub.AccessCancelled, got.Accesses[0].DesiredState)
			code(t, svahub.ENOTFOUND, e.db.CancelSubscription(e.ctx, 51, sub.ID+100))
		}},
		{"Services/SetSubscriptionExpiry", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			_, pkg := e.catalogue()
			sub, _, _ := e.subscription(61, pkg.ID, "2027-01-31")
			got, err := e.db.SetSubscriptionExpiry(e.ctx, sub.ID, svahub.Date("2028-02-29"))
			require.NoError(t, err)
			require.Equal(t, svahub.Date("2028-02-29"), got.ExpiresOn)
			_, err = e.db.SetSubscriptionExpiry(e.ctx, sub.ID+100, svahub.Date("2028-02-29"))
			code(t, svahub.ENOTFOUND, err)
			_, err = e.db.SetSubscriptionExpiry(e.ctx, sub.ID+100, svahub.Date("2028-02-30"))
			code(t, svahub.EINVALID, err) // validated before the lookup
		}},
		{"Services/Retransmit", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			_, pkg := e.catalogue()
			sub, plan, _ := e.subscription(71, pkg.ID, "")
			w, ok, err := e.db.ClaimPlan(e.ctx, plan, time.Minute)
			require.NoError(t, err)
			require.True(t, ok)
			require.NoError(t, e.db.FailPlan(e.ctx, plan, w.Version, svahub.AccessNone, "recusado"))
			before := len(e.queue.Jobs())
			require.NoError(t, e.db.Retransmit(e.ctx, sub.ID))
			require.Greater(t, len(e.queue.Jobs()), before, "the plan is queued again")
			got, err := e.db.FindSubscriptionByID(e.ctx, sub.ID)
			require.NoError(t, err)
			require.Empty(t, got.LastError, "the permanent error is cleared")
			code(t, svahub.ENOTFOUND, e.db.Retransmit(e.ctx, sub.ID+100))
		}},
		{"Open/AttachPackage/JobQueueOption", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			_, pkg := e.catalogue()
			_, plan, _ := e.subscription(81, pkg.ID, "")
			jobs := e.queue.Jobs()
			require.NotEmpty(t, jobs, "an attach enqueues its plan through the queue given to Open")
			require.Equal(t, plan, jobs[len(jobs)-1].PlanID)
		}},
		{"Open/JobCounts/RiverQueueByDefault", func(t *testing.T, d string) {
			e := newRiverConfEnv(t, d)
			_, pkg := e.catalogue()
			e.subscription(82, pkg.ID, "")
			counts, err := e.db.JobCounts(e.ctx)
			require.NoError(t, err)
			require.Contains(t, counts, store.JobCount{Kind: svahub.ConvergeJobKind, State: "available", Count: 1},
				"without a JobQueue option the attach inserts its River job in its own transaction")
		}},
		{"Services/Today", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			require.Equal(t, svahub.Date("2026-11-20"), e.db.Today())
			e.clock.Advance(10 * time.Hour)
			require.Equal(t, svahub.Date("2026-11-21"), e.db.Today())
		}},
		{"Subscriptions/FindSubscriptionByID", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			_, pkg := e.catalogue()
			sub, _, _ := e.subscription(91, pkg.ID, "")
			got, err := e.db.FindSubscriptionByID(e.ctx, sub.ID)
			require.NoError(t, err)
			require.Equal(t, sub.ID, got.ID)
			require.Equal(t, pkg.ID, got.PackageID)
			require.Len(t, got.Accesses, 1)
			_, err = e.db.FindSubscriptionByID(e.ctx, sub.ID+100)
			code(t, svahub.ENOTFOUND, err)
		}},
		{"Subscriptions/FindSubscriptions", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			_, pkg := e.catalogue()
			_, other := e.catalogue()
			e.subscription(101, pkg.ID, "")
			e.subscription(102, other.ID, "")
			all, total, err := e.db.FindSubscriptions(e.ctx, svahub.SubscriptionFilter{Page: svahub.Page{Size: 10}})
			require.NoError(t, err)
			require.Equal(t, 2, total)
			require.Len(t, all, 2)
			one, total, err := e.db.FindSubscriptions(e.ctx, svahub.SubscriptionFilter{PackageID: &other.ID, Page: svahub.Page{Size: 10}})
			require.NoError(t, err)
			require.Equal(t, 1, total)
			require.Equal(t, int64(102), one[0].ServiceID)
		}},
	}
}

func confAttach() []confCase {
	return []confCase{
		{"Attach/AttachPackage", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			_, pkg := e.catalogue()
			e.service(111)
			sub, err := e.db.AttachPackage(e.ctx, 111, svahub.AttachInput{PackageID: pkg.ID, ExpiresOn: "2027-03-01"})
			require.NoError(t, err)
			require.Equal(t, int64(111), sub.ServiceID)
			require.Equal(t, svahub.OriginSingle, sub.Origin)
			require.Equal(t, svahub.Date("2027-03-01"), sub.ExpiresOn)
			require.Len(t, sub.Accesses, 1)
			require.Equal(t, "pro", sub.Accesses[0].ProductCode)
			require.Equal(t, svahub.AccessActive, sub.Accesses[0].DesiredState)
			_, err = e.db.AttachPackage(e.ctx, 111, svahub.AttachInput{PackageID: pkg.ID})
			code(t, svahub.ECONFLICT, err)
			_, other := e.catalogue()
			dflt, err := e.db.AttachPackage(e.ctx, 111, svahub.AttachInput{PackageID: other.ID})
			require.NoError(t, err)
			require.Equal(t, svahub.Date("2027-11-20"), dflt.ExpiresOn, "omitted, the expiry is a year on")
			_, err = e.db.AttachPackage(e.ctx, 111, svahub.AttachInput{PackageID: pkg.ID + 100})
			code(t, svahub.EINVALID, err) // an unknown id_pacote is a field error of the body
			_, err = e.db.AttachPackage(e.ctx, 112, svahub.AttachInput{PackageID: pkg.ID})
			code(t, svahub.ENOTFOUND, err)
		}},
	}
}
