package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/svahub/svahub/internal/config"
	"github.com/svahub/svahub/internal/svahub"
)

const anonimizarUsage = "usage: svahub anonimizar --cliente ID [--json]"

// anonimizar runs "svahub anonimizar --cliente ID": the erasure of a former
// customer's personal data, as POST /api/v1/clientes/{id}/anonimizar does,
// recorded with origin cli.
func anonimizar(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("anonimizar", flag.ContinueOnError)
	fs.SetOutput(stderr)
	customer := fs.Int64("cliente", 0, "id_cliente (HubSoft) of the former customer whose personal data is erased")
	asJSON := fs.Bool("json", false, "print the erasure record as JSON (the API's answer)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q\n%s", fs.Arg(0), anonimizarUsage)
	}
	if *customer <= 0 {
		return errors.New("--cliente: give the id_cliente of the customer to erase\n" + anonimizarUsage)
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
	rec, err := db.EraseCustomer(ctx, *customer, svahub.ErasureActor{Origin: svahub.ErasureByCLI})
	if err != nil {
		return erasureError(*customer, err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rec)
	}
	printErasure(stdout, rec, cfg.Location)
	return nil
}

// printErasure writes an erasure record for people.
func printErasure(w io.Writer, rec *svahub.Erasure, loc *time.Location) {
	by := rec.Origin
	if rec.APIKeyName != "" {
		by = fmt.Sprintf("API key %q", rec.APIKeyName)
	}
	at := rec.At.In(loc).Format("2006-01-02 15:04:05 -07:00")
	if rec.AlreadyErased {
		fmt.Fprintf(w, "Customer %d was already erased on %s (erasure %d, by %s); nothing left to erase.\n", rec.CustomerID, at, rec.ID, by)
	} else {
		fmt.Fprintf(w, "Customer %d: personal data erased on %s (erasure %d, by %s).\n", rec.CustomerID, at, rec.ID, by)
	}
	ids := make([]string, len(rec.Services))
	for i, id := range rec.Services {
		ids[i] = fmt.Sprint(id)
	}
	fmt.Fprintf(w, "  services: %s\n", strings.Join(ids, ", "))
	fmt.Fprintf(w, "  transmissions whose platform message was removed: %d\n", rec.Transmissions)
	if len(rec.PlatformUsers) == 0 {
		fmt.Fprintln(w, "  no user on any platform.")
		return
	}
	fmt.Fprintln(w, "Their plans on the platforms are cancelled, but svahub does not delete platform users:")
	fmt.Fprintln(w, "forward the erasure request to each platform for these users:")
	for _, u := range rec.PlatformUsers {
		shared := ""
		if u.Shared {
			shared = " (also used by another customer's service: its username was kept)"
		}
		fmt.Fprintf(w, "  %s (integration %d): %s%s\n", u.Platform, u.IntegrationID, u.PlatformUserID, shared)
	}
}

// erasureError words a refused erasure in the CLI's language. The reasons
// per service or subscription are the API's own (the erros list of the 409
// answer), quoted as they are.
func erasureError(customer int64, err error) error {
	var se *svahub.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code {
	case svahub.ENOTFOUND:
		return fmt.Errorf("customer %d has no services in svahub", customer)
	case svahub.ECONFLICT:
		var b strings.Builder
		fmt.Fprintf(&b, "customer %d cannot be erased yet; what blocks it (as the API reports it):", customer)
		for _, f := range se.Fields {
			fmt.Fprintf(&b, "\n  %s: %s", f.Field, f.Message)
		}
		return errors.New(b.String())
	}
	return err
}
