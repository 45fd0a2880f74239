package main

import (
	"net"
	"strings"
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

// TestOneOffCommandsQuiet runs one-off commands on an up-to-date database:
// they print their answer and nothing from River ("No migrations to
// apply") or the migrations.
func TestOneOffCommandsQuiet(t *testing.T) {
	bin, _ := binaries(t)
	dir := t.TempDir()
	env := cleanEnv()
	_, errOut, err := runBin(t, dir, env, bin, "migrate")
	require.NoError(t, err, errOut)
	require.Contains(t, errOut, `"msg":"migration applied"`)
	require.NotContains(t, errOut, "rivermigrate")

	_, errOut, err = runBin(t, dir, env, bin, "migrate")
	require.NoError(t, err, errOut)
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	require.Len(t, lines, 1, errOut)
	require.Contains(t, lines[0], `"msg":"database is up to date"`)

	out, errOut, err := runBin(t, dir, env, bin, "apikey", "list")
	require.NoError(t, err)
	require.Empty(t, errOut)
	require.Contains(t, out, "ID  NOME")
	_, errOut, err = runBin(t, dir, env, bin, "apikey", "revoke", "--id", "7")
	require.Error(t, err)
	require.Equal(t, "svahub: no live API key with id 7\n", errOut)
}
