package modeltest

// The reference model: what svahub must show, computed from the sequence of
// calls alone and from spec/DOMAIN.md. It imports nothing of svahub (no
// rules, no store, no wire types): every rule here is written again, on
// purpose, so that a wrong rule in production is not copied into the check.

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

const dateLayout = "2006-01-02"

// day is a calendar date YYYY-MM-DD in the business time zone.
type day string

func (d day) time() time.Time {
	t, err := time.Parse(dateLayout, string(d))
	if err != nil {
		panic(err)
	}
	return t
}

func (d day) add(n int) day { return day(d.time().AddDate(0, 0, n).Format(dateLayout)) }

// oneYearLater is DOMAIN's default expiry: the same day and month one year
// later; 29 Feb becomes 28 Feb.
func (d day) oneYearLater() day {
	t := d.time()
	y, m, dd := t.Date()
	if m == time.February && dd == 29 {
		dd = 28
	}
	return day(time.Date(y+1, m, dd, 0, 0, 0, 0, time.UTC).Format(dateLayout))
}

// Service statuses (DOMAIN's lifecycle table).
var (
	statusesLive = []string{"servico_habilitado", "suspenso_debito", "suspenso_parcialmente", "suspenso_pedido_cliente"}
	statusesWait = []string{"aguardando_instalacao", "aguardando_assinatura_contrato", "aguardando_configuracao",
		"aguardando_liberacao_ti", "aguardando_migracao", "agendado_para_instalacao", "franquia_excedida"}
	statusesEnd = []string{"cancelado", "inativo"}
	allStatuses = append(append(append([]string{}, statusesLive...), statusesWait...), statusesEnd...)
)

func ended(s string) bool { return s == "cancelado" || s == "inativo" }

// Platform states, most permissive first.
const (
	stNone      = ""
	stActive    = "ativo"
	stSuspended = "suspenso"
	stCancelled = "cancelado"
)

func rank(s string) int {
	switch s {
	case stActive:
		return 3
	case stSuspended:
		return 2
	case stCancelled:
		return 1
	}
	return 0
}

// wanted is the lifecycle table: the desired platform state of an access.
func wanted(status string, debtKey, subCancelled bool, cur string) string {
	if subCancelled || cur == stCancelled {
		return stCancelled
	}
	switch status {
	case "servico_habilitado":
		return stActive
	case "suspenso_debito", "suspenso_parcialmente":
		if debtKey {
			return stSuspended
		}
		return cur
	case "suspenso_pedido_cliente":
		return stSuspended
	case "cancelado", "inativo":
		return stCancelled
	}
	return cur // aguardando_*, agendado_para_instalacao, franquia_excedida
}

// badCode is the product code the platform does not know; fixedCode is
// what the "code fix" action changes it to.
const (
	badCode   = "xyz"
	fixedCode = "bonus"
)

type mProduct struct {
	id   int64
	code string
}

type mPackage struct {
	id       int64
	cents    int64
	products []int // indexes into model.products
}

type customer struct {
	id          int64
	code        string
	doc         string // digits; "" when the customer has no CPF
	email       string // "" when the customer has no e-mail
	name, phone string
}

type mService struct {
	id           int64
	plan         *int64
	status       string
	login, senha string
	cust         *customer
	subs         []*mSub
}

type mSub struct {
	id        int64 // 0 until the real id is known
	svc       *mService
	pkg       int
	origin    string
	cents     int64
	created   day
	expires   day
	cancelled day // "" while live
	expired   bool
	accesses  []*mAccess
}

func (s *mSub) live() bool { return s.cancelled == "" }

type mAccess struct {
	product  int
	code     string // the code at attach time (or after retransmitir moved it)
	desired  string
	username string
}

type mAccount struct {
	created    bool
	candidates map[string]bool // passwords it may have been created with
	password   string          // known exactly once the customer changed it
}

type mPlatPlan struct {
	created bool
	status  string
	expiry  day
	err     bool
}

// model is the whole reference state.
type model struct {
	today    day
	policy   string
	debtKey  bool
	active   bool
	products []*mProduct
	packages []*mPackage
	combos   map[int64][]int // id_servico → package indexes (known plans only)
	services map[int64]*mService
	accounts map[string]*mAccount
	plans    map[string]*mPlatPlan // username + "\x00" + code
	// retransmitted collects the plan keys and accesses retransmitir
	// touched since the last convergence.
	retransmitted map[string]bool
}

func newModel(today day, policy string, debtKey bool) *model {
	return &model{today: today, policy: policy, debtKey: debtKey, active: true, combos: map[int64][]int{},
		services: map[int64]*mService{}, accounts: map[string]*mAccount{}, plans: map[string]*mPlatPlan{}, retransmitted: map[string]bool{}}
}

// username is the platform username the policy derives ("" when the
// source field is empty).
func (m *model) username(s *mService) string {
	switch m.policy {
	case "cpf_cnpj":
		return s.cust.doc
	case "email":
		return s.cust.email
	case "codigo_cliente":
		return s.cust.code
	}
	return s.login
}

func (m *model) password(s *mService) string {
	if m.policy == "login_autenticacao" {
		return s.senha
	}
	return m.username(s)
}

func planKey(user, code string) string { return user + "\x00" + code }

// attach adds a subscription of package p to s (no checks).
func (m *model) attach(s *mService, p int, origin string, expires day) *mSub {
	pk := m.packages[p]
	sub := &mSub{svc: s, pkg: p, origin: origin, created: m.today, expires: expires}
	if origin == "avulso" {
		sub.cents = pk.cents
	}
	for _, pr := range pk.products {
		a := &mAccess{product: pr, code: m.products[pr].code, username: m.username(s)}
		a.desired = wanted(s.status, m.debtKey, false, stNone)
		sub.accesses = append(sub.accesses, a)
	}
	s.subs = append(s.subs, sub)
	return sub
}

func (m *model) cancel(sub *mSub) {
	if !sub.live() {
		return
	}
	sub.cancelled = m.today
	for _, a := range sub.accesses {
		a.desired = stCancelled
	}
}

func (m *model) attachCombo(s *mService) {
	if s.plan == nil {
		return
	}
	for _, p := range m.combos[*s.plan] {
		if m.liveSub(s, p) == nil {
			m.attach(s, p, "plano", m.today.oneYearLater())
		}
	}
}

func (m *model) liveSub(s *mService, p int) *mSub {
	for _, sub := range s.subs {
		if sub.pkg == p && sub.live() {
			return sub
		}
	}
	return nil
}

func samePlan(a, b *int64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// putService is PUT /servicos/{id}; it returns whether the service is new.
func (m *model) putService(id int64, plan *int64, status, login, senha string, cust *customer) bool {
	s, ok := m.services[id]
	if !ok {
		s = &mService{id: id, plan: plan, status: status, login: login, senha: senha, cust: cust}
		m.services[id] = s
		if !ended(status) {
			m.attachCombo(s)
		}
		return true
	}
	old, oldPlan := s.status, s.plan
	s.status, s.plan, s.login, s.senha = status, plan, login, senha
	switch {
	case !ended(old) && ended(status):
		for _, sub := range s.subs {
			m.cancel(sub)
		}
	case ended(old) && !ended(status):
		m.attachCombo(s)
	case !ended(status) && !samePlan(oldPlan, plan):
		m.changePlan(s)
	}
	m.recompute(s)
	return false
}

// changePlan: plano subscriptions the new plan lacks are cancelled; avulso
// ones of a package the new plan includes are replaced by plano ones;
// missing ones are added.
func (m *model) changePlan(s *mService) {
	in := map[int]bool{}
	if s.plan != nil {
		for _, p := range m.combos[*s.plan] {
			in[p] = true
		}
	}
	for _, sub := range s.subs {
		if !sub.live() {
			continue
		}
		if sub.origin == "plano" && !in[sub.pkg] || sub.origin == "avulso" && in[sub.pkg] {
			m.cancel(sub)
		}
	}
	m.attachCombo(s)
}

func (m *model) recompute(s *mService) {
	for _, sub := range s.subs {
		for _, a := range sub.accesses {
			a.desired = wanted(s.status, m.debtKey, !sub.live(), a.desired)
		}
	}
}

// setDebtKey turns the integration's suspender_inadimplencia on or off.
func (m *model) setDebtKey(on bool) {
	m.debtKey = on
	for _, s := range m.services {
		m.recompute(s)
	}
}

// passDays moves the clock and marks subscriptions past their date.
func (m *model) passDays(n int) {
	m.today = m.today.add(n)
	for _, s := range m.services {
		for _, sub := range s.subs {
			if sub.live() && sub.expires < m.today {
				sub.expired = true
			}
		}
	}
}

// retransmit is POST /assinaturas/{id}/retransmitir: errors are cleared
// and the work is tried again; an access whose product code was fixed
// and that never reached the platform moves to the new code.
func (m *model) retransmit(sub *mSub) {
	for _, a := range sub.accesses {
		cur := m.products[a.product].code
		key := planKey(a.username, a.code)
		p := m.plans[key]
		neverSent := p == nil || !p.created || p.status == stCancelled
		if cur != a.code && neverSent {
			a.code = cur
			continue
		}
		if p != nil {
			p.err = false
			m.retransmitted[key] = true
		}
	}
}

// converge is what the workers must have done once the work drained.
func (m *model) converge() {
	if !m.active {
		return
	}
	type group struct {
		accesses []*mAccess
		subs     []*mSub
		svcs     []*mService
	}
	groups := map[string]*group{}
	var keys []string
	for _, id := range m.serviceIDs() {
		s := m.services[id]
		for _, sub := range s.subs {
			for _, a := range sub.accesses {
				if a.username == "" { // no account: erro from the start (subStatus)
					continue
				}
				k := planKey(a.username, a.code)
				g := groups[k]
				if g == nil {
					g = &group{}
					groups[k] = g
					keys = append(keys, k)
				}
				g.accesses, g.subs, g.svcs = append(g.accesses, a), append(g.subs, sub), append(g.svcs, s)
			}
		}
	}
	for _, k := range keys {
		g := groups[k]
		agg, expiry := stNone, day("")
		for i, a := range g.accesses {
			if rank(a.desired) > rank(agg) {
				agg = a.desired
			}
			if g.subs[i].live() && g.subs[i].expires > expiry {
				expiry = g.subs[i].expires
			}
		}
		p := m.plans[k]
		if p == nil {
			p = &mPlatPlan{}
			m.plans[k] = p
		}
		user, code, _ := strings.Cut(k, "\x00")
		exists := p.created && (p.status == stActive || p.status == stSuspended)
		// A date already past cannot be sent: the platform refuses it
		// (and enforces the date itself): no plan is created for it and
		// an existing plan keeps its date.
		sendable := expiry != "" && expiry >= m.today
		switch {
		case agg == stActive && (exists || sendable):
			m.createUser(user)
			if code == badCode {
				p.err = true
				continue
			}
			if !exists || sendable {
				p.expiry = expiry
			}
			p.created, p.status = true, stActive
		case agg == stSuspended && exists:
			if sendable {
				p.expiry = expiry
			}
			p.status = stSuspended
		case agg == stCancelled && exists:
			p.status = stCancelled
		}
	}
	m.retransmitted = map[string]bool{}
}

// createUser records the platform user of an account as created, by one
// of the services whose accesses want it active.
func (m *model) createUser(user string) {
	acc := m.accounts[user]
	if acc == nil {
		acc = &mAccount{candidates: map[string]bool{}}
		m.accounts[user] = acc
	}
	if acc.created {
		return
	}
	acc.created = true
	for _, s := range m.services { // any of them may have been first
		for _, sub := range s.subs {
			for _, a := range sub.accesses {
				if a.username == user && a.desired == stActive {
					acc.candidates[m.password(s)] = true
				}
			}
		}
	}
}

func (m *model) serviceIDs() []int64 {
	ids := make([]int64, 0, len(m.services))
	for id := range m.services {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// failed reports whether an access of sub has a permanent error: a
// policy that found no username, or a plan the platform refused.
func (m *model) failed(sub *mSub) bool {
	for _, a := range sub.accesses {
		if a.username == "" { // DOMAIN: an empty source field → erro, no platform call
			return true
		}
		if p := m.plans[planKey(a.username, a.code)]; p != nil && p.err {
			return true
		}
	}
	return false
}

// subStatus is the status the API must show for sub (work drained).
func (m *model) subStatus(sub *mSub) string {
	if !sub.live() {
		return "cancelado"
	}
	if m.failed(sub) {
		return "erro"
	}
	if sub.expired {
		return "expirado"
	}
	nActive := 0
	for _, a := range sub.accesses {
		if a.desired == stNone {
			return "pendente"
		}
		if a.desired == stActive {
			nActive++
		}
	}
	if nActive == len(sub.accesses) {
		return "ativo"
	}
	return "suspenso"
}

// billItem is one expected line of /cobrancas.
type billItem struct {
	days, daysInMonth int
	cents, prorated   int64
}

// billing is DOMAIN's billing feed for month (YYYY-MM), by subscription id.
func (m *model) billing(month string) map[int64]billItem {
	first, _ := time.Parse("2006-01", month)
	last := first.AddDate(0, 1, -1)
	dim := last.Day()
	out := map[int64]billItem{}
	for _, s := range m.services {
		for _, sub := range s.subs {
			if sub.cents <= 0 {
				continue
			}
			from, to := day(first.Format(dateLayout)), day(last.Format(dateLayout))
			if sub.created > from {
				from = sub.created
			}
			if sub.cancelled != "" && sub.cancelled.add(-1) < to {
				to = sub.cancelled.add(-1)
			}
			if sub.expires < to {
				to = sub.expires
			}
			if to < from {
				continue
			}
			n := int(to.time().Sub(from.time()).Hours()/24) + 1
			num := sub.cents * int64(n)
			out[sub.id] = billItem{days: n, daysInMonth: dim, cents: sub.cents, prorated: (2*num + int64(dim)) / (2 * int64(dim))}
		}
	}
	return out
}

func cents(s string) int64 {
	var a, b int64
	if _, err := fmt.Sscanf(s, "%d.%02d", &a, &b); err != nil {
		panic(fmt.Sprintf("money %q: %v", s, err))
	}
	return a*100 + b
}

func money(c int64) string { return fmt.Sprintf("%d.%02d", c/100, c%100) }
