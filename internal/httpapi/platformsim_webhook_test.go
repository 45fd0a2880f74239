package httpapi_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/app"
	"github.com/svahub/svahub/internal/platform/webhook"
	"github.com/svahub/svahub/internal/svahub"
	"github.com/svahub/svahub/pkg/webhook/webhooksim"
)

// webhookCase is the webhook row: svahub sends signed commands to an
// in-process webhooksim receiver.
var webhookCase = platformCase{name: "webhook", start: func(t *testing.T, o simOptions) platformSim {
	return newWebhookPlatform(t, o)
}}

// webhookPlatform is platformSim over webhooksim. svahub reaches the
// receiver through a front server that counts commands by type, injects
// FailNext failures and SetDown outages before the receiver sees them.
type webhookPlatform struct {
	sim   *webhooksim.Sim
	front *httptest.Server
	now   func() time.Time

	mu    sync.Mutex
	down  bool
	fail  map[string]injected
	calls map[string]int
}

func newWebhookPlatform(t *testing.T, o simOptions) *webhookPlatform {
	t.Helper()
	// The receiver's clock checks webhook-timestamp against the real time
	// svahub signs with; o.Now only decides what is past its expiry.
	sim, err := webhooksim.New(webhooksim.Options{Latency: o.Latency})
	if err != nil {
		t.Fatal(err)
	}
	w := &webhookPlatform{sim: sim, now: o.Now, fail: map[string]injected{}, calls: map[string]int{}}
	if w.now == nil {
		w.now = time.Now
	}
	w.front = httptest.NewServer(http.HandlerFunc(w.serve))
	t.Cleanup(w.front.Close)
	return w
}

// serve counts the command, answers an injected failure or outage, or
// hands it to the receiver.
func (w *webhookPlatform) serve(rw http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var env struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(body, &env)
	w.mu.Lock()
	w.calls[env.Type]++
	status := 0
	if w.down && env.Type != "integracao.teste" {
		status = http.StatusServiceUnavailable
	} else if f, ok := w.fail[env.Type]; ok {
		status = f.status
		if f.n--; f.n <= 0 {
			delete(w.fail, env.Type)
		} else {
			w.fail[env.Type] = f
		}
	}
	w.mu.Unlock()
	if status != 0 {
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(status)
		_, _ = fmt.Fprintf(rw, `{"codigo":"falha_injetada","mensagem":"falha injetada em %s"}`, env.Type)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	w.sim.ServeHTTP(rw, r)
}

func (w *webhookPlatform) Name() string { return "webhook" }

func (w *webhookPlatform) URL() string { return w.front.URL + "/hook" }

// Configure needs nothing: the receiver's address is in the parametros
// and loopback is allowed by newHarness.
func (w *webhookPlatform) Configure(*app.Options) {}

func (w *webhookPlatform) Integration(params map[string]any) map[string]any {
	p := map[string]any{"url": w.URL(), "segredo": w.sim.Secret()}
	for k, v := range params {
		p[k] = v
	}
	return map[string]any{"descricao": "Webhook", "plataforma": "webhook", "parametros": p}
}

// User reports a receiver's user: CreateCalls are the usuario.criar it
// applied for the user (each webhook-id once), CreateConflicts the ones
// it refused with 409 because the referencia existed.
func (w *webhookPlatform) User(username string) (simUser, bool) {
	u, ok := w.sim.User(username)
	if !ok {
		return simUser{}, false
	}
	out := simUser{Password: u.Senha}
	for _, r := range w.sim.Received() {
		var d struct {
			Referencia string `json:"referencia"`
		}
		if r.Type != "usuario.criar" || r.Duplicate || json.Unmarshal(r.Data, &d) != nil || d.Referencia != u.Referencia {
			continue
		}
		switch r.Status {
		case http.StatusCreated, http.StatusOK:
			out.CreateCalls++
		case http.StatusConflict:
			out.CreateConflicts++
		}
	}
	for _, p := range w.sim.Plans() {
		if p.Referencia == u.Referencia {
			out.Plans = append(out.Plans, p.Produto)
		}
	}
	return out, true
}

func (w *webhookPlatform) UserCount() int { return len(w.sim.Users()) }

// Plan reports the receiver's plan; an active plan past its
// data_expiracao (by the simulator clock) is expirado, as a receiver that
// enforces the date would show it.
func (w *webhookPlatform) Plan(username, product string) (status, expiry string, ok bool) {
	status, expiry, ok = w.sim.Plan(username, product)
	if ok && status == webhooksim.StatusActive && expiry != "" && expiry < w.now().Format(time.DateOnly) {
		status = "expirado"
	}
	return status, expiry, ok
}

func (w *webhookPlatform) Calls(op svahub.Operation) int {
	typ, ok := webhook.CommandType(op)
	if !ok {
		return 0
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.calls[typ]
}

func (w *webhookPlatform) FailNext(op svahub.Operation, status int, n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	typ, _ := webhook.CommandType(op)
	if n <= 0 {
		delete(w.fail, typ)
		return
	}
	w.fail[typ] = injected{status: status, n: n}
}

func (w *webhookPlatform) SetDown(down bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.down = down
}

// AddForeignUser sends the receiver a usuario.criar of another
// referencia, signed here (not with svahub's code), behind the front.
func (w *webhookPlatform) AddForeignUser(t *testing.T, username string) {
	t.Helper()
	data := map[string]any{"referencia": "externa-1", "usuario": username, "senha": "outra", "nome": "Outra Pessoa"}
	rec := httptest.NewRecorder()
	w.sim.ServeHTTP(rec, signedCommand(t, w.sim.Secret(), "externa-1-criar", "usuario.criar", data))
	require.Equal(t, http.StatusCreated, rec.Code, "%s", rec.Body)
}

// signedCommand is a Standard Webhooks request of typ with data, signed
// with secret by the formula of WEBHOOK.md written here with crypto/hmac.
func signedCommand(t *testing.T, secret, id, typ string, data any) *http.Request {
	t.Helper()
	now := time.Now()
	body, err := json.Marshal(map[string]any{"type": typ, "timestamp": now.UTC().Format(time.RFC3339), "data": data})
	require.NoError(t, err)
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	require.NoError(t, err)
	ts := strconv.FormatInt(now.Unix(), 10)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	req := httptest.NewRequest(http.MethodPost, "/hook", bytes.NewReader(body))
	req.Header.Set("content-type", "application/json")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", ts)
	req.Header.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	return req
}

func (w *webhookPlatform) Dump() string {
	raw, _ := json.Marshal(map[string]any{"usuarios": w.sim.Users(), "planos": w.sim.Plans()})
	return string(raw)
}
