package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"text/tabwriter"
	"time"

	"github.com/svahub/svahub/internal/app"
	"github.com/svahub/svahub/internal/buildinfo"
	"github.com/svahub/svahub/internal/config"
	"github.com/svahub/svahub/internal/provision"
	"github.com/svahub/svahub/internal/secret"
	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/svahub"
)

// newLogger builds the process logger (SVAHUB_LOG_LEVEL, SVAHUB_LOG_FORMAT).
// Durations are written as Go duration strings ("1.5s") in both formats,
// never as JSON nanoseconds.
func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.Level, ReplaceAttr: readableDuration}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// readableDuration renders a time.Duration attribute as its String().
func readableDuration(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		return slog.String(a.Key, a.Value.Duration().String())
	}
	return a
}

// openStore opens the configured database with its secret box.
func openStore(ctx context.Context, cfg config.Config, log *slog.Logger) (*store.DB, error) {
	key, prev, err := cfg.ResolveSecretKey(log)
	if err != nil {
		return nil, err
	}
	box, err := secret.NewBox(key, prev...)
	if err != nil {
		return nil, err
	}
	dsn := cfg.DatabaseURL
	if cfg.Dialect == config.DialectSQLite {
		dsn = cfg.SQLitePath
	}
	return store.Open(ctx, cfg.Dialect, dsn, store.Options{Sealer: box, Adapters: app.DefaultRegistry(cfg.QualificaURL), Location: cfg.Location, Logger: log, MaxOpenConns: cfg.DBMaxConns, MaxTx: cfg.DBMaxTx})
}

// openMigrated opens the configured database and applies pending
// migrations (serialised between processes on PostgreSQL).
func openMigrated(ctx context.Context, cfg config.Config, log *slog.Logger) (*store.DB, error) {
	db, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

func migrate(ctx context.Context, cfg config.Config, stderr io.Writer) error {
	log := newLogger(cfg, stderr)
	db, err := openMigrated(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	log.Info("database is up to date", "dialect", cfg.Dialect)
	return nil
}

const apikeyUsage = `usage:
  svahub apikey create --nome NAME [--escopo leitura|escrita]
  svahub apikey list
  svahub apikey revoke --id ID`

// apikeyFlagHelp says in the CLI's language (English, as its usage and
// every message it writes) what the store's field errors mean; the store
// words them in Portuguese for the API.
var apikeyFlagHelp = map[string]string{
	"nome":   "give a name of 1 to 100 characters",
	"escopo": "use leitura or escrita",
}

// apikey runs "svahub apikey create|list|revoke".
func apikey(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(apikeyUsage)
	}
	fs := flag.NewFlagSet("apikey "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		name, scope *string
		id          *int64
	)
	switch args[0] {
	case "create":
		name = fs.String("nome", "", "key name (who uses it)")
		scope = fs.String("escopo", string(svahub.ScopeRead), "leitura (GET only, the default) or escrita")
	case "list":
	case "revoke":
		id = fs.Int64("id", 0, "id of the key to revoke (see svahub apikey list)")
	default:
		return errors.New(apikeyUsage)
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q\n%s", fs.Arg(0), apikeyUsage)
	}
	if id != nil && *id <= 0 {
		return errors.New("--id: give the id of the key to revoke (svahub apikey list shows them)")
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	db, err := openMigrated(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	switch {
	case name != nil:
		k, plain, err := db.CreateAPIKey(ctx, *name, svahub.APIKeyScope(*scope))
		if err != nil {
			var se *svahub.Error
			if errors.As(err, &se) && len(se.Fields) > 0 {
				return fmt.Errorf("--%s: %s", se.Fields[0].Field, apikeyFlagHelp[se.Fields[0].Field])
			}
			return err
		}
		fmt.Fprintf(stderr, "API key %q (escopo %s) created; it is shown only once:\n", k.Name, k.Scope)
		fmt.Fprintln(stdout, plain)
		return nil
	case id != nil:
		if err := db.RevokeAPIKey(ctx, *id); err != nil {
			if svahub.ErrorCode(err) == svahub.ENOTFOUND {
				return fmt.Errorf("no live API key with id %d", *id)
			}
			return err
		}
		fmt.Fprintf(stdout, "API key %d revoked. Other running processes stop accepting it within 10 s.\n", *id)
		return nil
	}
	keys, err := db.ListAPIKeys(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNOME\tESCOPO\tPREFIXO\tCRIADA\tREVOGADA")
	for _, k := range keys {
		revoked := "-"
		if k.RevokedAt != nil {
			revoked = k.RevokedAt.In(cfg.Location).Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s…\t%s\t%s\n", k.ID, k.Name, k.Scope, k.Prefix, k.CreatedAt.In(cfg.Location).Format(time.DateTime), revoked)
	}
	return tw.Flush()
}

// bootstrapKey creates the first API key when the key table has never held
// one and prints it once, so a first run works with no set-up. Revoking
// every key never brings it back; of several processes starting together
// on an empty database, exactly one creates and prints it.
func bootstrapKey(ctx context.Context, db *store.DB, w io.Writer) error {
	plain, err := db.BootstrapAPIKey(ctx)
	if err != nil || plain == "" {
		return err
	}
	fmt.Fprintf(w, "\n  No API key existed, so one was created (escopo escrita). It is shown only this once:\n\n      %s\n\n  Use it as: Authorization: Bearer <key>. Create more with: svahub apikey create --nome NAME --escopo escrita|leitura\n\n", plain)
	return nil
}

// serve runs the API and/or the workers until ctx is cancelled, then drains.
// It binds SVAHUB_ADDR first, so a taken port fails before anything
// (migrations, the first API key, workers) has started.
func serve(ctx context.Context, cfg config.Config, api, workers bool, stderr io.Writer) error {
	log := newLogger(cfg, stderr)
	slog.SetDefault(log)
	log.Info("starting svahub", "version", buildinfo.Version(), "config", cfg, "api", api, "workers", workers)
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("SVAHUB_ADDR: listen %s: %w", cfg.Addr, err)
	}
	defer ln.Close()
	startPprof(cfg.PprofAddr, log)
	db, err := openMigrated(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.CheckSealKeys(ctx); err != nil {
		log.Error("stored secrets cannot be opened: /readyz answers 503 until the key is fixed",
			"err", err, "hint", "check SVAHUB_SECRET_KEY, SVAHUB_SECRET_KEY_PREVIOUS and, with SQLite, svahub.key")
	}
	if api {
		if err := bootstrapKey(ctx, db, stderr); err != nil {
			return err
		}
	}
	a, err := app.New(ctx, db, app.Options{
		Logger: log, Location: cfg.Location, QualificaURL: cfg.QualificaURL,
		PlatformTimeout: cfg.PlatformTimeout, PlatformRateLimit: cfg.PlatformRateLimit,
		PlatformAllowedHosts: cfg.PlatformAllowedHosts, PlatformRetryAfterMax: cfg.PlatformRetryAfterMax,
		TrustedProxies: cfg.TrustedProxyNets,
		Workers:        workers, Provision: provision.Options{MaxWorkers: cfg.MaxWorkers, LeaseTTL: cfg.LeaseTTL,
			TransmissionRetention: cfg.TransmissionRetention.Duration()},
	})
	if err != nil {
		return err
	}
	if workers {
		if err := a.Start(ctx); err != nil {
			return err
		}
		log.Info("workers started", "max_workers", cfg.MaxWorkers, "process", db.ProcessID(), "lease_ttl", cfg.LeaseTTL)
	}
	// A worker-only process still serves /healthz, /readyz and /metrics.
	srv := a.Ops.HTTPServer(cfg.Addr)
	if api {
		srv = a.API.HTTPServer(cfg.Addr)
	}
	errc := make(chan error, 1)
	log.Info("listening", "addr", ln.Addr().String())
	go func() { errc <- srv.Serve(ln) }()
	return drain(ctx, cfg, log, srv, errc, workers, a)
}

// drain waits for ctx to end (or the server to fail), then, within
// SVAHUB_SHUTDOWN_GRACE, stops the HTTP server (in-flight requests are
// answered) and the workers (no new job; running ones finish or are
// cancelled and handed back; leases released) at the same time.
func drain(ctx context.Context, cfg config.Config, log *slog.Logger, srv *http.Server, errc <-chan error, workers bool, a *app.App) error {
	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down", "grace", cfg.ShutdownGrace)
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			serveErr = err
		}
	}
	start := time.Now()
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
	defer cancel()
	httpDone := make(chan struct{})
	go func() {
		defer close(httpDone)
		if err := srv.Shutdown(sctx); err != nil {
			log.Warn("http shutdown", "err", err)
		}
	}()
	if workers {
		if err := a.Stop(sctx); err != nil {
			log.Warn("workers shutdown", "err", err)
		}
	}
	<-httpDone
	if serveErr != nil {
		return serveErr
	}
	log.Info("stopped", "took", time.Since(start))
	return nil
}

// statusReport is the output of svahub status (--json keys follow the
// API's Portuguese names).
type statusReport struct {
	GeneratedAt  time.Time           `json:"gerado_em"`
	Integrations []integrationStatus `json:"integracoes"`
	// QueueDepth counts every job waiting to run (periodic jobs included).
	QueueDepth int64 `json:"fila_total"`
}

type integrationStatus struct {
	ID          int64  `json:"id_integracao"`
	Description string `json:"descricao"`
	Platform    string `json:"plataforma"`
	Active      bool   `json:"ativo"`
	// Reconciliation says whether reconciliation applies to the platform:
	// "suportada", or "nao_suportada" for a platform that cannot be read
	// back (its adapter does not declare Reconcile, e.g. webhook).
	Reconciliation string              `json:"reconciliacao"`
	Token          statusToken         `json:"token"`
	Accesses       []statusAccessCount `json:"acessos"`
	InError        int64               `json:"acessos_em_erro"`
	// PlatformErrors counts transmissions answered erro or erro_temporario
	// in the last 24 hours.
	PlatformErrors int64 `json:"erros_plataforma_24h"`
	// QueueDepth counts the integration's plan jobs waiting to run
	// (available, retryable or scheduled).
	QueueDepth int64 `json:"fila"`
}

type statusToken struct {
	Status    svahub.TokenStatus `json:"status"`
	ExpiresAt *time.Time         `json:"expira_em"`
	Message   string             `json:"mensagem,omitempty"`
}

type statusAccessCount struct {
	Desired  string `json:"estado_desejado"`
	Platform string `json:"estado_plataforma"`
	Count    int64  `json:"quantidade"`
}

// statusState shows an empty access state as "nenhum".
func statusState(s svahub.AccessState) string {
	if s == svahub.AccessNone {
		return "nenhum"
	}
	return string(s)
}

// status prints, per integration, its token, its accesses by desired and
// platform state, the accesses in erro, the platform errors of the last
// 24 h and its queue depth. It only reads the database.
func status(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print JSON for machines")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("status: unexpected argument %q", fs.Arg(0))
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	if cfg.Dialect == config.DialectSQLite {
		// Opening a missing SQLite file would create it (and a key).
		if _, err := os.Stat(cfg.SQLitePath); err != nil {
			return fmt.Errorf("no database at %s (SVAHUB_DATABASE_URL): %w", cfg.SQLitePath, err)
		}
	}
	log := newLogger(cfg, stderr)
	db, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	pending, err := db.Pending(ctx)
	if err != nil {
		return err
	}
	if pending {
		return errors.New("the database has pending migrations: run svahub migrate")
	}
	now := time.Now().In(cfg.Location)
	integs, total, err := db.IntegrationStatuses(ctx, now.Add(-24*time.Hour))
	if err != nil {
		return err
	}
	rep := statusReport{GeneratedAt: now, QueueDepth: total, Integrations: make([]integrationStatus, len(integs))}
	for i, in := range integs {
		st := integrationStatus{ID: in.ID, Description: in.Description, Platform: in.Platform, Active: in.Active,
			Reconciliation: reconciliation(db.Adapters(), in.Platform),
			Token:          statusToken{Status: in.TokenStatus, Message: in.TokenMessage},
			Accesses:       make([]statusAccessCount, len(in.Accesses)), InError: in.AccessesInError,
			PlatformErrors: in.PlatformErrors, QueueDepth: in.QueueDepth}
		if in.TokenExpiresAt != nil {
			t := in.TokenExpiresAt.In(cfg.Location)
			st.Token.ExpiresAt = &t
		}
		for j, a := range in.Accesses {
			st.Accesses[j] = statusAccessCount{Desired: statusState(a.Desired), Platform: statusState(a.Platform), Count: a.Count}
		}
		rep.Integrations[i] = st
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return printStatus(stdout, rep)
}

// reconciliation is the status's word for whether reconciliation applies
// to platform.
func reconciliation(reg svahub.Registry, platform string) string {
	if reg[platform].Capabilities.Reconcile {
		return "suportada"
	}
	return "nao_suportada"
}

// printStatus writes the report for people.
func printStatus(w io.Writer, rep statusReport) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(rep.Integrations) == 0 {
		fmt.Fprintln(tw, "No integrations.")
	}
	for _, in := range rep.Integrations {
		active := "active"
		if !in.Active {
			active = "paused"
		}
		fmt.Fprintf(tw, "Integration %d: %s\n", in.ID, in.Description)
		fmt.Fprintf(tw, "  platform:\t%s (%s)\n", in.Platform, active)
		tok := string(in.Token.Status)
		if in.Token.ExpiresAt != nil {
			tok += ", expires " + in.Token.ExpiresAt.Format("2006-01-02 15:04:05 -07:00")
		}
		if in.Token.Message != "" {
			tok += " (" + in.Token.Message + ")"
		}
		fmt.Fprintf(tw, "  token:\t%s\n", tok)
		rec := "supported"
		if in.Reconciliation != "suportada" {
			rec = "not supported (the platform cannot be read back)"
		}
		fmt.Fprintf(tw, "  reconciliation:\t%s\n", rec)
		if len(in.Accesses) == 0 {
			fmt.Fprintf(tw, "  accesses:\tnone\n")
		}
		for i, a := range in.Accesses {
			label := ""
			if i == 0 {
				label = "accesses (desired/platform):"
			}
			fmt.Fprintf(tw, "  %s\t%s/%s: %d\n", label, a.Desired, a.Platform, a.Count)
		}
		fmt.Fprintf(tw, "  accesses in erro:\t%d\n", in.InError)
		fmt.Fprintf(tw, "  platform errors (24 h):\t%d\n", in.PlatformErrors)
		fmt.Fprintf(tw, "  queue depth:\t%d\n", in.QueueDepth)
	}
	fmt.Fprintf(tw, "Queue depth (all jobs):\t%d\n", rep.QueueDepth)
	return tw.Flush()
}
