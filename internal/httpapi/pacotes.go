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
//	@Produce		json
//	@Param			Idempotency-Key	header		string				false	"chave de idempotência"
//	@Param			body			body		svahub.PackageInput	true	"pacote"
//	@Success		201				{object}	svahub.Package
//	@Failure		400,401,403,413,415,422	{object}	Problem
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
//	@Produce	json
//	@Param		id_integracao		query		int		false	"filtra pela integração"
//	@Param		ativo				query		bool	false	"filtra por ativo"
//	@Param		pagina				query		int		false	"página (0-based)"
//	@Param		itens_por_pagina	query		int		false	"itens por página (1–500)"
//	@Success	200					{object}	PackageList
//	@Failure	400,401				{object}	Problem
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
//	@Produce	json
//	@Param		id	path		int	true	"id_pacote"
//	@Success	200	{object}	svahub.Package
//	@Failure	400,401,404	{object}	Problem
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
//	@Produce		json
//	@Param			id		path		int						true	"id_pacote"
//	@Param			body	body		svahub.PackageUpdate	true	"campos a mudar"
//	@Success		200		{object}	svahub.Package
//	@Failure		400,401,403,404,409,413,415,422	{object}	Problem
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
//	@Param		id	path	int	true	"id_pacote"
//	@Success	204
//	@Failure	400,401,403,404,409	{object}	Problem
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
