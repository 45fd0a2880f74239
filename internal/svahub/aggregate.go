package svahub

// PlanMember is one access sharing a platform plan: its desired state and
// its subscription's expiry.
type PlanMember struct {
	Desired AccessState
	Expiry  Date
}

// PlanAggregate is what a platform plan is asked to be: one desired state
// and one expiry for all the accesses sharing it.
type PlanAggregate struct {
	Desired AccessState
	Expiry  Date
}

// AggregatePlan is the platform plan rule: a plan shared by several
// accesses (the same product on one platform user) takes the most
// permissive of their desired states and the latest expiry among those
// not cancelled; with no such expiry it keeps the previous one. A plan
// with no member left keeps its previous aggregate (it is never bumped).
func AggregatePlan(members []PlanMember, previous PlanAggregate) PlanAggregate {
	if len(members) == 0 {
		return previous
	}
	agg := PlanAggregate{Desired: AccessNone}
	for _, m := range members {
		agg.Desired = MorePermissive(agg.Desired, m.Desired)
		if m.Desired != AccessCancelled && m.Expiry > agg.Expiry {
			agg.Expiry = m.Expiry
		}
	}
	if agg.Expiry == "" {
		agg.Expiry = previous.Expiry
	}
	return agg
}
