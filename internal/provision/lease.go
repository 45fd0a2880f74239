package provision

import (
	"context"
	"errors"
	"sync"
	"time"
)

// errLeaseLost means this process no longer holds the lease of the plan
// (or account) it works on: renewal failed for a whole TTL, or another
// process took it. The work stops before its next platform call.
var errLeaseLost = errors.New("provision: lease lost")

// leaseKind tells plan leases from account leases.
type leaseKind int

const (
	planLease leaseKind = iota
	accountLease
)

type leaseKey struct {
	kind leaseKind
	id   int64
}

// hold is one lease this process holds: until when it is sure to hold it
// (as far as its own clock knows), and whether it lost it.
type hold struct {
	mu    sync.Mutex
	until time.Time
	lost  bool
}

// deadline is when work under the lease must have stopped calling the
// platform, or errLeaseLost when it is already past.
func (h *hold) deadline(margin time.Duration) (time.Time, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	d := h.until.Add(-margin)
	if h.lost || !time.Now().Before(d) {
		h.lost = true
		return time.Time{}, errLeaseLost
	}
	return d, nil
}

func (h *hold) renewed(until time.Time, kept bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !kept {
		h.lost = true
	}
	if kept && !h.lost {
		h.until = until
	}
}

// keeper renews, every third of the TTL, the leases this process's jobs
// hold (one statement per table), writes its heartbeat, and makes the jobs
// of processes whose heartbeat is older than the TTL available again.
type keeper struct {
	e   *Engine
	ttl time.Duration

	mu    sync.Mutex
	holds map[leaseKey]*hold

	stop chan struct{}
	done chan struct{}
}

func newKeeper(e *Engine, ttl time.Duration) *keeper {
	return &keeper{e: e, ttl: ttl, holds: map[leaseKey]*hold{}}
}

// margin is how long before its lease ends work under it stops calling
// the platform: a call must be over before another process may take over.
func (k *keeper) margin() time.Duration { return k.ttl / 5 }

// add registers a lease claimed at claimedAt (taken before the claim).
func (k *keeper) add(kind leaseKind, id int64, claimedAt time.Time) *hold {
	h := &hold{until: claimedAt.Add(k.ttl)}
	k.mu.Lock()
	k.holds[leaseKey{kind, id}] = h
	k.mu.Unlock()
	return h
}

// drop forgets a lease that was released (or lost).
func (k *keeper) drop(kind leaseKind, id int64) {
	k.mu.Lock()
	delete(k.holds, leaseKey{kind, id})
	k.mu.Unlock()
}

// start runs the renewal loop until close.
func (k *keeper) start() {
	k.stop, k.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(k.done)
		k.tick()
		t := time.NewTicker(k.ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-k.stop:
				return
			case <-t.C:
				k.tick()
			}
		}
	}()
}

// close stops the loop (the caller then retires the process).
func (k *keeper) close() {
	if k.stop == nil {
		return
	}
	close(k.stop)
	<-k.done
	k.stop = nil
}

// tick renews the held leases, then heartbeats and rescues the jobs of
// dead processes. Each step is bounded by a third of the TTL.
func (k *keeper) tick() {
	ctx, cancel := context.WithTimeout(context.Background(), k.ttl/3)
	defer cancel()
	log := k.e.log
	if err := k.renew(ctx); err != nil {
		log.Warn("lease renewal failed", "err", err)
		return
	}
	if err := k.e.db.Heartbeat(ctx); err != nil {
		log.Warn("heartbeat failed", "err", err)
		return
	}
	n, err := k.e.db.RescueDeadWorkers(ctx, k.ttl)
	if err != nil {
		log.Warn("rescue of dead workers' jobs failed", "err", err)
	} else if n > 0 {
		log.Info("jobs of a stopped worker process made available again", "jobs", n)
	}
}

// renew extends every held lease; those the store did not renew are lost.
func (k *keeper) renew(ctx context.Context) error {
	k.mu.Lock()
	snap := make(map[leaseKey]*hold, len(k.holds))
	var plans, accounts []int64
	for key, h := range k.holds {
		snap[key] = h
		if key.kind == planLease {
			plans = append(plans, key.id)
		} else {
			accounts = append(accounts, key.id)
		}
	}
	k.mu.Unlock()
	if len(snap) == 0 {
		return nil
	}
	start := time.Now()
	keptPlans, keptAccounts, err := k.e.db.RenewLeases(ctx, k.ttl, plans, accounts)
	if err != nil {
		return err
	}
	kept := map[leaseKey]bool{}
	for _, id := range keptPlans {
		kept[leaseKey{planLease, id}] = true
	}
	for _, id := range keptAccounts {
		kept[leaseKey{accountLease, id}] = true
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for key, h := range snap {
		h.renewed(start.Add(k.ttl), kept[key])
		if !kept[key] && k.holds[key] == h { // not released meanwhile: really lost
			k.e.log.Warn("lease lost", "plan", key.kind == planLease, "id", key.id)
		}
	}
	return nil
}
