package store_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/svahub"
)

// confComboEdges are edge cases of the single attach path of
// combos (attachComboPackages through attachOne/finishAttach).
func confComboEdges() []confCase {
	return []confCase{
		confComboRevive(),
		{"Combos/UpsertService/combo change with a status change: one job per plan", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			integ := e.integration()
			pro := e.product(integ.ID, "pro")
			a, b := e.pkg(integ.ID, "9.90", pro.ID), e.pkg(integ.ID, "19.90", pro.ID)
			_, _, err := e.db.UpsertCombo(e.ctx, 910, svahub.ComboUpdate{Description: ptr("Combo"), Packages: []int64{b.ID}})
			require.NoError(t, err)
			e.comboService(140, svahub.StatusEnabled, nil)
			_, err = e.db.AttachPackage(e.ctx, 140, svahub.AttachInput{PackageID: a.ID, ExpiresOn: "2027-03-01"})
			require.NoError(t, err)
			// One PUT moves the service to the combo (b shares pro with the
			// kept avulso a) and suspends it at the customer's request.
			e.comboService(140, svahub.StatusCustomerSuspended, ptr(int64(910)))
			got := e.attachOutcome(140)
			require.Equal(t, []string{"pro suspenso 2027-11-20 v2"}, got.plans, "one change: suspended, to the combo's expiry")
			require.Equal(t, []string{"v1", "v2"}, got.jobs, "one job per change of a plan, at its last version")
		}},
		{"Combos/UpsertService/combo on a customer without e-mail: erro without a plan", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			integ := e.integrationPolicy("email")
			other := e.integration()
			pro, ebook := e.product(integ.ID, "pro"), e.product(other.ID, "ebook")
			a, b := e.pkg(integ.ID, "9.90", pro.ID), e.pkg(other.ID, "5.00", ebook.ID)
			_, _, err := e.db.UpsertCombo(e.ctx, 911, svahub.ComboUpdate{Description: ptr("Combo"), Packages: []int64{a.ID, b.ID}})
			require.NoError(t, err)
			e.comboService(150, svahub.StatusEnabled, ptr(int64(911)))
			got := e.attachOutcome(150)
			require.Equal(t, []string{"ebook ativo 2027-11-20 v1"}, got.plans)
			require.Equal(t, []string{"v1"}, got.jobs)
			require.Len(t, got.subs, 2)
			require.Equal(t, "erro cliente sem e-mail cadastrado", got.subs[0].status)
			require.Equal(t, []string{"pro ativo  cliente sem e-mail cadastrado"}, got.subs[0].accesses)
			require.Equal(t, "pendente ", got.subs[1].status)
		}},
		{"Combos/UpsertService/combo sharing another service's avulso plan (same document)", func(t *testing.T, d string) {
			e := newConfEnv(t, d)
			integ := e.integrationPolicy("cpf_cnpj")
			pro := e.product(integ.ID, "pro")
			a, b := e.pkg(integ.ID, "9.90", pro.ID), e.pkg(integ.ID, "19.90", pro.ID)
			_, _, err := e.db.UpsertCombo(e.ctx, 912, svahub.ComboUpdate{Description: ptr("Combo"), Packages: []int64{b.ID}})
			require.NoError(t, err)
			e.docService(160, svahub.StatusEnabled, nil)
			_, err = e.db.AttachPackage(e.ctx, 160, svahub.AttachInput{PackageID: a.ID, ExpiresOn: "2027-03-01"})
			require.NoError(t, err)
			e.docService(161, svahub.StatusCustomerSuspended, ptr(int64(912)))
			got, other := e.attachOutcome(161), e.attachOutcome(160)
			require.Equal(t, []string{"pro ativo 2027-11-20 v2"}, got.plans, "ativo (the other service), latest expiry")
			require.Equal(t, got.plans, other.plans, "one account, one plan")
			require.Equal(t, []string{"v1", "v2"}, got.jobs)
			require.Equal(t, "pendente ", other.subs[0].status)
			require.Equal(t, "pendente ", got.subs[0].status)
			require.Equal(t, []string{"pro suspenso  "}, got.subs[0].accesses)
		}},
	}
}

// integrationPolicy creates an integration with username policy usuario.
func (e *confEnv) integrationPolicy(usuario string) *svahub.Integration {
	e.t.Helper()
	integ, err := e.db.CreateIntegration(e.ctx, svahub.IntegrationInput{
		Description: fmt.Sprint("Qualifica ", confSeq.Add(1)), Platform: "qualifica",
		Params: svahub.IntegrationParamInput{Values: map[string]string{"client_id": "cid", "client_secret": "s3cr3t"}, Username: usuario},
	})
	require.NoError(e.t, err)
	return integ
}

// docService creates or updates service id of customer 1 (CPF
// 52998224725, login "doc<id>") in status with combo.
func (e *confEnv) docService(id int64, status svahub.ServiceStatus, combo *int64) {
	e.t.Helper()
	_, _, err := e.db.UpsertService(e.ctx, id, svahub.ServiceInput{Login: fmt.Sprint("doc", id), Password: ptr("senha"), Status: string(status),
		ComboID: combo, Customer: svahub.CustomerInput{ID: 1, Name: "Cliente", Document: "52998224725"}})
	require.NoError(e.t, err)
}

// confComboRevive: a combo on a new service revives the plan a
// cancelled service of the same document left cancelado.
func confComboRevive() confCase {
	return confCase{"Combos/UpsertService/combo revives a cancelled shared plan", func(t *testing.T, d string) {
		e := newConfEnv(t, d)
		integ := e.integrationPolicy("cpf_cnpj")
		curso := e.product(integ.ID, "curso")
		c := e.pkg(integ.ID, "5.00", curso.ID)
		_, _, err := e.db.UpsertCombo(e.ctx, 913, svahub.ComboUpdate{Description: ptr("Combo"), Packages: []int64{c.ID}})
		require.NoError(t, err)
		e.docService(170, svahub.StatusEnabled, ptr(int64(913)))
		e.docService(170, svahub.StatusCancelled, ptr(int64(913)))
		require.Equal(t, []string{"curso cancelado 2027-11-20 v2"}, e.attachOutcome(170).plans)
		e.docService(171, svahub.StatusEnabled, ptr(int64(913)))
		got := e.attachOutcome(171)
		require.Equal(t, []string{"curso ativo 2027-11-20 v3"}, got.plans)
		require.Equal(t, []string{"v1", "v2", "v3"}, got.jobs)
		require.Equal(t, "pendente ", got.subs[0].status)
		e.docService(170, svahub.StatusEnabled, ptr(int64(913))) // returns: nothing to change on the plan
		got = e.attachOutcome(170)
		require.Equal(t, []string{"curso ativo 2027-11-20 v3"}, got.plans)
		require.Equal(t, []string{"v1", "v2", "v3"}, got.jobs)
		require.Len(t, got.subs, 2)
		require.Equal(t, "pendente ", got.subs[1].status, "v3 not applied yet")
	}}
}
