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
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/app"
	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/pkg/qualifica/qualificasim"
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
// that no DELETE removed more than one batch (1,000 rows), that the purge
// reads the created_at index, that the metric counts the rows, and that
// every API request was answered while the purge ran; it logs the longest
// purge statement, the API's latency during the purge and the table's
// bytes per row.
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

func retentionLargeTable(t *testing.T, dialect string, rows int) {
	ctx := context.Background()
	const (
		retention = 90 * 24 * time.Hour
		batch     = 1000
	)
	t0 := time.Now().UTC().Truncate(time.Second)
	clk := &clock{}
	clk.Set(t0)
	var (
		runsMu sync.Mutex
		runs   []purgeRun
	)
	e := newSimEnvWith(t, dialect, qualificasim.Options{}, clk, func(o *app.Options) {
		o.Provision.Logger = slog.New(purgeCapture{next: o.Logger.Handler(), mu: &runsMu, runs: &runs})
		o.Provision.TransmissionRetention = retention
		// Production batches (1,000 rows, at most 100 per sweep, 50 ms
		// apart); sweeps every 250 ms instead of every minute, so the test
		// does in a minute what production spreads over ten.
		o.Provision.SweepEvery = 250 * time.Millisecond
	})
	_, pkg := e.catalogue(nil, nil, "29.90", "pro")
	require.Equal(t, 201, e.putService(9001, nil).Status)
	r := e.do("POST", "/api/v1/servicos/9001/pacotes", map[string]any{"id_pacote": pkg})
	require.Equal(t, 201, r.Status, "%s", r.Body)
	sub := idOf(r.JSON(t), "id_assinatura")
	e.waitStatus(sub, "ativo")

	// The log: 90 % of the rows between 89 and 81 days old (inside the
	// retention now, past it once the clock moves 10 days), the rest
	// between 79 days and 1 hour old (kept).
	expired, recent := rows*9/10, rows-rows*9/10
	fillStart := time.Now()
	require.NoError(t, storetest.FillTransmissions(ctx, e.db.SQL(), dialect, storetest.Fill{Rows: expired,
		From: t0.Add(-89 * 24 * time.Hour), To: t0.Add(-81 * 24 * time.Hour)}))
	require.NoError(t, storetest.FillTransmissions(ctx, e.db.SQL(), dialect, storetest.Fill{Rows: recent,
		From: t0.Add(-79 * 24 * time.Hour), To: t0.Add(-time.Hour)}))
	t.Logf("%s: %d transmissions inserted in %s", dialect, rows, time.Since(fillStart).Round(time.Millisecond))
	if dialect == store.DialectPostgres {
		_, err := e.db.SQL().ExecContext(ctx, "ANALYZE transmissions") // autovacuum's job; the local server has it off
		require.NoError(t, err)
	}
	logTransmissionSize(t, e, dialect)
	cutoff := t0.Add(10*24*time.Hour - retention)
	plan, err := e.db.ExplainTransmissionPurge(ctx, cutoff, batch)
	require.NoError(t, err)
	require.Contains(t, plan, "transmissions_created_idx", "the purge must read the created_at index:\n%s", plan)
	t.Logf("%s: purge plan:\n%s", dialect, plan)

	countBefore := func(ts time.Time) (n int64) {
		require.NoError(t, e.db.Gorm().Raw("SELECT count(*) FROM transmissions WHERE created_at < ?", ts.UTC()).Scan(&n).Error)
		return n
	}
	require.EqualValues(t, expired, countBefore(cutoff))

	// A client uses the API while the sweep purges.
	stop := make(chan struct{})
	var (
		samplesMu sync.Mutex
		samples   []apiSample
		loadDone  sync.WaitGroup
	)
	loadDone.Add(1)
	go func() {
		defer loadDone.Done()
		samples = runRetentionLoad(e, sub, stop, &samplesMu)
	}()
	// A few seconds of load before the purge, as a baseline.
	baselineStart := time.Now()
	time.Sleep(5 * time.Second)
	purgeStart := time.Now()
	clk.Set(t0.Add(10 * 24 * time.Hour))
	var completedDuring atomic.Int64
	deadline := time.Now().Add(20 * time.Minute)
	for countBefore(cutoff) > 0 {
		require.True(t, time.Now().Before(deadline), "expired transmissions left after 20 minutes: %d", countBefore(cutoff))
		time.Sleep(200 * time.Millisecond)
	}
	purgeEnd := time.Now()
	close(stop)
	loadDone.Wait()

	// Exactly the expired rows are gone.
	var kept int64
	require.NoError(t, e.db.Gorm().Raw("SELECT count(*) FROM transmissions WHERE created_at >= ? AND created_at < ?",
		cutoff.UTC(), t0.Add(-30*time.Minute).UTC()).Scan(&kept).Error)
	require.EqualValues(t, recent, kept)

	// In bounded batches, counted by the metric (the last sweep reports
	// once its final, empty batch is done).
	var (
		total, batches int64
		longest        time.Duration
		nRuns          int
	)
	e.eventually(fmt.Sprintf("the sweeps to report every purged row (%d)", expired), func() bool {
		runsMu.Lock()
		defer runsMu.Unlock()
		total, batches, longest, nRuns = 0, 0, 0, len(runs)
		for _, run := range runs {
			require.LessOrEqual(t, run.maxBatchRows, int64(batch), "one DELETE removed more than a batch")
			total += run.rows
			batches += run.batches
			longest = max(longest, run.longest)
		}
		return total >= int64(expired)
	})
	require.EqualValues(t, expired, total, "%d sweeps reported: %+v", nRuns, runs)
	require.GreaterOrEqual(t, batches, int64(expired/batch))
	require.EqualValues(t, expired, scrapeCounter(t, e, "svahub_transmissions_purged_total"))

	// The API kept answering.
	samplesMu.Lock()
	defer samplesMu.Unlock()
	byRoute, before := map[string][]time.Duration{}, map[string][]time.Duration{}
	for _, s := range samples {
		require.Empty(t, s.err, "%s failed during the purge", s.route)
		switch {
		case s.at.After(purgeStart) && s.at.Before(purgeEnd):
			byRoute[s.route] = append(byRoute[s.route], s.took)
			completedDuring.Add(1)
		case s.at.After(baselineStart) && s.at.Before(purgeStart):
			before[s.route] = append(before[s.route], s.took)
		}
	}
	for _, route := range []string{"GET /servicos/{id}", "GET /transmissoes", "PUT /servicos/{id}/status"} {
		require.NotEmpty(t, byRoute[route], "no %s answered while the purge ran", route)
	}
	t.Logf("%s: %d expired of %d rows purged in %s by %d sweeps, %d DELETEs of at most %d rows; longest DELETE %s",
		dialect, expired, rows, purgeEnd.Sub(purgeStart).Round(time.Millisecond), nRuns, batches, batch, longest.Round(time.Microsecond))
	for route, lat := range byRoute {
		t.Logf("%s: %s: before the purge %s; during it %s", dialect, route, latencies(before[route]), latencies(lat))
	}
	t.Logf("%s: %d API requests answered during the purge", dialect, completedDuring.Load())
}

// runRetentionLoad sends, until stop closes, one request after the other:
// the service, a page of its transmissions, and a status change that gives
// the workers platform work (and so new transmissions).
func runRetentionLoad(e *simEnv, sub int64, stop chan struct{}, mu *sync.Mutex) []apiSample {
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
		mu.Lock()
		out = append(out, s)
		mu.Unlock()
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
func scrapeCounter(t *testing.T, e *simEnv, name string) float64 {
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
func logTransmissionSize(t *testing.T, e *simEnv, dialect string) {
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
