package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/svahub/svahub/internal/config"
	"github.com/svahub/svahub/internal/secret"
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
	return updateKeyFile(cfg, stdout)
}

// updateKeyFile writes SVAHUB_SECRET_KEY into the SQLite key file when one
// exists and holds another key: a later start without SVAHUB_SECRET_KEY
// reads the file, and the old key there could no longer open anything.
// A key file that does not exist is not created (the key is managed in
// the environment).
func updateKeyFile(cfg config.Config, stdout io.Writer) error {
	path := cfg.KeyFilePath()
	if path == "" || cfg.SecretKey == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("key file %s: %w", path, err)
	}
	if strings.TrimSpace(string(b)) == strings.TrimSpace(cfg.SecretKey) {
		return nil
	}
	if err := secret.ReplaceKeyFile(path, strings.TrimSpace(cfg.SecretKey)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s now holds the new key (it held the old one): back it up with the database\n", path)
	return nil
}
