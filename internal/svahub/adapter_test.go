package svahub_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/svahub"
)

func TestAdapterValidateParams(t *testing.T) {
	gen := func() (string, error) { return "whsec_x", nil }
	a := svahub.Adapter{Name: "fake", Params: []svahub.ParamSpec{
		{Name: "id", Required: true, MaxLen: 5},
		{Name: "secret", RequiredOnCreate: true, Secret: true},
		{Name: "segredo", RequiredOnCreate: true, Secret: true, Generate: gen},
		{Name: "url", URL: true},
	}}
	tests := []struct {
		name   string
		params map[string]string
		create bool
		field  string // "" when valid
		code   string // svahub.EINVALID unless said
	}{
		{"valid create", map[string]string{"id": "a", "secret": "s", "url": "https://x"}, true, "", ""},
		{"generated secret may be omitted", map[string]string{"id": "a", "secret": "s"}, true, "", ""},
		{"required missing", map[string]string{"secret": "s"}, true, "parametros.id", ""},
		{"required empty", map[string]string{"id": "", "secret": "s"}, true, "parametros.id", ""},
		{"secret required on create", map[string]string{"id": "a"}, true, "parametros.secret", ""},
		{"secret kept on update", map[string]string{"id": "a"}, false, "", ""},
		{"too long", map[string]string{"id": "abcdef"}, false, "parametros.id", ""},
		{"default max 500", map[string]string{"id": "a", "url": "https://" + strings.Repeat("x", 500)}, false, "parametros.url", ""},
		{"control char", map[string]string{"id": "a\x00"}, false, "parametros.id", ""},
		{"not a url", map[string]string{"id": "a", "url": "ftp://x"}, false, "parametros.url", ""},
		{"unknown member (400, as an unknown JSON field)", map[string]string{"id": "a", "client_id": "x"}, false, "parametros.client_id", svahub.EBADREQUEST},
		{"empty secret sent", map[string]string{"id": "a", "secret": ""}, false, "parametros.secret", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := a.ValidateParams(tt.params, tt.create)
			if tt.field == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			var e *svahub.Error
			require.ErrorAs(t, err, &e)
			code := tt.code
			if code == "" {
				code = svahub.EINVALID
			}
			require.Equal(t, code, e.Code)
			require.Equal(t, tt.field, e.Fields[0].Field)
		})
	}
}

func TestAdapterSecrets(t *testing.T) {
	a := svahub.Adapter{Params: []svahub.ParamSpec{{Name: "a"}, {Name: "b", Secret: true}}}
	require.Equal(t, []string{"b"}, a.Secrets())
	_, ok := a.Spec("c")
	require.False(t, ok)
}
