// Package provision is the provisioning engine: River jobs that converge
// each platform plan to its desired state through the platform interface,
// and the periodic jobs that expire subscriptions, sweep held work and
// reconcile svahub's view with the platform.
//
// Jobs are inserted by the store inside the transaction of the domain
// change (its own insert-only River client). A worker holds no transaction while it calls the
// platform; a per-plan lease keeps two workers off the same plan, and a
// version number keeps stale work from hiding newer desired states.
package provision

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/svahub/svahub/internal/store"
)

// ConvergeArgs asks a worker to converge one platform plan. The store
// inserts these jobs (store.ConvergeArgs holds their kind and uniqueness).
type ConvergeArgs = store.ConvergeArgs

// uniqueStates leaves out completed, so a periodic job can be queued again
// after it finished.
var uniqueStates = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
	rivertype.JobStateRetryable, rivertype.JobStateScheduled,
}

// ExpireArgs marks subscriptions past their expiry date.
type ExpireArgs struct{}

// Kind implements river.JobArgs.
func (ExpireArgs) Kind() string { return "expire_subscriptions" }

// SweepArgs re-queues pending plans whose work was held (paused
// integration) or whose job was discarded, and deletes idempotency keys
// and transmissions past their retention.
type SweepArgs struct{}

// Kind implements river.JobArgs.
func (SweepArgs) Kind() string { return "sweep_pending" }

// InsertOpts keeps one sweep at a time: a long purge never overlaps the
// next period's sweep.
func (SweepArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: uniqueStates}}
}

// ReconcileArgs compares synchronised plans with the platform.
type ReconcileArgs struct {
	Limit int `json:"limit"`
}

// Kind implements river.JobArgs.
func (ReconcileArgs) Kind() string { return "reconcile" }

// Options configure the Engine.
type Options struct {
	Logger *slog.Logger
	// MaxWorkers bounds concurrent jobs in this process.
	MaxWorkers int
	// FetchPollInterval is how often idle workers look for jobs (default 1s).
	FetchPollInterval time.Duration
	// ReconcileEvery, ExpireEvery and SweepEvery schedule the periodic jobs.
	ReconcileEvery, ExpireEvery, SweepEvery time.Duration
	// ReconcileBatch is how many plans one reconcile run checks.
	ReconcileBatch int
	// JobTimeout bounds one convergence job (default 60 s). A worker's lease
	// on a plan lasts 1.5× as long, and River rescues jobs left running by a
	// crashed process after 2×, so a killed worker's plans are picked up
	// again within minutes, never twice at once.
	JobTimeout time.Duration
	// RetryBase and RetryMax shape the retry backoff of temporary
	// failures: RetryBase × 2^(attempt-1), at most RetryMax, with jitter
	// (defaults 1s and 10m).
	RetryBase, RetryMax time.Duration
	// Observer is told of repaired drift and job outcomes (metrics).
	Observer Observer
	// TransmissionRetention is how long transmissions are kept: each sweep
	// deletes older ones. 0 keeps them all.
	TransmissionRetention time.Duration
	// Purge bounds the transmissions one sweep deletes (defaults: the
	// store's batches and at most 100,000 rows per sweep, DELETEs at least
	// 50 ms apart).
	Purge store.PurgeOptions
}

// Observer receives engine events (for metrics).
type Observer interface {
	DriftRepaired(n int)
	// TransmissionsPurged counts transmissions deleted past their retention.
	TransmissionsPurged(n int64)
}

// Engine owns the River client.
type Engine struct {
	db     Store
	m      Platforms
	client *river.Client[*sql.Tx]
	opts   Options
	log    *slog.Logger
}

// New builds the engine. With workers false the client only inserts jobs
// (an API-only process).
func New(db Store, m Platforms, workers bool, o Options) (*Engine, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxWorkers <= 0 {
		o.MaxWorkers = 50
	}
	if o.ReconcileEvery <= 0 {
		o.ReconcileEvery = 15 * time.Minute
	}
	if o.ExpireEvery <= 0 {
		o.ExpireEvery = time.Hour
	}
	if o.SweepEvery <= 0 {
		o.SweepEvery = time.Minute
	}
	if o.ReconcileBatch <= 0 {
		o.ReconcileBatch = 500
	}
	if o.JobTimeout <= 0 {
		o.JobTimeout = time.Minute
	}
	if o.RetryBase <= 0 {
		o.RetryBase = time.Second
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 10 * time.Minute
	}
	if o.Purge.Pause <= 0 {
		o.Purge.Pause = 50 * time.Millisecond
	}
	e := &Engine{db: db, m: m, opts: o, log: o.Logger}
	cfg := &river.Config{
		Logger:               riverLogger(o.Logger),
		FetchPollInterval:    o.FetchPollInterval,
		JobTimeout:           o.JobTimeout,
		RescueStuckJobsAfter: 2 * o.JobTimeout,
		MaxAttempts:          25,
		RetryPolicy:          backoff{base: o.RetryBase, max: o.RetryMax},
	}
	if o.FetchPollInterval > 0 && o.FetchPollInterval < river.FetchCooldownDefault {
		cfg.FetchCooldown = o.FetchPollInterval
	}
	if workers {
		ws := river.NewWorkers()
		river.AddWorker(ws, &convergeWorker{e: e})
		river.AddWorker(ws, &expireWorker{e: e})
		river.AddWorker(ws, &sweepWorker{e: e})
		river.AddWorker(ws, &reconcileWorker{e: e})
		cfg.Workers = ws
		cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: o.MaxWorkers}}
		cfg.PeriodicJobs = []*river.PeriodicJob{
			river.NewPeriodicJob(river.PeriodicInterval(o.ExpireEvery), func() (river.JobArgs, *river.InsertOpts) {
				return ExpireArgs{}, nil
			}, &river.PeriodicJobOpts{RunOnStart: true, ID: "expire"}),
			river.NewPeriodicJob(river.PeriodicInterval(o.SweepEvery), func() (river.JobArgs, *river.InsertOpts) {
				return SweepArgs{}, nil
			}, &river.PeriodicJobOpts{RunOnStart: true, ID: "sweep"}),
			river.NewPeriodicJob(river.PeriodicInterval(o.ReconcileEvery), func() (river.JobArgs, *river.InsertOpts) {
				return ReconcileArgs{Limit: o.ReconcileBatch}, nil
			}, &river.PeriodicJobOpts{ID: "reconcile"}),
		}
	}
	c, err := river.NewClient(db.RiverDriver(), cfg)
	if err != nil {
		return nil, err
	}
	e.client = c
	return e, nil
}

// backoff is a capped exponential retry policy with ±20% jitter.
type backoff struct{ base, max time.Duration }

// NextRetry implements river.ClientRetryPolicy.
func (b backoff) NextRetry(job *rivertype.JobRow) time.Time {
	d := b.base
	for i := 1; i < len(job.Errors)+1 && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	jitter := time.Duration(rand.Int64N(int64(d)/5+1)) - d/10
	return time.Now().Add(d + jitter)
}

// riverLogger keeps River's own chatter at warn and above.
func riverLogger(l *slog.Logger) *slog.Logger {
	return slog.New(levelFilter{h: l.Handler(), min: slog.LevelWarn})
}

type levelFilter struct {
	h   slog.Handler
	min slog.Level
}

func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.h.Enabled(ctx, l)
}
func (f levelFilter) Handle(ctx context.Context, r slog.Record) error { return f.h.Handle(ctx, r) }
func (f levelFilter) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFilter{h: f.h.WithAttrs(a), min: f.min}
}
func (f levelFilter) WithGroup(n string) slog.Handler {
	return levelFilter{h: f.h.WithGroup(n), min: f.min}
}

// Client exposes the River client (tests, metrics).
func (e *Engine) Client() *river.Client[*sql.Tx] { return e.client }

// Start starts the workers.
func (e *Engine) Start(ctx context.Context) error { return e.client.Start(ctx) }

// Stop lets running jobs finish until ctx ends, then cancels them.
func (e *Engine) Stop(ctx context.Context) error {
	err := e.client.Stop(ctx)
	if err != nil && errors.Is(err, context.DeadlineExceeded) {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return e.client.StopAndCancel(cctx)
	}
	return err
}
