package svahub_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/svahub"
)

var (
	bothKeys   = []bool{false, true}
	keyOn      = []bool{true}
	keyOff     = []bool{false}
	liveStates = []svahub.AccessState{svahub.AccessNone, svahub.AccessActive, svahub.AccessSuspended}
	allStates  = []svahub.AccessState{svahub.AccessNone, svahub.AccessActive, svahub.AccessSuspended, svahub.AccessCancelled}

	debtStatuses    = []svahub.ServiceStatus{svahub.StatusDebtSuspended, svahub.StatusPartiallySuspended}
	cancelStatuses  = []svahub.ServiceStatus{svahub.StatusCancelled, svahub.StatusInactive}
	waitingStatuses = []svahub.ServiceStatus{
		svahub.StatusAwaitingInstallation, svahub.StatusAwaitingContract, svahub.StatusAwaitingConfig,
		svahub.StatusAwaitingIT, svahub.StatusAwaitingMigration, svahub.StatusScheduled,
		svahub.StatusQuotaExceeded,
	}
)

// lifecycleRow is one row of the lifecycle table of DOMAIN.md, expanded over
// the listed statuses, debt-key values and current desired states.
type lifecycleRow struct {
	name         string
	statuses     []svahub.ServiceStatus
	debtKeys     []bool
	currents     []svahub.AccessState
	subCancelled bool
	// want is the expected state; wantCurrent means "unchanged / left as it is".
	want        svahub.AccessState
	wantCurrent bool
}

var lifecycleRows = []lifecycleRow{
	{
		name:     "servico_habilitado activates (created on first need)",
		statuses: []svahub.ServiceStatus{svahub.StatusEnabled},
		debtKeys: bothKeys, currents: liveStates,
		want: svahub.AccessActive,
	},
	{
		name:     "debt suspension with suspender_inadimplencia suspends",
		statuses: debtStatuses,
		debtKeys: keyOn, currents: liveStates,
		want: svahub.AccessSuspended,
	},
	{
		name:     "debt suspension without suspender_inadimplencia leaves state unchanged",
		statuses: debtStatuses,
		debtKeys: keyOff, currents: liveStates,
		wantCurrent: true,
	},
	{
		name:     "suspenso_pedido_cliente suspends regardless of the debt key",
		statuses: []svahub.ServiceStatus{svahub.StatusCustomerSuspended},
		debtKeys: bothKeys, currents: liveStates,
		want: svahub.AccessSuspended,
	},
	{
		name:     "cancelado and inativo cancel",
		statuses: cancelStatuses,
		debtKeys: bothKeys, currents: liveStates,
		want: svahub.AccessCancelled,
	},
	{
		name:     "waiting statuses create nothing and leave an existing user as it is",
		statuses: waitingStatuses,
		debtKeys: bothKeys, currents: liveStates,
		wantCurrent: true,
	},
	{
		name:     "cancelled access is terminal under every status",
		statuses: svahub.ServiceStatuses,
		debtKeys: bothKeys, currents: []svahub.AccessState{svahub.AccessCancelled},
		want: svahub.AccessCancelled,
	},
	{
		name:     "cancelled subscription (DELETE) cancels under every status",
		statuses: svahub.ServiceStatuses,
		debtKeys: bothKeys, currents: allStates, subCancelled: true,
		want: svahub.AccessCancelled,
	},
	{
		// Unknown statuses are rejected by validation (422) before reaching
		// DesiredState; should one slip through, it changes nothing.
		name:     "unknown status changes nothing",
		statuses: []svahub.ServiceStatus{"", "ativo", "suspenso", "SERVICO_HABILITADO"},
		debtKeys: bothKeys, currents: liveStates,
		wantCurrent: true,
	},
}

func TestDesiredState(t *testing.T) {
	t.Parallel()
	for _, row := range lifecycleRows {
		t.Run(row.name, func(t *testing.T) {
			t.Parallel()
			require.NotEmpty(t, row.statuses)
			for _, status := range row.statuses {
				for _, key := range row.debtKeys {
					for _, current := range row.currents {
						want := row.want
						if row.wantCurrent {
							want = current
						}
						got := svahub.DesiredState(status, key, row.subCancelled, current)
						require.Equal(t, want, got, "status=%q suspender_inadimplencia=%t subscriptionCancelled=%t current=%q",
							status, key, row.subCancelled, current)
					}
				}
			}
		})
	}
}

// TestDesiredStateSpotChecks lists the cases that matter most one by one.
func TestDesiredStateSpotChecks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status       svahub.ServiceStatus
		debtKey      bool
		subCancelled bool
		current      svahub.AccessState
		want         svahub.AccessState
	}{
		{svahub.StatusEnabled, false, false, svahub.AccessNone, svahub.AccessActive},
		{svahub.StatusEnabled, true, false, svahub.AccessSuspended, svahub.AccessActive},
		{svahub.StatusDebtSuspended, true, false, svahub.AccessActive, svahub.AccessSuspended},
		{svahub.StatusDebtSuspended, false, false, svahub.AccessActive, svahub.AccessActive},
		{svahub.StatusDebtSuspended, false, false, svahub.AccessNone, svahub.AccessNone},
		{svahub.StatusPartiallySuspended, true, false, svahub.AccessActive, svahub.AccessSuspended},
		{svahub.StatusPartiallySuspended, false, false, svahub.AccessSuspended, svahub.AccessSuspended},
		{svahub.StatusCustomerSuspended, false, false, svahub.AccessActive, svahub.AccessSuspended},
		{svahub.StatusCancelled, false, false, svahub.AccessActive, svahub.AccessCancelled},
		{svahub.StatusInactive, true, false, svahub.AccessSuspended, svahub.AccessCancelled},
		{svahub.StatusAwaitingInstallation, true, false, svahub.AccessNone, svahub.AccessNone},
		{svahub.StatusQuotaExceeded, true, false, svahub.AccessActive, svahub.AccessActive},
		{svahub.StatusScheduled, false, false, svahub.AccessSuspended, svahub.AccessSuspended},
		{svahub.StatusEnabled, true, false, svahub.AccessCancelled, svahub.AccessCancelled},
		{svahub.StatusEnabled, true, true, svahub.AccessActive, svahub.AccessCancelled},
		{svahub.StatusAwaitingMigration, false, true, svahub.AccessNone, svahub.AccessCancelled},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%s/key=%t/subCancelled=%t/current=%q", tt.status, tt.debtKey, tt.subCancelled, tt.current)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, svahub.DesiredState(tt.status, tt.debtKey, tt.subCancelled, tt.current))
		})
	}
}

// TestLifecycleRowsCoverEveryStatus makes sure the table above names every
// accepted status in at least one non-generic row.
func TestLifecycleRowsCoverEveryStatus(t *testing.T) {
	t.Parallel()
	covered := map[svahub.ServiceStatus]bool{}
	for _, row := range lifecycleRows {
		if len(row.statuses) == len(svahub.ServiceStatuses) {
			continue
		}
		for _, s := range row.statuses {
			covered[s] = true
		}
	}
	for _, s := range svahub.ServiceStatuses {
		require.True(t, covered[s], "status %q has no lifecycle row", s)
	}
}

func TestServiceStatusValid(t *testing.T) {
	t.Parallel()
	require.Len(t, svahub.ServiceStatuses, 13)
	for _, s := range svahub.ServiceStatuses {
		t.Run("valid/"+string(s), func(t *testing.T) {
			t.Parallel()
			require.True(t, s.Valid())
		})
	}
	for _, s := range []svahub.ServiceStatus{"", "ativo", "suspenso", "habilitado", "Servico_Habilitado", " servico_habilitado", "servico_habilitado ", "aguardando"} {
		t.Run("invalid/"+string(s), func(t *testing.T) {
			t.Parallel()
			require.False(t, s.Valid())
		})
	}
}

func TestMorePermissive(t *testing.T) {
	t.Parallel()
	const (
		none = svahub.AccessNone
		act  = svahub.AccessActive
		sus  = svahub.AccessSuspended
		can  = svahub.AccessCancelled
	)
	tests := []struct {
		a, b, want svahub.AccessState
	}{
		{act, act, act},
		{act, sus, act},
		{act, can, act},
		{act, none, act},
		{sus, sus, sus},
		{sus, can, sus},
		{sus, none, sus},
		{can, can, can},
		{can, none, can},
		{none, none, none},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q_vs_%q", tt.a, tt.b), func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, svahub.MorePermissive(tt.a, tt.b))
			require.Equal(t, tt.want, svahub.MorePermissive(tt.b, tt.a), "must be commutative")
		})
	}

	t.Run("fold over a shared plan", func(t *testing.T) {
		t.Parallel()
		got := svahub.AccessNone
		for _, s := range []svahub.AccessState{can, sus, none, can} {
			got = svahub.MorePermissive(got, s)
		}
		require.Equal(t, sus, got)
	})
}

func TestTransitionOf(t *testing.T) {
	t.Parallel()
	live := []svahub.ServiceStatus{svahub.StatusEnabled, svahub.StatusDebtSuspended, svahub.StatusCustomerSuspended, svahub.StatusAwaitingInstallation}
	for _, old := range svahub.ServiceStatuses {
		for _, next := range svahub.ServiceStatuses {
			want := svahub.TransitionNone
			switch {
			case !old.Ended() && next.Ended():
				want = svahub.TransitionEnd
			case old.Ended() && !next.Ended():
				want = svahub.TransitionReturn
			}
			require.Equal(t, want, svahub.TransitionOf(old, next), "%s → %s", old, next)
		}
	}
	for _, s := range cancelStatuses {
		require.True(t, s.Ended())
		require.Equal(t, svahub.TransitionNone, svahub.TransitionOf("", s), "created ended: nothing to cancel")
	}
	for _, s := range live {
		require.False(t, s.Ended())
		require.Equal(t, svahub.TransitionNone, svahub.TransitionOf("", s))
	}
	require.Equal(t, svahub.TransitionEnd, svahub.TransitionOf(svahub.StatusEnabled, svahub.StatusInactive))
	require.Equal(t, svahub.TransitionReturn, svahub.TransitionOf(svahub.StatusInactive, svahub.StatusAwaitingInstallation))
	require.Equal(t, svahub.TransitionNone, svahub.TransitionOf(svahub.StatusCancelled, svahub.StatusInactive))
}

func TestComboChangeOf(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		origin    svahub.Origin
		inNewPlan bool
		want      svahub.ComboChange
	}{
		{svahub.OriginCombo, true, svahub.ComboChangeKeep},
		{svahub.OriginCombo, false, svahub.ComboChangeCancel},
		{svahub.OriginSingle, true, svahub.ComboChangeReplace},
		{svahub.OriginSingle, false, svahub.ComboChangeKeep},
	} {
		require.Equal(t, tc.want, svahub.ComboChangeOf(tc.origin, tc.inNewPlan), "%s in new plan %v", tc.origin, tc.inNewPlan)
	}
}

func TestErrorResolved(t *testing.T) {
	t.Parallel()
	for _, desired := range allStates {
		for _, reached := range allStates {
			want := desired != svahub.AccessNone && desired == reached
			require.Equal(t, want, svahub.ErrorResolved(desired, reached), "desired %q reached %q", desired, reached)
		}
	}
	require.False(t, svahub.ErrorResolved(svahub.AccessSuspended, svahub.AccessNone), "suspending what the platform never had resolves nothing")
}

func TestSubscriptionStatusOf(t *testing.T) {
	t.Parallel()
	on := func(d svahub.AccessState) svahub.AccessView { return svahub.AccessView{Desired: d, Synced: true} }
	bad := svahub.AccessView{Desired: svahub.AccessActive, Error: "produto 'xyz' não existe no catálogo"}
	tests := []struct {
		name               string
		cancelled, expired bool
		accesses           []svahub.AccessView
		want               svahub.SubscriptionStatus
		msg                string
	}{
		{"no access yet", false, false, nil, svahub.SubPending, ""},
		{"all active", false, false, []svahub.AccessView{on(svahub.AccessActive), on(svahub.AccessActive)}, svahub.SubActive, ""},
		{"one suspended", false, false, []svahub.AccessView{on(svahub.AccessActive), on(svahub.AccessSuspended)}, svahub.SubSuspended, ""},
		{"not synced", false, false, []svahub.AccessView{{Desired: svahub.AccessActive}}, svahub.SubPending, ""},
		{"no desired state", false, false, []svahub.AccessView{on(svahub.AccessNone)}, svahub.SubPending, ""},
		{"expired", false, true, []svahub.AccessView{on(svahub.AccessActive)}, svahub.SubExpired, ""},
		{"erro before expirado", false, true, []svahub.AccessView{bad}, svahub.SubError, bad.Error},
		{"erro", false, false, []svahub.AccessView{on(svahub.AccessActive), bad}, svahub.SubError, bad.Error},
		{"cancelled", true, false, []svahub.AccessView{on(svahub.AccessCancelled)}, svahub.SubCancelled, ""},
		{"cancelled keeps its error", true, false, []svahub.AccessView{bad}, svahub.SubCancelled, bad.Error},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st, msg := svahub.SubscriptionStatusOf(tt.cancelled, tt.expired, tt.accesses)
			require.Equal(t, tt.want, st)
			require.Equal(t, tt.msg, msg)
		})
	}
}
