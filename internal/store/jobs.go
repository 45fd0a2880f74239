package store

import (
	"context"

	"gorm.io/gorm"

	"github.com/svahub/svahub/internal/svahub"
)

// enqueueHeld queues the pending plans of integration id (not in erro).
// Their version is bumped so the new jobs are not taken for duplicates of
// jobs that are still finishing after finding the integration paused.
func (db *DB) enqueueHeld(tx *gorm.DB, id int64) error {
	var plans []int64
	err := tx.Model(&planStateRow{}).Where("integration_id = ? AND version <> applied_version AND error_version <> version AND "+planHasAccess("platform_plans"), id).
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

// SetJobQueue sets where provisioning work is inserted. Without one, desired
// states are still stored and the reconciler picks them up later.
func (db *DB) SetJobQueue(q svahub.JobQueue) { db.queue = q }

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

// convergeJobKind is the River kind of plan jobs (provision.ConvergeArgs),
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
