package store_test

import (
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/store/storetest"
)

// confCase is one subtest of the conformance suite: Name is
// "Group/Method[/detail]"; the Method segment is the exported *store.DB
// method whose contract the case asserts.
type confCase struct {
	Name string
	Run  func(t *testing.T, dialect string)
}

// conformanceCases is every case of the suite, by store aggregate.
func conformanceCases() []confCase {
	var all []confCase
	for _, group := range [][]confCase{
		confServices(), confProvision(), confClaimRaces(), confCompletionText(), confClaimReads(), confCatalogue(), confIdempotency(), confAPIKeys(),
		confAttach(), confComboAttach(), confComboEdges(), confBilling(), confTransmissions(), confRetention(), confStats(),
		confRotate(), confErasure(), confStore(), confLeases(), confBudget(),
	} {
		all = append(all, group...)
	}
	return all
}

// TestConformance runs the store's conformance suite on every configured
// dialect, in the shape of River's driver conformance suite: each case on
// its own fresh database, in parallel. PostgreSQL runs when
// SVAHUB_TEST_DATABASE_URL is set and is skipped visibly otherwise.
func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		for _, c := range conformanceCases() {
			t.Run(c.Name, func(t *testing.T) {
				t.Parallel()
				c.Run(t, dialect)
			})
		}
	})
}

// coveredMethod is the method a case name covers: its second segment.
func coveredMethod(name string) string {
	parts := strings.Split(name, "/")
	if len(parts) < 2 {
		return ""
	}
	return parts[1]
}

// TestConformanceCoversEveryMethod fails when an exported method of
// *store.DB has no conformance case named after it, so a new store method
// comes with its contract test.
func TestConformanceCoversEveryMethod(t *testing.T) {
	t.Parallel()
	covered := map[string]bool{}
	for _, c := range conformanceCases() {
		covered[coveredMethod(c.Name)] = true
	}
	covered["UseGeneralAttach"] = true // a test seam (export_test.go), used by TestAttachPathsAgree
	typ := reflect.TypeFor[*store.DB]()
	var missing []string
	for i := range typ.NumMethod() {
		if name := typ.Method(i).Name; !covered[name] {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("store methods without a conformance case (%d of %d): %s", len(missing), typ.NumMethod(), strings.Join(missing, ", "))
	}
	var unknown []string
	for name := range covered {
		if _, ok := typ.MethodByName(name); !ok {
			unknown = append(unknown, name)
		}
	}
	slices.Sort(unknown)
	if len(unknown) > 0 {
		t.Fatalf("conformance cases name no store method: %s", strings.Join(unknown, ", "))
	}
}
