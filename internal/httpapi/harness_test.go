package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/httpapi"
	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/internal/svahub"
)

// env is one svahub API over a real database of one dialect.
type env struct {
	t      *testing.T
	db     *store.DB
	srv    *httptest.Server
	key    string // escrita key
	roKey  string // leitura key
	logBuf *bytes.Buffer
}

func newEnv(t *testing.T, dialect string) *env {
	t.Helper()
	logBuf := &bytes.Buffer{}
	log := slog.New(slog.NewJSONHandler(&lockedWriter{w: logBuf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	db := storetest.Open(t, dialect)
	ctx := context.Background()
	_, key, err := db.CreateAPIKey(ctx, "tests", svahub.ScopeWrite)
	require.NoError(t, err)
	_, ro, err := db.CreateAPIKey(ctx, "leitor", svahub.ScopeRead)
	require.NoError(t, err)
	api := httpapi.New(httpapi.Deps{Catalogue: db, APIKeys: db, Idempotency: db, Logger: log, Ready: func(ctx context.Context) error { return db.Ping(ctx) }})
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return &env{t: t, db: db, srv: srv, key: key, roKey: ro, logBuf: logBuf}
}

// response is a decoded answer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic map.
func (r response) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &m), "body: %s", r.Body)
	return m
}

// do sends a request with the escrita key. body may be nil, a string (sent
// verbatim) or any value (JSON-encoded).
func (e *env) do(method, path string, body any) response {
	return e.doWith(e.key, "application/json", method, path, body)
}

func (e *env) doWith(key, contentType, method, path string, body any) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(e.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	require.NoError(e.t, err)
	if rd != nil && contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := e.srv.Client().Do(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	return response{Status: res.StatusCode, Header: res.Header, Body: raw}
}

// requireProblem checks a problem+json answer and returns it.
func requireProblem(t *testing.T, r response, status int, fields ...string) map[string]any {
	t.Helper()
	require.Equal(t, status, r.Status, "body: %s", r.Body)
	require.True(t, strings.HasPrefix(r.Header.Get("Content-Type"), "application/problem+json"), "content type %q", r.Header.Get("Content-Type"))
	p := r.JSON(t)
	require.EqualValues(t, status, p["status"])
	require.NotEmpty(t, p["title"])
	require.NotEmpty(t, p["detail"])
	require.NotEmpty(t, p["type"])
	for _, f := range fields {
		found := false
		errs, _ := p["erros"].([]any)
		for _, e := range errs {
			if m, _ := e.(map[string]any); m["campo"] == f {
				found = true
				require.NotEmpty(t, m["mensagem"])
			}
		}
		require.True(t, found, "field %q not in erros: %s", f, r.Body)
	}
	return p
}
