package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/svahub/svahub/internal/secret"
)

// dsnHost returns the host of a PostgreSQL DSN ("" when unparsable).
func dsnHost(dsn string) string {
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return ""
	}
	return cfg.Host
}

// parsePGURL parses a postgres:// or postgresql:// URL.
func parsePGURL(dsn string) (*url.URL, error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, fmt.Errorf("-pg must be a postgres:// URL")
	}
	return u, nil
}

// withDatabase returns dsn (a postgres:// URL) naming database db.
func withDatabase(dsn, db string) (string, error) {
	u, err := parsePGURL(dsn)
	if err != nil {
		return "", err
	}
	u.Path = "/" + db
	return u.String(), nil
}

// benchDB is a throw-away database on the -pg server.
type benchDB struct {
	admin string // DSN of the server's maintenance database (-pg)
	name  string
	url   string
}

// createDB creates svahub_bench_<rand>.
func createDB(ctx context.Context, admin string) (*benchDB, error) {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "svahub_bench_" + hex.EncodeToString(b)
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return nil, fmt.Errorf("connect to -pg: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return nil, fmt.Errorf("create database: %w", err)
	}
	u, err := withDatabase(admin, name)
	if err != nil {
		return nil, err
	}
	return &benchDB{admin: admin, name: name, url: u}, nil
}

// drop removes the database (closing any connection left to it).
func (d *benchDB) drop(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, d.admin)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{d.name}.Sanitize()+" WITH (FORCE)")
	return err
}

// seedSpec describes the services seeded for the api scenario.
type seedSpec struct {
	n             int
	planID        int64
	integrationID int64
	packages      [2]int64
	descriptions  [2]string
	productIDs    [2]int64
	productCodes  [2]string
	expiresOn     string
}

// seedServices bulk-inserts n customer services with two plan packages
// each, in the state svahub reaches after provisioning them: services
// (password sealed with the benchmark key, as PUT /servicos stores it),
// subscriptions (ativo), one platform account per service (with a platform
// user id), one platform plan per product (desired = applied, ativo) and
// the accesses pointing at them. Sequences are moved past the ids used.
func seedServices(ctx context.Context, dsn string, s seedSpec) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	key, err := secret.ParseKey(benchSecretKey)
	if err != nil {
		return err
	}
	box, err := secret.NewBox(key)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	n := s.n
	type table struct {
		name string
		cols []string
		rows int
		row  func(i int) []any // i from 0 to rows-1
	}
	tables := []table{
		{"services", []string{"id", "plan_id", "login", "password_sealed", "status", "customer_id", "customer_code", "customer_name",
			"customer_document", "customer_email", "customer_phone", "created_at", "updated_at"}, n, func(i int) []any {
			id := int64(i + 1)
			sealed, err := box.Seal(passwordOf(id))
			if err != nil {
				panic(err) // AES-GCM with a valid key does not fail
			}
			return []any{id, s.planID, loginOf(id), sealed, "servico_habilitado", 1_000_000 + id, fmt.Sprintf("C%07d", id),
				fmt.Sprintf("Cliente Bench %d", id), cpf(id), fmt.Sprintf("cliente%d@example.com", id),
				fmt.Sprintf("+55 11 9%08d", id%100_000_000), now, now}
		}},
		{"subscriptions", []string{"id", "service_id", "package_id", "integration_id", "description", "origin", "value_cents",
			"expires_on", "status", "last_error", "expired", "created_at", "updated_at"}, 2 * n, func(i int) []any {
			k := i % 2
			return []any{int64(i + 1), int64(i/2 + 1), s.packages[k], s.integrationID, s.descriptions[k], "plano", int64(0),
				s.expiresOn, "ativo", "", false, now, now}
		}},
		{"platform_accounts", []string{"id", "integration_id", "username", "reference", "platform_user_id", "created_at"}, n, func(i int) []any {
			id := int64(i + 1)
			return []any{id, s.integrationID, loginOf(id), fmt.Sprintf("svh-%08x%016x", id, uint64(id)*0x9E3779B97F4A7C15),
				fmt.Sprintf("u_%06d", id), now}
		}},
		{"platform_plans", []string{"id", "account_id", "integration_id", "product_code", "desired_state", "desired_expiry", "version",
			"applied_version", "platform_state", "platform_expiry", "last_error", "error_version", "synced_at"}, 2 * n, func(i int) []any {
			k := i % 2
			return []any{int64(i + 1), int64(i/2 + 1), s.integrationID, s.productCodes[k], "ativo", s.expiresOn, int64(1), int64(1),
				"ativo", s.expiresOn, "", int64(0), now}
		}},
		{"accesses", []string{"id", "subscription_id", "product_id", "product_code", "integration_id", "plan_id", "desired_state",
			"last_error", "created_at", "updated_at"}, 2 * n, func(i int) []any {
			k := i % 2
			return []any{int64(i + 1), int64(i + 1), s.productIDs[k], s.productCodes[k], s.integrationID, int64(i + 1), "ativo", "", now, now}
		}},
	}
	for _, t := range tables {
		var existing int64
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+t.name).Scan(&existing); err != nil {
			return err
		}
		if existing > 0 {
			return fmt.Errorf("table %s is not empty (%d rows): seeding needs a fresh database", t.name, existing)
		}
		i := 0
		copied, err := conn.CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, pgx.CopyFromFunc(func() ([]any, error) {
			if i >= t.rows {
				return nil, nil
			}
			r := t.row(i)
			i++
			return r, nil
		}))
		if err != nil {
			return fmt.Errorf("copy %s: %w", t.name, err)
		}
		if copied != int64(t.rows) {
			return fmt.Errorf("copy %s: %d rows, want %d", t.name, copied, t.rows)
		}
		if t.name != "services" { // services.id is not serial: HubSoft gives it
			if _, err := conn.Exec(ctx, fmt.Sprintf("SELECT setval(pg_get_serial_sequence('%s', 'id'), (SELECT max(id) FROM %s))", t.name, t.name)); err != nil {
				return err
			}
		}
	}
	_, err = conn.Exec(ctx, "ANALYZE services, subscriptions, platform_accounts, platform_plans, accesses")
	return err
}

func loginOf(id int64) string { return fmt.Sprintf("cliente%07d", id) }

func passwordOf(id int64) string { return fmt.Sprintf("s3nha-%d", id) }

// cpf returns a valid CPF (11 digits) derived from n.
func cpf(n int64) string {
	base := fmt.Sprintf("%09d", (n*7919+12345)%1_000_000_000)
	d := []int{}
	for _, c := range base {
		d = append(d, int(c-'0'))
	}
	for len(d) < 11 {
		sum, w := 0, len(d)+1
		for _, x := range d {
			sum += x * w
			w--
		}
		r := sum * 10 % 11
		if r == 10 {
			r = 0
		}
		d = append(d, r)
	}
	var sb strings.Builder
	for _, x := range d {
		sb.WriteByte(byte('0' + x))
	}
	return sb.String()
}

// pgStats is a snapshot of the benchmark database's activity counters.
type pgStats struct {
	xactCommit, xactRollback                 int64
	tupReturned, tupFetched                  int64
	tupInserted, tupUpdated, tupDeleted      int64
	blksHit, blksRead                        int64
	tables                                   map[string][3]int64 // ins, upd, del
	reads                                    map[string][2]int64 // "table" (seq scan) or "table.index" → scans, tuples read
	taken                                    time.Time
	conflicts, deadlocks, tempFiles, tmpSize int64
}

func snapshotPG(ctx context.Context, dsn string) (*pgStats, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	s := &pgStats{tables: map[string][3]int64{}, reads: map[string][2]int64{}, taken: time.Now()}
	err = conn.QueryRow(ctx, `SELECT xact_commit, xact_rollback, tup_returned, tup_fetched, tup_inserted, tup_updated, tup_deleted,
		blks_hit, blks_read, conflicts, deadlocks, temp_files, temp_bytes
		FROM pg_stat_database WHERE datname = current_database()`).Scan(
		&s.xactCommit, &s.xactRollback, &s.tupReturned, &s.tupFetched, &s.tupInserted, &s.tupUpdated, &s.tupDeleted,
		&s.blksHit, &s.blksRead, &s.conflicts, &s.deadlocks, &s.tempFiles, &s.tmpSize)
	if err != nil {
		return nil, err
	}
	rows, err := conn.Query(ctx, `SELECT relname, n_tup_ins, n_tup_upd, n_tup_del, coalesce(seq_scan, 0), coalesce(seq_tup_read, 0) FROM pg_stat_user_tables`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var name string
		var v [3]int64
		var r [2]int64
		if err := rows.Scan(&name, &v[0], &v[1], &v[2], &r[0], &r[1]); err != nil {
			rows.Close()
			return nil, err
		}
		s.tables[name] = v
		s.reads[name+" (seq scan)"] = r
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = conn.Query(ctx, `SELECT indexrelname, coalesce(idx_scan, 0), coalesce(idx_tup_read, 0) FROM pg_stat_user_indexes`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var r [2]int64
		if err := rows.Scan(&name, &r[0], &r[1]); err != nil {
			return nil, err
		}
		s.reads[name] = r
	}
	return s, rows.Err()
}

// pgDelta is after − before.
type pgDelta struct {
	commits, rollbacks, fetched, returned, inserted, updated, deleted, deadlocks int64
	tables                                                                       map[string][3]int64
	reads                                                                        map[string][2]int64
}

func (a *pgStats) delta(b *pgStats) pgDelta {
	d := pgDelta{
		commits: b.xactCommit - a.xactCommit, rollbacks: b.xactRollback - a.xactRollback,
		fetched: b.tupFetched - a.tupFetched, returned: b.tupReturned - a.tupReturned,
		inserted: b.tupInserted - a.tupInserted, updated: b.tupUpdated - a.tupUpdated, deleted: b.tupDeleted - a.tupDeleted,
		deadlocks: b.deadlocks - a.deadlocks,
		tables:    map[string][3]int64{},
		reads:     map[string][2]int64{},
	}
	for name, v := range b.reads {
		old := a.reads[name]
		if dv := [2]int64{v[0] - old[0], v[1] - old[1]}; dv[1] != 0 {
			d.reads[name] = dv
		}
	}
	for name, v := range b.tables {
		old := a.tables[name]
		dv := [3]int64{v[0] - old[0], v[1] - old[1], v[2] - old[2]}
		if dv != [3]int64{} {
			d.tables[name] = dv
		}
	}
	return d
}

// analyzeDB runs ANALYZE on the whole database.
func analyzeDB(ctx context.Context, dsn string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "ANALYZE")
	return err
}
