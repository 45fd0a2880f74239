package store

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"
	"gorm.io/gorm"

	"github.com/svahub/svahub/internal/svahub"
)

// enqueueHeld queues the pending plans of integration id (not in erro).
// Their version is bumped so the new jobs are not taken for duplicates of
// jobs that are still finishing after finding the integration paused.
func (db *DB) enqueueHeld(tx *gorm.DB, id int64) error {
	// The plans are locked in id order before their versions are bumped,
	// as every writer of several plans locks them (a plain UPDATE locks in
	// scan order and can deadlock with the group commit).
	var plans []int64
	err := tx.Model(&planStateRow{}).Clauses(lockForUpdate(db.dialect)...).
		Where("integration_id = ? AND version <> applied_version AND error_version <> version AND "+planHasAccess("platform_plans"), id).
		Order("id").Pluck("id", &plans).Error
	if err != nil || len(plans) == 0 {
		return err
	}
	for _, chunk := range chunks(plans, 500) {
		if err := tx.Model(&planStateRow{}).Where("id IN ?", chunk).Update("version", gorm.Expr("version + 1")).Error; err != nil {
			return err
		}
	}
	return db.enqueuePlans(tx, plans)
}

// enqueuePlans inserts one convergence job per plan at its current version,
// in the caller's transaction.
func (db *DB) enqueuePlans(tx *gorm.DB, planIDs []int64) error {
	if db.queue == nil || len(planIDs) == 0 {
		return nil
	}
	var jobs []svahub.PlanJob
	for _, chunk := range chunks(planIDs, 500) {
		var rows []planStateRow
		if err := tx.Select("id, version").Where("id IN ?", chunk).Find(&rows).Error; err != nil {
			return err
		}
		for _, r := range rows {
			jobs = append(jobs, svahub.PlanJob{PlanID: r.ID, Version: r.Version})
		}
	}
	return db.queue.EnqueueTx(tx.Statement.Context, SQLTx(tx), jobs)
}

// ConvergeArgs are a convergence job's arguments in River's queue (kind
// svahub.ConvergeJobKind): the platform plan and the version of its desired
// state to reach. The store inserts them in the transaction of the domain
// change; provision's worker runs them.
type ConvergeArgs struct {
	PlanID  int64 `json:"plan_id"`
	Version int64 `json:"version"`
}

// Kind implements river.JobArgs.
func (ConvergeArgs) Kind() string { return svahub.ConvergeJobKind }

// convergeUniqueStates leaves out completed, so a plan and version can be
// queued again after its job finished (e.g. when a paused integration
// resumes).
var convergeUniqueStates = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
	rivertype.JobStateRetryable, rivertype.JobStateScheduled,
}

// InsertOpts makes identical work (same plan and version) unique.
func (ConvergeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 25, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: convergeUniqueStates}}
}

// riverQueue is the store's default job queue: River's insert-only client
// on the store's own pool (the provisioning engine runs its own client,
// with the workers).
type riverQueue struct {
	client *river.Client[*sql.Tx]
}

// newRiverQueue builds the insert-only River client on driver d.
func newRiverQueue(d riverdriver.Driver[*sql.Tx], log *slog.Logger) (*riverQueue, error) {
	c, err := river.NewClient(d, &river.Config{Logger: log})
	if err != nil {
		return nil, err
	}
	return &riverQueue{client: c}, nil
}

// EnqueueTx implements svahub.JobQueue.
func (q *riverQueue) EnqueueTx(ctx context.Context, tx *sql.Tx, jobs []svahub.PlanJob) error {
	if len(jobs) == 0 {
		return nil
	}
	if tx == nil {
		return errors.New("store: EnqueueTx needs a *sql.Tx")
	}
	params := make([]river.InsertManyParams, len(jobs))
	for i, j := range jobs {
		params[i] = river.InsertManyParams{Args: ConvergeArgs{PlanID: j.PlanID, Version: j.Version}}
	}
	// The fast variant skips RETURNING: nothing here reads the inserted
	// rows, and a unique conflict (same plan and version already queued)
	// is skipped by ON CONFLICT DO NOTHING just the same.
	_, err := q.client.InsertManyFastTx(ctx, tx, params)
	return err
}

// convergeJobKind is the River kind of plan jobs (ConvergeArgs),
// whose args carry plan_id.
const convergeJobKind = svahub.ConvergeJobKind

// queuedJobStates are the River states of work waiting to run: the queue
// depth.
var queuedJobStates = []string{"available", "retryable", "scheduled"}

// JobCount is how many River jobs of one kind are in one state.
type JobCount struct {
	Kind  string
	State string
	Count int64
}

// JobCounts counts River jobs by kind and state.
func (db *DB) JobCounts(ctx context.Context) ([]JobCount, error) {
	var out []JobCount
	err := db.gorm.WithContext(ctx).Raw("SELECT kind, state, COUNT(*) AS count FROM river_job GROUP BY kind, state ORDER BY kind, state").Scan(&out).Error
	return out, err
}

// QueueDepths counts the River jobs waiting to run (available, retryable or
// scheduled): the plan jobs by integration, and all jobs in total.
func (db *DB) QueueDepths(ctx context.Context) (byIntegration map[int64]int64, total int64, err error) {
	g := db.gorm.WithContext(ctx)
	if err := g.Raw("SELECT COUNT(*) FROM river_job WHERE state IN ?", queuedJobStates).Scan(&total).Error; err != nil {
		return nil, 0, err
	}
	planID := db.riverPlanID("j.")
	var rows []struct {
		IntegrationID int64
		Count         int64
	}
	err = g.Raw(`SELECT p.integration_id AS integration_id, COUNT(*) AS count
		FROM river_job j JOIN platform_plans p ON p.id = `+planID+`
		WHERE j.kind = ? AND j.state IN ? GROUP BY p.integration_id`, convergeJobKind, queuedJobStates).Scan(&rows).Error
	if err != nil {
		return nil, 0, err
	}
	byIntegration = make(map[int64]int64, len(rows))
	for _, r := range rows {
		byIntegration[r.IntegrationID] = r.Count
	}
	return byIntegration, total, nil
}
