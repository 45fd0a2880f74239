package main

import (
	"context"
	"encoding/base64"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/app"
	"github.com/svahub/svahub/internal/config"
	"github.com/svahub/svahub/internal/secret"
	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/store/storetest"
)

// TestRotateSecretKeyUpdatesKeyFile rotates a SQLite database whose key
// lives in svahub.key (as a first `go run ./cmd/svahub` makes it) and
// restarts without SVAHUB_SECRET_KEY: the key file must hold the new key,
// so the process is ready and opens its secrets.
func TestRotateSecretKeyUpdatesKeyFile(t *testing.T) {
	path := statusEnv(t)
	keyFile := filepath.Join(filepath.Dir(path), config.KeyFileName)
	oldKey := base64.StdEncoding.EncodeToString(testKey)
	require.NoError(t, os.WriteFile(keyFile, []byte(oldKey+"\n"), 0o600))
	_, err := runCmd(t, "migrate")
	require.NoError(t, err)
	good, _ := seed(t, path)

	newKey, err := secret.GenerateKey()
	require.NoError(t, err)
	t.Setenv("SVAHUB_SECRET_KEY", newKey)
	t.Setenv("SVAHUB_SECRET_KEY_PREVIOUS", oldKey)
	out, err := runCmd(t, "rotate-secret-key")
	require.NoError(t, err)
	require.Contains(t, out, "re-sealed")
	require.Contains(t, out, keyFile)
	b, err := os.ReadFile(keyFile)
	require.NoError(t, err)
	require.Equal(t, newKey, strings.TrimSpace(string(b)), "the key file holds the new key")
	info, err := os.Stat(keyFile)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	// Restart as the operator would: no key in the environment.
	t.Setenv("SVAHUB_SECRET_KEY", "")
	t.Setenv("SVAHUB_SECRET_KEY_PREVIOUS", "")
	cfg, err := config.Load()
	require.NoError(t, err)
	ctx := context.Background()
	db, err := openStore(ctx, cfg, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, app.Readiness(db)(ctx))
	creds, err := db.Credentials(ctx, good)
	require.NoError(t, err)
	require.NotEmpty(t, creds.Params["client_secret"])
}

// TestReadinessFailsOnUnknownSealKey opens a database whose secrets were
// sealed with another key: the process must not report ready (it would
// answer 500 on every call that needs a secret).
func TestReadinessFailsOnUnknownSealKey(t *testing.T) {
	path := statusEnv(t)
	_, err := runCmd(t, "migrate")
	require.NoError(t, err)
	seed(t, path)
	other, err := secret.GenerateKey()
	require.NoError(t, err)
	key, err := secret.ParseKey(other)
	require.NoError(t, err)
	box, err := secret.NewBox(key)
	require.NoError(t, err)
	ctx := context.Background()
	db, err := store.Open(ctx, store.DialectSQLite, path, store.Options{Sealer: box, Adapters: storetest.Adapters(), Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer db.Close()
	err = app.Readiness(db)(ctx)
	require.Error(t, err, "ready although the secrets cannot be opened")
	require.Contains(t, err.Error(), "chave")

	// With the right key among the previous ones, it is ready again.
	box, err = secret.NewBox(key, testKey)
	require.NoError(t, err)
	db2, err := store.Open(ctx, store.DialectSQLite, path, store.Options{Sealer: box, Adapters: storetest.Adapters(), Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer db2.Close()
	require.NoError(t, app.Readiness(db2)(ctx))
}
