package platform_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/platform"
	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/internal/svahub"
)

// stub is a platform whose Token and Catalogue behave as the test says.
type stub struct {
	svahub.Platform
	token     func(ctx context.Context) (svahub.PlatformToken, error)
	catalogue func(ctx context.Context) error
}

func (s *stub) Token(ctx context.Context) (svahub.PlatformToken, error) { return s.token(ctx) }
func (s *stub) Catalogue(ctx context.Context, _ string) ([]svahub.CatalogueItem, error) {
	return nil, s.catalogue(ctx)
}

func newManager(t *testing.T, db *store.DB, p *stub, opts platform.Options) (*platform.Manager, int64) {
	t.Helper()
	// The stub answers for "qualifica", a platform the test store declares.
	opts.Registry = map[string]svahub.Adapter{"qualifica": {Name: "qualifica", Capabilities: svahub.FullCapabilities,
		New: func(svahub.PlatformConfig) (svahub.Platform, error) { return p, nil }}}
	opts.QuickRetries = -1
	m := platform.NewManager(db, opts)
	secret := "s1"
	integ, err := db.CreateIntegration(context.Background(), svahub.IntegrationInput{Description: "x", Platform: "qualifica",
		Params: svahub.IntegrationParamInput{Values: map[string]string{"client_id": "c", "client_secret": secret, "url_base": "https://a.example"}}})
	require.NoError(t, err)
	return m, integ.ID
}

func okToken(context.Context) (svahub.PlatformToken, error) {
	return svahub.PlatformToken{AccessToken: "tok", ExpiresIn: time.Hour}, nil
}

// TestRetryAfterCapped: a platform asking to wait for days gets at most
// the configured maximum (default 10 minutes), so a job is never parked.
func TestRetryAfterCapped(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		db := storetest.Open(t, dialect)
		p := &stub{token: okToken, catalogue: func(context.Context) error {
			return &svahub.PlatformError{Kind: svahub.PlatformTemporary, Status: 429, Message: "devagar", RetryAfter: 400 * time.Hour}
		}}
		m, id := newManager(t, db, p, platform.Options{})
		_, err := m.Catalogue(context.Background(), id)
		pe, ok := svahub.AsPlatformError(err)
		require.True(t, ok, "%v", err)
		require.Equal(t, 10*time.Minute, pe.RetryAfter)

		m2, id2 := newManager(t, db, p, platform.Options{RetryAfterMax: time.Minute})
		_, err = m2.Catalogue(context.Background(), id2)
		pe, _ = svahub.AsPlatformError(err)
		require.Equal(t, time.Minute, pe.RetryAfter)
	})
}

// TestStaleTokenNotStored: a token obtained with credentials that changed
// while it was being obtained (here only the secret) is not stored as
// valido: the integration keeps the state of its new credentials.
func TestStaleTokenNotStored(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		db := storetest.Open(t, dialect)
		ctx := context.Background()
		started, release := make(chan struct{}), make(chan struct{})
		p := &stub{token: func(context.Context) (svahub.PlatformToken, error) {
			close(started)
			<-release
			return svahub.PlatformToken{AccessToken: "obtido-com-s1", ExpiresIn: time.Hour}, nil
		}}
		m, id := newManager(t, db, p, platform.Options{})
		done := make(chan error, 1)
		go func() { _, err := m.RenewToken(ctx, id); done <- err }()
		<-started
		s2 := "s2"
		_, err := db.UpdateIntegration(ctx, id, svahub.IntegrationUpdate{Params: &svahub.IntegrationParamsUpdate{Values: map[string]string{"client_secret": s2}}})
		require.NoError(t, err)
		close(release)
		require.NoError(t, <-done)
		integ, err := db.FindIntegrationByID(ctx, id)
		require.NoError(t, err)
		require.Equal(t, svahub.TokenPending, integ.Token.Status, "a token of the old secret was stored as %s", integ.Token.Status)
		creds, err := db.Credentials(ctx, id)
		require.NoError(t, err)
		require.Empty(t, creds.AccessToken)
	})
}

// TestSharedRenewalSurvivesCancelledCaller: callers waiting on one
// renewal do not fail because the caller that started it went away.
func TestSharedRenewalSurvivesCancelledCaller(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		db := storetest.Open(t, dialect)
		started, release := make(chan struct{}), make(chan struct{})
		var once sync.Once
		p := &stub{
			token: func(ctx context.Context) (svahub.PlatformToken, error) {
				once.Do(func() { close(started) })
				select {
				case <-release:
					return okToken(ctx)
				case <-ctx.Done():
					return svahub.PlatformToken{}, ctx.Err()
				}
			},
			catalogue: func(context.Context) error { return nil },
		}
		m, id := newManager(t, db, p, platform.Options{})
		first, cancel := context.WithCancel(context.Background())
		firstErr := make(chan error, 1)
		go func() { _, err := m.Catalogue(first, id); firstErr <- err }()
		<-started
		waiterErr := make(chan error, 1)
		go func() { _, err := m.Catalogue(context.Background(), id); waiterErr <- err }()
		time.Sleep(100 * time.Millisecond) // the waiter joins the renewal
		cancel()
		err := <-firstErr
		require.True(t, err == nil || errors.Is(err, context.Canceled), "%v", err)
		close(release)
		require.NoError(t, <-waiterErr, "the waiting caller failed with the first caller's cancellation")
	})
}

// TestDeferredTransmissions: calls made with a DeferTransmissions context
// leave their transmissions (the token's too) to the caller; others are
// recorded at once.
func TestDeferredTransmissions(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		db := storetest.Open(t, dialect)
		m, id := newManager(t, db, &stub{token: okToken}, platform.Options{})
		ctx, held := platform.DeferTransmissions(context.Background())
		call := func(ctx context.Context) {
			require.NoError(t, m.Call(ctx, id, svahub.OpSuspend, platform.Ref{}, func(context.Context, svahub.Platform, string) error { return nil }))
		}
		call(ctx)
		_, total, err := db.FindTransmissions(ctx, svahub.TransmissionFilter{Page: svahub.Page{Size: 10}})
		require.NoError(t, err)
		require.Zero(t, total, "held, not recorded")
		ts := held.Take()
		require.Len(t, ts, 2, "the token and the call")
		require.Equal(t, svahub.OpSuspend, ts[1].Operation)
		require.WithinDuration(t, time.Now(), ts[1].CreatedAt, time.Minute, "stamped when the call ended")
		require.Empty(t, held.Take(), "taken once")
		call(context.Background())
		_, total, err = db.FindTransmissions(ctx, svahub.TransmissionFilter{Page: svahub.Page{Size: 10}})
		require.NoError(t, err)
		require.Equal(t, 1, total, "recorded at once")
	})
}
