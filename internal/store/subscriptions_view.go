package store

import (
	"time"

	"github.com/svahub/svahub/internal/svahub"
)

// accessJoin is an access with its platform plan and account: what the
// API shows of it. Every read of subscriptions maps it with domain.
type accessJoin struct {
	ID             int64
	SubscriptionID int64
	ProductCode    string
	DesiredState   string
	LastError      string
	Username       *string
	PlatformState  *string
	PlanError      *string
	SyncedAt       *time.Time
}

// accessJoinColumns selects an accessJoin from accesses a, platform_plans p
// and platform_accounts acc, in dest's order.
const accessJoinColumns = `a.id, a.subscription_id, a.product_code, a.desired_state, a.last_error, acc.username,
	p.platform_state, p.last_error AS plan_error, p.synced_at`

// dest returns the scan destinations of accessJoinColumns, in order.
func (a *accessJoin) dest() []any {
	return []any{&a.ID, &a.SubscriptionID, &a.ProductCode, &a.DesiredState, &a.LastError, &a.Username, &a.PlatformState, &a.PlanError, &a.SyncedAt}
}

// domain is the access as the API shows it: the plan's error shows when
// the access has none of its own.
func (a *accessJoin) domain(loc *time.Location) svahub.Access {
	v := svahub.Access{ID: a.ID, ProductCode: a.ProductCode, DesiredState: svahub.AccessState(a.DesiredState), LastError: a.LastError}
	if a.Username != nil {
		v.PlatformUser = *a.Username
	}
	if a.PlatformState != nil {
		v.PlatformState = svahub.AccessState(*a.PlatformState)
	}
	if v.LastError == "" && a.PlanError != nil {
		v.LastError = *a.PlanError
	}
	if a.SyncedAt != nil {
		t := a.SyncedAt.In(loc)
		v.SynchronizedAt = &t
	}
	return v
}

// subscriptionColumns selects a subscriptionRow's API fields, in
// viewDest's order.
const subscriptionColumns = `id, service_id, package_id, description, origin, value_cents, expires_on, status, last_error,
	created_at, cancelled_at`

// viewDest returns the scan destinations of subscriptionColumns, in order.
func (r *subscriptionRow) viewDest() []any {
	return []any{&r.ID, &r.ServiceID, &r.PackageID, &r.Description, &r.Origin, &r.ValueCents, &r.ExpiresOn, &r.Status, &r.LastError,
		&r.CreatedAt, &r.CancelledAt}
}

// domain is the subscription as the API shows it, without its accesses.
func (r *subscriptionRow) domain(loc *time.Location) *svahub.Subscription {
	s := &svahub.Subscription{ID: r.ID, ServiceID: r.ServiceID, PackageID: r.PackageID, Description: r.Description,
		Origin: svahub.Origin(r.Origin), Value: svahub.Money(r.ValueCents), ExpiresOn: svahub.Date(r.ExpiresOn),
		Status: svahub.SubscriptionStatus(r.Status), LastError: r.LastError, Accesses: []svahub.Access{}, CreatedAt: r.CreatedAt.In(loc)}
	if r.CancelledAt != nil {
		t := r.CancelledAt.In(loc)
		s.CancelledAt = &t
	}
	return s
}

// subscriptionView is the API view of a subscription just written with all
// its plans new (nothing applied on the platform yet).
func (db *DB) subscriptionView(sub *subscriptionRow, accs []accessRow, username string) *svahub.Subscription {
	s := sub.domain(db.loc)
	s.Accesses = make([]svahub.Access, len(accs))
	for i, a := range accs {
		j := accessJoin{ID: a.ID, SubscriptionID: sub.ID, ProductCode: a.ProductCode, DesiredState: a.DesiredState, LastError: a.LastError}
		if a.PlanID != nil {
			j.Username = &username
		}
		s.Accesses[i] = j.domain(db.loc)
	}
	return s
}
