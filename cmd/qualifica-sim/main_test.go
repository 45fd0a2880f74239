package main

import (
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/pkg/qualifica"
	"github.com/svahub/svahub/pkg/qualifica/qualificasim"
)

func TestParseFlagsDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := parseFlags(nil, io.Discard)
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:9090", cfg.addr)
	require.Equal(t, map[string]string{"svahub-test": "segredo-teste"}, cfg.opts.Clients)
	require.Empty(t, cfg.opts.Catalogue) // the simulator's default catalogue
	require.Equal(t, time.Hour, cfg.opts.TokenTTL)
}

func TestParseFlags(t *testing.T) {
	t.Parallel()
	cfg, err := parseFlags([]string{
		"-addr", ":0", "-latency", "20ms", "-fail-rate", "0.1", "-timeout-rate", "0.2",
		"-rate-limit", "5", "-token-ttl", "2m", "-seed", "7",
		"-catalogue", "pro=Qualifica Pro, 1001=Curso 1001",
		"-clients", "a=sa,b=sb",
	}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, ":0", cfg.addr)
	require.Equal(t, qualificasim.Options{
		Clients:      map[string]string{"a": "sa", "b": "sb"},
		Catalogue:    []qualifica.Product{{Code: "pro", Name: "Qualifica Pro"}, {Code: "1001", Name: "Curso 1001"}},
		TokenTTL:     2 * time.Minute,
		Latency:      20 * time.Millisecond,
		FailRate:     0.1,
		TimeoutRate:  0.2,
		TimeoutDelay: qualificasim.DefaultTimeoutDelay,
		RateLimit:    5,
		Seed:         7,
	}, cfg.opts)
}

func TestParseFlagsErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"-fail-rate", "1.5"},
		{"-timeout-rate", "-1"},
		{"-rate-limit", "-1"},
		{"-token-ttl", "0s"},
		{"-catalogue", "pro"},
		{"-catalogue", "pro=A,pro=B"},
		{"-clients", ""},
		{"-clients", "a="},
		{"extra"},
		{"-nope"},
	} {
		_, err := parseFlags(args, io.Discard)
		require.Error(t, err, args)
	}
}
