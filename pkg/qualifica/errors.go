package qualifica

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind classifies an [*Error] by what the caller should do about it.
type Kind int

const (
	// KindTemporary: 5xx, 408, 429, timeouts and connection errors. Retry later
	// with backoff, honouring [Error.RetryAfter] when it is set.
	KindTemporary Kind = iota + 1
	// KindAuth: 401. On the token endpoint the credentials were refused
	// ("credenciais_invalidas"); on any other call the token is no longer
	// valid ("token_invalido", see [IsTokenInvalid]).
	KindAuth
	// KindPermanent: 400, 403, 404, 409, 422 (and any other 4xx). Do not retry
	// automatically; [Error.Message] says why, in the platform's words.
	KindPermanent
	// KindNotFound: the user does not exist. Only [Client.GetUser] uses it.
	KindNotFound
)

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case KindTemporary:
		return "temporario"
	case KindAuth:
		return "autenticacao"
	case KindPermanent:
		return "permanente"
	case KindNotFound:
		return "nao_encontrado"
	default:
		return "desconhecido(" + strconv.Itoa(int(k)) + ")"
	}
}

// Error is every error returned by [Client] methods.
type Error struct {
	// Kind says what to do about the error.
	Kind Kind
	// Status is the HTTP status, or 0 when no response was received.
	Status int
	// Code is the platform's "codigo", when it sent one.
	Code string
	// Message is the platform's "mensagem", or a Portuguese description of
	// the failure (e.g. "plataforma indisponível: timeout"). It never holds a
	// secret, password or token.
	Message string
	// RetryAfter is the wait requested by Retry-After on a 429; 0 otherwise.
	RetryAfter time.Duration
	// Err is the underlying cause (transport or decoding error), if any.
	Err error
}

// Error formats the error as "qualifica: HTTP <status>: <message> (<code>)".
// The underlying cause is not included (see [Error.Unwrap]).
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("qualifica: ")
	if e.Status > 0 {
		b.WriteString("HTTP ")
		b.WriteString(strconv.Itoa(e.Status))
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	if e.Code != "" {
		b.WriteString(" (")
		b.WriteString(e.Code)
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// IsTokenInvalid reports whether err is a 401 "token_invalido": the access
// token expired or was revoked. Get a new token once and repeat the call once.
func IsTokenInvalid(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusUnauthorized && e.Code == CodeInvalidToken
}

// KindOf returns the [Kind] of err, or 0 when err is not an [*Error].
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

// platformError is the platform's error body.
type platformError struct {
	Code    string `json:"codigo"`
	Message string `json:"mensagem"`
}

// unexpectedMessage describes a response the client cannot use.
func unexpectedMessage(status int) string {
	return fmt.Sprintf("resposta inesperada da plataforma (HTTP %d)", status)
}

// kindForStatus classifies a non-2xx HTTP status.
func kindForStatus(status int) Kind {
	switch {
	case status == http.StatusUnauthorized:
		return KindAuth
	case status == http.StatusTooManyRequests, status == http.StatusRequestTimeout, status >= 500:
		return KindTemporary
	default:
		return KindPermanent
	}
}

// statusError builds the *Error for a non-2xx response. bearer says whether
// the call carried a token (every call except the token endpoint). The
// message is redacted of every value in secrets.
func statusError(resp *response, bearer bool, secrets []string) *Error {
	e := &Error{Kind: kindForStatus(resp.status), Status: resp.status}
	if resp.status >= 300 && resp.status < 400 {
		e.Message = fmt.Sprintf("a plataforma respondeu com um redirecionamento (HTTP %d), que não é seguido: corrija o endereço", resp.status)
		return e
	}
	var pe platformError
	if err := json.Unmarshal(resp.body, &pe); err == nil && (pe.Code != "" || pe.Message != "") {
		e.Code = strings.TrimSpace(pe.Code)
		e.Message = cut(redact(strings.TrimSpace(pe.Message), secrets), MaxMessage)
	}
	if e.Message == "" {
		e.Message = unexpectedMessage(resp.status)
	}
	if resp.status == http.StatusUnauthorized && e.Code == "" {
		if bearer {
			e.Code = CodeInvalidToken
		} else {
			e.Code = CodeInvalidCredentials
		}
	}
	if resp.status == http.StatusTooManyRequests {
		e.RetryAfter = parseRetryAfter(resp.header.Get("Retry-After"), time.Now())
	}
	return e
}

// maxRetryAfter is the longest Retry-After read, in seconds (one year).
const maxRetryAfter = 365 * 24 * 3600

// parseRetryAfter reads a Retry-After value in seconds or as an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		switch {
		case secs < 0:
			return 0
		case secs > maxRetryAfter:
			secs = maxRetryAfter // no overflow of time.Duration; callers cap further
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d.Round(time.Second)
		}
	}
	return 0
}

// transportError classifies an error that left no HTTP response. Its
// message is deliberately neutral: which of refused, reset, unresolvable
// or timed out would let a caller map ports and hosts through svahub. The
// cause stays in Err for the operator's logs.
func transportError(err error) *Error {
	reason := "plataforma indisponível"
	if errors.Is(err, context.Canceled) {
		reason = "operação cancelada"
	}
	return &Error{Kind: KindTemporary, Message: reason, Err: err}
}

// MaxMessage is the longest platform message passed on, in characters.
const MaxMessage = 300

// cut shortens s to n characters (runes), marking the cut with "…".
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// redact replaces every non-empty secret in s.
//
// A platform that quotes the request back may carry the secret in the
// encoding it was sent in, so the form-encoded, path-escaped and
// JSON-escaped forms are replaced too (longest first).
func redact(s string, secrets []string) string {
	var forms []string
	for _, sec := range secrets {
		if sec == "" {
			continue
		}
		forms = append(forms, sec, url.QueryEscape(sec), url.PathEscape(sec))
		if b, err := json.Marshal(sec); err == nil {
			forms = append(forms, string(b[1:len(b)-1]))
		}
		// HTML-safe JSON escaping (the default of encoding/json).
		forms = append(forms, strings.NewReplacer("<", `\u003c`, ">", `\u003e`, "&", `\u0026`).Replace(sec))
	}
	sort.Slice(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	for _, f := range forms {
		if f != "" {
			s = strings.ReplaceAll(s, f, "[redacted]")
		}
	}
	return s
}
