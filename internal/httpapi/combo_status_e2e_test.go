package httpapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestComboAndStatusInOnePut moves a service, in one PUT
// /servicos, to a combo whose package shares the platform plan of a kept
// avulso subscription and to suspenso_pedido_cliente: the shared plan
// changes once (one new version: suspended, to the combo's later expiry),
// not first to an intermediate ativo aggregate and then again.
func TestComboAndStatusInOnePut(t *testing.T) {
	t.Parallel()
	eachPlatform(t, func(t *testing.T, dialect string, pc platformCase) {
		e := newHarness(t, dialect, withPlatform(pc, simOptions{}))
		integ := e.addIntegration("login_autenticacao", false)
		pro := e.addProduct(integ, "pro")
		avulso, combo := e.addPackage(integ, "9.90", pro), e.addPackage(integ, "19.90", pro)
		e.putPlan(30, combo)
		r := e.putService(6001, nil)
		require.Equal(t, 201, r.Status, "%s", r.Body)
		e.attach(6001, avulso, time.Now().AddDate(0, 1, 0).Format(time.DateOnly))
		r = e.putService(6001, map[string]any{"id_servico": 30, "status_prefixo": "suspenso_pedido_cliente"})
		require.Equal(t, 200, r.Status, "%s", r.Body)
		var (
			desired string
			version int64
		)
		require.NoError(t, e.db.SQL().QueryRowContext(context.Background(),
			e.rebind(`SELECT desired_state, version FROM platform_plans WHERE product_code = ?`), "pro").Scan(&desired, &version))
		require.Equal(t, "suspenso", desired)
		require.Equal(t, int64(2), version, "created (v1), then one change for the PUT")
	})
}
