package crashtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/svahub/svahub/internal/platform/webhook"
	"github.com/svahub/svahub/internal/svahub"
	"github.com/svahub/svahub/pkg/webhook/webhooksim"
)

// webhookCase is the webhook row: the svahub child sends signed commands
// to an in-process webhooksim receiver on a loopback port (allowed by
// NewServer's SVAHUB_PLATFORM_ALLOWED_HOSTS).
var webhookCase = platformCase{name: "webhook", start: func(t *testing.T, o simOptions) platformSim {
	return newWebhookPlatform(t, o)
}}

// webhookPlatform is platformSim over webhooksim. A front server counts
// the commands and injects the fault suite's faults: random 503s before
// the receiver sees a command, answers lost after the receiver applied it
// (held past SVAHUB_PLATFORM_TIMEOUT, then 504), a 429 rate limit, and a
// 422 for product codes the receiver does not sell.
type webhookPlatform struct {
	sim   *webhooksim.Sim
	front *httptest.Server
	hold  time.Duration

	mu          sync.Mutex
	rng         *rand.Rand
	failRate    float64
	timeoutRate float64
	rps         int
	window      time.Time
	inWindow    int
	refused     map[string]bool
	calls       map[string]int
}

// Fault outcome keys of webhookPlatform.calls.
const (
	webhook5xx     = "5xx"
	webhookTimeout = "timeout"
	webhook429     = "429"
)

func newWebhookPlatform(t *testing.T, o simOptions) *webhookPlatform {
	t.Helper()
	sim, err := webhooksim.New(webhooksim.Options{Latency: o.Latency})
	if err != nil {
		t.Fatal(err)
	}
	w := &webhookPlatform{sim: sim, hold: o.FaultHold, rng: rand.New(rand.NewPCG(uint64(o.Seed), 0x3eb)),
		refused: map[string]bool{}, calls: map[string]int{}}
	w.front = httptest.NewServer(http.HandlerFunc(w.serve))
	t.Cleanup(w.front.Close)
	return w
}

// fault is what the front does with one command.
type fault int

const (
	pass fault = iota
	fail503
	lose
	limit429
	refuse422
)

// decide counts the command and picks its fault.
func (w *webhookPlatform) decide(typ, product string) fault {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls[typ]++
	now := time.Now()
	if now.Sub(w.window) >= time.Second {
		w.window, w.inWindow = now, 0
	}
	w.inWindow++
	switch r := w.rng.Float64(); {
	case w.rps > 0 && w.inWindow > w.rps:
		w.calls[webhook429]++
		return limit429
	case typ == "plano.ativar" && w.refused[product]:
		return refuse422
	case r < w.failRate:
		w.calls[webhook5xx]++
		return fail503
	case r < w.failRate+w.timeoutRate:
		w.calls[webhookTimeout]++
		return lose
	}
	return pass
}

func (w *webhookPlatform) serve(rw http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var env struct {
		Type string `json:"type"`
		Data struct {
			Produto string `json:"produto"`
		} `json:"data"`
	}
	_ = json.Unmarshal(body, &env)
	answer := func(status int, msg string) {
		rw.Header().Set("Content-Type", "application/json")
		if status == http.StatusTooManyRequests {
			rw.Header().Set("Retry-After", "1")
		}
		rw.WriteHeader(status)
		_, _ = fmt.Fprintf(rw, `{"mensagem":%q}`, msg)
	}
	switch w.decide(env.Type, env.Data.Produto) {
	case fail503:
		answer(http.StatusServiceUnavailable, "falha injetada")
		return
	case limit429:
		answer(http.StatusTooManyRequests, "limite excedido")
		return
	case refuse422:
		answer(http.StatusUnprocessableEntity, "produto "+env.Data.Produto+" desconhecido")
		return
	case lose:
		// Applied, but the answer comes after svahub gave up.
		r.Body = io.NopCloser(bytes.NewReader(body))
		w.sim.ServeHTTP(httptest.NewRecorder(), r)
		select {
		case <-time.After(w.hold):
		case <-r.Context().Done():
		}
		answer(http.StatusGatewayTimeout, "resposta perdida")
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	w.sim.ServeHTTP(rw, r)
}

func (w *webhookPlatform) Name() string { return "webhook" }

// Env needs nothing: the receiver's address is in the parametros and
// loopback is allowed.
func (w *webhookPlatform) Env() map[string]string { return nil }

func (w *webhookPlatform) Integration() map[string]any {
	return map[string]any{
		"descricao": "Webhook", "plataforma": "webhook", "suspender_inadimplencia": true,
		"parametros": map[string]any{"url": w.front.URL + "/hook", "segredo": w.sim.Secret(), "usuario": "login_autenticacao"},
	}
}

// HasCatalogue is false: products are free text, never verified.
func (w *webhookPlatform) HasCatalogue() bool { return false }

func (w *webhookPlatform) Users() []simUser {
	var out []simUser
	for _, u := range w.sim.Users() {
		out = append(out, w.user(u))
	}
	return out
}

func (w *webhookPlatform) User(username string) (simUser, bool) {
	u, ok := w.sim.User(username)
	if !ok {
		return simUser{}, false
	}
	return w.user(u), true
}

// user is u as the suites see it: CreateCalls counts the usuario.criar the
// receiver applied for its referencia (each webhook-id once; a 409 for an
// existing referencia is not a create).
func (w *webhookPlatform) user(u webhooksim.User) simUser {
	out := simUser{Username: u.Usuario, Reference: u.Referencia, Plans: map[string]string{}}
	for _, r := range w.sim.Received() {
		if r.Type != "usuario.criar" || r.Duplicate || r.Injected || r.Status != http.StatusCreated {
			continue
		}
		if strings.Contains(string(r.Data), fmt.Sprintf(`"referencia":%q`, u.Referencia)) {
			out.CreateCalls++
		}
	}
	for _, p := range w.sim.Plans() {
		if p.Referencia == u.Referencia {
			out.Plans[p.Produto] = p.Status
		}
	}
	return out
}

func (w *webhookPlatform) Calls(op svahub.Operation) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if typ, ok := webhook.CommandType(op); ok {
		return w.calls[typ]
	}
	return 0
}

func (w *webhookPlatform) Applied(op svahub.Operation) int {
	if typ, ok := webhook.CommandType(op); ok {
		return w.sim.Applied(typ)
	}
	return 0
}

func (w *webhookPlatform) Describe() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return fmt.Sprint(w.calls)
}

// FaultSetup creates the integration at the receiver; products are never
// verified on this platform, and the receiver refuses ghost (422 naming
// it) when asked to activate it.
func (w *webhookPlatform) FaultSetup(t *testing.T, s *Server, ghost string) (integration, pro, ghostProduct int64) {
	t.Helper()
	var integ struct {
		ID int64 `json:"id_integracao"`
	}
	s.Call(t, "POST", "/api/v1/integracoes", w.Integration(), 201).JSON(t, &integ)
	s.Call(t, "POST", fmt.Sprintf("/api/v1/integracoes/%d/testar", integ.ID), nil, 200)
	w.mu.Lock()
	w.refused[ghost] = true
	w.mu.Unlock()
	return integ.ID, unverifiedProduct(t, s, integ.ID, "pro"), unverifiedProduct(t, s, integ.ID, ghost)
}

func (w *webhookPlatform) SetFaults(rate5xx, rateTimeout float64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.failRate, w.timeoutRate = rate5xx, rateTimeout
}

func (w *webhookPlatform) SetRateLimit(rps int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.rps = rps
}

// RevokeTokens is false: the platform has no tokens.
func (w *webhookPlatform) RevokeTokens() bool { return false }

func (w *webhookPlatform) Faults() (fails, timeouts, limited int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.calls[webhook5xx], w.calls[webhookTimeout], w.calls[webhook429]
}
