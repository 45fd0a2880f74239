package svahub

import (
	"context"
	"strings"
	"time"
)

// Customer is the HubSoft customer that owns a customer service.
type Customer struct {
	// Id do cliente no HubSoft.
	ID int64 `json:"id_cliente" example:"1001"`
	// Código do cliente no HubSoft.
	Code string `json:"codigo_cliente" example:"C1001"`
	// Nome ou razão social.
	Name string `json:"nome_razaosocial" example:"Maria da Silva"`
	// CPF ou CNPJ, só dígitos.
	Document string `json:"cpf_cnpj" example:"52998224725"`
	// E-mail principal.
	Email string `json:"email_principal" example:"maria@example.com"`
	// Telefone principal.
	Phone string `json:"telefone_primario" example:"+55 11 99999-0000"`
}

// CustomerService is a customer's contracted plan, pushed by HubSoft core.
type CustomerService struct {
	// Id do serviço do cliente no HubSoft.
	ID int64 `json:"id_cliente_servico" example:"5001"`
	// Plano (id_servico) do serviço; null se não informado.
	ComboID *int64 `json:"id_servico" example:"10" extensions:"x-nullable"`
	// Login de autenticação do cliente.
	Login    string `json:"login" example:"maria.silva"`
	Password string `json:"-"` // write-only, encrypted at rest
	// Se uma senha foi informada (a senha nunca é devolvida).
	PasswordSet bool `json:"senha_definida" example:"true"`
	// Status do serviço no HubSoft; decide o estado das assinaturas nas plataformas.
	Status ServiceStatus `json:"status_prefixo" example:"servico_habilitado"`
	// Cliente dono do serviço.
	Customer Customer `json:"cliente"`
	// Assinaturas do serviço.
	Subscriptions []Subscription `json:"pacotes"`
	// Quando o serviço foi criado no svahub.
	CreatedAt time.Time `json:"data_cadastro" example:"2026-11-30T10:15:00-03:00" format:"date-time"`
	// Última alteração do serviço.
	UpdatedAt time.Time `json:"data_atualizacao" example:"2026-11-30T13:20:00-03:00" format:"date-time"`
}

// CustomerInput is the customer block of a service upsert.
type CustomerInput struct {
	// Id do cliente no HubSoft (obrigatório, > 0).
	ID int64 `json:"id_cliente" validate:"required,gt=0" example:"1001"`
	// Código do cliente no HubSoft (até 64 caracteres).
	Code string `json:"codigo_cliente" validate:"max=64,texto" example:"C1001"`
	// Nome ou razão social (obrigatório, até 200 caracteres).
	Name string `json:"nome_razaosocial" validate:"required,max=200,texto" example:"Maria da Silva"`
	// CPF ou CNPJ válido, com ou sem pontuação (guardado só com dígitos).
	Document string `json:"cpf_cnpj" validate:"omitempty,cpf_cnpj" example:"529.982.247-25"`
	// E-mail principal.
	Email string `json:"email_principal" validate:"omitempty,max=254,email" example:"maria@example.com"`
	// Telefone principal (até 30 caracteres).
	Phone string `json:"telefone_primario" validate:"max=30,texto" example:"+55 11 99999-0000"`
}

// ServiceInput is the body of PUT /servicos/{id_cliente_servico}.
type ServiceInput struct {
	// Plano (id_servico) do serviço; um plano combo traz seus pacotes.
	ComboID *int64 `json:"id_servico" validate:"omitempty,gt=0" example:"10" extensions:"x-nullable"`
	// Login de autenticação do cliente (até 200 caracteres).
	Login string `json:"login" validate:"max=200,texto" example:"maria.silva"`
	// Senha do cliente; só de escrita, cifrada; omitida mantém a atual.
	Password *string `json:"senha,omitempty" validate:"omitempty,max=200,texto" example:"s3nh4" extensions:"x-nullable"`
	// Status do serviço no HubSoft (obrigatório).
	Status string `json:"status_prefixo" validate:"required,status_prefixo" example:"servico_habilitado" enums:"servico_habilitado,suspenso_debito,suspenso_parcialmente,suspenso_pedido_cliente,cancelado,inativo,aguardando_instalacao,aguardando_assinatura_contrato,aguardando_configuracao,aguardando_liberacao_ti,aguardando_migracao,agendado_para_instalacao,franquia_excedida"`
	// Cliente dono do serviço.
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
	// Novo status do serviço.
	Status string `json:"status_prefixo" validate:"required,status_prefixo" example:"suspenso_debito" enums:"servico_habilitado,suspenso_debito,suspenso_parcialmente,suspenso_pedido_cliente,cancelado,inativo,aguardando_instalacao,aguardando_assinatura_contrato,aguardando_configuracao,aguardando_liberacao_ti,aguardando_migracao,agendado_para_instalacao,franquia_excedida"`
}

// StatusBatchItem is one item of POST /servicos/status.
type StatusBatchItem struct {
	// Serviço a mudar.
	ServiceID int64 `json:"id_cliente_servico" validate:"required,gt=0" example:"5001"`
	// Novo status do serviço.
	Status string `json:"status_prefixo" validate:"required,status_prefixo" example:"suspenso_debito" enums:"servico_habilitado,suspenso_debito,suspenso_parcialmente,suspenso_pedido_cliente,cancelado,inativo,aguardando_instalacao,aguardando_assinatura_contrato,aguardando_configuracao,aguardando_liberacao_ti,aguardando_migracao,agendado_para_instalacao,franquia_excedida"`
}

// StatusBatchInput is the body of POST /servicos/status.
type StatusBatchInput struct {
	// De 1 a 1000 mudanças de status, aplicadas tudo-ou-nada.
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
	// Serviço do item.
	ServiceID int64 `json:"id_cliente_servico" example:"5001"`
	// atualizado, inalterado (já tinha o status) ou nao_encontrado.
	Result BatchResult `json:"resultado" example:"atualizado"`
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
	OriginCombo  Origin = "plano"
	OriginSingle Origin = "avulso"
)

// Origins lists every subscription origin.
var Origins = []Origin{OriginCombo, OriginSingle}

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
	// Id da assinatura.
	ID int64 `json:"id_assinatura" example:"42"`
	// Serviço do cliente.
	ServiceID int64 `json:"id_cliente_servico" example:"5001"`
	// Pacote assinado.
	PackageID int64 `json:"id_pacote" example:"1"`
	// Nome do pacote.
	Description string `json:"descricao" example:"Qualifica Pro mensal"`
	// plano: veio do combo do plano; avulso: anexada pela API.
	Origin Origin `json:"origem" example:"avulso"`
	// Valor mensal, duas casas decimais (0.00 nos pacotes de combo).
	Value Money `json:"valor" swaggertype:"string" example:"29.90"`
	// Data de expiração (AAAA-MM-DD); sem data informada, o mesmo dia um ano após o cadastro.
	ExpiresOn Date `json:"data_expiracao" swaggertype:"string" example:"2027-11-27" format:"date"`
	// Situação da assinatura, derivada dos acessos nas plataformas.
	Status SubscriptionStatus `json:"status" example:"ativo"`
	// Último erro permanente da plataforma (com status erro); vazio quando não há.
	LastError string `json:"ultimo_erro" example:""`
	// Um acesso por produto do pacote na plataforma.
	Accesses []Access `json:"acessos"`
	// Quando a assinatura foi criada.
	CreatedAt time.Time `json:"data_cadastro" example:"2026-11-30T10:15:00-03:00" format:"date-time"`
	// Quando foi cancelada; null se não foi.
	CancelledAt *time.Time `json:"data_cancelamento" example:"2026-11-30T13:20:00-03:00" extensions:"x-nullable" format:"date-time"`
}

// Access is one product of one subscription on the platform.
type Access struct {
	ID int64 `json:"-"`
	// Código do produto na plataforma.
	ProductCode string `json:"codigo_produto" example:"pro"`
	// Usuário do cliente na plataforma (vazio até ser criado).
	PlatformUser string `json:"usuario_plataforma" example:"maria.silva"`
	// Estado que o svahub quer na plataforma para este produto; vazio enquanto o serviço ainda não pede usuário (ex.: aguardando_instalacao).
	DesiredState AccessState `json:"estado_desejado" example:"ativo"`
	// Estado que a plataforma confirmou por último; vazio enquanto nada foi criado nela.
	PlatformState AccessState `json:"estado_plataforma" example:"ativo"`
	// Último erro permanente da plataforma para este produto; vazio quando não há.
	LastError string `json:"ultimo_erro" example:""`
	// Quando a plataforma confirmou o estado atual; null se nunca sincronizou.
	SynchronizedAt *time.Time `json:"sincronizado_em" example:"2026-11-30T10:15:00-03:00" extensions:"x-nullable" format:"date-time"`
}

// AttachInput is the body of POST /servicos/{id}/pacotes.
type AttachInput struct {
	// Pacote a assinar (id_pacote); precisa estar ativo.
	PackageID int64 `json:"id_pacote" validate:"required,gt=0" example:"1"`
	// Data de expiração (AAAA-MM-DD), opcional; omitida, é o mesmo dia um ano depois.
	ExpiresOn string `json:"data_expiracao,omitempty" validate:"omitempty,data" example:"2027-11-27"`
}

// ExpiryInput is the body of PATCH /assinaturas/{id}.
type ExpiryInput struct {
	// Nova data de expiração (AAAA-MM-DD).
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
