package store

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/svahub/svahub/internal/svahub"
)

// comboRow is a HubSoft plano (a combo of packages; the API's /planos and
// svahub.Combo). It is not a platform plan (planStateRow).
type comboRow struct {
	ID          int64
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func (comboRow) TableName() string { return "plans" }

// comboPackageRow is one package of a combo, in order.
type comboPackageRow struct {
	ComboID   int64 `gorm:"column:plan_id"`
	PackageID int64
	Position  int
}

func (comboPackageRow) TableName() string { return "plan_packages" }

func (db *DB) loadCombos(ctx context.Context, rows []comboRow) ([]*svahub.Combo, error) {
	out := make([]*svahub.Combo, len(rows))
	ids := make([]int64, len(rows))
	byID := make(map[int64]*svahub.Combo, len(rows))
	for i, r := range rows {
		out[i] = &svahub.Combo{ID: r.ID, Description: r.Description, Packages: []svahub.ComboItem{}, CreatedAt: r.CreatedAt.In(db.loc), UpdatedAt: r.UpdatedAt.In(db.loc)}
		ids[i] = r.ID
		byID[r.ID] = out[i]
	}
	if len(ids) == 0 {
		return out, nil
	}
	type item struct {
		ComboID     int64 `gorm:"column:plan_id"`
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
		p := byID[it.ComboID]
		p.Packages = append(p.Packages, svahub.ComboItem{ID: it.ID, Description: it.Description, Value: svahub.Money(it.ValueCents)})
	}
	return out, nil
}

// FindComboByID returns one combo with its packages.
func (db *DB) FindComboByID(ctx context.Context, id int64) (*svahub.Combo, error) {
	var r comboRow
	if err := db.gorm.WithContext(ctx).First(&r, id).Error; err != nil {
		return nil, mapErr(err, "plano não encontrado")
	}
	out, err := db.loadCombos(ctx, []comboRow{r})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// FindCombos lists combos.
func (db *DB) FindCombos(ctx context.Context, f svahub.ComboFilter) ([]*svahub.Combo, int, error) {
	var rows []comboRow
	total, err := db.page(ctx, db.gorm.WithContext(ctx).Model(&comboRow{}), f.Page, "id", &rows)
	if err != nil {
		return nil, 0, err
	}
	out, err := db.loadCombos(ctx, rows)
	return out, total, err
}

// UpsertCombo applies PUT /planos/{id}: it creates the combo, or updates it
// keeping each member the PUT omits; created reports whether it was new.
// Services already on the combo keep their subscriptions: the change
// reaches services created on it or moved to it afterwards.
func (db *DB) UpsertCombo(ctx context.Context, id int64, u svahub.ComboUpdate) (*svahub.Combo, bool, error) {
	var created bool
	err := db.tx(ctx, func(tx *gorm.DB) error {
		now := db.now().UTC()
		var r comboRow
		var cur svahub.ComboInput
		err := tx.Clauses(lockForUpdate(db.dialect)...).First(&r, id).Error
		switch {
		case err == nil:
			cur.Description = r.Description
			if err := tx.Model(&comboPackageRow{}).Where("plan_id = ?", id).Order("position").Pluck("package_id", &cur.Packages).Error; err != nil {
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
		if err := checkComboPackages(tx, in.Packages); err != nil {
			return err
		}
		if created {
			r = comboRow{ID: id, Description: in.Description, CreatedAt: now, UpdatedAt: now}
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
		return writeComboPackages(tx, id, in.Packages)
	})
	if err != nil {
		return nil, false, err
	}
	p, err := db.FindComboByID(ctx, id)
	return p, created, err
}

// checkComboPackages answers 422 naming each package of a combo that does
// not exist.
func checkComboPackages(tx *gorm.DB, pkgs []int64) error {
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

// writeComboPackages replaces a combo's packages.
func writeComboPackages(tx *gorm.DB, id int64, pkgs []int64) error {
	if err := tx.Where("plan_id = ?", id).Delete(&comboPackageRow{}).Error; err != nil {
		return err
	}
	if len(pkgs) == 0 {
		return nil
	}
	rows := make([]comboPackageRow, len(pkgs))
	for i, p := range pkgs {
		rows[i] = comboPackageRow{ComboID: id, PackageID: p, Position: i}
	}
	return tx.Create(&rows).Error
}

// DeleteCombo deletes a combo. Services keep the subscriptions it gave them.
func (db *DB) DeleteCombo(ctx context.Context, id int64) error {
	res := db.gorm.WithContext(ctx).Delete(&comboRow{}, id)
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
