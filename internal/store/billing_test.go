package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/debug"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/httpapi"
	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/internal/svahub"
)

// billingClock is a settable clock for the billing tests.
type billingClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *billingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *billingClock) Set(s string) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

var saoPaulo = func() *time.Location {
	loc, err := time.LoadLocation("America/Sao_Paulo")
	if err != nil {
		panic(err)
	}
	return loc
}()

// billingCatalogue creates an integration and a package of valor cents.
func billingCatalogue(t testing.TB, db *store.DB, valor string) (int64, int64) {
	t.Helper()
	ctx := context.Background()
	integ, err := db.CreateIntegration(ctx, svahub.IntegrationInput{Description: "Q", Platform: "qualifica",
		Params: svahub.IntegrationParamInput{Values: map[string]string{"client_id": "c", "client_secret": "s"}}})
	require.NoError(t, err)
	prod, err := db.CreateProduct(ctx, integ.ID, svahub.ProductInput{Description: "Pro", Code: "pro"})
	require.NoError(t, err)
	pkg, err := db.CreatePackage(ctx, svahub.PackageInput{Description: "Pacote", Value: valor, IntegrationID: integ.ID, Products: []int64{prod.ID}})
	require.NoError(t, err)
	return integ.ID, pkg.ID
}

// TestBillingWindowInSQL checks the SQL billing feed against the pure rule
// (svahub.BilledDays) on the edges of the business day: a subscription
// created and cancelled on the same São Paulo day is never billed, one
// cancelled on the 1st is not billed that month, the cancellation day and
// the days after data_expiracao are not billed, and pages add up.
func TestBillingWindowInSQL(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		clk := &billingClock{}
		clk.Set("2026-10-20T12:00:00-03:00")
		db := storetest.Open(t, dialect, storetest.Options{Now: clk.Now, Location: saoPaulo})
		_, pkg := billingCatalogue(t, db, "30.00")
		_, free := billingCatalogue(t, db, "0.00")
		type event struct {
			created, cancelled, expires string
			pkg                         int64
		}
		events := []event{
			{created: "2026-11-01T02:00:00Z"},                                              // 31 Oct in São Paulo, live
			{created: "2026-11-10T12:00:00-03:00", cancelled: "2026-11-10T20:00:00-03:00"}, // same day: never billed
			{created: "2026-11-11T02:30:00Z", cancelled: "2026-11-11T03:30:00Z"},           // 10 Nov 23:30 → 11 Nov 00:30: one day
			{created: "2026-10-20T12:00:00-03:00", cancelled: "2026-11-01T10:00:00-03:00"},
			{created: "2026-11-20T12:00:00-03:00", expires: "2026-11-25"},
			{created: "2026-11-30T23:59:00-03:00"},
			{created: "2026-12-01T00:00:00-03:00"},
			{created: "2026-11-05T12:00:00-03:00", cancelled: "2026-12-01T00:00:00-03:00"},
			{created: "2026-11-05T12:00:00-03:00", cancelled: "2026-11-30T23:59:59-03:00"},
			{created: "2026-11-05T12:00:00-03:00", pkg: free},
			{created: "2026-10-01T00:00:00-03:00", expires: "2026-10-31"},
		}
		at := func(s string) time.Time {
			ts, err := time.Parse(time.RFC3339, s)
			require.NoError(t, err)
			return ts
		}
		sort.SliceStable(events, func(i, j int) bool { return at(events[i].created).Before(at(events[j].created)) })
		for i, ev := range events {
			svc := int64(9000 + i)
			clk.Set(ev.created)
			_, _, err := db.UpsertService(ctx, svc, svahub.ServiceInput{Login: fmt.Sprint("l", svc), Status: "servico_habilitado",
				Customer: svahub.CustomerInput{ID: svc, Name: "Cliente"}})
			require.NoError(t, err)
			p := pkg
			if ev.pkg != 0 {
				p = ev.pkg
			}
			sub, err := db.AttachPackage(ctx, svc, svahub.AttachInput{PackageID: p, ExpiresOn: ev.expires})
			require.NoError(t, err)
			if ev.cancelled != "" {
				clk.Set(ev.cancelled)
				require.NoError(t, db.CancelSubscription(ctx, svc, sub.ID))
			}
		}
		subs, _, err := db.FindSubscriptions(ctx, svahub.SubscriptionFilter{Page: svahub.Page{Size: 500}})
		require.NoError(t, err)
		for _, month := range []string{"2026-09", "2026-10", "2026-11", "2026-12"} {
			c, err := svahub.ParseCompetence(month)
			require.NoError(t, err)
			want := map[int64]int{}
			for _, s := range subs {
				var cancelled *svahub.Date
				if s.CancelledAt != nil {
					d := svahub.DateOf(*s.CancelledAt, saoPaulo)
					cancelled = &d
				}
				if n := svahub.BilledDays(c, svahub.DateOf(s.CreatedAt, saoPaulo), cancelled, s.ExpiresOn); n > 0 && s.Value > 0 {
					want[s.ID] = n
				}
			}
			got, total := billingPages(t, db, c, 2)
			require.Equal(t, want, got, month)
			require.Equal(t, len(want), total, month)
		}
	})
}

// billingPages reads every page of a competence (size items each) and
// returns the days billed by subscription and the total announced.
func billingPages(t *testing.T, db *store.DB, c svahub.Competence, size int) (map[int64]int, int) {
	t.Helper()
	got := map[int64]int{}
	total := -1
	for page := 0; ; page++ {
		items, n, err := db.FindBilling(context.Background(), c, svahub.Page{Number: page, Size: size})
		require.NoError(t, err)
		if total < 0 {
			total = n
		}
		require.Equal(t, total, n, "%s page %d", c, page)
		if len(items) == 0 {
			return got, total
		}
		require.LessOrEqual(t, len(items), size)
		for _, it := range items {
			require.NotContains(t, got, it.SubscriptionID, "listed twice")
			got[it.SubscriptionID] = it.DaysBilled
			require.Equal(t, svahub.Money(3000).ProRata(it.DaysBilled, svahub.DaysIn(c.Year, c.Month)), it.ProratedValue)
		}
	}
}

// billingSeed inserts n live subscriptions of one package (one per
// service) created on createdAt, straight in SQL.
func billingSeed(t testing.TB, db *store.DB, n int, createdAt time.Time) {
	t.Helper()
	ctx := context.Background()
	integ, pkg := billingCatalogue(t, db, "29.90")
	q1 := `WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ?)
		INSERT INTO services (id, status, customer_id, customer_name, created_at, updated_at)
		SELECT n, 'servico_habilitado', n, 'Cliente', ?, ? FROM g`
	args1 := []any{n, createdAt.UTC(), createdAt.UTC()}
	q2 := `INSERT INTO subscriptions (service_id, package_id, integration_id, description, origin, value_cents, expires_on, status, created_at, updated_at)
		SELECT id, ?, ?, 'Pacote', 'avulso', 2990, '2027-11-01', 'ativo', ?, ? FROM services`
	args2 := []any{pkg, integ, createdAt.UTC(), createdAt.UTC()}
	if db.Dialect() == store.DialectPostgres {
		q1 = `INSERT INTO services (id, status, customer_id, customer_name, created_at, updated_at)
			SELECT g, 'servico_habilitado', g, 'Cliente', $2, $3 FROM generate_series(1, $1::bigint) g`
		q2 = `INSERT INTO subscriptions (service_id, package_id, integration_id, description, origin, value_cents, expires_on, status, created_at, updated_at)
			SELECT id, $1, $2, 'Pacote', 'avulso', 2990, '2027-11-01', 'ativo', $3, $4 FROM services`
	}
	_, err := db.SQL().ExecContext(ctx, q1, args1...)
	require.NoError(t, err)
	_, err = db.SQL().ExecContext(ctx, q2, args2...)
	require.NoError(t, err)
}

// TestBillingPageMemory reads one page of a month with 100,000 billable
// subscriptions through GET /cobrancas and measures the heap it takes
// (the collector is off during the request, so every byte allocated is
// still on the heap at its end: that is its peak). The feed pages in SQL:
// the figure stays the same whatever the month's size (docs/operations.md).
// Not parallel: the heap is measured for the whole process. Under the race
// detector the month has 10,000 subscriptions (seeding 100,000 in modernc
// SQLite would take minutes); reading them all would still take ~10 MiB.
func TestBillingPageMemory(t *testing.T) {
	n := 100_000
	if raceEnabled {
		n = 10_000
	}
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			clk := &billingClock{}
			clk.Set("2026-11-15T12:00:00-03:00")
			db := storetest.Open(t, dialect, storetest.Options{Now: clk.Now, Location: saoPaulo})
			billingSeed(t, db, n, clk.Now().AddDate(0, -1, 0))
			_, key, err := db.CreateAPIKey(ctx, "leitor", svahub.ScopeRead)
			require.NoError(t, err)
			srv := httptest.NewServer(httpapi.New(httpapi.Deps{Billing: db, APIKeys: db, Location: saoPaulo, Logger: slog.New(slog.DiscardHandler)}))
			defer srv.Close()
			get := func() map[string]any {
				req, err := http.NewRequest("GET", srv.URL+"/api/v1/cobrancas?competencia=2026-11&pagina=3&itens_por_pagina=50", nil)
				require.NoError(t, err)
				req.Header.Set("Authorization", "Bearer "+key)
				res, err := srv.Client().Do(req)
				require.NoError(t, err)
				defer res.Body.Close()
				raw, err := io.ReadAll(res.Body)
				require.NoError(t, err)
				require.Equal(t, 200, res.StatusCode, "%s", raw)
				var body map[string]any
				require.NoError(t, json.Unmarshal(raw, &body))
				return body
			}
			start := time.Now()
			get() // warm: connections, prepared statements, caches
			t.Logf("%s: first page in %s", dialect, time.Since(start))
			peak := heapOf(func() {
				body := get()
				require.Len(t, body["itens"], 50)
				require.EqualValues(t, n, body["paginacao"].(map[string]any)["total_registros"])
			})
			t.Logf("%s: one page of GET /cobrancas over %d subscriptions: peak heap %.2f MiB", dialect, n, float64(peak)/(1<<20))
			require.Less(t, peak, uint64(8<<20), "one page must not read the whole month")
		})
	}
}

// heapOf runs fn with the garbage collector off and returns the bytes it
// allocated: with nothing collected, that is the peak heap fn reached.
func heapOf(fn func()) uint64 {
	runtime.GC()
	old := debug.SetGCPercent(-1)
	defer debug.SetGCPercent(old)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
