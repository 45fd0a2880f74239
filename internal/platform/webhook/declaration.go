package webhook

import "github.com/svahub/svahub/internal/svahub"

// The webhook platform's parameter names (WEBHOOK.md).
const (
	ParamURL    = "url"
	ParamSecret = "segredo"
)

// Declaration is the webhook adapter as the registry knows it: url
// (required, an address), segredo (secret; generated and shown once when
// create omits it), no capability besides sending commands.
func Declaration() svahub.Adapter {
	return svahub.Adapter{
		Name: Name,
		Params: []svahub.ParamSpec{
			{Name: ParamURL, Required: true, URL: true, MaxLen: 500},
			{Name: ParamSecret, RequiredOnCreate: true, Secret: true, MaxLen: 200, Generate: GenerateSecret},
		},
		Capabilities: Capabilities,
		Validate:     validateParams,
		New:          Factory,
	}
}

// validateParams checks the segredo's form when one is given.
func validateParams(params map[string]string) error {
	if s, ok := params[ParamSecret]; ok && s != "" {
		if err := ValidSecret(s); err != nil {
			return svahub.FieldInvalid("parametros."+ParamSecret, "segredo inválido: "+SecretPrefix+" seguido do base64 de 24 a 64 bytes")
		}
	}
	return nil
}

// Factory builds the adapter of one integration (svahub.PlatformFactory).
func Factory(cfg svahub.PlatformConfig) (svahub.Platform, error) {
	return New(Config{URL: cfg.Params[ParamURL], Secret: cfg.Params[ParamSecret], HTTPClient: cfg.HTTPClient, Timeout: cfg.Timeout, Limiter: cfg.Limiter})
}
