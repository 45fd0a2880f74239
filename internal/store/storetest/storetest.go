// Package storetest opens throw-away svahub databases for tests: a fresh
// SQLite file always, and a fresh PostgreSQL schema when
// SVAHUB_TEST_DATABASE_URL is set. Suites call Each to run once per dialect.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/platform/qualifica"
	"github.com/svahub/svahub/internal/platform/webhook"
	"github.com/svahub/svahub/internal/secret"
	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/svahub"
)

// EnvDatabaseURL names the variable holding the PostgreSQL test server URL.
const EnvDatabaseURL = "SVAHUB_TEST_DATABASE_URL"

// Key is the fixed secret key of test databases (base64 of 32 bytes).
var Key = []byte("0123456789abcdef0123456789abcdef")

// Dialects returns the dialects to test: sqlite always, postgres when
// SVAHUB_TEST_DATABASE_URL is set.
func Dialects() []string {
	if os.Getenv(EnvDatabaseURL) != "" {
		return []string{store.DialectSQLite, store.DialectPostgres}
	}
	return []string{store.DialectSQLite}
}

// Each runs fn as a parallel subtest per dialect. When PostgreSQL is not
// configured it says so visibly with a skipped subtest.
func Each(t *testing.T, fn func(t *testing.T, dialect string)) {
	t.Helper()
	for _, d := range []string{store.DialectSQLite, store.DialectPostgres} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			if d == store.DialectPostgres && os.Getenv(EnvDatabaseURL) == "" {
				t.Skipf("PostgreSQL suite skipped: set %s to run it", EnvDatabaseURL)
			}
			fn(t, d)
		})
	}
}

// Options tune Open.
type Options struct {
	// Adapters declares the platforms; default: Qualifica and webhook.
	Adapters svahub.Registry
	Now      func() time.Time
	Location *time.Location
	Logger   *slog.Logger
}

// DSN returns a data source for a new, empty database of dialect: a file in
// t.TempDir for SQLite; a new schema (dropped at cleanup) for PostgreSQL.
func DSN(t testing.TB, dialect string) string {
	t.Helper()
	if dialect == store.DialectSQLite {
		return filepath.Join(t.TempDir(), "svahub.db")
	}
	base := os.Getenv(EnvDatabaseURL)
	require.NotEmpty(t, base, "%s is not set", EnvDatabaseURL)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	ctx := context.Background()
	admin, err := store.OpenRaw(ctx, store.DialectPostgres, base)
	require.NoError(t, err)
	_, err = admin.ExecContext(ctx, "CREATE SCHEMA "+schema)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		_ = admin.Close()
	})
	u, err := url.Parse(base)
	require.NoError(t, err)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Adapters returns the declarations of the platforms svahub ships
// (Qualifica with no default address, and webhook), as a store needs
// them to write integrations.
func Adapters() svahub.Registry {
	return svahub.Registry{qualifica.Name: qualifica.Declaration(""), webhook.Name: webhook.Declaration()}
}

// Open returns a migrated, empty database of dialect, closed at cleanup.
func Open(t testing.TB, dialect string, opts ...Options) *store.DB {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Adapters == nil {
		o.Adapters = Adapters()
	}
	box, err := secret.NewBox(Key)
	require.NoError(t, err)
	ctx := context.Background()
	db, err := store.Open(ctx, dialect, DSN(t, dialect), store.Options{Sealer: box, Adapters: o.Adapters, Now: o.Now, Location: o.Location, Logger: o.Logger, MaxOpenConns: 10})
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	require.NoError(t, db.Migrate(ctx))
	return db
}
