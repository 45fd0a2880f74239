package store

import (
	"gorm.io/gorm"

	"github.com/svahub/svahub/internal/svahub"
)

// finishedJobStates are River's final job states.
var finishedJobStates = []string{"completed", "cancelled", "discarded"}

// eraseRows replaces the scope's personal data inside tx: the services'
// personal fields, the usernames of platform accounts no other customer
// uses, the platform messages of the customer's transmissions and last
// errors, and anything else quoting values. It returns how many of the
// customer's transmissions lost their message.
func (db *DB) eraseRows(tx *gorm.DB, sc *erasureScope, values []string) (int64, error) {
	ids := make([]int64, len(sc.services))
	for i, s := range sc.services {
		ids[i] = s.ID
	}
	err := tx.Model(&serviceRow{}).Where("id IN ?", ids).Updates(map[string]any{
		"login": "", "password_sealed": "", "customer_name": svahub.ErasedName, "customer_document": "",
		"customer_email": "", "customer_phone": "", "updated_at": db.now().UTC(),
	}).Error
	if err != nil {
		return 0, err
	}
	var mine []int64 // plans on accounts only this customer uses
	for _, a := range sc.accounts {
		if a.Shared {
			continue
		}
		for _, p := range sc.plans {
			if p.AccountID == a.ID {
				mine = append(mine, p.PlanID)
			}
		}
		if svahub.IsErasedUsername(a.Username) {
			continue
		}
		if err := tx.Model(&accountRow{}).Where("id = ?", a.ID).Update("username", svahub.ErasedUsername(a.ID)).Error; err != nil {
			return 0, err
		}
	}
	var n int64
	for _, chunk := range chunks(sc.subs, 500) {
		res := tx.Model(&transmissionRow{}).Where("subscription_id IN ? AND message <> '' AND message <> ?", chunk, svahub.ErasedMessage).
			Update("message", svahub.ErasedMessage)
		if res.Error != nil {
			return 0, res.Error
		}
		n += res.RowsAffected
		for _, m := range []any{&subscriptionRow{}, &accessRow{}} {
			col := "subscription_id"
			if _, ok := m.(*subscriptionRow); ok {
				col = "id"
			}
			if err := tx.Model(m).Where(col+" IN ? AND last_error <> ''", chunk).Update("last_error", svahub.ErasedMessage).Error; err != nil {
				return 0, err
			}
		}
	}
	for _, chunk := range chunks(mine, 500) {
		if err := tx.Model(&planStateRow{}).Where("id IN ? AND last_error <> ''", chunk).Update("last_error", svahub.ErasedMessage).Error; err != nil {
			return 0, err
		}
	}
	if err := db.scrubQuoted(tx, values); err != nil {
		return 0, err
	}
	return n, db.dropFinishedJobs(tx, sc, values)
}

// scrubQuoted clears the last errors that quote values (another
// customer's subscription refused because of this customer's username,
// say) and forgets the stored Idempotency-Key answers that quote them
// (an attach answer shows usuario_plataforma).
func (db *DB) scrubQuoted(tx *gorm.DB, values []string) error {
	if len(values) == 0 {
		return nil
	}
	cond, args := db.containsAny("last_error", values)
	for _, m := range []any{&subscriptionRow{}, &accessRow{}, &planStateRow{}} {
		err := tx.Model(m).Where("last_error <> '' AND last_error <> ? AND "+cond, append([]any{svahub.ErasedMessage}, args...)...).
			Update("last_error", svahub.ErasedMessage).Error
		if err != nil {
			return err
		}
	}
	cond, args = db.containsAny("body", values)
	return tx.Where(cond, args...).Delete(&idempotencyRow{}).Error
}

// dropFinishedJobs deletes River's finished converge jobs of the
// customer's plans and any finished job whose errors quote values (River
// keeps finished jobs for a day, discarded ones for a week, errors and
// all). Jobs still waiting or running kept the erasure from starting.
func (db *DB) dropFinishedJobs(tx *gorm.DB, sc *erasureScope, values []string) error {
	for _, chunk := range chunks(sc.planIDs(), 500) {
		err := tx.Exec("DELETE FROM river_job WHERE kind = ? AND state IN ? AND "+db.riverPlanID()+" IN ?",
			convergeJobKind, finishedJobStates, chunk).Error
		if err != nil {
			return err
		}
	}
	if len(values) == 0 {
		return nil
	}
	errs := "errors::text"
	if db.dialect == DialectSQLite {
		errs = "json(errors)"
	}
	cond, args := db.containsAny(errs, values)
	return tx.Exec("DELETE FROM river_job WHERE state IN ? AND errors IS NOT NULL AND "+cond,
		append([]any{finishedJobStates}, args...)...).Error
}
