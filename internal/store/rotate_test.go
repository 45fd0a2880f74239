package store_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/secret"
	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/internal/svahub"
)

func TestRotateSecrets(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		dsn := storetest.DSN(t, dialect)
		oldKey, newKey := []byte("0123456789abcdef0123456789abcdef"), []byte("fedcba9876543210fedcba9876543210")
		open := func(key []byte, prev ...[]byte) *store.DB {
			box, err := secret.NewBox(key, prev...)
			require.NoError(t, err)
			db, err := store.Open(ctx, dialect, dsn, store.Options{Sealer: box, Adapters: storetest.Adapters(), Logger: slog.New(slog.DiscardHandler)})
			require.NoError(t, err)
			t.Cleanup(func() { _ = db.Close() })
			require.NoError(t, db.Migrate(ctx))
			return db
		}
		db := open(oldKey)
		integ, err := db.CreateIntegration(ctx, svahub.IntegrationInput{Description: "Q", Platform: "qualifica",
			Params: svahub.IntegrationParamInput{Values: map[string]string{"client_id": "cid", "client_secret": "segredo-antigo"}}})
		require.NoError(t, err)
		require.NoError(t, db.SaveToken(ctx, integ.ID, 1, "token-xyz", db.Gorm().NowFunc(), svahub.TokenValid, ""))
		pw := "senha-do-cliente"
		_, _, err = db.UpsertService(ctx, 42, svahub.ServiceInput{Login: "l", Password: &pw, Status: "servico_habilitado",
			Customer: svahub.CustomerInput{ID: 1, Name: "Maria"}})
		require.NoError(t, err)

		require.NoError(t, db.CheckSealKeys(ctx))
		// A process with only the new key cannot open them: not ready.
		require.ErrorIs(t, open(newKey).CheckSealKeys(ctx), secret.ErrUnknownKey)

		// During rotation a server with both keys reads everything.
		both := open(newKey, oldKey)
		require.NoError(t, both.CheckSealKeys(ctx))
		n, err := both.RotateSecrets(ctx)
		require.NoError(t, err)
		require.Equal(t, 3, n)
		n, err = both.RotateSecrets(ctx)
		require.NoError(t, err)
		require.Zero(t, n, "idempotent")

		// After it, the new key alone opens every secret.
		fresh := open(newKey)
		require.NoError(t, fresh.CheckSealKeys(ctx))
		require.ErrorIs(t, open(oldKey).CheckSealKeys(ctx), secret.ErrUnknownKey, "the old key alone no longer opens them")
		creds, err := fresh.Credentials(ctx, integ.ID)
		require.NoError(t, err)
		require.Equal(t, "segredo-antigo", creds.Params["client_secret"])
		require.Equal(t, "token-xyz", creds.AccessToken)
		var sealed string
		require.NoError(t, fresh.SQL().QueryRowContext(ctx, "SELECT password_sealed FROM services WHERE id = 42").Scan(&sealed))
		require.Contains(t, sealed, secret.KeyID(newKey))
		require.NotContains(t, sealed, pw)
	})
}
