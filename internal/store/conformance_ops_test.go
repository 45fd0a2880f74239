package store_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/secret"
	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/internal/svahub"
)

func confIdempotency() []confCase {
	answer := svahub.StoredResponse{Status: 201, ContentType: "application/json", Location: "/x/1", Body: []byte(`{"ok":true}`)}
	return []confCase{
		{"Idempotency/BeginIdempotent", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			got, err := e.db.BeginIdempotent(e.ctx, 1, "k", "h1")
			require.NoError(t, err)
			require.Nil(t, got, "reserved: run the request")
			_, err = e.db.BeginIdempotent(e.ctx, 1, "k", "h1")
			code(t, svahub.ECONFLICT, err)
			_, err = e.db.BeginIdempotent(e.ctx, 1, "k", "h2")
			code(t, svahub.EINVALID, err)
			got, err = e.db.BeginIdempotent(e.ctx, 2, "k", "h2")
			require.NoError(t, err)
			require.Nil(t, got, "keys are per API key")
			e.clock.Advance(svahub.IdempotencyAbandonAfter + time.Second)
			got, err = e.db.BeginIdempotent(e.ctx, 1, "k", "h1")
			require.NoError(t, err)
			require.Nil(t, got, "an abandoned reservation is forgotten")
		}},
		{"Idempotency/FinishIdempotent", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			_, err := e.db.BeginIdempotent(e.ctx, 1, "k", "h")
			require.NoError(t, err)
			require.NoError(t, e.db.FinishIdempotent(e.ctx, 1, "k", answer))
			got, err := e.db.BeginIdempotent(e.ctx, 1, "k", "h")
			require.NoError(t, err)
			require.Equal(t, &answer, got, "the stored answer is replayed")
		}},
		{"Idempotency/AbortIdempotent", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			_, err := e.db.BeginIdempotent(e.ctx, 1, "k", "h")
			require.NoError(t, err)
			require.NoError(t, e.db.AbortIdempotent(e.ctx, 1, "k"))
			got, err := e.db.BeginIdempotent(e.ctx, 1, "k", "other")
			require.NoError(t, err)
			require.Nil(t, got, "an aborted key is free again")
		}},
		{"Idempotency/PurgeIdempotency", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			_, err := e.db.BeginIdempotent(e.ctx, 1, "done", "h")
			require.NoError(t, err)
			require.NoError(t, e.db.FinishIdempotent(e.ctx, 1, "done", answer))
			n, err := e.db.PurgeIdempotency(e.ctx)
			require.NoError(t, err)
			require.Zero(t, n)
			e.clock.Advance(svahub.IdempotencyWindow + time.Second)
			n, err = e.db.PurgeIdempotency(e.ctx)
			require.NoError(t, err)
			require.Equal(t, int64(1), n)
		}},
	}
}

func confAPIKeys() []confCase {
	return []confCase{
		{"APIKeys/CreateAPIKey", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			k, plain, err := e.db.CreateAPIKey(e.ctx, "core", svahub.ScopeWrite)
			require.NoError(t, err)
			require.Equal(t, "core", k.Name)
			require.Equal(t, svahub.ScopeWrite, k.Scope)
			require.NotEmpty(t, plain)
			var hash string
			e.scalar("SELECT hash FROM api_keys WHERE id = ?", &hash, k.ID)
			require.NotContains(t, hash, plain)
		}},
		{"APIKeys/AuthenticateAPIKey", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			k, plain, err := e.db.CreateAPIKey(e.ctx, "ro", svahub.ScopeRead)
			require.NoError(t, err)
			got, err := e.db.AuthenticateAPIKey(e.ctx, plain)
			require.NoError(t, err)
			require.Equal(t, k.ID, got.ID)
			require.Equal(t, svahub.ScopeRead, got.Scope)
			_, err = e.db.AuthenticateAPIKey(e.ctx, plain+"x")
			code(t, svahub.EUNAUTHORIZED, err)
		}},
		{"APIKeys/RevokeAPIKey", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			k, plain, err := e.db.CreateAPIKey(e.ctx, "core", svahub.ScopeWrite)
			require.NoError(t, err)
			require.NoError(t, e.db.RevokeAPIKey(e.ctx, k.ID))
			_, err = e.db.AuthenticateAPIKey(e.ctx, plain)
			code(t, svahub.EUNAUTHORIZED, err)
			code(t, svahub.ENOTFOUND, e.db.RevokeAPIKey(e.ctx, k.ID))
		}},
		{"APIKeys/ListAPIKeys", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			a, _, err := e.db.CreateAPIKey(e.ctx, "a", svahub.ScopeWrite)
			require.NoError(t, err)
			_, _, err = e.db.CreateAPIKey(e.ctx, "b", svahub.ScopeRead)
			require.NoError(t, err)
			require.NoError(t, e.db.RevokeAPIKey(e.ctx, a.ID))
			keys, err := e.db.ListAPIKeys(e.ctx)
			require.NoError(t, err)
			require.Len(t, keys, 2, "revoked keys are listed too")
			require.Equal(t, "a", keys[0].Name)
		}},
		{"APIKeys/CountAPIKeys", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			a, _, err := e.db.CreateAPIKey(e.ctx, "a", svahub.ScopeWrite)
			require.NoError(t, err)
			_, _, err = e.db.CreateAPIKey(e.ctx, "b", svahub.ScopeRead)
			require.NoError(t, err)
			require.NoError(t, e.db.RevokeAPIKey(e.ctx, a.ID))
			n, err := e.db.CountAPIKeys(e.ctx)
			require.NoError(t, err)
			require.Equal(t, int64(1), n, "revoked keys are not counted")
		}},
		{"APIKeys/BootstrapAPIKey", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			plain, err := e.db.BootstrapAPIKey(e.ctx)
			require.NoError(t, err)
			require.NotEmpty(t, plain)
			k, err := e.db.AuthenticateAPIKey(e.ctx, plain)
			require.NoError(t, err)
			require.Equal(t, svahub.ScopeWrite, k.Scope)
			again, err := e.db.BootstrapAPIKey(e.ctx)
			require.NoError(t, err)
			require.Empty(t, again, "only once per database")
		}},
	}
}

func confBilling() []confCase {
	return []confCase{
		{"Billing/FindBilling", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			_, pkg := e.catalogue() // 29.90
			sub, _, _ := e.subscription(501, pkg.ID, "")
			items, total, err := e.db.FindBilling(e.ctx, svahub.Competence{Year: 2026, Month: time.November}, svahub.Page{Size: 10})
			require.NoError(t, err)
			require.Equal(t, 1, total)
			require.Len(t, items, 1)
			require.Equal(t, sub.ID, items[0].SubscriptionID)
			require.Equal(t, 30, items[0].DaysInMonth)
			require.Equal(t, svahub.BilledDays(svahub.Competence{Year: 2026, Month: time.November}, "2026-11-20", nil, sub.ExpiresOn), items[0].DaysBilled)
			items, total, err = e.db.FindBilling(e.ctx, svahub.Competence{Year: 2026, Month: time.October}, svahub.Page{Size: 10})
			require.NoError(t, err)
			require.Zero(t, total)
			require.Empty(t, items)
		}},
	}
}

// transmission records one transmission of integ with outcome.
func (e *confEnv) transmission(integ int64, outcome svahub.Outcome) *svahub.Transmission {
	e.t.Helper()
	tr := &svahub.Transmission{IntegrationID: integ, Operation: svahub.OpActivatePlan, Outcome: outcome, HTTPStatus: 200, DurationMS: 5, Attempt: 1}
	require.NoError(e.t, e.db.RecordTransmission(e.ctx, tr))
	return tr
}

func confTransmissions() []confCase {
	return []confCase{
		{"Transmissions/RecordTransmission", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			tr := e.transmission(1, svahub.OutcomeSuccess)
			require.NotZero(t, tr.ID)
			require.True(t, e.clock.Now().Equal(tr.CreatedAt), "stamped with the store's clock")
			// A held call recorded on its own keeps the time it ended.
			ended := e.clock.Now().Add(-2 * time.Second)
			held := &svahub.Transmission{IntegrationID: 1, Operation: svahub.OpSuspend, Outcome: svahub.OutcomeTemporary, Attempt: 1, CreatedAt: ended}
			require.NoError(t, e.db.RecordTransmission(e.ctx, held))
			got, _, err := e.db.FindTransmissions(e.ctx, svahub.TransmissionFilter{Page: svahub.Page{Size: 10}})
			require.NoError(t, err)
			require.Len(t, got, 2)
			for _, g := range got {
				if g.ID == held.ID {
					require.True(t, ended.Equal(g.CreatedAt), "kept the call's end: %v, want %v", g.CreatedAt, ended)
				}
			}
		}},
		{"Transmissions/FindTransmissions", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			e.transmission(1, svahub.OutcomeSuccess)
			e.clock.Advance(time.Second)
			bad := e.transmission(1, svahub.OutcomeError)
			e.transmission(2, svahub.OutcomeError)
			all, total, err := e.db.FindTransmissions(e.ctx, svahub.TransmissionFilter{Page: svahub.Page{Size: 10}})
			require.NoError(t, err)
			require.Equal(t, 3, total)
			require.Len(t, all, 3)
			integ, outcome := int64(1), svahub.OutcomeError
			got, total, err := e.db.FindTransmissions(e.ctx, svahub.TransmissionFilter{IntegrationID: &integ, Outcome: &outcome, Page: svahub.Page{Size: 10}})
			require.NoError(t, err)
			require.Equal(t, 1, total)
			require.Equal(t, bad.ID, got[0].ID)
		}},
	}
}

func confRetention() []confCase {
	return []confCase{
		{"Retention/PurgeTransmissions", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			e.transmission(1, svahub.OutcomeSuccess)
			e.clock.Advance(40 * 24 * time.Hour)
			kept := e.transmission(1, svahub.OutcomeSuccess)
			st, err := e.db.PurgeTransmissions(e.ctx, 30*24*time.Hour, store.PurgeOptions{})
			require.NoError(t, err)
			require.Equal(t, int64(1), st.Rows)
			require.False(t, st.More)
			left, _, err := e.db.FindTransmissions(e.ctx, svahub.TransmissionFilter{Page: svahub.Page{Size: 10}})
			require.NoError(t, err)
			require.Len(t, left, 1)
			require.Equal(t, kept.ID, left[0].ID)
		}},
		{"Retention/PurgeDefaults", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			o := e.db.PurgeDefaults(store.PurgeOptions{})
			require.Positive(t, o.BatchSize)
			require.Positive(t, o.MaxBatches)
			o = e.db.PurgeDefaults(store.PurgeOptions{BatchSize: 7, MaxBatches: 3})
			require.Equal(t, 7, o.BatchSize, "set options are kept")
			require.Equal(t, 3, o.MaxBatches)
		}},
		{"Retention/ExplainTransmissionPurge", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			plan, err := e.db.ExplainTransmissionPurge(e.ctx, e.clock.Now(), 100)
			require.NoError(t, err)
			// The index is chosen only on a filled table (retention_test.go
			// checks that); here the contract is a plan of the purge DELETE.
			require.Contains(t, strings.ToLower(plan), "transmissions")
		}},
	}
}

// insertJob adds a queued River job converging plan, as the provisioning
// queue would.
func (e *confEnv) insertJob(plan int64) {
	e.t.Helper()
	_, err := e.db.SQL().ExecContext(e.ctx, e.rebind(`INSERT INTO river_job (args, kind, max_attempts) VALUES (?, 'converge_plan', 25)`),
		fmt.Sprintf(`{"plan_id":%d,"version":1}`, plan))
	require.NoError(e.t, err)
}

func confStats() []confCase {
	return []confCase{
		{"Stats/Stats", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			_, pkg := e.catalogue()
			e.subscription(601, pkg.ID, "")
			st, err := e.db.Stats(e.ctx)
			require.NoError(t, err)
			require.Equal(t, []store.StatusCount{{Status: svahub.SubPending, Count: 1}}, st.Subscriptions)
			require.Len(t, st.Accesses, 1)
			require.Zero(t, st.AccessesInError)
		}},
		{"Stats/JobCounts", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			e.insertJob(1)
			got, err := e.db.JobCounts(e.ctx)
			require.NoError(t, err)
			require.Equal(t, []store.JobCount{{Kind: "converge_plan", State: "available", Count: 1}}, got)
		}},
		{"Stats/QueueDepths", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			integ, pkg := e.catalogue()
			_, plan, _ := e.subscription(611, pkg.ID, "")
			e.insertJob(plan)
			by, total, err := e.db.QueueDepths(e.ctx)
			require.NoError(t, err)
			require.Equal(t, int64(1), total)
			require.Equal(t, map[int64]int64{integ.ID: 1}, by)
		}},
		{"Stats/AccessStateCounts", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			integ, pkg := e.catalogue()
			e.subscription(621, pkg.ID, "")
			e.subscription(622, pkg.ID, "")
			got, err := e.db.AccessStateCounts(e.ctx)
			require.NoError(t, err)
			require.Equal(t, []store.AccessStateCount{{IntegrationID: integ.ID, Desired: svahub.AccessActive, Platform: svahub.AccessNone, Count: 2}}, got)
		}},
		{"Stats/AccessErrorCounts", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			integ, pkg := e.catalogue()
			_, plan, _ := e.subscription(631, pkg.ID, "")
			got, err := e.db.AccessErrorCounts(e.ctx)
			require.NoError(t, err)
			require.Empty(t, got)
			w := e.claim(plan)
			require.NoError(t, e.db.FailPlan(e.ctx, plan, w.Version, svahub.AccessNone, "recusado"))
			got, err = e.db.AccessErrorCounts(e.ctx)
			require.NoError(t, err)
			require.Equal(t, map[int64]int64{integ.ID: 1}, got)
		}},
		{"Stats/SubscriptionStatusCounts", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			_, pkg := e.catalogue()
			sub, _, _ := e.subscription(641, pkg.ID, "")
			e.subscription(642, pkg.ID, "")
			require.NoError(t, e.db.CancelSubscription(e.ctx, 641, sub.ID))
			got, err := e.db.SubscriptionStatusCounts(e.ctx)
			require.NoError(t, err)
			require.ElementsMatch(t, []store.StatusCount{{Status: svahub.SubCancelled, Count: 1}, {Status: svahub.SubPending, Count: 1}}, got)
		}},
		{"Stats/PlatformErrorCounts", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			e.transmission(1, svahub.OutcomeError)
			e.clock.Advance(time.Hour)
			since := e.clock.Now()
			e.transmission(1, svahub.OutcomeTemporary)
			e.transmission(1, svahub.OutcomeSuccess)
			e.transmission(2, svahub.OutcomeError)
			got, err := e.db.PlatformErrorCounts(e.ctx, since)
			require.NoError(t, err)
			require.Equal(t, map[int64]int64{1: 1, 2: 1}, got)
		}},
		{"Stats/IntegrationStatuses", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			integ := e.integration()
			e.transmission(integ.ID, svahub.OutcomeError)
			got, _, err := e.db.IntegrationStatuses(e.ctx, e.clock.Now().Add(-time.Hour))
			require.NoError(t, err)
			require.Len(t, got, 1)
			require.Equal(t, integ.ID, got[0].ID)
			require.True(t, got[0].Active)
			require.Equal(t, svahub.TokenPending, got[0].TokenStatus)
		}},
	}
}

// openKeys opens the database at dsn with a sealer of key (and prev keys).
func openKeys(t *testing.T, dialect, dsn string, key []byte, prev ...[]byte) *store.DB {
	t.Helper()
	box, err := secret.NewBox(key, prev...)
	require.NoError(t, err)
	db, err := store.Open(context.Background(), dialect, dsn, store.Options{Sealer: box, Adapters: storetest.Adapters(), Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	require.NoError(t, db.Migrate(context.Background()))
	return db
}

func confRotate() []confCase {
	newKey := []byte("fedcba9876543210fedcba9876543210")
	return []confCase{
		{"Rotate/RotateSecrets", func(t *testing.T, d string) {
			dsn := storetest.DSN(t, d)
			e := &confEnv{t: t, ctx: context.Background(), db: openKeys(t, d, dsn, storetest.Key)}
			integ := e.integration()
			both := openKeys(t, d, dsn, newKey, storetest.Key)
			n, err := both.RotateSecrets(e.ctx)
			require.NoError(t, err)
			require.Positive(t, n)
			n, err = both.RotateSecrets(e.ctx)
			require.NoError(t, err)
			require.Zero(t, n, "idempotent")
			c, err := openKeys(t, d, dsn, newKey).Credentials(e.ctx, integ.ID)
			require.NoError(t, err)
			require.Equal(t, "s3cr3t", c.Params["client_secret"], "the new key alone opens it")
		}},
		{"Rotate/CheckSealKeys", func(t *testing.T, d string) {
			dsn := storetest.DSN(t, d)
			e := &confEnv{t: t, ctx: context.Background(), db: openKeys(t, d, dsn, storetest.Key)}
			e.integration()
			require.NoError(t, e.db.CheckSealKeys(e.ctx))
			require.ErrorIs(t, openKeys(t, d, dsn, newKey).CheckSealKeys(e.ctx), secret.ErrUnknownKey)
		}},
	}
}

func confErasure() []confCase {
	return []confCase{
		{"Erasure/EraseCustomer", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			e.service(701)
			by := svahub.ErasureActor{Origin: svahub.ErasureByCLI}
			_, err := e.db.EraseCustomer(e.ctx, 701, by)
			code(t, svahub.ECONFLICT, err)
			_, err = e.db.SetServiceStatus(e.ctx, 701, svahub.StatusCancelled)
			require.NoError(t, err)
			er, err := e.db.EraseCustomer(e.ctx, 701, by)
			require.NoError(t, err)
			require.Equal(t, int64(701), er.CustomerID)
			require.Equal(t, []int64{701}, er.Services)
			require.False(t, er.AlreadyErased)
			svc, err := e.db.FindServiceByID(e.ctx, 701)
			require.NoError(t, err)
			require.NotEqual(t, "Cliente", svc.Customer.Name, "personal data is replaced")
			er, err = e.db.EraseCustomer(e.ctx, 701, by)
			require.NoError(t, err)
			require.True(t, er.AlreadyErased)
			_, err = e.db.EraseCustomer(e.ctx, 702, by)
			code(t, svahub.ENOTFOUND, err)
		}},
	}
}

func confStore() []confCase {
	return []confCase{
		{"Store/Dialect", func(t *testing.T, d string) {
			require.Equal(t, d, newConfEnv(t, d).db.Dialect())
		}},
		{"Store/SQL", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			var one int
			require.NoError(t, e.db.SQL().QueryRowContext(e.ctx, "SELECT 1").Scan(&one))
			require.Equal(t, 1, one)
		}},
		{"Store/Gorm", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			var n int64
			require.NoError(t, e.db.Gorm().WithContext(e.ctx).Table("integrations").Count(&n).Error)
			require.Zero(t, n)
		}},
		{"Store/RiverDriver", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			drv := e.db.RiverDriver()
			require.NotNil(t, drv)
			require.NotNil(t, drv.GetExecutor())
		}},
		{"Store/Migrate", func(t *testing.T, d string) {
			dsn := storetest.DSN(t, d)
			db := openKeys(t, d, dsn, storetest.Key) // migrates
			require.NoError(t, db.Migrate(context.Background()), "idempotent")
		}},
		{"Store/Pending", func(t *testing.T, d string) {
			box, err := secret.NewBox(storetest.Key)
			require.NoError(t, err)
			ctx := context.Background()
			db, err := store.Open(ctx, d, storetest.DSN(t, d), store.Options{Sealer: box, Adapters: storetest.Adapters(), Logger: slog.New(slog.DiscardHandler)})
			require.NoError(t, err)
			t.Cleanup(func() { _ = db.Close() })
			pending, err := db.Pending(ctx)
			require.NoError(t, err)
			require.True(t, pending, "an empty database has migrations to apply")
			require.NoError(t, db.Migrate(ctx))
			pending, err = db.Pending(ctx)
			require.NoError(t, err)
			require.False(t, pending)
		}},
		{"Store/Ping", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			require.NoError(t, e.db.Ping(e.ctx))
		}},
		{"Store/Close", func(t *testing.T, d string) {
			db := openKeys(t, d, storetest.DSN(t, d), storetest.Key)
			require.NoError(t, db.Close())
			require.Error(t, db.Ping(context.Background()), "a closed store refuses work")
		}},
	}
}
