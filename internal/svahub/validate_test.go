package svahub_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/svahub"
)

func ptr[T any](v T) *T { return &v }

const statusList = "servico_habilitado, suspenso_debito, suspenso_parcialmente, suspenso_pedido_cliente, " +
	"cancelado, inativo, aguardando_instalacao, aguardando_assinatura_contrato, aguardando_configuracao, " +
	"aguardando_liberacao_ti, aguardando_migracao, agendado_para_instalacao, franquia_excedida"

const (
	msgRequired = "campo obrigatório"
	msgValor    = `valor inválido: use um número não negativo com duas casas decimais, como "29.90"`
	msgCode     = "código inválido: de 1 a 64 letras, dígitos, '-' ou '_'"
	msgTexto    = "texto inválido: UTF-8 inválido ou caractere nulo"
	msgURL      = "URL inválida: use um endereço http(s) absoluto"
	msgPolicy   = "valor inválido: use um de login_autenticacao, cpf_cnpj, email, codigo_cliente"
	msgStatus   = "status_prefixo desconhecido: use um de " + statusList
	msgDate     = "data inválida: use o formato AAAA-MM-DD"
)

// fe is shorthand for an expected field error.
func fe(field, message string) svahub.FieldError {
	return svahub.FieldError{Field: field, Message: message}
}

// requireInvalid checks that err is an EINVALID *svahub.Error whose field
// errors are exactly want (in any order); with no want it must be nil.
func requireInvalid(t *testing.T, err error, want ...svahub.FieldError) {
	t.Helper()
	if len(want) == 0 {
		require.NoError(t, err)
		return
	}
	require.Error(t, err)
	var e *svahub.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, svahub.EINVALID, e.Code)
	require.Equal(t, "dados inválidos", e.Message)
	require.ElementsMatch(t, want, e.Fields)
}

func validIntegration() svahub.IntegrationInput {
	return svahub.IntegrationInput{
		Description: "Qualifica - matriz",
		Platform:    "qualifica",
		Params: svahub.IntegrationParamInput{
			Values:       map[string]string{"client_id": "svahub-test", "client_secret": "segredo-teste", "url_base": "http://127.0.0.1:9090"},
			Username:     "login_autenticacao",
			RateLimitRPS: ptr(10.0),
		},
		SuspendOnDebt: ptr(true),
		Active:        ptr(true),
	}
}

func TestValidateIntegrationInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*svahub.IntegrationInput)
		want   []svahub.FieldError
	}{
		{name: "valid", mutate: func(*svahub.IntegrationInput) {}},
		{
			name: "valid minimal",
			mutate: func(in *svahub.IntegrationInput) {
				*in = svahub.IntegrationInput{Description: "Q", Platform: "qualifica", Params: svahub.IntegrationParamInput{Values: map[string]string{"client_id": "c", "client_secret": "s"}}}
			},
		},
		{name: "valid https url", mutate: func(in *svahub.IntegrationInput) { in.Params.Values["url_base"] = "https://api.qualifica.example/v1" }},
		{name: "valid 200 multi-byte characters", mutate: func(in *svahub.IntegrationInput) { in.Description = strings.Repeat("ç", 200) }},
		{name: "valid every username policy", mutate: func(in *svahub.IntegrationInput) { in.Params.Username = "codigo_cliente" }},
		{name: "valid rate limit at the maximum", mutate: func(in *svahub.IntegrationInput) { in.Params.RateLimitRPS = ptr(1000.0) }},
		{name: "valid fractional rate limit", mutate: func(in *svahub.IntegrationInput) { in.Params.RateLimitRPS = ptr(0.5) }},

		{
			name:   "missing client_id",
			mutate: func(in *svahub.IntegrationInput) { in.Params.Values["client_id"] = "" },
			want:   []svahub.FieldError{fe("parametros.client_id", msgRequired)},
		},
		{
			name:   "missing descricao and plataforma",
			mutate: func(in *svahub.IntegrationInput) { in.Description, in.Platform = "", "" },
			want:   []svahub.FieldError{fe("descricao", msgRequired), fe("plataforma", msgRequired)},
		},
		{
			name:   "everything missing",
			mutate: func(in *svahub.IntegrationInput) { *in = svahub.IntegrationInput{} },
			want:   []svahub.FieldError{fe("descricao", msgRequired), fe("plataforma", msgRequired)},
		},
		{
			name:   "descricao too long",
			mutate: func(in *svahub.IntegrationInput) { in.Description = strings.Repeat("a", 201) },
			want:   []svahub.FieldError{fe("descricao", "no máximo 200 caracteres")},
		},
		{
			name:   "plataforma too long",
			mutate: func(in *svahub.IntegrationInput) { in.Platform = strings.Repeat("q", 51) },
			want:   []svahub.FieldError{fe("plataforma", "no máximo 50 caracteres")},
		},
		{
			name:   "invalid UTF-8 in descricao",
			mutate: func(in *svahub.IntegrationInput) { in.Description = "Qualifica \xff" },
			want:   []svahub.FieldError{fe("descricao", msgTexto)},
		},
		{
			name:   "NUL in client_id",
			mutate: func(in *svahub.IntegrationInput) { in.Params.Values["client_id"] = "svahub\x00test" },
			want:   []svahub.FieldError{fe("parametros.client_id", msgTexto)},
		},
		{
			// An explicit empty secret is rejected rather than silently ignored.
			name:   "empty client_secret",
			mutate: func(in *svahub.IntegrationInput) { in.Params.Values["client_secret"] = "" },
			want:   []svahub.FieldError{fe("parametros.client_secret", "no mínimo 1 caractere(s)")},
		},
		{
			name:   "client_secret too long",
			mutate: func(in *svahub.IntegrationInput) { in.Params.Values["client_secret"] = strings.Repeat("s", 501) },
			want:   []svahub.FieldError{fe("parametros.client_secret", "no máximo 500 caracteres")},
		},
		{
			name:   "unknown usuario policy",
			mutate: func(in *svahub.IntegrationInput) { in.Params.Username = "nome" },
			want:   []svahub.FieldError{fe("parametros.usuario", msgPolicy)},
		},
		{
			name:   "url_base not http",
			mutate: func(in *svahub.IntegrationInput) { in.Params.Values["url_base"] = "ftp://example.com" },
			want:   []svahub.FieldError{fe("parametros.url_base", msgURL)},
		},
		{
			name:   "url_base not a URL",
			mutate: func(in *svahub.IntegrationInput) { in.Params.Values["url_base"] = "qualifica" },
			want:   []svahub.FieldError{fe("parametros.url_base", msgURL)},
		},
		{
			name:   "rate limit zero",
			mutate: func(in *svahub.IntegrationInput) { in.Params.RateLimitRPS = ptr(0.0) },
			want:   []svahub.FieldError{fe("parametros.limite_requisicoes_por_segundo", "deve ser maior que 0")},
		},
		{
			name:   "rate limit negative",
			mutate: func(in *svahub.IntegrationInput) { in.Params.RateLimitRPS = ptr(-1.0) },
			want:   []svahub.FieldError{fe("parametros.limite_requisicoes_por_segundo", "deve ser maior que 0")},
		},
		{
			name:   "rate limit above maximum",
			mutate: func(in *svahub.IntegrationInput) { in.Params.RateLimitRPS = ptr(1000.5) },
			want:   []svahub.FieldError{fe("parametros.limite_requisicoes_por_segundo", "deve ser no máximo 1000")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := validIntegration()
			tt.mutate(&in)
			_, err := svahub.PrepareCreate(in, testRegistry())
			requireInvalid(t, err, tt.want...)
		})
	}
}

func TestValidateProductInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   svahub.ProductInput
		want []svahub.FieldError
	}{
		{name: "pro", in: svahub.ProductInput{Description: "Qualifica Pro", Code: "pro"}},
		{name: "premium", in: svahub.ProductInput{Description: "Qualifica Premium", Code: "premium"}},
		{name: "1001", in: svahub.ProductInput{Description: "Curso 1001", Code: "1001"}},
		{name: "dash and underscore", in: svahub.ProductInput{Description: "X", Code: "PRO-mensal_2"}},
		{name: "64 characters", in: svahub.ProductInput{Description: "X", Code: strings.Repeat("a", 64)}},

		{
			name: "empty code",
			in:   svahub.ProductInput{Description: "X", Code: ""},
			want: []svahub.FieldError{fe("codigo", msgRequired)},
		},
		{
			name: "code with a space",
			in:   svahub.ProductInput{Description: "X", Code: "a b"},
			want: []svahub.FieldError{fe("codigo", msgCode)},
		},
		{
			name: "code with 65 characters",
			in:   svahub.ProductInput{Description: "X", Code: strings.Repeat("a", 65)},
			want: []svahub.FieldError{fe("codigo", msgCode)},
		},
		{
			name: "code with non-ASCII letters",
			in:   svahub.ProductInput{Description: "X", Code: "ção"},
			want: []svahub.FieldError{fe("codigo", msgCode)},
		},
		{
			name: "code with a dot",
			in:   svahub.ProductInput{Description: "X", Code: "pro.1"},
			want: []svahub.FieldError{fe("codigo", msgCode)},
		},
		{
			name: "untrimmed code (Normalize trims before Validate)",
			in:   svahub.ProductInput{Description: "X", Code: " pro "},
			want: []svahub.FieldError{fe("codigo", msgCode)},
		},
		{
			name: "missing descricao",
			in:   svahub.ProductInput{Code: "pro"},
			want: []svahub.FieldError{fe("descricao", msgRequired)},
		},
		{
			name: "everything missing",
			in:   svahub.ProductInput{},
			want: []svahub.FieldError{fe("descricao", msgRequired), fe("codigo", msgRequired)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			requireInvalid(t, svahub.Validate(tt.in), tt.want...)
		})
	}

	t.Run("Normalize then Validate accepts a padded code", func(t *testing.T) {
		t.Parallel()
		in := svahub.ProductInput{Description: "  Qualifica Pro ", Code: "  pro\t"}
		in.Normalize()
		require.Equal(t, "pro", in.Code)
		require.Equal(t, "Qualifica Pro", in.Description)
		require.NoError(t, svahub.Validate(in))
	})
}

func validPackage() svahub.PackageInput {
	return svahub.PackageInput{
		Description:   "Qualifica Pro mensal",
		Code:          "QPRO",
		Value:         "29.90",
		IntegrationID: 1,
		Products:      []int64{1},
		Active:        ptr(true),
	}
}

func TestValidatePackageInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*svahub.PackageInput)
		want   []svahub.FieldError
	}{
		{name: "valid", mutate: func(*svahub.PackageInput) {}},
		{name: "benefit 0.00", mutate: func(in *svahub.PackageInput) { in.Value = "0.00" }},
		{name: "no codigo", mutate: func(in *svahub.PackageInput) { in.Code = "" }},
		{name: "10 products", mutate: func(in *svahub.PackageInput) { in.Products = []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10} }},
		{name: "maximum valor", mutate: func(in *svahub.PackageInput) { in.Value = "99999999.99" }},

		{
			name:   "nil products",
			mutate: func(in *svahub.PackageInput) { in.Products = nil },
			want:   []svahub.FieldError{fe("produtos", msgRequired)},
		},
		{
			name:   "0 products",
			mutate: func(in *svahub.PackageInput) { in.Products = []int64{} },
			want:   []svahub.FieldError{fe("produtos", "no mínimo 1 item(ns)")},
		},
		{
			name:   "11 products",
			mutate: func(in *svahub.PackageInput) { in.Products = []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11} },
			want:   []svahub.FieldError{fe("produtos", "no máximo 10 itens")},
		},
		{
			name:   "duplicate products",
			mutate: func(in *svahub.PackageInput) { in.Products = []int64{1, 2, 1} },
			want:   []svahub.FieldError{fe("produtos", "itens repetidos")},
		},
		{
			name:   "product id zero",
			mutate: func(in *svahub.PackageInput) { in.Products = []int64{1, 0} },
			want:   []svahub.FieldError{fe("produtos[1]", "deve ser maior que 0")},
		},
		{
			name:   "empty valor",
			mutate: func(in *svahub.PackageInput) { in.Value = "" },
			want:   []svahub.FieldError{fe("valor", msgRequired)},
		},
		{
			name:   "valor with one decimal",
			mutate: func(in *svahub.PackageInput) { in.Value = "29.9" },
			want:   []svahub.FieldError{fe("valor", msgValor)},
		},
		{
			name:   "valor without decimals",
			mutate: func(in *svahub.PackageInput) { in.Value = "29" },
			want:   []svahub.FieldError{fe("valor", msgValor)},
		},
		{
			name:   "negative valor",
			mutate: func(in *svahub.PackageInput) { in.Value = "-1.00" },
			want:   []svahub.FieldError{fe("valor", msgValor)},
		},
		{
			name:   "valor with a comma",
			mutate: func(in *svahub.PackageInput) { in.Value = "29,90" },
			want:   []svahub.FieldError{fe("valor", msgValor)},
		},
		{
			name:   "valor too large",
			mutate: func(in *svahub.PackageInput) { in.Value = "100000000.00" },
			want:   []svahub.FieldError{fe("valor", msgValor)},
		},
		{
			name:   "missing id_integracao",
			mutate: func(in *svahub.PackageInput) { in.IntegrationID = 0 },
			want:   []svahub.FieldError{fe("id_integracao", msgRequired)},
		},
		{
			name:   "negative id_integracao",
			mutate: func(in *svahub.PackageInput) { in.IntegrationID = -1 },
			want:   []svahub.FieldError{fe("id_integracao", "deve ser maior que 0")},
		},
		{
			name:   "codigo too long",
			mutate: func(in *svahub.PackageInput) { in.Code = strings.Repeat("C", 65) },
			want:   []svahub.FieldError{fe("codigo", "no máximo 64 caracteres")},
		},
		{
			name:   "several errors at once",
			mutate: func(in *svahub.PackageInput) { in.Description, in.Value, in.Products = "", "abc", []int64{} },
			want: []svahub.FieldError{
				fe("descricao", msgRequired), fe("valor", msgValor), fe("produtos", "no mínimo 1 item(ns)"),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := validPackage()
			tt.mutate(&in)
			requireInvalid(t, svahub.Validate(in), tt.want...)
		})
	}
}

func validService() svahub.ServiceInput {
	return svahub.ServiceInput{
		ComboID:  ptr(int64(10)),
		Login:    "maria.silva",
		Password: ptr("s3nh4"),
		Status:   "servico_habilitado",
		Customer: svahub.CustomerInput{
			ID:       1001,
			Code:     "C1001",
			Name:     "Maria da Silva",
			Document: "529.982.247-25",
			Email:    "maria@example.com",
			Phone:    "+55 11 99999-0000",
		},
	}
}

func TestValidateServiceInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*svahub.ServiceInput)
		want   []svahub.FieldError
	}{
		{name: "valid", mutate: func(*svahub.ServiceInput) {}},
		{name: "valid CPF digits", mutate: func(in *svahub.ServiceInput) { in.Customer.Document = "52998224725" }},
		{name: "valid CNPJ", mutate: func(in *svahub.ServiceInput) { in.Customer.Document = "11.222.333/0001-81" }},
		{name: "no CPF/CNPJ", mutate: func(in *svahub.ServiceInput) { in.Customer.Document = "" }},
		{name: "no email", mutate: func(in *svahub.ServiceInput) { in.Customer.Email = "" }},
		{name: "null id_servico", mutate: func(in *svahub.ServiceInput) { in.ComboID = nil }},
		{name: "no senha", mutate: func(in *svahub.ServiceInput) { in.Password = nil }},
		{name: "waiting status", mutate: func(in *svahub.ServiceInput) { in.Status = "aguardando_instalacao" }},

		{
			name:   "bad CPF check digit",
			mutate: func(in *svahub.ServiceInput) { in.Customer.Document = "529.982.247-24" },
			want:   []svahub.FieldError{fe("cliente.cpf_cnpj", "CPF/CNPJ inválido")},
		},
		{
			name:   "CPF all same digit",
			mutate: func(in *svahub.ServiceInput) { in.Customer.Document = "111.111.111-11" },
			want:   []svahub.FieldError{fe("cliente.cpf_cnpj", "CPF/CNPJ inválido")},
		},
		{
			name:   "bad CNPJ",
			mutate: func(in *svahub.ServiceInput) { in.Customer.Document = "11.222.333/0001-80" },
			want:   []svahub.FieldError{fe("cliente.cpf_cnpj", "CPF/CNPJ inválido")},
		},
		{
			name:   "CPF with letters",
			mutate: func(in *svahub.ServiceInput) { in.Customer.Document = "529.982.247-2A" },
			want:   []svahub.FieldError{fe("cliente.cpf_cnpj", "CPF/CNPJ inválido")},
		},
		{
			name:   "bad email",
			mutate: func(in *svahub.ServiceInput) { in.Customer.Email = "maria@" },
			want:   []svahub.FieldError{fe("cliente.email_principal", "e-mail inválido")},
		},
		{
			name:   "email without at sign",
			mutate: func(in *svahub.ServiceInput) { in.Customer.Email = "maria.example.com" },
			want:   []svahub.FieldError{fe("cliente.email_principal", "e-mail inválido")},
		},
		{
			name:   "unknown status",
			mutate: func(in *svahub.ServiceInput) { in.Status = "ativo" },
			want:   []svahub.FieldError{fe("status_prefixo", msgStatus)},
		},
		{
			name:   "missing status",
			mutate: func(in *svahub.ServiceInput) { in.Status = "" },
			want:   []svahub.FieldError{fe("status_prefixo", msgRequired)},
		},
		{
			name:   "id_servico zero",
			mutate: func(in *svahub.ServiceInput) { in.ComboID = ptr(int64(0)) },
			want:   []svahub.FieldError{fe("id_servico", "deve ser maior que 0")},
		},
		{
			name:   "NUL in senha",
			mutate: func(in *svahub.ServiceInput) { in.Password = ptr("s3n\x00h4") },
			want:   []svahub.FieldError{fe("senha", msgTexto)},
		},
		{
			name:   "login too long",
			mutate: func(in *svahub.ServiceInput) { in.Login = strings.Repeat("l", 201) },
			want:   []svahub.FieldError{fe("login", "no máximo 200 caracteres")},
		},
		{
			name:   "missing customer id and name",
			mutate: func(in *svahub.ServiceInput) { in.Customer.ID, in.Customer.Name = 0, "" },
			want: []svahub.FieldError{
				fe("cliente.id_cliente", msgRequired), fe("cliente.nome_razaosocial", msgRequired),
			},
		},
		{
			name: "bad cpf, email and status together",
			mutate: func(in *svahub.ServiceInput) {
				in.Customer.Document, in.Customer.Email, in.Status = "123", "x", "habilitado"
			},
			want: []svahub.FieldError{
				fe("status_prefixo", msgStatus), fe("cliente.cpf_cnpj", "CPF/CNPJ inválido"),
				fe("cliente.email_principal", "e-mail inválido"),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := validService()
			tt.mutate(&in)
			requireInvalid(t, svahub.Validate(in), tt.want...)
		})
	}

	t.Run("Normalize reduces a valid CPF to digits", func(t *testing.T) {
		t.Parallel()
		in := validService()
		in.Customer.Document = " 529.982.247-25 "
		in.Status = " servico_habilitado "
		in.Normalize()
		require.Equal(t, "52998224725", in.Customer.Document)
		require.Equal(t, "servico_habilitado", in.Status)
		require.NoError(t, svahub.Validate(in))
	})
}

func TestValidateOtherInputs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   any
		want []svahub.FieldError
	}{
		{name: "attach without date", in: svahub.AttachInput{PackageID: 1}},
		{name: "attach with date", in: svahub.AttachInput{PackageID: 1, ExpiresOn: "2027-11-27"}},
		{
			name: "attach with impossible date",
			in:   svahub.AttachInput{PackageID: 1, ExpiresOn: "2026-02-30"},
			want: []svahub.FieldError{fe("data_expiracao", msgDate)},
		},
		{
			name: "attach with Brazilian date format",
			in:   svahub.AttachInput{PackageID: 1, ExpiresOn: "27/11/2026"},
			want: []svahub.FieldError{fe("data_expiracao", msgDate)},
		},
		{
			name: "attach without package",
			in:   svahub.AttachInput{},
			want: []svahub.FieldError{fe("id_pacote", msgRequired)},
		},
		{
			name: "expiry required",
			in:   svahub.ExpiryInput{},
			want: []svahub.FieldError{fe("data_expiracao", msgRequired)},
		},
		{
			name: "status input unknown",
			in:   svahub.StatusInput{Status: "suspenso"},
			want: []svahub.FieldError{fe("status_prefixo", msgStatus)},
		},
		{
			name: "status batch empty",
			in:   svahub.StatusBatchInput{Items: []svahub.StatusBatchItem{}},
			want: []svahub.FieldError{fe("itens", "no mínimo 1 item(ns)")},
		},
		{
			name: "status batch item errors are indexed",
			in: svahub.StatusBatchInput{Items: []svahub.StatusBatchItem{
				{ServiceID: 1, Status: "suspenso_debito"},
				{ServiceID: 0, Status: "xyz"},
			}},
			want: []svahub.FieldError{
				fe("itens[1].id_cliente_servico", msgRequired), fe("itens[1].status_prefixo", msgStatus),
			},
		},
		{name: "plan without packages", in: svahub.ComboInput{Description: "Fibra 500"}},
		{
			name: "plan with duplicate packages",
			in:   svahub.ComboInput{Description: "Fibra 500", Packages: []int64{1, 1}},
			want: []svahub.FieldError{fe("pacotes", "itens repetidos")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			requireInvalid(t, svahub.Validate(tt.in), tt.want...)
		})
	}

	t.Run("non-struct is an internal error", func(t *testing.T) {
		t.Parallel()
		err := svahub.Validate(nil)
		require.Error(t, err)
		require.Equal(t, svahub.EINTERNAL, svahub.ErrorCode(err))
	})
}
