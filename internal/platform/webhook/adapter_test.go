package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/platform/webhook"
	"github.com/svahub/svahub/internal/svahub"
	"github.com/svahub/svahub/pkg/webhook/webhooksim"
)

func newPair(t *testing.T) (*webhook.Adapter, *webhooksim.Sim) {
	t.Helper()
	sim, srv := webhooksim.NewServer(t, webhooksim.Options{})
	a, err := webhook.New(webhook.Config{URL: srv.URL + "/hook", Secret: sim.Secret(), HTTPClient: srv.Client(), Timeout: 5 * time.Second})
	require.NoError(t, err)
	return a, sim
}

// cmd is the context of the engine's call for plan version of ana's
// account (acc_1).
func cmd(plan, version int64) context.Context {
	return svahub.WithCommand(context.Background(), svahub.Command{PlanID: plan, Version: version, Reference: "acc_1", Username: "ana"})
}

var ana = svahub.PlatformUser{Username: "ana", Password: "s3nha-Forte", Name: "Ana", Document: "12345678909", Email: "ana@example.com",
	Reference: "acc_1", CustomerID: 1001, ServiceID: 5001}

func TestAdapterEveryType(t *testing.T) {
	a, sim := newPair(t)
	ctx := cmd(12, 3)
	id, err := a.EnsureUser(ctx, "", ana)
	require.NoError(t, err)
	require.Equal(t, "u_1", id, "the receiver's id_usuario")
	u, ok := sim.User("ana")
	require.True(t, ok)
	require.Equal(t, "acc_1", u.Referencia)
	require.Equal(t, "s3nha-Forte", u.Senha)
	require.Equal(t, int64(1001), *u.IDCliente)
	require.Equal(t, int64(5001), *u.IDClienteServico)

	st, err := a.EnsurePlan(ctx, "", id, "pro", "2027-01-31")
	require.NoError(t, err)
	require.Equal(t, svahub.AccessActive, st)
	require.NoError(t, a.Suspend(ctx, "", id, "pro"))
	st, err = a.EnsurePlan(svahub.WithOperation(cmd(12, 4), svahub.OpUpdateExpiry), "", id, "pro", "2027-02-28")
	require.NoError(t, err)
	require.Equal(t, svahub.AccessSuspended, st, "atualizar_expiracao keeps the status the receiver reports")
	status, exp, ok := sim.Plan("ana", "pro")
	require.True(t, ok)
	require.Equal(t, []string{"suspenso", "2027-02-28"}, []string{status, exp})
	require.NoError(t, a.Reactivate(ctx, "", id, "pro"))
	require.NoError(t, a.Cancel(ctx, "", id, "pro"))
	status, _, _ = sim.Plan("ana", "pro")
	require.Equal(t, "cancelado", status)
	require.NoError(t, a.Test(context.Background()))

	var ids []string
	for _, r := range sim.Received() {
		ids = append(ids, r.ID)
		require.True(t, strings.HasPrefix(r.UserAgent, "svahub/"))
	}
	require.Equal(t, "cmd_12_3_usuario.criar", ids[0])
	require.Equal(t, "cmd_12_3_plano.ativar", ids[1])
	require.Equal(t, "cmd_12_3_plano.suspender", ids[2])
	require.Equal(t, "cmd_12_4_plano.atualizar_expiracao", ids[3])
	require.Equal(t, "cmd_12_3_plano.reativar", ids[4])
	require.Equal(t, "cmd_12_3_plano.cancelar", ids[5])
	require.True(t, strings.HasPrefix(ids[6], "msg_"), "testar has no command: a random id")
	for _, typ := range []string{webhook.TypeCreateUser, webhook.TypeActivatePlan, webhook.TypeUpdateExpiry, webhook.TypeSuspend, webhook.TypeReactivate, webhook.TypeCancel, webhook.TypeTest} {
		require.Equal(t, 1, sim.Applied(typ), typ)
	}
}

func TestAdapterNoCapabilities(t *testing.T) {
	a, sim := newPair(t)
	require.Equal(t, svahub.Capabilities{}, webhook.Capabilities)
	tok, err := a.Token(context.Background())
	require.NoError(t, err)
	require.Empty(t, tok.AccessToken)
	_, err = a.Catalogue(context.Background(), "")
	requireKind(t, err, svahub.PlatformPermanent)
	_, err = a.GetUser(context.Background(), "", "ana")
	requireKind(t, err, svahub.PlatformPermanent)
	require.Zero(t, sim.Count(""))
}

func requireKind(t *testing.T, err error, kind svahub.PlatformErrorKind) *svahub.PlatformError {
	t.Helper()
	pe, ok := svahub.AsPlatformError(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, kind, pe.Kind, pe.Message)
	return pe
}

func TestAdapterRetriesKeepWebhookID(t *testing.T) {
	a, sim := newPair(t)
	ctx := cmd(7, 1)
	_, err := a.EnsureUser(ctx, "", ana)
	require.NoError(t, err)
	sim.FailNext(webhook.TypeActivatePlan, http.StatusServiceUnavailable, 2)
	for range 2 {
		_, err = a.EnsurePlan(ctx, "", "ana", "pro", "2027-01-31")
		requireKind(t, err, svahub.PlatformTemporary)
	}
	// The answer of the third attempt is lost; the fourth gets the recorded one.
	sim.LoseNext(webhook.TypeActivatePlan, 1)
	_, err = a.EnsurePlan(ctx, "", "ana", "pro", "2027-01-31")
	requireKind(t, err, svahub.PlatformTemporary)
	st, err := a.EnsurePlan(ctx, "", "ana", "pro", "2027-01-31")
	require.NoError(t, err)
	require.Equal(t, svahub.AccessActive, st)

	var got []webhooksim.Request
	for _, r := range sim.Received() {
		if r.Type == webhook.TypeActivatePlan {
			got = append(got, r)
		}
	}
	require.Len(t, got, 4)
	for _, r := range got {
		require.Equal(t, "cmd_7_1_plano.ativar", r.ID)
	}
	require.True(t, got[3].Duplicate)
	require.Equal(t, 1, sim.Applied(webhook.TypeActivatePlan), "applied once")
}

func TestAdapterAdoptsOn409(t *testing.T) {
	a, sim := newPair(t)
	id, err := a.EnsureUser(cmd(1, 1), "", ana)
	require.NoError(t, err)
	// Another plan of the same account, a new command id: the receiver knows the referencia.
	ctx, cs := svahub.WithCallStatus(cmd(2, 1))
	again, err := a.EnsureUser(ctx, "", ana)
	require.NoError(t, err)
	require.Equal(t, id, again)
	require.Equal(t, http.StatusConflict, cs.Status(0))
	require.Equal(t, 1, sim.Applied(webhook.TypeCreateUser))
}

func TestAdapter409WithoutIDAdoptsReference(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusConflict)
	}))
	t.Cleanup(srv.Close)
	a := newAdapter(t, srv.URL)
	id, err := a.EnsureUser(cmd(1, 1), "", ana)
	require.NoError(t, err)
	require.Equal(t, "acc_1", id)
}

const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func newAdapter(t *testing.T, url string) *webhook.Adapter {
	t.Helper()
	a, err := webhook.New(webhook.Config{URL: url, Secret: testSecret})
	require.NoError(t, err)
	return a
}

func TestAdapter429IsTemporaryWithRetryAfter(t *testing.T) {
	a, sim := newPair(t)
	_, err := a.EnsureUser(cmd(1, 1), "", ana)
	require.NoError(t, err)
	sim.FailNextRetryAfter(webhook.TypeSuspend, http.StatusTooManyRequests, 1, 7)
	ctx, cs := svahub.WithCallStatus(cmd(1, 1))
	pe := requireKind(t, a.Suspend(ctx, "", "ana", "pro"), svahub.PlatformTemporary)
	require.Equal(t, 7*time.Second, pe.RetryAfter)
	require.Equal(t, http.StatusTooManyRequests, pe.Status)
	require.Equal(t, http.StatusTooManyRequests, cs.Status(0))
	sim.FailNext("", http.StatusRequestTimeout, 1)
	requireKind(t, a.Suspend(ctx, "", "ana", "pro"), svahub.PlatformTemporary)
}

// TestAdapter404ToPlanCommandIsNotFound: a 404 to a command on an existing
// plan says the receiver does not have it (the engine then converges from
// an absent plan); to other commands it is permanent.
func TestAdapter404ToPlanCommandIsNotFound(t *testing.T) {
	a, _ := newPair(t)
	ctx := cmd(1, 1)
	_, err := a.EnsureUser(ctx, "", ana)
	require.NoError(t, err)
	pe := requireKind(t, a.Suspend(ctx, "", "u_1", "pro"), svahub.PlatformNotFound)
	require.Equal(t, "plano não encontrado", pe.Message)
	requireKind(t, a.Reactivate(ctx, "", "u_1", "pro"), svahub.PlatformNotFound)
	_, err = a.EnsurePlan(svahub.WithOperation(ctx, svahub.OpUpdateExpiry), "", "u_1", "pro", "2027-01-31")
	requireKind(t, err, svahub.PlatformNotFound)
	_, err = a.EnsurePlan(ctx, "", "u_1", "pro", "2027-01-31")
	require.NoError(t, err, "plano.ativar creates it")
}

func TestAdapter4xxIsPermanentWithMensagem(t *testing.T) {
	a, sim := newPair(t)
	err := a.Cancel(svahub.WithCommand(context.Background(), svahub.Command{PlanID: 1, Version: 1, Reference: "acc_9", Username: "nobody"}), "", "nobody", "pro")
	pe := requireKind(t, err, svahub.PlatformPermanent)
	require.Equal(t, http.StatusNotFound, pe.Status)
	require.Equal(t, "usuário não encontrado", pe.Message)
	secret := strings.TrimPrefix(sim.Secret(), "whsec_")
	require.NotContains(t, err.Error(), secret)

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusForbidden)
	}))
	t.Cleanup(srv.Close)
	pe = requireKind(t, newAdapter(t, srv.URL).Test(context.Background()), svahub.PlatformPermanent)
	require.Equal(t, "forbidden", pe.Message, "status text when there is no mensagem")
}

func TestAdapterRedirectIsPermanent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/", http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	pe := requireKind(t, newAdapter(t, srv.URL).Test(context.Background()), svahub.PlatformPermanent)
	require.Equal(t, http.StatusFound, pe.Status)
}

func TestAdapterTransportErrorIsTemporary(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/hook?x=segredo"
	srv.Close()
	err := newAdapter(t, url).Test(context.Background())
	pe := requireKind(t, err, svahub.PlatformTemporary)
	require.Zero(t, pe.Status)
	require.NotContains(t, err.Error(), "segredo")
	require.NotContains(t, pe.Cause.Error(), "segredo")
}

// TestSignatureIndependent checks what the adapter sent with the spec's
// formula written here, with crypto/hmac alone.
func TestSignatureIndependent(t *testing.T) {
	var h http.Header
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h = r.Header.Clone()
		body, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	before := time.Now().Unix()
	_, err := newAdapter(t, srv.URL).EnsurePlan(cmd(12, 3), "", "ana", "pro", "2027-01-31")
	require.NoError(t, err)

	require.Equal(t, "application/json", h.Get("content-type"))
	require.Equal(t, "cmd_12_3_plano.ativar", h.Get("webhook-id"))
	ts, err := strconv.ParseInt(h.Get("webhook-timestamp"), 10, 64)
	require.NoError(t, err)
	require.InDelta(t, before, ts, 2)
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(testSecret, "whsec_"))
	require.NoError(t, err)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(h.Get("webhook-id") + "." + h.Get("webhook-timestamp") + "." + string(body)))
	require.Equal(t, "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)), h.Get("webhook-signature"))

	var env struct {
		Type      string         `json:"type"`
		Timestamp time.Time      `json:"timestamp"`
		Data      map[string]any `json:"data"`
	}
	require.NoError(t, json.Unmarshal(body, &env))
	require.Equal(t, "plano.ativar", env.Type)
	require.Equal(t, map[string]any{"referencia": "acc_1", "usuario": "ana", "produto": "pro", "data_expiracao": "2027-01-31"}, env.Data)
}

// TestSignatureVector is the Standard Webhooks test vector, computed here
// with crypto/hmac and by webhook.Sign.
func TestSignatureVector(t *testing.T) {
	const want = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	id, ts, body := "msg_p5jXN8AQM9LWM0D4loKWxJek", int64(1614265330), `{"test": 2432232314}`
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(testSecret, "whsec_"))
	require.NoError(t, err)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(ts, 10) + "." + body))
	require.Equal(t, want, "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	require.Equal(t, want, webhook.Sign(key, id, ts, []byte(body)))
}

func TestSecrets(t *testing.T) {
	s, err := webhook.GenerateSecret()
	require.NoError(t, err)
	require.NoError(t, webhook.ValidSecret(s))
	require.NotEqual(t, s, func() string { s2, _ := webhook.GenerateSecret(); return s2 }())
	short := "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 23))
	long := "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 65))
	for _, bad := range []string{"", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_!!!", short, long} {
		err := webhook.ValidSecret(bad)
		require.Error(t, err, bad)
		if bad != "" {
			require.NotContains(t, err.Error(), strings.TrimPrefix(bad, "whsec_"))
		}
	}
	_, err = webhook.New(webhook.Config{URL: "ftp://x", Secret: testSecret})
	require.Error(t, err)
	_, err = webhook.New(webhook.Config{URL: "https://x.example/h", Secret: "whsec_x"})
	require.Error(t, err)
}

func TestAdapterTimeoutIsTemporary(t *testing.T) {
	sim, srv := webhooksim.NewServer(t, webhooksim.Options{Latency: 300 * time.Millisecond})
	a, err := webhook.New(webhook.Config{URL: srv.URL, Secret: sim.Secret(), Timeout: 50 * time.Millisecond})
	require.NoError(t, err)
	pe := requireKind(t, a.Test(context.Background()), svahub.PlatformTemporary)
	require.Zero(t, pe.Status)
}

// TestCommandDataFollowsSpec decodes what the adapter sent with a plain
// receiver (no code of the sender or of webhooksim) and compares each
// command's type, webhook-id and data with WEBHOOK.md's table.
func TestCommandDataFollowsSpec(t *testing.T) {
	type got struct {
		id   string
		typ  string
		data map[string]any
	}
	var sent []got
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var env struct {
			Type string         `json:"type"`
			Data map[string]any `json:"data"`
		}
		if err := json.NewDecoder(r.Body).Decode(&env); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		sent = append(sent, got{r.Header.Get("webhook-id"), env.Type, env.Data})
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	a := newAdapter(t, srv.URL)
	ctx := cmd(12, 3)
	_, err := a.EnsureUser(ctx, "", ana)
	require.NoError(t, err)
	erased := svahub.PlatformUser{Username: "bia", Password: "p", Name: "Bia", Reference: "acc_2"}
	_, err = a.EnsureUser(cmd(13, 1), "", erased)
	require.NoError(t, err)
	_, err = a.EnsurePlan(svahub.WithOperation(ctx, svahub.OpActivatePlan), "", "ana-id", "pro", "2027-01-31")
	require.NoError(t, err)
	_, err = a.EnsurePlan(svahub.WithOperation(cmd(12, 4), svahub.OpUpdateExpiry), "", "ana-id", "pro", "2027-02-28")
	require.NoError(t, err)
	_, err = a.EnsurePlan(svahub.WithOperation(cmd(12, 5), svahub.OpActivatePlan), "", "ana-id", "pro", "")
	require.NoError(t, err)
	require.NoError(t, a.Suspend(ctx, "", "ana-id", "pro"))
	require.NoError(t, a.Reactivate(ctx, "", "ana-id", "pro"))
	require.NoError(t, a.Cancel(ctx, "", "ana-id", "pro"))
	require.NoError(t, a.Test(context.Background()))

	plan := map[string]any{"referencia": "acc_1", "usuario": "ana", "produto": "pro"}
	with := func(exp any) map[string]any {
		return map[string]any{"referencia": "acc_1", "usuario": "ana", "produto": "pro", "data_expiracao": exp}
	}
	want := []got{
		{"cmd_12_3_usuario.criar", "usuario.criar", map[string]any{"referencia": "acc_1", "usuario": "ana", "senha": "s3nha-Forte", "nome": "Ana",
			"email": "ana@example.com", "cpf_cnpj": "12345678909", "id_cliente": float64(1001), "id_cliente_servico": float64(5001)}},
		{"cmd_13_1_usuario.criar", "usuario.criar", map[string]any{"referencia": "acc_2", "usuario": "bia", "senha": "p", "nome": "Bia",
			"email": nil, "cpf_cnpj": nil, "id_cliente": nil, "id_cliente_servico": nil}},
		{"cmd_12_3_plano.ativar", "plano.ativar", with("2027-01-31")},
		{"cmd_12_4_plano.atualizar_expiracao", "plano.atualizar_expiracao", with("2027-02-28")},
		{"cmd_12_5_plano.ativar", "plano.ativar", with(nil)},
		{"cmd_12_3_plano.suspender", "plano.suspender", plan},
		{"cmd_12_3_plano.reativar", "plano.reativar", plan},
		{"cmd_12_3_plano.cancelar", "plano.cancelar", plan},
	}
	require.Len(t, sent, len(want)+1)
	for i, w := range want {
		require.Equal(t, w, sent[i], "command %d", i)
	}
	last := sent[len(want)]
	require.Equal(t, "integracao.teste", last.typ)
	require.Empty(t, last.data)
}
