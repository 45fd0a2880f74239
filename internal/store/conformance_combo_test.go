package store_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/svahub"
)

// confComboAttach holds a combo's packages to the attach of single
// packages: the same subscriptions (but origin and value), the same
// platform plans with the same first aggregate, one job per plan.
func confComboAttach() []confCase {
	return []confCase{
		{"Attach/UpsertService/combo attaches as single packages do", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			integ := e.integration()
			pro, ebook := e.product(integ.ID, "pro"), e.product(integ.ID, "ebook")
			a, b, off := e.pkg(integ.ID, "9.90", pro.ID), e.pkg(integ.ID, "19.90", pro.ID, ebook.ID), e.pkg(integ.ID, "5.00", ebook.ID)
			_, err := e.db.UpdatePackage(e.ctx, off.ID, svahub.PackageUpdate{Active: ptr(false)})
			require.NoError(t, err)
			_, _, err = e.db.UpsertCombo(e.ctx, 900, svahub.ComboUpdate{Description: ptr("Combo"), Packages: []int64{a.ID, b.ID, off.ID}})
			require.NoError(t, err)
			for i, status := range []svahub.ServiceStatus{svahub.StatusEnabled, svahub.StatusDebtSuspended} {
				combo, single := int64(120+2*i), int64(121+2*i)
				e.comboService(combo, status, ptr(int64(900)))
				e.comboService(single, status, nil)
				for _, p := range []int64{a.ID, b.ID} {
					_, err := e.db.AttachPackage(e.ctx, single, svahub.AttachInput{PackageID: p})
					require.NoError(t, err)
				}
				got, want := e.attachOutcome(combo), e.attachOutcome(single)
				require.Len(t, got.plans, 2, "two packages sharing pro: one plan for pro, one for ebook")
				require.Len(t, got.subs, 2, "the inactive package is skipped")
				require.Equal(t, want.plans, got.plans)
				require.Equal(t, want.jobs, got.jobs)
				require.Equal(t, []string{"v1", "v1"}, got.jobs, "one job per plan")
				for j := range want.subs {
					require.Equal(t, fmt.Sprint(svahub.OriginCombo, " ", svahub.Money(0)), got.subs[j].origin)
					got.subs[j].origin = want.subs[j].origin
				}
				require.Equal(t, want.subs, got.subs)
			}
		}},
		{"Attach/UpsertService/combo packages sharing a position attach once each", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			integ := e.integration()
			pro, ebook, tv := e.product(integ.ID, "pro"), e.product(integ.ID, "ebook"), e.product(integ.ID, "tv")
			a, b := e.pkg(integ.ID, "9.90", pro.ID, tv.ID), e.pkg(integ.ID, "19.90", ebook.ID, tv.ID)
			_, _, err := e.db.UpsertCombo(e.ctx, 902, svahub.ComboUpdate{Description: ptr("Combo"), Packages: []int64{a.ID, b.ID}})
			require.NoError(t, err)
			// Rows written outside the API may tie on position.
			_, err = e.db.SQL().ExecContext(e.ctx, e.rebind(`UPDATE plan_packages SET position = 0 WHERE plan_id = ?`), 902)
			require.NoError(t, err)
			e.comboService(140, svahub.StatusEnabled, ptr(int64(902)))
			got := e.attachOutcome(140)
			require.Len(t, got.subs, 2, "one subscription per package")
			require.Equal(t, []string{"ebook ativo 2027-11-20 v1", "pro ativo 2027-11-20 v1", "tv ativo 2027-11-20 v1"}, got.plans)
		}},
		{"Attach/UpsertService/combo replaces an avulso subscription", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			integ := e.integration()
			pro, ebook := e.product(integ.ID, "pro"), e.product(integ.ID, "ebook")
			a, b := e.pkg(integ.ID, "9.90", pro.ID), e.pkg(integ.ID, "19.90", pro.ID, ebook.ID)
			_, _, err := e.db.UpsertCombo(e.ctx, 901, svahub.ComboUpdate{Description: ptr("Combo"), Packages: []int64{a.ID, b.ID}})
			require.NoError(t, err)
			e.comboService(130, svahub.StatusEnabled, nil)
			_, err = e.db.AttachPackage(e.ctx, 130, svahub.AttachInput{PackageID: a.ID, ExpiresOn: "2027-03-01"})
			require.NoError(t, err)
			e.comboService(130, svahub.StatusEnabled, ptr(int64(901)))
			got := e.attachOutcome(130)
			require.Equal(t, []string{"ebook ativo 2027-11-20 v1", "pro ativo 2027-11-20 v2"}, got.plans,
				"pro stays ativo: one change, to the combo's expiry")
			require.Equal(t, []string{"v1", "v1", "v2"}, got.jobs, "one job per change of a plan")
			require.Len(t, got.subs, 3)
			require.Equal(t, string(svahub.SubCancelled)+" ", got.subs[0].status)
		}},
	}
}

// comboService creates or updates service id (login "combo") in status
// with combo.
func (e *confEnv) comboService(id int64, status svahub.ServiceStatus, combo *int64) {
	e.t.Helper()
	_, _, err := e.db.UpsertService(e.ctx, id, svahub.ServiceInput{Login: fmt.Sprint("combo", id), Password: ptr("senha"), Status: string(status),
		ComboID: combo, Customer: svahub.CustomerInput{ID: id, Name: "Cliente"}})
	require.NoError(e.t, err)
}

// comboOutcome is what attaches left on one service, without ids.
type comboOutcome struct {
	plans []string // "code desired expiry vN", by code
	jobs  []string // "vN" of each job queued for those plans, by version
	subs  []comboSub
}

type comboSub struct {
	origin, status, expires string
	accesses                []string
}

// attachOutcome reads what service id's subscriptions left.
func (e *confEnv) attachOutcome(id int64) comboOutcome {
	e.t.Helper()
	var out comboOutcome
	rows, err := e.db.SQL().QueryContext(e.ctx, e.rebind(`SELECT id, product_code || ' ' || desired_state || ' ' || desired_expiry || ' v' || CAST(version AS TEXT)
		FROM platform_plans WHERE id IN (SELECT a.plan_id FROM accesses a JOIN subscriptions s ON s.id = a.subscription_id WHERE s.service_id = ?)
		ORDER BY product_code`), id)
	require.NoError(e.t, err)
	plans := map[int64]bool{}
	for rows.Next() {
		var (
			plan int64
			s    string
		)
		require.NoError(e.t, rows.Scan(&plan, &s))
		plans[plan] = true
		out.plans = append(out.plans, s)
	}
	require.NoError(e.t, rows.Err())
	require.NoError(e.t, rows.Close())
	for _, j := range e.queue.Jobs() {
		if plans[j.PlanID] {
			out.jobs = append(out.jobs, fmt.Sprint("v", j.Version))
		}
	}
	slices.Sort(out.jobs)
	svc, err := e.db.FindServiceByID(e.ctx, id)
	require.NoError(e.t, err)
	for _, s := range svc.Subscriptions {
		cs := comboSub{origin: fmt.Sprint(s.Origin, " ", s.Value), status: string(s.Status) + " " + s.LastError, expires: string(s.ExpiresOn)}
		for _, a := range s.Accesses {
			cs.accesses = append(cs.accesses, fmt.Sprint(a.ProductCode, " ", a.DesiredState, " ", a.PlatformState, " ", a.LastError))
		}
		out.subs = append(out.subs, cs)
	}
	return out
}
