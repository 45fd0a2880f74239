package modeltest

import (
	"sync"
	"testing"

	"github.com/svahub/svahub/internal/store/storetest"
)

// script runs fixed steps through the machine, checking the model after
// each (the shrunk sequences of defects the model found).
func script(t *testing.T, su setup, steps ...func(t tb, mc *machine)) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		mc := newMachine(t, t, dialect, su)
		mc.check(t)
		for _, step := range steps {
			step(t, mc)
			mc.check(t)
		}
		mc.final(t)
	})
}

func plan(id int64) *int64 { return &id }

// Found by TestModel: a subscription that expired before the platform
// plan was ever created (here while the service awaited installation) went
// to erro once the service was enabled: svahub sent its past date and the
// platform refused it. It must stay expirado, with nothing sent.
func TestModelRegressionExpiredBeforeActivation(t *testing.T) {
	t.Parallel()
	su := setup{policy: "login_autenticacao", logins: [3]string{"ana", "bia", "caio"}}
	script(t, su,
		func(t tb, mc *machine) { mc.doPutService(t, 3, nil, "aguardando_instalacao") },
		func(t tb, mc *machine) { mc.doAttach(t, 3, 0, 0, "") },
		func(t tb, mc *machine) { mc.doPassTime(t, 1) },
		func(t tb, mc *machine) { mc.doSetStatus(t, 3, "servico_habilitado") },
	)
}

// Found by TestModel (and by an earlier review): cancelling a subscription
// in erro wiped its ultimo_erro, though cancelling resolves nothing — the
// operator lost why the package never reached the customer.
func TestModelRegressionCancelKeepsError(t *testing.T) {
	t.Parallel()
	su := setup{policy: "login_autenticacao", logins: [3]string{"ana", "bia", "caio"}}
	// One subscription per machine: script runs each dialect's machine in
	// parallel, so a variable shared by the steps would hand one machine
	// the other's subscription (it did, under CI's load).
	var subs sync.Map // *machine → *mSub
	script(t, su,
		func(t tb, mc *machine) { mc.doPutService(t, 1, nil, "servico_habilitado") },
		func(t tb, mc *machine) { subs.Store(mc, mc.doAttach(t, 1, 3, -2, "")) }, // the package with the unknown code
		func(t tb, mc *machine) { sub, _ := subs.Load(mc); mc.doDetach(t, sub.(*mSub)) },
	)
}

// Found by TestModel: two services with the same login share one platform
// account; the user was created, when the enabled one needed it, with the
// password of the other one, which only awaited installation (the first
// service attached to the account). The credentials must be those of a
// service that wants the plan active.
func TestModelRegressionSharedLoginCredentials(t *testing.T) {
	t.Parallel()
	su := setup{policy: "login_autenticacao", logins: [3]string{"caio", "ana", "ana"}}
	script(t, su,
		func(t tb, mc *machine) { mc.doPutService(t, 2, nil, "aguardando_instalacao") },
		func(t tb, mc *machine) { mc.doAttach(t, 2, 0, -2, "") },
		func(t tb, mc *machine) { mc.doPutService(t, 3, nil, "servico_habilitado") },
		func(t tb, mc *machine) { mc.doAttach(t, 3, 1, -2, "") },
	)
}
