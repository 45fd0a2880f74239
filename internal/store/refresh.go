package store

import (
	"cmp"
	"slices"
	"sort"

	"gorm.io/gorm"

	"github.com/svahub/svahub/internal/svahub"
)

// refreshServices is the heart of every change: inside the caller's
// transaction it recomputes the desired state of each access of the given
// services with the pure lifecycle function, resolves platform accounts
// for accesses that have none, re-aggregates the platform plans that
// changed (plus extraPlans), enqueues their work and refreshes the
// subscription statuses.
func (db *DB) refreshServices(tx *gorm.DB, svcs []*serviceRow, extraPlans []int64) error {
	if len(svcs) == 0 && len(extraPlans) == 0 {
		return nil
	}
	byID := make(map[int64]*serviceRow, len(svcs))
	ids := make([]int64, 0, len(svcs))
	for _, s := range svcs {
		byID[s.ID] = s
		ids = append(ids, s.ID)
	}
	accs, err := liveAccesses(tx, ids)
	if err != nil {
		return err
	}
	dirty := map[int64]bool{}
	for _, p := range extraPlans {
		dirty[p] = true
	}
	subs := map[int64]bool{}
	if err := db.applyDesiredStates(tx, accs, byID, dirty, subs); err != nil {
		return err
	}
	// Subscriptions of these services whose accesses are all cancelled
	// (a just-cancelled subscription) still need their status refreshed.
	if err := pluckInto(ids, subs, func(chunk []int64, part *[]int64) error {
		return tx.Model(&subscriptionRow{}).Where("service_id IN ? AND status <> ? AND cancelled_at IS NOT NULL", chunk, string(svahub.SubCancelled)).Pluck("id", part).Error
	}); err != nil {
		return err
	}
	planIDs := keys(dirty)
	changed, err := db.aggregatePlans(tx, planIDs)
	if err != nil {
		return err
	}
	if err := db.enqueuePlans(tx, changed); err != nil {
		return err
	}
	// Other services' subscriptions sharing these plans may change status.
	if err := pluckInto(planIDs, subs, func(chunk []int64, part *[]int64) error {
		return tx.Model(&accessRow{}).Where("plan_id IN ?", chunk).Distinct().Pluck("subscription_id", part).Error
	}); err != nil {
		return err
	}
	return db.refreshStatuses(tx, keys(subs))
}

// liveAccess is an access not cancelled, with what refreshServices needs.
type liveAccess struct {
	ID             int64
	SubscriptionID int64
	ProductCode    string
	IntegrationID  int64
	PlanID         *int64
	DesiredState   string
	LastError      string
	ServiceID      int64
	SubCancelled   bool
}

// liveAccesses loads the accesses not cancelled of the given services.
// The services' subscriptions are read first and their accesses by
// subscription id: both lookups follow an index, where one join let
// PostgreSQL hash the whole accesses table for every 500 services.
func liveAccesses(tx *gorm.DB, serviceIDs []int64) ([]liveAccess, error) {
	if tx.Dialector.Name() == DialectSQLite {
		return liveAccessesJoined(tx, serviceIDs)
	}
	type sub struct {
		ID        int64
		ServiceID int64
		Cancelled bool
	}
	var accs []liveAccess
	for _, chunk := range chunks(serviceIDs, 500) {
		var subs []sub
		if err := tx.Model(&subscriptionRow{}).Select("id, service_id, cancelled_at IS NOT NULL AS cancelled").
			Where("service_id IN ?", chunk).Scan(&subs).Error; err != nil {
			return nil, err
		}
		bySub := make(map[int64]sub, len(subs))
		subIDs := make([]int64, len(subs))
		for i, s := range subs {
			bySub[s.ID], subIDs[i] = s, s.ID
		}
		for _, ids := range chunks(subIDs, 500) {
			var part []liveAccess
			if err := tx.Model(&accessRow{}).Select("id, subscription_id, product_code, integration_id, plan_id, desired_state, last_error").
				Where("subscription_id IN ? AND desired_state <> ?", ids, string(svahub.AccessCancelled)).Scan(&part).Error; err != nil {
				return nil, err
			}
			for i := range part {
				s := bySub[part[i].SubscriptionID]
				part[i].ServiceID, part[i].SubCancelled = s.ServiceID, s.Cancelled
			}
			accs = append(accs, part...)
		}
	}
	slices.SortFunc(accs, func(a, b liveAccess) int { return cmp.Compare(a.ID, b.ID) })
	return accs, nil
}

// liveAccessesJoined is liveAccesses in one join per chunk, as SQLite
// (whose planner follows the indexes, and where every statement costs
// svahub's own CPU) runs it best.
func liveAccessesJoined(tx *gorm.DB, serviceIDs []int64) ([]liveAccess, error) {
	var accs []liveAccess
	for _, chunk := range chunks(serviceIDs, 500) {
		var part []liveAccess
		err := tx.Table("accesses a").
			Select("a.id, a.subscription_id, a.product_code, a.integration_id, a.plan_id, a.desired_state, a.last_error, s.service_id, s.cancelled_at IS NOT NULL AS sub_cancelled").
			Joins("JOIN subscriptions s ON s.id = a.subscription_id").
			Where("s.service_id IN ? AND a.desired_state <> ?", chunk, string(svahub.AccessCancelled)).
			Scan(&part).Error
		if err != nil {
			return nil, err
		}
		accs = append(accs, part...)
	}
	slices.SortFunc(accs, func(a, b liveAccess) int { return cmp.Compare(a.ID, b.ID) })
	return accs, nil
}

// pluckInto runs query over ids in chunks of 500 and adds what it plucks
// to set.
func pluckInto(ids []int64, set map[int64]bool, query func(chunk []int64, part *[]int64) error) error {
	for _, chunk := range chunks(ids, 500) {
		var part []int64
		if err := query(chunk, &part); err != nil {
			return err
		}
		for _, id := range part {
			set[id] = true
		}
	}
	return nil
}

// applyDesiredStates gives each access its desired state and a platform
// plan when it has none, marking the plans to re-aggregate in dirty and
// the subscriptions to refresh in subs.
func (db *DB) applyDesiredStates(tx *gorm.DB, accs []liveAccess, byID map[int64]*serviceRow, dirty, subs map[int64]bool) error {
	integIDs := map[int64]bool{}
	for _, a := range accs {
		integIDs[a.IntegrationID] = true
	}
	integs, err := integrationKeys(tx, keys(integIDs))
	if err != nil {
		return err
	}
	now := db.now().UTC()
	// Accesses whose only change is their desired state are updated in one
	// statement per state (a debt batch flips hundreds at once).
	byState := map[string][]int64{}
	for i := range accs {
		a := &accs[i]
		svc, integ := byID[a.ServiceID], integs[a.IntegrationID]
		subs[a.SubscriptionID] = true
		updates := map[string]any{}
		if a.PlanID == nil && a.LastError == "" {
			planID, msg, err := db.resolvePlan(tx, svc, integ, a.ProductCode)
			if err != nil {
				return err
			}
			if msg != "" {
				updates["last_error"] = msg
			} else {
				a.PlanID = &planID
				updates["plan_id"] = planID
			}
		}
		nd := svahub.DesiredState(svahub.ServiceStatus(svc.Status), integ.SuspendOnDebt, a.SubCancelled, svahub.AccessState(a.DesiredState))
		if len(updates) == 0 && string(nd) == a.DesiredState {
			continue
		}
		if a.PlanID != nil {
			dirty[*a.PlanID] = true
		}
		if len(updates) == 0 {
			byState[string(nd)] = append(byState[string(nd)], a.ID)
			continue
		}
		if string(nd) != a.DesiredState {
			updates["desired_state"] = string(nd)
		}
		updates["updated_at"] = now
		if err := tx.Model(&accessRow{}).Where("id = ?", a.ID).Updates(updates).Error; err != nil {
			return err
		}
	}
	for _, state := range sortedKeys(byState) {
		for _, chunk := range chunks(byState[state], 500) {
			if err := tx.Model(&accessRow{}).Where("id IN ?", chunk).Updates(map[string]any{"desired_state": state, "updated_at": now}).Error; err != nil {
				return err
			}
		}
	}
	return nil
}

type integKey struct {
	ID             int64
	SuspendOnDebt  bool
	UsernamePolicy string
}

func integrationKeys(tx *gorm.DB, ids []int64) (map[int64]integKey, error) {
	out := make(map[int64]integKey, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []integKey
	if err := tx.Model(&integrationRow{}).Select("id, suspend_on_debt, username_policy").Where("id IN ?", ids).Scan(&rows).Error; err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.ID] = r
	}
	return out, nil
}

// refreshStatuses recomputes the stored status of subscriptions.
func (db *DB) refreshStatuses(tx *gorm.DB, subIDs []int64) error {
	sort.Slice(subIDs, func(i, j int) bool { return subIDs[i] < subIDs[j] })
	for _, chunk := range chunks(subIDs, 500) {
		if err := db.applyStatuses(tx, "id IN ?", chunk); err != nil {
			return err
		}
	}
	return nil
}

// refreshPlanStatuses recomputes the status of the subscriptions with an
// access on one of the platform plans.
func (db *DB) refreshPlanStatuses(tx *gorm.DB, planIDs ...int64) error {
	return db.applyStatuses(tx, "id IN (SELECT subscription_id FROM accesses WHERE plan_id IN ?)", planIDs)
}

// applyStatuses locks the subscriptions matching cond (in id order) and
// stores the status their accesses give them. The lock comes before the
// accesses are read: two plans of one subscription completing at once
// must not each miss the other's update (write skew). Subscriptions
// reaching the same status share one UPDATE.
func (db *DB) applyStatuses(tx *gorm.DB, cond string, args ...any) error {
	var subs []subscriptionRow
	if err := tx.Clauses(lockForUpdate(db.dialect)...).Select("id, status, last_error, expired, cancelled_at").
		Where(cond, args...).Order("id").Find(&subs).Error; err != nil {
		return err
	}
	if len(subs) == 0 {
		return nil
	}
	ids := make([]int64, len(subs))
	for i, s := range subs {
		ids[i] = s.ID
	}
	views, err := accessViews(tx, ids)
	if err != nil {
		return err
	}
	type outcome struct{ status, msg string }
	groups := map[outcome][]int64{}
	var order []outcome
	for _, s := range subs {
		st, msg := svahub.SubscriptionStatusOf(s.CancelledAt != nil, s.Expired, views[s.ID])
		if string(st) == s.Status && msg == s.LastError {
			continue
		}
		o := outcome{string(st), msg}
		if _, seen := groups[o]; !seen {
			order = append(order, o)
		}
		groups[o] = append(groups[o], s.ID)
	}
	now := db.now().UTC()
	for _, o := range order {
		if err := tx.Model(&subscriptionRow{}).Where("id IN ?", groups[o]).
			Updates(map[string]any{"status": o.status, "last_error": o.msg, "updated_at": now}).Error; err != nil {
			return err
		}
	}
	return nil
}

// accessViews returns, per subscription, what its status needs of each
// of its accesses (in access id order).
func accessViews(tx *gorm.DB, subIDs []int64) (map[int64][]svahub.AccessView, error) {
	rows, err := accessViewRows(tx, subIDs)
	if err != nil {
		return nil, err
	}
	out := make(map[int64][]svahub.AccessView, len(subIDs))
	for _, r := range rows {
		v := svahub.AccessView{Desired: svahub.AccessState(r.DesiredState), Error: r.LastError}
		if r.PlanID != nil {
			v.Synced = r.Version == r.AppliedVersion
			if v.Error == "" {
				v.Error = r.PlanError
			}
		}
		out[r.SubscriptionID] = append(out[r.SubscriptionID], v)
	}
	return out, nil
}

// accessViewRow is an access with its platform plan's sync state.
type accessViewRow struct {
	ID             int64
	SubscriptionID int64
	DesiredState   string
	LastError      string
	PlanID         *int64
	Version        int64
	AppliedVersion int64
	PlanError      string
}

// accessViewRows reads the accesses of the subscriptions and their plans,
// in access id order. On PostgreSQL it takes two indexed lookups: one
// join let the planner scan the whole accesses table for a batch's 500
// subscriptions. SQLite runs the join (see liveAccessesJoined).
func accessViewRows(tx *gorm.DB, subIDs []int64) ([]accessViewRow, error) {
	var rows []accessViewRow
	if tx.Dialector.Name() == DialectSQLite {
		err := tx.Table("accesses a").Select("a.id, a.subscription_id, a.desired_state, a.last_error, a.plan_id, "+
			"COALESCE(p.version, 0) AS version, COALESCE(p.applied_version, 0) AS applied_version, COALESCE(p.last_error, '') AS plan_error").
			Joins("LEFT JOIN platform_plans p ON p.id = a.plan_id").Where("a.subscription_id IN ?", subIDs).Order("a.id").Scan(&rows).Error
		return rows, err
	}
	if err := tx.Model(&accessRow{}).Select("id, subscription_id, desired_state, last_error, plan_id").
		Where("subscription_id IN ?", subIDs).Scan(&rows).Error; err != nil {
		return nil, err
	}
	planIDs := map[int64]bool{}
	for _, r := range rows {
		if r.PlanID != nil {
			planIDs[*r.PlanID] = true
		}
	}
	plans, err := planSyncs(tx, keys(planIDs))
	if err != nil {
		return nil, err
	}
	for i := range rows {
		if r := &rows[i]; r.PlanID != nil {
			p := plans[*r.PlanID]
			r.Version, r.AppliedVersion, r.PlanError = p.Version, p.AppliedVersion, p.LastError
		}
	}
	slices.SortFunc(rows, func(a, b accessViewRow) int { return cmp.Compare(a.ID, b.ID) })
	return rows, nil
}

// planSync is what a subscription's status needs of a platform plan.
type planSync struct {
	ID             int64
	Version        int64
	AppliedVersion int64
	LastError      string
}

// planSyncs reads the platform plans ids (by primary key, 500 at a time).
func planSyncs(tx *gorm.DB, ids []int64) (map[int64]planSync, error) {
	out := make(map[int64]planSync, len(ids))
	for _, chunk := range chunks(ids, 500) {
		var part []planSync
		if err := tx.Model(&planStateRow{}).Select("id, version, applied_version, last_error").
			Where("id IN ?", chunk).Scan(&part).Error; err != nil {
			return nil, err
		}
		for _, p := range part {
			out[p.ID] = p
		}
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func keys(m map[int64]bool) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// refreshSharedStatuses refreshes the status of the subscriptions with an
// access on one of the plans (sorted) and of the new subscriptions subIDs.
func (db *DB) refreshSharedStatuses(tx *gorm.DB, plans, subIDs []int64) error {
	var subs []int64
	if err := tx.Model(&accessRow{}).Where("plan_id IN ?", plans).Distinct().Pluck("subscription_id", &subs).Error; err != nil {
		return err
	}
	for _, id := range subIDs {
		if !containsID(subs, id) {
			subs = append(subs, id)
		}
	}
	return db.refreshStatuses(tx, subs)
}
