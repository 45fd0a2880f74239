package main

import (
	"net"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPortTakenBeforeWorkers starts svahub on a port already in use: it
// must fail on the bind before any worker starts.
func TestPortTakenBeforeWorkers(t *testing.T) {
	bin, _ := binaries(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	for _, cmd := range []string{"serve", "worker"} {
		out, errOut, err := runBin(t, t.TempDir(), cleanEnv("SVAHUB_ADDR="+ln.Addr().String()), bin, cmd)
		require.Error(t, err, cmd)
		require.Contains(t, errOut, "address already in use", cmd)
		require.NotContains(t, errOut, "workers started", cmd)
		require.NotContains(t, errOut, "No API key existed", "%s: no key is created for a process that cannot serve", cmd)
		require.Empty(t, out)
	}
}
