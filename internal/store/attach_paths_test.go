package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/internal/svahub"
)

// attachOutcome is what an attach leaves behind, without ids and times.
type attachOutcome struct {
	Answers []svahub.Subscription
	Read    []svahub.Subscription
	Plans   []string
}

// TestAttachPathsAgree holds PostgreSQL's one-statement attach and the
// general path (the only one on SQLite) to the same answers, the same
// subscriptions read back and the same platform plans, over new accounts,
// accounts that exist, plans shared between packages, a service
// suspended for debt and a combo whose packages share a plan.
func TestAttachPathsAgree(t *testing.T) {
	t.Parallel()
	var outcomes = map[string]attachOutcome{}
	run := func(name, dialect string, general bool) {
		t.Run(name, func(t *testing.T) {
			db := storetest.Open(t, dialect, storetest.Options{Now: func() time.Time { return time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC) }})
			if general {
				db.UseGeneralAttach()
			}
			outcomes[name] = attachScenario(t, db)
		})
	}
	run("sqlite", store.DialectSQLite, false)
	if len(storetest.Dialects()) < 2 {
		t.Skipf("PostgreSQL paths skipped: set %s to compare them", storetest.EnvDatabaseURL)
	}
	run("postgres-statement", store.DialectPostgres, false)
	run("postgres-general", store.DialectPostgres, true)
	require.Equal(t, outcomes["postgres-general"], outcomes["postgres-statement"])
	require.Equal(t, outcomes["sqlite"], outcomes["postgres-statement"])
}

// comboScenario attaches a combo of two packages sharing a product through
// the same paths: on a new service of a new login (the first package makes
// the account, the second finds it and the plan the first made, in the
// same transaction), then on service 10, whose avulso subscriptions of
// both packages it replaces. It returns both services' subscriptions.
func comboScenario(t *testing.T, db *store.DB, first, shared int64) []svahub.Subscription {
	ctx := context.Background()
	_, _, err := db.UpsertCombo(ctx, 700, svahub.ComboUpdate{Description: ptr("Combo"), Packages: []int64{first, shared}})
	require.NoError(t, err)
	combo := int64(700)
	for _, s := range []struct {
		id, customer int64
		login        string
	}{{12, 2, "joana"}, {10, 1, "maria"}} {
		_, _, err := db.UpsertService(ctx, s.id, svahub.ServiceInput{Login: s.login, Password: ptr("s3nh4"), Status: "servico_habilitado", ComboID: &combo,
			Customer: svahub.CustomerInput{ID: s.customer, Name: "Maria"}})
		require.NoError(t, err)
	}
	var out []svahub.Subscription
	for _, id := range []int64{12, 10} {
		svc, err := db.FindServiceByID(ctx, id)
		require.NoError(t, err)
		require.Len(t, svc.Subscriptions, map[int64]int{12: 2, 10: 4}[id])
		for _, s := range svc.Subscriptions {
			require.Empty(t, s.LastError, "the scenario must reach the plans")
			out = append(out, comparable(s))
		}
	}
	return out
}

// attachScenario attaches four packages in ways that take every branch of
// the attach paths and returns what they left.
func attachScenario(t *testing.T, db *store.DB) attachOutcome {
	ctx := context.Background()
	integ, err := db.CreateIntegration(ctx, svahub.IntegrationInput{Description: "Q", Platform: "qualifica",
		Params: svahub.IntegrationParamInput{Values: map[string]string{"client_id": "cid", "client_secret": "s"}}})
	require.NoError(t, err)
	product := func(code string) int64 {
		p, err := db.CreateProduct(ctx, integ.ID, svahub.ProductInput{Description: code, Code: code})
		require.NoError(t, err)
		return p.ID
	}
	pro, ebook, music := product("pro"), product("ebook"), product("music")
	pkg := func(name string, products ...int64) int64 {
		p, err := db.CreatePackage(ctx, svahub.PackageInput{Description: name, Value: "9.90", IntegrationID: integ.ID, Products: products})
		require.NoError(t, err)
		return p.ID
	}
	first, shared, third := pkg("first", pro, ebook), pkg("shared", ebook, music), pkg("third", music)
	service := func(id int64, status string) {
		_, _, err := db.UpsertService(ctx, id, svahub.ServiceInput{Login: "maria", Password: ptr("s3nh4"), Status: status,
			Customer: svahub.CustomerInput{ID: 1, Name: "Maria"}})
		require.NoError(t, err)
	}
	service(10, "servico_habilitado")
	service(11, "suspenso_debito")
	var out attachOutcome
	attach := func(serviceID, packageID int64, expires string) {
		sub, err := db.AttachPackage(ctx, serviceID, svahub.AttachInput{PackageID: packageID, ExpiresOn: expires})
		require.NoError(t, err)
		read, err := db.FindSubscriptionByID(ctx, sub.ID)
		require.NoError(t, err)
		require.Empty(t, sub.LastError, "the scenario must reach the plans")
		out.Answers = append(out.Answers, comparable(*sub))
		out.Read = append(out.Read, comparable(*read))
	}
	attach(10, first, "")            // new account, new plans
	attach(10, shared, "2027-02-01") // account exists: one shared plan, one new
	attach(11, third, "")            // same login, suspended for debt: shares "music"
	attach(11, first, "2027-03-01")  // every plan exists
	_, err = db.AttachPackage(ctx, 10, svahub.AttachInput{PackageID: first})
	require.Equal(t, svahub.ECONFLICT, svahub.ErrorCode(err), "the same package twice")
	out.Read = append(out.Read, comboScenario(t, db, first, shared)...)
	rows, err := db.SQL().QueryContext(ctx, `SELECT product_code || ' ' || desired_state || ' ' || desired_expiry || ' v' || CAST(version AS TEXT)
		FROM platform_plans ORDER BY 1`)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		out.Plans = append(out.Plans, s)
	}
	require.NoError(t, rows.Err())
	require.Len(t, out.Plans, 6)
	return out
}

// comparable clears what differs between databases by construction.
func comparable(s svahub.Subscription) svahub.Subscription {
	s.ID, s.CreatedAt = 0, time.Time{}
	for i := range s.Accesses {
		s.Accesses[i].ID = 0
	}
	return s
}
