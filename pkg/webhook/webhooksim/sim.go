// Package webhooksim is an in-memory receiver of svahub's `webhook`
// platform (spec WEBHOOK.md), for tests (in process, httptest style), for
// local runs behind cmd/webhook-sim, and as a starting point for a real
// receiver.
//
// It verifies every request as the Standard Webhooks specification says,
// with its own code: the webhook-signature (v1, HMAC-SHA256 of
// "<webhook-id>.<webhook-timestamp>.<body>" under the base64-decoded part of
// the whsec_ secret, compared in constant time), a webhook-timestamp within
// Tolerance of its clock, and the webhook-id: a repeated id with the same
// content is a duplicate delivery, answered with the recorded answer without
// applying the command again; a repeated id with other content is refused.
// It keeps users and plans in memory and can inject failures and latency.
//
// Introspection lives under /_sim/ (no authentication, not part of the
// contract):
//
//	GET  /_sim/usuarios   users
//	GET  /_sim/planos     plans
//	GET  /_sim/recebidas  every verified request, in order
//	POST /_sim/falhas     {"tipo", "status", "n", "retry_after_s"}: fail the next n requests
//	POST /_sim/latencia   {"latencia_ms"}
//	POST /_sim/reset      forget users, plans, requests and failures
package webhooksim

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// DefaultTolerance is how far webhook-timestamp may be from the clock.
const DefaultTolerance = 5 * time.Minute

const maxBodyBytes = 1 << 20

// Options configures a [Sim]. The zero value is a working receiver with a
// generated secret.
type Options struct {
	// Secret is the signing secret ("whsec_" + base64); generated when empty.
	Secret string
	// Tolerance bounds |now - webhook-timestamp|. Default DefaultTolerance.
	Tolerance time.Duration
	// Latency is added to every request.
	Latency time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Request is one verified request as received.
type Request struct {
	ID        string          `json:"webhook_id"`
	Type      string          `json:"tipo"`
	Timestamp int64           `json:"webhook_timestamp"`
	Data      json.RawMessage `json:"dados"`
	UserAgent string          `json:"user_agent"`
	// Status is the answer given.
	Status int `json:"status"`
	// Duplicate is true when the id had been applied before (dedup).
	Duplicate bool `json:"duplicada"`
	// Injected is true when the answer was an injected failure.
	Injected bool `json:"falha_injetada"`
}

// User is a receiver's account, keyed by its referencia.
type User struct {
	ID               string  `json:"id_usuario"`
	Referencia       string  `json:"referencia"`
	Usuario          string  `json:"usuario"`
	Senha            string  `json:"senha"`
	Nome             string  `json:"nome"`
	Email            *string `json:"email"`
	CPFCNPJ          *string `json:"cpf_cnpj"`
	Telefone         *string `json:"telefone,omitempty"`
	IDCliente        *int64  `json:"id_cliente"`
	IDClienteServico *int64  `json:"id_cliente_servico"`
}

// Plan is a product on a user, keyed by the user's referencia and the
// product.
type Plan struct {
	Referencia    string `json:"referencia"`
	Usuario       string `json:"usuario"`
	Produto       string `json:"produto"`
	Status        string `json:"status"`
	DataExpiracao string `json:"data_expiracao"`
}

// Plan statuses.
const (
	StatusActive    = "ativo"
	StatusSuspended = "suspenso"
	StatusCancelled = "cancelado"
)

type failure struct {
	typ        string
	status     int
	n          int
	retryAfter int
}

type recorded struct {
	digest [32]byte
	status int
	body   []byte
}

type planKey struct{ referencia, produto string }

// Sim is the receiver. It implements http.Handler and is safe for
// concurrent use.
type Sim struct {
	key       []byte
	secret    string
	tolerance time.Duration
	now       func() time.Time

	mu       sync.Mutex
	latency  time.Duration
	failures []*failure
	lossy    map[string]int
	seen     map[string]recorded
	received []Request
	applied  map[string]int
	nextID   int
	users    map[string]*User // by referencia
	byLogin  map[string]*User
	plans    map[planKey]*Plan
	order    []planKey
}

// New returns a receiver configured by opts. It fails when opts.Secret is
// set and is not a valid secret.
func New(opts Options) (*Sim, error) {
	if opts.Secret == "" {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		opts.Secret = "whsec_" + base64.StdEncoding.EncodeToString(b)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(opts.Secret, "whsec_"))
	if err != nil || !strings.HasPrefix(opts.Secret, "whsec_") || len(key) < 24 || len(key) > 64 {
		return nil, errors.New("webhooksim: the secret must be whsec_ + base64 of 24 to 64 bytes")
	}
	if opts.Tolerance <= 0 {
		opts.Tolerance = DefaultTolerance
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Sim{key: key, secret: opts.Secret, tolerance: opts.Tolerance, now: opts.Now, latency: opts.Latency}
	s.Reset()
	return s, nil
}

// NewServer starts s behind an httptest.Server closed at the end of t.
func NewServer(t testing.TB, opts Options) (*Sim, *httptest.Server) {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

// Secret returns the signing secret.
func (s *Sim) Secret() string { return s.secret }

// Reset forgets users, plans, requests, seen ids and failures.
func (s *Sim) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures, s.lossy = nil, map[string]int{}
	s.seen, s.received, s.applied = map[string]recorded{}, nil, map[string]int{}
	s.users, s.byLogin, s.nextID = map[string]*User{}, map[string]*User{}, 0
	s.plans, s.order = map[planKey]*Plan{}, nil
}

// FailNext answers the next n verified requests of typ ("" for any type)
// with status, before applying them (a 429 carries Retry-After: 1).
func (s *Sim) FailNext(typ string, status, n int) {
	s.FailNextRetryAfter(typ, status, n, 1)
}

// FailNextRetryAfter is FailNext with a Retry-After of retryAfter seconds
// on 429 and 503 answers (none when retryAfter is 0).
func (s *Sim) FailNextRetryAfter(typ string, status, n, retryAfter int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, &failure{typ: typ, status: status, n: n, retryAfter: retryAfter})
}

// LoseNext applies the next n requests of typ ("" for any) but answers
// 503, as if the answer were lost: the sender retries with the same id and
// gets the recorded answer.
func (s *Sim) LoseNext(typ string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lossy[typ] += n
}

// SetLatency sets the latency added to every request.
func (s *Sim) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// Received returns every verified request, in order.
func (s *Sim) Received() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.received...)
}

// Count is how many verified requests of typ arrived ("" for all),
// duplicates and injected failures included.
func (s *Sim) Count(typ string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.received {
		if typ == "" || r.Type == typ {
			n++
		}
	}
	return n
}

// Applied is how many requests of typ were applied (each webhook-id at most
// once).
func (s *Sim) Applied(typ string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.applied[typ]
}

// Plan returns the status and expiry of the plan of produto of the user
// whose login is usuario.
func (s *Sim) Plan(usuario, produto string) (status, expiry string, ok bool) {
	s.mu.Lock()
	u := s.byLogin[usuario]
	s.mu.Unlock()
	if u == nil {
		return "", "", false
	}
	return s.PlanByReference(u.Referencia, produto)
}

// PlanByReference returns the status and expiry of the plan of produto of
// the user with referencia.
func (s *Sim) PlanByReference(referencia, produto string) (status, expiry string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.plans[planKey{referencia, produto}]
	if !ok {
		return "", "", false
	}
	return p.Status, p.DataExpiracao, true
}

// Plans returns every plan, in creation order.
func (s *Sim) Plans() []Plan {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Plan, 0, len(s.order))
	for _, k := range s.order {
		out = append(out, *s.plans[k])
	}
	return out
}

// User returns the user with login usuario.
func (s *Sim) User(usuario string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.byLogin[usuario]
	if !ok {
		return User{}, false
	}
	return *u, true
}

// UserByReference returns the user with referencia.
func (s *Sim) UserByReference(referencia string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[referencia]
	if !ok {
		return User{}, false
	}
	return *u, true
}

// Users returns every user.
func (s *Sim) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]User, 0, len(s.users))
	for _, u := range s.users {
		out = append(out, *u)
	}
	return out
}

// Verify checks a request's Standard Webhooks headers against body: the
// signature (any of the space-separated v1 entries) and the timestamp
// tolerance. It returns the webhook-id and timestamp, or the HTTP status
// and message to refuse with.
func (s *Sim) Verify(h http.Header, body []byte) (id string, ts int64, status int, msg string) {
	id, tsRaw, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || tsRaw == "" || sigs == "" {
		return "", 0, http.StatusBadRequest, "cabeçalhos webhook-id, webhook-timestamp e webhook-signature são obrigatórios"
	}
	ts, err := strconv.ParseInt(tsRaw, 10, 64)
	if err != nil {
		return "", 0, http.StatusBadRequest, "webhook-timestamp inválido"
	}
	if d := s.now().Sub(time.Unix(ts, 0)); d > s.tolerance || d < -s.tolerance {
		return "", 0, http.StatusUnauthorized, "webhook-timestamp fora da tolerância"
	}
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(id + "." + tsRaw + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for sig := range strings.FieldsSeq(sigs) {
		v, b64, ok := strings.Cut(sig, ",")
		got, err := base64.StdEncoding.DecodeString(b64)
		if ok && v == "v1" && err == nil && subtle.ConstantTimeCompare(got, want) == 1 {
			return id, ts, 0, ""
		}
	}
	return "", 0, http.StatusUnauthorized, "assinatura inválida"
}

// digest fingerprints a command's content: type and data (the envelope's
// timestamp is the attempt's, so it may differ between deliveries).
func digest(typ string, data json.RawMessage) [32]byte {
	var buf bytes.Buffer
	buf.WriteString(typ)
	buf.WriteByte(0)
	_ = json.Compact(&buf, data)
	return sha256.Sum256(buf.Bytes())
}
