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
	// Description is the integration's name.
	Description *string `json:"descricao,omitempty" minLength:"1" maxLength:"200" example:"Qualifica - matriz"`
	// Platform is the adapter (qualifica).
	Platform *string `json:"plataforma,omitempty" minLength:"1" maxLength:"50" example:"qualifica"`
	// Params are the platform parameters; each one omitted is kept.
	Params *IntegrationParamsUpdate `json:"parametros,omitempty"`
	// SuspendOnDebt is the debt key (suspender_inadimplencia).
	SuspendOnDebt *bool `json:"suspender_inadimplencia,omitempty" example:"true"`
	// Active pauses (false) or resumes (true) the integration's transmissions.
	Active *bool `json:"ativo,omitempty" example:"true"`
}

// IntegrationParamsUpdate carries the platform parameters of a PUT.
type IntegrationParamsUpdate struct {
	// ClientID is the platform client id.
	ClientID *string `json:"client_id,omitempty" minLength:"1" maxLength:"200" example:"svahub-test"`
	// ClientSecret replaces the stored secret (write-only; omitted keeps it).
	ClientSecret *string `json:"client_secret,omitempty" minLength:"1" maxLength:"500" example:"segredo-teste"`
	// Username is the platform username policy; it cannot change while the
	// integration has platform accounts (409).
	Username *string `json:"usuario,omitempty" enums:"login_autenticacao,cpf_cnpj,email,codigo_cliente" example:"login_autenticacao"`
	// BaseURL is the platform address ("" falls back to the server's): an
	// absolute https URL, no user info, query or fragment, not internal.
	BaseURL *string `json:"url_base,omitempty" maxLength:"500" example:"https://api.qualifica.example"`
	// RateLimitRPS is the integration's own request rate.
	RateLimitRPS *float64 `json:"limite_requisicoes_por_segundo,omitempty" maximum:"1000" example:"10"`
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

// PackageUpdate is the body of PUT /pacotes/{id}.
type PackageUpdate struct {
	// Description is what the ISP calls the package.
	Description *string `json:"descricao,omitempty" minLength:"1" maxLength:"200" example:"Qualifica Pro mensal"`
	// Code is the ISP's own code ("" clears it).
	Code *string `json:"codigo,omitempty" maxLength:"64" example:"QPRO"`
	// Value is the monthly price, two decimals.
	Value *string `json:"valor,omitempty" example:"29.90"`
	// IntegrationID cannot change once the package has subscriptions (409).
	IntegrationID *int64 `json:"id_integracao,omitempty" minimum:"1" example:"1"`
	// Products replaces the package's products (1–10 of its integration).
	Products []int64 `json:"produtos,omitempty" validate:"omitempty,min=1,max=10,unique" example:"1"`
	// Active says whether the package may be attached.
	Active *bool `json:"ativo,omitempty" example:"true"`
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
	// Description is the plan's name.
	Description *string `json:"descricao,omitempty" minLength:"1" maxLength:"200" example:"Fibra 500 Mega + Qualifica"`
	// Packages replaces the combo's packages ([] empties it).
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
