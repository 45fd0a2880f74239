package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/internal/svahub"
)

func ptr[T any](v T) *T { return &v }

func TestCatalogue(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		db := storetest.Open(t, dialect)

		pending, err := db.Pending(ctx)
		require.NoError(t, err)
		require.False(t, pending)

		integ, err := db.CreateIntegration(ctx, svahub.IntegrationInput{
			Description: " Qualifica ", Platform: "qualifica",
			Params: svahub.IntegrationParamInput{Values: map[string]string{"client_id": "cid", "client_secret": "s3cr3t"}},
		})
		require.NoError(t, err)
		require.Equal(t, "Qualifica", integ.Description)
		require.True(t, integ.Params.Defined["client_secret"])
		require.Equal(t, svahub.UsernameLogin, integ.Params.Username)
		require.Equal(t, svahub.TokenPending, integ.Token.Status)
		require.True(t, integ.Active)

		var raw string
		require.NoError(t, db.SQL().QueryRowContext(ctx, "SELECT value_sealed FROM integration_secrets").Scan(&raw))
		require.NotContains(t, raw, "s3cr3t")
		creds, err := db.Credentials(ctx, integ.ID)
		require.NoError(t, err)
		require.Equal(t, "s3cr3t", creds.Params["client_secret"])

		p1, err := db.CreateProduct(ctx, integ.ID, svahub.ProductInput{Description: "Pro", Code: "pro"})
		require.NoError(t, err)
		_, err = db.CreateProduct(ctx, integ.ID, svahub.ProductInput{Description: "Pro 2", Code: "pro"})
		require.Equal(t, svahub.ECONFLICT, svahub.ErrorCode(err))

		pkg, err := db.CreatePackage(ctx, svahub.PackageInput{Description: "Pacote", Value: "29.90", IntegrationID: integ.ID, Products: []int64{p1.ID}})
		require.NoError(t, err)
		require.Equal(t, "29.90", pkg.Value.String())
		require.Len(t, pkg.Products, 1)

		plan, created, err := db.UpsertCombo(ctx, 77, svahub.ComboUpdate{Description: ptr("Combo"), Packages: []int64{pkg.ID}})
		require.NoError(t, err)
		require.True(t, created)
		require.Len(t, plan.Packages, 1)
		plan, created, err = db.UpsertCombo(ctx, 77, svahub.ComboUpdate{Description: ptr("Combo 2")})
		require.NoError(t, err)
		require.False(t, created)
		require.Len(t, plan.Packages, 1, "omitted pacotes are kept")
		plan, _, err = db.UpsertCombo(ctx, 77, svahub.ComboUpdate{Packages: []int64{}})
		require.NoError(t, err)
		require.Equal(t, "Combo 2", plan.Description)
		require.Empty(t, plan.Packages)

		require.Equal(t, svahub.ECONFLICT, svahub.ErrorCode(db.DeleteIntegration(ctx, integ.ID)))
		require.Equal(t, svahub.ECONFLICT, svahub.ErrorCode(db.DeleteProduct(ctx, p1.ID)))
		require.NoError(t, db.DeletePackage(ctx, pkg.ID))
		require.NoError(t, db.DeleteIntegration(ctx, integ.ID))
		_, err = db.FindProductByID(ctx, p1.ID)
		require.Equal(t, svahub.ENOTFOUND, svahub.ErrorCode(err))
		require.Equal(t, store.DialectSQLite == dialect, db.Dialect() == store.DialectSQLite)
	})
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		db := storetest.Open(t, dialect)
		k, plain, err := db.CreateAPIKey(ctx, "core", svahub.ScopeWrite)
		require.NoError(t, err)
		got, err := db.AuthenticateAPIKey(ctx, plain)
		require.NoError(t, err)
		require.Equal(t, k.ID, got.ID)
		var hash string
		require.NoError(t, db.SQL().QueryRowContext(ctx, "SELECT hash FROM api_keys").Scan(&hash))
		require.NotContains(t, hash, plain[4:])
		require.NoError(t, db.RevokeAPIKey(ctx, k.ID))
		_, err = db.AuthenticateAPIKey(ctx, plain)
		require.Equal(t, svahub.EUNAUTHORIZED, svahub.ErrorCode(err))
	})
}
