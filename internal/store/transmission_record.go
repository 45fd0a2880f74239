package store

import (
	"context"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/svahub/svahub/internal/svahub"
)

// RecordTransmission appends one platform call to the log, at t.CreatedAt
// when set (a held call's end) or now. The caller has already redacted the
// message.
func (db *DB) RecordTransmission(ctx context.Context, t *svahub.Transmission) error {
	now := db.now()
	if !t.CreatedAt.IsZero() {
		now = t.CreatedAt
	}
	now = now.UTC().Truncate(time.Microsecond)
	err := db.sql.QueryRowContext(ctx, db.rebind(qInsertTransmission), t.IntegrationID, t.SubscriptionID, t.AccessID, string(t.Operation),
		string(t.Outcome), t.HTTPStatus, truncate(t.Message, 1000), t.DurationMS, t.Attempt, now).Scan(&t.ID)
	if err != nil {
		return err
	}
	t.CreatedAt = now.In(db.loc)
	return nil
}

// qInsertTransmission runs once per platform call (plain database/sql).
const qInsertTransmission = `INSERT INTO transmissions (integration_id, subscription_id, access_id, operation, outcome, http_status,
	message, duration_ms, attempt, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`

// insertTransmissions records the completions' transmissions in tx, in
// multi-row INSERTs of up to 500 rows, each at the time its call ended
// (CreatedAt; now when unset).
func (db *DB) insertTransmissions(ctx context.Context, tx *gorm.DB, cs []Completion, now time.Time) error {
	var ts []*svahub.Transmission
	for _, c := range cs {
		ts = append(ts, c.Transmissions...)
	}
	now = now.Truncate(time.Microsecond)
	for _, chunk := range chunks(ts, 500) {
		q := strings.TrimSuffix(qInsertTransmission, ` RETURNING id`) + strings.Repeat(`, (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, len(chunk)-1)
		args := make([]any, 0, 10*len(chunk))
		for _, t := range chunk {
			at := now
			if !t.CreatedAt.IsZero() {
				at = t.CreatedAt.UTC().Truncate(time.Microsecond)
			}
			args = append(args, t.IntegrationID, t.SubscriptionID, t.AccessID, string(t.Operation), string(t.Outcome), t.HTTPStatus,
				truncate(t.Message, 1000), t.DurationMS, t.Attempt, at)
		}
		if _, err := SQLTx(tx).ExecContext(ctx, db.rebind(q), args...); err != nil {
			return err
		}
	}
	return nil
}

// truncate cuts a platform's message to n bytes, on a rune boundary, as
// text any database takes: a NUL (JSON's "\u0000") is dropped and invalid
// UTF-8 replaced, since PostgreSQL's text refuses both (and a refused
// transmission would fail the completion it is recorded with).
func truncate(s string, n int) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 { // do not cut a UTF-8 sequence
		n--
	}
	return s[:n]
}
