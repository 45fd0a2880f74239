package buildinfo

import (
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestResolve(t *testing.T) {
	t.Parallel()
	rev := "0123456789abcdef0123456789abcdef01234567"
	vcs := func(modified string) *debug.BuildInfo {
		return &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}}
	}
	for _, tc := range []struct {
		name, stamped string
		bi            *debug.BuildInfo
		want          Info
	}{
		{"stamped wins", "v1.2.3", vcs("false"), Info{Version: "v1.2.3", Revision: rev}},
		{"module version", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.4.0"}}, Info{Version: "v0.4.0"}},
		{"vcs revision", "", vcs("false"), Info{Version: "0123456789ab", Revision: rev}},
		{"dirty tree", "", vcs("true"), Info{Version: "0123456789ab-dirty", Revision: rev + "-dirty"}},
		{"nothing known", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, Info{Version: "devel"}},
		{"no build info", "", nil, Info{Version: "devel"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.want.GoVersion = runtime.Version()
			require.Equal(t, tc.want, resolve(tc.stamped, tc.bi))
		})
	}
}

func TestGetIsStable(t *testing.T) {
	t.Parallel()
	require.NotEmpty(t, Version())
	require.Equal(t, Get(), Get())
}
