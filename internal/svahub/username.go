package svahub

import "strings"

// UsernamePolicy is the integration's `usuario` parameter: which customer
// field becomes the platform username (and password).
type UsernamePolicy string

// The username policies of DOMAIN.md.
const (
	UsernameLogin    UsernamePolicy = "login_autenticacao"
	UsernameDocument UsernamePolicy = "cpf_cnpj"
	UsernameEmail    UsernamePolicy = "email"
	UsernameCode     UsernamePolicy = "codigo_cliente"
)

// UsernamePolicies lists the accepted policies.
var UsernamePolicies = []UsernamePolicy{UsernameLogin, UsernameDocument, UsernameEmail, UsernameCode}

// Valid reports whether p is a known policy.
func (p UsernamePolicy) Valid() bool {
	for _, v := range UsernamePolicies {
		if v == p {
			return true
		}
	}
	return false
}

// Credentials returns the platform username and password that policy p
// derives from a customer service. An empty source field is an error whose
// message is shown on the access ("cliente sem e-mail cadastrado", …).
func (p UsernamePolicy) Credentials(s *CustomerService) (username, password string, err error) {
	switch p {
	case UsernameLogin, "":
		username, password = strings.TrimSpace(s.Login), s.Password
		if username == "" {
			return "", "", Errorf(EINVALID, "serviço sem login de autenticação cadastrado")
		}
		if password == "" {
			return "", "", Errorf(EINVALID, "serviço sem senha cadastrada")
		}
		if IsErasedUsername(username) {
			return "", "", errReservedUsername
		}
		return username, password, nil
	case UsernameDocument:
		username = s.Customer.Document
		if username == "" {
			return "", "", Errorf(EINVALID, "cliente sem CPF/CNPJ cadastrado")
		}
	case UsernameEmail:
		username = strings.TrimSpace(s.Customer.Email)
		if username == "" {
			return "", "", Errorf(EINVALID, "cliente sem e-mail cadastrado")
		}
	case UsernameCode:
		username = strings.TrimSpace(s.Customer.Code)
		if username == "" {
			return "", "", Errorf(EINVALID, "cliente sem código cadastrado")
		}
	default:
		return "", "", Errorf(EINVALID, "política de usuário desconhecida: %q", p)
	}
	if IsErasedUsername(username) {
		return "", "", errReservedUsername
	}
	return username, username, nil
}

// errReservedUsername refuses a username shaped like an erased account's
// placeholder: reusing it would join an erased customer's platform user.
var errReservedUsername = Errorf(EINVALID, "usuário reservado: começa com %q, o prefixo de contas anonimizadas", erasedUsernamePrefix)
