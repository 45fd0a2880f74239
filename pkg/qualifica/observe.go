package qualifica

import "context"

// WithResponseHook calls fn with the HTTP status of every answer the
// platform gives (after the request's own context), e.g. to log the real
// status of each call. fn must be quick and safe for concurrent use.
func WithResponseHook(fn func(ctx context.Context, status int)) Option {
	return func(c *Client) { c.onResponse = fn }
}
