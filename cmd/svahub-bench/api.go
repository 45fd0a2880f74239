package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// apiResult is the outcome of the api scenario.
type apiResult struct {
	services        int
	seedTime        time.Duration
	workers         bool
	readSvahub      loadResult
	readBaseline    loadResult
	openSvahub      loadResult
	openBaseline    loadResult
	write           loadResult
	cpuRead         cpuUse
	cpuBaseline     cpuUse
	cpuOpen         cpuUse
	cpuOpenBaseline cpuUse
	cpuWrite        cpuUse
	jobsInserted    int64
	rounds          int
	notQuiet        int // measured slices started while the machine was busy
	jsonSame        string
	probe           *apiProbe
	profiles        []string
}

// apiProbe holds the SQL counted per request by the probe.
type apiProbe struct {
	ops       int
	get, post counts
}

// abTarget accumulates the slices of one side of an A/B comparison.
type abTarget struct {
	name     string
	pid      int // the server process measured
	fn       requestFunc
	s        *sampler
	seq      atomic.Int64
	elapsed  time.Duration
	dropped  int64
	cpu      cpuUse
	notQuiet int
}

func (t *abTarget) result() loadResult {
	r := t.s.result(t.name, t.elapsed)
	r.dropped = t.dropped
	return r
}

// alternate runs slices A B, B A, A B … (rounds pairs); before each slice it
// waits (bounded by -quiet-wait) for the machine to be quiet.
func (e *benchEnv) alternate(ctx context.Context, a, b *abTarget, rounds int, run func(t *abTarget) time.Duration) {
	one := func(t *abTarget) {
		if _, ok := waitQuiet(ctx, e.o.quietWait, e.o.quietThreshold); !ok {
			t.notQuiet++
		}
		c0 := takeCPU(t.pid)
		t.elapsed += run(t)
		t.cpu = t.cpu.add(c0.to(takeCPU(t.pid)))
	}
	for r := 0; r < rounds && ctx.Err() == nil; r++ {
		if r%2 == 0 {
			one(a)
			one(b)
		} else {
			one(b)
			one(a)
		}
	}
}

// randID maps a request number to a service id in 1..n (splitmix64).
func randID(seed uint64, seq int64, n int) int64 {
	z := seed*0xD1B54A32D192ED03 + uint64(seq)*0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	z ^= z >> 31
	return int64(z%uint64(n)) + 1
}

// expiryOf mirrors svahub.DefaultExpiry: same day next year in the business
// time zone (29 February → 28 February).
func expiryOf(now time.Time, loc *time.Location) string {
	y, m, d := now.In(loc).Date()
	if m == time.February && d == 29 {
		d = 28
	}
	return time.Date(y+1, m, d, 0, 0, 0, 0, time.UTC).Format("2006-01-02")
}

func runAPI(ctx context.Context, e *benchEnv) (*apiResult, error) {
	o := e.o
	res := &apiResult{services: o.apiServices, workers: o.apiWorkers}
	log := e.log.With("scenario", "api")

	db, err := createDB(ctx, o.pgDSN)
	if err != nil {
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

	sim, err := startSim(o.simLatency, 0)
	if err != nil {
		return nil, err
	}
	defer sim.close()

	cfg := svahubConfig{name: "api", databaseURL: db.url, qualificaURL: sim.url, workers: o.apiWorkers,
		maxWorkers: o.maxWorkers, platformRate: o.platformRate, pprof: o.pprofDir != ""}
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
	cat, err := p.createCatalogue(ctx, []string{"pro", "premium", "1001"}, planID, 2)
	if err != nil {
		return nil, fmt.Errorf("catalogue: %w", err)
	}
	loc, err := time.LoadLocation("America/Sao_Paulo")
	if err != nil {
		return nil, err
	}
	spec := seedSpec{n: o.apiServices, planID: planID, integrationID: cat.integrationID,
		packages:     [2]int64{cat.packages[0], cat.packages[1]},
		descriptions: [2]string{cat.packageDescr[cat.packages[0]], cat.packageDescr[cat.packages[1]]},
		productIDs:   [2]int64{cat.products["pro"], cat.products["premium"]},
		productCodes: [2]string{"pro", "premium"},
		expiresOn:    expiryOf(time.Now(), loc),
	}
	log.Info("seeding services", "n", spec.n)
	t0 := time.Now()
	if err := seedServices(ctx, db.url, spec); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	res.seedTime = time.Since(t0)
	log.Info("seeded", "n", spec.n, "took", res.seedTime.Round(time.Millisecond))

	var one struct {
		Subs []struct {
			Status string `json:"status"`
		} `json:"pacotes"`
	}
	if err := p.call(ctx, http.MethodGet, fmt.Sprintf("/api/v1/servicos/%d", spec.n), nil, &one, http.StatusOK); err != nil {
		return nil, fmt.Errorf("seeded service not readable: %w", err)
	}
	if len(one.Subs) != 2 || one.Subs[0].Status != "ativo" || one.Subs[1].Status != "ativo" {
		return nil, fmt.Errorf("seeded service %d reads back as %+v, want 2 active packages", spec.n, one.Subs)
	}

	base, err := startBaseline(ctx, e.work, db.url, o.poolSize)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	defer base.close()
	res.jsonSame = compareJSON(ctx, p, base.url, []int64{1, int64(spec.n/2 + 1), int64(spec.n)})
	log.Info("baseline answers", "same_json_as_svahub", res.jsonSame)

	client := newHTTPClient(o.clients + 16)
	defer client.CloseIdleConnections()
	svahubGet := getter(client, key, func(seq int64) string {
		return fmt.Sprintf("%s/api/v1/servicos/%d", p.base, randID(o.seed, seq, spec.n))
	})
	baseGet := getter(client, "", func(seq int64) string {
		return fmt.Sprintf("%s/api/v1/servicos/%d", base.url, randID(o.seed, seq, spec.n))
	})

	// (a) svahub and the baseline alternate in slices (A B B A …) so that
	// drifting background load hits both alike.
	A := &abTarget{name: "GET /servicos/{id} svahub", fn: svahubGet, s: &sampler{}, pid: p.pid()}
	B := &abTarget{name: "GET /servicos/{id} baseline", fn: baseGet, s: &sampler{}, pid: base.pid()}
	rounds := max(1, o.rounds)
	slice := o.duration / time.Duration(rounds)
	log.Info("warm-up", "duration", o.warmup)
	closedLoop(ctx, "warm-up", o.clients, 0, o.warmup/2, svahubGet)
	closedLoop(ctx, "warm-up", o.clients, 0, o.warmup/2, baseGet)
	log.Info("GET closed loop, svahub and baseline alternating", "clients", o.clients, "rounds", rounds, "slice", slice)
	prof := func() string { return "" }
	e.alternate(ctx, A, B, rounds, func(t *abTarget) time.Duration {
		if t == A && t.elapsed == 0 { // profile svahub's first slice
			prof = e.profileAsync(ctx, p, "api-get", slice)
		}
		return closedLoopInto(ctx, t.s, o.clients, slice, &t.seq, t.fn)
	})
	res.profiles = append(res.profiles, prof())
	res.readSvahub, res.readBaseline = A.result(), B.result()
	res.readSvahub.clients, res.readBaseline.clients = o.clients, o.clients
	res.cpuRead, res.cpuBaseline = A.cpu, B.cpu
	res.notQuiet += A.notQuiet + B.notQuiet
	res.rounds = rounds
	log.Info("done", "svahub_rps", int(res.readSvahub.throughput), "svahub_p99", res.readSvahub.p99,
		"baseline_rps", int(res.readBaseline.throughput), "baseline_p99", res.readBaseline.p99)

	// (a) open loop at a fraction of svahub's peak, same alternation.
	rate := res.readSvahub.throughput * o.openFraction
	if rate >= 1 {
		const maxInFlight = 1024
		A = &abTarget{name: fmt.Sprintf("GET svahub @ %.0f%% of its peak", o.openFraction*100), fn: svahubGet, s: &sampler{}, pid: p.pid()}
		B = &abTarget{name: "GET baseline @ same rate", fn: baseGet, s: &sampler{}, pid: base.pid()}
		log.Info("GET open loop, svahub and baseline alternating", "rate", int(rate))
		e.alternate(ctx, A, B, rounds, func(t *abTarget) time.Duration {
			t.dropped += openLoopInto(ctx, t.s, rate, slice, maxInFlight, &t.seq, t.fn)
			return slice
		})
		res.openSvahub, res.openBaseline = A.result(), B.result()
		res.openSvahub.targetRate, res.openBaseline.targetRate = rate, rate
		res.cpuOpen, res.cpuOpenBaseline = A.cpu, B.cpu
		res.notQuiet += A.notQuiet + B.notQuiet
		log.Info("done", "svahub_p99", res.openSvahub.p99, "baseline_p99", res.openBaseline.p99)
	}
	base.close()

	// (b) attach a third package to distinct services.
	limit := int64(spec.n)
	if o.probe {
		limit -= int64(min(o.probeOps, spec.n/2)) // the probe attaches to the last ids
	}
	body, _ := json.Marshal(map[string]any{"id_pacote": cat.packages[2]})
	post := func(ctx context.Context, seq int64) error {
		id := seq + 1
		if id > limit {
			return errExhausted
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, fmt.Sprintf("%s/api/v1/servicos/%d/pacotes", p.base, id), bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		r, err := client.Do(req)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(io.LimitReader(r.Body, 4096))
		r.Body.Close()
		if r.StatusCode != http.StatusCreated {
			return fmt.Errorf("POST /servicos/%d/pacotes: HTTP %d: %.200s", id, r.StatusCode, b)
		}
		return nil
	}
	jobs0, _ := countJobs(ctx, db.url)
	log.Info("POST /servicos/{id}/pacotes (closed loop)", "clients", o.clients, "duration", o.writeDuration)
	if _, ok := waitQuiet(ctx, o.quietWait, o.quietThreshold); !ok {
		res.notQuiet++
	}
	prof = e.profileAsync(ctx, p, "api-post", o.writeDuration)
	c0 := takeCPU(p.pid())
	res.write = closedLoop(ctx, "POST /servicos/{id}/pacotes", o.clients, 0, o.writeDuration, post)
	res.cpuWrite = c0.to(takeCPU(p.pid()))
	res.profiles = append(res.profiles, prof())
	jobs1, _ := countJobs(ctx, db.url)
	res.jobsInserted = jobs1 - jobs0
	log.Info("done", "rps", int(res.write.throughput), "p99", res.write.p99, "jobs_inserted", res.jobsInserted)
	p.stop()

	if o.probe {
		pr, err := apiSQLProbe(ctx, e, db, cfg, key, spec.n, cat.packages[2])
		if err != nil {
			log.Warn("SQL probe failed", "err", err)
		} else {
			res.probe = pr
		}
	}
	return res, nil
}

// countJobs counts River's converge_plan jobs.
func countJobs(ctx context.Context, dsn string) (int64, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var n int64
	err = conn.QueryRow(ctx, "SELECT count(*) FROM river_job WHERE kind = 'converge_plan'").Scan(&n)
	return n, err
}

// compareJSON fetches ids from svahub and the baseline and reports whether
// the decoded answers are identical.
func compareJSON(ctx context.Context, p *svahubProc, baseURL string, ids []int64) string {
	for _, id := range ids {
		var a, b any
		if err := p.call(ctx, http.MethodGet, fmt.Sprintf("/api/v1/servicos/%d", id), nil, &a, http.StatusOK); err != nil {
			return "no (svahub: " + err.Error() + ")"
		}
		res, err := http.Get(fmt.Sprintf("%s/api/v1/servicos/%d", baseURL, id))
		if err != nil {
			return "no (baseline: " + err.Error() + ")"
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if err := json.Unmarshal(raw, &b); err != nil {
			return "no (baseline: " + err.Error() + ")"
		}
		ca, _ := json.Marshal(a)
		cb, _ := json.Marshal(b)
		if !bytes.Equal(ca, cb) {
			i := 0
			for i < len(ca) && i < len(cb) && ca[i] == cb[i] {
				i++
			}
			from := max(0, i-60)
			return fmt.Sprintf("no (service %d differs at byte %d: svahub …%s… baseline …%s…)", id, i,
				ca[from:min(len(ca), i+60)], cb[from:min(len(cb), i+60)])
		}
	}
	return fmt.Sprintf("yes (%d services compared)", len(ids))
}

// apiSQLProbe runs a second svahub through the counting proxy and counts
// the SQL of ops sequential GETs and ops POST …/pacotes.
func apiSQLProbe(ctx context.Context, e *benchEnv, db *benchDB, cfg svahubConfig, key string, n int, pkg int64) (*apiProbe, error) {
	target, err := pgTarget(db.url)
	if err != nil {
		return nil, err
	}
	px, err := startSQLProxy(target)
	if err != nil {
		return nil, err
	}
	defer px.close()
	cfg.name, cfg.pprof, cfg.workers = "api-probe", false, false
	if cfg.databaseURL, err = proxiedURL(db.url, px.addr()); err != nil {
		return nil, err
	}
	p, err := e.startSvahub(ctx, cfg, key)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	ops := min(e.o.probeOps, n/2)
	if ops < 1 {
		ops = 1
	}
	pr := &apiProbe{ops: ops}
	before := px.snapshot()
	for i := 0; i < ops; i++ {
		id := randID(e.o.seed+7, int64(i), n)
		if err := p.call(ctx, http.MethodGet, fmt.Sprintf("/api/v1/servicos/%d", id), nil, nil, http.StatusOK); err != nil {
			return nil, err
		}
	}
	mid := px.snapshot()
	for i := 0; i < ops; i++ {
		id := int64(n - i)
		if err := p.call(ctx, http.MethodPost, fmt.Sprintf("/api/v1/servicos/%d/pacotes", id), map[string]any{"id_pacote": pkg}, nil, http.StatusCreated); err != nil {
			return nil, err
		}
	}
	end := px.snapshot()
	pr.get, pr.post = mid.sub(before), end.sub(mid)
	return pr, nil
}
