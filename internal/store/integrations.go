package store

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"time"

	"gorm.io/gorm"

	"github.com/svahub/svahub/internal/svahub"
)

// integrationRow is one integration. Its adapter's non-secret parametros
// are one JSON object (Params); each secret is an integrationSecretRow.
type integrationRow struct {
	ID             int64
	Description    string
	Platform       string
	Params         string
	UsernamePolicy string
	RateLimitRPS   float64 `gorm:"column:rate_limit_rps"`
	SuspendOnDebt  bool
	Active         bool
	TokenSealed    string
	TokenStatus    string
	TokenExpiresAt *time.Time
	TokenMessage   string
	// CredentialsVersion grows with every change of a parameter (secrets
	// included) or of the platform; tokens are stored only under their
	// version.
	CredentialsVersion int64
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

func (integrationRow) TableName() string { return "integrations" }

// integrationSecretRow is one sealed secret parameter of an integration.
type integrationSecretRow struct {
	ID            int64
	IntegrationID int64
	Name          string
	ValueSealed   string
}

func (integrationSecretRow) TableName() string { return "integration_secrets" }

// values decodes the non-secret parameters (never nil).
func (r *integrationRow) values() map[string]string {
	m := map[string]string{}
	_ = json.Unmarshal([]byte(r.Params), &m) // written by svahub only
	return m
}

// domain is the integration as answered; secrets lists the names of its
// secrets that are set.
func (r *integrationRow) domain(loc *time.Location, reg svahub.Registry, secrets []string) *svahub.Integration {
	in := &svahub.Integration{
		ID:          r.ID,
		Description: r.Description,
		Platform:    r.Platform,
		Params: svahub.IntegrationParams{Values: r.values(), Defined: map[string]bool{},
			Username: svahub.UsernamePolicy(r.UsernamePolicy), RateLimitRPS: r.RateLimitRPS},
		SuspendOnDebt: r.SuspendOnDebt,
		Active:        r.Active,
		Token:         svahub.TokenInfo{Status: svahub.TokenStatus(r.TokenStatus), Message: r.TokenMessage},
		CreatedAt:     r.CreatedAt.In(loc),
		UpdatedAt:     r.UpdatedAt.In(loc),
	}
	if a, ok := reg[r.Platform]; ok {
		for _, name := range a.Secrets() {
			in.Params.Defined[name] = false
		}
	}
	for _, name := range secrets {
		in.Params.Defined[name] = true
	}
	if r.TokenExpiresAt != nil {
		t := r.TokenExpiresAt.In(loc)
		in.Token.ExpiresAt = &t
	}
	return in
}

// secretNames maps each of ids to the names of its stored secrets.
func secretNames(tx *gorm.DB, ids []int64) (map[int64][]string, error) {
	var rows []integrationSecretRow
	if err := tx.Select("integration_id, name").Where("integration_id IN ?", ids).Order("name").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := map[int64][]string{}
	for _, r := range rows {
		out[r.IntegrationID] = append(out[r.IntegrationID], r.Name)
	}
	return out, nil
}

// answer reads r's secret names and returns r as answered.
func (db *DB) answer(tx *gorm.DB, r *integrationRow) (*svahub.Integration, error) {
	names, err := secretNames(tx, []int64{r.ID})
	if err != nil {
		return nil, err
	}
	return r.domain(db.loc, db.reg, names[r.ID]), nil
}

// FindIntegrationByID returns one integration.
func (db *DB) FindIntegrationByID(ctx context.Context, id int64) (*svahub.Integration, error) {
	var r integrationRow
	tx := db.gorm.WithContext(ctx)
	if err := tx.First(&r, id).Error; err != nil {
		return nil, mapErr(err, "integração não encontrada")
	}
	return db.answer(tx, &r)
}

// FindIntegrations lists integrations by id.
func (db *DB) FindIntegrations(ctx context.Context, f svahub.IntegrationFilter) ([]*svahub.Integration, int, error) {
	var rows []integrationRow
	tx := db.gorm.WithContext(ctx)
	total, err := db.page(ctx, tx.Model(&integrationRow{}), f.Page, "id", &rows)
	if err != nil {
		return nil, 0, err
	}
	ids := make([]int64, len(rows))
	for i := range rows {
		ids[i] = rows[i].ID
	}
	names, err := secretNames(tx, ids)
	if err != nil {
		return nil, 0, err
	}
	out := make([]*svahub.Integration, len(rows))
	for i := range rows {
		out[i] = rows[i].domain(db.loc, db.reg, names[rows[i].ID])
	}
	return out, total, nil
}

// CreateIntegration checks the integration against its adapter's
// declaration (svahub.PrepareCreate) and stores it with its secrets
// sealed. The token starts as pendente; the platform layer generates it.
// A secret svahub generated is in the answer, once.
func (db *DB) CreateIntegration(ctx context.Context, in svahub.IntegrationInput) (*svahub.Integration, error) {
	p, err := svahub.PrepareCreate(in, db.reg)
	if err != nil {
		return nil, err
	}
	r := integrationRow{
		Description:        p.Input.Description,
		Platform:           p.Input.Platform,
		UsernamePolicy:     p.Input.Params.Username,
		SuspendOnDebt:      p.Input.SuspendOnDebt != nil && *p.Input.SuspendOnDebt,
		Active:             p.Input.Active == nil || *p.Input.Active,
		TokenStatus:        string(svahub.TokenPending),
		CredentialsVersion: 1,
	}
	if p.Input.Params.RateLimitRPS != nil {
		r.RateLimitRPS = *p.Input.Params.RateLimitRPS
	}
	var out *svahub.Integration
	err = db.tx(ctx, func(tx *gorm.DB) error {
		if err := r.setParams(p.Plain); err != nil {
			return err
		}
		if err := tx.Create(&r).Error; err != nil {
			return mapErr(err, "")
		}
		if _, err := db.writeSecrets(tx, r.ID, p.Secrets); err != nil {
			return err
		}
		var err error
		out, err = db.answer(tx, &r)
		return err
	})
	if err != nil {
		return nil, err
	}
	out.Params.Revealed = p.Revealed
	return out, nil
}

func (r *integrationRow) setParams(plain map[string]string) error {
	b, err := json.Marshal(plain)
	r.Params = string(b)
	return err
}

// writeSecrets seals and stores secrets (name → value), replacing stored
// values of the same name; it reports whether any value changed.
func (db *DB) writeSecrets(tx *gorm.DB, id int64, secrets map[string]string) (bool, error) {
	if len(secrets) == 0 {
		return false, nil
	}
	var rows []integrationSecretRow
	if err := tx.Where("integration_id = ?", id).Find(&rows).Error; err != nil {
		return false, err
	}
	stored := map[string]integrationSecretRow{}
	for _, r := range rows {
		stored[r.Name] = r
	}
	changed := false
	for name, v := range secrets {
		old, ok := stored[name]
		if ok {
			if plain, err := db.sealer.Open(old.ValueSealed); err == nil && plain == v {
				continue
			}
		}
		sealed, err := db.sealer.Seal(v)
		if err != nil {
			return false, err
		}
		row := integrationSecretRow{ID: old.ID, IntegrationID: id, Name: name, ValueSealed: sealed}
		if err := tx.Save(&row).Error; err != nil {
			return false, mapErr(err, "")
		}
		changed = true
	}
	return changed, nil
}

// input is the stored integration as an input (without its secrets), for
// an update to be applied over.
func (r *integrationRow) input() svahub.IntegrationInput {
	key, active := r.SuspendOnDebt, r.Active
	in := svahub.IntegrationInput{Description: r.Description, Platform: r.Platform, SuspendOnDebt: &key, Active: &active,
		Params: svahub.IntegrationParamInput{Values: r.values(), Username: r.UsernamePolicy}}
	if r.RateLimitRPS > 0 {
		rps := r.RateLimitRPS
		in.Params.RateLimitRPS = &rps
	}
	return in
}

// UpdateIntegration applies a PUT (svahub.PrepareUpdate): each member it
// omits keeps its stored value (secrets included). The usuario policy
// cannot change while the integration has platform accounts (409).
// Changed parameters reset the token to pendente so it is generated again.
func (db *DB) UpdateIntegration(ctx context.Context, id int64, u svahub.IntegrationUpdate) (*svahub.Integration, error) {
	defer db.creds.clear() // after the write: nothing re-caches the old value
	var out *svahub.Integration
	err := db.tx(ctx, func(tx *gorm.DB) error {
		var r integrationRow
		if err := tx.Clauses(lockForUpdate(db.dialect)...).First(&r, id).Error; err != nil {
			return mapErr(err, "integração não encontrada")
		}
		p, err := svahub.PrepareUpdate(r.input(), u, db.reg)
		if err != nil {
			return err
		}
		if err := checkPolicyChange(tx, &r, p.Input.Params.Username); err != nil {
			return err
		}
		out, err = db.saveUpdate(tx, &r, p)
		if out != nil {
			out.Params.Revealed = p.Revealed
		}
		return err
	})
	return out, err
}

// saveUpdate writes a prepared update over r, and what follows from it:
// a new token, the debt key applied to the services, held work released.
func (db *DB) saveUpdate(tx *gorm.DB, r *integrationRow, p svahub.PreparedIntegration) (*svahub.Integration, error) {
	in := p.Input
	wasKey, wasActive, oldParams := r.SuspendOnDebt, r.Active, r.values()
	credsChanged := r.Platform != in.Platform
	if credsChanged { // the old adapter's secrets do not apply
		if err := tx.Where("integration_id = ?", r.ID).Delete(&integrationSecretRow{}).Error; err != nil {
			return nil, err
		}
	}
	changed, err := db.writeSecrets(tx, r.ID, p.Secrets)
	if err != nil {
		return nil, err
	}
	if err := r.setParams(p.Plain); err != nil {
		return nil, err
	}
	credsChanged = credsChanged || changed || !maps.Equal(oldParams, p.Plain)
	r.Description, r.Platform, r.UsernamePolicy = in.Description, in.Platform, in.Params.Username
	r.RateLimitRPS = 0 // the server's default
	if in.Params.RateLimitRPS != nil {
		r.RateLimitRPS = *in.Params.RateLimitRPS
	}
	r.SuspendOnDebt, r.Active = *in.SuspendOnDebt, *in.Active
	if credsChanged {
		r.TokenSealed, r.TokenStatus, r.TokenExpiresAt, r.TokenMessage = "", string(svahub.TokenPending), nil, ""
		r.CredentialsVersion++
	}
	if err := tx.Save(r).Error; err != nil {
		return nil, mapErr(err, "")
	}
	if r.SuspendOnDebt != wasKey {
		if err := db.refreshDebtServices(tx, r.ID); err != nil {
			return nil, err
		}
	}
	if r.Active && !wasActive { // work held while paused goes out now
		if err := db.enqueueHeld(tx, r.ID); err != nil {
			return nil, err
		}
	}
	return db.answer(tx, r)
}

// checkPolicyChange refuses a new usuario policy while the integration has
// platform accounts: they were created under the old one, and the platform
// users keep their usernames.
func checkPolicyChange(tx *gorm.DB, r *integrationRow, policy string) error {
	if policy == r.UsernamePolicy {
		return nil
	}
	var n int64
	if err := tx.Model(&accountRow{}).Where("integration_id = ?", r.ID).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	return &svahub.Error{Code: svahub.ECONFLICT,
		Message: fmt.Sprintf("a política de usuário não pode mudar: a integração já tem %d conta(s) na plataforma", n),
		Fields:  []svahub.FieldError{{Field: "parametros.usuario", Message: "integração com contas na plataforma"}}}
}

// DeleteIntegration deletes an integration, its secrets and its products;
// 409 while packages use it.
func (db *DB) DeleteIntegration(ctx context.Context, id int64) error {
	defer db.creds.clear() // after the write: nothing re-caches the old value
	return db.tx(ctx, func(tx *gorm.DB) error {
		var r integrationRow
		if err := tx.Clauses(lockForUpdate(db.dialect)...).First(&r, id).Error; err != nil {
			return mapErr(err, "integração não encontrada")
		}
		var n int64
		if err := tx.Model(&packageRow{}).Where("integration_id = ?", id).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return svahub.Errorf(svahub.ECONFLICT, "integração em uso por %d pacote(s)", n)
		}
		for _, m := range []any{&productRow{}, &integrationSecretRow{}} {
			if err := tx.Where("integration_id = ?", id).Delete(m).Error; err != nil {
				return mapErr(err, "")
			}
		}
		return mapErr(tx.Delete(&integrationRow{}, id).Error, "")
	})
}

// Credentials returns an integration's decrypted parameters and cached
// token, for platform adapters only.
func (db *DB) Credentials(ctx context.Context, id int64) (*svahub.Credentials, error) {
	now := time.Now()
	if c, ok := db.creds.get(id, now); ok {
		return &c, nil
	}
	c, err := db.readCredentials(ctx, id)
	if err != nil {
		return nil, err
	}
	db.creds.put(id, *c, now.Add(credentialsCacheTTL))
	return c, nil
}

// credentialsCacheTTL is how long Credentials answers from memory: workers
// ask once per platform call. A change made in this process clears it;
// other processes see it within this delay (whether an integration is
// active is read with each plan's work, not from here).
const credentialsCacheTTL = time.Second

func (db *DB) readCredentials(ctx context.Context, id int64) (*svahub.Credentials, error) {
	var r integrationRow
	tx := db.gorm.WithContext(ctx)
	if err := tx.First(&r, id).Error; err != nil {
		return nil, mapErr(err, "integração não encontrada")
	}
	var secrets []integrationSecretRow
	if err := tx.Where("integration_id = ?", id).Find(&secrets).Error; err != nil {
		return nil, err
	}
	params := r.values()
	for _, s := range secrets {
		v, err := db.sealer.Open(s.ValueSealed)
		if err != nil {
			return nil, err
		}
		params[s.Name] = v
	}
	token, err := db.sealer.Open(r.TokenSealed)
	if err != nil {
		token = "" // an unreadable cached token is simply renewed
	}
	c := &svahub.Credentials{
		IntegrationID: r.ID, Platform: r.Platform, Params: params,
		RateLimitRPS: r.RateLimitRPS, AccessToken: token, Active: r.Active,
		Version: r.CredentialsVersion,
	}
	if r.TokenExpiresAt != nil {
		c.TokenExpiresAt = *r.TokenExpiresAt
	}
	return c, nil
}

// SaveToken records the outcome of a token request: a valid token (sealed)
// with its expiry, or an error message. version is the credentials version
// the token was requested with (Credentials.Version): when a parameter or
// the platform changed meanwhile, the result is dropped.
func (db *DB) SaveToken(ctx context.Context, id int64, version int64, token string, expiresAt time.Time, status svahub.TokenStatus, message string) error {
	defer db.creds.clear() // after the write: nothing re-caches the old value
	sealed, err := db.sealer.Seal(token)
	if err != nil {
		return err
	}
	var exp *time.Time
	if !expiresAt.IsZero() {
		t := expiresAt.UTC()
		exp = &t
	}
	return db.gorm.WithContext(ctx).Model(&integrationRow{}).
		Where("id = ? AND credentials_version = ?", id, version).
		Updates(map[string]any{"token_sealed": sealed, "token_status": string(status), "token_expires_at": exp, "token_message": message}).Error
}
