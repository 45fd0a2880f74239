package httpapi

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/svahub/svahub/internal/svahub"
)

func (s *Server) serviceRoutes(g *echo.Group) {
	g.PUT("/servicos/:id", s.upsertService)
	g.GET("/servicos", s.listServices)
	g.GET("/servicos/:id", s.getService)
	g.PUT("/servicos/:id/status", s.setServiceStatus)
	g.POST("/servicos/status", s.setServiceStatuses)
	g.POST("/servicos/:id/pacotes", s.attachPackage)
	g.GET("/servicos/:id/pacotes", s.listServicePackages)
	g.DELETE("/servicos/:id/pacotes/:id_assinatura", s.cancelSubscription)
}

// upsertService godoc
//
//	@Summary		Cria ou atualiza um serviço do cliente (HubSoft core)
//	@Description	201 quando criado, 200 quando atualizado. Um serviço novo recebe os pacotes do seu plano (combo); uma troca de plano cancela os pacotes de plano que o novo não tem e adiciona os que faltam. A senha é cifrada e nunca devolvida; omiti-la mantém a atual.
//	@Tags			servicos
//	@Security		BearerAuth
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Param			id		path		int					true	"id_cliente_servico"
//	@Param			body	body		svahub.ServiceInput	true	"serviço"
//	@Success		200		{object}	svahub.CustomerService
//	@Success		201		{object}	svahub.CustomerService
//	@Failure		400		{object}	Problem	"urn:svahub:problema:requisicao-invalida — caminho, parâmetro de consulta, cabeçalho ou JSON malformado (erros aponta o campo)"
//	@Failure		401		{object}	Problem	"urn:svahub:problema:nao-autenticado — chave de API ausente ou inválida: envie Authorization: Bearer seguido da chave"
//	@Failure		403		{object}	Problem	"urn:svahub:problema:proibido — a chave tem escopo leitura e só pode consultar"
//	@Failure		413		{object}	Problem	"urn:svahub:problema:corpo-muito-grande — corpo acima de 1 MiB"
//	@Failure		415		{object}	Problem	"urn:svahub:problema:tipo-de-midia-nao-suportado — envie o corpo como application/json"
//	@Failure		422		{object}	Problem	"urn:svahub:problema:dados-invalidos — a validação falhou (erros lista os campos)"
//	@Failure		500		{object}	Problem	"urn:svahub:problema:erro-interno — erro inesperado; informe o request_id"
//	@Router			/api/v1/servicos/{id} [put]
func (s *Server) upsertService(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in svahub.ServiceInput
	if err := decode(c, &in); err != nil {
		return err
	}
	out, isNew, err := s.Services.UpsertService(c.Request().Context(), id, in)
	if err != nil {
		return err
	}
	if isNew {
		return created(c, fmt.Sprintf("/api/v1/servicos/%d", id), out)
	}
	return c.JSON(http.StatusOK, out)
}

// listServices godoc
//
//	@Summary	Lista serviços do cliente
//	@Tags		servicos
//	@Security	BearerAuth
//	@Produce	json,application/problem+json
//	@Param		id_cliente			query		int		false	"cliente"
//	@Param		status_prefixo		query		string	false	"status do serviço"	Enums(servico_habilitado,suspenso_debito,suspenso_parcialmente,suspenso_pedido_cliente,cancelado,inativo,aguardando_instalacao,aguardando_assinatura_contrato,aguardando_configuracao,aguardando_liberacao_ti,aguardando_migracao,agendado_para_instalacao,franquia_excedida)
//	@Param		cpf_cnpj			query		string	false	"CPF/CNPJ (com ou sem pontuação)"
//	@Param		pagina				query		int		false	"página (0-based)"
//	@Param		itens_por_pagina	query		int		false	"itens por página (1–500)"
//	@Success	200					{object}	CustomerServiceList
//	@Failure	400					{object}	Problem	"urn:svahub:problema:requisicao-invalida — caminho, parâmetro de consulta, cabeçalho ou JSON malformado (erros aponta o campo)"
//	@Failure	401					{object}	Problem	"urn:svahub:problema:nao-autenticado — chave de API ausente ou inválida: envie Authorization: Bearer seguido da chave"
//	@Failure	500					{object}	Problem	"urn:svahub:problema:erro-interno — erro inesperado; informe o request_id"
//	@Router		/api/v1/servicos [get]
func (s *Server) listServices(c echo.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	f := svahub.ServiceFilter{Page: p}
	if f.CustomerID, err = queryInt(c, "id_cliente"); err != nil {
		return err
	}
	if raw := c.QueryParam("status_prefixo"); raw != "" {
		st := svahub.ServiceStatus(raw)
		if !st.Valid() {
			return badRequest("status_prefixo desconhecido", svahub.FieldError{Field: "status_prefixo", Message: "valor desconhecido"})
		}
		f.Status = &st
	}
	if raw := strings.TrimSpace(c.QueryParam("cpf_cnpj")); raw != "" {
		d, ok := svahub.NormalizeDocument(raw)
		if !ok {
			return badRequest("cpf_cnpj inválido", svahub.FieldError{Field: "cpf_cnpj", Message: "CPF/CNPJ inválido"})
		}
		f.Document = d
	}
	items, total, err := s.Services.FindServices(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listOf(items, p, total))
}

// getService godoc
//
//	@Summary	Consulta um serviço com seus pacotes (assinaturas)
//	@Tags		servicos
//	@Security	BearerAuth
//	@Produce	json,application/problem+json
//	@Param		id	path		int	true	"id_cliente_servico"
//	@Success	200	{object}	svahub.CustomerService
//	@Failure	400	{object}	Problem	"urn:svahub:problema:requisicao-invalida — caminho, parâmetro de consulta, cabeçalho ou JSON malformado (erros aponta o campo)"
//	@Failure	401	{object}	Problem	"urn:svahub:problema:nao-autenticado — chave de API ausente ou inválida: envie Authorization: Bearer seguido da chave"
//	@Failure	404	{object}	Problem	"urn:svahub:problema:nao-encontrado — o recurso do caminho não existe"
//	@Failure	500	{object}	Problem	"urn:svahub:problema:erro-interno — erro inesperado; informe o request_id"
//	@Router		/api/v1/servicos/{id} [get]
func (s *Server) getService(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	out, err := s.Services.FindServiceByID(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// setServiceStatus godoc
//
//	@Summary		Muda o status de um serviço
//	@Description	Recalcula o estado desejado de cada acesso e agenda a sincronização com a plataforma na mesma transação.
//	@Tags			servicos
//	@Security		BearerAuth
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Param			id		path		int					true	"id_cliente_servico"
//	@Param			body	body		svahub.StatusInput	true	"status"
//	@Success		200		{object}	svahub.CustomerService
//	@Failure		400		{object}	Problem	"urn:svahub:problema:requisicao-invalida — caminho, parâmetro de consulta, cabeçalho ou JSON malformado (erros aponta o campo)"
//	@Failure		401		{object}	Problem	"urn:svahub:problema:nao-autenticado — chave de API ausente ou inválida: envie Authorization: Bearer seguido da chave"
//	@Failure		403		{object}	Problem	"urn:svahub:problema:proibido — a chave tem escopo leitura e só pode consultar"
//	@Failure		404		{object}	Problem	"urn:svahub:problema:nao-encontrado — o recurso do caminho não existe"
//	@Failure		413		{object}	Problem	"urn:svahub:problema:corpo-muito-grande — corpo acima de 1 MiB"
//	@Failure		415		{object}	Problem	"urn:svahub:problema:tipo-de-midia-nao-suportado — envie o corpo como application/json"
//	@Failure		422		{object}	Problem	"urn:svahub:problema:dados-invalidos — a validação falhou (erros lista os campos)"
//	@Failure		500		{object}	Problem	"urn:svahub:problema:erro-interno — erro inesperado; informe o request_id"
//	@Router			/api/v1/servicos/{id}/status [put]
func (s *Server) setServiceStatus(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in svahub.StatusInput
	if err := decode(c, &in); err != nil {
		return err
	}
	out, err := s.Services.SetServiceStatus(c.Request().Context(), id, svahub.ServiceStatus(in.Status))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// StatusBatchResponse answers the batch status change.
type StatusBatchResponse struct {
	// Resultado de cada item, na ordem enviada.
	Items []svahub.StatusBatchResult `json:"itens"`
}

// setServiceStatuses godoc
//
//	@Summary		Muda o status de vários serviços (até 1.000 por chamada)
//	@Description	Validação tudo-ou-nada; responde o resultado de cada item: atualizado, inalterado ou nao_encontrado.
//	@Tags			servicos
//	@Security		BearerAuth
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Param			Idempotency-Key	header		string					false	"chave de idempotência"
//	@Param			body			body		svahub.StatusBatchInput	true	"itens"
//	@Success		200				{object}	StatusBatchResponse
//	@Failure		400				{object}	Problem	"urn:svahub:problema:requisicao-invalida — caminho, parâmetro de consulta, cabeçalho ou JSON malformado (erros aponta o campo)"
//	@Failure		401				{object}	Problem	"urn:svahub:problema:nao-autenticado — chave de API ausente ou inválida: envie Authorization: Bearer seguido da chave"
//	@Failure		403				{object}	Problem	"urn:svahub:problema:proibido — a chave tem escopo leitura e só pode consultar"
//	@Failure		409				{object}	Problem	"urn:svahub:problema:conflito — a requisição com a mesma Idempotency-Key ainda está em andamento"
//	@Failure		413				{object}	Problem	"urn:svahub:problema:corpo-muito-grande — corpo acima de 1 MiB"
//	@Failure		415				{object}	Problem	"urn:svahub:problema:tipo-de-midia-nao-suportado — envie o corpo como application/json"
//	@Failure		422				{object}	Problem	"urn:svahub:problema:dados-invalidos — a validação falhou (erros lista os campos); ou a Idempotency-Key já foi usada com outra requisição"
//	@Failure		500				{object}	Problem	"urn:svahub:problema:erro-interno — erro inesperado; informe o request_id"
//	@Router			/api/v1/servicos/status [post]
func (s *Server) setServiceStatuses(c echo.Context) error {
	var in svahub.StatusBatchInput
	if err := decode(c, &in); err != nil {
		return err
	}
	out, err := s.Services.SetServiceStatuses(c.Request().Context(), in.Items)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, StatusBatchResponse{Items: out})
}

// attachPackage godoc
//
//	@Summary		Adiciona um pacote ao serviço (avulso)
//	@Description	data_expiracao opcional: padrão é o mesmo dia e mês um ano depois (fuso do negócio; 29/02 → 28/02). Data no passado → 422. O mesmo pacote duas vezes → 409.
//	@Tags			servicos
//	@Security		BearerAuth
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Param			id				path		int					true	"id_cliente_servico"
//	@Param			Idempotency-Key	header		string				false	"chave de idempotência"
//	@Param			body			body		svahub.AttachInput	true	"pacote"
//	@Success		201				{object}	svahub.Subscription
//	@Failure		400				{object}	Problem	"urn:svahub:problema:requisicao-invalida — caminho, parâmetro de consulta, cabeçalho ou JSON malformado (erros aponta o campo)"
//	@Failure		401				{object}	Problem	"urn:svahub:problema:nao-autenticado — chave de API ausente ou inválida: envie Authorization: Bearer seguido da chave"
//	@Failure		403				{object}	Problem	"urn:svahub:problema:proibido — a chave tem escopo leitura e só pode consultar"
//	@Failure		404				{object}	Problem	"urn:svahub:problema:nao-encontrado — o recurso do caminho não existe"
//	@Failure		409				{object}	Problem	"urn:svahub:problema:conflito — conflita com o estado atual (em uso, duplicado ou proibido pelo estado do recurso); ou a requisição com a mesma Idempotency-Key ainda está em andamento"
//	@Failure		413				{object}	Problem	"urn:svahub:problema:corpo-muito-grande — corpo acima de 1 MiB"
//	@Failure		415				{object}	Problem	"urn:svahub:problema:tipo-de-midia-nao-suportado — envie o corpo como application/json"
//	@Failure		422				{object}	Problem	"urn:svahub:problema:dados-invalidos — a validação falhou (erros lista os campos); ou a Idempotency-Key já foi usada com outra requisição"
//	@Failure		500				{object}	Problem	"urn:svahub:problema:erro-interno — erro inesperado; informe o request_id"
//	@Router			/api/v1/servicos/{id}/pacotes [post]
func (s *Server) attachPackage(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in svahub.AttachInput
	if err := decode(c, &in); err != nil {
		return err
	}
	out, err := s.Services.AttachPackage(c.Request().Context(), id, in)
	if err != nil {
		return err
	}
	return created(c, fmt.Sprintf("/api/v1/assinaturas/%d", out.ID), out)
}

// listServicePackages godoc
//
//	@Summary	Lista as assinaturas de um serviço
//	@Tags		servicos
//	@Security	BearerAuth
//	@Produce	json,application/problem+json
//	@Param		id					path		int	true	"id_cliente_servico"
//	@Param		pagina				query		int	false	"página (0-based)"
//	@Param		itens_por_pagina	query		int	false	"itens por página (1–500)"
//	@Success	200					{object}	SubscriptionList
//	@Failure	400					{object}	Problem	"urn:svahub:problema:requisicao-invalida — caminho, parâmetro de consulta, cabeçalho ou JSON malformado (erros aponta o campo)"
//	@Failure	401					{object}	Problem	"urn:svahub:problema:nao-autenticado — chave de API ausente ou inválida: envie Authorization: Bearer seguido da chave"
//	@Failure	404					{object}	Problem	"urn:svahub:problema:nao-encontrado — o recurso do caminho não existe"
//	@Failure	500					{object}	Problem	"urn:svahub:problema:erro-interno — erro inesperado; informe o request_id"
//	@Router		/api/v1/servicos/{id}/pacotes [get]
func (s *Server) listServicePackages(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	p, err := page(c)
	if err != nil {
		return err
	}
	if _, err := s.Services.FindServiceByID(c.Request().Context(), id); err != nil {
		return err
	}
	items, total, err := s.Services.FindSubscriptions(c.Request().Context(), svahub.SubscriptionFilter{ServiceID: &id, Page: p})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listOf(items, p, total))
}

// cancelSubscription godoc
//
//	@Summary	Cancela um pacote do serviço
//	@Tags		servicos
//	@Security	BearerAuth
//	@Produce	application/problem+json
//	@Param		id				path	int	true	"id_cliente_servico"
//	@Param		id_assinatura	path	int	true	"id_assinatura"
//	@Success	204
//	@Failure	400	{object}	Problem	"urn:svahub:problema:requisicao-invalida — caminho, parâmetro de consulta, cabeçalho ou JSON malformado (erros aponta o campo)"
//	@Failure	401	{object}	Problem	"urn:svahub:problema:nao-autenticado — chave de API ausente ou inválida: envie Authorization: Bearer seguido da chave"
//	@Failure	403	{object}	Problem	"urn:svahub:problema:proibido — a chave tem escopo leitura e só pode consultar"
//	@Failure	404	{object}	Problem	"urn:svahub:problema:nao-encontrado — o recurso do caminho não existe"
//	@Failure	500	{object}	Problem	"urn:svahub:problema:erro-interno — erro inesperado; informe o request_id"
//	@Router		/api/v1/servicos/{id}/pacotes/{id_assinatura} [delete]
func (s *Server) cancelSubscription(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	sub, err := pathID(c, "id_assinatura")
	if err != nil {
		return err
	}
	if err := s.Services.CancelSubscription(c.Request().Context(), id, sub); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
