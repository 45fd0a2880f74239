package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/app"
	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/internal/svahub"
)

// noTokenPlatform is a second adapter's platform: no token, no catalogue.
type noTokenPlatform struct{ svahub.Platform }

// TestSecondAdapterThroughAPI: a fake adapter registered next to Qualifica
// (no token, no catalogue) is reached through the API by its declaration
// alone: the saved integration's token block is valido without expiry,
// product codes are free text and unverified, sincronizar answers 422.
func TestSecondAdapterThroughAPI(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect, withTune(func(o *app.Options) {
			o.Registry = app.DefaultRegistry(o.QualificaURL)
			o.Registry["fake"] = svahub.Adapter{Name: "fake",
				Params: []svahub.ParamSpec{{Name: "client_id", Required: true}, {Name: "client_secret", Secret: true, RequiredOnCreate: true}},
				New:    func(svahub.PlatformConfig) (svahub.Platform, error) { return noTokenPlatform{}, nil }}
		}))
		r := e.do("POST", "/api/v1/integracoes", map[string]any{"descricao": "Fake", "plataforma": "fake",
			"parametros": map[string]any{"client_id": "c", "client_secret": "s"}})
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		m := r.JSON(t)
		tok := m["token"].(map[string]any)
		require.Equal(t, "valido", tok["status"])
		require.Nil(t, tok["expira_em"])
		id := int64(m["id_integracao"].(float64))

		r = e.do("POST", fmt.Sprintf("/api/v1/integracoes/%d/produtos", id), map[string]any{"descricao": "Curso", "codigo": "Curso de Excel 2.0"})
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		require.Equal(t, false, r.JSON(t)["verificado"])
		requireProblem(t, e.do("POST", fmt.Sprintf("/api/v1/integracoes/%d/produtos/sincronizar", id), nil), 422)

		r = e.do("POST", fmt.Sprintf("/api/v1/integracoes/%d/testar", id), nil)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		require.Equal(t, "valido", r.JSON(t)["status"])
	})
}
