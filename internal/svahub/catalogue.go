package svahub

import (
	"context"
	"strings"
	"time"
)

// PlatformQualifica is the `plataforma` value of the Qualifica adapter.
const PlatformQualifica = "qualifica"

// TokenStatus is the state of an integration's platform token.
type TokenStatus string

// Token states shown in the integration's token block.
const (
	TokenPending TokenStatus = "pendente"
	TokenValid   TokenStatus = "valido"
	TokenError   TokenStatus = "erro"
)

// TokenStatuses lists every token state.
var TokenStatuses = []TokenStatus{TokenPending, TokenValid, TokenError}

// Integration is one account on one content platform.
type Integration struct {
	// Id da integração.
	ID int64 `json:"id_integracao" example:"1"`
	// Nome da integração.
	Description string `json:"descricao" example:"Qualifica - matriz"`
	// Plataforma de conteúdo (adaptador).
	Platform string `json:"plataforma" example:"qualifica"`
	// Parâmetros de acesso à plataforma (o segredo nunca é mostrado).
	Params IntegrationParams `json:"parametros"`
	// Se suspenso_debito e suspenso_parcialmente suspendem os acessos na plataforma.
	SuspendOnDebt bool `json:"suspender_inadimplencia" example:"true"`
	// false pausa as transmissões da integração.
	Active bool `json:"ativo" example:"true"`
	// Estado do token da plataforma (o token nunca é mostrado).
	Token TokenInfo `json:"token"`
	// Quando a integração foi criada.
	CreatedAt time.Time `json:"data_cadastro" example:"2026-11-30T10:15:00-03:00" format:"date-time"`
	// Última alteração da integração.
	UpdatedAt time.Time `json:"data_atualizacao" example:"2026-11-30T13:20:00-03:00" format:"date-time"`
}

// TokenInfo is the integration's token block. The token itself is never shown.
type TokenInfo struct {
	// pendente antes do primeiro token, valido ou erro.
	Status TokenStatus `json:"status" example:"valido"`
	// Quando o token atual expira; null sem token.
	ExpiresAt *time.Time `json:"expira_em" example:"2026-11-30T11:15:00-03:00" extensions:"x-nullable" format:"date-time"`
	// Erro do último pedido de token; vazio quando não há.
	Message string `json:"mensagem" example:""`
}

// IntegrationInput is the body of POST /integracoes (PUT sends an
// IntegrationUpdate, applied over the stored values).
type IntegrationInput struct {
	// Nome da integração (obrigatório, até 200 caracteres).
	Description string `json:"descricao" validate:"required,max=200,texto" example:"Qualifica - matriz"`
	// Plataforma de conteúdo (adaptador): qualifica ou webhook.
	Platform string `json:"plataforma" validate:"required,max=50" example:"qualifica" enums:"qualifica,webhook"`
	// Parâmetros de acesso à plataforma, conforme a plataforma (veja IntegrationParamInputDoc).
	Params IntegrationParamInput `json:"parametros"`
	// Se suspenso_debito e suspenso_parcialmente suspendem os acessos (padrão false).
	SuspendOnDebt *bool `json:"suspender_inadimplencia" example:"true" extensions:"x-nullable"`
	// false pausa as transmissões da integração (padrão true).
	Active *bool `json:"ativo" example:"true" extensions:"x-nullable"`
}

// Normalize trims text fields and fills defaults (the adapter's own
// parameters are normalised by Adapter.NormalizeParams).
func (in *IntegrationInput) Normalize() {
	in.Description = strings.TrimSpace(in.Description)
	in.Platform = strings.TrimSpace(in.Platform)
	if in.Params.Username == "" {
		in.Params.Username = string(UsernameLogin)
	}
}

// Product is a platform product registered under one integration.
type Product struct {
	// Id do produto.
	ID int64 `json:"id_produto" example:"3"`
	// Integração (plataforma) do produto.
	IntegrationID int64 `json:"id_integracao" example:"1"`
	// Nome do produto.
	Description string `json:"descricao" example:"Qualifica Pro"`
	// Código do produto na plataforma.
	Code string `json:"codigo" example:"pro"`
	// Se o código foi confirmado no catálogo da plataforma.
	Verified bool `json:"verificado" example:"true"`
	// Quando o produto foi criado.
	CreatedAt time.Time `json:"data_cadastro" example:"2026-11-30T10:15:00-03:00" format:"date-time"`
}

// ProductInput is the body of product writes.
type ProductInput struct {
	// Nome do produto (obrigatório, até 200 caracteres).
	Description string `json:"descricao" validate:"required,max=200,texto" example:"Qualifica Pro"`
	// Código do produto na plataforma (obrigatório): de 1 a 64 letras, dígitos, '-' ou '_' numa plataforma com catálogo (qualifica); texto livre de 1 a 100 caracteres imprimíveis numa plataforma sem catálogo (webhook).
	Code string `json:"codigo" validate:"required,produto_codigo" example:"pro"`
}

// Normalize trims the text fields.
func (in *ProductInput) Normalize() {
	in.Description = strings.TrimSpace(in.Description)
	in.Code = strings.TrimSpace(in.Code)
}

// freeProductInput is ProductInput for a platform without a catalogue:
// the code is free text, 1–100 printable characters.
type freeProductInput struct {
	Description string `json:"descricao" validate:"required,max=200,texto"`
	Code        string `json:"codigo" validate:"required,max=100,imprimivel"`
}

// ValidateFor checks a normalized product against the rules of a platform
// with caps: a catalogue platform's codes are 1–64 letters, digits, '-'
// or '_'; without a catalogue a code is free text (1–100 printable
// characters).
func (in ProductInput) ValidateFor(caps Capabilities) error {
	if caps.Catalogue {
		return Validate(&in)
	}
	return Validate(&freeProductInput{Description: in.Description, Code: in.Code})
}

// ProductRef is a product as embedded in a package.
type ProductRef struct {
	// Id do produto.
	ID int64 `json:"id_produto" example:"3"`
	// Código do produto na plataforma.
	Code string `json:"codigo" example:"pro"`
	// Nome do produto.
	Description string `json:"descricao" example:"Qualifica Pro"`
}

// Package is what the ISP sells: one integration and 1–10 of its products.
type Package struct {
	// Id do pacote.
	ID int64 `json:"id_pacote" example:"1"`
	// Nome do pacote.
	Description string `json:"descricao" example:"Qualifica Pro mensal"`
	// Código do pacote no provedor (pode ser vazio).
	Code string `json:"codigo" example:"QPRO"`
	// Valor mensal, duas casas decimais; 0.00 é um benefício (combo).
	Value Money `json:"valor" swaggertype:"string" example:"29.90"`
	// Integração dos produtos do pacote.
	IntegrationID int64 `json:"id_integracao" example:"1"`
	// Produtos da plataforma que o pacote libera (1 a 10).
	Products []ProductRef `json:"produtos"`
	// Se o pacote pode ser assinado.
	Active bool `json:"ativo" example:"true"`
	// Quando o pacote foi criado.
	CreatedAt time.Time `json:"data_cadastro" example:"2026-11-30T10:15:00-03:00" format:"date-time"`
	// Última alteração do pacote.
	UpdatedAt time.Time `json:"data_atualizacao" example:"2026-11-30T13:20:00-03:00" format:"date-time"`
}

// PackageInput is the body of POST /pacotes (PUT sends a PackageUpdate).
type PackageInput struct {
	// Nome do pacote (obrigatório, até 200 caracteres).
	Description string `json:"descricao" validate:"required,max=200,texto" example:"Qualifica Pro mensal"`
	// Código do pacote no provedor (até 64 caracteres).
	Code string `json:"codigo" validate:"max=64,texto" example:"QPRO"`
	// Valor mensal com duas casas decimais ("0.00" é um benefício).
	Value string `json:"valor" validate:"required,valor" example:"29.90"`
	// Integração dos produtos.
	IntegrationID int64 `json:"id_integracao" validate:"required,gt=0" example:"1"`
	// Ids de 1 a 10 produtos da própria integração, sem repetir.
	Products []int64 `json:"produtos" validate:"required,min=1,max=10,unique,dive,gt=0" example:"1"`
	// Se o pacote pode ser assinado (padrão true).
	Active *bool `json:"ativo" example:"true" extensions:"x-nullable"`
}

// Normalize trims the text fields.
func (in *PackageInput) Normalize() {
	in.Description = strings.TrimSpace(in.Description)
	in.Code = strings.TrimSpace(in.Code)
	in.Value = strings.TrimSpace(in.Value)
}

// Combo is a HubSoft plano, an internet plan (Serviço/Plano; wire name
// "plano"): with packages it is a combo. It is not a platform plan (the
// plan a content platform keeps for an account; PlanJob, PlatformPlan).
type Combo struct {
	// Id do plano (id_servico) no HubSoft.
	ID int64 `json:"id_servico" example:"10"`
	// Nome do plano.
	Description string `json:"descricao" example:"Fibra 500 Mega + Qualifica"`
	// Pacotes do combo (vazio se o plano não é combo).
	Packages []ComboItem `json:"pacotes"`
	// Quando o plano foi criado no svahub.
	CreatedAt time.Time `json:"data_cadastro" example:"2026-11-30T10:15:00-03:00" format:"date-time"`
	// Última alteração do plano.
	UpdatedAt time.Time `json:"data_atualizacao" example:"2026-11-30T13:20:00-03:00" format:"date-time"`
} // @name Plan

// ComboItem is a package included in a combo.
type ComboItem struct {
	// Pacote incluído no plano.
	ID int64 `json:"id_pacote" example:"1"`
	// Nome do pacote.
	Description string `json:"descricao" example:"Qualifica Pro mensal"`
	// Valor mensal do pacote, duas casas decimais.
	Value Money `json:"valor" swaggertype:"string" example:"29.90"`
} // @name PlanItem

// ComboInput is a combo as written (PUT /planos sends a ComboUpdate).
type ComboInput struct {
	Description string  `json:"descricao" validate:"required,max=200,texto" example:"Fibra 500 Mega + Qualifica"`
	Packages    []int64 `json:"pacotes" validate:"max=50,unique,dive,gt=0" example:"1"`
}

// Normalize trims the text fields.
func (in *ComboInput) Normalize() { in.Description = strings.TrimSpace(in.Description) }

// Page selects one page of a list (0-based).
type Page struct {
	Number int
	Size   int
}

// Offset is the number of rows before the page.
func (p Page) Offset() int { return p.Number * p.Size }

// IntegrationFilter filters integration lists.
type IntegrationFilter struct{ Page Page }

// ProductFilter filters product lists.
type ProductFilter struct {
	IntegrationID int64
	Page          Page
}

// PackageFilter filters package lists.
type PackageFilter struct {
	IntegrationID *int64
	Active        *bool
	Page          Page
}

// ComboFilter filters combo lists.
type ComboFilter struct{ Page Page }

// Credentials are an integration's platform credentials and cached token,
// decrypted, for the platform adapters only. Never serialised.
type Credentials struct {
	IntegrationID int64
	Platform      string
	// Params are the integration's parameters, secrets opened.
	Params         map[string]string
	RateLimitRPS   float64
	AccessToken    string
	TokenExpiresAt time.Time
	Active         bool
	// Version is the credentials version (it grows with every change of
	// a parameter or of the platform).
	Version int64
}

// CatalogueService is the configuration side: integrations, products,
// packages and plans.
type CatalogueService interface {
	FindIntegrationByID(ctx context.Context, id int64) (*Integration, error)
	FindIntegrations(ctx context.Context, f IntegrationFilter) ([]*Integration, int, error)
	CreateIntegration(ctx context.Context, in IntegrationInput) (*Integration, error)
	UpdateIntegration(ctx context.Context, id int64, u IntegrationUpdate) (*Integration, error)
	DeleteIntegration(ctx context.Context, id int64) error

	FindProductByID(ctx context.Context, id int64) (*Product, error)
	FindProducts(ctx context.Context, f ProductFilter) ([]*Product, int, error)
	CreateProduct(ctx context.Context, integrationID int64, in ProductInput) (*Product, error)
	UpdateProduct(ctx context.Context, id int64, in ProductInput) (*Product, error)
	DeleteProduct(ctx context.Context, id int64) error

	FindPackageByID(ctx context.Context, id int64) (*Package, error)
	FindPackages(ctx context.Context, f PackageFilter) ([]*Package, int, error)
	CreatePackage(ctx context.Context, in PackageInput) (*Package, error)
	UpdatePackage(ctx context.Context, id int64, u PackageUpdate) (*Package, error)
	DeletePackage(ctx context.Context, id int64) error

	FindComboByID(ctx context.Context, id int64) (*Combo, error)
	FindCombos(ctx context.Context, f ComboFilter) ([]*Combo, int, error)
	UpsertCombo(ctx context.Context, id int64, u ComboUpdate) (*Combo, bool, error)
	DeleteCombo(ctx context.Context, id int64) error
}
