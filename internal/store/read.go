package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/svahub/svahub/internal/svahub"
)

// The hot read path (GET /servicos/{id}) goes straight to database/sql:
// three indexed queries and no ORM reflection.

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

const (
	qService = `SELECT id, plan_id, login, password_sealed, status, customer_id, customer_code, customer_name,
		customer_document, customer_email, customer_phone, created_at, updated_at FROM services WHERE id = ?`
	qServiceSubs = `SELECT id, service_id, package_id, description, origin, value_cents, expires_on, status, last_error,
		created_at, cancelled_at FROM subscriptions WHERE service_id = ? ORDER BY id`
	qServiceAccesses = `SELECT a.subscription_id, a.product_code, a.desired_state, a.last_error, acc.username,
		p.platform_state, p.last_error, p.synced_at
		FROM subscriptions s JOIN accesses a ON a.subscription_id = s.id
		LEFT JOIN platform_plans p ON p.id = a.plan_id
		LEFT JOIN platform_accounts acc ON acc.id = p.account_id
		WHERE s.service_id = ? ORDER BY a.id`
)

// dest returns the scan destinations of qService's columns, in order.
func (r *serviceRow) dest() []any {
	return []any{&r.ID, &r.PlanID, &r.Login, &r.PasswordSealed, &r.Status, &r.CustomerID, &r.CustomerCode, &r.CustomerName,
		&r.CustomerDocument, &r.CustomerEmail, &r.CustomerPhone, &r.CreatedAt, &r.UpdatedAt}
}

// readService is FindServiceByID without the ORM.
func (db *DB) readService(ctx context.Context, id int64) (*svahub.CustomerService, error) {
	var r serviceRow
	err := db.sql.QueryRowContext(ctx, db.rebind(qService), id).Scan(r.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, svahub.Errorf(svahub.ENOTFOUND, "serviço não encontrado")
	} else if err != nil {
		return nil, err
	}
	s := r.domain(db.loc)
	rows, err := db.sql.QueryContext(ctx, db.rebind(qServiceSubs), id)
	if err != nil {
		return nil, err
	}
	byID := map[int64]int{}
	for rows.Next() {
		var (
			sub       svahub.Subscription
			value     int64
			created   time.Time
			cancelled *time.Time
			exp       string
		)
		if err := rows.Scan(&sub.ID, &sub.ServiceID, &sub.PackageID, &sub.Description, &sub.Origin, &value, &exp,
			&sub.Status, &sub.LastError, &created, &cancelled); err != nil {
			_ = rows.Close()
			return nil, err
		}
		sub.Value, sub.ExpiresOn, sub.CreatedAt, sub.Accesses = svahub.Money(value), svahub.Date(exp), created.In(db.loc), []svahub.Access{}
		if cancelled != nil {
			t := cancelled.In(db.loc)
			sub.CancelledAt = &t
		}
		byID[sub.ID] = len(s.Subscriptions)
		s.Subscriptions = append(s.Subscriptions, sub)
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}
	if len(s.Subscriptions) == 0 {
		return s, nil
	}
	rows, err = db.sql.QueryContext(ctx, db.rebind(qServiceAccesses), id)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var (
			subID                     int64
			a                         svahub.Access
			username, pstate, planErr *string
			synced                    *time.Time
		)
		if err := rows.Scan(&subID, &a.ProductCode, &a.DesiredState, &a.LastError, &username, &pstate, &planErr, &synced); err != nil {
			_ = rows.Close()
			return nil, err
		}
		if username != nil {
			a.PlatformUser = *username
		}
		if pstate != nil {
			a.PlatformState = svahub.AccessState(*pstate)
		}
		if a.LastError == "" && planErr != nil {
			a.LastError = *planErr
		}
		if synced != nil {
			t := synced.In(db.loc)
			a.SynchronizedAt = &t
		}
		if i, ok := byID[subID]; ok {
			s.Subscriptions[i].Accesses = append(s.Subscriptions[i].Accesses, a)
		}
	}
	return s, closeRows(rows)
}

func closeRows(rows *sql.Rows) error {
	if err := rows.Err(); err != nil {
		_ = rows.Close()
		return err
	}
	return rows.Close()
}
