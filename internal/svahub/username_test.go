package svahub_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/svahub"
)

func customerService() *svahub.CustomerService {
	return &svahub.CustomerService{
		ID:       5001,
		Login:    "maria.silva",
		Password: "s3nh4",
		Status:   svahub.StatusEnabled,
		Customer: svahub.Customer{
			ID:       1001,
			Code:     "C1001",
			Name:     "Maria da Silva",
			Document: "52998224725",
			Email:    "maria@example.com",
		},
	}
}

func TestUsernamePolicyCredentials(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		policy   svahub.UsernamePolicy
		mutate   func(*svahub.CustomerService)
		wantUser string
		wantPass string
		wantErr  string
	}{
		{name: "login_autenticacao uses login and senha", policy: svahub.UsernameLogin, wantUser: "maria.silva", wantPass: "s3nh4"},
		{name: "empty policy defaults to login_autenticacao", policy: "", wantUser: "maria.silva", wantPass: "s3nh4"},
		{
			name: "login is trimmed, senha is kept verbatim", policy: svahub.UsernameLogin,
			mutate:   func(s *svahub.CustomerService) { s.Login = "  maria.silva\t"; s.Password = " s3nh4 " },
			wantUser: "maria.silva", wantPass: " s3nh4 ",
		},
		{name: "cpf_cnpj uses the digits as user and password", policy: svahub.UsernameDocument, wantUser: "52998224725", wantPass: "52998224725"},
		{
			name: "cpf_cnpj with a CNPJ", policy: svahub.UsernameDocument,
			mutate:   func(s *svahub.CustomerService) { s.Customer.Document = "11222333000181" },
			wantUser: "11222333000181", wantPass: "11222333000181",
		},
		{name: "email uses email_principal as user and password", policy: svahub.UsernameEmail, wantUser: "maria@example.com", wantPass: "maria@example.com"},
		{
			name: "email is trimmed", policy: svahub.UsernameEmail,
			mutate:   func(s *svahub.CustomerService) { s.Customer.Email = " maria@example.com " },
			wantUser: "maria@example.com", wantPass: "maria@example.com",
		},
		{name: "codigo_cliente uses the code as user and password", policy: svahub.UsernameCode, wantUser: "C1001", wantPass: "C1001"},
		{
			name: "codigo_cliente is trimmed", policy: svahub.UsernameCode,
			mutate:   func(s *svahub.CustomerService) { s.Customer.Code = "\tC1001 " },
			wantUser: "C1001", wantPass: "C1001",
		},
		{
			name: "login_autenticacao does not need customer fields", policy: svahub.UsernameLogin,
			mutate:   func(s *svahub.CustomerService) { s.Customer = svahub.Customer{} },
			wantUser: "maria.silva", wantPass: "s3nh4",
		},
		{
			name: "email policy ignores an empty login", policy: svahub.UsernameEmail,
			mutate:   func(s *svahub.CustomerService) { s.Login, s.Password = "", "" },
			wantUser: "maria@example.com", wantPass: "maria@example.com",
		},

		// Empty source fields.
		{
			name: "empty login", policy: svahub.UsernameLogin,
			mutate:  func(s *svahub.CustomerService) { s.Login = "" },
			wantErr: "serviço sem login de autenticação cadastrado",
		},
		{
			name: "blank login", policy: svahub.UsernameLogin,
			mutate:  func(s *svahub.CustomerService) { s.Login = "   " },
			wantErr: "serviço sem login de autenticação cadastrado",
		},
		{
			name: "empty login with default policy", policy: "",
			mutate:  func(s *svahub.CustomerService) { s.Login = "" },
			wantErr: "serviço sem login de autenticação cadastrado",
		},
		{
			name: "empty senha", policy: svahub.UsernameLogin,
			mutate:  func(s *svahub.CustomerService) { s.Password = "" },
			wantErr: "serviço sem senha cadastrada",
		},
		{
			name: "empty cpf_cnpj", policy: svahub.UsernameDocument,
			mutate:  func(s *svahub.CustomerService) { s.Customer.Document = "" },
			wantErr: "cliente sem CPF/CNPJ cadastrado",
		},
		{
			name: "empty email", policy: svahub.UsernameEmail,
			mutate:  func(s *svahub.CustomerService) { s.Customer.Email = "" },
			wantErr: "cliente sem e-mail cadastrado",
		},
		{
			name: "blank email", policy: svahub.UsernameEmail,
			mutate:  func(s *svahub.CustomerService) { s.Customer.Email = " \t " },
			wantErr: "cliente sem e-mail cadastrado",
		},
		{
			name: "empty codigo_cliente", policy: svahub.UsernameCode,
			mutate:  func(s *svahub.CustomerService) { s.Customer.Code = "" },
			wantErr: "cliente sem código cadastrado",
		},
		{
			name: "blank codigo_cliente", policy: svahub.UsernameCode,
			mutate:  func(s *svahub.CustomerService) { s.Customer.Code = "  " },
			wantErr: "cliente sem código cadastrado",
		},
		{name: "unknown policy", policy: "nome", wantErr: `política de usuário desconhecida: "nome"`},
		{name: "policy is case sensitive", policy: "EMAIL", wantErr: `política de usuário desconhecida: "EMAIL"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := customerService()
			if tt.mutate != nil {
				tt.mutate(s)
			}
			user, pass, err := tt.policy.Credentials(s)
			if tt.wantErr != "" {
				require.Error(t, err)
				require.Equal(t, svahub.EINVALID, svahub.ErrorCode(err))
				require.Equal(t, tt.wantErr, svahub.ErrorMessage(err))
				require.Empty(t, user)
				require.Empty(t, pass)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantUser, user)
			require.Equal(t, tt.wantPass, pass)
		})
	}
}

func TestUsernamePolicyValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		policy svahub.UsernamePolicy
		want   bool
	}{
		{svahub.UsernameLogin, true},
		{svahub.UsernameDocument, true},
		{svahub.UsernameEmail, true},
		{svahub.UsernameCode, true},
		{"login_autenticacao", true},
		{"", false},
		{"login", false},
		{"cpf", false},
		{"Email", false},
	}
	for _, tt := range tests {
		t.Run(string(tt.policy), func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, tt.policy.Valid())
		})
	}
}
