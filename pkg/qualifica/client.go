package qualifica

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-resty/resty/v2"
	"golang.org/x/time/rate"
)

// Contract paths, in one place.
const (
	pathToken    = "/oauth/token"
	pathProducts = "/v1/produtos"
	pathUsers    = "/v1/usuarios"
)

// DefaultTimeout is the per-call timeout when [WithTimeout] is not given.
const DefaultTimeout = 10 * time.Second

// UserAgent is sent on every request.
const UserAgent = "svahub"

// maxResponseBody bounds the response bodies the client reads.
const maxResponseBody = 4 << 20

// Option configures a [Client].
type Option func(*Client)

// WithTimeout sets the per-call timeout (default [DefaultTimeout]). It is
// applied through the request context of each HTTP request, on top of any
// deadline of the caller's context; d <= 0 leaves only the caller's context.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) { c.timeout = d }
}

// WithRateLimit limits the client to rps requests per second with the given
// burst (at least 1), waiting on the caller's context before each request.
// rps <= 0 means no limit, the default. Share one Client among the callers
// that must share the limit.
func WithRateLimit(rps float64, burst int) Option {
	return func(c *Client) {
		if rps <= 0 {
			c.limiter = nil
			return
		}
		c.limiter = rate.NewLimiter(rate.Limit(rps), max(1, burst))
	}
}

// Limiter paces requests: Wait blocks until one may be sent, or fails when
// ctx ends first (or would end before). *rate.Limiter is one.
type Limiter interface {
	Wait(ctx context.Context) error
}

// WithLimiter makes the client wait on l before each request, so several
// clients (or processes sharing a budget) can share one pace whose rate the
// caller adjusts; nil means no limit. It replaces [WithRateLimit].
func WithLimiter(l Limiter) Option {
	return func(c *Client) {
		if l == nil {
			c.limiter = nil
			return
		}
		c.limiter = l
	}
}

// WithHTTPClient sets the underlying *http.Client (transport, TLS, proxy).
// The client is copied, not modified. Its own Timeout, if any, still
// applies; its redirect policy does not: the client never follows one.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.hc = hc
		}
	}
}

// Client calls the Qualifica platform. It holds no token or other state
// between calls and is safe for concurrent use.
type Client struct {
	baseURL string
	timeout time.Duration
	limiter Limiter
	hc      *http.Client
	rc      *resty.Client
	// onResponse is told the status of every answer (WithResponseHook).
	onResponse func(ctx context.Context, status int)
}

// New returns a client for the platform at baseURL (the integration's
// url_base, e.g. "https://api.example.com"; a trailing slash is ignored).
func New(baseURL string, opts ...Option) *Client {
	c := &Client{
		baseURL: strings.TrimRight(strings.TrimSpace(baseURL), "/"),
		timeout: DefaultTimeout,
	}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	hc := &http.Client{}
	if c.hc != nil {
		cp := *c.hc // resty fills in a nil Transport: never touch the caller's client
		hc = &cp
	}
	// Never follow a redirect: a 307/308 would re-send the credentials (or
	// a customer's password) to whatever host the platform names.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.hc = hc
	c.rc = resty.NewWithClient(hc).
		SetBaseURL(c.baseURL).
		SetHeader("User-Agent", UserAgent).
		SetHeader("Accept", "application/json").
		SetResponseBodyLimit(maxResponseBody).
		SetLogger(discardLogger{}).
		SetDisableWarn(true)
	return c
}

// BaseURL returns the platform address the client calls.
func (c *Client) BaseURL() string { return c.baseURL }

// Token obtains an access token with the integration's credentials:
// POST /oauth/token, form-encoded grant_type=client_credentials. Refused
// credentials give a [KindAuth] error with Code "credenciais_invalidas".
func (c *Client) Token(ctx context.Context, clientID, clientSecret string) (Token, error) {
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {clientID},
		"client_secret": {clientSecret},
	}
	resp, err := c.do(ctx, request{method: http.MethodPost, path: pathToken, form: form, secrets: []string{clientSecret}})
	if err != nil {
		return Token{}, err
	}
	var t Token
	if err := resp.decode(&t); err != nil {
		return Token{}, err
	}
	if t.AccessToken == "" {
		return Token{}, &Error{Kind: KindTemporary, Status: resp.status, Message: "resposta da plataforma sem access_token"}
	}
	if t.TokenType == "" {
		t.TokenType = "Bearer"
	}
	return t, nil
}

// Products lists the platform catalogue: GET /v1/produtos.
func (c *Client) Products(ctx context.Context, token string) ([]Product, error) {
	resp, err := c.do(ctx, request{method: http.MethodGet, path: pathProducts, token: token})
	if err != nil {
		return nil, err
	}
	var body struct {
		Products []Product `json:"produtos"`
	}
	if err := resp.decode(&body); err != nil {
		return nil, err
	}
	if body.Products == nil {
		body.Products = []Product{}
	}
	return body.Products, nil
}

// CreateUser creates a platform user: POST /v1/usuarios.
//
// When the usuario already exists (409 "usuario_existente") and carries the
// same referencia, the user is ours (a retried create): it is adopted and
// returned with a nil error. The referencia is taken from the 409 body or,
// when the body lacks it, looked up by id (or by usuario). Another referencia
// gives a [KindPermanent] error with Code "usuario_existente" and Message
// "usuário já em uso na plataforma".
func (c *Client) CreateUser(ctx context.Context, token string, u NewUser) (User, error) {
	secrets := []string{token, u.Password}
	resp, err := c.do(ctx, request{method: http.MethodPost, path: pathUsers, token: token, body: u, secrets: secrets, raw: true})
	if err != nil {
		return User{}, err
	}
	if resp.status == http.StatusConflict {
		var conflict struct {
			Code      string  `json:"codigo"`
			ID        string  `json:"id"`
			Reference *string `json:"referencia"`
		}
		if json.Unmarshal(resp.body, &conflict) == nil && conflict.Code == CodeUserExists {
			return c.adopt(ctx, token, u, conflict.ID, conflict.Reference)
		}
	}
	if !resp.ok() {
		return User{}, statusError(resp, true, secrets)
	}
	var user User
	if err := resp.decode(&user); err != nil {
		return User{}, err
	}
	return user, nil
}

// adopt resolves a 409 usuario_existente for u.
func (c *Client) adopt(ctx context.Context, token string, u NewUser, id string, ref *string) (User, error) {
	found := User{ID: id, Username: u.Username}
	if ref != nil && id != "" {
		found.Reference = *ref
	} else {
		var err error
		found, err = c.lookupExisting(ctx, token, u.Username, id)
		if err != nil {
			return User{}, err
		}
	}
	if u.Reference == "" || found.Reference != u.Reference {
		return User{}, &Error{
			Kind:    KindPermanent,
			Status:  http.StatusConflict,
			Code:    CodeUserExists,
			Message: "usuário já em uso na plataforma",
		}
	}
	if found.ID == "" {
		found.ID = id
	}
	found.Username = u.Username
	found.Reference = u.Reference
	return found, nil
}

// lookupExisting finds the user a 409 refers to, by id when known, else by
// usuario.
func (c *Client) lookupExisting(ctx context.Context, token, username, id string) (User, error) {
	if id != "" {
		user, err := c.GetUser(ctx, token, id)
		if err == nil {
			return user, nil
		}
		if KindOf(err) != KindNotFound {
			return User{}, err
		}
	}
	users, err := c.FindUsers(ctx, token, UserQuery{Username: username})
	if err != nil {
		return User{}, err
	}
	for _, user := range users {
		if user.Username == username {
			return user, nil
		}
	}
	return User{}, &Error{
		Kind:    KindTemporary,
		Status:  http.StatusConflict,
		Code:    CodeUserExists,
		Message: "usuário já existe na plataforma mas não foi encontrado na consulta",
	}
}

// FindUsers lists the users matching q: GET /v1/usuarios?referencia=R&usuario=U.
// An empty query is refused without calling the platform.
func (c *Client) FindUsers(ctx context.Context, token string, q UserQuery) ([]User, error) {
	query := url.Values{}
	if q.Reference != "" {
		query.Set("referencia", q.Reference)
	}
	if q.Username != "" {
		query.Set("usuario", q.Username)
	}
	if len(query) == 0 {
		return nil, &Error{Kind: KindPermanent, Message: "consulta de usuários sem referencia nem usuario"}
	}
	resp, err := c.do(ctx, request{method: http.MethodGet, path: pathUsers, query: query, token: token})
	if err != nil {
		return nil, err
	}
	var body struct {
		Users []User `json:"usuarios"`
	}
	if err := resp.decode(&body); err != nil {
		return nil, err
	}
	if body.Users == nil {
		body.Users = []User{}
	}
	return body.Users, nil
}

// GetUser returns a user with its plans: GET /v1/usuarios/{id}. An unknown
// user gives a [KindNotFound] error.
func (c *Client) GetUser(ctx context.Context, token, userID string) (User, error) {
	if userID == "" {
		return User{}, missing("id do usuário")
	}
	resp, err := c.do(ctx, request{method: http.MethodGet, path: userPath(userID), token: token, raw: true})
	if err != nil {
		return User{}, err
	}
	if !resp.ok() {
		e := statusError(resp, true, []string{token})
		if resp.status == http.StatusNotFound {
			e.Kind = KindNotFound
		}
		return User{}, e
	}
	var user User
	if err := resp.decode(&user); err != nil {
		return User{}, err
	}
	return user, nil
}

// PutPlan creates the plan as active, or sets the expiry date of an existing
// one keeping its status (a cancelled plan is created again):
// PUT /v1/usuarios/{id}/planos/{produto} {"data_expiracao": expiresOn}.
// expiresOn is YYYY-MM-DD. An unknown product gives a [KindPermanent] error
// with Code "produto_invalido"; a past date, Code "data_invalida".
func (c *Client) PutPlan(ctx context.Context, token, userID, product, expiresOn string) (Plan, error) {
	if err := checkPlanArgs(userID, product); err != nil {
		return Plan{}, err
	}
	body := struct {
		ExpiresOn string `json:"data_expiracao"`
	}{expiresOn}
	return c.planCall(ctx, request{method: http.MethodPut, path: planPath(userID, product), token: token, body: body})
}

// SuspendPlan suspends a plan: POST /v1/usuarios/{id}/planos/{produto}/suspender.
// Suspending a suspended plan succeeds.
func (c *Client) SuspendPlan(ctx context.Context, token, userID, product string) (Plan, error) {
	if err := checkPlanArgs(userID, product); err != nil {
		return Plan{}, err
	}
	return c.planCall(ctx, request{method: http.MethodPost, path: planPath(userID, product) + "/suspender", token: token})
}

// ReactivatePlan reactivates a plan: POST /v1/usuarios/{id}/planos/{produto}/reativar.
// Reactivating an active plan succeeds.
func (c *Client) ReactivatePlan(ctx context.Context, token, userID, product string) (Plan, error) {
	if err := checkPlanArgs(userID, product); err != nil {
		return Plan{}, err
	}
	return c.planCall(ctx, request{method: http.MethodPost, path: planPath(userID, product) + "/reativar", token: token})
}

// CancelPlan cancels a plan: DELETE /v1/usuarios/{id}/planos/{produto}.
// A 404 (unknown plan or user) means there is nothing to cancel: nil.
func (c *Client) CancelPlan(ctx context.Context, token, userID, product string) error {
	if err := checkPlanArgs(userID, product); err != nil {
		return err
	}
	resp, err := c.do(ctx, request{method: http.MethodDelete, path: planPath(userID, product), token: token, raw: true})
	if err != nil {
		return err
	}
	if resp.ok() || resp.status == http.StatusNotFound {
		return nil
	}
	return statusError(resp, true, []string{token})
}

func (c *Client) planCall(ctx context.Context, req request) (Plan, error) {
	resp, err := c.do(ctx, req)
	if err != nil {
		return Plan{}, err
	}
	var p Plan
	if err := resp.decode(&p); err != nil {
		return Plan{}, err
	}
	return p, nil
}

func userPath(userID string) string {
	return pathUsers + "/" + url.PathEscape(userID)
}

func planPath(userID, product string) string {
	return userPath(userID) + "/planos/" + url.PathEscape(product)
}

func checkPlanArgs(userID, product string) error {
	if userID == "" {
		return missing("id do usuário")
	}
	if product == "" {
		return missing("código do produto")
	}
	return nil
}

func missing(what string) *Error {
	return &Error{Kind: KindPermanent, Message: what + " não informado"}
}

// request is one HTTP call.
type request struct {
	method, path string
	query        url.Values
	token        string     // bearer token; empty only for the token endpoint
	form         url.Values // form body (token endpoint)
	body         any        // JSON body
	secrets      []string   // values to keep out of error messages (token added automatically)
	raw          bool       // return non-2xx responses to the caller instead of an *Error
}

// response is a fully read HTTP response.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r *response) ok() bool { return r.status >= 200 && r.status < 300 }

// decode unmarshals a success body.
func (r *response) decode(v any) error {
	if err := json.Unmarshal(r.body, v); err != nil {
		return &Error{Kind: KindTemporary, Status: r.status, Message: unexpectedMessage(r.status), Err: err}
	}
	return nil
}

// do performs req. Transport failures are returned as *Error; so are non-2xx
// responses unless req.raw is set.
func (c *Client) do(ctx context.Context, req request) (*response, error) {
	if c.baseURL == "" {
		return nil, &Error{Kind: KindPermanent, Message: "url_base não configurada"}
	}
	if u, err := url.Parse(c.baseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &Error{Kind: KindPermanent, Message: "url_base inválida"}
	}
	if ctx == nil {
		ctx = context.Background()
	}
	bearer := req.form == nil
	secrets := req.secrets
	if req.token != "" {
		secrets = append([]string{req.token}, secrets...)
	}

	if c.limiter != nil {
		if err := c.limiter.Wait(ctx); err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return nil, transportError(ctxErr)
			}
			return nil, &Error{
				Kind:    KindTemporary,
				Message: "plataforma indisponível: timeout (limite local de requisições)",
				Err:     fmt.Errorf("%w: %w", context.DeadlineExceeded, err),
			}
		}
	}

	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	r := c.rc.R().SetContext(ctx)
	if len(req.query) > 0 {
		r.SetQueryParamsFromValues(req.query)
	}
	if req.token != "" {
		r.SetAuthToken(req.token)
	}
	switch {
	case req.form != nil:
		r.SetFormDataFromValues(req.form)
	case req.body != nil:
		r.SetHeader("Content-Type", "application/json").SetBody(req.body)
	}
	res, err := r.Execute(req.method, req.path)
	if res != nil && res.StatusCode() != 0 && c.onResponse != nil {
		c.onResponse(ctx, res.StatusCode())
	}
	if err != nil {
		if errors.Is(err, resty.ErrResponseBodyTooLarge) {
			status := 0
			if res != nil {
				status = res.StatusCode()
			}
			return nil, &Error{Kind: KindTemporary, Status: status, Message: "resposta da plataforma grande demais", Err: err}
		}
		return nil, transportError(err)
	}
	resp := &response{status: res.StatusCode(), header: res.Header(), body: res.Body()}
	if !req.raw && !resp.ok() {
		return nil, statusError(resp, bearer, secrets)
	}
	return resp, nil
}

// discardLogger silences resty: its messages may carry request details.
type discardLogger struct{}

func (discardLogger) Errorf(string, ...any) {}
func (discardLogger) Warnf(string, ...any)  {}
func (discardLogger) Debugf(string, ...any) {}
