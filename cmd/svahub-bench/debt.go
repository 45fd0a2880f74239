package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/svahub/svahub/pkg/qualifica/qualificasim"
)

// debtResult is the outcome of the debt scenario.
type debtResult struct {
	backend      string
	services     int
	simRate      float64
	platformRate float64
	maxWorkers   int
	batchSize    int
	batchConc    int

	setupPut     time.Duration // PUT /servicos of every service
	setupActive  time.Duration // until every plan is active on the simulator and in svahub
	setupHWM     int64
	setupPutRate float64

	ideal        time.Duration
	elapsed      time.Duration // first batch → every plan suspended on the simulator
	completed    bool
	svahubView   time.Duration // first batch → the API shows every subscription suspenso
	ingest       time.Duration // first batch sent → last batch answered
	batchP50     time.Duration
	batchMax     time.Duration
	batchResults map[string]int

	suspendedOnSim int
	calls          map[string]int // simulator calls during the debt run
	hwm, rss       int64
	cpu            cpuUse
	pg             *pgDelta
	probe          *debtProbe
	profile        string
	busyStart      float64 // machine busy share when the run started despite -quiet-wait
	analyzed       bool    // ANALYZE ran after setup

	retention       string        // SVAHUB_TRANSMISSION_RETENTION ("" = svahub's default)
	expiredFill     time.Duration // inserting -expired-transmissions rows
	expiredInserted int           // -expired-transmissions
	expiredBefore   int64         // transmissions past 90 days when the run started
	expiredAfter    int64         // … when it ended
	purged          float64       // svahub_transmissions_purged_total of the run's process
}

// debtProbe counts the SQL of one status batch and of the convergence
// that follows (reactivation of the same services), per item.
type debtProbe struct {
	items       int
	batch, work counts
}

func suspendOK(c map[string]int) int { return c[qualificasim.OpSuspend] - c[qualificasim.Call429] }

func callsDelta(after, before map[string]int) map[string]int {
	d := map[string]int{}
	for k, v := range after {
		if n := v - before[k]; n != 0 {
			d[k] = n
		}
	}
	return d
}

// countPlans counts simulator users whose plan for product has status.
func countPlans(sim *simServer, product, status string) int {
	n := 0
	for _, u := range sim.Users() {
		for _, p := range u.Plans {
			if p.Product == product && p.Status == status {
				n++
			}
		}
	}
	return n
}

func runDebt(ctx context.Context, e *benchEnv) (*debtResult, error) {
	o := e.o
	log := e.log.With("scenario", "debt", "backend", o.backend)
	res := &debtResult{backend: o.backend, services: o.services, simRate: o.simRate, platformRate: o.platformRate,
		maxWorkers: o.maxWorkers, batchSize: o.batchSize, batchConc: o.batchConcurrency}
	n := o.services
	if o.simRate > 0 {
		res.ideal = time.Duration(float64(n) / o.simRate * float64(time.Second))
	} else {
		res.ideal = time.Duration(float64(n) / o.platformRate * float64(time.Second))
	}

	var dbURL string
	var db *benchDB
	if o.backend == "postgres" {
		var err error
		if db, err = createDB(ctx, o.pgDSN); err != nil {
			return nil, err
		}
		log.Info("database created", "name", db.name)
		defer func() {
			if o.keep {
				log.Info("kept database", "name", db.name)
				return
			}
			if err := db.drop(ctx); err != nil {
				log.Warn("drop database", "name", db.name, "err", err)
			}
		}()
		dbURL = db.url
	} else {
		dbURL = "sqlite://" + filepath.Join(e.work, "debt.db")
	}

	sim, err := startSim(o.simLatency, o.simRate)
	if err != nil {
		return nil, err
	}
	defer sim.close()
	sim.SetRateLimit(0) // lifted during setup

	cfg := svahubConfig{name: "debt-setup", databaseURL: dbURL, qualificaURL: sim.url, workers: true,
		maxWorkers: o.maxWorkers, platformRate: o.setupPlatformRate, retention: o.retention}
	res.retention = o.retention
	key, err := e.createAPIKey(ctx, cfg)
	if err != nil {
		return nil, err
	}
	p, err := e.startSvahub(ctx, cfg, key)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	const planID = 500
	cat, err := p.createCatalogue(ctx, []string{"pro"}, planID, 1)
	if err != nil {
		return nil, fmt.Errorf("catalogue: %w", err)
	}
	_ = cat

	// Setup: every service through the API, as HubSoft would push it.
	log.Info("creating services through the API", "n", n, "clients", o.setupClients)
	sctx, cancel := context.WithTimeout(ctx, o.setupTimeout)
	defer cancel()
	t0 := time.Now()
	if err := putServices(sctx, log, p, n, planID, o.setupClients); err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	res.setupPut = time.Since(t0)
	res.setupPutRate = float64(n) / res.setupPut.Seconds()
	log.Info("services created", "took", res.setupPut.Round(time.Millisecond), "per_s", int(res.setupPutRate))
	if err := waitActive(sctx, log, p, sim, n); err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	res.setupActive = time.Since(t0)
	res.setupHWM, _, _ = memStatus(p.pid())
	log.Info("every plan active", "took", res.setupActive.Round(time.Millisecond))
	p.stop()
	if o.expiredTx > 0 {
		log.Info("inserting expired transmissions", "rows", o.expiredTx)
		if res.expiredFill, err = fillExpired(ctx, o.backend, dbURL, o.expiredTx); err != nil {
			return nil, fmt.Errorf("expired transmissions: %w", err)
		}
		res.expiredInserted = o.expiredTx
		log.Info("expired transmissions inserted", "took", res.expiredFill.Round(time.Millisecond))
	}
	if res.expiredBefore, err = countExpired(ctx, o.backend, dbURL); err != nil {
		return nil, fmt.Errorf("count transmissions: %w", err)
	}
	if db != nil && o.analyze {
		if err := analyzeDB(ctx, db.url); err != nil {
			return nil, fmt.Errorf("analyze: %w", err)
		}
		res.analyzed = true
	}

	// The debt run, on a fresh svahub process with the production rate.
	sim.SetRateLimit(o.simRate)
	cfg.name, cfg.platformRate, cfg.pprof = "debt-run", o.platformRate, o.pprofDir != ""
	p, err = e.startSvahub(ctx, cfg, key)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	var pg0 *pgStats
	if db != nil {
		if pg0, err = snapshotPG(ctx, db.url); err != nil {
			log.Warn("pg stats", "err", err)
		}
	}
	if busy, ok := waitQuiet(ctx, o.quietWait, o.quietThreshold); !ok {
		res.busyStart = busy
		log.Info("machine still busy; starting the debt run anyway", "busy", fmt.Sprintf("%.0f%%", busy*100))
	}
	before := sim.Calls()
	timeout := o.debtTimeout
	if timeout <= 0 {
		timeout = max(5*res.ideal, 2*time.Minute)
	}
	log.Info("debt run", "services", n, "ideal", res.ideal, "timeout", timeout)
	c0 := takeCPU(p.pid())
	start := time.Now()
	prof := e.profileAsync(ctx, p, "debt-"+o.backend, res.ideal)
	batchErr := make(chan error, 1)
	var batchLat []time.Duration
	var batchMu sync.Mutex
	res.batchResults = map[string]int{}
	go func() {
		lat, results, err := sendBatches(ctx, p, n, o.batchSize, o.batchConcurrency, "suspenso_debito")
		batchMu.Lock()
		batchLat, res.batchResults = lat, results
		res.ingest = time.Since(start)
		batchMu.Unlock()
		batchErr <- err
	}()

	deadline := start.Add(timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var batchesDone bool
	for !res.completed && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case err := <-batchErr:
			batchesDone = true
			if err != nil {
				return nil, fmt.Errorf("status batches: %w", err)
			}
			log.Info("all batches answered", "took", time.Since(start).Round(time.Millisecond))
			continue
		case <-tick.C:
		}
		if !p.alive() {
			return nil, fmt.Errorf("svahub exited during the debt run; log:\n%s", tail(p.logPath, 30))
		}
		obs := time.Now()
		if suspendOK(callsDelta(sim.Calls(), before)) < n {
			continue
		}
		if got := countPlans(sim, "pro", "suspenso"); got == n {
			res.completed, res.elapsed = true, obs.Sub(start)
		}
	}
	if !batchesDone {
		if err := <-batchErr; err != nil {
			return nil, fmt.Errorf("status batches: %w", err)
		}
	}
	res.suspendedOnSim = countPlans(sim, "pro", "suspenso")
	res.hwm, res.rss, _ = memStatus(p.pid())
	res.cpu = c0.to(takeCPU(p.pid()))
	res.profile = prof()
	batchMu.Lock()
	slices.Sort(batchLat)
	res.batchP50, res.batchMax = percentile(batchLat, 0.5), percentile(batchLat, 1)
	batchMu.Unlock()
	log.Info("debt run finished", "completed", res.completed, "elapsed", res.elapsed.Round(time.Millisecond),
		"suspended_on_sim", res.suspendedOnSim, "vmhwm_mib", res.hwm>>20)

	// svahub's own view: every subscription shows suspenso.
	if res.completed {
		vdeadline := time.Now().Add(2 * time.Minute)
		for time.Now().Before(vdeadline) {
			got, err := p.countSubscriptions(ctx, "suspenso")
			if err == nil && got >= n {
				res.svahubView = time.Since(start)
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	time.Sleep(2 * time.Second) // late duplicates, if any, land in the counters
	res.calls = callsDelta(sim.Calls(), before)
	if hwm, _, err := memStatus(p.pid()); err == nil && hwm > res.hwm {
		res.hwm = hwm
	}
	if db != nil && pg0 != nil {
		if pg1, err := snapshotPG(ctx, db.url); err == nil {
			d := pg0.delta(pg1)
			res.pg = &d
		}
	}
	res.purged = scrapePurged(ctx, p)
	p.stop()
	if res.expiredAfter, err = countExpired(ctx, o.backend, dbURL); err != nil {
		log.Warn("count transmissions", "err", err)
	}

	if o.probe && db != nil {
		pr, err := debtSQLProbe(ctx, e, db, cfg, key, sim, min(n, o.batchSize))
		if err != nil {
			log.Warn("SQL probe failed", "err", err)
		} else {
			res.probe = pr
		}
	}
	return res, nil
}

// putServices creates services 1..n with PUT /servicos/{id} (plan planID).
func putServices(ctx context.Context, log interface{ Info(string, ...any) }, p *svahubProc, n int, planID int64, clients int) error {
	var next, done atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, clients)
	stopProgress := make(chan struct{})
	go func() {
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stopProgress:
				return
			case <-t.C:
				log.Info("setup progress", "created", done.Load(), "of", n)
			}
		}
	}()
	defer close(stopProgress)
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				id := next.Add(1)
				if id > int64(n) {
					return
				}
				body := map[string]any{
					"id_servico": planID, "login": loginOf(id), "senha": passwordOf(id), "status_prefixo": "servico_habilitado",
					"cliente": map[string]any{
						"id_cliente": 1_000_000 + id, "codigo_cliente": fmt.Sprintf("C%07d", id), "nome_razaosocial": fmt.Sprintf("Cliente Bench %d", id),
						"cpf_cnpj": cpf(id), "email_principal": fmt.Sprintf("cliente%d@example.com", id), "telefone_primario": fmt.Sprintf("+55 11 9%08d", id%100_000_000),
					},
				}
				if err := p.call(ctx, http.MethodPut, fmt.Sprintf("/api/v1/servicos/%d", id), body, nil, http.StatusCreated); err != nil {
					errc <- err
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return err
	}
	if done.Load() != int64(n) {
		return fmt.Errorf("created %d of %d services: %w", done.Load(), n, ctx.Err())
	}
	return nil
}

// waitActive waits until every service's plan is active on the simulator
// and every subscription shows ativo in svahub.
func waitActive(ctx context.Context, log interface{ Info(string, ...any) }, p *svahubProc, sim *simServer, n int) error {
	last := time.Time{}
	for {
		active := countPlans(sim, "pro", "ativo")
		if active >= n {
			got, err := p.countSubscriptions(ctx, "ativo")
			if err == nil && got >= n {
				return nil
			}
		}
		if errs, err := p.countSubscriptions(ctx, "erro"); err == nil && errs > 0 {
			return fmt.Errorf("%d subscriptions are in erro during setup (see GET /api/v1/assinaturas?status=erro)", errs)
		}
		if time.Since(last) > 10*time.Second {
			log.Info("waiting for plans to be active on the simulator", "active", active, "of", n)
			last = time.Now()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("plans active on the simulator: %d of %d: %w", active, n, ctx.Err())
		case <-time.After(2 * time.Second):
		}
	}
}

type statusItem struct {
	ID     int64  `json:"id_cliente_servico"`
	Status string `json:"status_prefixo"`
}

// sendBatches sends POST /servicos/status for ids 1..n in batches, with
// conc batches in flight, and returns each batch's latency and the count of
// each per-item resultado.
func sendBatches(ctx context.Context, p *svahubProc, n, size, conc int, status string) ([]time.Duration, map[string]int, error) {
	type batch struct{ from, to int }
	ch := make(chan batch)
	var mu sync.Mutex
	var lat []time.Duration
	results := map[string]int{}
	var firstErr error
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range ch {
				items := make([]statusItem, 0, b.to-b.from+1)
				for id := b.from; id <= b.to; id++ {
					items = append(items, statusItem{ID: int64(id), Status: status})
				}
				var out struct {
					Items []struct {
						Result string `json:"resultado"`
					} `json:"itens"`
				}
				t0 := time.Now()
				err := p.call(ctx, http.MethodPost, "/api/v1/servicos/status", map[string]any{"itens": items}, &out, http.StatusOK)
				d := time.Since(t0)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				lat = append(lat, d)
				for _, it := range out.Items {
					results[it.Result]++
				}
				mu.Unlock()
			}
		}()
	}
	for from := 1; from <= n && ctx.Err() == nil; from += size {
		mu.Lock()
		stop := firstErr != nil
		mu.Unlock()
		if stop {
			break
		}
		ch <- batch{from, min(n, from+size-1)}
	}
	close(ch)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	return lat, results, firstErr
}

// debtSQLProbe runs svahub (workers on) through the counting proxy, sends
// one batch re-enabling items services (servico_habilitado) and counts the
// SQL of the batch request and of the convergence that follows.
func debtSQLProbe(ctx context.Context, e *benchEnv, db *benchDB, cfg svahubConfig, key string, sim *simServer, items int) (*debtProbe, error) {
	target, err := pgTarget(db.url)
	if err != nil {
		return nil, err
	}
	px, err := startSQLProxy(target)
	if err != nil {
		return nil, err
	}
	defer px.close()
	cfg.name, cfg.pprof = "debt-probe", false
	if cfg.databaseURL, err = proxiedURL(db.url, px.addr()); err != nil {
		return nil, err
	}
	activeBefore := countPlans(sim, "pro", "ativo")
	p, err := e.startSvahub(ctx, cfg, key)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	time.Sleep(2 * time.Second) // let start-up work (leader election, first fetch) settle
	s0 := px.snapshot()
	if _, _, err := sendBatches(ctx, p, items, items, 1, "servico_habilitado"); err != nil {
		return nil, err
	}
	s1 := px.snapshot()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if countPlans(sim, "pro", "ativo")-activeBefore >= items {
			if got, err := p.countSubscriptions(ctx, "ativo"); err == nil && got >= items {
				break
			}
		}
		if time.Now().After(deadline) {
			return nil, errors.New("probe: reactivation did not finish within 3 minutes")
		}
		time.Sleep(200 * time.Millisecond)
	}
	s2 := px.snapshot()
	return &debtProbe{items: items, batch: s1.sub(s0), work: s2.sub(s1)}, nil
}
