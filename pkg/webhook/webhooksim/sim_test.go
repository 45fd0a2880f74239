package webhooksim_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/pkg/webhook/webhooksim"
)

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// delivery is one signed request, signed here (not with the sender's code).
type delivery struct {
	id   string
	ts   int64
	body string
	sig  string
}

func signed(id string, ts time.Time, typ string, data any) delivery {
	d, _ := json.Marshal(map[string]any{"type": typ, "timestamp": ts.UTC().Format(time.RFC3339), "data": data})
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(ts.Unix(), 10) + "." + string(d)))
	return delivery{id: id, ts: ts.Unix(), body: string(d), sig: "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))}
}

func post(t *testing.T, url string, d delivery) (int, map[string]string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewBufferString(d.body))
	require.NoError(t, err)
	req.Header.Set("content-type", "application/json")
	req.Header.Set("webhook-id", d.id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(d.ts, 10))
	req.Header.Set("webhook-signature", d.sig)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

var user = map[string]any{"referencia": "acc_1", "usuario": "ana", "senha": "s3nha", "nome": "Ana", "email": nil, "cpf_cnpj": nil, "id_cliente": nil, "id_cliente_servico": nil}

func newSim(t *testing.T) (*webhooksim.Sim, string) {
	sim, srv := webhooksim.NewServer(t, webhooksim.Options{Secret: secret})
	return sim, srv.URL + "/hook"
}

func TestReceiverLifecycle(t *testing.T) {
	sim, url := newSim(t)
	now := time.Now()
	st, body := post(t, url, signed("m1", now, "usuario.criar", user))
	require.Equal(t, http.StatusCreated, st)
	require.Equal(t, "u_1", body["id_usuario"])
	st, body = post(t, url, signed("m2", now, "usuario.criar", user))
	require.Equal(t, http.StatusConflict, st, "existing referencia")
	require.Equal(t, "u_1", body["id_usuario"])

	plan := map[string]any{"referencia": "acc_1", "usuario": "ana", "produto": "pro", "data_expiracao": "2027-01-31"}
	st, _ = post(t, url, signed("m3", now, "plano.ativar", plan))
	require.Equal(t, http.StatusOK, st)
	for i, typ := range []string{"plano.suspender", "plano.suspender", "plano.reativar", "plano.reativar"} {
		st, body = post(t, url, signed("s"+strconv.Itoa(i), now, typ, map[string]any{"referencia": "acc_1", "usuario": "ana", "produto": "pro"}))
		require.Equal(t, http.StatusOK, st, "%s is idempotent", typ)
	}
	require.Equal(t, "ativo", body["status"])
	st, _ = post(t, url, signed("m4", now, "plano.atualizar_expiracao", map[string]any{"referencia": "acc_1", "usuario": "ana", "produto": "pro", "data_expiracao": "2027-03-31"}))
	require.Equal(t, http.StatusOK, st)
	status, exp, ok := sim.Plan("ana", "pro")
	require.True(t, ok)
	require.Equal(t, []string{"ativo", "2027-03-31"}, []string{status, exp})
	for _, id := range []string{"c1", "c2"} {
		st, _ = post(t, url, signed(id, now, "plano.cancelar", map[string]any{"referencia": "acc_1", "usuario": "ana", "produto": "pro"}))
		require.Equal(t, http.StatusOK, st)
	}
	status, _, _ = sim.Plan("ana", "pro")
	require.Equal(t, "cancelado", status)
	st, body = post(t, url, signed("m5", now, "plano.suspender", map[string]any{"referencia": "acc_9", "usuario": "bob", "produto": "pro"}))
	require.Equal(t, http.StatusNotFound, st)
	require.Equal(t, "usuário não encontrado", body["mensagem"])
	require.Equal(t, 3, sim.Count("plano.suspender"))
	require.Equal(t, 2, sim.Applied("plano.suspender"), "the 404 is not applied")
}

func TestReceiverRefusesAlteredRequests(t *testing.T) {
	sim, url := newSim(t)
	now := time.Now()
	d := signed("m1", now, "usuario.criar", user)
	require.Equal(t, http.StatusCreated, first(post(t, url, d)))

	altered := d
	altered.body = strings.Replace(d.body, `"ana"`, `"eve"`, 1)
	require.Equal(t, http.StatusUnauthorized, first(post(t, url, altered)), "altered body, old signature")

	badSig := d
	badSig.sig = "v1," + base64.StdEncoding.EncodeToString(make([]byte, 32))
	require.Equal(t, http.StatusUnauthorized, first(post(t, url, badSig)), "altered signature")

	stale := signed("m9", now.Add(-6*time.Minute), "usuario.criar", user)
	require.Equal(t, http.StatusUnauthorized, first(post(t, url, stale)), "stale timestamp")
	future := signed("m10", now.Add(6*time.Minute), "usuario.criar", user)
	require.Equal(t, http.StatusUnauthorized, first(post(t, url, future)), "timestamp in the future")

	// The same id, properly signed, with other content: a replayed id.
	other := map[string]any{"referencia": "acc_2", "usuario": "eve", "senha": "x", "nome": "Eve"}
	require.Equal(t, http.StatusBadRequest, first(post(t, url, signed("m1", now, "usuario.criar", other))))
	_, ok := sim.User("eve")
	require.False(t, ok)
	require.Equal(t, 1, sim.Applied("usuario.criar"))

	missing := d
	missing.sig = ""
	require.Equal(t, http.StatusBadRequest, first(post(t, url, missing)))
}

func first(st int, _ map[string]string) int { return st }

func TestReceiverAppliesDuplicateOnce(t *testing.T) {
	sim, url := newSim(t)
	now := time.Now()
	require.Equal(t, http.StatusCreated, first(post(t, url, signed("u", now, "usuario.criar", user))))
	plan := map[string]any{"referencia": "acc_1", "usuario": "ana", "produto": "pro", "data_expiracao": "2027-01-31"}
	d := signed("cmd_1_1_plano.ativar", now, "plano.ativar", plan)
	require.Equal(t, http.StatusOK, first(post(t, url, d)))
	// Suspend in between: a duplicate ativar must not reactivate it.
	require.Equal(t, http.StatusOK, first(post(t, url, signed("s", now, "plano.suspender", plan))))
	require.Equal(t, http.StatusOK, first(post(t, url, d)), "exact replay within tolerance: the recorded answer")
	retry := signed("cmd_1_1_plano.ativar", now.Add(time.Second), "plano.ativar", plan)
	require.Equal(t, http.StatusOK, first(post(t, url, retry)), "a retry: new timestamp, same content")
	status, _, _ := sim.Plan("ana", "pro")
	require.Equal(t, "suspenso", status)
	require.Equal(t, 1, sim.Applied("plano.ativar"))
	require.Equal(t, 3, sim.Count("plano.ativar"))
	got := sim.Received()
	require.True(t, got[len(got)-1].Duplicate)
}

func TestReceiverInjectedFailures(t *testing.T) {
	sim, url := newSim(t)
	now := time.Now()
	sim.FailNextRetryAfter("usuario.criar", http.StatusTooManyRequests, 1, 3)
	req := signed("u", now, "usuario.criar", user)
	require.Equal(t, http.StatusTooManyRequests, first(post(t, url, req)))
	require.Equal(t, http.StatusCreated, first(post(t, url, req)), "a failure is not recorded: the retry is applied")
	sim.LoseNext("", 1)
	p := signed("p", now, "plano.ativar", map[string]any{"referencia": "acc_1", "usuario": "ana", "produto": "pro", "data_expiracao": nil})
	require.Equal(t, http.StatusServiceUnavailable, first(post(t, url, p)))
	require.Equal(t, http.StatusOK, first(post(t, url, p)))
	require.Equal(t, 1, sim.Applied("plano.ativar"))
}

// TestReceiverKeysPlansByReferencia: plan commands name the user by
// referencia (and usuario, which must match); ativar and
// atualizar_expiracao must carry data_expiracao (null without expiry).
func TestReceiverKeysPlansByReferencia(t *testing.T) {
	sim, url := newSim(t)
	now := time.Now()
	withIDs := map[string]any{"referencia": "acc_1", "usuario": "ana", "senha": "s3nha", "nome": "Ana", "id_cliente": 1001, "id_cliente_servico": 5001}
	require.Equal(t, http.StatusCreated, first(post(t, url, signed("u", now, "usuario.criar", withIDs))))
	u, ok := sim.UserByReference("acc_1")
	require.True(t, ok)
	require.Equal(t, int64(1001), *u.IDCliente)
	require.Equal(t, int64(5001), *u.IDClienteServico)

	cases := []struct {
		data map[string]any
		want int
	}{
		{map[string]any{"usuario": "ana", "produto": "pro", "data_expiracao": nil}, http.StatusUnprocessableEntity},
		{map[string]any{"referencia": "acc_1", "usuario": "eve", "produto": "pro", "data_expiracao": nil}, http.StatusUnprocessableEntity},
		{map[string]any{"referencia": "acc_1", "usuario": "ana", "produto": "pro"}, http.StatusUnprocessableEntity},
		{map[string]any{"referencia": "acc_2", "usuario": "ana", "produto": "pro", "data_expiracao": nil}, http.StatusNotFound},
		{map[string]any{"referencia": "acc_1", "usuario": "ana", "produto": "pro", "data_expiracao": nil}, http.StatusOK},
	}
	for i, c := range cases {
		require.Equal(t, c.want, first(post(t, url, signed("p"+strconv.Itoa(i), now, "plano.ativar", c.data))), "%v", c.data)
	}
	status, exp, ok := sim.PlanByReference("acc_1", "pro")
	require.True(t, ok)
	require.Equal(t, []string{"ativo", ""}, []string{status, exp})
	require.Equal(t, "acc_1", sim.Plans()[0].Referencia)
}
