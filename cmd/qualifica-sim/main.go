// Command qualifica-sim serves the Qualifica platform contract from memory,
// strictly, for local runs and demos. See package
// github.com/svahub/svahub/pkg/qualifica/qualificasim for the behaviour and
// the /_sim/ introspection routes.
//
// Usage:
//
//	qualifica-sim -addr 127.0.0.1:9090 -latency 50ms -fail-rate 0.05 \
//	    -catalogue "pro=Qualifica Pro,premium=Qualifica Premium" \
//	    -clients "svahub-test=segredo-teste"
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
	"slices"
	"strings"
	"syscall"

	"github.com/svahub/svahub/internal/simserve"
	"github.com/svahub/svahub/pkg/qualifica"
	"github.com/svahub/svahub/pkg/qualifica/qualificasim"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(os.Args[1:], os.Stderr, log); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		log.Error("qualifica-sim failed", "error", err)
		os.Exit(1)
	}
}

type config struct {
	addr string
	opts qualificasim.Options
}

// parseFlags turns the command line into the listen address and simulator
// options.
func parseFlags(args []string, out io.Writer) (config, error) {
	fs := flag.NewFlagSet("qualifica-sim", flag.ContinueOnError)
	fs.SetOutput(out)
	addr := fs.String("addr", "127.0.0.1:9090", "listen address")
	latency := fs.Duration("latency", 0, "latency added to every contract request")
	failRate := fs.Float64("fail-rate", 0, "fraction (0..1) of requests answered 503")
	timeoutRate := fs.Float64("timeout-rate", 0, "fraction (0..1) of requests that hang, then answer 504")
	timeoutDelay := fs.Duration("timeout-delay", qualificasim.DefaultTimeoutDelay, "how long a timed-out request hangs")
	rateLimit := fs.Float64("rate-limit", 0, "requests per second per client_id (0 = unlimited)")
	tokenTTL := fs.Duration("token-ttl", qualificasim.DefaultTokenTTL, "access token lifetime")
	catalogue := fs.String("catalogue", "", `product catalogue "code=Name,..." (default pro, premium, 1001)`)
	clients := fs.String("clients", qualificasim.DefaultClientID+"="+qualificasim.DefaultClientSecret, `API clients "client_id=client_secret,..."`)
	seed := fs.Int64("seed", 0, "random seed for fault injection")
	noTokenFaults := fs.Bool("no-token-faults", false, "exempt POST /oauth/token from -fail-rate and -timeout-rate")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	for name, v := range map[string]float64{"fail-rate": *failRate, "timeout-rate": *timeoutRate} {
		if v < 0 || v > 1 {
			return config{}, fmt.Errorf("-%s must be between 0 and 1", name)
		}
	}
	if *rateLimit < 0 || *latency < 0 || *tokenTTL <= 0 || *timeoutDelay <= 0 {
		return config{}, errors.New("-rate-limit and -latency must not be negative; -token-ttl and -timeout-delay must be positive")
	}
	pairs, err := parsePairs(*catalogue)
	if err != nil {
		return config{}, fmt.Errorf("-catalogue: %w", err)
	}
	var products []qualifica.Product
	for _, p := range pairs {
		products = append(products, qualifica.Product{Code: p[0], Name: p[1]})
	}
	pairs, err = parsePairs(*clients)
	if err != nil {
		return config{}, fmt.Errorf("-clients: %w", err)
	}
	if len(pairs) == 0 {
		return config{}, errors.New("-clients: at least one client_id=client_secret is required")
	}
	clientMap := make(map[string]string, len(pairs))
	for _, p := range pairs {
		clientMap[p[0]] = p[1]
	}
	return config{
		addr: *addr,
		opts: qualificasim.Options{
			Clients:       clientMap,
			Catalogue:     products,
			TokenTTL:      *tokenTTL,
			Latency:       *latency,
			FailRate:      *failRate,
			TimeoutRate:   *timeoutRate,
			TimeoutDelay:  *timeoutDelay,
			RateLimit:     *rateLimit,
			Seed:          *seed,
			NoTokenFaults: *noTokenFaults,
		},
	}, nil
}

// parsePairs parses "k=v,k2=v2"; keys must be unique and both sides non-empty.
func parsePairs(s string) ([][2]string, error) {
	var out [][2]string
	var seen []string
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, v, ok := strings.Cut(item, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("%q is not key=value", item)
		}
		if slices.Contains(seen, k) {
			return nil, fmt.Errorf("duplicate key %q", k)
		}
		seen = append(seen, k)
		out = append(out, [2]string{k, v})
	}
	return out, nil
}

func run(args []string, out io.Writer, log *slog.Logger) error {
	cfg, err := parseFlags(args, out)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	sim := qualificasim.New(cfg.opts)
	defer sim.Close()
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	clientIDs := make([]string, 0, len(cfg.opts.Clients))
	for id := range cfg.opts.Clients {
		clientIDs = append(clientIDs, id)
	}
	slices.Sort(clientIDs)
	log.Info("qualifica-sim listening",
		"url", "http://"+ln.Addr().String(),
		"clients", strings.Join(clientIDs, ","),
		"latency", cfg.opts.Latency, "fail_rate", cfg.opts.FailRate,
		"timeout_rate", cfg.opts.TimeoutRate, "rate_limit", cfg.opts.RateLimit,
		"token_ttl", cfg.opts.TokenTTL, "seed", cfg.opts.Seed)

	return simserve.Serve(ctx, ln, sim, log, simserve.Options{OnStop: sim.Close}) // Close releases hanging "timeout" requests
}
