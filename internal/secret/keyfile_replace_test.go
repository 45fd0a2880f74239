package secret

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReplaceKeyFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "svahub.key")
	old, _, err := LoadOrCreateKeyFile(path)
	require.NoError(t, err)
	next, err := GenerateKey()
	require.NoError(t, err)
	require.NotEqual(t, old, next)
	require.NoError(t, ReplaceKeyFile(path, next))
	got, created, err := LoadOrCreateKeyFile(path)
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, next, got)
	info, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file left behind")

	require.ErrorIs(t, ReplaceKeyFile(path, "not a key"), ErrInvalidKey)
	got, _, err = LoadOrCreateKeyFile(path)
	require.NoError(t, err)
	require.Equal(t, next, got, "a bad key never replaces the file")
}
