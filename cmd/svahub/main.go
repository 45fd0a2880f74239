// Command svahub runs the svahub service: the HTTP API and the workers that
// keep content platforms in step. Configuration comes from SVAHUB_*
// environment variables (svahub --help lists them).
//
//	svahub [serve]                     API and workers (default)
//	svahub serve --workers=false       API only
//	svahub worker                      workers only
//	svahub migrate                     apply database migrations and exit
//	svahub apikey create --nome N [--escopo leitura|escrita]
//	svahub apikey list
//	svahub apikey revoke --id ID
//	svahub status [--json]             per-integration health summary
//	svahub anonimizar --cliente ID     erase a former customer's personal data
//	svahub rotate-secret-key           re-seal secrets under a new key
//	svahub version                     print the build's version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/svahub/svahub/internal/buildinfo"
	"github.com/svahub/svahub/internal/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "svahub:", err)
		}
		os.Exit(1)
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `svahub — Plataformas de Conteúdo (content platform integration service)

Usage:
  svahub [serve] [--workers=true|false]   run the HTTP API (and the workers)
  svahub worker                           run the workers only
  svahub migrate                          apply database migrations and exit
  svahub apikey create --nome NAME [--escopo leitura|escrita]
                                          create an API key and print it once
  svahub apikey list                      list API keys (names, scopes, prefixes)
  svahub apikey revoke --id ID            revoke an API key
  svahub status [--json]                  per integration: token, accesses by state,
                                          errors, platform errors (24 h), queue depth
  svahub anonimizar --cliente ID [--json] erase a former customer's personal data (LGPD);
                                          the same as POST /api/v1/clientes/{id}/anonimizar
  svahub rotate-secret-key                re-seal stored secrets under SVAHUB_SECRET_KEY
                                          (old key in SVAHUB_SECRET_KEY_PREVIOUS)
  svahub version (or --version)          print the version and exit
  svahub --help                           this text

Configuration (environment variables):
`)
	fmt.Fprint(w, config.Usage())
}

// printVersion writes "svahub VERSION (revision REV, GOVERSION)".
func printVersion(w io.Writer) {
	bi := buildinfo.Get()
	rev := ""
	if bi.Revision != "" {
		rev = "revision " + bi.Revision + ", "
	}
	fmt.Fprintf(w, "svahub %s (%s%s)\n", bi.Version, rev, bi.GoVersion)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	for _, a := range args {
		switch a {
		case "-h", "--help", "-help":
			usage(stdout)
			return nil
		case "--version", "-version":
			printVersion(stdout)
			return nil
		}
	}
	switch cmd {
	case "serve":
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(stderr)
		workers := fs.Bool("workers", true, "run the job workers in this process (overrides SVAHUB_WORKERS)")
		if err := fs.Parse(args); err != nil {
			return err
		}
		cfg, err := config.Load()
		if err != nil {
			return err
		}
		set := false
		fs.Visit(func(f *flag.Flag) { set = set || f.Name == "workers" })
		if set {
			cfg.Workers = *workers
		}
		return serve(ctx, cfg, true, cfg.Workers, stderr)
	case "worker":
		cfg, err := config.Load()
		if err != nil {
			return err
		}
		return serve(ctx, cfg, false, true, stderr)
	case "migrate":
		cfg, err := config.Load()
		if err != nil {
			return err
		}
		return migrate(ctx, cfg, stderr)
	case "apikey":
		return apikey(ctx, args, stdout, stderr)
	case "status":
		return status(ctx, args, stdout, stderr)
	case "anonimizar":
		return anonimizar(ctx, args, stdout, stderr)
	case "rotate-secret-key":
		cfg, err := config.Load()
		if err != nil {
			return err
		}
		return rotateSecretKey(ctx, cfg, stdout, stderr)
	case "help":
		usage(stdout)
		return nil
	case "version":
		printVersion(stdout)
		return nil
	}
	usage(stderr)
	return fmt.Errorf("unknown command %q", cmd)
}
