package svahub

// PUT semantics (API.md, Additions): on PUT /integracoes/{id}, /pacotes/{id}
// and /planos/{id} an omitted member keeps its stored value, for every
// member alike (secrets included); a JSON null counts as omitted. The
// update types below record which members a PUT sent; Apply lays them over
// the stored values and the result is validated as a whole, with the rules
// of IntegrationInput, PackageInput and PlanInput (the constraints tagged
// here only document those rules in the OpenAPI document).

// IntegrationUpdate is the body of PUT /integracoes/{id}.
type IntegrationUpdate struct {
	// Nome da integração (até 200 caracteres).
	Description *string `json:"descricao,omitempty" minLength:"1" maxLength:"200" example:"Qualifica - matriz" extensions:"x-nullable"`
	// Plataforma de conteúdo (adaptador); hoje: qualifica.
	Platform *string `json:"plataforma,omitempty" minLength:"1" maxLength:"50" example:"qualifica" extensions:"x-nullable"`
	// Parâmetros de acesso; cada um omitido mantém o atual.
	Params *IntegrationParamsUpdate `json:"parametros,omitempty" extensions:"x-nullable"`
	// Se suspenso_debito e suspenso_parcialmente suspendem os acessos.
	SuspendOnDebt *bool `json:"suspender_inadimplencia,omitempty" example:"true" extensions:"x-nullable"`
	// false pausa as transmissões da integração, true as retoma.
	Active *bool `json:"ativo,omitempty" example:"true" extensions:"x-nullable"`
}

// IntegrationParamsUpdate carries the platform parameters of a PUT.
type IntegrationParamsUpdate struct {
	// Client id na plataforma; omitido mantém o atual.
	ClientID *string `json:"client_id,omitempty" minLength:"1" maxLength:"200" example:"svahub-test" extensions:"x-nullable"`
	// Novo client secret (só de escrita); omitido mantém o atual, exceto ao mudar url_base ou plataforma, quando é obrigatório (422): o segredo guardado nunca vai para outro endereço.
	ClientSecret *string `json:"client_secret,omitempty" minLength:"1" maxLength:"500" example:"segredo-teste" extensions:"x-nullable"`
	// Como o usuário do cliente é formado na plataforma; não muda enquanto a integração tem contas na plataforma (409).
	Username *string `json:"usuario,omitempty" enums:"login_autenticacao,cpf_cnpj,email,codigo_cliente" example:"login_autenticacao" extensions:"x-nullable"`
	// Endereço da API da plataforma (https absoluto, não interno, salvo se liberado em SVAHUB_PLATFORM_ALLOWED_HOSTS); "" volta ao padrão do servidor.
	BaseURL *string `json:"url_base,omitempty" maxLength:"500" example:"https://api.qualifica.example" extensions:"x-nullable"`
	// Requisições por segundo à plataforma, > 0 e ≤ 1000.
	RateLimitRPS *float64 `json:"limite_requisicoes_por_segundo,omitempty" maximum:"1000" example:"10" extensions:"x-nullable"`
}

// Apply returns cur with the members u sent. cur is the stored
// integration as an input; its ClientSecret is ignored (a secret is only
// written when sent).
func (u IntegrationUpdate) Apply(cur IntegrationInput) IntegrationInput {
	out := cur
	out.Params.ClientSecret = nil
	set(&out.Description, u.Description)
	set(&out.Platform, u.Platform)
	if u.SuspendOnDebt != nil {
		out.SuspendOnDebt = u.SuspendOnDebt
	}
	if u.Active != nil {
		out.Active = u.Active
	}
	if p := u.Params; p != nil {
		set(&out.Params.ClientID, p.ClientID)
		set(&out.Params.Username, p.Username)
		set(&out.Params.BaseURL, p.BaseURL)
		if p.ClientSecret != nil {
			out.Params.ClientSecret = p.ClientSecret
		}
		if p.RateLimitRPS != nil {
			out.Params.RateLimitRPS = p.RateLimitRPS
		}
	}
	return out
}

// SecretRequired reports whether u moves the integration to another
// destination (plataforma or url_base) without sending client_secret. The
// stored secret is never sent to an address other than the one it was
// given for: a caller holding a write key, but not the secret, must not be
// able to point the integration at a server of their own and receive it
// with the next token request.
func (u IntegrationUpdate) SecretRequired(cur IntegrationInput) bool {
	next := u.Apply(cur)
	moved := next.Platform != cur.Platform || next.Params.BaseURL != cur.Params.BaseURL
	return moved && next.Params.ClientSecret == nil
}

// PackageUpdate is the body of PUT /pacotes/{id}.
type PackageUpdate struct {
	// Nome do pacote (até 200 caracteres).
	Description *string `json:"descricao,omitempty" minLength:"1" maxLength:"200" example:"Qualifica Pro mensal" extensions:"x-nullable"`
	// Código do pacote no provedor; "" limpa.
	Code *string `json:"codigo,omitempty" maxLength:"64" example:"QPRO" extensions:"x-nullable"`
	// Valor mensal com duas casas decimais; não altera assinaturas existentes.
	Value *string `json:"valor,omitempty" example:"29.90" extensions:"x-nullable"`
	// Integração dos produtos; não muda depois que o pacote tem assinaturas (409).
	IntegrationID *int64 `json:"id_integracao,omitempty" minimum:"1" example:"1" extensions:"x-nullable"`
	// Substitui os produtos (1 a 10 da integração).
	Products []int64 `json:"produtos,omitempty" validate:"omitempty,min=1,max=10,unique" example:"1"`
	// Se o pacote pode ser assinado.
	Active *bool `json:"ativo,omitempty" example:"true" extensions:"x-nullable"`
}

// Apply returns cur with the members u sent (a nil Products was omitted).
func (u PackageUpdate) Apply(cur PackageInput) PackageInput {
	out := cur
	set(&out.Description, u.Description)
	set(&out.Code, u.Code)
	set(&out.Value, u.Value)
	if u.IntegrationID != nil {
		out.IntegrationID = *u.IntegrationID
	}
	if u.Products != nil {
		out.Products = u.Products
	}
	if u.Active != nil {
		out.Active = u.Active
	}
	return out
}

// PlanUpdate is the body of PUT /planos/{id_servico}, an upsert: creating
// a plan needs descricao; on an existing plan each omitted member is kept.
type PlanUpdate struct {
	// Nome do plano (obrigatório ao criar, até 200 caracteres).
	Description *string `json:"descricao,omitempty" minLength:"1" maxLength:"200" example:"Fibra 500 Mega + Qualifica" extensions:"x-nullable"`
	// Substitui os pacotes do combo (até 50, sem repetir); [] esvazia.
	Packages []int64 `json:"pacotes,omitempty" validate:"max=50,unique" example:"1"`
}

// Apply returns cur with the members u sent (a nil Packages was omitted).
func (u PlanUpdate) Apply(cur PlanInput) PlanInput {
	out := cur
	set(&out.Description, u.Description)
	if u.Packages != nil {
		out.Packages = u.Packages
	}
	return out
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}
