package provision

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/store"
)

// TestGroupCommit: completions arriving while a commit runs are committed
// together, every worker gets its own outcome, and nothing is committed
// twice or lost.
func TestGroupCommit(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	seen := map[int64]int{}
	var batches, biggest atomic.Int64
	g := newCommitter(func(_ context.Context, cs []store.Completion) error {
		time.Sleep(2 * time.Millisecond) // a transaction takes a while
		mu.Lock()
		defer mu.Unlock()
		for _, c := range cs {
			seen[c.PlanID]++
		}
		batches.Add(1)
		if n := int64(len(cs)); n > biggest.Load() {
			biggest.Store(n)
		}
		return nil
	})
	const n = 200
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, err := g.do(context.Background(), store.Completion{PlanID: int64(i)})
			require.NoError(t, err)
		})
	}
	wg.Wait()
	require.Len(t, seen, n)
	for id, k := range seen {
		require.Equal(t, 1, k, "plan %d committed once", id)
	}
	require.Less(t, batches.Load(), int64(n), "concurrent completions share commits")
	require.Greater(t, biggest.Load(), int64(1))
	require.False(t, g.busy)
	require.Empty(t, g.pending)
}

// TestGroupCommitFailureIsolated: when a shared commit fails, each
// completion is committed alone, so only the failing plan sees an error.
func TestGroupCommitFailureIsolated(t *testing.T) {
	t.Parallel()
	bad := errors.New("plan 7 cannot be recorded")
	release := make(chan struct{})
	g := newCommitter(func(_ context.Context, cs []store.Completion) error {
		if len(cs) == 1 && cs[0].PlanID == 0 {
			<-release // the first commit holds while the others queue
		}
		for _, c := range cs {
			if c.PlanID == 7 {
				return bad
			}
		}
		return nil
	})
	g.linger = 0 // the first commit runs alone
	errs := make([]error, 10)
	var wg sync.WaitGroup
	wg.Go(func() { _, errs[0] = g.do(context.Background(), store.Completion{PlanID: 0}) })
	require.Eventually(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return g.busy }, time.Second, time.Millisecond)
	for i := 1; i < 10; i++ {
		wg.Go(func() { _, errs[i] = g.do(context.Background(), store.Completion{PlanID: int64(i)}) })
	}
	require.Eventually(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.pending) == 9 }, time.Second, time.Millisecond)
	close(release)
	wg.Wait()
	for i, err := range errs {
		if i == 7 {
			require.ErrorIs(t, err, bad)
			continue
		}
		require.NoError(t, err, "plan %d", i)
	}
}

// TestGroupClaim: concurrent claims share ClaimPlans calls, each worker
// gets the answer for its own plan, and a failed shared claim is retried
// plan by plan, so only the failing plan sees the error.
func TestGroupClaim(t *testing.T) {
	t.Parallel()
	bad := errors.New("plan 13 cannot be claimed")
	var calls, biggest atomic.Int64
	g := newClaimer(func(_ context.Context, ids []int64, lease time.Duration) ([]store.Claim, error) {
		require.Equal(t, 15*time.Second, lease)
		time.Sleep(2 * time.Millisecond) // a statement takes a while
		calls.Add(1)
		if n := int64(len(ids)); n > biggest.Load() {
			biggest.Store(n)
		}
		out := make([]store.Claim, len(ids))
		for i, id := range ids {
			if id == 13 {
				return nil, bad
			}
			out[i] = store.Claim{Work: &store.PlanWork{PlanID: id}, OK: id%2 == 0}
		}
		return out, nil
	}, 15*time.Second, nil)
	const n = 100
	got := make([]store.Claim, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i], errs[i] = g.do(context.Background(), int64(i)) })
	}
	wg.Wait()
	for i := range n {
		if i == 13 {
			require.ErrorIs(t, errs[i], bad)
			continue
		}
		require.NoError(t, errs[i], "plan %d", i)
		require.Equal(t, int64(i), got[i].Work.PlanID, "each worker gets its own plan's claim")
		require.Equal(t, i%2 == 0, got[i].OK)
	}
	require.Greater(t, biggest.Load(), int64(1), "concurrent claims share a statement")
	require.False(t, g.busy)
	require.Empty(t, g.pending)
}

// TestGroupCommitLingers: completions that end one by one (platform calls
// paced by a rate limit) still share commits: a leader waits commitLinger
// for others before it commits.
func TestGroupCommitLingers(t *testing.T) {
	t.Parallel()
	var batches atomic.Int64
	g := newCommitter(func(context.Context, []store.Completion) error {
		batches.Add(1) // an instant commit: without the wait, each completion would find the committer idle
		return nil
	})
	require.Equal(t, commitLinger, g.linger)
	g.linger = 50 * time.Millisecond // the mechanism, with room for a loaded machine's sleeps
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			_, err := g.do(context.Background(), store.Completion{PlanID: int64(i)})
			require.NoError(t, err)
		})
		time.Sleep(time.Millisecond)
	}
	wg.Wait()
	require.Less(t, batches.Load(), int64(10), "completions 1 ms apart share commits")
}

// TestGroupClaimFollowsJobContext (found by a hostile review): a claim
// batch runs under its leader's context, and a job queued behind it stops
// waiting when its own context ends; what its batch claimed for it after
// all is abandoned (released), and the group goes on.
func TestGroupClaimFollowsJobContext(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var abandoned atomic.Int64
	g := newClaimer(func(ctx context.Context, ids []int64, _ time.Duration) ([]store.Claim, error) {
		select { // a statement that takes long, cancellable by its context
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-release:
			out := make([]store.Claim, len(ids))
			for i, id := range ids {
				out[i] = store.Claim{Work: &store.PlanWork{PlanID: id}, OK: true}
			}
			return out, nil
		}
	}, time.Minute, func(c store.Claim) { abandoned.Add(c.Work.PlanID) })

	leaderCtx, cancel1 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel1()
	leaderDone := make(chan error, 1)
	go func() { _, err := g.do(leaderCtx, 1); leaderDone <- err }()
	require.Eventually(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return g.busy && len(g.pending) == 0 }, time.Second, time.Millisecond)

	otherCtx, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	otherDone := make(chan error, 1)
	go func() { _, err := g.do(otherCtx, 2); otherDone <- err }()

	select {
	case err := <-otherDone:
		require.ErrorIs(t, err, context.DeadlineExceeded)
	case <-time.After(time.Second):
		t.Fatal("a job queued behind a long claim is still waiting 1 s after its context ended")
	}
	select {
	case err := <-leaderDone:
		require.ErrorIs(t, err, context.DeadlineExceeded)
	case <-time.After(time.Second):
		t.Fatal("the leader's claim does not follow its job's context")
	}
	// A job that stops waiting after its call joined a running batch: the
	// batch's claim for it is abandoned.
	third, cancel3 := context.WithCancel(context.Background())
	thirdDone := make(chan error, 1)
	go func() { _, err := g.do(context.Background(), 5); thirdDone <- err }()
	require.Eventually(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return g.busy }, time.Second, time.Millisecond)
	go func() { _, err := g.do(third, 7); thirdDone <- err }()
	require.Eventually(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.pending) == 1 }, time.Second, time.Millisecond)
	cancel3()
	require.ErrorIs(t, <-thirdDone, context.Canceled, "the withdrawn call returns at once")
	close(release)
	require.NoError(t, <-thirdDone, "the running batch completes its own call")
	require.Eventually(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return !g.busy && len(g.pending) == 0 }, time.Second, time.Millisecond)
	require.Zero(t, abandoned.Load(), "a call withdrawn before its batch ran claims nothing")
}
