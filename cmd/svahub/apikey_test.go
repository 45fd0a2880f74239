package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/app"
	"github.com/svahub/svahub/internal/secret"
	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/store/storetest"
)

// TestAPIKeyCommands creates, lists and revokes keys with the CLI and checks
// through the HTTP API of a process started afterwards that a revoked key
// is refused and the others still work.
func TestAPIKeyCommands(t *testing.T) {
	path := statusEnv(t)
	hubsoft, err := runCmd(t, "apikey", "create", "--nome", "hubsoft", "--escopo", "escrita")
	require.NoError(t, err)
	hubsoft = strings.TrimSpace(hubsoft)
	reader, err := runCmd(t, "apikey", "create", "--nome", "painel", "--escopo", "leitura")
	require.NoError(t, err)
	reader = strings.TrimSpace(reader)

	out, err := runCmd(t, "apikey", "list")
	require.NoError(t, err)
	require.Regexp(t, `(?m)^ID\s+NOME\s+ESCOPO\s+PREFIXO\s+CRIADA\s+REVOGADA$`, out)
	require.Regexp(t, `(?m)^1\s+hubsoft\s+escrita\s+`+regexp.QuoteMeta(hubsoft[:10])+`…\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+-$`, out)
	require.Regexp(t, `(?m)^2\s+painel\s+leitura\s+`+regexp.QuoteMeta(reader[:10])+`…\s+.*-$`, out)
	require.NotContains(t, out, hubsoft)
	require.NotContains(t, out, reader)

	out, err = runCmd(t, "apikey", "revoke", "--id", "1")
	require.NoError(t, err)
	require.Contains(t, out, "API key 1 revoked")
	out, err = runCmd(t, "apikey", "list")
	require.NoError(t, err)
	require.Regexp(t, `(?m)^1\s+hubsoft\s+escrita\s+\S+\s+\S+ \S+\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`, out)

	// Refusals.
	_, err = runCmd(t, "apikey", "revoke", "--id", "1")
	require.ErrorContains(t, err, "no live API key with id 1")
	_, err = runCmd(t, "apikey", "revoke")
	require.ErrorContains(t, err, "--id")
	_, err = runCmd(t, "apikey", "create")
	require.EqualError(t, err, "--nome: give a name of 1 to 100 characters")
	_, err = runCmd(t, "apikey", "create", "--nome", "x", "--escopo", "tudo")
	require.EqualError(t, err, "--escopo: use leitura or escrita")
	_, err = runCmd(t, "apikey", "delete", "--id", "2")
	require.ErrorContains(t, err, "svahub apikey revoke --id ID")
	_, err = runCmd(t, "apikey", "list", "extra")
	require.ErrorContains(t, err, "unexpected argument")

	// A process started now refuses the revoked key and accepts the others.
	ctx := context.Background()
	box, err := secret.NewBox(testKey)
	require.NoError(t, err)
	db, err := store.Open(ctx, store.DialectSQLite, path, store.Options{Sealer: box, Adapters: storetest.Adapters(), Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer db.Close()
	a, err := app.New(ctx, db, app.Options{Logger: slog.New(slog.DiscardHandler), PlatformTimeout: time.Second})
	require.NoError(t, err)
	srv := httptest.NewServer(a.API)
	defer srv.Close()
	for key, want := range map[string]int{hubsoft: 401, reader: 200} {
		req, err := http.NewRequest("GET", srv.URL+"/api/v1/integracoes", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := srv.Client().Do(req)
		require.NoError(t, err)
		require.NoError(t, res.Body.Close())
		require.Equal(t, want, res.StatusCode, "key %s…", key[:10])
	}
}

// TestAPIKeyCreateDefaultsToLeitura: without --escopo the CLI creates a
// read-only key (API.md, Additions: least privilege by default).
func TestAPIKeyCreateDefaultsToLeitura(t *testing.T) {
	statusEnv(t)
	key, err := runCmd(t, "apikey", "create", "--nome", "painel")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(strings.TrimSpace(key), "svh_"))
	out, err := runCmd(t, "apikey", "list")
	require.NoError(t, err)
	require.Regexp(t, `(?m)^1\s+painel\s+leitura\s+`, out)
}
