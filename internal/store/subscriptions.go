package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"gorm.io/gorm"

	"github.com/svahub/svahub/internal/svahub"
)

type subscriptionRow struct {
	ID            int64
	ServiceID     int64
	PackageID     int64
	IntegrationID int64
	Description   string
	Origin        string
	ValueCents    int64
	ExpiresOn     string
	Status        string
	LastError     string
	Expired       bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
	CancelledAt   *time.Time
}

func (subscriptionRow) TableName() string { return "subscriptions" }

type accessRow struct {
	ID             int64
	SubscriptionID int64
	ProductID      int64
	ProductCode    string
	IntegrationID  int64
	PlanID         *int64
	DesiredState   string
	LastError      string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

func (accessRow) TableName() string { return "accesses" }

// CancelSubscription cancels a subscription of a service (DELETE). It is
// idempotent: cancelling a cancelled subscription succeeds.
func (db *DB) CancelSubscription(ctx context.Context, serviceID, subscriptionID int64) error {
	return db.tx(ctx, func(tx *gorm.DB) error {
		var svc serviceRow
		if err := tx.Clauses(lockForUpdate(db.dialect)...).First(&svc, serviceID).Error; err != nil {
			return mapErr(err, "serviço não encontrado")
		}
		var sub subscriptionRow
		if err := tx.Where("id = ? AND service_id = ?", subscriptionID, serviceID).First(&sub).Error; err != nil {
			return mapErr(err, "assinatura não encontrada neste serviço")
		}
		if sub.CancelledAt != nil {
			return nil
		}
		plans, err := db.cancelTx(tx, &sub)
		if err != nil {
			return err
		}
		return db.refreshServices(tx, []*serviceRow{&svc}, plans)
	})
}

// cancelTx marks a subscription and its accesses cancelled and returns the
// platform plans to re-aggregate.
func (db *DB) cancelTx(tx *gorm.DB, sub *subscriptionRow) ([]int64, error) {
	now := db.now().UTC()
	sub.CancelledAt, sub.Status, sub.UpdatedAt = &now, string(svahub.SubCancelled), now
	if err := tx.Model(&subscriptionRow{}).Where("id = ?", sub.ID).
		Updates(map[string]any{"cancelled_at": now, "status": sub.Status, "updated_at": now}).Error; err != nil {
		return nil, err
	}
	var plans []int64
	if err := tx.Model(&accessRow{}).Where("subscription_id = ? AND plan_id IS NOT NULL", sub.ID).Pluck("plan_id", &plans).Error; err != nil {
		return nil, err
	}
	err := tx.Model(&accessRow{}).Where("subscription_id = ?", sub.ID).
		Updates(map[string]any{"desired_state": string(svahub.AccessCancelled), "updated_at": now}).Error
	return plans, err
}

// SetSubscriptionExpiry moves a subscription's expiry date. A date before
// today is refused; moving it forward revives an expired subscription.
func (db *DB) SetSubscriptionExpiry(ctx context.Context, id int64, expiresOn svahub.Date) (*svahub.Subscription, error) {
	if err := svahub.Validate(&svahub.ExpiryInput{ExpiresOn: string(expiresOn)}); err != nil {
		return nil, err
	}
	if expiresOn.Before(db.today()) {
		return nil, svahub.FieldInvalid("data_expiracao", "data no passado: use hoje ou uma data futura")
	}
	err := db.tx(ctx, func(tx *gorm.DB) error {
		// Locks in the order of every other path: the service, then the
		// subscription (read once unlocked to learn its service).
		var sub subscriptionRow
		if err := tx.Select("id, service_id").First(&sub, id).Error; err != nil {
			return mapErr(err, "assinatura não encontrada")
		}
		var svc serviceRow
		if err := tx.Clauses(lockForUpdate(db.dialect)...).First(&svc, sub.ServiceID).Error; err != nil {
			return err
		}
		if err := tx.Clauses(lockForUpdate(db.dialect)...).First(&sub, id).Error; err != nil {
			return mapErr(err, "assinatura não encontrada")
		}
		if sub.CancelledAt != nil {
			return svahub.Errorf(svahub.ECONFLICT, "assinatura cancelada não pode mudar")
		}
		if err := tx.Model(&subscriptionRow{}).Where("id = ?", id).
			Updates(map[string]any{"expires_on": string(expiresOn), "expired": false, "updated_at": db.now().UTC()}).Error; err != nil {
			return err
		}
		var plans []int64
		if err := tx.Model(&accessRow{}).Where("subscription_id = ? AND plan_id IS NOT NULL", id).Pluck("plan_id", &plans).Error; err != nil {
			return err
		}
		return db.refreshServices(tx, []*serviceRow{&svc}, plans)
	})
	if err != nil {
		return nil, err
	}
	return db.FindSubscriptionByID(ctx, id)
}

// Retransmit re-queues a subscription's platform work after a fix:
// accesses without an account are resolved again (the customer data may
// have been fixed); an access whose product code was corrected and that
// never reached the platform moves to a plan with the new code; every plan
// the subscription still uses is converged anew and its permanent error
// cleared.
func (db *DB) Retransmit(ctx context.Context, id int64) error {
	return db.tx(ctx, func(tx *gorm.DB) error {
		var sub subscriptionRow
		if err := tx.First(&sub, id).Error; err != nil {
			return mapErr(err, "assinatura não encontrada")
		}
		var svc serviceRow
		if err := tx.Clauses(lockForUpdate(db.dialect)...).First(&svc, sub.ServiceID).Error; err != nil {
			return err
		}
		type acc struct {
			ID            int64
			ProductCode   string
			PlanID        *int64
			PlatformState *string
			CurrentCode   *string
		}
		var accs []acc
		if err := tx.Table("accesses a").Select("a.id, a.product_code, a.plan_id, p.platform_state, pr.code AS current_code").
			Joins("LEFT JOIN platform_plans p ON p.id = a.plan_id").Joins("LEFT JOIN products pr ON pr.id = a.product_id").
			Where("a.subscription_id = ?", id).Order("a.id").Scan(&accs).Error; err != nil {
			return err
		}
		var plans []int64
		for _, a := range accs {
			upd := map[string]any{"last_error": ""}
			neverSent := a.PlatformState == nil || *a.PlatformState == "" || *a.PlatformState == string(svahub.AccessCancelled)
			if a.CurrentCode != nil && *a.CurrentCode != a.ProductCode && neverSent {
				// The access moves to a plan with the new code (resolved
				// by the refresh below); the old plan is left as it is: if
				// no access is left on it, nothing bumps or queues it again.
				upd["product_code"], upd["plan_id"] = *a.CurrentCode, nil
			} else if a.PlanID != nil {
				plans = append(plans, *a.PlanID)
			}
			if err := tx.Model(&accessRow{}).Where("id = ?", a.ID).Updates(upd).Error; err != nil {
				return err
			}
		}
		if len(plans) > 0 {
			if err := tx.Model(&planStateRow{}).Where("id IN ?", plans).
				Updates(map[string]any{"last_error": "", "error_version": 0, "version": gorm.Expr("version + 1")}).Error; err != nil {
				return err
			}
			if err := db.enqueuePlans(tx, plans); err != nil {
				return err
			}
		}
		return db.refreshServices(tx, []*serviceRow{&svc}, plans)
	})
}

func newReference() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "svh-" + hex.EncodeToString(b)
}

// loadSubscriptions loads subscriptions selected by q with their accesses.
func (db *DB) loadSubscriptions(q *gorm.DB) ([]*svahub.Subscription, error) {
	var rows []subscriptionRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, err
	}
	return db.subscriptionViews(q, rows)
}

func (db *DB) subscriptionViews(q *gorm.DB, rows []subscriptionRow) ([]*svahub.Subscription, error) {
	out := make([]*svahub.Subscription, len(rows))
	byID := make(map[int64]*svahub.Subscription, len(rows))
	ids := make([]int64, len(rows))
	for i := range rows {
		s := rows[i].domain(db.loc)
		out[i], byID[s.ID], ids[i] = s, s, s.ID
	}
	base := db.gorm.WithContext(q.Statement.Context)
	for _, chunk := range chunks(ids, 500) {
		var rs []accessJoin
		err := base.Table("accesses a").Select(accessJoinColumns).
			Joins("LEFT JOIN platform_plans p ON p.id = a.plan_id").
			Joins("LEFT JOIN platform_accounts acc ON acc.id = p.account_id").
			Where("a.subscription_id IN ?", chunk).Order("a.id").Scan(&rs).Error
		if err != nil {
			return nil, err
		}
		for i := range rs {
			byID[rs[i].SubscriptionID].Accesses = append(byID[rs[i].SubscriptionID].Accesses, rs[i].domain(db.loc))
		}
	}
	return out, nil
}

// FindSubscriptionByID returns one subscription with its accesses.
func (db *DB) FindSubscriptionByID(ctx context.Context, id int64) (*svahub.Subscription, error) {
	subs, err := db.loadSubscriptions(db.gorm.WithContext(ctx).Where("id = ?", id))
	if err != nil {
		return nil, err
	}
	if len(subs) == 0 {
		return nil, svahub.Errorf(svahub.ENOTFOUND, "assinatura não encontrada")
	}
	return subs[0], nil
}

// FindSubscriptions lists subscriptions by status, integration, package
// or service.
func (db *DB) FindSubscriptions(ctx context.Context, f svahub.SubscriptionFilter) ([]*svahub.Subscription, int, error) {
	q := db.gorm.WithContext(ctx).Model(&subscriptionRow{})
	if f.Status != nil {
		q = q.Where("status = ?", string(*f.Status))
	}
	if f.IntegrationID != nil {
		q = q.Where("integration_id = ?", *f.IntegrationID)
	}
	if f.PackageID != nil {
		q = q.Where("package_id = ?", *f.PackageID)
	}
	if f.ServiceID != nil {
		q = q.Where("service_id = ?", *f.ServiceID)
	}
	var rows []subscriptionRow
	total, err := db.page(ctx, q, f.Page, "id", &rows)
	if err != nil {
		return nil, 0, err
	}
	out, err := db.subscriptionViews(q, rows)
	return out, total, err
}
