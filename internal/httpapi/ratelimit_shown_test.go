package httpapi_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/app"
	"github.com/svahub/svahub/internal/store/storetest"
)

// TestRateLimitShownIsEffective checks that an integration without a limit
// of its own shows the rate svahub applies to it (SVAHUB_PLATFORM_RATE_LIMIT),
// not 0, on every answer, and that a PUT of other fields keeps following
// the server's default.
func TestRateLimitShownIsEffective(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect, withTune(func(o *app.Options) { o.PlatformRateLimit = 7.5 }))
		rate := func(m map[string]any) any { return m["parametros"].(map[string]any)["limite_requisicoes_por_segundo"] }

		def := e.createIntegration(map[string]any{}, nil)
		require.EqualValues(t, 7.5, rate(def), "create")
		own := e.createIntegration(map[string]any{"limite_requisicoes_por_segundo": 2.5}, nil)
		require.EqualValues(t, 2.5, rate(own))

		r := e.do("GET", path("/api/v1/integracoes/%d", idOf(def, "id_integracao")), nil)
		require.Equal(t, 200, r.Status)
		require.EqualValues(t, 7.5, rate(r.JSON(t)), "get")
		r = e.do("GET", "/api/v1/integracoes", nil)
		require.Equal(t, 200, r.Status)
		items := r.JSON(t)["itens"].([]any)
		require.Len(t, items, 2)
		require.EqualValues(t, 7.5, rate(items[0].(map[string]any)), "list")
		require.EqualValues(t, 2.5, rate(items[1].(map[string]any)), "list")

		r = e.do("PUT", path("/api/v1/integracoes/%d", idOf(def, "id_integracao")), map[string]any{"descricao": "renomeada"})
		require.Equal(t, 200, r.Status, "%s", r.Body)
		require.EqualValues(t, 7.5, rate(r.JSON(t)), "put")
		var stored float64
		require.NoError(t, e.db.Gorm().Raw("SELECT rate_limit_rps FROM integrations WHERE id = ?", idOf(def, "id_integracao")).Scan(&stored).Error)
		require.Zero(t, stored, "the integration still follows the server's default")
	})
}
