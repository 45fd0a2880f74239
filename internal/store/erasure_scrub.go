package store

import (
	"context"
	"database/sql"
	"strings"

	"github.com/svahub/svahub/internal/svahub"
)

// dropCopies removes the copies of erased values the database keeps
// beside the rows: the planner's statistics hold sample values of columns
// and index keys after an ANALYZE (PostgreSQL's pg_statistic, shown in
// pg_stats; SQLite's sqlite_stat4). PostgreSQL analyses the changed tables
// again; SQLite forgets their samples (svahub never analyses it; the
// planner falls back to sqlite_stat1, which holds only counts), then
// copies the WAL into the database file and empties it (secure_delete
// already zeroed the freed space).
func (db *DB) dropCopies(ctx context.Context) {
	qs := []string{"ANALYZE " + erasedTables}
	if db.dialect == DialectSQLite {
		qs = []string{"PRAGMA wal_checkpoint(TRUNCATE)"}
		var n int
		err := db.sql.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema WHERE name = 'sqlite_stat4'").Scan(&n)
		if err == nil && n > 0 {
			in := "'" + strings.ReplaceAll(erasedTables, ", ", "', '") + "'"
			qs = append([]string{"DELETE FROM sqlite_stat4 WHERE tbl IN (" + in + ")"}, qs...)
		}
	}
	for _, q := range qs {
		if _, err := db.sql.ExecContext(ctx, q); err != nil {
			db.log.Warn("erasure: "+q, "err", err)
		}
	}
}

// containsAny is SQL that is true when col contains any of values, as
// written or lower-cased, with its arguments.
func (db *DB) containsAny(col string, values []string) (string, []any) {
	fn := "instr(%s, ?) > 0"
	if db.dialect == DialectPostgres {
		fn = "strpos(%s, ?) > 0"
	}
	parts := make([]string, 0, 2*len(values))
	args := make([]any, 0, 2*len(values))
	for _, v := range values {
		parts, args = append(parts, strings.Replace(fn, "%s", col, 1)), append(args, v)
		if l := strings.ToLower(v); l != v {
			parts, args = append(parts, strings.Replace(fn, "%s", "lower("+col+")", 1)), append(args, l)
		}
	}
	return "(" + strings.Join(parts, " OR ") + ")", args
}

// scrubTransmissions replaces every transmission message that quotes one
// of values, a range of ids per statement (each statement short, in its
// own transaction, under a transaction slot), and returns how many changed.
func (db *DB) scrubTransmissions(ctx context.Context, values []string) (int64, error) {
	if len(values) == 0 {
		return 0, nil
	}
	var lo, hi sql.NullInt64
	if err := db.sql.QueryRowContext(ctx, "SELECT min(id), max(id) FROM transmissions").Scan(&lo, &hi); err != nil || !lo.Valid {
		return 0, err
	}
	cond, cargs := db.containsAny("message", values)
	q := db.rebind("UPDATE transmissions SET message = ? WHERE id >= ? AND id < ? AND message <> '' AND message <> ? AND " + cond)
	var total int64
	for from := lo.Int64; from <= hi.Int64; from += scrubTransmissionsStep {
		args := append([]any{svahub.ErasedMessage, from, from + scrubTransmissionsStep, svahub.ErasedMessage}, cargs...)
		err := db.inSlot(ctx, func(c *sql.Conn) error {
			res, err := c.ExecContext(ctx, q, args...)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			total += n
			return err
		})
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// inSlot runs fn on one connection under a transaction slot, outside any
// transaction (each statement commits on its own).
func (db *DB) inSlot(ctx context.Context, fn func(*sql.Conn) error) error {
	select {
	case db.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-db.slots }()
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return fn(conn)
}
