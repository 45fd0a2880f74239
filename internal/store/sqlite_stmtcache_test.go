package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	modernc "modernc.org/sqlite"
)

// openCached opens a one-connection SQLite pool through the statement
// cache, as Open does, and returns it with that connection pinned.
func openCached(t *testing.T) (*sql.DB, *sql.Conn) {
	t.Helper()
	conn, err := modernc.NewConnector(sqliteDSN(filepath.Join(t.TempDir(), "c.db")))
	require.NoError(t, err)
	db := sql.OpenDB(stmtCacheConnector{conn})
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	c, err := db.Conn(context.Background())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	_, err = c.ExecContext(context.Background(), `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)`)
	require.NoError(t, err)
	return db, c
}

// cacheOf returns the connection's cache state: statements kept, and the
// statement kept for text (nil if none).
func cacheOf(t *testing.T, c *sql.Conn, text string) (n int, cs *cachedStmt) {
	t.Helper()
	require.NoError(t, c.Raw(func(dc any) error {
		sc := dc.(*stmtCacheConn)
		n = sc.lru.Len()
		if e, ok := sc.byText[text]; ok {
			cs = e.Value.(*cachedStmt)
		}
		return nil
	}))
	return n, cs
}

// scanIDs returns a reader of a result set of one integer column, which
// it closes: scanIDs(t)(db.Query(…)).
func scanIDs(t *testing.T) func(rows *sql.Rows, err error) []int64 {
	return func(rows *sql.Rows, err error) []int64 {
		t.Helper()
		require.NoError(t, err)
		var out []int64
		for rows.Next() {
			var id int64
			require.NoError(t, rows.Scan(&id))
			out = append(out, id)
		}
		require.NoError(t, rows.Err())
		require.NoError(t, rows.Close())
		return out
	}
}

func TestStmtCache(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("ReusesTheStatementWithNewArguments", func(t *testing.T) {
		t.Parallel()
		_, c := openCached(t)
		const ins = `INSERT INTO t (id, v) VALUES (?, ?)`
		for i := 1; i <= 3; i++ {
			_, err := c.ExecContext(ctx, ins, i, fmt.Sprint("v", i))
			require.NoError(t, err)
		}
		_, first := cacheOf(t, c, ins)
		require.NotNil(t, first)
		_, err := c.ExecContext(ctx, ins, 4, "v4")
		require.NoError(t, err)
		_, again := cacheOf(t, c, ins)
		require.Same(t, first, again, "the same text runs the statement prepared before")

		const sel = `SELECT v FROM t WHERE id = ?`
		for i := 1; i <= 4; i++ {
			var v string
			require.NoError(t, c.QueryRowContext(ctx, sel, i).Scan(&v))
			require.Equal(t, fmt.Sprint("v", i), v, "bindings of the previous run do not leak")
		}
		_, err = c.ExecContext(ctx, ins, 1, "dup")
		require.Error(t, err, "a constraint error comes back")
		_, err = c.ExecContext(ctx, ins, 5, "v5")
		require.NoError(t, err, "and the statement is usable after it")
	})

	t.Run("SameTextInsideOpenRows", func(t *testing.T) {
		t.Parallel()
		_, c := openCached(t)
		for i := 1; i <= 3; i++ {
			_, err := c.ExecContext(ctx, `INSERT INTO t (id) VALUES (?)`, i)
			require.NoError(t, err)
		}
		const q = `SELECT id FROM t WHERE id >= ? ORDER BY id`
		outer, err := c.QueryContext(ctx, q, 1)
		require.NoError(t, err)
		var pairs [][2]int64
		for outer.Next() {
			var id int64
			require.NoError(t, outer.Scan(&id))
			for _, j := range scanIDs(t)(c.QueryContext(ctx, q, id)) {
				pairs = append(pairs, [2]int64{id, j})
			}
		}
		require.NoError(t, outer.Err())
		require.NoError(t, outer.Close())
		require.Equal(t, [][2]int64{{1, 1}, {1, 2}, {1, 3}, {2, 2}, {2, 3}, {3, 3}}, pairs)
		_, cs := cacheOf(t, c, q)
		require.NotNil(t, cs)
		require.False(t, cs.busy, "closing the rows releases the statement")
	})

	t.Run("EvictsLeastRecentlyUsedEvenWhileBusy", func(t *testing.T) {
		t.Parallel()
		_, c := openCached(t)
		_, err := c.ExecContext(ctx, `INSERT INTO t (id) VALUES (1), (2)`)
		require.NoError(t, err)
		const held = `SELECT id FROM t ORDER BY id`
		rows, err := c.QueryContext(ctx, held)
		require.NoError(t, err)
		require.True(t, rows.Next())
		for i := range stmtCacheSize + 10 {
			var n int
			require.NoError(t, c.QueryRowContext(ctx, fmt.Sprintf(`SELECT %d`, i)).Scan(&n))
		}
		n, cs := cacheOf(t, c, held)
		require.Equal(t, stmtCacheSize, n, "the cache stays bounded")
		require.Nil(t, cs, "the held statement was evicted")
		require.True(t, rows.Next(), "evicted rows still read")
		require.NoError(t, rows.Close())
		require.Equal(t, []int64{1, 2}, scanIDs(t)(c.QueryContext(ctx, held)))
	})

	t.Run("ReturningThroughExec", func(t *testing.T) {
		t.Parallel()
		_, c := openCached(t)
		const ins = `INSERT INTO t (id, v) VALUES (?, 'x') RETURNING id`
		for i := 1; i <= 3; i++ {
			_, err := c.ExecContext(ctx, ins, i)
			require.NoError(t, err)
		}
		var id int64
		require.NoError(t, c.QueryRowContext(ctx, ins, 4).Scan(&id))
		require.Equal(t, int64(4), id)
		require.Equal(t, []int64{1, 2, 3, 4}, scanIDs(t)(c.QueryContext(ctx, `SELECT id FROM t ORDER BY id`)))
	})

	t.Run("CancelledMidRowsThenRunAgain", func(t *testing.T) {
		t.Parallel()
		_, c := openCached(t)
		_, err := c.ExecContext(ctx, `INSERT INTO t (id) VALUES (1), (2), (3)`)
		require.NoError(t, err)
		const q = `SELECT id FROM t WHERE id >= ? ORDER BY id`
		cctx, cancel := context.WithCancel(ctx)
		rows, err := c.QueryContext(cctx, q, 1)
		require.NoError(t, err)
		require.True(t, rows.Next())
		cancel()
		for rows.Next() { // read whatever the cancellation leaves
		}
		_ = rows.Close()
		require.Equal(t, []int64{2, 3}, scanIDs(t)(c.QueryContext(ctx, q, 2)), "the statement runs anew with new arguments")
		_, cs := cacheOf(t, c, q)
		require.NotNil(t, cs)
		require.False(t, cs.busy)
	})

	t.Run("FollowsSchemaChanges", func(t *testing.T) {
		t.Parallel()
		_, c := openCached(t)
		const q = `SELECT * FROM t`
		rows, err := c.QueryContext(ctx, q)
		require.NoError(t, err)
		cols, err := rows.Columns()
		require.NoError(t, err)
		require.NoError(t, rows.Close())
		require.Equal(t, []string{"id", "v"}, cols)
		_, err = c.ExecContext(ctx, `ALTER TABLE t ADD COLUMN w TEXT`)
		require.NoError(t, err)
		rows, err = c.QueryContext(ctx, q)
		require.NoError(t, err)
		cols, err = rows.Columns()
		require.NoError(t, err)
		require.NoError(t, rows.Close())
		require.Equal(t, []string{"id", "v", "w"}, cols)
	})

	t.Run("TransactionsRollBack", func(t *testing.T) {
		t.Parallel()
		db, c := openCached(t)
		require.NoError(t, c.Close()) // give the pool its connection back
		const ins = `INSERT INTO t (id) VALUES (?)`
		tx, err := db.BeginTx(ctx, nil)
		require.NoError(t, err)
		_, err = tx.ExecContext(ctx, ins, 7)
		require.NoError(t, err)
		require.NoError(t, tx.Rollback())
		_, err = db.ExecContext(ctx, ins, 8)
		require.NoError(t, err)
		require.Equal(t, []int64{8}, scanIDs(t)(db.QueryContext(ctx, `SELECT id FROM t`)))
	})
}
