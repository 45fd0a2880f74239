package store

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/svahub/svahub/internal/svahub"
)

type productRow struct {
	ID            int64
	IntegrationID int64
	Description   string
	Code          string
	Verified      bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

func (productRow) TableName() string { return "products" }

func (r *productRow) domain(loc *time.Location) *svahub.Product {
	return &svahub.Product{ID: r.ID, IntegrationID: r.IntegrationID, Description: r.Description, Code: r.Code, Verified: r.Verified, CreatedAt: r.CreatedAt.In(loc)}
}

type packageRow struct {
	ID            int64
	Description   string
	Code          string
	ValueCents    int64
	IntegrationID int64
	Active        bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

func (packageRow) TableName() string { return "packages" }

type packageProductRow struct {
	PackageID int64
	ProductID int64
	Position  int
}

func (packageProductRow) TableName() string { return "package_products" }

type planRow struct {
	ID          int64
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func (planRow) TableName() string { return "plans" }

type planPackageRow struct {
	PlanID    int64
	PackageID int64
	Position  int
}

func (planPackageRow) TableName() string { return "plan_packages" }

var _ svahub.CatalogueService = (*DB)(nil)

// --- products ---

// FindProductByID returns one product.
func (db *DB) FindProductByID(ctx context.Context, id int64) (*svahub.Product, error) {
	var r productRow
	if err := db.gorm.WithContext(ctx).First(&r, id).Error; err != nil {
		return nil, mapErr(err, "produto não encontrado")
	}
	return r.domain(db.loc), nil
}

// FindProducts lists the products of an integration.
func (db *DB) FindProducts(ctx context.Context, f svahub.ProductFilter) ([]*svahub.Product, int, error) {
	if _, err := db.FindIntegrationByID(ctx, f.IntegrationID); err != nil {
		return nil, 0, err
	}
	var rows []productRow
	q := db.gorm.WithContext(ctx).Model(&productRow{}).Where("integration_id = ?", f.IntegrationID)
	total, err := db.page(ctx, q, f.Page, "id", &rows)
	if err != nil {
		return nil, 0, err
	}
	out := make([]*svahub.Product, len(rows))
	for i := range rows {
		out[i] = rows[i].domain(db.loc)
	}
	return out, total, nil
}

// validateProduct checks in: strict is the code rule of a platform with a
// catalogue (CreateProduct, UpdateProduct); the Verified variants are
// called by the platform layer, which applied the platform's own rule,
// and check only what holds for every platform (free text codes).
func validateProduct(in *svahub.ProductInput, strict bool) error {
	in.Normalize()
	return in.ValidateFor(svahub.Capabilities{Catalogue: strict})
}

// CreateProduct registers a product code under an integration; the code is
// unique within the integration.
func (db *DB) CreateProduct(ctx context.Context, integrationID int64, in svahub.ProductInput) (*svahub.Product, error) {
	if err := validateProduct(&in, true); err != nil {
		return nil, err
	}
	return db.createProduct(ctx, integrationID, in, false)
}

// CreateVerifiedProduct is CreateProduct for a code the platform confirmed.
func (db *DB) CreateVerifiedProduct(ctx context.Context, integrationID int64, in svahub.ProductInput, verified bool) (*svahub.Product, error) {
	return db.createProduct(ctx, integrationID, in, verified)
}

func (db *DB) createProduct(ctx context.Context, integrationID int64, in svahub.ProductInput, verified bool) (*svahub.Product, error) {
	if err := validateProduct(&in, false); err != nil {
		return nil, err
	}
	if _, err := db.FindIntegrationByID(ctx, integrationID); err != nil {
		return nil, err
	}
	r := productRow{IntegrationID: integrationID, Description: in.Description, Code: in.Code, Verified: verified}
	if err := db.gorm.WithContext(ctx).Create(&r).Error; err != nil {
		if isUniqueViolation(err) {
			return nil, productCodeTaken(in.Code)
		}
		return nil, mapErr(err, "")
	}
	return r.domain(db.loc), nil
}

func productCodeTaken(code string) error {
	return &svahub.Error{Code: svahub.ECONFLICT, Message: "código de produto já cadastrado nesta integração",
		Fields: []svahub.FieldError{{Field: "codigo", Message: "o código \"" + code + "\" já existe nesta integração"}}}
}

// UpdateProduct changes a product's description and code.
func (db *DB) UpdateProduct(ctx context.Context, id int64, in svahub.ProductInput) (*svahub.Product, error) {
	if err := validateProduct(&in, true); err != nil {
		return nil, err
	}
	return db.updateProduct(ctx, id, in, nil)
}

// UpdateVerifiedProduct is UpdateProduct recording whether the platform
// confirmed the code.
func (db *DB) UpdateVerifiedProduct(ctx context.Context, id int64, in svahub.ProductInput, verified bool) (*svahub.Product, error) {
	return db.updateProduct(ctx, id, in, &verified)
}

func (db *DB) updateProduct(ctx context.Context, id int64, in svahub.ProductInput, verified *bool) (*svahub.Product, error) {
	if err := validateProduct(&in, false); err != nil {
		return nil, err
	}
	var r productRow
	if err := db.gorm.WithContext(ctx).First(&r, id).Error; err != nil {
		return nil, mapErr(err, "produto não encontrado")
	}
	if r.Code != in.Code && verified == nil {
		r.Verified = false
	}
	if verified != nil {
		r.Verified = *verified
	}
	r.Description, r.Code = in.Description, in.Code
	if err := db.gorm.WithContext(ctx).Save(&r).Error; err != nil {
		if isUniqueViolation(err) {
			return nil, productCodeTaken(in.Code)
		}
		return nil, mapErr(err, "")
	}
	return r.domain(db.loc), nil
}

// SetProductsVerified marks the products of an integration verified or not
// by code, after the platform catalogue was read.
func (db *DB) SetProductsVerified(ctx context.Context, integrationID int64, valid map[string]bool) error {
	var rows []productRow
	if err := db.gorm.WithContext(ctx).Where("integration_id = ?", integrationID).Find(&rows).Error; err != nil {
		return err
	}
	for _, r := range rows {
		if v := valid[r.Code]; v != r.Verified {
			if err := db.gorm.WithContext(ctx).Model(&productRow{}).Where("id = ?", r.ID).Update("verified", v).Error; err != nil {
				return err
			}
		}
	}
	return nil
}

// DeleteProduct deletes a product; 409 while a package uses it.
func (db *DB) DeleteProduct(ctx context.Context, id int64) error {
	return db.tx(ctx, func(tx *gorm.DB) error {
		var r productRow
		if err := tx.First(&r, id).Error; err != nil {
			return mapErr(err, "produto não encontrado")
		}
		var n int64
		if err := tx.Model(&packageProductRow{}).Where("product_id = ?", id).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return svahub.Errorf(svahub.ECONFLICT, "produto em uso por %d pacote(s)", n)
		}
		return mapErr(tx.Delete(&productRow{}, id).Error, "")
	})
}

// --- packages ---

func (db *DB) loadPackages(ctx context.Context, tx *gorm.DB, rows []packageRow) ([]*svahub.Package, error) {
	out := make([]*svahub.Package, len(rows))
	ids := make([]int64, len(rows))
	byID := make(map[int64]*svahub.Package, len(rows))
	for i, r := range rows {
		out[i] = &svahub.Package{ID: r.ID, Description: r.Description, Code: r.Code, Value: svahub.Money(r.ValueCents),
			IntegrationID: r.IntegrationID, Active: r.Active, Products: []svahub.ProductRef{},
			CreatedAt: r.CreatedAt.In(db.loc), UpdatedAt: r.UpdatedAt.In(db.loc)}
		ids[i] = r.ID
		byID[r.ID] = out[i]
	}
	if len(ids) == 0 {
		return out, nil
	}
	type ref struct {
		PackageID   int64
		ID          int64
		Code        string
		Description string
	}
	var refs []ref
	err := tx.WithContext(ctx).Table("package_products pp").
		Select("pp.package_id, p.id, p.code, p.description").
		Joins("JOIN products p ON p.id = pp.product_id").
		Where("pp.package_id IN ?", ids).Order("pp.package_id, pp.position").Scan(&refs).Error
	if err != nil {
		return nil, err
	}
	for _, r := range refs {
		p := byID[r.PackageID]
		p.Products = append(p.Products, svahub.ProductRef{ID: r.ID, Code: r.Code, Description: r.Description})
	}
	return out, nil
}

// FindPackageByID returns one package with its products.
func (db *DB) FindPackageByID(ctx context.Context, id int64) (*svahub.Package, error) {
	var r packageRow
	if err := db.gorm.WithContext(ctx).First(&r, id).Error; err != nil {
		return nil, mapErr(err, "pacote não encontrado")
	}
	out, err := db.loadPackages(ctx, db.gorm, []packageRow{r})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// FindPackages lists packages, optionally by integration and active flag.
func (db *DB) FindPackages(ctx context.Context, f svahub.PackageFilter) ([]*svahub.Package, int, error) {
	q := db.gorm.WithContext(ctx).Model(&packageRow{})
	if f.IntegrationID != nil {
		q = q.Where("integration_id = ?", *f.IntegrationID)
	}
	if f.Active != nil {
		q = q.Where("active = ?", *f.Active)
	}
	var rows []packageRow
	total, err := db.page(ctx, q, f.Page, "id", &rows)
	if err != nil {
		return nil, 0, err
	}
	out, err := db.loadPackages(ctx, db.gorm, rows)
	return out, total, err
}

// checkPackageProducts verifies that every product exists and belongs to the
// package's integration.
func checkPackageProducts(tx *gorm.DB, in *svahub.PackageInput) error {
	var integ integrationRow
	if err := tx.Select("id").First(&integ, in.IntegrationID).Error; err != nil {
		if mapErr(err, "") != nil && svahub.ErrorCode(mapErr(err, "")) == svahub.ENOTFOUND {
			return svahub.FieldInvalid("id_integracao", "integração não encontrada")
		}
		return err
	}
	var prods []productRow
	if err := tx.Where("id IN ?", in.Products).Find(&prods).Error; err != nil {
		return err
	}
	found := make(map[int64]productRow, len(prods))
	for _, p := range prods {
		found[p.ID] = p
	}
	var fields []svahub.FieldError
	for i, id := range in.Products {
		p, ok := found[id]
		switch {
		case !ok:
			fields = append(fields, svahub.FieldError{Field: fieldIndex("produtos", i), Message: "produto não encontrado"})
		case p.IntegrationID != in.IntegrationID:
			fields = append(fields, svahub.FieldError{Field: fieldIndex("produtos", i), Message: "o produto pertence a outra integração"})
		}
	}
	if len(fields) > 0 {
		return svahub.Invalid(fields...)
	}
	return nil
}

func writePackageProducts(tx *gorm.DB, packageID int64, products []int64) error {
	if err := tx.Where("package_id = ?", packageID).Delete(&packageProductRow{}).Error; err != nil {
		return err
	}
	rows := make([]packageProductRow, len(products))
	for i, id := range products {
		rows[i] = packageProductRow{PackageID: packageID, ProductID: id, Position: i}
	}
	return tx.Create(&rows).Error
}

func validatePackage(in *svahub.PackageInput) (svahub.Money, error) {
	in.Normalize()
	if err := svahub.Validate(in); err != nil {
		return 0, err
	}
	return svahub.ParseMoney(in.Value)
}

// CreatePackage stores a package of 1–10 products of its integration.
func (db *DB) CreatePackage(ctx context.Context, in svahub.PackageInput) (*svahub.Package, error) {
	value, err := validatePackage(&in)
	if err != nil {
		return nil, err
	}
	var id int64
	err = db.tx(ctx, func(tx *gorm.DB) error {
		if err := checkPackageProducts(tx, &in); err != nil {
			return err
		}
		r := packageRow{Description: in.Description, Code: in.Code, ValueCents: int64(value), IntegrationID: in.IntegrationID, Active: in.Active == nil || *in.Active}
		if err := tx.Create(&r).Error; err != nil {
			return mapErr(err, "")
		}
		id = r.ID
		return writePackageProducts(tx, r.ID, in.Products)
	})
	if err != nil {
		return nil, err
	}
	return db.FindPackageByID(ctx, id)
}

// UpdatePackage applies a PUT: each member it omits keeps its stored
// value. Its integration cannot change once it has subscriptions. Price
// changes do not alter existing subscriptions (their valor is a snapshot).
func (db *DB) UpdatePackage(ctx context.Context, id int64, u svahub.PackageUpdate) (*svahub.Package, error) {
	err := db.tx(ctx, func(tx *gorm.DB) error {
		var r packageRow
		if err := tx.Clauses(lockForUpdate(db.dialect)...).First(&r, id).Error; err != nil {
			return mapErr(err, "pacote não encontrado")
		}
		var products []int64
		if err := tx.Model(&packageProductRow{}).Where("package_id = ?", id).Order("position").Pluck("product_id", &products).Error; err != nil {
			return err
		}
		active := r.Active
		in := u.Apply(svahub.PackageInput{Description: r.Description, Code: r.Code, Value: svahub.Money(r.ValueCents).String(),
			IntegrationID: r.IntegrationID, Products: products, Active: &active})
		value, err := validatePackage(&in)
		if err != nil {
			return err
		}
		if r.IntegrationID != in.IntegrationID {
			n, err := db.countSubscriptionsOfPackage(tx, id)
			if err != nil {
				return err
			}
			if n > 0 {
				return &svahub.Error{Code: svahub.ECONFLICT, Message: "a integração do pacote não pode mudar: ele já tem assinaturas",
					Fields: []svahub.FieldError{{Field: "id_integracao", Message: "pacote com assinaturas"}}}
			}
		}
		if err := checkPackageProducts(tx, &in); err != nil {
			return err
		}
		r.Description, r.Code, r.ValueCents, r.IntegrationID, r.Active = in.Description, in.Code, int64(value), in.IntegrationID, *in.Active
		if err := tx.Save(&r).Error; err != nil {
			return mapErr(err, "")
		}
		return writePackageProducts(tx, r.ID, in.Products)
	})
	if err != nil {
		return nil, err
	}
	return db.FindPackageByID(ctx, id)
}

// DeletePackage deletes a package; 409 while a plan or a live subscription
// uses it.
func (db *DB) DeletePackage(ctx context.Context, id int64) error {
	return db.tx(ctx, func(tx *gorm.DB) error {
		var r packageRow
		if err := tx.Clauses(lockForUpdate(db.dialect)...).First(&r, id).Error; err != nil {
			return mapErr(err, "pacote não encontrado")
		}
		var n int64
		if err := tx.Model(&planPackageRow{}).Where("package_id = ?", id).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return svahub.Errorf(svahub.ECONFLICT, "pacote incluído em %d plano(s)", n)
		}
		n, err := db.countSubscriptionsOfPackage(tx, id)
		if err != nil {
			return err
		}
		if n > 0 {
			return svahub.Errorf(svahub.ECONFLICT, "pacote com %d assinatura(s)", n)
		}
		return mapErr(tx.Delete(&packageRow{}, id).Error, "")
	})
}

// --- plans ---

func (db *DB) loadPlans(ctx context.Context, rows []planRow) ([]*svahub.Plan, error) {
	out := make([]*svahub.Plan, len(rows))
	ids := make([]int64, len(rows))
	byID := make(map[int64]*svahub.Plan, len(rows))
	for i, r := range rows {
		out[i] = &svahub.Plan{ID: r.ID, Description: r.Description, Packages: []svahub.PlanItem{}, CreatedAt: r.CreatedAt.In(db.loc), UpdatedAt: r.UpdatedAt.In(db.loc)}
		ids[i] = r.ID
		byID[r.ID] = out[i]
	}
	if len(ids) == 0 {
		return out, nil
	}
	type item struct {
		PlanID      int64
		ID          int64
		Description string
		ValueCents  int64
	}
	var items []item
	err := db.gorm.WithContext(ctx).Table("plan_packages pp").
		Select("pp.plan_id, p.id, p.description, p.value_cents").
		Joins("JOIN packages p ON p.id = pp.package_id").
		Where("pp.plan_id IN ?", ids).Order("pp.plan_id, pp.position").Scan(&items).Error
	if err != nil {
		return nil, err
	}
	for _, it := range items {
		p := byID[it.PlanID]
		p.Packages = append(p.Packages, svahub.PlanItem{ID: it.ID, Description: it.Description, Value: svahub.Money(it.ValueCents)})
	}
	return out, nil
}

// FindPlanByID returns one plan with its packages.
func (db *DB) FindPlanByID(ctx context.Context, id int64) (*svahub.Plan, error) {
	var r planRow
	if err := db.gorm.WithContext(ctx).First(&r, id).Error; err != nil {
		return nil, mapErr(err, "plano não encontrado")
	}
	out, err := db.loadPlans(ctx, []planRow{r})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// FindPlans lists plans.
func (db *DB) FindPlans(ctx context.Context, f svahub.PlanFilter) ([]*svahub.Plan, int, error) {
	var rows []planRow
	total, err := db.page(ctx, db.gorm.WithContext(ctx).Model(&planRow{}), f.Page, "id", &rows)
	if err != nil {
		return nil, 0, err
	}
	out, err := db.loadPlans(ctx, rows)
	return out, total, err
}

// UpsertPlan applies PUT /planos/{id}: it creates the plan, or updates it
// keeping each member the PUT omits; created reports whether it was new.
// Services already on the plan keep their subscriptions: the change
// reaches services created on it or moved to it afterwards.
func (db *DB) UpsertPlan(ctx context.Context, id int64, u svahub.PlanUpdate) (*svahub.Plan, bool, error) {
	var created bool
	err := db.tx(ctx, func(tx *gorm.DB) error {
		now := db.now().UTC()
		var r planRow
		var cur svahub.PlanInput
		err := tx.Clauses(lockForUpdate(db.dialect)...).First(&r, id).Error
		switch {
		case err == nil:
			cur.Description = r.Description
			if err := tx.Model(&planPackageRow{}).Where("plan_id = ?", id).Order("position").Pluck("package_id", &cur.Packages).Error; err != nil {
				return err
			}
		case svahub.ErrorCode(mapErr(err, "")) == svahub.ENOTFOUND:
			created = true
		default:
			return err
		}
		in := u.Apply(cur)
		in.Normalize()
		if err := svahub.Validate(&in); err != nil {
			return err
		}
		if err := checkPlanPackages(tx, in.Packages); err != nil {
			return err
		}
		if created {
			r = planRow{ID: id, Description: in.Description, CreatedAt: now, UpdatedAt: now}
			if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&r).Error; err != nil {
				return mapErr(err, "")
			}
		} else {
			r.Description, r.UpdatedAt = in.Description, now
			if err := tx.Save(&r).Error; err != nil {
				return err
			}
		}
		if u.Packages == nil && !created {
			return nil // packages omitted: kept
		}
		return writePlanPackages(tx, id, in.Packages)
	})
	if err != nil {
		return nil, false, err
	}
	p, err := db.FindPlanByID(ctx, id)
	return p, created, err
}

// checkPlanPackages answers 422 naming each package of a plan that does
// not exist.
func checkPlanPackages(tx *gorm.DB, pkgs []int64) error {
	if len(pkgs) == 0 {
		return nil
	}
	var found []int64
	if err := tx.Model(&packageRow{}).Where("id IN ?", pkgs).Pluck("id", &found).Error; err != nil {
		return err
	}
	if len(found) == len(pkgs) {
		return nil
	}
	var fields []svahub.FieldError
	for i, p := range pkgs {
		if !containsID(found, p) {
			fields = append(fields, svahub.FieldError{Field: fieldIndex("pacotes", i), Message: "pacote não encontrado"})
		}
	}
	return svahub.Invalid(fields...)
}

// writePlanPackages replaces a plan's packages.
func writePlanPackages(tx *gorm.DB, id int64, pkgs []int64) error {
	if err := tx.Where("plan_id = ?", id).Delete(&planPackageRow{}).Error; err != nil {
		return err
	}
	if len(pkgs) == 0 {
		return nil
	}
	rows := make([]planPackageRow, len(pkgs))
	for i, p := range pkgs {
		rows[i] = planPackageRow{PlanID: id, PackageID: p, Position: i}
	}
	return tx.Create(&rows).Error
}

// DeletePlan deletes a plan. Services keep the subscriptions it gave them.
func (db *DB) DeletePlan(ctx context.Context, id int64) error {
	res := db.gorm.WithContext(ctx).Delete(&planRow{}, id)
	if res.Error != nil {
		return mapErr(res.Error, "")
	}
	if res.RowsAffected == 0 {
		return svahub.Errorf(svahub.ENOTFOUND, "plano não encontrado")
	}
	return nil
}

// refreshDebtServices recomputes the desired states of the debt-suspended
// services that use integration id, after its suspender_inadimplencia key
// changed.
func (db *DB) refreshDebtServices(tx *gorm.DB, id int64) error {
	var svcIDs []int64
	err := tx.Table("subscriptions s").Joins("JOIN services sv ON sv.id = s.service_id").
		Where("s.integration_id = ? AND s.cancelled_at IS NULL AND sv.status IN ?", id,
			[]string{string(svahub.StatusDebtSuspended), string(svahub.StatusPartiallySuspended)}).
		Distinct().Order("s.service_id").Pluck("s.service_id", &svcIDs).Error
	if err != nil {
		return err
	}
	for _, chunk := range chunks(svcIDs, 500) {
		var rows []serviceRow
		if err := tx.Clauses(lockForUpdate(db.dialect)...).Where("id IN ?", chunk).Order("id").Find(&rows).Error; err != nil {
			return err
		}
		list := make([]*serviceRow, len(rows))
		for i := range rows {
			list[i] = &rows[i]
		}
		if err := db.refreshServices(tx, list, nil); err != nil {
			return err
		}
	}
	return nil
}

// enqueueHeld queues the pending plans of integration id (not in erro).
// Their version is bumped so the new jobs are not taken for duplicates of
// jobs that are still finishing after finding the integration paused.
func (db *DB) enqueueHeld(tx *gorm.DB, id int64) error {
	var plans []int64
	err := tx.Model(&planStateRow{}).Where("integration_id = ? AND version <> applied_version AND error_version <> version AND "+planHasAccess("platform_plans"), id).
		Order("id").Pluck("id", &plans).Error
	if err != nil || len(plans) == 0 {
		return err
	}
	for _, chunk := range chunks(plans, 500) {
		if err := tx.Model(&planStateRow{}).Where("id IN ?", chunk).Update("version", gorm.Expr("version + 1")).Error; err != nil {
			return err
		}
	}
	return db.enqueuePlans(tx, plans)
}
