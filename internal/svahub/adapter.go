package svahub

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ParamSpec declares one of an adapter's `parametros`.
type ParamSpec struct {
	// Name is the member's name in `parametros` ("client_id", "url").
	Name string
	// Required: the member must be set (non-empty) on every save.
	Required bool
	// RequiredOnCreate: the member must be sent on create (a secret is
	// kept afterwards when a PUT omits it). Ignored when Generate is set.
	RequiredOnCreate bool
	// Secret: write-only and sealed at rest; never returned, the answer
	// shows `<Name>_definido` instead.
	Secret bool
	// URL: an address the adapter calls. It goes through the egress
	// address check when saved, and moving it needs the secrets again.
	URL bool
	// MaxLen bounds the value in characters (default 500).
	MaxLen int
	// Generate, for a secret, makes one when create omits it; the new
	// value is returned once, in the create answer only.
	Generate func() (string, error)
}

// Adapter declares one platform adapter: its `plataforma` name, its
// parameters, what its platform can do and how to build it. A new
// platform is one package exporting an Adapter and one line in the
// registry (internal/app, DefaultRegistry).
type Adapter struct {
	// Name is the `plataforma` value.
	Name string
	// Params are the adapter's `parametros`, besides `usuario` and
	// `limite_requisicoes_por_segundo`, which every adapter has.
	Params []ParamSpec
	// Capabilities say what the platform can do.
	Capabilities Capabilities
	// Validate, when set, checks the parameter set as a whole after the
	// per-member rules (e.g. a secret's format); it returns a FieldInvalid.
	Validate func(params map[string]string) error
	// New builds the platform for one integration's configuration; it
	// reads its parameters from PlatformConfig.Params.
	New PlatformFactory
}

// Spec returns the declaration of the parameter named name.
func (a Adapter) Spec(name string) (ParamSpec, bool) {
	for _, p := range a.Params {
		if p.Name == name {
			return p, true
		}
	}
	return ParamSpec{}, false
}

// Secrets lists the names of the adapter's secret parameters.
func (a Adapter) Secrets() []string {
	var out []string
	for _, p := range a.Params {
		if p.Secret {
			out = append(out, p.Name)
		}
	}
	return out
}

// Tester is implemented by a platform that can check its configuration
// without a token (e.g. the webhook adapter sends `integracao.teste`).
// `testar` on an integration whose adapter has no Token capability calls
// Test and reports the outcome in the token block (valido on success).
// Errors are *PlatformError.
type Tester interface {
	Test(ctx context.Context) error
}

// DefinedSuffix is appended to a secret parameter's name in answers:
// `client_secret_definido`, `segredo_definido`.
const DefinedSuffix = "_definido"

// NormalizeParams trims every value of params (URLs also lose a trailing
// slash) and drops unknown empty members.
func (a Adapter) NormalizeParams(params map[string]string) {
	for k, v := range params {
		v = strings.TrimSpace(v)
		if spec, ok := a.Spec(k); ok && spec.URL {
			v = strings.TrimRight(v, "/")
		}
		params[k] = v
	}
}

// ValidateParams checks params against the adapter's declaration: no
// unknown member, required members set, lengths and printable text.
// create also demands RequiredOnCreate members that cannot be generated.
// Field names are "parametros.<name>".
func (a Adapter) ValidateParams(params map[string]string, create bool) error {
	for _, k := range sortedKeys(params) {
		if _, ok := a.Spec(k); !ok {
			return &Error{Code: EBADREQUEST, Message: "campo desconhecido: \"parametros." + k + "\" (a plataforma " + a.Name + " não tem esse parâmetro)",
				Fields: []FieldError{{Field: "parametros." + k, Message: "parâmetro desconhecido para a plataforma " + a.Name}}}
		}
	}
	for _, p := range a.Params {
		v, sent := params[p.Name]
		field := "parametros." + p.Name
		switch {
		case sent && v == "" && p.Secret: // an empty secret is refused, not ignored
			return FieldInvalid(field, "no mínimo 1 caractere(s)")
		case (p.Required || (create && p.RequiredOnCreate && p.Generate == nil)) && v == "":
			return FieldInvalid(field, "campo obrigatório")
		case !sent || v == "":
			continue
		}
		maxLen := p.MaxLen
		if maxLen == 0 {
			maxLen = 500
		}
		if err := p.check(field, v, maxLen); err != nil {
			return err
		}
	}
	if a.Validate != nil {
		return a.Validate(params)
	}
	return nil
}

// check applies the per-member rules to a sent, non-empty value: length,
// text (the `texto` rule: valid UTF-8 without NUL) and, for an address, an
// absolute http(s) URL with a host.
func (p ParamSpec) check(field, v string, maxLen int) error {
	if utf8.RuneCountInString(v) > maxLen {
		return FieldInvalid(field, "no máximo "+strconv.Itoa(maxLen)+" caracteres")
	}
	if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
		return FieldInvalid(field, "texto inválido: UTF-8 inválido ou caractere nulo")
	}
	if p.URL {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return FieldInvalid(field, "URL inválida: use um endereço http(s) absoluto")
		}
	}
	return nil
}

func printable(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return utf8.ValidString(s)
}
