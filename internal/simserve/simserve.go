// Package simserve runs a platform simulator (cmd/qualifica-sim,
// cmd/webhook-sim) as a program: an HTTP server with an access log that
// never logs bodies or secret-bearing headers, shut down gracefully when
// its context ends.
package simserve

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Options tune Serve.
type Options struct {
	// LogHeader names one request header to log with each request
	// (webhook-id); empty logs none. It must not carry a secret.
	LogHeader string
	// OnStop runs when ctx ends, before the server shuts down (to release
	// requests the simulator holds on purpose).
	OnStop func()
}

// Serve serves h on ln with an access log until ctx ends or the server
// fails, then shuts down within 10 seconds.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger, o Options) error {
	srv := &http.Server{Handler: logRequests(log, o.LogHeader, h), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	if o.OnStop != nil {
		o.OnStop()
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// statusRecorder captures the status code for the access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

// WriteHeader records code and passes it on.
func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// logRequests logs method, path (no query: it may carry user data), the
// header named, status and duration.
func logRequests(log *slog.Logger, header string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		attrs := []any{"method", r.Method, "path", r.URL.Path, "status", rec.status, "duration", time.Since(start)}
		if header != "" {
			attrs = append(attrs, header, r.Header.Get(header))
		}
		log.Info("request", attrs...)
	})
}
