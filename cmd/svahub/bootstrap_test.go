package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/secret"
	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/store/storetest"
)

// openProcess opens dsn as one more svahub process would (its own pool).
func openProcess(t *testing.T, dialect, dsn string) *store.DB {
	t.Helper()
	box, err := secret.NewBox(testKey)
	require.NoError(t, err)
	db, err := store.Open(context.Background(), dialect, dsn, store.Options{Sealer: box, Adapters: storetest.Adapters(), Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// TestBootstrapKeyNotAfterRevocation: revoking every key and restarting
// must not mint a new write key (anyone reading the log would get it).
func TestBootstrapKeyNotAfterRevocation(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		db := openProcess(t, dialect, storetest.DSN(t, dialect))
		require.NoError(t, db.Migrate(ctx))
		var out bytes.Buffer
		require.NoError(t, bootstrapKey(ctx, db, &out))
		require.Contains(t, out.String(), "svh_", "first start on an empty database prints a key")
		keys, err := db.ListAPIKeys(ctx)
		require.NoError(t, err)
		require.Len(t, keys, 1)
		require.NoError(t, db.RevokeAPIKey(ctx, keys[0].ID))

		out.Reset()
		require.NoError(t, bootstrapKey(ctx, db, &out)) // the restart
		require.NotContains(t, out.String(), "svh_")
		keys, err = db.ListAPIKeys(ctx)
		require.NoError(t, err)
		require.Len(t, keys, 1, "no new key after every key was revoked")
	})
}

// TestBootstrapKeyOnceAcrossProcesses: several processes starting together
// on an empty database create exactly one bootstrap key between them.
func TestBootstrapKeyOnceAcrossProcesses(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		dsn := storetest.DSN(t, dialect)
		const n = 6
		dbs := make([]*store.DB, n)
		for i := range dbs {
			dbs[i] = openProcess(t, dialect, dsn)
		}
		require.NoError(t, dbs[0].Migrate(ctx))
		var wg sync.WaitGroup
		outs := make([]bytes.Buffer, n)
		errs := make([]error, n)
		start := make(chan struct{})
		for i := range dbs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = bootstrapKey(ctx, dbs[i], &outs[i])
			}()
		}
		close(start)
		wg.Wait()
		printed := 0
		for i := range dbs {
			require.NoError(t, errs[i])
			if strings.Contains(outs[i].String(), "svh_") {
				printed++
			}
		}
		keys, err := dbs[0].ListAPIKeys(ctx)
		require.NoError(t, err)
		require.Len(t, keys, 1, "exactly one bootstrap key")
		require.Equal(t, 1, printed, "exactly one process prints it")
	})
}
