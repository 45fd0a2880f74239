package svahub

// The types below only document `parametros` in the OpenAPI document
// (api/.swaggo puts them in place of the generic types): each member says
// which `plataforma` has it. svahub itself carries parameters as a map
// checked against the adapter's declaration (Adapter.Params).

// IntegrationParamsDoc documents `parametros` in answers. Qualifica:
// {"client_id": "svahub-test", "client_secret_definido": true, "usuario":
// "login_autenticacao", "url_base": "", "limite_requisicoes_por_segundo": 10}.
// Webhook: {"url": "https://sva.provedor.example/svahub",
// "segredo_definido": true, "usuario": "login_autenticacao",
// "limite_requisicoes_por_segundo": 10}.
type IntegrationParamsDoc struct {
	// qualifica: client id na plataforma.
	ClientID string `json:"client_id,omitempty" example:"svahub-test"`
	// qualifica: se o client secret foi informado (ele nunca é mostrado).
	ClientSecretSet bool `json:"client_secret_definido,omitempty" example:"true"`
	// qualifica: endereço da API da plataforma; vazio usa o padrão do servidor.
	BaseURL string `json:"url_base,omitempty" example:"https://api.qualifica.example"`
	// webhook: endereço que recebe os comandos assinados.
	URL string `json:"url,omitempty" example:"https://sva.provedor.example/svahub"`
	// webhook: se o segredo de assinatura está definido (ele nunca é mostrado depois do cadastro).
	SecretSet bool `json:"segredo_definido,omitempty" example:"true"`
	// webhook: o segredo gerado pelo svahub quando o cadastro não o informou — aparece só na resposta desse cadastro (201), uma única vez; guarde-o.
	Secret string `json:"segredo,omitempty" example:"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"`
	// Como o usuário do cliente é formado na plataforma.
	Username UsernamePolicy `json:"usuario" example:"login_autenticacao"`
	// Requisições por segundo à plataforma em vigor: o limite da integração ou, se ela não tiver um, o padrão do servidor (SVAHUB_PLATFORM_RATE_LIMIT).
	RateLimitRPS float64 `json:"limite_requisicoes_por_segundo" example:"10"`
}

// IntegrationParamInputDoc documents `parametros` of POST /integracoes.
// Qualifica: {"client_id": "svahub-test", "client_secret": "…", "usuario":
// "login_autenticacao", "url_base": "https://api.qualifica.example"}.
// Webhook: {"url": "https://sva.provedor.example/svahub", "segredo":
// "whsec_…" (omitido: gerado e devolvido uma vez), "usuario": "login_autenticacao"}.
// A member another plataforma has is a 400 (campo desconhecido).
type IntegrationParamInputDoc struct {
	// qualifica (obrigatório): client id na plataforma, até 200 caracteres.
	ClientID string `json:"client_id,omitempty" maxLength:"200" example:"svahub-test"`
	// qualifica (obrigatório no cadastro): client secret; só de escrita, cifrado em repouso.
	ClientSecret string `json:"client_secret,omitempty" minLength:"1" maxLength:"500" example:"segredo-teste"`
	// qualifica: endereço da API da plataforma: https absoluto, sem usuário, consulta (?) nem fragmento (#), e não um endereço interno (loopback, rede privada ou local) salvo se liberado em SVAHUB_PLATFORM_ALLOWED_HOSTS; vazio usa o padrão do servidor (SVAHUB_QUALIFICA_URL).
	BaseURL string `json:"url_base,omitempty" maxLength:"500" example:"https://api.qualifica.example"`
	// webhook (obrigatório): endereço que recebe os comandos, com as mesmas regras de url_base.
	URL string `json:"url,omitempty" maxLength:"500" example:"https://sva.provedor.example/svahub"`
	// webhook: segredo de assinatura, whsec_ seguido do base64 de 24 a 64 bytes; omitido, o svahub gera um e o devolve uma única vez, na resposta do cadastro. Só de escrita, cifrado em repouso.
	Secret string `json:"segredo,omitempty" example:"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"`
	// Como o usuário do cliente é formado na plataforma (padrão login_autenticacao).
	Username string `json:"usuario,omitempty" example:"login_autenticacao" enums:"login_autenticacao,cpf_cnpj,email,codigo_cliente"`
	// Requisições por segundo à plataforma, > 0 e ≤ 1000; omitido usa o padrão do servidor (10).
	RateLimitRPS *float64 `json:"limite_requisicoes_por_segundo,omitempty" minimum:"0" maximum:"1000" example:"10" extensions:"x-nullable"`
}

// IntegrationParamsUpdateDoc documents `parametros` of PUT
// /integracoes/{id}: each member omitted (or null) keeps its stored value.
// Changing an address (url_base, url) or the plataforma needs every secret
// again (client_secret, segredo): 422 otherwise.
type IntegrationParamsUpdateDoc struct {
	// qualifica: client id na plataforma.
	ClientID *string `json:"client_id,omitempty" maxLength:"200" example:"svahub-test" extensions:"x-nullable"`
	// qualifica: novo client secret (só de escrita); omitido mantém o atual, exceto ao mudar url_base ou plataforma, quando é obrigatório (422).
	ClientSecret *string `json:"client_secret,omitempty" minLength:"1" maxLength:"500" example:"segredo-teste" extensions:"x-nullable"`
	// qualifica: endereço da API da plataforma; "" volta ao padrão do servidor.
	BaseURL *string `json:"url_base,omitempty" maxLength:"500" example:"https://api.qualifica.example" extensions:"x-nullable"`
	// webhook: endereço que recebe os comandos.
	URL *string `json:"url,omitempty" maxLength:"500" example:"https://sva.provedor.example/svahub" extensions:"x-nullable"`
	// webhook: novo segredo (só de escrita); obrigatório ao mudar url.
	Secret *string `json:"segredo,omitempty" example:"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" extensions:"x-nullable"`
	// Como o usuário do cliente é formado na plataforma; não muda enquanto a integração tem contas na plataforma (409).
	Username *string `json:"usuario,omitempty" enums:"login_autenticacao,cpf_cnpj,email,codigo_cliente" example:"login_autenticacao" extensions:"x-nullable"`
	// Requisições por segundo à plataforma, > 0 e ≤ 1000.
	RateLimitRPS *float64 `json:"limite_requisicoes_por_segundo,omitempty" maximum:"1000" example:"10" extensions:"x-nullable"`
}
