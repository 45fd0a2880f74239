// Package app wires svahub's adapters together: the store, the platform
// registry and manager, the provisioning engine and the HTTP API. The
// svahub command and the end-to-end tests build the same App.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/svahub/svahub/internal/httpapi"
	"github.com/svahub/svahub/internal/metrics"
	"github.com/svahub/svahub/internal/platform"
	"github.com/svahub/svahub/internal/platform/egress"
	qualificaadapter "github.com/svahub/svahub/internal/platform/qualifica"
	webhookadapter "github.com/svahub/svahub/internal/platform/webhook"
	"github.com/svahub/svahub/internal/provision"
	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/svahub"
)

// Options configure an App.
type Options struct {
	Logger *slog.Logger
	// Location is the business time zone.
	Location *time.Location
	// QualificaURL is the default Qualifica base URL (SVAHUB_QUALIFICA_URL).
	QualificaURL string
	// PlatformTimeout bounds one platform call.
	PlatformTimeout time.Duration
	// PlatformRateLimit is the default requests per second per integration.
	PlatformRateLimit float64
	// PlatformAllowedHosts are the exceptions to the refusal of internal
	// platform addresses (SVAHUB_PLATFORM_ALLOWED_HOSTS); the host of
	// QualificaURL is always allowed.
	PlatformAllowedHosts []string
	// PlatformLookup replaces DNS for platform addresses (tests only).
	PlatformLookup egress.Lookup
	// PlatformRetryAfterMax caps a platform's Retry-After (default 10 min).
	PlatformRetryAfterMax time.Duration
	// TrustedProxies are the proxies whose X-Forwarded-For names the client.
	TrustedProxies []*net.IPNet
	// Registry overrides the platform adapters (tests); default:
	// DefaultRegistry. Every platform in it must be declared to the store
	// too (store.Options.Adapters).
	Registry svahub.Registry
	// Workers runs the provisioning workers in this process (else the
	// engine only inserts jobs).
	Workers bool
	// Provision tunes the provisioning engine.
	Provision provision.Options
	// Metrics tunes the Prometheus metrics (database gauges); Stats,
	// Platforms and Logger are filled in by New when empty.
	Metrics metrics.Options
}

// App is a wired svahub.
type App struct {
	DB        *store.DB
	Platforms *platform.Manager
	Catalogue *platform.Catalogue
	Engine    *provision.Engine
	API       *httpapi.Server
	// Ops serves only /healthz, /readyz and /metrics (worker processes).
	Ops *httpapi.Server
	// Metrics holds the Prometheus metrics served at GET /metrics.
	Metrics *metrics.Metrics
	log     *slog.Logger
}

// New wires an App over an open, migrated database.
func New(ctx context.Context, db *store.DB, o Options) (*App, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	reg, err := registry(o, db)
	if err != nil {
		return nil, err
	}
	pol, err := egress.New(o.PlatformAllowedHosts, o.QualificaURL)
	if err != nil {
		return nil, fmt.Errorf("SVAHUB_PLATFORM_ALLOWED_HOSTS: %w", err)
	}
	if o.PlatformLookup != nil {
		pol = pol.WithLookup(o.PlatformLookup)
	}
	a := &App{DB: db, log: o.Logger}
	mo := o.Metrics
	if mo.Stats == nil {
		mo.Stats = db
	}
	if mo.Logger == nil {
		mo.Logger = o.Logger
	}
	if len(mo.Platforms) == 0 {
		for name := range reg {
			mo.Platforms = append(mo.Platforms, name)
		}
	}
	a.Metrics = metrics.New(mo)
	a.Platforms = newPlatforms(db, o, reg, pol, a.Metrics)
	a.Catalogue = platform.NewCatalogue(db, a.Platforms)
	po := o.Provision
	if po.Logger == nil {
		po.Logger = o.Logger
	}
	if po.JobTimeout == 0 && o.PlatformTimeout > 0 {
		// A job makes at most a handful of platform calls (token, user,
		// plan, reactivation), each bounded by the platform timeout.
		// Plus room for database and rate-limiter waits on a busy host.
		po.JobTimeout = 6*o.PlatformTimeout + 10*time.Second
	}
	if po.Observer == nil {
		po.Observer = a.Metrics
	}
	eng, err := provision.New(db, a.Platforms, o.Workers, po)
	if err != nil {
		return nil, err
	}
	a.Engine = eng
	deps := httpapi.Deps{
		Catalogue:      a.Catalogue,
		Platform:       a.Catalogue,
		Services:       db,
		Billing:        db,
		Idempotency:    db,
		APIKeys:        db,
		Transmissions:  db,
		Erasure:        db,
		Location:       o.Location,
		Ready:          Readiness(db),
		Logger:         o.Logger,
		Metrics:        a.Metrics.Middleware(),
		MetricsHandler: a.Metrics.Handler(),
		TrustedProxies: o.TrustedProxies,
	}
	a.API = httpapi.New(deps)
	a.Ops = httpapi.NewOps(deps)
	return a, nil
}

// newPlatforms builds the platform manager; on a database several
// processes share, they share each integration's rate limit too.
func newPlatforms(db *store.DB, o Options, reg map[string]svahub.Adapter, pol *egress.Policy, m *metrics.Metrics) *platform.Manager {
	popts := platform.Options{
		Registry: reg, Timeout: o.PlatformTimeout, RateLimitRPS: o.PlatformRateLimit, Logger: o.Logger, Egress: pol,
		RetryAfterMax: o.PlatformRetryAfterMax,
		Observer:      m.ObservePlatformCall,
		RateObserver:  m.PlatformRate,
	}
	if db.MultiProcess() {
		popts.Budget = &platform.BudgetOptions{Store: db}
	}
	return platform.NewManager(db, popts)
}

// Start starts the workers (when the App was built with Workers), after
// taking this process's share of every integration's platform budget.
// Cancelling ctx does not stop them: Stop drains them gracefully.
func (a *App) Start(ctx context.Context) error {
	if err := a.Platforms.HoldBudget(ctx); err != nil {
		return err
	}
	return a.Engine.Start(context.WithoutCancel(ctx))
}

// Stop drains running jobs until ctx ends, then hands this process's
// budget share back to the others.
func (a *App) Stop(ctx context.Context) error {
	err := a.Engine.Stop(ctx)
	if rerr := a.Platforms.ReleaseBudget(context.WithoutCancel(ctx)); rerr != nil {
		a.log.Warn("platform budget: leave", "err", rerr)
	}
	return err
}

// sealCheckEvery is how long Readiness trusts its last check that every
// stored secret opens with this process's keys.
const sealCheckEvery = time.Minute

// Readiness reports whether the database answers, is fully migrated and
// holds no secret this process's keys cannot open. The secrets check reads
// the sealed columns, so it runs in the background at most once a minute,
// each run bounded by its own timeout rather than the probe's; probes
// answer its last result (the first probes wait for the first run).
func Readiness(db *store.DB) func(ctx context.Context) error {
	sc := &sealCheck{db: db, first: make(chan struct{})}
	return func(ctx context.Context) error {
		if err := db.Ping(ctx); err != nil {
			return svahub.Errorf(svahub.EUNAVAILABLE, "banco de dados inacessível")
		}
		pending, err := db.Pending(ctx)
		if err != nil {
			return svahub.Errorf(svahub.EUNAVAILABLE, "não foi possível verificar as migrações")
		}
		if pending {
			return svahub.Errorf(svahub.EUNAVAILABLE, "migrações pendentes")
		}
		return sc.result(ctx)
	}
}

// sealCheck runs store.CheckSealKeys in the background and keeps its
// last result.
type sealCheck struct {
	db    *store.DB
	first chan struct{} // closed when the first run ends

	mu      sync.Mutex
	running bool
	at      time.Time
	err     error
}

func (c *sealCheck) result(ctx context.Context) error {
	c.mu.Lock()
	if !c.running && (c.at.IsZero() || time.Since(c.at) >= sealCheckEvery) {
		c.running = true
		go c.run()
	}
	c.mu.Unlock()
	select {
	case <-c.first:
	case <-ctx.Done():
		return svahub.Errorf(svahub.EUNAVAILABLE, "verificando as chaves dos segredos")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if errors.Is(c.err, context.DeadlineExceeded) {
		return svahub.Errorf(svahub.EUNAVAILABLE, "não foi possível verificar as chaves dos segredos a tempo")
	}
	if c.err != nil {
		return svahub.Errorf(svahub.EUNAVAILABLE,
			"há segredos cifrados com uma chave que este processo não tem: confira SVAHUB_SECRET_KEY, SVAHUB_SECRET_KEY_PREVIOUS e o arquivo svahub.key")
	}
	return nil
}

func (c *sealCheck) run() {
	ctx, cancel := context.WithTimeout(context.Background(), sealCheckEvery)
	defer cancel()
	err := c.db.CheckSealKeys(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.running = false
	if err != nil && ctx.Err() != nil && !c.at.IsZero() {
		return // timed out: keep the last result and try again later
	}
	first := c.at.IsZero()
	c.err, c.at = err, time.Now()
	if first {
		close(c.first)
	}
}

// registry is o.Registry or DefaultRegistry; every platform in it must be
// declared to the store, which checks and seals each platform's parametros.
func registry(o Options, db *store.DB) (svahub.Registry, error) {
	reg := o.Registry
	if reg == nil {
		reg = DefaultRegistry(o.QualificaURL)
	}
	for name := range reg {
		if _, ok := db.Adapters()[name]; !ok {
			return nil, fmt.Errorf("app: the store was opened without the declaration of platform %q (store.Options.Adapters)", name)
		}
	}
	return reg, nil
}

// DefaultRegistry maps every `plataforma` svahub ships to its adapter. A
// new platform is one package exporting its svahub.Adapter and one line
// here. qualificaURL is SVAHUB_QUALIFICA_URL (Qualifica's default address).
func DefaultRegistry(qualificaURL string) svahub.Registry {
	reg := svahub.Registry{}
	for _, a := range []svahub.Adapter{
		qualificaadapter.Declaration(qualificaURL),
		webhookadapter.Declaration(),
	} {
		reg[a.Name] = a
	}
	return reg
}
