package store

import (
	"context"
	"time"

	"gorm.io/gorm"

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

var _ svahub.CatalogueService = (*DB)(nil)

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
