package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"syscall"
	"time"

	"github.com/svahub/svahub/pkg/qualifica/qualificasim"
)

// fleetResult is the outcome of the fleet scenario: -fleet-workers
// `svahub worker` processes and one `svahub serve --workers=false` on one
// PostgreSQL database, every process given SVAHUB_PLATFORM_RATE_LIMIT =
// -sim-rate, the simulator allowing -sim-rate in all.
type fleetResult struct {
	services   int
	workers    int
	maxWorkers int // SVAHUB_MAX_WORKERS of each worker process
	rate       float64
	ideal      time.Duration
	setup      time.Duration

	debt fleetRun  // suspenso_debito, no process killed
	kill *fleetRun // servico_habilitado with one worker SIGKILLed (-fleet-kill)

	killAt       time.Duration // after the kill run's start
	restartAfter time.Duration // the killed worker's restart delay (0: not restarted)
}

// fleetRun is one run of status changes across the fleet.
type fleetRun struct {
	status    string
	elapsed   time.Duration
	completed bool
	calls     map[string]int
}

func (r fleetRun) requests() int {
	n := 0
	for _, op := range []string{qualificasim.OpToken, qualificasim.OpProducts, qualificasim.OpCreateUser, qualificasim.OpQuery,
		qualificasim.OpPutPlan, qualificasim.OpSuspend, qualificasim.OpReactivate, qualificasim.OpCancel} {
		n += r.calls[op]
	}
	return n
}

func (r fleetRun) share429() float64 {
	return float64(r.calls[qualificasim.Call429]) / float64(max(1, r.requests()))
}

// fleet is the running processes.
type fleet struct {
	e   *benchEnv
	key string
	cfg svahubConfig
	api *svahubProc

	mu      sync.Mutex
	workers []*svahubProc
}

func (f *fleet) stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, w := range f.workers {
		if w != nil {
			w.stop()
		}
	}
	if f.api != nil {
		f.api.stop()
	}
}

func (f *fleet) startWorker(ctx context.Context, i int) error {
	c := f.cfg
	c.name, c.args, c.workers = fmt.Sprintf("fleet-worker-%d", i+1), []string{"worker"}, true
	p, err := f.e.startSvahub(ctx, c, f.key)
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.workers[i] = p
	f.mu.Unlock()
	return nil
}

func runFleet(ctx context.Context, e *benchEnv) (*fleetResult, error) {
	o := e.o
	log := e.log.With("scenario", "fleet")
	perWorker := o.fleetMaxWorkers
	if perWorker <= 0 {
		perWorker = o.maxWorkers // every pod configured alike, as the debt run's process
	}
	res := &fleetResult{services: o.services, workers: o.fleetWorkers, maxWorkers: perWorker, rate: o.simRate, restartAfter: o.fleetRestartAfter,
		ideal: time.Duration(float64(o.services) / o.simRate * float64(time.Second))}
	db, err := createDB(ctx, o.pgDSN)
	if err != nil {
		return nil, err
	}
	defer func() {
		if !o.keep {
			_ = db.drop(context.WithoutCancel(ctx))
		}
	}()
	sim, err := startSim(o.simLatency, 0) // no limit during setup
	if err != nil {
		return nil, err
	}
	defer sim.close()
	t0 := time.Now()
	key, err := fleetSetup(ctx, e, log, db, sim)
	if err != nil {
		return nil, err
	}
	res.setup = time.Since(t0)

	sim.SetRateLimit(o.simRate)
	f := &fleet{e: e, key: key, workers: make([]*svahubProc, o.fleetWorkers),
		cfg: svahubConfig{name: "fleet-api", databaseURL: db.url, qualificaURL: sim.url, maxWorkers: perWorker, platformRate: o.simRate, retention: o.retention}}
	defer f.stop()
	if f.api, err = e.startSvahub(ctx, f.cfg, key); err != nil {
		return nil, err
	}
	for i := range f.workers {
		if err := f.startWorker(ctx, i); err != nil {
			return nil, err
		}
	}
	log.Info("fleet ready", "workers", o.fleetWorkers, "rate", o.simRate, "ideal", res.ideal)
	if res.debt, err = f.run(ctx, log, sim, "suspenso_debito", "suspenso", -1); err != nil {
		return nil, err
	}
	if o.fleetKill {
		res.killAt = res.ideal / 2
		run, err := f.run(ctx, log, sim, "servico_habilitado", "ativo", res.killAt)
		if err != nil {
			return nil, err
		}
		res.kill = &run
	}
	return res, nil
}

// fleetSetup creates the services through one svahub (API and workers, the
// simulator's limit lifted) and waits until every plan is active, then
// stops it and analyzes the tables. It returns the API key.
func fleetSetup(ctx context.Context, e *benchEnv, log *slog.Logger, db *benchDB, sim *simServer) (string, error) {
	o := e.o
	cfg := svahubConfig{name: "fleet-setup", databaseURL: db.url, qualificaURL: sim.url, workers: true,
		maxWorkers: o.maxWorkers, platformRate: o.setupPlatformRate, retention: o.retention}
	key, err := e.createAPIKey(ctx, cfg)
	if err != nil {
		return "", err
	}
	p, err := e.startSvahub(ctx, cfg, key)
	if err != nil {
		return "", err
	}
	defer p.stop()
	const planID = 500
	if _, err := p.createCatalogue(ctx, []string{"pro"}, planID, 1); err != nil {
		return "", fmt.Errorf("catalogue: %w", err)
	}
	sctx, cancel := context.WithTimeout(ctx, o.setupTimeout)
	defer cancel()
	log.Info("creating services through the API", "n", o.services)
	if err := putServices(sctx, log, p, o.services, planID, o.setupClients); err != nil {
		return "", fmt.Errorf("setup: %w", err)
	}
	if err := waitActive(sctx, log, p, sim, o.services); err != nil {
		return "", fmt.Errorf("setup: %w", err)
	}
	p.stop()
	if o.analyze {
		if err := analyzeDB(ctx, db.url); err != nil {
			return "", fmt.Errorf("analyze: %w", err)
		}
	}
	return key, nil
}

// run sends every service to status through the API process and waits
// until every plan has planStatus on the simulator. With killAt >= 0 the
// first worker is SIGKILLed that long after the start (and restarted after
// -fleet-restart-after, unless 0).
func (f *fleet) run(ctx context.Context, log *slog.Logger, sim *simServer, status, planStatus string, killAt time.Duration) (fleetRun, error) {
	o := f.e.o
	r := fleetRun{status: status}
	timeout := o.debtTimeout
	if timeout <= 0 {
		timeout = max(5*time.Duration(float64(o.services)/o.simRate*float64(time.Second)), 2*time.Minute)
	}
	before := sim.Calls()
	start := time.Now()
	batchErr := make(chan error, 1)
	go func() {
		_, _, err := sendBatches(ctx, f.api, o.services, o.batchSize, o.batchConcurrency, status)
		batchErr <- err
	}()
	var kill <-chan time.Time
	if killAt >= 0 {
		kill = time.After(killAt)
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for time.Since(start) < timeout {
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case err := <-batchErr:
			if err != nil {
				return r, fmt.Errorf("status batches: %w", err)
			}
			continue
		case <-kill:
			if err := f.killWorker(ctx, log); err != nil {
				return r, err
			}
			continue
		case <-tick.C:
		}
		if countPlans(sim, "pro", planStatus) >= o.services {
			r.completed, r.elapsed = true, time.Since(start)
			break
		}
	}
	time.Sleep(2 * time.Second) // late calls land in the counters
	r.calls = callsDelta(sim.Calls(), before)
	log.Info("fleet run finished", "status", status, "completed", r.completed, "elapsed", r.elapsed.Round(time.Millisecond),
		"requests", r.requests(), "429", r.calls[qualificasim.Call429])
	return r, nil
}

// killWorker SIGKILLs the first worker and restarts it after
// -fleet-restart-after (in the background; 0: never).
func (f *fleet) killWorker(ctx context.Context, log *slog.Logger) error {
	f.mu.Lock()
	w := f.workers[0]
	f.mu.Unlock()
	_ = w.cmd.Process.Signal(syscall.SIGKILL)
	<-w.done
	log.Info("worker SIGKILLed", "pid", w.pid())
	if d := f.e.o.fleetRestartAfter; d > 0 {
		go func() {
			time.Sleep(d)
			if err := f.startWorker(ctx, 0); err != nil {
				log.Warn("restart worker", "err", err)
				return
			}
			log.Info("worker restarted")
		}()
	}
	return nil
}

// writeFleet writes the fleet section of the report.
func (r *report) writeFleet(w io.Writer, f *fleetResult) {
	fmt.Fprintf(w, "## fleet — postgres, %s services, %d workers + 1 API process, global limit %g req/s\n\n", thousands(int64(f.services)), f.workers, f.rate)
	fmt.Fprintf(w, "Setup (one svahub, simulator unlimited) took %s. Then %d `svahub worker` processes and one `svahub serve --workers=false`, each with `SVAHUB_PLATFORM_RATE_LIMIT=%g` and `SVAHUB_MAX_WORKERS=%d`; the simulator allows %g req/s in all (%s latency).\n\n",
		secs(f.setup), f.workers, f.rate, f.maxWorkers, f.rate, r.opts.simLatency)
	fmt.Fprintf(w, "| measure | value | target | |\n|---|---:|---|---|\n")
	fmt.Fprintf(w, "| ideal (services / %g req/s) | %s | | |\n", f.rate, secs(f.ideal))
	writeFleetRun(w, "debt run", f.debt, f.ideal)
	if f.kill != nil {
		restart := "not restarted"
		if f.restartAfter > 0 {
			restart = "restarted " + f.restartAfter.String() + " later"
		}
		writeFleetRun(w, fmt.Sprintf("re-enabling run, one worker SIGKILLed at %s (%s)", secs(f.killAt), restart), *f.kill, f.ideal)
		if f.kill.completed && f.debt.completed {
			lost := f.kill.elapsed - f.debt.elapsed
			fmt.Fprintf(w, "| time lost to the SIGKILL (re-enabling run − debt run) | %s | ≤ 30 s | %s |\n", secs(lost), verdict(lost <= 30*time.Second))
		}
	}
	fmt.Fprintln(w)
}

func writeFleetRun(w io.Writer, name string, run fleetRun, ideal time.Duration) {
	elapsed, ratio := "not completed", 0.0
	if run.completed {
		elapsed, ratio = secs(run.elapsed), run.elapsed.Seconds()/ideal.Seconds()
	}
	share := run.share429()
	fmt.Fprintf(w, "| %s: first batch → every plan on the simulator | %s | | |\n", name, elapsed)
	fmt.Fprintf(w, "| %s: time / ideal | %.3f× | ≤ 1.10× | %s |\n", name, ratio, verdict(run.completed && ratio <= 1.10))
	fmt.Fprintf(w, "| %s: platform requests, answered 429 | %s, %s (%.2f %%) | ≤ 1 %% | %s |\n", name,
		thousands(int64(run.requests())), thousands(int64(run.calls[qualificasim.Call429])), 100*share, verdict(share <= 0.01))
}
