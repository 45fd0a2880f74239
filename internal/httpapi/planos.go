package httpapi

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/svahub/svahub/internal/svahub"
)

func (s *Server) planRoutes(g *echo.Group) {
	g.PUT("/planos/:id", s.upsertCombo)
	g.GET("/planos", s.listCombos)
	g.GET("/planos/:id", s.getCombo)
	g.DELETE("/planos/:id", s.deleteCombo)
}

// upsertCombo godoc
//
//	@Summary		Cria ou substitui um plano (combo)
//	@Description	id_servico vem do HubSoft. Os pacotes listados são os do combo. 201 quando criado (descricao obrigatória), 200 quando atualizado: cada campo omitido (ou null) mantém o valor guardado; "pacotes": [] esvazia o combo. A mudança vale para serviços criados no plano ou movidos para ele depois; os que já estão nele mantêm suas assinaturas.
//	@Tags			planos
//	@Security		BearerAuth
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Param			id		path		int					true	"id_servico"
//	@Param			body	body		svahub.ComboUpdate	true	"plano"
//	@Success		200		{object}	svahub.Combo
//	@Success		201		{object}	svahub.Combo
//	@Failure		400		{object}	Problem	"urn:svahub:problema:requisicao-invalida — caminho, parâmetro de consulta, cabeçalho ou JSON malformado (erros aponta o campo)"
//	@Failure		401		{object}	Problem	"urn:svahub:problema:nao-autenticado — chave de API ausente ou inválida: envie Authorization: Bearer seguido da chave"
//	@Failure		403		{object}	Problem	"urn:svahub:problema:proibido — a chave tem escopo leitura e só pode consultar"
//	@Failure		413		{object}	Problem	"urn:svahub:problema:corpo-muito-grande — corpo acima de 1 MiB"
//	@Failure		415		{object}	Problem	"urn:svahub:problema:tipo-de-midia-nao-suportado — envie o corpo como application/json"
//	@Failure		422		{object}	Problem	"urn:svahub:problema:dados-invalidos — a validação falhou (erros lista os campos)"
//	@Failure		500		{object}	Problem	"urn:svahub:problema:erro-interno — erro inesperado; informe o request_id"
//	@Router			/api/v1/planos/{id} [put]
func (s *Server) upsertCombo(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in svahub.ComboUpdate
	if err := decode(c, &in); err != nil {
		return err
	}
	out, isNew, err := s.Catalogue.UpsertCombo(c.Request().Context(), id, in)
	if err != nil {
		return err
	}
	if isNew {
		return created(c, fmt.Sprintf("/api/v1/planos/%d", out.ID), out)
	}
	return c.JSON(http.StatusOK, out)
}

// listCombos godoc
//
//	@Summary	Lista planos
//	@Tags		planos
//	@Security	BearerAuth
//	@Produce	json,application/problem+json
//	@Param		pagina				query		int	false	"página (0-based)"
//	@Param		itens_por_pagina	query		int	false	"itens por página (1–500)"
//	@Success	200					{object}	ComboList
//	@Failure	400					{object}	Problem	"urn:svahub:problema:requisicao-invalida — caminho, parâmetro de consulta, cabeçalho ou JSON malformado (erros aponta o campo)"
//	@Failure	401					{object}	Problem	"urn:svahub:problema:nao-autenticado — chave de API ausente ou inválida: envie Authorization: Bearer seguido da chave"
//	@Failure	500					{object}	Problem	"urn:svahub:problema:erro-interno — erro inesperado; informe o request_id"
//	@Router		/api/v1/planos [get]
func (s *Server) listCombos(c echo.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	items, total, err := s.Catalogue.FindCombos(c.Request().Context(), svahub.ComboFilter{Page: p})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listOf(items, p, total))
}

// getCombo godoc
//
//	@Summary	Consulta um plano
//	@Tags		planos
//	@Security	BearerAuth
//	@Produce	json,application/problem+json
//	@Param		id	path		int	true	"id_servico"
//	@Success	200	{object}	svahub.Combo
//	@Failure	400	{object}	Problem	"urn:svahub:problema:requisicao-invalida — caminho, parâmetro de consulta, cabeçalho ou JSON malformado (erros aponta o campo)"
//	@Failure	401	{object}	Problem	"urn:svahub:problema:nao-autenticado — chave de API ausente ou inválida: envie Authorization: Bearer seguido da chave"
//	@Failure	404	{object}	Problem	"urn:svahub:problema:nao-encontrado — o recurso do caminho não existe"
//	@Failure	500	{object}	Problem	"urn:svahub:problema:erro-interno — erro inesperado; informe o request_id"
//	@Router		/api/v1/planos/{id} [get]
func (s *Server) getCombo(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	out, err := s.Catalogue.FindComboByID(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// deleteCombo godoc
//
//	@Summary		Exclui um plano
//	@Description	Os serviços mantêm as assinaturas que o plano já lhes deu.
//	@Tags			planos
//	@Security		BearerAuth
//	@Produce		application/problem+json
//	@Param			id	path	int	true	"id_servico"
//	@Success		204
//	@Failure		400	{object}	Problem	"urn:svahub:problema:requisicao-invalida — caminho, parâmetro de consulta, cabeçalho ou JSON malformado (erros aponta o campo)"
//	@Failure		401	{object}	Problem	"urn:svahub:problema:nao-autenticado — chave de API ausente ou inválida: envie Authorization: Bearer seguido da chave"
//	@Failure		403	{object}	Problem	"urn:svahub:problema:proibido — a chave tem escopo leitura e só pode consultar"
//	@Failure		404	{object}	Problem	"urn:svahub:problema:nao-encontrado — o recurso do caminho não existe"
//	@Failure		500	{object}	Problem	"urn:svahub:problema:erro-interno — erro inesperado; informe o request_id"
//	@Router			/api/v1/planos/{id} [delete]
func (s *Server) deleteCombo(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := s.Catalogue.DeleteCombo(c.Request().Context(), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
