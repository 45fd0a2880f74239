package svahub

import (
	"context"
	"strings"
	"time"
)

// Customer is the HubSoft customer that owns a customer service.
type Customer struct {
	ID       int64  `json:"id_cliente"`
	Code     string `json:"codigo_cliente"`
	Name     string `json:"nome_razaosocial"`
	Document string `json:"cpf_cnpj"`
	Email    string `json:"email_principal"`
	Phone    string `json:"telefone_primario"`
}

// CustomerService is a customer's contracted plan, pushed by HubSoft core.
type CustomerService struct {
	ID            int64          `json:"id_cliente_servico"`
	PlanID        *int64         `json:"id_servico"`
	Login         string         `json:"login"`
	Password      string         `json:"-"` // write-only, encrypted at rest
	PasswordSet   bool           `json:"senha_definida"`
	Status        ServiceStatus  `json:"status_prefixo"`
	Customer      Customer       `json:"cliente"`
	Subscriptions []Subscription `json:"pacotes"`
	CreatedAt     time.Time      `json:"data_cadastro"`
	UpdatedAt     time.Time      `json:"data_atualizacao"`
}

// CustomerInput is the customer block of a service upsert.
type CustomerInput struct {
	ID       int64  `json:"id_cliente" validate:"required,gt=0" example:"1001"`
	Code     string `json:"codigo_cliente" validate:"max=64,texto" example:"C1001"`
	Name     string `json:"nome_razaosocial" validate:"required,max=200,texto" example:"Maria da Silva"`
	Document string `json:"cpf_cnpj" validate:"omitempty,cpf_cnpj" example:"529.982.247-25"`
	Email    string `json:"email_principal" validate:"omitempty,max=254,email" example:"maria@example.com"`
	Phone    string `json:"telefone_primario" validate:"max=30,texto" example:"+55 11 99999-0000"`
}

// ServiceInput is the body of PUT /servicos/{id_cliente_servico}.
type ServiceInput struct {
	PlanID   *int64        `json:"id_servico" validate:"omitempty,gt=0" example:"10"`
	Login    string        `json:"login" validate:"max=200,texto" example:"maria.silva"`
	Password *string       `json:"senha,omitempty" validate:"omitempty,max=200,texto" example:"s3nh4"`
	Status   string        `json:"status_prefixo" validate:"required,status_prefixo" example:"servico_habilitado"`
	Customer CustomerInput `json:"cliente"`
}

// Normalize trims text fields and reduces the CPF/CNPJ to digits.
func (in *ServiceInput) Normalize() {
	in.Login = strings.TrimSpace(in.Login)
	in.Status = strings.TrimSpace(in.Status)
	c := &in.Customer
	c.Code = strings.TrimSpace(c.Code)
	c.Name = strings.TrimSpace(c.Name)
	c.Email = strings.TrimSpace(c.Email)
	c.Phone = strings.TrimSpace(c.Phone)
	c.Document = strings.TrimSpace(c.Document)
	if d, ok := NormalizeDocument(c.Document); ok {
		c.Document = d
	}
}

// StatusInput is the body of PUT /servicos/{id}/status.
type StatusInput struct {
	Status string `json:"status_prefixo" validate:"required,status_prefixo" example:"suspenso_debito"`
}

// StatusBatchItem is one item of POST /servicos/status.
type StatusBatchItem struct {
	ServiceID int64  `json:"id_cliente_servico" validate:"required,gt=0" example:"5001"`
	Status    string `json:"status_prefixo" validate:"required,status_prefixo" example:"suspenso_debito"`
}

// StatusBatchInput is the body of POST /servicos/status.
type StatusBatchInput struct {
	Items []StatusBatchItem `json:"itens" validate:"required,min=1,max=1000,dive"`
}

// BatchResult is the outcome of one item of POST /servicos/status.
type BatchResult string

// Batch item outcomes.
const (
	BatchUpdated   BatchResult = "atualizado"
	BatchUnchanged BatchResult = "inalterado"
	BatchNotFound  BatchResult = "nao_encontrado"
)

// BatchResults lists every batch item outcome.
var BatchResults = []BatchResult{BatchUpdated, BatchUnchanged, BatchNotFound}

// StatusBatchResult is the outcome of one batch item.
type StatusBatchResult struct {
	ServiceID int64  `json:"id_cliente_servico"`
	Result    BatchResult `json:"resultado"`
}

// ServiceFilter filters customer service lists.
type ServiceFilter struct {
	CustomerID *int64
	Status     *ServiceStatus
	Document   string
	Page       Page
}

// Origin says how a subscription came to a service.
type Origin string

// Subscription origins.
const (
	OriginPlan   Origin = "plano"
	OriginSingle Origin = "avulso"
)

// Origins lists every subscription origin.
var Origins = []Origin{OriginPlan, OriginSingle}

// SubscriptionStatus is the status of a subscription shown in the API.
type SubscriptionStatus string

// Subscription statuses.
const (
	SubPending   SubscriptionStatus = "pendente"
	SubActive    SubscriptionStatus = "ativo"
	SubSuspended SubscriptionStatus = "suspenso"
	SubCancelled SubscriptionStatus = "cancelado"
	SubExpired   SubscriptionStatus = "expirado"
	SubError     SubscriptionStatus = "erro"
)

// SubscriptionStatuses lists every subscription status.
var SubscriptionStatuses = []SubscriptionStatus{SubPending, SubActive, SubSuspended, SubCancelled, SubExpired, SubError}

// Subscription is one package attached to one customer service.
type Subscription struct {
	ID          int64              `json:"id_assinatura"`
	ServiceID   int64              `json:"id_cliente_servico"`
	PackageID   int64              `json:"id_pacote"`
	Description string             `json:"descricao"`
	Origin      Origin             `json:"origem" enums:"plano,avulso"`
	Value       Money              `json:"valor" swaggertype:"string" example:"29.90"`
	ExpiresOn   Date               `json:"data_expiracao" swaggertype:"string" example:"2027-11-27"`
	Status      SubscriptionStatus `json:"status" enums:"pendente,ativo,suspenso,cancelado,expirado,erro"`
	LastError   string             `json:"ultimo_erro"`
	Accesses    []Access           `json:"acessos"`
	CreatedAt   time.Time          `json:"data_cadastro"`
	CancelledAt *time.Time         `json:"data_cancelamento"`
}

// Access is one product of one subscription on the platform.
type Access struct {
	ID             int64       `json:"-"`
	ProductCode    string      `json:"codigo_produto"`
	PlatformUser   string      `json:"usuario_plataforma"`
	DesiredState   AccessState `json:"estado_desejado" enums:"ativo,suspenso,cancelado"`
	PlatformState  AccessState `json:"estado_plataforma" enums:"ativo,suspenso,cancelado"`
	LastError      string      `json:"ultimo_erro"`
	SynchronizedAt *time.Time  `json:"sincronizado_em"`
}

// AttachInput is the body of POST /servicos/{id}/pacotes.
type AttachInput struct {
	PackageID int64  `json:"id_pacote" validate:"required,gt=0" example:"1"`
	ExpiresOn string `json:"data_expiracao,omitempty" validate:"omitempty,data" example:"2027-11-27"`
}

// ExpiryInput is the body of PATCH /assinaturas/{id}.
type ExpiryInput struct {
	ExpiresOn string `json:"data_expiracao" validate:"required,data" example:"2028-01-31"`
}

// SubscriptionFilter filters subscription lists.
type SubscriptionFilter struct {
	Status        *SubscriptionStatus
	IntegrationID *int64
	PackageID     *int64
	ServiceID     *int64
	Page          Page
}

// CustomerServiceService manages customer services and their subscriptions.
// Every change that alters a platform's desired state enqueues the platform
// work in the same transaction.
type CustomerServiceService interface {
	UpsertService(ctx context.Context, id int64, in ServiceInput) (*CustomerService, bool, error)
	FindServiceByID(ctx context.Context, id int64) (*CustomerService, error)
	FindServices(ctx context.Context, f ServiceFilter) ([]*CustomerService, int, error)
	SetServiceStatus(ctx context.Context, id int64, status ServiceStatus) (*CustomerService, error)
	SetServiceStatuses(ctx context.Context, items []StatusBatchItem) ([]StatusBatchResult, error)

	AttachPackage(ctx context.Context, serviceID int64, in AttachInput) (*Subscription, error)
	CancelSubscription(ctx context.Context, serviceID, subscriptionID int64) error
	FindSubscriptionByID(ctx context.Context, id int64) (*Subscription, error)
	FindSubscriptions(ctx context.Context, f SubscriptionFilter) ([]*Subscription, int, error)
	SetSubscriptionExpiry(ctx context.Context, id int64, expiresOn Date) (*Subscription, error)
	Retransmit(ctx context.Context, id int64) error
}
