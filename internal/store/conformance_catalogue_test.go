package store_test

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/svahub"
)

func confCatalogue() []confCase {
	return append(confIntegrations(), append(confProducts(), append(confPackages(), confPlans()...)...)...)
}

func confIntegrations() []confCase {
	return []confCase{
		{"Integrations/CreateIntegration", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			integ := e.integration()
			require.NotZero(t, integ.ID)
			require.Equal(t, "qualifica", integ.Platform)
			require.True(t, integ.Active)
			require.True(t, integ.Params.Defined["client_secret"])
			require.Equal(t, svahub.TokenPending, integ.Token.Status)
			_, err := e.db.CreateIntegration(e.ctx, svahub.IntegrationInput{Platform: "qualifica"})
			code(t, svahub.EINVALID, err)
		}},
		{"Integrations/CreateIntegration/generated secret shown once, sealed", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			integ, err := e.db.CreateIntegration(e.ctx, svahub.IntegrationInput{Description: "W", Platform: "webhook",
				Params: svahub.IntegrationParamInput{Values: map[string]string{"url": "https://r.example/"}}})
			require.NoError(t, err)
			gen := integ.Params.Revealed["segredo"]
			require.True(t, strings.HasPrefix(gen, "whsec_"), gen)
			require.Equal(t, map[string]string{"url": "https://r.example/"}, integ.Params.Values, "called as given")
			require.True(t, integ.Params.Defined["segredo"])
			var sealed string
			e.scalar("SELECT value_sealed FROM integration_secrets WHERE integration_id = ? AND name = 'segredo'", &sealed, integ.ID)
			require.NotContains(t, sealed, strings.TrimPrefix(gen, "whsec_"))
			c, err := e.db.Credentials(e.ctx, integ.ID)
			require.NoError(t, err)
			require.Equal(t, gen, c.Params["segredo"])
			again, err := e.db.FindIntegrationByID(e.ctx, integ.ID)
			require.NoError(t, err)
			require.Empty(t, again.Params.Revealed, "shown once: only the create answer has it")
		}},
		{"Integrations/Adapters", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			require.ElementsMatch(t, []string{"qualifica", "webhook"}, slices.Collect(maps.Keys(e.db.Adapters())))
		}},
		{"Integrations/FindIntegrationByID", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			integ := e.integration()
			got, err := e.db.FindIntegrationByID(e.ctx, integ.ID)
			require.NoError(t, err)
			require.Equal(t, integ.Description, got.Description)
			_, err = e.db.FindIntegrationByID(e.ctx, integ.ID+100)
			code(t, svahub.ENOTFOUND, err)
		}},
		{"Integrations/FindIntegrations", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			e.integration()
			e.integration()
			e.integration()
			page, total, err := e.db.FindIntegrations(e.ctx, svahub.IntegrationFilter{Page: svahub.Page{Number: 1, Size: 2}})
			require.NoError(t, err)
			require.Equal(t, 3, total)
			require.Len(t, page, 1)
		}},
		{"Integrations/UpdateIntegration", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			integ := e.integration()
			desc, off := "Nova", false
			got, err := e.db.UpdateIntegration(e.ctx, integ.ID, svahub.IntegrationUpdate{Description: &desc, Active: &off})
			require.NoError(t, err)
			require.Equal(t, "Nova", got.Description)
			require.False(t, got.Active)
			_, err = e.db.UpdateIntegration(e.ctx, integ.ID+100, svahub.IntegrationUpdate{Description: &desc})
			code(t, svahub.ENOTFOUND, err)
		}},
		{"Integrations/UpdateIntegration/platform change starts the parameters afresh", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			integ := e.integration()
			wh := "webhook"
			got, err := e.db.UpdateIntegration(e.ctx, integ.ID, svahub.IntegrationUpdate{Platform: &wh,
				Params: &svahub.IntegrationParamsUpdate{Values: map[string]string{"url": "https://r.example"}}})
			require.NoError(t, err)
			require.Equal(t, map[string]string{"url": "https://r.example"}, got.Params.Values)
			require.Equal(t, map[string]bool{"segredo": true}, got.Params.Defined, "the Qualifica secret is gone")
			require.NotEmpty(t, got.Params.Revealed["segredo"], "generated: shown in this answer")
			require.Equal(t, svahub.TokenPending, got.Token.Status)
			var n int64
			e.scalar("SELECT COUNT(*) FROM integration_secrets WHERE integration_id = ?", &n, integ.ID)
			require.EqualValues(t, 1, n)
			c, err := e.db.Credentials(e.ctx, integ.ID)
			require.NoError(t, err)
			require.Equal(t, map[string]string{"url": "https://r.example", "segredo": got.Params.Revealed["segredo"]}, c.Params)
			url := "https://other.example"
			_, err = e.db.UpdateIntegration(e.ctx, integ.ID, svahub.IntegrationUpdate{Params: &svahub.IntegrationParamsUpdate{Values: map[string]string{"url": url}}})
			code(t, svahub.EINVALID, err) // a moved address needs the secret again
		}},
		{"Integrations/DeleteIntegration", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			integ, pkg := e.catalogue()
			code(t, svahub.ECONFLICT, e.db.DeleteIntegration(e.ctx, integ.ID))
			require.NoError(t, e.db.DeletePackage(e.ctx, pkg.ID))
			require.NoError(t, e.db.DeleteIntegration(e.ctx, integ.ID))
			_, err := e.db.FindIntegrationByID(e.ctx, integ.ID)
			code(t, svahub.ENOTFOUND, err)
			code(t, svahub.ENOTFOUND, e.db.DeleteIntegration(e.ctx, integ.ID))
		}},
		{"Integrations/Credentials", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			integ := e.integration()
			c, err := e.db.Credentials(e.ctx, integ.ID)
			require.NoError(t, err)
			require.Equal(t, "s3cr3t", c.Params["client_secret"], "the secret is opened")
			require.Equal(t, "cid", c.Params["client_id"])
			require.True(t, c.Active)
			var sealed string
			e.scalar("SELECT value_sealed FROM integration_secrets WHERE integration_id = ? AND name = 'client_secret'", &sealed, integ.ID)
			require.NotContains(t, sealed, "s3cr3t")
			_, err = e.db.Credentials(e.ctx, integ.ID+100)
			code(t, svahub.ENOTFOUND, err)
		}},
		{"Integrations/SaveToken", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			integ := e.integration()
			c, err := e.db.Credentials(e.ctx, integ.ID)
			require.NoError(t, err)
			exp := e.clock.Now().Add(time.Hour)
			require.NoError(t, e.db.SaveToken(e.ctx, integ.ID, c.Version, "tok", exp, svahub.TokenValid, ""))
			c, err = e.db.Credentials(e.ctx, integ.ID)
			require.NoError(t, err)
			require.Equal(t, "tok", c.AccessToken)
			require.True(t, exp.Equal(c.TokenExpiresAt))
			got, err := e.db.FindIntegrationByID(e.ctx, integ.ID)
			require.NoError(t, err)
			require.Equal(t, svahub.TokenValid, got.Token.Status)
			// A token asked with older credentials is dropped.
			require.NoError(t, e.db.SaveToken(e.ctx, integ.ID, c.Version-1, "old", exp, svahub.TokenError, "x"))
			c, err = e.db.Credentials(e.ctx, integ.ID)
			require.NoError(t, err)
			require.Equal(t, "tok", c.AccessToken)
		}},
	}
}

func confProducts() []confCase {
	return []confCase{
		{"Products/CreateProduct", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			integ := e.integration()
			p := e.product(integ.ID, "pro")
			require.Equal(t, "pro", p.Code)
			require.False(t, p.Verified)
			_, err := e.db.CreateProduct(e.ctx, integ.ID, svahub.ProductInput{Description: "Outro", Code: "pro"})
			code(t, svahub.ECONFLICT, err)
			_, err = e.db.CreateProduct(e.ctx, integ.ID+100, svahub.ProductInput{Description: "X", Code: "x"})
			code(t, svahub.ENOTFOUND, err)
			_, err = e.db.CreateProduct(e.ctx, integ.ID, svahub.ProductInput{Code: "y"})
			code(t, svahub.EINVALID, err)
		}},
		{"Products/CreateVerifiedProduct", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			integ := e.integration()
			p, err := e.db.CreateVerifiedProduct(e.ctx, integ.ID, svahub.ProductInput{Description: "Pro", Code: "pro"}, true)
			require.NoError(t, err)
			require.True(t, p.Verified)
			_, err = e.db.CreateVerifiedProduct(e.ctx, integ.ID, svahub.ProductInput{Description: "Pro", Code: "pro"}, true)
			code(t, svahub.ECONFLICT, err)
		}},
		{"Products/FindProductByID", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			p := e.product(e.integration().ID, "pro")
			got, err := e.db.FindProductByID(e.ctx, p.ID)
			require.NoError(t, err)
			require.Equal(t, p.Code, got.Code)
			_, err = e.db.FindProductByID(e.ctx, p.ID+100)
			code(t, svahub.ENOTFOUND, err)
		}},
		{"Products/FindProducts", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			a, b := e.integration(), e.integration()
			e.product(a.ID, "a1")
			e.product(a.ID, "a2")
			e.product(b.ID, "b1")
			got, total, err := e.db.FindProducts(e.ctx, svahub.ProductFilter{IntegrationID: a.ID, Page: svahub.Page{Size: 10}})
			require.NoError(t, err)
			require.Equal(t, 2, total)
			require.Len(t, got, 2)
		}},
		{"Products/UpdateProduct", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			integ := e.integration()
			p, err := e.db.CreateVerifiedProduct(e.ctx, integ.ID, svahub.ProductInput{Description: "Pro", Code: "pro"}, true)
			require.NoError(t, err)
			e.product(integ.ID, "max")
			got, err := e.db.UpdateProduct(e.ctx, p.ID, svahub.ProductInput{Description: "Pro+", Code: "pro2"})
			require.NoError(t, err)
			require.Equal(t, "pro2", got.Code)
			require.False(t, got.Verified, "a new code is not verified")
			_, err = e.db.UpdateProduct(e.ctx, p.ID, svahub.ProductInput{Description: "Pro", Code: "max"})
			code(t, svahub.ECONFLICT, err)
			_, err = e.db.UpdateProduct(e.ctx, p.ID+100, svahub.ProductInput{Description: "Pro", Code: "z"})
			code(t, svahub.ENOTFOUND, err)
		}},
		{"Products/UpdateVerifiedProduct", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			p := e.product(e.integration().ID, "pro")
			got, err := e.db.UpdateVerifiedProduct(e.ctx, p.ID, svahub.ProductInput{Description: "Pro", Code: "pro3"}, true)
			require.NoError(t, err)
			require.True(t, got.Verified)
			require.Equal(t, "pro3", got.Code)
			_, err = e.db.UpdateVerifiedProduct(e.ctx, p.ID+100, svahub.ProductInput{Description: "Pro", Code: "z"}, true)
			code(t, svahub.ENOTFOUND, err)
		}},
		{"Products/SetProductsVerified", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			integ := e.integration()
			a, b := e.product(integ.ID, "a"), e.product(integ.ID, "b")
			require.NoError(t, e.db.SetProductsVerified(e.ctx, integ.ID, map[string]bool{"a": true}))
			ga, err := e.db.FindProductByID(e.ctx, a.ID)
			require.NoError(t, err)
			gb, err := e.db.FindProductByID(e.ctx, b.ID)
			require.NoError(t, err)
			require.True(t, ga.Verified)
			require.False(t, gb.Verified)
		}},
		{"Products/DeleteProduct", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			integ := e.integration()
			used, free := e.product(integ.ID, "used"), e.product(integ.ID, "free")
			e.pkg(integ.ID, "1.00", used.ID)
			code(t, svahub.ECONFLICT, e.db.DeleteProduct(e.ctx, used.ID))
			require.NoError(t, e.db.DeleteProduct(e.ctx, free.ID))
			code(t, svahub.ENOTFOUND, e.db.DeleteProduct(e.ctx, free.ID))
		}},
	}
}

func confPackages() []confCase {
	return []confCase{
		{"Packages/CreatePackage", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			integ := e.integration()
			p := e.product(integ.ID, "pro")
			pkg := e.pkg(integ.ID, "29.90", p.ID)
			require.Equal(t, "29.90", pkg.Value.String())
			require.True(t, pkg.Active)
			require.Len(t, pkg.Products, 1)
			_, err := e.db.CreatePackage(e.ctx, svahub.PackageInput{Description: "X", Value: "abc", IntegrationID: integ.ID, Products: []int64{p.ID}})
			code(t, svahub.EINVALID, err)
			other := e.integration()
			_, err = e.db.CreatePackage(e.ctx, svahub.PackageInput{Description: "X", Value: "1.00", IntegrationID: other.ID, Products: []int64{p.ID}})
			require.Error(t, err, "a product of another integration is refused")
		}},
		{"Packages/FindPackageByID", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			_, pkg := e.catalogue()
			got, err := e.db.FindPackageByID(e.ctx, pkg.ID)
			require.NoError(t, err)
			require.Equal(t, pkg.Value, got.Value)
			require.Len(t, got.Products, 1)
			_, err = e.db.FindPackageByID(e.ctx, pkg.ID+100)
			code(t, svahub.ENOTFOUND, err)
		}},
		{"Packages/FindPackages", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			integ, pkg := e.catalogue()
			e.catalogue()
			off := false
			_, err := e.db.UpdatePackage(e.ctx, pkg.ID, svahub.PackageUpdate{Active: &off})
			require.NoError(t, err)
			all, total, err := e.db.FindPackages(e.ctx, svahub.PackageFilter{Page: svahub.Page{Size: 10}})
			require.NoError(t, err)
			require.Equal(t, 2, total)
			require.Len(t, all, 2)
			mine, total, err := e.db.FindPackages(e.ctx, svahub.PackageFilter{IntegrationID: &integ.ID, Active: &off, Page: svahub.Page{Size: 10}})
			require.NoError(t, err)
			require.Equal(t, 1, total)
			require.Equal(t, pkg.ID, mine[0].ID)
		}},
		{"Packages/UpdatePackage", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			_, pkg := e.catalogue()
			v := "39.90"
			got, err := e.db.UpdatePackage(e.ctx, pkg.ID, svahub.PackageUpdate{Value: &v})
			require.NoError(t, err)
			require.Equal(t, "39.90", got.Value.String())
			require.Equal(t, pkg.Description, got.Description, "omitted fields are kept")
			_, err = e.db.UpdatePackage(e.ctx, pkg.ID+100, svahub.PackageUpdate{Value: &v})
			code(t, svahub.ENOTFOUND, err)
			bad := "x"
			_, err = e.db.UpdatePackage(e.ctx, pkg.ID, svahub.PackageUpdate{Value: &bad})
			code(t, svahub.EINVALID, err)
		}},
		{"Packages/DeletePackage", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			_, pkg := e.catalogue()
			_, used := e.catalogue()
			e.subscription(401, used.ID, "")
			code(t, svahub.ECONFLICT, e.db.DeletePackage(e.ctx, used.ID))
			require.NoError(t, e.db.DeletePackage(e.ctx, pkg.ID))
			code(t, svahub.ENOTFOUND, e.db.DeletePackage(e.ctx, pkg.ID))
		}},
	}
}

func confPlans() []confCase {
	desc := func(s string) *string { return &s }
	return []confCase{
		{"Combos/UpsertCombo", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			_, pkg := e.catalogue()
			plan, created, err := e.db.UpsertCombo(e.ctx, 77, svahub.ComboUpdate{Description: desc("Combo"), Packages: []int64{pkg.ID}})
			require.NoError(t, err)
			require.True(t, created)
			require.Len(t, plan.Packages, 1)
			plan, created, err = e.db.UpsertCombo(e.ctx, 77, svahub.ComboUpdate{Description: desc("Combo 2")})
			require.NoError(t, err)
			require.False(t, created)
			require.Equal(t, "Combo 2", plan.Description)
			require.Len(t, plan.Packages, 1, "omitted pacotes are kept")
			_, _, err = e.db.UpsertCombo(e.ctx, 78, svahub.ComboUpdate{Description: desc("X"), Packages: []int64{pkg.ID + 100}})
			require.Error(t, err, "an unknown pacote is refused")
		}},
		{"Combos/FindComboByID", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			_, _, err := e.db.UpsertCombo(e.ctx, 81, svahub.ComboUpdate{Description: desc("Combo")})
			require.NoError(t, err)
			got, err := e.db.FindComboByID(e.ctx, 81)
			require.NoError(t, err)
			require.Equal(t, "Combo", got.Description)
			_, err = e.db.FindComboByID(e.ctx, 82)
			code(t, svahub.ENOTFOUND, err)
		}},
		{"Combos/FindCombos", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			for id := int64(91); id <= 93; id++ {
				_, _, err := e.db.UpsertCombo(e.ctx, id, svahub.ComboUpdate{Description: desc("Combo")})
				require.NoError(t, err)
			}
			got, total, err := e.db.FindCombos(e.ctx, svahub.ComboFilter{Page: svahub.Page{Size: 2}})
			require.NoError(t, err)
			require.Equal(t, 3, total)
			require.Len(t, got, 2)
		}},
		{"Combos/DeleteCombo", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			_, _, err := e.db.UpsertCombo(e.ctx, 95, svahub.ComboUpdate{Description: desc("Combo")})
			require.NoError(t, err)
			require.NoError(t, e.db.DeleteCombo(e.ctx, 95))
			code(t, svahub.ENOTFOUND, e.db.DeleteCombo(e.ctx, 95))
		}},
	}
}
