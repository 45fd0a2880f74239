// Package httpapi is svahub's HTTP adapter: an Echo router with one file per
// resource, API-key auth, RFC 9457 problem+json errors, strict JSON decoding,
// 0-based pagination and swag annotations from which api/ is generated.
//
// Handlers decode, validate the shape, call a domain service and respond;
// the rules live in the domain and its services.
//
//	@title						svahub — Plataformas de Conteúdo
//	@version					1.0
//	@description				Catálogo de integrações, produtos, pacotes e combos; serviços do cliente, assinaturas e a sincronização com plataformas de conteúdo (Qualifica).
//	@description				Erros seguem RFC 9457 (application/problem+json) com mensagens em português.
//	@BasePath					/
//	@securityDefinitions.apikey	BearerAuth
//	@in							header
//	@name						Authorization
//	@description				Digite a palavra Bearer, um espaço e a chave de API, por exemplo: Bearer svh_3q2f… (a chave sozinha é recusada com 401). Crie uma chave com: svahub apikey create --nome NOME
package httpapi
