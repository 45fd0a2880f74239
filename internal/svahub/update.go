package svahub

// PUT semantics (API.md, Additions): on PUT /integracoes/{id}, /pacotes/{id}
// and /planos/{id} an omitted member keeps its stored value, for every
// member alike (secrets included); a JSON null counts as omitted. The
// update types below record which members a PUT sent; Apply lays them over
// the stored values and the result is validated as a whole, with the rules
// of IntegrationInput, PackageInput and ComboInput (the constraints tagged
// here only document those rules in the OpenAPI document).

// IntegrationUpdate is the body of PUT /integracoes/{id}.
type IntegrationUpdate struct {
	// Nome da integração (até 200 caracteres).
	Description *string `json:"descricao,omitempty" minLength:"1" maxLength:"200" example:"Qualifica - matriz" extensions:"x-nullable"`
	// Plataforma de conteúdo (adaptador): qualifica ou webhook. Mudar de plataforma recomeça os parametros (os da plataforma anterior não valem).
	Platform *string `json:"plataforma,omitempty" minLength:"1" maxLength:"50" example:"qualifica" enums:"qualifica,webhook" extensions:"x-nullable"`
	// Parâmetros de acesso, conforme a plataforma (veja IntegrationParamsUpdateDoc); cada um omitido mantém o atual.
	Params *IntegrationParamsUpdate `json:"parametros,omitempty" extensions:"x-nullable"`
	// Se suspenso_debito e suspenso_parcialmente suspendem os acessos.
	SuspendOnDebt *bool `json:"suspender_inadimplencia,omitempty" example:"true" extensions:"x-nullable"`
	// false pausa as transmissões da integração, true as retoma.
	Active *bool `json:"ativo,omitempty" example:"true" extensions:"x-nullable"`
}

// Apply returns cur with the members u sent. cur is the stored
// integration as an input: its Params.Values hold the non-secret
// parameters only (a secret is only written when sent).
func (u IntegrationUpdate) Apply(cur IntegrationInput) IntegrationInput {
	out := cur
	out.Params.Values = cloneValues(cur.Params.Values)
	set(&out.Description, u.Description)
	set(&out.Platform, u.Platform)
	if u.SuspendOnDebt != nil {
		out.SuspendOnDebt = u.SuspendOnDebt
	}
	if u.Active != nil {
		out.Active = u.Active
	}
	if p := u.Params; p != nil {
		for k, v := range p.Values {
			out.Params.Values[k] = v
		}
		set(&out.Params.Username, p.Username)
		if p.RateLimitRPS != nil {
			out.Params.RateLimitRPS = p.RateLimitRPS
		}
	}
	return out
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

// ComboUpdate is the body of PUT /planos/{id_servico}, an upsert: creating
// a plan needs descricao; on an existing plan each omitted member is kept.
type ComboUpdate struct {
	// Nome do plano (obrigatório ao criar, até 200 caracteres).
	Description *string `json:"descricao,omitempty" minLength:"1" maxLength:"200" example:"Fibra 500 Mega + Qualifica" extensions:"x-nullable"`
	// Substitui os pacotes do combo (até 50, sem repetir); [] esvazia.
	Packages []int64 `json:"pacotes,omitempty" validate:"max=50,unique" example:"1"`
} // @name PlanUpdate

// Apply returns cur with the members u sent (a nil Packages was omitted).
func (u ComboUpdate) Apply(cur ComboInput) ComboInput {
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
