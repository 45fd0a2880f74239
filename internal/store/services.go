package store

import (
	"context"
	"slices"
	"sort"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/svahub/svahub/internal/svahub"
)

type serviceRow struct {
	ID               int64
	ComboID          *int64 `gorm:"column:plan_id"` // the HubSoft plano (svahub.CustomerService.PlanID)
	Login            string
	PasswordSealed   string
	Status           string
	CustomerID       int64
	CustomerCode     string
	CustomerName     string
	CustomerDocument string
	CustomerEmail    string
	CustomerPhone    string
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

func (serviceRow) TableName() string { return "services" }

var _ svahub.CustomerServiceService = (*DB)(nil)

func (db *DB) today() svahub.Date { return svahub.DateOf(db.now(), db.loc) }

// Today is the current date in the business time zone, by the store's clock.
func (db *DB) Today() svahub.Date { return db.today() }

func (r *serviceRow) domain(loc *time.Location) *svahub.CustomerService {
	return &svahub.CustomerService{
		ID: r.ID, ComboID: r.ComboID, Login: r.Login, PasswordSet: r.PasswordSealed != "", Status: svahub.ServiceStatus(r.Status),
		Customer:      svahub.Customer{ID: r.CustomerID, Code: r.CustomerCode, Name: r.CustomerName, Document: r.CustomerDocument, Email: r.CustomerEmail, Phone: r.CustomerPhone},
		Subscriptions: []svahub.Subscription{}, CreatedAt: r.CreatedAt.In(loc), UpdatedAt: r.UpdatedAt.In(loc),
	}
}

// customerService returns the domain view with the password opened, for
// the username policy.
func (db *DB) customerService(r *serviceRow) (*svahub.CustomerService, error) {
	s := r.domain(db.loc)
	pw, err := db.sealer.Open(r.PasswordSealed)
	if err != nil {
		return nil, err
	}
	s.Password = pw
	return s, nil
}

// UpsertService creates or updates a customer service pushed by HubSoft
// core. A new service gets its combo's packages; a combo change cancels the
// combo packages the new combo lacks and adds the missing ones.
func (db *DB) UpsertService(ctx context.Context, id int64, in svahub.ServiceInput) (*svahub.CustomerService, bool, error) {
	in.Normalize()
	if err := svahub.Validate(&in); err != nil {
		return nil, false, err
	}
	if id <= 0 {
		return nil, false, svahub.FieldInvalid("id_cliente_servico", "inteiro positivo")
	}
	var created bool
	err := db.tx(ctx, func(tx *gorm.DB) error {
		now := db.now().UTC()
		sealed := ""
		if in.Password != nil {
			var err error
			if sealed, err = db.sealer.Seal(*in.Password); err != nil {
				return err
			}
		}
		c := in.Customer
		fresh := serviceRow{ID: id, ComboID: in.ComboID, Login: in.Login, PasswordSealed: sealed, Status: in.Status,
			CustomerID: c.ID, CustomerCode: c.Code, CustomerName: c.Name, CustomerDocument: c.Document, CustomerEmail: c.Email, CustomerPhone: c.Phone,
			CreatedAt: now, UpdatedAt: now}
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&fresh)
		if res.Error != nil {
			return mapErr(res.Error, "")
		}
		if res.RowsAffected == 1 {
			created = true
			// A service created cancelado/inativo gets its combo's packages
			// when it returns (TransitionReturn). A new service's only
			// subscriptions are its combo's, written whole by
			// attachComboPackages: nothing is left to refresh.
			if in.ComboID != nil && !svahub.ServiceStatus(in.Status).Ended() {
				_, err := db.attachComboPackages(tx, &fresh, nil)
				return err
			}
			return nil
		}
		var r serviceRow
		if err := tx.Clauses(lockForUpdate(db.dialect)...).First(&r, id).Error; err != nil {
			return mapErr(err, "serviço não encontrado")
		}
		oldCombo, oldStatus := r.ComboID, svahub.ServiceStatus(r.Status)
		r.Login, r.Status = in.Login, in.Status
		if in.Password != nil {
			r.PasswordSealed = sealed
		}
		r.CustomerID, r.CustomerCode, r.CustomerName, r.CustomerDocument, r.CustomerEmail, r.CustomerPhone = c.ID, c.Code, c.Name, c.Document, c.Email, c.Phone
		r.ComboID, r.UpdatedAt = in.ComboID, now
		if err := tx.Save(&r).Error; err != nil {
			return mapErr(err, "")
		}
		extraPlans, err := db.applyTransition(tx, &r, oldStatus, !sameID(oldCombo, in.ComboID))
		if err != nil {
			return err
		}
		return db.refreshServices(tx, []*serviceRow{&r}, extraPlans)
	})
	if err != nil {
		return nil, false, err
	}
	s, err := db.FindServiceByID(ctx, id)
	return s, created, err
}

func sameID(a, b *int64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// applyTransition applies what a change of status (from old) and, when
// comboChanged, of combo does to a service's subscriptions in tx, after the
// service row was locked and saved. It returns the platform plans whose
// aggregate may have changed.
func (db *DB) applyTransition(tx *gorm.DB, svc *serviceRow, old svahub.ServiceStatus, comboChanged bool) ([]int64, error) {
	switch svahub.TransitionOf(old, svahub.ServiceStatus(svc.Status)) {
	case svahub.TransitionEnd:
		return db.endServices(tx, []int64{svc.ID})
	case svahub.TransitionReturn:
		return nil, db.returnService(tx, svc)
	}
	if comboChanged && !svahub.ServiceStatus(svc.Status).Ended() {
		return db.changeCombo(tx, svc)
	}
	return nil, nil // an ended service only records its new plan
}

// endServices cancels every live subscription of the services (status
// cancelado or inativo): data_cancelamento is now, so billing stops the
// day before. It returns the platform plans to re-aggregate.
func (db *DB) endServices(tx *gorm.DB, serviceIDs []int64) ([]int64, error) {
	var subs []int64
	for _, chunk := range chunks(serviceIDs, 500) {
		var part []int64
		if err := tx.Model(&subscriptionRow{}).Where("service_id IN ? AND cancelled_at IS NULL", chunk).Order("id").Pluck("id", &part).Error; err != nil {
			return nil, err
		}
		subs = append(subs, part...)
	}
	now := db.now().UTC()
	var plans []int64
	for _, chunk := range chunks(subs, 500) {
		if err := tx.Model(&subscriptionRow{}).Where("id IN ?", chunk).
			Updates(map[string]any{"cancelled_at": now, "status": string(svahub.SubCancelled), "updated_at": now}).Error; err != nil {
			return nil, err
		}
		var part []int64
		if err := tx.Model(&accessRow{}).Where("subscription_id IN ? AND plan_id IS NOT NULL", chunk).Distinct().Pluck("plan_id", &part).Error; err != nil {
			return nil, err
		}
		plans = append(plans, part...)
		if err := tx.Model(&accessRow{}).Where("subscription_id IN ?", chunk).
			Updates(map[string]any{"desired_state": string(svahub.AccessCancelled), "updated_at": now}).Error; err != nil {
			return nil, err
		}
	}
	return plans, nil
}

// returnService attaches anew the combo's packages of a service that left
// cancelado/inativo (new plano subscriptions; cancelled avulso ones stay
// cancelled).
func (db *DB) returnService(tx *gorm.DB, svc *serviceRow) error {
	var live []int64
	if err := tx.Model(&subscriptionRow{}).Where("service_id = ? AND cancelled_at IS NULL", svc.ID).Pluck("package_id", &live).Error; err != nil {
		return err
	}
	skip := make(map[int64]bool, len(live))
	for _, p := range live {
		skip[p] = true
	}
	_, err := db.attachComboPackages(tx, svc, skip)
	return err
}

// attachComboPackages attaches the service's combo packages it does not have
// yet (origin plano, default expiry) the way AttachPackage attaches one
// (attachOne, then finishAttach for all of them): packages sharing a
// platform plan share it, aggregated once. Inactive packages are skipped;
// skip lists packages already live on the service. It returns the plans
// that existed before and were aggregated anew.
func (db *DB) attachComboPackages(tx *gorm.DB, svc *serviceRow, skip map[int64]bool) ([]int64, error) {
	pkgs, err := db.loadComboPackages(tx.Statement.Context, SQLTx(tx), svc.ComboID)
	if err != nil {
		return nil, err
	}
	return db.attachPackagesOf(tx, svc, pkgs, skip)
}

// attachPackagesOf is attachComboPackages with the combo's packages read
// already (loadComboPackages).
func (db *DB) attachPackagesOf(tx *gorm.DB, svc *serviceRow, pkgs []*pkgInfo, skip map[int64]bool) ([]int64, error) {
	if len(pkgs) == 0 {
		return nil, nil
	}
	ctx, stx := tx.Statement.Context, SQLTx(tx)
	cs, err := db.customerService(svc)
	if err != nil {
		return nil, err
	}
	expires := svahub.DefaultExpiry(db.now(), db.loc)
	var (
		works   []*attachWork
		refresh []int64
	)
	for _, pkg := range pkgs {
		if skip[pkg.ID] || !pkg.Active { // inactive package: the combo skips it
			continue
		}
		w, err := db.attachOne(ctx, stx, svc, pkg, cs, svahub.OriginCombo, expires)
		if err != nil {
			return nil, err
		}
		works = append(works, w)
		refresh = append(refresh, w.existing...)
	}
	return refresh, db.finishAttach(tx, works)
}

// changeCombo applies a combo change (svahub.ComboChangeOf): plano
// subscriptions the new combo lacks are cancelled, missing ones added; an
// avulso subscription of an (active) package the new combo includes is
// cancelled and replaced by a plano one, in the same transaction, so the
// platform plan they share is aggregated once and stays ativo. Other
// avulso ones are kept. It returns the platform plans whose aggregate may
// have changed.
func (db *DB) changeCombo(tx *gorm.DB, svc *serviceRow) ([]int64, error) {
	pkgs, err := db.loadComboPackages(tx.Statement.Context, SQLTx(tx), svc.ComboID)
	if err != nil {
		return nil, err
	}
	wantSet, activeSet := make(map[int64]bool, len(pkgs)), map[int64]bool{}
	for _, p := range pkgs {
		wantSet[p.ID], activeSet[p.ID] = true, p.Active
	}
	var live []subscriptionRow
	if err := tx.Where("service_id = ? AND cancelled_at IS NULL", svc.ID).Order("id").Find(&live).Error; err != nil {
		return nil, err
	}
	have := map[int64]bool{}
	var touched []int64
	for i := range live {
		s := &live[i]
		// Only an active package can replace an avulso one (the combo
		// skips inactive packages).
		included := wantSet[s.PackageID] && (s.Origin == string(svahub.OriginCombo) || activeSet[s.PackageID])
		if svahub.ComboChangeOf(svahub.Origin(s.Origin), included) == svahub.ComboChangeKeep {
			have[s.PackageID] = true
			continue
		}
		plans, err := db.cancelTx(tx, s)
		if err != nil {
			return nil, err
		}
		touched = append(touched, plans...)
	}
	// The kept subscriptions take the service's new status first, so a
	// plan the combo shares with them is aggregated once, from their new
	// desired state (refreshServices then finds nothing to change there).
	kept, err := db.applyServiceDesiredStates(tx, svc)
	if err != nil {
		return nil, err
	}
	touched = append(touched, kept...)
	// A plan the combo shares with a cancelled avulso subscription was
	// aggregated by the attach, with both: it is not aggregated again.
	done, err := db.attachPackagesOf(tx, svc, pkgs, have)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(touched, func(p int64) bool { return slices.Contains(done, p) }), nil
}

// applyServiceDesiredStates gives the live accesses of svc the desired
// state of its (new) status and returns the plans to re-aggregate.
func (db *DB) applyServiceDesiredStates(tx *gorm.DB, svc *serviceRow) ([]int64, error) {
	accs, err := liveAccesses(tx, []int64{svc.ID})
	if err != nil {
		return nil, err
	}
	dirty := map[int64]bool{}
	err = db.applyDesiredStates(tx, accs, map[int64]*serviceRow{svc.ID: svc}, dirty, map[int64]bool{})
	return keys(dirty), err
}

// FindServiceByID returns a service with its subscriptions.
func (db *DB) FindServiceByID(ctx context.Context, id int64) (*svahub.CustomerService, error) {
	return db.readService(ctx, id)
}

// FindServices lists services, each with its subscriptions (as GET
// /servicos/{id} shows them).
func (db *DB) FindServices(ctx context.Context, f svahub.ServiceFilter) ([]*svahub.CustomerService, int, error) {
	q := db.gorm.WithContext(ctx).Model(&serviceRow{})
	if f.CustomerID != nil {
		q = q.Where("customer_id = ?", *f.CustomerID)
	}
	if f.Status != nil {
		q = q.Where("status = ?", string(*f.Status))
	}
	if f.Document != "" {
		q = q.Where("customer_document = ?", f.Document)
	}
	var rows []serviceRow
	total, err := db.page(ctx, q, f.Page, "id", &rows)
	if err != nil {
		return nil, 0, err
	}
	out := make([]*svahub.CustomerService, len(rows))
	byID := make(map[int64]*svahub.CustomerService, len(rows))
	ids := make([]int64, len(rows))
	for i := range rows {
		out[i] = rows[i].domain(db.loc)
		byID[rows[i].ID], ids[i] = out[i], rows[i].ID
	}
	if len(ids) == 0 {
		return out, total, nil
	}
	subs, err := db.loadSubscriptions(db.gorm.WithContext(ctx).Where("service_id IN ?", ids).Order("service_id, id"))
	if err != nil {
		return nil, 0, err
	}
	for _, s := range subs {
		svc := byID[s.ServiceID]
		svc.Subscriptions = append(svc.Subscriptions, *s)
	}
	return out, total, nil
}

// SetServiceStatus changes one service's status_prefixo.
func (db *DB) SetServiceStatus(ctx context.Context, id int64, status svahub.ServiceStatus) (*svahub.CustomerService, error) {
	if err := svahub.Validate(&svahub.StatusInput{Status: string(status)}); err != nil {
		return nil, err
	}
	res, err := db.SetServiceStatuses(ctx, []svahub.StatusBatchItem{{ServiceID: id, Status: string(status)}})
	if err != nil {
		return nil, err
	}
	if res[0].Result == svahub.BatchNotFound {
		return nil, svahub.Errorf(svahub.ENOTFOUND, "serviço não encontrado")
	}
	return db.FindServiceByID(ctx, id)
}

// SetServiceStatuses changes many services' status in one transaction and
// answers per item: atualizado, inalterado or nao_encontrado.
func (db *DB) SetServiceStatuses(ctx context.Context, items []svahub.StatusBatchItem) ([]svahub.StatusBatchResult, error) {
	if err := svahub.Validate(&svahub.StatusBatchInput{Items: items}); err != nil {
		return nil, err
	}
	out := make([]svahub.StatusBatchResult, len(items))
	err := db.tx(ctx, func(tx *gorm.DB) error {
		ids := make([]int64, 0, len(items))
		for _, it := range items {
			ids = append(ids, it.ServiceID)
		}
		var rows []serviceRow
		for _, chunk := range chunks(ids, 500) {
			var part []serviceRow
			if err := tx.Clauses(lockForUpdate(db.dialect)...).Where("id IN ?", chunk).Order("id").Find(&part).Error; err != nil {
				return err
			}
			rows = append(rows, part...)
		}
		byID := make(map[int64]*serviceRow, len(rows))
		orig := make(map[int64]svahub.ServiceStatus, len(rows))
		for i := range rows {
			byID[rows[i].ID] = &rows[i]
			orig[rows[i].ID] = svahub.ServiceStatus(rows[i].Status)
		}
		changed := map[int64]*serviceRow{}
		now := db.now().UTC()
		for i, it := range items {
			out[i] = svahub.StatusBatchResult{ServiceID: it.ServiceID, Result: svahub.BatchUnchanged}
			r, ok := byID[it.ServiceID]
			switch {
			case !ok:
				out[i].Result = svahub.BatchNotFound
			case r.Status != it.Status:
				r.Status = it.Status
				changed[r.ID] = r
				out[i].Result = svahub.BatchUpdated
			case changed[r.ID] != nil:
				out[i].Result = svahub.BatchUpdated
			}
		}
		if len(changed) == 0 {
			return nil
		}
		list := make([]*serviceRow, 0, len(changed))
		byStatus := map[string][]int64{}
		for _, r := range changed {
			list = append(list, r)
			byStatus[r.Status] = append(byStatus[r.Status], r.ID)
		}
		for status, ids := range byStatus {
			for _, chunk := range chunks(ids, 500) {
				if err := tx.Model(&serviceRow{}).Where("id IN ?", chunk).Updates(map[string]any{"status": status, "updated_at": now}).Error; err != nil {
					return err
				}
			}
		}
		sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
		plans, err := db.statusTransitions(tx, list, orig)
		if err != nil {
			return err
		}
		return db.refreshServices(tx, list, plans)
	})
	return out, err
}

// statusTransitions applies the end and return transitions of a batch of
// status changes (each service's original status in orig) and returns the
// platform plans to re-aggregate.
func (db *DB) statusTransitions(tx *gorm.DB, list []*serviceRow, orig map[int64]svahub.ServiceStatus) ([]int64, error) {
	var ended []int64
	for _, r := range list {
		switch svahub.TransitionOf(orig[r.ID], svahub.ServiceStatus(r.Status)) {
		case svahub.TransitionEnd:
			ended = append(ended, r.ID)
		case svahub.TransitionReturn:
			if err := db.returnService(tx, r); err != nil {
				return nil, err
			}
		}
	}
	return db.endServices(tx, ended)
}

// chunks splits ids into slices of at most n.
func chunks[T any](ids []T, n int) [][]T {
	var out [][]T
	for len(ids) > n {
		out = append(out, ids[:n])
		ids = ids[n:]
	}
	if len(ids) > 0 {
		out = append(out, ids)
	}
	return out
}
