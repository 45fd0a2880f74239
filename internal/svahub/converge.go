package svahub

// Convergence is what the engine knows when it converges one platform plan.
type Convergence struct {
	// Desired and DesiredExpiry are what svahub wants the plan to be.
	Desired       AccessState
	DesiredExpiry Date
	// Sendable is ExpirySendable(DesiredExpiry, today).
	Sendable bool
	// State and Expiry are what the platform has, as far as svahub knows.
	State  AccessState
	Expiry Date
	// Certain is false while State and Expiry are only svahub's stale
	// record: an earlier attempt may have changed the platform without
	// recording it. Without a platform user there is nothing to doubt.
	Certain bool
	// HasUser: the account has a platform user id.
	HasUser bool
}

// ConvergeStep is one platform operation of a convergence.
type ConvergeStep struct {
	// Op is the operation: OpQuery, OpCreateUser, OpActivatePlan,
	// OpUpdateExpiry, OpReactivate, OpSuspend or OpCancel.
	Op Operation
	// Expiry is the date sent with OpActivatePlan and OpUpdateExpiry; ""
	// sends none.
	Expiry Date
	// If, when set, makes the step conditional: it runs only when the
	// platform state reached by the steps before it is If. (Activating or
	// updating a plan keeps the state the platform has, which may not be the
	// one svahub knew.)
	If AccessState
}

// ConvergeSteps is the ordered list of platform operations that brings a
// plan from what svahub knows (c) to its desired state, on a platform with
// capabilities caps. The engine runs the steps in order and stops at the
// first error.
//
// Uncertain knowledge (c.Certain false) is settled first:
//   - with ReadBack and a user, the only step is OpQuery: the engine reads
//     the plan back and calls ConvergeSteps again with what it read
//     (certain); with ReadBack and no user there is nothing to read and
//     the rules for certain knowledge apply;
//   - without ReadBack the plan cannot be read, so it is settled by
//     resending the idempotent commands that reach the desired state under
//     the same command id (the adapter sees the plan and version through
//     CommandFrom): ativo → create the user when there is none, activate the
//     plan (with DesiredExpiry when sendable) then reactivate; suspenso →
//     suspend; cancelado → cancel. Nothing is sent without a user for
//     suspenso or cancelado, nor for a plan with no desired state.
//
// With certain knowledge the plan exists when there is a user and the plan
// is active or suspended:
//   - no desired state: nothing;
//   - ativo: nothing when the plan does not exist and its expiry is not
//     sendable (it expired before it ever reached the platform); else
//     create the user when there is none, activate the plan when it does
//     not exist or update its expiry when it differs and is sendable, then
//     reactivate if the plan is (then) suspended;
//   - suspenso: nothing when the plan does not exist; else update the
//     expiry when it differs and is sendable, then suspend if the plan is
//     (then) active;
//   - cancelado: cancel when the plan exists.
func ConvergeSteps(c Convergence, caps Capabilities) []ConvergeStep {
	switch {
	case !c.Certain && !caps.ReadBack:
		return resendSteps(c)
	case !c.Certain && c.HasUser:
		return []ConvergeStep{{Op: OpQuery}}
	}
	exists := c.HasUser && (c.State == AccessActive || c.State == AccessSuspended)
	updateExpiry := exists && c.Expiry != c.DesiredExpiry && c.Sendable
	switch c.Desired {
	case AccessActive:
		switch {
		case !exists && !c.Sendable, exists && !updateExpiry && c.State == AccessActive:
			return nil
		}
		steps := make([]ConvergeStep, 0, 3)
		if !c.HasUser {
			steps = append(steps, ConvergeStep{Op: OpCreateUser})
		}
		if !exists {
			steps = append(steps, ConvergeStep{Op: OpActivatePlan, Expiry: c.DesiredExpiry})
		} else if updateExpiry {
			steps = append(steps, ConvergeStep{Op: OpUpdateExpiry, Expiry: c.DesiredExpiry})
		}
		return append(steps, ConvergeStep{Op: OpReactivate, If: AccessSuspended})
	case AccessSuspended:
		switch {
		case !exists:
			return nil
		case updateExpiry:
			return []ConvergeStep{{Op: OpUpdateExpiry, Expiry: c.DesiredExpiry}, {Op: OpSuspend, If: AccessActive}}
		case c.State == AccessActive:
			return []ConvergeStep{{Op: OpSuspend, If: AccessActive}}
		}
		return nil
	case AccessCancelled:
		if exists {
			return []ConvergeStep{{Op: OpCancel}}
		}
	}
	return nil
}

// resendSteps settles an uncertain plan on a platform that cannot read it
// back: the idempotent commands that reach the desired state, sent again.
func resendSteps(c Convergence) []ConvergeStep {
	switch c.Desired {
	case AccessActive:
		steps := make([]ConvergeStep, 0, 3)
		if !c.HasUser {
			steps = append(steps, ConvergeStep{Op: OpCreateUser})
		}
		expiry := Date("")
		if c.Sendable {
			expiry = c.DesiredExpiry
		}
		return append(steps, ConvergeStep{Op: OpActivatePlan, Expiry: expiry}, ConvergeStep{Op: OpReactivate})
	case AccessSuspended:
		if c.HasUser {
			return []ConvergeStep{{Op: OpSuspend}}
		}
	case AccessCancelled:
		if c.HasUser {
			return []ConvergeStep{{Op: OpCancel}}
		}
	}
	return nil
}
