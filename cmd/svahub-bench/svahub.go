package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// benchSecretKey seals secrets in the benchmark databases (fixed, so a kept
// database can be reopened).
var benchSecretKey = base64.StdEncoding.EncodeToString([]byte("svahub-bench-fixed-secret-key-32"))

// moduleRoot returns the directory of the main module's go.mod.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run svahub-bench from inside the svahub module (or pass -svahub-bin)")
	}
	return filepath.Dir(mod), nil
}

// buildSvahub builds ./cmd/svahub into dir: from the working tree, or with
// fromHead from the files of the HEAD commit (git archive, so uncommitted
// changes are left out and the commit names exactly what was measured).
func buildSvahub(ctx context.Context, dir string, fromHead bool) (string, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", err
	}
	if fromHead {
		src := filepath.Join(dir, "src")
		if err := os.MkdirAll(src, 0o755); err != nil {
			return "", err
		}
		archive := exec.CommandContext(ctx, "git", "archive", "--format=tar", "HEAD")
		archive.Dir = root
		untar := exec.CommandContext(ctx, "tar", "-x", "-C", src)
		pipe, err := archive.StdoutPipe()
		if err != nil {
			return "", err
		}
		untar.Stdin = pipe
		var stderr bytes.Buffer
		archive.Stderr, untar.Stderr = &stderr, &stderr
		if err := untar.Start(); err != nil {
			return "", err
		}
		if err := archive.Run(); err != nil {
			return "", fmt.Errorf("git archive HEAD: %w\n%s", err, stderr.String())
		}
		if err := untar.Wait(); err != nil {
			return "", fmt.Errorf("tar: %w\n%s", err, stderr.String())
		}
		root = src
	}
	bin := filepath.Join(dir, "svahub")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/svahub")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/svahub: %w\n%s", err, stderr.String())
	}
	return bin, nil
}

// freeAddr returns a free 127.0.0.1 port as host:port.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// svahubConfig is the environment of one svahub process.
type svahubConfig struct {
	name         string   // for logs and file names
	args         []string // subcommand and flags (default: serve)
	databaseURL  string
	qualificaURL string
	workers      bool
	maxWorkers   int
	platformRate float64
	pprof        bool
	retention    string // SVAHUB_TRANSMISSION_RETENTION; empty: svahub's default
}

// svahubProc is a running svahub subprocess.
type svahubProc struct {
	cmd       *exec.Cmd
	addr      string
	pprofAddr string
	key       string
	logPath   string
	done      chan struct{}
	waitErr   error
	base      string
	client    *http.Client
}

func (e *benchEnv) svahubEnv(c svahubConfig, addr, pprofAddr string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SVAHUB_") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"SVAHUB_ADDR="+addr,
		"SVAHUB_DATABASE_URL="+c.databaseURL,
		"SVAHUB_SECRET_KEY="+benchSecretKey,
		"SVAHUB_LOG_LEVEL=warn",
		"SVAHUB_LOG_FORMAT=text",
		"SVAHUB_QUALIFICA_URL="+c.qualificaURL,
		"SVAHUB_WORKERS="+strconv.FormatBool(c.workers),
		"SVAHUB_MAX_WORKERS="+strconv.Itoa(c.maxWorkers),
		"SVAHUB_PLATFORM_RATE_LIMIT="+strconv.FormatFloat(c.platformRate, 'f', -1, 64),
		"SVAHUB_SHUTDOWN_GRACE=10s",
	)
	if pprofAddr != "" {
		env = append(env, "SVAHUB_PPROF_ADDR="+pprofAddr)
	}
	if c.retention != "" {
		env = append(env, "SVAHUB_TRANSMISSION_RETENTION="+c.retention)
	}
	return env
}

// createAPIKey runs `svahub apikey create` (which also migrates) and
// returns the key.
func (e *benchEnv) createAPIKey(ctx context.Context, c svahubConfig) (string, error) {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, e.bin, "apikey", "create", "--nome", "bench", "--escopo", "escrita")
	cmd.Env = e.svahubEnv(c, "127.0.0.1:0", "")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("svahub apikey create: %w\n%s", err, stderr.String())
	}
	key := strings.TrimSpace(stdout.String())
	if !strings.HasPrefix(key, "svh_") {
		return "", fmt.Errorf("svahub apikey create printed no key: %q", key)
	}
	return key, nil
}

// startSvahub starts `svahub serve` and waits until /readyz answers 200.
func (e *benchEnv) startSvahub(ctx context.Context, c svahubConfig, key string) (*svahubProc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	pprofAddr := ""
	if c.pprof {
		if pprofAddr, err = freeAddr(); err != nil {
			return nil, err
		}
	}
	logPath := filepath.Join(e.work, c.name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	// Not CommandContext: the process is stopped gracefully by stop().
	args := c.args
	if len(args) == 0 {
		args = []string{"serve"}
	}
	cmd := exec.Command(e.bin, args...)
	cmd.Env = e.svahubEnv(c, addr, pprofAddr)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	p := &svahubProc{cmd: cmd, addr: addr, pprofAddr: pprofAddr, key: key, logPath: logPath, done: make(chan struct{}),
		base: "http://" + addr, client: newHTTPClient(64)}
	go func() {
		p.waitErr = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	deadline := time.Now().Add(90 * time.Second)
	for {
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("svahub (%s) not ready after 90s; log:\n%s", c.name, tail(logPath, 30))
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("svahub (%s) exited at start-up: %v; log:\n%s", c.name, p.waitErr, tail(logPath, 30))
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		res, err := p.client.Get(p.base + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				e.log.Info("svahub ready", "name", c.name, "pid", cmd.Process.Pid, "addr", addr)
				return p, nil
			}
		}
	}
}

// pid is the process id.
func (p *svahubProc) pid() int { return p.cmd.Process.Pid }

// stop sends SIGTERM and waits (at most 20 s) before SIGKILL.
func (p *svahubProc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	p.client.CloseIdleConnections()
}

// alive reports whether the process still runs.
func (p *svahubProc) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// memStatus reads VmHWM and VmRSS (bytes) from /proc/<pid>/status.
func memStatus(pid int) (hwm, rss int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		for _, k := range []string{"VmHWM:", "VmRSS:"} {
			if rest, ok := strings.CutPrefix(line, k); ok {
				fields := strings.Fields(rest)
				if len(fields) >= 1 {
					n, _ := strconv.ParseInt(fields[0], 10, 64)
					if k == "VmHWM:" {
						hwm = n * 1024
					} else {
						rss = n * 1024
					}
				}
			}
		}
	}
	return hwm, rss, sc.Err()
}

// cpuTime returns the user+system CPU seconds used so far by pid.
func cpuTime(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("bad /proc stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, errors.New("bad /proc stat")
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100, nil // USER_HZ is 100 on Linux
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func newHTTPClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 2 * time.Minute,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        conns * 2,
			MaxIdleConnsPerHost: conns * 2,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
	}
}

// apiError is a non-expected HTTP status.
type apiError struct {
	method, path string
	status       int
	body         string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.method, e.path, e.status, e.body)
}

// call sends a JSON request to svahub's API and decodes the answer into out
// (when not nil); want lists the accepted statuses.
func (p *svahubProc) call(ctx context.Context, method, path string, in, out any, want ...int) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+p.key)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return err
	}
	ok := false
	for _, w := range want {
		ok = ok || res.StatusCode == w
	}
	if !ok {
		s := string(b)
		if len(s) > 500 {
			s = s[:500]
		}
		return &apiError{method, path, res.StatusCode, s}
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// catalogue is what the scenarios create through the API.
type catalogue struct {
	integrationID int64
	products      map[string]int64 // code → id
	packages      []int64          // in the order asked
	packageDescr  map[int64]string
}

// createCatalogue creates one Qualifica integration (suspender_inadimplencia
// true, url_base from SVAHUB_QUALIFICA_URL), the products codes, one package
// per code (value "29.90") and plan planID (a combo) with the first
// comboPackages packages.
func (p *svahubProc) createCatalogue(ctx context.Context, codes []string, planID int64, comboPackages int) (*catalogue, error) {
	var integ struct {
		ID    int64 `json:"id_integracao"`
		Token struct {
			Status  string `json:"status"`
			Message string `json:"mensagem"`
		} `json:"token"`
	}
	err := p.call(ctx, http.MethodPost, "/api/v1/integracoes", map[string]any{
		"descricao": "Qualifica (bench)", "plataforma": "qualifica",
		"parametros": map[string]any{
			"client_id": "svahub-test", "client_secret": "segredo-teste", "usuario": "login_autenticacao",
		},
		"suspender_inadimplencia": true,
	}, &integ, http.StatusCreated)
	if err != nil {
		return nil, err
	}
	if integ.Token.Status != "valido" {
		return nil, fmt.Errorf("integration token is %q (%s): is the simulator reachable?", integ.Token.Status, integ.Token.Message)
	}
	c := &catalogue{integrationID: integ.ID, products: map[string]int64{}, packageDescr: map[int64]string{}}
	for _, code := range codes {
		var prod struct {
			ID       int64 `json:"id_produto"`
			Verified bool  `json:"verificado"`
		}
		if err := p.call(ctx, http.MethodPost, fmt.Sprintf("/api/v1/integracoes/%d/produtos", integ.ID),
			map[string]any{"descricao": "Qualifica " + code, "codigo": code}, &prod, http.StatusCreated); err != nil {
			return nil, err
		}
		c.products[code] = prod.ID
	}
	for i, code := range codes {
		var pkg struct {
			ID int64 `json:"id_pacote"`
		}
		descr := fmt.Sprintf("Pacote %s (bench)", code)
		if err := p.call(ctx, http.MethodPost, "/api/v1/pacotes", map[string]any{
			"descricao": descr, "codigo": fmt.Sprintf("B%d", i+1), "valor": "29.90",
			"id_integracao": integ.ID, "produtos": []int64{c.products[code]},
		}, &pkg, http.StatusCreated); err != nil {
			return nil, err
		}
		c.packages = append(c.packages, pkg.ID)
		c.packageDescr[pkg.ID] = descr
	}
	if comboPackages > 0 {
		if err := p.call(ctx, http.MethodPut, fmt.Sprintf("/api/v1/planos/%d", planID), map[string]any{
			"descricao": "Fibra 500 Mega + Qualifica (bench)", "pacotes": c.packages[:comboPackages],
		}, nil, http.StatusCreated, http.StatusOK); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// countSubscriptions returns the total of GET /assinaturas?status=….
func (p *svahubProc) countSubscriptions(ctx context.Context, status string) (int, error) {
	var out struct {
		Pagination struct {
			Total int `json:"total_registros"`
		} `json:"paginacao"`
	}
	err := p.call(ctx, http.MethodGet, "/api/v1/assinaturas?status="+status+"&itens_por_pagina=1", nil, &out, http.StatusOK)
	return out.Pagination.Total, err
}

// captureProfile fetches a CPU profile of seconds from svahub's pprof
// endpoint into path; it returns an error when the endpoint is absent.
func captureProfile(ctx context.Context, pprofAddr string, seconds int, path string) error {
	if pprofAddr == "" {
		return errors.New("no pprof address")
	}
	cctx, cancel := context.WithTimeout(ctx, time.Duration(seconds+30)*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", pprofAddr, seconds), nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("pprof endpoint not reachable (does this svahub serve SVAHUB_PPROF_ADDR?): %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("pprof endpoint answered HTTP %d", res.StatusCode)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// profileAsync starts captureProfile in the background; wait returns the
// saved path or a note explaining why there is none.
func (e *benchEnv) profileAsync(ctx context.Context, p *svahubProc, name string, loadLen time.Duration) (wait func() string) {
	if e.o.pprofDir == "" {
		return func() string { return "" }
	}
	sec := e.o.pprofSec
	if max := int(loadLen / time.Second); sec > max {
		sec = max
	}
	if sec < 1 {
		sec = 1
	}
	path := filepath.Join(e.o.pprofDir, name+".cpu.pprof")
	ch := make(chan string, 1)
	go func() {
		if err := captureProfile(ctx, p.pprofAddr, sec, path); err != nil {
			e.log.Warn("cpu profile not taken", "name", name, "err", err)
			ch <- "not taken: " + err.Error()
			return
		}
		e.log.Info("cpu profile saved", "path", path)
		ch <- path
	}()
	return func() string { return <-ch }
}
