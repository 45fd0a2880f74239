package store

import (
	"context"
	"time"

	"github.com/svahub/svahub/internal/svahub"
)

// AccessStateCount is how many accesses have one desired state and one
// platform state (that of their platform plan; empty when the access has
// no plan or the platform has nothing yet).
type AccessStateCount struct {
	// IntegrationID is the accesses' integration (0 in Stats, which sums
	// over integrations).
	IntegrationID int64
	Desired       svahub.AccessState
	Platform      svahub.AccessState
	Count         int64
}

// StatusCount is how many subscriptions have one status.
type StatusCount struct {
	Status svahub.SubscriptionStatus
	Count  int64
}

// Stats is a snapshot of the counts monitoring reads (the database gauges
// of internal/metrics). Every label it carries is bounded: no ids.
type Stats struct {
	// Jobs counts River jobs by kind and state.
	Jobs []JobCount
	// Accesses counts accesses by desired and platform state, summed over
	// integrations.
	Accesses []AccessStateCount
	// AccessesInError counts accesses with an error of their own or of
	// their platform plan.
	AccessesInError int64
	// Subscriptions counts subscriptions by status.
	Subscriptions []StatusCount
}

// Stats reads the monitoring counts. It runs a few grouped queries; callers
// bound it with ctx and cache it (metrics scrapes).
func (db *DB) Stats(ctx context.Context) (*Stats, error) {
	s := &Stats{}
	var err error
	if s.Jobs, err = db.JobCounts(ctx); err != nil {
		return nil, err
	}
	byInteg, err := db.AccessStateCounts(ctx)
	if err != nil {
		return nil, err
	}
	type key struct{ d, p svahub.AccessState }
	sums := map[key]int64{}
	var order []key
	for _, c := range byInteg {
		k := key{c.Desired, c.Platform}
		if _, ok := sums[k]; !ok {
			order = append(order, k)
		}
		sums[k] += c.Count
	}
	for _, k := range order {
		s.Accesses = append(s.Accesses, AccessStateCount{Desired: k.d, Platform: k.p, Count: sums[k]})
	}
	errs, err := db.AccessErrorCounts(ctx)
	if err != nil {
		return nil, err
	}
	for _, n := range errs {
		s.AccessesInError += n
	}
	if s.Subscriptions, err = db.SubscriptionStatusCounts(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// AccessStateCounts counts accesses by integration, desired state and the
// platform state of their plan.
func (db *DB) AccessStateCounts(ctx context.Context) ([]AccessStateCount, error) {
	var out []AccessStateCount
	err := db.gorm.WithContext(ctx).Raw(`SELECT a.integration_id AS integration_id, a.desired_state AS desired,
		COALESCE(p.platform_state, '') AS platform, COUNT(*) AS count
		FROM accesses a LEFT JOIN platform_plans p ON p.id = a.plan_id
		GROUP BY a.integration_id, a.desired_state, COALESCE(p.platform_state, '')
		ORDER BY a.integration_id, a.desired_state, COALESCE(p.platform_state, '')`).Scan(&out).Error
	return out, err
}

// AccessErrorCounts counts, by integration, the accesses in error: with an
// error of their own (e.g. no username) or of their platform plan (a
// permanent platform refusal).
func (db *DB) AccessErrorCounts(ctx context.Context) (map[int64]int64, error) {
	var rows []struct {
		IntegrationID int64
		Count         int64
	}
	err := db.gorm.WithContext(ctx).Raw(`SELECT a.integration_id AS integration_id, COUNT(*) AS count
		FROM accesses a LEFT JOIN platform_plans p ON p.id = a.plan_id
		WHERE a.last_error <> '' OR COALESCE(p.last_error, '') <> ''
		GROUP BY a.integration_id`).Scan(&rows).Error
	out := make(map[int64]int64, len(rows))
	for _, r := range rows {
		out[r.IntegrationID] = r.Count
	}
	return out, err
}

// SubscriptionStatusCounts counts subscriptions by status.
func (db *DB) SubscriptionStatusCounts(ctx context.Context) ([]StatusCount, error) {
	var out []StatusCount
	err := db.gorm.WithContext(ctx).Raw("SELECT status, COUNT(*) AS count FROM subscriptions GROUP BY status ORDER BY status").Scan(&out).Error
	return out, err
}

// PlatformErrorCounts counts, by integration, the platform calls answered
// with erro or erro_temporario since the given time.
func (db *DB) PlatformErrorCounts(ctx context.Context, since time.Time) (map[int64]int64, error) {
	var rows []struct {
		IntegrationID int64
		Count         int64
	}
	err := db.gorm.WithContext(ctx).Raw(`SELECT integration_id, COUNT(*) AS count FROM transmissions
		WHERE outcome IN ? AND created_at >= ? GROUP BY integration_id`,
		[]string{string(svahub.OutcomeError), string(svahub.OutcomeTemporary)}, since.UTC()).Scan(&rows).Error
	out := make(map[int64]int64, len(rows))
	for _, r := range rows {
		out[r.IntegrationID] = r.Count
	}
	return out, err
}

// IntegrationStatus is one integration's operational summary (svahub
// status).
type IntegrationStatus struct {
	ID          int64
	Description string
	Platform    string
	Active      bool
	TokenStatus svahub.TokenStatus
	// TokenExpiresAt is when the stored token expires (nil without one).
	TokenExpiresAt *time.Time
	TokenMessage   string
	// Accesses counts the integration's accesses by desired and platform
	// state.
	Accesses []AccessStateCount
	// AccessesInError counts accesses whose work failed permanently.
	AccessesInError int64
	// PlatformErrors counts platform calls answered erro or erro_temporario
	// since the time asked.
	PlatformErrors int64
	// QueueDepth counts this integration's plan jobs waiting to run.
	QueueDepth int64
}

// IntegrationStatuses summarises every integration, by id; platform errors
// are counted since the given time. It also returns the depth of the whole
// job queue (periodic jobs included).
func (db *DB) IntegrationStatuses(ctx context.Context, since time.Time) ([]IntegrationStatus, int64, error) {
	var integs []integrationRow
	if err := db.gorm.WithContext(ctx).Select("id, description, platform, active, token_status, token_expires_at, token_message").
		Order("id").Find(&integs).Error; err != nil {
		return nil, 0, err
	}
	accesses, err := db.AccessStateCounts(ctx)
	if err != nil {
		return nil, 0, err
	}
	inError, err := db.AccessErrorCounts(ctx)
	if err != nil {
		return nil, 0, err
	}
	platErrs, err := db.PlatformErrorCounts(ctx, since)
	if err != nil {
		return nil, 0, err
	}
	queue, total, err := db.QueueDepths(ctx)
	if err != nil {
		return nil, 0, err
	}
	byInteg := map[int64][]AccessStateCount{}
	for _, c := range accesses {
		byInteg[c.IntegrationID] = append(byInteg[c.IntegrationID], c)
	}
	out := make([]IntegrationStatus, len(integs))
	for i, r := range integs {
		st := IntegrationStatus{ID: r.ID, Description: r.Description, Platform: r.Platform, Active: r.Active,
			TokenStatus: svahub.TokenStatus(r.TokenStatus), TokenMessage: r.TokenMessage,
			Accesses: byInteg[r.ID], AccessesInError: inError[r.ID], PlatformErrors: platErrs[r.ID], QueueDepth: queue[r.ID]}
		if r.TokenExpiresAt != nil {
			t := r.TokenExpiresAt.In(db.loc)
			st.TokenExpiresAt = &t
		}
		out[i] = st
	}
	return out, total, nil
}
