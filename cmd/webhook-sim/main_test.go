package main

import (
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/pkg/webhook/webhooksim"
)

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func TestParseFlags(t *testing.T) {
	t.Parallel()
	env := func(k string) string {
		if k == secretEnv {
			return secret
		}
		return ""
	}
	cfg, err := parseFlags(nil, env, io.Discard)
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:9091", cfg.addr)
	require.Equal(t, webhooksim.Options{Secret: secret, Tolerance: webhooksim.DefaultTolerance}, cfg.opts)

	cfg, err = parseFlags([]string{"-addr", ":0", "-segredo", "whsec_other", "-latency", "20ms", "-tolerance", "1m"}, env, io.Discard)
	require.NoError(t, err)
	require.Equal(t, webhooksim.Options{Secret: "whsec_other", Latency: 20 * time.Millisecond, Tolerance: time.Minute}, cfg.opts)

	_, err = parseFlags([]string{"-latency", "-1s"}, env, io.Discard)
	require.Error(t, err)
	_, err = parseFlags([]string{"extra"}, env, io.Discard)
	require.Error(t, err)
}
