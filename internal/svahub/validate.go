package svahub

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/go-playground/validator/v10"
)

var (
	productCodeRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	validate      = newValidator()
)

func newValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			return ""
		}
		return name
	})
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	must(v.RegisterValidation("produto_codigo", func(fl validator.FieldLevel) bool {
		return productCodeRE.MatchString(fl.Field().String())
	}))
	must(v.RegisterValidation("valor", func(fl validator.FieldLevel) bool {
		_, err := ParseMoney(fl.Field().String())
		return err == nil
	}))
	must(v.RegisterValidation("data", func(fl validator.FieldLevel) bool {
		_, err := ParseDate(fl.Field().String())
		return err == nil
	}))
	must(v.RegisterValidation("cpf_cnpj", func(fl validator.FieldLevel) bool {
		_, ok := NormalizeDocument(fl.Field().String())
		return ok
	}))
	must(v.RegisterValidation("status_prefixo", func(fl validator.FieldLevel) bool {
		return ServiceStatus(fl.Field().String()).Valid()
	}))
	must(v.RegisterValidation("usuario_politica", func(fl validator.FieldLevel) bool {
		return UsernamePolicy(fl.Field().String()).Valid()
	}))
	must(v.RegisterValidation("imprimivel", func(fl validator.FieldLevel) bool {
		return printable(fl.Field().String())
	}))
	must(v.RegisterValidation("texto", func(fl validator.FieldLevel) bool {
		s := fl.Field().String()
		return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
	}))
	return v
}

// Validate checks a struct's `validate` tags and returns an EINVALID *Error
// with one Portuguese message per failing field, or nil.
func Validate(s any) error {
	err := validate.Struct(s)
	if err == nil {
		return nil
	}
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		return Errorf(EINTERNAL, "erro de validação")
	}
	fields := make([]FieldError, 0, len(verrs))
	for _, fe := range verrs {
		fields = append(fields, FieldError{Field: fieldPath(fe), Message: fieldMessage(fe)})
	}
	return Invalid(fields...)
}

// fieldPath turns "IntegrationInput.parametros.client_id" into
// "parametros.client_id".
func fieldPath(fe validator.FieldError) string {
	ns := fe.Namespace()
	if i := strings.IndexByte(ns, '.'); i >= 0 {
		ns = ns[i+1:]
	}
	return ns
}

func fieldMessage(fe validator.FieldError) string {
	switch fe.Tag() {
	case "required":
		return "campo obrigatório"
	case "max":
		if fe.Kind() == reflect.Slice {
			return fmt.Sprintf("no máximo %s itens", fe.Param())
		}
		return fmt.Sprintf("no máximo %s caracteres", fe.Param())
	case "min":
		if fe.Kind() == reflect.Slice {
			return fmt.Sprintf("no mínimo %s item(ns)", fe.Param())
		}
		if fe.Kind() == reflect.String {
			return fmt.Sprintf("no mínimo %s caractere(s)", fe.Param())
		}
		return fmt.Sprintf("no mínimo %s", fe.Param())
	case "gt", "gte":
		return fmt.Sprintf("deve ser maior que %s", strings.TrimSuffix(fe.Param(), ".0"))
	case "lte":
		return fmt.Sprintf("deve ser no máximo %s", fe.Param())
	case "oneof":
		return "valor inválido: use um de " + strings.ReplaceAll(fe.Param(), " ", ", ")
	case "url", "http_url":
		return "URL inválida: use um endereço http(s) absoluto"
	case "email":
		return "e-mail inválido"
	case "produto_codigo":
		return "código inválido: de 1 a 64 letras, dígitos, '-' ou '_'"
	case "valor":
		return "valor inválido: use um número não negativo com duas casas decimais, como \"29.90\""
	case "data":
		return "data inválida: use o formato AAAA-MM-DD"
	case "cpf_cnpj":
		return "CPF/CNPJ inválido"
	case "status_prefixo":
		return "status_prefixo desconhecido: use um de " + joinStatuses()
	case "usuario_politica":
		return "valor inválido: use um de login_autenticacao, cpf_cnpj, email, codigo_cliente"
	case "texto":
		return "texto inválido: UTF-8 inválido ou caractere nulo"
	case "imprimivel":
		return "texto inválido: só caracteres imprimíveis"
	case "unique":
		return "itens repetidos"
	}
	return "valor inválido"
}

func joinStatuses() string {
	s := make([]string, len(ServiceStatuses))
	for i, v := range ServiceStatuses {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}
