// Package webhook is the generic `webhook` platform (spec WEBHOOK.md): each
// provisioning step is a signed POST to one URL, following the Standard
// Webhooks specification (webhook-id, webhook-timestamp, webhook-signature
// v1 HMAC-SHA256). The platform has no token, no catalogue and no
// read-back; a lost outcome is settled by resending the command under the
// same webhook-id, which receivers deduplicate.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/svahub/svahub/internal/buildinfo"
	"github.com/svahub/svahub/internal/platform/egress"
	"github.com/svahub/svahub/internal/svahub"
)

// Name is the `plataforma` value of this adapter.
const Name = "webhook"

// Command types (the body's "type", and the operation part of webhook-id).
const (
	TypeCreateUser   = "usuario.criar"
	TypeActivatePlan = "plano.ativar"
	TypeUpdateExpiry = "plano.atualizar_expiracao"
	TypeSuspend      = "plano.suspender"
	TypeReactivate   = "plano.reativar"
	TypeCancel       = "plano.cancelar"
	TypeTest         = "integracao.teste"
)

// commandTypes maps svahub's operations to the command types that carry
// them (WEBHOOK.md). Token, catalogue and consultar have none: the
// receiver has no such call.
var commandTypes = map[svahub.Operation]string{
	svahub.OpCreateUser: TypeCreateUser, svahub.OpActivatePlan: TypeActivatePlan, svahub.OpUpdateExpiry: TypeUpdateExpiry,
	svahub.OpSuspend: TypeSuspend, svahub.OpReactivate: TypeReactivate, svahub.OpCancel: TypeCancel,
}

// CommandType returns the command type that carries op, and false when the
// webhook platform has no command for it.
func CommandType(op svahub.Operation) (string, bool) {
	t, ok := commandTypes[op]
	return t, ok
}

// SecretPrefix starts every secret.
const SecretPrefix = "whsec_"

// Secret key sizes, in bytes (after base64 decoding).
const (
	MinSecretBytes = 24
	MaxSecretBytes = 64
	// GeneratedSecretBytes is the size GenerateSecret uses.
	GeneratedSecretBytes = 32
)

// DefaultTimeout bounds one call when Config.Timeout is zero.
const DefaultTimeout = 15 * time.Second

// maxAnswerBytes is how much of an answer body is read.
const maxAnswerBytes = 64 << 10

// Capabilities are what a webhook platform offers: nothing to read back,
// no token, no catalogue, no reconciliation.
var Capabilities = svahub.Capabilities{}

// RefusedMessage is the error of a call whose address the dial refused.
const RefusedMessage = "endereço da plataforma não permitido: resolve para um endereço interno (libere-o em SVAHUB_PLATFORM_ALLOWED_HOSTS se for mesmo a plataforma)"

// Config is what the adapter needs to reach one receiver.
type Config struct {
	// URL receives every command (POST).
	URL string
	// Secret is the signing secret, "whsec_" + base64 of 24–64 bytes.
	Secret string
	// HTTPClient makes every call; it must not follow redirects (the
	// guarded egress client does not). Nil: a plain client that refuses
	// redirects (tests only).
	HTTPClient *http.Client
	// Timeout bounds one call; DefaultTimeout when zero.
	Timeout time.Duration
	// UserAgent is sent as user-agent; "svahub/<version>" when empty.
	UserAgent string
	// Limiter paces the commands (svahub.PlatformConfig.Limiter); nil: no
	// limit.
	Limiter svahub.Limiter
}

// String hides the secret when printed.
func (c Config) String() string {
	return fmt.Sprintf("webhook.Config{URL:%q Secret:[redacted]}", c.URL)
}

// Adapter is one webhook receiver. It implements svahub.Platform.
type Adapter struct {
	url       string
	key       []byte
	client    *http.Client
	timeout   time.Duration
	userAgent string
	limiter   svahub.Limiter
	now       func() time.Time
}

var _ svahub.Platform = (*Adapter)(nil)

// New checks cfg and returns its adapter.
func New(cfg Config) (*Adapter, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("webhook: url deve ser um endereço http(s) absoluto")
	}
	key, err := decodeSecret(cfg.Secret)
	if err != nil {
		return nil, err
	}
	a := &Adapter{url: cfg.URL, key: key, client: cfg.HTTPClient, timeout: cfg.Timeout, userAgent: cfg.UserAgent, limiter: cfg.Limiter, now: time.Now}
	if a.client == nil {
		a.client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if a.timeout <= 0 {
		a.timeout = DefaultTimeout
	}
	if a.userAgent == "" {
		a.userAgent = "svahub/" + buildinfo.Get().Version
	}
	return a, nil
}

// GenerateSecret returns a new random secret of GeneratedSecretBytes bytes.
func GenerateSecret() (string, error) {
	b := make([]byte, GeneratedSecretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// ValidSecret reports why s is not a usable secret (nil when it is). The
// error never quotes s.
func ValidSecret(s string) error {
	_, err := decodeSecret(s)
	return err
}

func decodeSecret(s string) ([]byte, error) {
	rest, ok := strings.CutPrefix(s, SecretPrefix)
	if !ok {
		return nil, errors.New("webhook: segredo deve começar com " + SecretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return nil, errors.New("webhook: segredo deve ser " + SecretPrefix + " seguido de base64")
	}
	if len(key) < MinSecretBytes || len(key) > MaxSecretBytes {
		return nil, fmt.Errorf("webhook: segredo deve ter de %d a %d bytes", MinSecretBytes, MaxSecretBytes)
	}
	return key, nil
}

// Sign returns the webhook-signature value ("v1,<base64>") of body sent
// under id at timestamp ts (unix seconds).
func Sign(key []byte, id string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(ts, 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// commandID is the webhook-id of typ: the engine's command id when ctx
// carries a command, else a random msg_ id.
func commandID(ctx context.Context, typ string) (string, error) {
	if c, ok := svahub.CommandFrom(ctx); ok {
		return c.ID(typ), nil
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "msg_" + hex.EncodeToString(b), nil
}

// envelope is the body of every command.
type envelope struct {
	Type      string `json:"type"`
	Timestamp string `json:"timestamp"`
	Data      any    `json:"data"`
}

// answer is what the receiver said.
type answer struct {
	status int
	body   []byte
}

// send POSTs one command and classifies the answer: nil error for 2xx
// (and for the statuses in accept).
func (a *Adapter) send(ctx context.Context, typ string, data any, accept ...int) (answer, error) {
	id, err := commandID(ctx, typ)
	if err != nil {
		return answer{}, &svahub.PlatformError{Kind: svahub.PlatformTemporary, Message: "falha ao gerar o webhook-id", Cause: err}
	}
	if a.limiter != nil {
		if err := a.limiter.Wait(ctx); err != nil {
			return answer{}, transportError(ctx, err)
		}
	}
	now := a.now()
	body, err := json.Marshal(envelope{Type: typ, Timestamp: now.UTC().Format(time.RFC3339), Data: data})
	if err != nil {
		return answer{}, &svahub.PlatformError{Kind: svahub.PlatformPermanent, Message: "falha ao montar o comando", Cause: err}
	}
	cctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodPost, a.url, bytes.NewReader(body))
	if err != nil {
		return answer{}, &svahub.PlatformError{Kind: svahub.PlatformPermanent, Message: "url da plataforma inválida"}
	}
	ts := now.Unix()
	req.Header.Set("content-type", "application/json")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", Sign(a.key, id, ts, body))
	req.Header.Set("user-agent", a.userAgent)
	resp, err := a.client.Do(req)
	if err != nil {
		return answer{}, transportError(ctx, err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	svahub.NoteCallStatus(ctx, resp.StatusCode)
	ans := answer{status: resp.StatusCode, body: raw}
	for _, s := range accept {
		if s == resp.StatusCode {
			return ans, nil
		}
	}
	err = classify(resp, raw)
	if pe, ok := svahub.AsPlatformError(err); ok && resp.StatusCode == http.StatusNotFound && planCommand(typ) {
		// The receiver does not have the plan (WEBHOOK answers: 404).
		pe.Kind = svahub.PlatformNotFound
	}
	return ans, err
}

// planCommand reports whether typ acts on an existing plan, so that a 404
// answer means the receiver does not have it.
func planCommand(typ string) bool {
	return typ == TypeSuspend || typ == TypeReactivate || typ == TypeUpdateExpiry
}

// transportError classifies a call that got no answer.
func transportError(ctx context.Context, err error) error {
	if errors.Is(err, egress.ErrRefused) {
		return &svahub.PlatformError{Kind: svahub.PlatformPermanent, Code: "endereco_nao_permitido", Message: RefusedMessage}
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return ctx.Err()
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the URL may carry a query; keep only the cause
	}
	return &svahub.PlatformError{Kind: svahub.PlatformTemporary, Message: "falha ao chamar a plataforma", Cause: err}
}

// classify maps a non-2xx answer to *svahub.PlatformError (nil for 2xx).
func classify(resp *http.Response, raw []byte) error {
	st := resp.StatusCode
	if st >= 200 && st < 300 {
		return nil
	}
	var body struct {
		Codigo   string `json:"codigo"`
		Mensagem string `json:"mensagem"`
	}
	_ = json.Unmarshal(raw, &body)
	pe := &svahub.PlatformError{Status: st, Code: svahub.PlatformMessage(body.Codigo), Message: svahub.PlatformMessage(body.Mensagem)}
	if pe.Message == "" {
		pe.Message = strings.ToLower(http.StatusText(st))
		if pe.Message == "" {
			pe.Message = "HTTP " + strconv.Itoa(st)
		}
	}
	switch {
	case st == http.StatusTooManyRequests:
		pe.Kind = svahub.PlatformTemporary
		pe.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), time.Now())
	case st == http.StatusRequestTimeout || st >= 500:
		pe.Kind = svahub.PlatformTemporary
		pe.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), time.Now())
	case st >= 300 && st < 400:
		pe.Kind = svahub.PlatformPermanent
		pe.Code = "redirecionamento"
		pe.Message = "a plataforma respondeu com um redirecionamento (HTTP " + strconv.Itoa(st) + "), que não é seguido"
	default:
		pe.Kind = svahub.PlatformPermanent
	}
	return pe
}

// retryAfter parses a Retry-After header (seconds or an HTTP date).
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
