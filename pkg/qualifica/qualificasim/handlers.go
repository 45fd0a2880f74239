package qualificasim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/svahub/svahub/pkg/qualifica"
)

// Codes used by the simulator besides those of the contract.
const (
	codeUnavailable = "servico_indisponivel"
	codeTimeout     = "tempo_esgotado"
	codeNoRoute     = "rota_inexistente"
	codeBadMethod   = "metodo_nao_permitido"
)

func (s *Sim) routes() {
	m := http.NewServeMux()
	route := func(method, path, op string, auth bool, h http.HandlerFunc) {
		m.Handle(method+" "+path, s.api(op, auth, h))
		m.HandleFunc(path, methodNotAllowed(method))
	}
	route(http.MethodPost, "/oauth/token", OpToken, false, s.handleToken)
	route(http.MethodGet, "/v1/produtos", OpProducts, true, s.handleProducts)
	m.Handle("POST /v1/usuarios", s.api(OpCreateUser, true, s.handleCreateUser))
	m.Handle("GET /v1/usuarios", s.api(OpQuery, true, s.handleFindUsers))
	m.HandleFunc("/v1/usuarios", methodNotAllowed(http.MethodGet, http.MethodPost))
	route(http.MethodGet, "/v1/usuarios/{id}", OpQuery, true, s.handleGetUser)
	m.Handle("PUT /v1/usuarios/{id}/planos/{produto}", s.api(OpPutPlan, true, s.handlePutPlan))
	m.Handle("DELETE /v1/usuarios/{id}/planos/{produto}", s.api(OpCancel, true, s.handleCancel))
	m.HandleFunc("/v1/usuarios/{id}/planos/{produto}", methodNotAllowed(http.MethodPut, http.MethodDelete))
	route(http.MethodPost, "/v1/usuarios/{id}/planos/{produto}/suspender", OpSuspend, true, s.handleSuspend)
	route(http.MethodPost, "/v1/usuarios/{id}/planos/{produto}/reativar", OpReactivate, true, s.handleReactivate)

	m.HandleFunc("GET /_sim/usuarios", s.handleSimUsers)
	m.HandleFunc("POST /_sim/usuarios/{usuario}/senha", s.handleSimPassword)
	m.HandleFunc("POST /_sim/revogar", func(w http.ResponseWriter, _ *http.Request) {
		s.RevokeTokens()
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("POST /_sim/reset", func(w http.ResponseWriter, _ *http.Request) {
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("GET /_sim/chamadas", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Calls())
	})
	m.HandleFunc("GET /_sim/falhas", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.knobs())
	})
	m.HandleFunc("POST /_sim/falhas", s.handleSimFaults)

	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, http.StatusNotFound, codeNoRoute, fmt.Sprintf("rota %s %s inexistente", r.Method, r.URL.Path))
	})
	s.mux = m
}

func methodNotAllowed(allowed ...string) http.HandlerFunc {
	allow := strings.Join(allowed, ", ")
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeErr(w, http.StatusMethodNotAllowed, codeBadMethod, fmt.Sprintf("método %s não permitido (use %s)", r.Method, allow))
	}
}

// api wraps a contract handler: call counting, latency, fault injection,
// per-client rate limit and, when auth is set, the bearer token check.
func (s *Sim) api(op string, auth bool, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		s.count(op)
		latency, f := s.draw(op != OpToken || !s.opts.NoTokenFaults)
		if !s.sleep(r.Context(), latency) {
			writeErr(w, http.StatusServiceUnavailable, codeUnavailable, "serviço temporariamente indisponível")
			return
		}
		switch f {
		case fault5xx:
			s.count(Call5xx)
			writeErr(w, http.StatusServiceUnavailable, codeUnavailable, "serviço temporariamente indisponível")
			return
		case faultTimeout:
			s.count(CallTimeout)
			s.sleep(r.Context(), s.timeoutDelay)
			writeErr(w, http.StatusGatewayTimeout, codeTimeout, "tempo de resposta esgotado")
			return
		}

		var clientID string
		var tokenOK bool
		if auth {
			clientID, tokenOK = s.tokenClient(bearerToken(r))
		} else if isForm(r) && r.ParseForm() == nil {
			clientID = r.PostForm.Get("client_id")
		}
		if clientID != "" && !s.allow(clientID) {
			s.count(Call429)
			w.Header().Set("Retry-After", "1")
			writeErr(w, http.StatusTooManyRequests, qualifica.CodeRateLimited, "limite de requisições excedido; tente novamente em 1 segundo")
			return
		}
		if auth && !tokenOK {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			writeErr(w, http.StatusUnauthorized, qualifica.CodeInvalidToken, "token de acesso ausente, inválido, expirado ou revogado")
			return
		}
		h(w, r)
	})
}

func bearerToken(r *http.Request) string {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

func mediaType(r *http.Request) string {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	return strings.ToLower(mt)
}

func isForm(r *http.Request) bool { return mediaType(r) == "application/x-www-form-urlencoded" }

// --- contract handlers ---

func (s *Sim) handleToken(w http.ResponseWriter, r *http.Request) {
	if !isForm(r) {
		writeErr(w, http.StatusBadRequest, qualifica.CodeBadRequest, "Content-Type deve ser application/x-www-form-urlencoded")
		return
	}
	if err := r.ParseForm(); err != nil {
		writeErr(w, http.StatusBadRequest, qualifica.CodeBadRequest, "corpo do formulário inválido")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		writeErr(w, http.StatusBadRequest, qualifica.CodeBadRequest, "grant_type deve ser client_credentials")
		return
	}
	clientID, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if clientID == "" || secret == "" || !s.checkClient(clientID, secret) {
		writeErr(w, http.StatusUnauthorized, qualifica.CodeInvalidCredentials, "client_id ou client_secret inválido")
		return
	}
	tok, ttl := s.issueToken(clientID)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok,
		"token_type":   "Bearer",
		"expires_in":   int(ttl / time.Second),
	})
}

func (s *Sim) handleProducts(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"produtos": s.opts.Catalogue})
}

type createUserBody struct {
	Username  string `json:"usuario"`
	Password  string `json:"senha"`
	Name      string `json:"nome"`
	Document  string `json:"cpf_cnpj"`
	Email     string `json:"email"`
	Phone     string `json:"telefone"`
	Reference string `json:"referencia"`
}

type userBody struct {
	ID        string           `json:"id"`
	Username  string           `json:"usuario"`
	Reference string           `json:"referencia"`
	Plans     []qualifica.Plan `json:"planos"`
}

func (u *user) api(today string) userBody {
	return userBody{ID: u.ID, Username: u.Username, Reference: u.Reference, Plans: u.apiPlans(today)}
}

func (s *Sim) handleCreateUser(w http.ResponseWriter, r *http.Request) {
	var in createUserBody
	if !decodeJSON(w, r, &in) {
		return
	}
	for _, f := range []struct{ name, value string }{
		{"usuario", in.Username}, {"senha", in.Password}, {"nome", in.Name}, {"referencia", in.Reference},
	} {
		if strings.TrimSpace(f.value) == "" {
			writeErr(w, http.StatusUnprocessableEntity, qualifica.CodeInvalidData, fmt.Sprintf("campo '%s' é obrigatório", f.name))
			return
		}
	}
	if in.Document != "" && !validDocument(in.Document) {
		writeErr(w, http.StatusUnprocessableEntity, qualifica.CodeInvalidData, "cpf_cnpj inválido: informe 11 (CPF) ou 14 (CNPJ) dígitos")
		return
	}
	if in.Email != "" && !strings.Contains(in.Email, "@") {
		writeErr(w, http.StatusUnprocessableEntity, qualifica.CodeInvalidData, "email inválido")
		return
	}

	s.mu.Lock()
	if existing, ok := s.byUsername[in.Username]; ok {
		existing.CreateConflicts++
		body := map[string]string{
			"codigo":   qualifica.CodeUserExists,
			"mensagem": fmt.Sprintf("usuário '%s' já existe", in.Username),
			"id":       existing.ID,
		}
		if !s.opts.ConflictOmitsReference {
			body["referencia"] = existing.Reference
		}
		s.mu.Unlock()
		writeJSON(w, http.StatusConflict, body)
		return
	}
	s.nextID++
	u := &user{SimUser: SimUser{
		ID:          fmt.Sprintf("u_%06d", s.nextID),
		Username:    in.Username,
		Password:    in.Password,
		Reference:   in.Reference,
		Name:        in.Name,
		Document:    in.Document,
		Email:       in.Email,
		Phone:       in.Phone,
		CreateCalls: 1,
	}}
	s.users = append(s.users, u)
	s.byID[u.ID] = u
	s.byUsername[u.Username] = u
	out := u.api(s.today())
	s.mu.Unlock()

	w.Header().Set("Location", "/v1/usuarios/"+url.PathEscape(out.ID))
	writeJSON(w, http.StatusCreated, out)
}

func validDocument(d string) bool {
	if len(d) != 11 && len(d) != 14 {
		return false
	}
	for _, c := range d {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func (s *Sim) handleFindUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k := range q {
		if k != "referencia" && k != "usuario" {
			writeErr(w, http.StatusBadRequest, qualifica.CodeBadRequest, fmt.Sprintf("parâmetro '%s' desconhecido", k))
			return
		}
	}
	ref, username := q.Get("referencia"), q.Get("usuario")
	if ref == "" && username == "" {
		writeErr(w, http.StatusBadRequest, qualifica.CodeBadRequest, "informe referencia ou usuario")
		return
	}
	s.mu.Lock()
	today := s.today()
	found := []userBody{}
	for _, u := range s.users {
		if (ref == "" || u.Reference == ref) && (username == "" || u.Username == username) {
			found = append(found, u.api(today))
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"usuarios": found})
}

func (s *Sim) handleGetUser(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	u, ok := s.byID[r.PathValue("id")]
	var out userBody
	if ok {
		out = u.api(s.today())
	}
	s.mu.Unlock()
	if !ok {
		writeUserNotFound(w, r.PathValue("id"))
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func writeUserNotFound(w http.ResponseWriter, id string) {
	writeErr(w, http.StatusNotFound, qualifica.CodeUserNotFound, fmt.Sprintf("usuário '%s' não encontrado", id))
}

func writePlanNotFound(w http.ResponseWriter, product string) {
	writeErr(w, http.StatusNotFound, qualifica.CodePlanNotFound, fmt.Sprintf("plano '%s' não encontrado para o usuário", product))
}

func (s *Sim) handlePutPlan(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ExpiresOn string `json:"data_expiracao"`
	}
	if !decodeJSON(w, r, &in) {
		return
	}
	id, product := r.PathValue("id"), r.PathValue("produto")

	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.byID[id]
	if !ok {
		writeUserNotFound(w, id)
		return
	}
	if _, ok := s.products[product]; !ok {
		writeErr(w, http.StatusUnprocessableEntity, qualifica.CodeInvalidProduct, fmt.Sprintf("produto '%s' não existe no catálogo", product))
		return
	}
	today := s.today()
	if in.ExpiresOn == "" {
		writeErr(w, http.StatusUnprocessableEntity, qualifica.CodeInvalidDate, "data_expiracao é obrigatória")
		return
	}
	if d, err := time.Parse(qualifica.DateLayout, in.ExpiresOn); err != nil || d.Format(qualifica.DateLayout) != in.ExpiresOn {
		writeErr(w, http.StatusUnprocessableEntity, qualifica.CodeInvalidDate, fmt.Sprintf("data_expiracao '%s' inválida: use AAAA-MM-DD", in.ExpiresOn))
		return
	}
	if in.ExpiresOn < today {
		writeErr(w, http.StatusUnprocessableEntity, qualifica.CodeInvalidDate, fmt.Sprintf("data_expiracao '%s' é anterior a hoje (%s)", in.ExpiresOn, today))
		return
	}
	p := u.plan(product)
	switch {
	case p == nil:
		p = &plan{product: product, status: qualifica.StatusActive}
		u.plans = append(u.plans, p)
	case p.status == qualifica.StatusCancelled:
		p.status = qualifica.StatusActive
	}
	p.expires = in.ExpiresOn
	writeJSON(w, http.StatusOK, p.api(today))
}

// existingPlan finds the plan of the request's user and product, or
// answers 404 and returns nil. The caller holds s.mu.
func (s *Sim) existingPlan(w http.ResponseWriter, r *http.Request) *plan {
	id, product := r.PathValue("id"), r.PathValue("produto")
	u, ok := s.byID[id]
	if !ok {
		writeUserNotFound(w, id)
		return nil
	}
	p := u.plan(product)
	if p == nil {
		writePlanNotFound(w, product)
	}
	return p
}

// planTransition serves suspender and reativar.
func (s *Sim) planTransition(w http.ResponseWriter, r *http.Request, status string) {
	product := r.PathValue("produto")
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.existingPlan(w, r)
	if p == nil {
		return
	}
	if p.status == qualifica.StatusCancelled {
		writeErr(w, http.StatusConflict, qualifica.CodePlanCancelled, fmt.Sprintf("plano '%s' está cancelado; crie-o novamente com PUT", product))
		return
	}
	p.status = status
	writeJSON(w, http.StatusOK, p.api(s.today()))
}

func (s *Sim) handleSuspend(w http.ResponseWriter, r *http.Request) {
	s.planTransition(w, r, qualifica.StatusSuspended)
}

func (s *Sim) handleReactivate(w http.ResponseWriter, r *http.Request) {
	s.planTransition(w, r, qualifica.StatusActive)
}

func (s *Sim) handleCancel(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.existingPlan(w, r)
	if p == nil {
		return
	}
	p.status = qualifica.StatusCancelled
	w.WriteHeader(http.StatusNoContent)
}

// --- introspection handlers ---

func (s *Sim) handleSimUsers(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Users())
}

func (s *Sim) handleSimPassword(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Password string `json:"senha"`
	}
	if !decodeJSON(w, r, &in) {
		return
	}
	if in.Password == "" {
		writeErr(w, http.StatusUnprocessableEntity, qualifica.CodeInvalidData, "campo 'senha' é obrigatório")
		return
	}
	if err := s.SetPassword(r.PathValue("usuario"), in.Password); err != nil {
		writeErr(w, http.StatusNotFound, qualifica.CodeUserNotFound, fmt.Sprintf("usuário '%s' não encontrado", r.PathValue("usuario")))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type knobs struct {
	FailRate    float64 `json:"taxa_5xx"`
	TimeoutRate float64 `json:"taxa_timeout"`
	LatencyMS   int64   `json:"latencia_ms"`
	RateLimit   float64 `json:"limite_rps"`
}

func (s *Sim) knobs() knobs {
	s.mu.Lock()
	defer s.mu.Unlock()
	return knobs{s.failRate, s.timeoutRate, s.latency.Milliseconds(), s.rateLimit}
}

func (s *Sim) handleSimFaults(w http.ResponseWriter, r *http.Request) {
	var in struct {
		FailRate    *float64 `json:"taxa_5xx"`
		TimeoutRate *float64 `json:"taxa_timeout"`
		LatencyMS   *int64   `json:"latencia_ms"`
		RateLimit   *float64 `json:"limite_rps"`
	}
	if !decodeJSON(w, r, &in) {
		return
	}
	for _, rate := range []*float64{in.FailRate, in.TimeoutRate} {
		if rate != nil && (*rate < 0 || *rate > 1) {
			writeErr(w, http.StatusUnprocessableEntity, qualifica.CodeInvalidData, "taxas devem estar entre 0 e 1")
			return
		}
	}
	if (in.LatencyMS != nil && *in.LatencyMS < 0) || (in.RateLimit != nil && *in.RateLimit < 0) {
		writeErr(w, http.StatusUnprocessableEntity, qualifica.CodeInvalidData, "latencia_ms e limite_rps não podem ser negativos")
		return
	}
	cur := s.knobs()
	if in.FailRate != nil || in.TimeoutRate != nil {
		fr, tr := cur.FailRate, cur.TimeoutRate
		if in.FailRate != nil {
			fr = *in.FailRate
		}
		if in.TimeoutRate != nil {
			tr = *in.TimeoutRate
		}
		s.SetFaults(fr, tr)
	}
	if in.LatencyMS != nil {
		s.SetLatency(time.Duration(*in.LatencyMS) * time.Millisecond)
	}
	if in.RateLimit != nil {
		s.SetRateLimit(*in.RateLimit)
	}
	writeJSON(w, http.StatusOK, s.knobs())
}

// --- helpers ---

// decodeJSON reads a strict JSON body into v, answering 400 when it cannot.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if mediaType(r) != "application/json" {
		writeErr(w, http.StatusBadRequest, qualifica.CodeBadRequest, "Content-Type deve ser application/json")
		return false
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeErr(w, http.StatusBadRequest, qualifica.CodeBadRequest, "JSON inválido: "+describeJSONError(err))
		return false
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		writeErr(w, http.StatusBadRequest, qualifica.CodeBadRequest, "JSON inválido: conteúdo após o objeto")
		return false
	}
	return true
}

func describeJSONError(err error) string {
	var typeErr *json.UnmarshalTypeError
	var maxErr *http.MaxBytesError
	msg := err.Error()
	switch {
	case errors.Is(err, io.EOF):
		return "corpo vazio"
	case errors.As(err, &maxErr):
		return "corpo grande demais"
	case errors.As(err, &typeErr):
		return fmt.Sprintf("campo '%s' deve ser %s", typeErr.Field, typeErr.Type)
	case strings.HasPrefix(msg, "json: unknown field "):
		return "campo desconhecido " + strings.TrimPrefix(msg, "json: unknown field ")
	}
	return "sintaxe inválida"
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"codigo":"erro_interno","mensagem":"erro interno do simulador"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func writeErr(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]string{"codigo": code, "mensagem": message})
}
