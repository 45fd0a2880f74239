package modeltest

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/pkg/qualifica/qualificasim"
)

// machine is one rapid check: the real svahub (w) and the model (m).
type machine struct {
	w        *world
	m        *model
	integ    int64
	badProd  int // index of the product with the unknown code
	custs    []*customer
	svcCust  map[int64]*customer
	logins   map[int64]string
	paused   bool
	faults   string
	timeouts bool // a create's answer may have been lost
	idem     int
	months   map[string]bool
	steps    int
	maxSteps int
}

var policies = []string{"login_autenticacao", "cpf_cnpj", "email", "codigo_cliente"}

// serviceIDs are the customer services a sequence uses: 1 and 2 belong to
// one customer (shared platform account under cpf/e-mail/código), 3 to
// another; logins are drawn from a small set so they may collide too.
var serviceIDs = []int64{1, 2, 3}

// setup is what a sequence starts from.
type setup struct {
	policy         string
	debtKey        bool
	combos         [2][]int // packages of plans 10 and 11
	noEmail, noDoc [2]bool  // per customer
	logins         [3]string
}

func drawSetup(t *rapid.T) setup {
	var s setup
	s.policy = rapid.SampledFrom(policies).Draw(t, "policy")
	s.debtKey = rapid.Bool().Draw(t, "suspender_inadimplencia")
	for i := range s.combos {
		s.combos[i] = rapid.SliceOfNDistinct(rapid.IntRange(0, 3), 0, 2, rapid.ID[int]).Draw(t, fmt.Sprintf("plano %d pacotes", 10+i))
	}
	for i := range 2 {
		s.noEmail[i] = rapid.IntRange(0, 4).Draw(t, fmt.Sprintf("cliente %d sem e-mail", i)) == 0
		s.noDoc[i] = rapid.IntRange(0, 4).Draw(t, fmt.Sprintf("cliente %d sem CPF", i)) == 0
	}
	for i := range s.logins {
		s.logins[i] = rapid.SampledFrom([]string{"ana", "bia", "caio"}).Draw(t, fmt.Sprintf("login %d", i+1))
	}
	return s
}

func newMachine(outer *testing.T, t tb, dialect string, su setup) *machine {
	w := newWorld(outer, t, dialect)
	policy, debtKey := su.policy, su.debtKey
	mc := &machine{w: w, m: newModel(w.today(), policy, debtKey), svcCust: map[int64]*customer{}, logins: map[int64]string{}, months: map[string]bool{}}
	mc.months[string(w.today())[:7]] = true
	integ := w.must(201, "POST", "/integracoes", map[string]any{"descricao": "Qualifica", "plataforma": "qualifica", "suspender_inadimplencia": debtKey,
		"parametros": map[string]any{"client_id": qualificasim.DefaultClientID, "client_secret": qualificasim.DefaultClientSecret, "usuario": policy}})
	mc.integ = int64(integ["id_integracao"].(float64))
	for _, code := range []string{"pro", "premium", "1001", badCode} {
		if code == badCode { // unreachable platform: the wrong code is saved unverified
			w.sim.SetFaults(1, 0)
		}
		p := w.must(201, "POST", fmt.Sprintf("/integracoes/%d/produtos", mc.integ), map[string]any{"descricao": "Produto " + code, "codigo": code})
		w.sim.SetFaults(0, 0)
		mc.m.products = append(mc.m.products, &mProduct{id: int64(p["id_produto"].(float64)), code: code})
	}
	mc.badProd = 3
	for _, pk := range []struct {
		valor string
		prods []int
	}{{"29.90", []int{0}}, {"0.00", []int{1}}, {"15.50", []int{2, 0}}, {"9.99", []int{3}}} {
		var ids []int64
		for _, i := range pk.prods {
			ids = append(ids, mc.m.products[i].id)
		}
		p := w.must(201, "POST", "/pacotes", map[string]any{"descricao": "Pacote " + pk.valor, "valor": pk.valor, "id_integracao": mc.integ, "produtos": ids})
		mc.m.packages = append(mc.m.packages, &mPackage{id: int64(p["id_pacote"].(float64)), cents: cents(pk.valor), products: pk.prods})
	}
	for i, plan := range []int64{10, 11} {
		mc.editPlan(t, plan, su.combos[i])
	}
	for i, doc := range []string{"52998224725", "11144477735"} {
		c := &customer{id: int64(100 * (i + 1)), code: fmt.Sprintf("C%d", 100*(i+1)), doc: doc, email: fmt.Sprintf("cliente%d@example.com", i+1),
			name: "Maria da Silva", phone: "11999990000"}
		if su.noEmail[i] {
			c.email = ""
		}
		if su.noDoc[i] {
			c.doc = ""
		}
		mc.custs = append(mc.custs, c)
	}
	mc.svcCust[1], mc.svcCust[2], mc.svcCust[3] = mc.custs[0], mc.custs[0], mc.custs[1]
	for i, id := range serviceIDs {
		mc.logins[id] = su.logins[i]
	}
	return mc
}

func (mc *machine) editPlan(t tb, plan int64, pkgs []int) {
	ids := []int64{}
	for _, p := range pkgs {
		ids = append(ids, mc.m.packages[p].id)
	}
	t.Logf("PUT /planos/%d pacotes=%v", plan, pkgs)
	r := mc.w.call("PUT", fmt.Sprintf("/planos/%d", plan), map[string]any{"descricao": fmt.Sprintf("Plano %d", plan), "pacotes": ids}, "")
	if r.status != 200 && r.status != 201 {
		t.Fatalf("PUT /planos/%d: %d %s", plan, r.status, r.body)
	}
	mc.m.combos[plan] = append([]int(nil), pkgs...)
}

// actions returns the weighted actions (a weight is repeated keys).
func (mc *machine) actions() map[string]func(*rapid.T) {
	acts := map[string]func(*rapid.T){"": func(t *rapid.T) { mc.check(t) }}
	add := func(name string, weight int, f func(*rapid.T)) {
		for i := 0; i < weight; i++ {
			k := name
			if i > 0 {
				k = fmt.Sprintf("%s#%d", name, i+1)
			}
			acts[k] = f
		}
	}
	add("putService", 4, mc.putService)
	add("setStatus", 4, mc.setStatus)
	add("batchStatus", 2, mc.batchStatus)
	add("attach", 4, mc.attach)
	add("detach", 2, mc.detach)
	add("patchExpiry", 2, mc.patchExpiry)
	add("editPlan", 1, func(t *rapid.T) {
		plan := rapid.SampledFrom([]int64{10, 11}).Draw(t, "plano")
		mc.editPlan(t, plan, rapid.SliceOfNDistinct(rapid.IntRange(0, 3), 0, 2, rapid.ID[int]).Draw(t, "pacotes"))
	})
	add("debtKey", 1, func(t *rapid.T) { mc.debtKey(t) })
	add("pauseResume", 1, func(t *rapid.T) { mc.pauseResume(t) })
	add("fixCode", 1, func(t *rapid.T) { mc.fixCode(t) })
	add("retransmit", 1, mc.retransmit)
	add("passTime", 1, mc.passTime)
	add("faults", 1, mc.setFaults)
	add("restartWorkers", 1, func(t *rapid.T) {
		t.Logf("restart the workers on the same database")
		mc.timeouts = true // a job cancelled mid-call may have had its create applied
		mc.w.restart()
	})
	add("changePassword", 1, mc.changePassword)
	add("reprice", 1, mc.reprice)
	return acts
}

func (mc *machine) existing(t *rapid.T) int64 {
	ids := mc.m.serviceIDs()
	if len(ids) == 0 {
		t.Skip("no service yet")
	}
	return rapid.SampledFrom(ids).Draw(t, "servico")
}

func (mc *machine) putService(t *rapid.T) {
	id := rapid.SampledFrom(serviceIDs).Draw(t, "servico")
	planIdx := rapid.IntRange(0, 3).Draw(t, "id_servico (0 null, 3 unknown)")
	var plan *int64
	if planIdx > 0 {
		p := []int64{0, 10, 11, 99}[planIdx]
		plan = &p
	}
	status := rapid.SampledFrom(allStatuses).Draw(t, "status_prefixo")
	mc.doPutService(t, id, plan, status)
}

func (mc *machine) doPutService(t tb, id int64, plan *int64, status string) {
	c := mc.svcCust[id]
	login, senha := mc.logins[id], fmt.Sprintf("senha-%d", id)
	t.Logf("PUT /servicos/%d id_servico=%v status=%s login=%s", id, fmtPlan(plan), status, login)
	body := map[string]any{"id_servico": plan, "login": login, "senha": senha, "status_prefixo": status,
		"cliente": map[string]any{"id_cliente": c.id, "codigo_cliente": c.code, "nome_razaosocial": c.name, "cpf_cnpj": c.doc,
			"email_principal": c.email, "telefone_primario": c.phone}}
	want := 200
	if _, ok := mc.m.services[id]; !ok {
		want = 201
	}
	mc.w.must(want, "PUT", fmt.Sprintf("/servicos/%d", id), body)
	mc.m.putService(id, plan, status, login, senha, c)
}

func fmtPlan(p *int64) string {
	if p == nil {
		return "null"
	}
	return strconv.FormatInt(*p, 10)
}

func (mc *machine) setStatus(t *rapid.T) {
	id := mc.existing(t)
	mc.doSetStatus(t, id, rapid.SampledFrom(allStatuses).Draw(t, "status_prefixo"))
}

func (mc *machine) doSetStatus(t tb, id int64, status string) {
	t.Logf("PUT /servicos/%d/status %s", id, status)
	mc.w.must(200, "PUT", fmt.Sprintf("/servicos/%d/status", id), map[string]any{"status_prefixo": status})
	s := mc.m.services[id]
	mc.m.putService(id, s.plan, status, s.login, s.senha, s.cust)
}

func (mc *machine) batchStatus(t *rapid.T) {
	ids := mc.m.serviceIDs()
	if len(ids) == 0 {
		t.Skip("no service yet")
	}
	pick := rapid.SliceOfNDistinct(rapid.SampledFrom(ids), 1, len(ids), rapid.ID[int64]).Draw(t, "servicos")
	var items []map[string]any
	var desc []string
	statuses := map[int64]string{}
	for _, id := range pick {
		st := rapid.SampledFrom(allStatuses).Draw(t, fmt.Sprintf("status %d", id))
		statuses[id] = st
		items = append(items, map[string]any{"id_cliente_servico": id, "status_prefixo": st})
		desc = append(desc, fmt.Sprintf("%d→%s", id, st))
	}
	body := map[string]any{"itens": items}
	key := ""
	if rapid.Bool().Draw(t, "Idempotency-Key") {
		mc.idem++
		key = fmt.Sprintf("lote-%d", mc.idem)
	}
	t.Logf("POST /servicos/status %s (Idempotency-Key %q)", strings.Join(desc, ", "), key)
	r := mc.w.call("POST", "/servicos/status", body, key)
	if r.status != 200 {
		t.Fatalf("batch: %d %s", r.status, r.body)
	}
	if key != "" { // a retry replays the first answer and changes nothing
		r2 := mc.w.call("POST", "/servicos/status", body, key)
		if r2.status != r.status || string(r2.body) != string(r.body) {
			t.Fatalf("idempotent retry answered %d %s, first %d %s", r2.status, r2.body, r.status, r.body)
		}
	}
	for _, id := range pick {
		s := mc.m.services[id]
		mc.m.putService(id, s.plan, statuses[id], s.login, s.senha, s.cust)
	}
}

func (mc *machine) attach(t *rapid.T) {
	id := mc.existing(t)
	p := rapid.IntRange(0, 3).Draw(t, "pacote")
	exp := rapid.IntRange(-2, 4).Draw(t, "data_expiracao (-2 default, else today+n)")
	key := ""
	if rapid.IntRange(0, 3).Draw(t, "Idempotency-Key") == 0 {
		mc.idem++
		key = fmt.Sprintf("anexo-%d", mc.idem)
	}
	mc.doAttach(t, id, p, exp, key)
}

// doAttach attaches package p to service id; exp -2 means no date, else
// today+exp.
func (mc *machine) doAttach(t tb, id int64, p, exp int, key string) *mSub {
	body := map[string]any{"id_pacote": mc.m.packages[p].id}
	expires := mc.m.today.oneYearLater()
	if exp != -2 {
		expires = mc.m.today.add(exp)
		body["data_expiracao"] = string(expires)
	}
	s := mc.m.services[id]
	refused := ended(s.status) || mc.m.liveSub(s, p) != nil || expires < mc.m.today
	t.Logf("POST /servicos/%d/pacotes pacote=%d data_expiracao=%v (Idempotency-Key %q)", id, p, body["data_expiracao"], key)
	r := mc.w.call("POST", fmt.Sprintf("/servicos/%d/pacotes", id), body, key)
	if refused {
		if r.status < 400 {
			t.Fatalf("attach must be refused (ended service, package live, or past date): %d %s", r.status, r.body)
		}
		return nil
	}
	if r.status != 201 {
		t.Fatalf("attach: %d %s", r.status, r.body)
	}
	sub := mc.m.attach(s, p, "avulso", expires)
	sub.id = int64(r.json(t)["id_assinatura"].(float64))
	if key != "" {
		r2 := mc.w.call("POST", fmt.Sprintf("/servicos/%d/pacotes", id), body, key)
		if r2.status != 201 || int64(r2.json(t)["id_assinatura"].(float64)) != sub.id {
			t.Fatalf("idempotent retry answered %d %s, first was subscription %d", r2.status, r2.body, sub.id)
		}
	}
	return sub
}

// pickSub draws a known subscription (live only when live).
func (mc *machine) pickSub(t *rapid.T, live bool) *mSub {
	var subs []*mSub
	for _, id := range mc.m.serviceIDs() {
		for _, s := range mc.m.services[id].subs {
			if s.id != 0 && (!live || s.live()) {
				subs = append(subs, s)
			}
		}
	}
	if len(subs) == 0 {
		t.Skip("no subscription")
	}
	return subs[rapid.IntRange(0, len(subs)-1).Draw(t, "assinatura")]
}

func (mc *machine) detach(t *rapid.T) {
	mc.doDetach(t, mc.pickSub(t, true))
}

func (mc *machine) doDetach(t tb, sub *mSub) {
	t.Logf("DELETE /servicos/%d/pacotes/%d", sub.svc.id, sub.id)
	mc.w.must(204, "DELETE", fmt.Sprintf("/servicos/%d/pacotes/%d", sub.svc.id, sub.id), nil)
	mc.m.cancel(sub)
}

func (mc *machine) patchExpiry(t *rapid.T) {
	sub := mc.pickSub(t, false)
	n := rapid.SampledFrom([]int{-1, 0, 1, 3, 6, 400}).Draw(t, "today+n")
	mc.doPatchExpiry(t, sub, n)
}

func (mc *machine) doPatchExpiry(t tb, sub *mSub, n int) {
	d := mc.m.today.add(n)
	t.Logf("PATCH /assinaturas/%d data_expiracao=%s (today%+d)", sub.id, d, n)
	r := mc.w.call("PATCH", fmt.Sprintf("/assinaturas/%d", sub.id), map[string]any{"data_expiracao": string(d)}, "")
	if !sub.live() || d < mc.m.today {
		if r.status < 400 {
			t.Fatalf("PATCH must be refused (cancelled or past): %d %s", r.status, r.body)
		}
		return
	}
	if r.status != 200 {
		t.Fatalf("PATCH: %d %s", r.status, r.body)
	}
	sub.expires, sub.expired = d, false
}

func (mc *machine) debtKey(t tb) {
	on := !mc.m.debtKey
	t.Logf("PUT /integracoes/%d suspender_inadimplencia=%v", mc.integ, on)
	mc.w.must(200, "PUT", fmt.Sprintf("/integracoes/%d", mc.integ), map[string]any{"suspender_inadimplencia": on})
	mc.m.setDebtKey(on)
}

func (mc *machine) pauseResume(t tb) {
	mc.paused = !mc.paused
	t.Logf("PUT /integracoes/%d ativo=%v", mc.integ, !mc.paused)
	mc.w.must(200, "PUT", fmt.Sprintf("/integracoes/%d", mc.integ), map[string]any{"ativo": !mc.paused})
	mc.m.active = !mc.paused
}

func (mc *machine) fixCode(t tb) {
	p := mc.m.products[mc.badProd]
	if p.code != badCode {
		t.Skip("code already fixed")
	}
	t.Logf("PUT /produtos/%d codigo=%s (fix)", p.id, fixedCode)
	mc.w.must(200, "PUT", fmt.Sprintf("/produtos/%d", p.id), map[string]any{"descricao": "Bônus", "codigo": fixedCode})
	p.code = fixedCode
}

func (mc *machine) retransmit(t *rapid.T) {
	mc.doRetransmit(t, mc.pickSub(t, true))
}

func (mc *machine) doRetransmit(t tb, sub *mSub) {
	t.Logf("POST /assinaturas/%d/retransmitir", sub.id)
	mc.w.must(202, "POST", fmt.Sprintf("/assinaturas/%d/retransmitir", sub.id), nil)
	mc.m.retransmit(sub)
}

func (mc *machine) passTime(t *rapid.T) {
	mc.doPassTime(t, rapid.IntRange(1, 4).Draw(t, "days"))
}

func (mc *machine) doPassTime(t tb, n int) {
	t.Logf("%d day(s) pass; the expiry job runs", n)
	mc.w.clk.add(time.Duration(n) * 24 * time.Hour)
	mc.m.passDays(n)
	mc.months[string(mc.m.today)[:7]] = true
	if _, err := mc.w.db.ExpireSubscriptions(t.Context()); err != nil {
		t.Fatalf("expire: %v", err)
	}
}

func (mc *machine) setFaults(t *rapid.T) {
	f := rapid.SampledFrom([]string{"off", "5xx", "timeouts", "429", "revoke"}).Draw(t, "fault")
	t.Logf("simulator fault: %s", f)
	mc.applyFault(f)
}

func (mc *machine) applyFault(f string) {
	s := mc.w.sim
	switch f {
	case "off":
		s.SetFaults(0, 0)
		s.SetRateLimit(0)
	case "5xx":
		s.SetFaults(0.3, 0)
	case "timeouts":
		s.SetFaults(0, 0.15)
		mc.timeouts = true
	case "429":
		s.SetRateLimit(20)
	case "revoke":
		s.RevokeTokens()
		return
	}
	mc.faults = f
}

func (mc *machine) changePassword(t *rapid.T) {
	var users []string
	for u, a := range mc.m.accounts {
		if a.created {
			users = append(users, u)
		}
	}
	if len(users) == 0 {
		t.Skip("no platform user")
	}
	sort.Strings(users)
	u := rapid.SampledFrom(users).Draw(t, "usuario")
	pw := fmt.Sprintf("nova-%d", mc.steps)
	t.Logf("the customer %s changes the password on the platform", u)
	if err := mc.w.sim.SetPassword(u, pw); err != nil {
		t.Fatalf("sim password: %v", err)
	}
	mc.m.accounts[u].password = pw
}

func (mc *machine) reprice(t *rapid.T) {
	p := rapid.SampledFrom([]int{0, 2}).Draw(t, "pacote")
	c := int64(rapid.IntRange(100, 9999).Draw(t, "valor (centavos)"))
	t.Logf("PUT /pacotes/%d valor=%s", mc.m.packages[p].id, money(c))
	mc.w.must(200, "PUT", fmt.Sprintf("/pacotes/%d", mc.m.packages[p].id), map[string]any{"valor": money(c)})
	mc.m.packages[p].cents = c
}

// checks is how many sequences to run: SVAHUB_MODEL_CHECKS, else
// -rapid.checks when given, else a small budget.
func checks(t *testing.T) {
	if v := os.Getenv("SVAHUB_MODEL_CHECKS"); v != "" {
		if _, err := strconv.Atoi(v); err != nil {
			t.Fatalf("SVAHUB_MODEL_CHECKS=%q: %v", v, err)
		}
		setFlag(t, "rapid.checks", v)
		return
	}
	if !flagSet("rapid.checks") && os.Getenv("RAPID_CHECKS") == "" {
		setFlag(t, "rapid.checks", "4")
	}
}

// TestModel drives the real svahub against the reference model.
func TestModel(t *testing.T) {
	checks(t)
	storetest.Each(t, func(t *testing.T, dialect string) {
		rapid.Check(t, func(rt *rapid.T) {
			mc := newMachine(t, rt, dialect, drawSetup(rt))
			rt.Repeat(mc.actions())
			mc.final(rt)
		})
	})
}
