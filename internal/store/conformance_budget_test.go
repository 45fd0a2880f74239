package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func confBudget() []confCase {
	return []confCase{
		{"Budget/MultiProcess", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			require.Equal(t, d == "postgres", e.db.MultiProcess(), "only PostgreSQL is shared by several processes")
		}},
		{"Budget/RenewBudgetMembers", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			const ttl = 10 * time.Second
			got, err := e.db.RenewBudgetMembers(e.ctx, "w1", []int64{0}, ttl)
			require.NoError(t, err)
			require.Equal(t, map[int64]int{0: 1}, got, "a worker process shares every integration")
			_, err = e.db.RenewBudgetMembers(e.ctx, "w2", []int64{0}, ttl)
			require.NoError(t, err)
			got, err = e.db.RenewBudgetMembers(e.ctx, "api", []int64{7, 9}, ttl)
			require.NoError(t, err)
			require.Equal(t, map[int64]int{0: 2, 7: 1, 9: 1}, got, "an API process shares only what it calls")

			got, err = e.db.RenewBudgetMembers(e.ctx, "api", []int64{9}, ttl)
			require.NoError(t, err)
			require.Equal(t, map[int64]int{0: 2, 9: 1}, got, "the member's other rows are dropped")

			e.clock.Advance(6 * time.Second)
			_, err = e.db.RenewBudgetMembers(e.ctx, "w1", []int64{0}, ttl)
			require.NoError(t, err)
			e.clock.Advance(6 * time.Second)
			got, err = e.db.RenewBudgetMembers(e.ctx, "w1", []int64{0}, ttl)
			require.NoError(t, err)
			require.Equal(t, map[int64]int{0: 1}, got, "members not renewed within ttl are gone (w2 and api died)")

			got, err = e.db.RenewBudgetMembers(e.ctx, "w1", nil, ttl)
			require.NoError(t, err)
			require.Empty(t, got, "no integrations: the member leaves at once")
		}},
	}
}
