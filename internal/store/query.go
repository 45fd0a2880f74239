package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/svahub/svahub/internal/svahub"
)

// page counts the rows of q and loads one page of them into dest.
func (db *DB) page(ctx context.Context, q *gorm.DB, p svahub.Page, order string, dest any) (int, error) {
	var total int64
	if err := q.Session(&gorm.Session{}).Count(&total).Error; err != nil {
		return 0, err
	}
	if p.Size <= 0 {
		p.Size = 50
	}
	if err := q.Session(&gorm.Session{}).Order(order).Offset(p.Offset()).Limit(p.Size).Find(dest).Error; err != nil {
		return 0, err
	}
	return int(total), nil
}

// lockForUpdate returns a row-lock clause on Postgres; SQLite transactions
// are already exclusive (BEGIN IMMEDIATE). The lock is FOR NO KEY UPDATE:
// it serialises the transactions that change a row (none changes a key)
// but not the foreign-key checks of rows pointing at it. With FOR UPDATE,
// two transactions that each inserted an access referencing a shared plan
// (a FOR KEY SHARE lock) and then locked the plan to aggregate it waited
// for each other: a deadlock.
func lockForUpdate(dialect string) []clause.Expression {
	if dialect == DialectPostgres {
		return []clause.Expression{clause.Locking{Strength: noKeyUpdate}}
	}
	return nil
}

// noKeyUpdate is the row-lock strength svahub takes (see lockForUpdate).
const noKeyUpdate = "NO KEY UPDATE"

func fieldIndex(name string, i int) string { return fmt.Sprintf("%s[%d]", name, i) }

func containsID(ids []int64, id int64) bool {
	for _, v := range ids {
		if v == id {
			return true
		}
	}
	return false
}

// rebind turns ? placeholders into $n for PostgreSQL. Results are kept:
// the hot paths rebind the same few statements on every request.
func (db *DB) rebind(q string) string {
	if db.dialect != DialectPostgres {
		return q
	}
	if r, ok := rebound.Load(q); ok {
		return r.(string)
	}
	r := rebindPostgres(q)
	if rebindCount.Add(1) <= 10_000 { // statements with long IN lists vary; keep the map bounded
		rebound.Store(q, r)
	}
	return r
}

var (
	rebound     sync.Map
	rebindCount atomic.Int64
)

func rebindPostgres(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func closeRows(rows *sql.Rows) error {
	if err := rows.Err(); err != nil {
		_ = rows.Close()
		return err
	}
	return rows.Close()
}
