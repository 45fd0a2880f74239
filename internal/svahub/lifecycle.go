package svahub

// ServiceStatus is HubSoft's status_prefixo of a customer service.
type ServiceStatus string

// The service statuses svahub knows. Any other value is rejected with 422.
const (
	StatusEnabled              ServiceStatus = "servico_habilitado"
	StatusDebtSuspended        ServiceStatus = "suspenso_debito"
	StatusPartiallySuspended   ServiceStatus = "suspenso_parcialmente"
	StatusCustomerSuspended    ServiceStatus = "suspenso_pedido_cliente"
	StatusCancelled            ServiceStatus = "cancelado"
	StatusInactive             ServiceStatus = "inativo"
	StatusAwaitingInstallation ServiceStatus = "aguardando_instalacao"
	StatusAwaitingContract     ServiceStatus = "aguardando_assinatura_contrato"
	StatusAwaitingConfig       ServiceStatus = "aguardando_configuracao"
	StatusAwaitingIT           ServiceStatus = "aguardando_liberacao_ti"
	StatusAwaitingMigration    ServiceStatus = "aguardando_migracao"
	StatusScheduled            ServiceStatus = "agendado_para_instalacao"
	StatusQuotaExceeded        ServiceStatus = "franquia_excedida"
)

// ServiceStatuses lists every accepted status, in the lifecycle table's order.
var ServiceStatuses = []ServiceStatus{
	StatusEnabled, StatusDebtSuspended, StatusPartiallySuspended, StatusCustomerSuspended,
	StatusCancelled, StatusInactive, StatusAwaitingInstallation, StatusAwaitingContract,
	StatusAwaitingConfig, StatusAwaitingIT, StatusAwaitingMigration, StatusScheduled,
	StatusQuotaExceeded,
}

// Valid reports whether s is one of ServiceStatuses.
func (s ServiceStatus) Valid() bool {
	for _, v := range ServiceStatuses {
		if v == s {
			return true
		}
	}
	return false
}

// Ended reports whether the status ends the service (cancelado, inativo):
// its live subscriptions are cancelled and billing stops.
func (s ServiceStatus) Ended() bool { return s == StatusCancelled || s == StatusInactive }

// Transition is what a change of status_prefixo does to a service's
// subscriptions (beyond the desired states of DesiredState).
type Transition int

// Transitions.
const (
	// TransitionNone: the service stays live, or stays ended.
	TransitionNone Transition = iota
	// TransitionEnd: the service became cancelado or inativo; its live
	// subscriptions are cancelled (data_cancelamento = the day of the
	// change in the business time zone) and are no longer billed.
	TransitionEnd
	// TransitionReturn: the service left cancelado or inativo; its plan's
	// packages are attached anew as new plano subscriptions. Cancelled
	// avulso subscriptions stay cancelled (they may be attached again).
	TransitionReturn
)

// TransitionOf returns what changing a service from old to next does. A
// service created with next has old "".
func TransitionOf(old, next ServiceStatus) Transition {
	switch {
	case old != "" && !old.Ended() && next.Ended():
		return TransitionEnd
	case old.Ended() && !next.Ended():
		return TransitionReturn
	}
	return TransitionNone
}

// ComboChange is what a plan change does to one live subscription.
type ComboChange int

// Plan change actions.
const (
	// ComboChangeKeep: the subscription stays as it is.
	ComboChangeKeep ComboChange = iota
	// ComboChangeCancel: a plano subscription of a package the new plan
	// lacks is cancelled.
	ComboChangeCancel
	// ComboChangeReplace: an avulso subscription of a package the new plan
	// includes is cancelled and replaced by a plano one (no double charge;
	// the platform plan stays ativo, as the two share it).
	ComboChangeReplace
)

// ComboChangeOf returns what a plan change does to a live subscription of
// origin whose package the new plan includes (inNewPlan) or not.
func ComboChangeOf(origin Origin, inNewPlan bool) ComboChange {
	switch {
	case origin == OriginCombo && !inNewPlan:
		return ComboChangeCancel
	case origin == OriginSingle && inNewPlan:
		return ComboChangeReplace
	}
	return ComboChangeKeep
}

// ErrorResolved reports whether a convergence that left a platform plan in
// reached resolved the plan's permanent error: only when the platform now
// has the desired state. A change that needs no platform call (suspending
// or cancelling what the platform never had) resolves nothing: the erro
// stays visible with its message until retransmitir or a real fix.
func ErrorResolved(desired, reached AccessState) bool {
	return desired != AccessNone && reached == desired
}

// ExpirySendable reports whether a platform plan may be given the date
// expiry on day today. The platform refuses a past date and enforces the
// date itself, so a plan whose date has already passed is not created
// (its subscription is only marked expirado) and an existing plan keeps
// the date it has instead of being sent a past one.
func ExpirySendable(expiry, today Date) bool { return expiry != "" && !expiry.Before(today) }

// AccessState is the state of one product of a subscription on the platform.
// The zero value means "no platform user/plan wanted yet".
type AccessState string

// Platform states, ordered from most to least permissive.
const (
	AccessNone      AccessState = ""
	AccessActive    AccessState = "ativo"
	AccessSuspended AccessState = "suspenso"
	AccessCancelled AccessState = "cancelado"
)

// AccessStates lists every access state, the empty one included.
var AccessStates = []AccessState{AccessNone, AccessActive, AccessSuspended, AccessCancelled}

func (s AccessState) rank() int {
	switch s {
	case AccessActive:
		return 3
	case AccessSuspended:
		return 2
	case AccessCancelled:
		return 1
	}
	return 0
}

// MorePermissive returns the more permissive of a and b
// (ativo > suspenso > cancelado > none).
func MorePermissive(a, b AccessState) AccessState {
	if b.rank() > a.rank() {
		return b
	}
	return a
}

// DesiredState is the lifecycle table of DOMAIN.md as one pure function: the
// platform state an access should have, given the customer service's status,
// the integration's debt key (suspender_inadimplencia), whether the
// subscription itself is cancelled, and the access's current desired state
// (returned where the table says "unchanged" or "left as it is").
//
// Suspending or cancelling an access that has no platform plan yet needs no
// platform call: workers treat it as already converged and create nothing.
func DesiredState(status ServiceStatus, suspendOnDebt, subscriptionCancelled bool, current AccessState) AccessState {
	if subscriptionCancelled || current == AccessCancelled {
		return AccessCancelled // cancelled is terminal
	}
	switch status {
	case StatusEnabled:
		return AccessActive
	case StatusDebtSuspended, StatusPartiallySuspended:
		if suspendOnDebt {
			return AccessSuspended
		}
		return current
	case StatusCustomerSuspended:
		return AccessSuspended
	case StatusCancelled, StatusInactive:
		return AccessCancelled
	}
	// aguardando_*, agendado_para_instalacao, franquia_excedida: no user is
	// created yet; an existing one is left as it is.
	return current
}

// AccessView is what SubscriptionStatus needs to know of one access.
type AccessView struct {
	Desired AccessState
	// Synced is true when the platform plan has applied the current desired state.
	Synced bool
	// Error is the last permanent error of the access or its plan.
	Error string
}

// SubscriptionStatusOf derives the status shown for a subscription:
// cancelado and erro first, then expirado, then what the accesses reached.
// The message is the first access's unresolved permanent error; a
// cancelled subscription keeps it (cancelling resolves nothing).
func SubscriptionStatusOf(cancelled, expired bool, accesses []AccessView) (SubscriptionStatus, string) {
	for _, a := range accesses {
		if a.Error == "" {
			continue
		}
		if cancelled { // cancelling resolves nothing: the message stays
			return SubCancelled, a.Error
		}
		return SubError, a.Error
	}
	if cancelled {
		return SubCancelled, ""
	}
	if expired {
		return SubExpired, ""
	}
	if len(accesses) == 0 {
		return SubPending, ""
	}
	nActive, nCancelled := 0, 0
	for _, a := range accesses {
		if !a.Synced || a.Desired == AccessNone {
			return SubPending, ""
		}
		switch a.Desired {
		case AccessActive:
			nActive++
		case AccessCancelled:
			nCancelled++
		}
	}
	switch {
	case nActive == len(accesses):
		return SubActive, ""
	case nCancelled == len(accesses):
		return SubCancelled, "" // the customer service itself was cancelled
	}
	return SubSuspended, ""
}
