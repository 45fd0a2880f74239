package store

import (
	"context"
	"time"

	"github.com/svahub/svahub/internal/svahub"
)

type transmissionRow struct {
	ID             int64
	IntegrationID  int64
	SubscriptionID *int64
	AccessID       *int64
	Operation      string
	Outcome        string
	HTTPStatus     int `gorm:"column:http_status"`
	Message        string
	DurationMS     int64 `gorm:"column:duration_ms"`
	Attempt        int
	CreatedAt      time.Time
}

func (transmissionRow) TableName() string { return "transmissions" }

var _ svahub.TransmissionService = (*DB)(nil)

// FindTransmissions lists transmissions, newest first.
func (db *DB) FindTransmissions(ctx context.Context, f svahub.TransmissionFilter) ([]*svahub.Transmission, int, error) {
	q := db.gorm.WithContext(ctx).Model(&transmissionRow{})
	if f.IntegrationID != nil {
		q = q.Where("integration_id = ?", *f.IntegrationID)
	}
	if f.SubscriptionID != nil {
		q = q.Where("subscription_id = ?", *f.SubscriptionID)
	}
	if f.Operation != nil {
		q = q.Where("operation = ?", string(*f.Operation))
	}
	if f.Outcome != nil {
		q = q.Where("outcome = ?", string(*f.Outcome))
	}
	if f.Since != nil {
		q = q.Where("created_at >= ?", f.Since.UTC())
	}
	if f.Before != nil {
		q = q.Where("created_at < ?", f.Before.UTC())
	}
	var rows []transmissionRow
	total, err := db.page(ctx, q, f.Page, "id DESC", &rows)
	if err != nil {
		return nil, 0, err
	}
	out := make([]*svahub.Transmission, len(rows))
	for i, r := range rows {
		out[i] = &svahub.Transmission{ID: r.ID, IntegrationID: r.IntegrationID, SubscriptionID: r.SubscriptionID, AccessID: r.AccessID,
			Operation: svahub.Operation(r.Operation), Outcome: svahub.Outcome(r.Outcome), HTTPStatus: r.HTTPStatus, Message: r.Message,
			DurationMS: r.DurationMS, Attempt: r.Attempt, CreatedAt: r.CreatedAt.In(db.loc)}
	}
	return out, total, nil
}
