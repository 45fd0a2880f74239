package store

import (
	"context"

	"gorm.io/gorm"

	"github.com/svahub/svahub/internal/svahub"
)

// AccountUser returns the platform user to create for an account: the
// credentials of the first service (by access: one that wants the plan
// active first, then live ones: a cancelled one's customer may have been
// erased) that resolves to it, under the integration's username policy.
func (db *DB) AccountUser(ctx context.Context, accountID int64) (svahub.PlatformUser, error) {
	var acc accountRow
	if err := db.gorm.WithContext(ctx).First(&acc, accountID).Error; err != nil {
		return svahub.PlatformUser{}, mapErr(err, "conta não encontrada")
	}
	var integ integrationRow
	if err := db.gorm.WithContext(ctx).Select("id, username_policy").First(&integ, acc.IntegrationID).Error; err != nil {
		return svahub.PlatformUser{}, err
	}
	var svc serviceRow
	err := db.gorm.WithContext(ctx).Table("services sv").Select("sv.*").
		Joins("JOIN subscriptions s ON s.service_id = sv.id").
		Joins("JOIN accesses a ON a.subscription_id = s.id").
		Joins("JOIN platform_plans p ON p.id = a.plan_id").
		Where("p.account_id = ?", accountID).Order("a.desired_state <> 'ativo', a.desired_state = 'cancelado', s.cancelled_at IS NOT NULL, a.id").Limit(1).Take(&svc).Error
	if err != nil {
		return svahub.PlatformUser{}, mapErr(err, "conta sem serviço")
	}
	cs, err := db.customerService(&svc)
	if err != nil {
		return svahub.PlatformUser{}, err
	}
	user, pass, err := svahub.UsernamePolicy(integ.UsernamePolicy).Credentials(cs)
	if err != nil {
		return svahub.PlatformUser{}, err
	}
	if user != acc.Username {
		// The policy or the customer data changed since the account was
		// resolved: the account keeps its username.
		user = acc.Username
	}
	return svahub.PlatformUser{Username: user, Password: pass, Name: cs.Customer.Name, Document: cs.Customer.Document,
		Email: cs.Customer.Email, Phone: cs.Customer.Phone, Reference: acc.Reference, CustomerID: cs.Customer.ID, ServiceID: cs.ID}, nil
}

// planHasAccess is the condition, on a platform_plans row named table,
// that some access uses the plan. A plan whose accesses all moved to
// another plan (retransmitir after a product code fix) is never bumped or
// queued again.
func planHasAccess(table string) string {
	return "EXISTS (SELECT 1 FROM accesses ax WHERE ax.plan_id = " + table + ".id)"
}

// FailPlan records a permanent error for version: the plan's accesses show
// erro with the platform's message until retransmitir or a new change.
func (db *DB) FailPlan(ctx context.Context, planID, version int64, state svahub.AccessState, message string) error {
	return db.tx(ctx, func(tx *gorm.DB) error {
		err := tx.Model(&planStateRow{}).Where("id = ? AND version = ?", planID, version).Updates(map[string]any{
			"last_error": truncate(message, 500), "error_version": version, "platform_state": string(state), "state_uncertain": false,
		}).Error
		if err != nil {
			return err
		}
		if err := tx.Model(&planStateRow{}).Where("id = ? AND lease_holder = ?", planID, db.holder).
			Updates(map[string]any{"lease_until": nil, "lease_holder": nil}).Error; err != nil {
			return err
		}
		return db.refreshPlanStatuses(tx, planID)
	})
}

// PendingPlans returns plans of active integrations whose desired state was
// not applied and that are not in erro, for the sweeper to re-enqueue.
func (db *DB) PendingPlans(ctx context.Context, limit int) ([]svahub.PlanJob, error) {
	var rows []planStateRow
	err := db.gorm.WithContext(ctx).Table("platform_plans p").Select("p.id, p.version").
		Joins("JOIN integrations i ON i.id = p.integration_id").
		Where("i.active AND p.version <> p.applied_version AND p.error_version <> p.version AND " + planHasAccess("p")).
		Order("p.id").Limit(limit).Scan(&rows).Error
	out := make([]svahub.PlanJob, len(rows))
	for i, r := range rows {
		out[i] = svahub.PlanJob{PlanID: r.ID, Version: r.Version}
	}
	return out, err
}

// EnqueuePending inserts jobs for up to limit pending plans (used when an
// integration is re-activated, and by the periodic sweep).
func (db *DB) EnqueuePending(ctx context.Context, limit int) (int, error) {
	jobs, err := db.PendingPlans(ctx, limit)
	if err != nil || len(jobs) == 0 || db.queue == nil {
		return 0, err
	}
	err = db.tx(ctx, func(tx *gorm.DB) error {
		return db.queue.EnqueueTx(ctx, SQLTx(tx), jobs)
	})
	return len(jobs), err
}

// ExpireSubscriptions marks live subscriptions past their expiry date as
// expirado and returns how many it marked. Idempotent.
func (db *DB) ExpireSubscriptions(ctx context.Context) (int, error) {
	today := string(db.today())
	n := 0
	err := db.tx(ctx, func(tx *gorm.DB) error {
		var ids []int64
		if err := tx.Model(&subscriptionRow{}).Where("cancelled_at IS NULL AND NOT expired AND expires_on < ?", today).Pluck("id", &ids).Error; err != nil {
			return err
		}
		n = len(ids)
		for _, chunk := range chunks(ids, 500) {
			if err := tx.Model(&subscriptionRow{}).Where("id IN ?", chunk).Update("expired", true).Error; err != nil {
				return err
			}
		}
		return db.refreshStatuses(tx, ids)
	})
	return n, err
}

// ReconcileCandidate is a synchronised plan to compare with the platform.
type ReconcileCandidate struct {
	PlanID         int64
	IntegrationID  int64
	PlatformUserID string
	ProductCode    string
	Desired        svahub.AccessState
	DesiredExpiry  svahub.Date
	PlatformState  svahub.AccessState
	Version        int64
}

// reconcilable lists the platforms whose adapters declare reconciliation
// (svahub.Capabilities.Reconcile): only their plans are candidates, so a
// platform that cannot be read back (webhook) never takes a batch's
// places. A name no adapter has keeps the list from being empty.
func (db *DB) reconcilable() []string {
	out := []string{""}
	for name, a := range db.reg {
		if a.Capabilities.Reconcile {
			out = append(out, name)
		}
	}
	return out
}

// ReconcileCandidates returns up to limit synchronised plans with a platform
// user, least recently reconciled first, of the platforms that declare
// reconciliation.
func (db *DB) ReconcileCandidates(ctx context.Context, limit int) ([]ReconcileCandidate, error) {
	var rows []struct {
		ID             int64
		IntegrationID  int64
		PlatformUserID string
		ProductCode    string
		DesiredState   string
		DesiredExpiry  string
		PlatformState  string
		Version        int64
	}
	err := db.gorm.WithContext(ctx).Table("platform_plans p").
		Select("p.id, p.integration_id, acc.platform_user_id, p.product_code, p.desired_state, p.desired_expiry, p.platform_state, p.version").
		Joins("JOIN platform_accounts acc ON acc.id = p.account_id").
		Joins("JOIN integrations i ON i.id = p.integration_id").
		Where("i.active AND i.platform IN ? AND acc.platform_user_id <> '' AND p.version = p.applied_version AND p.desired_state <> '' AND "+planHasAccess("p"), db.reconcilable()).
		Order("p.reconciled_at IS NOT NULL, p.reconciled_at, p.id").Limit(limit).Scan(&rows).Error
	out := make([]ReconcileCandidate, len(rows))
	for i, r := range rows {
		out[i] = ReconcileCandidate{PlanID: r.ID, IntegrationID: r.IntegrationID, PlatformUserID: r.PlatformUserID, ProductCode: r.ProductCode,
			Desired: svahub.AccessState(r.DesiredState), DesiredExpiry: svahub.Date(r.DesiredExpiry), PlatformState: svahub.AccessState(r.PlatformState), Version: r.Version}
	}
	return out, err
}

// MarkDrift records what the platform really has for a plan and, if it
// differs from the desired state and nothing changed meanwhile (version),
// bumps its version and enqueues a repair. It reports whether a repair was
// queued.
func (db *DB) MarkDrift(ctx context.Context, planID, version int64, observed svahub.AccessState, expiry svahub.Date, drift bool) (bool, error) {
	now := db.now().UTC()
	repaired := false
	err := db.tx(ctx, func(tx *gorm.DB) error {
		upd := map[string]any{"reconciled_at": now}
		if drift {
			upd["platform_state"], upd["platform_expiry"] = string(observed), string(expiry)
			upd["version"] = gorm.Expr("version + 1")
		}
		res := tx.Model(&planStateRow{}).Where("id = ? AND version = ?", planID, version).Updates(upd)
		if res.Error != nil || res.RowsAffected == 0 || !drift {
			return res.Error
		}
		repaired = true
		if err := db.enqueuePlans(tx, []int64{planID}); err != nil {
			return err
		}
		return db.refreshPlanStatuses(tx, planID)
	})
	return repaired, err
}

// ForgetPlatformUser handles a platform user that vanished: the account
// loses its platform id and each of its plans is queued again from
// nothing, so the worker creates the user anew.
func (db *DB) ForgetPlatformUser(ctx context.Context, planID int64) error {
	return db.tx(ctx, func(tx *gorm.DB) error {
		var p planStateRow
		if err := tx.Select("id, account_id").First(&p, planID).Error; err != nil {
			return mapErr(err, "plano de plataforma não encontrado")
		}
		if err := tx.Model(&accountRow{}).Where("id = ?", p.AccountID).Update("platform_user_id", "").Error; err != nil {
			return err
		}
		var plans []int64
		if err := tx.Model(&planStateRow{}).Where("account_id = ? AND "+planHasAccess("platform_plans"), p.AccountID).Order("id").Pluck("id", &plans).Error; err != nil {
			return err
		}
		if err := tx.Model(&planStateRow{}).Where("account_id = ?", p.AccountID).
			Updates(map[string]any{"platform_state": "", "platform_expiry": ""}).Error; err != nil {
			return err
		}
		if err := tx.Model(&planStateRow{}).Where("id IN ?", plans).Update("version", gorm.Expr("version + 1")).Error; err != nil {
			return err
		}
		if err := db.enqueuePlans(tx, plans); err != nil {
			return err
		}
		for _, id := range plans {
			if err := db.refreshPlanStatuses(tx, id); err != nil {
				return err
			}
		}
		return nil
	})
}
