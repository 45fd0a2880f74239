package webhook

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/svahub/svahub/internal/svahub"
)

// notSupported is the answer of the calls a webhook platform cannot make;
// the engine never makes them when it asks Capabilities first.
func notSupported(op string) error {
	return &svahub.PlatformError{Kind: svahub.PlatformPermanent, Code: "nao_suportado", Message: op + " não suportado pela plataforma webhook"}
}

// Token returns the empty token without a call: the platform has none.
func (a *Adapter) Token(context.Context) (svahub.PlatformToken, error) {
	return svahub.PlatformToken{}, nil
}

// Catalogue is not supported: a webhook platform has no catalogue.
func (a *Adapter) Catalogue(context.Context, string) ([]svahub.CatalogueItem, error) {
	return nil, notSupported("catálogo")
}

// GetUser is not supported: a webhook platform cannot be read back.
func (a *Adapter) GetUser(context.Context, string, string) (*svahub.PlatformAccount, error) {
	return nil, notSupported("consulta")
}

// userData is the data of usuario.criar. id_cliente and
// id_cliente_servico are null: svahub.PlatformUser does not carry them.
type userData struct {
	Referencia       string  `json:"referencia"`
	Usuario          string  `json:"usuario"`
	Senha            string  `json:"senha"`
	Nome             string  `json:"nome"`
	Email            *string `json:"email"`
	CPFCNPJ          *string `json:"cpf_cnpj"`
	Telefone         *string `json:"telefone,omitempty"`
	IDCliente        *string `json:"id_cliente"`
	IDClienteServico *string `json:"id_cliente_servico"`
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// EnsureUser sends usuario.criar. A 2xx answer's optional
// {"id_usuario"} is the user id, else the referencia; 409 (the receiver
// already has the referencia) adopts it the same way.
func (a *Adapter) EnsureUser(ctx context.Context, _ string, u svahub.PlatformUser) (string, error) {
	data := userData{
		Referencia: u.Reference, Usuario: u.Username, Senha: u.Password, Nome: u.Name,
		Email: optional(u.Email), CPFCNPJ: optional(u.Document), Telefone: optional(u.Phone),
	}
	ans, err := a.send(ctx, TypeCreateUser, data, http.StatusConflict)
	if err != nil {
		return "", err
	}
	var body struct {
		IDUsuario string `json:"id_usuario"`
	}
	_ = json.Unmarshal(ans.body, &body)
	if id := strings.TrimSpace(body.IDUsuario); id != "" {
		return id, nil
	}
	return u.Reference, nil
}

// planData is the data of the plano.* commands. The port gives plan calls
// only the platform user id, so that is what identifies the user:
// id_usuario is the receiver's id from usuario.criar, or the referencia
// when it returned none.
type planData struct {
	IDUsuario string `json:"id_usuario"`
	Produto   string `json:"produto"`
}

// expiryData is the data of plano.ativar and plano.atualizar_expiracao;
// data_expiracao is null for a plan without expiry.
type expiryData struct {
	planData
	DataExpiracao *string `json:"data_expiracao"`
}

// EnsurePlan sends plano.ativar, or plano.atualizar_expiracao when ctx says
// the engine is moving the expiry (WithOperation). The state is the
// answer's optional {"status"}, else ativo.
func (a *Adapter) EnsurePlan(ctx context.Context, _ string, userID, product string, expiresOn svahub.Date) (svahub.AccessState, error) {
	typ := TypeActivatePlan
	if operationFrom(ctx) == svahub.OpUpdateExpiry {
		typ = TypeUpdateExpiry
	}
	data := expiryData{planData{IDUsuario: userID, Produto: product}, optional(string(expiresOn))}
	ans, err := a.send(ctx, typ, data)
	if err != nil {
		return svahub.AccessNone, err
	}
	var body struct {
		Status string `json:"status"`
	}
	_ = json.Unmarshal(ans.body, &body)
	switch st := svahub.AccessState(body.Status); st {
	case svahub.AccessActive, svahub.AccessSuspended:
		return st, nil
	}
	return svahub.AccessActive, nil
}

// Suspend sends plano.suspender.
func (a *Adapter) Suspend(ctx context.Context, _ string, userID, product string) error {
	_, err := a.send(ctx, TypeSuspend, planData{IDUsuario: userID, Produto: product})
	return err
}

// Reactivate sends plano.reativar.
func (a *Adapter) Reactivate(ctx context.Context, _ string, userID, product string) error {
	_, err := a.send(ctx, TypeReactivate, planData{IDUsuario: userID, Produto: product})
	return err
}

// Cancel sends plano.cancelar.
func (a *Adapter) Cancel(ctx context.Context, _ string, userID, product string) error {
	_, err := a.send(ctx, TypeCancel, planData{IDUsuario: userID, Produto: product})
	return err
}

// Test sends integracao.teste with empty data; nil when the receiver
// answered 2xx.
func (a *Adapter) Test(ctx context.Context) error {
	_, err := a.send(ctx, TypeTest, struct{}{})
	return err
}
