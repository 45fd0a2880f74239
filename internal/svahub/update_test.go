package svahub_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/svahub"
)

func ptrTo[T any](v T) *T { return &v }

func TestIntegrationUpdateApply(t *testing.T) {
	t.Parallel()
	cur := svahub.IntegrationInput{Description: "Q", Platform: "qualifica", SuspendOnDebt: ptrTo(true), Active: ptrTo(false),
		Params: svahub.IntegrationParamInput{Values: map[string]string{"client_id": "c", "url_base": "https://q"}, Username: "cpf_cnpj", RateLimitRPS: ptrTo(5.0)}}
	for _, tc := range []struct {
		name string
		body string
		want func(in *svahub.IntegrationInput)
	}{
		{"empty body keeps everything", `{}`, func(*svahub.IntegrationInput) {}},
		{"null is omitted", `{"descricao":null,"parametros":null,"ativo":null}`, func(*svahub.IntegrationInput) {}},
		{"null parameter is omitted", `{"parametros":{"client_id":null}}`, func(*svahub.IntegrationInput) {}},
		{"one member", `{"descricao":"Nova"}`, func(in *svahub.IntegrationInput) { in.Description = "Nova" }},
		{"one parameter", `{"parametros":{"limite_requisicoes_por_segundo":7}}`, func(in *svahub.IntegrationInput) { in.Params.RateLimitRPS = ptrTo(7.0) }},
		{"empty url_base clears it", `{"parametros":{"url_base":""}}`, func(in *svahub.IntegrationInput) { in.Params.Values["url_base"] = "" }},
		{"secret only when sent", `{"parametros":{"client_secret":"novo"}}`, func(in *svahub.IntegrationInput) { in.Params.Values["client_secret"] = "novo" }},
		{"booleans", `{"ativo":true,"suspender_inadimplencia":false}`, func(in *svahub.IntegrationInput) {
			in.Active, in.SuspendOnDebt = ptrTo(true), ptrTo(false)
		}},
		{"every member", `{"descricao":"D","plataforma":"p","parametros":{"client_id":"x","usuario":"email","url_base":"https://r"},"ativo":true}`,
			func(in *svahub.IntegrationInput) {
				in.Description, in.Platform, in.Active = "D", "p", ptrTo(true)
				in.Params.Values["client_id"], in.Params.Username, in.Params.Values["url_base"] = "x", "email", "https://r"
			}},
	} {
		var u svahub.IntegrationUpdate
		require.NoError(t, json.Unmarshal([]byte(tc.body), &u), tc.name)
		want := cur
		want.Params.Values = map[string]string{"client_id": "c", "url_base": "https://q"}
		tc.want(&want)
		require.Equal(t, want, u.Apply(cur), tc.name)
		require.Equal(t, map[string]string{"client_id": "c", "url_base": "https://q"}, cur.Params.Values, "Apply does not change cur")
	}
}

func TestPackageAndPlanUpdateApply(t *testing.T) {
	t.Parallel()
	pkg := svahub.PackageInput{Description: "P", Code: "QP", Value: "29.90", IntegrationID: 1, Products: []int64{3, 4}, Active: ptrTo(false)}
	for body, want := range map[string]svahub.PackageInput{
		`{}`:                                 pkg,
		`{"produtos":null}`:                  pkg,
		`{"valor":"39.90"}`:                  {Description: "P", Code: "QP", Value: "39.90", IntegrationID: 1, Products: []int64{3, 4}, Active: ptrTo(false)},
		`{"codigo":"","ativo":true}`:         {Description: "P", Code: "", Value: "29.90", IntegrationID: 1, Products: []int64{3, 4}, Active: ptrTo(true)},
		`{"produtos":[5],"id_integracao":2}`: {Description: "P", Code: "QP", Value: "29.90", IntegrationID: 2, Products: []int64{5}, Active: ptrTo(false)},
		`{"produtos":[]}`:                    {Description: "P", Code: "QP", Value: "29.90", IntegrationID: 1, Products: []int64{}, Active: ptrTo(false)},
	} {
		var u svahub.PackageUpdate
		require.NoError(t, json.Unmarshal([]byte(body), &u), body)
		require.Equal(t, want, u.Apply(pkg), body)
	}
	plan := svahub.ComboInput{Description: "Fibra", Packages: []int64{1}}
	for body, want := range map[string]svahub.ComboInput{
		`{}`:                 plan,
		`{"descricao":"F2"}`: {Description: "F2", Packages: []int64{1}},
		`{"pacotes":[]}`:     {Description: "Fibra", Packages: []int64{}},
		`{"pacotes":[2,3]}`:  {Description: "Fibra", Packages: []int64{2, 3}},
		`{"pacotes":null}`:   plan,
	} {
		var u svahub.ComboUpdate
		require.NoError(t, json.Unmarshal([]byte(body), &u), body)
		require.Equal(t, want, u.Apply(plan), body)
	}
	var u svahub.ComboUpdate
	require.NoError(t, json.Unmarshal([]byte(`{"descricao":"Novo"}`), &u))
	require.Equal(t, svahub.ComboInput{Description: "Novo"}, u.Apply(svahub.ComboInput{}), "a new plan starts empty")
}

func TestCallStatus(t *testing.T) {
	t.Parallel()
	svahub.NoteCallStatus(context.Background(), 201) // no slot: ignored
	ctx, cs := svahub.WithCallStatus(context.Background())
	require.Equal(t, 200, cs.Status(200))
	svahub.NoteCallStatus(ctx, 0)
	require.Equal(t, 200, cs.Status(200))
	svahub.NoteCallStatus(ctx, 409)
	svahub.NoteCallStatus(ctx, 200)
	require.Equal(t, 409, cs.Status(200), "the first answer is the operation's")
	var none *svahub.CallStatus
	require.Equal(t, 204, none.Status(204))
}

func TestPrepareUpdateSecretRequired(t *testing.T) {
	t.Parallel()
	cur := svahub.IntegrationInput{Description: "Q", Platform: "qualifica", SuspendOnDebt: ptrTo(false), Active: ptrTo(true),
		Params: svahub.IntegrationParamInput{Values: map[string]string{"client_id": "a", "url_base": "https://api.qualifica.example"}, Username: "login_autenticacao"}}
	for _, tc := range []struct {
		name string
		body string
		want string // the field of the 422, "" when accepted
	}{
		{"nothing sent", `{}`, ""},
		{"description only", `{"descricao":"x"}`, ""},
		{"client_id only", `{"parametros":{"client_id":"b"}}`, ""},
		{"same url_base", `{"parametros":{"url_base":"https://api.qualifica.example/"}}`, ""},
		{"new url_base without secret", `{"parametros":{"url_base":"https://other.example"}}`, "parametros.client_secret"},
		{"url_base back to the default without secret", `{"parametros":{"url_base":""}}`, "parametros.client_secret"},
		{"new url_base with secret", `{"parametros":{"url_base":"https://other.example","client_secret":"s"}}`, ""},
		{"new platform without its required parameters", `{"plataforma":"webhook"}`, "parametros.url"},
		{"new platform: the secret is generated", `{"plataforma":"webhook","parametros":{"url":"https://r.example"}}`, ""},
		{"new platform: old parameters do not apply", `{"plataforma":"webhook","parametros":{"client_id":"a","url":"https://r.example"}}`, "parametros.client_id"},
		{"unknown platform", `{"plataforma":"outra"}`, "plataforma"},
		{"the same platform, untrimmed, is no move", `{"plataforma":" qualifica "}`, ""},
	} {
		var u svahub.IntegrationUpdate
		require.NoError(t, json.Unmarshal([]byte(tc.body), &u), tc.name)
		p, err := svahub.PrepareUpdate(cur, u, testRegistry())
		if tc.want == "" {
			require.NoError(t, err, tc.name)
			continue
		}
		var e *svahub.Error
		require.ErrorAs(t, err, &e, tc.name)
		require.Equal(t, tc.want, e.Fields[0].Field, tc.name)
		require.Empty(t, p.Revealed, tc.name)
	}
}
