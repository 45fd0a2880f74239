package store

import (
	"context"
	"time"

	"gorm.io/gorm/clause"

	"github.com/svahub/svahub/internal/svahub"
)

type idempotencyRow struct {
	APIKeyID    int64  `gorm:"column:api_key_id;primaryKey"`
	Key         string `gorm:"primaryKey"`
	RequestHash string
	Status      int
	ContentType string
	Location    string
	Body        string
	CreatedAt   time.Time
}

func (idempotencyRow) TableName() string { return "idempotency_keys" }

var _ svahub.IdempotencyService = (*DB)(nil)

// BeginIdempotent reserves (apiKeyID, key) or returns the answer to replay.
func (db *DB) BeginIdempotent(ctx context.Context, apiKeyID int64, key, hash string) (*svahub.StoredResponse, error) {
	now := db.now().UTC()
	g := db.gorm.WithContext(ctx)
	// Expired keys, and reservations abandoned without an answer (their
	// process died mid-request), are forgotten lazily.
	if err := g.Where("api_key_id = ? AND key = ? AND (created_at < ? OR (status = 0 AND created_at < ?))",
		apiKeyID, key, now.Add(-svahub.IdempotencyWindow), now.Add(-svahub.IdempotencyAbandonAfter)).
		Delete(&idempotencyRow{}).Error; err != nil {
		return nil, err
	}
	row := idempotencyRow{APIKeyID: apiKeyID, Key: key, RequestHash: hash, CreatedAt: now}
	res := g.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
	if res.Error != nil {
		return nil, res.Error
	}
	if res.RowsAffected == 1 {
		return nil, nil // reserved: run the request
	}
	var got idempotencyRow
	if err := g.Where("api_key_id = ? AND key = ?", apiKeyID, key).Take(&got).Error; err != nil {
		return nil, mapErr(err, "chave de idempotência não encontrada")
	}
	switch {
	case got.RequestHash != hash:
		return nil, svahub.FieldInvalid("Idempotency-Key", "esta chave já foi usada com outra requisição")
	case got.Status == 0:
		return nil, svahub.Errorf(svahub.ECONFLICT, "a requisição com esta Idempotency-Key ainda está em andamento")
	}
	return &svahub.StoredResponse{Status: got.Status, ContentType: got.ContentType, Location: got.Location, Body: []byte(got.Body)}, nil
}

// FinishIdempotent stores the answer for replay.
func (db *DB) FinishIdempotent(ctx context.Context, apiKeyID int64, key string, r svahub.StoredResponse) error {
	return db.gorm.WithContext(ctx).Model(&idempotencyRow{}).Where("api_key_id = ? AND key = ?", apiKeyID, key).
		Updates(map[string]any{"status": r.Status, "content_type": r.ContentType, "location": r.Location, "body": string(r.Body)}).Error
}

// AbortIdempotent frees a reservation.
func (db *DB) AbortIdempotent(ctx context.Context, apiKeyID int64, key string) error {
	return db.gorm.WithContext(ctx).Where("api_key_id = ? AND key = ? AND status = 0", apiKeyID, key).Delete(&idempotencyRow{}).Error
}

// PurgeIdempotency deletes keys older than the replay window and
// reservations abandoned without an answer.
func (db *DB) PurgeIdempotency(ctx context.Context) (int64, error) {
	now := db.now().UTC()
	res := db.gorm.WithContext(ctx).Where("created_at < ? OR (status = 0 AND created_at < ?)",
		now.Add(-svahub.IdempotencyWindow), now.Add(-svahub.IdempotencyAbandonAfter)).Delete(&idempotencyRow{})
	return res.RowsAffected, res.Error
}
