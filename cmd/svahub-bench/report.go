package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/svahub/svahub/pkg/qualifica/qualificasim"
)

type machine struct {
	uname, nproc, cpu, mem, goVersion, commit, postgres, loadavg, autovacuum string
}

func cmdOut(ctx context.Context, dir, name string, args ...string) string {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(cctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func machineInfo(ctx context.Context, pgDSN string, withPG bool) machine {
	m := machine{
		uname:     cmdOut(ctx, "", "uname", "-a"),
		nproc:     cmdOut(ctx, "", "nproc"),
		goVersion: cmdOut(ctx, "", "go", "version"),
		loadavg:   loadAvg(),
	}
	if m.nproc == "" {
		m.nproc = fmt.Sprint(runtime.NumCPU())
	}
	if m.goVersion == "" {
		m.goVersion = runtime.Version()
	}
	root, _ := moduleRoot(ctx)
	if root != "" {
		m.commit = cmdOut(ctx, root, "git", "rev-parse", "--short", "HEAD")
		if st := cmdOut(ctx, root, "git", "status", "--porcelain"); st != "" && m.commit != "" {
			m.commit += fmt.Sprintf(" (working tree has %d uncommitted changes)", len(strings.Split(st, "\n")))
		}
	}
	if m.commit == "" {
		m.commit = "unknown"
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.cpu = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				var kb int64
				fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), &kb)
				m.mem = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
			}
		}
	}
	if withPG {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if conn, err := pgx.Connect(cctx, pgDSN); err == nil {
			_ = conn.QueryRow(cctx, "SHOW server_version").Scan(&m.postgres)
			_ = conn.QueryRow(cctx, "SHOW autovacuum").Scan(&m.autovacuum)
			conn.Close(cctx)
		}
	}
	return m
}

type report struct {
	started, finished time.Time
	opts              *options
	machine           machine
	api               *apiResult
	debt              *debtResult
	fleet             *fleetResult
}

func ms(d time.Duration) string {
	switch {
	case d <= 0:
		return "–"
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	case d < 10*time.Second:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

func secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
}

func (r *report) write(w io.Writer) {
	m := r.machine
	fmt.Fprintf(w, "# svahub-bench report\n\n")
	fmt.Fprintf(w, "| | |\n|---|---|\n")
	fmt.Fprintf(w, "| date | %s (took %s) |\n", r.started.Format(time.RFC3339), r.finished.Sub(r.started).Round(time.Second))
	fmt.Fprintf(w, "| commit | %s |\n", m.commit)
	switch {
	case r.opts.bin != "":
		fmt.Fprintf(w, "| svahub binary | %s (given with -svahub-bin) |\n", r.opts.bin)
	case r.opts.fromHead:
		fmt.Fprintf(w, "| svahub binary | built from the HEAD commit (uncommitted changes not included) |\n")
	default:
		fmt.Fprintf(w, "| svahub binary | built from the working tree |\n")
	}
	fmt.Fprintf(w, "| `uname -a` | %s |\n", m.uname)
	fmt.Fprintf(w, "| `nproc` | %s |\n", m.nproc)
	if m.cpu != "" {
		fmt.Fprintf(w, "| CPU | %s |\n", m.cpu)
	}
	if m.mem != "" {
		fmt.Fprintf(w, "| memory | %s |\n", m.mem)
	}
	fmt.Fprintf(w, "| Go | %s |\n", m.goVersion)
	if m.postgres != "" {
		fmt.Fprintf(w, "| PostgreSQL | %s (same machine, loopback; autovacuum %s) |\n", m.postgres, m.autovacuum)
	}
	fmt.Fprintf(w, "| load average at start → end | %s → %s |\n", m.loadavg, loadAvg())
	fmt.Fprintf(w, "| arguments | `%s` |\n", strings.Join(os.Args[1:], " "))
	if r.opts.smoke {
		fmt.Fprintf(w, "| mode | **smoke** (tiny sizes: numbers are not meaningful) |\n")
	}
	fmt.Fprintln(w)
	if r.api != nil {
		r.writeAPI(w, r.api)
	}
	if r.debt != nil {
		r.writeDebt(w, r.debt)
	}
	if r.fleet != nil {
		r.writeFleet(w, r.fleet)
	}
}

func loadRow(w io.Writer, l loadResult, conc string) {
	errs := thousands(l.failed)
	if l.dropped > 0 {
		errs += fmt.Sprintf(" (+%s not sent: in-flight cap)", thousands(l.dropped))
	}
	fmt.Fprintf(w, "| %s | %s | %s | %.0f | %s | %s | %s | %s | %s |\n", l.name, conc, thousands(l.ok), l.throughput,
		ms(l.p50), ms(l.p90), ms(l.p99), ms(l.max), errs)
}

func cpuRow(w io.Writer, name string, c cpuUse, reqs int64, nproc int) {
	if reqs <= 0 || c.wall <= 0 {
		return
	}
	per := func(s float64) string { return fmt.Sprintf("%.0f µs", s/float64(reqs)*1e6) }
	pct := func(s float64) string { return fmt.Sprintf("%.0f%%", s/(c.wall.Seconds()*float64(nproc))*100) }
	fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", name, per(c.svahub), per(c.postgres), per(c.own),
		pct(c.svahub+c.postgres+c.own), pct(c.other))
}

// capacity estimates the CPU-bound throughput of a load on a machine with
// nproc cores from the CPU its requests used (svahub, PostgreSQL, tool).
func capacity(c cpuUse, reqs int64, nproc int) float64 {
	per := (c.svahub + c.postgres + c.own) / float64(reqs)
	if reqs <= 0 || per <= 0 {
		return 0
	}
	return float64(nproc) / per
}

func (r *report) nproc() int {
	n := 0
	fmt.Sscan(r.machine.nproc, &n)
	if n <= 0 {
		n = runtime.NumCPU()
	}
	return n
}

func (r *report) writeAPI(w io.Writer, a *apiResult) {
	o := r.opts
	fmt.Fprintf(w, "## api — PostgreSQL, %s services × 2 packages\n\n", thousands(int64(a.services)))
	workers := "API only (`SVAHUB_WORKERS=false`: jobs are inserted, not worked)"
	if a.workers {
		workers = fmt.Sprintf("API and workers (`SVAHUB_MAX_WORKERS=%d`)", o.maxWorkers)
	}
	fmt.Fprintf(w, "Seeded by COPY in %s. svahub process: %s. Reads: random ids, %s per target after a %s warm-up; svahub and the baseline alternate in %d pairs of slices (A B, B A, …). POSTs: %s, each attaching a third package to a distinct service.",
		secs(a.seedTime), workers, o.duration, o.warmup, a.rounds, o.writeDuration)
	if o.quietWait > 0 {
		fmt.Fprintf(w, " Before each slice the tool waited up to %s for the machine to be under %.0f%% busy; %d slices started on a busy machine anyway.", o.quietWait, o.quietThreshold*100, a.notQuiet)
	}
	fmt.Fprintf(w, "\n\n")
	fmt.Fprintf(w, "| load | clients / rate | requests | req/s | p50 | p90 | p99 | max | errors |\n|---|---|---:|---:|---:|---:|---:|---:|---|\n")
	loadRow(w, a.readSvahub, fmt.Sprint(a.readSvahub.clients))
	loadRow(w, a.readBaseline, fmt.Sprint(a.readBaseline.clients))
	if a.openSvahub.targetRate > 0 {
		loadRow(w, a.openSvahub, fmt.Sprintf("%.0f/s open loop", a.openSvahub.targetRate))
		loadRow(w, a.openBaseline, fmt.Sprintf("%.0f/s open loop", a.openBaseline.targetRate))
	}
	loadRow(w, a.write, fmt.Sprint(a.write.clients))
	fmt.Fprintln(w)
	for _, l := range []loadResult{a.readSvahub, a.readBaseline, a.openSvahub, a.openBaseline, a.write} {
		if l.firstErr != "" {
			fmt.Fprintf(w, "First error of %q: `%s`\n\n", l.name, l.firstErr)
		}
	}
	ratio := 0.0
	if a.readBaseline.throughput > 0 {
		ratio = a.readSvahub.throughput / a.readBaseline.throughput
	}
	fmt.Fprintf(w, "| check | measured | target | |\n|---|---:|---|---|\n")
	fmt.Fprintf(w, "| (1a) svahub / baseline GET throughput | %.0f%% (%.0f / %.0f req/s) | ≥ 70%% | %s |\n", ratio*100,
		a.readSvahub.throughput, a.readBaseline.throughput, verdict(ratio >= 0.70))
	if a.openSvahub.targetRate > 0 {
		fmt.Fprintf(w, "| (1a) GET p99 at %.0f%% of peak (%.0f req/s) | %s | ≤ 15 ms | %s |\n", o.openFraction*100, a.openSvahub.targetRate,
			ms(a.openSvahub.p99), verdict(a.openSvahub.p99 <= 15*time.Millisecond && a.openSvahub.failed == 0))
	}
	fmt.Fprintf(w, "| (1b) POST …/pacotes throughput | %.0f req/s | ≥ 1,000 req/s | %s |\n", a.write.throughput, verdict(a.write.throughput >= 1000))
	fmt.Fprintf(w, "| (1b) POST …/pacotes p99 | %s | ≤ 50 ms | %s |\n", ms(a.write.p99), verdict(a.write.p99 <= 50*time.Millisecond && a.write.ok > 0))
	capA, capB := capacity(a.cpuRead, a.readSvahub.ok, r.nproc()), capacity(a.cpuBaseline, a.readBaseline.ok, r.nproc())
	if capA > 0 && capB > 0 {
		fmt.Fprintf(w, "| (1a) same ratio from CPU per request (capacity = cores ÷ CPU per request; insensitive to other programs) | %.0f%% (%.0f / %.0f req/s) | ≥ 70%% | %s |\n",
			capA/capB*100, capA, capB, verdict(capA/capB >= 0.70))
	}
	fmt.Fprintf(w, "| baseline answers the same JSON as svahub | %s | | |\n", a.jsonSame)
	fmt.Fprintf(w, "| converge_plan jobs inserted by the POST load | %s (POSTs answered 201: %s) | one per POST | |\n\n",
		thousands(a.jobsInserted), thousands(a.write.ok))

	fmt.Fprintf(w, "CPU per request during each load (server: the svahub or baseline process; PostgreSQL: every `postgres` process on the machine; tool: load generator and simulator), the share of the machine they used, and the share used meanwhile by other programs (interference):\n\n")
	fmt.Fprintf(w, "| load | server CPU/req | PostgreSQL CPU/req | tool CPU/req | machine used by these (%s cores) | used by other programs |\n|---|---:|---:|---:|---:|---:|\n", r.machine.nproc)
	cpuRow(w, "GET svahub (closed loop)", a.cpuRead, a.readSvahub.ok, r.nproc())
	cpuRow(w, "GET baseline (closed loop)", a.cpuBaseline, a.readBaseline.ok, r.nproc())
	cpuRow(w, "GET svahub (open loop)", a.cpuOpen, a.openSvahub.ok, r.nproc())
	cpuRow(w, "GET baseline (open loop)", a.cpuOpenBaseline, a.openBaseline.ok, r.nproc())
	cpuRow(w, "POST …/pacotes", a.cpuWrite, a.write.ok, r.nproc())
	fmt.Fprintln(w)

	if p := a.probe; p != nil {
		fmt.Fprintf(w, "SQL sent by svahub per request (probe: %d sequential requests each through a counting proxy; statements = simple queries + executions, round trips = Syncs + simple queries):\n\n", p.ops)
		probeTable(w, []probeRow{{"GET /servicos/{id}", p.get, p.ops}, {"POST /servicos/{id}/pacotes", p.post, p.ops}})
	}
	writeProfiles(w, a.profiles)
}

type probeRow struct {
	name string
	c    counts
	per  int
}

func probeTable(w io.Writer, rows []probeRow) {
	fmt.Fprintf(w, "| operation | statements / op | round trips / op | most executed statements (per op) |\n|---|---:|---:|---|\n")
	for _, r := range rows {
		var tops []string
		for _, t := range r.c.top(40) {
			if float64(t.n)/float64(r.per) < 0.05 {
				continue
			}
			sql := t.sql
			if r := []rune(sql); len(r) > 90 {
				sql = string(r[:90]) + "…"
			}
			sql = strings.ReplaceAll(sql, "|", "\\|")
			tops = append(tops, fmt.Sprintf("%.2f× `%s`", float64(t.n)/float64(r.per), sql))
		}
		fmt.Fprintf(w, "| %s | %.2f | %.2f | %s |\n", r.name, float64(r.c.statements)/float64(r.per), float64(r.c.roundTrips)/float64(r.per),
			strings.Join(tops, "<br>"))
	}
	fmt.Fprintln(w)
}

func writeProfiles(w io.Writer, profiles []string) {
	var lines []string
	for _, p := range profiles {
		if p != "" {
			lines = append(lines, "- "+p)
		}
	}
	if len(lines) > 0 {
		fmt.Fprintf(w, "CPU profiles of svahub:\n\n%s\n\n", strings.Join(lines, "\n"))
	}
}

// writeRetention says what the retention sweep had to do during the run.
func writeRetention(w io.Writer, d *debtResult) {
	ret := "90d (default)"
	if d.retention != "" {
		ret = d.retention
	}
	purged := "not exported by this svahub"
	if d.purged >= 0 {
		purged = thousands(int64(d.purged))
	}
	fmt.Fprintf(w, "Transmission retention `SVAHUB_TRANSMISSION_RETENTION=%s`: %s transmissions older than 90 days when the run started (%s inserted by -expired-transmissions in %s); %s purged by the sweep during the run (`svahub_transmissions_purged_total`); %s left at the end.\n\n",
		ret, thousands(d.expiredBefore), thousands(int64(d.expiredInserted)), secs(d.expiredFill), purged, thousands(d.expiredAfter))
}

func (r *report) writeDebt(w io.Writer, d *debtResult) {
	fmt.Fprintf(w, "## debt — %s, %s services\n\n", d.backend, thousands(int64(d.services)))
	fmt.Fprintf(w, "Setup (not measured against targets): %s services created with PUT /servicos in %s (%.0f/s); every plan active on the simulator and in svahub after %s; setup process VmHWM %s.\n",
		thousands(int64(d.services)), secs(d.setupPut), d.setupPutRate, secs(d.setupActive), mib(d.setupHWM))
	fmt.Fprintf(w, "Debt run: a fresh svahub with `SVAHUB_PLATFORM_RATE_LIMIT=%g`, `SVAHUB_MAX_WORKERS=%d`; simulator at %g req/s with %s latency; %d-item batches of `suspenso_debito`, %d in flight.\n\n",
		d.platformRate, d.maxWorkers, d.simRate, r.opts.simLatency, d.batchSize, d.batchConc)
	if d.backend == "postgres" {
		if d.analyzed {
			fmt.Fprintf(w, "ANALYZE ran on the database after setup.\n\n")
		} else {
			fmt.Fprintf(w, "No ANALYZE after setup (-analyze=false): the planner works without statistics unless autovacuum analyzed the tables.\n\n")
		}
	}
	if d.busyStart > 0 {
		fmt.Fprintf(w, "The machine was %.0f%% busy with other programs when the debt run started (-quiet-wait ran out).\n\n", d.busyStart*100)
	}
	writeRetention(w, d)
	ratio := 0.0
	if d.ideal > 0 && d.completed {
		ratio = d.elapsed.Seconds() / d.ideal.Seconds()
	}
	elapsed := secs(d.elapsed)
	if !d.completed {
		elapsed = "not completed"
	}
	c := d.calls
	okSusp := suspendOK(c)
	lost := d.services - d.suspendedOnSim
	dup := okSusp - d.services
	fmt.Fprintf(w, "| measure | value | target | |\n|---|---:|---|---|\n")
	fmt.Fprintf(w, "| first batch → every plan suspended on the simulator | %s | | |\n", elapsed)
	fmt.Fprintf(w, "| ideal (services / %g req/s) | %s | | |\n", d.simRate, secs(d.ideal))
	fmt.Fprintf(w, "| time / ideal | %.3f× | ≤ 1.10× | %s |\n", ratio, verdict(d.completed && ratio <= 1.10))
	fmt.Fprintf(w, "| peak RSS of svahub (VmHWM) | %s | ≤ 150 MiB | %s |\n", mib(d.hwm), verdict(d.hwm > 0 && d.hwm <= 150<<20))
	fmt.Fprintf(w, "| plans not suspended (lost) | %s | 0 | %s |\n", thousands(int64(lost)), verdict(lost == 0))
	fmt.Fprintf(w, "| successful suspend calls − services (duplicates) | %s | 0 | %s |\n", thousands(int64(dup)), verdict(dup == 0))
	fmt.Fprintf(w, "| criar_usuario calls during the run | %s | 0 | %s |\n", thousands(int64(c[qualificasim.OpCreateUser])), verdict(c[qualificasim.OpCreateUser] == 0))
	fmt.Fprintf(w, "| first batch → API shows every subscription suspenso | %s | | |\n", secs(d.svahubView))
	fmt.Fprintf(w, "| batches sent and answered (ingest) | %s; per batch p50 %s, max %s | | |\n", secs(d.ingest), ms(d.batchP50), ms(d.batchMax))
	var rs []string
	for k, v := range d.batchResults {
		rs = append(rs, fmt.Sprintf("%s %s", k, thousands(int64(v))))
	}
	sort.Strings(rs)
	fmt.Fprintf(w, "| batch item results | %s | | |\n", strings.Join(rs, ", "))
	var cs []string
	for k, v := range c {
		cs = append(cs, fmt.Sprintf("%s %s", k, thousands(int64(v))))
	}
	sort.Strings(cs)
	fmt.Fprintf(w, "| simulator calls during the run (429 = refused by its rate limit) | %s | | |\n", strings.Join(cs, ", "))
	if d.cpu.wall > 0 {
		n := float64(d.services)
		wall := d.cpu.wall.Seconds()
		if d.backend == "postgres" {
			fmt.Fprintf(w, "| CPU per suspended plan: svahub / PostgreSQL / tool | %.0f / %.0f / %.0f µs | | |\n",
				d.cpu.svahub/n*1e6, d.cpu.postgres/n*1e6, d.cpu.own/n*1e6)
			fmt.Fprintf(w, "| CPU use over the run: svahub / PostgreSQL / tool / other programs | %.0f%% / %.0f%% / %.0f%% / %.0f%% of one core | | |\n",
				d.cpu.svahub/wall*100, d.cpu.postgres/wall*100, d.cpu.own/wall*100, d.cpu.other/wall*100)
		} else {
			fmt.Fprintf(w, "| CPU per suspended plan: svahub (with SQLite inside) / tool | %.0f / %.0f µs | | |\n", d.cpu.svahub/n*1e6, d.cpu.own/n*1e6)
			fmt.Fprintf(w, "| CPU use over the run: svahub / tool / other programs | %.0f%% / %.0f%% / %.0f%% of one core | | |\n",
				d.cpu.svahub/wall*100, d.cpu.own/wall*100, (d.cpu.other+d.cpu.postgres)/wall*100)
		}
	}
	fmt.Fprintln(w)
	if pg := d.pg; pg != nil {
		n := float64(d.services)
		fmt.Fprintf(w, "PostgreSQL activity of the debt run, per suspended plan (pg_stat_database / pg_stat_user_tables deltas): %.1f transactions committed, %.1f rolled back, %.1f rows inserted, %.1f updated, %.1f deleted, %.1f fetched; deadlocks %d.\n",
			float64(pg.commits)/n, float64(pg.rollbacks)/n, float64(pg.inserted)/n, float64(pg.updated)/n, float64(pg.deleted)/n, float64(pg.fetched)/n, pg.deadlocks)
		var ts []string
		for name, v := range pg.tables {
			ts = append(ts, fmt.Sprintf("%s +%.1f/~%.1f/-%.1f", name, float64(v[0])/n, float64(v[1])/n, float64(v[2])/n))
		}
		sort.Strings(ts)
		fmt.Fprintf(w, "Per table (inserted/updated/deleted rows per plan): %s.\n\n", strings.Join(ts, "; "))
		type rd struct {
			name        string
			scans, rows int64
		}
		var rds []rd
		for name, v := range pg.reads {
			rds = append(rds, rd{name, v[0], v[1]})
		}
		sort.Slice(rds, func(i, j int) bool { return rds[i].rows > rds[j].rows })
		if len(rds) > 0 {
			fmt.Fprintf(w, "Where PostgreSQL read rows (index entries or heap rows by sequential scan), per suspended plan:\n\n| index or table | scans / plan | rows read / plan |\n|---|---:|---:|\n")
			for i, x := range rds {
				if i >= 10 {
					break
				}
				fmt.Fprintf(w, "| %s | %.2f | %.1f |\n", x.name, float64(x.scans)/n, float64(x.rows)/n)
			}
			fmt.Fprintln(w)
		}
	}
	if p := d.probe; p != nil {
		fmt.Fprintf(w, "SQL per service item (probe: one batch of %d `servico_habilitado` items through a counting proxy, then the workers reactivating the same plans; includes River's own polling):\n\n", p.items)
		probeTable(w, []probeRow{{"POST /servicos/status (per item)", p.batch, p.items}, {"convergence by the workers (per plan)", p.work, p.items}})
	}
	writeProfiles(w, []string{d.profile})
}
