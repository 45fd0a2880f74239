// Package platform connects svahub to content platforms: a registry of
// adapters keyed by `plataforma`, per-integration sessions with a cached,
// sealed-at-rest access token renewed before it expires (and once on a
// refused token), and a transmission row for every platform call.
//
// It also decorates the catalogue service so that saving an integration
// generates its token and saving a product checks its code against the
// platform catalogue.
package platform

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/svahub/svahub/internal/platform/egress"
	"github.com/svahub/svahub/internal/svahub"
)

// Store is the persistence the platform layer needs.
type Store interface {
	Credentials(ctx context.Context, id int64) (*svahub.Credentials, error)
	SaveToken(ctx context.Context, id int64, version int64, token string, expiresAt time.Time, status svahub.TokenStatus, message string) error
	RecordTransmission(ctx context.Context, t *svahub.Transmission) error
}

// Options configure a Manager.
type Options struct {
	// Registry maps `plataforma` to its adapter declaration.
	Registry svahub.Registry
	// Timeout bounds one platform call (default 10s).
	Timeout time.Duration
	// RateLimitRPS is the default per-integration request rate (default 10).
	RateLimitRPS float64
	// RenewBefore renews a token this long before it expires (default 60s).
	RenewBefore time.Duration
	// QuickRetries is how many times a call that failed temporarily (5xx,
	// timeout; not 429) is repeated at once, QuickRetryDelay × n apart,
	// before the failure goes back to the job (defaults 2 and 200 ms).
	QuickRetries    int
	QuickRetryDelay time.Duration
	Logger          *slog.Logger
	Now             func() time.Time
	// RetryAfterMax caps the wait a platform asks for with Retry-After
	// (default 10 min): a scheduled job must not be parked for days.
	RetryAfterMax time.Duration
	// Egress decides which platform addresses may be reached and gives
	// every adapter its HTTP client (default: no internal address allowed).
	Egress *egress.Policy
	// Observer, when set, is told about every platform call (metrics).
	Observer func(platform string, op svahub.Operation, outcome svahub.Outcome, d time.Duration)
	// RateObserver, when set, is told the rate this process paces an
	// integration at whenever it changes, and among how many processes
	// the integration's limit is divided (metrics).
	RateObserver func(integration int64, processes int, rate float64)
	// Budget, when set, shares each integration's rate limit with the
	// other processes on the same database (PostgreSQL); nil: this process
	// paces its calls at the whole limit.
	Budget *BudgetOptions
}

// Manager holds one session per integration.
type Manager struct {
	store Store
	opts  Options

	budget *budget // nil: a lone process

	mu       sync.Mutex
	sessions map[int64]*session
	limiters map[int64]*limiter
	renew    singleflight.Group
}

type session struct {
	fingerprint string
	platform    svahub.Platform
	name        string
	caps        svahub.Capabilities

	mu        sync.Mutex
	token     string
	expiresAt time.Time
}

// NewManager builds a Manager.
func NewManager(store Store, opts Options) *Manager {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.RateLimitRPS <= 0 {
		opts.RateLimitRPS = 10
	}
	if opts.RenewBefore <= 0 {
		opts.RenewBefore = time.Minute
	}
	if opts.QuickRetries == 0 {
		opts.QuickRetries = 2
	}
	if opts.QuickRetryDelay <= 0 {
		opts.QuickRetryDelay = 200 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RetryAfterMax <= 0 {
		opts.RetryAfterMax = 10 * time.Minute
	}
	if opts.Egress == nil {
		opts.Egress, _ = egress.New(nil) // no entries: cannot fail
	}
	m := &Manager{store: store, opts: opts, sessions: map[int64]*session{}, limiters: map[int64]*limiter{}}
	if opts.Budget != nil {
		m.budget = newBudget(*opts.Budget)
	}
	return m
}

// Adapter returns the declaration of the platform named name.
func (m *Manager) Adapter(name string) (svahub.Adapter, bool) {
	a, ok := m.opts.Registry[name]
	return a, ok
}

func fingerprint(c *svahub.Credentials) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s", c.Platform)
	keys := make([]string, 0, len(c.Params))
	for k := range c.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "\x00%s=%s", k, c.Params[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// session returns the integration's session, rebuilt when its credentials
// changed, seeded with the token stored in the database. Its calls are
// paced by the integration's limiter (this process's share of the limit).
func (m *Manager) session(ctx context.Context, id int64) (*session, *svahub.Credentials, error) {
	creds, err := m.store.Credentials(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	m.useBudget(ctx, id)
	rps := creds.RateLimitRPS
	if rps <= 0 {
		rps = m.opts.RateLimitRPS
	}
	fp := fingerprint(creds)
	m.mu.Lock()
	defer m.mu.Unlock()
	lim := m.pace(id, rps)
	if s, ok := m.sessions[id]; ok && s.fingerprint == fp {
		return s, creds, nil
	}
	ad, ok := m.opts.Registry[creds.Platform]
	if !ok {
		return nil, nil, svahub.Errorf(svahub.EINVALID, "plataforma %q não suportada", creds.Platform)
	}
	p, err := ad.New(svahub.PlatformConfig{Params: creds.Params, Timeout: m.opts.Timeout, Limiter: lim, HTTPClient: m.opts.Egress.Client()})
	if err != nil {
		return nil, nil, err
	}
	s := &session{fingerprint: fp, platform: p, name: creds.Platform, caps: ad.Capabilities, token: creds.AccessToken, expiresAt: creds.TokenExpiresAt}
	m.sessions[id] = s
	return s, creds, nil
}

// Ref says which subscription and access a call is made for.
type Ref struct {
	SubscriptionID *int64
	AccessID       *int64
	// Attempt is the job attempt (1 for calls outside jobs).
	Attempt int
}

// token returns a usable token, renewing it when it is missing, about to
// expire, or force is set.
func (m *Manager) token(ctx context.Context, id int64, s *session, creds *svahub.Credentials, force bool, ref Ref) (string, error) {
	if !s.caps.Token {
		return "", nil // the platform needs no token: every call gets ""
	}
	s.mu.Lock()
	tok, exp := s.token, s.expiresAt
	s.mu.Unlock()
	if !force && tok != "" && m.opts.Now().Add(m.opts.RenewBefore).Before(exp) {
		return tok, nil
	}
	// The renewal is shared by every caller waiting for this session's
	// token, so it runs on a context of its own: one caller going away
	// must not fail the others. Each caller still stops waiting when its
	// own context ends.
	ch := m.renew.DoChan(fmt.Sprintf("%d/%s", id, s.fingerprint), func() (any, error) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*m.opts.Timeout)
		defer cancel()
		return m.renewToken(rctx, id, s, creds, ref)
	})
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case r := <-ch:
		if r.Err != nil {
			return "", m.capRetryAfter(r.Err)
		}
		return r.Val.(string), nil
	}
}

// capRetryAfter cuts a platform's Retry-After to RetryAfterMax.
func (m *Manager) capRetryAfter(err error) error {
	if pe, ok := svahub.AsPlatformError(err); ok && pe.RetryAfter > m.opts.RetryAfterMax {
		pe.RetryAfter = m.opts.RetryAfterMax
	}
	return err
}

func (m *Manager) renewToken(ctx context.Context, id int64, s *session, creds *svahub.Credentials, ref Ref) (string, error) {
	start := m.opts.Now()
	t, err := s.platform.Token(ctx)
	m.record(ctx, id, s.name, svahub.OpToken, ref, start, err, nil)
	if err != nil {
		msg := "não foi possível gerar o token"
		if pe, ok := svahub.AsPlatformError(err); ok {
			msg = svahub.PlatformMessage(pe.Message)
		}
		if serr := m.store.SaveToken(context.WithoutCancel(ctx), id, creds.Version, "", time.Time{}, svahub.TokenError, msg); serr != nil {
			m.opts.Logger.Warn("save token status", "integration", id, "err", serr)
		}
		return "", err
	}
	exp := m.opts.Now().Add(t.ExpiresIn)
	s.mu.Lock()
	s.token, s.expiresAt = t.AccessToken, exp
	s.mu.Unlock()
	if err := m.store.SaveToken(context.WithoutCancel(ctx), id, creds.Version, t.AccessToken, exp, svahub.TokenValid, ""); err != nil {
		m.opts.Logger.Warn("save token", "integration", id, "err", err)
	}
	return t.AccessToken, nil
}

// Call runs fn against the integration's platform with a valid token and
// records it as a transmission of op. A refused token is renewed once and
// the call repeated once.
func (m *Manager) Call(ctx context.Context, id int64, op svahub.Operation, ref Ref, fn func(ctx context.Context, p svahub.Platform, token string) error) error {
	s, creds, err := m.session(ctx, id)
	if err != nil {
		return err
	}
	if ref.Attempt == 0 {
		ref.Attempt = 1
	}
	renewed, quick := false, 0
	for {
		tok, err := m.token(ctx, id, s, creds, false, ref)
		if err != nil {
			return err
		}
		start := m.opts.Now()
		cctx, status := svahub.WithCallStatus(ctx)
		err = m.capRetryAfter(fn(cctx, s.platform, tok))
		m.record(ctx, id, s.name, op, ref, start, err, status)
		pe, ok := svahub.AsPlatformError(err)
		switch {
		case !ok:
			return err
		case pe.TokenInvalid && !renewed:
			// The token was revoked: forget it (only if nobody renewed it
			// yet), get a new one and repeat the call once.
			renewed = true
			s.mu.Lock()
			if s.token == tok {
				s.token, s.expiresAt = "", time.Time{}
			}
			s.mu.Unlock()
		case pe.Kind == svahub.PlatformTemporary && pe.RetryAfter == 0 && quick < m.opts.QuickRetries:
			// A blip (5xx, timeout): every call is idempotent, so try again
			// shortly before handing the job back to River's backoff.
			quick++
			select {
			case <-ctx.Done():
				return err
			case <-time.After(time.Duration(quick) * m.opts.QuickRetryDelay):
			}
		default:
			return err
		}
	}
}

// record writes a transmission (or holds it: DeferTransmissions); it
// never fails the call. A success
// records the status the adapter noted (201 for a created user, 204 for a
// cancelled plan; 200 when it noted none).
func (m *Manager) record(ctx context.Context, id int64, platform string, op svahub.Operation, ref Ref, start time.Time, err error, status *svahub.CallStatus) {
	d := m.opts.Now().Sub(start)
	t := &svahub.Transmission{IntegrationID: id, SubscriptionID: ref.SubscriptionID, AccessID: ref.AccessID, Operation: op,
		Outcome: svahub.OutcomeSuccess, HTTPStatus: status.Status(200), DurationMS: d.Milliseconds(), Attempt: max(ref.Attempt, 1)}
	if err != nil {
		t.Outcome, t.HTTPStatus, t.Message = svahub.OutcomeTemporary, 0, "erro interno"
		if pe, ok := svahub.AsPlatformError(err); ok {
			t.HTTPStatus, t.Message = pe.Status, svahub.PlatformMessage(pe.Message)
			if pe.Status == 0 && pe.Cause != nil {
				m.opts.Logger.Warn("platform unreachable", "integration", id, "op", op, "cause", pe.Cause.Error())
			}
			if pe.Kind != svahub.PlatformTemporary {
				t.Outcome = svahub.OutcomeError
			}
		} else if ctx.Err() != nil {
			t.Message = "chamada interrompida"
		}
	}
	if m.opts.Observer != nil {
		m.opts.Observer(platform, op, t.Outcome, d)
	}
	if hold(ctx, t, m.opts.Now) {
		return
	}
	if err := m.store.RecordTransmission(context.WithoutCancel(ctx), t); err != nil {
		m.opts.Logger.Warn("record transmission", "integration", id, "op", op, "err", err)
	}
}

// RenewToken generates a new token now and answers the token block.
func (m *Manager) RenewToken(ctx context.Context, id int64) (*svahub.TokenInfo, error) {
	s, creds, err := m.session(ctx, id)
	if err != nil {
		if svahub.ErrorCode(err) == svahub.EINVALID {
			return &svahub.TokenInfo{Status: svahub.TokenError, Message: svahub.ErrorMessage(err)}, nil
		}
		return nil, err
	}
	if !s.caps.Token {
		return m.checkConfig(ctx, id, s, creds)
	}
	if _, err := m.token(ctx, id, s, creds, true, Ref{}); err != nil {
		if pe, ok := svahub.AsPlatformError(err); ok {
			return &svahub.TokenInfo{Status: svahub.TokenError, Message: svahub.PlatformMessage(pe.Message)}, nil
		}
		return nil, err
	}
	s.mu.Lock()
	exp := s.expiresAt
	s.mu.Unlock()
	return &svahub.TokenInfo{Status: svahub.TokenValid, ExpiresAt: &exp}, nil
}

// Catalogue reads the platform catalogue.
func (m *Manager) Catalogue(ctx context.Context, id int64) ([]svahub.CatalogueItem, error) {
	var items []svahub.CatalogueItem
	err := m.Call(ctx, id, svahub.OpCatalogue, Ref{}, func(ctx context.Context, p svahub.Platform, token string) error {
		var err error
		items, err = p.Catalogue(ctx, token)
		return err
	})
	return items, err
}

func codes(items []svahub.CatalogueItem) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.Code
	}
	sort.Strings(out)
	return out
}

func unknownCode(code string, items []svahub.CatalogueItem) error {
	valid := codes(items)
	return &svahub.Error{
		Code:    svahub.EINVALID,
		Message: fmt.Sprintf("o código %q não existe no catálogo da plataforma; códigos válidos: %s", code, strings.Join(valid, ", ")),
		Fields:  []svahub.FieldError{{Field: "codigo", Message: "código desconhecido na plataforma"}},
		Data:    map[string]any{"codigos_validos": valid},
	}
}
