package svahub

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// PlatformErrorKind classifies a failed platform call by what to do next.
type PlatformErrorKind int

// Platform error kinds.
const (
	// PlatformTemporary: 5xx, timeouts, connection errors, 429. Retry later.
	PlatformTemporary PlatformErrorKind = iota + 1
	// PlatformAuth: the credentials or the token were refused.
	PlatformAuth
	// PlatformPermanent: the platform rejected the request (400/403/404/409/422);
	// no automatic retry.
	PlatformPermanent
	// PlatformNotFound: the user or plan does not exist.
	PlatformNotFound
)

// PlatformError is a platform call's failure as every adapter reports it.
type PlatformError struct {
	Kind PlatformErrorKind
	// Status is the HTTP status, 0 for transport errors.
	Status int
	// Code is the platform's error code ("produto_invalido").
	Code string
	// Message is the platform's message, or a description of the fault.
	// It never contains a secret, password or token.
	Message string
	// RetryAfter is how long the platform asked to wait (429).
	RetryAfter time.Duration
	// TokenInvalid is true when a token was refused and renewing it may help.
	TokenInvalid bool
	// Cause is the transport failure behind a call that got no answer
	// (connection refused, DNS, timeout). It is for the operator's log
	// only: callers see the neutral Message, which cannot map a network.
	Cause error
}

// Error implements error.
func (e *PlatformError) Error() string {
	return fmt.Sprintf("platform error (kind %d, HTTP %d, %s): %s", e.Kind, e.Status, e.Code, e.Message)
}

// MaxPlatformMessage is the longest platform message shown to callers,
// in characters.
const MaxPlatformMessage = 300

// PlatformMessage is a platform's message as callers may see it: trimmed
// and cut to MaxPlatformMessage characters.
func PlatformMessage(s string) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) <= MaxPlatformMessage {
		return s
	}
	return string([]rune(s)[:MaxPlatformMessage-1]) + "…"
}

// AsPlatformError returns err as a *PlatformError when it is one.
func AsPlatformError(err error) (*PlatformError, bool) {
	var pe *PlatformError
	ok := errors.As(err, &pe)
	return pe, ok
}

// IsTemporary reports whether err is worth retrying later: a temporary
// platform error, or any error that is not a classified platform error
// (database hiccups, cancelled contexts).
func IsTemporary(err error) bool {
	pe, ok := AsPlatformError(err)
	return !ok || pe.Kind == PlatformTemporary
}

// PlatformToken is a token obtained from a platform.
type PlatformToken struct {
	AccessToken string
	ExpiresIn   time.Duration
}

// String hides the token value when printed.
func (t PlatformToken) String() string { return "PlatformToken{[redacted]}" }

// CatalogueItem is one product of a platform's catalogue.
type CatalogueItem struct {
	Code string
	Name string
}

// PlatformUser is what is sent to create a platform account.
type PlatformUser struct {
	Username  string
	Password  string
	Name      string
	Document  string
	Email     string
	Phone     string
	Reference string // svahub's stable id for the account
	// CustomerID and ServiceID are HubSoft's id_cliente and
	// id_cliente_servico of the service whose credentials create the
	// account (the first one that needed it).
	CustomerID int64
	ServiceID  int64
}

// String hides the password when printed.
func (u PlatformUser) String() string {
	return fmt.Sprintf("PlatformUser{Username:%q Reference:%q}", u.Username, u.Reference)
}

// PlatformPlan is a product on a platform user as the platform reports it.
type PlatformPlan struct {
	Product   string
	State     AccessState
	Expired   bool
	ExpiresOn Date
}

// PlatformAccount is a platform user as the platform reports it.
type PlatformAccount struct {
	ID       string
	Username string
	Plans    []PlatformPlan
}

// Plan returns the plan for product, if the account has one.
func (a *PlatformAccount) Plan(product string) (PlatformPlan, bool) {
	for _, p := range a.Plans {
		if p.Product == product {
			return p, true
		}
	}
	return PlatformPlan{}, false
}

// PlatformConfig is what an adapter needs to reach one integration's account.
type PlatformConfig struct {
	// Params are the integration's `parametros` as the adapter declared
	// them (Adapter.Params), secrets opened: cfg.Params["client_secret"].
	// Opaque to everything but the adapter; never logged.
	Params  map[string]string
	Timeout time.Duration
	// Limiter paces the integration's requests: the adapter waits on it
	// before every HTTP request it sends (its rate is the integration's
	// limite_requisicoes_por_segundo, or this process's share of it when
	// several processes share the database). Nil only in tests of an
	// adapter alone.
	Limiter Limiter
	// HTTPClient is the client the adapter must make every call with: it
	// refuses internal addresses at dial time and never follows redirects
	// (internal/platform/egress). Nil only in tests of an adapter alone.
	HTTPClient *http.Client
}

// Limiter paces platform requests (golang.org/x/time/rate's *Limiter is
// one): Wait blocks until one request may be sent, or fails when ctx ends
// first.
type Limiter interface {
	Wait(ctx context.Context) error
}

// Platform is one content platform account, as seen by svahub. Adapters
// (Qualifica first) implement it; handlers, store and lifecycle code only
// see this interface. Every method but Token takes the access token.
// Errors are *PlatformError.
type Platform interface {
	// Token obtains a new access token with the client credentials.
	Token(ctx context.Context) (PlatformToken, error)
	// Catalogue lists the platform's products.
	Catalogue(ctx context.Context, token string) ([]CatalogueItem, error)
	// EnsureUser creates the platform user, or adopts it when a retried
	// create finds our own reference; returns the platform's user id.
	EnsureUser(ctx context.Context, token string, u PlatformUser) (string, error)
	// GetUser reads a user with its plans; PlatformNotFound when unknown.
	GetUser(ctx context.Context, token, userID string) (*PlatformAccount, error)
	// EnsurePlan creates the plan as active, or sets the expiry date of an
	// existing one (status unchanged; a cancelled plan is re-created).
	EnsurePlan(ctx context.Context, token, userID, product string, expiresOn Date) (AccessState, error)
	// Suspend suspends a plan; already suspended is success.
	Suspend(ctx context.Context, token, userID, product string) error
	// Reactivate reactivates a plan; already active is success.
	Reactivate(ctx context.Context, token, userID, product string) error
	// Cancel cancels a plan; an unknown plan is success.
	Cancel(ctx context.Context, token, userID, product string) error
}

// PlatformFactory builds a Platform for one integration's configuration.
type PlatformFactory func(cfg PlatformConfig) (Platform, error)

// Operation names a platform call in transmissions.
type Operation string

// Transmission operations.
const (
	OpToken        Operation = "token"
	OpCatalogue    Operation = "catalogo"
	OpCreateUser   Operation = "criar_usuario"
	OpActivatePlan Operation = "ativar_plano"
	OpUpdateExpiry Operation = "atualizar_expiracao"
	OpSuspend      Operation = "suspender"
	OpReactivate   Operation = "reativar"
	OpCancel       Operation = "cancelar"
	OpQuery        Operation = "consultar"
)

// Operations lists every operation (for filters).
var Operations = []Operation{OpToken, OpCatalogue, OpCreateUser, OpActivatePlan, OpUpdateExpiry, OpSuspend, OpReactivate, OpCancel, OpQuery}

// Outcome is a transmission's result.
type Outcome string

// Transmission outcomes.
const (
	OutcomeSuccess   Outcome = "sucesso"
	OutcomeError     Outcome = "erro"
	OutcomeTemporary Outcome = "erro_temporario"
)

// Outcomes lists every transmission outcome.
var Outcomes = []Outcome{OutcomeSuccess, OutcomeError, OutcomeTemporary}

// Transmission is one logged platform call.
type Transmission struct {
	// Id da transmissão.
	ID int64 `json:"id_transmissao" example:"981"`
	// Integração chamada.
	IntegrationID int64 `json:"id_integracao" example:"1"`
	// Assinatura envolvida; null em chamadas de catálogo e token.
	SubscriptionID *int64 `json:"id_assinatura" example:"42" extensions:"x-nullable"`
	// Acesso (produto da assinatura) envolvido; null quando não há.
	AccessID *int64 `json:"id_acesso" example:"77" extensions:"x-nullable"`
	// Chamada feita à plataforma.
	Operation Operation `json:"operacao" example:"ativar_plano"`
	// sucesso, erro (permanente) ou erro_temporario (será repetida).
	Outcome Outcome `json:"resultado" example:"sucesso"`
	// Status HTTP da plataforma; 0 sem resposta (timeout, conexão).
	HTTPStatus int `json:"status_http" example:"200"`
	// Resumo da resposta ou do erro (sem segredos, senhas ou tokens).
	Message string `json:"mensagem" example:"plano ativado"`
	// Duração da chamada em milissegundos.
	DurationMS int64 `json:"duracao_ms" example:"184"`
	// Tentativa do trabalho que fez a chamada (1 é a primeira; 1 também fora de trabalhos).
	Attempt int `json:"tentativa" example:"1"`
	// Quando a chamada foi feita.
	CreatedAt time.Time `json:"data" example:"2026-11-30T10:15:00-03:00" format:"date-time"`
}

// TransmissionFilter filters transmission lists (newest first).
type TransmissionFilter struct {
	IntegrationID  *int64
	SubscriptionID *int64
	Operation      *Operation
	Outcome        *Outcome
	// Since is inclusive, Before exclusive (the handler turns an inclusive
	// `ate` into Before: the next day for a date, the next instant for a
	// timestamp).
	Since, Before *time.Time
	Page          Page
}

// TransmissionService records and lists transmissions.
type TransmissionService interface {
	RecordTransmission(ctx context.Context, t *Transmission) error
	FindTransmissions(ctx context.Context, f TransmissionFilter) ([]*Transmission, int, error)
}
