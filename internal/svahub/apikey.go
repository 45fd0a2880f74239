package svahub

import (
	"context"
	"time"
)

// APIKeyScope is what an API key may do.
type APIKeyScope string

// API key scopes: leitura keys may only read (GET).
const (
	ScopeRead  APIKeyScope = "leitura"
	ScopeWrite APIKeyScope = "escrita"
)

// Valid reports whether s is a known scope.
func (s APIKeyScope) Valid() bool { return s == ScopeRead || s == ScopeWrite }

// APIKey is a stored API key. Only a hash of the secret is stored.
type APIKey struct {
	ID        int64
	Name      string
	Scope     APIKeyScope
	Prefix    string
	CreatedAt time.Time
	RevokedAt *time.Time
}

// APIKeyService creates and checks API keys.
type APIKeyService interface {
	// CreateAPIKey creates a key and returns it with its plaintext, shown once.
	CreateAPIKey(ctx context.Context, name string, scope APIKeyScope) (*APIKey, string, error)
	// AuthenticateAPIKey returns the live key matching plaintext, or EUNAUTHORIZED.
	AuthenticateAPIKey(ctx context.Context, plaintext string) (*APIKey, error)
	// RevokeAPIKey revokes a key by id.
	RevokeAPIKey(ctx context.Context, id int64) error
	// CountAPIKeys counts keys that are not revoked.
	CountAPIKeys(ctx context.Context) (int64, error)
}
