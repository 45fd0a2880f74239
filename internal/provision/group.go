package provision

import (
	"context"
	"errors"
	"slices"
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
// PostgreSQL CPU) and six statements per plan. A job holds its worker
// slot for the wait; a three-worker fleet sharing one platform budget
// keeps its pace with 20 ms (docs/benchmarks.md section 8: the slowdown
// section 7 blamed on the wait came from lease renewals deadlocking with
// group commits and from slow status batches).
const commitLinger = 20 * time.Millisecond

// errLead tells a waiting call that it now leads the group.
var errLead = errors.New("provision: lead the group")

// groupCall is one worker's call waiting for its group.
type groupCall[T, R any] struct {
	ctx  context.Context
	in   T
	done chan result[R]
	led  bool // handed the lead (errLead sent): it can no longer withdraw
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
	// cancellable groups (claims) follow each call's context: a batch
	// runs under its leader's, a call whose context ends stops waiting,
	// and abandon undoes what its batch did for it after all. Other
	// groups (completions) always finish what they started.
	cancellable bool
	abandon     func(R)

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
// lease; abandon releases a plan claimed for a job that stopped waiting.
// Claims do not linger: River starts a fetch's jobs together.
func newClaimer(claim func(ctx context.Context, ids []int64, lease time.Duration) ([]store.Claim, error), lease time.Duration,
	abandon func(store.Claim)) *group[int64, store.Claim] {
	return &group[int64, store.Claim]{cancellable: true, abandon: abandon, run: func(ctx context.Context, ids []int64) ([]store.Claim, error) {
		return claim(ctx, ids, lease)
	}}
}

// do runs in, alone or with the calls pending with it.
func (g *group[T, R]) do(ctx context.Context, in T) (R, error) {
	req := &groupCall[T, R]{ctx: ctx, in: in, done: make(chan result[R], 1)}
	g.mu.Lock()
	g.pending = append(g.pending, req)
	lead := !g.busy
	g.busy = true
	g.mu.Unlock()
	if !lead {
		r, ok := g.wait(req)
		if !ok {
			var zero R
			return zero, ctx.Err()
		}
		if !errors.Is(r.err, errLead) {
			return r.out, r.err
		}
	}
	g.lead()
	r := <-req.done
	return r.out, r.err
}

// wait waits for req's result or lead; false when req's context ended
// first (cancellable groups): req is withdrawn, or left to a goroutine
// that leads when handed the lead and abandons its result.
func (g *group[T, R]) wait(req *groupCall[T, R]) (result[R], bool) {
	if !g.cancellable {
		return <-req.done, true
	}
	select {
	case r := <-req.done:
		return r, true
	case <-req.ctx.Done():
	}
	g.mu.Lock()
	if i := slices.Index(g.pending, req); i >= 0 && !req.led {
		g.pending = slices.Delete(g.pending, i, i+1)
		g.mu.Unlock()
		return result[R]{}, false
	}
	g.mu.Unlock()
	go func() {
		r := <-req.done
		if errors.Is(r.err, errLead) {
			g.lead()
			r = <-req.done
		}
		if r.err == nil && g.abandon != nil {
			g.abandon(r.out)
		}
	}()
	return result[R]{}, false
}

// lead runs one batch of what is pending (which starts with the leader's
// own call) and hands the lead to the next pending call.
func (g *group[T, R]) lead() {
	if g.linger > 0 {
		time.Sleep(g.linger)
	}
	g.mu.Lock()
	n := min(len(g.pending), maxGroup)
	batch := g.pending[:n:n]
	g.pending = g.pending[n:]
	g.mu.Unlock()
	g.flush(batch)
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.pending) == 0 {
		g.busy = false
		return
	}
	g.pending[0].led = true
	g.pending[0].done <- result[R]{err: errLead}
}

// ctxOf is the context call c runs under.
func (g *group[T, R]) ctxOf(c *groupCall[T, R]) context.Context {
	if g.cancellable {
		return c.ctx
	}
	return context.WithoutCancel(c.ctx)
}

// flush runs batch together, under its leader's (first) context; if that
// fails (a deadlock with an API write, one bad plan, the leader's job
// stopped), each call is run on its own, so one failure never fails the
// others.
func (g *group[T, R]) flush(batch []*groupCall[T, R]) {
	in := make([]T, len(batch))
	for i, r := range batch {
		in[i] = r.in
	}
	out, err := g.run(g.ctxOf(batch[0]), in)
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
		out, err := g.run(g.ctxOf(r), []T{r.in})
		res := result[R]{err: err}
		if err == nil && len(out) > 0 {
			res.out = out[0]
		}
		r.done <- res
	}
}
