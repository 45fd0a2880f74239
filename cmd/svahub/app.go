package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"

	"github.com/svahub/svahub/internal/app"
	"github.com/svahub/svahub/internal/config"
	"github.com/svahub/svahub/internal/provision"
	"github.com/svahub/svahub/internal/secret"
	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/svahub"
)

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.Level}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
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
	return store.Open(ctx, cfg.Dialect, dsn, store.Options{Sealer: box, Location: cfg.Location, Logger: log})
}

func migrate(ctx context.Context, cfg config.Config, stderr io.Writer) error {
	log := newLogger(cfg, stderr)
	db, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	log.Info("database is up to date", "dialect", cfg.Dialect)
	return nil
}

func apikey(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: svahub apikey create --nome NAME [--escopo leitura|escrita]")
	}
	fs := flag.NewFlagSet("apikey create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("nome", "", "key name (who uses it)")
	scope := fs.String("escopo", string(svahub.ScopeWrite), "leitura (GET only) or escrita")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	db, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	k, plain, err := db.CreateAPIKey(ctx, *name, svahub.APIKeyScope(*scope))
	if err != nil {
		return fmt.Errorf("%s", svahub.ErrorMessage(err))
	}
	fmt.Fprintf(stderr, "API key %q (escopo %s) created; it is shown only once:\n", k.Name, k.Scope)
	fmt.Fprintln(stdout, plain)
	return nil
}

// bootstrapKey creates the first API key when the database has none and
// prints it once, so a first run works with no set-up.
func bootstrapKey(ctx context.Context, db *store.DB, w io.Writer) error {
	n, err := db.CountAPIKeys(ctx)
	if err != nil || n > 0 {
		return err
	}
	_, plain, err := db.CreateAPIKey(ctx, "bootstrap", svahub.ScopeWrite)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n  No API key existed, so one was created (escopo escrita). It is shown only this once:\n\n      %s\n\n  Use it as: Authorization: Bearer <key>. Create more with: svahub apikey create --nome NAME\n\n", plain)
	return nil
}

// serve runs the API and/or the workers until ctx is cancelled, then drains.
func serve(ctx context.Context, cfg config.Config, api, workers bool, stderr io.Writer) error {
	log := newLogger(cfg, stderr)
	slog.SetDefault(log)
	log.Info("starting svahub", "config", cfg, "api", api, "workers", workers)
	startPprof(cfg.PprofAddr, log)
	db, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	if api {
		if err := bootstrapKey(ctx, db, stderr); err != nil {
			return err
		}
	}
	a, err := app.New(ctx, db, app.Options{
		Logger: log, Location: cfg.Location, QualificaURL: cfg.QualificaURL,
		PlatformTimeout: cfg.PlatformTimeout, PlatformRateLimit: cfg.PlatformRateLimit,
		Workers: workers, Provision: provision.Options{MaxWorkers: cfg.MaxWorkers},
	})
	if err != nil {
		return err
	}
	if workers {
		if err := a.Start(ctx); err != nil {
			return err
		}
		log.Info("workers started", "max_workers", cfg.MaxWorkers)
	}
	errc := make(chan error, 1)
	var srv *http.Server
	if api {
		srv = a.API.HTTPServer(cfg.Addr)
		ln, err := net.Listen("tcp", cfg.Addr)
		if err != nil {
			return fmt.Errorf("SVAHUB_ADDR: listen %s: %w", cfg.Addr, err)
		}
		log.Info("listening", "addr", ln.Addr().String())
		go func() { errc <- srv.Serve(ln) }()
	}
	select {
	case <-ctx.Done():
		log.Info("shutting down", "grace", cfg.ShutdownGrace)
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
	defer cancel()
	if srv != nil {
		if err := srv.Shutdown(sctx); err != nil {
			log.Warn("http shutdown", "err", err)
		}
	}
	if workers {
		if err := a.Stop(sctx); err != nil {
			log.Warn("workers shutdown", "err", err)
		}
	}
	log.Info("stopped")
	return nil
}
