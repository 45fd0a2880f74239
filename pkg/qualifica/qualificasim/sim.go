// Package qualificasim is a strict in-memory simulator of the Qualifica
// platform contract (spec/QUALIFICA.md), for tests (in process, httptest
// style) and for local runs behind cmd/qualifica-sim.
//
// It checks everything the contract checks — credentials, bearer tokens and
// their expiry or revocation, content types, unknown JSON fields, required
// fields, product codes and dates — and answers with the contract's
// {"codigo", "mensagem"} bodies. Knobs inject latency, 5xx, timeouts and a
// per-client rate limit; fault injection is driven by a seeded random source
// so tests are deterministic.
//
// Introspection lives under /_sim/ (no authentication, not part of the
// contract):
//
//	GET  /_sim/usuarios                 users with passwords, plans and create counts
//	POST /_sim/usuarios/{usuario}/senha {"senha": "..."}: change a password as a customer would
//	POST /_sim/revogar                  revoke every token
//	POST /_sim/reset                    forget users, tokens and counters; restore the Options knobs
//	GET  /_sim/chamadas                 call counts (see Calls)
//	GET  /_sim/falhas                   current knobs
//	POST /_sim/falhas                   {"taxa_5xx", "taxa_timeout", "latencia_ms", "limite_rps"}, each optional
package qualificasim

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/svahub/svahub/pkg/qualifica"
)

// Defaults applied by [New] to a zero [Options].
const (
	DefaultClientID     = "svahub-test"
	DefaultClientSecret = "segredo-teste"
	DefaultTokenTTL     = time.Hour
	DefaultTimeoutDelay = 30 * time.Second
)

// Operation keys counted by [Sim.Calls]: one per request that reached an
// operation (whatever its outcome), plus the outcome keys Call429, Call5xx and
// CallTimeout for injected faults and rate limiting.
const (
	OpToken       = "token"
	OpProducts    = "produtos"
	OpCreateUser  = "criar_usuario"
	OpQuery       = "consultar"
	OpPutPlan     = "ativar_plano"
	OpSuspend     = "suspender"
	OpReactivate  = "reativar"
	OpCancel      = "cancelar"
	Call429       = "429"
	Call5xx       = "5xx"
	CallTimeout   = "timeout"
	maxBodyBytes  = 1 << 20
	tokenByteSize = 24
)

// DefaultCatalogue returns the catalogue used when [Options.Catalogue] is empty:
// pro, premium and 1001.
func DefaultCatalogue() []qualifica.Product {
	return []qualifica.Product{
		{Code: "pro", Name: "Qualifica Pro"},
		{Code: "premium", Name: "Qualifica Premium"},
		{Code: "1001", Name: "Curso 1001"},
	}
}

// Options configures a [Sim]. The zero value is a working simulator.
type Options struct {
	// Clients maps client_id to client_secret.
	// Default {DefaultClientID: DefaultClientSecret}.
	Clients map[string]string
	// Catalogue is the product catalogue. Default DefaultCatalogue().
	Catalogue []qualifica.Product
	// TokenTTL is the lifetime of issued tokens. Default 1h.
	TokenTTL time.Duration
	// Latency is added to every contract request.
	Latency time.Duration
	// FailRate is the fraction (0..1) of contract requests answered 503.
	FailRate float64
	// TimeoutRate is the fraction (0..1) of contract requests that hang for
	// TimeoutDelay (or until the request is abandoned) and then answer 504.
	TimeoutRate float64
	// TimeoutDelay is how long a "timeout" request hangs. Default 30s.
	TimeoutDelay time.Duration
	// RateLimit is the allowed requests per second per client_id (token
	// bucket, burst max(1, int(RateLimit))); 0 means unlimited. Over the
	// limit: 429, Retry-After: 1, codigo "limite_excedido". The key is the
	// token's client_id, or the form's client_id on the token endpoint.
	RateLimit float64
	// Seed seeds the random source of fault injection.
	Seed int64
	// Now is the clock for token expiry and date validation. Default time.Now.
	Now func() time.Time
	// NoTokenFaults exempts POST /oauth/token from FailRate and TimeoutRate
	// (it stays subject to latency and rate limit). Default: faults apply to
	// every contract route.
	NoTokenFaults bool
	// ConflictOmitsReference makes 409 usuario_existente bodies carry only
	// codigo, mensagem and id, as the written contract shows, instead of also
	// carrying the existing user's referencia.
	ConflictOmitsReference bool
}

// SimUser is a snapshot of a simulated platform user.
type SimUser struct {
	ID        string           `json:"id"`
	Username  string           `json:"usuario"`
	Password  string           `json:"senha"`
	Reference string           `json:"referencia"`
	Name      string           `json:"nome"`
	Document  string           `json:"cpf_cnpj"`
	Email     string           `json:"email"`
	Phone     string           `json:"telefone"`
	Plans     []qualifica.Plan `json:"planos"`
	// CreateCalls counts successful creates of this user (always 1 unless
	// something created it twice).
	CreateCalls int `json:"chamadas_criacao"`
	// CreateConflicts counts the creates refused with 409 for this usuario.
	CreateConflicts int `json:"conflitos_criacao"`
}

// Sim is the simulator. It implements http.Handler and is safe for
// concurrent use.
type Sim struct {
	mux          *http.ServeMux
	opts         Options // normalised; read-only after New
	products     map[string]qualifica.Product
	timeoutDelay time.Duration
	now          func() time.Time

	done      chan struct{}
	closeOnce sync.Once
	srv       *httptest.Server

	mu          sync.Mutex
	latency     time.Duration
	failRate    float64
	timeoutRate float64
	rateLimit   float64
	rng         *mrand.Rand
	tokens      map[string]tokenInfo
	limiters    map[string]*rate.Limiter
	users       []*user
	byID        map[string]*user
	byUsername  map[string]*user
	nextID      int
	calls       map[string]int
}

type tokenInfo struct {
	clientID string
	expires  time.Time
}

type user struct {
	SimUser
	plans []*plan
}

type plan struct {
	product string
	status  string // ativo, suspenso or cancelado; expirado is derived
	expires string
}

// New returns a simulator configured by opts (see [Options] for defaults).
// Serve it with any http.Server, or use [NewServer] in tests.
func New(opts Options) *Sim {
	if len(opts.Clients) == 0 {
		opts.Clients = map[string]string{DefaultClientID: DefaultClientSecret}
	} else {
		cp := make(map[string]string, len(opts.Clients))
		for k, v := range opts.Clients {
			cp[k] = v
		}
		opts.Clients = cp
	}
	if len(opts.Catalogue) == 0 {
		opts.Catalogue = DefaultCatalogue()
	} else {
		opts.Catalogue = append([]qualifica.Product(nil), opts.Catalogue...)
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = DefaultTokenTTL
	}
	if opts.TimeoutDelay <= 0 {
		opts.TimeoutDelay = DefaultTimeoutDelay
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Sim{
		opts:         opts,
		products:     make(map[string]qualifica.Product, len(opts.Catalogue)),
		timeoutDelay: opts.TimeoutDelay,
		now:          opts.Now,
		done:         make(chan struct{}),
		rng:          mrand.New(mrand.NewPCG(uint64(opts.Seed), 0x5eed)),
	}
	for _, p := range opts.Catalogue {
		s.products[p.Code] = p
	}
	s.resetLocked()
	s.routes()
	return s
}

// NewServer starts s on an httptest.Server and closes it when the test ends.
func NewServer(t testing.TB, opts Options) *Sim {
	t.Helper()
	s := New(opts)
	s.srv = httptest.NewServer(s)
	t.Cleanup(s.Close)
	return s
}

// URL returns the base URL of the server started by [NewServer], or "".
func (s *Sim) URL() string {
	if s.srv == nil {
		return ""
	}
	return s.srv.URL
}

// Close releases hanging and sleeping requests and, when started by
// [NewServer], shuts the server down. It is idempotent.
func (s *Sim) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		if s.srv != nil {
			s.srv.Close()
		}
	})
}

// ServeHTTP serves the contract and the /_sim/ introspection routes.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// SetFaults sets the fractions (clamped to 0..1) of requests answered 503 and
// of requests that hang and answer 504.
func (s *Sim) SetFaults(failRate, timeoutRate float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failRate, s.timeoutRate = clamp01(failRate), clamp01(timeoutRate)
}

// SetLatency sets the latency added to every contract request.
func (s *Sim) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = max(0, d)
}

// SetRateLimit sets the per-client rate limit (0 = unlimited) and refills
// every bucket.
func (s *Sim) SetRateLimit(rps float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateLimit = max(0, rps)
	s.limiters = map[string]*rate.Limiter{}
}

// RevokeTokens invalidates every issued token: later calls with them get 401
// token_invalido.
func (s *Sim) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = map[string]tokenInfo{}
}

// Users returns a snapshot of every user, in creation order.
func (s *Sim) Users() []SimUser {
	s.mu.Lock()
	defer s.mu.Unlock()
	today := s.today()
	out := make([]SimUser, 0, len(s.users))
	for _, u := range s.users {
		out = append(out, u.snapshot(today))
	}
	return out
}

// UserByUsername returns a snapshot of the user with that usuario.
func (s *Sim) UserByUsername(username string) (SimUser, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.byUsername[username]
	if !ok {
		return SimUser{}, false
	}
	return u.snapshot(s.today()), true
}

// SetPassword changes a user's password, as the customer would on the
// platform.
func (s *Sim) SetPassword(username, password string) error {
	if password == "" {
		return errors.New("qualificasim: senha vazia")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.byUsername[username]
	if !ok {
		return fmt.Errorf("qualificasim: usuário %q não encontrado", username)
	}
	u.Password = password
	return nil
}

// Calls returns a copy of the call counters: one key per operation (OpToken,
// OpProducts, ...) counting every request that reached it, plus Call429,
// Call5xx and CallTimeout counting injected outcomes.
func (s *Sim) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// Reset forgets users, tokens, rate-limit buckets and counters, and restores
// the latency, fault and rate-limit knobs to the Options given to New. User
// ids keep increasing across resets.
func (s *Sim) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetLocked()
}

func (s *Sim) resetLocked() {
	s.latency = max(0, s.opts.Latency)
	s.failRate = clamp01(s.opts.FailRate)
	s.timeoutRate = clamp01(s.opts.TimeoutRate)
	s.rateLimit = max(0, s.opts.RateLimit)
	s.tokens = map[string]tokenInfo{}
	s.limiters = map[string]*rate.Limiter{}
	s.users = nil
	s.byID = map[string]*user{}
	s.byUsername = map[string]*user{}
	s.calls = map[string]int{}
}

// today is the current date (YYYY-MM-DD) by the simulator clock.
func (s *Sim) today() string {
	return s.now().Format(qualifica.DateLayout)
}

func (u *user) snapshot(today string) SimUser {
	su := u.SimUser
	su.Plans = u.apiPlans(today)
	return su
}

func (u *user) apiPlans(today string) []qualifica.Plan {
	plans := make([]qualifica.Plan, 0, len(u.plans))
	for _, p := range u.plans {
		plans = append(plans, p.api(today))
	}
	return plans
}

func (u *user) plan(product string) *plan {
	for _, p := range u.plans {
		if p.product == product {
			return p
		}
	}
	return nil
}

// api reports the plan; an active plan past its date is "expirado".
func (p *plan) api(today string) qualifica.Plan {
	status := p.status
	if status == qualifica.StatusActive && p.expires < today {
		status = qualifica.StatusExpired
	}
	return qualifica.Plan{Product: p.product, Status: status, ExpiresOn: p.expires}
}

func (s *Sim) count(keys ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		s.calls[k]++
	}
}

type fault int

const (
	faultNone fault = iota
	fault5xx
	faultTimeout
)

// draw returns the latency to add and the fault to inject for one request.
func (s *Sim) draw(faultable bool) (time.Duration, fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !faultable || (s.failRate <= 0 && s.timeoutRate <= 0) {
		return s.latency, faultNone
	}
	x := s.rng.Float64()
	switch {
	case x < s.failRate:
		return s.latency, fault5xx
	case x < s.failRate+s.timeoutRate:
		return s.latency, faultTimeout
	}
	return s.latency, faultNone
}

// allow takes one request from clientID's bucket.
func (s *Sim) allow(clientID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rateLimit <= 0 {
		return true
	}
	lim, ok := s.limiters[clientID]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(s.rateLimit), max(1, int(s.rateLimit)))
		s.limiters[clientID] = lim
	}
	return lim.Allow()
}

// sleep waits d; false when the request or the simulator ended first.
func (s *Sim) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.done:
		return false
	}
}

// issueToken stores and returns a new token for clientID.
func (s *Sim) issueToken(clientID string) (string, time.Duration) {
	b := make([]byte, tokenByteSize)
	_, _ = rand.Read(b)
	tok := "qt_" + hex.EncodeToString(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[tok] = tokenInfo{clientID: clientID, expires: s.now().Add(s.opts.TokenTTL)}
	return tok, s.opts.TokenTTL
}

// tokenClient returns the client_id of a valid token.
func (s *Sim) tokenClient(tok string) (string, bool) {
	if tok == "" {
		return "", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	info, ok := s.tokens[tok]
	if !ok {
		return "", false
	}
	if !s.now().Before(info.expires) {
		delete(s.tokens, tok)
		return "", false
	}
	return info.clientID, true
}

// checkClient reports whether clientID and secret match a configured client.
func (s *Sim) checkClient(clientID, secret string) bool {
	want, ok := s.opts.Clients[clientID]
	return ok && subtle.ConstantTimeCompare([]byte(want), []byte(secret)) == 1
}

func clamp01(f float64) float64 {
	return min(1, max(0, f))
}
