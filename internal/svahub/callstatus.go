package svahub

import (
	"context"
	"sync"
)

// CallStatus is where an adapter records the HTTP status of a platform's
// answer, for the transmission that logs the call (201 for a created
// user, 204 for a cancelled plan, …). Adapters call NoteCallStatus; the
// platform manager reads it with Status.
type CallStatus struct {
	mu     sync.Mutex
	status int
}

type callStatusKey struct{}

// WithCallStatus returns ctx carrying a fresh CallStatus.
func WithCallStatus(ctx context.Context) (context.Context, *CallStatus) {
	cs := &CallStatus{}
	return context.WithValue(ctx, callStatusKey{}, cs), cs
}

// NoteCallStatus records status on ctx's CallStatus, if any. The first
// answer of a call is kept: it is the platform's answer to the operation
// itself (a lookup that follows, such as adopting a user after a 409, does
// not replace it).
func NoteCallStatus(ctx context.Context, status int) {
	cs, _ := ctx.Value(callStatusKey{}).(*CallStatus)
	if cs == nil || status == 0 {
		return
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.status == 0 {
		cs.status = status
	}
}

// Status returns the recorded status, or fallback when none was recorded.
func (cs *CallStatus) Status(fallback int) int {
	if cs == nil {
		return fallback
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.status == 0 {
		return fallback
	}
	return cs.status
}
