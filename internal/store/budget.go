package store

import (
	"context"
	"strings"
	"time"
)

// MultiProcess reports whether several svahub processes may share this
// database (PostgreSQL), so that they must share each integration's
// platform rate limit. A SQLite database serves one process, which keeps
// the whole limit and never writes platform_budget_members.
func (db *DB) MultiProcess() bool { return db.dialect == DialectPostgres }

// RenewBudgetMembers keeps member (one process) in the platform budgets of
// integrations for ttl more — integration 0 stands for every integration
// (a process running workers) — drops the member's other rows and every
// row that was not renewed in time, and answers the live members per
// integration id: the processes sharing integration i's limit are
// counts[0] + counts[i]. Empty integrations leaves every budget. It runs on
// plain database/sql, outside the transaction slots, so a busy process
// still renews on time (four short statements, about once a second).
func (db *DB) RenewBudgetMembers(ctx context.Context, member string, integrations []int64, ttl time.Duration) (map[int64]int, error) {
	now := db.now().UTC()
	if _, err := db.sql.ExecContext(ctx, db.rebind(`DELETE FROM platform_budget_members WHERE expires_at < ?`), now); err != nil {
		return nil, err
	}
	keep := []any{member}
	marks := make([]string, 0, len(integrations))
	rows := make([]string, 0, len(integrations))
	upsert := []any{}
	for _, id := range integrations {
		keep = append(keep, id)
		marks = append(marks, "?")
		rows = append(rows, "(?, ?, ?)")
		upsert = append(upsert, member, id, now.Add(ttl))
	}
	drop := `DELETE FROM platform_budget_members WHERE member = ?`
	if len(marks) > 0 {
		drop += ` AND integration_id NOT IN (` + strings.Join(marks, ", ") + `)`
	}
	if _, err := db.sql.ExecContext(ctx, db.rebind(drop), keep...); err != nil {
		return nil, err
	}
	if len(rows) > 0 {
		q := `INSERT INTO platform_budget_members (member, integration_id, expires_at) VALUES ` + strings.Join(rows, ", ") +
			` ON CONFLICT (member, integration_id) DO UPDATE SET expires_at = excluded.expires_at`
		if _, err := db.sql.ExecContext(ctx, db.rebind(q), upsert...); err != nil {
			return nil, err
		}
	}
	return db.budgetCounts(ctx, now)
}

// budgetCounts counts the members alive at now per integration id.
func (db *DB) budgetCounts(ctx context.Context, now time.Time) (map[int64]int, error) {
	res, err := db.sql.QueryContext(ctx, db.rebind(`SELECT integration_id, count(*) FROM platform_budget_members
		WHERE expires_at >= ? GROUP BY integration_id`), now)
	if err != nil {
		return nil, err
	}
	defer res.Close()
	counts := map[int64]int{}
	for res.Next() {
		var id int64
		var n int
		if err := res.Scan(&id, &n); err != nil {
			return nil, err
		}
		counts[id] = n
	}
	return counts, res.Err()
}
