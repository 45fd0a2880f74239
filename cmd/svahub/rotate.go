package main

import (
	"context"
	"fmt"
	"io"

	"github.com/svahub/svahub/internal/config"
)

// rotateSecretKey re-seals every stored secret under SVAHUB_SECRET_KEY.
// Run it after deploying the new key with the old one in
// SVAHUB_SECRET_KEY_PREVIOUS; running servers keep reading both.
func rotateSecretKey(ctx context.Context, cfg config.Config, stdout, stderr io.Writer) error {
	log := newLogger(cfg, stderr)
	db, err := openMigrated(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := db.RotateSecrets(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d secret(s) re-sealed with the current key; SVAHUB_SECRET_KEY_PREVIOUS can now be removed\n", n)
	return nil
}
