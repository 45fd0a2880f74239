package store

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/svahub/svahub/internal/svahub"
)

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

// countSubscriptionsOfPackage counts the subscriptions (any status) of a
// package.
func (db *DB) countSubscriptionsOfPackage(tx *gorm.DB, packageID int64) (int64, error) {
	var n int64
	err := tx.Table("subscriptions").Where("package_id = ?", packageID).Count(&n).Error
	return n, err
}
