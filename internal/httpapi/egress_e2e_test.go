package httpapi_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/pkg/qualifica/qualificasim"
)

// internalServer is an "internal" HTTP server on loopback that records
// what reaches it (connections and bodies).
type internalServer struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []string
	conns  atomic.Int64
}

func newInternalServer(t *testing.T) *internalServer {
	t.Helper()
	s := &internalServer{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.bodies = append(s.bodies, r.URL.String()+" "+string(b))
		s.mu.Unlock()
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"mensagem":"admin reset done; internal port 8443 open"}`)
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func (s *internalServer) port() string {
	_, p, _ := net.SplitHostPort(s.Listener.Addr().String())
	return p
}

// TestPlatformAddressRefusedWhenSaved: url_base must be an absolute https
// URL without user info, query or fragment, and must not name an internal
// address; each refusal is a 422 on parametros.url_base and nothing is
// sent to the internal server.
func TestPlatformAddressRefusedWhenSaved(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect)
		in := newInternalServer(t)
		bad := []string{
			"http://localhost:" + in.port() + "/admin/reset?x=", // the reported attack
			"http://localhost:" + in.port(),                     // plain http to a host not allowed
			"https://localhost:" + in.port(),                    // a name resolving to loopback
			"https://10.0.0.7",
			"https://172.16.0.1:8443",
			"https://192.168.1.1",
			"https://100.64.0.1", // carrier-grade NAT
			"https://169.254.169.254",
			"https://[::1]:443",
			"https://[fd00::1]",
			"https://0.0.0.0:" + in.port(),
			"https://user:pw@api.example.com",
			"https://api.example.com/v1?x=1",
			"https://api.example.com/v1#frag",
			"ftp://api.example.com",
		}
		for _, u := range bad {
			requireProblem(t, e.do("POST", "/api/v1/integracoes", map[string]any{"descricao": "x", "plataforma": "qualifica",
				"parametros": map[string]any{"client_id": "a", "client_secret": "segredo-interno", "url_base": u}}), 422, "parametros.url_base")
		}
		good := idOf(e.createIntegration(nil, nil), "id_integracao")
		requireProblem(t, e.do("PUT", path("/api/v1/integracoes/%d", good), map[string]any{
			"parametros": map[string]any{"url_base": "http://localhost:" + in.port() + "/admin"}}), 422, "parametros.url_base")
		require.Zero(t, in.conns.Load(), "the internal server was reached: %v", in.bodies)
	})
}

// TestPlatformAddressRefusedAtDial: a name that resolved to a public
// address when saved and resolves to 127.0.0.1 afterwards (DNS
// rebinding) is refused on the address actually dialled: no connection
// reaches the internal server, the token is erro with a neutral message
// and the transmission is a permanent error. Only a public range is
// allowed, so loopback is not.
func TestPlatformAddressRefusedAtDial(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		var calls atomic.Int64
		lookup := func(_ context.Context, host string) ([]netip.Addr, error) {
			if host != "plataforma.example" {
				return nil, &net.DNSError{Err: "not found", Name: host, IsNotFound: true}
			}
			if calls.Add(1) == 1 {
				return []netip.Addr{netip.MustParseAddr("203.0.113.10")}, nil // when saved
			}
			return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil // rebound
		}
		e := newHarness(t, dialect, withAllowedHosts([]string{"203.0.113.0/24"}, lookup))
		in := newInternalServer(t)
		integ := e.createIntegration(map[string]any{"url_base": "https://plataforma.example:" + in.port()}, nil)
		tok := integ["token"].(map[string]any)
		require.Equal(t, "erro", tok["status"], "%v", integ)
		msg := tok["mensagem"].(string)
		require.Contains(t, msg, "não permitido")
		require.NotContains(t, msg, "127.0.0.1")
		require.NotContains(t, msg, "recusad")
		require.Zero(t, in.conns.Load(), "the internal server was reached")
		require.GreaterOrEqual(t, calls.Load(), int64(2), "the dial resolved the name again")

		r := e.do("GET", path("/api/v1/transmissoes?operacao=token&id_integracao=%d", idOf(integ, "id_integracao")), nil)
		require.Equal(t, 200, r.Status)
		items := r.JSON(t)["itens"].([]any)
		require.NotEmpty(t, items)
		require.Equal(t, "erro", items[0].(map[string]any)["resultado"], "a refused address is a permanent error")
	})
}

// TestPlatformAllowList: an allowed name may use plain http and reach an
// internal address (the local simulator); the answer of a platform
// reaches callers only as its parsed mensagem, cut to 300 characters.
func TestPlatformAllowList(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect, withAllowedHosts([]string{"localhost", "127.0.0.1"}, nil))
		simURL := strings.Replace(e.sim.URL(), "127.0.0.1", "localhost", 1)
		integ := e.createIntegration(map[string]any{"url_base": simURL}, nil)
		require.Equal(t, "valido", integ["token"].(map[string]any)["status"], "%v", integ)

		long := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"codigo":"x","mensagem":"`+strings.Repeat("á", 400)+`","debug":"stack trace at /srv/app"}`)
		}))
		defer long.Close()
		integ = e.createIntegration(map[string]any{"url_base": long.URL}, nil) // 127.0.0.1 is allowed
		msg := integ["token"].(map[string]any)["mensagem"].(string)
		require.LessOrEqual(t, len([]rune(msg)), 300)
		require.NotContains(t, msg, "stack trace")
	})
}

// TestStoredSecretNotSentToNewAddress: a write key without the client
// secret cannot point an integration at a server of its own and receive
// the stored secret with the next token request. Moving url_base (or the
// platform) needs client_secret in the same PUT (422 otherwise) and
// nothing reaches the new address; other members still change without it.
func TestStoredSecretNotSentToNewAddress(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect, withAllowedHosts([]string{"127.0.0.1"}, nil))
		integ := e.createIntegration(nil, nil)
		id := idOf(integ, "id_integracao")
		attacker := newInternalServer(t)

		requireProblem(t, e.do("PUT", path("/api/v1/integracoes/%d", id), map[string]any{
			"parametros": map[string]any{"url_base": attacker.URL}}), 422, "parametros.client_secret")
		require.Zero(t, attacker.conns.Load(), "the new address was sent the stored secret: %v", attacker.bodies)
		got := e.do("GET", path("/api/v1/integracoes/%d", id), nil).JSON(t)
		require.Equal(t, integ["parametros"].(map[string]any)["url_base"], got["parametros"].(map[string]any)["url_base"], "nothing changed")

		r := e.do("PUT", path("/api/v1/integracoes/%d", id), map[string]any{"descricao": "renomeada"})
		require.Equal(t, 200, r.Status, r.Body)

		r = e.do("PUT", path("/api/v1/integracoes/%d", id), map[string]any{
			"parametros": map[string]any{"url_base": attacker.URL, "client_secret": "o-segredo-de-quem-muda"}})
		require.Equal(t, 200, r.Status, r.Body)
		attacker.mu.Lock()
		defer attacker.mu.Unlock()
		for _, b := range attacker.bodies {
			require.NotContains(t, b, qualificasim.DefaultClientSecret, "the stored secret reached the new address")
		}
	})
}
