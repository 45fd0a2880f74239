package platform_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/svahub/svahub/internal/platform"
	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/internal/svahub"
)

// TestBudgetShared: managers sharing one database (as processes would)
// divide an integration's limit: each worker-running manager takes an
// equal share, an API-only one a share only while it calls, and a manager
// that leaves hands its share back.
func TestBudgetShared(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		db := storetest.Open(t, dialect)
		ctx := context.Background()
		var mu sync.Mutex
		limiters := map[*platform.Manager]*rate.Limiter{}
		p := &stub{token: okToken, catalogue: func(context.Context) error { return nil }}
		budget := &platform.BudgetOptions{Store: db, Interval: 50 * time.Millisecond, TTL: time.Second, Linger: 300 * time.Millisecond}
		_, id := newManager(t, db, p, platform.Options{})
		newMember := func() *platform.Manager {
			var m *platform.Manager
			m = platform.NewManager(db, platform.Options{RateLimitRPS: 30, Budget: budget, QuickRetries: -1,
				Registry: map[string]svahub.Adapter{"qualifica": {Name: "qualifica", Capabilities: svahub.FullCapabilities,
					New: func(cfg svahub.PlatformConfig) (svahub.Platform, error) {
						mu.Lock()
						defer mu.Unlock()
						limiters[m] = cfg.Limiter.(*rate.Limiter)
						return p, nil
					}}}})
			return m
		}
		m1 := newMember()
		rateOf := func(m *platform.Manager) float64 {
			if _, err := m.Catalogue(ctx, id); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			return float64(limiters[m].Limit())
		}
		eventually := func(m *platform.Manager, want float64, why string) {
			t.Helper()
			require.Eventually(t, func() bool { return rateOf(m) == want }, 5*time.Second, 20*time.Millisecond, why)
		}

		require.NoError(t, m1.HoldBudget(ctx))
		require.Equal(t, 30.0, rateOf(m1), "alone: the whole limit")
		m2 := newMember()
		require.NoError(t, m2.HoldBudget(ctx))
		require.Equal(t, 15.0, rateOf(m1), "the first member re-divided before the second took jobs")
		require.Equal(t, 15.0, rateOf(m2))

		api := newMember() // no workers: a member only while it calls
		require.Equal(t, 10.0, rateOf(api), "an API call joins the budget first")
		eventually(m1, 10, "three members")
		eventually(m1, 15, "the API-only member leaves after its linger")

		require.NoError(t, m2.ReleaseBudget(ctx))
		eventually(m1, 30, "a member that stops hands its share back")
		require.NoError(t, m1.ReleaseBudget(ctx))
	})
}
