package httpapi_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAttachActivatesOnPlatform(t *testing.T) {
	t.Parallel()
	eachPlatform(t, func(t *testing.T, dialect string, pc platformCase) {
		e := newHarness(t, dialect, withPlatform(pc, simOptions{}))
		_, pkg := e.catalogue(map[string]any{"suspender_inadimplencia": true}, nil, "29.90", "pro")
		r := e.putService(5001, nil)
		require.Equal(t, 201, r.Status, "%s", r.Body)
		require.NotContains(t, string(r.Body), "senha5001")

		r = e.do("POST", "/api/v1/servicos/5001/pacotes", map[string]any{"id_pacote": pkg})
		require.Equal(t, 201, r.Status, "%s", r.Body)
		sub := idOf(r.JSON(t), "id_assinatura")
		got := e.waitStatus(sub, "ativo")
		require.Equal(t, "29.90", got["valor"])
		acc := got["acessos"].([]any)[0].(map[string]any)
		require.Equal(t, "login5001", acc["usuario_plataforma"])
		require.Equal(t, "ativo", acc["estado_plataforma"])

		u, ok := e.plat.User("login5001")
		require.True(t, ok)
		require.Equal(t, "senha5001", u.Password)
		require.Equal(t, 1, u.CreateCalls)
		e.waitSimPlan("login5001", "pro", "ativo")

		// Debt suspension with the key on suspends, enabling reactivates.
		r = e.do("PUT", "/api/v1/servicos/5001/status", map[string]any{"status_prefixo": "suspenso_debito"})
		require.Equal(t, 200, r.Status, "%s", r.Body)
		e.waitSimPlan("login5001", "pro", "suspenso")
		e.waitStatus(sub, "suspenso")
		r = e.do("PUT", "/api/v1/servicos/5001/status", map[string]any{"status_prefixo": "servico_habilitado"})
		require.Equal(t, 200, r.Status, "%s", r.Body)
		e.waitSimPlan("login5001", "pro", "ativo")
		e.waitStatus(sub, "ativo")

		// Cancel.
		r = e.do("DELETE", path("/api/v1/servicos/5001/pacotes/%d", sub), nil)
		require.Equal(t, 204, r.Status, "%s", r.Body)
		e.waitSimPlan("login5001", "pro", "cancelado")
		e.waitStatus(sub, "cancelado")
		u, _ = e.plat.User("login5001")
		require.Equal(t, 1, u.CreateCalls)
	})
}
