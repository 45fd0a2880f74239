package httpapi

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/svahub/svahub/internal/svahub"
)

func (s *Server) packageRoutes(g *echo.Group) {
	g.POST("/pacotes", s.createPackage)
	g.GET("/pacotes", s.listPackages)
	g.GET("/pacotes/:id", s.getPackage)
	g.PUT("/pacotes/:id", s.updatePackage)
	g.DELETE("/pacotes/:id", s.deletePackage)
}

// createPackage godoc
//
//	@Summary		Cadastra um pacote
//	@Description	valor com duas casas decimais ("0.00" é um benefício); 1 a 10 produtos da própria integração.
//	@Tags			pacotes
//	@Security		BearerAuth
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Param			Idempotency-Key	header		string				false	"chave de idempotência"
//	@Param			body			body		svahub.PackageInput	true	"pacote"
//	@Success		201				{object}	svahub.Package
//	@Failure		400				{object}	Problem	"urn:svahub:problema:requisicao-invalida — caminho, parâmetro de consulta, cabeçalho ou JSON malformado (erros aponta o campo)"
//	@Failure		401				{object}	Problem	"urn:svahub:problema:nao-autenticado — chave de API ausente ou inválida: envie Authorization: Bearer seguido da chave"
//	@Failure		403				{object}	Problem	"urn:svahub:problema:proibido — a chave tem escopo leitura e só pode consultar"
//	@Failure		409				{object}	Problem	"urn:svahub:problema:conflito — a requisição com a mesma Idempotency-Key ainda está em andamento"
//	@Failure		413				{object}	Problem	"urn:svahub:problema:corpo-muito-grande — corpo acima de 1 MiB"
//	@Failure		415				{object}	Problem	"urn:svahub:problema:tipo-de-midia-nao-suportado — envie o corpo como application/json"
//	@Failure		422				{object}	Problem	"urn:svahub:problema:dados-invalidos — a validação falhou (erros lista os campos); ou a Idempotency-Key já foi usada com outra requisição"
//	@Failure		500				{object}	Problem	"urn:svahub:problema:erro-interno — erro inesperado; informe o request_id"
//	@Router			/api/v1/pacotes [post]
func (s *Server) createPackage(c echo.Context) error {
	var in svahub.PackageInput
	if err := decode(c, &in); err != nil {
		return err
	}
	out, err := s.Catalogue.CreatePackage(c.Request().Context(), in)
	if err != nil {
		return err
	}
	return created(c, fmt.Sprintf("/api/v1/pacotes/%d", out.ID), out)
}

// listPackages godoc
//
//	@Summary	Lista pacotes
//	@Tags		pacotes
//	@Security	BearerAuth
//	@Produce	json,application/problem+json
//	@Param		id_integracao		query		int		false	"filtra pela integração"
//	@Param		ativo				query		bool	false	"filtra por ativo"
//	@Param		pagina				query		int		false	"página (0-based)"
//	@Param		itens_por_pagina	query		int		false	"itens por página (1–500)"
//	@Success	200					{object}	PackageList
//	@Failure	400					{object}	Problem	"urn:svahub:problema:requisicao-invalida — caminho, parâmetro de consulta, cabeçalho ou JSON malformado (erros aponta o campo)"
//	@Failure	401					{object}	Problem	"urn:svahub:problema:nao-autenticado — chave de API ausente ou inválida: envie Authorization: Bearer seguido da chave"
//	@Failure	500					{object}	Problem	"urn:svahub:problema:erro-interno — erro inesperado; informe o request_id"
//	@Router		/api/v1/pacotes [get]
func (s *Server) listPackages(c echo.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	integ, err := queryInt(c, "id_integracao")
	if err != nil {
		return err
	}
	active, err := queryBool(c, "ativo")
	if err != nil {
		return err
	}
	items, total, err := s.Catalogue.FindPackages(c.Request().Context(), svahub.PackageFilter{IntegrationID: integ, Active: active, Page: p})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listOf(items, p, total))
}

// getPackage godoc
//
//	@Summary	Consulta um pacote
//	@Tags		pacotes
//	@Security	BearerAuth
//	@Produce	json,application/problem+json
//	@Param		id	path		int	true	"id_pacote"
//	@Success	200	{object}	svahub.Package
//	@Failure	400	{object}	Problem	"urn:svahub:problema:requisicao-invalida — caminho, parâmetro de consulta, cabeçalho ou JSON malformado (erros aponta o campo)"
//	@Failure	401	{object}	Problem	"urn:svahub:problema:nao-autenticado — chave de API ausente ou inválida: envie Authorization: Bearer seguido da chave"
//	@Failure	404	{object}	Problem	"urn:svahub:problema:nao-encontrado — o recurso do caminho não existe"
//	@Failure	500	{object}	Problem	"urn:svahub:problema:erro-interno — erro inesperado; informe o request_id"
//	@Router		/api/v1/pacotes/{id} [get]
func (s *Server) getPackage(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	out, err := s.Catalogue.FindPackageByID(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// updatePackage godoc
//
//	@Summary		Atualiza um pacote
//	@Description	Cada campo omitido (ou null) mantém o valor guardado. A integração não muda depois que o pacote tem assinaturas (409). Mudar o valor não altera assinaturas existentes.
//	@Tags			pacotes
//	@Security		BearerAuth
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Param			id		path		int						true	"id_pacote"
//	@Param			body	body		svahub.PackageUpdate	true	"campos a mudar"
//	@Success		200		{object}	svahub.Package
//	@Failure		400		{object}	Problem	"urn:svahub:problema:requisicao-invalida — caminho, parâmetro de consulta, cabeçalho ou JSON malformado (erros aponta o campo)"
//	@Failure		401		{object}	Problem	"urn:svahub:problema:nao-autenticado — chave de API ausente ou inválida: envie Authorization: Bearer seguido da chave"
//	@Failure		403		{object}	Problem	"urn:svahub:problema:proibido — a chave tem escopo leitura e só pode consultar"
//	@Failure		404		{object}	Problem	"urn:svahub:problema:nao-encontrado — o recurso do caminho não existe"
//	@Failure		409		{object}	Problem	"urn:svahub:problema:conflito — conflita com o estado atual (em uso, duplicado ou proibido pelo estado do recurso)"
//	@Failure		413		{object}	Problem	"urn:svahub:problema:corpo-muito-grande — corpo acima de 1 MiB"
//	@Failure		415		{object}	Problem	"urn:svahub:problema:tipo-de-midia-nao-suportado — envie o corpo como application/json"
//	@Failure		422		{object}	Problem	"urn:svahub:problema:dados-invalidos — a validação falhou (erros lista os campos)"
//	@Failure		500		{object}	Problem	"urn:svahub:problema:erro-interno — erro inesperado; informe o request_id"
//	@Router			/api/v1/pacotes/{id} [put]
func (s *Server) updatePackage(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in svahub.PackageUpdate
	if err := decode(c, &in); err != nil {
		return err
	}
	out, err := s.Catalogue.UpdatePackage(c.Request().Context(), id, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// deletePackage godoc
//
//	@Summary	Exclui um pacote
//	@Tags		pacotes
//	@Security	BearerAuth
//	@Produce	application/problem+json
//	@Param		id	path	int	true	"id_pacote"
//	@Success	204
//	@Failure	400	{object}	Problem	"urn:svahub:problema:requisicao-invalida — caminho, parâmetro de consulta, cabeçalho ou JSON malformado (erros aponta o campo)"
//	@Failure	401	{object}	Problem	"urn:svahub:problema:nao-autenticado — chave de API ausente ou inválida: envie Authorization: Bearer seguido da chave"
//	@Failure	403	{object}	Problem	"urn:svahub:problema:proibido — a chave tem escopo leitura e só pode consultar"
//	@Failure	404	{object}	Problem	"urn:svahub:problema:nao-encontrado — o recurso do caminho não existe"
//	@Failure	409	{object}	Problem	"urn:svahub:problema:conflito — conflita com o estado atual (em uso, duplicado ou proibido pelo estado do recurso)"
//	@Failure	500	{object}	Problem	"urn:svahub:problema:erro-interno — erro inesperado; informe o request_id"
//	@Router		/api/v1/pacotes/{id} [delete]
func (s *Server) deletePackage(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := s.Catalogue.DeletePackage(c.Request().Context(), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
