package platform

import (
	"context"

	"github.com/svahub/svahub/internal/svahub"
)

// Capabilities returns what the platform of an integration can do.
func (m *Manager) Capabilities(ctx context.Context, integrationID int64) (svahub.Capabilities, error) {
	return svahub.FullCapabilities, nil
}
