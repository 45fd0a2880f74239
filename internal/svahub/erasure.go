package svahub

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Placeholders an erasure writes over a customer's personal data.
const (
	// ErasedName replaces nome_razaosocial (a required field). CPF/CNPJ,
	// e-mail, phone, login and password become empty: a username policy
	// then finds no value and never derives a platform user from them.
	ErasedName = "Cliente anonimizado"
	// ErasedMessage replaces platform messages (transmissions, last
	// errors) that were about an erased customer or quoted their data.
	ErasedMessage = "[mensagem removida na anonimização]"
	// erasedUsernamePrefix starts the username of an erased platform
	// account. UsernamePolicy.Credentials refuses to derive it, so no
	// later customer can be joined to an erased customer's platform user.
	erasedUsernamePrefix = "anonimizado:"
)

// ErasedUsername is the placeholder username of an erased platform account.
func ErasedUsername(accountID int64) string {
	return erasedUsernamePrefix + strconv.FormatInt(accountID, 10)
}

// IsErasedUsername reports whether a username is an erasure placeholder.
func IsErasedUsername(s string) bool { return strings.HasPrefix(s, erasedUsernamePrefix) }

// IsErased reports whether a customer service holds no personal data any
// more (an erasure ran on it and nothing new was pushed since).
func IsErased(s *CustomerService) bool {
	c := s.Customer
	return c.Name == ErasedName && c.Document == "" && c.Email == "" && c.Phone == "" && s.Login == "" && !s.PasswordSet
}

// minSearchLen is the shortest personal value searched for in free text:
// shorter ones ("Ana", a 3-digit login) match too much unrelated text.
const minSearchLen = 4

// PersonalValues returns the personal data of a customer service (and of
// the platform usernames derived from it) to search for in free text —
// platform messages, stored answers, job errors — and remove there: name,
// CPF/CNPJ (digits and punctuated), e-mail, phone (as given and digits),
// login, password and usernames, each once, those of at least 4 characters.
func PersonalValues(s *CustomerService, usernames ...string) []string {
	c := s.Customer
	cands := []string{c.Name, c.Document, FormatDocument(c.Document), c.Email, c.Phone, digits(c.Phone), s.Login, s.Password}
	cands = append(cands, usernames...)
	seen := map[string]bool{}
	var out []string
	for _, v := range cands {
		v = strings.TrimSpace(v)
		if utf8.RuneCountInString(v) < minSearchLen || seen[v] || IsErasedUsername(v) || v == ErasedName {
			continue
		}
		seen[v] = true
		out = append(out, v)
	}
	return out
}

// FormatDocument punctuates a CPF (000.000.000-00) or CNPJ
// (00.000.000/0000-00) given as digits; anything else is returned as is.
func FormatDocument(d string) string {
	switch {
	case len(d) == 11 && digits(d) == d:
		return d[:3] + "." + d[3:6] + "." + d[6:9] + "-" + d[9:]
	case len(d) == 14 && digits(d) == d:
		return d[:2] + "." + d[2:5] + "." + d[5:8] + "/" + d[8:12] + "-" + d[12:]
	}
	return d
}

func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// PendingKind says why a platform plan keeps an erasure waiting.
type PendingKind int

// Reasons a plan is not settled.
const (
	// PendingSync: the desired state was not applied on the platform yet.
	PendingSync PendingKind = iota + 1
	// PendingError: the platform refused the work permanently.
	PendingError
	// PendingUncertain: a call's outcome is not confirmed yet.
	PendingUncertain
	// PendingQueued: a job for the plan waits or runs in the queue.
	PendingQueued
)

// PendingWork is platform work of one subscription not finished yet.
type PendingWork struct {
	SubscriptionID int64
	ProductCode    string
	Kind           PendingKind
	// Message is the platform's refusal (PendingError).
	Message string
}

// ErasureCheck is what an erasure needs to know of one customer service.
type ErasureCheck struct {
	ServiceID int64
	Status    ServiceStatus
	Pending   []PendingWork
}

// ErasureBlockers lists what keeps a customer's personal data from being
// erased: services that are not cancelado or inativo (the contract is
// live: its data is still needed), and platform work not finished (a
// worker would still need the login, password or e-mail, and the platform
// user may not be cancelled yet). Empty: the erasure may go ahead.
func ErasureBlockers(checks []ErasureCheck) []FieldError {
	var out []FieldError
	for _, c := range checks {
		if c.Status != StatusCancelled && c.Status != StatusInactive {
			out = append(out, FieldError{Field: fmt.Sprintf("servicos/%d/status_prefixo", c.ServiceID),
				Message: fmt.Sprintf("o serviço está %s: só serviços cancelado ou inativo podem ser anonimizados", c.Status)})
		}
		for _, p := range c.Pending {
			out = append(out, FieldError{Field: fmt.Sprintf("servicos/%d/pacotes/%d", c.ServiceID, p.SubscriptionID), Message: p.describe()})
		}
	}
	return out
}

func (p PendingWork) describe() string {
	switch p.Kind {
	case PendingError:
		return fmt.Sprintf("a plataforma recusou o trabalho do produto %s (%s): corrija a causa e retransmita a assinatura", p.ProductCode, p.Message)
	case PendingUncertain:
		return fmt.Sprintf("o resultado de uma chamada à plataforma para o produto %s ainda não foi confirmado: aguarde", p.ProductCode)
	case PendingQueued:
		return fmt.Sprintf("há trabalho na fila para o produto %s: aguarde", p.ProductCode)
	}
	return fmt.Sprintf("o cancelamento do produto %s ainda não foi aplicado na plataforma: aguarde a sincronização", p.ProductCode)
}

// ErasureConflict is the 409 answered when blockers keep customer id from
// being erased.
func ErasureConflict(customerID int64, blockers []FieldError) *Error {
	return &Error{Code: ECONFLICT, Fields: blockers, Message: fmt.Sprintf(
		"o cliente %d não pode ser anonimizado agora: %d impedimento(s), listados em erros (serviços ativos ou trabalho pendente na plataforma)",
		customerID, len(blockers))}
}

// Erasure origins.
const (
	ErasureByAPI = "api"
	ErasureByCLI = "cli"
)

// ErasureActor says who asked for an erasure.
type ErasureActor struct {
	// Origin is ErasureByAPI or ErasureByCLI.
	Origin string
	// APIKeyID and APIKeyName name the API key of an API request.
	APIKeyID   *int64
	APIKeyName string
}

// ErasedPlatformUser is a platform user of an erased customer: svahub
// cancelled its plans but does not delete users; forward the customer's
// request to the platform with these ids.
type ErasedPlatformUser struct {
	// Integração (conta na plataforma) onde o usuário está.
	IntegrationID int64 `json:"id_integracao" example:"1"`
	// Plataforma da integração.
	Platform string `json:"plataforma" example:"qualifica"`
	// Id do usuário na plataforma: peça a exclusão dele à plataforma.
	PlatformUserID string `json:"id_usuario_plataforma" example:"u_000123"`
	// true quando o serviço de outro cliente usa a mesma conta na plataforma (ex.: o mesmo e-mail): o usuário foi mantido para ele.
	Shared bool `json:"compartilhado" example:"false"`
}

// Erasure records one anonymisation of a customer's personal data (LGPD
// art. 18, VI).
type Erasure struct {
	// Número do registro de anonimização.
	ID int64 `json:"id_anonimizacao" example:"1"`
	// Id do cliente no HubSoft (mantido).
	CustomerID int64 `json:"id_cliente" example:"1001"`
	// Quando os dados pessoais foram apagados.
	At time.Time `json:"data_anonimizacao" example:"2026-11-30T10:15:00-03:00" format:"date-time"`
	// Quem pediu: api (este endpoint) ou cli (svahub anonimizar).
	Origin string `json:"origem" enums:"api,cli" example:"api"`
	// Id da chave de API que pediu (só origem api; null na cli).
	APIKeyID *int64 `json:"id_chave_api" example:"2" extensions:"x-nullable"`
	// Nome da chave de API que pediu (só origem api).
	APIKeyName string `json:"chave_api" example:"hubsoft"`
	// Serviços do cliente anonimizados.
	Services []int64 `json:"servicos" example:"5001,5002"`
	// Usuários do cliente nas plataformas: o svahub cancelou os planos mas não exclui usuários; peça a exclusão a cada plataforma.
	PlatformUsers []ErasedPlatformUser `json:"usuarios_plataforma"`
	// Transmissões cuja mensagem foi removida.
	Transmissions int64 `json:"transmissoes_anonimizadas" example:"12"`
	// true quando uma anonimização anterior já tinha removido tudo: esta resposta repete o registro dela.
	AlreadyErased bool `json:"ja_anonimizado" example:"false"`
}

// ErasureService anonymises the personal data of former customers.
type ErasureService interface {
	// EraseCustomer anonymises every service of customer id_cliente: 404
	// when it has none, 409 (ErasureConflict) while something blocks it;
	// repeating it answers the first record with AlreadyErased.
	EraseCustomer(ctx context.Context, customerID int64, by ErasureActor) (*Erasure, error)
}
