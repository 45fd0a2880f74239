package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/app"
	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/internal/svahub"
	"github.com/svahub/svahub/pkg/qualifica/qualificasim"
)

// simEnv is the whole wired svahub (app.New) over a real database and the
// in-process Qualifica simulator.
type simEnv struct {
	*env
	app *app.App
	sim *qualificasim.Sim
}

func newSimEnv(t *testing.T, dialect string, simOpts qualificasim.Options) *simEnv {
	t.Helper()
	logBuf := &bytes.Buffer{}
	log := slog.New(slog.NewJSONHandler(&lockedWriter{w: logBuf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sim := qualificasim.NewServer(t, simOpts)
	loc, err := time.LoadLocation("America/Sao_Paulo")
	require.NoError(t, err)
	db := storetest.Open(t, dialect, storetest.Options{Logger: log, Location: loc})
	ctx := context.Background()
	a, err := app.New(ctx, db, app.Options{Logger: log, Location: loc, QualificaURL: sim.URL(), PlatformTimeout: 2 * time.Second, PlatformRateLimit: 1000})
	require.NoError(t, err)
	_, key, err := db.CreateAPIKey(ctx, "tests", svahub.ScopeWrite)
	require.NoError(t, err)
	_, ro, err := db.CreateAPIKey(ctx, "leitor", svahub.ScopeRead)
	require.NoError(t, err)
	srv := httptest.NewServer(a.API)
	t.Cleanup(srv.Close)
	return &simEnv{env: &env{t: t, db: db, srv: srv, key: key, roKey: ro, logBuf: logBuf}, app: a, sim: sim}
}

// createIntegration posts an integration and returns its JSON.
func (e *simEnv) createIntegration(params map[string]any, extra map[string]any) map[string]any {
	e.t.Helper()
	p := map[string]any{"client_id": qualificasim.DefaultClientID, "client_secret": qualificasim.DefaultClientSecret}
	for k, v := range params {
		p[k] = v
	}
	body := map[string]any{"descricao": "Qualifica", "plataforma": "qualifica", "parametros": p}
	for k, v := range extra {
		body[k] = v
	}
	r := e.do("POST", "/api/v1/integracoes", body)
	require.Equal(e.t, 201, r.Status, "%s", r.Body)
	return r.JSON(e.t)
}

func idOf(m map[string]any, key string) int64 {
	return int64(m[key].(float64))
}

func path(format string, args ...any) string { return fmt.Sprintf(format, args...) }
