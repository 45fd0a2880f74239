package store

import (
	"sync"
	"time"
)

// ttlCache remembers values for a while: what the hot paths would
// otherwise read from the database on every request or job (verified API
// keys, integration credentials). Writes in this process clear it; other
// processes see a change once the entry expires.
type ttlCache[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]ttlEntry[V]
}

type ttlEntry[V any] struct {
	v       V
	expires time.Time
}

// get returns the value of k if it has not expired at now.
func (c *ttlCache[K, V]) get(k K, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[k]; ok && now.Before(e.expires) {
		return e.v, true
	}
	var zero V
	return zero, false
}

// put stores v under k until expires. The cache is bounded: it starts
// over when it holds 10,000 entries.
func (c *ttlCache[K, V]) put(k K, v V, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= 10_000 {
		c.m = map[K]ttlEntry[V]{}
	}
	c.m[k] = ttlEntry[V]{v: v, expires: expires}
}

// clear forgets everything.
func (c *ttlCache[K, V]) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m = nil
}
