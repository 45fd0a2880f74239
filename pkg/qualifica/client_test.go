package qualifica_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/pkg/qualifica"
	"github.com/svahub/svahub/pkg/qualifica/qualificasim"
)

var bg = context.Background()

// setup starts a simulator and returns it with a client and a valid token.
func setup(t *testing.T, opts qualificasim.Options, copts ...qualifica.Option) (*qualificasim.Sim, *qualifica.Client, string) {
	t.Helper()
	sim := qualificasim.NewServer(t, opts)
	c := qualifica.New(sim.URL(), copts...)
	tok, err := c.Token(bg, qualificasim.DefaultClientID, qualificasim.DefaultClientSecret)
	require.NoError(t, err)
	return sim, c, tok.AccessToken
}

// asError asserts err is a *qualifica.Error of the given kind.
func asError(t *testing.T, err error, kind qualifica.Kind) *qualifica.Error {
	t.Helper()
	require.Error(t, err)
	var e *qualifica.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, kind, e.Kind, "error: %v", err)
	return e
}

func future(days int) string {
	return time.Now().AddDate(0, 0, days).Format(qualifica.DateLayout)
}

func newUser(n string) qualifica.NewUser {
	return qualifica.NewUser{
		Username:  "login-" + n,
		Password:  "s3nha-" + n,
		Name:      "Cliente " + n,
		Document:  "12345678909",
		Email:     n + "@example.com",
		Phone:     "11999990000",
		Reference: "ref-" + n,
	}
}

// createUser creates a user and returns its id.
func createUser(t *testing.T, c *qualifica.Client, tok, n string) string {
	t.Helper()
	u, err := c.CreateUser(bg, tok, newUser(n))
	require.NoError(t, err)
	return u.ID
}

func TestToken(t *testing.T) {
	t.Parallel()
	sim := qualificasim.NewServer(t, qualificasim.Options{})
	c := qualifica.New(sim.URL() + "/")

	tok, err := c.Token(bg, qualificasim.DefaultClientID, qualificasim.DefaultClientSecret)
	require.NoError(t, err)
	require.NotEmpty(t, tok.AccessToken)
	require.Equal(t, "Bearer", tok.TokenType)
	require.Equal(t, 3600, tok.ExpiresIn)
	require.NotContains(t, fmt.Sprintf("%v %+v %#v", tok, tok, tok), tok.AccessToken)

	for name, creds := range map[string][2]string{
		"wrong secret":   {qualificasim.DefaultClientID, "segredo-errado"},
		"unknown client": {"desconhecido", qualificasim.DefaultClientSecret},
		"empty":          {"", ""},
	} {
		_, err := c.Token(bg, creds[0], creds[1])
		e := asError(t, err, qualifica.KindAuth)
		require.Equal(t, http.StatusUnauthorized, e.Status, name)
		require.Equal(t, qualifica.CodeInvalidCredentials, e.Code, name)
		require.False(t, qualifica.IsTokenInvalid(err), name)
		if creds[1] != "" {
			require.NotContains(t, err.Error(), creds[1], name)
		}
	}
	require.Equal(t, 4, sim.Calls()[qualificasim.OpToken])
}

func TestProducts(t *testing.T) {
	t.Parallel()
	_, c, tok := setup(t, qualificasim.Options{})
	ps, err := c.Products(bg, tok)
	require.NoError(t, err)
	require.Equal(t, qualificasim.DefaultCatalogue(), ps)

	cat := []qualifica.Product{{Code: "x1", Name: "Curso X"}}
	_, c2, tok2 := setup(t, qualificasim.Options{Catalogue: cat})
	ps, err = c2.Products(bg, tok2)
	require.NoError(t, err)
	require.Equal(t, cat, ps)
}

func TestCreateUser(t *testing.T) {
	t.Parallel()
	sim, c, tok := setup(t, qualificasim.Options{})
	in := newUser("a")
	u, err := c.CreateUser(bg, tok, in)
	require.NoError(t, err)
	require.NotEmpty(t, u.ID)
	require.Equal(t, in.Username, u.Username)
	require.Equal(t, in.Reference, u.Reference)
	require.Empty(t, u.Plans)

	su, ok := sim.UserByUsername(in.Username)
	require.True(t, ok)
	require.Equal(t, u.ID, su.ID)
	require.Equal(t, in.Password, su.Password)
	require.Equal(t, in.Name, su.Name)
	require.Equal(t, in.Document, su.Document)
	require.Equal(t, in.Email, su.Email)
	require.Equal(t, in.Phone, su.Phone)
	require.Equal(t, 1, su.CreateCalls)
	require.NotContains(t, fmt.Sprintf("%v %+v %#v", in, in, in), in.Password)

	// optional fields may be omitted
	_, err = c.CreateUser(bg, tok, qualifica.NewUser{Username: "min", Password: "p", Name: "N", Reference: "r-min"})
	require.NoError(t, err)
}

func TestCreateUserDuplicate(t *testing.T) {
	t.Parallel()
	for _, omit := range []bool{false, true} {
		t.Run(fmt.Sprintf("conflict_omits_reference=%v", omit), func(t *testing.T) {
			t.Parallel()
			sim, c, tok := setup(t, qualificasim.Options{ConflictOmitsReference: omit})
			in := newUser("dup")
			first, err := c.CreateUser(bg, tok, in)
			require.NoError(t, err)

			// our own retry: adopted
			again, err := c.CreateUser(bg, tok, in)
			require.NoError(t, err)
			require.Equal(t, first.ID, again.ID)
			require.Equal(t, in.Username, again.Username)
			require.Equal(t, in.Reference, again.Reference)

			// somebody else's account with the same usuario
			other := in
			other.Reference = "ref-de-outro"
			_, err = c.CreateUser(bg, tok, other)
			e := asError(t, err, qualifica.KindPermanent)
			require.Equal(t, http.StatusConflict, e.Status)
			require.Equal(t, qualifica.CodeUserExists, e.Code)
			require.Equal(t, "usuário já em uso na plataforma", e.Message)

			su, ok := sim.UserByUsername(in.Username)
			require.True(t, ok)
			require.Equal(t, 1, su.CreateCalls)
			require.Equal(t, 2, su.CreateConflicts)
			require.Len(t, sim.Users(), 1)
			if omit {
				require.Equal(t, 2, sim.Calls()[qualificasim.OpQuery], "referencia looked up")
			} else {
				require.Zero(t, sim.Calls()[qualificasim.OpQuery])
			}
		})
	}
}

// A 409 with neither id nor referencia: the client looks the usuario up.
func TestCreateUserConflictWithoutID(t *testing.T) {
	t.Parallel()
	var gotQuery string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodPost:
			w.WriteHeader(http.StatusConflict)
			fmt.Fprint(w, `{"codigo":"usuario_existente","mensagem":"já existe"}`)
		case r.Method == http.MethodGet && r.URL.Path == "/v1/usuarios":
			gotQuery = r.URL.RawQuery
			fmt.Fprint(w, `{"usuarios":[{"id":"u_9","usuario":"login-x","referencia":"ref-x","planos":[{"produto":"pro","status":"ativo","data_expiracao":"2099-01-01"}]}]}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	c := qualifica.New(srv.URL)
	u, err := c.CreateUser(bg, "tok", newUser("x"))
	require.NoError(t, err)
	require.Equal(t, "usuario=login-x", gotQuery)
	require.Equal(t, "u_9", u.ID)
	require.Len(t, u.Plans, 1)

	_, err = c.CreateUser(bg, "tok", newUser("y"))
	e := asError(t, err, qualifica.KindTemporary) // listed user does not match: inconsistent platform
	require.Equal(t, qualifica.CodeUserExists, e.Code)
}

func TestCreateUserInvalidData(t *testing.T) {
	t.Parallel()
	sim, c, tok := setup(t, qualificasim.Options{})
	cases := map[string]func(*qualifica.NewUser){
		"cpf too short":   func(u *qualifica.NewUser) { u.Document = "123" },
		"cpf punctuation": func(u *qualifica.NewUser) { u.Document = "123.456.789-09" },
		"bad email":       func(u *qualifica.NewUser) { u.Email = "sem-arroba" },
		"missing nome":    func(u *qualifica.NewUser) { u.Name = "" },
		"missing senha":   func(u *qualifica.NewUser) { u.Password = " " },
		"missing ref":     func(u *qualifica.NewUser) { u.Reference = "" },
	}
	for name, mutate := range cases {
		in := newUser("inv")
		mutate(&in)
		_, err := c.CreateUser(bg, tok, in)
		e := asError(t, err, qualifica.KindPermanent)
		require.Equal(t, http.StatusUnprocessableEntity, e.Status, name)
		require.Equal(t, qualifica.CodeInvalidData, e.Code, name)
		require.NotEmpty(t, e.Message, name)
	}
	in := newUser("cnpj")
	in.Document = "12345678000195"
	_, err := c.CreateUser(bg, tok, in)
	require.NoError(t, err)
	require.Len(t, sim.Users(), 1)
}

func TestGetAndFindUsers(t *testing.T) {
	t.Parallel()
	_, c, tok := setup(t, qualificasim.Options{})
	id := createUser(t, c, tok, "g")
	_, err := c.PutPlan(bg, tok, id, "pro", future(30))
	require.NoError(t, err)

	u, err := c.GetUser(bg, tok, id)
	require.NoError(t, err)
	require.Equal(t, qualifica.User{ID: id, Username: "login-g", Reference: "ref-g",
		Plans: []qualifica.Plan{{Product: "pro", Status: qualifica.StatusActive, ExpiresOn: future(30)}}}, u)

	_, err = c.GetUser(bg, tok, "u_inexistente")
	e := asError(t, err, qualifica.KindNotFound)
	require.Equal(t, http.StatusNotFound, e.Status)
	require.Equal(t, qualifica.CodeUserNotFound, e.Code)

	for _, q := range []qualifica.UserQuery{{Reference: "ref-g"}, {Username: "login-g"}, {Reference: "ref-g", Username: "login-g"}} {
		us, err := c.FindUsers(bg, tok, q)
		require.NoError(t, err)
		require.Equal(t, []qualifica.User{u}, us)
	}
	us, err := c.FindUsers(bg, tok, qualifica.UserQuery{Reference: "nenhuma"})
	require.NoError(t, err)
	require.NotNil(t, us)
	require.Empty(t, us)

	_, err = c.FindUsers(bg, tok, qualifica.UserQuery{})
	asError(t, err, qualifica.KindPermanent)
}

func TestPutPlan(t *testing.T) {
	t.Parallel()
	_, c, tok := setup(t, qualificasim.Options{})
	id := createUser(t, c, tok, "p")

	p, err := c.PutPlan(bg, tok, id, "1001", future(10))
	require.NoError(t, err)
	require.Equal(t, qualifica.Plan{Product: "1001", Status: qualifica.StatusActive, ExpiresOn: future(10)}, p)

	// today is allowed
	p, err = c.PutPlan(bg, tok, id, "1001", future(0))
	require.NoError(t, err)
	require.Equal(t, future(0), p.ExpiresOn)

	// a new date keeps the status
	_, err = c.SuspendPlan(bg, tok, id, "1001")
	require.NoError(t, err)
	p, err = c.PutPlan(bg, tok, id, "1001", future(400))
	require.NoError(t, err)
	require.Equal(t, qualifica.Plan{Product: "1001", Status: qualifica.StatusSuspended, ExpiresOn: future(400)}, p)

	_, err = c.PutPlan(bg, tok, id, "xyz", future(10))
	e := asError(t, err, qualifica.KindPermanent)
	require.Equal(t, http.StatusUnprocessableEntity, e.Status)
	require.Equal(t, qualifica.CodeInvalidProduct, e.Code)
	require.Equal(t, "produto 'xyz' não existe no catálogo", e.Message)

	for _, date := range []string{future(-1), "2020-01-01", "31/12/2099", "2099-1-1", "2099-02-30", ""} {
		_, err = c.PutPlan(bg, tok, id, "pro", date)
		e = asError(t, err, qualifica.KindPermanent)
		require.Equal(t, http.StatusUnprocessableEntity, e.Status, date)
		require.Equal(t, qualifica.CodeInvalidDate, e.Code, date)
	}

	_, err = c.PutPlan(bg, tok, "u_nao_existe", "pro", future(1))
	e = asError(t, err, qualifica.KindPermanent)
	require.Equal(t, http.StatusNotFound, e.Status)
	require.Equal(t, qualifica.CodeUserNotFound, e.Code)

	_, err = c.PutPlan(bg, tok, "", "pro", future(1))
	asError(t, err, qualifica.KindPermanent)
}

func TestPlanLifecycle(t *testing.T) {
	t.Parallel()
	sim, c, tok := setup(t, qualificasim.Options{})
	id := createUser(t, c, tok, "l")
	_, err := c.PutPlan(bg, tok, id, "premium", future(30))
	require.NoError(t, err)

	for range 2 { // idempotent
		p, err := c.SuspendPlan(bg, tok, id, "premium")
		require.NoError(t, err)
		require.Equal(t, qualifica.StatusSuspended, p.Status)
	}
	for range 2 {
		p, err := c.ReactivatePlan(bg, tok, id, "premium")
		require.NoError(t, err)
		require.Equal(t, qualifica.StatusActive, p.Status)
		require.Equal(t, future(30), p.ExpiresOn)
	}

	require.NoError(t, c.CancelPlan(bg, tok, id, "premium"))
	require.NoError(t, c.CancelPlan(bg, tok, id, "premium"))
	u, err := c.GetUser(bg, tok, id)
	require.NoError(t, err)
	require.Equal(t, qualifica.StatusCancelled, u.Plans[0].Status)

	_, err = c.SuspendPlan(bg, tok, id, "premium")
	e := asError(t, err, qualifica.KindPermanent)
	require.Equal(t, http.StatusConflict, e.Status)
	require.Equal(t, qualifica.CodePlanCancelled, e.Code)
	_, err = c.ReactivatePlan(bg, tok, id, "premium")
	e = asError(t, err, qualifica.KindPermanent)
	require.Equal(t, http.StatusConflict, e.Status)

	// a cancelled plan is created again by PUT
	p, err := c.PutPlan(bg, tok, id, "premium", future(60))
	require.NoError(t, err)
	require.Equal(t, qualifica.Plan{Product: "premium", Status: qualifica.StatusActive, ExpiresOn: future(60)}, p)

	// unknown plans
	_, err = c.SuspendPlan(bg, tok, id, "pro")
	e = asError(t, err, qualifica.KindPermanent)
	require.Equal(t, http.StatusNotFound, e.Status)
	require.Equal(t, qualifica.CodePlanNotFound, e.Code)
	_, err = c.ReactivatePlan(bg, tok, "u_nao_existe", "pro")
	e = asError(t, err, qualifica.KindPermanent)
	require.Equal(t, qualifica.CodeUserNotFound, e.Code)
	require.NoError(t, c.CancelPlan(bg, tok, id, "pro"))
	require.NoError(t, c.CancelPlan(bg, tok, "u_nao_existe", "pro"))

	calls := sim.Calls()
	require.Equal(t, 4, calls[qualificasim.OpSuspend])
	require.Equal(t, 4, calls[qualificasim.OpReactivate])
	require.Equal(t, 4, calls[qualificasim.OpCancel])
	require.Equal(t, 2, calls[qualificasim.OpPutPlan])
}

func TestRevokedToken(t *testing.T) {
	t.Parallel()
	sim, c, tok := setup(t, qualificasim.Options{})
	sim.RevokeTokens()
	_, err := c.Products(bg, tok)
	e := asError(t, err, qualifica.KindAuth)
	require.True(t, qualifica.IsTokenInvalid(err))
	require.Equal(t, qualifica.CodeInvalidToken, e.Code)
	require.NotContains(t, err.Error(), tok)

	_, err = c.Products(bg, "")
	require.True(t, qualifica.IsTokenInvalid(err))

	fresh, err := c.Token(bg, qualificasim.DefaultClientID, qualificasim.DefaultClientSecret)
	require.NoError(t, err)
	_, err = c.Products(bg, fresh.AccessToken)
	require.NoError(t, err)
}

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestExpiredToken(t *testing.T) {
	t.Parallel()
	t.Run("clock", func(t *testing.T) {
		t.Parallel()
		clk := &clock{now: time.Date(2030, 5, 10, 12, 0, 0, 0, time.UTC)}
		_, c, tok := setup(t, qualificasim.Options{Now: clk.Now})
		id := createUser(t, c, tok, "e")
		_, err := c.PutPlan(bg, tok, id, "pro", "2030-05-10")
		require.NoError(t, err)

		clk.Add(59 * time.Minute)
		_, err = c.Products(bg, tok)
		require.NoError(t, err)
		clk.Add(2 * time.Minute)
		_, err = c.Products(bg, tok)
		require.True(t, qualifica.IsTokenInvalid(err))

		// the platform enforces the date itself: past it the plan shows expirado
		clk.Add(24 * time.Hour)
		fresh, err := c.Token(bg, qualificasim.DefaultClientID, qualificasim.DefaultClientSecret)
		require.NoError(t, err)
		u, err := c.GetUser(bg, fresh.AccessToken, id)
		require.NoError(t, err)
		require.Equal(t, qualifica.StatusExpired, u.Plans[0].Status)
		_, err = c.PutPlan(bg, fresh.AccessToken, id, "pro", "2030-05-10")
		require.Equal(t, qualifica.CodeInvalidDate, asError(t, err, qualifica.KindPermanent).Code)
		p, err := c.PutPlan(bg, fresh.AccessToken, id, "pro", "2030-06-30")
		require.NoError(t, err)
		require.Equal(t, qualifica.StatusActive, p.Status)
	})
	t.Run("ttl", func(t *testing.T) {
		t.Parallel()
		_, c, tok := setup(t, qualificasim.Options{TokenTTL: 20 * time.Millisecond})
		time.Sleep(40 * time.Millisecond)
		_, err := c.Products(bg, tok)
		require.True(t, qualifica.IsTokenInvalid(err))
	})
}

func TestRateLimited(t *testing.T) {
	t.Parallel()
	sim, c, tok := setup(t, qualificasim.Options{})
	sim.SetRateLimit(1) // fresh bucket, burst 1
	_, err := c.Products(bg, tok)
	require.NoError(t, err)
	_, err = c.Products(bg, tok)
	e := asError(t, err, qualifica.KindTemporary)
	require.Equal(t, http.StatusTooManyRequests, e.Status)
	require.Equal(t, qualifica.CodeRateLimited, e.Code)
	require.Equal(t, time.Second, e.RetryAfter)
	require.Equal(t, 1, sim.Calls()[qualificasim.Call429])

	// the token endpoint shares the client's bucket
	_, err = c.Token(bg, qualificasim.DefaultClientID, qualificasim.DefaultClientSecret)
	require.Equal(t, http.StatusTooManyRequests, asError(t, err, qualifica.KindTemporary).Status)
	// another client has its own bucket
	sim2 := qualificasim.NewServer(t, qualificasim.Options{RateLimit: 1, Clients: map[string]string{"a": "sa", "b": "sb"}})
	c2 := qualifica.New(sim2.URL())
	_, err = c2.Token(bg, "a", "sa")
	require.NoError(t, err)
	_, err = c2.Token(bg, "b", "sb")
	require.NoError(t, err)
	_, err = c2.Token(bg, "a", "sa")
	require.Equal(t, time.Second, asError(t, err, qualifica.KindTemporary).RetryAfter)
}

func TestServerErrors(t *testing.T) {
	t.Parallel()
	sim, c, tok := setup(t, qualificasim.Options{})
	sim.SetFaults(1, 0)
	_, err := c.Products(bg, tok)
	e := asError(t, err, qualifica.KindTemporary)
	require.Equal(t, http.StatusServiceUnavailable, e.Status)
	require.Zero(t, e.RetryAfter)
	_, err = c.Token(bg, qualificasim.DefaultClientID, qualificasim.DefaultClientSecret)
	asError(t, err, qualifica.KindTemporary)
	require.Equal(t, 2, sim.Calls()[qualificasim.Call5xx])

	sim.SetFaults(0, 0)
	_, err = c.Products(bg, tok)
	require.NoError(t, err)
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	sim, _, tok := setup(t, qualificasim.Options{})
	sim.SetFaults(0, 1)
	c := qualifica.New(sim.URL(), qualifica.WithTimeout(100*time.Millisecond))
	start := time.Now()
	_, err := c.Products(bg, tok)
	require.Less(t, time.Since(start), 5*time.Second)
	e := asError(t, err, qualifica.KindTemporary)
	require.Zero(t, e.Status)
	require.Equal(t, "plataforma indisponível", e.Message, "neutral: no port-mapping detail")
	require.ErrorIs(t, err, context.DeadlineExceeded)

	// the caller's own deadline is honoured too
	ctx, cancel := context.WithTimeout(bg, 50*time.Millisecond)
	defer cancel()
	_, err = qualifica.New(sim.URL()).Token(ctx, qualificasim.DefaultClientID, qualificasim.DefaultClientSecret)
	asError(t, err, qualifica.KindTemporary)
}

func TestSimTimeoutAnswers504(t *testing.T) {
	t.Parallel()
	sim, c, tok := setup(t, qualificasim.Options{TimeoutDelay: 30 * time.Millisecond})
	sim.SetFaults(0, 1)
	_, err := c.Products(bg, tok)
	require.Equal(t, http.StatusGatewayTimeout, asError(t, err, qualifica.KindTemporary).Status)
	require.Equal(t, 1, sim.Calls()[qualificasim.CallTimeout])
}

func TestConnectionRefused(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	c := qualifica.New("http://" + addr)
	_, err = c.Token(bg, "id", "segredo-super")
	e := asError(t, err, qualifica.KindTemporary)
	require.Zero(t, e.Status)
	require.True(t, strings.HasPrefix(e.Message, "plataforma indisponível"), e.Message)
	require.NotContains(t, err.Error(), "segredo-super")
}

func TestClientRateLimiter(t *testing.T) {
	t.Parallel()
	sim, _, tok := setup(t, qualificasim.Options{})
	c := qualifica.New(sim.URL(), qualifica.WithRateLimit(20, 1))
	start := time.Now()
	for range 11 {
		_, err := c.Products(bg, tok)
		require.NoError(t, err)
	}
	require.GreaterOrEqual(t, time.Since(start), 350*time.Millisecond) // 10 waits of 50ms

	// waiting respects the caller's context
	slow := qualifica.New(sim.URL(), qualifica.WithRateLimit(0.1, 1))
	_, err := slow.Products(bg, tok)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(bg, 50*time.Millisecond)
	defer cancel()
	_, err = slow.Products(ctx, tok)
	asError(t, err, qualifica.KindTemporary)

	// rps <= 0: no limit
	free := qualifica.New(sim.URL(), qualifica.WithRateLimit(0, 0))
	start = time.Now()
	for range 20 {
		_, err := free.Products(bg, tok)
		require.NoError(t, err)
	}
	require.Less(t, time.Since(start), 2*time.Second)
}

// fake serves a canned response and records the last request.
type fake struct {
	mu     sync.Mutex
	last   *http.Request
	rawURL string
	status int
	header map[string]string
	body   string
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last = r.Clone(context.Background())
	f.rawURL = r.URL.EscapedPath()
	for k, v := range f.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(f.status)
	fmt.Fprint(w, f.body)
}

func TestRequestShape(t *testing.T) {
	t.Parallel()
	f := &fake{status: http.StatusOK, body: `{"produto":"a/b","status":"ativo","data_expiracao":"2099-01-01"}`}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c := qualifica.New(srv.URL)
	_, err := c.PutPlan(bg, "tok-123", "u 1/x", "a/b", "2099-01-01")
	require.NoError(t, err)
	f.mu.Lock()
	defer f.mu.Unlock()
	require.Equal(t, http.MethodPut, f.last.Method)
	require.Equal(t, "/v1/usuarios/u%201%2Fx/planos/a%2Fb", f.rawURL)
	require.Equal(t, "Bearer tok-123", f.last.Header.Get("Authorization"))
	require.Equal(t, "svahub", f.last.Header.Get("User-Agent"))
	require.Equal(t, "application/json", f.last.Header.Get("Content-Type"))
}

func TestErrorBodies(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		f       *fake
		kind    qualifica.Kind
		code    string
		message string
		retry   time.Duration
	}{
		{"html 502", &fake{status: 502, body: "<html>bad gateway</html>"}, qualifica.KindTemporary, "", "resposta inesperada da plataforma (HTTP 502)", 0},
		{"empty 403", &fake{status: 403}, qualifica.KindPermanent, "", "resposta inesperada da plataforma (HTTP 403)", 0},
		{"bare 401", &fake{status: 401, body: "unauthorized"}, qualifica.KindAuth, qualifica.CodeInvalidToken, "resposta inesperada da plataforma (HTTP 401)", 0},
		{"400", &fake{status: 400, body: `{"codigo":"requisicao_invalida","mensagem":"campo x"}`}, qualifica.KindPermanent, "requisicao_invalida", "campo x", 0},
		{"429 date", &fake{status: 429, header: map[string]string{"Retry-After": time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat)}}, qualifica.KindTemporary, "", "resposta inesperada da plataforma (HTTP 429)", 3 * time.Second},
		{"echoed token", &fake{status: 422, body: `{"codigo":"x","mensagem":"token tok-123 recusado"}`}, qualifica.KindPermanent, "x", "token [redacted] recusado", 0},
		{"2xx not json", &fake{status: 200, body: "ok"}, qualifica.KindTemporary, "", "resposta inesperada da plataforma (HTTP 200)", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(tc.f)
			t.Cleanup(srv.Close)
			_, err := qualifica.New(srv.URL).Products(bg, "tok-123")
			e := asError(t, err, tc.kind)
			require.Equal(t, tc.code, e.Code)
			require.Equal(t, tc.message, e.Message)
			require.NotContains(t, err.Error(), "tok-123")
			if tc.retry > 0 {
				require.InDelta(t, tc.retry.Seconds(), e.RetryAfter.Seconds(), 1.5)
			}
		})
	}

	// passwords echoed by the platform are redacted too
	srv := httptest.NewServer(&fake{status: 422, body: `{"codigo":"dados_invalidos","mensagem":"senha s3nha-z fraca"}`})
	t.Cleanup(srv.Close)
	_, err := qualifica.New(srv.URL).CreateUser(bg, "tok", newUser("z"))
	require.NotContains(t, err.Error(), "s3nha-z")
	// so are client secrets
	srv2 := httptest.NewServer(&fake{status: 401, body: `{"codigo":"credenciais_invalidas","mensagem":"segredo xyz-secret errado"}`})
	t.Cleanup(srv2.Close)
	_, err = qualifica.New(srv2.URL).Token(bg, "id", "xyz-secret")
	require.NotContains(t, err.Error(), "xyz-secret")
	require.Equal(t, qualifica.CodeInvalidCredentials, asError(t, err, qualifica.KindAuth).Code)
}

func TestBaseURLMissing(t *testing.T) {
	t.Parallel()
	for _, base := range []string{"", "  ", "ftp://x", "nao-e-url"} {
		_, err := qualifica.New(base).Token(bg, "id", "secret")
		e := asError(t, err, qualifica.KindPermanent)
		require.Contains(t, e.Message, "url_base", base)
	}
}

func TestErrorHelpers(t *testing.T) {
	t.Parallel()
	e := &qualifica.Error{Kind: qualifica.KindPermanent, Status: 422, Code: "produto_invalido", Message: "produto 'x' não existe no catálogo", Err: errors.New("cause")}
	require.Equal(t, "qualifica: HTTP 422: produto 'x' não existe no catálogo (produto_invalido)", e.Error())
	wrapped := fmt.Errorf("ativar: %w", e)
	require.Equal(t, qualifica.KindPermanent, qualifica.KindOf(wrapped))
	require.Zero(t, qualifica.KindOf(errors.New("x")))
	require.False(t, qualifica.IsTokenInvalid(wrapped))
	require.True(t, qualifica.IsTokenInvalid(fmt.Errorf("x: %w", &qualifica.Error{Kind: qualifica.KindAuth, Status: 401, Code: "token_invalido"})))
	require.EqualError(t, errors.Unwrap(e), "cause")
	require.Equal(t, "temporario", qualifica.KindTemporary.String())
}

// Many concurrent callers on one client and one simulator (run with -race).
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	sim, c, tok := setup(t, qualificasim.Options{})
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			n := fmt.Sprint(i % 8) // half the creates are retries of the other half
			u, err := c.CreateUser(bg, tok, newUser(n))
			if !assertNoError(t, err) {
				return
			}
			_, err = c.PutPlan(bg, tok, u.ID, "pro", future(5))
			assertNoError(t, err)
			_, err = c.SuspendPlan(bg, tok, u.ID, "pro")
			assertNoError(t, err)
		})
	}
	wg.Wait()
	users := sim.Users()
	require.Len(t, users, 8)
	for _, u := range users {
		require.Equal(t, 1, u.CreateCalls)
		require.Equal(t, 1, u.CreateConflicts)
	}
}

func assertNoError(t *testing.T, err error) bool {
	t.Helper()
	if err != nil {
		t.Errorf("unexpected error: %v", err)
		return false
	}
	return true
}
