package modeltest

import (
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
