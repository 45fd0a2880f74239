package api_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"path"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/app"
	"github.com/svahub/svahub/internal/httpapi"
	"github.com/svahub/svahub/internal/svahub"
)

// These tests read the generated api/swagger.json as a front-end developer's
// code generator would, and fail on what issue 17 found: open routes under
// the base path, undescribed or example-less properties, Go-internal model
// names, enums that differ from what the code returns, operations without
// their error responses.

type schema struct {
	Ref         string             `json:"$ref"`
	Type        string             `json:"type"`
	Description string             `json:"description"`
	Example     any                `json:"example"`
	Enum        []any              `json:"enum"`
	AllOf       []schema           `json:"allOf"`
	Items       *schema            `json:"items"`
	Properties  map[string]*schema `json:"properties"`
	Nullable    bool               `json:"x-nullable"`
}

type param struct {
	Name string `json:"name"`
	In   string `json:"in"`
	Enum []any  `json:"enum"`
}

type response struct {
	Description string  `json:"description"`
	Schema      *schema `json:"schema"`
}

type operation struct {
	Produces   []string             `json:"produces"`
	Parameters []param              `json:"parameters"`
	Responses  map[string]*response `json:"responses"`
	Security   []map[string][]any   `json:"security"`
}

type document struct {
	BasePath            string                           `json:"basePath"`
	Paths               map[string]map[string]*operation `json:"paths"`
	Definitions         map[string]*schema               `json:"definitions"`
	SecurityDefinitions map[string]struct {
		Description string `json:"description"`
	} `json:"securityDefinitions"`
}

func load(t *testing.T) *document {
	t.Helper()
	b, err := os.ReadFile("swagger.json")
	require.NoError(t, err)
	var d document
	require.NoError(t, json.Unmarshal(b, &d))
	return &d
}

// resolve follows a property's $ref or allOf wrapper to its definition.
func (d *document) resolve(s *schema) *schema {
	for s != nil {
		switch {
		case s.Ref != "":
			s = d.Definitions[strings.TrimPrefix(s.Ref, "#/definitions/")]
		case len(s.AllOf) == 1 && s.AllOf[0].Ref != "":
			s = d.Definitions[strings.TrimPrefix(s.AllOf[0].Ref, "#/definitions/")]
		default:
			return s
		}
	}
	return nil
}

// enumOf is the enum a property documents: its own, else its type's.
func (d *document) enumOf(s *schema) []any {
	if s.Enum != nil {
		return s.Enum
	}
	if s.Items != nil {
		return d.enumOf(s.Items)
	}
	if r := d.resolve(s); r != nil && r != s {
		return r.Enum
	}
	return nil
}

// router lists the routes the real router serves, as "METHOD /path/{id}".
func router(t *testing.T) map[string]bool {
	t.Helper()
	s := httpapi.New(httpapi.Deps{MetricsHandler: http.NotFoundHandler()})
	param := regexp.MustCompile(`:([a-z_]+)`)
	out := map[string]bool{}
	for _, r := range s.Routes() {
		out[r.Method+" "+param.ReplaceAllString(r.Path, "{$1}")] = true
	}
	return out
}

// TestOpenAPIRoutesAtRealURLs: every documented operation is served at
// basePath+path (so Swagger UI's "Try it out" reaches it), the open routes
// are documented without security, and every API route is documented.
func TestOpenAPIRoutesAtRealURLs(t *testing.T) {
	t.Parallel()
	d, routes := load(t), router(t)
	documented := map[string]bool{}
	for p, ops := range d.Paths {
		for m, op := range ops {
			url := path.Join(d.BasePath, p)
			key := strings.ToUpper(m) + " " + url
			documented[key] = true
			require.Truef(t, routes[key], "%s %s is documented at %s, which the router does not serve", m, p, url)
			require.Equalf(t, strings.HasPrefix(url, "/api/v1/"), len(op.Security) > 0,
				"%s: routes under /api/v1 need the API key, open routes must not ask for it", key)
		}
	}
	for _, open := range []string{"GET /healthz", "GET /readyz"} {
		require.Truef(t, documented[open], "open route %s is not documented at its real URL", open)
	}
	for r := range routes {
		if strings.Contains(r, " /api/v1/") {
			require.Truef(t, documented[r], "API route %s is not documented", r)
		}
	}
}

// TestOpenAPIModels: readable model names, and every property carries a
// description and an example (objects and lists of objects are described
// by their own model).
func TestOpenAPIModels(t *testing.T) {
	t.Parallel()
	d := load(t)
	name := regexp.MustCompile(`^[A-Z][A-Za-z0-9]*$`)
	// A Go doc comment ("Description is the …") is no description for an
	// API user: descriptions speak the API's Portuguese.
	goSpeak := regexp.MustCompile(`^[A-Z][A-Za-z]* (is|are|lists|names|counts|says|carries) `)
	for dn, def := range d.Definitions {
		require.Regexpf(t, name, dn, "model name %q is a Go internal; name it with // @name", dn)
		for pn, p := range def.Properties {
			require.NotEmptyf(t, p.Description, "%s.%s has no description", dn, pn)
			require.NotRegexpf(t, goSpeak, p.Description, "%s.%s is described in Go terms", dn, pn)
			target := d.resolve(p)
			if p.Items != nil {
				target = d.resolve(p.Items)
			}
			if target != nil && target.Type == "object" || target != nil && len(target.Properties) > 0 {
				continue // an object (or a list of them) shows its own model's examples
			}
			require.NotNilf(t, p.Example, "%s.%s has no example", dn, pn)
		}
	}
}

// TestOpenAPIAuthorizeHint: the Authorize dialog's text is Markdown; an
// angle-bracketed placeholder is swallowed as an HTML tag.
func TestOpenAPIAuthorizeHint(t *testing.T) {
	t.Parallel()
	d := load(t)
	hint := d.SecurityDefinitions["BearerAuth"].Description
	require.NotContains(t, hint, "<")
	require.Contains(t, hint, "Bearer ")
}

// expectedErrors are the error statuses an operation can answer whatever
// its service does: 500 on any failure, 401/403 around the API key,
// 400/404/413/415/422 from the path, query and body, 409/422 from the
// Idempotency-Key of a POST, 503 from readiness.
func expectedErrors(method, url string, op *operation) []string {
	want := []string{"500"}
	if strings.HasPrefix(url, "/api/v1/") {
		want = append(want, "401")
		if method != "get" {
			want = append(want, "403")
		}
	}
	for _, p := range op.Parameters {
		switch p.In {
		case "path":
			want = append(want, "400")
			if !slices.Contains(upserts, method+" "+url) {
				want = append(want, "404")
			}
		case "query":
			want = append(want, "400")
		case "body":
			want = append(want, "400", "413", "415", "422")
		}
	}
	if method == "post" {
		// Idempotency-Key: reused with another body (422), or the first
		// request still running (409).
		want = append(want, "400", "409", "422")
	}
	if strings.HasSuffix(url, "/readyz") {
		want = append(want, "503")
	}
	return want
}

// upserts create what the path names when it does not exist: no 404.
var upserts = []string{"put /api/v1/servicos/{id}", "put /api/v1/planos/{id}"}

// conflicts are the operations whose service can answer 409 (ECONFLICT).
var conflicts = []string{
	"PUT /api/v1/integracoes/{id}", "DELETE /api/v1/integracoes/{id}",
	"POST /api/v1/integracoes/{id}/produtos",
	"PUT /api/v1/produtos/{id}", "DELETE /api/v1/produtos/{id}",
	"PUT /api/v1/pacotes/{id}", "DELETE /api/v1/pacotes/{id}",
	"POST /api/v1/servicos/{id}/pacotes",
	"PATCH /api/v1/assinaturas/{id}",
	"POST /api/v1/clientes/{id_cliente}/anonimizar",
}

// TestOpenAPIErrorResponses: every operation documents its error statuses
// as problem+json, with the problem type in the description.
func TestOpenAPIErrorResponses(t *testing.T) {
	t.Parallel()
	d := load(t)
	for p, ops := range d.Paths {
		for m, op := range ops {
			url := path.Join(d.BasePath, p)
			key := strings.ToUpper(m) + " " + url
			want := expectedErrors(m, url, op)
			if slices.Contains(conflicts, key) {
				want = append(want, "409")
			}
			for _, status := range want {
				r := op.Responses[status]
				require.NotNilf(t, r, "%s does not document its %s response", key, status)
			}
			for status, r := range op.Responses {
				if status < "400" {
					continue
				}
				require.NotNilf(t, r.Schema, "%s %s has no body", key, status)
				require.Equalf(t, "#/definitions/Problem", r.Schema.Ref, "%s %s is not a Problem", key, status)
				require.Containsf(t, r.Description, "urn:svahub:problema:", "%s %s does not name its problem type", key, status)
			}
			require.Containsf(t, op.Produces, "application/problem+json", "%s does not declare problem+json", key)
			if m == "post" {
				require.Truef(t, slices.ContainsFunc(op.Parameters, func(p param) bool { return p.In == "header" && p.Name == "Idempotency-Key" }),
					"%s does not document the Idempotency-Key header every POST accepts", key)
			}
		}
	}
}

// domainEnums ties every documented enum to the domain's value set: the
// values the code can put in that field or accept in that parameter.
func domainEnums() map[string][]string {
	return map[string][]string{
		"Access.estado_desejado":              strs(svahub.AccessStates),
		"Access.estado_plataforma":            strs(svahub.AccessStates),
		"CustomerService.status_prefixo":      strs(svahub.ServiceStatuses),
		"Erasure.origem":                      {svahub.ErasureByAPI, svahub.ErasureByCLI},
		"IntegrationParamsDoc.usuario":        strs(svahub.UsernamePolicies),
		"IntegrationParamInputDoc.usuario":    strs(svahub.UsernamePolicies),
		"IntegrationParamsUpdateDoc.usuario":  strs(svahub.UsernamePolicies),
		"IntegrationInput.plataforma":         slices.Sorted(maps.Keys(app.DefaultRegistry(""))),
		"IntegrationUpdate.plataforma":        slices.Sorted(maps.Keys(app.DefaultRegistry(""))),
		"ServiceInput.status_prefixo":         strs(svahub.ServiceStatuses),
		"StatusInput.status_prefixo":          strs(svahub.ServiceStatuses),
		"StatusBatchItem.status_prefixo":      strs(svahub.ServiceStatuses),
		"StatusBatchResult.resultado":         strs(svahub.BatchResults),
		"Subscription.origem":                 strs(svahub.Origins),
		"Subscription.status":                 strs(svahub.SubscriptionStatuses),
		"TokenInfo.status":                    strs(svahub.TokenStatuses),
		"Transmission.operacao":               strs(svahub.Operations),
		"Transmission.resultado":              strs(svahub.Outcomes),
		"GET /api/v1/transmissoes?operacao":   strs(svahub.Operations),
		"GET /api/v1/transmissoes?resultado":  strs(svahub.Outcomes),
		"GET /api/v1/servicos?status_prefixo": strs(svahub.ServiceStatuses),
		"GET /api/v1/assinaturas?status":      strs(svahub.SubscriptionStatuses),
	}
}

func strs[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

func sorted(vs []any) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i], _ = v.(string)
	}
	sort.Strings(out)
	return out
}

// TestOpenAPIEnums: each documented enum is exactly the domain's value set
// (a strict generated client rejects any value missing from it), and every
// field the table names does document its enum.
func TestOpenAPIEnums(t *testing.T) {
	t.Parallel()
	d, want := load(t), domainEnums()
	found := map[string]bool{}
	check := func(key string, enum []any) {
		if enum == nil {
			return
		}
		values, ok := want[key]
		require.Truef(t, ok, "%s documents enum %v; add it to domainEnums", key, enum)
		exp := slices.Clone(values)
		sort.Strings(exp)
		require.Equalf(t, exp, sorted(enum), "%s: documented enum differs from the domain's values", key)
		found[key] = true
	}
	for dn, def := range d.Definitions {
		for pn, p := range def.Properties {
			check(dn+"."+pn, d.enumOf(p))
		}
	}
	for p, ops := range d.Paths {
		for m, op := range ops {
			for _, prm := range op.Parameters {
				if prm.In == "query" {
					check(strings.ToUpper(m)+" "+path.Join(d.BasePath, p)+"?"+prm.Name, prm.Enum)
				}
			}
		}
	}
	for key := range want {
		require.Truef(t, found[key], "%s documents no enum", key)
	}
}

// goTypes maps the object models to the Go types the API encodes/decodes.
var goTypes = map[string]reflect.Type{
	"Accepted": reflect.TypeFor[httpapi.Accepted](), "BillingResponse": reflect.TypeFor[httpapi.BillingResponse](),
	"Health": reflect.TypeFor[httpapi.Health](), "Pagination": reflect.TypeFor[httpapi.Pagination](),
	"Problem": reflect.TypeFor[httpapi.Problem](), "StatusBatchResponse": reflect.TypeFor[httpapi.StatusBatchResponse](),
	"IntegrationList": reflect.TypeFor[httpapi.IntegrationList](), "ProductList": reflect.TypeFor[httpapi.ProductList](),
	"PackageList": reflect.TypeFor[httpapi.PackageList](), "PlanList": reflect.TypeFor[httpapi.ComboList](),
	"CustomerServiceList": reflect.TypeFor[httpapi.CustomerServiceList](), "SubscriptionList": reflect.TypeFor[httpapi.SubscriptionList](),
	"TransmissionList": reflect.TypeFor[httpapi.TransmissionList](),
	"Access":           reflect.TypeFor[svahub.Access](), "AttachInput": reflect.TypeFor[svahub.AttachInput](),
	"BillingItem": reflect.TypeFor[svahub.BillingItem](), "Customer": reflect.TypeFor[svahub.Customer](),
	"CustomerInput": reflect.TypeFor[svahub.CustomerInput](), "CustomerService": reflect.TypeFor[svahub.CustomerService](),
	"ErasedPlatformUser": reflect.TypeFor[svahub.ErasedPlatformUser](), "Erasure": reflect.TypeFor[svahub.Erasure](),
	"ExpiryInput": reflect.TypeFor[svahub.ExpiryInput](), "FieldError": reflect.TypeFor[svahub.FieldError](),
	"Integration": reflect.TypeFor[svahub.Integration](), "IntegrationInput": reflect.TypeFor[svahub.IntegrationInput](),
	"IntegrationParamInputDoc": reflect.TypeFor[svahub.IntegrationParamInputDoc](), "IntegrationParamsDoc": reflect.TypeFor[svahub.IntegrationParamsDoc](),
	"IntegrationParamsUpdateDoc": reflect.TypeFor[svahub.IntegrationParamsUpdateDoc](), "IntegrationUpdate": reflect.TypeFor[svahub.IntegrationUpdate](),
	"Package": reflect.TypeFor[svahub.Package](), "PackageInput": reflect.TypeFor[svahub.PackageInput](),
	"PackageUpdate": reflect.TypeFor[svahub.PackageUpdate](), "Plan": reflect.TypeFor[svahub.Combo](),
	"PlanItem": reflect.TypeFor[svahub.ComboItem](), "PlanUpdate": reflect.TypeFor[svahub.ComboUpdate](),
	"Product": reflect.TypeFor[svahub.Product](), "ProductInput": reflect.TypeFor[svahub.ProductInput](),
	"ProductRef": reflect.TypeFor[svahub.ProductRef](), "ServiceInput": reflect.TypeFor[svahub.ServiceInput](),
	"StatusBatchInput": reflect.TypeFor[svahub.StatusBatchInput](), "StatusBatchItem": reflect.TypeFor[svahub.StatusBatchItem](),
	"StatusBatchResult": reflect.TypeFor[svahub.StatusBatchResult](), "StatusInput": reflect.TypeFor[svahub.StatusInput](),
	"Subscription": reflect.TypeFor[svahub.Subscription](), "TokenInfo": reflect.TypeFor[svahub.TokenInfo](),
	"Transmission": reflect.TypeFor[svahub.Transmission](),
}

// TestOpenAPIMatchesGoTypes: each model has exactly its Go type's JSON
// members, and a member that can be null (a pointer) says so (x-nullable),
// so a strict generated client accepts it.
func TestOpenAPIMatchesGoTypes(t *testing.T) {
	t.Parallel()
	d := load(t)
	for dn, def := range d.Definitions {
		if def.Type != "object" {
			continue
		}
		typ, ok := goTypes[dn]
		require.Truef(t, ok, "model %s has no Go type in goTypes", dn)
		members := map[string]reflect.StructField{}
		for f := range typ.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if f.IsExported() && name != "-" && name != "" {
				members[name] = f
			}
		}
		require.ElementsMatchf(t, slices.Collect(maps.Keys(members)), slices.Collect(maps.Keys(def.Properties)), "%s: members differ from %s", dn, typ)
		for name, f := range members {
			require.Equalf(t, f.Type.Kind() == reflect.Pointer, def.Properties[name].Nullable,
				"%s.%s: x-nullable must be true exactly when the member can be null", dn, name)
		}
	}
}

// TestOpenAPIEnumExamples: an enum's example is one of its values.
func TestOpenAPIEnumExamples(t *testing.T) {
	t.Parallel()
	d := load(t)
	for dn, def := range d.Definitions {
		for pn, p := range def.Properties {
			if enum := d.enumOf(p); enum != nil && p.Example != nil && p.Items == nil {
				require.Containsf(t, enum, p.Example, "%s.%s: example %v is not one of %v", dn, pn, p.Example, enum)
			}
		}
	}
}

// TestOpenAPIParamsDocCoverAdapters: the OpenAPI document shows
// `parametros` through doc types (api/.swaggo); they must name exactly
// what the registered adapters declare, so a new adapter's parameters
// cannot go undocumented. Answers: each non-secret parameter, each secret
// as <name>_definido (and, when svahub can generate it, the secret itself,
// shown once); writes: every parameter. Plus usuario and the rate limit.
func TestOpenAPIParamsDocCoverAdapters(t *testing.T) {
	t.Parallel()
	d := load(t)
	answer := []string{svahub.ParamUsername, svahub.ParamRateLimit}
	write := []string{svahub.ParamUsername, svahub.ParamRateLimit}
	for _, a := range app.DefaultRegistry("") {
		for _, p := range a.Params {
			write = append(write, p.Name)
			switch {
			case !p.Secret:
				answer = append(answer, p.Name)
			case p.Generate != nil:
				answer = append(answer, p.Name, p.Name+svahub.DefinedSuffix)
			default:
				answer = append(answer, p.Name+svahub.DefinedSuffix)
			}
		}
	}
	for model, want := range map[string][]string{"IntegrationParamsDoc": answer, "IntegrationParamInputDoc": write, "IntegrationParamsUpdateDoc": write} {
		require.ElementsMatchf(t, want, slices.Collect(maps.Keys(d.Definitions[model].Properties)), "%s", model)
	}
}
