package httpapi_test

// Hostile input: hundreds of bad requests through the real router, on SQLite
// and PostgreSQL, over a wired app with real ids to aim at. Every one must be
// answered with the right 4xx as application/problem+json, never a 5xx, never
// with internal detail, and the database must be exactly as before.
//
// Status mapping used below (API.md "Errors" and "Conventions"):
//   - 400: the request cannot be read: malformed or truncated JSON, a JSON
//     value of the wrong type (string for number, number for string, array
//     for object…), numbers that do not fit (1e400, 2^63), unknown fields,
//     content after the object, empty body, body that is not an object,
//     invalid UTF-8 or raw control bytes, malformed path ids (0, -1, abc,
//     overflow) and query parameters (pagina, itens_por_pagina, filters,
//     unknown enum values in a query), bad Idempotency-Key headers.
//   - 401/403: no key, a wrong key (SQL text included), a leitura key writing.
//   - 404: a well-formed id that does not exist, a route that does not exist.
//   - 405: an existing route with a method it does not serve.
//   - 413: a body over 1 MiB (declared or chunked).
//   - 415: a body that is not application/json (or +json).
//   - 422: JSON of the right shape whose values break a rule: null or empty
//     required fields, negative ids, money with 3 decimals or a sign, invalid
//     dates, CPF/CNPJ with bad check digits, unknown enum values in a body,
//     ids in a body that name nothing, too long or NUL-carrying text.
//
// Text that is merely suspicious ('; DROP TABLE…, <script>) is valid in free
// text fields (descricao, login, nome…): those requests succeed, and are run
// in a separate subtest after the "database unchanged" check, asserting the
// text is stored verbatim and answered JSON-escaped.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/pkg/qualifica/qualificasim"
)

// hoInjections are SQL and script injection strings.
var hoInjections = []string{
	`'; DROP TABLE services; --`,
	`1 OR 1=1`,
	`<script>alert(1)</script>`,
}

// hoAppTables are the application tables compared before and after.
var hoAppTables = []string{
	"integrations", "products", "packages", "package_products", "plans", "plan_packages",
	"services", "subscriptions", "accesses", "platform_accounts", "platform_plans",
}

// hoCase is one hostile request.
type hoCase struct {
	name   string
	method string
	path   string
	// ct is the Content-Type; "" means application/json when there is a
	// body, "-" means no Content-Type header at all.
	ct string
	// body is nil, a string or []byte (sent verbatim) or a value (JSON).
	body any
	// auth is "" for the escrita key, "-" for none, "ro" for the leitura
	// key, anything else is sent as the bearer token.
	auth    string
	headers map[string]string
	// chunked sends the body without Content-Length.
	chunked bool
	want    int
}

// hoIDs are the real ids the table aims at.
type hoIDs struct {
	integ, prod, pkg, plan, svc, sub int64
	simURL                           string
}

// hoSetup builds one valid integration, product, package, plan and service
// (with its combo subscription active on the platform).
func hoSetup(t *testing.T, e *harness) hoIDs {
	t.Helper()
	ids := hoIDs{simURL: e.sim.URL()}
	ids.integ = idOf(e.createIntegration(nil, nil), "id_integracao")
	r := e.do("POST", path("/api/v1/integracoes/%d/produtos", ids.integ), map[string]any{"descricao": "Qualifica Pro", "codigo": "pro"})
	require.Equal(t, 201, r.Status, "%s", r.Body)
	ids.prod = idOf(r.JSON(t), "id_produto")
	r = e.do("POST", "/api/v1/pacotes", map[string]any{"descricao": "Pacote Pro", "codigo": "QPRO", "valor": "29.90", "id_integracao": ids.integ, "produtos": []int64{ids.prod}})
	require.Equal(t, 201, r.Status, "%s", r.Body)
	ids.pkg = idOf(r.JSON(t), "id_pacote")
	ids.plan = 10
	r = e.do("PUT", path("/api/v1/planos/%d", ids.plan), map[string]any{"descricao": "Fibra + Pro", "pacotes": []int64{ids.pkg}})
	require.Equal(t, 201, r.Status, "%s", r.Body)
	ids.svc = 5001
	r = e.putService(ids.svc, map[string]any{"id_servico": ids.plan})
	require.Equal(t, 201, r.Status, "%s", r.Body)
	subs, _ := r.JSON(t)["pacotes"].([]any)
	require.Len(t, subs, 1, "%s", r.Body)
	ids.sub = int64(subs[0].(map[string]any)["id_assinatura"].(float64))
	e.waitStatus(ids.sub, "ativo")
	return ids
}

// hoTemplate is a valid body of one write route, built fresh on each call.
type hoTemplate struct {
	name     string
	method   string
	path     string
	body     func() map[string]any
	required []string // fields whose null/absence is a 422
	// blank: PUT semantics (API.md Additions): an omitted or null member
	// keeps its stored value, so these fields are 422 only when sent blank
	// ("", 0, []).
	blank []string
}

func hoTemplates(ids hoIDs) []hoTemplate {
	integration := func() map[string]any {
		return map[string]any{"descricao": "Hostil", "plataforma": "qualifica", "suspender_inadimplencia": false, "ativo": true,
			"parametros": map[string]any{"client_id": qualificasim.DefaultClientID, "client_secret": "outro-segredo", "usuario": "login_autenticacao",
				"url_base": ids.simURL, "limite_requisicoes_por_segundo": 10}}
	}
	product := func() map[string]any { return map[string]any{"descricao": "Premium", "codigo": "premium"} }
	pkg := func() map[string]any {
		return map[string]any{"descricao": "Outro", "codigo": "OUT", "valor": "10.00", "id_integracao": ids.integ, "produtos": []any{ids.prod}, "ativo": true}
	}
	plan := func() map[string]any { return map[string]any{"descricao": "Plano hostil", "pacotes": []any{ids.pkg}} }
	service := func() map[string]any {
		return map[string]any{"id_servico": ids.plan, "login": "outro", "senha": "outra", "status_prefixo": "suspenso_pedido_cliente",
			"cliente": map[string]any{"id_cliente": 7, "codigo_cliente": "C7", "nome_razaosocial": "João", "cpf_cnpj": "529.982.247-25",
				"email_principal": "joao@example.com", "telefone_primario": "11988887777"}}
	}
	status := func() map[string]any { return map[string]any{"status_prefixo": "cancelado"} }
	batch := func() map[string]any {
		return map[string]any{"itens": []any{map[string]any{"id_cliente_servico": ids.svc, "status_prefixo": "cancelado"}}}
	}
	attach := func() map[string]any { return map[string]any{"id_pacote": ids.pkg, "data_expiracao": "2099-01-01"} }
	expiry := func() map[string]any { return map[string]any{"data_expiracao": "2099-01-01"} }
	return []hoTemplate{
		{"integracao-criar", "POST", "/api/v1/integracoes", integration, []string{"descricao", "plataforma", "parametros", "parametros.client_id", "parametros.client_secret"}, nil},
		{"integracao-alterar", "PUT", path("/api/v1/integracoes/%d", ids.integ), integration, nil, []string{"descricao", "plataforma", "parametros.client_id"}},
		{"produto-criar", "POST", path("/api/v1/integracoes/%d/produtos", ids.integ), product, []string{"descricao", "codigo"}, nil},
		{"produto-alterar", "PUT", path("/api/v1/produtos/%d", ids.prod), product, []string{"descricao", "codigo"}, nil},
		{"pacote-criar", "POST", "/api/v1/pacotes", pkg, []string{"descricao", "valor", "id_integracao", "produtos"}, nil},
		{"pacote-alterar", "PUT", path("/api/v1/pacotes/%d", ids.pkg), pkg, nil, []string{"descricao", "valor", "id_integracao", "produtos"}},
		{"plano-alterar", "PUT", path("/api/v1/planos/%d", ids.plan), plan, nil, []string{"descricao"}},
		{"plano-novo", "PUT", "/api/v1/planos/77", plan, []string{"descricao"}, nil},
		{"servico-alterar", "PUT", path("/api/v1/servicos/%d", ids.svc), service, []string{"status_prefixo", "cliente", "cliente.id_cliente", "cliente.nome_razaosocial"}, nil},
		{"servico-novo", "PUT", "/api/v1/servicos/5002", service, []string{"status_prefixo", "cliente", "cliente.id_cliente", "cliente.nome_razaosocial"}, nil},
		{"servico-status", "PUT", path("/api/v1/servicos/%d/status", ids.svc), status, []string{"status_prefixo"}, nil},
		{"servicos-status-lote", "POST", "/api/v1/servicos/status", batch, []string{"itens", "itens.0.id_cliente_servico", "itens.0.status_prefixo"}, nil},
		{"servico-anexar", "POST", path("/api/v1/servicos/%d/pacotes", ids.svc), attach, []string{"id_pacote"}, nil},
		{"assinatura-expiracao", "PATCH", path("/api/v1/assinaturas/%d", ids.sub), expiry, []string{"data_expiracao"}, nil},
	}
}

// hoSet sets the dotted field p (map keys and slice indexes) of v.
func hoSet(v any, p string, val any) {
	parts := strings.Split(p, ".")
	for i, k := range parts {
		last := i == len(parts)-1
		switch c := v.(type) {
		case map[string]any:
			if last {
				c[k] = val
				return
			}
			v = c[k]
		case []any:
			n, _ := strconv.Atoi(k)
			if last {
				c[n] = val
				return
			}
			v = c[n]
		default:
			panic("hoSet: no container at " + p)
		}
	}
}

// hoDel removes the dotted field p.
func hoDel(v any, p string) {
	parent, k, found := strings.Cut(p, ".")
	for found {
		switch c := v.(type) {
		case map[string]any:
			v = c[parent]
		case []any:
			n, _ := strconv.Atoi(parent)
			v = c[n]
		}
		parent, k, found = strings.Cut(k, ".")
	}
	delete(v.(map[string]any), parent)
}

// hoLeaves lists the dotted paths of every field of v with its value.
func hoLeaves(prefix string, v any, out map[string]any) {
	switch c := v.(type) {
	case map[string]any:
		for k, x := range c {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			out[p] = x
			hoLeaves(p, x, out)
		}
	case []any:
		for i, x := range c {
			p := fmt.Sprintf("%s.%d", prefix, i)
			out[p] = x
			hoLeaves(p, x, out)
		}
	}
}

func hoWith(tp hoTemplate, field string, val any) map[string]any {
	b := tp.body()
	hoSet(b, field, val)
	return b
}

func hoMarshal(v any) string {
	raw, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(raw)
}

// hoCases builds the hostile table.
func hoCases(ids hoIDs) []hoCase {
	var cs []hoCase
	add := func(c hoCase) { cs = append(cs, c) }
	tps := hoTemplates(ids)
	big := json.Number("1e400")
	over := json.Number("9223372036854775808")

	for _, tp := range tps {
		// Malformed, truncated, not an object, bad bytes: 400.
		malformed := []struct{ name, body string }{
			{"open brace", `{`},
			{"key without value", `{"descricao":`},
			{"truncated string", `{"descricao":"x`},
			{"truncated object", `{"descricao":"x"`},
			{"trailing comma", `{"descricao":"x",}`},
			{"single quotes", `{'descricao':'x'}`},
			{"bare key", `{descricao:"x"}`},
			{"extra brace", `{"descricao":"x"}}`},
			{"two objects", hoMarshal(tp.body()) + hoMarshal(tp.body())},
			{"garbage after object", hoMarshal(tp.body()) + ` lixo`},
			{"empty", ``},
			{"whitespace only", " \n\t\r "},
			{"array body", `[]`},
			{"array of the object", "[" + hoMarshal(tp.body()) + "]"},
			{"string body", `"texto"`},
			{"number body", `42`},
			{"boolean body", `true`},
			{"byte order mark", "\xef\xbb\xbf" + hoMarshal(tp.body())},
			{"raw NUL in string", `{"descricao":"a` + "\x00" + `b"}`},
			{"raw NUL body", "\x00"},
			{"raw control byte in string", `{"descricao":"a` + "\x07" + `b"}`},
			{"invalid UTF-8 byte", `{"descricao":"` + "\xff\xfe" + `"}`},
			{"UTF-8 surrogate", `{"descricao":"` + "\xed\xa0\x80" + `"}`},
			{"overlong UTF-8", `{"descricao":"` + "\xc0\xaf" + `"}`},
			{"truncated UTF-8", `{"descricao":"` + "\xe2\x82" + `"}`},
			{"comment", `{"descricao":"x" /* c */}`},
			{"NaN", `{"descricao":NaN}`},
			{"leading zero number", `{"id_pacote":01}`},
			{"deep nesting", `{"descricao":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`},
			{"deep object nesting", strings.Repeat(`{"a":`, 5000) + `1` + strings.Repeat(`}`, 5000)},
		}
		full := tp.name == "integracao-criar" || tp.name == "pacote-alterar" || tp.name == "servico-alterar" || tp.name == "servicos-status-lote"
		for i, m := range malformed {
			if i%3 != 0 && !full { // every route gets a third of the list, four get all
				continue
			}
			add(hoCase{name: tp.name + "/malformed/" + m.name, method: tp.method, path: tp.path, body: m.body, want: 400})
		}
		// A JSON null body decodes to nothing: required fields missing, 422
		// (a PUT that keeps omitted members changes nothing: not hostile).
		if tp.blank == nil {
			add(hoCase{name: tp.name + "/null body", method: tp.method, path: tp.path, body: `null`, want: 422})
			add(hoCase{name: tp.name + "/empty object", method: tp.method, path: tp.path, body: `{}`, want: 422})
		}

		// Not JSON: 415, even with a valid JSON body.
		for i, ct := range []string{"text/plain", "application/xml", "-", "multipart/form-data; boundary=xyz", "application/x-www-form-urlencoded", "application/jsonx", "application/json;;;"} {
			if i >= 4 && !full {
				continue
			}
			add(hoCase{name: tp.name + "/content type " + ct, method: tp.method, path: tp.path, ct: ct, body: hoMarshal(tp.body()), want: 415})
		}

		// Unknown fields, top level and nested: 400.
		add(hoCase{name: tp.name + "/unknown field", method: tp.method, path: tp.path, body: hoWith(tp, "campo_extra", 1), want: 400})
		add(hoCase{name: tp.name + "/unknown field null", method: tp.method, path: tp.path, body: hoWith(tp, "campo_extra", nil), want: 400})
		add(hoCase{name: tp.name + "/empty member name", method: tp.method, path: tp.path, body: hoWith(tp, "", 1), want: 400})
		add(hoCase{name: tp.name + "/unknown deep object", method: tp.method, path: tp.path,
			body: hoWith(tp, "x", json.RawMessage(strings.Repeat(`{"a":`, 200)+`1`+strings.Repeat(`}`, 200))), want: 400})

		// Wrong types, field by field: 400. Null where required: 422.
		leaves := map[string]any{}
		hoLeaves("", tp.body(), leaves)
		names := make([]string, 0, len(leaves))
		for k := range leaves {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, f := range names {
			var wrong []any
			switch leaves[f].(type) {
			case int:
				if strings.HasSuffix(f, "limite_requisicoes_por_segundo") { // a float: 1.5 and 2^63 are numbers
					wrong = []any{"123", true, []any{1}, big}
					break
				}
				wrong = []any{"123", true, []any{1}, big, over, json.Number("1.5")}
			case string:
				wrong = []any{12345, true, []any{"x"}, map[string]any{"x": 1}}
			case int64, float64:
				wrong = []any{"123", true, []any{1}, big, over, json.Number("1.5")}
			case bool:
				wrong = []any{"true", 1}
			case []any:
				wrong = []any{map[string]any{"0": 1}, "1", 1}
			case map[string]any:
				wrong = []any{[]any{}, "objeto", 1}
			}
			for _, w := range wrong {
				add(hoCase{name: fmt.Sprintf("%s/wrong type %s=%s", tp.name, f, hoMarshal(w)), method: tp.method, path: tp.path, body: hoWith(tp, f, w), want: 400})
			}
		}
		for _, f := range tp.required {
			add(hoCase{name: tp.name + "/null required " + f, method: tp.method, path: tp.path, body: hoWith(tp, f, nil), want: 422})
			b := tp.body()
			hoDel(b, f)
			add(hoCase{name: tp.name + "/missing required " + f, method: tp.method, path: tp.path, body: b, want: 422})
		}
		for _, f := range tp.blank {
			var zero any
			switch leaves[f].(type) {
			case string:
				zero = ""
			case []any:
				zero = []any{}
			default:
				zero = 0
			}
			add(hoCase{name: tp.name + "/blank " + f, method: tp.method, path: tp.path, body: hoWith(tp, f, zero), want: 422})
		}
	}

	byName := map[string]hoTemplate{}
	for _, tp := range tps {
		byName[tp.name] = tp
	}
	// bad adds a 422 case of template tp with field f set to v.
	bad := func(tp string, f string, v any, want int) {
		t := byName[tp]
		add(hoCase{name: fmt.Sprintf("%s/%s=%s", tp, f, hoMarshal(v)), method: t.method, path: t.path, body: hoWith(t, f, v), want: want})
	}

	// Injection text in every text field that does not take free text: 422.
	rejecting := map[string][]string{
		"integracao-criar":     {"plataforma", "parametros.usuario", "parametros.url_base"},
		"integracao-alterar":   {"plataforma", "parametros.usuario", "parametros.url_base"},
		"produto-criar":        {"codigo"},
		"produto-alterar":      {"codigo"},
		"pacote-criar":         {"valor"},
		"pacote-alterar":       {"valor"},
		"servico-alterar":      {"status_prefixo", "cliente.cpf_cnpj", "cliente.email_principal"},
		"servico-novo":         {"status_prefixo", "cliente.cpf_cnpj", "cliente.email_principal"},
		"servico-status":       {"status_prefixo"},
		"servicos-status-lote": {"itens.0.status_prefixo"},
		"servico-anexar":       {"data_expiracao"},
		"assinatura-expiracao": {"data_expiracao"},
	}
	for tp, fields := range rejecting {
		for _, f := range fields {
			for _, inj := range hoInjections {
				bad(tp, f, inj, 422)
			}
		}
	}
	// The same text with a NUL (escaped, so valid JSON) in free-text fields: 422.
	for tp, fields := range map[string][]string{
		"integracao-criar": {"descricao", "parametros.client_id", "parametros.client_secret"},
		"produto-alterar":  {"descricao"},
		"pacote-alterar":   {"descricao", "codigo"},
		"plano-alterar":    {"descricao"},
		"servico-alterar":  {"login", "senha", "cliente.codigo_cliente", "cliente.nome_razaosocial", "cliente.telefone_primario"},
	} {
		for _, f := range fields {
			bad(tp, f, hoInjections[0]+"\x00", 422)
		}
	}

	// Numbers: huge, negative, zero ids in bodies.
	for _, n := range []struct {
		v    any
		want int
	}{{big, 400}, {over, 400}, {json.Number("-9223372036854775809"), 400}, {json.Number("1e3"), 400}, {-1, 422}, {0, 422}, {999999999, 422}} {
		bad("pacote-criar", "id_integracao", n.v, n.want)
		bad("pacote-alterar", "produtos.0", n.v, n.want)
		bad("plano-alterar", "pacotes.0", n.v, n.want)
		bad("servico-anexar", "id_pacote", n.v, n.want)
		if n.v != 999999999 {
			// A batch naming an unknown service answers nao_encontrado for
			// that item, and a service may name a plan svahub does not know.
			bad("servicos-status-lote", "itens.0.id_cliente_servico", n.v, n.want)
			bad("servico-novo", "id_servico", n.v, n.want)
			bad("servico-novo", "cliente.id_cliente", n.v, n.want)
		}
	}
	for _, v := range []struct {
		v    any
		want int
	}{{json.Number("1e400"), 400}, {json.Number("0"), 422}, {json.Number("-1"), 422}, {json.Number("1001"), 422}, {"10", 400}} {
		bad("integracao-criar", "parametros.limite_requisicoes_por_segundo", v.v, v.want)
	}

	// Money: negative, 3 decimals, commas, numbers instead of strings.
	for _, tp := range []string{"pacote-criar", "pacote-alterar"} {
		for _, v := range []string{"-1.00", "-0.01", "29.9", "29.900", "1.005", "29,90", "", " ", "abc", "1e3", "NaN", "Infinity",
			"100000000.00", "9223372036854775807.00", "0x10", "+1.00", "１.００", "29.90.00", ".50", "29.", "29"} {
			bad(tp, "valor", v, 422)
		}
		for _, v := range []any{29.90, json.Number("-1"), json.Number("0"), big} {
			bad(tp, "valor", v, 400)
		}
		bad(tp, "produtos", []any{}, 422)
		bad(tp, "produtos", []any{ids.prod, ids.prod}, 422)
		bad(tp, "produtos", []any{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 422)
		bad(tp, "descricao", strings.Repeat("d", 201), 422)
		bad(tp, "descricao", "   ", 422)
		bad(tp, "codigo", strings.Repeat("c", 65), 422)
	}

	// Dates.
	for _, v := range []string{"2026-02-30", "2026-13-01", "27/11/2026", "2026-11-27T00:00:00Z", "2026-1-5", "20261127",
		"9999-12-32", "2027-02-29", " 2099-01-01", "2099-01-01 ", "2020-01-01", "0000-01-01", "ontem", "2099-00-10"} {
		bad("servico-anexar", "data_expiracao", v, 422)
		bad("assinatura-expiracao", "data_expiracao", v, 422)
	}
	bad("assinatura-expiracao", "data_expiracao", "", 422)
	bad("servico-anexar", "data_expiracao", 20991231, 400)
	bad("assinatura-expiracao", "data_expiracao", 20991231, 400)

	// CPF/CNPJ and other customer data.
	for _, v := range []string{"529.982.247-24", "52998224724", "5299822472", "529982247250", "52998224725x", "abc", "11111111111",
		"00000000000", "11.222.333/0001-80", "1122233300018", "112223330001811", "11.222.333/0001-8a", "５２９９８２２４７２５", "529_982_247_25", "+5299822472-5"} {
		bad("servico-alterar", "cliente.cpf_cnpj", v, 422)
	}
	bad("servico-novo", "cliente.cpf_cnpj", "529.982.247-24", 422)
	for _, v := range []string{"sem-arroba", "a@", "@example.com", "a b@example.com", strings.Repeat("a", 250) + "@example.com"} {
		bad("servico-alterar", "cliente.email_principal", v, 422)
	}
	bad("servico-alterar", "cliente.nome_razaosocial", strings.Repeat("n", 201), 422)
	bad("servico-alterar", "login", strings.Repeat("l", 201), 422)
	bad("servico-alterar", "senha", strings.Repeat("s", 201), 422)
	bad("servico-alterar", "cliente.telefone_primario", strings.Repeat("9", 31), 422)

	// Unknown enum values in bodies: 422.
	for _, v := range []string{"xx", "SERVICO_HABILITADO", "servico habilitado", "ativo"} {
		bad("servico-alterar", "status_prefixo", v, 422)
		bad("servico-status", "status_prefixo", v, 422)
		bad("servicos-status-lote", "itens.0.status_prefixo", v, 422)
	}
	for _, v := range []string{"xx", "QUALIFICA", "netflix"} {
		bad("integracao-criar", "plataforma", v, 422)
	}
	for _, v := range []string{"xx", "CPF_CNPJ", "login"} {
		bad("integracao-criar", "parametros.usuario", v, 422)
	}
	for _, v := range []string{"ftp://example.com", "javascript:alert(1)", "//example.com", "example.com", "http://"} {
		bad("integracao-criar", "parametros.url_base", v, 422)
	}
	bad("integracao-criar", "parametros.client_secret", "", 422)
	bad("integracao-criar", "descricao", strings.Repeat("d", 201), 422)
	for _, v := range []string{"pro code", "pró", "pro/1", "../pro", strings.Repeat("p", 65), "  "} {
		bad("produto-alterar", "codigo", v, 422)
	}
	bad("produto-criar", "codigo", "naoexiste", 422) // not in the platform catalogue

	// All-or-nothing batch: one bad item refuses the whole batch.
	add(hoCase{name: "servicos-status-lote/one bad item", method: "POST", path: "/api/v1/servicos/status", want: 422,
		body: map[string]any{"itens": []any{map[string]any{"id_cliente_servico": ids.svc, "status_prefixo": "cancelado"}, map[string]any{"id_cliente_servico": ids.svc, "status_prefixo": "xx"}}}})
	many := make([]any, 1001)
	for i := range many {
		many[i] = map[string]any{"id_cliente_servico": ids.svc, "status_prefixo": "cancelado"}
	}
	add(hoCase{name: "servicos-status-lote/1001 items", method: "POST", path: "/api/v1/servicos/status", body: map[string]any{"itens": many}, want: 422})
	add(hoCase{name: "servicos-status-lote/empty list", method: "POST", path: "/api/v1/servicos/status", body: `{"itens":[]}`, want: 422})
	plans := make([]any, 51)
	for i := range plans {
		plans[i] = i + 1
	}
	bad("plano-alterar", "pacotes", plans, 422)
	bad("plano-alterar", "pacotes", []any{ids.pkg, ids.pkg}, 422)

	// Mass assignment of read-only fields: unknown in the input, 400.
	for tp, fields := range map[string][]string{
		"integracao-criar":     {"id_integracao", "token", "data_cadastro", "parametros.client_secret_definido", "parametros.access_token"},
		"produto-alterar":      {"verificado", "id_integracao", "id_produto"},
		"pacote-alterar":       {"id_pacote", "data_cadastro"},
		"plano-alterar":        {"id_servico"},
		"servico-alterar":      {"senha_definida", "pacotes", "id_cliente_servico", "data_cadastro"},
		"servico-anexar":       {"valor", "origem", "status", "id_cliente_servico"},
		"assinatura-expiracao": {"status", "valor", "data_cancelamento"},
	} {
		for _, f := range fields {
			bad(tp, f, "x", 400)
		}
	}

	// Duplicated and case-folded keys. encoding/json keeps the last of a
	// duplicated key and matches names case-insensitively, so a body can say
	// two things at once (a parser differential) or use a field name the API
	// does not have.
	add(hoCase{name: "pacote-alterar/duplicated key, last valid", method: "PUT", path: path("/api/v1/pacotes/%d", ids.pkg), want: 400,
		body: strings.Replace(hoMarshal(byName["pacote-alterar"].body()), `"valor":"10.00"`, `"valor":"-5.00","valor":"10.00"`, 1)})
	add(hoCase{name: "servico-status/duplicated key, last valid", method: "PUT", path: path("/api/v1/servicos/%d/status", ids.svc), want: 400,
		body: `{"status_prefixo":"xx","status_prefixo":"cancelado"}`})
	add(hoCase{name: "produto-alterar/case-folded keys", method: "PUT", path: path("/api/v1/produtos/%d", ids.prod), want: 400,
		body: `{"DESCRICAO":"Premium","Codigo":"premium"}`})
	add(hoCase{name: "servico-status/case-folded key", method: "PUT", path: path("/api/v1/servicos/%d/status", ids.svc), want: 400,
		body: `{"STATUS_PREFIXO":"cancelado"}`})
	// Duplicates are refused whatever their values.
	add(hoCase{name: "servico-status/duplicated key, last bad", method: "PUT", path: path("/api/v1/servicos/%d/status", ids.svc), want: 400,
		body: `{"status_prefixo":"cancelado","status_prefixo":"xx"}`})
	add(hoCase{name: "pacote-alterar/duplicated key, last bad", method: "PUT", path: path("/api/v1/pacotes/%d", ids.pkg), want: 400,
		body: strings.Replace(hoMarshal(byName["pacote-alterar"].body()), `"valor":"10.00"`, `"valor":"10.00","valor":"-5.00"`, 1)})

	// Bodies over 1 MiB: 413, declared or chunked.
	huge := `{"descricao":"` + strings.Repeat("a", 10<<20) + `"}`
	justOver := `{"descricao":"` + strings.Repeat("a", (1<<20)-len(`{"descricao":""}`)+1) + `"}`
	for _, tp := range tps {
		add(hoCase{name: tp.name + "/10 MiB body", method: tp.method, path: tp.path, body: huge, want: 413})
	}
	add(hoCase{name: "pacote-criar/10 MiB chunked", method: "POST", path: "/api/v1/pacotes", body: huge, chunked: true, want: 413})
	add(hoCase{name: "servico-alterar/10 MiB chunked", method: "PUT", path: path("/api/v1/servicos/%d", ids.svc), body: huge, chunked: true, want: 413})
	add(hoCase{name: "pacote-criar/1 MiB + 1 byte", method: "POST", path: "/api/v1/pacotes", body: justOver, want: 413})
	add(hoCase{name: "pacote-criar/1 MiB + 1 byte chunked", method: "POST", path: "/api/v1/pacotes", body: justOver, chunked: true, want: 413})
	add(hoCase{name: "pacote-criar/10 MiB with Idempotency-Key", method: "POST", path: "/api/v1/pacotes", body: huge, chunked: true,
		headers: map[string]string{"Idempotency-Key": "grande-1"}, want: 413})

	// Bad Idempotency-Key headers on valid bodies: 400, nothing written.
	for _, k := range []string{strings.Repeat("k", 256), strings.Repeat("k", 8000), "a\tb", "chave com espaço", "chave-ção", "\x80\x81"} {
		for _, tp := range []string{"pacote-criar", "servicos-status-lote", "integracao-criar"} {
			t := byName[tp]
			add(hoCase{name: fmt.Sprintf("%s/Idempotency-Key %.20q", tp, k), method: t.method, path: t.path, body: t.body(),
				headers: map[string]string{"Idempotency-Key": k}, want: 400})
		}
	}
	{
		t := byName["servico-anexar"]
		t2 := hoWith(t, "id_pacote", ids.pkg)
		add(hoCase{name: "servico-anexar/Idempotency-Key too long", method: t.method, path: t.path, body: t2,
			headers: map[string]string{"Idempotency-Key": strings.Repeat("z", 300)}, want: 400})
	}

	// Authentication: missing, wrong (SQL text included), read-only key.
	for _, a := range []string{"-", `' OR 1=1 --`, `x'; DROP TABLE api_keys; --`, "svahub_000000000000", strings.Repeat("k", 5000)} {
		add(hoCase{name: fmt.Sprintf("auth %.20q/create package", a), method: "POST", path: "/api/v1/pacotes", body: byName["pacote-criar"].body(), auth: a, want: 401})
		add(hoCase{name: fmt.Sprintf("auth %.20q/status", a), method: "PUT", path: path("/api/v1/servicos/%d/status", ids.svc), body: byName["servico-status"].body(), auth: a, want: 401})
	}
	for _, tp := range tps {
		add(hoCase{name: tp.name + "/leitura key", method: tp.method, path: tp.path, body: tp.body(), auth: "ro", want: 403})
	}
	add(hoCase{name: "leitura key/delete package", method: "DELETE", path: path("/api/v1/pacotes/%d", ids.pkg), auth: "ro", want: 403})
	add(hoCase{name: "leitura key/cancel subscription", method: "DELETE", path: path("/api/v1/servicos/%d/pacotes/%d", ids.svc, ids.sub), auth: "ro", want: 403})

	// Path ids: malformed → 400, well-formed but unknown → 404.
	type route struct {
		method, path string // %s is the id
		body         any
	}
	routes := []route{
		{"GET", "/api/v1/integracoes/%s", nil},
		{"PUT", "/api/v1/integracoes/%s", byName["integracao-alterar"].body()},
		{"DELETE", "/api/v1/integracoes/%s", nil},
		{"POST", "/api/v1/integracoes/%s/testar", nil},
		{"GET", "/api/v1/integracoes/%s/produtos", nil},
		{"POST", "/api/v1/integracoes/%s/produtos", byName["produto-criar"].body()},
		{"POST", "/api/v1/integracoes/%s/produtos/sincronizar", nil},
		{"GET", "/api/v1/produtos/%s", nil},
		{"PUT", "/api/v1/produtos/%s", byName["produto-alterar"].body()},
		{"DELETE", "/api/v1/produtos/%s", nil},
		{"GET", "/api/v1/pacotes/%s", nil},
		{"PUT", "/api/v1/pacotes/%s", byName["pacote-alterar"].body()},
		{"DELETE", "/api/v1/pacotes/%s", nil},
		{"GET", "/api/v1/planos/%s", nil},
		{"DELETE", "/api/v1/planos/%s", nil},
		{"GET", "/api/v1/servicos/%s", nil},
		{"PUT", "/api/v1/servicos/%s/status", byName["servico-status"].body()},
		{"POST", "/api/v1/servicos/%s/pacotes", byName["servico-anexar"].body()},
		{"GET", "/api/v1/servicos/%s/pacotes", nil},
		{"DELETE", "/api/v1/servicos/%s/pacotes/" + strconv.FormatInt(ids.sub, 10), nil},
		{"DELETE", "/api/v1/servicos/" + strconv.FormatInt(ids.svc, 10) + "/pacotes/%s", nil},
		{"GET", "/api/v1/assinaturas/%s", nil},
		{"PATCH", "/api/v1/assinaturas/%s", byName["assinatura-expiracao"].body()},
		{"POST", "/api/v1/assinaturas/%s/retransmitir", nil},
	}
	upserts := []route{ // upserts create unknown ids, so only malformed ids apply
		{"PUT", "/api/v1/planos/%s", byName["plano-alterar"].body()},
		{"PUT", "/api/v1/servicos/%s", byName["servico-alterar"].body()},
	}
	for i, id := range []string{"0", "-1", "99999999999999999999", "abc", "1%20OR%201=1", "'%3B%20DROP%20TABLE%20services%3B--",
		"9223372036854775808", "1.5", "1e3", "0x10", "%20", "%3Cscript%3E"} {
		for j, r := range append(append([]route{}, routes...), upserts...) {
			if i >= 6 && j%4 != 0 { // the rarer forms on a quarter of the routes
				continue
			}
			add(hoCase{name: fmt.Sprintf("path id %s/%s %s", id, r.method, r.path), method: r.method, path: fmt.Sprintf(r.path, id), body: r.body, want: 400})
		}
	}
	for _, id := range []string{"999999999", "9223372036854775807"} {
		for _, r := range routes {
			add(hoCase{name: fmt.Sprintf("unknown id %s/%s %s", id, r.method, r.path), method: r.method, path: fmt.Sprintf(r.path, id), body: r.body, want: 404})
		}
	}

	// Paths with .. and encoded slashes never reach another resource: the
	// router does not clean paths, so a ".." segment either matches no route
	// (404) or lands in an :id, which is then not an integer (400).
	pk, sv, sb := ids.pkg, ids.svc, ids.sub
	for _, p := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/api/v1/pacotes/..", 400},
		{"GET", "/api/v1/pacotes/../integracoes", 404},
		{"GET", "/api/v1/../api/v1/pacotes", 404},
		{"DELETE", path("/api/v1/pacotes/%d/..", pk), 404},
		{"DELETE", path("/api/v1/servicos/%d/pacotes/x/../%d", sv, sb), 404},
		{"DELETE", path("/api/v1/servicos/%d/pacotes/%d/..", sv, sb), 404},
		{"DELETE", path("/api/v1/servicos/%d/pacotes/..%%2f%d", sv, sb), 400},
		{"DELETE", path("/api/v1/servicos/%d/pacotes/%%2e%%2e", sv), 400},
		{"GET", "/api/v1/pacotes/%2e%2e%2fintegracoes", 400},
		{"PUT", path("/api/v1/servicos/%d%%2fstatus", sv), 400},
		{"DELETE", path("/api/v1/pacotes/%d%%2f..%%2f..%%2fintegracoes%%2f%d", pk, ids.integ), 400},
		{"GET", "/api/v1/..%2f..%2fetc%2fpasswd", 404},
		{"GET", "/api/v1/pacotes/....//....//etc/passwd", 404},
	} {
		add(hoCase{name: "dot path " + p.method + " " + p.path, method: p.method, path: p.path, want: p.want})
	}
	// Unknown routes and methods.
	for _, p := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/api/v1/nada", 404},
		{"GET", path("/api/v1/pacotes/%d/nada", pk), 404},
		{"GET", "/api/v2/pacotes", 404},
		{"DELETE", path("/api/v1/servicos/%d", sv), 405},
		{"POST", path("/api/v1/pacotes/%d", pk), 405},
		{"PATCH", "/api/v1/pacotes", 405},
		{"DELETE", "/api/v1/pacotes", 405},
		{"PUT", "/api/v1/integracoes", 405},
		{"POST", "/api/v1/planos/1", 405},
	} {
		add(hoCase{name: "route " + p.method + " " + p.path, method: p.method, path: p.path, body: `{}`, want: p.want})
	}

	// Query parameters: every list, bad pagination; filters with bad values.
	lists := []string{"/api/v1/integracoes", path("/api/v1/integracoes/%d/produtos", ids.integ), "/api/v1/pacotes", "/api/v1/planos",
		"/api/v1/servicos", path("/api/v1/servicos/%d/pacotes", sv), "/api/v1/assinaturas", "/api/v1/transmissoes", "/api/v1/cobrancas?competencia=2026-11"}
	for _, l := range lists {
		sep := "?"
		if strings.Contains(l, "?") {
			sep = "&"
		}
		for i, q := range []string{"pagina=-1", "pagina=x", "itens_por_pagina=501", "itens_por_pagina=0", "itens_por_pagina=x", "pagina=1%20OR%201=1",
			"pagina=1.5", "pagina=99999999999999999999", "itens_por_pagina=-1", "itens_por_pagina=1e2", "itens_por_pagina=%27%3B%20DROP%20TABLE%20services%3B--"} {
			if i >= 6 && l != "/api/v1/pacotes" && l != "/api/v1/assinaturas" {
				continue
			}
			add(hoCase{name: "query " + l + " " + q, method: "GET", path: l + sep + q, want: 400})
		}
	}
	for _, q := range []string{
		"/api/v1/pacotes?id_integracao=abc", "/api/v1/pacotes?id_integracao=0", "/api/v1/pacotes?id_integracao=-1",
		"/api/v1/pacotes?id_integracao=99999999999999999999", "/api/v1/pacotes?ativo=talvez", "/api/v1/pacotes?ativo=1", "/api/v1/pacotes?ativo=TRUE",
		"/api/v1/pacotes?id_integracao=1%20OR%201=1",
		"/api/v1/servicos?status_prefixo=xx", "/api/v1/servicos?status_prefixo=%27%20OR%201=1%20--", "/api/v1/servicos?id_cliente=abc",
		"/api/v1/servicos?id_cliente=0", "/api/v1/servicos?cpf_cnpj=123", "/api/v1/servicos?cpf_cnpj=529.982.247-24",
		"/api/v1/servicos?cpf_cnpj=1%20OR%201=1", "/api/v1/servicos?cpf_cnpj=%3Cscript%3Ealert(1)%3C/script%3E",
		"/api/v1/assinaturas?status=xx", "/api/v1/assinaturas?status=ATIVO", "/api/v1/assinaturas?status=%27%3B%20DROP%20TABLE%20services%3B%20--",
		"/api/v1/assinaturas?id_integracao=x", "/api/v1/assinaturas?id_pacote=-1", "/api/v1/assinaturas?id_cliente_servico=0",
		"/api/v1/transmissoes?operacao=xx", "/api/v1/transmissoes?operacao=TOKEN", "/api/v1/transmissoes?resultado=xx",
		"/api/v1/transmissoes?desde=2026-02-30", "/api/v1/transmissoes?ate=ontem", "/api/v1/transmissoes?desde=27/11/2026",
		"/api/v1/transmissoes?id_assinatura=abc", "/api/v1/transmissoes?id_integracao=-1",
		"/api/v1/cobrancas", "/api/v1/cobrancas?competencia=2026-13", "/api/v1/cobrancas?competencia=2026-1", "/api/v1/cobrancas?competencia=11/2026",
		"/api/v1/cobrancas?competencia=2026-11-01", "/api/v1/cobrancas?competencia=%27%3B%20DROP%20TABLE%20services%3B%20--",
	} {
		add(hoCase{name: "filter " + q, method: "GET", path: q, want: 400})
	}
	return cs
}

// hoSend sends one hostile request.
func hoSend(t *testing.T, e *harness, c hoCase) response {
	t.Helper()
	var raw []byte
	switch b := c.body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		raw = []byte(hoMarshal(b))
	}
	var rd io.Reader
	if c.body != nil {
		if c.chunked {
			rd = io.MultiReader(bytes.NewReader(raw)) // no Len: sent chunked
		} else {
			rd = bytes.NewReader(raw)
		}
	}
	req, err := http.NewRequest(c.method, e.srv.URL+c.path, rd)
	require.NoError(t, err)
	if c.body != nil {
		switch c.ct {
		case "":
			req.Header.Set("Content-Type", "application/json")
		case "-":
		default:
			req.Header.Set("Content-Type", c.ct)
		}
	}
	switch c.auth {
	case "":
		req.Header.Set("Authorization", "Bearer "+e.key)
	case "-":
	case "ro":
		req.Header.Set("Authorization", "Bearer "+e.roKey)
	default:
		req.Header.Set("Authorization", "Bearer "+c.auth)
	}
	for k, v := range c.headers {
		req.Header[http.CanonicalHeaderKey(k)] = []string{v}
	}
	res, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return response{Status: res.StatusCode, Header: res.Header, Body: body}
}

// hoLeaks are fragments of internal errors that must never reach a caller.
var hoLeaks = []string{"sql", "gorm", "pq:", "pgx", "sqlstate", "runtime error", "goroutine", "panic", "json:", "strconv.",
	"invalid character", "constraint", "violates", "duplicate key", "no such", "relation \"", ".go:", "/work/", "/home/", "/usr/", "/root/",
	"encoding/", "reflect", "nil pointer", "unexpected end of json"}

// hoRequireSafeProblem checks a 4xx problem document and that it leaks nothing.
func hoRequireSafeProblem(t *testing.T, r response, want int) {
	t.Helper()
	require.Less(t, r.Status, 500, "5xx: %s", r.Body)
	p := requireProblem(t, r, want)
	texts := []string{fmt.Sprint(p["title"]), fmt.Sprint(p["detail"]), fmt.Sprint(p["type"])}
	if errs, ok := p["erros"].([]any); ok {
		for _, fe := range errs {
			m, _ := fe.(map[string]any)
			texts = append(texts, fmt.Sprint(m["mensagem"]))
		}
	}
	for _, s := range texts {
		low := strings.ToLower(s)
		for _, leak := range hoLeaks {
			require.NotContains(t, low, leak, "problem leaks internal detail: %s", r.Body)
		}
	}
	low := strings.ToLower(string(r.Body))
	for _, leak := range []string{"sqlstate", "gorm", "pq:", "runtime error", "goroutine"} {
		require.NotContains(t, low, leak, "body leaks internal detail: %s", r.Body)
	}
}

// hoSnapshot returns, per application table, its row count and a hash of
// all its rows in a total order.
func hoSnapshot(t *testing.T, db *sql.DB) map[string]string {
	t.Helper()
	out := map[string]string{}
	ctx := context.Background()
	for _, table := range hoAppTables {
		rows, err := db.QueryContext(ctx, "SELECT * FROM "+table+" LIMIT 0")
		require.NoError(t, err)
		cols, err := rows.Columns()
		require.NoError(t, err)
		require.NoError(t, rows.Close())
		order := make([]string, len(cols))
		for i := range cols {
			order[i] = strconv.Itoa(i + 1)
		}
		h := sha256.New()
		n := eachRow(t, db, "SELECT * FROM "+table+" ORDER BY "+strings.Join(order, ", "), func(cols []string, vals []any) {
			for i, v := range vals {
				switch x := v.(type) {
				case []byte:
					v = string(x)
				case time.Time:
					v = x.UTC().Format(time.RFC3339Nano)
				}
				fmt.Fprintf(h, "%s=%v\x1f", cols[i], v)
			}
			h.Write([]byte{'\n'})
		})
		out[table] = fmt.Sprintf("%d rows %s", n, hex.EncodeToString(h.Sum(nil)))
	}
	return out
}

// hoStableSnapshot waits until background work has settled (two equal
// snapshots in a row) and returns the snapshot.
func hoStableSnapshot(t *testing.T, db *sql.DB) map[string]string {
	t.Helper()
	prev := hoSnapshot(t, db)
	deadline := time.Now().Add(15 * time.Second)
	for {
		time.Sleep(300 * time.Millisecond)
		cur := hoSnapshot(t, db)
		if fmt.Sprint(cur) == fmt.Sprint(prev) {
			return cur
		}
		require.True(t, time.Now().Before(deadline), "database never settled")
		prev = cur
	}
}

// TestHostileRequests sends the hostile table on both dialects.
func TestHostileRequests(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect)
		ids := hoSetup(t, e)
		cases := hoCases(ids)
		for i := range cases {
			n := cases[i].name
			if len(n) > 110 {
				n = n[:110] + "…"
			}
			cases[i].name = fmt.Sprintf("%03d %s", i, n)
		}
		byStatus := map[int]int{}
		for _, c := range cases {
			require.GreaterOrEqual(t, c.want, 400, c.name)
			require.Less(t, c.want, 500, c.name)
			byStatus[c.want]++
		}
		require.GreaterOrEqual(t, len(cases), 200, "at least 200 hostile cases")
		t.Logf("%d hostile cases, by expected status: %v", len(cases), byStatus)

		before := hoStableSnapshot(t, e.db.SQL())
		t.Run("table", func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					r := hoSend(t, e, c)
					hoRequireSafeProblem(t, r, c.want)
				})
			}
		})
		t.Run("database unchanged", func(t *testing.T) {
			after := hoSnapshot(t, e.db.SQL())
			for _, table := range hoAppTables {
				require.Equal(t, before[table], after[table], "table %s changed", table)
			}
		})
		t.Run("injection text accepted verbatim", func(t *testing.T) {
			hoInjectionAccepted(t, e, ids)
		})
	})
}

// hoRequireEscaped checks a raw JSON answer carries s only JSON-escaped:
// no raw <script>, and the decoded value is s itself.
func hoRequireEscaped(t *testing.T, raw []byte, got any, s string) {
	t.Helper()
	require.Equal(t, s, got, "stored verbatim: %s", raw)
	require.NotContains(t, string(raw), "<script>", "HTML must be escaped in JSON: %s", raw)
	if strings.Contains(s, "<") {
		require.Contains(t, string(raw), `\u003cscript\u003e`, "%s", raw)
	}
}

// hoInjectionAccepted writes injection text into free-text fields, where it
// is valid, and reads it back.
func hoInjectionAccepted(t *testing.T, e *harness, ids hoIDs) {
	ctx := context.Background()
	for i, inj := range hoInjections {
		t.Run(fmt.Sprintf("payload %d", i), func(t *testing.T) {
			// Integration: descricao, client_id, client_secret.
			r := e.do("POST", "/api/v1/integracoes", map[string]any{"descricao": inj, "plataforma": "qualifica",
				"parametros": map[string]any{"client_id": inj, "client_secret": inj, "url_base": ids.simURL}})
			require.Equal(t, 201, r.Status, "%s", r.Body)
			m := r.JSON(t)
			integ := idOf(m, "id_integracao")
			g := e.do("GET", path("/api/v1/integracoes/%d", integ), nil)
			require.Equal(t, 200, g.Status)
			gm := g.JSON(t)
			hoRequireEscaped(t, g.Body, gm["descricao"], inj)
			hoRequireEscaped(t, g.Body, gm["parametros"].(map[string]any)["client_id"], inj)
			creds, err := e.db.Credentials(ctx, integ)
			require.NoError(t, err)
			require.Equal(t, inj, creds.Params["client_secret"], "secret stored verbatim")
			require.Equal(t, "erro", gm["token"].(map[string]any)["status"], "the simulator refuses unknown credentials")

			// Product descricao (create and update).
			if i < 2 { // the platform catalogue has two more codes
				r = e.do("POST", path("/api/v1/integracoes/%d/produtos", ids.integ), map[string]any{"descricao": inj, "codigo": []string{"premium", "1001"}[i]})
				require.Equal(t, 201, r.Status, "%s", r.Body)
				hoRequireEscaped(t, r.Body, r.JSON(t)["descricao"], inj)
			}
			r = e.do("PUT", path("/api/v1/produtos/%d", ids.prod), map[string]any{"descricao": inj, "codigo": "pro"})
			require.Equal(t, 200, r.Status, "%s", r.Body)
			g = e.do("GET", path("/api/v1/produtos/%d", ids.prod), nil)
			hoRequireEscaped(t, g.Body, g.JSON(t)["descricao"], inj)

			// Package descricao and codigo.
			r = e.do("POST", "/api/v1/pacotes", map[string]any{"descricao": inj, "codigo": inj, "valor": "1.00", "id_integracao": ids.integ, "produtos": []int64{ids.prod}})
			require.Equal(t, 201, r.Status, "%s", r.Body)
			pkg := idOf(r.JSON(t), "id_pacote")
			g = e.do("GET", path("/api/v1/pacotes/%d", pkg), nil)
			gm = g.JSON(t)
			hoRequireEscaped(t, g.Body, gm["descricao"], inj)
			hoRequireEscaped(t, g.Body, gm["codigo"], inj)

			// Plan descricao.
			planID := int64(900 + i)
			r = e.do("PUT", path("/api/v1/planos/%d", planID), map[string]any{"descricao": inj, "pacotes": []int64{pkg}})
			require.Equal(t, 201, r.Status, "%s", r.Body)
			g = e.do("GET", path("/api/v1/planos/%d", planID), nil)
			hoRequireEscaped(t, g.Body, g.JSON(t)["descricao"], inj)

			// Service login, senha and customer text.
			svc := int64(9000 + i)
			r = e.do("PUT", path("/api/v1/servicos/%d", svc), map[string]any{"login": inj, "senha": inj, "status_prefixo": "aguardando_instalacao",
				"cliente": map[string]any{"id_cliente": 1, "codigo_cliente": inj, "nome_razaosocial": inj, "telefone_primario": inj}})
			require.Equal(t, 201, r.Status, "%s", r.Body)
			g = e.do("GET", path("/api/v1/servicos/%d", svc), nil)
			gm = g.JSON(t)
			hoRequireEscaped(t, g.Body, gm["login"], inj)
			cl := gm["cliente"].(map[string]any)
			for _, f := range []string{"codigo_cliente", "nome_razaosocial", "telefone_primario"} {
				hoRequireEscaped(t, g.Body, cl[f], inj)
			}
			require.NotContains(t, gm, "senha")
			require.Equal(t, true, gm["senha_definida"])
			// The filter on the stored text finds exactly that service.
			l := e.do("GET", "/api/v1/servicos?id_cliente=1", nil)
			require.Equal(t, 200, l.Status)
		})
	}
	// The tables are all still there and hold the rows.
	for _, table := range hoAppTables {
		var n int
		require.NoError(t, e.db.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n), table)
	}
	var n int
	require.NoError(t, e.db.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM services").Scan(&n))
	require.Equal(t, 1+len(hoInjections), n)
}
