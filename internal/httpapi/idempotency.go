package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/svahub/svahub/internal/svahub"
)

// recorder tees a response into a buffer for the idempotency store.
type recorder struct {
	http.ResponseWriter
	buf bytes.Buffer
}

func (r *recorder) Write(p []byte) (int, error) {
	r.buf.Write(p)
	return r.ResponseWriter.Write(p)
}

func validIdempotencyKey(k string) bool {
	if len(k) == 0 || len(k) > 255 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// idempotent implements the Idempotency-Key header of POST routes: the same
// key with the same body within 24 h replays the first answer; with another
// body it is 422. Answers of 5xx are not kept, so a retry runs again.
//
// A request holding a reservation runs to its end even when the client
// gives up (a timeout, a disconnect: the case keys exist for): it runs on
// the request's values without its cancellation, bounded by
// svahub.IdempotencyRunLimit, and its answer is stored for the retry.
// Storing or freeing the reservation never uses the request's context. A
// panic frees the reservation at once (and goes on to the recoverer); a
// reservation left by a process that died is abandoned after
// svahub.IdempotencyAbandonAfter.
func (s *Server) idempotent(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		key := req.Header.Get("Idempotency-Key")
		if req.Method != http.MethodPost || key == "" || s.Idempotency == nil {
			return next(c)
		}
		if !validIdempotencyKey(key) {
			return badRequest("Idempotency-Key inválida: de 1 a 255 caracteres ASCII visíveis", svahub.FieldError{Field: "Idempotency-Key", Message: "valor inválido"})
		}
		apiKey, _ := c.Get("api_key").(*svahub.APIKey)
		if apiKey == nil {
			return next(c)
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return decodeReadError(err)
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		sum := sha256.New()
		sum.Write([]byte(req.Method + " " + req.URL.Path + "\n"))
		sum.Write(body)
		hash := hex.EncodeToString(sum.Sum(nil))
		ctx, cancel := context.WithTimeout(context.WithoutCancel(req.Context()), svahub.IdempotencyRunLimit)
		defer cancel()
		stored, err := s.Idempotency.BeginIdempotent(ctx, apiKey.ID, key, hash)
		if err != nil {
			return err
		}
		if stored != nil {
			h := c.Response().Header()
			if stored.Location != "" {
				h.Set(echo.HeaderLocation, stored.Location)
			}
			h.Set("Idempotent-Replayed", "true")
			return c.Blob(stored.Status, stored.ContentType, stored.Body)
		}
		c.SetRequest(req.WithContext(ctx))
		rec := &recorder{ResponseWriter: c.Response().Writer}
		c.Response().Writer = rec
		answered := false
		defer func() {
			if !answered { // a panic: free the key, let the recoverer answer
				s.releaseIdempotent(ctx, apiKey.ID, key)
			}
		}()
		if err := next(c); err != nil {
			c.Error(err)
		}
		answered = true
		c.Response().Writer = rec.ResponseWriter
		res := c.Response()
		if res.Status >= 500 {
			s.releaseIdempotent(ctx, apiKey.ID, key)
			return nil
		}
		ct, _, _ := strings.Cut(res.Header().Get(echo.HeaderContentType), ";")
		if ct == "" {
			ct = "application/json"
		}
		answer := rec.buf.Bytes()
		if kept, ok := c.Get(keptAnswerKey).([]byte); ok { // the answer showed a secret once
			answer = kept
		}
		fctx, fcancel := idempotencyWriteContext(ctx)
		defer fcancel()
		err = s.Idempotency.FinishIdempotent(fctx, apiKey.ID, key, svahub.StoredResponse{
			Status: res.Status, ContentType: res.Header().Get(echo.HeaderContentType), Location: res.Header().Get(echo.HeaderLocation), Body: answer,
		})
		if err != nil {
			s.log.WarnContext(ctx, "store idempotent answer", "err", err)
		}
		return nil
	}
}

// keptAnswerKey names the echo context value a handler sets when its
// answer shows a secret once (a generated webhook segredo): the body kept
// for an Idempotency-Key replay, without the secret. A secret is never
// stored in clear, not even in a kept answer; a replay shows only
// `<name>_definido`.
const keptAnswerKey = "svahub.keptAnswer"

// keepWithoutRevealed records, for a replay, out's answer without the
// secrets it reveals (see keptAnswerKey).
func keepWithoutRevealed(c echo.Context, out *svahub.Integration) {
	if out == nil || len(out.Params.Revealed) == 0 {
		return
	}
	kept := *out
	kept.Params.Revealed = nil
	if b, err := json.Marshal(&kept); err == nil {
		c.Set(keptAnswerKey, append(b, '\n'))
	}
}

// idempotencyWriteContext is the context that stores or frees a
// reservation: never the request's (it may be cancelled or past its
// limit), bounded on its own.
func idempotencyWriteContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
}

// releaseIdempotent frees a reservation whose request ended without an
// answer to keep (5xx, panic), so a retry runs again.
func (s *Server) releaseIdempotent(ctx context.Context, apiKeyID int64, key string) {
	fctx, cancel := idempotencyWriteContext(ctx)
	defer cancel()
	if err := s.Idempotency.AbortIdempotent(fctx, apiKeyID, key); err != nil {
		s.log.WarnContext(fctx, "abort idempotency key", "err", err)
	}
}
