package secret_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/secret"
)

func newKey(t *testing.T) []byte {
	t.Helper()
	b64, err := secret.GenerateKey()
	require.NoError(t, err)
	key, err := secret.ParseKey(b64)
	require.NoError(t, err)
	return key
}

func newBox(t *testing.T, key []byte, previous ...[]byte) *secret.Box {
	t.Helper()
	box, err := secret.NewBox(key, previous...)
	require.NoError(t, err)
	return box
}

func TestSealOpenRoundTrip(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	box := newBox(t, key)

	for _, pt := range []string{"s3cr3t", "ç ã é — 🔑", strings.Repeat("x", 10_000), "\x00\xff"} {
		sealed, err := box.Seal(pt)
		require.NoError(t, err)
		require.NotContains(t, sealed, pt)

		parts := strings.SplitN(sealed, ":", 3)
		require.Len(t, parts, 3)
		require.Equal(t, "v1", parts[0])
		sum := sha256.Sum256(key)
		require.Equal(t, hex.EncodeToString(sum[:])[:8], parts[1])
		require.Equal(t, parts[1], box.KeyID())
		_, err = base64.StdEncoding.DecodeString(parts[2])
		require.NoError(t, err)

		got, err := box.Open(sealed)
		require.NoError(t, err)
		require.Equal(t, pt, got)
	}
}

func TestSealUsesFreshNonce(t *testing.T) {
	t.Parallel()
	box := newBox(t, newKey(t))
	a, err := box.Seal("same")
	require.NoError(t, err)
	b, err := box.Seal("same")
	require.NoError(t, err)
	require.NotEqual(t, a, b)
}

func TestEmptyString(t *testing.T) {
	t.Parallel()
	box := newBox(t, newKey(t))
	sealed, err := box.Seal("")
	require.NoError(t, err)
	require.Empty(t, sealed)
	opened, err := box.Open("")
	require.NoError(t, err)
	require.Empty(t, opened)
	require.False(t, box.NeedsRotation(""))
}

func TestTamperDetection(t *testing.T) {
	t.Parallel()
	box := newBox(t, newKey(t))
	sealed, err := box.Seal("client-secret")
	require.NoError(t, err)
	prefix := sealed[:strings.LastIndex(sealed, ":")+1]
	raw, err := base64.StdEncoding.DecodeString(sealed[len(prefix):])
	require.NoError(t, err)

	// Flip one bit in every byte position: nonce, ciphertext and tag.
	for i := range raw {
		mod := append([]byte(nil), raw...)
		mod[i] ^= 0x01
		_, err := box.Open(prefix + base64.StdEncoding.EncodeToString(mod))
		require.ErrorIs(t, err, secret.ErrDecrypt, "byte %d", i)
	}

	// Truncation.
	_, err = box.Open(prefix + base64.StdEncoding.EncodeToString(raw[:len(raw)-1]))
	require.ErrorIs(t, err, secret.ErrDecrypt)
	_, err = box.Open(prefix + base64.StdEncoding.EncodeToString(raw[:5]))
	require.ErrorIs(t, err, secret.ErrMalformed)

	// Malformed envelopes.
	for _, bad := range []string{
		"plaintext",
		"v2:" + box.KeyID() + ":" + sealed[len(prefix):],
		"v1:" + box.KeyID(),
		"v1:" + box.KeyID() + ":",
		"v1:zzzzzzzz:" + sealed[len(prefix):],
		"v1:" + box.KeyID() + ":!!not-base64!!",
	} {
		_, err := box.Open(bad)
		require.ErrorIs(t, err, secret.ErrMalformed, bad)
	}
}

func TestWrongKey(t *testing.T) {
	t.Parallel()
	a := newBox(t, newKey(t))
	b := newBox(t, newKey(t))
	sealed, err := a.Seal("client-secret")
	require.NoError(t, err)

	_, err = b.Open(sealed)
	require.ErrorIs(t, err, secret.ErrUnknownKey)

	// Same key id but different key (forged header): authentication fails.
	forged := "v1:" + b.KeyID() + sealed[strings.LastIndex(sealed, ":"):]
	_, err = b.Open(forged)
	require.ErrorIs(t, err, secret.ErrDecrypt)
}

func TestRotationWithPreviousKeys(t *testing.T) {
	t.Parallel()
	k1, k2, k3 := newKey(t), newKey(t), newKey(t)
	old1 := newBox(t, k1)
	old2 := newBox(t, k2, k1)
	s1, err := old1.Seal("one")
	require.NoError(t, err)
	s2, err := old2.Seal("two")
	require.NoError(t, err)

	cur := newBox(t, k3, k2, k1, k3) // a duplicate of the current key is harmless
	got, err := cur.Open(s1)
	require.NoError(t, err)
	require.Equal(t, "one", got)
	got, err = cur.Open(s2)
	require.NoError(t, err)
	require.Equal(t, "two", got)

	require.True(t, cur.NeedsRotation(s1))
	require.True(t, cur.NeedsRotation(s2))
	resealed, err := cur.Seal(got)
	require.NoError(t, err)
	require.False(t, cur.NeedsRotation(resealed))

	// Previous keys open but never seal.
	require.Equal(t, k3Hex(k3), cur.KeyID())

	// Without the previous key the old value is unreadable.
	_, err = newBox(t, k3).Open(s1)
	require.ErrorIs(t, err, secret.ErrUnknownKey)
}

func k3Hex(k []byte) string {
	sum := sha256.Sum256(k)
	return hex.EncodeToString(sum[:4])
}

func TestNeedsRotation(t *testing.T) {
	t.Parallel()
	k1, k2 := newKey(t), newKey(t)
	old := newBox(t, k1)
	cur := newBox(t, k2, k1)
	sOld, err := old.Seal("x")
	require.NoError(t, err)
	sCur, err := cur.Seal("x")
	require.NoError(t, err)

	require.True(t, cur.NeedsRotation(sOld))
	require.False(t, cur.NeedsRotation(sCur))
	require.False(t, old.NeedsRotation(sOld))
	require.True(t, old.NeedsRotation(sCur))
	require.False(t, cur.NeedsRotation(""))
	require.True(t, cur.NeedsRotation("garbage"))
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	for name, enc := range map[string]*base64.Encoding{
		"std": base64.StdEncoding, "rawstd": base64.RawStdEncoding,
		"url": base64.URLEncoding, "rawurl": base64.RawURLEncoding,
	} {
		got, err := secret.ParseKey("  " + enc.EncodeToString(key) + "\n")
		require.NoError(t, err, name)
		require.Equal(t, key, got, name)
	}

	for name, in := range map[string]string{
		"empty":     "",
		"blank":     "   ",
		"16 bytes":  base64.StdEncoding.EncodeToString(make([]byte, 16)),
		"31 bytes":  base64.StdEncoding.EncodeToString(make([]byte, 31)),
		"33 bytes":  base64.StdEncoding.EncodeToString(make([]byte, 33)),
		"64 bytes":  base64.StdEncoding.EncodeToString(make([]byte, 64)),
		"not b64":   "this is not base64 at all!!!",
		"hex chars": strings.Repeat("zz", 32) + "#",
	} {
		_, err := secret.ParseKey(in)
		require.ErrorIs(t, err, secret.ErrInvalidKey, name)
		if strings.TrimSpace(in) != "" {
			require.NotContains(t, err.Error(), strings.TrimSpace(in), name)
		}
	}
}

func TestNewBoxRejectsBadKeyLengths(t *testing.T) {
	t.Parallel()
	good := newKey(t)
	for _, n := range []int{0, 16, 24, 31, 33} {
		_, err := secret.NewBox(make([]byte, n))
		require.ErrorIs(t, err, secret.ErrInvalidKey, "current %d", n)
		_, err = secret.NewBox(good, make([]byte, n))
		require.ErrorIs(t, err, secret.ErrInvalidKey, "previous %d", n)
	}
}

func TestGenerateKey(t *testing.T) {
	t.Parallel()
	a, err := secret.GenerateKey()
	require.NoError(t, err)
	b, err := secret.GenerateKey()
	require.NoError(t, err)
	require.NotEqual(t, a, b)
	raw, err := base64.StdEncoding.DecodeString(a)
	require.NoError(t, err)
	require.Len(t, raw, secret.KeySize)
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "svahub.key")

	key, created, err := secret.LoadOrCreateKeyFile(path)
	require.NoError(t, err)
	require.True(t, created)
	_, err = secret.ParseKey(key)
	require.NoError(t, err)

	info, err := os.Stat(path)
	require.NoError(t, err)
	if runtime.GOOS != "windows" {
		require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	}
	content, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, key, strings.TrimSpace(string(content)))

	again, created, err := secret.LoadOrCreateKeyFile(path)
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, key, again)
}

func TestLoadOrCreateKeyFileTrimsAndValidates(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()

	want := base64.StdEncoding.EncodeToString(make([]byte, 32))
	good := filepath.Join(dir, "good.key")
	require.NoError(t, os.WriteFile(good, []byte("\n  "+want+"  \r\n"), 0o600))
	key, created, err := secret.LoadOrCreateKeyFile(good)
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, want, key)

	bad := filepath.Join(dir, "bad.key")
	short := base64.StdEncoding.EncodeToString([]byte("too-short-key"))
	require.NoError(t, os.WriteFile(bad, []byte(short), 0o600))
	_, _, err = secret.LoadOrCreateKeyFile(bad)
	require.ErrorIs(t, err, secret.ErrInvalidKey)
	require.ErrorContains(t, err, bad)
	require.NotContains(t, err.Error(), short)

	_, _, err = secret.LoadOrCreateKeyFile(filepath.Join(dir, "missing-dir", "svahub.key"))
	require.Error(t, err)
}

func TestLoadOrCreateKeyFileConcurrent(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "svahub.key")
	const n = 8
	keys := make([]string, n)
	errs := make([]error, n)
	createdCount := 0
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k, created, err := secret.LoadOrCreateKeyFile(path)
			keys[i], errs[i] = k, err
			if created {
				mu.Lock()
				createdCount++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Equal(t, 1, createdCount)
	for i := range n {
		require.NoError(t, errs[i])
		require.Equal(t, keys[0], keys[i])
	}
}

func TestLoadOrCreateKeyFileStaleEmptyFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "svahub.key")
	require.NoError(t, os.WriteFile(path, nil, 0o600))
	_, _, err := secret.LoadOrCreateKeyFile(path)
	require.ErrorIs(t, err, secret.ErrInvalidKey)
	require.ErrorContains(t, err, "empty")
}
