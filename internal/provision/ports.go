package provision

import (
	"context"
	"database/sql"
	"time"

	"github.com/riverqueue/river/riverdriver"

	"github.com/svahub/svahub/internal/platform"
	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/svahub"
)

// Platforms is what the engine needs of the platform manager
// (*platform.Manager): calls that are recorded as transmissions, and what
// an integration's platform can do.
type Platforms interface {
	// Call makes one platform call for an integration with a valid token.
	Call(ctx context.Context, integrationID int64, op svahub.Operation, ref platform.Ref,
		fn func(ctx context.Context, p svahub.Platform, token string) error) error
	// Capabilities says what the integration's platform can do.
	Capabilities(ctx context.Context, integrationID int64) (svahub.Capabilities, error)
}

// Store is what the engine needs of the store (*store.DB): the plan and
// account leases of a convergence, the records of its outcome, the
// periodic jobs' queries and River's driver.
type Store interface {
	// RiverDriver is the driver the engine's River client (the workers)
	// runs on; the store inserts the jobs itself.
	RiverDriver() riverdriver.Driver[*sql.Tx]
	// Today is the current day in the business time zone.
	Today() svahub.Date

	// ProcessID names this process in leases, heartbeats and River.
	ProcessID() string
	RenewLeases(ctx context.Context, ttl time.Duration, plans, accounts []int64) (keptPlans, keptAccounts []int64, err error)
	Heartbeat(ctx context.Context) error
	RescueDeadWorkers(ctx context.Context, staleAfter time.Duration) (int64, error)
	Retire(ctx context.Context) error

	ClaimPlans(ctx context.Context, ids []int64, lease time.Duration) ([]store.Claim, error)
	ReleasePlan(ctx context.Context, planID int64) error
	ReleaseUnchanged(ctx context.Context, planID int64) error
	RecordTransmission(ctx context.Context, t *svahub.Transmission) error
	MarkUncertain(ctx context.Context, planID int64) error
	CompletePlans(ctx context.Context, cs []store.Completion) error
	FailPlan(ctx context.Context, planID, version int64, state svahub.AccessState, message string) error
	NotePlatformState(ctx context.Context, planID int64, state svahub.AccessState, expiry svahub.Date) error
	ForgetPlatformUser(ctx context.Context, planID int64) error

	ClaimAccount(ctx context.Context, accountID int64, lease time.Duration) (ok bool, userID string, err error)
	ReleaseAccount(ctx context.Context, accountID int64) error
	AccountUser(ctx context.Context, accountID int64) (svahub.PlatformUser, error)
	SetPlatformUser(ctx context.Context, accountID int64, userID string) error

	ExpireSubscriptions(ctx context.Context) (int, error)
	EnqueuePending(ctx context.Context, limit int) (int, error)
	PurgeIdempotency(ctx context.Context) (int64, error)
	PurgeTransmissions(ctx context.Context, retention time.Duration, o store.PurgeOptions) (store.PurgeStats, error)
	ReconcileCandidates(ctx context.Context, limit int) ([]store.ReconcileCandidate, error)
	MarkDrift(ctx context.Context, planID, version int64, observed svahub.AccessState, expiry svahub.Date, drift bool) (bool, error)
}

var (
	_ Store     = (*store.DB)(nil)
	_ Platforms = (*platform.Manager)(nil)
)
