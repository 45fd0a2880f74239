package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/store/storetest"
)

func TestCatalogueWalkthrough(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect, apiOnly())
		r := e.do("POST", "/api/v1/integracoes", map[string]any{
			"descricao": "Qualifica", "plataforma": "qualifica",
			"parametros": map[string]any{"client_id": "cid", "client_secret": "super-segredo-123"},
		})
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		require.Equal(t, "/api/v1/integracoes/1", r.Header.Get("Location"))
		require.NotContains(t, string(r.Body), "super-segredo-123")

		r = e.do("POST", "/api/v1/integracoes/1/produtos", map[string]any{"descricao": "Pro", "codigo": "pro"})
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		r = e.do("POST", "/api/v1/pacotes", map[string]any{"descricao": "Pacote Pro", "valor": "29.90", "id_integracao": 1, "produtos": []int{1}})
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		r = e.do("PUT", "/api/v1/planos/500", map[string]any{"descricao": "Fibra 500", "pacotes": []int{1}})
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)

		requireProblem(t, e.do("POST", "/api/v1/pacotes", map[string]any{"descricao": "x", "valor": "1.234", "id_integracao": 1, "produtos": []int{1}}), 422, "valor")
		requireProblem(t, e.do("POST", "/api/v1/pacotes", `{"descricao": "x", "bogus": 1}`), 400, "bogus")
		requireProblem(t, e.doWith("", "application/json", "GET", "/api/v1/pacotes", nil), 401)
		requireProblem(t, e.doWith(e.roKey, "application/json", "POST", "/api/v1/pacotes", "{}"), 403)
		requireProblem(t, e.do("DELETE", "/api/v1/integracoes/1", nil), 409)
		require.NotContains(t, e.Logs(), "super-segredo-123")
	})
}
