package secret

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// LoadOrCreateKeyFile returns the base64 key stored in the file at path
// (surrounding white space trimmed). If the file does not exist it creates it
// exclusively (O_EXCL) with mode 0600, writes a new key from GenerateKey, and
// reports created=true. The parent directory must already exist.
//
// A key read from the file is checked with ParseKey, so a damaged file is an
// error rather than a silently different key. An existing empty file is
// waited on for about a second (another process may be writing it) and is then
// an error. Errors name the file but never contain its content.
func LoadOrCreateKeyFile(path string) (key string, created bool, err error) {
	key, err = readKeyFile(path)
	switch {
	case err == nil:
		return key, false, nil
	case errors.Is(err, errEmptyFile):
		// Possibly just created by another process that is still writing it.
		key, err = waitForKeyFile(path)
		return key, false, err
	case !errors.Is(err, fs.ErrNotExist):
		return "", false, err
	}

	key, err = GenerateKey()
	if err != nil {
		return "", false, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		// Another process created it between our read and our create: use
		// its key, once it has finished writing it.
		key, err = waitForKeyFile(path)
		return key, false, err
	}
	if err != nil {
		return "", false, fmt.Errorf("secret: creating key file %s: %w", path, err)
	}
	_, err = f.WriteString(key + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return "", false, fmt.Errorf("secret: writing key file %s: %w", path, err)
	}
	return key, true, nil
}

// errEmptyFile marks a key file that exists but holds nothing yet.
var errEmptyFile = fmt.Errorf("%w: empty", ErrInvalidKey)

// readKeyFile reads and validates the key in path.
func readKeyFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		return "", fmt.Errorf("secret: reading key file %s: %w", path, err)
	}
	key := strings.TrimSpace(string(b))
	if key == "" {
		return "", fmt.Errorf("secret: key file %s: %w", path, errEmptyFile)
	}
	if _, err := ParseKey(key); err != nil {
		return "", fmt.Errorf("secret: key file %s: %w", path, err)
	}
	return key, nil
}

// waitForKeyFile reads a key file another process has just created, allowing
// it a moment (about a second) to finish writing. A file still empty after
// that is an error: it was left behind by a crash and must be removed.
func waitForKeyFile(path string) (string, error) {
	start := time.Now()
	for {
		key, err := readKeyFile(path)
		if !errors.Is(err, errEmptyFile) && !errors.Is(err, fs.ErrNotExist) {
			return key, err
		}
		if time.Since(start) > time.Second {
			return "", err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ReplaceKeyFile writes key (base64, checked with ParseKey) to the key file
// at path, atomically: a temporary file with mode 0600 in the same
// directory, synced, then renamed over path. Readers see the old key or the
// new one, never a partial file.
func ReplaceKeyFile(path, key string) error {
	if _, err := ParseKey(key); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("secret: replacing key file %s: %w", path, err)
	}
	tmp := f.Name()
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.WriteString(key + "\n")
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("secret: replacing key file %s: %w", path, err)
	}
	return nil
}
