package platform

import (
	"context"

	"github.com/svahub/svahub/internal/svahub"
)

// DefaultRateLimit is the request rate per integration applied when an
// integration sets none of its own (SVAHUB_PLATFORM_RATE_LIMIT).
func (m *Manager) DefaultRateLimit() float64 { return m.opts.RateLimitRPS }

// effective shows the rate the manager applies: an integration without a
// limit of its own (stored 0) follows the server's default.
func (c *Catalogue) effective(in *svahub.Integration) *svahub.Integration {
	if in != nil && in.Params.RateLimitRPS <= 0 {
		in.Params.RateLimitRPS = c.m.DefaultRateLimit()
	}
	return in
}

// FindIntegrationByID returns the integration with its effective rate limit.
func (c *Catalogue) FindIntegrationByID(ctx context.Context, id int64) (*svahub.Integration, error) {
	out, err := c.CatalogueStore.FindIntegrationByID(ctx, id)
	return c.effective(out), err
}

// FindIntegrations lists integrations with their effective rate limits.
func (c *Catalogue) FindIntegrations(ctx context.Context, f svahub.IntegrationFilter) ([]*svahub.Integration, int, error) {
	items, total, err := c.CatalogueStore.FindIntegrations(ctx, f)
	for _, in := range items {
		c.effective(in)
	}
	return items, total, err
}
