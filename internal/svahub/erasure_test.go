package svahub_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/svahub"
)

func TestErasureBlockers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		checks []svahub.ErasureCheck
		want   map[string]string // field → part of the message
	}{
		{name: "no service blocks nothing"},
		{name: "cancelled and inactive services with settled plans", checks: []svahub.ErasureCheck{
			{ServiceID: 1, Status: svahub.StatusCancelled}, {ServiceID: 2, Status: svahub.StatusInactive}}},
		{name: "a live service", checks: []svahub.ErasureCheck{{ServiceID: 7, Status: svahub.StatusEnabled}},
			want: map[string]string{"servicos/7/status_prefixo": "servico_habilitado"}},
		{name: "a suspended service", checks: []svahub.ErasureCheck{{ServiceID: 7, Status: svahub.StatusDebtSuspended}},
			want: map[string]string{"servicos/7/status_prefixo": "suspenso_debito"}},
		{name: "an awaiting service", checks: []svahub.ErasureCheck{{ServiceID: 7, Status: svahub.StatusAwaitingInstallation}},
			want: map[string]string{"servicos/7/status_prefixo": "aguardando_instalacao"}},
		{name: "cancelled, each kind of pending work", checks: []svahub.ErasureCheck{{ServiceID: 8, Status: svahub.StatusCancelled, Pending: []svahub.PendingWork{
			{SubscriptionID: 11, ProductCode: "pro", Kind: svahub.PendingSync},
			{SubscriptionID: 12, ProductCode: "premium", Kind: svahub.PendingError, Message: "usuário bloqueado"},
			{SubscriptionID: 13, ProductCode: "1001", Kind: svahub.PendingUncertain},
			{SubscriptionID: 14, ProductCode: "pro", Kind: svahub.PendingQueued},
		}}}, want: map[string]string{
			"servicos/8/pacotes/11": "ainda não foi aplicado na plataforma",
			"servicos/8/pacotes/12": "usuário bloqueado",
			"servicos/8/pacotes/13": "ainda não foi confirmado",
			"servicos/8/pacotes/14": "na fila",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := svahub.ErasureBlockers(tc.checks)
			require.Len(t, got, len(tc.want))
			for _, fe := range got {
				require.Contains(t, fe.Message, tc.want[fe.Field], fe.Field)
			}
			if len(got) > 0 {
				err := svahub.ErasureConflict(1001, got)
				require.Equal(t, svahub.ECONFLICT, err.Code)
				require.Contains(t, err.Message, "cliente 1001")
				require.Equal(t, got, err.Fields)
			}
		})
	}
}

func TestPersonalValues(t *testing.T) {
	t.Parallel()
	s := customerService()
	s.Customer.Phone = "+55 11 99999-0000"
	got := svahub.PersonalValues(s, "maria@example.com", "u42", svahub.ErasedUsername(3))
	require.ElementsMatch(t, []string{"Maria da Silva", "52998224725", "529.982.247-25", "maria@example.com",
		"+55 11 99999-0000", "5511999990000", "maria.silva", "s3nh4"}, got, "each once; short, placeholder and empty values left out")

	s.Customer.Document = "11222333000181"
	require.Contains(t, svahub.PersonalValues(s), "11.222.333/0001-81")
}

func TestIsErased(t *testing.T) {
	t.Parallel()
	s := customerService()
	require.False(t, svahub.IsErased(s))
	s.Customer = svahub.Customer{ID: 1001, Code: "C1001", Name: svahub.ErasedName}
	s.Login, s.Password, s.PasswordSet = "", "", false
	require.True(t, svahub.IsErased(s), "the customer code is an id and stays")
	s.PasswordSet = true
	require.False(t, svahub.IsErased(s))
}

// TestErasedUsernameIsReserved: no username policy derives an erased
// account's placeholder, so a new customer never joins an erased
// customer's platform user.
func TestErasedUsernameIsReserved(t *testing.T) {
	t.Parallel()
	placeholder := svahub.ErasedUsername(12)
	require.True(t, svahub.IsErasedUsername(placeholder))
	require.False(t, svahub.IsErasedUsername("maria.silva"))
	for policy, mutate := range map[svahub.UsernamePolicy]func(*svahub.CustomerService){
		svahub.UsernameLogin: func(s *svahub.CustomerService) { s.Login = placeholder },
		svahub.UsernameEmail: func(s *svahub.CustomerService) { s.Customer.Email = placeholder },
		svahub.UsernameCode:  func(s *svahub.CustomerService) { s.Customer.Code = placeholder },
	} {
		s := customerService()
		mutate(s)
		_, _, err := policy.Credentials(s)
		require.ErrorContains(t, err, "usuário reservado", policy)
		require.Equal(t, svahub.EINVALID, svahub.ErrorCode(err))
	}
}
