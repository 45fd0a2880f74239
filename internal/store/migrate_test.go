package store_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/secret"
	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/store/storetest"
)

// TestMigrationEndsCancelledServices upgrades a database of the version
// before issue 12, where a cancelled service kept live subscriptions:
// migration 00009 cancels them as of the service's last change (billing
// stops), and leaves the live services alone.
func TestMigrationEndsCancelledServices(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		dsn := storetest.DSN(t, dialect)
		raw, err := store.OpenRaw(ctx, dialect, dsn)
		require.NoError(t, err)
		defer raw.Close()
		gd := goose.DialectPostgres
		if dialect == store.DialectSQLite {
			gd = goose.DialectSQLite3
		}
		old, err := goose.NewProvider(gd, raw, os.DirFS("migrations/"+dialect), goose.WithDisableGlobalRegistry(true))
		require.NoError(t, err)
		_, err = old.UpTo(ctx, 7)
		require.NoError(t, err)

		q := func(s string) string {
			if dialect != store.DialectPostgres {
				return s
			}
			return rebindTest(s)
		}
		cancelledAt := time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)
		created := cancelledAt.AddDate(0, -1, 0)
		exec := func(s string, args ...any) {
			t.Helper()
			_, err := raw.ExecContext(ctx, q(s), args...)
			require.NoError(t, err)
		}
		exec(`INSERT INTO integrations (id, description, platform, client_id, client_secret_sealed, username_policy, created_at, updated_at)
			VALUES (1, 'Q', 'qualifica', 'c', '', 'login_autenticacao', ?, ?)`, created, created)
		exec(`INSERT INTO packages (id, description, value_cents, integration_id, active, created_at, updated_at) VALUES (1, 'P', 2990, 1, TRUE, ?, ?)`, created, created)
		for id, status := range map[int64]string{1: "cancelado", 2: "inativo", 3: "servico_habilitado"} {
			exec(`INSERT INTO services (id, status, customer_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`, id, status, id, created, cancelledAt)
			exec(`INSERT INTO subscriptions (service_id, package_id, integration_id, description, origin, value_cents, expires_on, status, created_at, updated_at)
				VALUES (?, 1, 1, 'P', 'avulso', 2990, '2027-10-20', 'ativo', ?, ?)`, id, created, created)
		}

		box, err := secret.NewBox(storetest.Key)
		require.NoError(t, err)
		db, err := store.Open(ctx, dialect, dsn, store.Options{Sealer: box})
		require.NoError(t, err)
		defer db.Close()
		require.NoError(t, db.Migrate(ctx))
		for svc, wantCancelled := range map[int64]bool{1: true, 2: true, 3: false} {
			var at *time.Time
			require.NoError(t, raw.QueryRowContext(ctx, q(`SELECT cancelled_at FROM subscriptions WHERE service_id = ?`), svc).Scan(&at))
			if !wantCancelled {
				require.Nil(t, at, "service %d is live", svc)
				continue
			}
			require.NotNil(t, at, "service %d", svc)
			require.True(t, at.Equal(cancelledAt), "service %d: cancelled at %s", svc, at)
		}
	})
}

// rebindTest turns ? into $n.
func rebindTest(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
