// Command webhook-sim serves an in-memory receiver of svahub's `webhook`
// platform, for local runs and demos, and as a starting point for a real
// receiver. See package github.com/svahub/svahub/pkg/webhook/webhooksim for
// the behaviour and the /_sim/ introspection routes.
//
// Usage:
//
//	webhook-sim -addr 127.0.0.1:9091 -segredo whsec_... -latency 50ms
//
// The secret may also come from SVAHUB_WEBHOOK_SIM_SEGREDO; when neither is
// given one is generated and printed once on stdout, to paste into the
// integration's parametros.segredo.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/svahub/svahub/internal/simserve"
	"github.com/svahub/svahub/pkg/webhook/webhooksim"
)

// secretEnv is the environment variable with the secret.
const secretEnv = "SVAHUB_WEBHOOK_SIM_SEGREDO"

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr, log); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		log.Error("webhook-sim failed", "error", err)
		os.Exit(1)
	}
}

type config struct {
	addr string
	opts webhooksim.Options
}

// parseFlags turns the command line and environment into the listen
// address and receiver options.
func parseFlags(args []string, getenv func(string) string, out io.Writer) (config, error) {
	fs := flag.NewFlagSet("webhook-sim", flag.ContinueOnError)
	fs.SetOutput(out)
	addr := fs.String("addr", "127.0.0.1:9091", "listen address")
	secret := fs.String("segredo", "", "signing secret whsec_... (default $"+secretEnv+", else generated)")
	latency := fs.Duration("latency", 0, "latency added to every request")
	tolerance := fs.Duration("tolerance", webhooksim.DefaultTolerance, "accepted distance of webhook-timestamp from the clock")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if *latency < 0 || *tolerance <= 0 {
		return config{}, errors.New("-latency must not be negative and -tolerance must be positive")
	}
	if *secret == "" {
		*secret = getenv(secretEnv)
	}
	return config{addr: *addr, opts: webhooksim.Options{Secret: *secret, Latency: *latency, Tolerance: *tolerance}}, nil
}

func run(args []string, getenv func(string) string, stdout, stderr io.Writer, log *slog.Logger) error {
	cfg, err := parseFlags(args, getenv, stderr)
	if err != nil {
		return err
	}
	sim, err := webhooksim.New(cfg.opts)
	if err != nil {
		return err
	}
	if cfg.opts.Secret == "" {
		_, _ = fmt.Fprintf(stdout, "segredo: %s\n", sim.Secret())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	log.Info("webhook-sim listening", "url", "http://"+ln.Addr().String()+"/", "latency", cfg.opts.Latency, "tolerance", cfg.opts.Tolerance)
	return simserve.Serve(ctx, ln, sim, log, simserve.Options{LogHeader: "webhook-id"})
}
