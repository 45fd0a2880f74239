// Package store persists the svahub domain with GORM on PostgreSQL or SQLite
// (modernc, pure Go). Schema changes are versioned goose migrations, one
// folder per dialect, embedded in the binary; River's tables are migrated
// with rivermigrate. Every dialect difference stays inside this package.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib" // also registers the "pgx" database/sql driver
	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	modernc "modernc.org/sqlite" // the pure-Go "sqlite" database/sql driver

	"github.com/svahub/svahub/internal/svahub"
)

// Dialects.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

//go:embed migrations
var migrationsFS embed.FS

// Options configure a DB.
type Options struct {
	// Sealer encrypts secrets at rest. Required.
	Sealer svahub.Sealer
	// Location is the business time zone (dates such as expiry defaults).
	Location *time.Location
	// Now is the clock; defaults to time.Now.
	Now func() time.Time
	// Logger receives store diagnostics; defaults to slog.Default().
	Logger *slog.Logger
	// MaxOpenConns bounds the Postgres pool (default 20). SQLite always uses one.
	MaxOpenConns int
	// Adapters declares each platform's `parametros` (which are required,
	// secret, addresses): integration writes are checked against it and
	// their secrets sealed. A platform not declared here cannot be saved.
	Adapters svahub.Registry
	// MaxTx bounds the transactions this process runs at once; the others
	// wait their turn in arrival order. 0 picks 4 per CPU on PostgreSQL (at
	// most MaxOpenConns) and 1 on SQLite. See txSlots.
	MaxTx int
	// JobQueue receives the provisioning work of each change, inside its
	// transaction. Nil means River's insert-only client on this database,
	// whose jobs provision's workers run; tests give a recording queue.
	JobQueue svahub.JobQueue
	// ProcessID names this process in plan and account leases and in
	// worker_heartbeats (at most 100 characters); default host-pid-random.
	ProcessID string
}

// DB is the svahub database.
type DB struct {
	gorm    *gorm.DB
	sql     *sql.DB
	dialect string
	sealer  svahub.Sealer
	reg     svahub.Registry
	loc     *time.Location
	now     func() time.Time
	log     *slog.Logger
	queue   svahub.JobQueue
	keys    ttlCache[string, *svahub.APIKey]
	creds   ttlCache[int64, svahub.Credentials]
	slots   chan struct{}
	// holder is ProcessID: who this process's leases name.
	holder string
	// oneAttachPath turns attachStatement off, so tests can hold the
	// PostgreSQL statement and the general path to the same results.
	oneAttachPath bool
}

// Open connects to the database. dialect is DialectSQLite (dsn is a file
// path) or DialectPostgres (dsn is a postgres:// URL). It does not migrate.
func Open(ctx context.Context, dialect, dsn string, opts Options) (*DB, error) {
	if opts.Sealer == nil {
		return nil, errors.New("store: a Sealer is required")
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	gcfg := &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		TranslateError:         false,
		NowFunc:                func() time.Time { return opts.Now().UTC() },
	}
	var (
		sqlDB *sql.DB
		gdb   *gorm.DB
		err   error
	)
	switch dialect {
	case DialectSQLite:
		conn, err := modernc.NewConnector(sqliteDSN(dsn))
		if err != nil {
			return nil, fmt.Errorf("store: open sqlite: %w", err)
		}
		sqlDB = sql.OpenDB(stmtCacheConnector{conn})
		// SQLite allows one writer; River's SQLite driver documents a single
		// connection as the way to avoid SQLITE_BUSY.
		sqlDB.SetMaxOpenConns(1)
		gdb, err = gorm.Open(sqlite.New(sqlite.Config{DriverName: "sqlite", Conn: sqlDB}), gcfg)
	case DialectPostgres:
		sqlDB, err = openPostgres(dsn)
		if err != nil {
			return nil, fmt.Errorf("store: open postgres: %w", err)
		}
		n := opts.MaxOpenConns
		if n <= 0 {
			n = 20
		}
		sqlDB.SetMaxOpenConns(n)
		sqlDB.SetMaxIdleConns(n)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
		gdb, err = gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), gcfg)
	default:
		return nil, fmt.Errorf("store: unknown dialect %q", dialect)
	}
	if err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pctx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("store: connect to %s: %w", dialect, err)
	}
	if opts.ProcessID == "" || len(opts.ProcessID) > 100 {
		opts.ProcessID = newProcessID()
	}
	db := &DB{gorm: gdb, sql: sqlDB, dialect: dialect, sealer: opts.Sealer, reg: opts.Adapters, loc: opts.Location, now: opts.Now, log: opts.Logger,
		holder: opts.ProcessID}
	db.queue = opts.JobQueue
	if db.queue == nil {
		if db.queue, err = newRiverQueue(db.RiverDriver(), opts.Logger); err != nil {
			_ = sqlDB.Close()
			return nil, fmt.Errorf("store: job queue: %w", err)
		}
	}
	db.slots = make(chan struct{}, txSlots(dialect, opts.MaxTx, opts.MaxOpenConns))
	return db, nil
}

// Adapters returns the platform declarations the store was opened with.
func (db *DB) Adapters() svahub.Registry { return db.reg }

// openPostgres opens a pgx database/sql pool whose connections exchange
// arrays in text format (see textArrays).
func openPostgres(dsn string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	return stdlib.OpenDB(*cfg, stdlib.OptionAfterConnect(textArrays)), nil
}

// textArrays makes a connection send and receive arrays in text format.
// River's database/sql driver passes arrays as lib/pq values, which are
// text; in binary format pgx would parse every one of them and encode it
// again on each job insert (a third of an attach request's CPU in the
// benchmark's profile). svahub's own queries use no arrays.
func textArrays(_ context.Context, conn *pgx.Conn) error {
	m := conn.TypeMap()
	for _, name := range []string{"_int2", "_int4", "_int8", "_text", "_varchar", "_jsonb", "_bytea", "_timestamptz"} {
		if t, ok := m.TypeForName(name); ok {
			m.RegisterType(&pgtype.Type{Name: t.Name, OID: t.OID, Codec: &pgtype.TextFormatOnlyCodec{Codec: t.Codec}})
		}
	}
	return nil
}

func sqliteDSN(path string) string {
	if strings.HasPrefix(path, "file:") {
		path = strings.TrimPrefix(path, "file:")
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	// secure_delete overwrites deleted and replaced content with zeros, so
	// an erased customer's data (and expired transmissions) leave no copy
	// in free pages of the file (docs/operations.md, "Personal data").
	return "file:" + path + sep +
		"_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=secure_delete(1)&_txlock=immediate"
}

// Close closes the connection pool.
func (db *DB) Close() error { return db.sql.Close() }

// Dialect returns DialectSQLite or DialectPostgres.
func (db *DB) Dialect() string { return db.dialect }

// SQL returns the underlying connection pool.
func (db *DB) SQL() *sql.DB { return db.sql }

// Gorm returns the GORM handle (for tests and the provisioning engine).
func (db *DB) Gorm() *gorm.DB { return db.gorm }

// RiverDriver returns the River driver for this dialect. Both drivers use
// *sql.Tx, so jobs are inserted in the same transaction as domain changes.
func (db *DB) RiverDriver() riverdriver.Driver[*sql.Tx] {
	if db.dialect == DialectSQLite {
		return riversqlite.New(db.sql)
	}
	return riverdatabasesql.New(db.sql)
}

func (db *DB) gooseProvider() (*goose.Provider, error) {
	dir, gd := "migrations/postgres", goose.DialectPostgres
	if db.dialect == DialectSQLite {
		dir, gd = "migrations/sqlite", goose.DialectSQLite3
	}
	sub, err := fs.Sub(migrationsFS, dir)
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(gd, db.sql, sub, goose.WithDisableGlobalRegistry(true))
}

// Migrate applies pending svahub and River migrations.
func (db *DB) Migrate(ctx context.Context) error {
	if db.dialect == DialectPostgres {
		// Several processes may start at once: one migrates, the others
		// wait on a session advisory lock, then find nothing to do.
		conn, err := db.sql.Conn(ctx)
		if err != nil {
			return fmt.Errorf("store: migrate: %w", err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrationLockID); err != nil {
			return fmt.Errorf("store: migration lock: %w", err)
		}
		defer func() {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLockID)
		}()
	}
	return db.migrate(ctx)
}

// minLevel drops records below min before they reach Handler.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{Handler: h.Handler.WithAttrs(as), min: h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{Handler: h.Handler.WithGroup(name), min: h.min}
}

// migrationLockID is the advisory lock key serialising migrations.
const migrationLockID = 7_342_118_905_001

func (db *DB) migrate(ctx context.Context) error {
	p, err := db.gooseProvider()
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	for _, r := range results {
		db.log.Info("migration applied", "version", r.Source.Version, "file", r.Source.Path, "duration", r.Duration)
	}
	// River's migrator logs every step at info ("No migrations to apply"
	// on each start and one-off command); svahub logs the applied versions
	// itself, so only River's warnings and errors get through.
	rlog := slog.New(minLevel{Handler: db.log.Handler(), min: slog.LevelWarn})
	m, err := rivermigrate.New(db.RiverDriver(), &rivermigrate.Config{Logger: rlog})
	if err != nil {
		return fmt.Errorf("store: river migrations: %w", err)
	}
	res, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return fmt.Errorf("store: river migrate: %w", err)
	}
	for _, v := range res.Versions {
		db.log.Info("river migration applied", "version", v.Version, "name", v.Name, "duration", v.Duration)
	}
	return nil
}

// Pending reports whether any svahub or River migration is not yet applied.
func (db *DB) Pending(ctx context.Context) (bool, error) {
	p, err := db.gooseProvider()
	if err != nil {
		return false, err
	}
	pending, err := p.HasPending(ctx)
	if err != nil || pending {
		return pending, err
	}
	m, err := rivermigrate.New(db.RiverDriver(), &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return false, err
	}
	res, err := m.Migrate(ctx, rivermigrate.DirectionUp, &rivermigrate.MigrateOpts{DryRun: true})
	if err != nil {
		return false, err
	}
	return len(res.Versions) > 0, nil
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.sql.PingContext(ctx) }

// txSlots is the number of transactions run at once. Under load a few
// transactions per core finish sooner than many competing for the CPU and
// for row locks, and waiting for a slot is first come, first served, where
// database/sql hands a freed connection to a random waiter: the FIFO slots
// are what keep the latency tail short (docs/benchmarks.md).
func txSlots(dialect string, maxTx, maxConns int) int {
	if maxTx > 0 {
		return maxTx
	}
	if dialect == DialectSQLite {
		return 1
	}
	if maxConns <= 0 {
		maxConns = 20
	}
	return max(1, min(maxConns, 4*runtime.GOMAXPROCS(0)))
}

// tx runs fn in a transaction. A transaction that PostgreSQL aborted as a
// deadlock victim or serialization failure is run again (up to 3 times).
func (db *DB) tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	if db.slots != nil {
		select {
		case db.slots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		defer func() { <-db.slots }()
	}
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		err = db.gorm.WithContext(ctx).Transaction(fn)
		if err == nil || !isRetryable(err) || ctx.Err() != nil {
			return err
		}
		db.log.Debug("transaction retried", "attempt", attempt+1, "err", err)
		time.Sleep(time.Duration(attempt+1) * 10 * time.Millisecond)
	}
	return err
}

func isRetryable(err error) bool {
	if errors.Is(err, errRetryTx) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "SQLSTATE 40P01") || strings.Contains(s, "SQLSTATE 40001")
}

// SQLTx returns the *sql.Tx under a GORM transaction, for River's InsertTx.
func SQLTx(tx *gorm.DB) *sql.Tx {
	t, _ := tx.Statement.ConnPool.(*sql.Tx)
	return t
}

// mapErr turns database errors into domain errors.
func mapErr(err error, notFound string) error {
	if err == nil {
		return nil
	}
	var se *svahub.Error
	if errors.As(err, &se) {
		return err
	}
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return svahub.Errorf(svahub.ENOTFOUND, "%s", notFound)
	}
	if isUniqueViolation(err) {
		return svahub.Errorf(svahub.ECONFLICT, "registro duplicado")
	}
	if isFKViolation(err) {
		return svahub.Errorf(svahub.ECONFLICT, "registro em uso ou referência inexistente")
	}
	return err
}

func isUniqueViolation(err error) bool {
	s := err.Error()
	return strings.Contains(s, "SQLSTATE 23505") || strings.Contains(s, "UNIQUE constraint failed") || strings.Contains(s, "duplicate key value")
}

func isFKViolation(err error) bool {
	s := err.Error()
	return strings.Contains(s, "SQLSTATE 23503") || strings.Contains(s, "FOREIGN KEY constraint failed")
}

// OpenRaw opens a plain database/sql pool for dialect (used by tests and
// tools that need no GORM).
func OpenRaw(ctx context.Context, dialect, dsn string) (*sql.DB, error) {
	name := "pgx"
	if dialect == DialectSQLite {
		name, dsn = "sqlite", sqliteDSN(dsn)
	}
	db, err := sql.Open(name, dsn)
	if err != nil {
		return nil, err
	}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}
