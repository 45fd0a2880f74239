package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// walkthroughBlocks returns the fenced sh blocks of the README section
// "A walk-through with curl", in order.
func walkthroughBlocks(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(b), "\n## A walk-through with curl\n")
	require.True(t, ok, "README.md has no section \"A walk-through with curl\"")
	section, _, _ = strings.Cut(section, "\n## ")
	var blocks []string
	for {
		_, rest, ok := strings.Cut(section, "\n```sh\n")
		if !ok {
			break
		}
		block, after, ok := strings.Cut(rest, "\n```\n")
		require.True(t, ok, "unterminated sh block in the walk-through")
		blocks, section = append(blocks, block), after
	}
	return blocks
}

// TestReadmeWalkthrough runs the README's curl walk-through as written, with
// bash and curl, against the real svahub binary (a fresh SQLite database in
// a temporary directory, as `go run ./cmd/svahub` makes it) and the real
// qualifica-sim command, and checks what the README says happens: every
// call succeeds, the token is valid, the product is verified, the combo's
// package is attached from the plan at 0.00, the worker creates the
// Qualifica user and activates the plan, the second package is attached
// avulso, the debt run suspends both plans on the platform, enabling the
// service again reactivates them, and the billing feed holds the avulso
// package only.
//
// Only three strings are replaced, because the ports must be free ones:
// the "KEY=svh_..." line gets the key the server printed,
// http://localhost:8080 the server's address and http://127.0.0.1:9090 the
// simulator's. The blocks run in order in one bash process (-e), as a
// reader pasting them into one terminal would.
func TestReadmeWalkthrough(t *testing.T) {
	for _, tool := range []string{"bash", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("SKIP: the README walk-through needs %s, which is not installed", tool)
		}
	}
	svahubBin, simBin := binaries(t)
	dir := t.TempDir()
	simAddr, addr := freeAddr(t), freeAddr(t)

	// The first block starts svahub: its environment assignments are the
	// server's (the simulator's address must be allowed), the command is
	// the built binary instead of go run.
	blocks := walkthroughBlocks(t)
	require.GreaterOrEqual(t, len(blocks), 4, "walk-through blocks")
	startCmd := strings.Fields(strings.TrimSpace(blocks[0]))
	require.Equal(t, []string{"go", "run", "./cmd/svahub"}, startCmd[len(startCmd)-3:], "the first block starts svahub")
	env := []string{"SVAHUB_ADDR=" + addr, "SVAHUB_LOG_LEVEL=warn"}
	for _, kv := range startCmd[:len(startCmd)-3] {
		require.Contains(t, kv, "=", "the start block sets only variables before go run")
		env = append(env, strings.ReplaceAll(kv, "http://127.0.0.1:9090", "http://"+simAddr))
	}
	blocks = blocks[1:]

	startProc(t, dir, cleanEnv(), simBin, "-addr", simAddr)
	srv := startProc(t, dir, cleanEnv(env...), svahubBin)
	key := waitKey(t, srv)
	waitHTTP(t, "http://"+addr+"/readyz", http.StatusOK)
	waitTCP(t, simAddr)

	require.Contains(t, blocks[0], "KEY=svh_...\n")
	var script strings.Builder
	for i, b := range blocks {
		b = strings.Replace(b, "KEY=svh_...\n", "KEY="+key+"\n", 1)
		b = strings.ReplaceAll(b, "http://localhost:8080", "http://"+addr)
		b = strings.ReplaceAll(b, "http://127.0.0.1:9090", "http://"+simAddr)
		script.WriteString(b)
		script.WriteString("\necho\necho '=== end of block " + string(rune('1'+i)) + "'\n")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-e", "-c", script.String())
	cmd.Dir, cmd.Env = dir, cleanEnv()
	start := time.Now()
	outb, err := cmd.CombinedOutput()
	out := string(outb)
	t.Logf("walk-through ran in %s", time.Since(start).Round(time.Millisecond))
	require.NoError(t, err, "walk-through output:\n%s", out)
	require.NotContains(t, out, "urn:svahub:problema", "a call answered an error:\n%s", out)

	// Block 1: the catalogue.
	require.Contains(t, out, `"id_integracao":1,`)
	require.Contains(t, out, `"client_secret_definido":true`)
	require.Contains(t, out, `"token":{"status":"valido"`)
	require.Contains(t, out, `"id_produto":1,`)
	require.Contains(t, out, `"verificado":true`)
	require.Contains(t, out, `"id_pacote":1,`)
	require.Contains(t, out, `"id_servico":500,`)

	// The final state, read through the API.
	get := func(path string, v any) {
		req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/api/v1"+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
		require.NoError(t, json.NewDecoder(resp.Body).Decode(v))
	}
	var svc struct {
		Pacotes []struct {
			IDPacote int64  `json:"id_pacote"`
			Origem   string `json:"origem"`
			Valor    string `json:"valor"`
			Status   string `json:"status"`
			Acessos  []struct {
				Usuario    string `json:"usuario_plataforma"`
				Desejado   string `json:"estado_desejado"`
				Plataforma string `json:"estado_plataforma"`
			} `json:"acessos"`
		} `json:"pacotes"`
	}
	get("/servicos/9001", &svc)
	require.Len(t, svc.Pacotes, 2, "the combo's package and the avulso one")
	origins := map[string]int64{}
	for _, p := range svc.Pacotes {
		origins[p.Origem] = p.IDPacote
		require.Len(t, p.Acessos, 1)
		a := p.Acessos[0]
		require.Equal(t, "maria.silva", a.Usuario)
		require.Equal(t, "ativo", a.Desejado, "enabled again after the debt run")
		require.Equal(t, "ativo", a.Plataforma)
		if p.Origem == "plano" {
			require.Equal(t, "0.00", p.Valor, "a combo's package costs nothing on its own")
		}
	}
	require.Equal(t, map[string]int64{"plano": 1, "avulso": 2}, origins)

	var tx struct {
		Itens []struct {
			Operacao  string `json:"operacao"`
			Resultado string `json:"resultado"`
		} `json:"itens"`
	}
	get("/transmissoes?id_integracao=1&itens_por_pagina=100", &tx)
	ops := map[string]int{}
	for _, x := range tx.Itens {
		require.Equal(t, "sucesso", x.Resultado, x.Operacao)
		ops[x.Operacao]++
	}
	require.Equal(t, 1, ops["criar_usuario"], "one Qualifica user, created once: %v", ops)
	require.Equal(t, 2, ops["ativar_plano"], "%v", ops)
	require.Equal(t, 2, ops["suspender"], "%v", ops)
	require.Equal(t, 2, ops["reativar"], "%v", ops)

	var bill struct {
		Itens []struct {
			IDPacote int64  `json:"id_pacote"`
			Valor    string `json:"valor"`
		} `json:"itens"`
	}
	get("/cobrancas?competencia="+time.Now().In(mustLoc(t)).Format("2006-01"), &bill)
	require.Len(t, bill.Itens, 1, "only the avulso package is billed: %+v", bill.Itens)
	require.Equal(t, int64(2), bill.Itens[0].IDPacote)
}

func mustLoc(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("America/Sao_Paulo")
	require.NoError(t, err)
	return loc
}
