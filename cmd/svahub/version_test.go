package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// get answers the status and body of GET url.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// TestVersion builds svahub with the version stamped as the Dockerfile's
// VERSION argument does and checks that it shows: svahub version,
// svahub --version, /healthz, the startup log and svahub_build_info.
func TestVersion(t *testing.T) {
	bin, _ := binaries(t)
	dir := t.TempDir()
	for _, args := range [][]string{{"version"}, {"--version"}, {"serve", "--version"}} {
		out, errOut, err := runBin(t, dir, cleanEnv(), bin, args...)
		require.NoError(t, err, "%v: %s", args, errOut)
		require.Contains(t, out, "svahub "+testVersion, args)
		require.Contains(t, out, "go1.", args)
	}
	addr := freeAddr(t)
	srv := startProc(t, dir, cleanEnv("SVAHUB_ADDR="+addr), bin)
	waitHTTP(t, "http://"+addr+"/readyz", http.StatusOK)
	code, body := get(t, "http://"+addr+"/healthz")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `"versao":"`+testVersion+`"`)
	_, metrics := get(t, "http://"+addr+"/metrics")
	require.Regexp(t, `(?m)^svahub_build_info\{.*version="`+testVersion+`".*\} 1$`, metrics)
	require.Contains(t, strings.SplitN(srv.Output(), "\n", 2)[0], `"version":"`+testVersion+`"`, "the first log line names the version")
}

// TestWorkerServesOpsEndpoints checks what docs/operations.md says of
// `svahub worker`: it listens on SVAHUB_ADDR and serves /healthz, /readyz
// and /metrics, and nothing else (no API, no Swagger UI).
func TestWorkerServesOpsEndpoints(t *testing.T) {
	bin, _ := binaries(t)
	dir := t.TempDir()
	_, errOut, err := runBin(t, dir, cleanEnv(), bin, "migrate")
	require.NoError(t, err, errOut)
	addr := freeAddr(t)
	startProc(t, dir, cleanEnv("SVAHUB_ADDR="+addr), bin, "worker")
	waitHTTP(t, "http://"+addr+"/readyz", http.StatusOK)
	code, body := get(t, "http://"+addr+"/healthz")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `"versao":"`+testVersion+`"`)
	code, body = get(t, "http://"+addr+"/metrics")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "svahub_build_info{")
	require.Contains(t, body, "svahub_accesses_in_error ")
	for _, p := range []string{"/api/v1/pacotes", "/swagger/index.html"} {
		code, _ = get(t, "http://"+addr+p)
		require.Equal(t, http.StatusNotFound, code, p)
	}
}
