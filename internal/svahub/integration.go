package svahub

import (
	"sort"
	"strings"
)

// Registry maps each `plataforma` to its adapter's declaration.
type Registry map[string]Adapter

// Lookup returns the adapter of platform, or a 422 on `plataforma` listing
// the known ones.
func (r Registry) Lookup(platform string) (Adapter, error) {
	if a, ok := r[platform]; ok {
		return a, nil
	}
	names := make([]string, 0, len(r))
	for n := range r {
		names = append(names, n)
	}
	sort.Strings(names)
	return Adapter{}, FieldInvalid("plataforma", "plataforma desconhecida: use uma de "+strings.Join(names, ", "))
}

// PreparedIntegration is an integration write checked against its adapter,
// ready to be stored.
type PreparedIntegration struct {
	// Input is the whole integration, normalised and valid; its
	// Params.Values hold every parameter, secrets only when sent or
	// generated.
	Input IntegrationInput
	// Plain are the non-secret parameters, every declared one ("" unset).
	Plain map[string]string
	// Secrets are the secret parameters to seal: sent or generated. A
	// secret absent here keeps its stored value.
	Secrets map[string]string
	// Revealed are the generated secrets, answered once.
	Revealed map[string]string
}

// PrepareCreate checks the body of POST /integracoes against the adapter
// its `plataforma` names: unknown members (400), required ones, lengths,
// URL form and the adapter's own rules (422). Secrets the adapter can
// generate are generated when omitted.
func PrepareCreate(in IntegrationInput, reg Registry) (PreparedIntegration, error) {
	in.Normalize()
	if err := Validate(&in); err != nil {
		return PreparedIntegration{}, err
	}
	a, err := reg.Lookup(in.Platform)
	if err != nil {
		return PreparedIntegration{}, err
	}
	in.Params.Values = cloneValues(in.Params.Values)
	return a.prepare(in, true)
}

// PrepareUpdate lays a PUT over the stored integration cur (its
// non-secret parameters; secrets are never read back) and checks the
// result like PrepareCreate. Moving to another platform starts the
// parameters afresh (the old adapter's do not apply). Moving an address
// (a URL parameter) without sending every secret again is refused: the
// stored secret never goes to an address other than the one it was given
// for.
func PrepareUpdate(cur IntegrationInput, u IntegrationUpdate, reg Registry) (PreparedIntegration, error) {
	next := u.Apply(cur)
	moved := next.Platform != cur.Platform
	if moved {
		next.Params.Values = map[string]string{}
		if u.Params != nil {
			next.Params.Values = cloneValues(u.Params.Values)
		}
	}
	next.Normalize()
	if err := Validate(&next); err != nil {
		return PreparedIntegration{}, err
	}
	a, err := reg.Lookup(next.Platform)
	if err != nil {
		return PreparedIntegration{}, err
	}
	if !moved {
		a.NormalizeParams(next.Params.Values)
		if err := a.checkSecretsResent(cur.Params.Values, next.Params.Values); err != nil {
			return PreparedIntegration{}, err
		}
	}
	return a.prepare(next, moved)
}

// checkSecretsResent refuses a moved URL parameter unless every secret
// is sent with it.
func (a Adapter) checkSecretsResent(cur, next map[string]string) error {
	var moved string
	for _, p := range a.Params {
		if p.URL && strings.TrimRight(cur[p.Name], "/") != next[p.Name] {
			moved = p.Name
		}
	}
	if moved == "" {
		return nil
	}
	for _, name := range a.Secrets() {
		if _, sent := next[name]; !sent {
			return FieldInvalid("parametros."+name, "informe o "+name+" ao mudar plataforma ou "+moved+
				": o segredo guardado só vai para o endereço para o qual foi dado")
		}
	}
	return nil
}

// prepare normalises, generates the missing secrets (create), validates
// and splits in's parameters.
func (a Adapter) prepare(in IntegrationInput, create bool) (PreparedIntegration, error) {
	values := in.Params.Values
	a.NormalizeParams(values)
	out := PreparedIntegration{Plain: map[string]string{}, Secrets: map[string]string{}, Revealed: map[string]string{}}
	for _, p := range a.Params {
		if _, sent := values[p.Name]; create && p.Secret && p.Generate != nil && !sent {
			v, err := p.Generate()
			if err != nil {
				return PreparedIntegration{}, err
			}
			values[p.Name], out.Revealed[p.Name] = v, v
		}
	}
	if err := a.ValidateParams(values, create); err != nil {
		return PreparedIntegration{}, err
	}
	for _, p := range a.Params {
		v, sent := values[p.Name]
		switch {
		case !p.Secret:
			out.Plain[p.Name] = v
		case sent:
			out.Secrets[p.Name] = v
		}
	}
	out.Input = in
	return out, nil
}
