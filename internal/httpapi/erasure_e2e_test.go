package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/internal/svahub"
)

// erasurePerson is the personal data of one test customer.
type erasurePerson struct {
	customer              int64
	name, cpf, email, tel string
	logins, passwords     []string
	services              []int64
	subscriptions         []int64
}

// values lists every personal value to look for in the database: the
// CPF both as digits (stored) and punctuated (sent).
func (p erasurePerson) values() []string {
	d, _ := svahub.NormalizeDocument(p.cpf)
	v := []string{p.name, p.cpf, d, p.email, p.tel}
	v = append(v, p.logins...)
	return append(v, p.passwords...)
}

// validCPF completes nine digits with the CPF check digits, punctuated.
func validCPF(base string) string {
	d := base
	for _, n := range []int{9, 10} {
		sum := 0
		for i := 0; i < n; i++ {
			sum += int(d[i]-'0') * (n + 1 - i)
		}
		d += fmt.Sprint(sum * 10 % 11 % 10)
	}
	return svahub.FormatDocument(d)
}

// putPerson upserts service id of p (login and password i).
func (e *harness) putPerson(p erasurePerson, i int, status string) {
	e.t.Helper()
	r := e.do("PUT", path("/api/v1/servicos/%d", p.services[i]), map[string]any{
		"login": p.logins[i], "senha": p.passwords[i], "status_prefixo": status,
		"cliente": map[string]any{"id_cliente": p.customer, "codigo_cliente": path("C%d", p.customer), "nome_razaosocial": p.name,
			"cpf_cnpj": p.cpf, "email_principal": p.email, "telefone_primario": p.tel},
	})
	require.Contains(e.t, []int{200, 201}, r.Status, "%s", r.Body)
}

// searchDatabase returns, for each value found anywhere in the database,
// where: on SQLite the bytes of the database file and of its WAL (after a
// checkpoint), on PostgreSQL every column of every row of every table of
// the schema (each row cast to text).
func searchDatabase(t *testing.T, e *harness, dialect string, values []string) map[string]string {
	t.Helper()
	ctx := context.Background()
	found := map[string]string{}
	if dialect == store.DialectSQLite {
		var seq int
		var name, file string
		require.NoError(t, e.db.SQL().QueryRowContext(ctx, "PRAGMA database_list").Scan(&seq, &name, &file))
		_, err := e.db.SQL().ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
		require.NoError(t, err)
		for _, f := range []string{file, file + "-wal", file + "-journal"} {
			raw, err := os.ReadFile(f)
			if os.IsNotExist(err) {
				continue
			}
			require.NoError(t, err)
			for _, v := range values {
				if bytes.Contains(raw, []byte(v)) {
					found[v] = f
				}
			}
		}
		return found
	}
	rows, err := e.db.SQL().QueryContext(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`)
	require.NoError(t, err)
	var tables []string
	for rows.Next() {
		var tn string
		require.NoError(t, rows.Scan(&tn))
		tables = append(tables, tn)
	}
	require.NoError(t, rows.Err())
	require.Contains(t, tables, "river_job")
	for _, tn := range tables {
		for _, v := range values {
			var n int
			q := fmt.Sprintf(`SELECT count(*) FROM %q x WHERE strpos(x::text, $1) > 0`, tn)
			require.NoError(t, e.db.SQL().QueryRowContext(ctx, q, v).Scan(&n))
			if n > 0 {
				found[v] = fmt.Sprintf("%s (%d rows)", tn, n)
			}
		}
	}
	// The planner's statistics keep sample values of each column
	// (most_common_vals, histogram_bounds) until the next ANALYZE.
	for _, v := range values {
		var n int
		require.NoError(t, e.db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM pg_stats s
			WHERE s.schemaname = current_schema() AND strpos(s::text, $1) > 0`, v).Scan(&n))
		if n > 0 {
			found[v] = fmt.Sprintf("pg_stats (%d columns)", n)
		}
	}
	return found
}

// TestCustomerErasure erases a former customer through the HTTP API and
// searches the whole database afterwards: none of their personal values is
// left (another customer's still are), while billing of past months and
// the transmissions' ids, dates and outcomes are unchanged.
func TestCustomerErasure(t *testing.T) {
	t.Parallel()
	eachPlatform(t, func(t *testing.T, dialect string, pc platformCase) {
		sp, err := time.LoadLocation("America/Sao_Paulo")
		require.NoError(t, err)
		clk := &clock{}
		clk.Set(time.Date(2026, 9, 10, 12, 0, 0, 0, sp))
		e := newHarness(t, dialect, withPlatform(pc, simOptions{}), withClock(clk))
		x, y := erasureSetup(t, e)
		clk.Set(time.Date(2026, 10, 20, 12, 0, 0, 0, sp))
		erasureRefused(t, e, x)

		// Before: what billing and audits rely on, and the data is there.
		clk.Set(time.Date(2026, 11, 30, 12, 0, 0, 0, sp))
		bills := map[string]string{}
		for _, m := range []string{"2026-09", "2026-10"} {
			r := e.do("GET", "/api/v1/cobrancas?competencia="+m+"&itens_por_pagina=500", nil)
			require.Equal(t, 200, r.Status, "%s", r.Body)
			require.Contains(t, string(r.Body), `"id_cliente":7001`)
			bills[m] = string(r.Body)
		}
		trBefore := transmissionSkeletons(t, e, x.subscriptions)
		// Planner statistics, as autovacuum (or an operator) gathers them:
		// both databases keep sample column values in them.
		require.NoError(t, e.db.Gorm().Exec("ANALYZE").Error)
		require.NotEmpty(t, searchDatabase(t, e, dialect, x.values()), "the search finds the data before the erasure")

		rec := erasureRecord(t, e)

		// Nothing of the customer is left anywhere; the other customer's is.
		require.Empty(t, searchDatabase(t, e, dialect, x.values()), "personal data left after the erasure")
		d, _ := svahub.NormalizeDocument(y.cpf)
		stored := []string{y.name, d, y.email, y.tel, y.logins[0]} // the CPF as digits, the password sealed
		require.Len(t, searchDatabase(t, e, dialect, stored), len(stored), "the other customer's data must stay")

		// The services hold placeholders; billing and the transmissions'
		// skeletons are unchanged.
		for _, id := range x.services {
			s := e.do("GET", path("/api/v1/servicos/%d", id), nil).JSON(t)
			require.Equal(t, "", s["login"])
			require.Equal(t, false, s["senha_definida"])
			require.Equal(t, "cancelado", s["pacotes"].([]any)[0].(map[string]any)["status"])
			c := s["cliente"].(map[string]any)
			require.Equal(t, map[string]any{"id_cliente": 7001.0, "codigo_cliente": "C7001", "nome_razaosocial": svahub.ErasedName,
				"cpf_cnpj": "", "email_principal": "", "telefone_primario": ""}, c)
		}
		for m, want := range bills {
			r := e.do("GET", "/api/v1/cobrancas?competencia="+m+"&itens_por_pagina=500", nil)
			require.Equal(t, want, string(r.Body), "billing of %s changed", m)
		}
		require.Equal(t, trBefore, transmissionSkeletons(t, e, x.subscriptions))

		// Idempotent: the same record again.
		r := e.do("POST", "/api/v1/clientes/7001/anonimizar", nil)
		require.Equal(t, 200, r.Status, "%s", r.Body)
		again := r.JSON(t)
		require.Equal(t, true, again["ja_anonimizado"])
		for _, k := range []string{"id_anonimizacao", "data_anonimizacao", "chave_api", "servicos", "transmissoes_anonimizadas", "usuarios_plataforma"} {
			require.Equal(t, rec[k], again[k], k)
		}
		s := e.do("GET", "/api/v1/servicos/8003", nil).JSON(t)
		require.Equal(t, y.name, s["cliente"].(map[string]any)["nome_razaosocial"])
	})
}

// erasureRefused: 409 while x is a customer (naming the live services),
// then x leaves with the first integration paused, so its cancellation
// waits: 409 names the pending work; the integration resumes and every
// plan settles.
func erasureRefused(t *testing.T, e *harness, x erasurePerson) {
	p := requireProblem(t, e.do("POST", "/api/v1/clientes/7001/anonimizar", nil), 409,
		"servicos/8001/status_prefixo", "servicos/8002/status_prefixo")
	require.Contains(t, p["detail"], "7001")

	integA := erasureIntegration(t, e, "login_autenticacao")
	pause := func(active bool) {
		body := e.plat.Integration(map[string]any{"usuario": "login_autenticacao"})
		body["ativo"] = active
		r := e.do("PUT", path("/api/v1/integracoes/%d", integA), body)
		require.Equal(t, 200, r.Status, "%s", r.Body)
	}
	pause(false)
	require.Equal(t, 200, e.do("PUT", "/api/v1/servicos/8001/status", map[string]any{"status_prefixo": "cancelado"}).Status)
	require.Equal(t, 200, e.do("PUT", "/api/v1/servicos/8002/status", map[string]any{"status_prefixo": "inativo"}).Status)
	e.eventually("the other integrations' plans settled", func() bool { return pendingPlans(t, e) == 1 })
	p = requireProblem(t, e.do("POST", "/api/v1/clientes/7001/anonimizar", nil), 409, path("servicos/8001/pacotes/%d", x.subscriptions[0]))
	require.Contains(t, fmt.Sprint(p["erros"]), "ainda não foi aplicado na plataforma")
	pause(true)
	e.waitSimPlan(x.logins[0], "pro", "cancelado")
	e.eventually("every plan settled", func() bool { return pendingPlans(t, e) == 0 })
}

// erasureRecord checks who may ask (an escrita key), erases customer 7001
// with an Idempotency-Key (replayed once) and checks the record.
func erasureRecord(t *testing.T, e *harness) map[string]any {
	requireProblem(t, e.doWith("", "", "POST", "/api/v1/clientes/7001/anonimizar", nil), 401)
	requireProblem(t, e.doWith(e.roKey, "", "POST", "/api/v1/clientes/7001/anonimizar", nil), 403)
	requireProblem(t, e.do("POST", "/api/v1/clientes/999999/anonimizar", nil), 404)
	requireProblem(t, e.do("POST", "/api/v1/clientes/abc/anonimizar", nil), 400)

	r := e.doKey("POST", "/api/v1/clientes/7001/anonimizar", "", "apagar-7001")
	require.Equal(t, 200, r.Status, "%s", r.Body)
	rec := r.JSON(t)
	replay := e.doKey("POST", "/api/v1/clientes/7001/anonimizar", "", "apagar-7001")
	require.Equal(t, "true", replay.Header.Get("Idempotent-Replayed"))
	require.Equal(t, string(r.Body), string(replay.Body))
	require.EqualValues(t, 7001, rec["id_cliente"])
	require.Equal(t, "api", rec["origem"])
	require.Equal(t, "tests", rec["chave_api"])
	require.NotNil(t, rec["id_chave_api"])
	require.Equal(t, false, rec["ja_anonimizado"])
	require.ElementsMatch(t, []any{8001.0, 8002.0}, rec["servicos"])
	require.Positive(t, rec["transmissoes_anonimizadas"])
	users := rec["usuarios_plataforma"].([]any)
	require.Len(t, users, 2, "the login and the CPF users (the e-mail one was never created): %s", r.Body)
	for _, u := range users {
		require.Regexp(t, `^u_\d+$`, u.(map[string]any)["id_usuario_plataforma"])
		require.Equal(t, false, u.(map[string]any)["compartilhado"])
	}
	require.Regexp(t, `^2026-11-30T12:00:00(\.\d+)?-03:00$`, rec["data_anonimizacao"])
	return rec
}

// pendingPlans counts platform plans whose desired state is not applied,
// or 100 while converge jobs still wait or run (snoozed or retried ones).
func pendingPlans(t *testing.T, e *harness) (n int64) {
	t.Helper()
	var jobs int64
	require.NoError(t, e.db.Gorm().Raw("SELECT count(*) FROM river_job WHERE kind = 'converge_plan' AND state NOT IN ('completed', 'cancelled', 'discarded')").Scan(&jobs).Error)
	require.NoError(t, e.db.Gorm().Raw("SELECT count(*) FROM platform_plans WHERE version <> applied_version").Scan(&n).Error)
	if jobs > 0 && n == 0 {
		return 100
	}
	return n
}

// erasureIntegration finds the integration with usuario policy.
func erasureIntegration(t *testing.T, e *harness, policy string) int64 {
	t.Helper()
	for _, it := range e.do("GET", "/api/v1/integracoes", nil).JSON(t)["itens"].([]any) {
		m := it.(map[string]any)
		if m["parametros"].(map[string]any)["usuario"] == policy {
			return idOf(m, "id_integracao")
		}
	}
	t.Fatalf("no integration with usuario %s", policy)
	return 0
}

// transmissionSkeletons lists what an erasure must keep of the
// transmissions of subs: id, date, operation, outcome, HTTP status,
// duration, attempt.
func transmissionSkeletons(t *testing.T, e *harness, subs []int64) []string {
	t.Helper()
	var out []string
	for _, sub := range subs {
		r := e.do("GET", path("/api/v1/transmissoes?id_assinatura=%d&itens_por_pagina=500", sub), nil)
		require.Equal(t, 200, r.Status, "%s", r.Body)
		for _, it := range r.JSON(t)["itens"].([]any) {
			m := it.(map[string]any)
			out = append(out, fmt.Sprint(m["id_transmissao"], m["data"], m["operacao"], m["resultado"], m["status_http"], m["duracao_ms"], m["tentativa"]))
		}
	}
	require.NotEmpty(t, out)
	return out
}

// erasureSetup creates three integrations (usernames from the login, the
// e-mail and the CPF), customer x with two services and three paid
// packages and customer y with one, all active on the platform in
// September, except x's e-mail user: the platform already has that
// username, so it refuses, quoting the e-mail in its message. It also
// stores an answer for an Idempotency-Key and a platform message about x
// outside x's subscriptions.
func erasureSetup(t *testing.T, e *harness) (x, y erasurePerson) {
	x = erasurePerson{customer: 7001, name: "Anastácia Apagável de Souza", cpf: validCPF("390533447"),
		email: "anastacia.apagavel@example.net", tel: "+55 21 98765-4321",
		logins: []string{"anastacia.login.um", "anastacia.login.dois"}, passwords: []string{"Senha-Secreta-8001", "Senha-Secreta-8002"},
		services: []int64{8001, 8002}}
	y = erasurePerson{customer: 7002, name: "Bartolomeu Permanente Lima", cpf: validCPF("714602589"),
		email: "bartolomeu.fica@example.org", tel: "+55 31 91234-5678",
		logins: []string{"bartolomeu.login"}, passwords: []string{"Senha-Que-Fica-8003"}, services: []int64{8003}}
	_, pkgA := e.catalogue(nil, map[string]any{"usuario": "login_autenticacao"}, "29.90", "pro")
	integB, pkgB := e.catalogue(nil, map[string]any{"usuario": "email"}, "9.90", "premium")
	_, pkgC := e.catalogue(nil, map[string]any{"usuario": "cpf_cnpj"}, "14.90", "1001")
	_ = integB

	// The platform already has a user named like x's e-mail (someone else's).
	e.plat.AddForeignUser(t, x.email)

	e.putPerson(x, 0, "servico_habilitado")
	e.putPerson(x, 1, "servico_habilitado")
	e.putPerson(y, 0, "servico_habilitado")
	attach := func(svc, pkg int64, idem string) int64 {
		var r response
		if idem != "" {
			r = e.doKey("POST", path("/api/v1/servicos/%d/pacotes", svc), fmt.Sprintf(`{"id_pacote":%d}`, pkg), idem)
		} else {
			r = e.do("POST", path("/api/v1/servicos/%d/pacotes", svc), map[string]any{"id_pacote": pkg})
		}
		require.Equal(t, 201, r.Status, "%s", r.Body)
		return idOf(r.JSON(t), "id_assinatura")
	}
	x.subscriptions = []int64{attach(8001, pkgA, ""), attach(8002, pkgB, "idem-8002-b"), attach(8002, pkgC, "")}
	y.subscriptions = []int64{attach(8003, pkgA, "")}
	e.waitStatus(x.subscriptions[0], "ativo")
	e.waitStatus(x.subscriptions[1], "erro")
	e.waitStatus(x.subscriptions[2], "ativo")
	e.waitStatus(y.subscriptions[0], "ativo")
	d, _ := svahub.NormalizeDocument(x.cpf)
	e.waitSimPlan(d, "1001", "ativo")

	// Platform messages quoting x's data (svahub stores what a platform
	// says): one of x's calls, and one outside x's subscriptions (as a
	// reconciliation read logs it).
	ins := `INSERT INTO transmissions (integration_id, subscription_id, operation, outcome, http_status, message, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`
	require.NoError(t, e.db.Gorm().Exec(ins, 1, x.subscriptions[0], "ativar_plano", "erro_temporario", 503,
		"falha ao ativar "+x.email+" ("+x.name+")", time.Now().UTC()).Error)
	require.NoError(t, e.db.Gorm().Exec(ins, 1, nil, "consultar", "erro", 423, "usuário '"+x.logins[0]+"' bloqueado", time.Now().UTC()).Error)
	require.True(t, strings.HasPrefix(x.cpf, "390."))
	return x, y
}

// TestCustomerErasureSharedAccount: two customers share a platform account
// (the same e-mail under the e-mail policy). Erasing one keeps the username
// the other still needs (and says so), removes the rest, and the platform
// user can still be created again from the remaining customer's data.
// Qualifica only: it resets the simulator (qualificasim.Reset) to see what
// a re-created user carries.
func TestCustomerErasureSharedAccount(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		e := newHarness(t, dialect)
		_, pkg := e.catalogue(nil, map[string]any{"usuario": "email"}, "19.90", "pro")
		email := "familia.compartilhada@example.com"
		x := erasurePerson{customer: 7101, name: "Xavier Que Sai Rocha", cpf: validCPF("250311718"), email: email, tel: "+55 41 99876-5432",
			logins: []string{"xavier.sai"}, passwords: []string{"Senha-Xavier-9101"}, services: []int64{9101}}
		w := erasurePerson{customer: 7102, name: "Wanda Que Fica Rocha", cpf: validCPF("861204937"), email: email, tel: "+55 41 99111-2222",
			logins: []string{"wanda.fica"}, passwords: []string{"Senha-Wanda-9102"}, services: []int64{9102}}
		e.putPerson(x, 0, "servico_habilitado")
		e.putPerson(w, 0, "servico_habilitado")
		var subs []int64
		for _, svc := range []int64{9101, 9102} {
			r := e.do("POST", path("/api/v1/servicos/%d/pacotes", svc), map[string]any{"id_pacote": pkg})
			require.Equal(t, 201, r.Status, "%s", r.Body)
			subs = append(subs, idOf(r.JSON(t), "id_assinatura"))
		}
		e.waitStatus(subs[0], "ativo")
		e.waitStatus(subs[1], "ativo")
		require.Equal(t, 200, e.do("PUT", "/api/v1/servicos/9101/status", map[string]any{"status_prefixo": "cancelado"}).Status)
		e.eventually("every plan settled", func() bool { return pendingPlans(t, e) == 0 })

		r := e.do("POST", "/api/v1/clientes/7101/anonimizar", nil)
		require.Equal(t, 200, r.Status, "%s", r.Body)
		users := r.JSON(t)["usuarios_plataforma"].([]any)
		require.Len(t, users, 1)
		require.Equal(t, true, users[0].(map[string]any)["compartilhado"], "the account is the other customer's too")

		var others []string // x's values other than the shared e-mail
		for _, v := range x.values() {
			if v != email {
				others = append(others, v)
			}
		}
		require.Empty(t, searchDatabase(t, e, dialect, others))
		var username string
		require.NoError(t, e.db.Gorm().Raw("SELECT username FROM platform_accounts").Scan(&username).Error)
		require.Equal(t, email, username, "kept for the customer who still uses it")
		e.waitStatus(subs[1], "ativo")

		// The platform loses its users: the account's user is created again
		// from the customer who still has data.
		e.sim.Reset()
		_, _, err := e.app.Engine.Reconcile(context.Background(), 100)
		require.NoError(t, err)
		e.waitSimPlan(email, "pro", "ativo")
		u, ok := e.sim.UserByUsername(email)
		require.True(t, ok)
		require.Equal(t, w.name, u.Name)
		e.waitStatus(subs[1], "ativo")
	})
}
