package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/app"
	"github.com/svahub/svahub/internal/provision"
	"github.com/svahub/svahub/internal/secret"
	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/internal/svahub"
	"github.com/svahub/svahub/pkg/qualifica/qualificasim"
)

// formerCustomer is the personal data of customer 1001 in seedFormer.
var formerCustomer = []string{"Heloísa Esquecida Prado", "39053344705", "heloisa.esquecida@example.net", "+55 51 98888-7777",
	"heloisa.login", "Senha-Da-Heloisa"}

// seedFormer fills the database through the API with the workers running
// on the simulator: customer 1001 had a package and cancelled it (its
// platform plan is cancelled), customer 1002 is still active.
func seedFormer(t *testing.T, path string) {
	t.Helper()
	ctx := context.Background()
	box, err := secret.NewBox(testKey)
	require.NoError(t, err)
	db, err := store.Open(ctx, store.DialectSQLite, path, store.Options{Sealer: box, Adapters: storetest.Adapters(), Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, db.Migrate(ctx))
	sim := qualificasim.NewServer(t, qualificasim.Options{})
	a, err := app.New(ctx, db, app.Options{Logger: slog.New(slog.DiscardHandler), QualificaURL: sim.URL(), PlatformTimeout: 2 * time.Second,
		PlatformRateLimit: 1000, Workers: true, Provision: provision.Options{FetchPollInterval: 20 * time.Millisecond}})
	require.NoError(t, err)
	require.NoError(t, a.Start(ctx))
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		require.NoError(t, a.Stop(sctx))
	}()
	_, key, err := db.CreateAPIKey(ctx, "hubsoft", svahub.ScopeWrite)
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
	integ := id(do("POST", "/api/v1/integracoes", map[string]any{"descricao": "Qualifica", "plataforma": "qualifica",
		"parametros": map[string]any{"client_id": qualificasim.DefaultClientID, "client_secret": qualificasim.DefaultClientSecret}}), "id_integracao")
	prod := id(do("POST", fmt.Sprintf("/api/v1/integracoes/%d/produtos", integ), map[string]any{"descricao": "Pro", "codigo": "pro"}), "id_produto")
	pkg := id(do("POST", "/api/v1/pacotes", map[string]any{"descricao": "Pacote", "valor": "29.90", "id_integracao": integ, "produtos": []int64{prod}}), "id_pacote")
	f := formerCustomer
	for _, c := range []struct {
		svc, customer                 int64
		name, cpf, email, tel, lg, pw string
	}{
		{9001, 1001, f[0], "390.533.447-05", f[2], f[3], f[4], f[5]},
		{9002, 1002, "Otávio Ainda Cliente", "529.982.247-25", "otavio@example.com", "11999990000", "otavio.login", "senha-do-otavio"},
	} {
		do("PUT", fmt.Sprintf("/api/v1/servicos/%d", c.svc), map[string]any{"login": c.lg, "senha": c.pw, "status_prefixo": "servico_habilitado",
			"cliente": map[string]any{"id_cliente": c.customer, "nome_razaosocial": c.name, "cpf_cnpj": c.cpf, "email_principal": c.email, "telefone_primario": c.tel}})
		do("POST", fmt.Sprintf("/api/v1/servicos/%d/pacotes", c.svc), map[string]any{"id_pacote": pkg})
	}
	waitSim := func(user, status string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for u, ok := sim.UserByUsername(user); !ok || len(u.Plans) != 1 || u.Plans[0].Status != status; u, ok = sim.UserByUsername(user) {
			require.True(t, time.Now().Before(deadline), "%s not %s on the platform", user, status)
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitSim("heloisa.login", "ativo")
	waitSim("otavio.login", "ativo")
	do("PUT", "/api/v1/servicos/9001/status", map[string]any{"status_prefixo": "cancelado"})
	waitSim("heloisa.login", "cancelado")
	waitSettled(t, db)
}

// waitSettled waits until no platform work is pending or queued.
func waitSettled(t *testing.T, db *store.DB) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var n int64
		require.NoError(t, db.Gorm().Raw(`SELECT (SELECT count(*) FROM platform_plans WHERE version <> applied_version) +
			(SELECT count(*) FROM river_job WHERE kind = 'converge_plan' AND state NOT IN ('completed', 'cancelled', 'discarded'))`).Scan(&n).Error)
		if n == 0 {
			return
		}
		require.True(t, time.Now().Before(deadline), "platform work still pending")
		time.Sleep(20 * time.Millisecond)
	}
}

// fileHas reports which of values the SQLite database file or its WAL
// contain (after the command, which checkpoints).
func fileHas(t *testing.T, path string, values []string) []string {
	t.Helper()
	var found []string
	for _, f := range []string{path, path + "-wal"} {
		raw, err := os.ReadFile(f)
		if os.IsNotExist(err) {
			continue
		}
		require.NoError(t, err)
		for _, v := range values {
			if bytes.Contains(raw, []byte(v)) {
				found = append(found, v+" in "+f)
			}
		}
	}
	return found
}

// TestAnonimizarCommand erases a former customer from the command line:
// nothing of theirs is left in the database file, the other customer's
// data is, a repeat says it was done already, and live customers, unknown
// ones and bad flags are refused.
func TestAnonimizarCommand(t *testing.T) {
	path := statusEnv(t)
	seedFormer(t, path)
	require.NotEmpty(t, fileHas(t, path, formerCustomer[:5]), "the data is in the file before")

	_, err := runCmd(t, "anonimizar")
	require.ErrorContains(t, err, "--cliente")
	_, err = runCmd(t, "anonimizar", "--cliente", "1001", "extra")
	require.ErrorContains(t, err, "unexpected argument")
	_, err = runCmd(t, "anonimizar", "--cliente", "424242")
	require.EqualError(t, err, "customer 424242 has no services in svahub")
	_, err = runCmd(t, "anonimizar", "--cliente", "1002")
	require.ErrorContains(t, err, "customer 1002 cannot be erased yet; what blocks it")
	require.ErrorContains(t, err, "servicos/9002/status_prefixo")

	out, err := runCmd(t, "anonimizar", "--cliente", "1001")
	require.NoError(t, err)
	require.Contains(t, out, "Customer 1001: personal data erased")
	require.Contains(t, out, "services: 9001")
	require.Regexp(t, `qualifica \(integration 1\): u_\d+`, out)
	require.Contains(t, out, "svahub does not delete platform users")
	require.Empty(t, fileHas(t, path, formerCustomer), "personal data left in the database file")
	require.Len(t, fileHas(t, path, []string{"Otávio Ainda Cliente", "otavio@example.com"}), 2, "the other customer's data stays")

	out, err = runCmd(t, "anonimizar", "--cliente", "1001", "--json")
	require.NoError(t, err)
	var rec svahub.Erasure
	require.NoError(t, json.Unmarshal([]byte(out), &rec), out)
	require.True(t, rec.AlreadyErased)
	require.Equal(t, svahub.ErasureByCLI, rec.Origin)
	require.Nil(t, rec.APIKeyID)
	require.Equal(t, []int64{9001}, rec.Services)
	require.Len(t, rec.PlatformUsers, 1)
	out, err = runCmd(t, "anonimizar", "--cliente", "1001")
	require.NoError(t, err)
	require.Contains(t, out, "already erased")
}
