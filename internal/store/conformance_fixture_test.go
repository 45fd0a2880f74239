package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/internal/svahub"
)

// This file is the one place the conformance suite builds its fixtures:
// when an input shape changes (IntegrationInput's params, say), adapt it
// here only.

// confClock is a settable clock, starting at a fixed instant.
type confClock struct {
	mu  sync.Mutex
	now time.Time
}

func newConfClock() *confClock {
	return &confClock{now: time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)}
}

// Now returns the clock's time.
func (c *confClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock on by d.
func (c *confClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// confQueue records the jobs the store enqueues.
type confQueue struct {
	mu   sync.Mutex
	jobs []svahub.PlanJob
}

// EnqueueTx records jobs.
func (q *confQueue) EnqueueTx(_ context.Context, _ *sql.Tx, jobs []svahub.PlanJob) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.jobs = append(q.jobs, jobs...)
	return nil
}

// Jobs returns the jobs recorded so far.
func (q *confQueue) Jobs() []svahub.PlanJob {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]svahub.PlanJob(nil), q.jobs...)
}

// confEnv is one conformance case's fresh database with its clock and queue.
type confEnv struct {
	t     *testing.T
	ctx   context.Context
	db    *store.DB
	clock *confClock
	queue *confQueue
}

// newConfEnv opens a fresh migrated database of dialect with a settable
// clock (UTC) and a recording job queue.
func newConfEnv(t *testing.T, dialect string) *confEnv {
	t.Helper()
	clk := newConfClock()
	db := storetest.Open(t, dialect, storetest.Options{Now: clk.Now, Location: time.UTC})
	q := &confQueue{}
	db.SetJobQueue(q)
	return &confEnv{t: t, ctx: context.Background(), db: db, clock: clk, queue: q}
}

var confSeq atomic.Int64

// integration creates an active integration with a client secret.
func (e *confEnv) integration() *svahub.Integration {
	e.t.Helper()
	n := confSeq.Add(1)
	secret := "s3cr3t"
	integ, err := e.db.CreateIntegration(e.ctx, svahub.IntegrationInput{
		Description: fmt.Sprint("Qualifica ", n), Platform: "qualifica",
		Params: svahub.IntegrationParamInput{Values: map[string]string{"client_id": "cid", "client_secret": secret}},
	})
	require.NoError(e.t, err)
	return integ
}

// product creates a product of code on integ.
func (e *confEnv) product(integ int64, code string) *svahub.Product {
	e.t.Helper()
	p, err := e.db.CreateProduct(e.ctx, integ, svahub.ProductInput{Description: "Produto " + code, Code: code})
	require.NoError(e.t, err)
	return p
}

// pkg creates a package of value with products.
func (e *confEnv) pkg(integ int64, value string, products ...int64) *svahub.Package {
	e.t.Helper()
	p, err := e.db.CreatePackage(e.ctx, svahub.PackageInput{Description: "Pacote", Value: value, IntegrationID: integ, Products: products})
	require.NoError(e.t, err)
	return p
}

// catalogue creates an integration with one product ("pro") and a package
// of it: the common start of service tests.
func (e *confEnv) catalogue() (*svahub.Integration, *svahub.Package) {
	e.t.Helper()
	integ := e.integration()
	prod := e.product(integ.ID, "pro")
	return integ, e.pkg(integ.ID, "29.90", prod.ID)
}

// service creates (or updates) customer service id, enabled, of customer id.
func (e *confEnv) service(id int64) *svahub.CustomerService {
	e.t.Helper()
	pw := "senha"
	svc, _, err := e.db.UpsertService(e.ctx, id, svahub.ServiceInput{Login: fmt.Sprint("login", id), Password: &pw, Status: string(svahub.StatusEnabled),
		Customer: svahub.CustomerInput{ID: id, Name: "Cliente", Document: "52998224725", Email: "c@example.com"}})
	require.NoError(e.t, err)
	return svc
}

// subscription attaches pkg to a new service id and returns the
// subscription with its platform plan and account ids.
func (e *confEnv) subscription(id, pkg int64, expires string) (*svahub.Subscription, int64, int64) {
	e.t.Helper()
	e.service(id)
	sub, err := e.db.AttachPackage(e.ctx, id, svahub.AttachInput{PackageID: pkg, ExpiresOn: expires})
	require.NoError(e.t, err)
	plan, account := e.planOf(sub.ID)
	return sub, plan, account
}

// planOf returns the platform plan and account of a subscription's first access.
func (e *confEnv) planOf(subID int64) (int64, int64) {
	e.t.Helper()
	var plan, account int64
	require.NoError(e.t, e.db.SQL().QueryRowContext(e.ctx, e.rebind(
		`SELECT p.id, p.account_id FROM accesses a JOIN platform_plans p ON p.id = a.plan_id WHERE a.subscription_id = ? ORDER BY a.id LIMIT 1`),
		subID).Scan(&plan, &account))
	return plan, account
}

// scalar runs a one-value query.
func (e *confEnv) scalar(q string, dst any, args ...any) {
	e.t.Helper()
	require.NoError(e.t, e.db.SQL().QueryRowContext(e.ctx, e.rebind(q), args...).Scan(dst))
}

// rebind turns ? placeholders into $n on PostgreSQL.
func (e *confEnv) rebind(q string) string {
	if e.db.Dialect() != store.DialectPostgres {
		return q
	}
	var b []byte
	n := 0
	for i := range len(q) {
		if q[i] == '?' {
			n++
			b = fmt.Appendf(b, "$%d", n)
			continue
		}
		b = append(b, q[i])
	}
	return string(b)
}

// code asserts err carries the svahub error code want.
func code(t *testing.T, want string, err error) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, want, svahub.ErrorCode(err), "error: %v", err)
}
