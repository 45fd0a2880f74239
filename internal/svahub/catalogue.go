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

// Integration is one account on one content platform.
type Integration struct {
	ID            int64             `json:"id_integracao"`
	Description   string            `json:"descricao"`
	Platform      string            `json:"plataforma"`
	Params        IntegrationParams `json:"parametros"`
	SuspendOnDebt bool              `json:"suspender_inadimplencia"`
	Active        bool              `json:"ativo"`
	Token         TokenInfo         `json:"token"`
	CreatedAt     time.Time         `json:"data_cadastro"`
	UpdatedAt     time.Time         `json:"data_atualizacao"`
}

// IntegrationParams are an integration's platform parameters as shown to
// callers: the client secret is write-only, only whether it is set is shown.
type IntegrationParams struct {
	ClientID     string         `json:"client_id"`
	SecretSet    bool           `json:"client_secret_definido"`
	Username     UsernamePolicy `json:"usuario"`
	BaseURL      string         `json:"url_base"`
	RateLimitRPS float64        `json:"limite_requisicoes_por_segundo"`
}

// TokenInfo is the integration's token block. The token itself is never shown.
type TokenInfo struct {
	Status    TokenStatus `json:"status" enums:"valido,pendente,erro"`
	ExpiresAt *time.Time  `json:"expira_em"`
	Message   string      `json:"mensagem"`
}

// IntegrationInput is the body of POST /integracoes (PUT sends an
// IntegrationUpdate, applied over the stored values).
type IntegrationInput struct {
	Description   string                `json:"descricao" validate:"required,max=200,texto" example:"Qualifica - matriz"`
	Platform      string                `json:"plataforma" validate:"required,max=50" example:"qualifica"`
	Params        IntegrationParamInput `json:"parametros"`
	SuspendOnDebt *bool                 `json:"suspender_inadimplencia" example:"true"`
	Active        *bool                 `json:"ativo" example:"true"`
}

// IntegrationParamInput carries the platform parameters on writes.
type IntegrationParamInput struct {
	ClientID     string  `json:"client_id" validate:"required,max=200,texto" example:"svahub-test"`
	ClientSecret *string `json:"client_secret,omitempty" validate:"omitempty,min=1,max=500,texto" example:"segredo-teste"`
	Username     string  `json:"usuario,omitempty" validate:"omitempty,usuario_politica" example:"login_autenticacao"`
	// BaseURL is the platform address: absolute https, no user info,
	// query or fragment, not internal ("" uses SVAHUB_QUALIFICA_URL).
	BaseURL      string   `json:"url_base,omitempty" validate:"omitempty,max=500,http_url" example:"https://api.qualifica.example"`
	RateLimitRPS *float64 `json:"limite_requisicoes_por_segundo,omitempty" validate:"omitempty,gt=0,lte=1000" example:"10"`
}

// Normalize trims text fields and fills defaults.
func (in *IntegrationInput) Normalize() {
	in.Description = strings.TrimSpace(in.Description)
	in.Platform = strings.TrimSpace(in.Platform)
	in.Params.ClientID = strings.TrimSpace(in.Params.ClientID)
	in.Params.BaseURL = strings.TrimRight(strings.TrimSpace(in.Params.BaseURL), "/")
	if in.Params.Username == "" {
		in.Params.Username = string(UsernameLogin)
	}
}

// Product is a platform product registered under one integration.
type Product struct {
	ID            int64     `json:"id_produto"`
	IntegrationID int64     `json:"id_integracao"`
	Description   string    `json:"descricao"`
	Code          string    `json:"codigo"`
	Verified      bool      `json:"verificado"`
	CreatedAt     time.Time `json:"data_cadastro"`
}

// ProductInput is the body of product writes.
type ProductInput struct {
	Description string `json:"descricao" validate:"required,max=200,texto" example:"Qualifica Pro"`
	Code        string `json:"codigo" validate:"required,produto_codigo" example:"pro"`
}

// Normalize trims the text fields.
func (in *ProductInput) Normalize() {
	in.Description = strings.TrimSpace(in.Description)
	in.Code = strings.TrimSpace(in.Code)
}

// ProductRef is a product as embedded in a package.
type ProductRef struct {
	ID          int64  `json:"id_produto"`
	Code        string `json:"codigo"`
	Description string `json:"descricao"`
}

// Package is what the ISP sells: one integration and 1–10 of its products.
type Package struct {
	ID            int64        `json:"id_pacote"`
	Description   string       `json:"descricao"`
	Code          string       `json:"codigo"`
	Value         Money        `json:"valor" swaggertype:"string" example:"29.90"`
	IntegrationID int64        `json:"id_integracao"`
	Products      []ProductRef `json:"produtos"`
	Active        bool         `json:"ativo"`
	CreatedAt     time.Time    `json:"data_cadastro"`
	UpdatedAt     time.Time    `json:"data_atualizacao"`
}

// PackageInput is the body of POST /pacotes (PUT sends a PackageUpdate).
type PackageInput struct {
	Description   string  `json:"descricao" validate:"required,max=200,texto" example:"Qualifica Pro mensal"`
	Code          string  `json:"codigo" validate:"max=64,texto" example:"QPRO"`
	Value         string  `json:"valor" validate:"required,valor" example:"29.90"`
	IntegrationID int64   `json:"id_integracao" validate:"required,gt=0" example:"1"`
	Products      []int64 `json:"produtos" validate:"required,min=1,max=10,unique,dive,gt=0" example:"1"`
	Active        *bool   `json:"ativo" example:"true"`
}

// Normalize trims the text fields.
func (in *PackageInput) Normalize() {
	in.Description = strings.TrimSpace(in.Description)
	in.Code = strings.TrimSpace(in.Code)
	in.Value = strings.TrimSpace(in.Value)
}

// Plan is a HubSoft internet plan (Serviço/Plano); with packages it is a combo.
type Plan struct {
	ID          int64      `json:"id_servico"`
	Description string     `json:"descricao"`
	Packages    []PlanItem `json:"pacotes"`
	CreatedAt   time.Time  `json:"data_cadastro"`
	UpdatedAt   time.Time  `json:"data_atualizacao"`
}

// PlanItem is a package included in a plan.
type PlanItem struct {
	ID          int64  `json:"id_pacote"`
	Description string `json:"descricao"`
	Value       Money  `json:"valor" swaggertype:"string" example:"29.90"`
}

// PlanInput is a plan as written (PUT /planos sends a PlanUpdate).
type PlanInput struct {
	Description string  `json:"descricao" validate:"required,max=200,texto" example:"Fibra 500 Mega + Qualifica"`
	Packages    []int64 `json:"pacotes" validate:"max=50,unique,dive,gt=0" example:"1"`
}

// Normalize trims the text fields.
func (in *PlanInput) Normalize() { in.Description = strings.TrimSpace(in.Description) }

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

// PlanFilter filters plan lists.
type PlanFilter struct{ Page Page }

// Credentials are an integration's platform credentials and cached token,
// decrypted, for the platform adapters only. Never serialised.
type Credentials struct {
	IntegrationID  int64
	Platform       string
	ClientID       string
	ClientSecret   string
	BaseURL        string
	RateLimitRPS   float64
	AccessToken    string
	TokenExpiresAt time.Time
	Active         bool
	// Version is the credentials version (it grows with every change of
	// client_id, secret, url_base or platform).
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

	FindPlanByID(ctx context.Context, id int64) (*Plan, error)
	FindPlans(ctx context.Context, f PlanFilter) ([]*Plan, int, error)
	UpsertPlan(ctx context.Context, id int64, u PlanUpdate) (*Plan, bool, error)
	DeletePlan(ctx context.Context, id int64) error
}
