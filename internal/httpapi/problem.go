package httpapi

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/svahub/svahub/internal/svahub"
)

// Problem is an RFC 9457 problem document.
type Problem struct {
	// Tipo do problema (urn:svahub:problema:…): identifica o erro para o código cliente.
	Type string `json:"type" example:"urn:svahub:problema:dados-invalidos"`
	// Título do tipo de problema.
	Title string `json:"title" example:"Dados inválidos"`
	// Status HTTP da resposta.
	Status int `json:"status" example:"422"`
	// Explicação legível deste erro, em português.
	Detail string `json:"detail" example:"dados inválidos"`
	// Caminho da requisição que falhou.
	Instance string `json:"instance,omitempty" example:"/api/v1/pacotes"`
	// Erros por campo (dados inválidos, impedimentos).
	Errors []svahub.FieldError `json:"erros,omitempty"`
	// Códigos de produto que a plataforma aceita, quando o código enviado não existe nela.
	CodigosValidos []string `json:"codigos_validos,omitempty" example:"basico,pro"`
	// Id da requisição (também no cabeçalho X-Request-Id), para procurar nos logs.
	RequestID string `json:"request_id,omitempty" example:"4f2a9c1e0b7d3a5f6e8c2d1b"`
}

type problemKind struct {
	status int
	slug   string
	title  string
}

// problemKinds maps every domain error code to its HTTP status, in one place.
var problemKinds = map[string]problemKind{
	svahub.EBADREQUEST:   {http.StatusBadRequest, "requisicao-invalida", "Requisição inválida"},
	svahub.EUNAUTHORIZED: {http.StatusUnauthorized, "nao-autenticado", "Não autenticado"},
	svahub.EFORBIDDEN:    {http.StatusForbidden, "proibido", "Acesso negado"},
	svahub.ENOTFOUND:     {http.StatusNotFound, "nao-encontrado", "Não encontrado"},
	svahub.ECONFLICT:     {http.StatusConflict, "conflito", "Conflito"},
	svahub.EINVALID:      {http.StatusUnprocessableEntity, "dados-invalidos", "Dados inválidos"},
	svahub.EUNAVAILABLE:  {http.StatusServiceUnavailable, "indisponivel", "Serviço indisponível"},
	svahub.EINTERNAL:     {http.StatusInternalServerError, "erro-interno", "Erro interno"},
}

// statusKinds covers errors raised by Echo itself (routing, body limit…).
var statusKinds = map[int]problemKind{
	http.StatusMethodNotAllowed:      {http.StatusMethodNotAllowed, "metodo-nao-permitido", "Método não permitido"},
	http.StatusRequestEntityTooLarge: {http.StatusRequestEntityTooLarge, "corpo-muito-grande", "Corpo da requisição muito grande"},
	http.StatusUnsupportedMediaType:  {http.StatusUnsupportedMediaType, "tipo-de-midia-nao-suportado", "Tipo de mídia não suportado"},
	http.StatusTooManyRequests:       {http.StatusTooManyRequests, "muitas-requisicoes", "Muitas requisições"},
}

var statusMessages = map[int]string{
	http.StatusNotFound:              "rota não encontrada",
	http.StatusMethodNotAllowed:      "método não permitido nesta rota",
	http.StatusRequestEntityTooLarge: "o corpo da requisição excede 1 MiB",
	http.StatusUnsupportedMediaType:  "envie o corpo como application/json",
	http.StatusUnauthorized:          "chave de API ausente ou inválida",
	http.StatusBadRequest:            "requisição inválida",
	http.StatusTooManyRequests:       "muitas requisições",
	http.StatusServiceUnavailable:    "serviço indisponível",
}

func kindForStatus(status int) problemKind {
	if k, ok := statusKinds[status]; ok {
		return k
	}
	for _, k := range problemKinds {
		if k.status == status {
			return k
		}
	}
	return problemKinds[svahub.EINTERNAL]
}

// errorHandler renders every error as problem+json. Internal errors are
// logged with the request id and answered without detail.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	p := Problem{Instance: c.Request().URL.Path, RequestID: c.Response().Header().Get(echo.HeaderXRequestID)}
	var (
		de *svahub.Error
		he *echo.HTTPError
	)
	switch {
	case errors.As(err, &de):
		k, ok := problemKinds[de.Code]
		if !ok {
			k = problemKinds[svahub.EINTERNAL]
		}
		p.Status, p.Type, p.Title, p.Detail, p.Errors = k.status, "urn:svahub:problema:"+k.slug, k.title, de.Message, de.Fields
		if codes, ok := de.Data["codigos_validos"].([]string); ok {
			p.CodigosValidos = codes
		}
		if k.status == http.StatusInternalServerError {
			p.Detail = "erro interno"
			s.log.ErrorContext(c.Request().Context(), "internal error", "err", err, "request_id", p.RequestID)
		}
	case errors.As(err, &he):
		k := kindForStatus(he.Code)
		p.Status, p.Type, p.Title = he.Code, "urn:svahub:problema:"+k.slug, k.title
		p.Detail = statusMessages[he.Code]
		if msg, ok := he.Message.(string); ok && he.Internal == nil && he.Code != http.StatusNotFound && he.Code < 500 {
			if _, std := statusMessages[he.Code]; !std || msg != http.StatusText(he.Code) {
				p.Detail = msg
			}
		}
		if p.Detail == "" {
			p.Detail = k.title
		}
		if he.Code >= 500 {
			p.Detail = "erro interno"
			s.log.ErrorContext(c.Request().Context(), "internal error", "err", err, "request_id", p.RequestID)
		}
	default:
		k := problemKinds[svahub.EINTERNAL]
		p.Status, p.Type, p.Title, p.Detail = k.status, "urn:svahub:problema:"+k.slug, k.title, "erro interno"
		s.log.ErrorContext(c.Request().Context(), "internal error", "err", err, "request_id", p.RequestID)
	}
	if p.Status == http.StatusUnauthorized {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="svahub"`)
	}
	if err := writeJSON(c, p.Status, "application/problem+json", p); err != nil {
		s.log.Warn("write problem", slog.Any("err", err))
	}
}

func badRequest(msg string, fields ...svahub.FieldError) error {
	return &svahub.Error{Code: svahub.EBADREQUEST, Message: msg, Fields: fields}
}
