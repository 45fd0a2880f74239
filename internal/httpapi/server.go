package httpapi

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	echoSwagger "github.com/swaggo/echo-swagger"

	_ "github.com/svahub/svahub/api" // registers the generated OpenAPI document
	"github.com/svahub/svahub/internal/svahub"
)

// PlatformService is what the HTTP API asks of the platform layer.
type PlatformService interface {
	// TestIntegration generates a token now and answers the token block.
	TestIntegration(ctx context.Context, id int64) (*svahub.TokenInfo, error)
	// SyncProducts imports the platform catalogue as products.
	SyncProducts(ctx context.Context, integrationID int64) ([]*svahub.Product, error)
}

// Deps are the services the HTTP API calls.
type Deps struct {
	Catalogue svahub.CatalogueService
	Platform  PlatformService
	Services  svahub.CustomerServiceService
	APIKeys   svahub.APIKeyService
	// Idempotency keeps POST answers for Idempotency-Key replays.
	Idempotency svahub.IdempotencyService
	// Billing serves the billing feed.
	Billing svahub.BillingService
	// Transmissions lists platform calls.
	Transmissions svahub.TransmissionService
	// Erasure anonymises former customers' personal data.
	Erasure svahub.ErasureService
	// Location is the business time zone (default America/Sao_Paulo).
	Location *time.Location
	// Ready reports whether the service can take traffic (database up,
	// migrations applied).
	Ready  func(ctx context.Context) error
	Logger *slog.Logger
	// Metrics, when set, wraps every request (see internal/metrics).
	Metrics echo.MiddlewareFunc
	// MetricsHandler serves GET /metrics when set.
	MetricsHandler http.Handler
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed (SVAHUB_TRUSTED_PROXIES); empty: the client IP is always
	// the direct peer.
	TrustedProxies []*net.IPNet
}

// Server is the HTTP API.
type Server struct {
	Deps
	echo *echo.Echo
	log  *slog.Logger
}

// New builds the router.
func New(d Deps) *Server { return build(d, true) }

// NewOps builds a router with only /healthz, /readyz and /metrics, for
// worker-only processes (probes and metrics scraping, no API).
func NewOps(d Deps) *Server { return build(d, false) }

func build(d Deps, api bool) *Server {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	s := &Server{Deps: d, echo: e, log: d.Logger}
	e.IPExtractor = clientIP(d.TrustedProxies)
	e.HTTPErrorHandler = s.errorHandler
	e.Use(middleware.RequestIDWithConfig(middleware.RequestIDConfig{
		Generator: newRequestID,
		RequestIDHandler: func(c echo.Context, id string) {
			c.Set("request_id", id)
		},
	}))
	e.Use(s.accessLog)
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			s.log.ErrorContext(c.Request().Context(), "panic", "err", err, "stack", string(stack))
			return err
		},
	}))
	if d.Metrics != nil {
		e.Use(d.Metrics)
	}
	e.Use(bodyLimit)

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	if d.MetricsHandler != nil {
		e.GET("/metrics", echo.WrapHandler(d.MetricsHandler))
	}
	if !api {
		return s
	}
	toIndex := func(c echo.Context) error { return c.Redirect(http.StatusMovedPermanently, "/swagger/index.html") }
	// echo-swagger would send /swagger/ to /swagger//index.html.
	e.GET("/swagger", toIndex)
	e.GET("/swagger/", toIndex)
	e.GET("/swagger/*", echoSwagger.WrapHandler)

	// Auth runs for every matched /api/v1 route. It is not group
	// middleware, which would turn unknown methods (405) into 404s.
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		auth := s.authenticate(s.idempotent(next))
		return func(c echo.Context) error {
			if strings.HasPrefix(c.Path(), "/api/v1/") {
				return auth(c)
			}
			return next(c)
		}
	})
	v1 := e.Group("/api/v1")
	s.integrationRoutes(v1)
	s.productRoutes(v1)
	s.packageRoutes(v1)
	s.planRoutes(v1)
	s.transmissionRoutes(v1)
	s.serviceRoutes(v1)
	s.subscriptionRoutes(v1)
	s.customerRoutes(v1)
	return s
}

// clientIP returns how the client address is found: the direct peer,
// unless it is one of the trusted proxies, whose X-Forwarded-For is then
// read from the right, skipping trusted hops. Loopback, link-local and
// private peers are not trusted unless listed.
func clientIP(proxies []*net.IPNet) echo.IPExtractor {
	if len(proxies) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range proxies {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

func (s *Server) location() *time.Location {
	if s.Location != nil {
		return s.Location
	}
	return time.UTC
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

// Routes lists every registered route (method and path), for tests that
// check that no route escapes authentication.
func (s *Server) Routes() []*echo.Route { return s.echo.Routes() }

// HTTPServer returns an *http.Server for addr with sane timeouts.
func (s *Server) HTTPServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}
