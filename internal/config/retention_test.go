package config_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/config"
)

func TestTransmissionRetention(t *testing.T) {
	t.Parallel()
	c, err := config.LoadFrom(map[string]string{})
	require.NoError(t, err)
	require.Equal(t, 90*24*time.Hour, c.TransmissionRetention.Duration(), "default: 90 days")

	for value, want := range map[string]time.Duration{
		"0":     0, // keep everything
		"0s":    0,
		"30d":   30 * 24 * time.Hour,
		" 7d ":  7 * 24 * time.Hour,
		"365d":  365 * 24 * time.Hour,
		"36h":   36 * time.Hour,
		"2160h": 90 * 24 * time.Hour,
		"1h30m": 90 * time.Minute,
		"":      90 * 24 * time.Hour,
	} {
		t.Run(value, func(t *testing.T) {
			t.Parallel()
			c, err := config.LoadFrom(map[string]string{"SVAHUB_TRANSMISSION_RETENTION": value})
			require.NoError(t, err)
			require.Equal(t, want, c.TransmissionRetention.Duration())
		})
	}
	for value, want := range map[string]string{
		"90":        "SVAHUB_TRANSMISSION_RETENTION: must be 0 or a duration such as 90d or 36h",
		"ninety":    "SVAHUB_TRANSMISSION_RETENTION: must be 0 or a duration such as 90d or 36h",
		"-1d":       "SVAHUB_TRANSMISSION_RETENTION: must not be negative",
		"-5h":       "SVAHUB_TRANSMISSION_RETENTION: must not be negative",
		"90s":       "SVAHUB_TRANSMISSION_RETENTION: must be 0 (keep everything) or at least 1h",
		"1.5d":      "SVAHUB_TRANSMISSION_RETENTION: must be 0 or a duration such as 90d or 36h",
		"99999999d": "SVAHUB_TRANSMISSION_RETENTION: must be 0 or a duration such as 90d or 36h",
	} {
		t.Run(value, func(t *testing.T) {
			t.Parallel()
			_, err := config.LoadFrom(map[string]string{"SVAHUB_TRANSMISSION_RETENTION": value})
			require.ErrorContains(t, err, want)
		})
	}
	require.Contains(t, config.Usage(), "SVAHUB_TRANSMISSION_RETENTION")
}

func TestPeriodString(t *testing.T) {
	t.Parallel()
	require.Equal(t, "90d", config.Period(90*24*time.Hour).String())
	require.Equal(t, "36h0m0s", config.Period(36*time.Hour).String())
	require.Equal(t, "0", config.Period(0).String())
}
