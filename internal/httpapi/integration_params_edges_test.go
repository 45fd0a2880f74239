package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/pkg/webhook/webhooksim"
)

// TestParamsPlatformWhitespaceIsNotAMove: PUT "plataforma": "webhook "
// (the same platform, untrimmed) is not a platform change: the parametros
// are kept and the stored segredo is not replaced by a generated one
// (found by review: the change was decided before trimming).
func TestParamsPlatformWhitespaceIsNotAMove(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect)
		sim, srv := webhooksim.NewServer(t, webhooksim.Options{})
		r := e.do("POST", "/api/v1/integracoes", map[string]any{"descricao": "W", "plataforma": "webhook",
			"parametros": map[string]any{"url": srv.URL, "segredo": sim.Secret()}})
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		path := fmt.Sprintf("/api/v1/integracoes/%d", int64(r.JSON(t)["id_integracao"].(float64)))
		r = e.do("PUT", path, map[string]any{"plataforma": "webhook ", "parametros": map[string]any{"url": srv.URL}})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		require.NotContains(t, r.JSON(t)["parametros"], "segredo", "no secret generated: the platform did not change")
		r = e.do("POST", path+"/testar", nil)
		require.Equal(t, "valido", r.JSON(t)["status"], "%s", r.Body)
	})
}

// TestParamsSecretNotTrimmed: a secret is opaque and stored exactly as
// sent (found by review: every value was trimmed).
func TestParamsSecretNotTrimmed(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect)
		r := e.do("POST", "/api/v1/integracoes", map[string]any{"descricao": "Q", "plataforma": "qualifica",
			"parametros": map[string]any{"client_id": "svahub-test", "client_secret": " segredo com espaço "}})
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		creds, err := e.app.DB.Credentials(context.Background(), int64(r.JSON(t)["id_integracao"].(float64)))
		require.NoError(t, err)
		require.Equal(t, " segredo com espaço ", creds.Params["client_secret"])
	})
}

// TestParamsWebhookURLTrailingSlashKept: WEBHOOK.md says POST <url>: the
// webhook url is called as given, trailing slash included (found by
// review: it was stripped like Qualifica's url_base).
func TestParamsWebhookURLTrailingSlashKept(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect)
		sim, err := webhooksim.New(webhooksim.Options{})
		require.NoError(t, err)
		var mu sync.Mutex
		var paths []string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			paths = append(paths, r.URL.Path)
			mu.Unlock()
			sim.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		r := e.do("POST", "/api/v1/integracoes", map[string]any{"descricao": "W", "plataforma": "webhook",
			"parametros": map[string]any{"url": srv.URL + "/svahub/", "segredo": sim.Secret()}})
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		mu.Lock()
		defer mu.Unlock()
		require.Equal(t, []string{"/svahub/"}, paths, "svahub POSTs to the url given")
	})
}

// TestParamsEgressCheckRace: a PUT without plataforma racing a PUT that
// moves the integration to webhook never stores an internal url (API.md:
// a refused address is a 422 when saved). Found by review: addresses were
// checked against the platform read before the write's transaction.
func TestParamsEgressCheckRace(t *testing.T) {
	t.Parallel()
	e := newHarness(t, "sqlite")
	sim, srv := webhooksim.NewServer(t, webhooksim.Options{})
	for i := 0; i < 40; i++ {
		r := e.do("POST", "/api/v1/integracoes", map[string]any{"descricao": "Q", "plataforma": "qualifica",
			"parametros": map[string]any{"client_id": "svahub-test", "client_secret": "segredo-teste"}})
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		path := fmt.Sprintf("/api/v1/integracoes/%d", int64(r.JSON(t)["id_integracao"].(float64)))
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			e.do("PUT", path, map[string]any{"parametros": map[string]any{"url": "https://10.1.2.3/x", "segredo": sim.Secret()}})
		}()
		go func() {
			defer wg.Done()
			e.do("PUT", path, map[string]any{"plataforma": "webhook", "parametros": map[string]any{"url": srv.URL, "segredo": sim.Secret()}})
		}()
		wg.Wait()
		got := e.do("GET", path, nil).JSON(t)["parametros"].(map[string]any)["url"]
		require.NotEqual(t, "https://10.1.2.3/x", got, "iteration %d: an internal address was saved", i)
	}
}

// TestParamsStrictness: duplicates, case
// variants and non-string values inside parametros are 400s.
func TestParamsStrictness(t *testing.T) {
	t.Parallel()
	e := newHarness(t, "sqlite")
	for _, body := range []string{
		`{"descricao":"Q","plataforma":"qualifica","parametros":{"client_id":"a","client_id":"b","client_secret":"s"}}`,
		`{"descricao":"Q","plataforma":"qualifica","parametros":{"Client_ID":"a","client_id":"b","client_secret":"s"}}`,
		`{"descricao":"Q","plataforma":"qualifica","parametros":{"client_id":["a"],"client_secret":"s"}}`,
		`{"descricao":"Q","plataforma":"qualifica","parametros":{"client_id":{"a":1},"client_secret":"s"}}`,
		`{"descricao":"Q","plataforma":"qualifica","parametros":{"client_id":"a","client_secret":"s","USUARIO":"cpf_cnpj"}}`,
	} {
		r := e.do("POST", "/api/v1/integracoes", body)
		require.Equal(t, 400, r.Status, "%s → %s", body, r.Body)
		require.NotContains(t, string(r.Body), `"s"`)
	}
}
