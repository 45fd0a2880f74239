// Package config turns the process environment into a typed, validated
// Config. Every variable is named SVAHUB_*; Usage lists them all.
//
// Validation errors always start with the variable's name
// ("SVAHUB_TIMEZONE: unknown time zone \"Mars/Base\"") and never contain a
// secret key or a database password.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	// Embedded zone database, so SVAHUB_TIMEZONE works in scratch/distroless
	// images that have no /usr/share/zoneinfo.
	_ "time/tzdata"

	"github.com/caarlos0/env/v11"

	"github.com/svahub/svahub/internal/platform/egress"
	"github.com/svahub/svahub/internal/secret"
)

// Dialects reported in Config.Dialect.
const (
	// DialectSQLite is the embedded SQLite database (modernc, no cgo).
	DialectSQLite = "sqlite"
	// DialectPostgres is PostgreSQL.
	DialectPostgres = "postgres"
)

// DefaultSQLitePath is the database file used when SVAHUB_DATABASE_URL is empty.
const DefaultSQLitePath = "./svahub.db"

// KeyFileName is the file, beside the SQLite database, that holds the
// generated secret key when SVAHUB_SECRET_KEY is not set.
const KeyFileName = "svahub.key"

// Config is the service configuration. The env tags name the variables; the
// usage tags are the descriptions printed by Usage. Fields tagged env:"-" are
// derived by Load and cannot be set from the environment.
type Config struct {
	// Addr is the HTTP listen address, host:port.
	Addr string `env:"SVAHUB_ADDR" envDefault:":8080" usage:"HTTP listen address, host:port"`
	// PprofAddr, when set, serves net/http/pprof on that address (keep it
	// on loopback or an internal network).
	PprofAddr string `env:"SVAHUB_PPROF_ADDR" usage:"host:port serving /debug/pprof for profiling; empty: off (keep it on loopback)"`
	// DatabaseURL selects the database: empty for the SQLite file ./svahub.db;
	// postgres:// or postgresql:// for PostgreSQL; sqlite://PATH, file:PATH or a
	// path ending in .db for SQLite at that path.
	DatabaseURL string `env:"SVAHUB_DATABASE_URL" usage:"postgres://… or postgresql://… for PostgreSQL; sqlite://PATH, file:PATH or a path ending in .db for SQLite; empty: SQLite file ./svahub.db"`
	// SecretKey is the base64 of the 32-byte AES-256 key that seals secrets at
	// rest. Use ResolveSecretKey rather than reading it directly.
	SecretKey string `env:"SVAHUB_SECRET_KEY" usage:"base64 of 32 random bytes (openssl rand -base64 32) sealing secrets at rest; required with PostgreSQL; with SQLite, generated into svahub.key beside the database when empty"`
	// PreviousSecretKeys are older keys, still accepted for opening sealed
	// values during a key rotation.
	PreviousSecretKeys []string `env:"SVAHUB_SECRET_KEY_PREVIOUS" usage:"comma-separated former keys, still accepted to open secrets during a key rotation"`
	// Timezone is the IANA zone used for calendar dates (expiry dates).
	Timezone string `env:"SVAHUB_TIMEZONE" envDefault:"America/Sao_Paulo" usage:"IANA time zone for calendar dates such as expiry dates"`
	// LogLevel is one of debug, info, warn, error.
	LogLevel string `env:"SVAHUB_LOG_LEVEL" envDefault:"info" usage:"debug, info, warn or error"`
	// LogFormat is json or text.
	LogFormat string `env:"SVAHUB_LOG_FORMAT" envDefault:"json" usage:"json or text"`
	// QualificaURL is the default base URL for Qualifica integrations whose
	// parametros have no url_base. Absolute http(s) URL when set.
	QualificaURL string `env:"SVAHUB_QUALIFICA_URL" usage:"default base URL (http or https) for Qualifica integrations without url_base"`
	// Workers runs the background job workers inside "serve".
	Workers bool `env:"SVAHUB_WORKERS" envDefault:"true" usage:"run the job workers in the serve process too (true or false)"`
	// MaxWorkers bounds concurrent jobs per process, 1..10000.
	MaxWorkers int `env:"SVAHUB_MAX_WORKERS" envDefault:"50" usage:"maximum concurrent jobs per process, 1 to 10000"`
	// ShutdownGrace is how long in-flight requests and jobs get to finish on
	// SIGTERM.
	ShutdownGrace time.Duration `env:"SVAHUB_SHUTDOWN_GRACE" envDefault:"30s" usage:"time given to in-flight requests and jobs to finish on shutdown"`
	// LeaseTTL is how long a worker's lease on a plan (or account) lasts
	// without renewal; a worker process renews its leases and heartbeat
	// every third of it, and the work of a process silent for a whole TTL
	// is taken over by the others.
	LeaseTTL time.Duration `env:"SVAHUB_LEASE_TTL" envDefault:"15s" usage:"how long a worker's lease on a plan lasts without renewal, 3s to 5m; a killed worker's plans resume after about 1⅓ of it"`
	// DBMaxConns bounds the PostgreSQL connection pool of one process.
	DBMaxConns int `env:"SVAHUB_DB_MAX_CONNS" envDefault:"20" usage:"maximum PostgreSQL connections per process, 1 to 1000 (SQLite always uses one)"`
	// DBMaxTx bounds the database transactions one process runs at once.
	DBMaxTx int `env:"SVAHUB_DB_MAX_TX" envDefault:"0" usage:"maximum database transactions running at once per process, 0 to 1000; more wait in arrival order (0: 4 per CPU on PostgreSQL, at most SVAHUB_DB_MAX_CONNS; 1 on SQLite)"`
	// PlatformTimeout bounds one call to a content platform.
	PlatformTimeout time.Duration `env:"SVAHUB_PLATFORM_TIMEOUT" envDefault:"10s" usage:"timeout of one call to a content platform"`
	// PlatformRateLimit is the request rate the platform allows per
	// integration, in requests per second (> 0); the processes sharing a
	// PostgreSQL database divide it among themselves.
	PlatformRateLimit float64 `env:"SVAHUB_PLATFORM_RATE_LIMIT" envDefault:"10" usage:"requests per second the platform allows per integration, shared by every process on one PostgreSQL database (> 0, fractions allowed)"`
	// TransmissionRetention is how long transmissions (the platform call
	// log) are kept before the periodic sweep deletes them; 0 keeps them.
	TransmissionRetention Period `env:"SVAHUB_TRANSMISSION_RETENTION" envDefault:"90d" usage:"how long transmissions (one row per platform call) are kept, e.g. 90d or 36h; 0 keeps them forever; otherwise at least 1h"`
	// TrustedProxies are the CIDRs (or single IPs) of the reverse proxies
	// whose X-Forwarded-For header names the client.
	TrustedProxies []string `env:"SVAHUB_TRUSTED_PROXIES" usage:"comma-separated CIDRs or IPs of reverse proxies whose X-Forwarded-For names the client; empty: the client IP is the direct peer"`
	// PlatformAllowedHosts are exceptions to the refusal of internal
	// platform addresses (see egress.Policy).
	PlatformAllowedHosts []string `env:"SVAHUB_PLATFORM_ALLOWED_HOSTS" usage:"comma-separated host, host:port or CIDR entries a platform address may use although internal (loopback, private, link-local); they may also use plain http. The address (host and port) of SVAHUB_QUALIFICA_URL is always allowed"`
	// PlatformRetryAfterMax caps the wait a platform asks for in Retry-After.
	PlatformRetryAfterMax time.Duration `env:"SVAHUB_PLATFORM_RETRY_AFTER_MAX" envDefault:"10m" usage:"longest wait honoured from a platform's Retry-After; longer requests are cut to it"`

	// TrustedProxyNets is TrustedProxies parsed; derived by Load.
	TrustedProxyNets []*net.IPNet `env:"-"`
	// Location is Timezone loaded; derived by Load.
	Location *time.Location `env:"-"`
	// Level is LogLevel parsed; derived by Load.
	Level slog.Level `env:"-"`
	// Dialect is DialectSQLite or DialectPostgres; derived by Load.
	Dialect string `env:"-"`
	// SQLitePath is the SQLite database file (without any file: URI query);
	// empty for PostgreSQL; derived by Load.
	SQLitePath string `env:"-"`
}

// Load reads and validates the configuration from the process environment.
func Load() (Config, error) {
	return LoadFrom(env.ToMap(os.Environ()))
}

// LoadFrom reads and validates the configuration from environ, a map of
// variable names to values; the process environment is not consulted. It
// returns every problem found, joined, each prefixed by its variable's name.
func LoadFrom(environ map[string]string) (Config, error) {
	if environ == nil {
		environ = map[string]string{} // a nil map would make env read os.Environ
	}
	var c Config
	var errs []error
	if err := env.ParseWithOptions(&c, env.Options{Environment: environ}); err != nil {
		errs = append(errs, translateEnvError(err)...)
	}
	errs = append(errs, c.validate()...)
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	return c, nil
}

// validate checks each field and fills the derived ones.
func (c *Config) validate() []error {
	var errs []error
	add := func(variable, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", variable, fmt.Sprintf(format, args...)))
	}
	c.validateServer(add)
	c.validateStorage(add)
	c.validateLogging(add)
	c.validatePlatform(add)
	return errs
}

// addFunc records one variable's error.
type addFunc func(variable, format string, args ...any)

// validateServer checks the listening addresses, the workers and the
// trusted proxies.
func (c *Config) validateServer(add addFunc) {
	if c.PprofAddr != "" {
		if _, _, err := net.SplitHostPort(c.PprofAddr); err != nil {
			add("SVAHUB_PPROF_ADDR", "must be host:port or :port, got %q", c.PprofAddr)
		}
	}
	if _, port, err := net.SplitHostPort(c.Addr); err != nil {
		add("SVAHUB_ADDR", "must be host:port or :port, got %q", c.Addr)
	} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		add("SVAHUB_ADDR", "port must be a number from 0 to 65535, got %q", port)
	}
	if c.MaxWorkers < 1 || c.MaxWorkers > 10000 {
		add("SVAHUB_MAX_WORKERS", "must be from 1 to 10000, got %d", c.MaxWorkers)
	}
	if c.ShutdownGrace < 0 {
		add("SVAHUB_SHUTDOWN_GRACE", "must not be negative, got %s", c.ShutdownGrace)
	}
	if c.LeaseTTL < 3*time.Second || c.LeaseTTL > 5*time.Minute {
		add("SVAHUB_LEASE_TTL", "must be from 3s to 5m, got %s", c.LeaseTTL)
	}
	c.TrustedProxyNets = nil
	for _, p := range c.TrustedProxies {
		n, err := ParseCIDROrIP(p)
		if err != nil {
			add("SVAHUB_TRUSTED_PROXIES", "%q is not a CIDR or an IP address", strings.TrimSpace(p))
			continue
		}
		if n != nil {
			c.TrustedProxyNets = append(c.TrustedProxyNets, n)
		}
	}
}

// validateStorage checks the database, the sealing keys, the time zone
// and the retention.
func (c *Config) validateStorage(add addFunc) {
	if c.DBMaxConns < 1 || c.DBMaxConns > 1000 {
		add("SVAHUB_DB_MAX_CONNS", "must be from 1 to 1000, got %d", c.DBMaxConns)
	}
	if c.DBMaxTx < 0 || c.DBMaxTx > 1000 {
		add("SVAHUB_DB_MAX_TX", "must be from 0 to 1000, got %d", c.DBMaxTx)
	}
	if dialect, path, err := parseDatabaseURL(c.DatabaseURL); err != nil {
		add("SVAHUB_DATABASE_URL", "%s", err)
	} else {
		c.Dialect, c.SQLitePath = dialect, path
	}
	if c.SecretKey != "" {
		if _, err := secret.ParseKey(c.SecretKey); err != nil {
			add("SVAHUB_SECRET_KEY", "must be base64 of exactly %d bytes (generate one with: openssl rand -base64 32)", secret.KeySize)
		}
	}
	prev := c.PreviousSecretKeys[:0:0]
	for i, k := range c.PreviousSecretKeys {
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		if _, err := secret.ParseKey(k); err != nil {
			add("SVAHUB_SECRET_KEY_PREVIOUS", "entry %d must be base64 of exactly %d bytes", i+1, secret.KeySize)
		}
		prev = append(prev, k)
	}
	c.PreviousSecretKeys = prev
	c.Timezone = strings.TrimSpace(c.Timezone)
	if loc, err := time.LoadLocation(c.Timezone); err != nil {
		add("SVAHUB_TIMEZONE", "unknown time zone %q", c.Timezone)
	} else {
		c.Location = loc
	}
	if r := c.TransmissionRetention.Duration(); r < 0 {
		add("SVAHUB_TRANSMISSION_RETENTION", "must not be negative, got %s", c.TransmissionRetention)
	} else if r > 0 && r < time.Hour {
		add("SVAHUB_TRANSMISSION_RETENTION", "must be 0 (keep everything) or at least 1h, got %s", c.TransmissionRetention)
	}
}

// validateLogging checks the log level and format.
func (c *Config) validateLogging(add addFunc) {
	c.LogLevel = strings.ToLower(strings.TrimSpace(c.LogLevel))
	switch c.LogLevel {
	case "debug":
		c.Level = slog.LevelDebug
	case "info":
		c.Level = slog.LevelInfo
	case "warn":
		c.Level = slog.LevelWarn
	case "error":
		c.Level = slog.LevelError
	default:
		add("SVAHUB_LOG_LEVEL", "must be one of debug, info, warn, error, got %q", c.LogLevel)
	}
	c.LogFormat = strings.ToLower(strings.TrimSpace(c.LogFormat))
	if c.LogFormat != "json" && c.LogFormat != "text" {
		add("SVAHUB_LOG_FORMAT", "must be one of json, text, got %q", c.LogFormat)
	}
}

// validatePlatform checks the platform calls' settings and addresses.
func (c *Config) validatePlatform(add addFunc) {
	c.QualificaURL = strings.TrimSpace(c.QualificaURL)
	if c.QualificaURL != "" {
		u, err := url.Parse(c.QualificaURL)
		switch {
		case err != nil:
			add("SVAHUB_QUALIFICA_URL", "not a valid URL")
		case u.Scheme != "http" && u.Scheme != "https":
			add("SVAHUB_QUALIFICA_URL", "must be an absolute http or https URL, got scheme %q", u.Scheme)
		case u.Host == "":
			add("SVAHUB_QUALIFICA_URL", "must be an absolute http or https URL with a host")
		}
	}
	if c.PlatformTimeout <= 0 {
		add("SVAHUB_PLATFORM_TIMEOUT", "must be positive, got %s", c.PlatformTimeout)
	}
	if r := c.PlatformRateLimit; r <= 0 || math.IsNaN(r) || math.IsInf(r, 0) {
		add("SVAHUB_PLATFORM_RATE_LIMIT", "must be a positive number of requests per second, got %v", r)
	}
	if c.PlatformRetryAfterMax <= 0 {
		add("SVAHUB_PLATFORM_RETRY_AFTER_MAX", "must be positive, got %s", c.PlatformRetryAfterMax)
	}
	for _, h := range c.PlatformAllowedHosts {
		if err := egress.CheckEntry(h); err != nil {
			add("SVAHUB_PLATFORM_ALLOWED_HOSTS", "%s", err)
		}
	}
}

// ParseCIDROrIP parses "10.0.0.0/8" or a single address ("10.0.0.1" is
// 10.0.0.1/32); blank gives nil, nil.
func ParseCIDROrIP(s string) (*net.IPNet, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	if _, n, err := net.ParseCIDR(s); err == nil {
		return n, nil
	}
	ip := net.ParseIP(s)
	if ip == nil {
		return nil, errors.New("not a CIDR or IP address")
	}
	bits := 128
	if ip4 := ip.To4(); ip4 != nil {
		ip, bits = ip4, 32
	}
	return &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)}, nil
}

// parseDatabaseURL returns the dialect and, for SQLite, the database file
// path. Its errors never contain the URL, which may hold a password.
func parseDatabaseURL(raw string) (dialect, sqlitePath string, err error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return DialectSQLite, DefaultSQLitePath, nil
	}
	lower := strings.ToLower(raw)
	switch {
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		if _, err := url.Parse(raw); err != nil {
			// url.Error repeats the URL; say nothing more than this.
			return "", "", errors.New("not a valid URL (details withheld, it may contain a password)")
		}
		return DialectPostgres, "", nil
	case strings.HasPrefix(lower, "sqlite://"):
		return sqliteFile(raw[len("sqlite://"):])
	case strings.HasPrefix(lower, "file:"):
		p := raw[len("file:"):]
		if rest, ok := strings.CutPrefix(p, "//"); ok { // file://[host]/path
			i := strings.IndexByte(rest, '/')
			if i < 0 {
				return "", "", errors.New("SQLite URL has no file path")
			}
			p = rest[i:]
		}
		return sqliteFile(p)
	}
	if i := strings.Index(raw, "://"); i > 0 {
		return "", "", fmt.Errorf("unsupported scheme %q (use postgres://, postgresql://, sqlite:// or file:)", strings.ToLower(raw[:i]))
	}
	if ext := strings.ToLower(filepath.Ext(raw)); ext == ".db" || ext == ".sqlite" || ext == ".sqlite3" {
		return DialectSQLite, raw, nil
	}
	return "", "", errors.New("must be a postgres:// or postgresql:// URL, sqlite://PATH, file:PATH or a path ending in .db")
}

// sqliteFile strips a file: URI query (?mode=…&_pragma=…) and checks that a
// path is left.
func sqliteFile(p string) (string, string, error) {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	if p == "" {
		return "", "", errors.New("SQLite URL has no file path")
	}
	return DialectSQLite, p, nil
}

// translateEnvError turns the env library's errors (which name Go fields)
// into messages that name the variable.
func translateEnvError(err error) []error {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return []error{err}
	}
	out := make([]error, 0, len(agg.Errors))
	for _, e := range agg.Errors {
		var pe env.ParseError
		if !errors.As(e, &pe) {
			out = append(out, e)
			continue
		}
		variable := pe.Name
		if f, ok := reflect.TypeFor[Config]().FieldByName(pe.Name); ok {
			variable, _, _ = strings.Cut(f.Tag.Get("env"), ",")
		}
		out = append(out, fmt.Errorf("%s: %s", variable, describeType(pe.Type)))
	}
	return out
}

// describeType says what a valid value of a field type looks like.
func describeType(t reflect.Type) string {
	if t == reflect.TypeFor[Period]() {
		return errPeriodSyntax.Error()
	}
	if t == reflect.TypeFor[time.Duration]() {
		return "must be a duration such as 500ms, 30s or 2m"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "must be true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "must be a whole number"
	case reflect.Float32, reflect.Float64:
		return "must be a number"
	}
	return "invalid value"
}

// ResolveSecretKey returns the key that seals secrets and the previous keys
// still accepted for opening them, ready for secret.NewBox.
//
// SVAHUB_SECRET_KEY set: it is parsed. Empty with SQLite: the key is read from
// (or generated into, mode 0600) svahub.key beside the database file, and a
// warning is logged when a new key is generated; the key itself is never
// logged. Empty with PostgreSQL: an error, since replicas must share one key.
// A nil logger means slog.Default().
func (c Config) ResolveSecretKey(logger *slog.Logger) (key []byte, previous [][]byte, err error) {
	if logger == nil {
		logger = slog.Default()
	}
	for i, p := range c.PreviousSecretKeys {
		k, err := secret.ParseKey(p)
		if err != nil {
			return nil, nil, fmt.Errorf("SVAHUB_SECRET_KEY_PREVIOUS: entry %d must be base64 of exactly %d bytes", i+1, secret.KeySize)
		}
		previous = append(previous, k)
	}

	if c.SecretKey != "" {
		key, err = secret.ParseKey(c.SecretKey)
		if err != nil {
			return nil, nil, fmt.Errorf("SVAHUB_SECRET_KEY: must be base64 of exactly %d bytes (generate one with: openssl rand -base64 32)", secret.KeySize)
		}
		return key, previous, nil
	}

	dialect, sqlitePath := c.Dialect, c.SQLitePath
	if dialect == "" { // a Config not built by Load
		if dialect, sqlitePath, err = parseDatabaseURL(c.DatabaseURL); err != nil {
			return nil, nil, fmt.Errorf("SVAHUB_DATABASE_URL: %w", err)
		}
	}
	if dialect != DialectSQLite {
		return nil, nil, ErrSecretKeyRequired
	}

	if isMemory(sqlitePath) {
		b64, err := secret.GenerateKey()
		if err != nil {
			return nil, nil, err
		}
		key, err = secret.ParseKey(b64)
		if err != nil {
			return nil, nil, err
		}
		logger.Warn("generated an ephemeral secret key for an in-memory database; secrets will not survive a restart")
		return key, previous, nil
	}

	path := filepath.Join(filepath.Dir(sqlitePath), KeyFileName)
	b64, created, err := secret.LoadOrCreateKeyFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("SVAHUB_SECRET_KEY is empty and the key file could not be used: %w", err)
	}
	if created {
		logger.Warn("generated a new secret key",
			"file", path,
			"hint", "back this file up with the database, or set SVAHUB_SECRET_KEY; losing it makes stored platform credentials unreadable")
	} else if info, err := os.Stat(path); err == nil && info.Mode().Perm()&0o077 != 0 {
		logger.Warn("secret key file is readable by other users", "file", path, "mode", info.Mode().Perm().String())
	}
	key, err = secret.ParseKey(b64)
	if err != nil {
		return nil, nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return key, previous, nil
}

// KeyFilePath returns the key file beside the SQLite database
// (KeyFileName), or "" on PostgreSQL and for an in-memory database.
func (c Config) KeyFilePath() string {
	if c.Dialect != DialectSQLite || isMemory(c.SQLitePath) {
		return ""
	}
	return filepath.Join(filepath.Dir(c.SQLitePath), KeyFileName)
}

// ErrSecretKeyRequired is returned by ResolveSecretKey when SVAHUB_SECRET_KEY
// is empty and the database is PostgreSQL.
var ErrSecretKeyRequired = errors.New("SVAHUB_SECRET_KEY is required with PostgreSQL (generate one with: openssl rand -base64 32)")

// isMemory reports whether a SQLite path names an in-memory database.
func isMemory(p string) bool {
	return strings.HasPrefix(p, ":memory:")
}

// LogValue implements slog.LogValuer: the configuration without secrets
// (keys omitted, database password redacted), safe to log at startup.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("addr", c.Addr),
		slog.String("dialect", c.Dialect),
		slog.String("database_url", redactURL(c.DatabaseURL)),
		slog.String("sqlite_path", c.SQLitePath),
		slog.Bool("secret_key_set", c.SecretKey != ""),
		slog.Int("previous_secret_keys", len(c.PreviousSecretKeys)),
		slog.String("timezone", c.Timezone),
		slog.String("log_level", c.LogLevel),
		slog.String("log_format", c.LogFormat),
		slog.String("qualifica_url", redactURL(c.QualificaURL)),
		slog.Bool("workers", c.Workers),
		slog.Int("max_workers", c.MaxWorkers),
		slog.Duration("shutdown_grace", c.ShutdownGrace),
		slog.Duration("lease_ttl", c.LeaseTTL),
		slog.Duration("platform_timeout", c.PlatformTimeout),
		slog.Float64("platform_rate_limit", c.PlatformRateLimit),
		slog.String("transmission_retention", c.TransmissionRetention.String()),
		slog.Any("trusted_proxies", c.TrustedProxies),
		slog.Any("platform_allowed_hosts", c.PlatformAllowedHosts),
		slog.Duration("platform_retry_after_max", c.PlatformRetryAfterMax),
	)
}

// redactURL hides the password of a URL, in its user info or in a password
// query parameter (as libpq and pgx accept). Values that are not URLs with a
// scheme, such as SQLite paths, are returned unchanged; unparsable URLs are
// hidden entirely.
func redactURL(raw string) string {
	if !strings.Contains(raw, "://") {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}
