package platform

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// BudgetStore keeps which processes share each integration's platform rate
// limit (store.DB). integrations holds 0 for "every integration"; the
// answer counts live members per integration id, 0 included.
type BudgetStore interface {
	RenewBudgetMembers(ctx context.Context, member string, integrations []int64, ttl time.Duration) (map[int64]int, error)
}

// BudgetOptions make the processes on one database share each
// integration's rate limit: each paces its calls at limit / members, the
// members being the processes running workers plus those without workers
// that called the integration in the last Linger.
type BudgetOptions struct {
	// Store is where the members are kept. Required.
	Store BudgetStore
	// Member names this process (default: host/pid/random).
	Member string
	// Interval is how often the membership is renewed and the shares
	// re-divided (default 1 s).
	Interval time.Duration
	// TTL is how long a member that stopped renewing (a killed process)
	// keeps its share (default 10 s).
	TTL time.Duration
	// Linger is how long a process without workers keeps its share of an
	// integration after its last call to it (default 5 s).
	Linger time.Duration
}

// budget is the Manager's side of the shared limits.
type budget struct {
	opts    BudgetOptions
	renewMu sync.Mutex // one renewal at a time

	mu      sync.Mutex
	workers bool                // holds a share of every integration
	used    map[int64]time.Time // integration → last call (without workers)
	counts  map[int64]int       // the last renewal's answer
	running bool                // the renewal loop runs
	stop    chan struct{}
	done    chan struct{}
}

func newBudget(o BudgetOptions) *budget {
	if o.Member == "" {
		host, _ := os.Hostname()
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		o.Member = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.TTL <= 0 {
		o.TTL = 10 * time.Second
	}
	if o.Linger <= 0 {
		o.Linger = 5 * time.Second
	}
	return &budget{opts: o, used: map[int64]time.Time{}, counts: map[int64]int{}}
}

// members is how many processes share integration id's limit (at least 1).
func (b *budget) members(id int64) int {
	if b == nil {
		return 1
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return max(1, b.counts[0]+b.counts[id])
}

// scopes are the budgets this process must be a member of now.
func (b *budget) scopes(now time.Time) []int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.workers {
		return []int64{0}
	}
	var out []int64
	for id, at := range b.used {
		if now.Sub(at) < b.opts.Linger {
			out = append(out, id)
		} else {
			delete(b.used, id)
		}
	}
	return out
}

// renew renews this process's membership and keeps the answer.
func (b *budget) renew(ctx context.Context) (members int, err error) {
	b.renewMu.Lock()
	defer b.renewMu.Unlock()
	scopes := b.scopes(time.Now())
	counts, err := b.opts.Store.RenewBudgetMembers(ctx, b.opts.Member, scopes, b.opts.TTL)
	if err != nil {
		return 0, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.counts = counts
	for _, n := range counts {
		members += n
	}
	return members, nil
}

// limiter is one integration's pace in this process.
type limiter struct {
	rps     float64 // the integration's whole limit
	members int     // processes sharing it, when the rate was last set
	lim     *rate.Limiter
}

// set paces l at rps / members, with a burst of one second of that rate.
func (l *limiter) set(rps float64, members int) {
	l.rps, l.members = rps, members
	r := rps / float64(members)
	l.lim.SetLimit(rate.Limit(r))
	l.lim.SetBurst(max(1, int(r)))
}

// setRate sets integration id's limiter and tells the observer.
func (m *Manager) setRate(id int64, l *limiter, rps float64, members int) {
	l.set(rps, members)
	if m.opts.RateObserver != nil {
		m.opts.RateObserver(id, members, rps/float64(members))
	}
}

// pace returns integration id's limiter, paced at rps divided among the
// processes sharing it. The caller holds m.mu.
func (m *Manager) pace(id int64, rps float64) *rate.Limiter {
	n := m.budget.members(id)
	l, ok := m.limiters[id]
	if !ok {
		l = &limiter{lim: rate.NewLimiter(0, 1)}
		m.limiters[id] = l
		m.setRate(id, l, rps, n)
		return l.lim
	}
	if l.rps != rps || l.members != n {
		m.setRate(id, l, rps, n)
	}
	return l.lim
}

// reshare re-divides every known integration's rate after a renewal.
func (m *Manager) reshare() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, l := range m.limiters {
		if n := m.budget.members(id); n != l.members {
			m.opts.Logger.Info("platform rate shared", "integration", id, "processes", n, "rate", l.rps/float64(n), "limit", l.rps)
			m.setRate(id, l, l.rps, n)
		}
	}
}

// HoldBudget makes this process (one running workers) a member of every
// integration's budget until ReleaseBudget. When other processes already
// share the database it waits one renewal interval before returning, so
// they have lowered their shares before this one spends its own. Without
// a shared database (SQLite) it does nothing: the process keeps the whole
// limit.
func (m *Manager) HoldBudget(ctx context.Context) error {
	b := m.budget
	if b == nil {
		return nil
	}
	b.mu.Lock()
	b.workers = true
	b.mu.Unlock()
	n, err := b.renew(ctx)
	if err != nil {
		return fmt.Errorf("platform budget: %w", err)
	}
	m.reshare()
	m.startBudgetLoop()
	if n > 1 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(b.opts.Interval + b.opts.Interval/2):
		}
	}
	return nil
}

// ReleaseBudget leaves every budget at once (graceful stop), so the other
// processes take this one's share at their next renewal.
func (m *Manager) ReleaseBudget(ctx context.Context) error {
	b := m.budget
	if b == nil {
		return nil
	}
	b.mu.Lock()
	b.workers = false
	b.used = map[int64]time.Time{}
	running, stop, done := b.running, b.stop, b.done
	b.running = false
	b.mu.Unlock()
	if running {
		close(stop)
		<-done
	}
	_, err := b.renew(ctx)
	return err
}

// useBudget notes a call to integration id by a process without workers:
// the first call after a pause joins the integration's budget (one
// renewal) before it is paced.
func (m *Manager) useBudget(ctx context.Context, id int64) {
	b := m.budget
	if b == nil {
		return
	}
	b.mu.Lock()
	_, member := b.used[id]
	join := !b.workers && !member
	if !b.workers {
		b.used[id] = time.Now()
	}
	b.mu.Unlock()
	if !join {
		return
	}
	if _, err := b.renew(ctx); err != nil {
		m.opts.Logger.Warn("platform budget: join", "integration", id, "err", err)
	}
	m.reshare()
	m.startBudgetLoop()
}

// startBudgetLoop starts the renewals unless they run.
func (m *Manager) startBudgetLoop() {
	b := m.budget
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.running {
		return
	}
	b.running, b.stop, b.done = true, make(chan struct{}), make(chan struct{})
	go m.budgetLoop(b.stop, b.done)
}

// budgetLoop renews the membership every interval and re-divides the
// rates; it ends when stopped or when a process without workers has not
// called any integration for Linger (leaving every budget).
func (m *Manager) budgetLoop(stop, done chan struct{}) {
	defer close(done)
	b := m.budget
	t := time.NewTicker(b.opts.Interval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), b.opts.TTL)
		idle := len(b.scopes(time.Now())) == 0
		_, err := b.renew(ctx)
		cancel()
		switch {
		case err != nil && !failing:
			m.opts.Logger.Warn("platform budget: renewal failed; keeping the last shares", "err", err)
		case err == nil && failing:
			m.opts.Logger.Info("platform budget: renewed again")
		}
		failing = err != nil
		m.reshare()
		if idle && err == nil && m.stopIdleLoop() {
			return
		}
	}
}

// stopIdleLoop ends the loop of a process without workers that called no
// integration lately; false when a call came in meanwhile.
func (m *Manager) stopIdleLoop() bool {
	b := m.budget
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.workers || len(b.used) > 0 {
		return false
	}
	b.running = false
	return true
}
