package svahub_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/svahub"
)

const (
	dWant = svahub.Date("2027-01-31")
	dOld  = svahub.Date("2026-12-31")
)

var (
	query     = svahub.ConvergeStep{Op: svahub.OpQuery}
	create    = svahub.ConvergeStep{Op: svahub.OpCreateUser}
	activate  = svahub.ConvergeStep{Op: svahub.OpActivatePlan, Expiry: dWant}
	update    = svahub.ConvergeStep{Op: svahub.OpUpdateExpiry, Expiry: dWant}
	reactIf   = svahub.ConvergeStep{Op: svahub.OpReactivate, If: svahub.AccessSuspended}
	suspendIf = svahub.ConvergeStep{Op: svahub.OpSuspend, If: svahub.AccessActive}
	cancel    = svahub.ConvergeStep{Op: svahub.OpCancel}
	// resent without ReadBack: unconditional.
	react   = svahub.ConvergeStep{Op: svahub.OpReactivate}
	suspend = svahub.ConvergeStep{Op: svahub.OpSuspend}
)

type convergeRow struct {
	name string
	c    svahub.Convergence
	want []svahub.ConvergeStep
}

// conv is a convergence with certain knowledge and a sendable desired expiry.
func conv(desired, state svahub.AccessState, expiry svahub.Date, user bool) svahub.Convergence {
	return svahub.Convergence{Desired: desired, DesiredExpiry: dWant, Sendable: true, State: state, Expiry: expiry, Certain: true, HasUser: user}
}

func unsendable(c svahub.Convergence) svahub.Convergence { c.Sendable = false; return c }
func uncertain(c svahub.Convergence) svahub.Convergence  { c.Certain = false; return c }

// readBackRows are the decisions of the engine for a platform with
// ReadBack (Qualifica), one row per branch.
var readBackRows = []convergeRow{
	{"uncertain with a user reads back first", uncertain(conv(svahub.AccessActive, svahub.AccessActive, dWant, true)), []svahub.ConvergeStep{query}},
	{"uncertain with a user reads back even with no desired state", uncertain(conv(svahub.AccessNone, svahub.AccessNone, "", true)), []svahub.ConvergeStep{query}},
	{"uncertain cancel reads back first", uncertain(conv(svahub.AccessCancelled, svahub.AccessActive, dWant, true)), []svahub.ConvergeStep{query}},
	{"uncertain without a user is certain: create and activate", uncertain(conv(svahub.AccessActive, svahub.AccessNone, "", false)), []svahub.ConvergeStep{create, activate, reactIf}},
	{"no desired state: nothing", conv(svahub.AccessNone, svahub.AccessActive, dOld, true), nil},
	{"ativo, no user: create, activate", conv(svahub.AccessActive, svahub.AccessNone, "", false), []svahub.ConvergeStep{create, activate, reactIf}},
	{"ativo, no user, expiry past: nothing", unsendable(conv(svahub.AccessActive, svahub.AccessNone, "", false)), nil},
	{"ativo, user without plan: activate", conv(svahub.AccessActive, svahub.AccessNone, "", true), []svahub.ConvergeStep{activate, reactIf}},
	{"ativo, cancelled plan: activate again", conv(svahub.AccessActive, svahub.AccessCancelled, dOld, true), []svahub.ConvergeStep{activate, reactIf}},
	{"ativo, cancelled plan, expiry past: nothing", unsendable(conv(svahub.AccessActive, svahub.AccessCancelled, dOld, true)), nil},
	{"ativo, active with the same expiry: nothing", conv(svahub.AccessActive, svahub.AccessActive, dWant, true), nil},
	{"ativo, active with another expiry: update it", conv(svahub.AccessActive, svahub.AccessActive, dOld, true), []svahub.ConvergeStep{update, reactIf}},
	{"ativo, active with another expiry not sendable: nothing", unsendable(conv(svahub.AccessActive, svahub.AccessActive, dOld, true)), nil},
	{"ativo, suspended: reactivate", conv(svahub.AccessActive, svahub.AccessSuspended, dWant, true), []svahub.ConvergeStep{reactIf}},
	{"ativo, suspended, expiry past: reactivate only", unsendable(conv(svahub.AccessActive, svahub.AccessSuspended, dOld, true)), []svahub.ConvergeStep{reactIf}},
	{"ativo, suspended with another expiry: update, reactivate", conv(svahub.AccessActive, svahub.AccessSuspended, dOld, true), []svahub.ConvergeStep{update, reactIf}},
	{"suspenso, no user: nothing", conv(svahub.AccessSuspended, svahub.AccessNone, "", false), nil},
	{"suspenso, user without plan: nothing", conv(svahub.AccessSuspended, svahub.AccessNone, "", true), nil},
	{"suspenso, cancelled plan: nothing", conv(svahub.AccessSuspended, svahub.AccessCancelled, dOld, true), nil},
	{"suspenso, active: suspend", conv(svahub.AccessSuspended, svahub.AccessActive, dWant, true), []svahub.ConvergeStep{suspendIf}},
	{"suspenso, active with another expiry: update, suspend", conv(svahub.AccessSuspended, svahub.AccessActive, dOld, true), []svahub.ConvergeStep{update, suspendIf}},
	{"suspenso, active, expiry past: suspend only", unsendable(conv(svahub.AccessSuspended, svahub.AccessActive, dOld, true)), []svahub.ConvergeStep{suspendIf}},
	{"suspenso, suspended: nothing", conv(svahub.AccessSuspended, svahub.AccessSuspended, dWant, true), nil},
	{"suspenso, suspended with another expiry: update, suspend if active", conv(svahub.AccessSuspended, svahub.AccessSuspended, dOld, true), []svahub.ConvergeStep{update, suspendIf}},
	{"cancelado, no user: nothing", conv(svahub.AccessCancelled, svahub.AccessNone, "", false), nil},
	{"cancelado, user without plan: nothing", conv(svahub.AccessCancelled, svahub.AccessNone, "", true), nil},
	{"cancelado, cancelled: nothing", conv(svahub.AccessCancelled, svahub.AccessCancelled, dOld, true), nil},
	{"cancelado, active: cancel", conv(svahub.AccessCancelled, svahub.AccessActive, dOld, true), []svahub.ConvergeStep{cancel}},
	{"cancelado, suspended: cancel", unsendable(conv(svahub.AccessCancelled, svahub.AccessSuspended, dOld, true)), []svahub.ConvergeStep{cancel}},
}

// noReadBackRows: uncertain plans are settled by resending the commands.
var noReadBackRows = []convergeRow{
	{"ativo, uncertain: activate, reactivate", uncertain(conv(svahub.AccessActive, svahub.AccessActive, dWant, true)), []svahub.ConvergeStep{activate, react}},
	{"ativo, uncertain, no user: create, activate, reactivate", uncertain(conv(svahub.AccessActive, svahub.AccessNone, "", false)), []svahub.ConvergeStep{create, activate, react}},
	{"ativo, uncertain, expiry not sendable: activate without a date", unsendable(uncertain(conv(svahub.AccessActive, svahub.AccessSuspended, dOld, true))),
		[]svahub.ConvergeStep{{Op: svahub.OpActivatePlan}, react}},
	{"suspenso, uncertain: suspend", uncertain(conv(svahub.AccessSuspended, svahub.AccessSuspended, dWant, true)), []svahub.ConvergeStep{suspend}},
	{"suspenso, uncertain, no user: nothing", uncertain(conv(svahub.AccessSuspended, svahub.AccessNone, "", false)), nil},
	{"cancelado, uncertain: cancel", uncertain(conv(svahub.AccessCancelled, svahub.AccessCancelled, dOld, true)), []svahub.ConvergeStep{cancel}},
	{"cancelado, uncertain, no user: nothing", uncertain(conv(svahub.AccessCancelled, svahub.AccessNone, "", false)), nil},
	{"no desired state, uncertain: nothing", uncertain(conv(svahub.AccessNone, svahub.AccessActive, dOld, true)), nil},
	{"certain: the same steps as with ReadBack", conv(svahub.AccessActive, svahub.AccessSuspended, dOld, true), []svahub.ConvergeStep{update, reactIf}},
}

func TestConvergeSteps(t *testing.T) {
	noReadBack := svahub.FullCapabilities
	noReadBack.ReadBack, noReadBack.Reconcile = false, false
	for _, tc := range []struct {
		caps svahub.Capabilities
		rows []convergeRow
	}{{svahub.FullCapabilities, readBackRows}, {noReadBack, noReadBackRows}} {
		for _, r := range tc.rows {
			t.Run(r.name, func(t *testing.T) {
				require.Equal(t, r.want, svahub.ConvergeSteps(r.c, tc.caps))
			})
		}
	}
	// Certain knowledge does not depend on ReadBack.
	for _, r := range readBackRows {
		if r.c.Certain {
			require.Equal(t, r.want, svahub.ConvergeSteps(r.c, noReadBack), r.name)
		}
	}
}
