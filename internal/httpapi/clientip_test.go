package httpapi_test

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// loggedIP sends GET /healthz with X-Forwarded-For: xff to a server trusting
// proxies and returns the remote_ip of its access log line.
func loggedIP(t *testing.T, proxies []*net.IPNet, xff string) string {
	t.Helper()
	e := newHarness(t, "sqlite", apiOnly(), withTrustedProxies(proxies))
	req, err := http.NewRequest("GET", e.srv.URL+"/healthz", nil)
	require.NoError(t, err)
	req.Header.Set("X-Forwarded-For", xff)
	req.Header.Set("X-Real-IP", xff)
	res, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	e.srv.Close()
	logs := e.Logs()
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) == nil && line["msg"] == "http request" {
			return line["remote_ip"].(string)
		}
	}
	t.Fatalf("no access log line in %s", logs)
	return ""
}

// TestClientIPNotSpoofable: an X-Forwarded-For sent by a peer that is not a
// configured trusted proxy is ignored; the direct peer is logged. Only a
// trusted proxy's header names the client.
func TestClientIPNotSpoofable(t *testing.T) {
	t.Parallel()
	require.Equal(t, "127.0.0.1", loggedIP(t, nil, "203.0.113.9"), "untrusted peer: its X-Forwarded-For is ignored")
	_, other, err := net.ParseCIDR("198.51.100.0/24")
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1", loggedIP(t, []*net.IPNet{other}, "203.0.113.9"), "the peer is not in the trusted range")
	_, loop, err := net.ParseCIDR("127.0.0.0/8")
	require.NoError(t, err)
	require.Equal(t, "203.0.113.9", loggedIP(t, []*net.IPNet{loop}, "203.0.113.9"), "a trusted proxy names the client")
	require.Equal(t, "203.0.113.9", loggedIP(t, []*net.IPNet{loop}, "203.0.113.9, 127.0.0.5"), "trusted hops are skipped from the right")
}
