package store

import (
	"context"
	"database/sql"
	"strings"
	"time"
)

// PurgeOptions bound one PurgeTransmissions call.
type PurgeOptions struct {
	// BatchSize is the most rows one DELETE removes (default 1,000 on
	// PostgreSQL; 250 on SQLite, whose one connection every request waits
	// for while a DELETE holds it).
	BatchSize int
	// MaxBatches is the most DELETEs of one call (default 100,000 rows'
	// worth: 100 on PostgreSQL, 400 on SQLite); the rest waits for the
	// next call.
	MaxBatches int
	// Pause is the least wait between two DELETEs, leaving the database to
	// the other work (default none). The wait is 3 times the last DELETE's
	// duration when that is longer, so the purge backs off (to a quarter of
	// the database's time at most) when the database is slow.
	Pause time.Duration
	// OnBatch, when set, is told the rows each DELETE removed (metrics
	// that move while a long purge runs).
	OnBatch func(rows int64)
}

// PurgeStats says what one PurgeTransmissions call did.
type PurgeStats struct {
	// Rows is how many transmissions were deleted.
	Rows int64
	// Batches counts the DELETE statements run.
	Batches int
	// MaxBatchRows is the most rows one DELETE removed.
	MaxBatchRows int64
	// Longest is the duration of the slowest DELETE.
	Longest time.Duration
	// More is true when the call stopped at MaxBatches (or its context
	// ended) with expired rows left.
	More bool
}

// qPurgeTransmissions deletes one batch of the oldest transmissions created
// before a cut-off. The sub-query walks transmissions_created_idx from its
// start, so each batch reads about as many index entries as it deletes;
// the DELETE then finds the rows by primary key. It is one short statement
// in its own (implicit) transaction: no lock outlives a batch.
const qPurgeTransmissions = `DELETE FROM transmissions WHERE id IN
	(SELECT id FROM transmissions WHERE created_at < ? ORDER BY created_at LIMIT ?)`

// PurgeTransmissions deletes transmissions older than retention (by the
// store's clock), in batches (see PurgeOptions), and reports what it did.
// Each batch takes a transaction slot like any other write, so it waits its
// turn and holds the database only for one short statement. When ctx ends
// it stops before the next batch (a started one finishes) and reports
// More, not an error: the next call goes on.
func (db *DB) PurgeTransmissions(ctx context.Context, retention time.Duration, o PurgeOptions) (PurgeStats, error) {
	o = db.PurgeDefaults(o)
	var st PurgeStats
	q := db.rebind(qPurgeTransmissions)
	cutoff := db.now().Add(-retention).UTC()
	var last time.Duration
	for st.Batches < o.MaxBatches {
		if wait := max(o.Pause, 3*last); st.Batches > 0 && wait > 0 {
			select {
			case <-ctx.Done():
				st.More = true
				return st, nil
			case <-time.After(wait):
			}
		}
		n, d, err := db.purgeBatch(ctx, q, cutoff, o.BatchSize)
		last = d
		if err != nil {
			if ctx.Err() != nil {
				st.More = true
				return st, nil
			}
			return st, err
		}
		st.Batches++
		st.Rows += n
		if o.OnBatch != nil && n > 0 {
			o.OnBatch(n)
		}
		st.MaxBatchRows = max(st.MaxBatchRows, n)
		st.Longest = max(st.Longest, d)
		if n < int64(o.BatchSize) {
			return st, nil
		}
	}
	st.More = true
	return st, nil
}

// PurgeDefaults returns o with the dialect's defaults in its zero fields.
func (db *DB) PurgeDefaults(o PurgeOptions) PurgeOptions {
	batch := 1000
	if db.dialect == DialectSQLite {
		batch = 250
	}
	if o.BatchSize <= 0 {
		o.BatchSize = batch
	}
	if o.MaxBatches <= 0 {
		o.MaxBatches = max(1, 100_000/o.BatchSize)
	}
	return o
}

// purgeBatch runs one DELETE under a transaction slot and times the
// statement alone (not the wait for a slot or a connection). A started
// DELETE is not cancelled by ctx (it is one short batch): its rows are
// always counted.
func (db *DB) purgeBatch(ctx context.Context, q string, cutoff time.Time, size int) (n int64, d time.Duration, err error) {
	err = db.inSlot(ctx, func(conn *sql.Conn) error {
		start := time.Now()
		res, err := conn.ExecContext(context.WithoutCancel(ctx), q, cutoff, size)
		d = time.Since(start)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, d, err
}

// ExplainTransmissionPurge returns the database's plan for one purge batch
// (for tests and diagnostics: it must read transmissions_created_idx).
func (db *DB) ExplainTransmissionPurge(ctx context.Context, before time.Time, size int) (string, error) {
	prefix := "EXPLAIN "
	if db.dialect == DialectSQLite {
		prefix = "EXPLAIN QUERY PLAN "
	}
	rows, err := db.sql.QueryContext(ctx, db.rebind(prefix+qPurgeTransmissions), before.UTC(), size)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", err
	}
	var lines []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		// PostgreSQL: one text column; SQLite: id, parent, notused, detail.
		if s, ok := vals[len(vals)-1].(string); ok {
			lines = append(lines, s)
		} else if b, ok := vals[len(vals)-1].([]byte); ok {
			lines = append(lines, string(b))
		}
	}
	return strings.Join(lines, "\n"), rows.Err()
}
