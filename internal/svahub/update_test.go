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
		Params: svahub.IntegrationParamInput{ClientID: "c", ClientSecret: ptrTo("stored"), Username: "cpf_cnpj", BaseURL: "https://q", RateLimitRPS: ptrTo(5.0)}}
	for _, tc := range []struct {
		name string
		body string
		want func(in *svahub.IntegrationInput)
	}{
		{"empty body keeps everything", `{}`, func(*svahub.IntegrationInput) {}},
		{"null is omitted", `{"descricao":null,"parametros":null,"ativo":null}`, func(*svahub.IntegrationInput) {}},
		{"one member", `{"descricao":"Nova"}`, func(in *svahub.IntegrationInput) { in.Description = "Nova" }},
		{"one parameter", `{"parametros":{"limite_requisicoes_por_segundo":7}}`, func(in *svahub.IntegrationInput) { in.Params.RateLimitRPS = ptrTo(7.0) }},
		{"empty url_base clears it", `{"parametros":{"url_base":""}}`, func(in *svahub.IntegrationInput) { in.Params.BaseURL = "" }},
		{"secret only when sent", `{"parametros":{"client_secret":"novo"}}`, func(in *svahub.IntegrationInput) { in.Params.ClientSecret = ptrTo("novo") }},
		{"booleans", `{"ativo":true,"suspender_inadimplencia":false}`, func(in *svahub.IntegrationInput) {
			in.Active, in.SuspendOnDebt = ptrTo(true), ptrTo(false)
		}},
		{"every member", `{"descricao":"D","plataforma":"p","parametros":{"client_id":"x","usuario":"email","url_base":"https://r"},"ativo":true}`,
			func(in *svahub.IntegrationInput) {
				in.Description, in.Platform, in.Active = "D", "p", ptrTo(true)
				in.Params.ClientID, in.Params.Username, in.Params.BaseURL = "x", "email", "https://r"
			}},
	} {
		var u svahub.IntegrationUpdate
		require.NoError(t, json.Unmarshal([]byte(tc.body), &u), tc.name)
		want := cur
		want.Params.ClientSecret = nil
		tc.want(&want)
		require.Equal(t, want, u.Apply(cur), tc.name)
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
	plan := svahub.PlanInput{Description: "Fibra", Packages: []int64{1}}
	for body, want := range map[string]svahub.PlanInput{
		`{}`:                 plan,
		`{"descricao":"F2"}`: {Description: "F2", Packages: []int64{1}},
		`{"pacotes":[]}`:     {Description: "Fibra", Packages: []int64{}},
		`{"pacotes":[2,3]}`:  {Description: "Fibra", Packages: []int64{2, 3}},
		`{"pacotes":null}`:   plan,
	} {
		var u svahub.PlanUpdate
		require.NoError(t, json.Unmarshal([]byte(body), &u), body)
		require.Equal(t, want, u.Apply(plan), body)
	}
	var u svahub.PlanUpdate
	require.NoError(t, json.Unmarshal([]byte(`{"descricao":"Novo"}`), &u))
	require.Equal(t, svahub.PlanInput{Description: "Novo"}, u.Apply(svahub.PlanInput{}), "a new plan starts empty")
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

func TestIntegrationUpdateSecretRequired(t *testing.T) {
	t.Parallel()
	str := func(s string) *string { return &s }
	cur := svahub.IntegrationInput{Platform: "qualifica", Params: svahub.IntegrationParamInput{ClientID: "a", BaseURL: "https://api.qualifica.example"}}
	for _, tc := range []struct {
		name string
		u    svahub.IntegrationUpdate
		want bool
	}{
		{"nothing sent", svahub.IntegrationUpdate{}, false},
		{"description only", svahub.IntegrationUpdate{Description: str("x")}, false},
		{"client_id only", svahub.IntegrationUpdate{Params: &svahub.IntegrationParamsUpdate{ClientID: str("b")}}, false},
		{"same url_base", svahub.IntegrationUpdate{Params: &svahub.IntegrationParamsUpdate{BaseURL: str("https://api.qualifica.example")}}, false},
		{"new url_base without secret", svahub.IntegrationUpdate{Params: &svahub.IntegrationParamsUpdate{BaseURL: str("https://other.example")}}, true},
		{"url_base back to the default without secret", svahub.IntegrationUpdate{Params: &svahub.IntegrationParamsUpdate{BaseURL: str("")}}, true},
		{"new url_base with secret", svahub.IntegrationUpdate{Params: &svahub.IntegrationParamsUpdate{BaseURL: str("https://other.example"), ClientSecret: str("s")}}, false},
		{"new platform without secret", svahub.IntegrationUpdate{Platform: str("outra")}, true},
		{"new platform with secret", svahub.IntegrationUpdate{Platform: str("outra"), Params: &svahub.IntegrationParamsUpdate{ClientSecret: str("s")}}, false},
	} {
		require.Equal(t, tc.want, tc.u.SecretRequired(cur), tc.name)
	}
}
