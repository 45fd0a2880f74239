package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/buildinfo"
	"github.com/svahub/svahub/internal/httpapi"
	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/internal/svahub"
)

// This file checks the cross-cutting conventions of API.md: authentication,
// open routes, request ids, problem+json for router errors, body limits.

func requireUnauthorized(t *testing.T, r response) {
	t.Helper()
	requireProblem(t, r, http.StatusUnauthorized)
	require.True(t, strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer"), "WWW-Authenticate %q", r.Header.Get("WWW-Authenticate"))
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect, apiOnly())
		ctx := context.Background()
		revoked, revokedKey, err := e.db.CreateAPIKey(ctx, "antiga", svahub.ScopeWrite)
		require.NoError(t, err)
		require.NoError(t, e.db.RevokeAPIKey(ctx, revoked.ID))

		send := func(auth, method, path string, body any) response {
			t.Helper()
			var rd io.Reader
			if body != nil {
				raw, err := json.Marshal(body)
				require.NoError(t, err)
				rd = strings.NewReader(string(raw))
			}
			req, err := http.NewRequest(method, e.srv.URL+path, rd)
			require.NoError(t, err)
			if rd != nil {
				req.Header.Set("Content-Type", "application/json")
			}
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			res, err := e.srv.Client().Do(req)
			require.NoError(t, err)
			defer res.Body.Close()
			raw, err := io.ReadAll(res.Body)
			require.NoError(t, err)
			return response{Status: res.StatusCode, Header: res.Header, Body: raw}
		}

		bad := map[string]string{
			"missing header":   "",
			"basic scheme":     "Basic dXNlcjpwYXNz",
			"token scheme":     "Token " + e.key,
			"key without name": e.key,
			"empty bearer":     "Bearer ",
			"bearer only":      "Bearer",
			"wrong key":        "Bearer svh_" + strings.Repeat("A", 43),
			"not a svh key":    "Bearer abc",
			"truncated key":    "Bearer " + e.key[:len(e.key)-1],
			"revoked key":      "Bearer " + revokedKey,
		}
		for name, auth := range bad {
			t.Run(name, func(t *testing.T) {
				for _, req := range []struct {
					method, path string
					body         any
				}{
					{"GET", "/api/v1/integracoes", nil},
					{"POST", "/api/v1/integracoes", validIntegration(nil)},
					{"GET", "/api/v1/pacotes", nil},
					{"DELETE", "/api/v1/planos/1", nil},
				} {
					r := send(auth, req.method, req.path, req.body)
					requireUnauthorized(t, r)
					require.NotContains(t, string(r.Body), e.key)
				}
			})
		}
		// A bare key (the Authorize dialog's most likely mistake) gets a
		// readable detail that says what to send: no \u003c escapes.
		r := send(e.key, "GET", "/api/v1/integracoes", nil)
		require.NotContains(t, string(r.Body), `\u00`)
		detail, _ := r.JSON(t)["detail"].(string)
		require.Contains(t, detail, "Authorization: Bearer svh_")
		require.Contains(t, detail, "a palavra Bearer, um espaço e a chave")
		// The scheme is case-insensitive.
		require.Equal(t, http.StatusOK, send("bearer "+e.key, "GET", "/api/v1/integracoes", nil).Status)
		// Nothing was created by the rejected writes.
		r = e.do("GET", "/api/v1/integracoes", nil)
		require.EqualValues(t, 0, r.JSON(t)["paginacao"].(map[string]any)["total_registros"])
	})
}

func TestReadOnlyKey(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect, apiOnly())
		integ := e.mkIntegration("a")
		prod := e.addProduct(integ, "pro")
		pkg := e.mkPackage(integ, "29.90", true, prod)
		require.Equal(t, http.StatusCreated, e.do("PUT", "/api/v1/planos/500", map[string]any{"descricao": "Fibra", "pacotes": []int64{pkg}}).Status)

		for _, path := range []string{
			"/api/v1/integracoes", fmt.Sprintf("/api/v1/integracoes/%d", integ),
			fmt.Sprintf("/api/v1/integracoes/%d/produtos", integ), fmt.Sprintf("/api/v1/produtos/%d", prod),
			"/api/v1/pacotes", fmt.Sprintf("/api/v1/pacotes/%d", pkg),
			"/api/v1/planos", "/api/v1/planos/500",
		} {
			r := e.doWith(e.roKey, "", "GET", path, nil)
			require.Equal(t, http.StatusOK, r.Status, "GET %s: %s", path, r.Body)
		}

		writes := []struct {
			method, path string
			body         any
		}{
			{"POST", "/api/v1/integracoes", validIntegration(nil)},
			{"PUT", fmt.Sprintf("/api/v1/integracoes/%d", integ), validIntegration(nil)},
			{"DELETE", fmt.Sprintf("/api/v1/integracoes/%d", integ), nil},
			{"POST", fmt.Sprintf("/api/v1/integracoes/%d/testar", integ), nil},
			{"POST", fmt.Sprintf("/api/v1/integracoes/%d/produtos", integ), map[string]any{"descricao": "x", "codigo": "novo"}},
			{"POST", fmt.Sprintf("/api/v1/integracoes/%d/produtos/sincronizar", integ), nil},
			{"PUT", fmt.Sprintf("/api/v1/produtos/%d", prod), map[string]any{"descricao": "x", "codigo": "outro"}},
			{"DELETE", fmt.Sprintf("/api/v1/produtos/%d", prod), nil},
			{"POST", "/api/v1/pacotes", map[string]any{"descricao": "x", "valor": "1.00", "id_integracao": integ, "produtos": []int64{prod}}},
			{"PUT", fmt.Sprintf("/api/v1/pacotes/%d", pkg), map[string]any{"descricao": "x", "valor": "1.00", "id_integracao": integ, "produtos": []int64{prod}}},
			{"DELETE", fmt.Sprintf("/api/v1/pacotes/%d", pkg), nil},
			{"PUT", "/api/v1/planos/600", map[string]any{"descricao": "x"}},
			{"DELETE", "/api/v1/planos/500", nil},
		}
		for _, w := range writes {
			t.Run(w.method+" "+w.path, func(t *testing.T) {
				p := requireProblem(t, e.doWith(e.roKey, "application/json", w.method, w.path, w.body), http.StatusForbidden)
				require.Equal(t, "urn:svahub:problema:proibido", p["type"])
			})
		}
		// Nothing changed.
		r := e.do("GET", "/api/v1/pacotes", nil)
		require.EqualValues(t, 1, r.JSON(t)["paginacao"].(map[string]any)["total_registros"])
		require.Equal(t, "29.90", r.JSON(t)["itens"].([]any)[0].(map[string]any)["valor"])
		require.Equal(t, http.StatusOK, e.do("GET", "/api/v1/planos/500", nil).Status)
		require.Equal(t, http.StatusNotFound, e.do("GET", "/api/v1/planos/600", nil).Status)
	})
}

// TestEveryAPIRouteRequiresAKey walks the router: no /api/v1 route answers
// without a key.
func TestEveryAPIRouteRequiresAKey(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t, "sqlite")
	api := httpapi.New(httpapi.Deps{Catalogue: db, APIKeys: db, Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	n := 0
	for _, rt := range api.Routes() {
		if !strings.HasPrefix(rt.Path, "/api/v1") {
			continue
		}
		switch rt.Method {
		case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		default:
			continue
		}
		n++
		path := strings.NewReplacer(":id", "1", "*", "x").Replace(rt.Path)
		req, err := http.NewRequest(rt.Method, srv.URL+path, strings.NewReader("{}"))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		res, err := srv.Client().Do(req)
		require.NoError(t, err)
		raw, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		res.Body.Close()
		requireUnauthorized(t, response{Status: res.StatusCode, Header: res.Header, Body: raw})
	}
	require.GreaterOrEqual(t, n, 20, "routes under /api/v1")
}

func TestOpenRoutes(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect, apiOnly())
		r := e.doWith("", "", "GET", "/healthz", nil)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		require.JSONEq(t, `{"status": "ok", "versao": "`+buildinfo.Version()+`"}`, string(r.Body))
		r = e.doWith("", "", "GET", "/readyz", nil)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		require.JSONEq(t, `{"status": "ok"}`, string(r.Body))

		noFollow := *e.srv.Client()
		noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		for _, p := range []string{"/swagger", "/swagger/"} {
			res, err := noFollow.Get(e.srv.URL + p)
			require.NoError(t, err)
			_ = res.Body.Close()
			require.Equal(t, http.StatusMovedPermanently, res.StatusCode, p)
			require.Equal(t, "/swagger/index.html", res.Header.Get("Location"), p)
		}
		r = e.doWith("", "", "GET", "/swagger/index.html", nil)
		require.Equal(t, http.StatusOK, r.Status)
		require.Contains(t, r.Header.Get("Content-Type"), "text/html")
		require.Contains(t, string(r.Body), "swagger")

		r = e.doWith("", "", "GET", "/swagger/doc.json", nil)
		require.Equal(t, http.StatusOK, r.Status)
		var doc map[string]any
		require.NoError(t, json.Unmarshal(r.Body, &doc), "doc.json is valid JSON")
		paths, ok := doc["paths"].(map[string]any)
		require.True(t, ok, "doc.json has paths")
		require.Contains(t, paths, "/api/v1/integracoes")
		require.Contains(t, paths, "/healthz")
		require.Equal(t, "/", doc["basePath"], "open routes are documented at their real URLs")

		// Open routes also work with a key.
		require.Equal(t, http.StatusOK, e.doWith(e.key, "", "GET", "/healthz", nil).Status)
	})
}

func TestReadyzNotReady(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t, "sqlite")
	api := httpapi.New(httpapi.Deps{Catalogue: db, APIKeys: db, Logger: slog.New(slog.DiscardHandler),
		Ready: func(context.Context) error { return errors.New("dial tcp 10.0.0.1:5432: connection refused") }})
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	res, err := srv.Client().Get(srv.URL + "/readyz")
	require.NoError(t, err)
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	res.Body.Close()
	requireProblem(t, response{Status: res.StatusCode, Header: res.Header, Body: raw}, http.StatusServiceUnavailable)
	require.NotContains(t, string(raw), "10.0.0.1", "no internal detail leaks")
	res, err = srv.Client().Get(srv.URL + "/healthz")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode, "healthz does not depend on the database")
}

func TestRequestIDAndRouterErrors(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect, apiOnly())
		integ := e.mkIntegration("a")
		seen := map[string]bool{}
		check := func(name string, r response, status int) {
			t.Helper()
			require.Equal(t, status, r.Status, "%s: %s", name, r.Body)
			id := r.Header.Get("X-Request-Id")
			require.NotEmpty(t, id, "%s: X-Request-Id", name)
			require.False(t, seen[id], "%s: request id %q reused", name, id)
			seen[id] = true
			if status >= 400 {
				p := requireProblem(t, r, status)
				require.Equal(t, id, p["request_id"], "%s: problem carries the request id", name)
			} else if status != http.StatusNoContent && strings.HasPrefix(name, "api") {
				require.True(t, strings.HasPrefix(r.Header.Get("Content-Type"), "application/json"), "%s: content type %q", name, r.Header.Get("Content-Type"))
			}
		}
		check("healthz", e.doWith("", "", "GET", "/healthz", nil), 200)
		check("readyz", e.doWith("", "", "GET", "/readyz", nil), 200)
		check("swagger", e.doWith("", "", "GET", "/swagger/index.html", nil), 200)
		check("api list", e.do("GET", "/api/v1/integracoes", nil), 200)
		check("api create", e.do("POST", fmt.Sprintf("/api/v1/integracoes/%d/produtos", integ), map[string]any{"descricao": "x", "codigo": "pro"}), 201)
		check("api delete", e.do("DELETE", "/api/v1/produtos/1", nil), 204)
		check("api 400", e.do("GET", "/api/v1/pacotes?ativo=sim", nil), 400)
		check("api 401", e.doWith("", "", "GET", "/api/v1/pacotes", nil), 401)
		check("api 403", e.doWith(e.roKey, "application/json", "POST", "/api/v1/pacotes", "{}"), 403)
		check("api 404", e.do("GET", "/api/v1/pacotes/999", nil), 404)
		check("api 409", e.do("POST", fmt.Sprintf("/api/v1/integracoes/%d/produtos", integ), map[string]any{"descricao": "x", "codigo": "b"}), 201)
		check("api 409", e.do("POST", fmt.Sprintf("/api/v1/integracoes/%d/produtos", integ), map[string]any{"descricao": "x", "codigo": "b"}), 409)
		check("api 413", e.do("POST", "/api/v1/pacotes", `{"descricao": "`+strings.Repeat("a", 2<<20)+`"}`), 413)
		check("api 415", e.doWith(e.key, "text/plain", "POST", "/api/v1/pacotes", "{}"), 415)
		check("api 422", e.do("POST", "/api/v1/pacotes", map[string]any{}), 422)

		// Unknown routes are 404 problem+json, inside and outside /api/v1.
		check("unknown root route", e.doWith("", "", "GET", "/nada", nil), 404)
		check("unknown api route", e.do("GET", "/api/v1/nada", nil), 404)
		check("unknown api sub-route", e.do("GET", fmt.Sprintf("/api/v1/integracoes/%d/nada", integ), nil), 404)
		// 405 on a known path with the wrong method is problem+json too.
		check("405 on healthz", e.doWith("", "", "DELETE", "/healthz", nil), 405)
		check("405 on readyz", e.doWith("", "", "POST", "/readyz", nil), 405)

		t.Run("unknown route below a leaf :id route", func(t *testing.T) {
			r := e.do("GET", "/api/v1/pacotes/1/nada", nil)
			requireProblem(t, r, http.StatusNotFound)
		})
		t.Run("405 on api routes", func(t *testing.T) {
			r := e.do("PATCH", "/api/v1/pacotes/1", `{}`)
			requireProblem(t, r, http.StatusMethodNotAllowed)
			requireProblem(t, e.do("POST", "/api/v1/planos/1", `{}`), http.StatusMethodNotAllowed)
		})
	})
}

// TestBodyLimitChunked: a body over 1 MiB without Content-Length is refused
// with 413 too, not read to the end and not answered 400.
func TestBodyLimitChunked(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect, apiOnly())
		body := `{"descricao": "` + strings.Repeat("a", 1<<20) + `"}`
		pr, pw := io.Pipe()
		go func() {
			_, err := io.Copy(pw, strings.NewReader(body))
			pw.CloseWithError(err)
		}()
		req, err := http.NewRequest("POST", e.srv.URL+"/api/v1/pacotes", pr)
		require.NoError(t, err)
		require.Zero(t, req.ContentLength, "length unknown: sent chunked")
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+e.key)
		res, err := e.srv.Client().Do(req)
		require.NoError(t, err)
		raw, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		res.Body.Close()
		_ = pr.Close()
		r := response{Status: res.StatusCode, Header: res.Header, Body: raw}
		requireProblem(t, r, http.StatusRequestEntityTooLarge)

		// A body just under the limit is read (and then validated).
		pad := (1 << 20) - len(`{"descricao": ""}`)
		r = e.do("POST", "/api/v1/pacotes", `{"descricao": "`+strings.Repeat("a", pad)+`"}`)
		require.NotEqual(t, http.StatusRequestEntityTooLarge, r.Status)
		requireProblem(t, r, http.StatusUnprocessableEntity, "descricao")
	})
}

// TestIdempotencyKey: API.md says a POST with an Idempotency-Key replays the
// first answer for the same body and answers 422 for another body.
func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect, apiOnly())
		post := func(key string, body any) response {
			t.Helper()
			raw, err := json.Marshal(body)
			require.NoError(t, err)
			req, err := http.NewRequest("POST", e.srv.URL+"/api/v1/integracoes", strings.NewReader(string(raw)))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+e.key)
			req.Header.Set("Idempotency-Key", key)
			res, err := e.srv.Client().Do(req)
			require.NoError(t, err)
			defer res.Body.Close()
			out, err := io.ReadAll(res.Body)
			require.NoError(t, err)
			return response{Status: res.StatusCode, Header: res.Header, Body: out}
		}
		first := post("chave-1", validIntegration(nil))
		require.Equal(t, http.StatusCreated, first.Status, "%s", first.Body)
		second := post("chave-1", validIntegration(nil))
		require.Equal(t, "true", second.Header.Get("Idempotent-Replayed"))
		require.Equal(t, first.Status, second.Status)
		require.Equal(t, first.JSON(t)["id_integracao"], second.JSON(t)["id_integracao"])
		requireProblem(t, post("chave-1", validIntegration(func(m map[string]any) { m["descricao"] = "outra" })), 422)
	})
}
