// Package qualifica is a stateless client for the Qualifica content platform,
// as described by svahub's contract (spec/QUALIFICA.md).
//
// Qualifica publishes no public API reference, so every path, field name and
// error mapping that svahub assumes lives in this package alone: when the real
// contract arrives, only this package changes.
//
// The client keeps no token and no state between calls: [Client.Token] obtains
// an access token from the integration's client_id and client_secret, and
// every other method receives the token to send as "Authorization: Bearer".
// Caching tokens and repeating a call after [IsTokenInvalid] is the caller's
// business.
//
// Every failure is returned as an [*Error], classified once here by [Kind]:
//
//   - [KindTemporary]: 5xx, 408, 429 (with [Error.RetryAfter]), timeouts and
//     connection errors; retry later with backoff.
//   - [KindAuth]: 401, either "credenciais_invalidas" (token endpoint) or
//     "token_invalido" (any other call, see [IsTokenInvalid]).
//   - [KindPermanent]: 400, 403, 404, 409, 422 and other 4xx; do not retry.
//   - [KindNotFound]: only [Client.GetUser] for an unknown user.
//
// Error messages never carry the client secret, the user's password or the
// access token; a platform error body contributes only its "mensagem".
//
// The in-process simulator that serves the same contract strictly is in the
// qualificasim sub-package.
package qualifica
