package svahub_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/svahub"
)

func TestParseMoney(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    svahub.Money
		wantErr bool
	}{
		{in: "0.00", want: 0},
		{in: "0.01", want: 1},
		{in: "29.90", want: 2990},
		{in: "100.00", want: 10000},
		{in: "99999999.99", want: svahub.MaxMoneyCents},

		{in: "", wantErr: true},
		{in: "29.9", wantErr: true},
		{in: "29", wantErr: true},
		{in: "29.", wantErr: true},
		{in: ".90", wantErr: true},
		{in: "29,90", wantErr: true},
		{in: "-1.00", wantErr: true},
		{in: "+1.00", wantErr: true},
		{in: "1.234", wantErr: true},
		{in: "1e3", wantErr: true},
		{in: " 1.00", wantErr: true},
		{in: "1.00 ", wantErr: true},
		{in: "1.00\n", wantErr: true},
		{in: "100000000.00", wantErr: true},
		{in: "NaN", wantErr: true},
		{in: "Inf", wantErr: true},
		{in: "0x1.00", wantErr: true},
		{in: "1_000.00", wantErr: true},
		{in: "١.٠٠", wantErr: true}, // Arabic-Indic digits
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := svahub.ParseMoney(tt.in)
			if tt.wantErr {
				require.Error(t, err)
				require.Zero(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestMoneyStringRoundTrip(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"0.00", "0.01", "0.10", "1.00", "29.90", "16.94", "1234.56", "99999999.99"} {
		t.Run(s, func(t *testing.T) {
			t.Parallel()
			m, err := svahub.ParseMoney(s)
			require.NoError(t, err)
			require.Equal(t, s, m.String())

			b, err := json.Marshal(m)
			require.NoError(t, err)
			require.JSONEq(t, `"`+s+`"`, string(b))
		})
	}
}

func TestMoneyString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		m    svahub.Money
		want string
	}{
		{0, "0.00"},
		{5, "0.05"},
		{50, "0.50"},
		{2990, "29.90"},
		{100, "1.00"},
		{-5, "-0.05"},
		{-2990, "-29.90"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, tt.m.String())
		})
	}
}

func TestMoneyProRata(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		m        string
		num, den int
		want     string
	}{
		{"29.90 x 17/30 = 16.943... -> 16.94", "29.90", 17, 30, "16.94"},
		{"10.00 x 1/3 = 3.333... -> 3.33", "10.00", 1, 3, "3.33"},
		{"10.00 x 2/3 = 6.666... -> 6.67", "10.00", 2, 3, "6.67"},
		{"0.05 x 1/2 = 0.025 -> 0.03 half-up", "0.05", 1, 2, "0.03"},
		{"0.01 x 1/2 = 0.005 -> 0.01 half-up", "0.01", 1, 2, "0.01"},
		{"0.01 x 1/3 = 0.0033 -> 0.00", "0.01", 1, 3, "0.00"},
		{"29.90 x 15/30 = 14.95", "29.90", 15, 30, "14.95"},
		{"29.90 x 1/31 = 0.9645 -> 0.96", "29.90", 1, 31, "0.96"},
		{"29.90 x 14/28 (February) = 14.95", "29.90", 14, 28, "14.95"},
		{"full month is the full value", "29.90", 31, 31, "29.90"},
		{"zero days is zero", "29.90", 0, 30, "0.00"},
		{"zero value stays zero", "0.00", 17, 30, "0.00"},
		{"maximum value, full month", "99999999.99", 31, 31, "99999999.99"},
		{"maximum value, 1/31", "99999999.99", 1, 31, "3225806.45"},
		{"zero denominator is zero", "29.90", 1, 0, "0.00"},
		{"negative denominator is zero", "29.90", 1, -30, "0.00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := svahub.ParseMoney(tt.m)
			require.NoError(t, err)
			require.Equal(t, tt.want, m.ProRata(tt.num, tt.den).String())
		})
	}
}
