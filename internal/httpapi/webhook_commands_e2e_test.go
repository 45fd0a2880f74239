package httpapi_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/store/storetest"
)

// TestWebhookCommandsCarrySpecData drives one service through the API
// (create, suspend on debt, expiry move while suspended, reactivate,
// cancel) and decodes what the receiver got, member by member, against
// WEBHOOK.md's table: plan commands name the account by the referencia of
// usuario.criar and its usuario; usuario.criar carries HubSoft's
// id_cliente and id_cliente_servico; the moved expiry arrives as
// plano.atualizar_expiracao. Webhook only: it checks that platform's wire
// format (the Qualifica adapter has its own contract tests).
func TestWebhookCommandsCarrySpecData(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect, withPlatform(webhookCase, simOptions{}))
		w := e.plat.(*webhookPlatform)
		_, pkg := e.catalogue(map[string]any{"suspender_inadimplencia": true}, nil, "29.90", "pro")
		require.Equal(t, 201, e.putService(7301, nil).Status)
		sub := idOf(e.attachWith(7301, map[string]any{"id_pacote": pkg}), "id_assinatura")
		e.waitStatus(sub, "ativo")
		e.setStatus(7301, "suspenso_debito")
		e.waitStatus(sub, "suspenso")
		require.Equal(t, 200, e.patchExpiry(sub, "2031-05-31").Status)
		e.waitSimExpiry("login7301", "pro", "suspenso", "2031-05-31")
		e.setStatus(7301, "servico_habilitado")
		e.waitStatus(sub, "ativo")
		require.Equal(t, 204, e.do("DELETE", path("/api/v1/servicos/7301/pacotes/%d", sub), nil).Status)
		e.waitSimPlan("login7301", "pro", "cancelado")

		var ref string
		seen := map[string]map[string]any{}
		for _, r := range w.sim.Received() {
			var data map[string]any
			require.NoError(t, json.Unmarshal(r.Data, &data))
			if r.Type == "usuario.criar" {
				ref, _ = data["referencia"].(string)
				require.NotEmpty(t, ref)
				require.Equal(t, "login7301", data["usuario"])
				require.Equal(t, "senha7301", data["senha"])
				require.EqualValues(t, 100+7301, data["id_cliente"], "putService's id_cliente")
				require.EqualValues(t, 7301, data["id_cliente_servico"])
				require.Equal(t, "52998224725", data["cpf_cnpj"])
			}
			seen[r.Type] = data
		}
		plan := map[string]any{"referencia": ref, "usuario": "login7301", "produto": "pro"}
		with := func(exp string) map[string]any {
			return map[string]any{"referencia": ref, "usuario": "login7301", "produto": "pro", "data_expiracao": exp}
		}
		require.Equal(t, plan, seen["plano.suspender"])
		require.Equal(t, plan, seen["plano.reativar"])
		require.Equal(t, plan, seen["plano.cancelar"])
		require.Equal(t, with("2031-05-31"), seen["plano.atualizar_expiracao"], "the moved expiry")
		require.Contains(t, seen, "plano.ativar")
		require.Equal(t, 1, w.sim.Applied("plano.ativar"), "the expiry move did not re-activate the plan")
	})
}
