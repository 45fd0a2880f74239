package store

import (
	"context"
	"time"

	"github.com/svahub/svahub/internal/svahub"
)

var _ svahub.BillingService = (*DB)(nil)

// FindBilling lists, per customer service, every subscription with valor
// > 0 that existed and was not cancelled on some day of the month, with
// its pro-rata value. Days are counted in the business time zone; the
// cancellation day and days after data_expiracao are not billed.
func (db *DB) FindBilling(ctx context.Context, c svahub.Competence, p svahub.Page) ([]*svahub.BillingItem, int, error) {
	first := c.First().Time()
	monthStart := time.Date(first.Year(), first.Month(), 1, 0, 0, 0, 0, db.loc).UTC()
	monthEnd := time.Date(first.Year(), first.Month()+1, 1, 0, 0, 0, 0, db.loc).UTC()
	var rows []struct {
		ID          int64
		ServiceID   int64
		PackageID   int64
		Description string
		ValueCents  int64
		ExpiresOn   string
		CreatedAt   time.Time
		CancelledAt *time.Time
		CustomerID  int64
	}
	err := db.gorm.WithContext(ctx).Table("subscriptions s").
		Select("s.id, s.service_id, s.package_id, s.description, s.value_cents, s.expires_on, s.created_at, s.cancelled_at, sv.customer_id").
		Joins("JOIN services sv ON sv.id = s.service_id").
		Where("s.value_cents > 0 AND s.created_at < ? AND (s.cancelled_at IS NULL OR s.cancelled_at > ?) AND s.expires_on >= ?", monthEnd, monthStart, string(c.First())).
		Order("s.service_id, s.id").Scan(&rows).Error
	if err != nil {
		return nil, 0, err
	}
	days := svahub.DaysIn(c.Year, c.Month)
	var all []*svahub.BillingItem
	for _, r := range rows {
		start := svahub.DateOf(r.CreatedAt, db.loc)
		var cancelled *svahub.Date
		if r.CancelledAt != nil {
			d := svahub.DateOf(*r.CancelledAt, db.loc)
			cancelled = &d
		}
		n := svahub.BilledDays(c, start, cancelled, svahub.Date(r.ExpiresOn))
		if n <= 0 {
			continue
		}
		v := svahub.Money(r.ValueCents)
		all = append(all, &svahub.BillingItem{ServiceID: r.ServiceID, CustomerID: r.CustomerID, SubscriptionID: r.ID, PackageID: r.PackageID,
			Description: r.Description, Value: v, DaysBilled: n, DaysInMonth: days, ProratedValue: v.ProRata(n, days),
			StartDate: start, CancelledOn: cancelled})
	}
	if p.Size <= 0 {
		p.Size = 50
	}
	lo := min(p.Offset(), len(all))
	hi := min(lo+p.Size, len(all))
	return all[lo:hi], len(all), nil
}
