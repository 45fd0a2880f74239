package modeltest

// The harness: one whole svahub (app.New: API, store, River workers, the
// Qualifica adapter) over a fresh database and a fresh strict simulator per
// rapid check. Only this file knows svahub's packages, to wire them.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/svahub/svahub/internal/app"
	"github.com/svahub/svahub/internal/provision"
	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/internal/svahub"
	"github.com/svahub/svahub/pkg/qualifica"
	"github.com/svahub/svahub/pkg/qualifica/qualificasim"
)

// tb is what both *testing.T and *rapid.T offer: the machine runs under
// rapid, and the regression examples run its steps under plain tests.
type tb interface {
	Helper()
	Logf(format string, args ...any)
	Fatalf(format string, args ...any)
	Fatal(args ...any)
	Skip(args ...any)
	Cleanup(f func())
	Context() context.Context
}

// clock is the settable clock shared by svahub and the simulator.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// checkTB scopes storetest's cleanups and temp dirs to one rapid check.
type checkTB struct {
	testing.TB
	mu       sync.Mutex
	cleanups []func()
}

func (c *checkTB) Cleanup(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cleanups = append(c.cleanups, f)
}

func (c *checkTB) TempDir() string {
	d, err := os.MkdirTemp("", "svahub-modeltest-")
	if err != nil {
		c.Fatal(err)
	}
	c.Cleanup(func() { _ = os.RemoveAll(d) })
	return d
}

func (c *checkTB) run() {
	for i := len(c.cleanups) - 1; i >= 0; i-- {
		c.cleanups[i]()
	}
}

// world is svahub and the simulator for one check.
type world struct {
	t       tb
	dialect string
	clk     *clock
	loc     *time.Location
	sim     *qualificasim.Sim
	simURL  string
	db      *store.DB
	app     *app.App
	handler atomic.Pointer[http.Handler]
	srv     *httptest.Server
	key     string
	logs    *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() > 4<<20 {
		s.b.Reset()
	}
	return s.b.Write(p)
}

func (s *syncBuffer) tail(n int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	lines := strings.Split(s.b.String(), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// start is 2026-11-20 12:00 in São Paulo.
var start = time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)

func newWorld(outer *testing.T, t tb, dialect string) *world {
	loc, err := time.LoadLocation("America/Sao_Paulo")
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, dialect: dialect, clk: &clock{now: start}, loc: loc, logs: &syncBuffer{}}
	ctb := &checkTB{TB: outer}
	t.Cleanup(ctb.run)
	cat := append(qualificasim.DefaultCatalogue(), qualifica.Product{Code: fixedCode, Name: "Bônus"})
	w.sim = qualificasim.New(qualificasim.Options{Now: w.clk.Now, Catalogue: cat, TimeoutDelay: 150 * time.Millisecond, Seed: 7})
	simSrv := httptest.NewServer(w.sim)
	w.simURL = simSrv.URL
	ctb.Cleanup(func() { w.sim.Close(); simSrv.Close() })
	log := slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	w.db = storetest.Open(ctb, dialect, storetest.Options{Logger: log, Location: loc, Now: w.clk.Now})
	w.startApp(simSrv.URL, log)
	ctb.Cleanup(func() { w.stopApp(5 * time.Second) })
	_, key, err := w.db.CreateAPIKey(context.Background(), "modeltest", svahub.ScopeWrite)
	if err != nil {
		t.Fatal(err)
	}
	w.key = key
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { (*w.handler.Load()).ServeHTTP(rw, r) }))
	ctb.Cleanup(w.srv.Close)
	return w
}

func (w *world) startApp(url string, log *slog.Logger) {
	opts := app.Options{Logger: log, Location: w.loc, QualificaURL: url, PlatformTimeout: 2 * time.Second, PlatformRateLimit: 1000, Workers: true,
		Provision: provision.Options{FetchPollInterval: 10 * time.Millisecond, RetryBase: 10 * time.Millisecond, RetryMax: 100 * time.Millisecond}}
	a, err := app.New(context.Background(), w.db, opts)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		w.t.Fatal(err)
	}
	w.app = a
	var h http.Handler = a.API
	w.handler.Store(&h)
}

func (w *world) stopApp(grace time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	_ = w.app.Stop(ctx)
}

// restart stops the engine mid-work (a short grace, then running jobs are
// cancelled) and starts a new App on the same database.
func (w *world) restart() {
	w.stopApp(30 * time.Millisecond)
	w.startApp(w.simURL, slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelInfo})))
}

type resp struct {
	status int
	body   []byte
}

func (r resp) json(t tb) map[string]any {
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return m
}

// call sends one API request; a 5xx fails the check at once.
func (w *world) call(method, path string, body any, idemKey string) resp {
	w.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, w.srv.URL+"/api/v1"+path, rd)
	req.Header.Set("Authorization", "Bearer "+w.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	res, err := w.srv.Client().Do(req)
	if err != nil {
		w.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 500 {
		w.t.Fatalf("%s %s: %d (no 5xx allowed): %s", method, path, res.StatusCode, raw)
	}
	return resp{status: res.StatusCode, body: raw}
}

// must sends a request that has to answer want.
func (w *world) must(want int, method, path string, body any) map[string]any {
	w.t.Helper()
	r := w.call(method, path, body, "")
	if r.status != want {
		w.t.Fatalf("%s %s %v: status %d, want %d: %s", method, path, body, r.status, want, r.body)
	}
	if len(r.body) == 0 {
		return nil
	}
	return r.json(w.t)
}

var liveStates = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
	rivertype.JobStateRetryable, rivertype.JobStateScheduled}

func (w *world) jobs(states ...rivertype.JobState) []*rivertype.JobRow {
	res, err := w.app.Engine.Client().JobList(context.Background(), river.NewJobListParams().Kinds("converge_plan").States(states...).First(1000))
	if err != nil {
		w.t.Fatalf("job list: %v", err)
	}
	return res.Jobs
}

// drain waits (bounded) until no convergence job is left to run.
func (w *world) drain() {
	w.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for quiet := 0; quiet < 2; {
		if len(w.jobs(liveStates...)) == 0 {
			quiet++
		} else {
			quiet = 0
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for _, j := range w.jobs(liveStates...) {
				fmt.Fprintf(&b, "\n  job %d %s %s attempt %d errors %v", j.ID, j.State, j.EncodedArgs, j.Attempt, j.Errors)
			}
			w.t.Fatalf("work did not drain in 30 s (a job failing forever?):%s\nlog:\n%s", b.String(), w.logs.tail(40))
		}
		time.Sleep(15 * time.Millisecond)
	}
}

func (w *world) today() day { return day(w.clk.Now().In(w.loc).Format(dateLayout)) }
