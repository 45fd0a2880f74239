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
// id_cliente_servico are HubSoft's ids of the service that first needed
// the account (null when unknown, e.g. after the customer was erased).
type userData struct {
	Referencia       string  `json:"referencia"`
	Usuario          string  `json:"usuario"`
	Senha            string  `json:"senha"`
	Nome             string  `json:"nome"`
	Email            *string `json:"email"`
	CPFCNPJ          *string `json:"cpf_cnpj"`
	Telefone         *string `json:"telefone,omitempty"`
	IDCliente        *int64  `json:"id_cliente"`
	IDClienteServico *int64  `json:"id_cliente_servico"`
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optionalID(id int64) *int64 {
	if id <= 0 {
		return nil
	}
	return &id
}

// EnsureUser sends usuario.criar. A 2xx answer's optional
// {"id_usuario"} is the user id, else the referencia; 409 (the receiver
// already has the referencia) adopts it the same way.
func (a *Adapter) EnsureUser(ctx context.Context, _ string, u svahub.PlatformUser) (string, error) {
	data := userData{
		Referencia: u.Reference, Usuario: u.Username, Senha: u.Password, Nome: u.Name,
		Email: optional(u.Email), CPFCNPJ: optional(u.Document), Telefone: optional(u.Phone),
		IDCliente: optionalID(u.CustomerID), IDClienteServico: optionalID(u.ServiceID),
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

// planData is the data of the plano.* commands: the account's referencia
// and usuario (from the engine's svahub.Command) and the product.
type planData struct {
	Referencia string `json:"referencia"`
	Usuario    string `json:"usuario"`
	Produto    string `json:"produto"`
}

// expiryData is the data of plano.ativar and plano.atualizar_expiracao;
// data_expiracao is null for a plan without expiry.
type expiryData struct {
	planData
	DataExpiracao *string `json:"data_expiracao"`
}

// plan is the data naming the plan of product: the account of the command
// ctx carries. Without one (a call outside the engine) the platform user
// id stands for both referencia and usuario.
func plan(ctx context.Context, userID, product string) planData {
	c, ok := svahub.CommandFrom(ctx)
	if !ok || c.Reference == "" {
		return planData{Referencia: userID, Usuario: userID, Produto: product}
	}
	return planData{Referencia: c.Reference, Usuario: c.Username, Produto: product}
}

// EnsurePlan sends plano.ativar, or plano.atualizar_expiracao when ctx says
// the engine is moving the expiry (svahub.WithOperation with
// svahub.OpUpdateExpiry). The state is the answer's optional {"status"},
// else ativo.
func (a *Adapter) EnsurePlan(ctx context.Context, _ string, userID, product string, expiresOn svahub.Date) (svahub.AccessState, error) {
	typ := TypeActivatePlan
	if svahub.OperationFrom(ctx) == svahub.OpUpdateExpiry {
		typ = TypeUpdateExpiry
	}
	data := expiryData{plan(ctx, userID, product), optional(string(expiresOn))}
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
	_, err := a.send(ctx, TypeSuspend, plan(ctx, userID, product))
	return err
}

// Reactivate sends plano.reativar.
func (a *Adapter) Reactivate(ctx context.Context, _ string, userID, product string) error {
	_, err := a.send(ctx, TypeReactivate, plan(ctx, userID, product))
	return err
}

// Cancel sends plano.cancelar.
func (a *Adapter) Cancel(ctx context.Context, _ string, userID, product string) error {
	_, err := a.send(ctx, TypeCancel, plan(ctx, userID, product))
	return err
}

// Test sends integracao.teste with empty data; nil when the receiver
// answered 2xx.
func (a *Adapter) Test(ctx context.Context) error {
	_, err := a.send(ctx, TypeTest, struct{}{})
	return err
}
