package qualificasim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/pkg/qualifica"
	"github.com/svahub/svahub/pkg/qualifica/qualificasim"
)

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// call sends a raw request to the simulator.
func call(t *testing.T, sim *qualificasim.Sim, method, path, contentType, token, body string) reply {
	t.Helper()
	req, err := http.NewRequest(method, sim.URL()+path, strings.NewReader(body))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	_ = json.Unmarshal(b, &r.body)
	return r
}

const form = "application/x-www-form-urlencoded"
const jsonCT = "application/json"

func tokenFor(t *testing.T, sim *qualificasim.Sim) string {
	t.Helper()
	r := call(t, sim, "POST", "/oauth/token", form, "", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {qualificasim.DefaultClientID}, "client_secret": {qualificasim.DefaultClientSecret},
	}.Encode())
	require.Equal(t, http.StatusOK, r.status, r.raw)
	return r.body["access_token"].(string)
}

func requireErr(t *testing.T, r reply, status int, code string) {
	t.Helper()
	require.Equal(t, status, r.status, r.raw)
	require.Equal(t, code, r.body["codigo"], r.raw)
	require.NotEmpty(t, r.body["mensagem"], r.raw)
	require.Contains(t, r.header.Get("Content-Type"), "application/json")
}

func TestTokenEndpointStrictness(t *testing.T) {
	t.Parallel()
	sim := qualificasim.NewServer(t, qualificasim.Options{})
	good := url.Values{"grant_type": {"client_credentials"}, "client_id": {qualificasim.DefaultClientID}, "client_secret": {qualificasim.DefaultClientSecret}}

	requireErr(t, call(t, sim, "GET", "/oauth/token", "", "", ""), http.StatusMethodNotAllowed, "metodo_nao_permitido")
	requireErr(t, call(t, sim, "POST", "/oauth/token", jsonCT, "", `{"grant_type":"client_credentials"}`), http.StatusBadRequest, qualifica.CodeBadRequest)
	bad := url.Values{"grant_type": {"password"}, "client_id": good["client_id"], "client_secret": good["client_secret"]}
	requireErr(t, call(t, sim, "POST", "/oauth/token", form, "", bad.Encode()), http.StatusBadRequest, qualifica.CodeBadRequest)
	wrong := url.Values{"grant_type": good["grant_type"], "client_id": good["client_id"], "client_secret": {"x"}}
	requireErr(t, call(t, sim, "POST", "/oauth/token", form, "", wrong.Encode()), http.StatusUnauthorized, qualifica.CodeInvalidCredentials)
	// credentials only in the query string are not accepted
	requireErr(t, call(t, sim, "POST", "/oauth/token?"+good.Encode(), form, "", ""), http.StatusBadRequest, qualifica.CodeBadRequest)

	r := call(t, sim, "POST", "/oauth/token", form+"; charset=utf-8", "", good.Encode())
	require.Equal(t, http.StatusOK, r.status, r.raw)
	require.Equal(t, "Bearer", r.body["token_type"])
	require.EqualValues(t, 3600, r.body["expires_in"])
	require.Equal(t, "no-store", r.header.Get("Cache-Control"))
}

func TestBearerRequired(t *testing.T) {
	t.Parallel()
	sim := qualificasim.NewServer(t, qualificasim.Options{})
	requireErr(t, call(t, sim, "GET", "/v1/produtos", "", "", ""), http.StatusUnauthorized, qualifica.CodeInvalidToken)
	requireErr(t, call(t, sim, "GET", "/v1/produtos", "", "qt_inventado", ""), http.StatusUnauthorized, qualifica.CodeInvalidToken)

	req, err := http.NewRequest("GET", sim.URL()+"/v1/produtos", nil)
	require.NoError(t, err)
	req.SetBasicAuth(qualificasim.DefaultClientID, qualificasim.DefaultClientSecret)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	tok := tokenFor(t, sim)
	r := call(t, sim, "GET", "/v1/produtos", "", tok, "")
	require.Equal(t, http.StatusOK, r.status)
	require.Len(t, r.body["produtos"], 3)
}

func TestJSONStrictness(t *testing.T) {
	t.Parallel()
	sim := qualificasim.NewServer(t, qualificasim.Options{})
	tok := tokenFor(t, sim)
	user := `{"usuario":"u1","senha":"p","nome":"N","referencia":"r1"}`

	requireErr(t, call(t, sim, "POST", "/v1/usuarios", jsonCT, tok, `{"usuario":"u1","senha":"p","nome":"N","referencia":"r1","extra":1}`), http.StatusBadRequest, qualifica.CodeBadRequest)
	requireErr(t, call(t, sim, "POST", "/v1/usuarios", "text/plain", tok, user), http.StatusBadRequest, qualifica.CodeBadRequest)
	requireErr(t, call(t, sim, "POST", "/v1/usuarios", "", tok, user), http.StatusBadRequest, qualifica.CodeBadRequest)
	requireErr(t, call(t, sim, "POST", "/v1/usuarios", jsonCT, tok, `{"usuario":`), http.StatusBadRequest, qualifica.CodeBadRequest)
	requireErr(t, call(t, sim, "POST", "/v1/usuarios", jsonCT, tok, user+`{}`), http.StatusBadRequest, qualifica.CodeBadRequest)
	requireErr(t, call(t, sim, "POST", "/v1/usuarios", jsonCT, tok, `{"usuario":1,"senha":"p","nome":"N","referencia":"r1"}`), http.StatusBadRequest, qualifica.CodeBadRequest)
	requireErr(t, call(t, sim, "POST", "/v1/usuarios", jsonCT, tok, ``), http.StatusBadRequest, qualifica.CodeBadRequest)

	r := call(t, sim, "POST", "/v1/usuarios", jsonCT+"; charset=utf-8", tok, user)
	require.Equal(t, http.StatusCreated, r.status, r.raw)
	id := r.body["id"].(string)
	require.Equal(t, "/v1/usuarios/"+id, r.header.Get("Location"))
	require.Equal(t, []any{}, r.body["planos"])

	requireErr(t, call(t, sim, "PUT", "/v1/usuarios/"+id+"/planos/pro", jsonCT, tok, `{"data_expiracao":"2099-01-01","status":"ativo"}`), http.StatusBadRequest, qualifica.CodeBadRequest)
	requireErr(t, call(t, sim, "PUT", "/v1/usuarios/"+id+"/planos/pro", form, tok, `data_expiracao=2099-01-01`), http.StatusBadRequest, qualifica.CodeBadRequest)
	requireErr(t, call(t, sim, "GET", "/v1/usuarios?nome=x", "", tok, ""), http.StatusBadRequest, qualifica.CodeBadRequest)
	requireErr(t, call(t, sim, "GET", "/v1/usuarios", "", tok, ""), http.StatusBadRequest, qualifica.CodeBadRequest)
	requireErr(t, call(t, sim, "PATCH", "/v1/usuarios/"+id, jsonCT, tok, `{}`), http.StatusMethodNotAllowed, "metodo_nao_permitido")
	requireErr(t, call(t, sim, "GET", "/v2/nada", "", tok, ""), http.StatusNotFound, "rota_inexistente")
}

func TestConflictBody(t *testing.T) {
	t.Parallel()
	for _, omit := range []bool{false, true} {
		sim := qualificasim.NewServer(t, qualificasim.Options{ConflictOmitsReference: omit})
		tok := tokenFor(t, sim)
		user := `{"usuario":"u1","senha":"p","nome":"N","referencia":"r1"}`
		created := call(t, sim, "POST", "/v1/usuarios", jsonCT, tok, user)
		require.Equal(t, http.StatusCreated, created.status)
		r := call(t, sim, "POST", "/v1/usuarios", jsonCT, tok, user)
		requireErr(t, r, http.StatusConflict, qualifica.CodeUserExists)
		require.Equal(t, created.body["id"], r.body["id"])
		if omit {
			require.NotContains(t, r.body, "referencia")
		} else {
			require.Equal(t, "r1", r.body["referencia"])
		}
	}
}

func TestFaultInjectionIsDeterministic(t *testing.T) {
	t.Parallel()
	pattern := func() []int {
		sim := qualificasim.NewServer(t, qualificasim.Options{FailRate: 0.5, Seed: 42, NoTokenFaults: true})
		tok := tokenFor(t, sim) // exempt from faults
		var out []int
		for range 20 {
			out = append(out, call(t, sim, "GET", "/v1/produtos", "", tok, "").status)
		}
		calls := sim.Calls()
		require.Equal(t, 20, calls[qualificasim.OpProducts])
		require.Equal(t, 1, calls[qualificasim.OpToken])
		require.Positive(t, calls[qualificasim.Call5xx])
		require.Less(t, calls[qualificasim.Call5xx], 20)
		return out
	}
	require.Equal(t, pattern(), pattern())
}

func TestLatency(t *testing.T) {
	t.Parallel()
	sim := qualificasim.NewServer(t, qualificasim.Options{Latency: 50 * time.Millisecond})
	start := time.Now()
	tokenFor(t, sim)
	require.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)
	sim.SetLatency(0)
	start = time.Now()
	call(t, sim, "GET", "/_sim/chamadas", "", "", "")
	require.Less(t, time.Since(start), 50*time.Millisecond)
}

func TestIntrospection(t *testing.T) {
	t.Parallel()
	sim := qualificasim.NewServer(t, qualificasim.Options{})
	tok := tokenFor(t, sim)
	created := call(t, sim, "POST", "/v1/usuarios", jsonCT, tok, `{"usuario":"u1","senha":"p","nome":"N","referencia":"r1","cpf_cnpj":"12345678909"}`)
	require.Equal(t, http.StatusCreated, created.status)
	id := created.body["id"].(string)
	require.Equal(t, http.StatusOK, call(t, sim, "PUT", "/v1/usuarios/"+id+"/planos/pro", jsonCT, tok, `{"data_expiracao":"2099-01-01"}`).status)

	r := call(t, sim, "GET", "/_sim/usuarios", "", "", "")
	require.Equal(t, http.StatusOK, r.status)
	var users []qualificasim.SimUser
	require.NoError(t, json.Unmarshal([]byte(r.raw), &users))
	require.Len(t, users, 1)
	require.Equal(t, "p", users[0].Password)
	require.Equal(t, 1, users[0].CreateCalls)
	require.Equal(t, []qualifica.Plan{{Product: "pro", Status: "ativo", ExpiresOn: "2099-01-01"}}, users[0].Plans)

	require.Equal(t, http.StatusNoContent, call(t, sim, "POST", "/_sim/usuarios/u1/senha", jsonCT, "", `{"senha":"nova"}`).status)
	u, ok := sim.UserByUsername("u1")
	require.True(t, ok)
	require.Equal(t, "nova", u.Password)
	require.Equal(t, http.StatusNotFound, call(t, sim, "POST", "/_sim/usuarios/ninguem/senha", jsonCT, "", `{"senha":"x"}`).status)
	require.Error(t, sim.SetPassword("ninguem", "x"))

	r = call(t, sim, "GET", "/_sim/chamadas", "", "", "")
	require.Equal(t, map[string]any{"token": 1.0, "criar_usuario": 1.0, "ativar_plano": 1.0}, r.body)

	r = call(t, sim, "POST", "/_sim/falhas", jsonCT, "", `{"taxa_5xx":1,"latencia_ms":0,"limite_rps":5}`)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	require.Equal(t, map[string]any{"taxa_5xx": 1.0, "taxa_timeout": 0.0, "latencia_ms": 0.0, "limite_rps": 5.0}, r.body)
	requireErr(t, call(t, sim, "GET", "/v1/produtos", "", tok, ""), http.StatusServiceUnavailable, "servico_indisponivel")
	require.Equal(t, http.StatusUnprocessableEntity, call(t, sim, "POST", "/_sim/falhas", jsonCT, "", `{"taxa_5xx":2}`).status)
	require.Equal(t, http.StatusOK, call(t, sim, "POST", "/_sim/falhas", jsonCT, "", `{"taxa_5xx":0}`).status)

	require.Equal(t, http.StatusNoContent, call(t, sim, "POST", "/_sim/revogar", "", "", "").status)
	requireErr(t, call(t, sim, "GET", "/v1/produtos", "", tok, ""), http.StatusUnauthorized, qualifica.CodeInvalidToken)

	require.Equal(t, http.StatusNoContent, call(t, sim, "POST", "/_sim/reset", "", "", "").status)
	require.Empty(t, sim.Users())
	require.Empty(t, sim.Calls())
	r = call(t, sim, "GET", "/_sim/falhas", "", "", "")
	require.Equal(t, 0.0, r.body["limite_rps"])

	// ids keep increasing across resets
	tok = tokenFor(t, sim)
	again := call(t, sim, "POST", "/v1/usuarios", jsonCT, tok, `{"usuario":"u1","senha":"p","nome":"N","referencia":"r1"}`)
	require.NotEqual(t, id, again.body["id"])
}

func TestCloseReleasesHangingRequests(t *testing.T) {
	t.Parallel()
	sim := qualificasim.New(qualificasim.Options{TimeoutRate: 1})
	done := make(chan int, 1)
	go func() {
		rec := &discardWriter{header: http.Header{}}
		req, _ := http.NewRequest("POST", "/oauth/token", nil)
		sim.ServeHTTP(rec, req)
		done <- rec.status
	}()
	time.Sleep(20 * time.Millisecond)
	sim.Close()
	select {
	case status := <-done:
		require.Equal(t, http.StatusGatewayTimeout, status)
	case <-time.After(5 * time.Second):
		t.Fatal("hanging request not released by Close")
	}
	require.Empty(t, sim.URL())
}

type discardWriter struct {
	header http.Header
	status int
}

func (d *discardWriter) Header() http.Header { return d.header }
func (d *discardWriter) Write(b []byte) (int, error) {
	if d.status == 0 {
		d.status = http.StatusOK
	}
	return len(b), nil
}
func (d *discardWriter) WriteHeader(s int) { d.status = s }
