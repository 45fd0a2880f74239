package platform_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/platform"
	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/internal/svahub"
)

// fake is a platform without token or catalogue that can be tested
// (svahub.Tester); Token and Catalogue fail the test if called.
type fake struct {
	svahub.Platform
	t       *testing.T
	tokens  []string
	tests   atomic.Int32
	testErr error
}

func (f *fake) Token(context.Context) (svahub.PlatformToken, error) {
	f.t.Error("Token called on a platform without token")
	return svahub.PlatformToken{}, nil
}

func (f *fake) Catalogue(context.Context, string) ([]svahub.CatalogueItem, error) {
	f.t.Error("Catalogue called on a platform without catalogue")
	return nil, nil
}

func (f *fake) Cancel(_ context.Context, token, _, _ string) error {
	f.tokens = append(f.tokens, token)
	return nil
}

func (f *fake) Test(context.Context) error {
	f.tests.Add(1)
	return f.testErr
}

// TestCapabilitiesWithoutTokenOrCatalogue: the engine asks the adapter.
// A platform declared without token and catalogue gets the empty token
// (no Token call, no token row), free-text unverified product codes, a 422
// on sincronizar, and `testar` runs its Tester into the token block.
func TestCapabilitiesWithoutTokenOrCatalogue(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		f := &fake{t: t}
		caps := svahub.Capabilities{}
		reg := svahub.Registry{"fake": {Name: "fake", Capabilities: caps,
			Params: []svahub.ParamSpec{{Name: "client_id"}, {Name: "client_secret", Secret: true}},
			New:    func(svahub.PlatformConfig) (svahub.Platform, error) { return f, nil }}}
		db := storetest.Open(t, dialect, storetest.Options{Adapters: reg})
		ctx := context.Background()
		m := platform.NewManager(db, platform.Options{QuickRetries: -1, Registry: reg})
		secret := "s"
		integ, err := db.CreateIntegration(ctx, svahub.IntegrationInput{Description: "x", Platform: "fake",
			Params: svahub.IntegrationParamInput{Values: map[string]string{"client_id": "c", "client_secret": secret}}})
		require.NoError(t, err)
		id := integ.ID

		got, err := m.Capabilities(ctx, id)
		require.NoError(t, err)
		require.Equal(t, caps, got)
		_, err = m.Capabilities(ctx, id+100)
		require.Equal(t, svahub.ENOTFOUND, svahub.ErrorCode(err))

		require.NoError(t, m.Call(ctx, id, svahub.OpCancel, platform.Ref{}, func(ctx context.Context, p svahub.Platform, token string) error {
			return p.Cancel(ctx, token, "u", "pro")
		}))
		require.Equal(t, []string{""}, f.tokens)

		c := platform.NewCatalogue(db, m)
		p, err := c.CreateProduct(ctx, id, svahub.ProductInput{Description: "Curso", Code: " Curso de Excel 2.0 (avançado) "})
		require.NoError(t, err)
		require.Equal(t, "Curso de Excel 2.0 (avançado)", p.Code)
		require.False(t, p.Verified)
		p, err = c.UpdateProduct(ctx, p.ID, svahub.ProductInput{Description: "Curso", Code: "pro.1"})
		require.NoError(t, err)
		require.False(t, p.Verified)
		for _, bad := range []string{"", "a\tb", string(make([]byte, 101))} {
			_, err = c.CreateProduct(ctx, id, svahub.ProductInput{Description: "Curso", Code: bad})
			require.Equal(t, svahub.EINVALID, svahub.ErrorCode(err), "%q", bad)
		}

		_, err = c.SyncProducts(ctx, id)
		require.Equal(t, svahub.EINVALID, svahub.ErrorCode(err))
		require.Equal(t, "a plataforma não tem catálogo", svahub.ErrorMessage(err))

		info, err := c.TestIntegration(ctx, id)
		require.NoError(t, err)
		require.Equal(t, svahub.TokenValid, info.Status)
		require.Nil(t, info.ExpiresAt)
		require.EqualValues(t, 1, f.tests.Load())

		f.testErr = &svahub.PlatformError{Kind: svahub.PlatformPermanent, Status: 401, Message: "assinatura inválida"}
		info, err = c.TestIntegration(ctx, id)
		require.NoError(t, err)
		require.Equal(t, svahub.TokenError, info.Status)
		require.Equal(t, "assinatura inválida", info.Message)
		stored, err := db.FindIntegrationByID(ctx, id)
		require.NoError(t, err)
		require.Equal(t, svahub.TokenError, stored.Token.Status)
	})
}
