package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/svahub/svahub/internal/svahub"
)

type integrationRow struct {
	ID                 int64
	Description        string
	Platform           string
	ClientID           string
	ClientSecretSealed string
	UsernamePolicy     string
	BaseURL            string
	RateLimitRPS       float64 `gorm:"column:rate_limit_rps"`
	SuspendOnDebt      bool
	Active             bool
	TokenSealed        string
	TokenStatus        string
	TokenExpiresAt     *time.Time
	TokenMessage       string
	// CredentialsVersion grows with every change of client_id, secret,
	// url_base or platform; tokens are stored only under their version.
	CredentialsVersion int64
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

func (integrationRow) TableName() string { return "integrations" }

func (r *integrationRow) domain(loc *time.Location) *svahub.Integration {
	in := &svahub.Integration{
		ID:          r.ID,
		Description: r.Description,
		Platform:    r.Platform,
		Params: svahub.IntegrationParams{
			ClientID:     r.ClientID,
			SecretSet:    r.ClientSecretSealed != "",
			Username:     svahub.UsernamePolicy(r.UsernamePolicy),
			BaseURL:      r.BaseURL,
			RateLimitRPS: r.RateLimitRPS,
		},
		SuspendOnDebt: r.SuspendOnDebt,
		Active:        r.Active,
		Token:         svahub.TokenInfo{Status: svahub.TokenStatus(r.TokenStatus), Message: r.TokenMessage},
		CreatedAt:     r.CreatedAt.In(loc),
		UpdatedAt:     r.UpdatedAt.In(loc),
	}
	if r.TokenExpiresAt != nil {
		t := r.TokenExpiresAt.In(loc)
		in.Token.ExpiresAt = &t
	}
	return in
}

// FindIntegrationByID returns one integration.
func (db *DB) FindIntegrationByID(ctx context.Context, id int64) (*svahub.Integration, error) {
	var r integrationRow
	if err := db.gorm.WithContext(ctx).First(&r, id).Error; err != nil {
		return nil, mapErr(err, "integração não encontrada")
	}
	return r.domain(db.loc), nil
}

// FindIntegrations lists integrations by id.
func (db *DB) FindIntegrations(ctx context.Context, f svahub.IntegrationFilter) ([]*svahub.Integration, int, error) {
	var rows []integrationRow
	total, err := db.page(ctx, db.gorm.WithContext(ctx).Model(&integrationRow{}), f.Page, "id", &rows)
	if err != nil {
		return nil, 0, err
	}
	out := make([]*svahub.Integration, len(rows))
	for i := range rows {
		out[i] = rows[i].domain(db.loc)
	}
	return out, total, nil
}

func validateIntegration(in *svahub.IntegrationInput, create bool) error {
	in.Normalize()
	if err := svahub.Validate(in); err != nil {
		return err
	}
	if create && in.Params.ClientSecret == nil {
		return svahub.FieldInvalid("parametros.client_secret", "campo obrigatório")
	}
	return nil
}

// CreateIntegration stores a new integration with its secret sealed. The
// token starts as pendente; the platform layer generates it.
func (db *DB) CreateIntegration(ctx context.Context, in svahub.IntegrationInput) (*svahub.Integration, error) {
	if err := validateIntegration(&in, true); err != nil {
		return nil, err
	}
	sealed, err := db.sealer.Seal(*in.Params.ClientSecret)
	if err != nil {
		return nil, err
	}
	r := integrationRow{
		Description:        in.Description,
		Platform:           in.Platform,
		ClientID:           in.Params.ClientID,
		ClientSecretSealed: sealed,
		UsernamePolicy:     in.Params.Username,
		BaseURL:            in.Params.BaseURL,
		SuspendOnDebt:      in.SuspendOnDebt != nil && *in.SuspendOnDebt,
		Active:             in.Active == nil || *in.Active,
		TokenStatus:        string(svahub.TokenPending),
		CredentialsVersion: 1,
	}
	if in.Params.RateLimitRPS != nil {
		r.RateLimitRPS = *in.Params.RateLimitRPS
	}
	if err := db.gorm.WithContext(ctx).Create(&r).Error; err != nil {
		return nil, mapErr(err, "")
	}
	return r.domain(db.loc), nil
}

// input is the stored integration as an input (without its secret), for
// an update to be applied over.
func (r *integrationRow) input() svahub.IntegrationInput {
	key, active := r.SuspendOnDebt, r.Active
	in := svahub.IntegrationInput{Description: r.Description, Platform: r.Platform, SuspendOnDebt: &key, Active: &active,
		Params: svahub.IntegrationParamInput{ClientID: r.ClientID, Username: r.UsernamePolicy, BaseURL: r.BaseURL}}
	if r.RateLimitRPS > 0 {
		rps := r.RateLimitRPS
		in.Params.RateLimitRPS = &rps
	}
	return in
}

// UpdateIntegration applies a PUT: each member it omits keeps its stored
// value (the secret included). The usuario policy cannot change while the
// integration has platform accounts (409). Changed credentials reset the
// token to pendente so it is generated again.
func (db *DB) UpdateIntegration(ctx context.Context, id int64, u svahub.IntegrationUpdate) (*svahub.Integration, error) {
	defer db.creds.clear() // after the write: nothing re-caches the old value
	var out *svahub.Integration
	err := db.tx(ctx, func(tx *gorm.DB) error {
		var r integrationRow
		if err := tx.Clauses(lockForUpdate(db.dialect)...).First(&r, id).Error; err != nil {
			return mapErr(err, "integração não encontrada")
		}
		if u.SecretRequired(r.input()) {
			return svahub.FieldInvalid("parametros.client_secret",
				"informe o client_secret ao mudar plataforma ou url_base: o segredo guardado só vai para o endereço para o qual foi dado")
		}
		in := u.Apply(r.input())
		if err := validateIntegration(&in, false); err != nil {
			return err
		}
		if err := checkPolicyChange(tx, &r, in.Params.Username); err != nil {
			return err
		}
		wasKey, wasActive := r.SuspendOnDebt, r.Active
		credsChanged := r.ClientID != in.Params.ClientID || r.BaseURL != in.Params.BaseURL || r.Platform != in.Platform
		if in.Params.ClientSecret != nil {
			old, err := db.sealer.Open(r.ClientSecretSealed)
			if err != nil || old != *in.Params.ClientSecret {
				sealed, err := db.sealer.Seal(*in.Params.ClientSecret)
				if err != nil {
					return err
				}
				r.ClientSecretSealed = sealed
				credsChanged = true
			}
		}
		r.Description = in.Description
		r.Platform = in.Platform
		r.ClientID = in.Params.ClientID
		r.UsernamePolicy = in.Params.Username
		r.BaseURL = in.Params.BaseURL
		r.RateLimitRPS = 0 // the server's default
		if in.Params.RateLimitRPS != nil {
			r.RateLimitRPS = *in.Params.RateLimitRPS
		}
		r.SuspendOnDebt, r.Active = *in.SuspendOnDebt, *in.Active
		if credsChanged {
			r.TokenSealed, r.TokenStatus, r.TokenExpiresAt, r.TokenMessage = "", string(svahub.TokenPending), nil, ""
			r.CredentialsVersion++
		}
		keyChanged, resumed := r.SuspendOnDebt != wasKey, r.Active && !wasActive
		if err := tx.Save(&r).Error; err != nil {
			return mapErr(err, "")
		}
		if keyChanged {
			if err := db.refreshDebtServices(tx, id); err != nil {
				return err
			}
		}
		if resumed { // work held while paused goes out now
			if err := db.enqueueHeld(tx, id); err != nil {
				return err
			}
		}
		out = r.domain(db.loc)
		return nil
	})
	return out, err
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

// DeleteIntegration deletes an integration and its products; 409 while
// packages use it.
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
		if err := tx.Where("integration_id = ?", id).Delete(&productRow{}).Error; err != nil {
			return mapErr(err, "")
		}
		return mapErr(tx.Delete(&integrationRow{}, id).Error, "")
	})
}

// Credentials returns an integration's decrypted credentials and cached
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
	if err := db.gorm.WithContext(ctx).First(&r, id).Error; err != nil {
		return nil, mapErr(err, "integração não encontrada")
	}
	secret, err := db.sealer.Open(r.ClientSecretSealed)
	if err != nil {
		return nil, err
	}
	token, err := db.sealer.Open(r.TokenSealed)
	if err != nil {
		token = "" // an unreadable cached token is simply renewed
	}
	c := &svahub.Credentials{
		IntegrationID: r.ID, Platform: r.Platform,
		Params:  map[string]string{"client_id": r.ClientID, "client_secret": secret, "url_base": r.BaseURL},
		BaseURL: r.BaseURL, RateLimitRPS: r.RateLimitRPS, AccessToken: token, Active: r.Active,
		Version: r.CredentialsVersion,
	}
	if r.TokenExpiresAt != nil {
		c.TokenExpiresAt = *r.TokenExpiresAt
	}
	return c, nil
}

// SaveToken records the outcome of a token request: a valid token (sealed)
// with its expiry, or an error message. version is the credentials version
// the token was requested with (Credentials.Version): when client_id,
// secret, url_base or platform changed meanwhile, the result is dropped.
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
