package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/svahub/svahub/internal/svahub"
)

// The hot read path (GET /servicos/{id}) goes straight to database/sql:
// three indexed queries and no ORM reflection.

const (
	qService = `SELECT id, plan_id, login, password_sealed, status, customer_id, customer_code, customer_name,
		customer_document, customer_email, customer_phone, created_at, updated_at FROM services WHERE id = ?`
	qServiceSubs     = `SELECT ` + subscriptionColumns + ` FROM subscriptions WHERE service_id = ? ORDER BY id`
	qServiceAccesses = `SELECT ` + accessJoinColumns + `
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
		var r subscriptionRow
		if err := rows.Scan(r.viewDest()...); err != nil {
			_ = rows.Close()
			return nil, err
		}
		byID[r.ID] = len(s.Subscriptions)
		s.Subscriptions = append(s.Subscriptions, *r.domain(db.loc))
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
		var a accessJoin
		if err := rows.Scan(a.dest()...); err != nil {
			_ = rows.Close()
			return nil, err
		}
		if i, ok := byID[a.SubscriptionID]; ok {
			s.Subscriptions[i].Accesses = append(s.Subscriptions[i].Accesses, a.domain(db.loc))
		}
	}
	return s, closeRows(rows)
}
