package store

import (
	"context"
	"errors"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/svahub/svahub/internal/svahub"
)

type erasureRow struct {
	ID               int64
	CustomerID       int64
	Origin           string
	APIKeyID         *int64 `gorm:"column:api_key_id"`
	APIKeyName       string `gorm:"column:api_key_name"`
	Services         int
	PlatformAccounts int
	Transmissions    int64
	CreatedAt        time.Time
}

func (erasureRow) TableName() string { return "customer_erasures" }

var _ svahub.ErasureService = (*DB)(nil)

// erasurePlan is a platform plan that one of the customer's accesses uses.
type erasurePlan struct {
	PlanID         int64
	AccountID      int64
	SubscriptionID int64
	ServiceID      int64
	ProductCode    string
	Version        int64
	AppliedVersion int64
	ErrorVersion   int64
	LastError      string
	Uncertain      bool
	LeaseUntil     *time.Time
}

// erasureAccount is a platform account of the customer's plans.
type erasureAccount struct {
	ID             int64
	IntegrationID  int64
	Platform       string
	Username       string
	PlatformUserID string
	// Shared: a service of another customer, not erased, uses it too.
	Shared bool
}

// erasureScope is everything one customer's erasure reads and changes.
type erasureScope struct {
	customerID int64
	services   []serviceRow
	subs       []int64
	plans      []erasurePlan
	queued     map[int64]bool // plans with a converge job waiting or running
	accounts   []erasureAccount
}

// EraseCustomer anonymises the personal data of every service of customer
// customerID (see docs/operations.md, "Personal data"). It refuses (409)
// while a service is not cancelado or inativo or platform work for it is
// not finished; repeated, it answers the first record.
//
// Free-text platform messages anywhere in the transmissions that quote the
// customer's data are cleared first, in short batches outside any
// transaction; then one transaction re-checks the conditions under lock and
// replaces the data of the services, platform accounts, the customer's
// transmissions and last errors, drops stored answers and finished jobs
// that quote it, and records the erasure. Then dropCopies clears the
// copies the database keeps beside the rows (SQLite's WAL, PostgreSQL's
// planner statistics).
func (db *DB) EraseCustomer(ctx context.Context, customerID int64, by svahub.ErasureActor) (*svahub.Erasure, error) {
	sc, err := db.erasureScope(ctx, db.gorm.WithContext(ctx), customerID, false)
	if err != nil {
		return nil, err
	}
	if sc.nothingLeft() { // erased before, and nothing new pushed since
		rec, err := db.lastErasure(ctx, customerID)
		if err != nil {
			return nil, err
		}
		if rec != nil {
			return db.erasureView(rec, sc, true), nil
		}
	}
	if b := db.erasureBlockers(sc); len(b) > 0 {
		return nil, svahub.ErasureConflict(customerID, b)
	}
	values := db.personalValues(sc)
	scrubbed, err := db.scrubTransmissions(ctx, values)
	if err != nil {
		return nil, err
	}
	var rec erasureRow
	err = db.tx(ctx, func(tx *gorm.DB) error {
		var err error
		if sc, err = db.erasureScope(ctx, tx, customerID, true); err != nil {
			return err
		}
		if b := db.erasureBlockers(sc); len(b) > 0 {
			return svahub.ErasureConflict(customerID, b)
		}
		values = union(values, db.personalValues(sc))
		n, err := db.eraseRows(tx, sc, values)
		if err != nil {
			return err
		}
		rec = erasureRow{CustomerID: customerID, Origin: by.Origin, APIKeyID: by.APIKeyID, APIKeyName: by.APIKeyName,
			Services: len(sc.services), PlatformAccounts: len(sc.accounts), Transmissions: scrubbed + n, CreatedAt: db.now().UTC()}
		return tx.Create(&rec).Error
	})
	if err != nil {
		return nil, err
	}
	db.dropCopies(ctx)
	db.log.Info("customer personal data erased", "customer", customerID, "origin", by.Origin, "api_key", by.APIKeyName,
		"services", len(sc.services), "platform_accounts", len(sc.accounts), "transmissions", rec.Transmissions)
	return db.erasureView(&rec, sc, false), nil
}

// erasureScope reads the customer's services (locked when lock is set),
// subscriptions, platform plans, queued work and platform accounts.
func (db *DB) erasureScope(ctx context.Context, tx *gorm.DB, customerID int64, lock bool) (*erasureScope, error) {
	sc := &erasureScope{customerID: customerID, queued: map[int64]bool{}}
	q := tx
	if lock {
		q = q.Clauses(lockForUpdate(db.dialect)...)
	}
	if err := q.Where("customer_id = ?", customerID).Order("id").Find(&sc.services).Error; err != nil {
		return nil, err
	}
	if len(sc.services) == 0 {
		return nil, svahub.Errorf(svahub.ENOTFOUND, "o cliente %d não tem serviços no svahub", customerID)
	}
	ids := make([]int64, len(sc.services))
	for i, s := range sc.services {
		ids[i] = s.ID
	}
	if err := tx.Model(&subscriptionRow{}).Where("service_id IN ?", ids).Order("id").Pluck("id", &sc.subs).Error; err != nil {
		return nil, err
	}
	err := tx.Table("accesses a").Select(`p.id AS plan_id, p.account_id, a.subscription_id, s.service_id, p.product_code, p.version,
		p.applied_version, p.error_version, p.last_error, p.state_uncertain AS uncertain, p.lease_until`).
		Joins("JOIN subscriptions s ON s.id = a.subscription_id").Joins("JOIN platform_plans p ON p.id = a.plan_id").
		Where("s.service_id IN ?", ids).Order("a.id").Scan(&sc.plans).Error
	if err != nil {
		return nil, err
	}
	if err := db.queuedPlans(tx, sc); err != nil {
		return nil, err
	}
	return sc, db.erasureAccounts(tx, sc)
}

// riverPlanID is the SQL of a plan job's plan id (svahub.ConvergeJobKind),
// read from river_job.args; prefix qualifies the column ("j." or "").
func (db *DB) riverPlanID(prefix ...string) string {
	col := strings.Join(prefix, "") + "args"
	if db.dialect == DialectSQLite {
		return "json_extract(" + col + ", '$.plan_id')"
	}
	return "(" + col + "->>'plan_id')::bigint"
}

// queuedPlans marks the scope's plans that have a converge job waiting or
// running in River's queue.
func (db *DB) queuedPlans(tx *gorm.DB, sc *erasureScope) error {
	ids := sc.planIDs()
	if len(ids) == 0 {
		return nil
	}
	var queued []int64
	err := tx.Table("river_job").Select(db.riverPlanID()).
		Where("kind = ? AND state IN ? AND "+db.riverPlanID()+" IN ?", convergeJobKind,
			[]string{"available", "pending", "retryable", "running", "scheduled"}, ids).Pluck(db.riverPlanID(), &queued).Error
	for _, id := range queued {
		sc.queued[id] = true
	}
	return err
}

// erasureAccounts reads the platform accounts of the scope's plans and
// whether another customer's service, not erased, shares each.
func (db *DB) erasureAccounts(tx *gorm.DB, sc *erasureScope) error {
	ids := map[int64]bool{}
	for _, p := range sc.plans {
		ids[p.AccountID] = true
	}
	if len(ids) == 0 {
		return nil
	}
	err := tx.Table("platform_accounts acc").Select("acc.id, acc.integration_id, i.platform, acc.username, acc.platform_user_id").
		Joins("JOIN integrations i ON i.id = acc.integration_id").Where("acc.id IN ?", keys(ids)).Order("acc.id").Scan(&sc.accounts).Error
	if err != nil {
		return err
	}
	var others []struct {
		AccountID int64
		serviceRow
	}
	err = tx.Table("platform_plans p").Select("DISTINCT p.account_id, sv.*").
		Joins("JOIN accesses a ON a.plan_id = p.id").Joins("JOIN subscriptions s ON s.id = a.subscription_id").
		Joins("JOIN services sv ON sv.id = s.service_id").
		Where("p.account_id IN ? AND sv.customer_id <> ?", keys(ids), sc.customerID).Scan(&others).Error
	if err != nil {
		return err
	}
	for _, o := range others {
		if svahub.IsErased(o.serviceRow.domain(db.loc)) {
			continue
		}
		for i := range sc.accounts {
			if sc.accounts[i].ID == o.AccountID {
				sc.accounts[i].Shared = true
			}
		}
	}
	return nil
}

func (sc *erasureScope) planIDs() []int64 {
	ids := map[int64]bool{}
	for _, p := range sc.plans {
		ids[p.PlanID] = true
	}
	return keys(ids)
}

// nothingLeft reports whether an earlier erasure already removed
// everything: every service erased, every unshared account renamed.
func (sc *erasureScope) nothingLeft() bool {
	for i := range sc.services {
		if !svahub.IsErased(sc.services[i].domain(time.UTC)) {
			return false
		}
	}
	for _, a := range sc.accounts {
		if !a.Shared && !svahub.IsErasedUsername(a.Username) {
			return false
		}
	}
	return true
}

// erasureBlockers applies the domain rule to the scope.
func (db *DB) erasureBlockers(sc *erasureScope) []svahub.FieldError {
	now := db.now()
	checks := make([]svahub.ErasureCheck, len(sc.services))
	at := map[int64]int{}
	for i, s := range sc.services {
		checks[i] = svahub.ErasureCheck{ServiceID: s.ID, Status: svahub.ServiceStatus(s.Status)}
		at[s.ID] = i
	}
	for _, p := range sc.plans {
		w := svahub.PendingWork{SubscriptionID: p.SubscriptionID, ProductCode: p.ProductCode}
		switch {
		case p.Version != p.AppliedVersion && p.ErrorVersion == p.Version:
			w.Kind, w.Message = svahub.PendingError, p.LastError
		case p.Uncertain:
			w.Kind = svahub.PendingUncertain
		case p.Version != p.AppliedVersion:
			w.Kind = svahub.PendingSync
		case sc.queued[p.PlanID] || (p.LeaseUntil != nil && p.LeaseUntil.After(now)):
			w.Kind = svahub.PendingQueued
		default:
			continue
		}
		c := &checks[at[p.ServiceID]]
		c.Pending = append(c.Pending, w)
	}
	return svahub.ErasureBlockers(checks)
}

// personalValues lists the scope's personal data to look for in free text.
func (db *DB) personalValues(sc *erasureScope) []string {
	var usernames []string
	for _, a := range sc.accounts {
		usernames = append(usernames, a.Username)
	}
	var out []string
	for i := range sc.services {
		cs, err := db.customerService(&sc.services[i])
		if err != nil { // a password sealed with a lost key: search the rest
			db.log.Warn("erasure: password not readable, not searched for", "service", sc.services[i].ID, "err", err)
			cs = sc.services[i].domain(db.loc)
		}
		out = union(out, svahub.PersonalValues(cs, usernames...))
	}
	return out
}

func union(a, b []string) []string {
	seen := make(map[string]bool, len(a))
	for _, v := range a {
		seen[v] = true
	}
	for _, v := range b {
		if !seen[v] {
			seen[v] = true
			a = append(a, v)
		}
	}
	return a
}

// lastErasure returns the customer's latest erasure record, or nil.
func (db *DB) lastErasure(ctx context.Context, customerID int64) (*erasureRow, error) {
	var rec erasureRow
	err := db.gorm.WithContext(ctx).Where("customer_id = ?", customerID).Order("id DESC").Take(&rec).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return &rec, nil
}

// erasureView is the answer: the record plus the services and the
// platform users whose deletion must be asked of each platform.
func (db *DB) erasureView(rec *erasureRow, sc *erasureScope, already bool) *svahub.Erasure {
	out := &svahub.Erasure{ID: rec.ID, CustomerID: rec.CustomerID, At: rec.CreatedAt.In(db.loc), Origin: rec.Origin,
		APIKeyID: rec.APIKeyID, APIKeyName: rec.APIKeyName, Transmissions: rec.Transmissions, AlreadyErased: already,
		Services: []int64{}, PlatformUsers: []svahub.ErasedPlatformUser{}}
	for _, s := range sc.services {
		out.Services = append(out.Services, s.ID)
	}
	for _, a := range sc.accounts {
		if a.PlatformUserID != "" {
			out.PlatformUsers = append(out.PlatformUsers, svahub.ErasedPlatformUser{IntegrationID: a.IntegrationID, Platform: a.Platform,
				PlatformUserID: a.PlatformUserID, Shared: a.Shared})
		}
	}
	sort.Slice(out.PlatformUsers, func(i, j int) bool { return out.PlatformUsers[i].PlatformUserID < out.PlatformUsers[j].PlatformUserID })
	return out
}

// erasedTables are the tables an erasure changes.
const erasedTables = "services, platform_accounts, transmissions, subscriptions, accesses, platform_plans, idempotency_keys, river_job"

// scrubTransmissionsStep is the id range one UPDATE of scrubTransmissions
// scans.
const scrubTransmissionsStep = 20_000
