package store

import (
	"cmp"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/svahub/svahub/internal/svahub"
)

type accountRow struct {
	ID             int64
	IntegrationID  int64
	Username       string
	Reference      string
	PlatformUserID string
	CreatedAt      time.Time
}

func (accountRow) TableName() string { return "platform_accounts" }

type planStateRow struct {
	ID             int64
	AccountID      int64
	IntegrationID  int64
	ProductCode    string
	DesiredState   string
	DesiredExpiry  string
	Version        int64
	AppliedVersion int64
	PlatformState  string
	PlatformExpiry string
	LastError      string
	ErrorVersion   int64
	LeaseUntil     *time.Time
	SyncedAt       *time.Time
	ReconciledAt   *time.Time
}

func (planStateRow) TableName() string { return "platform_plans" }

// resolvePlan finds or creates the platform account (integration, usuario)
// of a service under the integration's username policy, and the shared
// platform plan for product code on it. A policy that finds no value
// returns its message and no plan.
func (db *DB) resolvePlan(tx *gorm.DB, svc *serviceRow, integ integKey, code string) (int64, string, error) {
	cs, err := db.customerService(svc)
	if err != nil {
		return 0, "", err
	}
	username, _, err := svahub.UsernamePolicy(integ.UsernamePolicy).Credentials(cs)
	if err != nil {
		return 0, svahub.ErrorMessage(err), nil
	}
	now := db.now().UTC()
	acc := accountRow{IntegrationID: integ.ID, Username: username, Reference: newReference(), CreatedAt: now}
	if err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "integration_id"}, {Name: "username"}}, DoNothing: true}).Create(&acc).Error; err != nil {
		return 0, "", err
	}
	if err := tx.Select("id").Where("integration_id = ? AND username = ?", integ.ID, username).Take(&acc).Error; err != nil {
		return 0, "", err
	}
	plan := planStateRow{AccountID: acc.ID, IntegrationID: integ.ID, ProductCode: code}
	if err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "account_id"}, {Name: "product_code"}}, DoNothing: true}).Create(&plan).Error; err != nil {
		return 0, "", err
	}
	if err := tx.Select("id").Where("account_id = ? AND product_code = ?", acc.ID, code).Take(&plan).Error; err != nil {
		return 0, "", err
	}
	return plan.ID, "", nil
}

// planMember is an access of a platform plan, with its subscription's
// expiry.
type planMember struct {
	PlanID         int64
	SubscriptionID int64
	DesiredState   string
	ExpiresOn      string
}

// planMembers reads the accesses of the plans (≤ 500) and their
// subscriptions' expiry, sorted by plan. On PostgreSQL: two indexed
// lookups, where one join let the planner scan the whole accesses table;
// SQLite runs the join (see liveAccessesJoined).
func planMembers(tx *gorm.DB, planIDs []int64) ([]planMember, error) {
	var ms []planMember
	if tx.Dialector.Name() == DialectSQLite { // one join: see liveAccessesJoined
		err := tx.Table("accesses a").Select("a.plan_id, a.subscription_id, a.desired_state, s.expires_on").
			Joins("JOIN subscriptions s ON s.id = a.subscription_id").Where("a.plan_id IN ?", planIDs).Scan(&ms).Error
		slices.SortFunc(ms, func(a, b planMember) int { return cmp.Compare(a.PlanID, b.PlanID) })
		return ms, err
	}
	if err := tx.Model(&accessRow{}).Select("plan_id, subscription_id, desired_state").
		Where("plan_id IN ?", planIDs).Scan(&ms).Error; err != nil {
		return nil, err
	}
	subIDs := map[int64]bool{}
	for _, m := range ms {
		subIDs[m.SubscriptionID] = true
	}
	expiry := make(map[int64]string, len(subIDs))
	for _, chunk := range chunks(keys(subIDs), 500) {
		var part []struct {
			ID        int64
			ExpiresOn string
		}
		if err := tx.Model(&subscriptionRow{}).Select("id, expires_on").Where("id IN ?", chunk).Scan(&part).Error; err != nil {
			return nil, err
		}
		for _, p := range part {
			expiry[p.ID] = p.ExpiresOn
		}
	}
	for i := range ms {
		ms[i].ExpiresOn = expiry[ms[i].SubscriptionID]
	}
	slices.SortFunc(ms, func(a, b planMember) int { return cmp.Compare(a.PlanID, b.PlanID) })
	return ms, nil
}

// aggregatePlans recomputes each shared plan's desired state and expiry
// (svahub.AggregatePlan of its accesses); plans that changed get a new
// version and are returned. A plan with no access left is skipped.
// planIDs must be sorted: locks are always taken in id order. Plans are
// locked, read and updated a chunk at a time; plans reaching the same
// aggregate share one UPDATE.
func (db *DB) aggregatePlans(tx *gorm.DB, planIDs []int64) ([]int64, error) {
	var changed []int64
	for _, chunk := range chunks(planIDs, 500) {
		var plans []planStateRow
		if err := tx.Clauses(lockForUpdate(db.dialect)...).Select("id, desired_state, desired_expiry").
			Where("id IN ?", chunk).Order("id").Find(&plans).Error; err != nil {
			return nil, err
		}
		// Members are read after the locks are held, so (in READ COMMITTED)
		// they include what the last holder of each lock committed.
		ms, err := planMembers(tx, chunk)
		if err != nil {
			return nil, err
		}
		groups := map[svahub.PlanAggregate][]int64{}
		var order []svahub.PlanAggregate
		var buf []svahub.PlanMember
		i := 0
		for _, p := range plans { // plans and ms are both in plan id order
			for i < len(ms) && ms[i].PlanID < p.ID {
				i++
			}
			buf = buf[:0]
			for ; i < len(ms) && ms[i].PlanID == p.ID; i++ {
				buf = append(buf, svahub.PlanMember{Desired: svahub.AccessState(ms[i].DesiredState), Expiry: svahub.Date(ms[i].ExpiresOn)})
			}
			prev := svahub.PlanAggregate{Desired: svahub.AccessState(p.DesiredState), Expiry: svahub.Date(p.DesiredExpiry)}
			g := svahub.AggregatePlan(buf, prev) // no access left: unchanged, never bumped (planHasAccess)
			if g == prev {
				continue
			}
			if _, seen := groups[g]; !seen {
				order = append(order, g)
			}
			groups[g] = append(groups[g], p.ID)
			changed = append(changed, p.ID)
		}
		for _, g := range order {
			if err := tx.Model(&planStateRow{}).Where("id IN ?", groups[g]).
				Updates(map[string]any{"desired_state": string(g.Desired), "desired_expiry": string(g.Expiry), "version": gorm.Expr("version + 1")}).Error; err != nil {
				return nil, err
			}
		}
	}
	return changed, nil
}
