package modeltest

import (
	"flag"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/riverqueue/river/rivertype"
)

func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func setFlag(t *testing.T, name, v string) {
	if err := flag.Set(name, v); err != nil {
		t.Fatalf("flag %s: %v", name, err)
	}
}

// check runs after every action: the work drains, the model converges,
// and everything visible must equal the model.
func (mc *machine) check(t tb) {
	mc.steps++
	mc.w.drain()
	mc.m.converge()
	mc.checkSubscriptions(t)
	mc.checkBilling(t)
	mc.checkPlatform(t)
}

// final runs after the sequence: faults off, the integration resumed, the
// work drained, then the same checks and no job left failing.
func (mc *machine) final(t tb) {
	mc.applyFault("off")
	if mc.paused {
		mc.pauseResume(t)
	}
	mc.check(t)
	if jobs := mc.w.jobs(rivertype.JobStateDiscarded); len(jobs) > 0 {
		t.Fatalf("%d convergence job(s) discarded after failing every attempt: %v", len(jobs), jobs[0].Errors)
	}
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func (mc *machine) checkSubscriptions(t tb) {
	for _, id := range mc.m.serviceIDs() {
		s := mc.m.services[id]
		got := mc.w.must(200, "GET", fmt.Sprintf("/servicos/%d", id), nil)
		if got["status_prefixo"] != s.status {
			t.Fatalf("service %d: status_prefixo %v, model %s", id, got["status_prefixo"], s.status)
		}
		real := map[int64]map[string]any{}
		var ids []int64
		for _, raw := range got["pacotes"].([]any) {
			r := raw.(map[string]any)
			rid := int64(r["id_assinatura"].(float64))
			real[rid] = r
			ids = append(ids, rid)
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		bound := map[int64]bool{}
		for _, sub := range s.subs {
			if sub.id != 0 {
				bound[sub.id] = true
			}
		}
		for _, sub := range s.subs { // bind the plano subscriptions svahub attached
			if sub.id != 0 {
				continue
			}
			for _, rid := range ids {
				r := real[rid]
				if !bound[rid] && int64(r["id_pacote"].(float64)) == mc.m.packages[sub.pkg].id && r["origem"] == sub.origin {
					sub.id, bound[rid] = rid, true
					break
				}
			}
			if sub.id == 0 {
				t.Fatalf("service %d: the model has a live %s subscription of package %d that svahub lacks; svahub has %s",
					id, sub.origin, sub.pkg, describe(got["pacotes"]))
			}
		}
		for _, rid := range ids {
			if !bound[rid] {
				t.Fatalf("service %d: svahub has subscription %s that the model lacks", id, describe([]any{real[rid]}))
			}
		}
		for _, sub := range s.subs {
			mc.compareSub(t, sub, real[sub.id])
		}
	}
}

func (mc *machine) compareSub(t tb, sub *mSub, r map[string]any) {
	var diffs []string
	eq := func(field string, got any, want string) {
		if str(got) != want {
			diffs = append(diffs, fmt.Sprintf("%s=%v (model %q)", field, str(got), want))
		}
	}
	eq("origem", r["origem"], sub.origin)
	eq("valor", r["valor"], money(sub.cents))
	eq("data_expiracao", r["data_expiracao"], string(sub.expires))
	canc := str(r["data_cancelamento"])
	if len(canc) > 10 {
		canc = canc[:10]
	}
	eq("data_cancelamento", canc, string(sub.cancelled))
	if !mc.paused || !sub.live() {
		want := mc.m.subStatus(sub)
		eq("status", r["status"], want)
		// ultimo_erro: set while an error is unresolved, also once the
		// subscription is cancelled (cancelling resolves nothing).
		if failed := mc.m.failed(sub); failed != (str(r["ultimo_erro"]) != "") {
			diffs = append(diffs, fmt.Sprintf("ultimo_erro %q on a %s subscription (model: error %v)", r["ultimo_erro"], want, failed))
		}
	}
	if len(diffs) > 0 {
		t.Fatalf("subscription %d (service %d, package %d, %s): %s\nsvahub: %s", sub.id, sub.svc.id, sub.pkg, sub.origin,
			strings.Join(diffs, "; "), describe([]any{r}))
	}
}

func describe(v any) string {
	list, _ := v.([]any)
	var b strings.Builder
	for _, raw := range list {
		r := raw.(map[string]any)
		fmt.Fprintf(&b, "\n  #%v pacote=%v %v valor=%v exp=%v status=%v canc=%v erro=%q acessos=[", r["id_assinatura"], r["id_pacote"], r["origem"],
			r["valor"], r["data_expiracao"], r["status"], r["data_cancelamento"], r["ultimo_erro"])
		accs, _ := r["acessos"].([]any)
		for _, a := range accs {
			am := a.(map[string]any)
			fmt.Fprintf(&b, " %v@%v desejado=%v plataforma=%v erro=%q;", am["codigo_produto"], am["usuario_plataforma"], am["estado_desejado"],
				am["estado_plataforma"], am["ultimo_erro"])
		}
		b.WriteString("]")
	}
	return b.String()
}

func (mc *machine) checkBilling(t tb) {
	months := make([]string, 0, len(mc.months))
	for m := range mc.months {
		months = append(months, m)
	}
	sort.Strings(months)
	for _, month := range months {
		want := mc.m.billing(month)
		got := mc.w.must(200, "GET", "/cobrancas?itens_por_pagina=500&competencia="+month, nil)
		seen := map[int64]bool{}
		for _, raw := range got["itens"].([]any) {
			it := raw.(map[string]any)
			id := int64(it["id_assinatura"].(float64))
			seen[id] = true
			w, ok := want[id]
			if !ok {
				t.Fatalf("billing %s bills subscription %d that the model does not: %v", month, id, it)
			}
			g := billItem{days: int(it["dias_cobrados"].(float64)), daysInMonth: int(it["dias_no_mes"].(float64)),
				cents: cents(str(it["valor"])), prorated: cents(str(it["valor_proporcional"]))}
			if g != w {
				t.Fatalf("billing %s, subscription %d: got %+v, model %+v", month, id, g, w)
			}
		}
		for id, w := range want {
			if !seen[id] {
				t.Fatalf("billing %s lacks subscription %d: model %+v", month, id, w)
			}
		}
	}
}

func (mc *machine) checkPlatform(t tb) {
	today := string(mc.m.today)
	users := map[string]bool{}
	for _, u := range mc.w.sim.Users() {
		users[u.Username] = true
		acc := mc.m.accounts[u.Username]
		if acc == nil || !acc.created {
			t.Fatalf("platform user %q exists; the model has no such account", u.Username)
		}
		if u.CreateCalls != 1 {
			t.Fatalf("platform user %q created %d times", u.Username, u.CreateCalls)
		}
		if u.CreateConflicts > 0 && !mc.timeouts {
			// Only a create whose answer was lost (a timeout) may be
			// sent again; otherwise credentials went out twice.
			t.Fatalf("platform user %q: credentials sent again (%d refused creates) with no lost answer", u.Username, u.CreateConflicts)
		}
		if acc.password != "" && u.Password != acc.password || acc.password == "" && !acc.candidates[u.Password] {
			t.Fatalf("platform user %q has password %q; model %q or one of %v (credentials re-sent, or of a service that did not want the plan)", u.Username, u.Password, acc.password, acc.candidates)
		}
		got := map[string]string{}
		for _, p := range u.Plans {
			got[p.Product] = p.Status + " " + p.ExpiresOn
		}
		want := map[string]string{}
		for k, p := range mc.m.plans {
			user, code, _ := strings.Cut(k, "\x00")
			if user != u.Username || !p.created {
				continue
			}
			st := p.status
			if st == stActive && string(p.expiry) < today {
				st = "expirado"
			}
			want[code] = st + " " + string(p.expiry)
		}
		for code, w := range want {
			g := got[code]
			if strings.HasPrefix(w, "cancelado") && strings.HasPrefix(g, "cancelado") {
				continue // the date of a cancelled plan is not compared
			}
			if g != w {
				t.Fatalf("platform plan %s/%s: %q, model %q (all: %v)", u.Username, code, g, w, got)
			}
		}
		for code, g := range got {
			if _, ok := want[code]; !ok {
				t.Fatalf("platform plan %s/%s %q that the model lacks", u.Username, code, g)
			}
		}
	}
	for u, a := range mc.m.accounts {
		if a.created && !users[u] {
			t.Fatalf("the model has platform user %q; the platform does not", u)
		}
	}
}
