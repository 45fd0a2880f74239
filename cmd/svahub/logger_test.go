package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/config"
)

// TestJSONLogDurations checks that JSON logs show durations as Go duration
// strings ("1.5s"), at the top level and inside groups such as the
// configuration logged at start-up, not as nanoseconds.
func TestJSONLogDurations(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := newLogger(config.Config{Level: slog.LevelInfo, LogFormat: "json", ShutdownGrace: 30 * time.Second}, &buf)
	log.Info("x", "duration", 1500*time.Millisecond, "config", config.Config{ShutdownGrace: 30 * time.Second, PlatformTimeout: 10 * time.Second})
	var m map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &m), buf.String())
	require.Equal(t, "1.5s", m["duration"])
	cfg := m["config"].(map[string]any)
	require.Equal(t, "30s", cfg["shutdown_grace"])
	require.Equal(t, "10s", cfg["platform_timeout"])

	buf.Reset()
	log = newLogger(config.Config{Level: slog.LevelInfo, LogFormat: "text"}, &buf)
	log.Info("x", "duration", 1500*time.Millisecond)
	require.True(t, strings.Contains(buf.String(), "duration=1.5s"), buf.String())
}
