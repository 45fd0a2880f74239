package provision

import (
	"context"
	"errors"
	"time"

	"github.com/svahub/svahub/internal/platform"
	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/svahub"
)

// errRestart means the plan's work was re-queued under a new version.
var errRestart = errors.New("provision: plan re-queued")

// errAccountBusy means another worker is creating the plan's user.
var errAccountBusy = errors.New("provision: platform user being created by another worker")

// run is one convergence attempt of a plan: what the platform has as far
// as this attempt knows, updated by every step that succeeds.
type run struct {
	e  *Engine
	pw *store.PlanWork
	// plan is the plan's lease; account the account's while the user is
	// created. No platform call outlives either.
	plan, account *hold
	ref           platform.Ref
	userID        string
	state         svahub.AccessState
	expiry        svahub.Date
	// known is false while state is only svahub's stale record (an
	// uncertain plan whose platform state could not be read).
	known bool
	// marked: the plan is recorded as uncertain.
	marked bool
	// mutated: a call that may change the platform was made.
	mutated bool
}

// converge makes the platform match pw's desired state: it asks
// svahub.ConvergeSteps which steps to run and runs them in order, stopping
// at the first error. A read-back (OpQuery) is run alone and the steps are
// computed again from what it read; on a platform without read-back, a
// step answered "no such plan" (planAbsent) has them computed again from
// an absent plan, once. The returned run holds what the
// platform has afterwards (also on error: what was reached so far).
func (e *Engine) converge(ctx context.Context, pw *store.PlanWork, plan *hold, attempt int) (*run, error) {
	r := &run{e: e, pw: pw, plan: plan, userID: pw.PlatformUserID, state: pw.PlatformState, expiry: pw.PlatformExpiry,
		known: !pw.Uncertain || pw.PlatformUserID == "", marked: pw.Uncertain || pw.Marked}
	r.ref = platform.Ref{SubscriptionID: &pw.SubscriptionID, AccessID: &pw.AccessID, Attempt: attempt}
	caps, err := e.m.Capabilities(ctx, pw.IntegrationID)
	if err != nil {
		return r, err
	}
	ctx = svahub.WithCommand(ctx, svahub.Command{PlanID: pw.PlanID, Version: pw.Version, Reference: pw.Reference, Username: pw.Username})
	sendable := svahub.ExpirySendable(pw.DesiredExpiry, e.db.Today())
	steps := svahub.ConvergeSteps(r.convergence(sendable), caps)
	if len(steps) > 0 && steps[0].Op == svahub.OpQuery {
		if err := r.readBack(ctx); err != nil {
			return r, err
		}
		steps = svahub.ConvergeSteps(r.convergence(sendable), caps)
	}
	absentSeen := false
	for i := 0; i < len(steps); i++ {
		s := steps[i]
		if s.If != svahub.AccessNone && s.If != r.state {
			continue
		}
		err := r.do(ctx, s)
		if err != nil && !absentSeen && planAbsent(err, s.Op, caps) {
			// The platform says it does not have the plan: converge from that.
			r.state, r.expiry, r.known, absentSeen = svahub.AccessNone, "", true, true
			steps, i = svahub.ConvergeSteps(r.convergence(sendable), caps), -1
			continue
		}
		if err != nil {
			return r, err
		}
	}
	return r, nil
}

// planAbsent reports whether err, the answer to op, is a platform that
// cannot be read back saying it does not have the plan (404 to a suspend,
// reactivate or expiry update): the only knowledge of its state there is.
// A platform with read-back is read instead.
func planAbsent(err error, op svahub.Operation, caps svahub.Capabilities) bool {
	pe, ok := svahub.AsPlatformError(err)
	if !ok || pe.Kind != svahub.PlatformNotFound || caps.ReadBack {
		return false
	}
	return op == svahub.OpSuspend || op == svahub.OpReactivate || op == svahub.OpUpdateExpiry
}

// convergence is what the run knows, as ConvergeSteps takes it.
func (r *run) convergence(sendable bool) svahub.Convergence {
	return svahub.Convergence{Desired: r.pw.Desired, DesiredExpiry: r.pw.DesiredExpiry, Sendable: sendable,
		State: r.state, Expiry: r.expiry, Certain: r.known, HasUser: r.userID != ""}
}

// do runs one step.
func (r *run) do(ctx context.Context, s svahub.ConvergeStep) error {
	switch s.Op {
	case svahub.OpCreateUser:
		return r.createUser(ctx)
	case svahub.OpActivatePlan, svahub.OpUpdateExpiry:
		return r.ensurePlan(ctx, s)
	case svahub.OpReactivate:
		return r.setState(ctx, s.Op, svahub.AccessActive, svahub.Platform.Reactivate)
	case svahub.OpSuspend:
		return r.setState(ctx, s.Op, svahub.AccessSuspended, svahub.Platform.Suspend)
	case svahub.OpCancel:
		return r.setState(ctx, s.Op, svahub.AccessCancelled, svahub.Platform.Cancel)
	case svahub.OpQuery:
		return r.readBack(ctx)
	}
	return errors.New("provision: unknown step " + string(s.Op))
}

// call makes one platform call for the plan, telling the adapter which
// operation it is (svahub.WithOperation). A try of the call that got no
// answer makes the run's knowledge uncertain (known false). Before the first call that
// may change the platform it records the plan as uncertain, unless the
// claim did (PlanWork.Marked): from there
// until CompletePlan/FailPlan the recorded state may be stale (the process
// may die after the platform applied a call).
func (r *run) call(ctx context.Context, op svahub.Operation, fn func(ctx context.Context, p svahub.Platform, token string) error) error {
	ctx, cancel, err := r.leased(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	if !r.marked && op != svahub.OpQuery {
		if err := r.e.db.MarkUncertain(ctx, r.pw.PlanID); err != nil {
			return err
		}
		r.marked = true
	}
	r.mutated = r.mutated || op != svahub.OpQuery
	return r.e.m.Call(svahub.WithOperation(ctx, op), r.pw.IntegrationID, op, r.ref,
		func(ctx context.Context, p svahub.Platform, token string) error {
			err := fn(ctx, p, token)
			if op != svahub.OpQuery && err != nil && !answered(err) {
				// This try may have been applied: whatever later tries of
				// the call (the manager's quick retries) hear, the plan's
				// state is no longer known.
				r.known = false
			}
			return err
		})
}

// answered reports whether err is a platform's answer (an HTTP status), so
// the call that got it changed nothing; a call without one (timeout,
// connection lost, cancelled) may have been applied.
func answered(err error) bool {
	pe, ok := svahub.AsPlatformError(err)
	return ok && pe.Status != 0
}

// leased bounds ctx by the leases the run holds: a platform call ends
// before another process could take the plan (or account) over.
func (r *run) leased(ctx context.Context) (context.Context, context.CancelFunc, error) {
	margin := r.e.leases.margin()
	d, err := r.plan.deadline(margin)
	if err != nil {
		return nil, nil, err
	}
	if r.account != nil {
		ad, err := r.account.deadline(margin)
		if err != nil {
			return nil, nil, err
		}
		if ad.Before(d) {
			d = ad
		}
	}
	ctx, cancel := context.WithDeadline(ctx, d)
	return ctx, cancel, nil
}

// readBack reads what the platform has for the plan (an earlier attempt
// did not finish). A user the platform lost is forgotten and the plan
// re-queued (errRestart): the account starts over, credentials are sent
// again only because the platform lost the user.
func (r *run) readBack(ctx context.Context) error {
	var acc *svahub.PlatformAccount
	err := r.call(ctx, svahub.OpQuery, func(ctx context.Context, p svahub.Platform, token string) error {
		var err error
		acc, err = p.GetUser(ctx, token, r.userID)
		return err
	})
	if pe, ok := svahub.AsPlatformError(err); ok && pe.Kind == svahub.PlatformNotFound {
		if err := r.e.db.ForgetPlatformUser(ctx, r.pw.PlanID); err != nil {
			return err
		}
		return errRestart
	} else if err != nil {
		return err
	}
	r.state, r.expiry, r.known = svahub.AccessNone, "", true
	if p, ok := acc.Plan(r.pw.ProductCode); ok {
		r.state, r.expiry = p.State, p.ExpiresOn
	}
	return nil
}

// ensurePlan activates the plan or updates its expiry; the platform says
// which state the plan has.
func (r *run) ensurePlan(ctx context.Context, s svahub.ConvergeStep) error {
	return r.call(ctx, s.Op, func(ctx context.Context, p svahub.Platform, token string) error {
		st, err := p.EnsurePlan(ctx, token, r.userID, r.pw.ProductCode, s.Expiry)
		if err == nil {
			r.state = st
			if s.Expiry != "" {
				r.expiry = s.Expiry
			}
		}
		return err
	})
}

// setState reactivates, suspends or cancels the plan.
func (r *run) setState(ctx context.Context, op svahub.Operation, reached svahub.AccessState,
	fn func(p svahub.Platform, ctx context.Context, token, userID, product string) error) error {
	err := r.call(ctx, op, func(ctx context.Context, p svahub.Platform, token string) error {
		return fn(p, ctx, token, r.userID, r.pw.ProductCode)
	})
	if err == nil {
		r.state = reached
	}
	return err
}

// createUser creates the account's platform user, once: plans sharing the
// account wait (errAccountBusy) while one of them holds the account lease.
func (r *run) createUser(ctx context.Context) error {
	e, accountID := r.e, r.pw.AccountID
	claimedAt := time.Now()
	ok, existing, err := e.db.ClaimAccount(ctx, accountID, e.opts.LeaseTTL)
	if err != nil {
		return err
	}
	if existing != "" {
		r.userID = existing
		return nil
	}
	if !ok {
		return errAccountBusy
	}
	r.account = e.leases.add(accountLease, accountID, claimedAt)
	defer func() {
		e.leases.drop(accountLease, accountID)
		r.account = nil
	}()
	var id string
	u, err := e.db.AccountUser(ctx, accountID)
	if err == nil {
		err = r.call(ctx, svahub.OpCreateUser, func(ctx context.Context, p svahub.Platform, token string) error {
			var err error
			id, err = p.EnsureUser(ctx, token, u)
			return err
		})
	}
	if err != nil {
		if rerr := e.db.ReleaseAccount(context.WithoutCancel(ctx), accountID); rerr != nil {
			e.log.Warn("release account", "account", accountID, "err", rerr)
		}
		return err
	}
	r.userID = id
	return e.db.SetPlatformUser(context.WithoutCancel(ctx), accountID, id)
}
