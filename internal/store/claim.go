package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/svahub/svahub/internal/svahub"
)

const (
	qClaimPlan = `UPDATE platform_plans SET lease_until = ?, lease_holder = ? WHERE id = ? AND (lease_until IS NULL OR lease_until < ?)`
	qPlanWork  = `SELECT p.id, p.integration_id, p.account_id, p.product_code, p.desired_state, p.desired_expiry, p.version,
		p.applied_version, p.platform_state, p.platform_expiry, p.error_version, p.state_uncertain, p.state_uncertain, i.active,
		acc.username, acc.reference, acc.platform_user_id,
		(SELECT a.id FROM accesses a WHERE a.plan_id = p.id ORDER BY a.id LIMIT 1),
		(SELECT a.subscription_id FROM accesses a WHERE a.plan_id = p.id ORDER BY a.id LIMIT 1)
		FROM platform_plans p JOIN integrations i ON i.id = p.integration_id
		JOIN platform_accounts acc ON acc.id = p.account_id WHERE p.id = ?`
	// qClaimPlanWork (PostgreSQL) claims the free plans among $1 (locked in
	// id order, as every writer of plans locks them), records it as
	// uncertain when work is due (the worker will call the platform: the
	// mark is durable before the call, as MarkUncertain's) and returns it
	// as qPlanWork does, with the uncertainty from before the claim. The
	// CTE locks the row first, so o.state_uncertain is its latest
	// committed value; FOR NO KEY UPDATE, the UPDATE's own lock: a FOR
	// UPDATE would wait for (and deadlock with) an API transaction
	// inserting an access of the plan (lockForUpdate). A claim that
	// waited for the lock sees the plan as its writer left it, but the
	// account, integration and accesses as of the statement's start (the
	// documented READ COMMITTED rule): o.fresh is false then (the row's
	// version is not the one the statement's snapshot sees) and ClaimPlan
	// reads the plan again. $1 plan, $2 now, $3 lease until, $4 holder.
	qClaimPlanWork = `WITH o AS (SELECT id, state_uncertain,
					xmin = (SELECT s.xmin FROM platform_plans s WHERE s.id = platform_plans.id) AS fresh FROM platform_plans
			WHERE id = ANY($1) AND (lease_until IS NULL OR lease_until < $2) ORDER BY id FOR NO KEY UPDATE)
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
	// in one ClaimPlans).
	OK bool
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
	exist, err := db.plansExisting(ctx, missing)
	for i, id := range ids {
		if out[i].Work == nil && out[i].Err == nil && !exist[id] {
			out[i].Err = err
			if err == nil {
				out[i].Err = svahub.Errorf(svahub.ENOTFOUND, "plano de plataforma %d não existe", id)
			}
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

// plansExisting says which of ids are plans (PostgreSQL).
func (db *DB) plansExisting(ctx context.Context, ids []int64) (map[int64]bool, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT id FROM platform_plans WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	out := make(map[int64]bool, len(ids))
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
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
