package crashtest

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/pkg/qualifica/qualificasim"
)

// HubSoft statuses the suites flip between.
const (
	stEnabled   = "servico_habilitado"
	stDebt      = "suspenso_debito"
	stCustomer  = "suspenso_pedido_cliente"
	stCancelled = "cancelado"
)

// Catalogue is what setupCatalogue created.
type Catalogue struct {
	Integration int64
	Product     int64
	Package     int64
	Plan        int64 // HubSoft plan (combo) including Package
}

// comboPlan is the HubSoft id_servico of the combo plan.
const comboPlan = 500

// setupCatalogue creates one integration of sim's platform
// (suspender_inadimplencia true), product "pro", one package with it and a
// combo plan.
func setupCatalogue(t *testing.T, s *Server, sim platformSim) Catalogue {
	t.Helper()
	var c Catalogue
	var integ struct {
		ID    int64 `json:"id_integracao"`
		Token struct {
			Status string `json:"status"`
		} `json:"token"`
	}
	s.Call(t, "POST", "/api/v1/integracoes", sim.Integration(), 201).JSON(t, &integ)
	if sim.HasCatalogue() && integ.Token.Status != "valido" {
		t.Fatalf("integration token %q, want valido", integ.Token.Status)
	}
	c.Integration = integ.ID
	var prod struct {
		ID       int64 `json:"id_produto"`
		Verified bool  `json:"verificado"`
	}
	s.Call(t, "POST", fmt.Sprintf("/api/v1/integracoes/%d/produtos", c.Integration),
		map[string]any{"descricao": "Qualifica Pro", "codigo": "pro"}, 201).JSON(t, &prod)
	if sim.HasCatalogue() && !prod.Verified {
		t.Fatalf("product pro not verified against the simulator")
	}
	c.Product = prod.ID
	c.Package = createPackage(t, s, "QPRO", c.Integration, c.Product)
	s.Call(t, "PUT", fmt.Sprintf("/api/v1/planos/%d", comboPlan),
		map[string]any{"descricao": "Fibra 500 Mega + Qualifica", "pacotes": []int64{c.Package}}, 200, 201)
	c.Plan = comboPlan
	return c
}

func integrationBody(urlBase string) map[string]any {
	return map[string]any{
		"descricao": "Qualifica", "plataforma": "qualifica", "suspender_inadimplencia": true,
		"parametros": map[string]any{
			"client_id": qualificasim.DefaultClientID, "client_secret": qualificasim.DefaultClientSecret,
			"usuario": "login_autenticacao", "url_base": urlBase,
		},
	}
}

func createPackage(t *testing.T, s *Server, code string, integration int64, products ...int64) int64 {
	t.Helper()
	var pkg struct {
		ID int64 `json:"id_pacote"`
	}
	s.Call(t, "POST", "/api/v1/pacotes", map[string]any{
		"descricao": "Pacote " + code, "codigo": code, "valor": "29.90",
		"id_integracao": integration, "produtos": products,
	}, 201).JSON(t, &pkg)
	return pkg.ID
}

func login(id int64) string { return fmt.Sprintf("cli%06d", id) }

// serviceBody is a HubSoft service on the combo plan (its package is
// attached on creation), enabled.
func serviceBody(id int64) map[string]any {
	return map[string]any{
		"id_servico": comboPlan, "login": login(id), "senha": fmt.Sprintf("s3nh4-%d", id),
		"status_prefixo": stEnabled,
		"cliente":        map[string]any{"id_cliente": id, "nome_razaosocial": fmt.Sprintf("Cliente %d", id)},
	}
}

// createServices PUTs services ids with a pool of workers, retrying as
// HubSoft would while the process is down; onCreated is called after each.
// It may run outside the test goroutine: failures are reported with Errorf.
func createServices(t *testing.T, s *Server, ids []int64, workers int, onCreated func(n int64)) {
	t.Helper()
	var next, done atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(len(ids)) || t.Failed() {
					return
				}
				id := ids[i]
				r, err := s.call("PUT", fmt.Sprintf("/api/v1/servicos/%d", id), serviceBody(id))
				if err != nil || (r.Status != 200 && r.Status != 201) {
					t.Errorf("PUT /servicos/%d: %v %d %s", id, err, r.Status, r.Body)
					return
				}
				n := done.Add(1)
				if onCreated != nil {
					onCreated(n)
				}
			}
		})
	}
	wg.Wait()
}

// Item is one item of POST /servicos/status.
type Item struct {
	ID     int64  `json:"id_cliente_servico"`
	Status string `json:"status_prefixo"`
}

// Model is what HubSoft has told svahub and svahub acknowledged.
type Model struct {
	status map[int64]string
	// cancelled: the service was cancelled at some point, so the
	// subscriptions it had then are cancelled for good (a return brings
	// a new combo subscription). Suspending what the platform has
	// cancelled makes no call, and workers apply the latest desired state
	// only (an enable followed by a suspension may never reach the
	// platform), so such a service's platform plan may stay cancelado
	// while it is suspended.
	cancelled map[int64]bool
}

func newModel(ids []int64) *Model {
	m := &Model{status: map[int64]string{}, cancelled: map[int64]bool{}}
	for _, id := range ids {
		m.status[id] = stEnabled
	}
	return m
}

// Apply records an acknowledged batch.
func (m *Model) Apply(items []Item) {
	for _, it := range items {
		m.status[it.ID] = it.Status
		if it.Status == stCancelled {
			m.cancelled[it.ID] = true
		}
	}
}

// Desired is the platform state the service's live access must reach
// (cancelado: the service is cancelled and has no live subscription).
func (m *Model) Desired(id int64) string {
	switch m.status[id] {
	case stCancelled:
		return "cancelado"
	case stEnabled:
		return "ativo"
	default: // suspenso_debito with the key on, suspenso_pedido_cliente
		return "suspenso"
	}
}

// PlatformOK reports whether the platform plan state got (has: the plan
// exists) fits the service's desired state.
func (m *Model) PlatformOK(id int64, got string, has bool) bool {
	want := m.Desired(id)
	switch {
	case want == "ativo":
		return has && got == "ativo"
	case !has:
		return true
	case want == "suspenso" && m.cancelled[id]:
		return got == "suspenso" || got == "cancelado"
	}
	return got == want
}

// batchResult is the answer to POST /servicos/status.
type batchResult struct {
	Items []struct {
		ID     int64  `json:"id_cliente_servico"`
		Result string `json:"resultado"`
	} `json:"itens"`
}

// sendBatch posts a batch until it is answered (retrying across restarts)
// and checks every item was found.
func sendBatch(t *testing.T, s *Server, items []Item) {
	t.Helper()
	r := s.Call(t, "POST", "/api/v1/servicos/status", map[string]any{"itens": items}, 200)
	checkBatchAnswer(t, r, items)
}

func checkBatchAnswer(t *testing.T, r Response, items []Item) {
	t.Helper()
	var br batchResult
	r.JSON(t, &br)
	if len(br.Items) != len(items) {
		t.Fatalf("batch answered %d items for %d", len(br.Items), len(items))
	}
	for i, it := range br.Items {
		if it.ID != items[i].ID || (it.Result != "atualizado" && it.Result != "inalterado") {
			t.Fatalf("batch item %d: %+v", i, it)
		}
	}
}

// Service is the part of GET /servicos the suites read.
type Service struct {
	ID     int64  `json:"id_cliente_servico"`
	Status string `json:"status_prefixo"`
}

// Subscription is the part of GET /assinaturas the suites read.
type Subscription struct {
	ID        int64  `json:"id_assinatura"`
	ServiceID int64  `json:"id_cliente_servico"`
	PackageID int64  `json:"id_pacote"`
	Status    string `json:"status"`
	LastError string `json:"ultimo_erro"`
	// CancelledAt is data_cancelamento (nil while live).
	CancelledAt *string `json:"data_cancelamento"`
}

// checkPersisted reads every service back and compares its status_prefixo
// with the model: no acknowledged change may be lost.
func checkPersisted(t *testing.T, s *Server, m *Model) {
	t.Helper()
	got := map[int64]string{}
	for _, sv := range ListAll[Service](t, s, "/api/v1/servicos") {
		got[sv.ID] = sv.Status
	}
	lost := 0
	for id, want := range m.status {
		if got[id] != want {
			if lost < 10 {
				t.Errorf("service %d: status_prefixo %q after restart, acknowledged %q", id, got[id], want)
			}
			lost++
		}
	}
	if lost > 0 {
		t.Fatalf("%d acknowledged status changes lost across SIGKILL", lost)
	}
}

// Problem is one way the world differs from the expectation.
type Problem struct {
	ServiceID int64 // 0: not tied to one service
	What      string
}

func (p Problem) String() string {
	if p.ServiceID == 0 {
		return p.What
	}
	return fmt.Sprintf("service %d: %s", p.ServiceID, p.What)
}

// Expect is the converged world.
type Expect struct {
	Model *Model
	// Services are the services the model covers (each with the combo
	// package, product pro).
	Services []int64
	// Broken maps services to their extra subscription of a package whose
	// product is not on the platform: it must be in erro, with no plan on
	// the platform.
	Broken       map[int64]bool
	BrokenPkg    int64
	BrokenCode   string
	ComboPackage int64
}

// check compares the API and the simulator with e.
func (e Expect) check(t *testing.T, s *Server, sim platformSim) []Problem {
	t.Helper()
	var probs []Problem
	add := func(id int64, f string, a ...any) { probs = append(probs, Problem{id, fmt.Sprintf(f, a...)}) }

	// Platform: one user per login, created once, plans as desired.
	logins := map[string]int64{}
	for _, id := range e.Services {
		logins[login(id)] = id
	}
	users := sim.Users()
	seenUser, seenRef := map[string]bool{}, map[string]string{}
	for _, u := range users {
		if _, ok := logins[u.Username]; !ok {
			add(0, "platform user %q matches no service", u.Username)
		}
		if seenUser[u.Username] {
			add(logins[u.Username], "platform user %q exists twice", u.Username)
		}
		seenUser[u.Username] = true
		if other, ok := seenRef[u.Reference]; ok {
			add(logins[u.Username], "platform users %q and %q share referencia %q", other, u.Username, u.Reference)
		}
		seenRef[u.Reference] = u.Username
		if u.CreateCalls != 1 {
			add(logins[u.Username], "platform user %q created %d times", u.Username, u.CreateCalls)
		}
	}
	for _, id := range e.Services {
		want := e.Model.Desired(id)
		u, ok := sim.User(login(id))
		plans := u.Plans
		got, has := plans["pro"]
		switch {
		case want == "ativo" && !ok:
			add(id, "desired ativo, no platform user")
		case !e.Model.PlatformOK(id, got, has):
			add(id, "desired %s, platform plan pro %q", want, got)
		}
		if e.Broken[id] {
			if st, has := plans[e.BrokenCode]; has {
				add(id, "plan %q of a product unknown to the platform exists (%s)", e.BrokenCode, st)
			}
		}
	}

	// API: every subscription shows its desired state; only broken ones erro.
	// A cancelled service has no live subscription; one that came back has
	// one live combo subscription (its older ones stay cancelled).
	subs := ListAll[Subscription](t, s, "/api/v1/assinaturas")
	seen := map[[2]int64]bool{}
	live := map[int64]int{}
	for _, sub := range subs {
		seen[[2]int64{sub.ServiceID, sub.PackageID}] = true
		want := ""
		switch {
		case sub.CancelledAt != nil:
			want = "cancelado"
		case sub.PackageID == e.ComboPackage:
			want = e.Model.Desired(sub.ServiceID)
			live[sub.ServiceID]++
		case sub.PackageID == e.BrokenPkg && e.Broken[sub.ServiceID] && !e.Model.cancelled[sub.ServiceID]:
			want = "erro"
		default:
			add(sub.ServiceID, "unexpected subscription %d of package %d", sub.ID, sub.PackageID)
			continue
		}
		if sub.Status != want {
			add(sub.ServiceID, "subscription %d (package %d) is %q (%s), want %q", sub.ID, sub.PackageID, sub.Status, sub.LastError, want)
		}
		if want == "erro" && !strings.Contains(sub.LastError, e.BrokenCode) {
			add(sub.ServiceID, "subscription %d in erro says %q, want the platform's message about %q", sub.ID, sub.LastError, e.BrokenCode)
		}
	}
	for _, id := range e.Services {
		if !seen[[2]int64{id, e.ComboPackage}] {
			add(id, "combo subscription missing")
		}
		if wantLive := map[bool]int{true: 0, false: 1}[e.Model.status[id] == stCancelled]; live[id] != wantLive {
			add(id, "%d live combo subscriptions, want %d (status %s)", live[id], wantLive, e.Model.status[id])
		}
		if e.Broken[id] && !seen[[2]int64{id, e.BrokenPkg}] {
			add(id, "broken-package subscription missing")
		}
	}
	sort.SliceStable(probs, func(i, j int) bool { return probs[i].ServiceID < probs[j].ServiceID })
	return probs
}

// waitConverged polls until svahub has no more work it knows of — no
// subscription pendente and no platform plan with a version neither
// applied nor in erro — then compares the world with e. Past deadline it
// keeps waiting only while that backlog still shrinks (a slow machine),
// for at most maxWait in all.
//
// The pendente count alone is not enough: a cancelled subscription shows
// cancelado at once (DOMAIN.md), while the platform's cancelar may still
// be on its way; comparing then reads the platform before the call.
func (e Expect) waitConverged(t *testing.T, s *Server, sim platformSim, deadline time.Time) ([]Problem, time.Duration) {
	t.Helper()
	const stall, maxWait = 20 * time.Second, 4 * time.Minute
	start := time.Now()
	best, progressed := -1, start
	for {
		n := Count(t, s, "/api/v1/assinaturas?status=pendente") + outstandingPlans(t, s)
		now := time.Now()
		if n == 0 {
			break
		}
		if best < 0 || n < best {
			best, progressed = n, now
		}
		if now.After(deadline) && (now.Sub(progressed) > stall || now.Sub(start) > maxWait) {
			t.Logf("still %d subscriptions pendente or plans outstanding after %s (no progress for %s)", n, now.Sub(start).Round(time.Second), now.Sub(progressed).Round(time.Second))
			break
		}
		time.Sleep(time.Second)
	}
	return e.check(t, s, sim), time.Since(start)
}

// outstandingPlans counts the platform plans whose current version is
// neither applied nor in erro: work svahub still owes the platform. It is
// read from the database the child uses, as planStates is.
func outstandingPlans(t *testing.T, s *Server) int {
	t.Helper()
	ctx := context.Background()
	db, err := store.OpenRaw(ctx, s.Dialect, s.DSN)
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM platform_plans
WHERE applied_version < version AND error_version < version`).Scan(&n); err != nil {
		t.Fatalf("count outstanding plans: %v", err)
	}
	return n
}

// recoveryDeadline is when the work of the last killed process must have
// been taken over: its leases last SVAHUB_LEASE_TTL (15 s) and the live
// process makes its running jobs available on the first heartbeat tick
// (every TTL/3) after its own heartbeat is a TTL old — plus retry and
// scheduling slack.
func recoveryDeadline(s *Server, atLeast time.Duration) time.Time {
	const leaseTTL = 15 * time.Second
	d := s.LastKill().Add(leaseTTL*4/3 + 45*time.Second)
	if floor := time.Now().Add(atLeast); d.Before(floor) {
		d = floor
	}
	return d
}

// PlanState is a platform_plans row as seen from the database, with the
// River jobs that name it.
type PlanState struct {
	ServiceID      int64
	SubscriptionID int64
	PlanID         int64
	Product        string
	Version        int64
	Applied        int64
	ErrorVersion   int64
	Desired        string
	PlatformState  string
	LastError      string
	UserID         string
	LeaseUntil     *time.Time
	Jobs           []Job
}

// Job is a converge_plan job of a plan.
type Job struct {
	ID          int64
	State       string
	Version     int64
	Attempt     int
	AttemptedAt *time.Time
	FinalizedAt *time.Time
	Errors      string
}

func (p PlanState) String() string {
	lease := "none"
	if p.LeaseUntil != nil {
		lease = p.LeaseUntil.UTC().Format("15:04:05.000")
	}
	var jobs []string
	for _, j := range p.Jobs {
		at := ""
		if j.AttemptedAt != nil {
			at = " attempted " + j.AttemptedAt.UTC().Format("15:04:05.000")
		}
		if j.FinalizedAt != nil {
			at += " finalized " + j.FinalizedAt.UTC().Format("15:04:05.000")
		}
		if msgs := errMsgRE.FindAllStringSubmatch(j.Errors, -1); len(msgs) > 0 {
			var list []string
			for _, m := range msgs {
				list = append(list, truncate(m[1], 60))
			}
			at += " errors [" + strings.Join(list, ", ") + "]"
		}
		jobs = append(jobs, fmt.Sprintf("#%d %s v%d attempt %d%s", j.ID, j.State, j.Version, j.Attempt, at))
	}
	return fmt.Sprintf("plan %d (%s) desired %q platform_state %q version %d applied %d error_version %d user %q lease_until %s jobs [%s]",
		p.PlanID, p.Product, p.Desired, p.PlatformState, p.Version, p.Applied, p.ErrorVersion, p.UserID, lease, strings.Join(jobs, "; "))
}

// planStates reads the platform plans of services straight from the
// database the child uses (diagnostics only).
func planStates(t *testing.T, s *Server, services []int64) map[int64][]PlanState {
	t.Helper()
	ctx := context.Background()
	db, err := store.OpenRaw(ctx, s.Dialect, s.DSN)
	if err != nil {
		t.Fatalf("open database for diagnostics: %v", err)
	}
	defer db.Close()
	out := map[int64][]PlanState{}
	if len(services) == 0 {
		return out
	}
	ids := make([]string, len(services))
	for i, id := range services {
		ids[i] = fmt.Sprint(id)
	}
	rows, err := db.QueryContext(ctx, `
SELECT s.service_id, s.id, p.id, p.product_code, p.version, p.applied_version, p.error_version,
       p.desired_state, p.platform_state, p.last_error, acc.platform_user_id, p.lease_until
FROM subscriptions s
JOIN accesses a ON a.subscription_id = s.id
JOIN platform_plans p ON p.id = a.plan_id
JOIN platform_accounts acc ON acc.id = p.account_id
WHERE s.service_id IN (`+strings.Join(ids, ",")+`)
ORDER BY s.service_id, p.id`)
	if err != nil {
		t.Fatalf("diagnostics query: %v", err)
	}
	byPlan := map[int64][]*PlanState{}
	var all []*PlanState
	for rows.Next() {
		var p PlanState
		var lease any
		if err := rows.Scan(&p.ServiceID, &p.SubscriptionID, &p.PlanID, &p.Product, &p.Version, &p.Applied, &p.ErrorVersion,
			&p.Desired, &p.PlatformState, &p.LastError, &p.UserID, &lease); err != nil {
			t.Fatalf("diagnostics scan: %v", err)
		}
		p.LeaseUntil = asTime(lease)
		ps := &p
		all = append(all, ps)
		byPlan[p.PlanID] = append(byPlan[p.PlanID], ps)
	}
	_ = rows.Close()
	jsonCol := func(c string) string { return "CAST(" + c + " AS TEXT)" }
	if s.Dialect == store.DialectSQLite {
		jsonCol = func(c string) string { return "json(" + c + ")" } // River stores SQLite jsonb
	}
	jobs, err := db.QueryContext(ctx, `SELECT id, state, `+jsonCol("args")+`, attempt, attempted_at, finalized_at, COALESCE(`+jsonCol("errors")+`, '')
FROM river_job WHERE kind = 'converge_plan' ORDER BY id`)
	if err != nil {
		t.Fatalf("diagnostics jobs query: %v", err)
	}
	for jobs.Next() {
		var j Job
		var args []byte
		var at, fin any
		var errs []byte
		if err := jobs.Scan(&j.ID, &j.State, &args, &j.Attempt, &at, &fin, &errs); err != nil {
			t.Fatalf("diagnostics jobs scan: %v", err)
		}
		j.AttemptedAt = asTime(at)
		j.FinalizedAt = asTime(fin)
		j.Errors = string(errs)
		var a struct {
			PlanID  int64 `json:"plan_id"`
			Version int64 `json:"version"`
		}
		_ = json.Unmarshal(args, &a)
		j.Version = a.Version
		for _, p := range byPlan[a.PlanID] {
			p.Jobs = append(p.Jobs, j)
		}
	}
	_ = jobs.Close()
	for _, p := range all {
		out[p.ServiceID] = append(out[p.ServiceID], *p)
	}
	return out
}

// errMsgRE extracts the messages of River's errors column (a JSON array on
// SQLite, an array of JSON strings on PostgreSQL).
var errMsgRE = regexp.MustCompile(`"error\\?"\s*:\s*\\?"([^"\\]*)`)

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func asTime(v any) *time.Time {
	switch x := v.(type) {
	case time.Time:
		return &x
	case string:
		return parseTime(x)
	case []byte:
		return parseTime(string(x))
	}
	return nil
}

func parseTime(s string) *time.Time {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return &t
		}
	}
	return nil
}

// bugStaleState is the signature of a plan svahub believes converged while
// the platform disagrees, after a call whose outcome svahub never learned.
const bugStaleState = "REGRESSION (fixed by platform_plans.state_uncertain; internal/provision/worker.go, convergeWorker.converge): the worker chooses its platform calls from " +
	"platform_plans.platform_state, which is only what svahub last recorded, and never re-reads the platform. When a call's " +
	"outcome is unknown — the process was SIGKILLed after the platform applied the call but before CompletePlan/NotePlatformState, " +
	"or the call timed out client-side (SVAHUB_PLATFORM_TIMEOUT, HTTP 0) after the platform applied it — the recorded state is " +
	"stale and the next job skips the call the platform needs: reativar only `if state == suspenso`, suspender only " +
	"`if state == ativo`, nothing at all when !exists (state \"\"); then CompletePlan marks the version applied. The API shows " +
	"the desired status (nothing pendente) while the platform has another: e.g. a plan suspended by the lost call stays " +
	"suspenso after the service is re-enabled, or a plan PUT by the lost call stays ativo after the service is suspended or " +
	"cancelled. Only reconcile (every 15 min, 500 plans a run) can notice"

// bugJobTimeout is the signature of work that stalls because its jobs time
// out before reaching the platform.
const bugJobTimeout = "REGRESSION (fixed: JobTimeout = 6 × platform timeout + 10 s; robustness; internal/app/app.go New: po.JobTimeout = 6 * PlatformTimeout, from b95d435): the job " +
	"timeout counts only platform calls, but a job also waits for the database (ClaimPlan, planWork, AccountUser, " +
	"transmissions, CompletePlan — one connection on SQLite) and for the client-side rate limiter. With a small " +
	"SVAHUB_PLATFORM_TIMEOUT (200 ms → JobTimeout 1.2 s) on a busy instance, attempts die with 'context deadline exceeded' " +
	"before any platform call (no transmission recorded), each counts as a failed attempt, and River's backoff " +
	"(1 s × 2^attempt, up to 10 min) then keeps the plan pendente for minutes"

// Verdict splits problems into known bug signatures and unexplained ones.
type Verdict struct {
	Known       map[string][]string // bug → evidence
	Unexplained []Problem
}

// Transmission is one platform call as GET /transmissoes reports it.
type Transmission struct {
	Op       string    `json:"operacao"`
	Outcome  string    `json:"resultado"`
	Status   int       `json:"status_http"`
	Message  string    `json:"mensagem"`
	Duration int64     `json:"duracao_ms"`
	Attempt  int       `json:"tentativa"`
	At       time.Time `json:"data"`
}

func (x Transmission) String() string {
	return fmt.Sprintf("%s %s %s/%d %q %dms", x.At.UTC().Format("15:04:05.000"), x.Op, x.Outcome, x.Status, x.Message, x.Duration)
}

// ambiguous reports a state-changing call that got no answer (timeout).
func (x Transmission) ambiguous() bool {
	return x.Outcome == "erro_temporario" && x.Status == 0 && x.Op != "token" && x.Op != "consultar" && x.Op != "catalogo"
}

func transmissions(t *testing.T, s *Server, subscription int64) []Transmission {
	t.Helper()
	r := s.Call(t, "GET", fmt.Sprintf("/api/v1/transmissoes?id_assinatura=%d&itens_por_pagina=100", subscription), nil, 200)
	var pg Page[Transmission]
	r.JSON(t, &pg)
	slices.Reverse(pg.Items) // oldest first
	return pg.Items
}

// explain looks at the database rows and transmissions behind each
// per-service problem and attributes it to a known bug when they match its
// signature.
func explain(t *testing.T, s *Server, probs []Problem) Verdict {
	t.Helper()
	v := Verdict{Known: map[string][]string{}}
	var ids []int64
	seen := map[int64]bool{}
	for _, p := range probs {
		if p.ServiceID != 0 && !seen[p.ServiceID] {
			seen[p.ServiceID] = true
			ids = append(ids, p.ServiceID)
		}
	}
	states := planStates(t, s, ids)
	for _, p := range probs {
		if p.ServiceID == 0 {
			v.Unexplained = append(v.Unexplained, p)
			continue
		}
		bug := ""
		var evidence []string
		for _, ps := range states[p.ServiceID] {
			var calls []string
			lost := false
			for _, x := range transmissions(t, s, ps.SubscriptionID) {
				calls = append(calls, x.String())
				lost = lost || x.ambiguous()
			}
			applied := ps.Version == ps.Applied && ps.ErrorVersion != ps.Version
			killed := s.jobKilled(ps)
			if applied && ps.Product == "pro" && strings.Contains(p.What, "platform plan pro") && (killed || lost) {
				bug = bugStaleState
			}
			if pending := ps.Version != ps.Applied && ps.ErrorVersion != ps.Version; pending && bug == "" {
				for _, j := range ps.Jobs {
					if j.Version == ps.Version && strings.Count(j.Errors, "context deadline exceeded") >= 2 {
						bug = bugJobTimeout
					}
				}
			}
			evidence = append(evidence, fmt.Sprintf("%s; job killed: %v; calls [%s]", ps, killed, strings.Join(calls, "; ")))
		}
		if bug == "" {
			v.Unexplained = append(v.Unexplained, Problem{p.ServiceID, p.What + " — " + strings.Join(evidence, " | ")})
			continue
		}
		v.Known[bug] = append(v.Known[bug], fmt.Sprintf("service %d: %s — %s", p.ServiceID, p.What, strings.Join(evidence, " | ")))
	}
	return v
}

// jobKilled reports whether a job of the plan was running in a process
// that was SIGKILLed (still running from before the last kill, or rescued).
func (s *Server) jobKilled(ps PlanState) bool {
	last := s.LastKill()
	for _, j := range ps.Jobs {
		if strings.Contains(j.Errors, "Stuck job rescued") {
			return true
		}
		if j.State == "running" && j.AttemptedAt != nil && j.AttemptedAt.Before(last) {
			return true
		}
	}
	return false
}

// report fails on every problem; those matching a signature of a bug
// fixed earlier are reported with that diagnosis and their evidence.
func (v Verdict) report(t *testing.T) {
	t.Helper()
	for i, p := range v.Unexplained {
		if i == 30 {
			t.Errorf("… and %d more", len(v.Unexplained)-30)
			break
		}
		t.Errorf("not converged: %s", p)
	}
	if len(v.Known) == 0 {
		return
	}
	var msg []string
	for bug, ev := range v.Known {
		n := len(ev)
		if len(ev) > 3 {
			ev = ev[:3]
		}
		msg = append(msg, fmt.Sprintf("%s\n  %d problems, e.g.:\n    %s", bug, n, strings.Join(ev, "\n    ")))
	}
	sort.Strings(msg)
	t.Error("regression of a fixed bug:\n" + strings.Join(msg, "\n"))
}
