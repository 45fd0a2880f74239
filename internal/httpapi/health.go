package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/svahub/svahub/internal/buildinfo"
	"github.com/svahub/svahub/internal/svahub"
)

// Health is the body of /healthz and /readyz.
type Health struct {
	// Sempre ok.
	Status string `json:"status" example:"ok"`
	// Versão do svahub em execução (svahub version); só em /healthz.
	Versao string `json:"versao,omitempty" example:"v1.4.0"`
}

// healthz godoc
//
//	@Summary	Processo vivo
//	@Tags		saude
//	@Produce	json,application/problem+json
//	@Success	200	{object}	Health
//	@Failure	500	{object}	Problem	"urn:svahub:problema:erro-interno — erro inesperado; informe o request_id"
//	@Router		/healthz [get]
func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, Health{Status: "ok", Versao: buildinfo.Version()})
}

// readyz godoc
//
//	@Summary	Pronto para tráfego (banco acessível, migrações aplicadas)
//	@Tags		saude
//	@Produce	json,application/problem+json
//	@Success	200	{object}	Health
//	@Failure	500	{object}	Problem	"urn:svahub:problema:erro-interno — erro inesperado; informe o request_id"
//	@Failure	503	{object}	Problem	"urn:svahub:problema:indisponivel — dependência fora do ar ou serviço não pronto"
//	@Router		/readyz [get]
func (s *Server) readyz(c echo.Context) error {
	if s.Ready != nil {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
		defer cancel()
		if err := s.Ready(ctx); err != nil {
			return svahub.Errorf(svahub.EUNAVAILABLE, "não pronto: %s", svahub.ErrorMessage(err))
		}
	}
	return c.JSON(http.StatusOK, Health{Status: "ok"})
}
