package svahub_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/svahub/svahub/internal/svahub"
)

func TestAggregatePlan(t *testing.T) {
	type (
		m = svahub.PlanMember
		a = svahub.PlanAggregate
	)
	const (
		act, sus, can = svahub.AccessActive, svahub.AccessSuspended, svahub.AccessCancelled
		d1, d2, d3    = svahub.Date("2026-12-31"), svahub.Date("2027-01-31"), svahub.Date("2027-06-30")
	)
	prev := a{Desired: sus, Expiry: d1}
	for _, tc := range []struct {
		name     string
		members  []m
		previous a
		want     a
	}{
		{"no member left: unchanged", nil, prev, prev},
		{"one member", []m{{act, d2}}, prev, a{act, d2}},
		{"first aggregate of a new plan", []m{{act, d2}}, a{}, a{act, d2}},
		{"most permissive state wins", []m{{can, d3}, {sus, d1}, {act, d2}}, a{}, a{act, d2}},
		{"suspended over cancelled", []m{{can, d3}, {sus, d1}}, a{}, a{sus, d1}},
		{"latest expiry among accesses not cancelled", []m{{sus, d3}, {act, d2}}, prev, a{act, d3}},
		{"a cancelled access's expiry does not count", []m{{act, d1}, {can, d3}}, prev, a{act, d1}},
		{"all cancelled: old expiry kept", []m{{can, d3}, {can, d2}}, prev, a{can, d1}},
		{"first aggregate of a cancelled plan: no expiry", []m{{can, d2}}, a{}, a{can, ""}},
		{"no desired state yet", []m{{svahub.AccessNone, d2}}, a{}, a{svahub.AccessNone, d2}},
		{"expiry may move back", []m{{act, d1}}, a{act, d3}, a{act, d1}},
		{"a member without expiry keeps the old one", []m{{act, ""}}, prev, a{act, d1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, svahub.AggregatePlan(tc.members, tc.previous))
		})
	}
}
