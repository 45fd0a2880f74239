package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/svahub/svahub/internal/svahub"
)

// maxBody is the largest request body accepted (1 MiB).
const maxBody = 1 << 20

// decode reads a JSON body strictly: JSON content type, valid UTF-8, one
// value, no unknown fields. Shape errors are 400; rules are checked later.
func decode(c echo.Context, dst any) error {
	req := c.Request()
	ct := req.Header.Get(echo.HeaderContentType)
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return echo.NewHTTPError(http.StatusUnsupportedMediaType, "envie o corpo como application/json")
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, maxBody+1))
	if err != nil {
		return decodeReadError(err)
	}
	if len(body) > maxBody {
		return echo.ErrStatusRequestEntityTooLarge
	}
	return decodeBytes(body, dst)
}

// decodeReadError maps a body read failure: over the limit is 413.
func decodeReadError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) || errors.Is(err, echo.ErrStatusRequestEntityTooLarge) {
		return echo.ErrStatusRequestEntityTooLarge
	}
	return badRequest("não foi possível ler o corpo da requisição")
}

// decodeBytes is the body decoder proper, shared by decode and the fuzz tests.
func decodeBytes(body []byte, dst any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("corpo da requisição vazio: envie um objeto JSON")
	}
	if !utf8.Valid(body) {
		return badRequest("corpo da requisição não é UTF-8 válido")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("JSON malformado: conteúdo após o objeto")
	}
	return checkMembers(body, reflect.TypeOf(dst))
}

// checkMembers walks the JSON once more and rejects what encoding/json lets
// through: a member name that matches a field only case-insensitively
// ("DESCRICAO"), and a duplicated member (where the last value would
// silently win, and a proxy reading the first would see another request).
func checkMembers(body []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	return walkMembers(dec, t, "")
}

func walkMembers(dec *json.Decoder, t reflect.Type, path string) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	if err != nil {
		return badRequest("JSON inválido")
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	switch d {
	case '{':
		fields := jsonFields(t)
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return badRequest("JSON inválido")
			}
			key, _ := kt.(string)
			name := key
			if path != "" {
				name = path + "." + key
			}
			if seen[key] {
				return badRequest(fmt.Sprintf("campo repetido: %q", name), svahub.FieldError{Field: name, Message: "campo repetido"})
			}
			seen[key] = true
			var ft reflect.Type
			if fields != nil {
				if ft, ok = fields[key]; !ok {
					return badRequest(fmt.Sprintf("campo desconhecido: %q (os nomes diferenciam maiúsculas)", name), svahub.FieldError{Field: name, Message: "campo desconhecido"})
				}
			}
			if err := walkMembers(dec, ft, name); err != nil {
				return err
			}
		}
	case '[':
		var et reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			et = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if err := walkMembers(dec, et, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	_, err = dec.Token() // the closing delimiter
	if err != nil {
		return badRequest("JSON inválido")
	}
	return nil
}

var fieldCache sync.Map // reflect.Type → map[string]reflect.Type

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// jsonFields maps a struct type's exact JSON member names to field types;
// nil for anything that is not a struct, or that decodes itself (its
// members are open, e.g. an adapter's parametros).
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if t == nil || t.Kind() != reflect.Struct || reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil
	}
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		m[name] = f.Type
	}
	fieldCache.Store(t, m)
	return m
}

func jsonError(err error) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		own *svahub.Error
	)
	switch {
	case errors.As(err, &own): // a type's own decoder (parametros) named the field
		return own
	case errors.As(err, &syn):
		return badRequest(fmt.Sprintf("JSON malformado na posição %d", syn.Offset))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return badRequest("JSON malformado: conteúdo truncado")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return badRequest("o corpo deve ser um objeto JSON")
		}
		return badRequest("tipo inválido no campo "+field, svahub.FieldError{Field: field, Message: "esperado " + jsonKind(typ.Type.Kind().String())})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		campo := name
		if campo == "" {
			campo = `""`
		}
		return badRequest(fmt.Sprintf("campo desconhecido: %q", name), svahub.FieldError{Field: campo, Message: "campo desconhecido"})
	}
	return badRequest("JSON inválido")
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "texto"
	case "int", "int64", "int32", "uint", "uint64", "float64", "float32":
		return "número"
	case "bool":
		return "booleano (true/false)"
	case "slice", "array":
		return "lista"
	case "struct", "map", "ptr":
		return "objeto"
	}
	return k
}

// pathID parses a positive integer path parameter.
func pathID(c echo.Context, name string) (int64, error) {
	raw := c.Param(name)
	if strings.Contains(raw, "/") { // a deeper path that no route serves
		return 0, echo.ErrNotFound
	}
	v, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || v <= 0 {
		return 0, badRequest(fmt.Sprintf("%s inválido: use um inteiro positivo", name), svahub.FieldError{Field: name, Message: "inteiro positivo"})
	}
	return v, nil
}

// queryInt parses an optional positive integer query parameter.
func queryInt(c echo.Context, name string) (*int64, error) {
	raw := c.QueryParam(name)
	if raw == "" {
		return nil, nil
	}
	v, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || v <= 0 {
		return nil, badRequest(fmt.Sprintf("parâmetro %s inválido", name), svahub.FieldError{Field: name, Message: "inteiro positivo"})
	}
	return &v, nil
}

// queryBool parses an optional boolean query parameter.
func queryBool(c echo.Context, name string) (*bool, error) {
	switch c.QueryParam(name) {
	case "":
		return nil, nil
	case "true":
		v := true
		return &v, nil
	case "false":
		v := false
		return &v, nil
	}
	return nil, badRequest(fmt.Sprintf("parâmetro %s inválido", name), svahub.FieldError{Field: name, Message: "use true ou false"})
}

// Pagination is the pagination block of list responses.
type Pagination struct {
	// Página devolvida (0 é a primeira).
	Page int `json:"pagina_atual" example:"0"`
	// Tamanho da página (1–500, padrão 50).
	PerPage int `json:"itens_por_pagina" example:"50"`
	// Total de itens que atendem ao filtro.
	Total int `json:"total_registros" example:"1506"`
	// Número da última página (0 quando não há itens).
	LastPage int `json:"ultima_pagina" example:"30"`
}

// List is the envelope of list responses.
type List[T any] struct {
	// Itens desta página.
	Items []T `json:"itens"`
	// Posição desta página na lista.
	Pagination Pagination `json:"paginacao"`
}

// page reads ?pagina (0-based) and ?itens_por_pagina (1–500, default 50).
func page(c echo.Context) (svahub.Page, error) {
	p := svahub.Page{Number: 0, Size: 50}
	if raw := c.QueryParam("pagina"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 0 || n > 1_000_000 {
			return p, badRequest("parâmetro pagina inválido", svahub.FieldError{Field: "pagina", Message: "inteiro de 0 em diante"})
		}
		p.Number = n
	}
	if raw := c.QueryParam("itens_por_pagina"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > 500 {
			return p, badRequest("parâmetro itens_por_pagina inválido", svahub.FieldError{Field: "itens_por_pagina", Message: "inteiro de 1 a 500"})
		}
		p.Size = n
	}
	return p, nil
}

func listOf[T any](items []T, p svahub.Page, total int) List[T] {
	if items == nil {
		items = []T{}
	}
	last := 0
	if total > 0 {
		last = (total - 1) / p.Size
	}
	return List[T]{Items: items, Pagination: Pagination{Page: p.Number, PerPage: p.Size, Total: total, LastPage: last}}
}

func writeJSON(c echo.Context, status int, contentType string, v any) error {
	c.Response().Header().Set(echo.HeaderContentType, contentType+"; charset=utf-8")
	c.Response().WriteHeader(status)
	enc := json.NewEncoder(c.Response())
	return enc.Encode(v)
}

// created answers 201 with a Location header.
func created(c echo.Context, location string, v any) error {
	c.Response().Header().Set(echo.HeaderLocation, location)
	return c.JSON(http.StatusCreated, v)
}

// The list models of the OpenAPI document: swag names a generic instance
// after its Go type arguments (List-svahub_Package), so each list the API
// answers gets a named type with exactly List[T]'s shape.
type (
	// IntegrationList is a page of integrations.
	IntegrationList List[svahub.Integration]
	// ProductList is a page of products.
	ProductList List[svahub.Product]
	// PackageList is a page of packages.
	PackageList List[svahub.Package]
	// ComboList is a page of combos (HubSoft planos).
	ComboList List[svahub.Combo] // @name PlanList
	// CustomerServiceList is a page of customer services.
	CustomerServiceList List[svahub.CustomerService]
	// SubscriptionList is a page of subscriptions.
	SubscriptionList List[svahub.Subscription]
	// TransmissionList is a page of transmissions.
	TransmissionList List[svahub.Transmission]
)
