package config_test

import (
	"bytes"
	"encoding/base64"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/config"
	"github.com/svahub/svahub/internal/secret"
)

func genKey(t *testing.T) string {
	t.Helper()
	k, err := secret.GenerateKey()
	require.NoError(t, err)
	return k
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	c, err := config.LoadFrom(map[string]string{})
	require.NoError(t, err)

	require.Equal(t, ":8080", c.Addr)
	require.Empty(t, c.DatabaseURL)
	require.Equal(t, config.DialectSQLite, c.Dialect)
	require.Equal(t, "./svahub.db", c.SQLitePath)
	require.Empty(t, c.SecretKey)
	require.Empty(t, c.PreviousSecretKeys)
	require.Equal(t, "America/Sao_Paulo", c.Timezone)
	require.NotNil(t, c.Location)
	require.Equal(t, "America/Sao_Paulo", c.Location.String())
	require.Equal(t, "info", c.LogLevel)
	require.Equal(t, slog.LevelInfo, c.Level)
	require.Equal(t, "json", c.LogFormat)
	require.Empty(t, c.QualificaURL)
	require.True(t, c.Workers)
	require.Equal(t, 50, c.MaxWorkers)
	require.Equal(t, 30*time.Second, c.ShutdownGrace)
	require.Equal(t, 15*time.Second, c.LeaseTTL)
	require.Equal(t, 10*time.Second, c.PlatformTimeout)
	require.InDelta(t, 10.0, c.PlatformRateLimit, 0)
}

func TestNilEnvironIsEmptyNotProcessEnv(t *testing.T) {
	t.Parallel()
	c, err := config.LoadFrom(nil)
	require.NoError(t, err)
	require.Equal(t, ":8080", c.Addr)
}

func TestEmptyValuesTakeDefaults(t *testing.T) {
	t.Parallel()
	c, err := config.LoadFrom(map[string]string{"SVAHUB_ADDR": "", "SVAHUB_MAX_WORKERS": "", "SVAHUB_TIMEZONE": ""})
	require.NoError(t, err)
	require.Equal(t, ":8080", c.Addr)
	require.Equal(t, 50, c.MaxWorkers)
	require.Equal(t, "America/Sao_Paulo", c.Timezone)
}

func TestAllSet(t *testing.T) {
	t.Parallel()
	k1, k2, k3 := genKey(t), genKey(t), genKey(t)
	c, err := config.LoadFrom(map[string]string{
		"SVAHUB_ADDR":                "127.0.0.1:9000",
		"SVAHUB_DATABASE_URL":        "postgres://svahub:pw@db:5432/svahub?sslmode=disable",
		"SVAHUB_SECRET_KEY":          k1,
		"SVAHUB_SECRET_KEY_PREVIOUS": k2 + ", " + k3 + ",",
		"SVAHUB_TIMEZONE":            "UTC",
		"SVAHUB_LOG_LEVEL":           "DEBUG",
		"SVAHUB_LOG_FORMAT":          "text",
		"SVAHUB_QUALIFICA_URL":       "http://qualifica-sim:9090",
		"SVAHUB_WORKERS":             "false",
		"SVAHUB_MAX_WORKERS":         "200",
		"SVAHUB_SHUTDOWN_GRACE":      "5s",
		"SVAHUB_LEASE_TTL":           "6s",
		"SVAHUB_PLATFORM_TIMEOUT":    "1500ms",
		"SVAHUB_PLATFORM_RATE_LIMIT": "2.5",
	})
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:9000", c.Addr)
	require.Equal(t, config.DialectPostgres, c.Dialect)
	require.Empty(t, c.SQLitePath)
	require.Equal(t, []string{k2, k3}, c.PreviousSecretKeys)
	require.Equal(t, time.UTC.String(), c.Location.String())
	require.Equal(t, slog.LevelDebug, c.Level)
	require.Equal(t, "text", c.LogFormat)
	require.Equal(t, "http://qualifica-sim:9090", c.QualificaURL)
	require.False(t, c.Workers)
	require.Equal(t, 200, c.MaxWorkers)
	require.Equal(t, 5*time.Second, c.ShutdownGrace)
	require.Equal(t, 6*time.Second, c.LeaseTTL)
	require.Equal(t, 1500*time.Millisecond, c.PlatformTimeout)
	require.InDelta(t, 2.5, c.PlatformRateLimit, 0)
}

func TestBadValuesNameTheirVariable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		variable, value, want string
	}{
		{"SVAHUB_ADDR", "8080", "SVAHUB_ADDR: must be host:port"},
		{"SVAHUB_ADDR", "localhost:http", "SVAHUB_ADDR: port must be a number"},
		{"SVAHUB_ADDR", ":70000", "SVAHUB_ADDR: port must be a number"},
		{"SVAHUB_DATABASE_URL", "mysql://u:p@h/db", `SVAHUB_DATABASE_URL: unsupported scheme "mysql"`},
		{"SVAHUB_DATABASE_URL", "svahub", "SVAHUB_DATABASE_URL: must be a postgres://"},
		{"SVAHUB_DATABASE_URL", "sqlite://", "SVAHUB_DATABASE_URL: SQLite URL has no file path"},
		{"SVAHUB_SECRET_KEY", "c2hvcnQ=", "SVAHUB_SECRET_KEY: must be base64 of exactly 32 bytes"},
		{"SVAHUB_SECRET_KEY", "not base64!!", "SVAHUB_SECRET_KEY: must be base64 of exactly 32 bytes"},
		{"SVAHUB_SECRET_KEY_PREVIOUS", "c2hvcnQ=", "SVAHUB_SECRET_KEY_PREVIOUS: entry 1 must be base64"},
		{"SVAHUB_TIMEZONE", "Mars/Base", `SVAHUB_TIMEZONE: unknown time zone "Mars/Base"`},
		{"SVAHUB_LOG_LEVEL", "verbose", "SVAHUB_LOG_LEVEL: must be one of debug, info, warn, error"},
		{"SVAHUB_LOG_FORMAT", "xml", "SVAHUB_LOG_FORMAT: must be one of json, text"},
		{"SVAHUB_QUALIFICA_URL", "ftp://example.com", `SVAHUB_QUALIFICA_URL: must be an absolute http or https URL, got scheme "ftp"`},
		{"SVAHUB_QUALIFICA_URL", "qualifica.example.com/api", "SVAHUB_QUALIFICA_URL: must be an absolute http or https URL"},
		{"SVAHUB_QUALIFICA_URL", "http://", "SVAHUB_QUALIFICA_URL: must be an absolute http or https URL with a host"},
		{"SVAHUB_QUALIFICA_URL", "http://[::1", "SVAHUB_QUALIFICA_URL: not a valid URL"},
		{"SVAHUB_WORKERS", "maybe", "SVAHUB_WORKERS: must be true or false"},
		{"SVAHUB_MAX_WORKERS", "many", "SVAHUB_MAX_WORKERS: must be a whole number"},
		{"SVAHUB_MAX_WORKERS", "0", "SVAHUB_MAX_WORKERS: must be from 1 to 10000"},
		{"SVAHUB_MAX_WORKERS", "10001", "SVAHUB_MAX_WORKERS: must be from 1 to 10000"},
		{"SVAHUB_DB_MAX_TX", "-1", "SVAHUB_DB_MAX_TX: must be from 0 to 1000"},
		{"SVAHUB_DB_MAX_TX", "1001", "SVAHUB_DB_MAX_TX: must be from 0 to 1000"},
		{"SVAHUB_SHUTDOWN_GRACE", "30", "SVAHUB_SHUTDOWN_GRACE: must be a duration"},
		{"SVAHUB_SHUTDOWN_GRACE", "-1s", "SVAHUB_SHUTDOWN_GRACE: must not be negative"},
		{"SVAHUB_LEASE_TTL", "1s", "SVAHUB_LEASE_TTL: must be from 3s to 5m"},
		{"SVAHUB_LEASE_TTL", "10m", "SVAHUB_LEASE_TTL: must be from 3s to 5m"},
		{"SVAHUB_PLATFORM_TIMEOUT", "soon", "SVAHUB_PLATFORM_TIMEOUT: must be a duration"},
		{"SVAHUB_PLATFORM_TIMEOUT", "0s", "SVAHUB_PLATFORM_TIMEOUT: must be positive"},
		{"SVAHUB_PLATFORM_RATE_LIMIT", "fast", "SVAHUB_PLATFORM_RATE_LIMIT: must be a number"},
		{"SVAHUB_PLATFORM_RATE_LIMIT", "0", "SVAHUB_PLATFORM_RATE_LIMIT: must be a positive number"},
		{"SVAHUB_PLATFORM_RATE_LIMIT", "NaN", "SVAHUB_PLATFORM_RATE_LIMIT: must be a positive number"},
		{"SVAHUB_PLATFORM_RATE_LIMIT", "+Inf", "SVAHUB_PLATFORM_RATE_LIMIT: must be a positive number"},
	}
	for _, tc := range cases {
		t.Run(tc.variable+"="+tc.value, func(t *testing.T) {
			t.Parallel()
			_, err := config.LoadFrom(map[string]string{tc.variable: tc.value})
			require.ErrorContains(t, err, tc.want)
			if strings.Contains(tc.variable, "SECRET") {
				require.NotContains(t, err.Error(), tc.value)
			}
		})
	}
}

func TestErrorsAreAllReported(t *testing.T) {
	t.Parallel()
	_, err := config.LoadFrom(map[string]string{
		"SVAHUB_TIMEZONE":    "Mars/Base",
		"SVAHUB_LOG_LEVEL":   "loud",
		"SVAHUB_MAX_WORKERS": "x",
	})
	require.ErrorContains(t, err, "SVAHUB_TIMEZONE:")
	require.ErrorContains(t, err, "SVAHUB_LOG_LEVEL:")
	require.ErrorContains(t, err, "SVAHUB_MAX_WORKERS:")
}

func TestErrorsNeverEchoSecrets(t *testing.T) {
	t.Parallel()
	// 31 bytes: looks like a key, is not one.
	almost := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcde"))
	_, err := config.LoadFrom(map[string]string{
		"SVAHUB_SECRET_KEY":          almost,
		"SVAHUB_SECRET_KEY_PREVIOUS": genKey(t) + "," + almost,
		"SVAHUB_DATABASE_URL":        "postgres://svahub:hunter2@db:5432/x?sslmode=%zz",
	})
	require.Error(t, err)
	require.NotContains(t, err.Error(), almost)
	require.ErrorContains(t, err, "SVAHUB_SECRET_KEY_PREVIOUS: entry 2")

	_, err = config.LoadFrom(map[string]string{"SVAHUB_DATABASE_URL": "postgres://svahub:hunter2@db:bad port/x"})
	require.ErrorContains(t, err, "SVAHUB_DATABASE_URL: not a valid URL")
	require.NotContains(t, err.Error(), "hunter2")

	_, err = config.LoadFrom(map[string]string{"SVAHUB_DATABASE_URL": "mysql://root:hunter2@db/x"})
	require.NotContains(t, err.Error(), "hunter2")
}

func TestDatabaseDetection(t *testing.T) {
	t.Parallel()
	cases := []struct {
		url, dialect, path string
	}{
		{"", config.DialectSQLite, "./svahub.db"},
		{"postgres://u:p@localhost:5432/svahub", config.DialectPostgres, ""},
		{"postgresql://localhost/svahub?sslmode=disable", config.DialectPostgres, ""},
		{"POSTGRES://localhost/svahub", config.DialectPostgres, ""},
		{"sqlite:///var/lib/svahub/svahub.db", config.DialectSQLite, "/var/lib/svahub/svahub.db"},
		{"sqlite://data/svahub.db", config.DialectSQLite, "data/svahub.db"},
		{"sqlite://./x.sqlite?_pragma=busy_timeout(5000)", config.DialectSQLite, "./x.sqlite"},
		{"file:data/svahub.db", config.DialectSQLite, "data/svahub.db"},
		{"file:/srv/svahub.db?_pragma=foreign_keys(1)", config.DialectSQLite, "/srv/svahub.db"},
		{"file:///srv/svahub.db", config.DialectSQLite, "/srv/svahub.db"},
		{"file::memory:?cache=shared", config.DialectSQLite, ":memory:"},
		{"/tmp/svahub.db", config.DialectSQLite, "/tmp/svahub.db"},
		{"svahub.db", config.DialectSQLite, "svahub.db"},
		{"data/svahub.sqlite3", config.DialectSQLite, "data/svahub.sqlite3"},
	}
	for _, tc := range cases {
		t.Run(tc.url, func(t *testing.T) {
			t.Parallel()
			c, err := config.LoadFrom(map[string]string{"SVAHUB_DATABASE_URL": tc.url})
			require.NoError(t, err)
			require.Equal(t, tc.dialect, c.Dialect)
			require.Equal(t, tc.path, c.SQLitePath)
		})
	}
}

func TestResolveSecretKeyExplicit(t *testing.T) {
	t.Parallel()
	k, p := genKey(t), genKey(t)
	c, err := config.LoadFrom(map[string]string{
		"SVAHUB_DATABASE_URL":        "postgres://db/svahub",
		"SVAHUB_SECRET_KEY":          k,
		"SVAHUB_SECRET_KEY_PREVIOUS": p,
	})
	require.NoError(t, err)
	key, prev, err := c.ResolveSecretKey(nil)
	require.NoError(t, err)
	want, err := secret.ParseKey(k)
	require.NoError(t, err)
	wantPrev, err := secret.ParseKey(p)
	require.NoError(t, err)
	require.Equal(t, want, key)
	require.Equal(t, [][]byte{wantPrev}, prev)

	_, err = secret.NewBox(key, prev...)
	require.NoError(t, err)
}

func TestResolveSecretKeyPostgresRequiresKey(t *testing.T) {
	t.Parallel()
	c, err := config.LoadFrom(map[string]string{"SVAHUB_DATABASE_URL": "postgresql://db/svahub"})
	require.NoError(t, err)
	_, _, err = c.ResolveSecretKey(slog.New(slog.DiscardHandler))
	require.ErrorIs(t, err, config.ErrSecretKeyRequired)
	require.ErrorContains(t, err, "SVAHUB_SECRET_KEY is required with PostgreSQL")
}

func TestResolveSecretKeySQLiteKeyFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c, err := config.LoadFrom(map[string]string{"SVAHUB_DATABASE_URL": "sqlite://" + filepath.Join(dir, "svahub.db")})
	require.NoError(t, err)

	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))

	key, prev, err := c.ResolveSecretKey(logger)
	require.NoError(t, err)
	require.Len(t, key, secret.KeySize)
	require.Empty(t, prev)

	path := filepath.Join(dir, config.KeyFileName)
	info, err := os.Stat(path)
	require.NoError(t, err)
	if runtime.GOOS != "windows" {
		require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	}
	require.Contains(t, logs.String(), "generated a new secret key")
	require.Contains(t, logs.String(), path)
	require.NotContains(t, logs.String(), base64.StdEncoding.EncodeToString(key))
	require.NotContains(t, logs.String(), base64.RawStdEncoding.EncodeToString(key))

	logs.Reset()
	again, _, err := c.ResolveSecretKey(logger)
	require.NoError(t, err)
	require.Equal(t, key, again)
	require.NotContains(t, logs.String(), "generated a new secret key")
}

func TestResolveSecretKeySQLiteExplicitKeyWritesNoFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c, err := config.LoadFrom(map[string]string{
		"SVAHUB_DATABASE_URL": filepath.Join(dir, "svahub.db"),
		"SVAHUB_SECRET_KEY":   genKey(t),
	})
	require.NoError(t, err)
	_, _, err = c.ResolveSecretKey(nil)
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(dir, config.KeyFileName))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestResolveSecretKeyBadKeyFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, config.KeyFileName), []byte("c2hvcnQ=\n"), 0o600))
	c, err := config.LoadFrom(map[string]string{"SVAHUB_DATABASE_URL": filepath.Join(dir, "svahub.db")})
	require.NoError(t, err)
	_, _, err = c.ResolveSecretKey(slog.New(slog.DiscardHandler))
	require.ErrorIs(t, err, secret.ErrInvalidKey)
	require.ErrorContains(t, err, "SVAHUB_SECRET_KEY")
	require.NotContains(t, err.Error(), "c2hvcnQ=")
}

func TestResolveSecretKeyInMemory(t *testing.T) {
	t.Parallel()
	c, err := config.LoadFrom(map[string]string{"SVAHUB_DATABASE_URL": "file::memory:?cache=shared"})
	require.NoError(t, err)
	key, _, err := c.ResolveSecretKey(slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.Len(t, key, secret.KeySize)
	_, err = os.Stat(config.KeyFileName)
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestLogValueHidesSecrets(t *testing.T) {
	t.Parallel()
	k := genKey(t)
	c, err := config.LoadFrom(map[string]string{
		"SVAHUB_DATABASE_URL":        "postgres://svahub:hunter2@db/svahub?password=hunter3",
		"SVAHUB_SECRET_KEY":          k,
		"SVAHUB_SECRET_KEY_PREVIOUS": genKey(t),
	})
	require.NoError(t, err)
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("config", "config", c)
	out := logs.String()
	require.NotContains(t, out, k)
	require.NotContains(t, out, "hunter2")
	require.NotContains(t, out, "hunter3")
	require.Contains(t, out, "config.secret_key_set=true")
	require.Contains(t, out, "config.previous_secret_keys=1")
	require.Contains(t, out, "db/svahub")
}

func TestUsageListsEveryVariable(t *testing.T) {
	t.Parallel()
	u := config.Usage()
	for _, v := range []string{
		"SVAHUB_ADDR", "SVAHUB_DATABASE_URL", "SVAHUB_SECRET_KEY", "SVAHUB_SECRET_KEY_PREVIOUS",
		"SVAHUB_TIMEZONE", "SVAHUB_LOG_LEVEL", "SVAHUB_LOG_FORMAT", "SVAHUB_QUALIFICA_URL",
		"SVAHUB_WORKERS", "SVAHUB_MAX_WORKERS", "SVAHUB_SHUTDOWN_GRACE", "SVAHUB_LEASE_TTL",
		"SVAHUB_PLATFORM_TIMEOUT", "SVAHUB_PLATFORM_RATE_LIMIT", "SVAHUB_PPROF_ADDR", "SVAHUB_DB_MAX_CONNS", "SVAHUB_DB_MAX_TX",
		"SVAHUB_TRANSMISSION_RETENTION",
	} {
		require.Contains(t, u, v)
	}
	require.Contains(t, u, "America/Sao_Paulo")
	require.Contains(t, u, "30s")
	for _, v := range config.Variables() {
		require.NotEmpty(t, v.Usage, v.Name)
	}
	require.Len(t, config.Variables(), 21)
}

func TestTrustBoundaryVariables(t *testing.T) {
	t.Parallel()
	c, err := config.LoadFrom(map[string]string{})
	require.NoError(t, err)
	require.Equal(t, 10*time.Minute, c.PlatformRetryAfterMax)
	require.Empty(t, c.TrustedProxyNets)

	c, err = config.LoadFrom(map[string]string{
		"SVAHUB_TRUSTED_PROXIES":          "10.0.0.0/8, 192.0.2.7",
		"SVAHUB_PLATFORM_ALLOWED_HOSTS":   "qualifica-sim, 127.0.0.1:9090, 10.20.0.0/16",
		"SVAHUB_PLATFORM_RETRY_AFTER_MAX": "2m",
	})
	require.NoError(t, err)
	require.Len(t, c.TrustedProxyNets, 2)
	require.Equal(t, "192.0.2.7/32", c.TrustedProxyNets[1].String())
	require.Len(t, c.PlatformAllowedHosts, 3)
	require.Equal(t, 2*time.Minute, c.PlatformRetryAfterMax)

	_, err = config.LoadFrom(map[string]string{
		"SVAHUB_TRUSTED_PROXIES":          "10.0.0.0/33",
		"SVAHUB_PLATFORM_ALLOWED_HOSTS":   "http://qualifica-sim:9090",
		"SVAHUB_PLATFORM_RETRY_AFTER_MAX": "0s",
	})
	require.ErrorContains(t, err, "SVAHUB_TRUSTED_PROXIES")
	require.ErrorContains(t, err, "SVAHUB_PLATFORM_ALLOWED_HOSTS")
	require.ErrorContains(t, err, "SVAHUB_PLATFORM_RETRY_AFTER_MAX")
}
