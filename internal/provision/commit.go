package provision

import (
	"context"
	"errors"
	"sync"

	"github.com/svahub/svahub/internal/store"
)

// maxCommitBatch bounds the completions one group commit records.
const maxCommitBatch = 256

// errLead tells a waiting completion that it now leads the group commit.
var errLead = errors.New("provision: lead the group commit")

// completion is one worker's completion waiting for its commit.
type completion struct {
	c    store.Completion
	done chan error
}

// committer records the workers' completions in shared transactions (a
// group commit): the first worker to complete commits alone; the
// completions that arrive meanwhile wait and are committed together by
// one of them, and so on. A worker returns only once its own completion
// is committed (or failed), so River completes the job after the plan.
// Under load this turns one transaction per plan into one per batch.
type committer struct {
	commit func(ctx context.Context, cs []store.Completion) error

	mu      sync.Mutex
	pending []*completion
	busy    bool // a leader is committing
}

// complete records c, alone or with the completions pending with it.
func (g *committer) complete(ctx context.Context, c store.Completion) error {
	req := &completion{c: c, done: make(chan error, 1)}
	g.mu.Lock()
	g.pending = append(g.pending, req)
	lead := !g.busy
	g.busy = true
	g.mu.Unlock()
	if !lead {
		if err := <-req.done; !errors.Is(err, errLead) {
			return err
		}
	}
	g.lead(ctx)
	return <-req.done
}

// lead commits one batch of what is pending (which includes the leader's
// own completion) and hands the lead to the next pending completion.
func (g *committer) lead(ctx context.Context) {
	g.mu.Lock()
	n := min(len(g.pending), maxCommitBatch)
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
	g.pending[0].done <- errLead
}

// flush commits batch in one transaction; if that fails (a deadlock with
// an API write, one bad plan), each completion is committed on its own,
// so one failure never fails the others.
func (g *committer) flush(ctx context.Context, batch []*completion) {
	cs := make([]store.Completion, len(batch))
	for i, r := range batch {
		cs[i] = r.c
	}
	err := g.commit(ctx, cs)
	if err == nil || len(batch) == 1 {
		for _, r := range batch {
			r.done <- err
		}
		return
	}
	for _, r := range batch {
		r.done <- g.commit(ctx, []store.Completion{r.c})
	}
}
