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
	"sync/atomic"
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
	// JobTimeout bounds one convergence job (default 60 s). River's own
	// rescuer makes jobs left running available again after 2× (a fallback:
	// the heartbeat below is faster).
	JobTimeout time.Duration
	// LeaseTTL is how long a plan or account lease lasts without renewal
	// (default 15 s). The process renews its leases and writes its
	// heartbeat every third of it; a process silent for a whole TTL is
	// dead: its leases have expired and the live processes make its jobs
	// available again, so its work resumes within about 1⅓ TTL. Work
	// under a lease stops calling the platform a fifth of the TTL before
	// the lease could end.
	LeaseTTL time.Duration
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
	db      Store
	m       Platforms
	client  *river.Client[*sql.Tx]
	opts    Options
	log     *slog.Logger
	workers bool
	leases  *keeper
	// stopping is set when a graceful stop begins: a job whose context
	// ends then is handed back (JobSnooze(0)), not counted as failed.
	stopping atomic.Bool
	// claims takes the converge workers' plan leases, and commits records
	// their completions, each in groups.
	claims  *group[int64, store.Claim]
	commits *group[store.Completion, struct{}]
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
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 15 * time.Second
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
	e := &Engine{db: db, m: m, opts: o, log: o.Logger, workers: workers, commits: newCommitter(db.CompletePlans)}
	e.claims = newClaimer(db.ClaimPlans, o.LeaseTTL, e.abandonClaim)
	e.leases = newKeeper(e, o.LeaseTTL)
	cfg := &river.Config{
		ID:                   db.ProcessID(),
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

// Start starts the workers and, with them, the lease keeper (renewals,
// heartbeat, rescue of dead processes' jobs).
func (e *Engine) Start(ctx context.Context) error {
	if e.workers {
		e.leases.start()
	}
	return e.client.Start(ctx)
}

// Stop drains the workers by ctx's deadline: it stops fetching jobs at
// once, lets running jobs finish until shortly before the deadline, then
// cancels the rest (they release their leases and hand their jobs back,
// JobSnooze(0)), and finally releases whatever lease the process still
// holds and backdates its heartbeat, so the other processes take over at
// once instead of waiting for a lease to expire.
func (e *Engine) Stop(ctx context.Context) error {
	e.stopping.Store(true)
	end, bounded := ctx.Deadline()
	hard, cancelHard := context.WithDeadline(ctx, stopPoint(end, bounded, 10, 300*time.Millisecond))
	defer cancelHard()
	soft, cancelSoft := context.WithDeadline(hard, stopPoint(end, bounded, 4, 2*time.Second))
	err := e.client.Stop(soft)
	cancelSoft()
	if err != nil && errors.Is(err, context.DeadlineExceeded) {
		err = e.client.StopAndCancel(hard)
	}
	if e.workers {
		e.leases.close()
		if err != nil { // a job did not return: its leases expire on their own
			return err
		}
		rctx, rcancel := context.WithDeadline(context.WithoutCancel(ctx), stopPoint(end, bounded, 0, 0).Add(100*time.Millisecond))
		defer rcancel()
		if rerr := e.db.Retire(rctx); rerr != nil {
			e.log.Warn("release of leases on stop", "err", rerr)
		}
	}
	return err
}

// stopPoint is a moment of a drain that ends at end: end less a div-th of
// the time left (at most most). Running jobs are awaited until 1/4
// before the end (at most 2 s), then cancelled; the cancelled ones record
// their state and hand their jobs back until 1/10 before the end (at most
// 300 ms); Retire and the process's exit use the rest. Without a
// deadline (bounded false) there is no end.
func stopPoint(end time.Time, bounded bool, div int, most time.Duration) time.Time {
	if !bounded {
		return time.Now().Add(24 * time.Hour)
	}
	if div <= 0 {
		return end
	}
	left := max(time.Until(end), 0)
	return end.Add(-min(left/time.Duration(div), most))
}
