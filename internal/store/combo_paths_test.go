package store_test

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/internal/svahub"
)

// TestComboPathsAgree runs one combo scenario (every username
// policy, statuses, a return, combo changes, an account shared by
// document) on SQLite, on PostgreSQL's one-statement attach and on its
// general path, and holds them to the same platform plans, jobs and
// subscriptions. With SVAHUB_COMBO_DUMP set it writes what it got there, to
// compare with another revision.
func TestComboPathsAgree(t *testing.T) {
	t.Parallel()
	got := map[string]string{}
	run := func(name, dialect string, general bool) {
		e := newConfEnv(t, dialect)
		if general {
			e.db.UseGeneralAttach()
		}
		got[name] = comboLifeScenario(e)
	}
	run("sqlite", store.DialectSQLite, false)
	if p := os.Getenv("SVAHUB_COMBO_DUMP"); p != "" {
		require.NoError(t, os.WriteFile(p, []byte(got["sqlite"]), 0o644))
	}
	if len(storetest.Dialects()) < 2 {
		t.Skip("PostgreSQL paths need " + storetest.EnvDatabaseURL)
	}
	run("postgres-statement", store.DialectPostgres, false)
	run("postgres-general", store.DialectPostgres, true)
	require.Equal(t, got["postgres-general"], got["postgres-statement"])
	require.Equal(t, got["sqlite"], got["postgres-statement"])
}

func comboLifeScenario(e *confEnv) string {
	t := e.t
	login, doc, mail := e.integration(), e.integrationPolicy("cpf_cnpj"), e.integrationPolicy("email")
	_, err := e.db.UpdateIntegration(e.ctx, login.ID, svahub.IntegrationUpdate{SuspendOnDebt: ptr(true)})
	require.NoError(t, err)
	pro, ebook := e.product(login.ID, "pro"), e.product(login.ID, "ebook")
	curso, tv := e.product(doc.ID, "curso"), e.product(mail.ID, "tv")
	a, b := e.pkg(login.ID, "9.90", pro.ID), e.pkg(login.ID, "19.90", pro.ID, ebook.ID)
	c, d, off := e.pkg(doc.ID, "5.00", curso.ID), e.pkg(mail.ID, "7.00", tv.ID), e.pkg(login.ID, "1.00", ebook.ID)
	_, err = e.db.UpdatePackage(e.ctx, off.ID, svahub.PackageUpdate{Active: ptr(false)})
	require.NoError(t, err)
	for id, pkgs := range map[int64][]int64{920: {a.ID, b.ID, c.ID, d.ID, off.ID}, 921: {c.ID}, 922: {off.ID}} {
		_, _, err := e.db.UpsertCombo(e.ctx, id, svahub.ComboUpdate{Description: ptr("Combo"), Packages: pkgs})
		require.NoError(t, err)
	}
	put := func(id int64, status svahub.ServiceStatus, combo int64, email string) {
		var cp *int64
		if combo != 0 {
			cp = &combo
		}
		_, _, err := e.db.UpsertService(e.ctx, id, svahub.ServiceInput{Login: fmt.Sprint("svc", id), Password: ptr("senha"), Status: string(status),
			ComboID: cp, Customer: svahub.CustomerInput{ID: 1, Name: "Cliente", Document: "52998224725", Email: email}})
		require.NoError(t, err)
	}
	put(200, svahub.StatusEnabled, 920, "")
	put(201, "aguardando_instalacao", 920, "c@example.com")
	put(202, svahub.StatusDebtSuspended, 920, "c@example.com")
	put(203, svahub.StatusCustomerSuspended, 920, "c@example.com")
	put(204, svahub.StatusCancelled, 920, "c@example.com")
	put(204, svahub.StatusEnabled, 920, "c@example.com")
	put(205, svahub.StatusEnabled, 0, "c@example.com")
	_, err = e.db.AttachPackage(e.ctx, 205, svahub.AttachInput{PackageID: a.ID, ExpiresOn: "2027-03-01"})
	require.NoError(t, err)
	_, err = e.db.AttachPackage(e.ctx, 205, svahub.AttachInput{PackageID: c.ID, ExpiresOn: "2027-02-01"})
	require.NoError(t, err)
	put(205, svahub.StatusCustomerSuspended, 920, "c@example.com")
	put(206, svahub.StatusEnabled, 921, "c@example.com")
	put(206, svahub.StatusEnabled, 920, "c@example.com")
	put(200, svahub.StatusEnabled, 921, "")
	put(207, svahub.StatusEnabled, 922, "c@example.com")
	put(202, svahub.StatusEnabled, 920, "c@example.com")
	put(203, svahub.StatusCustomerSuspended, 921, "c@example.com") // combo change on a suspended service
	put(203, svahub.StatusCustomerSuspended, 920, "c@example.com")
	put(208, svahub.StatusCancelled, 921, "c@example.com")
	put(208, svahub.StatusInactive, 920, "c@example.com")
	put(208, svahub.StatusDebtSuspended, 920, "c@example.com") // returns suspended
	put(201, svahub.StatusEnabled, 921, "c@example.com")       // leaves aguardando and changes combo at once
	return e.comboDump(200, 201, 202, 203, 204, 205, 206, 207, 208)
}

// comboDump lists every platform plan, the jobs queued (by plan, in
// order) and the subscriptions of the services, without ids.
func (e *confEnv) comboDump(services ...int64) string {
	t := e.t
	var b strings.Builder
	rows, err := e.db.SQL().QueryContext(e.ctx, `SELECT p.id, a.username || '/' || p.product_code, p.desired_state || ' ' || p.desired_expiry || ' v' || CAST(p.version AS TEXT)
		FROM platform_plans p JOIN platform_accounts a ON a.id = p.account_id ORDER BY 2`)
	require.NoError(t, err)
	names := map[int64]string{}
	for rows.Next() {
		var (
			id         int64
			name, desc string
		)
		require.NoError(t, rows.Scan(&id, &name, &desc))
		names[id] = name
		fmt.Fprintln(&b, "plan", name, desc)
	}
	require.NoError(t, rows.Err())
	require.NoError(t, rows.Close())
	var jobs []string
	for _, j := range e.queue.Jobs() {
		jobs = append(jobs, fmt.Sprint(names[j.PlanID], " v", j.Version))
	}
	slices.Sort(jobs)
	fmt.Fprintln(&b, "jobs", jobs)
	for _, id := range services {
		svc, err := e.db.FindServiceByID(e.ctx, id)
		require.NoError(t, err)
		for _, s := range svc.Subscriptions {
			fmt.Fprintln(&b, "svc", id, "pkg", s.Description, s.Value, s.Origin, s.Status, s.LastError, s.ExpiresOn, s.CancelledAt != nil)
			for _, a := range s.Accesses {
				fmt.Fprintln(&b, "   ", a.ProductCode, a.DesiredState, a.PlatformState, a.LastError)
			}
		}
	}
	return b.String()
}
