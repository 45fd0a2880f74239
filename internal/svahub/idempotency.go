package svahub

import (
	"context"
	"time"
)

// IdempotencyWindow is how long a POST answer is replayed for its key.
const IdempotencyWindow = 24 * time.Hour

// IdempotencyRunLimit bounds a request that holds an Idempotency-Key
// reservation. It runs to its end even if the client gives up (a
// disconnect does not cancel it), so its answer is kept for the retry.
const IdempotencyRunLimit = 2 * time.Minute

// IdempotencyAbandonAfter is the age after which a reservation still
// without an answer is treated as abandoned (its process died mid-request)
// and the key may be used again. It is longer than IdempotencyRunLimit, so
// a request still running is never taken over.
const IdempotencyAbandonAfter = 5 * time.Minute

// StoredResponse is a POST answer kept for replay under an Idempotency-Key.
type StoredResponse struct {
	Status      int
	ContentType string
	Location    string
	Body        []byte
}

// IdempotencyService remembers POST answers by (API key, Idempotency-Key).
type IdempotencyService interface {
	// BeginIdempotent reserves key for a request whose body hashes to hash.
	// It returns the stored answer to replay when the same request was
	// already answered, EINVALID when the key was used with another request,
	// and ECONFLICT while the first request is still running. A reservation
	// older than IdempotencyAbandonAfter without an answer is abandoned: it
	// is taken over.
	BeginIdempotent(ctx context.Context, apiKeyID int64, key, hash string) (*StoredResponse, error)
	// FinishIdempotent stores the answer of a reserved key.
	FinishIdempotent(ctx context.Context, apiKeyID int64, key string, r StoredResponse) error
	// AbortIdempotent frees a reserved key (the request failed with 5xx,
	// so a retry must run again).
	AbortIdempotent(ctx context.Context, apiKeyID int64, key string) error
}
