package httpapi

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/svahub/svahub/internal/svahub"
)

func (s *Server) transmissionRoutes(g *echo.Group) {
	g.GET("/transmissoes", s.listTransmissions)
}

// queryTime parses an optional RFC 3339 timestamp or YYYY-MM-DD date. A
// date means the whole day in the business time zone, inclusive: the
// start of that day, or with end set the start of the next one. With end
// a timestamp is included too: the bound is the next microsecond after it
// (timestamps are kept to the microsecond). The result is an inclusive
// lower bound (desde) or an exclusive upper bound (ate).
func queryTime(c echo.Context, name string, loc *time.Location, end bool) (*time.Time, error) {
	raw := c.QueryParam(name)
	if raw == "" {
		return nil, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, raw); err == nil {
		if end {
			t = t.Truncate(time.Microsecond).Add(time.Microsecond)
		}
		return &t, nil
	}
	if t, err := time.ParseInLocation(svahub.DateLayout, raw, loc); err == nil {
		if end {
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc)
		}
		return &t, nil
	}
	return nil, badRequest("parâmetro "+name+" inválido", svahub.FieldError{Field: name, Message: "use AAAA-MM-DD ou RFC 3339"})
}

// listTransmissions godoc
//
//	@Summary		Lista transmissões (chamadas às plataformas)
//	@Description	Mais recentes primeiro. Segredos, senhas e tokens nunca aparecem.
//	@Tags			transmissoes
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			id_integracao		query		int		false	"integração"
//	@Param			id_assinatura		query		int		false	"assinatura"
//	@Param			operacao			query		string	false	"operação"	Enums(token,catalogo,criar_usuario,ativar_plano,atualizar_expiracao,suspender,reativar,cancelar,consultar)
//	@Param			resultado			query		string	false	"resultado"	Enums(sucesso,erro,erro_temporario)
//	@Param			desde				query		string	false	"a partir de, inclusive: AAAA-MM-DD (o dia inteiro, no fuso do negócio) ou RFC 3339"
//	@Param			ate					query		string	false	"até, inclusive: AAAA-MM-DD (o dia inteiro, no fuso do negócio) ou RFC 3339"
//	@Param			pagina				query		int		false	"página (0-based)"
//	@Param			itens_por_pagina	query		int		false	"itens por página (1–500)"
//	@Success		200					{object}	TransmissionList
//	@Failure		400					{object}	Problem	"urn:svahub:problema:requisicao-invalida — caminho, parâmetro de consulta, cabeçalho ou JSON malformado (erros aponta o campo)"
//	@Failure		401					{object}	Problem	"urn:svahub:problema:nao-autenticado — chave de API ausente ou inválida: envie Authorization: Bearer seguido da chave"
//	@Failure		500					{object}	Problem	"urn:svahub:problema:erro-interno — erro inesperado; informe o request_id"
//	@Router			/api/v1/transmissoes [get]
func (s *Server) listTransmissions(c echo.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	f := svahub.TransmissionFilter{Page: p}
	if f.IntegrationID, err = queryInt(c, "id_integracao"); err != nil {
		return err
	}
	if f.SubscriptionID, err = queryInt(c, "id_assinatura"); err != nil {
		return err
	}
	if raw := c.QueryParam("operacao"); raw != "" {
		op := svahub.Operation(raw)
		if !contains(svahub.Operations, op) {
			return badRequest("operacao desconhecida", svahub.FieldError{Field: "operacao", Message: "valor desconhecido"})
		}
		f.Operation = &op
	}
	if raw := c.QueryParam("resultado"); raw != "" {
		o := svahub.Outcome(raw)
		if !contains([]svahub.Outcome{svahub.OutcomeSuccess, svahub.OutcomeError, svahub.OutcomeTemporary}, o) {
			return badRequest("resultado desconhecido", svahub.FieldError{Field: "resultado", Message: "use sucesso, erro ou erro_temporario"})
		}
		f.Outcome = &o
	}
	if f.Since, err = queryTime(c, "desde", s.location(), false); err != nil {
		return err
	}
	if f.Before, err = queryTime(c, "ate", s.location(), true); err != nil {
		return err
	}
	items, total, err := s.Transmissions.FindTransmissions(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listOf(items, p, total))
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
