package simserve

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// lockedBuffer is a log sink safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestServeLogsWithoutBodiesAndStops(t *testing.T) {
	t.Parallel()
	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := false
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }), log,
			Options{LogHeader: "webhook-id", OnStop: func() { stopped = true }})
	}()
	req, err := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/x?cpf=52998224725", strings.NewReader(`{"senha":"s3nh4"}`))
	require.NoError(t, err)
	req.Header.Set("webhook-id", "cmd_1_2_plano.ativar")
	req.Header.Set("webhook-signature", "v1,c2VjcmV0")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusTeapot, resp.StatusCode)
	cancel()
	require.NoError(t, <-done)
	require.True(t, stopped)
	out := logs.String()
	require.Contains(t, out, "cmd_1_2_plano.ativar")
	require.Contains(t, out, "status=418")
	for _, secret := range []string{"s3nh4", "52998224725", "c2VjcmV0"} {
		require.NotContains(t, out, secret)
	}
}
