package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/svahub/svahub/internal/svahub"
)

type apiKeyRow struct {
	ID        int64
	Name      string
	Scope     string
	Prefix    string
	Hash      string
	CreatedAt time.Time
	RevokedAt *time.Time
}

func (apiKeyRow) TableName() string { return "api_keys" }

var _ svahub.APIKeyService = (*DB)(nil)

// apiKeyPrefix starts every key, so leaked keys are easy to recognise.
const apiKeyPrefix = "svh_"

func hashAPIKey(plaintext string) string {
	// Keys carry 256 bits of randomness, so a plain SHA-256 is enough: there
	// is nothing to brute-force that a slow hash would protect.
	sum := sha256.Sum256([]byte(plaintext))
	return hex.EncodeToString(sum[:])
}

// CreateAPIKey creates a key; the plaintext is returned once and only its
// hash is stored.
func (db *DB) CreateAPIKey(ctx context.Context, name string, scope svahub.APIKeyScope) (*svahub.APIKey, string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return nil, "", svahub.FieldInvalid("nome", "informe um nome de 1 a 100 caracteres")
	}
	if !scope.Valid() {
		return nil, "", svahub.FieldInvalid("escopo", "use leitura ou escrita")
	}
	r, plaintext, err := insertAPIKey(db.gorm.WithContext(ctx), name, scope)
	if err != nil {
		return nil, "", err
	}
	return r.domain(), plaintext, nil
}

// insertAPIKey stores a new random key and returns its row and plaintext.
func insertAPIKey(tx *gorm.DB, name string, scope svahub.APIKeyScope) (*apiKeyRow, string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, "", err
	}
	plaintext := apiKeyPrefix + base64.RawURLEncoding.EncodeToString(b)
	r := apiKeyRow{Name: name, Scope: string(scope), Prefix: plaintext[:10], Hash: hashAPIKey(plaintext)}
	if err := tx.Create(&r).Error; err != nil {
		return nil, "", mapErr(err, "")
	}
	return &r, plaintext, nil
}

func newAPIKey(tx *gorm.DB, name string, scope svahub.APIKeyScope) (string, error) {
	_, plain, err := insertAPIKey(tx, name, scope)
	return plain, err
}

func (r *apiKeyRow) domain() *svahub.APIKey {
	return &svahub.APIKey{ID: r.ID, Name: r.Name, Scope: svahub.APIKeyScope(r.Scope), Prefix: r.Prefix, CreatedAt: r.CreatedAt, RevokedAt: r.RevokedAt}
}

// apiKeyCacheTTL is how long a verified key is trusted without asking the
// database again. A revocation is seen at once by the process that made it
// and within this delay by the others.
const apiKeyCacheTTL = 10 * time.Second

// AuthenticateAPIKey finds the live key whose hash matches plaintext.
func (db *DB) AuthenticateAPIKey(ctx context.Context, plaintext string) (*svahub.APIKey, error) {
	if !strings.HasPrefix(plaintext, apiKeyPrefix) || len(plaintext) > 200 {
		return nil, svahub.Errorf(svahub.EUNAUTHORIZED, "chave de API inválida")
	}
	hash := hashAPIKey(plaintext)
	now := time.Now()
	if k, ok := db.keys.get(hash, now); ok {
		return k, nil
	}
	var r apiKeyRow
	err := db.gorm.WithContext(ctx).Where("hash = ? AND revoked_at IS NULL", hash).Take(&r).Error
	if err != nil {
		if svahub.ErrorCode(mapErr(err, "")) == svahub.ENOTFOUND {
			return nil, svahub.Errorf(svahub.EUNAUTHORIZED, "chave de API inválida ou revogada")
		}
		return nil, err
	}
	k := r.domain()
	db.keys.put(hash, k, now.Add(apiKeyCacheTTL))
	return k, nil
}

// RevokeAPIKey revokes a key.
func (db *DB) RevokeAPIKey(ctx context.Context, id int64) error {
	res := db.gorm.WithContext(ctx).Model(&apiKeyRow{}).Where("id = ? AND revoked_at IS NULL", id).Update("revoked_at", db.now().UTC())
	if res.Error != nil {
		return res.Error
	}
	db.keys.clear()
	if res.RowsAffected == 0 {
		return svahub.Errorf(svahub.ENOTFOUND, "chave não encontrada")
	}
	return nil
}

// ListAPIKeys lists every key, revoked ones included, oldest first. Only
// names, scopes and prefixes: the keys themselves are not stored.
func (db *DB) ListAPIKeys(ctx context.Context) ([]*svahub.APIKey, error) {
	var rows []apiKeyRow
	if err := db.gorm.WithContext(ctx).Order("id").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]*svahub.APIKey, len(rows))
	for i := range rows {
		out[i] = rows[i].domain()
	}
	return out, nil
}

// CountAPIKeys counts keys that are not revoked.
func (db *DB) CountAPIKeys(ctx context.Context) (int64, error) {
	var n int64
	err := db.gorm.WithContext(ctx).Model(&apiKeyRow{}).Where("revoked_at IS NULL").Count(&n).Error
	return n, err
}

// BootstrapAPIKey creates the bootstrap key (escopo escrita) and returns
// its plaintext, only when the key table has never held a key; otherwise
// it returns "". Processes starting together on an empty database race for
// the one row of api_key_bootstrap: the winner creates the key in the same
// transaction, the others find the row taken and create nothing.
func (db *DB) BootstrapAPIKey(ctx context.Context) (string, error) {
	var plain string
	err := db.tx(ctx, func(tx *gorm.DB) error {
		plain = ""
		res := tx.Exec("INSERT INTO api_key_bootstrap (id, created_at) VALUES (1, ?) ON CONFLICT (id) DO NOTHING", db.now().UTC())
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		var n int64
		if err := tx.Model(&apiKeyRow{}).Count(&n).Error; err != nil || n > 0 {
			return err // keys made before any server start (svahub apikey create)
		}
		var err error
		plain, err = newAPIKey(tx, "bootstrap", svahub.ScopeWrite)
		return err
	})
	if err != nil {
		return "", err
	}
	return plain, nil
}
