package egress_test

import (
	"context"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/platform/egress"
)

func TestInternal(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]bool{
		"127.0.0.1": true, "127.8.9.10": true, "::1": true, "10.1.2.3": true, "172.16.0.1": true, "172.31.255.255": true,
		"192.168.0.1": true, "100.64.0.1": true, "100.127.255.254": true, "169.254.169.254": true, "fe80::1": true,
		"fd00::1": true, "0.0.0.0": true, "0.1.2.3": true, "::": true, "224.0.0.1": true, "255.255.255.255": true,
		"::ffff:127.0.0.1": true, "::ffff:10.0.0.1": true,
		"64:ff9b::7f00:1": true, "64:ff9b::a00:5": true, "2002:7f00:1::1": true, "2001:0:7f00:1::1": true, "::7f00:1": true, "fec0::1": true,
		"203.0.113.10": false, "8.8.8.8": false, "172.32.0.1": false, "100.128.0.1": false, "2001:4860:4860::8888": false,
	} {
		require.Equal(t, want, egress.Internal(netip.MustParseAddr(addr)), addr)
	}
}

func TestEntries(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"qualifica-sim", "127.0.0.1", "127.0.0.1:9090", "10.0.0.0/8", "[::1]:9090", "fd00::/8", " Sim.Local "} {
		require.NoError(t, egress.CheckEntry(ok), ok)
	}
	for _, bad := range []string{"http://x", "10.0.0.0/33", "user@x", ":9090", "x?y", "10.0.0.5/8"} {
		require.Error(t, egress.CheckEntry(bad), bad)
	}
}

func TestCheckURL(t *testing.T) {
	t.Parallel()
	lookup := func(_ context.Context, host string) ([]netip.Addr, error) {
		switch host {
		case "publica.example":
			return []netip.Addr{netip.MustParseAddr("203.0.113.10")}, nil
		case "interna.example":
			return []netip.Addr{netip.MustParseAddr("203.0.113.10"), netip.MustParseAddr("10.0.0.9")}, nil
		}
		return nil, context.DeadlineExceeded
	}
	p, err := egress.New([]string{"sim.local", "10.9.0.0/16", "interna.example:8443"}, "http://127.0.0.1:9090")
	require.NoError(t, err)
	p = p.WithLookup(lookup)
	ctx := context.Background()
	for u, ok := range map[string]bool{
		"https://publica.example":            true,
		"https://publica.example:8443/api":   true,
		"https://nao-resolve.example":        true, // the dial decides
		"http://publica.example":             false,
		"https://interna.example":            false,
		"https://interna.example:8443":       true,
		"http://interna.example:8443":        true,
		"http://sim.local:9090":              true,
		"http://127.0.0.1:9090/api":          true,  // SVAHUB_QUALIFICA_URL's address
		"http://127.0.0.1:9091":              false, // its host on another port
		"http://127.0.0.1":                   false,
		"https://interna.example:8443/x":     true,
		"https://publica.example:99999":      false,
		"https://publica.example:0":          false,
		"https://2130706433/":                false,
		"https://0177.0.0.1/":                false,
		"https://0x7f000001/":                false,
		"https://127.1/":                     false,
		"https://[64:ff9b::7f00:1]/":         false,
		"https://127.0.0.2":                  false,
		"http://10.9.1.1":                    true,
		"https://10.8.1.1":                   false,
		"https://user@publica.example":       false,
		"https://publica.example/?":          false,
		"https://publica.example/?a=1":       false,
		"https://publica.example/#x":         false,
		"publica.example":                    false,
		"//publica.example":                  false,
		"mailto:a@publica.example":           false,
		"https://[::ffff:10.0.0.1]:443/path": false,
	} {
		err := p.CheckURL(ctx, u)
		if ok {
			require.NoError(t, err, u)
		} else {
			require.ErrorIs(t, err, egress.ErrRefused, u)
		}
	}
}

// TestDefaultPorts: a host:port entry on a scheme's default port allows
// the URL that leaves the port out; SVAHUB_QUALIFICA_URL's address allows
// plain http only when that URL is itself http.
func TestDefaultPorts(t *testing.T) {
	t.Parallel()
	p, err := egress.New([]string{"10.1.2.3:443", "10.9.9.9:80"}, "https://api.qualifica.example")
	require.NoError(t, err)
	ctx := context.Background()
	for u, ok := range map[string]bool{
		"https://10.1.2.3/":                  true,
		"https://10.1.2.3:443/":              true,
		"https://10.1.2.3:8443/":             false,
		"http://10.9.9.9/":                   true,
		"https://api.qualifica.example/":     true,
		"http://api.qualifica.example/":      false, // the secret would travel in clear
		"https://api.qualifica.example:8443": true,  // a public name: checked as any other
	} {
		err := p.CheckURL(ctx, u)
		if ok {
			require.NoError(t, err, u)
		} else {
			require.ErrorIs(t, err, egress.ErrRefused, u)
		}
	}
}
