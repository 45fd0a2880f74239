package svahub_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/svahub"
)

func TestNormalizeDocument(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		in     string
		want   string
		wantOK bool
	}{
		// Valid CPFs.
		{name: "CPF with punctuation", in: "529.982.247-25", want: "52998224725", wantOK: true},
		{name: "CPF digits only", in: "52998224725", want: "52998224725", wantOK: true},
		{name: "CPF with spaces", in: " 529 982 247 25 ", want: "52998224725", wantOK: true},
		{name: "CPF whose check digits are 0", in: "123.456.789-09", want: "12345678909", wantOK: true},
		{name: "another CPF", in: "111.444.777-35", want: "11144477735", wantOK: true},

		// Valid CNPJs.
		{name: "CNPJ with punctuation", in: "11.222.333/0001-81", want: "11222333000181", wantOK: true},
		{name: "CNPJ digits only", in: "11222333000181", want: "11222333000181", wantOK: true},
		{name: "another CNPJ", in: "45.723.174/0001-10", want: "45723174000110", wantOK: true},

		// Invalid check digits (digits are still returned, but not ok).
		{name: "CPF wrong first check digit", in: "529.982.247-35", want: "52998224735"},
		{name: "CPF wrong second check digit", in: "529.982.247-24", want: "52998224724"},
		{name: "CNPJ wrong first check digit", in: "11.222.333/0001-91", want: "11222333000191"},
		{name: "CNPJ wrong second check digit", in: "11.222.333/0001-80", want: "11222333000180"},

		// All the same digit passes the check-digit arithmetic but is invalid.
		{name: "CPF all ones", in: "111.111.111-11", want: "11111111111"},
		{name: "CPF all zeros", in: "00000000000", want: "00000000000"},
		{name: "CPF all nines", in: "99999999999", want: "99999999999"},
		{name: "CNPJ all zeros", in: "00.000.000/0000-00", want: "00000000000000"},
		{name: "CNPJ all ones", in: "11111111111111", want: "11111111111111"},

		// Wrong lengths.
		{name: "empty", in: ""},
		{name: "only punctuation", in: "..-/"},
		{name: "10 digits", in: "5299822472"},
		{name: "12 digits", in: "529982247251"},
		{name: "13 digits", in: "1122233300018"},
		{name: "15 digits", in: "112223330001810"},

		// Other characters.
		{name: "letters", in: "529.982.247-2X"},
		{name: "letters only", in: "abcdefghijk"},
		{name: "CPF prefix", in: "CPF 529.982.247-25"},
		{name: "comma", in: "529,982,247-25"},
		{name: "tab", in: "529.982.247-25\t"},
		{name: "full-width digits", in: "５２９９８２２４７２５"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := svahub.NormalizeDocument(tt.in)
			require.Equal(t, tt.wantOK, ok)
			require.Equal(t, tt.want, got)
		})
	}
}
