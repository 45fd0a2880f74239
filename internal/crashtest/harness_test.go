// Package crashtest drives the real svahub binary as a subprocess against the
// in-process Qualifica simulator, SIGKILLs and restarts it on the same
// database (SQLite file or PostgreSQL schema), and checks that the platform
// converges to the desired state of every customer service with no lost
// change, no duplicate user and nothing stuck.
//
// The suites are long (about a minute per dialect) and skip under -short.
package crashtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
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
	"syscall"
	"testing"
	"time"

	"github.com/svahub/svahub/internal/store/storetest"
)

// svahubBin is the binary built once by TestMain ("" under -short).
var svahubBin string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run()) // every suite skips itself visibly
	}
	dir, err := os.MkdirTemp("", "svahub-crashtest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "crashtest:", err)
		os.Exit(1)
	}
	bin := filepath.Join(dir, "svahub")
	start := time.Now()
	cmd := exec.Command(goTool(), "build", "-o", bin, "github.com/svahub/svahub/cmd/svahub")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "crashtest: go build ./cmd/svahub: %v\n%s", err, out)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "crashtest: built svahub in %s\n", time.Since(start).Round(time.Millisecond))
	svahubBin = bin
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(os.Getenv("GOROOT"), "bin", "go")
}

// skipShort skips a crash suite under go test -short.
func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("crashtest: skipped under -short (runs the real svahub binary against the Qualifica simulator until convergence; about a minute per dialect)")
	}
	if svahubBin == "" {
		t.Fatal("crashtest: svahub binary not built")
	}
}

// Server is one svahub subprocess over a database that outlives it.
type Server struct {
	t       *testing.T
	Dialect string
	DSN     string
	env     map[string]string
	args    []string
	logPath string

	mu       sync.Mutex
	cmd      *exec.Cmd
	base     string
	exited   chan struct{}
	key      string
	ownKey   bool // wait for the bootstrap key at start
	starts   int
	lastKill time.Time
	logTail  []string

	http *http.Client
}

// ServerOptions tune NewServer.
type ServerOptions struct {
	// Env overrides SVAHUB_* variables of the child.
	Env map[string]string
	// Args are the subcommand and flags (default: serve).
	Args []string
	// DSN shares another Server's database instead of a fresh one.
	DSN string
	// Key is the API key to use (a serve process sharing a database whose
	// key another process printed): Start does not wait for one.
	Key string
}

// NewServer prepares (but does not start) svahub over a fresh database of
// dialect, talking to the platform simulator sim (its Env) when not nil.
func NewServer(t *testing.T, dialect string, sim platformSim, o ServerOptions) *Server {
	t.Helper()
	dsn := o.DSN
	if dsn == "" {
		dsn = storetest.DSN(t, dialect)
	}
	env := map[string]string{
		"SVAHUB_DATABASE_URL":        dsn,
		"SVAHUB_SECRET_KEY":          base64.StdEncoding.EncodeToString(storetest.Key),
		"SVAHUB_LOG_LEVEL":           "info",
		"SVAHUB_LOG_FORMAT":          "text",
		"SVAHUB_MAX_WORKERS":         "50",
		"SVAHUB_PLATFORM_RATE_LIMIT": "1000",
		"SVAHUB_PLATFORM_TIMEOUT":    "5s",
		"SVAHUB_SHUTDOWN_GRACE":      "1s",
		// The simulator and the fault proxies listen on loopback ports.
		"SVAHUB_PLATFORM_ALLOWED_HOSTS": "127.0.0.1",
	}
	if sim != nil {
		for k, v := range sim.Env() {
			env[k] = v
		}
	}
	for k, v := range o.Env {
		env[k] = v
	}
	args := o.Args
	if len(args) == 0 {
		args = []string{"serve"}
	}
	s := &Server{
		t: t, Dialect: dialect, DSN: dsn, env: env, args: args, key: o.Key,
		logPath: filepath.Join(t.TempDir(), "svahub.log"), ownKey: o.Key == "",
		http: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
			MaxIdleConns: 64, MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second,
			DialContext: (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		}},
	}
	// Registered after DSN: runs before the schema is dropped.
	t.Cleanup(func() {
		s.kill()
		if t.Failed() {
			t.Logf("svahub log (%s), last lines:\n%s", s.logPath, s.tail(150))
		}
	})
	return s
}

// Start launches the binary on a free port and waits for /readyz.
func (s *Server) Start() {
	s.t.Helper()
	s.launch()
	s.waitReady()
}

// launch starts the binary on a free port without waiting for it.
func (s *Server) launch() {
	s.t.Helper()
	port := freePort(s.t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	environ := make([]string, 0, len(os.Environ())+len(s.env)+1)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SVAHUB_") {
			environ = append(environ, kv)
		}
	}
	for k, v := range s.env {
		environ = append(environ, k+"="+v)
	}
	environ = append(environ, "SVAHUB_ADDR="+addr)

	cmd := exec.Command(svahubBin, s.args...)
	cmd.Env = environ
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout // one stream, one order
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		s.t.Fatal(err)
	}
	s.mu.Lock()
	s.starts++
	n := s.starts
	s.mu.Unlock()
	fmt.Fprintf(logf, "===== crashtest: start #%d on %s =====\n", n, addr)
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		s.t.Fatalf("start svahub: %v", err)
	}
	exited := make(chan struct{})
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		defer logf.Close()
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			_, _ = fmt.Fprintln(logf, line)
			s.mu.Lock()
			if k := keyRE.FindString(line); k != "" && s.key == "" && s.ownKey {
				s.key = k
			}
			if !accessOK.MatchString(line) { // the full log is in logPath
				s.logTail = append(s.logTail, line)
			}
			if len(s.logTail) > 400 {
				s.logTail = s.logTail[len(s.logTail)-300:]
			}
			s.mu.Unlock()
		}
	}()
	go func() {
		<-scanned
		_ = cmd.Wait()
		close(exited)
	}()
	s.mu.Lock()
	s.cmd, s.exited, s.base = cmd, exited, "http://"+addr
	s.mu.Unlock()
}

// waitReady waits for /readyz (and, for serve, the bootstrap key).
func (s *Server) waitReady() {
	s.t.Helper()
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-exited:
			s.t.Fatalf("svahub exited before ready (%s)\n%s", cmd.ProcessState, s.tail(60))
		default:
		}
		resp, err := s.http.Get(s.base + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("svahub not ready after 60s\n%s", s.tail(60))
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The key is printed after the server starts listening: give it the
	// same deadline.
	for s.Key() == "" && s.args[0] == "serve" && s.ownKey && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if s.Key() == "" && s.args[0] == "serve" && s.ownKey {
		s.t.Fatalf("no bootstrap API key (svh_…) on stderr\n%s", s.tail(60))
	}
}

var (
	keyRE    = regexp.MustCompile(`svh_[A-Za-z0-9_\-]+`)
	accessOK = regexp.MustCompile(`msg="http request".* status=[234]\d\d `)
)

// Kill SIGKILLs the process (no graceful shutdown) and waits for it.
func (s *Server) Kill() {
	s.t.Helper()
	if !s.kill() {
		s.t.Fatal("Kill: svahub is not running")
	}
}

func (s *Server) kill() bool {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return false
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
	s.mu.Lock()
	s.lastKill = time.Now()
	s.mu.Unlock()
	return true
}

// Terminate sends SIGTERM (a graceful stop) and returns how long the
// process took to exit.
func (s *Server) Terminate() time.Duration {
	s.t.Helper()
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		s.t.Fatal("Terminate: svahub is not running")
	}
	start := time.Now()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(time.Minute):
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-exited
		s.t.Fatalf("svahub did not exit within a minute of SIGTERM\n%s", s.tail(60))
	}
	return time.Since(start)
}

// processRE finds the name a worker process holds its leases under.
var processRE = regexp.MustCompile(`msg="workers started".* process=(\S+)`)

// ProcessID is the lease holder name of the last start (from its log).
func (s *Server) ProcessID() string {
	s.t.Helper()
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		s.t.Fatal(err)
	}
	m := processRE.FindAllSubmatch(b, -1)
	if len(m) == 0 {
		s.t.Fatalf("no \"workers started\" line in the log\n%s", s.tail(40))
	}
	return string(m[len(m)-1][1])
}

// KeysPrinted counts the API keys the process wrote to its log.
func (s *Server) KeysPrinted() int {
	s.t.Helper()
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		s.t.Fatal(err)
	}
	return len(keyRE.FindAll(b, -1))
}

// Restart SIGKILLs the process and starts it again on the same database.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	s.Start()
}

// Key is the bootstrap API key printed at first start.
func (s *Server) Key() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.key
}

// Base is the current base URL.
func (s *Server) Base() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.base
}

// LastKill is when the process was last SIGKILLed.
func (s *Server) LastKill() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastKill
}

func (s *Server) tail(n int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.logTail
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Response is an HTTP answer.
type Response struct {
	Status int
	Body   []byte
}

// JSON decodes the body into v.
func (r Response) JSON(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Do sends one request to the current process (no retry).
func (s *Server) Do(ctx context.Context, method, path string, body any) (Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return Response{}, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.Base()+path, rd)
	if err != nil {
		return Response{}, err
	}
	req.Header.Set("Authorization", "Bearer "+s.Key())
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return Response{}, err
	}
	return Response{Status: resp.StatusCode, Body: b}, nil
}

// Call sends a request as HubSoft would: transport errors and 5xx (the
// process being killed or restarting) are retried until an answer comes or
// 90 s pass; the answer must have one of want statuses.
func (s *Server) Call(t *testing.T, method, path string, body any, want ...int) Response {
	t.Helper()
	r, err := s.call(method, path, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	for _, w := range want {
		if r.Status == w {
			return r
		}
	}
	t.Fatalf("%s %s: status %d, want %v: %s", method, path, r.Status, want, r.Body)
	return r
}

func (s *Server) call(method, path string, body any) (Response, error) {
	deadline := time.Now().Add(90 * time.Second)
	for {
		r, err := s.Do(context.Background(), method, path, body)
		if err == nil && r.Status < 500 {
			return r, nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("status %d: %s", r.Status, r.Body)
			}
			return r, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Page of a list endpoint.
type Page[T any] struct {
	Items      []T `json:"itens"`
	Pagination struct {
		Total    int `json:"total_registros"`
		LastPage int `json:"ultima_pagina"`
	} `json:"paginacao"`
}

// ListAll reads every page of a list endpoint (query without pagina).
func ListAll[T any](t *testing.T, s *Server, path string) []T {
	t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	var out []T
	for p := 0; ; p++ {
		r := s.Call(t, "GET", fmt.Sprintf("%s%spagina=%d&itens_por_pagina=500", path, sep, p), nil, 200)
		var pg Page[T]
		r.JSON(t, &pg)
		out = append(out, pg.Items...)
		if len(pg.Items) == 0 || len(out) >= pg.Pagination.Total {
			return out
		}
	}
}

// Count returns the total of a list endpoint.
func Count(t *testing.T, s *Server, path string) int {
	t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	r := s.Call(t, "GET", path+sep+"itens_por_pagina=1", nil, 200)
	var pg Page[json.RawMessage]
	r.JSON(t, &pg)
	return pg.Pagination.Total
}
