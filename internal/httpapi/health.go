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
	Status string `json:"status" example:"ok"`
	Detail string `json:"detail,omitempty"`
	// Versao is the running build's version (svahub version); /healthz only.
	Versao string `json:"versao,omitempty" example:"v1.4.0"`
}

// healthz godoc
//
//	@Summary	Processo vivo
//	@Tags		saude
//	@Produce	json
//	@Success	200	{object}	Health
//	@Router		/healthz [get]
func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, Health{Status: "ok", Versao: buildinfo.Version()})
}

// readyz godoc
//
//	@Summary	Pronto para tráfego (banco acessível, migrações aplicadas)
//	@Tags		saude
//	@Produce	json
//	@Success	200	{object}	Health
//	@Failure	503	{object}	Problem
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
