package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/app"
	"github.com/svahub/svahub/internal/secret"
	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/internal/svahub"
	"github.com/svahub/svahub/pkg/qualifica/qualificasim"
)

// testKey seals the test database's secrets.
var testKey = []byte("0123456789abcdef0123456789abcdef")

// statusEnv points SVAHUB_* at a temporary SQLite database and returns its
// path. t.Setenv rules out t.Parallel.
func statusEnv(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "svahub.db")
	t.Setenv("SVAHUB_DATABASE_URL", path)
	t.Setenv("SVAHUB_SECRET_KEY", base64.StdEncoding.EncodeToString(testKey))
	t.Setenv("SVAHUB_SECRET_KEY_PREVIOUS", "")
	t.Setenv("SVAHUB_TIMEZONE", "America/Sao_Paulo")
	t.Setenv("SVAHUB_LOG_LEVEL", "error")
	return path
}

func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut)
	if err != nil {
		t.Logf("stderr: %s", errOut.String())
	}
	return out.String(), err
}

// seed fills the database through the API (no workers, so plan jobs stay
// queued): one integration on the simulator with one active service and
// package, and one whose platform is unreachable.
func seed(t *testing.T, path string) (good, down int64) {
	t.Helper()
	ctx := context.Background()
	box, err := secret.NewBox(testKey)
	require.NoError(t, err)
	db, err := store.Open(ctx, store.DialectSQLite, path, store.Options{Sealer: box, Adapters: storetest.Adapters(), Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer db.Close()
	sim := qualificasim.NewServer(t, qualificasim.Options{})
	a, err := app.New(ctx, db, app.Options{Logger: slog.New(slog.DiscardHandler), QualificaURL: sim.URL(), PlatformTimeout: 2 * time.Second,
		PlatformAllowedHosts: []string{"127.0.0.1"}}) // the closed platform port below
	require.NoError(t, err)
	_, key, err := db.CreateAPIKey(ctx, "tests", svahub.ScopeWrite)
	require.NoError(t, err)
	srv := httptest.NewServer(a.API)
	defer srv.Close()
	do := func(method, target string, body any) map[string]any {
		t.Helper()
		raw, err := json.Marshal(body)
		require.NoError(t, err)
		req, err := http.NewRequest(method, srv.URL+target, bytes.NewReader(raw))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := srv.Client().Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		require.Less(t, res.StatusCode, 300, "%s %s: %s", method, target, b)
		var m map[string]any
		require.NoError(t, json.Unmarshal(b, &m), "%s", b)
		return m
	}
	id := func(m map[string]any, k string) int64 { return int64(m[k].(float64)) }

	good = id(do("POST", "/api/v1/integracoes", map[string]any{"descricao": "Qualifica Sul", "plataforma": "qualifica",
		"parametros": map[string]any{"client_id": qualificasim.DefaultClientID, "client_secret": qualificasim.DefaultClientSecret}}), "id_integracao")
	down = id(do("POST", "/api/v1/integracoes", map[string]any{"descricao": "Qualifica Norte", "plataforma": "qualifica",
		"parametros": map[string]any{"client_id": qualificasim.DefaultClientID, "client_secret": qualificasim.DefaultClientSecret, "url_base": closedURL(t)}}), "id_integracao")
	do("POST", "/api/v1/integracoes", map[string]any{"descricao": "Parceiro", "plataforma": "webhook",
		"parametros": map[string]any{"url": closedURL(t)}})
	var prods []int64
	for _, code := range []string{"pro", "premium"} {
		prods = append(prods, id(do("POST", fmt.Sprintf("/api/v1/integracoes/%d/produtos", good), map[string]any{"descricao": code, "codigo": code}), "id_produto"))
	}
	pkg := id(do("POST", "/api/v1/pacotes", map[string]any{"descricao": "Pacote", "valor": "29.90", "id_integracao": good, "produtos": prods}), "id_pacote")
	do("PUT", "/api/v1/servicos/8001", map[string]any{
		"login": "login8001", "senha": "senha8001", "status_prefixo": "servico_habilitado",
		"cliente": map[string]any{"id_cliente": 108001, "codigo_cliente": "C8001", "nome_razaosocial": "Maria da Silva",
			"cpf_cnpj": "529.982.247-25", "email_principal": "cliente8001@example.com", "telefone_primario": "11999990000"},
	})
	do("POST", "/api/v1/servicos/8001/pacotes", map[string]any{"id_pacote": pkg})

	// One plan refused by the platform.
	require.NoError(t, db.Gorm().Exec("UPDATE platform_plans SET last_error = 'recusado' WHERE product_code = 'premium'").Error)
	return good, down
}

// closedURL returns a loopback URL where nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return "http://" + addr
}

func TestStatusCommand(t *testing.T) {
	path := statusEnv(t)

	// No database yet: an error, and nothing is created.
	_, err := runCmd(t, "status")
	require.ErrorContains(t, err, "no database")
	require.NoFileExists(t, path)

	_, err = runCmd(t, "migrate")
	require.NoError(t, err)
	out, err := runCmd(t, "status")
	require.NoError(t, err)
	require.Contains(t, out, "No integrations.")

	good, down := seed(t, path)

	out, err = runCmd(t, "status", "--json")
	require.NoError(t, err)
	var rep statusReport
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	require.Len(t, rep.Integrations, 3)
	require.GreaterOrEqual(t, rep.QueueDepth, int64(2))

	g := rep.Integrations[0]
	require.Equal(t, good, g.ID)
	require.Equal(t, "Qualifica Sul", g.Description)
	require.Equal(t, "qualifica", g.Platform)
	require.True(t, g.Active)
	require.Equal(t, svahub.TokenValid, g.Token.Status)
	require.NotNil(t, g.Token.ExpiresAt)
	require.WithinDuration(t, time.Now().Add(time.Hour), *g.Token.ExpiresAt, 5*time.Minute)
	require.Equal(t, []statusAccessCount{{Desired: "ativo", Platform: "nenhum", Count: 2}}, g.Accesses)
	require.EqualValues(t, 1, g.InError)
	require.Zero(t, g.PlatformErrors)
	require.EqualValues(t, 2, g.QueueDepth, "two plan jobs queued (no workers)")

	d := rep.Integrations[1]
	require.Equal(t, down, d.ID)
	require.Equal(t, svahub.TokenError, d.Token.Status)
	require.Nil(t, d.Token.ExpiresAt)
	require.NotEmpty(t, d.Token.Message)
	require.Empty(t, d.Accesses)
	require.Zero(t, d.InError)
	require.EqualValues(t, 1, d.PlatformErrors, "the failed token call")
	require.Zero(t, d.QueueDepth)
	require.Equal(t, "suportada", d.Reconciliation)
	w := rep.Integrations[2]
	require.Equal(t, "webhook", w.Platform)
	require.Equal(t, "nao_suportada", w.Reconciliation, "a webhook platform cannot be read back")

	// The same, for people.
	out, err = runCmd(t, "status")
	require.NoError(t, err)
	for _, want := range []string{
		fmt.Sprintf("Integration %d: Qualifica Sul", good), "qualifica (active)", "valido, expires ",
		"ativo/nenhum: 2", fmt.Sprintf("Integration %d: Qualifica Norte", down), "erro (",
		"Queue depth (all jobs):", "not supported (the platform cannot be read back)",
	} {
		require.Contains(t, out, want)
	}
	require.Regexp(t, `reconciliation:\s+supported\n`, out)
	require.Regexp(t, `accesses in erro:\s+1\n`, out)
	require.Regexp(t, `platform errors \(24 h\):\s+1\n`, out)
	require.Regexp(t, `queue depth:\s+2\n`, out)
	require.NotContains(t, out, qualificasim.DefaultClientSecret)

	// Flags are checked.
	_, err = runCmd(t, "status", "--bogus")
	require.Error(t, err)
	_, err = runCmd(t, "status", "extra")
	require.ErrorContains(t, err, "unexpected argument")
	out, err = runCmd(t, "status", "--help")
	require.NoError(t, err)
	require.True(t, strings.Contains(out, "svahub status"))
}
