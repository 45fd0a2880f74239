package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/svahub/svahub/internal/svahub"
)

func (s *Server) customerRoutes(g *echo.Group) {
	g.POST("/clientes/:id_cliente/anonimizar", s.eraseCustomer)
}

// eraseCustomer godoc
//
//	@Summary		Anonimiza os dados pessoais de um ex-cliente (LGPD, art. 18, VI)
//	@Description	Só quando todo serviço do cliente está cancelado ou inativo e nenhum trabalho na plataforma está pendente para ele (senão 409, com cada impedimento em erros). Substitui nome, CPF/CNPJ, e-mail, telefone, login e senha de cada serviço do cliente por valores neutros (nome "Cliente anonimizado", os demais vazios), troca o usuário das contas de plataforma que só ele usa por "anonimizado:<id>", remove as mensagens da plataforma das suas transmissões e qualquer mensagem, resposta guardada de Idempotency-Key ou erro de job que cite seus dados. Mantém ids, datas, valores e resultados (cobranças e auditoria não mudam) e registra quando e com qual chave de API foi feito.
//	@Description	Idempotente: repetir responde o mesmo registro com ja_anonimizado=true. O svahub não pede à plataforma que apague o usuário (seus planos já foram cancelados): usuarios_plataforma lista os ids a encaminhar à plataforma.
//	@Tags			clientes
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			id_cliente		path		int		true	"id_cliente (HubSoft)"
//	@Param			Idempotency-Key	header		string	false	"chave de idempotência"
//	@Success		200				{object}	svahub.Erasure
//	@Failure		400				{object}	Problem	"urn:svahub:problema:requisicao-invalida — caminho, parâmetro de consulta, cabeçalho ou JSON malformado (erros aponta o campo)"
//	@Failure		401				{object}	Problem	"urn:svahub:problema:nao-autenticado — chave de API ausente ou inválida: envie Authorization: Bearer seguido da chave"
//	@Failure		403				{object}	Problem	"urn:svahub:problema:proibido — a chave tem escopo leitura e só pode consultar"
//	@Failure		404				{object}	Problem	"urn:svahub:problema:nao-encontrado — o recurso do caminho não existe"
//	@Failure		409				{object}	Problem	"urn:svahub:problema:conflito — conflita com o estado atual (em uso, duplicado ou proibido pelo estado do recurso); ou a requisição com a mesma Idempotency-Key ainda está em andamento"
//	@Failure		422				{object}	Problem	"urn:svahub:problema:dados-invalidos — a validação falhou (erros lista os campos); ou a Idempotency-Key já foi usada com outra requisição"
//	@Failure		500				{object}	Problem	"urn:svahub:problema:erro-interno — erro inesperado; informe o request_id"
//	@Router			/api/v1/clientes/{id_cliente}/anonimizar [post]
func (s *Server) eraseCustomer(c echo.Context) error {
	id, err := pathID(c, "id_cliente")
	if err != nil {
		return err
	}
	by := svahub.ErasureActor{Origin: svahub.ErasureByAPI}
	if k, ok := c.Get("api_key").(*svahub.APIKey); ok {
		by.APIKeyID, by.APIKeyName = &k.ID, k.Name
	}
	out, err := s.Erasure.EraseCustomer(c.Request().Context(), id, by)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}
