package svahub_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/svahub"
)

// testRegistry declares two platforms shaped like the ones svahub ships
// (the domain's tests import no adapter).
func testRegistry() svahub.Registry {
	return svahub.Registry{
		"qualifica": {Name: "qualifica", Params: []svahub.ParamSpec{
			{Name: "client_id", Required: true, MaxLen: 200},
			{Name: "client_secret", RequiredOnCreate: true, Secret: true, MaxLen: 500},
			{Name: "url_base", URL: true},
		}},
		"webhook": {Name: "webhook", Params: []svahub.ParamSpec{
			{Name: "url", Required: true, URL: true},
			{Name: "segredo", RequiredOnCreate: true, Secret: true, Generate: func() (string, error) { return "whsec_gerado", nil }},
		}},
	}
}

func TestPrepareCreateSplitsAndGenerates(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                    string
		body                    string
		plain, secrets, reveals map[string]string
	}{
		{"qualifica: every declared plain member, the secret to seal",
			`{"descricao":"Q","plataforma":"qualifica","parametros":{"client_id":" c ","client_secret":"s","url_base":"https://q.example/"}}`,
			map[string]string{"client_id": "c", "url_base": "https://q.example"}, map[string]string{"client_secret": "s"}, map[string]string{}},
		{"qualifica without url_base: empty, the server's default",
			`{"descricao":"Q","plataforma":"qualifica","parametros":{"client_id":"c","client_secret":"s"}}`,
			map[string]string{"client_id": "c", "url_base": ""}, map[string]string{"client_secret": "s"}, map[string]string{}},
		{"webhook with its segredo: nothing revealed",
			`{"descricao":"W","plataforma":"webhook","parametros":{"url":"https://r.example","segredo":"whsec_x"}}`,
			map[string]string{"url": "https://r.example"}, map[string]string{"segredo": "whsec_x"}, map[string]string{}},
		{"webhook without segredo: generated, sealed and revealed once",
			`{"descricao":"W","plataforma":"webhook","parametros":{"url":"https://r.example"}}`,
			map[string]string{"url": "https://r.example"}, map[string]string{"segredo": "whsec_gerado"}, map[string]string{"segredo": "whsec_gerado"}},
	} {
		var in svahub.IntegrationInput
		require.NoError(t, json.Unmarshal([]byte(tc.body), &in), tc.name)
		p, err := svahub.PrepareCreate(in, testRegistry())
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.plain, p.Plain, tc.name)
		require.Equal(t, tc.secrets, p.Secrets, tc.name)
		require.Equal(t, tc.reveals, p.Revealed, tc.name)
	}
}

func TestPrepareCreateRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body, code, field string
	}{
		{"a member of another platform is unknown (400)", `{"descricao":"W","plataforma":"webhook","parametros":{"url":"https://r","client_id":"c"}}`, svahub.EBADREQUEST, "parametros.client_id"},
		{"qualifica needs its secret on create", `{"descricao":"Q","plataforma":"qualifica","parametros":{"client_id":"c"}}`, svahub.EINVALID, "parametros.client_secret"},
		{"an empty secret is not omitted", `{"descricao":"W","plataforma":"webhook","parametros":{"url":"https://r","segredo":""}}`, svahub.EINVALID, "parametros.segredo"},
		{"webhook needs its url", `{"descricao":"W","plataforma":"webhook","parametros":{}}`, svahub.EINVALID, "parametros.url"},
		{"an address is http(s)", `{"descricao":"W","plataforma":"webhook","parametros":{"url":"ftp://r"}}`, svahub.EINVALID, "parametros.url"},
		{"a value is at most MaxLen", `{"descricao":"Q","plataforma":"qualifica","parametros":{"client_id":"` + strings.Repeat("c", 201) + `","client_secret":"s"}}`, svahub.EINVALID, "parametros.client_id"},
		{"unknown platform", `{"descricao":"X","plataforma":"outra","parametros":{}}`, svahub.EINVALID, "plataforma"},
	} {
		var in svahub.IntegrationInput
		require.NoError(t, json.Unmarshal([]byte(tc.body), &in), tc.name)
		_, err := svahub.PrepareCreate(in, testRegistry())
		var e *svahub.Error
		require.ErrorAs(t, err, &e, tc.name)
		require.Equal(t, tc.code, e.Code, tc.name)
		require.Equal(t, tc.field, e.Fields[0].Field, tc.name)
	}
}

func TestParamsDecodeTypes(t *testing.T) {
	t.Parallel()
	for body, field := range map[string]string{
		`{"url":1}`:        "parametros.url",
		`{"usuario":true}`: "parametros.usuario",
		`{"limite_requisicoes_por_segundo":"10"}`: "parametros.limite_requisicoes_por_segundo",
		`[]`: "parametros",
	} {
		var in svahub.IntegrationParamInput
		err := json.Unmarshal([]byte(body), &in)
		var e *svahub.Error
		require.ErrorAs(t, err, &e, body)
		require.Equal(t, svahub.EBADREQUEST, e.Code, body)
		require.Equal(t, field, e.Fields[0].Field, body)
	}
}

func TestIntegrationParamsJSON(t *testing.T) {
	t.Parallel()
	p := svahub.IntegrationParams{Values: map[string]string{"client_id": "c", "url_base": ""}, Defined: map[string]bool{"client_secret": true},
		Username: svahub.UsernameLogin, RateLimitRPS: 10}
	b, err := json.Marshal(p)
	require.NoError(t, err)
	require.JSONEq(t, `{"client_id":"c","client_secret_definido":true,"url_base":"","usuario":"login_autenticacao","limite_requisicoes_por_segundo":10}`, string(b))
	var back svahub.IntegrationParams
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, p, back)

	p = svahub.IntegrationParams{Values: map[string]string{"url": "https://r"}, Defined: map[string]bool{"segredo": true},
		Revealed: map[string]string{"segredo": "whsec_x"}, Username: svahub.UsernameLogin, RateLimitRPS: 10}
	b, err = json.Marshal(p)
	require.NoError(t, err)
	require.JSONEq(t, `{"url":"https://r","segredo_definido":true,"segredo":"whsec_x","usuario":"login_autenticacao","limite_requisicoes_por_segundo":10}`, string(b))
}
