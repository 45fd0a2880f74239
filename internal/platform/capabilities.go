package platform

import (
	"context"
	"time"

	"github.com/svahub/svahub/internal/svahub"
)

// Capabilities answers what the platform of integration integrationID can
// do, as its adapter declares (svahub.Adapter.Capabilities). An unknown
// integration is ENOTFOUND; a platform no adapter is registered for is
// EINVALID.
func (m *Manager) Capabilities(ctx context.Context, integrationID int64) (svahub.Capabilities, error) {
	creds, err := m.store.Credentials(ctx, integrationID)
	if err != nil {
		return svahub.Capabilities{}, err
	}
	a, ok := m.opts.Registry[creds.Platform]
	if !ok {
		return svahub.Capabilities{}, svahub.Errorf(svahub.EINVALID, "plataforma %q não suportada", creds.Platform)
	}
	return a.Capabilities, nil
}

// checkConfig is RenewToken for a platform without a token: it runs the
// adapter's Test (svahub.Tester) when it has one, records it as a token
// transmission and stores the outcome in the token block (valido, with no
// expiry, on success). A platform without Test is valido: there is
// nothing to check before the first command.
func (m *Manager) checkConfig(ctx context.Context, id int64, s *session, creds *svahub.Credentials) (*svahub.TokenInfo, error) {
	info := &svahub.TokenInfo{Status: svahub.TokenValid}
	if t, ok := s.platform.(svahub.Tester); ok {
		err := m.Call(ctx, id, svahub.OpToken, Ref{}, func(ctx context.Context, _ svahub.Platform, _ string) error {
			return t.Test(ctx)
		})
		if err != nil {
			pe, ok := svahub.AsPlatformError(err)
			if !ok {
				return nil, err
			}
			info = &svahub.TokenInfo{Status: svahub.TokenError, Message: svahub.PlatformMessage(pe.Message)}
		}
	}
	if err := m.store.SaveToken(context.WithoutCancel(ctx), id, creds.Version, "", time.Time{}, info.Status, info.Message); err != nil {
		m.opts.Logger.Warn("save token status", "integration", id, "err", err)
	}
	return info, nil
}
