// Package qualifica adapts the Qualifica client (pkg/qualifica) to the
// domain's svahub.Platform interface: it maps types and classifies errors
// into *svahub.PlatformError. Paths, field names and the error mapping of
// the contract live in pkg/qualifica; this package is the only glue.
package qualifica

import (
	"context"
	"errors"
	"net/url"
	"time"

	"github.com/svahub/svahub/internal/platform/egress"
	"github.com/svahub/svahub/internal/svahub"
	"github.com/svahub/svahub/pkg/qualifica"
)

// Name is the `plataforma` value of this adapter.
const Name = svahub.PlatformQualifica

// Declaration is the Qualifica adapter as the registry knows it: client_id
// (required), client_secret (required on create, secret), url_base (an
// address; "" uses defaultURL, SVAHUB_QUALIFICA_URL), every capability.
func Declaration(defaultURL string) svahub.Adapter {
	return svahub.Adapter{
		Name: Name,
		Params: []svahub.ParamSpec{
			{Name: ParamClientID, Required: true, MaxLen: 200},
			{Name: ParamClientSecret, RequiredOnCreate: true, Secret: true, MaxLen: 500},
			{Name: ParamBaseURL, URL: true, TrimSlash: true, MaxLen: 500},
		},
		Capabilities: svahub.FullCapabilities,
		New:          Factory(defaultURL),
	}
}

// Qualifica's parameter names.
const (
	ParamClientID     = "client_id"
	ParamClientSecret = "client_secret"
	ParamBaseURL      = "url_base"
)

// Factory returns a svahub.PlatformFactory; defaultURL is used for
// integrations without url_base (SVAHUB_QUALIFICA_URL).
func Factory(defaultURL string) svahub.PlatformFactory {
	return func(cfg svahub.PlatformConfig) (svahub.Platform, error) {
		base := cfg.Params[ParamBaseURL]
		if base == "" {
			base = defaultURL
		}
		var opts []qualifica.Option
		if cfg.Timeout > 0 {
			opts = append(opts, qualifica.WithTimeout(cfg.Timeout))
		}
		if cfg.Limiter != nil {
			opts = append(opts, qualifica.WithLimiter(cfg.Limiter))
		}
		// The transmission of each call records the platform's real status.
		opts = append(opts, qualifica.WithResponseHook(svahub.NoteCallStatus), qualifica.WithHTTPClient(cfg.HTTPClient))
		return &Adapter{client: qualifica.New(base, opts...), clientID: cfg.Params[ParamClientID], secret: cfg.Params[ParamClientSecret]}, nil
	}
}

// RefusedMessage is the error of a call whose address the dial refused.
const RefusedMessage = "endereço da plataforma não permitido: resolve para um endereço interno (libere-o em SVAHUB_PLATFORM_ALLOWED_HOSTS se for mesmo a plataforma)"

// Adapter is one Qualifica account.
type Adapter struct {
	client   *qualifica.Client
	clientID string
	secret   string
}

var _ svahub.Platform = (*Adapter)(nil)

// classify maps a client error to *svahub.PlatformError.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, egress.ErrRefused) {
		return &svahub.PlatformError{Kind: svahub.PlatformPermanent, Code: "endereco_nao_permitido", Message: RefusedMessage}
	}
	var qe *qualifica.Error
	if !errors.As(err, &qe) {
		if errors.Is(err, context.Canceled) {
			return err
		}
		return &svahub.PlatformError{Kind: svahub.PlatformTemporary, Message: "falha ao chamar a plataforma"}
	}
	pe := &svahub.PlatformError{Status: qe.Status, Code: qe.Code, Message: qe.Message, RetryAfter: qe.RetryAfter, Cause: withoutURL(qe.Err)}
	switch qe.Kind {
	case qualifica.KindTemporary:
		pe.Kind = svahub.PlatformTemporary
	case qualifica.KindAuth:
		pe.Kind = svahub.PlatformAuth
		pe.TokenInvalid = qualifica.IsTokenInvalid(err)
	case qualifica.KindNotFound:
		pe.Kind = svahub.PlatformNotFound
	default:
		pe.Kind = svahub.PlatformPermanent
	}
	if pe.Message == "" {
		pe.Message = "erro da plataforma"
	}
	return pe
}

// withoutURL drops the request URL from a transport error: its query may
// carry a customer's usuario.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Token requests a client-credentials token.
func (a *Adapter) Token(ctx context.Context) (svahub.PlatformToken, error) {
	t, err := a.client.Token(ctx, a.clientID, a.secret)
	if err != nil {
		return svahub.PlatformToken{}, classify(err)
	}
	return svahub.PlatformToken{AccessToken: t.AccessToken, ExpiresIn: time.Duration(t.ExpiresIn) * time.Second}, nil
}

// Catalogue lists GET /v1/produtos.
func (a *Adapter) Catalogue(ctx context.Context, token string) ([]svahub.CatalogueItem, error) {
	ps, err := a.client.Products(ctx, token)
	if err != nil {
		return nil, classify(err)
	}
	out := make([]svahub.CatalogueItem, len(ps))
	for i, p := range ps {
		out[i] = svahub.CatalogueItem{Code: p.Code, Name: p.Name}
	}
	return out, nil
}

// EnsureUser creates the user (adopting our own on 409).
func (a *Adapter) EnsureUser(ctx context.Context, token string, u svahub.PlatformUser) (string, error) {
	got, err := a.client.CreateUser(ctx, token, qualifica.NewUser{
		Username: u.Username, Password: u.Password, Name: u.Name, Document: u.Document,
		Email: u.Email, Phone: u.Phone, Reference: u.Reference,
	})
	if err != nil {
		return "", classify(err)
	}
	return got.ID, nil
}

// GetUser reads a user and its plans.
func (a *Adapter) GetUser(ctx context.Context, token, userID string) (*svahub.PlatformAccount, error) {
	u, err := a.client.GetUser(ctx, token, userID)
	if err != nil {
		return nil, classify(err)
	}
	acc := &svahub.PlatformAccount{ID: u.ID, Username: u.Username}
	for _, p := range u.Plans {
		acc.Plans = append(acc.Plans, svahub.PlatformPlan{Product: p.Product, State: state(p.Status), Expired: p.Status == qualifica.StatusExpired, ExpiresOn: svahub.Date(p.ExpiresOn)})
	}
	return acc, nil
}

func state(s string) svahub.AccessState {
	switch s {
	case qualifica.StatusActive, qualifica.StatusExpired:
		return svahub.AccessActive
	case qualifica.StatusSuspended:
		return svahub.AccessSuspended
	case qualifica.StatusCancelled:
		return svahub.AccessCancelled
	}
	return svahub.AccessNone
}

// EnsurePlan PUTs the plan with its expiry date.
func (a *Adapter) EnsurePlan(ctx context.Context, token, userID, product string, expiresOn svahub.Date) (svahub.AccessState, error) {
	p, err := a.client.PutPlan(ctx, token, userID, product, string(expiresOn))
	if err != nil {
		return svahub.AccessNone, classify(err)
	}
	return state(p.Status), nil
}

// Suspend suspends a plan.
func (a *Adapter) Suspend(ctx context.Context, token, userID, product string) error {
	_, err := a.client.SuspendPlan(ctx, token, userID, product)
	return classify(err)
}

// Reactivate reactivates a plan.
func (a *Adapter) Reactivate(ctx context.Context, token, userID, product string) error {
	_, err := a.client.ReactivatePlan(ctx, token, userID, product)
	return classify(err)
}

// Cancel cancels a plan (unknown plan is success).
func (a *Adapter) Cancel(ctx context.Context, token, userID, product string) error {
	return classify(a.client.CancelPlan(ctx, token, userID, product))
}
