package svahub

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to exactly one HTTP status in internal/httpapi.
const (
	EINVALID      = "invalid"      // validation failed (422)
	EBADREQUEST   = "bad_request"  // malformed request (400)
	ENOTFOUND     = "not_found"    // resource does not exist (404)
	ECONFLICT     = "conflict"     // state conflict, e.g. still in use (409)
	EUNAUTHORIZED = "unauthorized" // missing or wrong credentials (401)
	EFORBIDDEN    = "forbidden"    // authenticated but not allowed (403)
	EUNAVAILABLE  = "unavailable"  // dependency down, not ready (503)
	EINTERNAL     = "internal"     // anything else (500)
)

// FieldError describes what is wrong with one input field. Campo is the wire
// name of the field (dotted for nested fields, e.g. "parametros.client_id").
type FieldError struct {
	// Campo com problema, com o nome do JSON (aninhado com ponto, ex.: parametros.client_id).
	Field string `json:"campo" example:"parametros.client_id"`
	// O que está errado no campo.
	Message string `json:"mensagem" example:"obrigatório"`
}

// Error is the single error type of the domain. Message is a Portuguese text
// that is safe to show to API callers; Fields carries per-field details.
type Error struct {
	Code    string
	Message string
	Fields  []FieldError
	// Data carries extra, caller-safe details (e.g. the valid product codes).
	Data map[string]any
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("svahub error: code=%s message=%s", e.Code, e.Message)
}

// Errorf builds an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid builds an EINVALID error for a list of field errors.
func Invalid(fields ...FieldError) *Error {
	return &Error{Code: EINVALID, Message: "dados inválidos", Fields: fields}
}

// FieldInvalid builds an EINVALID error about one field.
func FieldInvalid(field, message string) *Error {
	return Invalid(FieldError{Field: field, Message: message})
}

// ErrorCode returns the code of err when it is (or wraps) an *Error, and
// EINTERNAL for any other non-nil error.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the caller-safe message of err; internal errors get a
// generic message so no detail leaks.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "erro interno"
}
