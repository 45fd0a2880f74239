package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"

	"gorm.io/gorm"
)

// newProcessID names this process among the workers sharing the database:
// host, pid and a random suffix, so a restarted process never passes for
// the one that died.
func newProcessID() string {
	host, _ := os.Hostname()
	if len(host) > 60 {
		host = host[:60]
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

// ProcessID is the name this process holds leases under: River's client id
// and its row in worker_heartbeats.
func (db *DB) ProcessID() string { return db.holder }

// RenewLeases extends, to now + ttl, the plan and account leases this
// process holds and still holds: a lease that expired or that another
// process took meanwhile is not renewed. It returns the ids it renewed;
// an id left out is a lease this process lost.
func (db *DB) RenewLeases(ctx context.Context, ttl time.Duration, plans, accounts []int64) (keptPlans, keptAccounts []int64, err error) {
	now := db.now().UTC()
	keptPlans, err = db.renew(ctx, "platform_plans", now, ttl, plans)
	if err != nil {
		return nil, nil, err
	}
	keptAccounts, err = db.renew(ctx, "platform_accounts", now, ttl, accounts)
	return keptPlans, keptAccounts, err
}

// renew extends the leases of ids in table held by this process. On
// PostgreSQL it locks the rows in id order first, as every writer of
// several plans does: an UPDATE alone locks them in scan order (heap
// order for a large chunk) and deadlocked with the group commit.
func (db *DB) renew(ctx context.Context, table string, now time.Time, ttl time.Duration, ids []int64) ([]int64, error) {
	var kept []int64
	lease := []any{now.Add(ttl), db.holder, now}
	for _, chunk := range chunks(ids, 500) {
		in := `id IN (?` + strings.Repeat(",?", len(chunk)-1) + `)`
		idArgs := make([]any, len(chunk))
		for i, id := range chunk {
			idArgs[i] = id
		}
		q := `UPDATE ` + table + ` SET lease_until = ? WHERE lease_holder = ? AND lease_until >= ? AND ` + in + ` RETURNING id`
		args := append(lease[:len(lease):len(lease)], idArgs...)
		if db.dialect == DialectPostgres {
			q = `WITH l AS (SELECT id FROM ` + table + ` WHERE lease_holder = ? AND ` + in + ` ORDER BY id FOR NO KEY UPDATE)
				UPDATE ` + table + ` t SET lease_until = ? FROM l WHERE t.id = l.id AND t.lease_holder = ? AND t.lease_until >= ? RETURNING t.id`
			args = append(append([]any{db.holder}, idArgs...), lease...)
		}
		rows, err := db.sql.QueryContext(ctx, db.rebind(q), args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				_ = rows.Close()
				return nil, err
			}
			kept = append(kept, id)
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	return kept, nil
}

// Heartbeat records that this process is alive (its worker_heartbeats row).
func (db *DB) Heartbeat(ctx context.Context) error {
	now := db.now().UTC()
	_, err := db.sql.ExecContext(ctx, db.rebind(`INSERT INTO worker_heartbeats (process_id, started_at, heartbeat_at) VALUES (?, ?, ?)
		ON CONFLICT (process_id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`), db.holder, now, now)
	return err
}

// heartbeatForget is how long the row of a dead process is kept: past
// it, River's own rescuer deals with whatever the process left running.
const heartbeatForget = 24 * time.Hour

// RescueDeadWorkers makes the River jobs left running by dead processes
// (heartbeat older than staleAfter) available again at once, and forgets
// processes dead for a day. It returns how many jobs it rescued. Jobs of
// processes that never wrote a heartbeat (an older svahub) are left to
// River's rescuer.
func (db *DB) RescueDeadWorkers(ctx context.Context, staleAfter time.Duration) (int64, error) {
	now := db.now().UTC()
	last := `attempted_by[array_length(attempted_by, 1)]`
	if db.dialect == DialectSQLite {
		last = `json_extract(attempted_by, '$[#-1]')`
	}
	q := `UPDATE river_job SET state = 'available' WHERE state = 'running' AND ` + last +
		` IN (SELECT process_id FROM worker_heartbeats WHERE heartbeat_at < ? AND process_id <> ?)`
	res, err := db.sql.ExecContext(ctx, db.rebind(q), now.Add(-staleAfter), db.holder)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	_, err = db.sql.ExecContext(ctx, db.rebind(`DELETE FROM worker_heartbeats WHERE heartbeat_at < ?`), now.Add(-heartbeatForget))
	return n, err
}

// Retire is a process's last word on a graceful stop: it releases every
// plan and account lease it still holds and backdates its heartbeat, so
// the other processes take over anything it left at once. On PostgreSQL
// the rows are locked in id order first (see renew).
func (db *DB) Retire(ctx context.Context) error {
	return db.tx(ctx, func(gtx *gorm.DB) error {
		tx := SQLTx(gtx)
		for _, table := range []string{"platform_plans", "platform_accounts"} {
			q := `UPDATE ` + table + ` SET lease_until = NULL, lease_holder = NULL WHERE lease_holder = ?`
			if db.dialect == DialectPostgres {
				q = `WITH l AS (SELECT id FROM ` + table + ` WHERE lease_holder = $1 ORDER BY id FOR NO KEY UPDATE)
					UPDATE ` + table + ` t SET lease_until = NULL, lease_holder = NULL FROM l WHERE t.id = l.id AND t.lease_holder = $1`
			}
			if _, err := tx.ExecContext(ctx, db.rebind(q), db.holder); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, db.rebind(`UPDATE worker_heartbeats SET heartbeat_at = ? WHERE process_id = ?`),
			time.Unix(0, 0).UTC(), db.holder)
		return err
	})
}

// leaseRelease is the SET of an UPDATE that drops a lease only when this
// process holds it (a lease lost to another process stays theirs); its
// two arguments are the holder, twice.
const leaseRelease = `lease_until = CASE WHEN lease_holder = ? THEN NULL ELSE lease_until END,
	lease_holder = CASE WHEN lease_holder = ? THEN NULL ELSE lease_holder END`
