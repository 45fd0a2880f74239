package provision

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/svahub/svahub/internal/store"
)

// maxGroup bounds the calls one group runs together.
const maxGroup = 256

// commitLinger is how long a completion waits for others before its
// group commit starts. Platform calls paced by a rate limit end one by
// one (every 2 ms at 500 req/s), so without it most completions would
// commit alone: one durable commit (a WAL flush, about 200 µs of
// PostgreSQL CPU) and six statements per plan. 20 ms gathers about ten
// at that rate; a job holds its worker slot that much longer.
const commitLinger = 20 * time.Millisecond

// errLead tells a waiting call that it now leads the group.
var errLead = errors.New("provision: lead the group")

// groupCall is one worker's call waiting for its group.
type groupCall[T, R any] struct {
	in   T
	done chan result[R]
}

type result[R any] struct {
	out R
	err error
}

// group runs the same store call for concurrent workers together (a group
// commit): the first worker to call runs alone; the calls that arrive
// meanwhile wait and are run together by one of them, and so on. A worker
// returns only once its own call is done, so a job's steps keep their
// order. Under load this turns one transaction per plan into one per
// batch: River starts the jobs of a fetch at once, so their claims
// arrive together, and so, after the platform calls, do their
// completions.
type group[T, R any] struct {
	// run does the call for many inputs in one transaction, one output
	// per input (none when R carries nothing); its error is the whole
	// batch's.
	run func(ctx context.Context, in []T) ([]R, error)
	// linger is how long a leader waits for more calls before it runs
	// its batch.
	linger time.Duration

	mu      sync.Mutex
	pending []*groupCall[T, R]
	busy    bool // a leader is running a batch
}

// newCommitter groups the workers' completions (store.CompletePlans).
func newCommitter(commit func(ctx context.Context, cs []store.Completion) error) *group[store.Completion, struct{}] {
	return &group[store.Completion, struct{}]{linger: commitLinger, run: func(ctx context.Context, cs []store.Completion) ([]struct{}, error) {
		return nil, commit(ctx, cs)
	}}
}

// newClaimer groups the workers' plan claims (store.ClaimPlans), each for
// lease. Claims do not linger: River starts a fetch's jobs together.
func newClaimer(claim func(ctx context.Context, ids []int64, lease time.Duration) ([]store.Claim, error), lease time.Duration) *group[int64, store.Claim] {
	return &group[int64, store.Claim]{run: func(ctx context.Context, ids []int64) ([]store.Claim, error) {
		return claim(ctx, ids, lease)
	}}
}

// do runs in, alone or with the calls pending with it.
func (g *group[T, R]) do(ctx context.Context, in T) (R, error) {
	req := &groupCall[T, R]{in: in, done: make(chan result[R], 1)}
	g.mu.Lock()
	g.pending = append(g.pending, req)
	lead := !g.busy
	g.busy = true
	g.mu.Unlock()
	if !lead {
		if r := <-req.done; !errors.Is(r.err, errLead) {
			return r.out, r.err
		}
	}
	g.lead(ctx)
	r := <-req.done
	return r.out, r.err
}

// lead runs one batch of what is pending (which includes the leader's
// own call) and hands the lead to the next pending call.
func (g *group[T, R]) lead(ctx context.Context) {
	if g.linger > 0 {
		time.Sleep(g.linger)
	}
	g.mu.Lock()
	n := min(len(g.pending), maxGroup)
	batch := g.pending[:n:n]
	g.pending = g.pending[n:]
	g.mu.Unlock()
	g.flush(context.WithoutCancel(ctx), batch)
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.pending) == 0 {
		g.busy = false
		return
	}
	g.pending[0].done <- result[R]{err: errLead}
}

// flush runs batch together; if that fails (a deadlock with an API
// write, one bad plan), each call is run on its own, so one failure never
// fails the others.
func (g *group[T, R]) flush(ctx context.Context, batch []*groupCall[T, R]) {
	in := make([]T, len(batch))
	for i, r := range batch {
		in[i] = r.in
	}
	out, err := g.run(ctx, in)
	if err == nil || len(batch) == 1 {
		for i, r := range batch {
			res := result[R]{err: err}
			if err == nil && i < len(out) {
				res.out = out[i]
			}
			r.done <- res
		}
		return
	}
	for _, r := range batch {
		out, err := g.run(ctx, []T{r.in})
		res := result[R]{err: err}
		if err == nil && len(out) > 0 {
			res.out = out[0]
		}
		r.done <- res
	}
}
