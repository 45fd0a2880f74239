package store_test

import (
	"context"
	"database/sql"
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
	"github.com/svahub/svahub/internal/svahub"
)

// oldSchema returns a new database of dialect migrated up to version
// only (an older svahub's schema), with a raw connection to it, its goose
// provider and a function rebinding ? placeholders for the dialect.
func oldSchema(t *testing.T, dialect string, version int64) (string, *sql.DB, *goose.Provider, func(string) string) {
	t.Helper()
	ctx := context.Background()
	dsn := storetest.DSN(t, dialect)
	raw, err := store.OpenRaw(ctx, dialect, dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = raw.Close() })
	gd := goose.DialectPostgres
	if dialect == store.DialectSQLite {
		gd = goose.DialectSQLite3
	}
	prov, err := goose.NewProvider(gd, raw, os.DirFS("migrations/"+dialect), goose.WithDisableGlobalRegistry(true))
	require.NoError(t, err)
	_, err = prov.UpTo(ctx, version)
	require.NoError(t, err)
	q := func(s string) string {
		if dialect != store.DialectPostgres {
			return s
		}
		return rebindTest(s)
	}
	return dsn, raw, prov, q
}

// TestMigrationEndsCancelledServices upgrades a database of the version
// before issue 12, where a cancelled service kept live subscriptions:
// migration 00009 cancels them as of the service's last change (billing
// stops), and leaves the live services alone.
func TestMigrationEndsCancelledServices(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		dsn, raw, _, q := oldSchema(t, dialect, 7)
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
		db, err := store.Open(ctx, dialect, dsn, store.Options{Sealer: box, Adapters: storetest.Adapters()})
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

// TestMigrationGenericParams upgrades a database of the version before
// issue 16, where an integration had Qualifica's columns (client_id,
// client_secret_sealed, base_url): migration 00012 moves them into the
// generic parameter set unchanged, so the integration answers the same
// parametros and its adapter gets the same credentials (the sealed secret
// is copied as it is, no key needed). Rolling it back restores the columns.
func TestMigrationGenericParams(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		dsn, raw, prov, q := oldSchema(t, dialect, 11)
		box, err := secret.NewBox(storetest.Key)
		require.NoError(t, err)
		sealed, err := box.Seal("segredo-antigo")
		require.NoError(t, err)
		now := time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)
		_, err = raw.ExecContext(ctx, q(`INSERT INTO integrations (id, description, platform, client_id, client_secret_sealed, base_url, username_policy, created_at, updated_at)
			VALUES (1, 'Q', 'qualifica', 'cid-antigo', ?, 'https://api.qualifica.example', 'cpf_cnpj', ?, ?)`), sealed, now, now)
		require.NoError(t, err)

		db, err := store.Open(ctx, dialect, dsn, store.Options{Sealer: box, Adapters: storetest.Adapters()})
		require.NoError(t, err)
		defer db.Close()
		require.NoError(t, db.Migrate(ctx))
		integ, err := db.FindIntegrationByID(ctx, 1)
		require.NoError(t, err)
		require.Equal(t, map[string]string{"client_id": "cid-antigo", "url_base": "https://api.qualifica.example"}, integ.Params.Values)
		require.Equal(t, map[string]bool{"client_secret": true}, integ.Params.Defined)
		require.Equal(t, svahub.UsernamePolicy("cpf_cnpj"), integ.Params.Username)
		creds, err := db.Credentials(ctx, 1)
		require.NoError(t, err)
		require.Equal(t, map[string]string{"client_id": "cid-antigo", "client_secret": "segredo-antigo", "url_base": "https://api.qualifica.example"}, creds.Params)
		require.NoError(t, db.CheckSealKeys(ctx))

		_, err = prov.DownTo(ctx, 11)
		require.NoError(t, err)
		var cid, back, base string
		require.NoError(t, raw.QueryRowContext(ctx, `SELECT client_id, client_secret_sealed, base_url FROM integrations WHERE id = 1`).Scan(&cid, &back, &base))
		require.Equal(t, []string{"cid-antigo", sealed, "https://api.qualifica.example"}, []string{cid, back, base})
	})
}
