package provision

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// renewStore keeps the leases in kept and loses the others.
type renewStore struct {
	fakeStore
	kept map[int64]bool
}

func (s *renewStore) RenewLeases(_ context.Context, _ time.Duration, plans, accounts []int64) ([]int64, []int64, error) {
	var p, a []int64
	for _, id := range plans {
		if s.kept[id] {
			p = append(p, id)
		}
	}
	for _, id := range accounts {
		if s.kept[id] {
			a = append(a, id)
		}
	}
	return p, a, nil
}

func TestKeeperRenewsHeldLeasesAndMarksLostOnes(t *testing.T) {
	t.Parallel()
	e, _, _ := testEngine(noReadBack)
	st := &renewStore{kept: map[int64]bool{1: true, 3: true}}
	e.db = st
	k := e.leases
	long := time.Now().Add(-10 * time.Second) // claimed 10 s ago: 5 s left of 15
	a, b, c := k.add(planLease, 1, long), k.add(planLease, 2, long), k.add(accountLease, 3, long)
	require.NoError(t, k.renew(context.Background()))
	for _, h := range []*hold{a, c} {
		d, err := h.deadline(k.margin())
		require.NoError(t, err)
		require.Greater(t, time.Until(d), 10*time.Second, "renewed for a whole TTL")
	}
	_, err := b.deadline(0)
	require.ErrorIs(t, err, errLeaseLost, "a lease the store did not renew is lost")
	st.kept[2] = true
	require.NoError(t, k.renew(context.Background()))
	_, err = b.deadline(0)
	require.ErrorIs(t, err, errLeaseLost, "a lost lease stays lost")
}

func TestStopPoints(t *testing.T) {
	t.Parallel()
	end := time.Now().Add(2 * time.Second)
	soft, hard := stopPoint(end, true, 4, 2*time.Second), stopPoint(end, true, 10, 300*time.Millisecond)
	require.WithinDuration(t, end.Add(-500*time.Millisecond), soft, 20*time.Millisecond, "jobs may finish until a quarter is left")
	require.WithinDuration(t, end.Add(-200*time.Millisecond), hard, 20*time.Millisecond, "cancelled jobs record until a tenth is left")
	long := time.Now().Add(30 * time.Second)
	require.WithinDuration(t, long.Add(-2*time.Second), stopPoint(long, true, 4, 2*time.Second), 20*time.Millisecond, "at most 2 s")
	require.Equal(t, end, stopPoint(end, true, 0, 0))
	require.True(t, stopPoint(time.Time{}, false, 4, time.Second).After(time.Now().Add(time.Hour)), "no deadline, no end")
}
