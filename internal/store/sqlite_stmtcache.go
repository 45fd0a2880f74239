package store

import (
	"container/list"
	"context"
	"database/sql/driver"
	"errors"
	"sync"
)

// stmtCacheSize bounds the prepared statements one SQLite connection keeps.
// svahub and River send a few dozen distinct statements; the rest (IN lists
// of varying length) come and go through the least recently used slots.
const stmtCacheSize = 256

// SQLite parses every statement it runs: the modernc driver prepares the
// text anew for each query, and database/sql keeps no statements of its
// own. In a debt run that parsing was a third of svahub's CPU on SQLite
// (River's completion statement alone, run once per job, a fifth). The
// connector below keeps each connection's prepared statements by text, as
// rusqlite's prepare_cached does: a query whose text was seen before binds
// and steps the statement SQLite already compiled. (GORM's PrepareStmt is
// no substitute: it prepares on the pool, which needs a second connection
// inside a transaction, and svahub's SQLite pool has one.)

// sqliteConn is what database/sql uses of a modernc connection.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.SessionResetter
	driver.Validator
	driver.Pinger
}

// stmtCacheConnector opens connections that keep their statements.
type stmtCacheConnector struct{ driver.Connector }

// Connect opens a connection of the wrapped connector with an empty cache.
func (c stmtCacheConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	sc, ok := conn.(sqliteConn)
	if !ok {
		_ = conn.Close()
		return nil, errors.New("store: the SQLite driver's connection lacks a context method")
	}
	return &stmtCacheConn{sqliteConn: sc, byText: map[string]*list.Element{}, lru: list.New()}, nil
}

// stmtCacheConn is a connection with a bounded, least recently used cache
// of prepared statements. database/sql uses a connection from one
// goroutine at a time (and closes rows under the same lock); the mutex
// only keeps that assumption out of the cache's correctness.
type stmtCacheConn struct {
	sqliteConn
	mu     sync.Mutex
	byText map[string]*list.Element // of *cachedStmt
	lru    *list.List               // most recently used first
	closed bool
}

// Unwrap returns the driver's own connection (modernc's helpers, such as
// sqlite.Limit, look through wrappers this way).
func (c *stmtCacheConn) Unwrap() driver.Conn { return c.sqliteConn }

// cachedStmt is one prepared statement. A statement whose rows are open is
// busy: the same text run meanwhile (a query inside a rows loop) gets a
// statement of its own. An evicted busy statement is closed when released.
type cachedStmt struct {
	text    string
	stmt    stmtContext
	busy    bool
	evicted bool
}

type stmtContext interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

// acquire returns the cached statement for query, prepared if new, marked
// busy; nil when it is busy already (the caller then runs the query
// uncached).
func (c *stmtCacheConn) acquire(ctx context.Context, query string) (*cachedStmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byText[query]; ok {
		cs := e.Value.(*cachedStmt)
		if cs.busy {
			return nil, nil
		}
		cs.busy = true
		c.lru.MoveToFront(e)
		return cs, nil
	}
	s, err := c.sqliteConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	sc, ok := s.(stmtContext)
	if !ok {
		_ = s.Close()
		return nil, nil
	}
	cs := &cachedStmt{text: query, stmt: sc, busy: true}
	c.byText[query] = c.lru.PushFront(cs)
	if c.lru.Len() > stmtCacheSize {
		old := c.lru.Remove(c.lru.Back()).(*cachedStmt)
		delete(c.byText, old.text)
		old.evicted = true
		if !old.busy {
			_ = old.stmt.Close()
		}
	}
	return cs, nil
}

// release makes cs available again, or closes it if it was evicted.
func (c *stmtCacheConn) release(cs *cachedStmt) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs.busy = false
	if cs.evicted && !c.closed { // a closed connection has no statements left to finalize
		_ = cs.stmt.Close()
	}
}

// ExecContext runs query through its cached statement.
func (c *stmtCacheConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs, err := c.acquire(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.sqliteConn.ExecContext(ctx, query, args)
	}
	defer c.release(cs)
	return cs.stmt.ExecContext(ctx, args)
}

// QueryContext runs query through its cached statement, which stays busy
// until the rows are closed.
func (c *stmtCacheConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, err := c.acquire(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.sqliteConn.QueryContext(ctx, query, args)
	}
	r, err := cs.stmt.QueryContext(ctx, args)
	if err != nil {
		c.release(cs)
		return nil, err
	}
	rows, ok := r.(sqliteRows)
	if !ok {
		_ = r.Close()
		c.release(cs)
		return nil, errors.New("store: the SQLite driver's rows lack column types")
	}
	return &cachedRows{sqliteRows: rows, release: func() { c.release(cs) }}, nil
}

// Close finalizes the cached statements, then closes the connection.
func (c *stmtCacheConn) Close() error {
	c.mu.Lock()
	for e := c.lru.Front(); e != nil; e = e.Next() {
		cs := e.Value.(*cachedStmt)
		cs.evicted = true
		if !cs.busy {
			_ = cs.stmt.Close()
		}
	}
	c.byText, c.lru, c.closed = map[string]*list.Element{}, list.New(), true
	c.mu.Unlock()
	return c.sqliteConn.Close()
}

// sqliteRows is what database/sql uses of a modernc result set.
type sqliteRows interface {
	driver.Rows
	driver.RowsColumnTypeDatabaseTypeName
	driver.RowsColumnTypeLength
	driver.RowsColumnTypeNullable
	driver.RowsColumnTypePrecisionScale
	driver.RowsColumnTypeScanType
}

// cachedRows releases its statement when closed.
type cachedRows struct {
	sqliteRows
	release func()
	once    sync.Once
}

// Close resets the statement (the driver does, for a prepared one) and
// makes it available again.
func (r *cachedRows) Close() error {
	err := r.sqliteRows.Close()
	r.once.Do(r.release)
	return err
}
