package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/svahub/svahub/internal/svahub"
)

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// accessLog writes one structured line per request. It never logs bodies,
// query strings or the Authorization header.
func (s *Server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		req, res := c.Request(), c.Response()
		level := slog.LevelInfo
		if res.Status >= 500 {
			level = slog.LevelError
		} else if req.URL.Path == "/healthz" || req.URL.Path == "/readyz" || req.URL.Path == "/metrics" {
			level = slog.LevelDebug
		}
		attrs := []slog.Attr{
			slog.String("request_id", res.Header().Get(echo.HeaderXRequestID)),
			slog.String("method", req.Method),
			slog.String("route", c.Path()),
			slog.String("path", req.URL.Path),
			slog.Int("status", res.Status),
			slog.Int64("bytes", res.Size),
			slog.Duration("duration", time.Since(start)),
			slog.String("remote_ip", c.RealIP()),
		}
		if k, ok := c.Get("api_key").(*svahub.APIKey); ok {
			attrs = append(attrs, slog.String("api_key", k.Name))
		}
		s.log.LogAttrs(req.Context(), level, "http request", attrs...)
		return nil
	}
}

// authenticate checks the Bearer API key; leitura keys may only read.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header.Get(echo.HeaderAuthorization)
		scheme, token, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			return svahub.Errorf(svahub.EUNAUTHORIZED, "envie no cabeçalho Authorization a palavra Bearer, um espaço e a chave de API, assim: Authorization: Bearer svh_… (crie uma chave com svahub apikey create --nome NOME)")
		}
		key, err := s.APIKeys.AuthenticateAPIKey(c.Request().Context(), strings.TrimSpace(token))
		if err != nil {
			return err
		}
		c.Set("api_key", key)
		m := c.Request().Method
		if key.Scope != svahub.ScopeWrite && m != http.MethodGet && m != http.MethodHead {
			return svahub.Errorf(svahub.EFORBIDDEN, "a chave %q tem escopo leitura: só pode consultar", key.Name)
		}
		return next(c)
	}
}

// bodyLimit refuses bodies over 1 MiB (maxBody): at once when the length is
// declared, and while reading otherwise (decode turns it into 413).
func bodyLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if req.ContentLength > maxBody {
			return echo.ErrStatusRequestEntityTooLarge
		}
		req.Body = http.MaxBytesReader(c.Response(), req.Body, maxBody)
		return next(c)
	}
}
