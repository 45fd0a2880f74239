package qualifica_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/pkg/qualifica"
)

// TestRedirectNotFollowed: a platform answering 307 (which keeps the
// method and body) must not make the client re-send client_id and
// client_secret to the second host. A real second server records what
// reaches it.
func TestRedirectNotFollowed(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var leaked []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		leaked = append(leaked, r.Method+" "+r.URL.Path+" "+string(body))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"access_token":"stolen","token_type":"Bearer","expires_in":3600}`)
	}))
	defer other.Close()
	for _, status := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect, http.StatusFound} {
		platform := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+r.URL.Path, status)
		}))
		_, err := qualifica.New(platform.URL).Token(bg, "svahub-test", "segredo-super")
		platform.Close()
		e := asError(t, err, qualifica.KindPermanent)
		require.Equal(t, status, e.Status)
		require.NotContains(t, e.Message, "segredo-super")
	}
	mu.Lock()
	defer mu.Unlock()
	require.Empty(t, leaked, "the second host received: %s", strings.Join(leaked, " | "))
}
