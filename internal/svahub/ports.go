package svahub

// Sealer encrypts secrets at rest (client secrets, access tokens, service
// passwords). Implemented by internal/secret.
type Sealer interface {
	// Seal encrypts plaintext; the empty string seals to the empty string.
	Seal(plaintext string) (string, error)
	// Open decrypts what Seal produced.
	Open(sealed string) (string, error)
}
