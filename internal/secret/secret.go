// Package secret seals secrets at rest (integration client secrets, platform
// access tokens) with AES-256-GCM, and supports key rotation.
//
// A sealed value is a printable string:
//
//	v1:<keyid>:<base64(nonce|ciphertext)>
//
// where keyid is the first 8 hex characters of sha256(key). The "v1:<keyid>"
// prefix is bound to the ciphertext as additional authenticated data, so any
// change to the prefix, the nonce or the ciphertext makes Open fail.
//
// The empty string is never encrypted: sealing "" yields "" and opening ""
// yields "", so "no secret stored" stays distinguishable in the database.
//
// Nothing in this package ever puts key material or plaintext in an error.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length in bytes of an AES-256 key.
const KeySize = 32

// version is the format tag written in front of every sealed value.
const version = "v1"

// Errors returned by ParseKey, NewBox and Open. They carry no key material and
// no plaintext, so they are safe to log; test for them with errors.Is.
var (
	// ErrInvalidKey reports a key that is not base64 of exactly KeySize bytes.
	ErrInvalidKey = errors.New("secret: invalid key")
	// ErrMalformed reports a sealed value that is not in the v1:<keyid>:<data> format.
	ErrMalformed = errors.New("secret: malformed sealed value")
	// ErrUnknownKey reports a sealed value whose key id matches neither the
	// current key nor any previous key given to NewBox.
	ErrUnknownKey = errors.New("secret: sealed with an unknown key")
	// ErrDecrypt reports a sealed value that failed authentication: it was
	// tampered with, truncated, or sealed by another key with the same id.
	ErrDecrypt = errors.New("secret: message authentication failed")
)

// Box seals and opens secrets. It seals with its current key and opens values
// sealed with the current key or any previous key. A Box is safe for
// concurrent use.
type Box struct {
	currentID string
	current   cipher.AEAD
	// byID holds every usable key (current first) by key id. A slice guards
	// against the (astronomically unlikely) collision of two 32-bit ids.
	byID map[string][]cipher.AEAD
}

// ParseKey decodes a base64 key (standard encoding; raw standard, URL and raw
// URL encodings are accepted too) and checks that it is exactly KeySize bytes.
// Surrounding white space is ignored. Errors wrap ErrInvalidKey and never
// contain the key.
func ParseKey(b64 string) ([]byte, error) {
	s := strings.TrimSpace(b64)
	if s == "" {
		return nil, fmt.Errorf("%w: empty", ErrInvalidKey)
	}
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	} {
		key, err := enc.DecodeString(s)
		if err != nil {
			continue
		}
		if len(key) != KeySize {
			return nil, fmt.Errorf("%w: must decode to %d bytes, got %d", ErrInvalidKey, KeySize, len(key))
		}
		return key, nil
	}
	return nil, fmt.Errorf("%w: not valid base64", ErrInvalidKey)
}

// KeyID returns the id a key is known by in sealed values: the first 8 hex
// characters of sha256(key). It reveals nothing usable about the key.
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:4])
}

// NewBox returns a Box that seals with key and opens values sealed with key or
// with any of the previous keys (key rotation). Every key must be KeySize
// bytes. A previous key equal to the current one is ignored.
func NewBox(key []byte, previous ...[]byte) (*Box, error) {
	current, err := newAEAD(key)
	if err != nil {
		return nil, fmt.Errorf("current key: %w", err)
	}
	b := &Box{
		currentID: KeyID(key),
		current:   current,
		byID:      map[string][]cipher.AEAD{},
	}
	b.byID[b.currentID] = []cipher.AEAD{current}
	seen := map[[sha256.Size]byte]bool{sha256.Sum256(key): true}
	for i, p := range previous {
		aead, err := newAEAD(p)
		if err != nil {
			return nil, fmt.Errorf("previous key %d: %w", i+1, err)
		}
		sum := sha256.Sum256(p)
		if seen[sum] {
			continue
		}
		seen[sum] = true
		id := KeyID(p)
		b.byID[id] = append(b.byID[id], aead)
	}
	return b, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("%w: must be %d bytes, got %d", ErrInvalidKey, KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	return cipher.NewGCM(block)
}

// KeyID returns the id of the Box's current key, as written in sealed values.
func (b *Box) KeyID() string { return b.currentID }

// Seal encrypts plaintext with the current key under a fresh random nonce and
// returns "v1:<keyid>:<base64(nonce|ciphertext)>". The empty string seals to
// the empty string (nothing is stored).
func (b *Box) Seal(plaintext string) (string, error) {
	if plaintext == "" {
		return "", nil
	}
	header := version + ":" + b.currentID
	nonce := make([]byte, b.current.NonceSize(), b.current.NonceSize()+len(plaintext)+b.current.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("secret: reading random nonce: %w", err)
	}
	out := b.current.Seal(nonce, nonce, []byte(plaintext), []byte(header))
	return header + ":" + base64.StdEncoding.EncodeToString(out), nil
}

// Open decrypts a value produced by Seal with the current key or any previous
// key, chosen by the key id in the value. The empty string opens to the empty
// string. Errors wrap ErrMalformed, ErrUnknownKey or ErrDecrypt.
func (b *Box) Open(sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	id, data, err := split(sealed)
	if err != nil {
		return "", err
	}
	aeads, ok := b.byID[id]
	if !ok {
		return "", fmt.Errorf("%w (key id %s)", ErrUnknownKey, id)
	}
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return "", fmt.Errorf("%w: payload is not valid base64", ErrMalformed)
	}
	header := []byte(version + ":" + id)
	for _, aead := range aeads {
		if len(raw) < aead.NonceSize()+aead.Overhead() {
			return "", fmt.Errorf("%w: payload too short", ErrMalformed)
		}
		nonce, ct := raw[:aead.NonceSize()], raw[aead.NonceSize():]
		if pt, err := aead.Open(nil, nonce, ct, header); err == nil {
			return string(pt), nil
		}
	}
	return "", ErrDecrypt
}

// NeedsRotation reports whether a stored value should be re-sealed: it is true
// for any non-empty value that was not sealed in the current format with the
// current key (sealed with a previous key, or malformed, so that a rotation
// pass surfaces it through Open's error). The empty string never needs it.
func (b *Box) NeedsRotation(sealed string) bool {
	if sealed == "" {
		return false
	}
	id, _, err := split(sealed)
	return err != nil || id != b.currentID
}

// split parses "v1:<keyid>:<data>" into key id and data.
func split(sealed string) (id, data string, err error) {
	v, rest, ok := strings.Cut(sealed, ":")
	if !ok {
		return "", "", ErrMalformed
	}
	if v != version {
		return "", "", fmt.Errorf("%w: unsupported version", ErrMalformed)
	}
	id, data, ok = strings.Cut(rest, ":")
	if !ok || len(id) != 8 || data == "" {
		return "", "", ErrMalformed
	}
	if _, err := hex.DecodeString(id); err != nil {
		return "", "", fmt.Errorf("%w: bad key id", ErrMalformed)
	}
	return id, data, nil
}

// GenerateKey returns a new random key as standard base64 of KeySize bytes,
// the format ParseKey and SVAHUB_SECRET_KEY expect.
func GenerateKey() (string, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("secret: reading random key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(key), nil
}

// KeyIDs returns the ids of every key the Box can open with, the current
// one first.
func (b *Box) KeyIDs() []string {
	ids := []string{b.currentID}
	for id := range b.byID {
		if id != b.currentID {
			ids = append(ids, id)
		}
	}
	return ids
}
