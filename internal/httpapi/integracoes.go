package httpapi

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/svahub/svahub/internal/svahub"
)

func (s *Server) integrationRoutes(g *echo.Group) {
	g.POST("/integracoes", s.createIntegration)
	g.GET("/integracoes", s.listIntegrations)
	g.GET("/integracoes/:id", s.getIntegration)
	g.PUT("/integracoes/:id", s.updateIntegration)
	g.DELETE("/integracoes/:id", s.deleteIntegration)
	g.POST("/integracoes/:id/testar", s.testIntegration)
}

// createIntegration godoc
//
//	@Summary		Cadastra uma integração
//	@Description	Os parametros dependem da plataforma. qualifica: {"client_id": "svahub-test", "client_secret": "…", "usuario": "login_autenticacao", "url_base": "https://api.qualifica.example"}. webhook (WEBHOOK.md): {"url": "https://sva.provedor.example/svahub", "segredo": "whsec_…", "usuario": "login_autenticacao"}; sem segredo, o svahub gera um e o devolve só nesta resposta (parametros.segredo), uma única vez. Um parâmetro de outra plataforma → 400. Segredos (client_secret, segredo) são cifrados e nunca devolvidos: a resposta mostra client_secret_definido / segredo_definido. O token é gerado em seguida (webhook: a integração não tem token, o status fica valido); se a plataforma recusar ou estiver fora do ar, a integração é salva com token.status "erro". Endereços (url_base, url) devem ser https absolutos, sem usuário, consulta (?) nem fragmento (#), que não apontem para endereço interno (loopback, rede privada, link-local): senão 422 no parâmetro (exceções: SVAHUB_PLATFORM_ALLOWED_HOSTS e o host de SVAHUB_QUALIFICA_URL). Redirecionamentos da plataforma nunca são seguidos.
//	@Tags			integracoes
//	@Security		BearerAuth
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Param			Idempotency-Key	header		string					false	"chave de idempotência"
//	@Param			body			body		svahub.IntegrationInput	true	"integração"
//	@Success		201				{object}	svahub.Integration
//	@Failure		400				{object}	Problem	"urn:svahub:problema:requisicao-invalida — caminho, parâmetro de consulta, cabeçalho ou JSON malformado (erros aponta o campo)"
//	@Failure		401				{object}	Problem	"urn:svahub:problema:nao-autenticado — chave de API ausente ou inválida: envie Authorization: Bearer seguido da chave"
//	@Failure		403				{object}	Problem	"urn:svahub:problema:proibido — a chave tem escopo leitura e só pode consultar"
//	@Failure		409				{object}	Problem	"urn:svahub:problema:conflito — a requisição com a mesma Idempotency-Key ainda está em andamento"
//	@Failure		413				{object}	Problem	"urn:svahub:problema:corpo-muito-grande — corpo acima de 1 MiB"
//	@Failure		415				{object}	Problem	"urn:svahub:problema:tipo-de-midia-nao-suportado — envie o corpo como application/json"
//	@Failure		422				{object}	Problem	"urn:svahub:problema:dados-invalidos — a validação falhou (erros lista os campos); ou a Idempotency-Key já foi usada com outra requisição"
//	@Failure		500				{object}	Problem	"urn:svahub:problema:erro-interno — erro inesperado; informe o request_id"
//	@Router			/api/v1/integracoes [post]
func (s *Server) createIntegration(c echo.Context) error {
	var in svahub.IntegrationInput
	if err := decode(c, &in); err != nil {
		return err
	}
	out, err := s.Catalogue.CreateIntegration(c.Request().Context(), in)
	if err != nil {
		return err
	}
	keepWithoutRevealed(c, out)
	return created(c, fmt.Sprintf("/api/v1/integracoes/%d", out.ID), out)
}

// listIntegrations godoc
//
//	@Summary	Lista integrações
//	@Tags		integracoes
//	@Security	BearerAuth
//	@Produce	json,application/problem+json
//	@Param		pagina				query		int	false	"página (0-based)"	minimum(0)
//	@Param		itens_por_pagina	query		int	false	"itens por página"	minimum(1)	maximum(500)	default(50)
//	@Success	200					{object}	IntegrationList
//	@Failure	400					{object}	Problem	"urn:svahub:problema:requisicao-invalida — caminho, parâmetro de consulta, cabeçalho ou JSON malformado (erros aponta o campo)"
//	@Failure	401					{object}	Problem	"urn:svahub:problema:nao-autenticado — chave de API ausente ou inválida: envie Authorization: Bearer seguido da chave"
//	@Failure	500					{object}	Problem	"urn:svahub:problema:erro-interno — erro inesperado; informe o request_id"
//	@Router		/api/v1/integracoes [get]
func (s *Server) listIntegrations(c echo.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	items, total, err := s.Catalogue.FindIntegrations(c.Request().Context(), svahub.IntegrationFilter{Page: p})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listOf(items, p, total))
}

// getIntegration godoc
//
//	@Summary	Consulta uma integração
//	@Tags		integracoes
//	@Security	BearerAuth
//	@Produce	json,application/problem+json
//	@Param		id	path		int	true	"id_integracao"
//	@Success	200	{object}	svahub.Integration
//	@Failure	400	{object}	Problem	"urn:svahub:problema:requisicao-invalida — caminho, parâmetro de consulta, cabeçalho ou JSON malformado (erros aponta o campo)"
//	@Failure	401	{object}	Problem	"urn:svahub:problema:nao-autenticado — chave de API ausente ou inválida: envie Authorization: Bearer seguido da chave"
//	@Failure	404	{object}	Problem	"urn:svahub:problema:nao-encontrado — o recurso do caminho não existe"
//	@Failure	500	{object}	Problem	"urn:svahub:problema:erro-interno — erro inesperado; informe o request_id"
//	@Router		/api/v1/integracoes/{id} [get]
func (s *Server) getIntegration(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	out, err := s.Catalogue.FindIntegrationByID(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// updateIntegration godoc
//
//	@Summary		Atualiza uma integração
//	@Description	Cada campo omitido (ou null) mantém o valor guardado, inclusive cada um dos parametros e os segredos. Parâmetros alterados geram um novo token. Mudar um endereço (url_base, url) exige enviar de novo os segredos (client_secret, segredo), senão 422: o segredo guardado só vai para o endereço para o qual foi dado. Mudar a plataforma recomeça os parametros (os da anterior não valem; um segredo do webhook omitido é gerado e devolvido só nesta resposta). Mudar parametros.usuario com contas já criadas na plataforma → 409. Um endereço enviado segue as regras do cadastro (https, sem endereço interno; senão 422).
//	@Tags			integracoes
//	@Security		BearerAuth
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Param			id		path		int							true	"id_integracao"
//	@Param			body	body		svahub.IntegrationUpdate	true	"campos a mudar"
//	@Success		200		{object}	svahub.Integration
//	@Failure		400		{object}	Problem	"urn:svahub:problema:requisicao-invalida — caminho, parâmetro de consulta, cabeçalho ou JSON malformado (erros aponta o campo)"
//	@Failure		401		{object}	Problem	"urn:svahub:problema:nao-autenticado — chave de API ausente ou inválida: envie Authorization: Bearer seguido da chave"
//	@Failure		403		{object}	Problem	"urn:svahub:problema:proibido — a chave tem escopo leitura e só pode consultar"
//	@Failure		404		{object}	Problem	"urn:svahub:problema:nao-encontrado — o recurso do caminho não existe"
//	@Failure		409		{object}	Problem	"urn:svahub:problema:conflito — conflita com o estado atual (em uso, duplicado ou proibido pelo estado do recurso)"
//	@Failure		413		{object}	Problem	"urn:svahub:problema:corpo-muito-grande — corpo acima de 1 MiB"
//	@Failure		415		{object}	Problem	"urn:svahub:problema:tipo-de-midia-nao-suportado — envie o corpo como application/json"
//	@Failure		422		{object}	Problem	"urn:svahub:problema:dados-invalidos — a validação falhou (erros lista os campos)"
//	@Failure		500		{object}	Problem	"urn:svahub:problema:erro-interno — erro inesperado; informe o request_id"
//	@Router			/api/v1/integracoes/{id} [put]
func (s *Server) updateIntegration(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in svahub.IntegrationUpdate
	if err := decode(c, &in); err != nil {
		return err
	}
	out, err := s.Catalogue.UpdateIntegration(c.Request().Context(), id, in)
	if err != nil {
		return err
	}
	keepWithoutRevealed(c, out)
	return c.JSON(http.StatusOK, out)
}

// deleteIntegration godoc
//
//	@Summary	Exclui uma integração
//	@Tags		integracoes
//	@Security	BearerAuth
//	@Produce	application/problem+json
//	@Param		id	path	int	true	"id_integracao"
//	@Success	204
//	@Failure	400	{object}	Problem	"urn:svahub:problema:requisicao-invalida — caminho, parâmetro de consulta, cabeçalho ou JSON malformado (erros aponta o campo)"
//	@Failure	401	{object}	Problem	"urn:svahub:problema:nao-autenticado — chave de API ausente ou inválida: envie Authorization: Bearer seguido da chave"
//	@Failure	403	{object}	Problem	"urn:svahub:problema:proibido — a chave tem escopo leitura e só pode consultar"
//	@Failure	404	{object}	Problem	"urn:svahub:problema:nao-encontrado — o recurso do caminho não existe"
//	@Failure	409	{object}	Problem	"urn:svahub:problema:conflito — conflita com o estado atual (em uso, duplicado ou proibido pelo estado do recurso)"
//	@Failure	500	{object}	Problem	"urn:svahub:problema:erro-interno — erro inesperado; informe o request_id"
//	@Router		/api/v1/integracoes/{id} [delete]
func (s *Server) deleteIntegration(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := s.Catalogue.DeleteIntegration(c.Request().Context(), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// testIntegration godoc
//
//	@Summary		Testa a integração (Ações > Testar)
//	@Description	Gera um token agora e responde o bloco token: "valido" ou "erro" com a mensagem da plataforma. Também confere os códigos de produto cadastrados. Numa plataforma sem token (webhook) envia o teste da plataforma (integracao.teste) e responde "valido" (sem expira_em) quando ele é aceito.
//	@Tags			integracoes
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			Idempotency-Key	header		string	false	"chave de idempotência"
//	@Param			id				path		int		true	"id_integracao"
//	@Success		200				{object}	svahub.TokenInfo
//	@Failure		400				{object}	Problem	"urn:svahub:problema:requisicao-invalida — caminho, parâmetro de consulta, cabeçalho ou JSON malformado (erros aponta o campo)"
//	@Failure		401				{object}	Problem	"urn:svahub:problema:nao-autenticado — chave de API ausente ou inválida: envie Authorization: Bearer seguido da chave"
//	@Failure		403				{object}	Problem	"urn:svahub:problema:proibido — a chave tem escopo leitura e só pode consultar"
//	@Failure		404				{object}	Problem	"urn:svahub:problema:nao-encontrado — o recurso do caminho não existe"
//	@Failure		409				{object}	Problem	"urn:svahub:problema:conflito — a requisição com a mesma Idempotency-Key ainda está em andamento"
//	@Failure		422				{object}	Problem	"urn:svahub:problema:dados-invalidos — a validação falhou (erros lista os campos); ou a Idempotency-Key já foi usada com outra requisição"
//	@Failure		500				{object}	Problem	"urn:svahub:problema:erro-interno — erro inesperado; informe o request_id"
//	@Router			/api/v1/integracoes/{id}/testar [post]
func (s *Server) testIntegration(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if s.Platform == nil {
		return svahub.Errorf(svahub.EUNAVAILABLE, "nenhum adaptador de plataforma configurado")
	}
	tok, err := s.Platform.TestIntegration(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if tok.ExpiresAt != nil { // every timestamp in the business time zone's offset
		t := tok.ExpiresAt.In(s.location())
		tok.ExpiresAt = &t
	}
	return c.JSON(http.StatusOK, tok)
}
