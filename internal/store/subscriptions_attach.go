package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/svahub/svahub/internal/svahub"
)

// The attach path is the one way a subscription is written: by POST
// /servicos/{id}/pacotes (the hottest write, origin avulso) and by a combo
// (origin plano, attachComboPackages: one attachOne per package, one
// finishAttach for all). It runs on plain database/sql inside the GORM
// transaction and touches only what the new subscription changes: its
// accesses, the platform plans they resolve to and the subscriptions
// sharing those plans. When every plan is
// new (the usual case: a product the customer's account did not have) the
// plan aggregate and the subscription status are computed in memory with
// the same pure functions the general refresh uses. On PostgreSQL, with the
// account already there, the transaction is five statements: begin, lock
// the service and read the package, one statement creating the plans, the
// subscription and its accesses (attachStatement), the River job, commit.
// Otherwise the account and plans are found and created one statement at a
// time. Plans that already existed go through the general aggregate and
// status refresh.

// pkgInfo is a package with what attaching it needs.
type pkgInfo struct {
	ID             int64
	Description    string
	Active         bool
	ValueCents     int64
	IntegrationID  int64
	SuspendOnDebt  bool
	UsernamePolicy string
	Products       []pkgProduct
}

type pkgProduct struct {
	ID   int64
	Code string
}

const (
	qPackageCols = `pk.description, pk.active, pk.value_cents, pk.integration_id, i.suspend_on_debt, i.username_policy, p.id, p.code`
	qPackageJoin = `packages pk JOIN integrations i ON i.id = pk.integration_id
	LEFT JOIN package_products pp ON pp.package_id = pk.id
	LEFT JOIN products p ON p.id = pp.product_id`
	qAttachPackage = `SELECT ` + qPackageCols + ` FROM ` + qPackageJoin + ` WHERE pk.id = ? ORDER BY pp.position`
	// qComboPackages reads a combo's packages in the combo's order, each
	// with its products in position order (a package's rows are adjacent
	// even if two packages share a position).
	qComboPackages = `SELECT pk.id, ` + qPackageCols + ` FROM plan_packages cp JOIN (` + qPackageJoin + `)
	ON pk.id = cp.package_id WHERE cp.plan_id = ? ORDER BY cp.position, cp.package_id, pp.position`
	// qServicePackage locks a service and reads a package in one round trip
	// (package columns NULL when the package does not exist).
	qServicePackage = `SELECT s.id, s.plan_id, s.login, s.password_sealed, s.status, s.customer_id, s.customer_code, s.customer_name,
	s.customer_document, s.customer_email, s.customer_phone, s.created_at, s.updated_at, ` + qPackageCols + `
	FROM services s LEFT JOIN (` + qPackageJoin + `) ON pk.id = ? WHERE s.id = ? ORDER BY pp.position`
)

// packageScan receives one row of qPackageCols; NULLs where the package
// (or its products) are missing.
type packageScan struct {
	description, policy *string
	active, debtKey     *bool
	value, integration  *int64
	productID           *int64
	code                *string
}

func (ps *packageScan) dest() []any {
	return []any{&ps.description, &ps.active, &ps.value, &ps.integration, &ps.debtKey, &ps.policy, &ps.productID, &ps.code}
}

// add folds the row into pkg, creating it on the first row.
func (ps *packageScan) add(pkg **pkgInfo, id int64) {
	if ps.description == nil {
		return
	}
	if *pkg == nil {
		*pkg = &pkgInfo{ID: id, Description: *ps.description, Active: *ps.active, ValueCents: *ps.value,
			IntegrationID: *ps.integration, SuspendOnDebt: *ps.debtKey, UsernamePolicy: *ps.policy}
	}
	if ps.productID != nil && ps.code != nil {
		(*pkg).Products = append((*pkg).Products, pkgProduct{ID: *ps.productID, Code: *ps.code})
	}
}

// checkPackage refuses a missing or inactive package (422 on id_pacote).
func checkPackage(pkg *pkgInfo) error {
	if pkg == nil {
		return svahub.FieldInvalid("id_pacote", "pacote não encontrado")
	}
	if !pkg.Active {
		return svahub.FieldInvalid("id_pacote", "pacote inativo")
	}
	return nil
}

// loadPackage reads a package, its integration's keys and its products (in
// position order). A missing or inactive package is a 422 on id_pacote.
func (db *DB) loadPackage(ctx context.Context, stx *sql.Tx, id int64) (*pkgInfo, error) {
	rows, err := stx.QueryContext(ctx, db.rebind(qAttachPackage), id)
	if err != nil {
		return nil, err
	}
	var pkg *pkgInfo
	for rows.Next() {
		var ps packageScan
		if err := rows.Scan(ps.dest()...); err != nil {
			_ = rows.Close()
			return nil, err
		}
		ps.add(&pkg, id)
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}
	return pkg, checkPackage(pkg)
}

// loadComboPackages reads the packages of combo id in the combo's order,
// as loadPackage does one package, in one statement (none for no combo).
// Inactive packages are included: the caller decides what to skip.
func (db *DB) loadComboPackages(ctx context.Context, stx *sql.Tx, id *int64) ([]*pkgInfo, error) {
	if id == nil {
		return nil, nil
	}
	rows, err := stx.QueryContext(ctx, db.rebind(qComboPackages), *id)
	if err != nil {
		return nil, err
	}
	var (
		out  []*pkgInfo
		last int64
	)
	for rows.Next() {
		var (
			pkgID int64
			ps    packageScan
		)
		if err := rows.Scan(append([]any{&pkgID}, ps.dest()...)...); err != nil {
			_ = rows.Close()
			return nil, err
		}
		if len(out) == 0 || last != pkgID {
			out, last = append(out, nil), pkgID
		}
		ps.add(&out[len(out)-1], pkgID)
	}
	return out, closeRows(rows)
}

// lockServicePackage locks a service row until the end of the transaction
// and reads the package to attach, in one statement.
func (db *DB) lockServicePackage(ctx context.Context, stx *sql.Tx, serviceID, packageID int64) (*serviceRow, *pkgInfo, error) {
	q := qServicePackage
	if db.dialect == DialectPostgres {
		q += " FOR " + noKeyUpdate + " OF s"
	}
	rows, err := stx.QueryContext(ctx, db.rebind(q), packageID, serviceID)
	if err != nil {
		return nil, nil, err
	}
	var (
		svc *serviceRow
		pkg *pkgInfo
	)
	for rows.Next() {
		var (
			r  serviceRow
			ps packageScan
		)
		if err := rows.Scan(append(r.dest(), ps.dest()...)...); err != nil {
			_ = rows.Close()
			return nil, nil, err
		}
		if svc == nil {
			svc = &r
		}
		ps.add(&pkg, packageID)
	}
	if err := closeRows(rows); err != nil {
		return nil, nil, err
	}
	if svc == nil {
		return nil, nil, svahub.Errorf(svahub.ENOTFOUND, "serviço não encontrado")
	}
	return svc, pkg, checkPackage(pkg)
}

const qInsertSubscription = `INSERT INTO subscriptions (service_id, package_id, integration_id, description, origin, value_cents,
	expires_on, status, last_error, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`

// insertSubscription inserts sub and sets its id. A live subscription of
// the same package on the service is a 409.
func (db *DB) insertSubscription(ctx context.Context, stx *sql.Tx, sub *subscriptionRow) error {
	err := stx.QueryRowContext(ctx, db.rebind(qInsertSubscription), sub.ServiceID, sub.PackageID, sub.IntegrationID, sub.Description,
		sub.Origin, sub.ValueCents, sub.ExpiresOn, sub.Status, sub.LastError, sub.CreatedAt, sub.UpdatedAt).Scan(&sub.ID)
	return subscriptionConflict(err, sub.PackageID)
}

// insertAccesses inserts the accesses of one subscription in one statement
// and sets their ids.
func (db *DB) insertAccesses(ctx context.Context, stx *sql.Tx, accs []accessRow) error {
	if len(accs) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO accesses (subscription_id, product_id, product_code, integration_id, plan_id, desired_state, last_error, created_at, updated_at) VALUES `)
	args := make([]any, 0, 9*len(accs))
	for i, a := range accs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, a.SubscriptionID, a.ProductID, a.ProductCode, a.IntegrationID, a.PlanID, a.DesiredState, a.LastError, a.CreatedAt, a.UpdatedAt)
	}
	b.WriteString(" RETURNING id, product_id")
	rows, err := stx.QueryContext(ctx, db.rebind(b.String()), args...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id, product int64
		if err := rows.Scan(&id, &product); err != nil {
			_ = rows.Close()
			return err
		}
		for i := range accs {
			if accs[i].ProductID == product {
				accs[i].ID = id
			}
		}
	}
	return closeRows(rows)
}

// insertSubscriptionAccesses inserts a subscription and its accesses and
// sets their ids (two statements; attachStatement is the one-statement
// PostgreSQL form used when the platform account exists).
func (db *DB) insertSubscriptionAccesses(ctx context.Context, stx *sql.Tx, sub *subscriptionRow, accs []accessRow) error {
	if err := db.insertSubscription(ctx, stx, sub); err != nil {
		return err
	}
	for i := range accs {
		accs[i].SubscriptionID = sub.ID
	}
	return db.insertAccesses(ctx, stx, accs)
}

// newSubscription is the row of a fresh subscription of pkg on a service.
func (db *DB) newSubscription(serviceID int64, pkg *pkgInfo, origin svahub.Origin, expires svahub.Date) subscriptionRow {
	value := pkg.ValueCents
	if origin == svahub.OriginCombo {
		value = 0
	}
	now := db.now().UTC().Truncate(time.Microsecond) // what both databases keep
	return subscriptionRow{ServiceID: serviceID, PackageID: pkg.ID, IntegrationID: pkg.IntegrationID, Description: pkg.Description,
		Origin: string(origin), ValueCents: value, ExpiresOn: string(expires), Status: string(svahub.SubPending), CreatedAt: now, UpdatedAt: now}
}

const (
	qAccountID  = `SELECT id FROM platform_accounts WHERE integration_id = ? AND username = ?`
	qNewAccount = `INSERT INTO platform_accounts (integration_id, username, reference, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (integration_id, username) DO NOTHING RETURNING id`
)

// accountPlans returns the platform account of (integration, username),
// creating it if missing, and the ids of its plans among codes.
func (db *DB) accountPlans(ctx context.Context, stx *sql.Tx, integrationID int64, username string, codes []string) (int64, map[string]int64, error) {
	var b strings.Builder
	b.WriteString(`SELECT a.id, p.id, p.product_code FROM platform_accounts a
		LEFT JOIN platform_plans p ON p.account_id = a.id AND p.product_code IN (`)
	args := make([]any, 0, len(codes)+2)
	for i, c := range codes {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('?')
		args = append(args, c)
	}
	b.WriteString(`) WHERE a.integration_id = ? AND a.username = ?`)
	args = append(args, integrationID, username)
	rows, err := stx.QueryContext(ctx, db.rebind(b.String()), args...)
	if err != nil {
		return 0, nil, err
	}
	var accountID int64
	plans := map[string]int64{}
	for rows.Next() {
		var (
			planID *int64
			code   *string
		)
		if err := rows.Scan(&accountID, &planID, &code); err != nil {
			_ = rows.Close()
			return 0, nil, err
		}
		if planID != nil && code != nil {
			plans[*code] = *planID
		}
	}
	if err := closeRows(rows); err != nil {
		return 0, nil, err
	}
	if accountID != 0 {
		return accountID, plans, nil
	}
	err = stx.QueryRowContext(ctx, db.rebind(qNewAccount), integrationID, username, newReference(), db.now().UTC()).Scan(&accountID)
	if errors.Is(err, sql.ErrNoRows) { // created meanwhile by another transaction
		err = stx.QueryRowContext(ctx, db.rebind(qAccountID), integrationID, username).Scan(&accountID)
		if err != nil {
			return 0, nil, err
		}
		return db.accountPlans(ctx, stx, integrationID, username, codes)
	}
	return accountID, plans, err
}

// newPlan is a platform plan to create with its first aggregate.
type newPlan struct {
	Code    string
	Desired svahub.AccessState
	Expiry  string
	Version int64
}

// freshPlan is the aggregate of a plan whose only members are accesses of
// one new subscription in state desired, expiring on expires: what
// aggregatePlans would compute for it, from a plan row's defaults:
// svahub.AggregatePlan of that one member.
func freshPlan(code string, desired svahub.AccessState, expires svahub.Date) newPlan {
	agg := svahub.AggregatePlan([]svahub.PlanMember{{Desired: desired, Expiry: expires}}, svahub.PlanAggregate{})
	p := newPlan{Code: code, Desired: agg.Desired, Expiry: string(agg.Expiry)}
	if p.Desired != svahub.AccessNone || p.Expiry != "" {
		p.Version = 1
	}
	return p
}

// insertPlans creates plans on an account and returns the ids of those it
// created; a plan another transaction created meanwhile is left out.
func (db *DB) insertPlans(ctx context.Context, stx *sql.Tx, accountID, integrationID int64, plans []newPlan) (map[string]int64, error) {
	var b strings.Builder
	b.WriteString(`INSERT INTO platform_plans (account_id, integration_id, product_code, desired_state, desired_expiry, version) VALUES `)
	args := make([]any, 0, 6*len(plans))
	for i, p := range plans {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?)")
		args = append(args, accountID, integrationID, p.Code, string(p.Desired), p.Expiry, p.Version)
	}
	b.WriteString(` ON CONFLICT (account_id, product_code) DO NOTHING RETURNING id, product_code`)
	rows, err := stx.QueryContext(ctx, db.rebind(b.String()), args...)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(plans))
	for rows.Next() {
		var (
			id   int64
			code string
		)
		if err := rows.Scan(&id, &code); err != nil {
			_ = rows.Close()
			return nil, err
		}
		out[code] = id
	}
	return out, closeRows(rows)
}

// AttachPackage attaches one package to a service (origin avulso).
func (db *DB) AttachPackage(ctx context.Context, serviceID int64, in svahub.AttachInput) (*svahub.Subscription, error) {
	if err := svahub.Validate(&in); err != nil {
		return nil, err
	}
	expires := svahub.DefaultExpiry(db.now(), db.loc)
	if in.ExpiresOn != "" {
		d, _ := svahub.ParseDate(in.ExpiresOn)
		if d.Before(db.today()) {
			return nil, svahub.FieldInvalid("data_expiracao", "data no passado: use hoje ou uma data futura")
		}
		expires = d
	}
	var (
		view  *svahub.Subscription
		subID int64
	)
	err := db.tx(ctx, func(tx *gorm.DB) error {
		var err error
		view, subID, err = db.attach(ctx, tx, serviceID, in.PackageID, expires)
		return err
	})
	if err != nil {
		return nil, err
	}
	if view != nil {
		return view, nil
	}
	return db.FindSubscriptionByID(ctx, subID)
}

// attach does AttachPackage's work in tx. It returns the new subscription's
// view when it could build it from what it wrote, else only its id.
func (db *DB) attach(ctx context.Context, tx *gorm.DB, serviceID, packageID int64, expires svahub.Date) (*svahub.Subscription, int64, error) {
	stx := SQLTx(tx)
	svc, pkg, err := db.lockServicePackage(ctx, stx, serviceID, packageID)
	if err != nil {
		return nil, 0, err
	}
	if svahub.ServiceStatus(svc.Status).Ended() {
		return nil, 0, svahub.Errorf(svahub.ECONFLICT, "o serviço está %s: pacotes só podem ser adicionados depois que ele voltar", svc.Status)
	}
	cs, err := db.customerService(svc)
	if err != nil {
		return nil, 0, err
	}
	w, err := db.attachOne(ctx, stx, svc, pkg, cs, svahub.OriginSingle, expires)
	if err != nil {
		return nil, 0, err
	}
	if err := db.finishAttach(tx, []*attachWork{w}); err != nil {
		return nil, 0, err
	}
	if len(w.existing) > 0 {
		return nil, w.sub.ID, nil
	}
	return db.subscriptionView(&w.sub, w.accs, w.username), w.sub.ID, nil
}

// attachOne writes one subscription of pkg on svc (locked by the caller,
// cs its domain view) with its accesses, and creates the platform plans
// they need with their first aggregate. It is the one way a subscription
// is written, by AttachPackage (avulso) and by a combo (plano); the
// caller then passes its work to finishAttach.
func (db *DB) attachOne(ctx context.Context, stx *sql.Tx, svc *serviceRow, pkg *pkgInfo, cs *svahub.CustomerService,
	origin svahub.Origin, expires svahub.Date) (*attachWork, error) {
	w := db.newAttachWork(svc, pkg, cs, origin, expires)
	return w, db.attachPlans(ctx, stx, w)
}

// finishAttach completes attaches in tx: the plans they found (shared with
// other subscriptions, or with an earlier package of the same combo) get
// the general aggregate; one job is queued per plan at its last version
// (a plan made by one package and changed by a later one gets only the
// later job); the subscriptions sharing those plans get their status.
func (db *DB) finishAttach(tx *gorm.DB, works []*attachWork) error {
	var (
		jobs     []svahub.PlanJob
		existing []int64
		subs     []int64
	)
	for _, w := range works {
		jobs = append(jobs, w.jobs...)
		existing = append(existing, w.existing...)
		subs = append(subs, w.sub.ID)
	}
	var changed []int64
	if len(existing) > 0 {
		slices.Sort(existing)
		existing = slices.Compact(existing)
		var err error
		if changed, err = db.aggregatePlans(tx, existing); err != nil {
			return err
		}
		jobs = slices.DeleteFunc(jobs, func(j svahub.PlanJob) bool { return slices.Contains(changed, j.PlanID) })
	}
	if db.queue != nil && len(jobs) > 0 {
		if err := db.queue.EnqueueTx(tx.Statement.Context, SQLTx(tx), jobs); err != nil {
			return err
		}
	}
	if len(existing) == 0 {
		return nil
	}
	if err := db.enqueuePlans(tx, changed); err != nil {
		return err
	}
	return db.refreshSharedStatuses(tx, existing, subs)
}

// attachWork is one attach in progress: the new subscription, its
// accesses, and the plans they need.
type attachWork struct {
	sub       subscriptionRow
	accs      []accessRow
	username  string
	policyErr error
	codes     []string         // distinct product codes that need a plan
	missing   []newPlan        // those plans' first aggregate, if they are new
	planOf    map[string]int64 // product code → plan id
	existing  []int64          // plans that were there before
	jobs      []svahub.PlanJob
}

// newAttachWork builds the subscription, its accesses, and its status as
// it is when every plan is new (a shared plan that already existed is
// refreshed afterwards).
func (db *DB) newAttachWork(svc *serviceRow, pkg *pkgInfo, cs *svahub.CustomerService, origin svahub.Origin, expires svahub.Date) *attachWork {
	w := &attachWork{sub: db.newSubscription(svc.ID, pkg, origin, expires), planOf: map[string]int64{}}
	desired := svahub.DesiredState(svahub.ServiceStatus(svc.Status), pkg.SuspendOnDebt, false, svahub.AccessNone)
	w.username, _, w.policyErr = svahub.UsernamePolicy(pkg.UsernamePolicy).Credentials(cs)
	w.accs = make([]accessRow, len(pkg.Products))
	views := make([]svahub.AccessView, len(pkg.Products))
	for i, p := range pkg.Products {
		w.accs[i] = accessRow{ProductID: p.ID, ProductCode: p.Code, IntegrationID: pkg.IntegrationID, DesiredState: string(desired),
			CreatedAt: w.sub.CreatedAt, UpdatedAt: w.sub.CreatedAt}
		views[i] = svahub.AccessView{Desired: desired}
		if w.policyErr != nil {
			w.accs[i].LastError = svahub.ErrorMessage(w.policyErr)
			views[i].Error = w.accs[i].LastError
			continue
		}
		views[i].Synced = freshPlan(p.Code, desired, expires).Version == 0
		if _, seen := w.planOf[p.Code]; !seen {
			w.planOf[p.Code] = 0
			w.codes = append(w.codes, p.Code)
		}
	}
	st, msg := svahub.SubscriptionStatusOf(false, false, views)
	w.sub.Status, w.sub.LastError = string(st), msg
	w.missing = make([]newPlan, len(w.codes))
	for i, c := range w.codes {
		w.missing[i] = freshPlan(c, desired, expires)
	}
	return w
}

// record notes which plans this attach made (they get a job when their
// first aggregate has work) and which were already there.
func (w *attachWork) record(made, old map[string]int64) {
	for _, p := range w.missing {
		if id, ok := made[p.Code]; ok {
			w.planOf[p.Code] = id
			if p.Version > 0 {
				w.jobs = append(w.jobs, svahub.PlanJob{PlanID: id, Version: p.Version})
			}
		} else if id, ok := old[p.Code]; ok {
			w.planOf[p.Code] = id
			w.existing = append(w.existing, id)
		}
	}
}

// attachPlans finds or creates the plans and inserts the subscription with
// its accesses: in one statement on PostgreSQL when the account exists
// (attachStatement), else in a few.
func (db *DB) attachPlans(ctx context.Context, stx *sql.Tx, w *attachWork) error {
	if len(w.codes) > 0 && db.dialect == DialectPostgres && !db.oneAttachPath {
		made, old, ok, err := db.attachStatement(ctx, stx, &w.sub, w.accs, w.username, w.missing)
		if err != nil || ok {
			w.record(made, old)
			return err
		}
	}
	if len(w.codes) > 0 {
		if err := db.findOrMakePlans(ctx, stx, w); err != nil {
			return err
		}
	}
	for i := range w.accs {
		if w.policyErr == nil {
			id := w.planOf[w.accs[i].ProductCode]
			w.accs[i].PlanID = &id
		}
	}
	return db.insertSubscriptionAccesses(ctx, stx, &w.sub, w.accs)
}

// findOrMakePlans finds the account's plans for w's codes and creates the
// missing ones.
func (db *DB) findOrMakePlans(ctx context.Context, stx *sql.Tx, w *attachWork) error {
	accountID, found, err := db.accountPlans(ctx, stx, w.sub.IntegrationID, w.username, w.codes)
	if err != nil {
		return err
	}
	var toMake []newPlan
	for _, p := range w.missing {
		if _, ok := found[p.Code]; !ok {
			toMake = append(toMake, p)
		}
	}
	made := map[string]int64{}
	if len(toMake) > 0 {
		if made, err = db.insertPlans(ctx, stx, accountID, w.sub.IntegrationID, toMake); err != nil {
			return err
		}
		if len(made) < len(toMake) { // created by a concurrent transaction meanwhile
			if _, found, err = db.accountPlans(ctx, stx, w.sub.IntegrationID, w.username, w.codes); err != nil {
				return err
			}
		}
	}
	w.record(made, found)
	return nil
}

// errRetryTx asks db.tx to run the transaction again: a concurrent one
// created a row this one could not see.
var errRetryTx = errors.New("store: concurrent insert, transaction retried")

// attachStatement is the PostgreSQL attach in one round trip: it finds the
// account's plans for the package's products, creates the missing ones
// with their first aggregate, and inserts the subscription with its
// accesses pointing at them (data-modifying CTEs). ok is false, and
// nothing is written, when the account does not exist yet. A plan created
// by a concurrent transaction after this statement's snapshot leaves an
// access without a plan: the transaction is then run again (errRetryTx).
func (db *DB) attachStatement(ctx context.Context, stx *sql.Tx, sub *subscriptionRow, accs []accessRow, username string,
	plans []newPlan) (made, old map[string]int64, ok bool, err error) {
	var b strings.Builder
	args := []any{sub.IntegrationID, username}
	b.WriteString(`WITH acc AS (SELECT id FROM platform_accounts WHERE integration_id = ? AND username = ?),
	v (ord, product_id, code) AS (VALUES `)
	for i, a := range accs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?::int, ?::bigint, ?::text)")
		args = append(args, i, a.ProductID, a.ProductCode)
	}
	b.WriteString(`),
	np (code, desired, expiry, version) AS (VALUES `)
	for i, p := range plans {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?::text, ?::text, ?::text, ?::bigint)")
		args = append(args, p.Code, string(p.Desired), p.Expiry, p.Version)
	}
	b.WriteString(`),
	pnew AS (INSERT INTO platform_plans (account_id, integration_id, product_code, desired_state, desired_expiry, version)
		SELECT acc.id, ?::bigint, np.code, np.desired, np.expiry, np.version FROM acc CROSS JOIN np
		ON CONFLICT (account_id, product_code) DO NOTHING RETURNING id, product_code),
	pold AS (SELECT p.id, p.product_code FROM platform_plans p JOIN acc ON p.account_id = acc.id
		WHERE p.product_code IN (SELECT code FROM np)),
	s AS (INSERT INTO subscriptions (service_id, package_id, integration_id, description, origin, value_cents,
		expires_on, status, last_error, created_at, updated_at)
		SELECT ?::bigint, ?::bigint, ?::bigint, ?::text, ?::text, ?::bigint, ?::text, ?::text, ?::text, ?::timestamptz, ?::timestamptz
		FROM acc RETURNING id),
	a AS (INSERT INTO accesses (subscription_id, product_id, product_code, integration_id, plan_id, desired_state, last_error, created_at, updated_at)
		SELECT s.id, v.product_id, v.code, ?::bigint, COALESCE(pnew.id, pold.id), ?::text, '', ?::timestamptz, ?::timestamptz
		FROM s CROSS JOIN v LEFT JOIN pnew ON pnew.product_code = v.code LEFT JOIN pold ON pold.product_code = v.code
		ORDER BY v.ord RETURNING subscription_id, id, product_id, plan_id)
	SELECT a.subscription_id, a.id, a.product_id, a.plan_id, a.plan_id = pnew.id, pold.product_code IS NOT NULL, COALESCE(pnew.product_code, pold.product_code)
	FROM a LEFT JOIN pnew ON pnew.id = a.plan_id LEFT JOIN pold ON pold.id = a.plan_id`)
	args = append(args, sub.IntegrationID,
		sub.ServiceID, sub.PackageID, sub.IntegrationID, sub.Description, sub.Origin, sub.ValueCents, sub.ExpiresOn, sub.Status, sub.LastError, sub.CreatedAt, sub.UpdatedAt,
		sub.IntegrationID, accs[0].DesiredState, sub.CreatedAt, sub.CreatedAt)
	rows, err := stx.QueryContext(ctx, db.rebind(b.String()), args...)
	if err != nil {
		return nil, nil, false, subscriptionConflict(err, sub.PackageID)
	}
	return scanAttached(rows, sub, accs)
}

// scanAttached reads attachStatement's rows into sub and accs, and the
// plans it made or found.
func scanAttached(rows *sql.Rows, sub *subscriptionRow, accs []accessRow) (made, old map[string]int64, ok bool, err error) {
	made, old = map[string]int64{}, map[string]int64{}
	n, lost := 0, false
	for rows.Next() {
		var (
			subID, id, product int64
			plan               *int64
			created            *bool
			existed            bool
			code               *string
		)
		if err := rows.Scan(&subID, &id, &product, &plan, &created, &existed, &code); err != nil {
			_ = rows.Close()
			return nil, nil, false, err
		}
		n++
		sub.ID = subID
		if plan == nil || code == nil {
			lost = true
			continue
		}
		for i := range accs {
			if accs[i].ProductID == product {
				accs[i].ID, accs[i].SubscriptionID, accs[i].PlanID = id, subID, plan
			}
		}
		if created != nil && *created {
			made[*code] = *plan
		} else if existed {
			old[*code] = *plan
		}
	}
	if err := closeRows(rows); err != nil {
		return nil, nil, false, subscriptionConflict(err, sub.PackageID)
	}
	if lost {
		return nil, nil, false, errRetryTx
	}
	return made, old, n > 0, nil
}

// subscriptionConflict maps the live-package unique index to a 409.
func subscriptionConflict(err error, packageID int64) error {
	if err != nil && isUniqueViolation(err) {
		return svahub.Errorf(svahub.ECONFLICT, "o pacote %d já está ativo neste serviço", packageID)
	}
	return err
}
