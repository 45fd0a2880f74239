package provision

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/platform"
	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/svahub"
)

// fakeStore records what the engine asks of the store during a
// convergence; the methods it does not implement panic (nil interface).
type fakeStore struct {
	Store
	log       []string
	accountID string // user id another worker already created
}

func (s *fakeStore) Today() svahub.Date { return "2026-11-30" }
func (s *fakeStore) MarkUncertain(context.Context, int64) error {
	s.log = append(s.log, "mark_uncertain")
	return nil
}
func (s *fakeStore) NotePlatformState(context.Context, int64, svahub.AccessState, svahub.Date) error {
	s.log = append(s.log, "note_state")
	return nil
}
func (s *fakeStore) ReleasePlan(context.Context, int64) error { return nil }
func (s *fakeStore) ReleaseUnchanged(context.Context, int64) error {
	s.log = append(s.log, "release_unchanged")
	return nil
}
func (s *fakeStore) ForgetPlatformUser(context.Context, int64) error {
	s.log = append(s.log, "forget_user")
	return nil
}
func (s *fakeStore) ClaimAccount(context.Context, int64, time.Duration) (bool, string, error) {
	return s.accountID == "", s.accountID, nil
}
func (s *fakeStore) AccountUser(context.Context, int64) (svahub.PlatformUser, error) {
	return svahub.PlatformUser{Username: "ana", Password: "x", Reference: "acc_1"}, nil
}
func (s *fakeStore) ReleaseAccount(context.Context, int64) error {
	s.log = append(s.log, "release_account")
	return nil
}
func (s *fakeStore) SetPlatformUser(_ context.Context, _ int64, id string) error {
	s.log = append(s.log, "set_user "+id)
	return nil
}

// call is one platform call the engine made.
type call struct {
	op  svahub.Operation
	cmd svahub.Command
}

// fakePlatforms is a platform manager whose one platform answers from
// fields; fail makes an operation fail.
type fakePlatforms struct {
	caps  svahub.Capabilities
	calls []call
	// ctxOps are the operations the adapter saw in each call's context
	// (svahub.OperationFrom), in call order.
	ctxOps  []svahub.Operation
	fail    map[svahub.Operation]error
	account *svahub.PlatformAccount // GetUser's answer; nil: not found
	ensured svahub.AccessState      // EnsurePlan's answer
	// tries are the errors of successive tries of an operation's call
	// (then success): Call tries again while the error is temporary
	// without Retry-After, as the manager's quick retries do.
	tries map[svahub.Operation][]error
}

func (f *fakePlatforms) Capabilities(context.Context, int64) (svahub.Capabilities, error) {
	return f.caps, nil
}

func (f *fakePlatforms) Call(ctx context.Context, _ int64, op svahub.Operation, _ platform.Ref,
	fn func(ctx context.Context, p svahub.Platform, token string) error) error {
	cmd, _ := svahub.CommandFrom(ctx)
	f.calls = append(f.calls, call{op, cmd})
	f.ctxOps = append(f.ctxOps, svahub.OperationFrom(ctx))
	if err := f.fail[op]; err != nil {
		return err
	}
	err := fn(ctx, fakePlatform{f}, "tok")
	for pe, ok := svahub.AsPlatformError(err); ok && pe.Kind == svahub.PlatformTemporary && pe.RetryAfter == 0; pe, ok = svahub.AsPlatformError(err) {
		err = fn(ctx, fakePlatform{f}, "tok")
	}
	return err
}

// try pops the next scripted error of op (nil when none is left).
func (f *fakePlatforms) try(op svahub.Operation) error {
	errs := f.tries[op]
	if len(errs) == 0 {
		return nil
	}
	f.tries[op] = errs[1:]
	return errs[0]
}

func (f *fakePlatforms) ops() []svahub.Operation {
	ops := make([]svahub.Operation, len(f.calls))
	for i, c := range f.calls {
		ops[i] = c.op
	}
	return ops
}

type fakePlatform struct{ f *fakePlatforms }

func (fakePlatform) Token(context.Context) (svahub.PlatformToken, error) {
	return svahub.PlatformToken{}, nil
}
func (fakePlatform) Catalogue(context.Context, string) ([]svahub.CatalogueItem, error) {
	return nil, nil
}
func (fakePlatform) EnsureUser(context.Context, string, svahub.PlatformUser) (string, error) {
	return "u1", nil
}
func (p fakePlatform) GetUser(context.Context, string, string) (*svahub.PlatformAccount, error) {
	if p.f.account == nil {
		return nil, &svahub.PlatformError{Kind: svahub.PlatformNotFound, Status: 404}
	}
	return p.f.account, nil
}
func (p fakePlatform) EnsurePlan(context.Context, string, string, string, svahub.Date) (svahub.AccessState, error) {
	if p.f.ensured == svahub.AccessNone {
		return svahub.AccessActive, nil
	}
	return p.f.ensured, nil
}
func (p fakePlatform) Suspend(context.Context, string, string, string) error {
	return p.f.try(svahub.OpSuspend)
}
func (p fakePlatform) Reactivate(context.Context, string, string, string) error {
	return p.f.try(svahub.OpReactivate)
}
func (p fakePlatform) Cancel(context.Context, string, string, string) error {
	return p.f.try(svahub.OpCancel)
}

func testEngine(caps svahub.Capabilities) (*Engine, *fakeStore, *fakePlatforms) {
	db, m := &fakeStore{}, &fakePlatforms{caps: caps}
	e := &Engine{db: db, m: m, opts: Options{JobTimeout: time.Minute, LeaseTTL: 15 * time.Second}, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	e.leases = newKeeper(e, e.opts.LeaseTTL)
	return e, db, m
}

// held is a plan lease held for the next hour.
func held() *hold { return &hold{until: time.Now().Add(time.Hour)} }

func planWork(desired, state svahub.AccessState, expiry svahub.Date, userID string, uncertain bool) *store.PlanWork {
	return &store.PlanWork{PlanID: 7, Version: 3, IntegrationID: 1, AccountID: 2, ProductCode: "P", Desired: desired,
		DesiredExpiry: "2027-01-31", PlatformState: state, PlatformExpiry: expiry, PlatformUserID: userID, Uncertain: uncertain,
		Reference: "acc_2", Username: "ana"}
}

var noReadBack = svahub.Capabilities{Token: true, Catalogue: true}

func TestConvergeRunsStepsInOrder(t *testing.T) {
	e, db, m := testEngine(svahub.FullCapabilities)
	r, err := e.converge(context.Background(), planWork(svahub.AccessActive, svahub.AccessNone, "", "", false), held(), 1)
	require.NoError(t, err)
	require.Equal(t, []svahub.Operation{svahub.OpCreateUser, svahub.OpActivatePlan}, m.ops())
	require.Equal(t, []string{"mark_uncertain", "set_user u1"}, db.log, "uncertain before the first call that may change the platform")
	require.Equal(t, svahub.AccessActive, r.state)
	require.Equal(t, svahub.Date("2027-01-31"), r.expiry)
	for _, c := range m.calls {
		require.Equal(t, svahub.Command{PlanID: 7, Version: 3, Reference: "acc_2", Username: "ana"}, c.cmd,
			"every call carries the plan's command and account")
	}
	require.Equal(t, m.ops(), m.ctxOps, "every call tells the adapter its operation")
}

func TestConvergeReactivatesWhatActivationFoundSuspended(t *testing.T) {
	e, _, m := testEngine(svahub.FullCapabilities)
	m.ensured = svahub.AccessSuspended // the platform had the plan, suspended
	r, err := e.converge(context.Background(), planWork(svahub.AccessActive, svahub.AccessNone, "", "u1", false), held(), 1)
	require.NoError(t, err)
	require.Equal(t, []svahub.Operation{svahub.OpActivatePlan, svahub.OpReactivate}, m.ops())
	require.Equal(t, svahub.AccessActive, r.state)
}

func TestConvergeStopsAtFirstError(t *testing.T) {
	e, _, m := testEngine(svahub.FullCapabilities)
	refused := &svahub.PlatformError{Kind: svahub.PlatformPermanent, Status: 422, Message: "no"}
	m.fail = map[svahub.Operation]error{svahub.OpUpdateExpiry: refused}
	r, err := e.converge(context.Background(), planWork(svahub.AccessActive, svahub.AccessSuspended, "2026-12-31", "u1", false), held(), 1)
	require.ErrorIs(t, err, refused)
	require.Equal(t, []svahub.Operation{svahub.OpUpdateExpiry}, m.ops(), "no reactivation after the failed update")
	require.Equal(t, svahub.AccessSuspended, r.state, "what was reached so far")
	require.True(t, r.known)
}

func TestConvergeUncertainReadsBackFirst(t *testing.T) {
	e, db, m := testEngine(svahub.FullCapabilities)
	m.account = &svahub.PlatformAccount{ID: "u1", Plans: []svahub.PlatformPlan{{Product: "P", State: svahub.AccessActive, ExpiresOn: "2026-12-31"}}}
	r, err := e.converge(context.Background(), planWork(svahub.AccessSuspended, svahub.AccessSuspended, "2027-01-31", "u1", true), held(), 1)
	require.NoError(t, err)
	// The read-back shows the plan still active with the old date.
	require.Equal(t, []svahub.Operation{svahub.OpQuery, svahub.OpUpdateExpiry, svahub.OpSuspend}, m.ops())
	require.Equal(t, m.ops(), m.ctxOps, "the expiry update is told apart from an activation")
	require.Empty(t, db.log, "already marked uncertain")
	require.Equal(t, svahub.AccessSuspended, r.state)
	require.True(t, r.known)
}

func TestConvergeUncertainUserLostRestarts(t *testing.T) {
	e, db, m := testEngine(svahub.FullCapabilities)
	_, err := e.converge(context.Background(), planWork(svahub.AccessActive, svahub.AccessActive, "2027-01-31", "u1", true), held(), 1)
	require.ErrorIs(t, err, errRestart)
	require.Equal(t, []svahub.Operation{svahub.OpQuery}, m.ops())
	require.Equal(t, []string{"forget_user"}, db.log)
}

func TestConvergeUncertainWithoutReadBackResends(t *testing.T) {
	e, _, m := testEngine(noReadBack)
	pw := planWork(svahub.AccessActive, svahub.AccessSuspended, "2026-12-31", "u1", true)
	m.fail = map[svahub.Operation]error{svahub.OpReactivate: &svahub.PlatformError{Kind: svahub.PlatformTemporary, Message: "timeout"}}
	r, err := e.converge(context.Background(), pw, held(), 1)
	require.Error(t, err)
	require.False(t, r.known, "nothing was read: the state stays a guess")
	m.fail = nil
	_, err = e.converge(context.Background(), pw, held(), 2) // the retry
	require.NoError(t, err)
	want := svahub.Command{PlanID: 7, Version: 3, Reference: "acc_2", Username: "ana"}
	require.Equal(t, []call{
		{svahub.OpActivatePlan, want}, {svahub.OpReactivate, want},
		{svahub.OpActivatePlan, want}, {svahub.OpReactivate, want},
	}, m.calls, "no read-back; the same commands under the same command id")
	require.Equal(t, want.ID("reativar"), m.calls[3].cmd.ID(string(m.calls[3].op)))
}

func TestConvergeUncertainWithoutReadBackSuspends(t *testing.T) {
	e, _, m := testEngine(noReadBack)
	r, err := e.converge(context.Background(), planWork(svahub.AccessSuspended, svahub.AccessSuspended, "2027-01-31", "u1", true), held(), 1)
	require.NoError(t, err)
	require.Equal(t, []svahub.Operation{svahub.OpSuspend}, m.ops())
	require.Equal(t, svahub.AccessSuspended, r.state)
}

func TestConvergeAccountUserCreatedByAnotherWorker(t *testing.T) {
	e, db, m := testEngine(svahub.FullCapabilities)
	db.accountID = "u9"
	_, err := e.converge(context.Background(), planWork(svahub.AccessActive, svahub.AccessNone, "", "", false), held(), 1)
	require.NoError(t, err)
	require.Equal(t, []svahub.Operation{svahub.OpActivatePlan}, m.ops(), "the user is adopted, not created")
}

// TestConvergeLostAnswerThenRefusalStaysUncertain: a call whose first try
// got no answer (it may have been applied) and whose quick retry was
// refused for now (429) leaves the plan uncertain: the refusal does not
// make the recorded state the platform's.
func TestConvergeLostAnswerThenRefusalStaysUncertain(t *testing.T) {
	e, db, m := testEngine(svahub.Capabilities{})
	lost := &svahub.PlatformError{Kind: svahub.PlatformTemporary, Message: "timeout"}
	limited := &svahub.PlatformError{Kind: svahub.PlatformTemporary, Status: 429, RetryAfter: time.Second}
	m.tries = map[svahub.Operation][]error{svahub.OpCancel: {lost, limited}}
	pw := planWork(svahub.AccessCancelled, svahub.AccessActive, "2027-01-31", "u1", false)
	r, err := e.converge(context.Background(), pw, held(), 1)
	require.ErrorIs(t, err, limited)
	require.False(t, r.known, "the lost try may have cancelled the plan")
	require.Error(t, e.failed(context.Background(), r, err), "snoozed for Retry-After")
	require.NotContains(t, db.log, "note_state", "the stale state is not recorded as the platform's")
}

// TestConvergeRefusalAloneKeepsKnowledge: a call refused on its only try
// changed nothing, so the attempt's knowledge stands.
func TestConvergeRefusalAloneKeepsKnowledge(t *testing.T) {
	e, _, m := testEngine(svahub.Capabilities{})
	limited := &svahub.PlatformError{Kind: svahub.PlatformTemporary, Status: 429, RetryAfter: time.Second}
	m.tries = map[svahub.Operation][]error{svahub.OpCancel: {limited}}
	r, err := e.converge(context.Background(), planWork(svahub.AccessCancelled, svahub.AccessActive, "2027-01-31", "u1", false), held(), 1)
	require.ErrorIs(t, err, limited)
	require.True(t, r.known)
}

// TestConvergeWithoutReadBackPlanAbsent: on a platform that cannot be read
// back, a 404 to a plan command is the platform saying it does not have
// the plan: the run knows the plan is absent and converges from there
// (activates it when it is wanted active; nothing to suspend).
func TestConvergeWithoutReadBackPlanAbsent(t *testing.T) {
	absent := &svahub.PlatformError{Kind: svahub.PlatformNotFound, Status: 404, Message: "plano não encontrado"}

	e, _, m := testEngine(svahub.Capabilities{})
	m.tries = map[svahub.Operation][]error{svahub.OpReactivate: {absent}}
	r, err := e.converge(context.Background(), planWork(svahub.AccessActive, svahub.AccessSuspended, "2027-01-31", "u1", false), held(), 1)
	require.NoError(t, err)
	require.Equal(t, []svahub.Operation{svahub.OpReactivate, svahub.OpActivatePlan}, m.ops())
	require.Equal(t, svahub.AccessActive, r.state)

	e, _, m = testEngine(svahub.Capabilities{})
	m.tries = map[svahub.Operation][]error{svahub.OpSuspend: {absent}}
	r, err = e.converge(context.Background(), planWork(svahub.AccessSuspended, svahub.AccessActive, "2027-01-31", "u1", true), held(), 1)
	require.NoError(t, err)
	require.Equal(t, []svahub.Operation{svahub.OpSuspend}, m.ops())
	require.Equal(t, svahub.AccessNone, r.state, "nothing to suspend: the platform has no plan")
	require.True(t, r.known)

	// With read-back the 404 is not taken as knowledge: the plan is read.
	e, _, m = testEngine(svahub.FullCapabilities)
	m.tries = map[svahub.Operation][]error{svahub.OpSuspend: {absent}}
	_, err = e.converge(context.Background(), planWork(svahub.AccessSuspended, svahub.AccessActive, "2027-01-31", "u1", false), held(), 1)
	require.ErrorIs(t, err, absent)
}

// BenchmarkConverge measures one debt suspension's convergence (allocations
// per plan on the measured path).
func BenchmarkConverge(b *testing.B) {
	e, _, _ := testEngine(svahub.FullCapabilities)
	m := e.m.(*fakePlatforms)
	pw := planWork(svahub.AccessSuspended, svahub.AccessActive, "2027-01-31", "u1", false)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		m.calls = m.calls[:0]
		if _, err := e.converge(ctx, pw, held(), 1); err != nil {
			b.Fatal(err)
		}
	}
}

func TestConvergeCallsNothingWithoutItsLease(t *testing.T) {
	e, _, m := testEngine(svahub.FullCapabilities)
	lost := held()
	lost.renewed(time.Time{}, false) // another process took the plan
	_, err := e.converge(context.Background(), planWork(svahub.AccessActive, svahub.AccessNone, "", "", false), lost, 1)
	require.ErrorIs(t, err, errLeaseLost)
	require.Empty(t, m.calls)

	ending := &hold{until: time.Now().Add(e.leases.margin() / 2)} // ends before a call could
	_, err = e.converge(context.Background(), planWork(svahub.AccessActive, svahub.AccessNone, "", "u1", false), ending, 1)
	require.ErrorIs(t, err, errLeaseLost)
	require.Empty(t, m.calls)
}

// TestConvergeClaimMarked: a plan the claim already marked uncertain
// (PostgreSQL) is not marked again before the first call.
func TestConvergeClaimMarked(t *testing.T) {
	t.Parallel()
	e, db, m := testEngine(svahub.FullCapabilities)
	pw := planWork(svahub.AccessSuspended, svahub.AccessActive, "2027-01-31", "u1", false)
	pw.Marked = true
	r, err := e.converge(context.Background(), pw, held(), 1)
	require.NoError(t, err)
	require.Equal(t, []svahub.Operation{svahub.OpSuspend}, m.ops())
	require.NotContains(t, db.log, "mark_uncertain")
	require.True(t, r.mutated)
}

// TestFailedUndoesClaimMarkOnlyWhenNothingSent: a run that fails before
// any call that may change the platform undoes the claim's mark; one
// that sent such a call leaves the plan uncertain.
func TestFailedUndoesClaimMarkOnlyWhenNothingSent(t *testing.T) {
	t.Parallel()
	e, db, _ := testEngine(svahub.FullCapabilities)
	pw := planWork(svahub.AccessSuspended, svahub.AccessActive, "2027-01-31", "u1", false)
	pw.Marked = true
	r := &run{e: e, pw: pw, plan: held()}
	require.Error(t, e.failed(context.Background(), r, errors.New("boom")))
	require.Equal(t, []string{"release_unchanged"}, db.log)
	db.log = nil
	r.mutated = true
	require.Error(t, e.failed(context.Background(), r, errors.New("boom")))
	require.Empty(t, db.log, "sent: the plan stays uncertain")
	pw.Uncertain, r.mutated = true, false
	require.Error(t, e.failed(context.Background(), r, errors.New("boom")))
	require.Empty(t, db.log, "uncertain before the claim: it stays so")
}

// claimStore is a fakeStore whose ClaimPlans gives pw.
type claimStore struct {
	*fakeStore
	pw *store.PlanWork
}

func (s *claimStore) ClaimPlans(_ context.Context, ids []int64, _ time.Duration) ([]store.Claim, error) {
	return []store.Claim{{Work: s.pw, OK: true}}, nil
}

// useClaimStore makes e claim pw through a claimStore over db.
func useClaimStore(e *Engine, db *fakeStore, pw *store.PlanWork) {
	cs := &claimStore{fakeStore: db, pw: pw}
	e.db, e.claims = cs, newClaimer(cs.ClaimPlans, e.opts.LeaseTTL, e.abandonClaim)
}

// TestHeldPlanUndoesClaimMark: a claim that marked the plan on a view a
// concurrent writer made stale (the integration was paused, the version
// applied or in erro meanwhile: store.ClaimPlans reads again) leaves no
// mark when the job releases the plan unworked; a plan uncertain before
// the claim stays so.
func TestHeldPlanUndoesClaimMark(t *testing.T) {
	t.Parallel()
	for name, edit := range map[string]func(pw *store.PlanWork){
		"paused":  func(pw *store.PlanWork) { pw.IntegrationActive = false },
		"applied": func(pw *store.PlanWork) { pw.IntegrationActive, pw.AppliedVersion = true, pw.Version },
		"erro":    func(pw *store.PlanWork) { pw.IntegrationActive, pw.ErrorVersion = true, pw.Version },
	} {
		for _, before := range []bool{false, true} {
			e, db, m := testEngine(svahub.FullCapabilities)
			pw := planWork(svahub.AccessSuspended, svahub.AccessActive, "2027-01-31", "u1", before)
			pw.Marked = true
			edit(pw)
			useClaimStore(e, db, pw)
			w := &convergeWorker{e: e}
			require.NoError(t, w.Work(context.Background(), &river.Job[ConvergeArgs]{JobRow: &rivertype.JobRow{Attempt: 1}, Args: ConvergeArgs{PlanID: 7}}))
			require.Empty(t, m.calls, name)
			if before {
				require.Empty(t, db.log, "%s: uncertain before the claim: it stays so", name)
			} else {
				require.Equal(t, []string{"release_unchanged"}, db.log, "%s: the claim's mark is undone", name)
			}
		}
	}
}

func (s *claimStore) RecordTransmission(context.Context, *svahub.Transmission) error {
	s.log = append(s.log, "record")
	return nil
}

// TestFailedCompletionUndoesClaimMark: a run that sent nothing (the
// platform already had the desired state) and whose completion failed
// leaves no mark of the claim's; one that sent something stays uncertain.
func TestFailedCompletionUndoesClaimMark(t *testing.T) {
	t.Parallel()
	for _, sent := range []bool{false, true} {
		e, db, m := testEngine(svahub.FullCapabilities)
		state := svahub.AccessActive
		if sent {
			state = svahub.AccessSuspended
		}
		pw := planWork(svahub.AccessActive, state, "2027-01-31", "u1", false)
		pw.Marked, pw.IntegrationActive = true, true
		useClaimStore(e, db, pw)
		e.commits = newCommitter(func(context.Context, []store.Completion) error { return errors.New("database down") })
		w := &convergeWorker{e: e}
		require.Error(t, w.Work(context.Background(), &river.Job[ConvergeArgs]{JobRow: &rivertype.JobRow{Attempt: 1}, Args: ConvergeArgs{PlanID: 7}}))
		if sent {
			require.Equal(t, []svahub.Operation{svahub.OpReactivate}, m.ops())
			require.NotContains(t, db.log, "release_unchanged", "a call was made: the plan stays uncertain")
		} else {
			require.Empty(t, m.calls)
			require.Equal(t, []string{"release_unchanged"}, db.log)
		}
	}
}
