package svahub

import (
	"bytes"
	"encoding/json"
	"maps"
	"sort"
)

// An integration's `parametros` are generic: two members every adapter has
// (`usuario`, `limite_requisicoes_por_segundo`) and the adapter's own,
// declared by its Adapter.Params (names, required, secret, URL). svahub
// carries the adapter's members as an opaque string map; the store seals
// the secret ones. Wire names: a secret is written under its name and
// answered only as `<name>_definido` (DefinedSuffix), except a secret
// svahub generated, answered once by the write that generated it.

// Members every adapter's `parametros` has.
const (
	ParamUsername  = "usuario"
	ParamRateLimit = "limite_requisicoes_por_segundo"
)

// IntegrationParams are an integration's `parametros` as answered. The
// OpenAPI document shows IntegrationParamsDoc in its place.
type IntegrationParams struct {
	// Values are the adapter's non-secret parameters ("" when unset).
	Values map[string]string
	// Defined says, for each secret parameter, whether it is set.
	Defined map[string]bool
	// Revealed are secrets svahub generated in this write (the webhook
	// segredo), answered once: only the create (or PUT) answer has them.
	Revealed map[string]string
	// Username is the usuario policy.
	Username UsernamePolicy
	// RateLimitRPS is the effective platform rate limit.
	RateLimitRPS float64
}

// MarshalJSON writes the parameters as one flat object.
func (p IntegrationParams) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(p.Values)+len(p.Defined)+len(p.Revealed)+2)
	for k, v := range p.Values {
		m[k] = v
	}
	for k, v := range p.Defined {
		m[k+DefinedSuffix] = v
	}
	for k, v := range p.Revealed {
		m[k] = v
	}
	m[ParamUsername] = p.Username
	m[ParamRateLimit] = p.RateLimitRPS
	return json.Marshal(m)
}

// UnmarshalJSON reads an answer's parameters (clients and tests): booleans
// named `<name>_definido` go to Defined, other strings to Values.
func (p *IntegrationParams) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*p = IntegrationParams{Values: map[string]string{}, Defined: map[string]bool{}}
	for k, raw := range m {
		var err error
		switch name, isDefined := cutDefined(k); {
		case k == ParamUsername:
			err = json.Unmarshal(raw, &p.Username)
		case k == ParamRateLimit:
			err = json.Unmarshal(raw, &p.RateLimitRPS)
		case isDefined && (bytes.Equal(raw, []byte("true")) || bytes.Equal(raw, []byte("false"))):
			p.Defined[name] = bytes.Equal(raw, []byte("true"))
		default:
			var v string
			err = json.Unmarshal(raw, &v)
			p.Values[k] = v
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func cutDefined(k string) (string, bool) {
	if n := len(k) - len(DefinedSuffix); n > 0 && k[n:] == DefinedSuffix {
		return k[:n], true
	}
	return k, false
}

// IntegrationParamInput carries `parametros` on POST /integracoes. The
// OpenAPI document shows IntegrationParamInputDoc in its place.
type IntegrationParamInput struct {
	// Values are the adapter's parameters sent (secrets included), checked
	// against its declaration by Adapter.ValidateParams.
	Values map[string]string `json:"-"`
	// Como o usuário do cliente é formado na plataforma (padrão login_autenticacao).
	Username string `json:"usuario,omitempty" validate:"omitempty,usuario_politica"`
	// Requisições por segundo à plataforma, > 0 e ≤ 1000; omitido usa o padrão do servidor.
	RateLimitRPS *float64 `json:"limite_requisicoes_por_segundo,omitempty" validate:"omitempty,gt=0,lte=1000"`
}

// UnmarshalJSON reads `parametros`: usuario and the rate limit by type,
// every other member as a string (null counts as omitted). A value of
// another type is a 400 naming the member.
func (in *IntegrationParamInput) UnmarshalJSON(b []byte) error {
	values, username, rps, err := decodeParams(b)
	if err != nil {
		return err
	}
	*in = IntegrationParamInput{Values: values, RateLimitRPS: rps}
	if username != nil {
		in.Username = *username
	}
	return nil
}

// IntegrationParamsUpdate carries `parametros` on PUT: each member omitted
// (or null) keeps its stored value. The OpenAPI document shows
// IntegrationParamsUpdateDoc in its place.
type IntegrationParamsUpdate struct {
	// Values are the adapter's parameters sent.
	Values map[string]string `json:"-"`
	// Como o usuário do cliente é formado na plataforma.
	Username *string `json:"usuario,omitempty"`
	// Requisições por segundo à plataforma.
	RateLimitRPS *float64 `json:"limite_requisicoes_por_segundo,omitempty"`
}

// UnmarshalJSON reads `parametros` of a PUT, as IntegrationParamInput does.
func (u *IntegrationParamsUpdate) UnmarshalJSON(b []byte) error {
	values, username, rps, err := decodeParams(b)
	if err != nil {
		return err
	}
	*u = IntegrationParamsUpdate{Values: values, Username: username, RateLimitRPS: rps}
	return nil
}

// decodeParams splits a `parametros` object into the adapter's members
// and the two common ones.
func decodeParams(b []byte) (map[string]string, *string, *float64, error) {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		return map[string]string{}, nil, nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, nil, nil, paramTypeError("", "objeto")
	}
	values := map[string]string{}
	var username *string
	var rps *float64
	for _, k := range sortedKeys(m) {
		raw := m[k]
		if bytes.Equal(raw, []byte("null")) {
			continue
		}
		switch k {
		case ParamRateLimit:
			if json.Unmarshal(raw, &rps) != nil {
				return nil, nil, nil, paramTypeError(k, "número")
			}
		case ParamUsername:
			if json.Unmarshal(raw, &username) != nil {
				return nil, nil, nil, paramTypeError(k, "texto")
			}
		default:
			var v string
			if json.Unmarshal(raw, &v) != nil {
				return nil, nil, nil, paramTypeError(k, "texto")
			}
			values[k] = v
		}
	}
	return values, username, rps, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// paramTypeError is the 400 of a `parametros` member of the wrong type.
func paramTypeError(name, want string) *Error {
	field := "parametros"
	if name != "" {
		field += "." + name
	}
	return &Error{Code: EBADREQUEST, Message: "tipo inválido no campo " + field,
		Fields: []FieldError{{Field: field, Message: "esperado " + want}}}
}

// cloneValues copies a parameter map (never nil).
func cloneValues(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return maps.Clone(m)
}
