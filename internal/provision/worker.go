package provision

import (
	"context"
	"errors"
	"time"

	"github.com/riverqueue/river"

	"github.com/svahub/svahub/internal/platform"
	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/svahub"
)

type convergeWorker struct {
	river.WorkerDefaults[ConvergeArgs]
	e *Engine
}

// Work converges one plan: claim it, call the platform with no
// transaction open, then record the outcome.
func (w *convergeWorker) Work(ctx context.Context, job *river.Job[ConvergeArgs]) error {
	e := w.e
	pw, ok, err := e.db.ClaimPlan(ctx, job.Args.PlanID, e.opts.JobTimeout*3/2)
	if err != nil {
		if svahub.ErrorCode(err) == svahub.ENOTFOUND {
			return nil
		}
		return err
	}
	if !ok { // another worker is on this plan; it or this job will finish the work
		return river.JobSnooze(time.Second)
	}
	release := func() {
		if err := e.db.ReleasePlan(context.WithoutCancel(ctx), pw.PlanID); err != nil {
			e.log.Warn("release plan", "plan", pw.PlanID, "err", err)
		}
	}
	switch {
	case !pw.IntegrationActive: // held: the sweep re-queues it when the integration resumes
		release()
		return nil
	case pw.AppliedVersion == pw.Version, pw.ErrorVersion == pw.Version: // done, or in erro until retransmitir
		release()
		return nil
	}
	state, expiry, known, err := e.converge(ctx, pw, job.Attempt)
	if err == nil {
		// A permanent error is cleared only if this work resolved it.
		return e.db.CompletePlan(context.WithoutCancel(ctx), pw.PlanID, pw.Version, state, expiry, svahub.ErrorResolved(pw.Desired, state))
	}
	if pe, ok := svahub.AsPlatformError(err); ok && pe.Kind != svahub.PlatformTemporary && pe.Kind != svahub.PlatformAuth {
		e.log.Info("platform refused work", "plan", pw.PlanID, "code", pe.Code, "status", pe.Status, "message", pe.Message)
		return e.db.FailPlan(context.WithoutCancel(ctx), pw.PlanID, pw.Version, state, svahub.PlatformMessage(pe.Message))
	}
	if se, ok := err.(*svahub.Error); ok && se.Code == svahub.EINVALID { // policy found no username/password
		return e.db.FailPlan(context.WithoutCancel(ctx), pw.PlanID, pw.Version, state, se.Message)
	}
	if pe, ok := svahub.AsPlatformError(err); ok && pe.Status != 0 && known {
		// The platform answered (refused for now): nothing unrecorded
		// happened, so what this attempt reached is the platform's state.
		if nerr := e.db.NotePlatformState(context.WithoutCancel(ctx), pw.PlanID, state, expiry); nerr != nil {
			e.log.Warn("note platform state", "plan", pw.PlanID, "err", nerr)
		}
	}
	release()
	if pe, ok := svahub.AsPlatformError(err); ok && pe.RetryAfter > 0 {
		return river.JobSnooze(pe.RetryAfter)
	}
	if errors.Is(err, errAccountBusy) {
		return river.JobSnooze(500 * time.Millisecond)
	}
	if errors.Is(err, errRestart) {
		return nil
	}
	return err
}

// converge makes the platform match pw's desired state and returns what
// the platform has afterwards (also on error: what was reached so far);
// known is false while that is only svahub's stale record (an uncertain
// plan whose platform state could not be read).
func (e *Engine) converge(ctx context.Context, pw *store.PlanWork, attempt int) (state svahub.AccessState, expiry svahub.Date, known bool, err error) {
	state, expiry, known = pw.PlatformState, pw.PlatformExpiry, !pw.Uncertain || pw.PlatformUserID == ""
	ref := platform.Ref{SubscriptionID: &pw.SubscriptionID, AccessID: &pw.AccessID, Attempt: attempt}
	marked := pw.Uncertain
	call := func(op svahub.Operation, fn func(ctx context.Context, p svahub.Platform, token string) error) error {
		if !marked && op != svahub.OpQuery {
			// From here until CompletePlan/FailPlan the recorded state may
			// be stale (the process may die after the platform applied a
			// call): say so first.
			if err := e.db.MarkUncertain(ctx, pw.PlanID); err != nil {
				return err
			}
			marked = true
		}
		return e.m.Call(ctx, pw.IntegrationID, op, ref, fn)
	}
	userID := pw.PlatformUserID
	if pw.Uncertain && userID != "" {
		// An earlier attempt did not finish: read what the platform has.
		var acc *svahub.PlatformAccount
		err := call(svahub.OpQuery, func(ctx context.Context, p svahub.Platform, token string) error {
			var err error
			acc, err = p.GetUser(ctx, token, userID)
			return err
		})
		if pe, ok := svahub.AsPlatformError(err); ok && pe.Kind == svahub.PlatformNotFound {
			// The user is gone: start the account over (credentials are
			// sent again only because the platform lost the user).
			if err := e.db.ForgetPlatformUser(ctx, pw.PlanID); err != nil {
				return state, expiry, known, err
			}
			return state, expiry, known, errRestart
		} else if err != nil {
			return state, expiry, known, err
		}
		state, expiry, known = svahub.AccessNone, "", true
		if p, ok := acc.Plan(pw.ProductCode); ok {
			state, expiry = p.State, p.ExpiresOn
		}
	}
	exists := userID != "" && (state == svahub.AccessActive || state == svahub.AccessSuspended)
	sendable := svahub.ExpirySendable(pw.DesiredExpiry, e.db.Today())
	ensurePlan := func(op svahub.Operation) error {
		return call(op, func(ctx context.Context, p svahub.Platform, token string) error {
			st, err := p.EnsurePlan(ctx, token, userID, pw.ProductCode, pw.DesiredExpiry)
			if err == nil {
				state, expiry = st, pw.DesiredExpiry
			}
			return err
		})
	}
	switch pw.Desired {
	case svahub.AccessNone:
		return state, expiry, known, nil
	case svahub.AccessActive:
		if !exists && !sendable { // expired before it ever reached the platform
			return state, expiry, known, nil
		}
		if userID == "" {
			id, err := e.createUser(ctx, pw, call)
			if err != nil {
				return state, expiry, known, err
			}
			userID = id
		}
		if !exists {
			if err := ensurePlan(svahub.OpActivatePlan); err != nil {
				return state, expiry, known, err
			}
		} else if expiry != pw.DesiredExpiry && sendable {
			if err := ensurePlan(svahub.OpUpdateExpiry); err != nil {
				return state, expiry, known, err
			}
		}
		if state == svahub.AccessSuspended {
			err := call(svahub.OpReactivate, func(ctx context.Context, p svahub.Platform, token string) error {
				return p.Reactivate(ctx, token, userID, pw.ProductCode)
			})
			if err != nil {
				return state, expiry, known, err
			}
			state = svahub.AccessActive
		}
	case svahub.AccessSuspended:
		if !exists { // nothing on the platform to suspend
			return state, expiry, known, nil
		}
		if expiry != pw.DesiredExpiry && sendable {
			if err := ensurePlan(svahub.OpUpdateExpiry); err != nil {
				return state, expiry, known, err
			}
		}
		if state == svahub.AccessActive {
			err := call(svahub.OpSuspend, func(ctx context.Context, p svahub.Platform, token string) error {
				return p.Suspend(ctx, token, userID, pw.ProductCode)
			})
			if err != nil {
				return state, expiry, known, err
			}
			state = svahub.AccessSuspended
		}
	case svahub.AccessCancelled:
		if !exists {
			return state, expiry, known, nil
		}
		err := call(svahub.OpCancel, func(ctx context.Context, p svahub.Platform, token string) error {
			return p.Cancel(ctx, token, userID, pw.ProductCode)
		})
		if err != nil {
			return state, expiry, known, err
		}
		state = svahub.AccessCancelled
	}
	return state, expiry, known, nil
}

// errRestart means the plan's work was re-queued under a new version.
var errRestart = errors.New("provision: plan re-queued")

// errAccountBusy means another worker is creating the plan's user.
var errAccountBusy = errors.New("provision: platform user being created by another worker")

// createUser creates the account's platform user, once: plans sharing the
// account wait (errAccountBusy) while one of them holds the account lease.
func (e *Engine) createUser(ctx context.Context, pw *store.PlanWork, call func(svahub.Operation, func(context.Context, svahub.Platform, string) error) error) (string, error) {
	ok, existing, err := e.db.ClaimAccount(ctx, pw.AccountID, e.opts.JobTimeout*3/2)
	if err != nil {
		return "", err
	}
	if existing != "" {
		return existing, nil
	}
	if !ok {
		return "", errAccountBusy
	}
	var id string
	u, err := e.db.AccountUser(ctx, pw.AccountID)
	if err == nil {
		err = call(svahub.OpCreateUser, func(ctx context.Context, p svahub.Platform, token string) error {
			var err error
			id, err = p.EnsureUser(ctx, token, u)
			return err
		})
	}
	if err != nil {
		if rerr := e.db.ReleaseAccount(context.WithoutCancel(ctx), pw.AccountID); rerr != nil {
			e.log.Warn("release account", "account", pw.AccountID, "err", rerr)
		}
		return "", err
	}
	return id, e.db.SetPlatformUser(context.WithoutCancel(ctx), pw.AccountID, id)
}

type expireWorker struct {
	river.WorkerDefaults[ExpireArgs]
	e *Engine
}

// Work marks expired subscriptions.
func (w *expireWorker) Work(ctx context.Context, _ *river.Job[ExpireArgs]) error {
	n, err := w.e.db.ExpireSubscriptions(ctx)
	if n > 0 {
		w.e.log.Info("subscriptions expired", "count", n)
	}
	return err
}

type sweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	e *Engine
}

// Work re-queues pending plans, forgets expired idempotency keys and
// deletes transmissions past their retention.
func (w *sweepWorker) Work(ctx context.Context, _ *river.Job[SweepArgs]) error {
	if _, err := w.e.db.EnqueuePending(ctx, 5000); err != nil {
		return err
	}
	if _, err := w.e.db.PurgeIdempotency(ctx); err != nil {
		return err
	}
	return w.e.purgeTransmissions(ctx)
}

// purgeTransmissions deletes transmissions older than the retention, a
// bounded number of small batches per sweep (the next sweep goes on).
func (e *Engine) purgeTransmissions(ctx context.Context) error {
	if e.opts.TransmissionRetention <= 0 {
		return nil
	}
	// Half the job's time at most: the next sweep goes on where this one stopped.
	pctx, cancel := context.WithTimeout(ctx, e.opts.JobTimeout/2)
	defer cancel()
	o := e.opts.Purge
	if e.opts.Observer != nil {
		o.OnBatch = e.opts.Observer.TransmissionsPurged
	}
	st, err := e.db.PurgeTransmissions(pctx, e.opts.TransmissionRetention, o)
	if st.Rows > 0 {
		e.log.Info("transmissions purged", "rows", st.Rows, "batches", st.Batches, "max_batch_rows", st.MaxBatchRows,
			"longest_statement", st.Longest, "more", st.More, "retention", e.opts.TransmissionRetention)
	}
	return err
}

type reconcileWorker struct {
	river.WorkerDefaults[ReconcileArgs]
	e *Engine
}

// Timeout gives reconciliation more time than a plan job.
func (w *reconcileWorker) Timeout(*river.Job[ReconcileArgs]) time.Duration { return 10 * time.Minute }

// Work compares up to Limit synchronised plans with the platform and
// queues a repair where they drifted.
func (w *reconcileWorker) Work(ctx context.Context, job *river.Job[ReconcileArgs]) error {
	repaired, checked, err := w.e.Reconcile(ctx, job.Args.Limit)
	if repaired > 0 || err != nil {
		w.e.log.Info("reconciliation", "checked", checked, "repaired", repaired, "err", err)
	}
	return err
}

// Reconcile checks up to limit plans against the platform; it returns how
// many drifted plans it queued for repair and how many it checked.
func (e *Engine) Reconcile(ctx context.Context, limit int) (repaired, checked int, err error) {
	cands, err := e.db.ReconcileCandidates(ctx, limit)
	if err != nil {
		return 0, 0, err
	}
	for _, c := range cands {
		var acc *svahub.PlatformAccount
		err := e.m.Call(ctx, c.IntegrationID, svahub.OpQuery, platform.Ref{}, func(ctx context.Context, p svahub.Platform, token string) error {
			var err error
			acc, err = p.GetUser(ctx, token, c.PlatformUserID)
			return err
		})
		observed, obsExpiry := svahub.AccessNone, svahub.Date("")
		if pe, ok := svahub.AsPlatformError(err); ok && pe.Kind == svahub.PlatformNotFound {
			// The user is gone: forget it so the worker creates it again.
			if err := e.db.ForgetPlatformUser(ctx, c.PlanID); err != nil {
				return repaired, checked, err
			}
			checked++
			repaired++
			continue
		} else if err != nil {
			continue // platform trouble: try this plan next time
		} else if p, ok := acc.Plan(c.ProductCode); ok {
			observed, obsExpiry = p.State, p.ExpiresOn
		}
		checked++
		drift := observed != c.PlatformState ||
			(observed != svahub.AccessNone && observed != svahub.AccessCancelled && obsExpiry != c.DesiredExpiry)
		fixed, err := e.db.MarkDrift(ctx, c.PlanID, c.Version, observed, obsExpiry, drift)
		if err != nil {
			return repaired, checked, err
		}
		if fixed {
			repaired++
		}
	}
	if repaired > 0 && e.opts.Observer != nil {
		e.opts.Observer.DriftRepaired(repaired)
	}
	return repaired, checked, nil
}
