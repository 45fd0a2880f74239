package platform

import (
	"context"
	"errors"
	"strings"

	"github.com/svahub/svahub/internal/platform/egress"
	"github.com/svahub/svahub/internal/svahub"
)

// CatalogueStore is the store side of the catalogue plus the product
// verification writes.
type CatalogueStore interface {
	svahub.CatalogueService
	CreateVerifiedProduct(ctx context.Context, integrationID int64, in svahub.ProductInput, verified bool) (*svahub.Product, error)
	UpdateVerifiedProduct(ctx context.Context, id int64, in svahub.ProductInput, verified bool) (*svahub.Product, error)
	SetProductsVerified(ctx context.Context, integrationID int64, valid map[string]bool) error
}

// Catalogue decorates the store's catalogue service with the platform:
// integrations get their token when saved, product codes are checked
// against the platform catalogue.
type Catalogue struct {
	CatalogueStore
	m *Manager
}

// NewCatalogue wraps store with the manager m.
func NewCatalogue(store CatalogueStore, m *Manager) *Catalogue {
	return &Catalogue{CatalogueStore: store, m: m}
}

var _ svahub.CatalogueService = (*Catalogue)(nil)

// checkAddresses refuses a platform address svahub must not call: every
// URL parameter the adapter of platform declares and values holds is
// checked (422 on parametros.<name>). An empty value means the adapter's
// default (SVAHUB_QUALIFICA_URL), always allowed. An unknown platform is
// left to the store's validation.
func (c *Catalogue) checkAddresses(ctx context.Context, platform string, values map[string]string) error {
	a, ok := c.m.opts.Registry[platform]
	if !ok {
		return nil
	}
	for _, p := range a.Params {
		raw := strings.TrimRight(strings.TrimSpace(values[p.Name]), "/")
		if !p.URL || raw == "" {
			continue
		}
		if err := c.m.opts.Egress.CheckURL(ctx, raw); err != nil {
			var re *egress.RefusedError
			if errors.As(err, &re) {
				return svahub.FieldInvalid("parametros."+p.Name, re.Reason)
			}
			return err
		}
	}
	return nil
}

// CreateIntegration saves the integration, then generates its token. A
// refused or unreachable platform never loses the integration: its token
// block says "erro" with the reason.
func (c *Catalogue) CreateIntegration(ctx context.Context, in svahub.IntegrationInput) (*svahub.Integration, error) {
	if err := c.checkAddresses(ctx, strings.TrimSpace(in.Platform), in.Params.Values); err != nil {
		return nil, err
	}
	out, err := c.CatalogueStore.CreateIntegration(ctx, in)
	if err != nil {
		return nil, err
	}
	return c.afterSave(ctx, out)
}

// UpdateIntegration saves the integration (each member the PUT omits is
// kept) and, when its credentials changed (token back to pendente),
// generates a new token.
func (c *Catalogue) UpdateIntegration(ctx context.Context, id int64, u svahub.IntegrationUpdate) (*svahub.Integration, error) {
	if u.Params != nil && len(u.Params.Values) > 0 {
		platform := ""
		if u.Platform != nil {
			platform = strings.TrimSpace(*u.Platform)
		} else if cur, err := c.CatalogueStore.FindIntegrationByID(ctx, id); err == nil {
			platform = cur.Platform
		}
		if err := c.checkAddresses(ctx, platform, u.Params.Values); err != nil {
			return nil, err
		}
	}
	out, err := c.CatalogueStore.UpdateIntegration(ctx, id, u)
	if err != nil {
		return nil, err
	}
	if out.Token.Status != svahub.TokenPending {
		return c.effective(out), nil
	}
	return c.afterSave(ctx, out)
}

// afterSave generates the integration's token and answers it read again,
// with its effective rate limit.
func (c *Catalogue) afterSave(ctx context.Context, out *svahub.Integration) (*svahub.Integration, error) {
	if _, err := c.m.RenewToken(ctx, out.ID); err != nil {
		c.m.opts.Logger.Warn("token generation failed", "integration", out.ID, "err", err)
		return c.effective(out), nil
	}
	fresh, err := c.FindIntegrationByID(ctx, out.ID)
	if fresh != nil {
		fresh.Params.Revealed = out.Params.Revealed // shown once: this answer
	}
	return fresh, err
}

// verify checks code against the platform catalogue: (true, nil) when
// listed, (false, nil) when the platform cannot be asked (inactive or
// unreachable), and a 422 listing the valid codes when it is not listed.
func (c *Catalogue) verify(ctx context.Context, integrationID int64, code string) (bool, error) {
	integ, err := c.CatalogueStore.FindIntegrationByID(ctx, integrationID)
	if err != nil {
		return false, err
	}
	if !integ.Active {
		return false, nil
	}
	items, err := c.m.Catalogue(ctx, integrationID)
	if err != nil {
		if _, ok := svahub.AsPlatformError(err); ok || svahub.ErrorCode(err) == svahub.EINVALID {
			return false, nil
		}
		return false, err
	}
	for _, it := range items {
		if it.Code == code {
			return true, nil
		}
	}
	return false, unknownCode(code, items)
}

// productRules returns the capabilities that decide how a product of
// integrationID is checked. An integration whose platform no adapter
// serves keeps the strict code rule (its products stay unverified).
func (c *Catalogue) productRules(ctx context.Context, integrationID int64) (svahub.Capabilities, error) {
	caps, err := c.m.Capabilities(ctx, integrationID)
	if svahub.ErrorCode(err) == svahub.EINVALID {
		return svahub.FullCapabilities, nil
	}
	return caps, err
}

// checkProduct validates in under the platform's rules and, for a
// platform with a catalogue, checks the code against it; it answers
// whether the code is verified. An unknown integration (or product,
// lookup) is reported after the input is found valid under the strict rule.
func (c *Catalogue) checkProduct(ctx context.Context, integrationID int64, in *svahub.ProductInput, lookup error) (bool, error) {
	in.Normalize()
	caps, err := svahub.FullCapabilities, lookup
	if err == nil {
		caps, err = c.productRules(ctx, integrationID)
	}
	if err != nil && svahub.ErrorCode(err) != svahub.ENOTFOUND {
		return false, err
	}
	if verr := in.ValidateFor(caps); verr != nil {
		return false, verr
	}
	if err != nil {
		return false, err
	}
	if !caps.Catalogue {
		return false, nil // free text, never verified
	}
	return c.verify(ctx, integrationID, in.Code)
}

// CreateProduct checks the code against the platform catalogue when the
// platform has one and is reachable, then saves the product with
// `verificado` accordingly.
func (c *Catalogue) CreateProduct(ctx context.Context, integrationID int64, in svahub.ProductInput) (*svahub.Product, error) {
	ok, err := c.checkProduct(ctx, integrationID, &in, nil)
	if err != nil {
		return nil, err
	}
	return c.CatalogueStore.CreateVerifiedProduct(ctx, integrationID, in, ok)
}

// UpdateProduct is CreateProduct's rule for updates.
func (c *Catalogue) UpdateProduct(ctx context.Context, id int64, in svahub.ProductInput) (*svahub.Product, error) {
	p, err := c.CatalogueStore.FindProductByID(ctx, id)
	var integrationID int64
	if err == nil {
		integrationID = p.IntegrationID
	}
	ok, err := c.checkProduct(ctx, integrationID, &in, err)
	if err != nil {
		return nil, err
	}
	return c.CatalogueStore.UpdateVerifiedProduct(ctx, id, in, ok)
}

// TestIntegration renews the token now ("Ações > Testar"; a platform
// without a token runs its svahub.Tester instead) and, when it is valid
// and the platform has a catalogue, re-checks the stored product codes against the catalogue. It
// answers the integration's token block as stored, so the instant reads
// exactly as GET /integracoes/{id} shows it (business time zone).
func (c *Catalogue) TestIntegration(ctx context.Context, id int64) (*svahub.TokenInfo, error) {
	if _, err := c.CatalogueStore.FindIntegrationByID(ctx, id); err != nil {
		return nil, err
	}
	info, err := c.m.RenewToken(ctx, id)
	if err != nil || info.Status != svahub.TokenValid {
		return info, err
	}
	if caps, err := c.m.Capabilities(ctx, id); err != nil || !caps.Catalogue {
		return c.storedToken(ctx, id, info, err)
	}
	if items, err := c.m.Catalogue(ctx, id); err == nil {
		valid := make(map[string]bool, len(items))
		for _, it := range items {
			valid[it.Code] = true
		}
		if err := c.CatalogueStore.SetProductsVerified(ctx, id, valid); err != nil {
			return nil, err
		}
	}
	return c.storedToken(ctx, id, info, nil)
}

// storedToken answers the token block as stored after a test whose own
// answer is info.
func (c *Catalogue) storedToken(ctx context.Context, id int64, info *svahub.TokenInfo, err error) (*svahub.TokenInfo, error) {
	if err != nil {
		return nil, err
	}
	integ, err := c.CatalogueStore.FindIntegrationByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if integ.Token.Status != svahub.TokenValid || (integ.Token.ExpiresAt == nil && info.ExpiresAt != nil) {
		return info, nil // the credentials changed meanwhile: this renewal's own answer
	}
	return &integ.Token, nil
}

// SyncProducts imports the platform catalogue: missing codes become
// products (named as on the platform), every listed code is verified, and
// the integration's products are returned. A platform without a catalogue
// answers 422.
func (c *Catalogue) SyncProducts(ctx context.Context, id int64) ([]*svahub.Product, error) {
	if _, err := c.CatalogueStore.FindIntegrationByID(ctx, id); err != nil {
		return nil, err
	}
	if caps, err := c.productRules(ctx, id); err != nil {
		return nil, err
	} else if !caps.Catalogue {
		return nil, svahub.Errorf(svahub.EINVALID, "a plataforma não tem catálogo")
	}
	items, err := c.m.Catalogue(ctx, id)
	if err != nil {
		if pe, ok := svahub.AsPlatformError(err); ok {
			return nil, svahub.Errorf(svahub.EUNAVAILABLE, "não foi possível ler o catálogo da plataforma: %s", svahub.PlatformMessage(pe.Message))
		}
		return nil, err
	}
	existing, err := c.allProducts(ctx, id)
	if err != nil {
		return nil, err
	}
	have := make(map[string]bool, len(existing))
	for _, p := range existing {
		have[p.Code] = true
	}
	valid := make(map[string]bool, len(items))
	for _, it := range items {
		valid[it.Code] = true
		if have[it.Code] {
			continue
		}
		name := it.Name
		if name == "" {
			name = it.Code
		}
		in := svahub.ProductInput{Description: name, Code: it.Code}
		in.Normalize()
		err := in.ValidateFor(svahub.FullCapabilities)
		if err == nil {
			_, err = c.CatalogueStore.CreateVerifiedProduct(ctx, id, in, true)
		}
		if err != nil && svahub.ErrorCode(err) != svahub.ECONFLICT {
			if svahub.ErrorCode(err) == svahub.EINVALID {
				c.m.opts.Logger.Warn("catalogue item not importable", "integration", id, "code", it.Code)
				continue
			}
			return nil, err
		}
	}
	if err := c.CatalogueStore.SetProductsVerified(ctx, id, valid); err != nil {
		return nil, err
	}
	return c.allProducts(ctx, id)
}

func (c *Catalogue) allProducts(ctx context.Context, id int64) ([]*svahub.Product, error) {
	var out []*svahub.Product
	for page := 0; ; page++ {
		items, total, err := c.CatalogueStore.FindProducts(ctx, svahub.ProductFilter{IntegrationID: id, Page: svahub.Page{Number: page, Size: 500}})
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if len(out) >= total || len(items) == 0 {
			return out, nil
		}
	}
}
