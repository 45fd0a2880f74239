package store

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// rotator is implemented by sealers that know which key sealed a value
// (internal/secret.Box).
type rotator interface {
	NeedsRotation(sealed string) bool
}

// sealedColumns lists every column holding a sealed secret.
var sealedColumns = []struct{ table, column string }{
	{"integration_secrets", "value_sealed"},
	{"integrations", "token_sealed"},
	{"services", "password_sealed"},
}

// RotateSecrets re-seals, under the current key, every secret sealed with a
// previous key. Rows are updated one by one with a compare-and-set on the
// old value, so it runs while svahub serves (readers accept both keys). It
// returns how many values it re-sealed.
func (db *DB) RotateSecrets(ctx context.Context) (int, error) {
	defer db.creds.clear() // after the write: nothing re-caches the old value
	rot, ok := db.sealer.(rotator)
	if !ok {
		return 0, fmt.Errorf("store: the sealer cannot tell which key sealed a value")
	}
	total := 0
	for _, c := range sealedColumns {
		var lastID int64
		for {
			var rows []struct {
				ID    int64
				Value string
			}
			err := db.gorm.WithContext(ctx).Table(c.table).Select("id, "+c.column+" AS value").
				Where("id > ? AND "+c.column+" <> ''", lastID).Order("id").Limit(500).Scan(&rows).Error
			if err != nil {
				return total, err
			}
			if len(rows) == 0 {
				break
			}
			for _, r := range rows {
				lastID = r.ID
				if !rot.NeedsRotation(r.Value) {
					continue
				}
				plain, err := db.sealer.Open(r.Value)
				if err != nil {
					return total, fmt.Errorf("store: %s.%s id %d: cannot open with the configured keys: %w", c.table, c.column, r.ID, err)
				}
				sealed, err := db.sealer.Seal(plain)
				if err != nil {
					return total, err
				}
				res := db.gorm.WithContext(ctx).Table(c.table).Where("id = ? AND "+c.column+" = ?", r.ID, r.Value).
					UpdateColumn(c.column, gorm.Expr("?", sealed))
				if res.Error != nil {
					return total, res.Error
				}
				total += int(res.RowsAffected)
			}
		}
	}
	return total, nil
}

// keyLister is implemented by sealers that name their keys
// (internal/secret.Box).
type keyLister interface {
	KeyIDs() []string
}

// CheckSealKeys returns an error when a stored secret was sealed with a key
// the sealer does not have (or cannot be opened), so that a process
// started with the wrong SVAHUB_SECRET_KEY or key file is not ready rather
// than failing on every call that needs a secret. It reads every sealed
// column once (one indexed-free scan of each table, stopping at the first
// unknown value); callers cache the answer.
func (db *DB) CheckSealKeys(ctx context.Context) error {
	kl, ok := db.sealer.(keyLister)
	if !ok {
		return nil
	}
	var prefixes []string
	for _, id := range kl.KeyIDs() {
		prefixes = append(prefixes, "v1:"+id)
	}
	for _, c := range sealedColumns {
		var values []string
		err := db.gorm.WithContext(ctx).Table(c.table).
			Where(c.column+" <> '' AND substr("+c.column+", 1, 11) NOT IN ?", prefixes).
			Limit(1).Pluck(c.column, &values).Error
		if err != nil {
			return err
		}
		for _, v := range values {
			if _, err := db.sealer.Open(v); err != nil {
				return fmt.Errorf("store: %s.%s holds a secret this process cannot open: %w", c.table, c.column, err)
			}
		}
	}
	return nil
}
