// Command svahub-bench measures svahub end to end on loopback and prints a
// Markdown report (results plus machine information).
//
// Scenarios:
//
//	api   PostgreSQL only. Builds and starts svahub as a subprocess on a fresh
//	      database, creates the catalogue through the API, bulk-seeds
//	      -api-services customer services (2 packages each) with SQL, then
//	      measures GET /api/v1/servicos/{id} (closed loop, -clients), the same
//	      read against a minimal pgx baseline server, GET at a fixed open-loop
//	      rate (-open-fraction of svahub's measured peak), and
//	      POST /api/v1/servicos/{id}/pacotes on distinct services.
//	debt  PostgreSQL or SQLite (-backend). Creates -services services through
//	      the API, each with one Qualifica package active on the in-process
//	      simulator, then sends POST /api/v1/servicos/status batches of
//	      suspenso_debito and measures the time until every plan is suspended
//	      on the simulator (ideal: services / -sim-rate seconds), the peak RSS
//	      of svahub, lost work and duplicate platform calls.
//	fleet PostgreSQL only. Sets up -services services like debt, then runs
//	      -fleet-workers `svahub worker` processes and one
//	      `svahub serve --workers=false`, each with
//	      SVAHUB_PLATFORM_RATE_LIMIT = -sim-rate, against the simulator
//	      allowing -sim-rate in all: a debt run (time / ideal, 429 share),
//	      then with -fleet-kill a re-enabling run during which one worker
//	      is SIGKILLed (time lost to it: that run's time minus the debt
//	      run's).
//
// Every load goes to 127.0.0.1; every loop is bounded in count and time.
// The tool exits non-zero only when it cannot run (never because of a
// performance number); -smoke runs tiny sizes for CI.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/svahub/svahub/internal/config"
)

// options are the command-line flags.
type options struct {
	scenario string
	pgDSN    string
	keep     bool
	bin      string
	fromHead bool
	smoke    bool
	seed     uint64

	// api
	apiServices   int
	clients       int
	duration      time.Duration
	warmup        time.Duration
	writeDuration time.Duration
	openFraction  float64
	apiWorkers    bool
	poolSize      int
	rounds        int

	// debt
	backend           string
	services          int
	analyze           bool
	simLatency        time.Duration
	simRate           float64
	platformRate      float64
	maxWorkers        int
	setupPlatformRate float64
	setupClients      int
	batchSize         int
	batchConcurrency  int
	setupTimeout      time.Duration
	debtTimeout       time.Duration
	retention         string
	expiredTx         int

	// fleet
	fleetWorkers      int
	fleetMaxWorkers   int
	fleetKill         bool
	fleetRestartAfter time.Duration

	// diagnostics
	probe    bool
	probeOps int
	pprofDir string
	pprofSec int
	timeout  time.Duration

	quietWait      time.Duration
	quietThreshold float64
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("svahub-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `svahub-bench — end-to-end benchmarks of svahub on loopback (Markdown report on stdout, progress on stderr)

Usage:
  go run ./cmd/svahub-bench [flags]
  svahub-bench serve-baseline -addr A -pg URL [-pool N]   (internal: the api scenario's baseline server process)

Examples:
  go run ./cmd/svahub-bench -scenario api
  go run ./cmd/svahub-bench -scenario debt -backend postgres -services 50000
  go run ./cmd/svahub-bench -scenario debt -backend sqlite -services 10000
  go run ./cmd/svahub-bench -scenario debt -backend postgres -services 50000 -expired-transmissions 2000000 [-retention 0]
  go run ./cmd/svahub-bench -scenario fleet -services 50000 -sim-rate 500 -fleet-workers 3 -fleet-kill
  go run ./cmd/svahub-bench -smoke

Flags:
`)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.scenario, "scenario", "all", "api, debt, fleet or all (api then debt)")
	fs.StringVar(&o.pgDSN, "pg", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL server (any database on it) where a fresh svahub_bench_<rand> database is created and dropped; must be on loopback")
	fs.BoolVar(&o.keep, "keep", false, "keep the benchmark databases (and the SQLite directory) instead of dropping them")
	fs.StringVar(&o.bin, "svahub-bin", "", "use this svahub binary instead of building ./cmd/svahub into a temporary directory")
	fs.BoolVar(&o.fromHead, "from-head", false, "build svahub from the HEAD commit (git archive into the temporary directory) instead of the working tree, so uncommitted changes are not measured")
	fs.BoolVar(&o.smoke, "smoke", false, "tiny sizes for CI (300 services, 3 s loads); overrides the size and duration flags")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the random service ids")

	fs.IntVar(&o.apiServices, "api-services", 100000, "api: customer services seeded (2 packages each)")
	fs.IntVar(&o.clients, "clients", 32, "api: concurrent clients of the closed-loop loads")
	fs.DurationVar(&o.duration, "duration", 20*time.Second, "api: length of each measured load")
	fs.DurationVar(&o.warmup, "warmup", 5*time.Second, "api: warm-up before each closed-loop read load (not measured)")
	fs.DurationVar(&o.writeDuration, "write-duration", 0, "api: length of the POST …/pacotes load (default -duration)")
	fs.Float64Var(&o.openFraction, "open-fraction", 0.5, "api: open-loop GET rate as a fraction of svahub's measured closed-loop throughput")
	fs.BoolVar(&o.apiWorkers, "api-workers", false, "api: run svahub's job workers during the api loads (default: API-only process, jobs are inserted but not worked)")
	fs.IntVar(&o.rounds, "rounds", 2, "api: the svahub and baseline GET loads alternate in this many pairs of slices (A B, B A, …), each -duration/rounds long, so drifting background load hits both")
	fs.IntVar(&o.poolSize, "baseline-pool", 20, "api: pgxpool size of the baseline server (svahub's store uses 20 connections)")

	fs.StringVar(&o.backend, "backend", "postgres", "debt: postgres or sqlite")
	fs.IntVar(&o.services, "services", 50000, "debt: customer services, each with one Qualifica package")
	fs.BoolVar(&o.analyze, "analyze", true, "debt on PostgreSQL: run ANALYZE after setup, as autovacuum would have on a long-lived database (the report shows the server's autovacuum setting); -analyze=false measures a database whose tables were never analyzed")
	fs.DurationVar(&o.simLatency, "sim-latency", 20*time.Millisecond, "simulator latency added to every Qualifica call")
	fs.Float64Var(&o.simRate, "sim-rate", 500, "debt: simulator rate limit during the debt run, requests/s")
	fs.Float64Var(&o.platformRate, "platform-rate", 500, "debt: SVAHUB_PLATFORM_RATE_LIMIT of the svahub serving the debt run")
	fs.IntVar(&o.maxWorkers, "max-workers", 100, "SVAHUB_MAX_WORKERS (River takes at most max-workers jobs per 100 ms fetch, and a 20 ms call holds a slot: 500 req/s needs well over 50)")
	fs.Float64Var(&o.setupPlatformRate, "setup-platform-rate", 2000, "debt: SVAHUB_PLATFORM_RATE_LIMIT during setup (the simulator limit is lifted then); the debt run restarts svahub with -platform-rate")
	fs.IntVar(&o.setupClients, "setup-clients", 8, "debt: concurrent PUT /servicos during setup")
	fs.IntVar(&o.batchSize, "batch-size", 1000, "debt: items per POST /servicos/status (svahub accepts at most 1000)")
	fs.IntVar(&o.batchConcurrency, "batch-concurrency", 1, "debt: status batches in flight at once")
	fs.DurationVar(&o.setupTimeout, "setup-timeout", 40*time.Minute, "debt: bound on setup (creating services and waiting for them to be active on the simulator)")
	fs.DurationVar(&o.debtTimeout, "debt-timeout", 0, "debt: bound on the debt run (default max(5 × ideal, 2m))")
	fs.StringVar(&o.retention, "retention", "", "debt: SVAHUB_TRANSMISSION_RETENTION of the svahub processes (e.g. 0 to keep every transmission, 90d); empty: svahub's default (90d)")
	fs.IntVar(&o.expiredTx, "expired-transmissions", 0, "debt: transmission rows 91 to 150 days old inserted (bulk SQL) before the debt run, so the retention sweep purges them during it (compare with -retention 0)")

	fs.IntVar(&o.fleetWorkers, "fleet-workers", 3, "fleet: `svahub worker` processes (plus one API-only process)")
	fs.IntVar(&o.fleetMaxWorkers, "fleet-max-workers", 0, "fleet: SVAHUB_MAX_WORKERS of each worker process (default: -max-workers)")
	fs.BoolVar(&o.fleetKill, "fleet-kill", false, "fleet: after the debt run, re-enable every service and SIGKILL one worker halfway through (ideal / 2)")
	fs.DurationVar(&o.fleetRestartAfter, "fleet-restart-after", 5*time.Second, "fleet: restart the SIGKILLed worker after this long, as Kubernetes would (0: never)")
	fs.BoolVar(&o.probe, "probe", true, "count SQL statements per operation through a counting PostgreSQL proxy (a second, short-lived svahub process; PostgreSQL only)")
	fs.IntVar(&o.probeOps, "probe-ops", 200, "requests per operation in the SQL probe")
	fs.StringVar(&o.pprofDir, "pprof-dir", "", "when set, start svahub with SVAHUB_PPROF_ADDR on loopback and save CPU profiles of the measured loads here")
	fs.IntVar(&o.pprofSec, "pprof-seconds", 15, "length of each CPU profile (bounded by the load's length)")
	fs.DurationVar(&o.timeout, "timeout", 3*time.Hour, "bound on the whole run")
	fs.DurationVar(&o.quietWait, "quiet-wait", 0, "before each measured load, wait up to this long for the machine to be quiet (see -quiet-threshold); 0: do not wait. The report counts loads started on a busy machine")
	fs.Float64Var(&o.quietThreshold, "quiet-threshold", 0.15, "machine busy share (0..1, all CPUs) under which it counts as quiet for -quiet-wait")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if o.smoke {
		o.apiServices, o.services = 300, 300
		o.duration, o.warmup, o.writeDuration = 3*time.Second, time.Second, 3*time.Second
		o.probeOps = 20
		o.setupTimeout = 5 * time.Minute
		if o.expiredTx == 0 {
			o.expiredTx = 20_000
		}
		if o.pprofSec > 2 {
			o.pprofSec = 2
		}
	}
	if o.writeDuration <= 0 {
		o.writeDuration = o.duration
	}
	if o.retention != "" {
		var p config.Period
		if err := p.UnmarshalText([]byte(o.retention)); err != nil {
			return nil, fmt.Errorf("-retention: %w", err)
		}
	}
	switch {
	case o.scenario != "api" && o.scenario != "debt" && o.scenario != "fleet" && o.scenario != "all":
		return nil, fmt.Errorf("-scenario must be api, debt, fleet or all, got %q", o.scenario)
	case o.scenario == "fleet" && (o.simRate <= 0 || o.fleetWorkers < 1 || o.fleetWorkers > 32 || o.fleetMaxWorkers < 0 || o.fleetMaxWorkers > 10000 || o.fleetRestartAfter < 0):
		return nil, errors.New("fleet: -sim-rate must be > 0 (the global platform limit), -fleet-workers from 1 to 32, -fleet-max-workers from 0 to 10000 and -fleet-restart-after >= 0")
	case o.backend != "postgres" && o.backend != "sqlite":
		return nil, fmt.Errorf("-backend must be postgres or sqlite, got %q", o.backend)
	case o.apiServices < 1 || o.services < 1 || o.apiServices > 10_000_000 || o.services > 10_000_000:
		return nil, errors.New("-api-services and -services must be from 1 to 10,000,000")
	case o.clients < 1 || o.clients > 4096:
		return nil, errors.New("-clients must be from 1 to 4096")
	case o.duration <= 0 || o.duration > time.Hour || o.writeDuration > time.Hour:
		return nil, errors.New("-duration must be positive and at most 1h")
	case o.warmup < 0 || o.warmup > time.Hour:
		return nil, errors.New("-warmup must be from 0 to 1h")
	case o.openFraction <= 0 || o.openFraction > 2:
		return nil, errors.New("-open-fraction must be in (0, 2]")
	case o.simRate < 0 || o.platformRate <= 0 || o.setupPlatformRate <= 0:
		return nil, errors.New("-sim-rate must be >= 0; -platform-rate and -setup-platform-rate must be > 0")
	case o.maxWorkers < 1 || o.maxWorkers > 10000:
		return nil, errors.New("-max-workers must be from 1 to 10000")
	case o.batchSize < 1 || o.batchSize > 1000:
		return nil, errors.New("-batch-size must be from 1 to 1000")
	case o.batchConcurrency < 1 || o.batchConcurrency > 64 || o.setupClients < 1 || o.setupClients > 256:
		return nil, errors.New("-batch-concurrency must be from 1 to 64 and -setup-clients from 1 to 256")
	case o.poolSize < 1 || o.poolSize > 200:
		return nil, errors.New("-baseline-pool must be from 1 to 200")
	case o.probeOps < 1 || o.probeOps > 100000:
		return nil, errors.New("-probe-ops must be from 1 to 100000")
	case o.rounds < 1 || o.rounds > 100:
		return nil, errors.New("-rounds must be from 1 to 100")
	case o.expiredTx < 0 || o.expiredTx > 100_000_000:
		return nil, errors.New("-expired-transmissions must be from 0 to 100,000,000")
	case o.quietWait < 0 || o.quietWait > time.Hour || o.quietThreshold <= 0 || o.quietThreshold > 1:
		return nil, errors.New("-quiet-wait must be from 0 to 1h and -quiet-threshold in (0, 1]")
	}
	return o, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "svahub-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "serve-baseline" { // internal: the api scenario's baseline server
		return serveBaseline(args[1:])
	}
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	needPG := o.scenario != "debt" || o.backend == "postgres" // fleet: PostgreSQL only
	if needPG {
		if err := checkLoopbackDSN(o.pgDSN); err != nil {
			return err
		}
	}
	if o.pprofDir != "" {
		if err := os.MkdirAll(o.pprofDir, 0o755); err != nil {
			return err
		}
	}
	work, err := os.MkdirTemp("", "svahub-bench-")
	if err != nil {
		return err
	}
	defer func() {
		if o.keep {
			log.Info("kept work directory", "dir", work)
			return
		}
		_ = os.RemoveAll(work)
	}()

	bin := o.bin
	if bin == "" {
		log.Info("building svahub", "from_head", o.fromHead)
		if bin, err = buildSvahub(ctx, work, o.fromHead); err != nil {
			return err
		}
	}
	env := &benchEnv{o: o, log: log, bin: bin, work: work}

	rep := &report{started: time.Now(), opts: o}
	rep.machine = machineInfo(ctx, o.pgDSN, needPG)

	if o.scenario == "api" || o.scenario == "all" {
		res, err := runAPI(ctx, env)
		if err != nil {
			return fmt.Errorf("api scenario: %w", err)
		}
		rep.api = res
	}
	if o.scenario == "debt" || o.scenario == "all" {
		res, err := runDebt(ctx, env)
		if err != nil {
			return fmt.Errorf("debt scenario: %w", err)
		}
		rep.debt = res
	}
	if o.scenario == "fleet" {
		res, err := runFleet(ctx, env)
		if err != nil {
			return fmt.Errorf("fleet scenario: %w", err)
		}
		rep.fleet = res
	}
	rep.finished = time.Now()
	rep.write(stdout)
	return nil
}

// benchEnv is what every scenario shares.
type benchEnv struct {
	o    *options
	log  *slog.Logger
	bin  string
	work string
}

func checkLoopbackDSN(dsn string) error {
	host := dsnHost(dsn)
	switch {
	case host == "127.0.0.1", host == "localhost", host == "::1", strings.HasPrefix(host, "/"):
		return nil
	}
	return fmt.Errorf("-pg must point at a loopback server (127.0.0.1, ::1, localhost or a Unix socket), got host %q", host)
}
