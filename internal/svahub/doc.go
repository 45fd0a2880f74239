// Package svahub is the domain of the svahub service: the types that describe
// content-platform integrations, products, packages, combos, customer services
// and their subscriptions, the error type shared by every adapter, the pure
// rules of the product (desired platform state, username policy, expiry dates,
// money, CPF/CNPJ) and the interfaces that the adapters implement.
//
// It imports no other package of this module. Adapters (internal/store,
// internal/httpapi, internal/platform, internal/provision) depend on it and
// never on each other's insides.
//
// The types the HTTP API sends and receives are documented for its users:
// their field comments are the field descriptions of the OpenAPI document
// (api/), in Portuguese like the API, and their example tags its examples.
package svahub
