package qualifica

import "fmt"

// Plan status values reported by the platform in [Plan.Status].
const (
	StatusActive    = "ativo"
	StatusSuspended = "suspenso"
	StatusCancelled = "cancelado"
	StatusExpired   = "expirado"
)

// Platform error codes ("codigo") that the contract defines.
const (
	CodeInvalidCredentials = "credenciais_invalidas"
	CodeInvalidToken       = "token_invalido"
	CodeUserExists         = "usuario_existente"
	CodeInvalidData        = "dados_invalidos"
	CodeInvalidProduct     = "produto_invalido"
	CodeInvalidDate        = "data_invalida"
	CodeUserNotFound       = "usuario_nao_encontrado"
	CodePlanNotFound       = "plano_nao_encontrado"
	CodePlanCancelled      = "plano_cancelado"
	CodeRateLimited        = "limite_excedido"
	CodeBadRequest         = "requisicao_invalida"
)

// DateLayout is the layout of [Plan.ExpiresOn] (data_expiracao): YYYY-MM-DD.
const DateLayout = "2006-01-02"

// Token is an access token issued by POST /oauth/token.
type Token struct {
	// AccessToken is the value sent as "Authorization: Bearer <AccessToken>".
	AccessToken string `json:"access_token"`
	// TokenType is the token type announced by the platform ("Bearer").
	TokenType string `json:"token_type"`
	// ExpiresIn is the token lifetime in seconds. The platform may revoke the
	// token earlier (see [IsTokenInvalid]).
	ExpiresIn int `json:"expires_in"`
}

// String describes the token without revealing AccessToken.
func (t Token) String() string {
	return fmt.Sprintf("qualifica.Token{TokenType:%q, ExpiresIn:%d, AccessToken:[redacted]}", t.TokenType, t.ExpiresIn)
}

// GoString is like String, so that %#v does not reveal AccessToken either.
func (t Token) GoString() string { return t.String() }

// Product is one entry of the platform catalogue.
type Product struct {
	// Code is what the platform knows the product by ("pro", "premium", "1001").
	Code string `json:"codigo"`
	// Name is the product's display name.
	Name string `json:"nome"`
}

// NewUser is the body of POST /v1/usuarios.
type NewUser struct {
	// Username is the platform login (usuario). Required.
	Username string `json:"usuario"`
	// Password is the initial platform password (senha). Required.
	Password string `json:"senha"`
	// Name is the customer's name (nome). Required.
	Name string `json:"nome"`
	// Document is the CPF (11 digits) or CNPJ (14 digits), digits only. Optional.
	Document string `json:"cpf_cnpj,omitempty"`
	// Email is the customer's e-mail. Optional.
	Email string `json:"email,omitempty"`
	// Phone is the customer's phone number. Optional.
	Phone string `json:"telefone,omitempty"`
	// Reference is svahub's stable id for the account (referencia), so that a
	// retried create is recognised. Required.
	Reference string `json:"referencia"`
}

// String describes the user without revealing Password.
func (u NewUser) String() string {
	return fmt.Sprintf("qualifica.NewUser{Username:%q, Name:%q, Document:%q, Email:%q, Phone:%q, Reference:%q, Password:[redacted]}",
		u.Username, u.Name, u.Document, u.Email, u.Phone, u.Reference)
}

// GoString is like String, so that %#v does not reveal Password either.
func (u NewUser) GoString() string { return u.String() }

// Plan is a product on a platform user.
type Plan struct {
	// Product is the product code (produto).
	Product string `json:"produto"`
	// Status is one of StatusActive, StatusSuspended, StatusCancelled or
	// StatusExpired.
	Status string `json:"status"`
	// ExpiresOn is the expiry date (data_expiracao) as YYYY-MM-DD.
	ExpiresOn string `json:"data_expiracao"`
}

// User is a platform user as returned by the platform.
type User struct {
	// ID is the platform's id for the user ("u_...").
	ID string `json:"id"`
	// Username is the platform login (usuario).
	Username string `json:"usuario"`
	// Reference is svahub's stable id for the account (referencia).
	Reference string `json:"referencia"`
	// Plans are the user's plans (planos).
	Plans []Plan `json:"planos"`
}

// UserQuery filters [Client.FindUsers]. At least one field must be set; when
// both are set the platform applies both.
type UserQuery struct {
	// Reference filters by referencia.
	Reference string
	// Username filters by usuario.
	Username string
}
