package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testVersion is stamped into the test build of the svahub binary with
// -ldflags -X, as the Dockerfile does with its VERSION argument.
const testVersion = "v9.9.9-test"

// built holds the real binaries, built once per test run on first use.
var built struct {
	once        sync.Once
	dir         string
	svahub, sim string
	err         error
}

// TestMain removes the built binaries after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// binaries builds cmd/svahub (version stamped) and cmd/qualifica-sim once.
func binaries(t *testing.T) (svahubBin, simBin string) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipped under -short: builds and runs the real svahub binary")
	}
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "svahub-bin-")
		if built.err != nil {
			return
		}
		built.svahub = filepath.Join(built.dir, "svahub")
		built.sim = filepath.Join(built.dir, "qualifica-sim")
		for _, b := range []struct{ out, pkg, ldflags string }{
			{built.svahub, "github.com/svahub/svahub/cmd/svahub", "-X github.com/svahub/svahub/internal/buildinfo.version=" + testVersion},
			{built.sim, "github.com/svahub/svahub/cmd/qualifica-sim", ""},
		} {
			cmd := exec.Command("go", "build", "-ldflags", b.ldflags, "-o", b.out, b.pkg)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				built.err = fmt.Errorf("go build %s: %v\n%s", b.pkg, err, out)
				return
			}
		}
	})
	require.NoError(t, built.err)
	return built.svahub, built.sim
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// cleanEnv is the environment without any SVAHUB_* variable, plus extra.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SVAHUB_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// proc is a running child process whose combined output is kept.
type proc struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  strings.Builder
	done chan struct{}
}

// Output returns what the process printed so far.
func (p *proc) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

// startProc starts bin in dir with env; the process is interrupted and
// awaited at the end of the test.
func startProc(t *testing.T, dir string, env []string, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.cmd.Dir, p.cmd.Env = dir, env
	p.cmd.Stdout, p.cmd.Stderr = p, p
	require.NoError(t, p.cmd.Start())
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(bin), p.Output())
		}
	})
	return p
}

// waitHTTP waits until url answers want, or fails the test after 30 s.
func waitHTTP(t *testing.T, url string, want int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == want {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer %d within 30 s (last: %v)", url, want, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitTCP waits until addr accepts connections, or fails after 30 s.
func waitTCP(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			_ = c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not listening within 30 s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// bootstrapKeyRe finds the API key the first start prints.
var bootstrapKeyRe = regexp.MustCompile(`(?m)^\s+(svh_\S+)\s*$`)

// waitKey waits for the first-run API key in p's output.
func waitKey(t *testing.T, p *proc) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		sc := bufio.NewScanner(strings.NewReader(p.Output()))
		for sc.Scan() {
			if m := bootstrapKeyRe.FindStringSubmatch(sc.Text()); m != nil {
				return m[1]
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no API key printed within 30 s:\n%s", p.Output())
	return ""
}

// runBin runs bin to completion and returns its stdout, stderr and error.
func runBin(t *testing.T, dir string, env []string, bin string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir, cmd.Env = dir, env
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), err
}
