package webhooksim

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// envelope is a command's body.
type envelope struct {
	Type      string          `json:"type"`
	Timestamp string          `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

type answer struct {
	status int
	body   any
}

func msg(status int, m string) answer { return answer{status, map[string]string{"mensagem": m}} }

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("content-type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// ServeHTTP serves the introspection routes under /_sim/ and takes every
// other POST as a command.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_sim/") {
		s.serveSim(w, r)
		return
	}
	s.mu.Lock()
	latency := s.latency
	s.mu.Unlock()
	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			return
		}
	}
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"mensagem": "use POST"})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"mensagem": "corpo ilegível"})
		return
	}
	id, ts, status, m := s.Verify(r.Header, body)
	if status != 0 {
		writeJSON(w, status, map[string]string{"mensagem": m})
		return
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil || env.Type == "" || len(env.Data) == 0 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"mensagem": "corpo deve ser {\"type\", \"timestamp\", \"data\"}"})
		return
	}
	ans, retryAfter := s.receive(Request{ID: id, Type: env.Type, Timestamp: ts, Data: env.Data, UserAgent: r.UserAgent()})
	if retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	}
	if raw, ok := ans.body.([]byte); ok {
		w.Header().Set("content-type", "application/json")
		w.WriteHeader(ans.status)
		_, _ = w.Write(raw)
		return
	}
	writeJSON(w, ans.status, ans.body)
}

// receive deduplicates, injects failures and applies one verified request.
func (s *Sim) receive(req Request) (answer, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := digest(req.Type, req.Data)
	if rec, ok := s.seen[req.ID]; ok {
		if rec.digest != d {
			req.Status = http.StatusBadRequest
			s.received = append(s.received, req)
			return msg(http.StatusBadRequest, "webhook-id já recebido com outro conteúdo"), 0
		}
		req.Status, req.Duplicate = rec.status, true
		s.received = append(s.received, req)
		return answer{rec.status, rec.body}, 0
	}
	if f := s.takeFailure(req.Type); f != nil {
		req.Status, req.Injected = f.status, true
		s.received = append(s.received, req)
		ra := 0
		if f.status == http.StatusTooManyRequests || f.status == http.StatusServiceUnavailable {
			ra = f.retryAfter
		}
		return msg(f.status, "falha injetada"), ra
	}
	ans := s.apply(req.Type, req.Data)
	raw, _ := json.Marshal(ans.body)
	s.seen[req.ID] = recorded{digest: d, status: ans.status, body: raw}
	if ans.status < 300 {
		s.applied[req.Type]++
	}
	if s.takeLoss(req.Type) {
		req.Status, req.Injected = http.StatusServiceUnavailable, true
		s.received = append(s.received, req)
		return msg(http.StatusServiceUnavailable, "resposta perdida (injetada)"), 0
	}
	req.Status = ans.status
	s.received = append(s.received, req)
	return answer{ans.status, raw}, 0
}

func (s *Sim) takeFailure(typ string) *failure {
	for i, f := range s.failures {
		if f.typ == "" || f.typ == typ {
			f.n--
			if f.n <= 0 {
				s.failures = append(s.failures[:i], s.failures[i+1:]...)
			}
			return f
		}
	}
	return nil
}

func (s *Sim) takeLoss(typ string) bool {
	for _, k := range []string{typ, ""} {
		if s.lossy[k] > 0 {
			s.lossy[k]--
			return true
		}
	}
	return false
}

// planData is the data of the plano.* commands.
type planData struct {
	Referencia    string  `json:"referencia"`
	Usuario       string  `json:"usuario"`
	Produto       string  `json:"produto"`
	DataExpiracao *string `json:"data_expiracao"`
}

// apply runs one command on the state (s.mu held).
func (s *Sim) apply(typ string, data json.RawMessage) answer {
	switch typ {
	case "integracao.teste":
		return answer{http.StatusOK, map[string]string{"mensagem": "ok"}}
	case "usuario.criar":
		return s.createUser(data)
	}
	var pd planData
	if err := json.Unmarshal(data, &pd); err != nil {
		return msg(http.StatusBadRequest, "data inválido")
	}
	if strings.TrimSpace(pd.Referencia) == "" || strings.TrimSpace(pd.Produto) == "" {
		return msg(http.StatusUnprocessableEntity, "referencia e produto são obrigatórios")
	}
	u := s.users[pd.Referencia]
	if u == nil {
		return msg(http.StatusNotFound, "usuário não encontrado")
	}
	if pd.Usuario != u.Usuario {
		return msg(http.StatusUnprocessableEntity, "usuario não confere com a referencia")
	}
	if typ == "plano.ativar" || typ == "plano.atualizar_expiracao" {
		var members map[string]json.RawMessage
		_ = json.Unmarshal(data, &members)
		if _, ok := members["data_expiracao"]; !ok {
			return msg(http.StatusUnprocessableEntity, "data_expiracao é obrigatório (null sem expiração)")
		}
	}
	return s.applyPlan(typ, u, pd)
}

// applyPlan runs one plano.* command on u's plan of pd.Produto (s.mu held).
func (s *Sim) applyPlan(typ string, u *User, pd planData) answer {
	k := planKey{u.Referencia, pd.Produto}
	p := s.plans[k]
	switch typ {
	case "plano.ativar":
		if p == nil {
			p = &Plan{Referencia: u.Referencia, Usuario: u.Usuario, Produto: pd.Produto}
			s.plans[k] = p
			s.order = append(s.order, k)
		}
		p.Status, p.DataExpiracao = StatusActive, deref(pd.DataExpiracao)
	case "plano.atualizar_expiracao":
		if p == nil || p.Status == StatusCancelled {
			return msg(http.StatusNotFound, "plano não encontrado")
		}
		p.DataExpiracao = deref(pd.DataExpiracao)
	case "plano.cancelar":
		if p == nil {
			return answer{http.StatusOK, map[string]string{"status": StatusCancelled}}
		}
		p.Status = StatusCancelled
	case "plano.suspender", "plano.reativar":
		if p == nil || p.Status == StatusCancelled {
			return msg(http.StatusNotFound, "plano não encontrado")
		}
		p.Status = StatusSuspended
		if typ == "plano.reativar" {
			p.Status = StatusActive
		}
	default:
		return msg(http.StatusBadRequest, "type desconhecido: "+typ)
	}
	return answer{http.StatusOK, map[string]string{"status": p.Status, "data_expiracao": p.DataExpiracao}}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// createUser applies usuario.criar: 201 {"id_usuario"}; 409 with the
// existing id_usuario when the referencia exists; 422 when the usuario
// belongs to another referencia.
func (s *Sim) createUser(data json.RawMessage) answer {
	var u User
	if err := json.Unmarshal(data, &u); err != nil {
		return msg(http.StatusBadRequest, "data inválido")
	}
	if u.Referencia == "" || u.Usuario == "" || u.Senha == "" || u.Nome == "" {
		return msg(http.StatusUnprocessableEntity, "referencia, usuario, senha e nome são obrigatórios")
	}
	if old := s.users[u.Referencia]; old != nil {
		return answer{http.StatusConflict, map[string]string{"mensagem": "referencia já existe", "id_usuario": old.ID}}
	}
	if s.byLogin[u.Usuario] != nil {
		// Not 409: that answer adopts the account (WEBHOOK.md).
		return msg(http.StatusUnprocessableEntity, "usuario "+u.Usuario+" já em uso por outra referencia")
	}
	s.nextID++
	u.ID = "u_" + strconv.Itoa(s.nextID) // opaque, like a real platform's
	s.users[u.Referencia], s.byLogin[u.Usuario] = &u, &u
	return answer{http.StatusCreated, map[string]string{"id_usuario": u.ID}}
}

// serveSim serves the /_sim/ introspection routes.
func (s *Sim) serveSim(w http.ResponseWriter, r *http.Request) {
	route := r.Method + " " + strings.TrimPrefix(r.URL.Path, "/_sim")
	switch route {
	case "GET /usuarios":
		writeJSON(w, http.StatusOK, s.Users())
	case "GET /planos":
		writeJSON(w, http.StatusOK, s.Plans())
	case "GET /recebidas":
		writeJSON(w, http.StatusOK, s.Received())
	case "POST /reset":
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	case "POST /falhas":
		var f struct {
			Tipo       string `json:"tipo"`
			Status     int    `json:"status"`
			N          int    `json:"n"`
			RetryAfter int    `json:"retry_after_s"`
		}
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil || f.Status < 400 || f.Status > 599 || f.N < 1 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"mensagem": "use {\"tipo\", \"status\" (4xx/5xx), \"n\" (≥1), \"retry_after_s\"}"})
			return
		}
		s.FailNextRetryAfter(f.Tipo, f.Status, f.N, f.RetryAfter)
		w.WriteHeader(http.StatusNoContent)
	case "POST /latencia":
		var l struct {
			MS int `json:"latencia_ms"`
		}
		if err := json.NewDecoder(r.Body).Decode(&l); err != nil || l.MS < 0 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"mensagem": "use {\"latencia_ms\": n}"})
			return
		}
		s.SetLatency(time.Duration(l.MS) * time.Millisecond)
		w.WriteHeader(http.StatusNoContent)
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"mensagem": "rota desconhecida"})
	}
}
