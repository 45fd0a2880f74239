package httpapi_test

// Secrets at rest and in flight: a full scenario through the wired app and
// the simulator, then every text value of every table (listed from the
// database catalogue, so new tables are covered), every log line and every
// HTTP answer of the scenario must be free of the client secrets, the
// service passwords and the platform access tokens — raw or encoded.
//
// The simulator sits behind a tap that records every access token it
// issues, and that behaves like an indiscreet platform: its error messages
// echo the credentials and the request body they were sent (raw, form- and
// JSON-encoded), as real platforms sometimes do.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/pkg/qualifica/qualificasim"
)

// secTap fronts the simulator: it records issued access tokens and makes
// error answers echo what they were sent.
type secTap struct {
	sim http.Handler

	mu     sync.Mutex
	tokens []string

	// refuseSenha, while refusing is set, makes POST /v1/usuarios with
	// that senha fail with 422 echoing the password and the body.
	refuseSenha string
	refusing    atomic.Bool
	refused     atomic.Int32
	// echoed401 counts the token_invalido answers rewritten to quote the token.
	echoed401 atomic.Int32
	// echoBody makes error messages also quote the request body (form- or
	// JSON-encoded), not only the raw values.
	echoBody bool
}

// echo is the request body quoted in an error message, when echoBody.
func (s *secTap) echo(body []byte) string {
	if !s.echoBody {
		return ""
	}
	return "; corpo recebido: " + string(body)
}

// wrap puts the tap in front of sim (withSimTap).
func (s *secTap) wrap(sim http.Handler) http.Handler {
	s.sim = sim
	return s
}

func (s *secTap) Tokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.tokens...)
}

func (s *secTap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if r.Method == http.MethodPost && r.URL.Path == "/v1/usuarios" && s.refusing.Load() {
		var u struct {
			Senha string `json:"senha"`
		}
		if json.Unmarshal(body, &u) == nil && u.Senha == s.refuseSenha {
			s.refused.Add(1)
			secWriteErr(w, http.StatusUnprocessableEntity, "dados_invalidos", "senha "+u.Senha+" recusada"+s.echo(body))
			return
		}
	}
	rec := httptest.NewRecorder()
	s.sim.ServeHTTP(rec, r)
	out := rec.Body.Bytes()
	switch {
	case r.URL.Path == "/oauth/token" && rec.Code == http.StatusOK:
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		if json.Unmarshal(out, &tok) == nil && tok.AccessToken != "" {
			s.mu.Lock()
			s.tokens = append(s.tokens, tok.AccessToken)
			s.mu.Unlock()
		}
	case r.URL.Path == "/oauth/token" && rec.Code == http.StatusUnauthorized:
		_ = r.ParseForm()
		secWriteErr(w, rec.Code, "credenciais_invalidas", "client_secret "+r.PostForm.Get("client_secret")+" inválido"+s.echo(body))
		return
	case rec.Code == http.StatusUnauthorized:
		bearer := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		s.echoed401.Add(1)
		secWriteErr(w, rec.Code, "token_invalido", "token "+bearer+" inválido ou revogado")
		return
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(out)
}

func secWriteErr(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"codigo": code, "mensagem": msg})
}

// secRecorder keeps a copy of every HTTP answer the test client receives.
type secRecorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	seen []string
}

func (s *secRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := s.next.RoundTrip(req)
	if err != nil {
		return res, err
	}
	raw, rerr := io.ReadAll(res.Body)
	_ = res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(raw))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s → %d\n", req.Method, req.URL.Path, res.StatusCode)
	for k, v := range res.Header {
		fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(v, ", "))
	}
	b.Write(raw)
	s.mu.Lock()
	s.seen = append(s.seen, b.String())
	s.mu.Unlock()
	return res, rerr
}

// wrap records what next answers (withTransport).
func (s *secRecorder) wrap(next http.RoundTripper) http.RoundTripper {
	s.next = next
	return s
}

func (s *secRecorder) Answers() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}

// secRandom returns a recognisable random secret with characters that
// change under form, path and JSON encoding.
func secRandom(t *testing.T, prefix string) string {
	t.Helper()
	b := make([]byte, 12)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return prefix + hex.EncodeToString(b) + "&+=/<ç>"
}

// secForms are the forms a secret could take in text: raw, form-, path- and
// JSON-encoded, base64 and hex.
func secForms(s string) map[string]string {
	jsonHTML, _ := json.Marshal(s)
	var plain bytes.Buffer
	enc := json.NewEncoder(&plain)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return map[string]string{
		"raw":         s,
		"query":       url.QueryEscape(s),
		"path":        url.PathEscape(s),
		"json":        strings.Trim(string(jsonHTML), `"`),
		"json-plain":  strings.Trim(strings.TrimSpace(plain.String()), `"`),
		"base64":      base64.StdEncoding.EncodeToString([]byte(s)),
		"base64url":   base64.RawURLEncoding.EncodeToString([]byte(s)),
		"hex":         hex.EncodeToString([]byte(s)),
		"no-specials": strings.TrimRight(s, "&+=/<ç>"), // the random part alone
	}
}

// secFinding is one secret found somewhere.
type secFinding struct{ where, secret, form string }

// secScan reports every secret (in every form) found in text.
func secScan(where, text string, secrets map[string]string, out *[]secFinding) {
	for name, s := range secrets {
		for form, f := range secForms(s) {
			if f != "" && strings.Contains(text, f) {
				*out = append(*out, secFinding{where: where, secret: name, form: form})
			}
		}
	}
}

// secTables lists every table of the database (application and River).
func secTables(t *testing.T, db *store.DB) []string {
	t.Helper()
	q := "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
	if db.Dialect() == store.DialectPostgres {
		q = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name"
	}
	rows, err := db.SQL().QueryContext(context.Background(), q)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		out = append(out, n)
	}
	require.NoError(t, rows.Err())
	return out
}

// secScanDB reads every value of every row of every table as text.
func secScanDB(t *testing.T, db *store.DB, secrets map[string]string) ([]secFinding, map[string]int) {
	t.Helper()
	var found []secFinding
	counts := map[string]int{}
	for _, table := range secTables(t, db) {
		counts[table] = eachRow(t, db.SQL(), `SELECT * FROM "`+table+`"`, func(cols []string, vals []any) {
			for i, v := range vals {
				var s string
				switch x := v.(type) {
				case nil:
					continue
				case []byte:
					s = string(x)
				case string:
					s = x
				default:
					s = fmt.Sprint(x)
				}
				secScan(table+"."+cols[i], s, secrets, &found)
			}
		})
	}
	return found, counts
}

// TestSecretsNeverStoredLoggedOrAnswered runs the scenario on both dialects,
// with a platform whose error messages quote the secret, the password or the
// token they were sent.
func TestSecretsNeverStoredLoggedOrAnswered(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) { secScenario(t, dialect, false) })
}

// TestSecretsPlatformEchoesRequestBody: the same with a platform whose error
// messages also quote the request body they got.
func TestSecretsPlatformEchoesRequestBody(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) { secScenario(t, dialect, true) })
}

func secScenario(t *testing.T, dialect string, echoBody bool) {
	cid1, cid2 := "sec-cliente-1", "sec-cliente-2"
	secret1, secret2, wrong := secRandom(t, "cs1-"), secRandom(t, "cs2-"), secRandom(t, "csx-")
	// The simulator is behind a secTap, the client's answers are recorded.
	tap, rec := &secTap{echoBody: echoBody}, &secRecorder{}
	e := newHarness(t, dialect, withQualifica(qualificasim.Options{Clients: map[string]string{cid1: secret1, cid2: secret2}}),
		withSimTap(tap.wrap), withTransport(rec.wrap))
	passwords := map[string]string{}
	for _, n := range []string{"7001", "7002", "7003", "7001-nova"} {
		passwords[n] = secRandom(t, "pw"+n+"-")
	}
	tap.refuseSenha = passwords["7003"]
	ctx := context.Background()

	// Integration with a secret, created with an Idempotency-Key (its
	// answer is stored), then tested.
	body := map[string]any{"descricao": "Qualifica segredo", "plataforma": "qualifica", "suspender_inadimplencia": true,
		"parametros": map[string]any{"client_id": cid1, "client_secret": secret1}}
	r := e.doKey("POST", "/api/v1/integracoes", hoMarshal(body), "sec-integracao-1")
	require.Equal(t, 201, r.Status, "%s", r.Body)
	integ := idOf(r.JSON(t), "id_integracao")
	require.Equal(t, "valido", r.JSON(t)["token"].(map[string]any)["status"], "%s", r.Body)
	r = e.doKey("POST", "/api/v1/integracoes", hoMarshal(body), "sec-integracao-1")
	require.Equal(t, 201, r.Status, "replayed: %s", r.Body)
	r = e.do("POST", path("/api/v1/integracoes/%d/testar", integ), nil)
	require.Equal(t, 200, r.Status, "%s", r.Body)
	require.Equal(t, "valido", r.JSON(t)["status"], "%s", r.Body)

	// Catalogue: sync, packages, a combo plan.
	r = e.do("POST", path("/api/v1/integracoes/%d/produtos/sincronizar", integ), nil)
	require.Equal(t, 200, r.Status, "%s", r.Body)
	prods := map[string]int64{}
	for _, it := range r.JSON(t)["itens"].([]any) {
		m := it.(map[string]any)
		prods[m["codigo"].(string)] = idOf(m, "id_produto")
	}
	require.Contains(t, prods, "pro")
	require.Contains(t, prods, "premium")
	r = e.do("POST", "/api/v1/pacotes", map[string]any{"descricao": "Pro", "valor": "29.90", "id_integracao": integ, "produtos": []int64{prods["pro"]}})
	require.Equal(t, 201, r.Status, "%s", r.Body)
	pkgA := idOf(r.JSON(t), "id_pacote")
	r = e.do("POST", "/api/v1/pacotes", map[string]any{"descricao": "Premium", "valor": "0.00", "id_integracao": integ, "produtos": []int64{prods["premium"]}})
	require.Equal(t, 201, r.Status, "%s", r.Body)
	pkgB := idOf(r.JSON(t), "id_pacote")
	r = e.do("PUT", "/api/v1/planos/10", map[string]any{"descricao": "Fibra + Pro", "pacotes": []int64{pkgA}})
	require.Equal(t, 201, r.Status, "%s", r.Body)

	// Services with passwords: a combo, an avulso package.
	svc := func(id int64, extra map[string]any) response {
		b := map[string]any{"login": path("sec%d", id), "senha": passwords[fmt.Sprint(id)], "status_prefixo": "servico_habilitado",
			"cliente": map[string]any{"id_cliente": id, "nome_razaosocial": "Cliente", "cpf_cnpj": "529.982.247-25", "email_principal": path("c%d@example.com", id)}}
		for k, v := range extra {
			b[k] = v
		}
		return e.do("PUT", path("/api/v1/servicos/%d", id), b)
	}
	r = svc(7001, map[string]any{"id_servico": 10})
	require.Equal(t, 201, r.Status, "%s", r.Body)
	require.NotContains(t, r.JSON(t), "senha")
	sub1 := idOf(r.JSON(t)["pacotes"].([]any)[0].(map[string]any), "id_assinatura")
	e.waitStatus(sub1, "ativo")
	r = svc(7002, nil)
	require.Equal(t, 201, r.Status, "%s", r.Body)
	r = e.do("POST", "/api/v1/servicos/7002/pacotes", map[string]any{"id_pacote": pkgB})
	require.Equal(t, 201, r.Status, "%s", r.Body)
	sub2 := idOf(r.JSON(t), "id_assinatura")
	e.waitStatus(sub2, "ativo")
	u, ok := e.sim.UserByUsername("sec7001")
	require.True(t, ok)
	require.Equal(t, passwords["7001"], u.Password, "the platform got the password")

	// A platform refusal that echoes the password and the body: the
	// access goes to erro; after the fix, retransmit converges it.
	tap.refusing.Store(true)
	r = svc(7003, nil)
	require.Equal(t, 201, r.Status, "%s", r.Body)
	r = e.do("POST", "/api/v1/servicos/7003/pacotes", map[string]any{"id_pacote": pkgA})
	require.Equal(t, 201, r.Status, "%s", r.Body)
	sub3 := idOf(r.JSON(t), "id_assinatura")
	errSub := e.waitStatus(sub3, "erro")
	require.Positive(t, tap.refused.Load())
	require.NotEmpty(t, errSub["ultimo_erro"])
	tap.refusing.Store(false)
	r = e.do("POST", path("/api/v1/assinaturas/%d/retransmitir", sub3), nil)
	require.Equal(t, 202, r.Status, "%s", r.Body)
	e.waitStatus(sub3, "ativo")

	// Revoked tokens: the next call gets 401 (echoing the token), a new
	// token is fetched and the call repeated.
	e.sim.RevokeTokens()
	r = e.do("PUT", "/api/v1/servicos/7001/status", map[string]any{"status_prefixo": "suspenso_pedido_cliente"})
	require.Equal(t, 200, r.Status, "%s", r.Body)
	e.waitSimPlan("sec7001", "pro", "suspenso")
	require.Positive(t, tap.echoed401.Load(), "a revoked token was refused")

	// Platform down for a while: temporary errors, then convergence.
	e.sim.SetFaults(1, 0)
	r = e.do("PUT", "/api/v1/servicos/7002/status", map[string]any{"status_prefixo": "suspenso_pedido_cliente"})
	require.Equal(t, 200, r.Status, "%s", r.Body)
	e.eventually("a temporary error", func() bool {
		r := e.do("GET", "/api/v1/transmissoes?resultado=erro_temporario", nil)
		return r.Status == 200 && len(r.JSON(t)["itens"].([]any)) > 0
	})
	e.sim.SetFaults(0, 0)
	e.waitSimPlan("sec7002", "premium", "suspenso")

	// New credentials, then a second integration with a wrong secret
	// (the platform refuses it, echoing it).
	body["parametros"] = map[string]any{"client_id": cid2, "client_secret": secret2}
	r = e.do("PUT", path("/api/v1/integracoes/%d", integ), body)
	require.Equal(t, 200, r.Status, "%s", r.Body)
	require.Equal(t, "valido", r.JSON(t)["token"].(map[string]any)["status"], "%s", r.Body)
	r = e.do("POST", "/api/v1/integracoes", map[string]any{"descricao": "Errada", "plataforma": "qualifica",
		"parametros": map[string]any{"client_id": cid1, "client_secret": wrong}})
	require.Equal(t, 201, r.Status, "%s", r.Body)
	integ2 := idOf(r.JSON(t), "id_integracao")
	tok := r.JSON(t)["token"].(map[string]any)
	require.Equal(t, "erro", tok["status"], "%s", r.Body)
	require.NotEmpty(t, tok["mensagem"])
	r = e.do("POST", path("/api/v1/integracoes/%d/testar", integ2), nil)
	require.Equal(t, 200, r.Status, "%s", r.Body)

	// A password change, reactivation, expiry change, cancellation.
	passwords["7001"], passwords["7001-antiga"] = passwords["7001-nova"], passwords["7001"]
	r = svc(7001, map[string]any{"id_servico": 10})
	require.Equal(t, 200, r.Status, "%s", r.Body)
	e.waitSimPlan("sec7001", "pro", "ativo")
	r = e.do("PATCH", path("/api/v1/assinaturas/%d", sub1), map[string]any{"data_expiracao": "2030-01-31"})
	require.Equal(t, 200, r.Status, "%s", r.Body)
	r = e.do("DELETE", path("/api/v1/servicos/7002/pacotes/%d", sub2), nil)
	require.Equal(t, 204, r.Status, "%s", r.Body)
	e.waitSimPlan("sec7002", "premium", "cancelado")
	e.eventually("expiry on the platform", func() bool {
		_, exp := e.simPlan("sec7001", "pro")
		return exp == "2030-01-31"
	})

	// Reads of everything a caller can see.
	for _, p := range []string{"/api/v1/transmissoes?itens_por_pagina=500", "/api/v1/transmissoes?operacao=token", "/api/v1/transmissoes?resultado=erro",
		"/api/v1/integracoes", path("/api/v1/integracoes/%d", integ), path("/api/v1/integracoes/%d", integ2), "/api/v1/servicos",
		"/api/v1/servicos/7001", "/api/v1/servicos/7003/pacotes", "/api/v1/assinaturas", path("/api/v1/assinaturas/%d", sub3),
		"/api/v1/cobrancas?competencia=" + time.Now().Format("2006-01"), "/api/v1/planos", "/api/v1/pacotes", "/metrics", "/readyz"} {
		if p == "/readyz" { // the start-up check of the sealing keys may still run on a loaded machine
			e.eventually("/readyz answers 200", func() bool { return e.do("GET", p, nil).Status == 200 })
		}
		r = e.do("GET", p, nil)
		require.Equal(t, 200, r.Status, "%s: %s", p, r.Body)
	}
	r = e.do("GET", "/api/v1/transmissoes?itens_por_pagina=500", nil)
	ops := map[string]bool{}
	for _, it := range r.JSON(t)["itens"].([]any) {
		m := it.(map[string]any)
		ops[fmt.Sprint(m["operacao"], "/", m["resultado"])] = true
	}
	for _, want := range []string{"token/sucesso", "token/erro", "criar_usuario/sucesso", "criar_usuario/erro"} {
		require.True(t, ops[want], "no %s transmission in %v", want, ops)
	}

	// The secrets: client secrets, passwords, every token issued.
	secrets := map[string]string{"client_secret 1": secret1, "client_secret 2": secret2, "client_secret errado": wrong}
	for n, p := range passwords {
		secrets["senha "+n] = p
	}
	tokens := tap.Tokens()
	require.GreaterOrEqual(t, len(tokens), 3, "tokens issued: create, testar, after revocation, new credentials")
	for i, tk := range tokens {
		secrets[fmt.Sprintf("token %d", i)] = tk
	}
	creds, err := e.db.Credentials(ctx, integ)
	require.NoError(t, err)
	require.NotEmpty(t, creds.AccessToken)
	require.Contains(t, tokens, creds.AccessToken, "the tap saw the current token")
	require.Equal(t, secret2, creds.Params["client_secret"])

	t.Run("database", func(t *testing.T) {
		found, counts := secScanDB(t, e.db, secrets)
		for _, table := range []string{"integrations", "services", "transmissions", "platform_accounts", "idempotency_keys"} {
			require.Positive(t, counts[table], "table %s scanned with rows (%v)", table, counts)
		}
		require.Empty(t, found, "secrets stored in clear")
	})
	t.Run("logs", func(t *testing.T) {
		var found []secFinding
		logs := e.Logs()
		require.NotEmpty(t, logs)
		for i, line := range strings.Split(logs, "\n") {
			secScan(fmt.Sprintf("log line %d: %.300s", i+1, line), line, secrets, &found)
		}
		require.Empty(t, found, "secrets logged")
	})
	t.Run("answers", func(t *testing.T) {
		var found []secFinding
		answers := rec.Answers()
		require.Greater(t, len(answers), 30)
		for _, a := range answers {
			secScan(fmt.Sprintf("%.300s", a), a, secrets, &found)
		}
		require.Empty(t, found, "secrets answered")
	})
}
