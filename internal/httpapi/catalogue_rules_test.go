package httpapi_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/secret"
	"github.com/svahub/svahub/internal/store/storetest"
)

// This file sends every catalogue validation rule of DOMAIN.md and API.md
// through HTTP and checks the problem+json answer.

// validIntegration is a complete, valid integration body; mod edits a copy.
func validIntegration(mod func(m map[string]any)) map[string]any {
	m := map[string]any{
		"descricao":  "Qualifica matriz",
		"plataforma": "qualifica",
		"parametros": map[string]any{
			"client_id":     "svahub-test",
			"client_secret": "segredo-teste",
			"usuario":       "login_autenticacao",
			"url_base":      "http://127.0.0.1:9090",
		},
		"suspender_inadimplencia": true,
		"ativo":                   true,
	}
	if mod != nil {
		mod(m)
	}
	return m
}

// params returns the parametros object of an integration body.
func params(m map[string]any) map[string]any { return m["parametros"].(map[string]any) }

// mkIntegration creates an integration and returns its id.
func (e *harness) mkIntegration(desc string) int64 {
	e.t.Helper()
	r := e.do("POST", "/api/v1/integracoes", validIntegration(func(m map[string]any) { m["descricao"] = desc }))
	require.Equal(e.t, http.StatusCreated, r.Status, "%s", r.Body)
	return int64(r.JSON(e.t)["id_integracao"].(float64))
}

// mkPackage creates a package and returns its id.
func (e *harness) mkPackage(integration int64, valor string, active bool, products ...int64) int64 {
	e.t.Helper()
	r := e.do("POST", "/api/v1/pacotes", map[string]any{"descricao": "Pacote", "valor": valor, "id_integracao": integration, "produtos": products, "ativo": active})
	require.Equal(e.t, http.StatusCreated, r.Status, "%s", r.Body)
	return int64(r.JSON(e.t)["id_pacote"].(float64))
}

// --- integrações ---

func TestIntegrationValidation(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect, apiOnly())
		cases := []struct {
			name   string
			body   map[string]any
			status int
			fields []string
		}{
			{"missing descricao", validIntegration(func(m map[string]any) { delete(m, "descricao") }), 422, []string{"descricao"}},
			{"blank descricao", validIntegration(func(m map[string]any) { m["descricao"] = "   " }), 422, []string{"descricao"}},
			{"missing plataforma", validIntegration(func(m map[string]any) { delete(m, "plataforma") }), 422, []string{"plataforma"}},
			{"missing client_id", validIntegration(func(m map[string]any) { delete(params(m), "client_id") }), 422, []string{"parametros.client_id"}},
			{"missing client_secret", validIntegration(func(m map[string]any) { delete(params(m), "client_secret") }), 422, []string{"parametros.client_secret"}},
			{"empty client_secret", validIntegration(func(m map[string]any) { params(m)["client_secret"] = "" }), 422, []string{"parametros.client_secret"}},
			{"missing parametros", validIntegration(func(m map[string]any) { delete(m, "parametros") }), 422, []string{"parametros.client_id"}},
			{"bad usuario policy", validIntegration(func(m map[string]any) { params(m)["usuario"] = "apelido" }), 422, []string{"parametros.usuario"}},
			{"url_base ftp", validIntegration(func(m map[string]any) { params(m)["url_base"] = "ftp://qualifica.example" }), 422, []string{"parametros.url_base"}},
			{"url_base not a URL", validIntegration(func(m map[string]any) { params(m)["url_base"] = "qualifica" }), 422, []string{"parametros.url_base"}},
			{"unknown field", validIntegration(func(m map[string]any) { m["senha_mestra"] = "x" }), 400, []string{"senha_mestra"}},
			{"unknown nested field", validIntegration(func(m map[string]any) { params(m)["token"] = "x" }), 400, []string{"parametros.token"}},
			{"ativo as string", validIntegration(func(m map[string]any) { m["ativo"] = "sim" }), 400, []string{"ativo"}},
			{"suspender_inadimplencia as number", validIntegration(func(m map[string]any) { m["suspender_inadimplencia"] = 1 }), 400, []string{"suspender_inadimplencia"}},
			{"client_id as number", validIntegration(func(m map[string]any) { params(m)["client_id"] = 42 }), 400, []string{"parametros.client_id"}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				requireProblem(t, e.do("POST", "/api/v1/integracoes", tc.body), tc.status, tc.fields...)
			})
		}
		// Nothing was stored by the rejected requests.
		r := e.do("GET", "/api/v1/integracoes", nil)
		require.Equal(t, http.StatusOK, r.Status)
		require.EqualValues(t, 0, r.JSON(t)["paginacao"].(map[string]any)["total_registros"])
	})
}

func TestIntegrationUnknownPlatform(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		// The registry of adapters lives in the platform layer: use the wired app.
		e := newHarness(t, dialect)
		r := e.do("POST", "/api/v1/integracoes", validIntegration(func(m map[string]any) { m["plataforma"] = "netflix" }))
		requireProblem(t, r, 422, "plataforma")
	})
}

func TestIntegrationMalformedRequests(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect, apiOnly())
		id := e.mkIntegration("base")
		for _, method := range []string{"POST", "PUT"} {
			path := "/api/v1/integracoes"
			if method == "PUT" {
				path = fmt.Sprintf("/api/v1/integracoes/%d", id)
			}
			t.Run(method, func(t *testing.T) {
				requireProblem(t, e.do(method, path, `{"descricao": "x", "plataforma": qualifica}`), 400)
				requireProblem(t, e.do(method, path, `{"descricao": "x", "plataforma": "qualifica"`), 400)
				requireProblem(t, e.do(method, path, `{"descricao": "x"} {"descricao": "y"}`), 400)
				requireProblem(t, e.do(method, path, `[]`), 400)
				requireProblem(t, e.do(method, path, ``), 400)
				requireProblem(t, e.do(method, path, "{\"descricao\": \"\xff\xfe\"}"), 400)
				requireProblem(t, e.doWith(e.key, "text/plain", method, path, `{"descricao": "x"}`), 415)
				requireProblem(t, e.doWith(e.key, "application/x-www-form-urlencoded", method, path, `descricao=x`), 415)
				requireProblem(t, e.doWith(e.key, "", method, path, `{"descricao": "x"}`), 415)

				big := `{"descricao": "` + strings.Repeat("a", 1<<20) + `"}`
				requireProblem(t, e.do(method, path, big), 413)
			})
		}
		// JSON with a charset parameter is JSON.
		r := e.doWith(e.key, "application/json; charset=utf-8", "POST", "/api/v1/integracoes", validIntegration(nil))
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	})
}

func TestIntegrationIDs(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect, apiOnly())
		e.mkIntegration("existe")
		for _, path := range []string{"/api/v1/integracoes/999", "/api/v1/integracoes/999/produtos"} {
			requireProblem(t, e.do("GET", path, nil), 404)
		}
		requireProblem(t, e.do("PUT", "/api/v1/integracoes/999", validIntegration(nil)), 404)
		requireProblem(t, e.do("DELETE", "/api/v1/integracoes/999", nil), 404)
		for _, bad := range []string{"abc", "0", "-1", "1.5", "99999999999999999999"} {
			t.Run(bad, func(t *testing.T) {
				path := "/api/v1/integracoes/" + bad
				requireProblem(t, e.do("GET", path, nil), 400, "id")
				requireProblem(t, e.do("PUT", path, validIntegration(nil)), 400, "id")
				requireProblem(t, e.do("DELETE", path, nil), 400, "id")
				requireProblem(t, e.do("POST", path+"/produtos", map[string]any{"descricao": "x", "codigo": "pro"}), 400, "id")
			})
		}
	})
}

func TestIntegrationSecretHandling(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect, apiOnly())
		ctx := context.Background()
		const secretValue = "Segr3do-Muito-Secreto-XYZ"
		var bodies [][]byte
		keep := func(r response) response { bodies = append(bodies, r.Body); return r }

		r := keep(e.do("POST", "/api/v1/integracoes", validIntegration(func(m map[string]any) { params(m)["client_secret"] = secretValue })))
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		m := r.JSON(t)
		id := int64(m["id_integracao"].(float64))
		require.Equal(t, fmt.Sprintf("/api/v1/integracoes/%d", id), r.Header.Get("Location"))
		requireIntegrationShape(t, m)
		require.Equal(t, "svahub-test", m["parametros"].(map[string]any)["client_id"])
		require.Equal(t, "login_autenticacao", m["parametros"].(map[string]any)["usuario"])
		require.Equal(t, true, m["suspender_inadimplencia"])

		// PUT without client_secret keeps it.
		r = keep(e.do("PUT", fmt.Sprintf("/api/v1/integracoes/%d", id), validIntegration(func(m map[string]any) {
			m["descricao"] = "Qualifica filial"
			delete(params(m), "client_secret")
		})))
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		m = r.JSON(t)
		requireIntegrationShape(t, m)
		require.Equal(t, "Qualifica filial", m["descricao"])

		r = keep(e.do("GET", fmt.Sprintf("/api/v1/integracoes/%d", id), nil))
		require.Equal(t, http.StatusOK, r.Status)
		requireIntegrationShape(t, r.JSON(t))
		r = keep(e.do("GET", "/api/v1/integracoes", nil))
		require.Equal(t, http.StatusOK, r.Status)
		items := r.JSON(t)["itens"].([]any)
		require.Len(t, items, 1)
		requireIntegrationShape(t, items[0].(map[string]any))

		creds, err := e.db.Credentials(ctx, id)
		require.NoError(t, err)
		require.Equal(t, secretValue, creds.Params["client_secret"])

		// The raw column is sealed: not the plaintext, and it opens with the
		// database's key to the plaintext.
		var sealed string
		require.NoError(t, e.db.SQL().QueryRowContext(ctx, "SELECT value_sealed FROM integration_secrets WHERE integration_id = $1", id).Scan(&sealed))
		require.NotEmpty(t, sealed)
		require.NotContains(t, sealed, secretValue)
		box, err := secret.NewBox(storetest.Key)
		require.NoError(t, err)
		opened, err := box.Open(sealed)
		require.NoError(t, err)
		require.Equal(t, secretValue, opened)

		// No text column of the integrations table holds the plaintext.
		requireNotInTable(t, e.db.SQL(), "integrations", secretValue)

		// A validation failure on a body carrying the secret does not echo it.
		keep(requireProblemResp(t, e.do("POST", "/api/v1/integracoes", validIntegration(func(m map[string]any) {
			params(m)["client_secret"] = secretValue
			params(m)["usuario"] = "x"
		})), 422))

		// PUT with a new secret replaces it.
		const secret2 = "Outro-Segredo-ABC-987"
		r = keep(e.do("PUT", fmt.Sprintf("/api/v1/integracoes/%d", id), validIntegration(func(m map[string]any) { params(m)["client_secret"] = secret2 })))
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		requireIntegrationShape(t, r.JSON(t))
		creds, err = e.db.Credentials(ctx, id)
		require.NoError(t, err)
		require.Equal(t, secret2, creds.Params["client_secret"])
		requireNotInTable(t, e.db.SQL(), "integrations", secret2)

		for _, b := range bodies {
			require.NotContains(t, string(b), secretValue)
			require.NotContains(t, string(b), secret2)
			require.NotContains(t, string(b), `"client_secret"`)
		}
		e.srv.Close() // waits for in-flight requests, so the log is complete
		logs := e.Logs()
		require.NotEmpty(t, logs)
		require.NotContains(t, logs, secretValue)
		require.NotContains(t, logs, secret2)
	})
}

// requireIntegrationShape checks the integration resource: never the secret,
// client_secret_definido true, and a token block that is pendente (the test
// server has no platform adapter).
func requireIntegrationShape(t *testing.T, m map[string]any) {
	t.Helper()
	for _, k := range []string{"id_integracao", "descricao", "plataforma", "parametros", "suspender_inadimplencia", "ativo", "token", "data_cadastro", "data_atualizacao"} {
		require.Contains(t, m, k)
	}
	p := m["parametros"].(map[string]any)
	require.NotContains(t, p, "client_secret")
	require.NotContains(t, m, "client_secret")
	require.Equal(t, true, p["client_secret_definido"])
	tok, ok := m["token"].(map[string]any)
	require.True(t, ok, "token block: %v", m["token"])
	require.Equal(t, "pendente", tok["status"])
	require.NotContains(t, tok, "access_token")
	require.NotContains(t, tok, "token")
}

// requireProblemResp is requireProblem returning the response.
func requireProblemResp(t *testing.T, r response, status int, fields ...string) response {
	t.Helper()
	requireProblem(t, r, status, fields...)
	return r
}

// requireNotInTable scans every text value of every row of table.
func requireNotInTable(t *testing.T, db *sql.DB, table, needle string) {
	t.Helper()
	n := eachRow(t, db, "SELECT * FROM "+table, func(cols []string, vals []any) {
		for i, v := range vals {
			var s string
			switch x := v.(type) {
			case string:
				s = x
			case []byte:
				s = string(x)
			default:
				continue
			}
			require.NotContains(t, s, needle, "column %s of %s", cols[i], table)
		}
	})
	require.Positive(t, n, "table %s is empty", table)
}

func TestIntegrationDeleteRules(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect, apiOnly())
		a := e.mkIntegration("a")
		prod := e.addProduct(a, "pro")
		pkg := e.mkPackage(a, "29.90", true, prod)
		p := requireProblem(t, e.do("DELETE", fmt.Sprintf("/api/v1/integracoes/%d", a), nil), 409)
		require.Equal(t, "urn:svahub:problema:conflito", p["type"])
		// Still there.
		require.Equal(t, http.StatusOK, e.do("GET", fmt.Sprintf("/api/v1/integracoes/%d", a), nil).Status)

		require.Equal(t, http.StatusNoContent, e.do("DELETE", fmt.Sprintf("/api/v1/pacotes/%d", pkg), nil).Status)
		r := e.do("DELETE", fmt.Sprintf("/api/v1/integracoes/%d", a), nil)
		require.Equal(t, http.StatusNoContent, r.Status, "%s", r.Body)
		require.Empty(t, r.Body)
		requireProblem(t, e.do("GET", fmt.Sprintf("/api/v1/integracoes/%d", a), nil), 404)
		requireProblem(t, e.do("GET", fmt.Sprintf("/api/v1/produtos/%d", prod), nil), 404)
		requireProblem(t, e.do("DELETE", fmt.Sprintf("/api/v1/integracoes/%d", a), nil), 404)
	})
}

// --- produtos ---

func TestProductCodeRules(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect, apiOnly())
		integ := e.mkIntegration("a")
		path := fmt.Sprintf("/api/v1/integracoes/%d/produtos", integ)

		valid := []struct{ in, want string }{
			{"pro", "pro"},
			{"premium", "premium"},
			{"1001", "1001"},
			{"Curso_Excel-2", "Curso_Excel-2"},
			{" avancado ", "avancado"},
			{strings.Repeat("x", 64), strings.Repeat("x", 64)},
		}
		for _, tc := range valid {
			t.Run("valid "+tc.in, func(t *testing.T) {
				r := e.do("POST", path, map[string]any{"descricao": "Produto", "codigo": tc.in})
				require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
				m := r.JSON(t)
				require.Equal(t, tc.want, m["codigo"])
				require.EqualValues(t, integ, m["id_integracao"])
				require.Equal(t, false, m["verificado"])
				require.Equal(t, fmt.Sprintf("/api/v1/produtos/%v", m["id_produto"]), r.Header.Get("Location"))
			})
		}
		// " pro " trims to an existing code.
		requireProblem(t, e.do("POST", path, map[string]any{"descricao": "Produto", "codigo": " pro "}), 409, "codigo")

		invalid := map[string]string{
			"empty":    "",
			"blank":    "   ",
			"space":    "a b",
			"accent":   "ção",
			"65 chars": strings.Repeat("x", 65),
			"slash":    "pro/1",
			"dot":      "pro.1",
			"tab":      "a\tb",
			"emoji":    "pro😀",
			"nul":      "pro\x00",
		}
		for name, code := range invalid {
			t.Run("invalid "+name, func(t *testing.T) {
				requireProblem(t, e.do("POST", path, map[string]any{"descricao": "Produto", "codigo": code}), 422, "codigo")
			})
		}
		requireProblem(t, e.do("POST", path, `{"descricao": "Produto", "codigo": 1001}`), 400, "codigo")
		requireProblem(t, e.do("POST", path, map[string]any{"descricao": "Produto"}), 422, "codigo")
		requireProblem(t, e.do("POST", path, map[string]any{"codigo": "novo"}), 422, "descricao")
		requireProblem(t, e.do("POST", path, map[string]any{"descricao": "Produto", "codigo": "novo", "verificado": true}), 400, "verificado")

		// PUT applies the same rules.
		id := e.addProduct(integ, "basico")
		requireProblem(t, e.do("PUT", fmt.Sprintf("/api/v1/produtos/%d", id), map[string]any{"descricao": "Produto", "codigo": "a b"}), 422, "codigo")
		requireProblem(t, e.do("PUT", fmt.Sprintf("/api/v1/produtos/%d", id), map[string]any{"descricao": "Produto", "codigo": "premium"}), 409, "codigo")
		requireProblem(t, e.do("PUT", "/api/v1/produtos/999", map[string]any{"descricao": "Produto", "codigo": "zzz"}), 404)
		requireProblem(t, e.do("PUT", "/api/v1/produtos/abc", map[string]any{"descricao": "Produto", "codigo": "zzz"}), 400, "id")
		r := e.do("PUT", fmt.Sprintf("/api/v1/produtos/%d", id), map[string]any{"descricao": "Básico 2", "codigo": "basico2"})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		require.Equal(t, "basico2", r.JSON(t)["codigo"])
	})
}

func TestProductUniquenessAndOwnership(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect, apiOnly())
		a, b := e.mkIntegration("a"), e.mkIntegration("b")
		e.addProduct(a, "pro")
		p := requireProblem(t, e.do("POST", fmt.Sprintf("/api/v1/integracoes/%d/produtos", a), map[string]any{"descricao": "Outro", "codigo": "pro"}), 409, "codigo")
		require.Equal(t, "urn:svahub:problema:conflito", p["type"])
		// The same code under another integration is fine.
		e.addProduct(b, "pro")
		// Codes are case-sensitive platform identifiers.
		e.addProduct(a, "PRO")

		requireProblem(t, e.do("POST", "/api/v1/integracoes/999/produtos", map[string]any{"descricao": "x", "codigo": "pro"}), 404)
		requireProblem(t, e.do("GET", "/api/v1/integracoes/999/produtos", nil), 404)
		requireProblem(t, e.do("GET", "/api/v1/produtos/999", nil), 404)
		requireProblem(t, e.do("DELETE", "/api/v1/produtos/999", nil), 404)
		requireProblem(t, e.do("GET", "/api/v1/produtos/0", nil), 400, "id")

		r := e.do("GET", fmt.Sprintf("/api/v1/integracoes/%d/produtos", a), nil)
		require.Equal(t, http.StatusOK, r.Status)
		require.Len(t, r.JSON(t)["itens"], 2)
		r = e.do("GET", fmt.Sprintf("/api/v1/integracoes/%d/produtos", b), nil)
		require.Len(t, r.JSON(t)["itens"], 1)
	})
}

func TestProductDeleteInUse(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect, apiOnly())
		integ := e.mkIntegration("a")
		used, free := e.addProduct(integ, "pro"), e.addProduct(integ, "premium")
		pkg := e.mkPackage(integ, "10.00", true, used)
		requireProblem(t, e.do("DELETE", fmt.Sprintf("/api/v1/produtos/%d", used), nil), 409)
		require.Equal(t, http.StatusOK, e.do("GET", fmt.Sprintf("/api/v1/produtos/%d", used), nil).Status)

		r := e.do("DELETE", fmt.Sprintf("/api/v1/produtos/%d", free), nil)
		require.Equal(t, http.StatusNoContent, r.Status, "%s", r.Body)
		requireProblem(t, e.do("GET", fmt.Sprintf("/api/v1/produtos/%d", free), nil), 404)

		require.Equal(t, http.StatusNoContent, e.do("DELETE", fmt.Sprintf("/api/v1/pacotes/%d", pkg), nil).Status)
		require.Equal(t, http.StatusNoContent, e.do("DELETE", fmt.Sprintf("/api/v1/produtos/%d", used), nil).Status)
	})
}

// --- pacotes ---

func TestPackageValor(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect, apiOnly())
		integ := e.mkIntegration("a")
		prod := e.addProduct(integ, "pro")
		body := func(valor any) map[string]any {
			return map[string]any{"descricao": "Pacote", "valor": valor, "id_integracao": integ, "produtos": []int64{prod}}
		}
		invalid := []string{"29.9", "-1.00", "1.234", "abc", "", "   ", "29,90", "1e2", "+1.00", ".50", "29.", "100000000.00", "NaN"}
		for _, v := range invalid {
			t.Run("valor "+v, func(t *testing.T) {
				p := requireProblem(t, e.do("POST", "/api/v1/pacotes", body(v)), 422, "valor")
				require.Equal(t, "urn:svahub:problema:dados-invalidos", p["type"])
			})
		}
		// A JSON number is a type error, not a validation error.
		requireProblem(t, e.do("POST", "/api/v1/pacotes", body(29.90)), 400, "valor")
		requireProblem(t, e.do("POST", "/api/v1/pacotes", `{"descricao": "Pacote", "valor": 29.90, "id_integracao": 1, "produtos": [1]}`), 400, "valor")
		requireProblem(t, e.do("POST", "/api/v1/pacotes", body(true)), 400, "valor")
		// Missing valor is required.
		b := body("1.00")
		delete(b, "valor")
		requireProblem(t, e.do("POST", "/api/v1/pacotes", b), 422, "valor")

		for _, v := range []string{"29.90", "0.00", "0.01", "99999999.99", "1000.00"} {
			t.Run("valid "+v, func(t *testing.T) {
				r := e.do("POST", "/api/v1/pacotes", body(v))
				require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
				m := r.JSON(t)
				require.Equal(t, v, m["valor"], "valor is returned as the same string")
				require.Equal(t, fmt.Sprintf("/api/v1/pacotes/%v", m["id_pacote"]), r.Header.Get("Location"))
				g := e.do("GET", r.Header.Get("Location"), nil)
				require.Equal(t, http.StatusOK, g.Status)
				require.Equal(t, v, g.JSON(t)["valor"])
			})
		}
	})
}

func TestPackageProducts(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect, apiOnly())
		a, b := e.mkIntegration("a"), e.mkIntegration("b")
		var aProds []int64
		for i := range 11 {
			aProds = append(aProds, e.addProduct(a, fmt.Sprintf("p%d", i)))
		}
		bProd := e.addProduct(b, "pro")
		body := func(integ int64, prods any) map[string]any {
			return map[string]any{"descricao": "Pacote", "valor": "29.90", "id_integracao": integ, "produtos": prods}
		}
		cases := []struct {
			name   string
			body   map[string]any
			status int
			fields []string
		}{
			{"no products", body(a, []int64{}), 422, []string{"produtos"}},
			{"null products", body(a, nil), 422, []string{"produtos"}},
			{"11 products", body(a, aProds), 422, []string{"produtos"}},
			{"duplicate products", body(a, []int64{aProds[0], aProds[1], aProds[0]}), 422, []string{"produtos"}},
			{"product of another integration", body(a, []int64{bProd}), 422, []string{"produtos[0]"}},
			{"second product of another integration", body(a, []int64{aProds[0], bProd}), 422, []string{"produtos[1]"}},
			{"unknown product", body(a, []int64{999}), 422, []string{"produtos[0]"}},
			{"zero product id", body(a, []int64{0}), 422, []string{"produtos[0]"}},
			{"unknown integration", body(999, []int64{aProds[0]}), 422, []string{"id_integracao"}},
			{"zero integration", body(0, []int64{aProds[0]}), 422, []string{"id_integracao"}},
			{"products as strings", body(a, []string{"1"}), 400, []string{"produtos"}},
			{"products as number", body(a, 1), 400, []string{"produtos"}},
			{"integration as string", body(a, []int64{aProds[0]}), 0, nil}, // replaced below
			{"missing descricao", map[string]any{"valor": "1.00", "id_integracao": a, "produtos": []int64{aProds[0]}}, 422, []string{"descricao"}},
			{"codigo too long", map[string]any{"descricao": "x", "codigo": strings.Repeat("c", 65), "valor": "1.00", "id_integracao": a, "produtos": []int64{aProds[0]}}, 422, []string{"codigo"}},
			{"unknown field", map[string]any{"descricao": "x", "valor": "1.00", "id_integracao": a, "produtos": []int64{aProds[0]}, "preco": "1.00"}, 400, []string{"preco"}},
			{"ativo as string", map[string]any{"descricao": "x", "valor": "1.00", "id_integracao": a, "produtos": []int64{aProds[0]}, "ativo": "true"}, 400, []string{"ativo"}},
		}
		cases[12].body = map[string]any{"descricao": "x", "valor": "1.00", "id_integracao": fmt.Sprint(a), "produtos": []int64{aProds[0]}}
		cases[12].status, cases[12].fields = 400, []string{"id_integracao"}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				requireProblem(t, e.do("POST", "/api/v1/pacotes", tc.body), tc.status, tc.fields...)
			})
		}

		// 10 products is the maximum and is accepted; order is kept and
		// products are returned as objects.
		r := e.do("POST", "/api/v1/pacotes", map[string]any{"descricao": "Dez", "codigo": "DEZ", "valor": "49.90", "id_integracao": a, "produtos": aProds[:10]})
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		m := r.JSON(t)
		require.Equal(t, "49.90", m["valor"])
		require.Equal(t, "DEZ", m["codigo"])
		require.Equal(t, true, m["ativo"], "ativo defaults to true")
		prods := m["produtos"].([]any)
		require.Len(t, prods, 10)
		for i, p := range prods {
			pm := p.(map[string]any)
			require.EqualValues(t, aProds[i], pm["id_produto"])
			require.Equal(t, fmt.Sprintf("p%d", i), pm["codigo"])
			require.Equal(t, fmt.Sprintf("Produto p%d", i), pm["descricao"])
		}

		// PUT applies the same rules.
		id := int64(m["id_pacote"].(float64))
		requireProblem(t, e.do("PUT", fmt.Sprintf("/api/v1/pacotes/%d", id), body(a, []int64{bProd})), 422, "produtos[0]")
		requireProblem(t, e.do("PUT", fmt.Sprintf("/api/v1/pacotes/%d", id), map[string]any{"descricao": "x", "valor": "1.5", "id_integracao": a, "produtos": []int64{aProds[0]}}), 422, "valor")
		requireProblem(t, e.do("PUT", "/api/v1/pacotes/999", body(a, []int64{aProds[0]})), 404)
		requireProblem(t, e.do("PUT", "/api/v1/pacotes/abc", body(a, []int64{aProds[0]})), 400, "id")
		// Moving a package without subscriptions to another integration is fine.
		r = e.do("PUT", fmt.Sprintf("/api/v1/pacotes/%d", id), map[string]any{"descricao": "Movido", "valor": "5.00", "id_integracao": b, "produtos": []int64{bProd}})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		m = r.JSON(t)
		require.EqualValues(t, b, m["id_integracao"])
		require.Equal(t, "5.00", m["valor"])
		require.Len(t, m["produtos"], 1)
	})
}

func TestPackageListFilters(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect, apiOnly())
		a, b := e.mkIntegration("a"), e.mkIntegration("b")
		pa, pb := e.addProduct(a, "pro"), e.addProduct(b, "pro")
		a1 := e.mkPackage(a, "29.90", true, pa)
		a2 := e.mkPackage(a, "0.00", false, pa)
		b1 := e.mkPackage(b, "9.90", true, pb)

		ids := func(query string) []int64 {
			t.Helper()
			r := e.do("GET", "/api/v1/pacotes"+query, nil)
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			m := r.JSON(t)
			var out []int64
			for _, it := range m["itens"].([]any) {
				out = append(out, int64(it.(map[string]any)["id_pacote"].(float64)))
			}
			require.EqualValues(t, len(out), m["paginacao"].(map[string]any)["total_registros"])
			return out
		}
		require.Equal(t, []int64{a1, a2, b1}, ids(""))
		require.Equal(t, []int64{a1, a2}, ids(fmt.Sprintf("?id_integracao=%d", a)))
		require.Equal(t, []int64{b1}, ids(fmt.Sprintf("?id_integracao=%d", b)))
		require.Equal(t, []int64{a1, b1}, ids("?ativo=true"))
		require.Equal(t, []int64{a2}, ids("?ativo=false"))
		require.Equal(t, []int64{a1}, ids(fmt.Sprintf("?id_integracao=%d&ativo=true", a)))
		require.Empty(t, ids("?id_integracao=999"))

		for q, field := range map[string]string{
			"?ativo=sim":         "ativo",
			"?ativo=1":           "ativo",
			"?ativo=TRUE":        "ativo",
			"?id_integracao=x":   "id_integracao",
			"?id_integracao=0":   "id_integracao",
			"?id_integracao=-1":  "id_integracao",
			"?id_integracao=1.5": "id_integracao",
		} {
			t.Run(q, func(t *testing.T) {
				p := requireProblem(t, e.do("GET", "/api/v1/pacotes"+q, nil), 400, field)
				require.Equal(t, "urn:svahub:problema:requisicao-invalida", p["type"])
			})
		}

		// The benefit package returns "0.00" and its products as objects.
		r := e.do("GET", fmt.Sprintf("/api/v1/pacotes/%d", a2), nil)
		require.Equal(t, http.StatusOK, r.Status)
		m := r.JSON(t)
		require.Equal(t, "0.00", m["valor"])
		require.Equal(t, false, m["ativo"])
		require.Equal(t, []any{map[string]any{"id_produto": float64(pa), "codigo": "pro", "descricao": "Produto pro"}}, m["produtos"])

		requireProblem(t, e.do("GET", "/api/v1/pacotes/999", nil), 404)
		requireProblem(t, e.do("GET", "/api/v1/pacotes/abc", nil), 400, "id")
		requireProblem(t, e.do("DELETE", "/api/v1/pacotes/999", nil), 404)
	})
}

func TestPackageDeleteRules(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect, apiOnly())
		integ := e.mkIntegration("a")
		prod := e.addProduct(integ, "pro")
		pkg := e.mkPackage(integ, "29.90", true, prod)
		r := e.do("PUT", "/api/v1/planos/500", map[string]any{"descricao": "Fibra 500", "pacotes": []int64{pkg}})
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)

		requireProblem(t, e.do("DELETE", fmt.Sprintf("/api/v1/pacotes/%d", pkg), nil), 409)
		requireProblem(t, e.do("DELETE", fmt.Sprintf("/api/v1/integracoes/%d", integ), nil), 409)
		requireProblem(t, e.do("DELETE", fmt.Sprintf("/api/v1/produtos/%d", prod), nil), 409)

		// Taking the package out of the plan frees it.
		r = e.do("PUT", "/api/v1/planos/500", map[string]any{"descricao": "Fibra 500", "pacotes": []int64{}})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		r = e.do("DELETE", fmt.Sprintf("/api/v1/pacotes/%d", pkg), nil)
		require.Equal(t, http.StatusNoContent, r.Status, "%s", r.Body)
		requireProblem(t, e.do("GET", fmt.Sprintf("/api/v1/pacotes/%d", pkg), nil), 404)
		require.Equal(t, http.StatusNoContent, e.do("DELETE", fmt.Sprintf("/api/v1/integracoes/%d", integ), nil).Status)
	})
}

// --- planos ---

func TestPlanRules(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect, apiOnly())
		integ := e.mkIntegration("a")
		prod := e.addProduct(integ, "pro")
		p1 := e.mkPackage(integ, "29.90", true, prod)
		p2 := e.mkPackage(integ, "0.00", true, prod)

		r := e.do("PUT", "/api/v1/planos/500", map[string]any{"descricao": "Fibra 500", "pacotes": []int64{p1}})
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		require.Equal(t, "/api/v1/planos/500", r.Header.Get("Location"))
		m := r.JSON(t)
		require.EqualValues(t, 500, m["id_servico"])
		require.Equal(t, "Fibra 500", m["descricao"])
		require.Len(t, m["pacotes"], 1)
		item := m["pacotes"].([]any)[0].(map[string]any)
		require.EqualValues(t, p1, item["id_pacote"])
		require.Equal(t, "29.90", item["valor"])

		r = e.do("PUT", "/api/v1/planos/500", map[string]any{"descricao": "Fibra 500 Mega", "pacotes": []int64{p2, p1}})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		m = r.JSON(t)
		require.Equal(t, "Fibra 500 Mega", m["descricao"])
		got := m["pacotes"].([]any)
		require.Len(t, got, 2)
		require.EqualValues(t, p2, got[0].(map[string]any)["id_pacote"])
		require.Equal(t, "0.00", got[0].(map[string]any)["valor"])

		// A plan without packages is a plain internet plan.
		r = e.do("PUT", "/api/v1/planos/100", map[string]any{"descricao": "Fibra 100"})
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		require.Equal(t, []any{}, r.JSON(t)["pacotes"])

		cases := []struct {
			name   string
			path   string
			body   any
			status int
			fields []string
		}{
			{"unknown package", "/api/v1/planos/600", map[string]any{"descricao": "x", "pacotes": []int64{999}}, 422, []string{"pacotes[0]"}},
			{"second package unknown", "/api/v1/planos/600", map[string]any{"descricao": "x", "pacotes": []int64{p1, 999}}, 422, []string{"pacotes[1]"}},
			{"duplicate packages", "/api/v1/planos/600", map[string]any{"descricao": "x", "pacotes": []int64{p1, p1}}, 422, []string{"pacotes"}},
			{"zero package id", "/api/v1/planos/600", map[string]any{"descricao": "x", "pacotes": []int64{0}}, 422, []string{"pacotes[0]"}},
			{"missing descricao", "/api/v1/planos/600", map[string]any{"pacotes": []int64{p1}}, 422, []string{"descricao"}},
			{"unknown field", "/api/v1/planos/600", map[string]any{"descricao": "x", "valor": "1.00"}, 400, []string{"valor"}},
			{"pacotes as string", "/api/v1/planos/600", map[string]any{"descricao": "x", "pacotes": "1"}, 400, []string{"pacotes"}},
			{"id abc", "/api/v1/planos/abc", map[string]any{"descricao": "x"}, 400, []string{"id"}},
			{"id 0", "/api/v1/planos/0", map[string]any{"descricao": "x"}, 400, []string{"id"}},
			{"malformed", "/api/v1/planos/600", `{"descricao": `, 400, nil},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				requireProblem(t, e.do("PUT", tc.path, tc.body), tc.status, tc.fields...)
			})
		}
		requireProblem(t, e.do("GET", "/api/v1/planos/600", nil), 404) // nothing half-created

		r = e.do("GET", "/api/v1/planos", nil)
		require.Equal(t, http.StatusOK, r.Status)
		m = r.JSON(t)
		require.Len(t, m["itens"], 2)
		require.EqualValues(t, 2, m["paginacao"].(map[string]any)["total_registros"])
		require.EqualValues(t, 100, m["itens"].([]any)[0].(map[string]any)["id_servico"])

		r = e.do("GET", "/api/v1/planos/500", nil)
		require.Equal(t, http.StatusOK, r.Status)
		require.Len(t, r.JSON(t)["pacotes"], 2)

		r = e.do("DELETE", "/api/v1/planos/500", nil)
		require.Equal(t, http.StatusNoContent, r.Status, "%s", r.Body)
		require.Empty(t, r.Body)
		requireProblem(t, e.do("GET", "/api/v1/planos/500", nil), 404)
		requireProblem(t, e.do("DELETE", "/api/v1/planos/500", nil), 404)
		requireProblem(t, e.do("GET", "/api/v1/planos/abc", nil), 400, "id")
		requireProblem(t, e.do("DELETE", "/api/v1/planos/0", nil), 400, "id")
		// Its packages are free again.
		require.Equal(t, http.StatusNoContent, e.do("DELETE", fmt.Sprintf("/api/v1/pacotes/%d", p1), nil).Status)
	})
}

// --- paginação ---

func TestPagination(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect, apiOnly())
		var ids []int64
		for i := range 5 {
			ids = append(ids, e.mkIntegration(fmt.Sprintf("i%d", i)))
		}
		type pag struct{ page, per, total, last int }
		get := func(query string) ([]int64, pag) {
			t.Helper()
			r := e.do("GET", "/api/v1/integracoes"+query, nil)
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			m := r.JSON(t)
			items, ok := m["itens"].([]any)
			require.True(t, ok, "itens is a list: %s", r.Body)
			var out []int64
			for _, it := range items {
				out = append(out, int64(it.(map[string]any)["id_integracao"].(float64)))
			}
			p := m["paginacao"].(map[string]any)
			return out, pag{int(p["pagina_atual"].(float64)), int(p["itens_por_pagina"].(float64)), int(p["total_registros"].(float64)), int(p["ultima_pagina"].(float64))}
		}
		got, p := get("?pagina=0&itens_por_pagina=2")
		require.Equal(t, ids[0:2], got)
		require.Equal(t, pag{0, 2, 5, 2}, p)
		got, p = get("?pagina=1&itens_por_pagina=2")
		require.Equal(t, ids[2:4], got)
		require.Equal(t, pag{1, 2, 5, 2}, p)
		got, p = get("?pagina=2&itens_por_pagina=2")
		require.Equal(t, ids[4:], got)
		require.Equal(t, pag{2, 2, 5, 2}, p)
		got, p = get("?pagina=3&itens_por_pagina=2")
		require.Empty(t, got)
		require.Equal(t, pag{3, 2, 5, 2}, p)
		got, p = get("")
		require.Equal(t, ids, got)
		require.Equal(t, pag{0, 50, 5, 0}, p)
		_, p = get("?itens_por_pagina=500")
		require.Equal(t, pag{0, 500, 5, 0}, p)
		_, p = get("?itens_por_pagina=1")
		require.Equal(t, pag{0, 1, 5, 4}, p)

		for _, path := range []string{"/api/v1/integracoes", "/api/v1/pacotes", "/api/v1/planos", fmt.Sprintf("/api/v1/integracoes/%d/produtos", ids[0])} {
			for q, field := range map[string]string{
				"?itens_por_pagina=0":   "itens_por_pagina",
				"?itens_por_pagina=501": "itens_por_pagina",
				"?itens_por_pagina=x":   "itens_por_pagina",
				"?itens_por_pagina=-5":  "itens_por_pagina",
				"?pagina=-1":            "pagina",
				"?pagina=x":             "pagina",
				"?pagina=1.5":           "pagina",
			} {
				t.Run(path+q, func(t *testing.T) {
					requireProblem(t, e.do("GET", path+q, nil), 400, field)
				})
			}
		}

		// Empty lists are [] with ultima_pagina 0.
		r := e.do("GET", "/api/v1/pacotes", nil)
		require.Equal(t, http.StatusOK, r.Status)
		require.JSONEq(t, `{"itens": [], "paginacao": {"pagina_atual": 0, "itens_por_pagina": 50, "total_registros": 0, "ultima_pagina": 0}}`, string(r.Body))
	})
}
