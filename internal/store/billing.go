package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/svahub/svahub/internal/svahub"
)

var _ svahub.BillingService = (*DB)(nil)

// FindBilling lists, per customer service, every subscription with valor
// > 0 that was live on some day of the month, with its pro-rata value.
// Days are counted in the business time zone; the cancellation day and the
// days after data_expiracao are not billed. The selection, the count and
// the page are done by the database: one page costs the same memory
// whatever the month's size.
func (db *DB) FindBilling(ctx context.Context, c svahub.Competence, p svahub.Page) ([]*svahub.BillingItem, int, error) {
	if p.Size <= 0 {
		p.Size = 50
	}
	where, args := db.billingWindow(c)
	var total int
	if err := db.sql.QueryRowContext(ctx, db.rebind(`SELECT COUNT(*) FROM subscriptions s WHERE `+where), args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	if total == 0 || p.Offset() >= total {
		return nil, total, nil
	}
	q := `SELECT s.id, s.service_id, s.package_id, s.description, s.value_cents, s.expires_on, s.created_at, s.cancelled_at, sv.customer_id
		FROM subscriptions s JOIN services sv ON sv.id = s.service_id WHERE ` + where + ` ORDER BY s.service_id, s.id LIMIT ? OFFSET ?`
	rows, err := db.sql.QueryContext(ctx, db.rebind(q), append(args, p.Size, p.Offset())...)
	if err != nil {
		return nil, 0, err
	}
	days := svahub.DaysIn(c.Year, c.Month)
	out := make([]*svahub.BillingItem, 0, p.Size)
	for rows.Next() {
		var (
			it        svahub.BillingItem
			value     int64
			expires   string
			created   time.Time
			cancelled *time.Time
		)
		if err := rows.Scan(&it.SubscriptionID, &it.ServiceID, &it.PackageID, &it.Description, &value, &expires, &created, &cancelled, &it.CustomerID); err != nil {
			_ = rows.Close()
			return nil, 0, err
		}
		it.StartDate = svahub.DateOf(created, db.loc)
		if cancelled != nil {
			d := svahub.DateOf(*cancelled, db.loc)
			it.CancelledOn = &d
		}
		it.Value, it.DaysInMonth = svahub.Money(value), days
		it.DaysBilled = svahub.BilledDays(c, it.StartDate, it.CancelledOn, svahub.Date(expires))
		it.ProratedValue = it.Value.ProRata(it.DaysBilled, days)
		out = append(out, &it)
	}
	return out, total, closeRows(rows)
}

// billingWindow is the SQL condition (on subscriptions s) that
// svahub.BilledDays is positive for competence c, written with the local
// midnights of the month so that both dialects compare plain instants:
//   - valor > 0 and created before the month ends;
//   - data_expiracao not before the day it started billing in the month
//     (its creation day, or the 1st);
//   - not cancelled, or cancelled at or after the first local midnight
//     that follows its creation and is not before the 2nd: the
//     cancellation day is not billed, so a subscription cancelled on the
//     day it started, or on the 1st, has no billed day in the month.
//
// Each CASE stops at the first day boundary after the creation: one
// comparison for the usual subscription, created before the month.
func (db *DB) billingWindow(c svahub.Competence) (string, []any) {
	days := svahub.DaysIn(c.Year, c.Month)
	ts, text := "?", "?" // PostgreSQL cannot infer the types of CASE results
	if db.dialect == DialectPostgres {
		ts, text = "?::timestamptz", "?::text"
	}
	midnight := func(d int) time.Time { return time.Date(c.Year, c.Month, d, 0, 0, 0, 0, db.loc).UTC() }
	date := func(d int) string { return fmt.Sprintf("%04d-%02d-%02d", c.Year, int(c.Month), d) }
	var b strings.Builder
	args := make([]any, 0, 4*days+2)
	b.WriteString(`s.value_cents > 0 AND s.created_at < ? AND s.expires_on >= CASE`)
	args = append(args, midnight(days+1))
	for d := 1; d <= days; d++ {
		b.WriteString(` WHEN s.created_at < ? THEN ` + text)
		args = append(args, midnight(d+1), date(d))
	}
	b.WriteString(` END AND (s.cancelled_at IS NULL OR s.cancelled_at >= CASE`)
	for d := 2; d <= days+1; d++ {
		b.WriteString(` WHEN s.created_at < ? THEN ` + ts)
		args = append(args, midnight(d), midnight(d))
	}
	b.WriteString(` END)`)
	return b.String(), args
}
