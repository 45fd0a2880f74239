// Package buildinfo tells which build of svahub is running: the version
// stamped at link time (the Dockerfile's VERSION argument), else the module
// version or VCS revision Go recorded in the binary, else "devel".
//
//	go build -ldflags "-X github.com/svahub/svahub/internal/buildinfo.version=v1.2.3" ./cmd/svahub
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"sync"
)

// version is set with -ldflags -X (see the package comment).
var version string

// Info describes the running build.
type Info struct {
	// Version is the release (e.g. v1.2.3 or a git describe), "devel" when
	// unknown.
	Version string `json:"versao"`
	// Revision is the VCS commit the binary was built from, when Go
	// recorded it ("" otherwise), with "-dirty" for a modified tree.
	Revision string `json:"revisao,omitempty"`
	// GoVersion is the Go toolchain that built the binary.
	GoVersion string `json:"go"`
}

var (
	once sync.Once
	info Info
)

// Get returns the running build's Info.
func Get() Info {
	once.Do(func() {
		bi, _ := debug.ReadBuildInfo()
		info = resolve(version, bi)
	})
	return info
}

// Version returns Get().Version.
func Version() string { return Get().Version }

// resolve picks the version: the linker-stamped one, else the module
// version (go install pkg@v1.2.3), else the short VCS revision, else
// "devel".
func resolve(stamped string, bi *debug.BuildInfo) Info {
	in := Info{Version: stamped, GoVersion: runtime.Version()}
	if bi != nil {
		var dirty bool
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				in.Revision = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if in.Revision != "" && dirty {
			in.Revision += "-dirty"
		}
		if in.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			in.Version = bi.Main.Version
		}
	}
	if in.Version == "" && in.Revision != "" {
		in.Version = shortRev(in.Revision)
	}
	if in.Version == "" {
		in.Version = "devel"
	}
	return in
}

// shortRev shortens a commit hash to 12 characters, keeping "-dirty".
func shortRev(rev string) string {
	const n = 12
	if len(rev) > n && rev[n-1] != '-' {
		tail := ""
		if l := len(rev); l > 6 && rev[l-6:] == "-dirty" {
			tail = "-dirty"
		}
		return rev[:n] + tail
	}
	return rev
}
