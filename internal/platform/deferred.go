package platform

import (
	"context"
	"sync"
	"time"

	"github.com/svahub/svahub/internal/svahub"
)

// Deferred holds the transmissions of the calls made with a context from
// DeferTransmissions instead of recording each at once: a worker records
// them with the plan's completion (one transaction) or, if the plan does
// not complete, itself (Take, then RecordTransmission).
type Deferred struct {
	mu sync.Mutex
	ts []*svahub.Transmission
}

type deferredKey struct{}

// DeferTransmissions returns a context whose calls' transmissions are held
// by the returned Deferred.
func DeferTransmissions(ctx context.Context) (context.Context, *Deferred) {
	d := &Deferred{}
	return context.WithValue(ctx, deferredKey{}, d), d
}

// Take returns the transmissions held so far and forgets them.
func (d *Deferred) Take() []*svahub.Transmission {
	d.mu.Lock()
	defer d.mu.Unlock()
	ts := d.ts
	d.ts = nil
	return ts
}

// hold keeps t if ctx defers transmissions, stamped with now(): the time
// its call ended, kept when it is recorded later.
func hold(ctx context.Context, t *svahub.Transmission, now func() time.Time) bool {
	d, ok := ctx.Value(deferredKey{}).(*Deferred)
	if !ok {
		return false
	}
	t.CreatedAt = now()
	d.mu.Lock()
	d.ts = append(d.ts, t)
	d.mu.Unlock()
	return true
}
