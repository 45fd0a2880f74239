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
	claimedAt := time.Now()
	c, err := e.claim(ctx, job.Args.PlanID)
	pw, ok := c.Work, c.OK
	if err != nil {
		if svahub.ErrorCode(err) == svahub.ENOTFOUND {
			return nil
		}
		return err
	}
	if !ok { // another worker is on this plan; it or this job will finish the work
		return river.JobSnooze(time.Second)
	}
	h := e.leases.add(planLease, pw.PlanID, claimedAt)
	defer e.leases.drop(planLease, pw.PlanID)
	switch {
	case !pw.IntegrationActive: // held: the sweep re-queues it when the integration resumes
		e.releaseUnworked(ctx, pw)
		return nil
	case pw.AppliedVersion == pw.Version, pw.ErrorVersion == pw.Version: // done, or in erro until retransmitir
		e.releaseUnworked(ctx, pw)
		return nil
	}
	// The run's transmissions are recorded with its completion, or by
	// record when it does not complete.
	cctx, held := platform.DeferTransmissions(ctx)
	r, err := e.converge(cctx, pw, h, job.Attempt)
	if err == nil {
		if _, lerr := h.deadline(0); lerr != nil {
			// Another process may own the plan now: record no outcome; the
			// plan is uncertain, so whoever converges it next reads back.
			e.record(ctx, held.Take())
			return lerr
		}
		// A permanent error is cleared only if this work resolved it.
		ts := held.Take()
		_, err := e.commits.do(ctx, store.Completion{PlanID: pw.PlanID, Version: pw.Version, State: r.state, Expiry: r.expiry,
			Resolved: svahub.ErrorResolved(pw.Desired, r.state), Transmissions: ts})
		if err != nil {
			e.record(ctx, ts) // the completion's transaction was rolled back
			if !r.mutated {
				e.releaseUnworked(ctx, pw) // nothing sent: no mark of the claim's is left behind
			}
		}
		return err
	}
	e.record(ctx, held.Take())
	return e.failed(ctx, r, err)
}

// record writes transmissions held back for a completion that did not
// happen; like the platform manager's, it never fails the job.
func (e *Engine) record(ctx context.Context, ts []*svahub.Transmission) {
	for _, t := range ts {
		if err := e.db.RecordTransmission(context.WithoutCancel(ctx), t); err != nil {
			e.log.Warn("record transmission", "integration", t.IntegrationID, "op", t.Operation, "err", err)
		}
	}
}

// failed records what a convergence that failed with err reached and says
// what River does with the job: a permanent refusal or a policy error
// puts the plan in erro; anything else is retried.
func (e *Engine) failed(ctx context.Context, r *run, err error) error {
	pw := r.pw
	if _, lerr := r.plan.deadline(0); lerr != nil {
		e.release(ctx, pw.PlanID) // a no-op unless the lease is still this process's
		return lerr
	}
	if pe, ok := svahub.AsPlatformError(err); ok && pe.Kind != svahub.PlatformTemporary && pe.Kind != svahub.PlatformAuth {
		e.log.Info("platform refused work", "plan", pw.PlanID, "code", pe.Code, "status", pe.Status, "message", pe.Message)
		return e.db.FailPlan(context.WithoutCancel(ctx), pw.PlanID, pw.Version, r.state, svahub.PlatformMessage(pe.Message))
	}
	if se, ok := err.(*svahub.Error); ok && se.Code == svahub.EINVALID { // policy found no username/password
		return e.db.FailPlan(context.WithoutCancel(ctx), pw.PlanID, pw.Version, r.state, se.Message)
	}
	if pe, ok := svahub.AsPlatformError(err); ok && pe.Status != 0 && r.known {
		// The platform answered (refused for now): nothing unrecorded
		// happened, so what this attempt reached is the platform's state.
		if nerr := e.db.NotePlatformState(context.WithoutCancel(ctx), pw.PlanID, r.state, r.expiry); nerr != nil {
			e.log.Warn("note platform state", "plan", pw.PlanID, "err", nerr)
		}
	}
	if r.mutated {
		e.release(ctx, pw.PlanID)
	} else {
		e.releaseUnworked(ctx, pw)
	}
	if e.stopping.Load() && ctx.Err() != nil {
		return river.JobSnooze(0) // drained: hand the job back, not a failure
	}
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

// releaseUnworked gives up the lease on a plan this job sent nothing
// for: a mark the claim set (PlanWork.Marked, not Uncertain) is undone.
// The claim marks only plans with work due, but it may have judged on a
// view a concurrent writer made stale (store.ClaimPlan reads the plan
// again then), so a held or done plan can be marked too.
func (e *Engine) releaseUnworked(ctx context.Context, pw *store.PlanWork) {
	if !pw.Marked || pw.Uncertain {
		e.release(ctx, pw.PlanID)
		return
	}
	if err := e.db.ReleaseUnchanged(context.WithoutCancel(ctx), pw.PlanID); err != nil {
		e.log.Warn("release plan", "plan", pw.PlanID, "err", err)
	}
}

// claim claims a job's plan with the other jobs claiming theirs. A plan
// whose row a writer holds (store.Claim.Busy: a claim never waits for a
// row lock, so it neither deadlocks with a writer nor holds up the other
// claims) is claimed again after a short wait, for about a second.
func (e *Engine) claim(ctx context.Context, planID int64) (store.Claim, error) {
	wait := 10 * time.Millisecond
	for {
		c, err := e.claims.do(ctx, planID)
		if err == nil {
			err = c.Err
		}
		if err != nil || !c.Busy || wait > time.Second {
			return c, err
		}
		select {
		case <-ctx.Done():
			return c, ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// abandonClaim releases a plan claimed for a job that stopped waiting for
// its claim (its context ended while the claim ran).
func (e *Engine) abandonClaim(c store.Claim) {
	if c.OK && c.Work != nil {
		e.releaseUnworked(context.Background(), c.Work)
	}
}

// release gives up the worker's lease on a plan.
func (e *Engine) release(ctx context.Context, planID int64) {
	if err := e.db.ReleasePlan(context.WithoutCancel(ctx), planID); err != nil {
		e.log.Warn("release plan", "plan", planID, "err", err)
	}
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
