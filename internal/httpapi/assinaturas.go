package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/svahub/svahub/internal/svahub"
)

func (s *Server) subscriptionRoutes(g *echo.Group) {
	g.GET("/assinaturas", s.listSubscriptions)
	g.GET("/assinaturas/:id", s.getSubscription)
	g.PATCH("/assinaturas/:id", s.patchSubscription)
	g.POST("/assinaturas/:id/retransmitir", s.retransmit)
	g.GET("/cobrancas", s.billing)
}

var subscriptionStatuses = []svahub.SubscriptionStatus{svahub.SubPending, svahub.SubActive, svahub.SubSuspended, svahub.SubCancelled, svahub.SubExpired, svahub.SubError}

// listSubscriptions godoc
//
//	@Summary	Lista assinaturas
//	@Tags		assinaturas
//	@Security	BearerAuth
//	@Produce	json,application/problem+json
//	@Param		status				query		string	false	"status"	Enums(pendente,ativo,suspenso,cancelado,expirado,erro)
//	@Param		id_integracao		query		int		false	"integração"
//	@Param		id_pacote			query		int		false	"pacote"
//	@Param		id_cliente_servico	query		int		false	"serviço do cliente"
//	@Param		pagina				query		int		false	"página (0-based)"
//	@Param		itens_por_pagina	query		int		false	"itens por página (1–500)"
//	@Success	200					{object}	SubscriptionList
//	@Failure	400					{object}	Problem	"urn:svahub:problema:requisicao-invalida — caminho, parâmetro de consulta, cabeçalho ou JSON malformado (erros aponta o campo)"
//	@Failure	401					{object}	Problem	"urn:svahub:problema:nao-autenticado — chave de API ausente ou inválida: envie Authorization: Bearer seguido da chave"
//	@Failure	500					{object}	Problem	"urn:svahub:problema:erro-interno — erro inesperado; informe o request_id"
//	@Router		/api/v1/assinaturas [get]
func (s *Server) listSubscriptions(c echo.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	f := svahub.SubscriptionFilter{Page: p}
	if raw := c.QueryParam("status"); raw != "" {
		st := svahub.SubscriptionStatus(raw)
		if !contains(subscriptionStatuses, st) {
			return badRequest("status desconhecido", svahub.FieldError{Field: "status", Message: "use pendente, ativo, suspenso, cancelado, expirado ou erro"})
		}
		f.Status = &st
	}
	if f.IntegrationID, err = queryInt(c, "id_integracao"); err != nil {
		return err
	}
	if f.PackageID, err = queryInt(c, "id_pacote"); err != nil {
		return err
	}
	if f.ServiceID, err = queryInt(c, "id_cliente_servico"); err != nil {
		return err
	}
	items, total, err := s.Services.FindSubscriptions(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listOf(items, p, total))
}

// getSubscription godoc
//
//	@Summary	Consulta uma assinatura com seus acessos
//	@Tags		assinaturas
//	@Security	BearerAuth
//	@Produce	json,application/problem+json
//	@Param		id	path		int	true	"id_assinatura"
//	@Success	200	{object}	svahub.Subscription
//	@Failure	400	{object}	Problem	"urn:svahub:problema:requisicao-invalida — caminho, parâmetro de consulta, cabeçalho ou JSON malformado (erros aponta o campo)"
//	@Failure	401	{object}	Problem	"urn:svahub:problema:nao-autenticado — chave de API ausente ou inválida: envie Authorization: Bearer seguido da chave"
//	@Failure	404	{object}	Problem	"urn:svahub:problema:nao-encontrado — o recurso do caminho não existe"
//	@Failure	500	{object}	Problem	"urn:svahub:problema:erro-interno — erro inesperado; informe o request_id"
//	@Router		/api/v1/assinaturas/{id} [get]
func (s *Server) getSubscription(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	out, err := s.Services.FindSubscriptionByID(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// patchSubscription godoc
//
//	@Summary		Muda a data de expiração
//	@Description	Data no passado → 422. Adiar a data atualiza a plataforma e reativa uma assinatura expirada.
//	@Tags			assinaturas
//	@Security		BearerAuth
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Param			id		path		int					true	"id_assinatura"
//	@Param			body	body		svahub.ExpiryInput	true	"data"
//	@Success		200		{object}	svahub.Subscription
//	@Failure		400		{object}	Problem	"urn:svahub:problema:requisicao-invalida — caminho, parâmetro de consulta, cabeçalho ou JSON malformado (erros aponta o campo)"
//	@Failure		401		{object}	Problem	"urn:svahub:problema:nao-autenticado — chave de API ausente ou inválida: envie Authorization: Bearer seguido da chave"
//	@Failure		403		{object}	Problem	"urn:svahub:problema:proibido — a chave tem escopo leitura e só pode consultar"
//	@Failure		404		{object}	Problem	"urn:svahub:problema:nao-encontrado — o recurso do caminho não existe"
//	@Failure		409		{object}	Problem	"urn:svahub:problema:conflito — conflita com o estado atual (em uso, duplicado ou proibido pelo estado do recurso)"
//	@Failure		413		{object}	Problem	"urn:svahub:problema:corpo-muito-grande — corpo acima de 1 MiB"
//	@Failure		415		{object}	Problem	"urn:svahub:problema:tipo-de-midia-nao-suportado — envie o corpo como application/json"
//	@Failure		422		{object}	Problem	"urn:svahub:problema:dados-invalidos — a validação falhou (erros lista os campos)"
//	@Failure		500		{object}	Problem	"urn:svahub:problema:erro-interno — erro inesperado; informe o request_id"
//	@Router			/api/v1/assinaturas/{id} [patch]
func (s *Server) patchSubscription(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in svahub.ExpiryInput
	if err := decode(c, &in); err != nil {
		return err
	}
	out, err := s.Services.SetSubscriptionExpiry(c.Request().Context(), id, svahub.Date(in.ExpiresOn))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// Accepted is the body of 202 answers.
type Accepted struct {
	// Sempre agendado: a transmissão foi posta na fila e roda em segundo plano.
	Status string `json:"status" example:"agendado"`
}

// retransmit godoc
//
//	@Summary		Retransmite a assinatura
//	@Description	Reagenda o trabalho na plataforma (por exemplo, depois de corrigir um código de produto); limpa o erro.
//	@Tags			assinaturas
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			Idempotency-Key	header		string	false	"chave de idempotência"
//	@Param			id				path		int		true	"id_assinatura"
//	@Success		202				{object}	Accepted
//	@Failure		400				{object}	Problem	"urn:svahub:problema:requisicao-invalida — caminho, parâmetro de consulta, cabeçalho ou JSON malformado (erros aponta o campo)"
//	@Failure		401				{object}	Problem	"urn:svahub:problema:nao-autenticado — chave de API ausente ou inválida: envie Authorization: Bearer seguido da chave"
//	@Failure		403				{object}	Problem	"urn:svahub:problema:proibido — a chave tem escopo leitura e só pode consultar"
//	@Failure		404				{object}	Problem	"urn:svahub:problema:nao-encontrado — o recurso do caminho não existe"
//	@Failure		409				{object}	Problem	"urn:svahub:problema:conflito — a requisição com a mesma Idempotency-Key ainda está em andamento"
//	@Failure		422				{object}	Problem	"urn:svahub:problema:dados-invalidos — a validação falhou (erros lista os campos); ou a Idempotency-Key já foi usada com outra requisição"
//	@Failure		500				{object}	Problem	"urn:svahub:problema:erro-interno — erro inesperado; informe o request_id"
//	@Router			/api/v1/assinaturas/{id}/retransmitir [post]
func (s *Server) retransmit(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := s.Services.Retransmit(c.Request().Context(), id); err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, Accepted{Status: "agendado"})
}

// BillingResponse is the billing feed.
type BillingResponse struct {
	// Mês cobrado (AAAA-MM).
	Competence string `json:"competencia" example:"2026-11"`
	// Linhas de cobrança desta página.
	Items []*svahub.BillingItem `json:"itens"`
	// Posição desta página na lista.
	Pagination Pagination `json:"paginacao"`
}

// billing godoc
//
//	@Summary		Feed de cobrança da competência
//	@Description	Cada assinatura com valor > 0 que existiu e não estava cancelada em algum dia do mês: dias_cobrados, dias_no_mes e valor_proporcional = valor × dias_cobrados ÷ dias_no_mes (arredondado meio para cima). O dia do cancelamento e os dias após data_expiracao não são cobrados.
//	@Tags			cobrancas
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			competencia			query		string	true	"AAAA-MM"
//	@Param			pagina				query		int		false	"página (0-based)"
//	@Param			itens_por_pagina	query		int		false	"itens por página (1–500)"
//	@Success		200					{object}	BillingResponse
//	@Failure		400					{object}	Problem	"urn:svahub:problema:requisicao-invalida — caminho, parâmetro de consulta, cabeçalho ou JSON malformado (erros aponta o campo)"
//	@Failure		401					{object}	Problem	"urn:svahub:problema:nao-autenticado — chave de API ausente ou inválida: envie Authorization: Bearer seguido da chave"
//	@Failure		500					{object}	Problem	"urn:svahub:problema:erro-interno — erro inesperado; informe o request_id"
//	@Router			/api/v1/cobrancas [get]
func (s *Server) billing(c echo.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	comp, err := svahub.ParseCompetence(c.QueryParam("competencia"))
	if err != nil {
		return badRequest("competencia inválida", svahub.FieldError{Field: "competencia", Message: "use AAAA-MM"})
	}
	items, total, err := s.Billing.FindBilling(c.Request().Context(), comp, p)
	if err != nil {
		return err
	}
	l := listOf(items, p, total)
	return c.JSON(http.StatusOK, BillingResponse{Competence: comp.String(), Items: l.Items, Pagination: l.Pagination})
}
