package svahub

import (
	"context"
	"strconv"
)

// Capabilities says what an adapter's platform can do. The engine, the
// catalogue and reconciliation ask for them instead of assuming what
// Qualifica offers.
type Capabilities struct {
	// Token: the platform needs an access token (Platform.Token is called
	// and the token cached); without it every call gets the empty token.
	Token bool
	// Catalogue: the platform lists its products (Platform.Catalogue);
	// without it product codes are free text, never verified, and
	// sincronizar is refused.
	Catalogue bool
	// ReadBack: the platform can read a user and its plans back
	// (Platform.GetUser, the `consultar` operation); without it an
	// uncertain plan is settled by resending its commands under the same
	// command id.
	ReadBack bool
	// Reconcile: reconciliation (comparing svahub's record with the
	// platform's) applies. It needs ReadBack.
	Reconcile bool
}

// FullCapabilities is what a platform such as Qualifica offers.
var FullCapabilities = Capabilities{Token: true, Catalogue: true, ReadBack: true, Reconcile: true}

// Command identifies the plan version a platform call works for, so an
// adapter can give every operation a stable id that receivers use to
// deduplicate retries (WEBHOOK.md: `cmd_<plan id>_<plan version>_<operation>`),
// and names the plan's platform account for adapters whose commands carry
// it (the webhook platform's `referencia` and `usuario`).
type Command struct {
	PlanID  int64
	Version int64
	// Reference is svahub's stable reference of the plan's platform
	// account (PlatformUser.Reference).
	Reference string
	// Username is the account's username on the platform.
	Username string
}

// ID is the stable id of op sent for c.
func (c Command) ID(op string) string {
	return "cmd_" + strconv.FormatInt(c.PlanID, 10) + "_" + strconv.FormatInt(c.Version, 10) + "_" + op
}

type commandKey struct{}

// WithCommand returns ctx carrying c, for the adapter that makes the call.
func WithCommand(ctx context.Context, c Command) context.Context {
	return context.WithValue(ctx, commandKey{}, c)
}

// CommandFrom returns the command ctx carries, if any.
func CommandFrom(ctx context.Context) (Command, bool) {
	c, ok := ctx.Value(commandKey{}).(Command)
	return c, ok
}

type operationKey struct{}

// WithOperation returns ctx carrying the operation the engine is making,
// for adapters whose one port method serves two operations (EnsurePlan is
// OpActivatePlan or OpUpdateExpiry).
func WithOperation(ctx context.Context, op Operation) context.Context {
	return context.WithValue(ctx, operationKey{}, op)
}

// OperationFrom returns the operation ctx carries ("" when none).
func OperationFrom(ctx context.Context) Operation {
	op, _ := ctx.Value(operationKey{}).(Operation)
	return op
}
