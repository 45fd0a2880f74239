package httpapi_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/app"
	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/store/storetest"
)

// EnvRetentionRows sets the size of TestRetentionSweepLargeTable (default
// 50,000 rows; .ci/run sets 1,000,000).
const EnvRetentionRows = "SVAHUB_TEST_RETENTION_ROWS"

// purgeRun is one "transmissions purged" log record of the sweep.
type purgeRun struct {
	rows, batches, maxBatchRows int64
	longest                     time.Duration
}

// purgeCapture is a slog handler that records the sweep's purge reports
// and passes every record on.
type purgeCapture struct {
	next slog.Handler
	mu   *sync.Mutex
	runs *[]purgeRun
}

func (h purgeCapture) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }
func (h purgeCapture) WithAttrs(a []slog.Attr) slog.Handler {
	return purgeCapture{next: h.next.WithAttrs(a), mu: h.mu, runs: h.runs}
}
func (h purgeCapture) WithGroup(n string) slog.Handler {
	return purgeCapture{next: h.next.WithGroup(n), mu: h.mu, runs: h.runs}
}
func (h purgeCapture) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "transmissions purged" {
		var run purgeRun
		r.Attrs(func(a slog.Attr) bool {
			switch a.Key {
			case "rows":
				run.rows = a.Value.Int64()
			case "batches":
				run.batches = a.Value.Int64()
			case "max_batch_rows":
				run.maxBatchRows = a.Value.Int64()
			case "longest_statement":
				run.longest = a.Value.Duration()
			}
			return true
		})
		h.mu.Lock()
		*h.runs = append(*h.runs, run)
		h.mu.Unlock()
	}
	return h.next.Handle(ctx, r)
}

// apiSample is one request of the load that runs during the purge.
type apiSample struct {
	route string
	at    time.Time // when the answer arrived
	took  time.Duration
	err   string
}

// TestRetentionSweepLargeTable fills the transmissions table with rows (90 %
// of them to expire), moves the clock so they are past the 90-day
// retention, and lets the periodic River sweep delete them while a client
// keeps using the API (reads and status changes whose platform work adds
// transmissions). It checks that every expired row and no other is gone,
// that no DELETE removed more than one batch (1,000 rows; 250 on SQLite),
// that the purge reads the created_at index, that the metric counts the
// rows, and that every API request was answered while the purge ran; it
// logs the longest purge statement, the API's latency before and during
// the purge and the table's bytes per row.
func TestRetentionSweepLargeTable(t *testing.T) {
	t.Parallel()
	rows := 50_000
	if v := os.Getenv(EnvRetentionRows); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(t, err, EnvRetentionRows)
		rows = n
	}
	storetest.Each(t, func(t *testing.T, dialect string) {
		retentionLargeTable(t, dialect, rows)
	})
}

// retentionRun is one dialect's run of TestRetentionSweepLargeTable.
type retentionRun struct {
	t        *testing.T
	e        *harness
	dialect  string
	clk      *clock
	t0       time.Time
	sub      int64
	batch    int
	expired  int
	recent   int
	cutoff   time.Time // created_at of the expired rows, once the clock moved
	runsMu   sync.Mutex
	runs     []purgeRun
	baseline time.Time // the load started
	start    time.Time // the clock moved: the purge began
	end      time.Time // every expired row purged
	samples  []apiSample
}

// retention is svahub's default transmission retention.
const retention = 90 * 24 * time.Hour

func retentionLargeTable(t *testing.T, dialect string, rows int) {
	r := &retentionRun{t: t, dialect: dialect, clk: &clock{}, t0: time.Now().UTC().Truncate(time.Second),
		expired: rows * 9 / 10, recent: rows - rows*9/10}
	r.cutoff = r.t0.Add(10*24*time.Hour - retention)
	r.clk.Set(r.t0)
	r.e = newHarness(t, dialect, withClock(r.clk), withTune(func(o *app.Options) {
		o.Provision.Logger = slog.New(purgeCapture{next: o.Logger.Handler(), mu: &r.runsMu, runs: &r.runs})
		o.Provision.TransmissionRetention = retention
		// Production batches (250 or 1,000 rows, at most 100,000 per
		// sweep, backing off when the database is slow), but sweeps every
		// 250 ms instead of every minute, and at least 10 ms apart instead
		// of 50: the test purges faster than production would, which only
		// makes it harder on the API.
		o.Provision.SweepEvery = 250 * time.Millisecond
		o.Provision.Purge.Pause = 10 * time.Millisecond
	}))
	r.batch = r.e.db.PurgeDefaults(store.PurgeOptions{}).BatchSize // 1,000 on PostgreSQL, 250 on SQLite
	_, pkg := r.e.catalogue(nil, nil, "29.90", "pro")
	require.Equal(t, 201, r.e.putService(9001, nil).Status)
	res := r.e.do("POST", "/api/v1/servicos/9001/pacotes", map[string]any{"id_pacote": pkg})
	require.Equal(t, 201, res.Status, "%s", res.Body)
	r.sub = idOf(res.JSON(t), "id_assinatura")
	r.e.waitStatus(r.sub, "ativo")

	r.fill()
	r.purgeUnderLoad()
	r.checkPurge()
	r.checkAPI()
}

// fill inserts the log: 90 % of the rows between 89 and 81 days old
// (inside the retention now, past it once the clock moves 10 days), the
// rest between 79 days and 1 hour old (kept); then it checks that the
// purge statement reads the created_at index.
func (r *retentionRun) fill() {
	t, e, ctx := r.t, r.e, context.Background()
	start := time.Now()
	require.NoError(t, storetest.FillTransmissions(ctx, e.db.SQL(), r.dialect, storetest.Fill{Rows: r.expired,
		From: r.t0.Add(-89 * 24 * time.Hour), To: r.t0.Add(-81 * 24 * time.Hour)}))
	require.NoError(t, storetest.FillTransmissions(ctx, e.db.SQL(), r.dialect, storetest.Fill{Rows: r.recent,
		From: r.t0.Add(-79 * 24 * time.Hour), To: r.t0.Add(-time.Hour)}))
	t.Logf("%s: %d transmissions inserted in %s", r.dialect, r.expired+r.recent, time.Since(start).Round(time.Millisecond))
	if r.dialect == store.DialectPostgres {
		_, err := e.db.SQL().ExecContext(ctx, "ANALYZE transmissions") // autovacuum's job; the local server has it off
		require.NoError(t, err)
	}
	logTransmissionSize(t, e, r.dialect)
	plan, err := e.db.ExplainTransmissionPurge(ctx, r.cutoff, r.batch)
	require.NoError(t, err)
	require.Contains(t, plan, "transmissions_created_idx", "the purge must read the created_at index:\n%s", plan)
	t.Logf("%s: purge plan:\n%s", r.dialect, plan)
	require.EqualValues(t, r.expired, r.countBefore(r.cutoff))
}

func (r *retentionRun) countBefore(ts time.Time) (n int64) {
	require.NoError(r.t, r.e.db.Gorm().Raw("SELECT count(*) FROM transmissions WHERE created_at < ?", ts.UTC()).Scan(&n).Error)
	return n
}

// purgeUnderLoad runs a client for a few seconds (the baseline), moves the
// clock 10 days so the sweep starts purging, and waits, watching the
// metric (a count on SQLite's one connection would hold up the API it
// measures), until every expired row is gone.
func (r *retentionRun) purgeUnderLoad() {
	t := r.t
	stop := make(chan struct{})
	done := make(chan []apiSample)
	go func() { done <- runRetentionLoad(r.e, r.sub, stop) }()
	r.baseline = time.Now()
	time.Sleep(5 * time.Second)
	r.start = time.Now()
	r.clk.Set(r.t0.Add(10 * 24 * time.Hour))
	deadline := time.Now().Add(20 * time.Minute)
	for scrapeCounter(t, r.e, "svahub_transmissions_purged_total") < float64(r.expired) {
		if time.Now().After(deadline) {
			close(stop)
			<-done
			t.Fatalf("expired transmissions left after 20 minutes: %d", r.countBefore(r.cutoff))
		}
		time.Sleep(200 * time.Millisecond)
	}
	r.end = time.Now()
	close(stop)
	r.samples = <-done
}

// checkPurge: exactly the expired rows are gone, in bounded batches,
// counted by the metric.
func (r *retentionRun) checkPurge() {
	t, e := r.t, r.e
	require.Zero(t, r.countBefore(r.cutoff), "expired transmissions left")
	var kept int64
	require.NoError(t, e.db.Gorm().Raw("SELECT count(*) FROM transmissions WHERE created_at >= ? AND created_at < ?",
		r.cutoff.UTC(), r.t0.Add(-30*time.Minute).UTC()).Scan(&kept).Error)
	require.EqualValues(t, r.recent, kept)
	var (
		total, batches int64
		longest        time.Duration
		nRuns          int
	)
	// The last sweep reports once its final, empty batch is done.
	e.eventually(fmt.Sprintf("the sweeps to report every purged row (%d)", r.expired), func() bool {
		r.runsMu.Lock()
		defer r.runsMu.Unlock()
		total, batches, longest, nRuns = 0, 0, 0, len(r.runs)
		for _, run := range r.runs {
			require.LessOrEqual(t, run.maxBatchRows, int64(r.batch), "one DELETE removed more than a batch")
			total += run.rows
			batches += run.batches
			longest = max(longest, run.longest)
		}
		return total >= int64(r.expired)
	})
	require.EqualValues(t, r.expired, total, "%d sweeps reported", nRuns)
	require.GreaterOrEqual(t, batches, int64(r.expired/r.batch))
	require.EqualValues(t, r.expired, scrapeCounter(t, e, "svahub_transmissions_purged_total"))
	t.Logf("%s: %d expired of %d rows purged in %s by %d sweeps, %d DELETEs of at most %d rows; longest DELETE %s",
		r.dialect, r.expired, r.expired+r.recent, r.end.Sub(r.start).Round(time.Millisecond), nRuns, batches, r.batch, longest.Round(time.Microsecond))
}

// checkAPI: every request was answered, each kind also while the purge
// ran; it logs the latencies before and during the purge.
func (r *retentionRun) checkAPI() {
	during, before := map[string][]time.Duration{}, map[string][]time.Duration{}
	n := 0
	for _, s := range r.samples {
		require.Empty(r.t, s.err, "%s failed", s.route)
		switch {
		case s.at.After(r.start) && s.at.Before(r.end):
			during[s.route] = append(during[s.route], s.took)
			n++
		case s.at.After(r.baseline) && s.at.Before(r.start):
			before[s.route] = append(before[s.route], s.took)
		}
	}
	for _, route := range []string{"GET /servicos/{id}", "GET /transmissoes", "PUT /servicos/{id}/status"} {
		require.NotEmpty(r.t, during[route], "no %s answered while the purge ran", route)
		r.t.Logf("%s: %s: before the purge %s; during it %s", r.dialect, route, latencies(before[route]), latencies(during[route]))
	}
	r.t.Logf("%s: %d API requests answered during the purge", r.dialect, n)
}

// runRetentionLoad sends, until stop closes, one request after the other:
// the service, a page of its transmissions, and a status change that gives
// the workers platform work (and so new transmissions).
func runRetentionLoad(e *harness, sub int64, stop chan struct{}) []apiSample {
	var out []apiSample
	statuses := []string{"suspenso_pedido_cliente", "servico_habilitado"}
	reqs := []struct {
		route, method, path string
		body                func(i int) string
	}{
		{"GET /servicos/{id}", "GET", "/api/v1/servicos/9001", nil},
		{"GET /transmissoes", "GET", fmt.Sprintf("/api/v1/transmissoes?id_assinatura=%d&itens_por_pagina=10", sub), nil},
		{"PUT /servicos/{id}/status", "PUT", "/api/v1/servicos/9001/status", func(i int) string {
			return fmt.Sprintf(`{"status_prefixo":%q}`, statuses[i%2])
		}},
	}
	for i := 0; ; i++ {
		select {
		case <-stop:
			return out
		default:
		}
		q := reqs[i%len(reqs)]
		var body io.Reader
		if q.body != nil {
			body = strings.NewReader(q.body(i / len(reqs)))
		}
		s := apiSample{route: q.route}
		req, err := http.NewRequest(q.method, e.srv.URL+q.path, body)
		if err != nil {
			s.err = err.Error()
		} else {
			req.Header.Set("Authorization", "Bearer "+e.key)
			req.Header.Set("Content-Type", "application/json")
			start := time.Now()
			res, err := e.srv.Client().Do(req)
			s.took, s.at = time.Since(start), time.Now()
			switch {
			case err != nil:
				s.err = err.Error()
			case res.StatusCode != 200:
				raw, _ := io.ReadAll(res.Body)
				s.err = fmt.Sprintf("status %d: %s", res.StatusCode, raw)
			}
			if res != nil {
				_, _ = io.Copy(io.Discard, res.Body)
				_ = res.Body.Close()
			}
		}
		out = append(out, s)
	}
}

// latencies summarises request durations.
func latencies(lat []time.Duration) string {
	if len(lat) == 0 {
		return "no request"
	}
	slices.Sort(lat)
	r := func(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }
	return fmt.Sprintf("%d answered, p50 %s, p99 %s, max %s", len(lat), r(lat[len(lat)/2]), r(lat[len(lat)*99/100]), r(lat[len(lat)-1]))
}

// scrapeCounter reads an unlabelled counter from GET /metrics.
func scrapeCounter(t *testing.T, e *harness, name string) float64 {
	t.Helper()
	res, err := e.srv.Client().Get(e.srv.URL + "/metrics")
	require.NoError(t, err)
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			require.NoError(t, err)
			return f
		}
	}
	t.Fatalf("%s not in /metrics", name)
	return 0
}

// logTransmissionSize logs the bytes on disk per transmission row (table
// and its indexes): pg_total_relation_size on PostgreSQL, the dbstat
// virtual table (pages of the table and its indexes) on SQLite.
func logTransmissionSize(t *testing.T, e *harness, dialect string) {
	t.Helper()
	var n, table, total int64
	require.NoError(t, e.db.Gorm().Raw("SELECT count(*) FROM transmissions").Scan(&n).Error)
	if dialect == store.DialectPostgres {
		require.NoError(t, e.db.SQL().QueryRow("SELECT pg_relation_size('transmissions'), pg_total_relation_size('transmissions')").Scan(&table, &total))
	} else {
		require.NoError(t, e.db.SQL().QueryRow(`SELECT coalesce(sum(CASE WHEN name = 'transmissions' THEN pgsize END), 0), sum(pgsize) FROM dbstat
			WHERE name = 'transmissions' OR name LIKE 'transmissions\_%' ESCAPE '\'`).Scan(&table, &total))
	}
	t.Logf("%s: transmissions: %d rows, table %d B (%.0f B/row), with indexes %d B (%.0f B/row)",
		dialect, n, table, float64(table)/float64(n), total, float64(total)/float64(n))
}
