package store

// The workers' hot path, in plain SQL: claims of plans and accounts,
// leases, outcomes and the group commit of completions.

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/svahub/svahub/internal/svahub"
)

// PlanWork is everything a worker needs to converge one platform plan.
type PlanWork struct {
	PlanID            int64
	IntegrationID     int64
	IntegrationActive bool
	Version           int64
	AppliedVersion    int64
	ErrorVersion      int64
	Desired           svahub.AccessState
	DesiredExpiry     svahub.Date
	PlatformState     svahub.AccessState
	PlatformExpiry    svahub.Date
	ProductCode       string
	AccountID         int64
	Username          string
	Reference         string
	PlatformUserID    string
	// Uncertain is true when an earlier attempt may have changed the
	// platform without recording it: PlatformState is then only a guess.
	Uncertain bool
	// Marked is true when the plan is recorded as uncertain now that this
	// process holds it: on PostgreSQL the claim itself records it when
	// work is due (MarkUncertain is then not needed before a platform
	// call); ReleaseUnchanged undoes it when no call was made.
	Marked bool
	// SubscriptionID and AccessID name one access of the plan, for
	// transmissions.
	SubscriptionID int64
	AccessID       int64
}

const (
	qClaimPlan = `UPDATE platform_plans SET lease_until = ?, lease_holder = ? WHERE id = ? AND (lease_until IS NULL OR lease_until < ?)`
	qPlanWork  = `SELECT p.id, p.integration_id, p.account_id, p.product_code, p.desired_state, p.desired_expiry, p.version,
		p.applied_version, p.platform_state, p.platform_expiry, p.error_version, p.state_uncertain, p.state_uncertain, i.active,
		acc.username, acc.reference, acc.platform_user_id,
		(SELECT a.id FROM accesses a WHERE a.plan_id = p.id ORDER BY a.id LIMIT 1),
		(SELECT a.subscription_id FROM accesses a WHERE a.plan_id = p.id ORDER BY a.id LIMIT 1)
		FROM platform_plans p JOIN integrations i ON i.id = p.integration_id
		JOIN platform_accounts acc ON acc.id = p.account_id WHERE p.id = ?`
	// qClaimPlanWork (PostgreSQL) claims the free plans among $1, records
	// each as uncertain when work is due (the worker will call the
	// platform: the mark is durable before the call, as MarkUncertain's)
	// and returns them as qPlanWork does, with the uncertainty from before
	// the claim. The CTE locks the rows first, in id order, so
	// o.state_uncertain is the latest committed value; it skips a row a
	// writer's transaction holds (SKIP LOCKED; ClaimPlans answers Busy):
	// waiting while holding the rows before it could deadlock with a
	// writer locking several plans in another order, and would hold up
	// every claim of the statement. FOR NO KEY UPDATE, the UPDATE's own
	// lock: a FOR UPDATE would conflict with an API transaction inserting
	// an access of the plan (lockForUpdate). A row a writer committed
	// after the statement began is locked in its latest version, but the
	// account, integration and accesses are read as of the statement's
	// start (the documented READ COMMITTED rule): o.fresh is false then
	// (the row's version is not the one the statement's snapshot sees)
	// and ClaimPlans reads the plan again. $1 plans, $2 now, $3 lease
	// until, $4 holder.
	qClaimPlanWork = `WITH o AS (SELECT id, state_uncertain,
					xmin = (SELECT s.xmin FROM platform_plans s WHERE s.id = platform_plans.id) AS fresh FROM platform_plans
			WHERE id = ANY($1) AND (lease_until IS NULL OR lease_until < $2) ORDER BY id FOR NO KEY UPDATE SKIP LOCKED)
		UPDATE platform_plans p SET lease_until = $3, lease_holder = $4,
			state_uncertain = p.state_uncertain OR (p.applied_version <> p.version AND p.error_version <> p.version AND i.active
				AND ` + "EXISTS (SELECT 1 FROM accesses ax WHERE ax.plan_id = p.id)" + `)
		FROM o, integrations i, platform_accounts acc
		WHERE p.id = o.id AND i.id = p.integration_id AND acc.id = p.account_id
		RETURNING p.id, p.integration_id, p.account_id, p.product_code, p.desired_state, p.desired_expiry, p.version,
		p.applied_version, p.platform_state, p.platform_expiry, p.error_version, o.state_uncertain, p.state_uncertain, i.active,
		acc.username, acc.reference, acc.platform_user_id,
		(SELECT a.id FROM accesses a WHERE a.plan_id = p.id ORDER BY a.id LIMIT 1),
		(SELECT a.subscription_id FROM accesses a WHERE a.plan_id = p.id ORDER BY a.id LIMIT 1), o.fresh`
)

// Claim is one plan's answer to ClaimPlans.
type Claim struct {
	// Work is the plan when this process took its lease (OK).
	Work *PlanWork
	// OK is false when a lease holds the plan: another process's, or this
	// process's (an earlier job of the plan, or the same plan named twice
	// in one ClaimPlans); or when Busy.
	OK bool
	// Busy is true when a writer's transaction held the plan's row
	// (PostgreSQL): the claim skips it rather than wait, so it never
	// deadlocks with a writer locking several plans in another order, nor
	// holds up the other plans of the statement. Claim it again shortly.
	Busy bool
	// Err is ENOTFOUND when the plan does not exist or has no access left
	// (its job is a no-op), or the error that ended this plan's claim.
	Err error
}

// ClaimPlan takes a lease on a plan so that no other worker converges it
// at the same time. ok is false when a lease holds it. It is ClaimPlans
// with one plan.
func (db *DB) ClaimPlan(ctx context.Context, planID int64, lease time.Duration) (*PlanWork, bool, error) {
	cs, err := db.ClaimPlans(ctx, []int64{planID}, lease)
	if err != nil {
		return nil, false, err
	}
	return cs[0].Work, cs[0].OK, cs[0].Err
}

// ClaimPlans claims many plans at once (the workers' group claim), one
// Claim per id in order. On PostgreSQL it is one statement
// (qClaimPlanWork), which also records each plan as uncertain when work
// is due (PlanWork.Marked), so a burst of jobs costs one commit, not one
// each; on SQLite two statements per plan (the lease, then the plan with
// its account, integration and first access). The error is the
// statement's: the claims of its plans did not happen.
func (db *DB) ClaimPlans(ctx context.Context, ids []int64, lease time.Duration) ([]Claim, error) {
	out := make([]Claim, len(ids))
	if db.dialect != DialectPostgres {
		for i, id := range ids {
			w, ok, err := db.claimSQLite(ctx, id, lease)
			out[i] = Claim{Work: w, OK: ok, Err: err}
		}
		return out, nil
	}
	got, err := db.claimPostgres(ctx, ids, lease)
	if err != nil {
		return nil, err
	}
	var missing []int64
	for i, id := range ids {
		w, ok := got[id]
		if !ok {
			missing = append(missing, id)
			continue
		}
		delete(got, id) // named twice: the second finds it held
		out[i].Work, out[i].OK, out[i].Err = db.claimed(ctx, id, w.work, w.err)
	}
	if len(missing) == 0 {
		return out, nil
	}
	leased, err := db.planLeases(ctx, missing)
	for i, id := range ids {
		if out[i].Work != nil || out[i].Err != nil {
			continue
		}
		held, exists := leased[id]
		switch {
		case err != nil:
			out[i].Err = err
		case !exists:
			out[i].Err = svahub.Errorf(svahub.ENOTFOUND, "plano de plataforma %d não existe", id)
		case !held:
			out[i].Busy = true
		}
	}
	return out, nil
}

// claimedRow is one plan qClaimPlanWork took, read again when a writer
// made the statement's view of it stale.
type claimedRow struct {
	work *PlanWork
	err  error
}

// claimPostgres runs qClaimPlanWork for ids and returns the plans it
// took.
func (db *DB) claimPostgres(ctx context.Context, ids []int64, lease time.Duration) (map[int64]claimedRow, error) {
	now := db.now().UTC()
	rows, err := db.sql.QueryContext(ctx, qClaimPlanWork, ids, now, now.Add(lease), db.holder)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	got := make(map[int64]claimedRow, len(ids))
	var stale []*PlanWork
	for rows.Next() {
		fresh := true
		w, err := db.scanPlanWork(rows, &fresh)
		if err != nil {
			return nil, err
		}
		got[w.PlanID] = claimedRow{work: w}
		if !fresh {
			stale = append(stale, w)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	_ = rows.Close()
	for _, w := range stale {
		f, err := db.rereadClaimed(ctx, w)
		got[w.PlanID] = claimedRow{work: f, err: err}
	}
	return got, nil
}

// claimSQLite claims one plan in two statements: the lease, then the
// plan with its account, integration and first access.
func (db *DB) claimSQLite(ctx context.Context, planID int64, lease time.Duration) (*PlanWork, bool, error) {
	now := db.now().UTC()
	res, err := db.sql.ExecContext(ctx, db.rebind(qClaimPlan), now.Add(lease), db.holder, planID, now)
	if err != nil {
		return nil, false, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return nil, false, err
	} else if n == 0 {
		return nil, false, db.planExists(ctx, planID)
	}
	w, err := db.scanPlanWork(db.sql.QueryRowContext(ctx, db.rebind(qPlanWork), planID))
	if errors.Is(err, sql.ErrNoRows) {
		err = svahub.Errorf(svahub.ENOTFOUND, "plano de plataforma não encontrado")
	}
	return db.claimed(ctx, planID, w, err)
}

// planLeases reads, for the plans among ids, whether a lease holds them
// (PostgreSQL; no lock taken): a plan the claim did not take that no
// lease holds was skipped because a writer held its row.
func (db *DB) planLeases(ctx context.Context, ids []int64) (map[int64]bool, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT id, lease_until IS NOT NULL AND lease_until >= $2 FROM platform_plans WHERE id = ANY($1)`,
		ids, db.now().UTC())
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	out := make(map[int64]bool, len(ids))
	for rows.Next() {
		var id int64
		var held bool
		if err := rows.Scan(&id, &held); err != nil {
			return nil, err
		}
		out[id] = held
	}
	return out, rows.Err()
}

// rereadClaimed reads a plan the claim w took while a writer changed it
// (qClaimPlanWork's o.fresh false) in a statement of its own, so that the
// plan, its account, integration and accesses are of one moment. The
// uncertainty from before the claim is the claim's. The claim judged
// whether work is due on its stale view: a mark it set on a plan that
// turns out held, done or in erro is undone here.
func (db *DB) rereadClaimed(ctx context.Context, w *PlanWork) (*PlanWork, error) {
	f, err := db.scanPlanWork(db.sql.QueryRowContext(ctx, db.rebind(qPlanWork), w.PlanID))
	if err != nil {
		return w, err
	}
	f.Uncertain = w.Uncertain
	due := f.AppliedVersion != f.Version && f.ErrorVersion != f.Version && f.IntegrationActive && f.AccessID != 0
	if f.Marked && !f.Uncertain && !due {
		_, err = db.sql.ExecContext(ctx, db.rebind(`UPDATE platform_plans SET state_uncertain = FALSE WHERE id = ? AND lease_holder = ?`),
			f.PlanID, db.holder)
		f.Marked = false
	}
	return f, err
}

// claimed ends a claim that took the lease: a plan that cannot be worked
// on (an error, no access left) is released at once, and a mark the claim
// set undone.
func (db *DB) claimed(ctx context.Context, planID int64, w *PlanWork, err error) (*PlanWork, bool, error) {
	if err == nil && w.AccessID == 0 {
		// Its accesses moved to another plan (retransmitir after a product
		// code fix): there is nothing to converge; the job is a no-op.
		err = svahub.Errorf(svahub.ENOTFOUND, "plano de plataforma %d sem acesso", planID)
	}
	if err != nil {
		if w != nil && w.Marked && !w.Uncertain {
			_ = db.ReleaseUnchanged(context.WithoutCancel(ctx), planID)
		} else {
			_ = db.ReleasePlan(context.WithoutCancel(ctx), planID)
		}
		return nil, false, err
	}
	return w, true, nil
}

// planExists answers a claim that took no lease: nil when the plan exists
// (another process holds it), ENOTFOUND when it does not.
func (db *DB) planExists(ctx context.Context, planID int64) error {
	var one int
	err := db.sql.QueryRowContext(ctx, db.rebind(`SELECT 1 FROM platform_plans WHERE id = ?`), planID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return svahub.Errorf(svahub.ENOTFOUND, "plano de plataforma %d não existe", planID)
	}
	return err
}

// scanPlanWork reads one row of qPlanWork or qClaimPlanWork (then with
// extra, its o.fresh). A plan whose accesses all moved elsewhere has
// AccessID 0.
func (db *DB) scanPlanWork(row interface{ Scan(...any) error }, extra ...any) (*PlanWork, error) {
	var (
		w                                    PlanWork
		desired, desiredExp, pstate, pexpiry string
		accessID, subscriptionID             *int64
	)
	dest := append([]any{&w.PlanID, &w.IntegrationID, &w.AccountID, &w.ProductCode,
		&desired, &desiredExp, &w.Version, &w.AppliedVersion, &pstate, &pexpiry, &w.ErrorVersion, &w.Uncertain, &w.Marked,
		&w.IntegrationActive, &w.Username, &w.Reference, &w.PlatformUserID, &accessID, &subscriptionID}, extra...)
	err := row.Scan(dest...)
	if err != nil {
		return nil, err
	}
	w.Desired, w.DesiredExpiry = svahub.AccessState(desired), svahub.Date(desiredExp)
	w.PlatformState, w.PlatformExpiry = svahub.AccessState(pstate), svahub.Date(pexpiry)
	if accessID != nil && subscriptionID != nil {
		w.AccessID, w.SubscriptionID = *accessID, *subscriptionID
	}
	return &w, nil
}

// ClaimAccount takes a lease on an account before its platform user is
// created, so plans sharing the account do not each try to create it. It
// returns the platform user id when another worker already created it.
func (db *DB) ClaimAccount(ctx context.Context, accountID int64, lease time.Duration) (ok bool, userID string, err error) {
	now := db.now().UTC()
	res, err := db.sql.ExecContext(ctx, db.rebind(`UPDATE platform_accounts SET lease_until = ?, lease_holder = ?
		WHERE id = ? AND platform_user_id = '' AND (lease_until IS NULL OR lease_until < ?)`), now.Add(lease), db.holder, accountID, now)
	if err != nil {
		return false, "", err
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err == nil, "", err
	}
	err = db.sql.QueryRowContext(ctx, db.rebind(`SELECT platform_user_id FROM platform_accounts WHERE id = ?`), accountID).Scan(&userID)
	if errors.Is(err, sql.ErrNoRows) {
		return false, "", svahub.Errorf(svahub.ENOTFOUND, "conta não encontrada")
	}
	return false, userID, err
}

// SetPlatformUser records the platform's id for an account, once created,
// and releases the account's lease (when this process holds it).
func (db *DB) SetPlatformUser(ctx context.Context, accountID int64, userID string) error {
	_, err := db.sql.ExecContext(ctx, db.rebind(`UPDATE platform_accounts SET platform_user_id = ?, `+leaseRelease+` WHERE id = ?`),
		userID, db.holder, db.holder, accountID)
	return err
}

// ReleaseAccount drops this process's lease on an account after a failed
// user creation.
func (db *DB) ReleaseAccount(ctx context.Context, accountID int64) error {
	_, err := db.sql.ExecContext(ctx, db.rebind(`UPDATE platform_accounts SET lease_until = NULL, lease_holder = NULL
		WHERE id = ? AND lease_holder = ?`), accountID, db.holder)
	return err
}

// CompletePlan records that the work of version is done, releases the
// lease and refreshes the statuses that depend on it. A newer version
// stays pending: stale work never hides it. A permanent error is cleared
// only when resolved (svahub.ErrorResolved: the platform reached the
// desired state); otherwise it stays visible with its message.
func (db *DB) CompletePlan(ctx context.Context, planID, version int64, state svahub.AccessState, expiry svahub.Date, resolved bool) error {
	return db.CompletePlans(ctx, []Completion{{PlanID: planID, Version: version, State: state, Expiry: expiry, Resolved: resolved}})
}

// Completion is one plan's successful convergence, as CompletePlans
// records it.
type Completion struct {
	PlanID, Version int64
	State           svahub.AccessState
	Expiry          svahub.Date
	// Resolved clears the plan's permanent error (svahub.ErrorResolved).
	Resolved bool
	// Transmissions are the convergence's platform calls, recorded in the
	// same transaction (redacted already, as RecordTransmission's).
	Transmissions []*svahub.Transmission
}

// CompletePlans records many completions in one transaction, each as
// CompletePlan does: the workers' group commit (internal/provision) sends
// what completed while the previous commit ran. The plans are updated by
// one statement per 256 (qCompletePlans), locked in id order first on
// PostgreSQL; their subscriptions are refreshed once.
func (db *DB) CompletePlans(ctx context.Context, cs []Completion) error {
	if len(cs) == 0 {
		return nil
	}
	cs = slices.SortedFunc(slices.Values(cs), func(a, b Completion) int { return cmp.Compare(a.PlanID, b.PlanID) })
	now := db.now().UTC()
	return db.tx(ctx, func(tx *gorm.DB) error {
		ids := make([]int64, len(cs))
		for i, c := range cs {
			ids[i] = c.PlanID
		}
		if err := db.insertTransmissions(ctx, tx, cs, now); err != nil {
			return err
		}
		for _, chunk := range chunks(cs, 256) {
			if err := db.completeChunk(ctx, tx, chunk, now); err != nil {
				return err
			}
		}
		return db.refreshPlanStatuses(tx, ids...)
	})
}

// completeChunk updates the plans of cs (sorted by id) in one statement.
func (db *DB) completeChunk(ctx context.Context, tx *gorm.DB, cs []Completion, now time.Time) error {
	marks := strings.Repeat(",?", len(cs)-1)
	if db.dialect == DialectPostgres && len(cs) > 1 {
		// The join below locks rows in no set order: lock them in id
		// order first, as the API's writes do, so neither deadlocks.
		args := make([]any, len(cs))
		for i, c := range cs {
			args[i] = c.PlanID
		}
		q := `SELECT id FROM platform_plans WHERE id IN (?` + marks + `) ORDER BY id FOR NO KEY UPDATE`
		if _, err := SQLTx(tx).ExecContext(ctx, db.rebind(q), args...); err != nil {
			return err
		}
	}
	args := make([]any, 0, 5*len(cs)+3)
	for _, c := range cs {
		args = append(args, c.PlanID, c.Version, string(c.State), string(c.Expiry), c.Resolved)
	}
	args = append(args, db.holder, db.holder, now, db.holder)
	row := `(CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS BOOLEAN))`
	q := strings.Replace(qCompletePlans, "?values", row+strings.Repeat(", "+row, len(cs)-1), 1)
	_, err := SQLTx(tx).ExecContext(ctx, db.rebind(q), args...)
	return err
}

// qCompletePlans completes the plans listed in ?values, rows of (plan,
// version, state, expiry, resolved). A newer version stays pending. A
// plan another process holds now (this one's lease expired and it took
// the plan over) is left to it: its claim marked it uncertain, and its
// worker may be calling the platform.
const qCompletePlans = `WITH v (pid, ver, st, exp, res) AS (VALUES ?values)
	UPDATE platform_plans SET applied_version = CASE WHEN applied_version < v.ver THEN v.ver ELSE applied_version END,
	platform_state = v.st, platform_expiry = v.exp, state_uncertain = FALSE,
	last_error = CASE WHEN v.res THEN '' ELSE last_error END, error_version = CASE WHEN v.res THEN 0 ELSE error_version END,
	` + leaseRelease + `, synced_at = ?
	FROM v WHERE platform_plans.id = v.pid AND (platform_plans.lease_holder IS NULL OR platform_plans.lease_holder = ?)`

// ReleasePlan drops this process's lease on a plan (after a temporary
// failure, or when there is nothing to do). A lease another process took
// meanwhile stays theirs.
func (db *DB) ReleasePlan(ctx context.Context, planID int64) error {
	_, err := db.sql.ExecContext(ctx, db.rebind(`UPDATE platform_plans SET lease_until = NULL, lease_holder = NULL
		WHERE id = ? AND lease_holder = ?`), planID, db.holder)
	return err
}

// ReleaseUnchanged drops this process's lease on a plan whose claim marked
// it uncertain (PlanWork.Marked, not Uncertain) when the worker changed
// nothing on the platform: the mark is undone with the lease.
func (db *DB) ReleaseUnchanged(ctx context.Context, planID int64) error {
	_, err := db.sql.ExecContext(ctx, db.rebind(`UPDATE platform_plans SET lease_until = NULL, lease_holder = NULL,
		state_uncertain = FALSE WHERE id = ? AND lease_holder = ?`), planID, db.holder)
	return err
}

// NotePlatformState records the state a failed attempt left on the
// platform when the platform answered every call (so nothing happened that
// svahub did not see) and clears the uncertainty.
func (db *DB) NotePlatformState(ctx context.Context, planID int64, state svahub.AccessState, expiry svahub.Date) error {
	_, err := db.sql.ExecContext(ctx, db.rebind(`UPDATE platform_plans SET platform_state = ?, platform_expiry = ?,
		state_uncertain = FALSE WHERE id = ?`), string(state), string(expiry), planID)
	return err
}

// MarkUncertain records, before a worker changes anything on the platform,
// that the recorded platform state may stop being true until the worker
// completes; CompletePlan and FailPlan clear it.
func (db *DB) MarkUncertain(ctx context.Context, planID int64) error {
	_, err := db.sql.ExecContext(ctx, db.rebind(`UPDATE platform_plans SET state_uncertain = TRUE WHERE id = ?`), planID)
	return err
}
