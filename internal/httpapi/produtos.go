package httpapi

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/svahub/svahub/internal/svahub"
)

func (s *Server) productRoutes(g *echo.Group) {
	g.POST("/integracoes/:id/produtos", s.createProduct)
	g.GET("/integracoes/:id/produtos", s.listProducts)
	g.POST("/integracoes/:id/produtos/sincronizar", s.syncProducts)
	g.GET("/produtos/:id", s.getProduct)
	g.PUT("/produtos/:id", s.updateProduct)
	g.DELETE("/produtos/:id", s.deleteProduct)
}

// createProduct godoc
//
//	@Summary		Cadastra um produto na integração
//	@Description	O código é conferido no catálogo da plataforma quando ela responde (código desconhecido → 422 com codigos_validos); fora do ar, o produto é salvo com verificado=false.
//	@Tags			produtos
//	@Security		BearerAuth
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Param			id				path		int					true	"id_integracao"
//	@Param			Idempotency-Key	header		string				false	"chave de idempotência"
//	@Param			body			body		svahub.ProductInput	true	"produto"
//	@Success		201				{object}	svahub.Product
//	@Failure		400				{object}	Problem	"urn:svahub:problema:requisicao-invalida — caminho, parâmetro de consulta, cabeçalho ou JSON malformado (erros aponta o campo)"
//	@Failure		401				{object}	Problem	"urn:svahub:problema:nao-autenticado — chave de API ausente ou inválida: envie Authorization: Bearer seguido da chave"
//	@Failure		403				{object}	Problem	"urn:svahub:problema:proibido — a chave tem escopo leitura e só pode consultar"
//	@Failure		404				{object}	Problem	"urn:svahub:problema:nao-encontrado — o recurso do caminho não existe"
//	@Failure		409				{object}	Problem	"urn:svahub:problema:conflito — conflita com o estado atual (em uso, duplicado ou proibido pelo estado do recurso); ou a requisição com a mesma Idempotency-Key ainda está em andamento"
//	@Failure		413				{object}	Problem	"urn:svahub:problema:corpo-muito-grande — corpo acima de 1 MiB"
//	@Failure		415				{object}	Problem	"urn:svahub:problema:tipo-de-midia-nao-suportado — envie o corpo como application/json"
//	@Failure		422				{object}	Problem	"urn:svahub:problema:dados-invalidos — a validação falhou (erros lista os campos); ou a Idempotency-Key já foi usada com outra requisição"
//	@Failure		500				{object}	Problem	"urn:svahub:problema:erro-interno — erro inesperado; informe o request_id"
//	@Router			/api/v1/integracoes/{id}/produtos [post]
func (s *Server) createProduct(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in svahub.ProductInput
	if err := decode(c, &in); err != nil {
		return err
	}
	out, err := s.Catalogue.CreateProduct(c.Request().Context(), id, in)
	if err != nil {
		return err
	}
	return created(c, fmt.Sprintf("/api/v1/produtos/%d", out.ID), out)
}

// listProducts godoc
//
//	@Summary	Lista os produtos de uma integração
//	@Tags		produtos
//	@Security	BearerAuth
//	@Produce	json,application/problem+json
//	@Param		id					path		int	true	"id_integracao"
//	@Param		pagina				query		int	false	"página (0-based)"
//	@Param		itens_por_pagina	query		int	false	"itens por página (1–500)"
//	@Success	200					{object}	ProductList
//	@Failure	400					{object}	Problem	"urn:svahub:problema:requisicao-invalida — caminho, parâmetro de consulta, cabeçalho ou JSON malformado (erros aponta o campo)"
//	@Failure	401					{object}	Problem	"urn:svahub:problema:nao-autenticado — chave de API ausente ou inválida: envie Authorization: Bearer seguido da chave"
//	@Failure	404					{object}	Problem	"urn:svahub:problema:nao-encontrado — o recurso do caminho não existe"
//	@Failure	500					{object}	Problem	"urn:svahub:problema:erro-interno — erro inesperado; informe o request_id"
//	@Router		/api/v1/integracoes/{id}/produtos [get]
func (s *Server) listProducts(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	p, err := page(c)
	if err != nil {
		return err
	}
	items, total, err := s.Catalogue.FindProducts(c.Request().Context(), svahub.ProductFilter{IntegrationID: id, Page: p})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listOf(items, p, total))
}

// syncProducts godoc
//
//	@Summary		Importa o catálogo da plataforma
//	@Description	Cria os produtos que faltam e marca como verificados os códigos listados pela plataforma. Uma plataforma sem catálogo (webhook) responde 422 "a plataforma não tem catálogo".
//	@Tags		produtos
//	@Security	BearerAuth
//	@Produce	json,application/problem+json
//	@Param		Idempotency-Key	header		string	false	"chave de idempotência"
//	@Param		id				path		int		true	"id_integracao"
//	@Success	200				{object}	ProductList
//	@Failure	400				{object}	Problem	"urn:svahub:problema:requisicao-invalida — caminho, parâmetro de consulta, cabeçalho ou JSON malformado (erros aponta o campo)"
//	@Failure	401				{object}	Problem	"urn:svahub:problema:nao-autenticado — chave de API ausente ou inválida: envie Authorization: Bearer seguido da chave"
//	@Failure	403				{object}	Problem	"urn:svahub:problema:proibido — a chave tem escopo leitura e só pode consultar"
//	@Failure	404				{object}	Problem	"urn:svahub:problema:nao-encontrado — o recurso do caminho não existe"
//	@Failure	409				{object}	Problem	"urn:svahub:problema:conflito — a requisição com a mesma Idempotency-Key ainda está em andamento"
//	@Failure	422				{object}	Problem	"urn:svahub:problema:dados-invalidos — a plataforma não tem catálogo; ou a Idempotency-Key já foi usada com outra requisição"
//	@Failure	500				{object}	Problem	"urn:svahub:problema:erro-interno — erro inesperado; informe o request_id"
//	@Failure	503				{object}	Problem	"urn:svahub:problema:indisponivel — dependência fora do ar ou serviço não pronto"
//	@Router		/api/v1/integracoes/{id}/produtos/sincronizar [post]
func (s *Server) syncProducts(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if s.Platform == nil {
		return svahub.Errorf(svahub.EUNAVAILABLE, "nenhum adaptador de plataforma configurado")
	}
	items, err := s.Platform.SyncProducts(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listOf(items, svahub.Page{Size: max(len(items), 1)}, len(items)))
}

// getProduct godoc
//
//	@Summary	Consulta um produto
//	@Tags		produtos
//	@Security	BearerAuth
//	@Produce	json,application/problem+json
//	@Param		id	path		int	true	"id_produto"
//	@Success	200	{object}	svahub.Product
//	@Failure	400	{object}	Problem	"urn:svahub:problema:requisicao-invalida — caminho, parâmetro de consulta, cabeçalho ou JSON malformado (erros aponta o campo)"
//	@Failure	401	{object}	Problem	"urn:svahub:problema:nao-autenticado — chave de API ausente ou inválida: envie Authorization: Bearer seguido da chave"
//	@Failure	404	{object}	Problem	"urn:svahub:problema:nao-encontrado — o recurso do caminho não existe"
//	@Failure	500	{object}	Problem	"urn:svahub:problema:erro-interno — erro inesperado; informe o request_id"
//	@Router		/api/v1/produtos/{id} [get]
func (s *Server) getProduct(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	out, err := s.Catalogue.FindProductByID(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// updateProduct godoc
//
//	@Summary	Atualiza um produto
//	@Tags		produtos
//	@Security	BearerAuth
//	@Accept		json
//	@Produce	json,application/problem+json
//	@Param		id		path		int					true	"id_produto"
//	@Param		body	body		svahub.ProductInput	true	"produto"
//	@Success	200		{object}	svahub.Product
//	@Failure	400		{object}	Problem	"urn:svahub:problema:requisicao-invalida — caminho, parâmetro de consulta, cabeçalho ou JSON malformado (erros aponta o campo)"
//	@Failure	401		{object}	Problem	"urn:svahub:problema:nao-autenticado — chave de API ausente ou inválida: envie Authorization: Bearer seguido da chave"
//	@Failure	403		{object}	Problem	"urn:svahub:problema:proibido — a chave tem escopo leitura e só pode consultar"
//	@Failure	404		{object}	Problem	"urn:svahub:problema:nao-encontrado — o recurso do caminho não existe"
//	@Failure	409		{object}	Problem	"urn:svahub:problema:conflito — conflita com o estado atual (em uso, duplicado ou proibido pelo estado do recurso)"
//	@Failure	413		{object}	Problem	"urn:svahub:problema:corpo-muito-grande — corpo acima de 1 MiB"
//	@Failure	415		{object}	Problem	"urn:svahub:problema:tipo-de-midia-nao-suportado — envie o corpo como application/json"
//	@Failure	422		{object}	Problem	"urn:svahub:problema:dados-invalidos — a validação falhou (erros lista os campos)"
//	@Failure	500		{object}	Problem	"urn:svahub:problema:erro-interno — erro inesperado; informe o request_id"
//	@Router		/api/v1/produtos/{id} [put]
func (s *Server) updateProduct(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in svahub.ProductInput
	if err := decode(c, &in); err != nil {
		return err
	}
	out, err := s.Catalogue.UpdateProduct(c.Request().Context(), id, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// deleteProduct godoc
//
//	@Summary	Exclui um produto
//	@Tags		produtos
//	@Security	BearerAuth
//	@Produce	application/problem+json
//	@Param		id	path	int	true	"id_produto"
//	@Success	204
//	@Failure	400	{object}	Problem	"urn:svahub:problema:requisicao-invalida — caminho, parâmetro de consulta, cabeçalho ou JSON malformado (erros aponta o campo)"
//	@Failure	401	{object}	Problem	"urn:svahub:problema:nao-autenticado — chave de API ausente ou inválida: envie Authorization: Bearer seguido da chave"
//	@Failure	403	{object}	Problem	"urn:svahub:problema:proibido — a chave tem escopo leitura e só pode consultar"
//	@Failure	404	{object}	Problem	"urn:svahub:problema:nao-encontrado — o recurso do caminho não existe"
//	@Failure	409	{object}	Problem	"urn:svahub:problema:conflito — conflita com o estado atual (em uso, duplicado ou proibido pelo estado do recurso)"
//	@Failure	500	{object}	Problem	"urn:svahub:problema:erro-interno — erro inesperado; informe o request_id"
//	@Router		/api/v1/produtos/{id} [delete]
func (s *Server) deleteProduct(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := s.Catalogue.DeleteProduct(c.Request().Context(), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
