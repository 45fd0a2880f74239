package storetest

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/svahub/svahub/internal/store"
)

// Fill describes transmission rows to bulk-insert with FillTransmissions.
type Fill struct {
	// Rows is how many rows to insert.
	Rows int
	// From and To bound created_at: the rows are spread evenly between
	// them, ids rising with time as in a real log.
	From, To time.Time
	// Subscriptions is how many distinct subscription ids the rows cycle
	// through (default 50,000).
	Subscriptions int
	// ErrorEvery makes every n-th row a refused call carrying a platform
	// message (default 10); the others are successes with no message, as
	// most platform calls are.
	ErrorEvery int
	// Chunk is the rows of one INSERT statement (default 100,000).
	Chunk int
}

// FillMessage is the platform message of the refused calls Fill inserts.
const FillMessage = "produto 'premium' não existe no catálogo"

// Both statements insert $1 rows numbered from $2, spread from the Unix
// time $3 by $4 seconds each; $5 = Subscriptions, $6 = ErrorEvery.
const (
	fillSQLite = `WITH RECURSIVE seq(i) AS (SELECT ?2 UNION ALL SELECT i + 1 FROM seq WHERE i < ?2 + ?1 - 1)
INSERT INTO transmissions (integration_id, subscription_id, access_id, operation, outcome, http_status, message, duration_ms, attempt, created_at)
SELECT 1, 1 + i % ?5, 1 + i % ?5,
	CASE i % 4 WHEN 0 THEN 'suspender' WHEN 1 THEN 'reativar' WHEN 2 THEN 'consultar' ELSE 'ativar_plano' END,
	CASE WHEN i % ?6 = 0 THEN 'erro' ELSE 'sucesso' END,
	CASE WHEN i % ?6 = 0 THEN 422 ELSE 200 END,
	CASE WHEN i % ?6 = 0 THEN ?7 ELSE '' END,
	20 + i % 50, 1,
	strftime('%Y-%m-%d %H:%M:%S', ?3 + (i - ?2) * ?4, 'unixepoch') || ' +0000 UTC'
FROM seq`
	fillPostgres = `INSERT INTO transmissions (integration_id, subscription_id, access_id, operation, outcome, http_status, message, duration_ms, attempt, created_at)
SELECT 1, 1 + i % $5, 1 + i % $5,
	CASE i % 4 WHEN 0 THEN 'suspender' WHEN 1 THEN 'reativar' WHEN 2 THEN 'consultar' ELSE 'ativar_plano' END,
	CASE WHEN i % $6 = 0 THEN 'erro' ELSE 'sucesso' END,
	CASE WHEN i % $6 = 0 THEN 422 ELSE 200 END,
	CASE WHEN i % $6 = 0 THEN $7 ELSE '' END,
	20 + i % 50, 1,
	to_timestamp($3 + (i - $2) * $4::double precision)
FROM generate_series($2::bigint, $2::bigint + $1 - 1) AS i`
)

// FillTransmissions bulk-inserts transmission rows with plain SQL (a few
// seconds per million rows): for tests and benchmarks of the retention
// sweep. db is a database/sql pool on a migrated svahub database of dialect.
func FillTransmissions(ctx context.Context, db *sql.DB, dialect string, f Fill) error {
	if f.Rows <= 0 {
		return nil
	}
	if !f.To.After(f.From) {
		return errors.New("storetest: Fill.To must be after Fill.From")
	}
	if f.Subscriptions <= 0 {
		f.Subscriptions = 50_000
	}
	if f.ErrorEvery <= 0 {
		f.ErrorEvery = 10
	}
	if f.Chunk <= 0 {
		f.Chunk = 100_000
	}
	q := fillPostgres
	if dialect == store.DialectSQLite {
		q = fillSQLite
	}
	step := f.To.Sub(f.From).Seconds() / float64(f.Rows)
	for first := 0; first < f.Rows; first += f.Chunk {
		n := min(f.Chunk, f.Rows-first)
		start := float64(f.From.Unix()) + float64(first)*step
		if _, err := db.ExecContext(ctx, q, n, first, start, step, f.Subscriptions, f.ErrorEvery, FillMessage); err != nil {
			return err
		}
	}
	return nil
}
