package httpapi_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/pkg/qualifica/qualificasim"
)

// closedURL returns a loopback URL where nothing listens.
func closedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return "http://" + addr
}

func TestIntegrationToken(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect)
		ctx := context.Background()

		integ := e.createIntegration(nil, nil)
		tok := integ["token"].(map[string]any)
		require.Equal(t, "valido", tok["status"], "%v", integ)
		require.NotNil(t, tok["expira_em"])
		id := idOf(integ, "id_integracao")

		// The token is sealed at rest and never returned.
		creds, err := e.db.Credentials(ctx, id)
		require.NoError(t, err)
		require.NotEmpty(t, creds.AccessToken)
		var sealedTok, sealedSecret string
		require.NoError(t, e.db.SQL().QueryRowContext(ctx, "SELECT i.token_sealed, s.value_sealed FROM integrations i JOIN integration_secrets s ON s.integration_id = i.id WHERE i.id = $1", id).Scan(&sealedTok, &sealedSecret))
		require.NotContains(t, sealedTok, creds.AccessToken)
		require.NotContains(t, sealedSecret, qualificasim.DefaultClientSecret)

		// Wrong credentials: saved anyway, token erro with the platform's message.
		bad := e.createIntegration(map[string]any{"client_secret": "errado"}, nil)
		tok = bad["token"].(map[string]any)
		require.Equal(t, "erro", tok["status"])
		require.NotEmpty(t, tok["mensagem"])
		badID := idOf(bad, "id_integracao")
		require.Equal(t, 200, e.do("GET", path("/api/v1/integracoes/%d", badID), nil).Status)

		// Unreachable platform: saved, token erro.
		down := e.createIntegration(map[string]any{"url_base": closedURL(t)}, nil)
		tok = down["token"].(map[string]any)
		require.Equal(t, "erro", tok["status"])
		require.Contains(t, tok["mensagem"], "indisponível")

		// Fixing the secret renews the token at once.
		r := e.do("PUT", path("/api/v1/integracoes/%d", badID), map[string]any{
			"descricao": "Qualifica", "plataforma": "qualifica",
			"parametros": map[string]any{"client_id": qualificasim.DefaultClientID, "client_secret": qualificasim.DefaultClientSecret},
		})
		require.Equal(t, 200, r.Status, "%s", r.Body)
		require.Equal(t, "valido", r.JSON(t)["token"].(map[string]any)["status"])

		// Testar renews on demand.
		before := e.sim.Calls()[qualificasim.OpToken]
		r = e.do("POST", path("/api/v1/integracoes/%d/testar", id), nil)
		require.Equal(t, 200, r.Status, "%s", r.Body)
		require.Equal(t, "valido", r.JSON(t)["status"])
		require.Equal(t, before+1, e.sim.Calls()[qualificasim.OpToken])
		r = e.do("POST", path("/api/v1/integracoes/%d/testar", idOf(down, "id_integracao")), nil)
		require.Equal(t, 200, r.Status)
		require.Equal(t, "erro", r.JSON(t)["status"])

		// Unknown platform → 422.
		requireProblem(t, e.do("POST", "/api/v1/integracoes", map[string]any{"descricao": "x", "plataforma": "netflix",
			"parametros": map[string]any{"client_id": "a", "client_secret": "b"}}), 422, "plataforma")

		// Token transmissions are listed, without secrets.
		r = e.do("GET", "/api/v1/transmissoes?operacao=token&resultado=erro", nil)
		require.Equal(t, 200, r.Status)
		require.Len(t, r.JSON(t)["itens"].([]any), 1) // wrong credentials: permanent
		r = e.do("GET", path("/api/v1/transmissoes?operacao=token&resultado=erro_temporario&id_integracao=%d", idOf(down, "id_integracao")), nil)
		require.Len(t, r.JSON(t)["itens"].([]any), 2) // unreachable on create and on testar
		requireProblem(t, e.do("GET", "/api/v1/transmissoes?operacao=voar", nil), 400, "operacao")
		all := e.do("GET", "/api/v1/transmissoes?itens_por_pagina=500", nil)
		require.NotContains(t, string(all.Body), qualificasim.DefaultClientSecret)
		require.NotContains(t, string(all.Body), creds.AccessToken)
		require.NotContains(t, e.Logs(), qualificasim.DefaultClientSecret)
		require.NotContains(t, e.Logs(), creds.AccessToken)
	})
}

func TestProductVerification(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect)
		id := idOf(e.createIntegration(nil, nil), "id_integracao")

		r := e.do("POST", path("/api/v1/integracoes/%d/produtos", id), map[string]any{"descricao": "Pro", "codigo": "pro"})
		require.Equal(t, 201, r.Status, "%s", r.Body)
		require.Equal(t, true, r.JSON(t)["verificado"])

		p := requireProblem(t, e.do("POST", path("/api/v1/integracoes/%d/produtos", id), map[string]any{"descricao": "X", "codigo": "xyz"}), 422, "codigo")
		require.ElementsMatch(t, []any{"1001", "premium", "pro"}, p["codigos_validos"])
		require.Contains(t, p["detail"], "xyz")

		// Revoked token: renewed once and the call repeated.
		e.sim.RevokeTokens()
		r = e.do("POST", path("/api/v1/integracoes/%d/produtos", id), map[string]any{"descricao": "Premium", "codigo": "premium"})
		require.Equal(t, 201, r.Status, "%s", r.Body)
		require.Equal(t, true, r.JSON(t)["verificado"])

		// Platform unreachable: saved unverified.
		down := idOf(e.createIntegration(map[string]any{"url_base": closedURL(t)}, nil), "id_integracao")
		r = e.do("POST", path("/api/v1/integracoes/%d/produtos", down), map[string]any{"descricao": "Qualquer", "codigo": "qualquer"})
		require.Equal(t, 201, r.Status, "%s", r.Body)
		require.Equal(t, false, r.JSON(t)["verificado"])

		// Sincronizar imports the catalogue.
		r = e.do("POST", path("/api/v1/integracoes/%d/produtos/sincronizar", id), nil)
		require.Equal(t, 200, r.Status, "%s", r.Body)
		var got []string
		for _, it := range r.JSON(t)["itens"].([]any) {
			m := it.(map[string]any)
			got = append(got, m["codigo"].(string))
			require.Equal(t, true, m["verificado"])
		}
		require.ElementsMatch(t, []string{"pro", "premium", "1001"}, got)
		requireProblem(t, e.do("POST", path("/api/v1/integracoes/%d/produtos/sincronizar", down), nil), 503)
	})
}

func TestTokenRenewedBeforeExpiry(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		// Tokens living less than the renewal margin are renewed on every use.
		e := newHarness(t, dialect, withQualifica(qualificasim.Options{TokenTTL: 30 * time.Second}))
		id := idOf(e.createIntegration(nil, nil), "id_integracao")
		before := e.sim.Calls()[qualificasim.OpToken]
		for i := 0; i < 3; i++ {
			r := e.do("POST", path("/api/v1/integracoes/%d/produtos", id), map[string]any{"descricao": "p", "codigo": []string{"pro", "premium", "1001"}[i]})
			require.Equal(t, 201, r.Status, "%s", r.Body)
		}
		require.Equal(t, before+3, e.sim.Calls()[qualificasim.OpToken])
		require.False(t, strings.Contains(e.Logs(), qualificasim.DefaultClientSecret))
	})
}
