package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSwaggerUIInChromium opens the served Swagger UI in headless Chromium
// and uses it as a front-end developer would: it reads the Authorize
// dialog's hint, clicks "Try it out" and "Execute" on GET /healthz (which
// must call /healthz, not /api/v1/healthz, and answer 200), then types
// "Bearer <key>" into the Authorize dialog as the hint says and runs
// GET /api/v1/integracoes, which must answer 200.
//
// Chromium is driven over the DevTools protocol on a pipe
// (--remote-debugging-pipe: NUL-separated JSON on fds 3 and 4), so no
// dependency is needed. The test skips, saying so, when no Chromium is
// installed, unless SVAHUB_TEST_CHROMIUM names one (.ci/run sets it): then
// it must run.
func TestSwaggerUIInChromium(t *testing.T) {
	t.Parallel()
	bin := os.Getenv("SVAHUB_TEST_CHROMIUM")
	if bin == "" {
		for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
			if p, err := exec.LookPath(name); err == nil {
				bin = p
				break
			}
		}
	}
	if bin == "" {
		t.Skip("SKIP: no Chromium installed (apt-get install chromium, or set SVAHUB_TEST_CHROMIUM): the Swagger UI was not checked in a browser")
	}
	e := newHarness(t, "sqlite", apiOnly()) // the UI does not depend on the dialect
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	b := startChromium(t, ctx, bin)
	b.navigate(t, e.srv.URL+"/swagger/index.html")

	// The Authorize dialog: the hint is readable and says what to type.
	b.waitJS(t, `document.querySelector('.swagger-ui .btn.authorize') !== null`)
	b.js(t, `document.querySelector('.swagger-ui .btn.authorize').click()`)
	b.waitJS(t, `document.querySelector('.modal-ux input') !== null`)
	hint := b.js(t, `document.querySelector('.modal-ux').innerText`).(string)
	t.Logf("Authorize dialog: %q", hint)
	require.Contains(t, hint, "Digite a palavra Bearer, um espaço e a chave de API, por exemplo: Bearer svh_")
	require.NotContains(t, hint, `"Bearer " —`) // the old hint, its <chave de API> eaten as HTML
	b.js(t, `document.querySelector('.modal-ux .close-modal').click()`)
	b.waitJS(t, `document.querySelector('.modal-ux') === null`)

	// "Try it out" on the open route.
	status, url := b.tryItOut(t, "/healthz")
	require.Equal(t, "200", status, "GET /healthz from Swagger UI (request URL %s)", url)
	require.Equal(t, e.srv.URL+"/healthz", url)

	// Authorize as the hint says, then call an API route.
	b.js(t, `document.querySelector('.swagger-ui .btn.authorize').click()`)
	b.waitJS(t, `document.querySelector('.modal-ux input') !== null`)
	b.js(t, fmt.Sprintf(`(() => {
		const input = document.querySelector('.modal-ux input');
		Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(input, %q);
		input.dispatchEvent(new Event('input', {bubbles: true}));
		document.querySelector('.modal-ux .auth-btn-wrapper .authorize').click();
	})()`, "Bearer "+e.key))
	b.waitJS(t, `document.querySelector('.modal-ux .auth-btn-wrapper .btn-done') !== null`)
	b.js(t, `document.querySelector('.modal-ux .auth-btn-wrapper .btn-done').click()`)
	status, url = b.tryItOut(t, "/api/v1/integracoes")
	require.Equal(t, "200", status, "GET /api/v1/integracoes from Swagger UI after Authorize (request URL %s)", url)
}

// tryItOut expands the GET operation on path, clicks "Try it out" and
// "Execute", and returns the response status and request URL the UI shows.
func (b *browser) tryItOut(t *testing.T, path string) (status, url string) {
	t.Helper()
	block := fmt.Sprintf(`[...document.querySelectorAll('.opblock-get')].find(o => o.querySelector('.opblock-summary-path')?.getAttribute('data-path') === %q)`, path)
	b.waitJS(t, block+` !== undefined`)
	b.js(t, block+`.querySelector('.opblock-summary-control').click()`)
	b.waitJS(t, block+`.querySelector('.try-out__btn') !== null`)
	b.js(t, block+`.querySelector('.try-out__btn').click()`)
	b.waitJS(t, block+`.querySelector('.execute') !== null`)
	b.js(t, block+`.querySelector('.execute').click()`)
	b.waitJS(t, block+`.querySelector('.live-responses-table tr.response .response-col_status') !== null`)
	status, _, _ = strings.Cut(strings.TrimSpace(b.js(t, block+`.querySelector('.live-responses-table tr.response .response-col_status').innerText`).(string)), "\n")
	url = strings.TrimSpace(b.js(t, block+`.querySelector('.request-url pre').innerText`).(string))
	t.Logf("Try it out GET %s: %s %s", path, status, url)
	return status, url
}

// browser is a minimal DevTools protocol client over Chromium's pipe.
type browser struct {
	ctx     context.Context
	out     *os.File
	mu      sync.Mutex
	nextID  int
	waiting map[int]chan cdpMessage
	session string
}

type cdpMessage struct {
	ID     int             `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
}

func startChromium(t *testing.T, ctx context.Context, bin string) *browser {
	t.Helper()
	toChrome, ourEnd, err := os.Pipe() // Chromium reads commands on fd 3
	require.NoError(t, err)
	fromChrome, chromeEnd, err := os.Pipe() // and writes answers on fd 4
	require.NoError(t, err)
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-dev-shm-usage", "--no-first-run", "--remote-debugging-pipe",
		"--user-data-dir="+t.TempDir(), "about:blank")
	cmd.ExtraFiles = []*os.File{toChrome, chromeEnd}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	toChrome.Close()
	chromeEnd.Close()
	t.Cleanup(func() {
		ourEnd.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("chromium stderr:\n%s", stderr.String())
		}
	})
	b := &browser{ctx: ctx, out: ourEnd, waiting: map[int]chan cdpMessage{}}
	go b.read(fromChrome)
	var target struct {
		TargetID string `json:"targetId"`
	}
	b.call(t, "Target.createTarget", map[string]any{"url": "about:blank"}, &target)
	var attached struct {
		SessionID string `json:"sessionId"`
	}
	b.call(t, "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached)
	b.session = attached.SessionID
	b.call(t, "Page.enable", nil, nil)
	return b
}

func (b *browser) read(r *os.File) {
	defer r.Close()
	rd := bufio.NewReader(r)
	for {
		raw, err := rd.ReadBytes(0)
		if err != nil {
			return
		}
		var m cdpMessage
		if json.Unmarshal(raw[:len(raw)-1], &m) != nil || m.ID == 0 {
			continue // an event
		}
		b.mu.Lock()
		ch := b.waiting[m.ID]
		delete(b.waiting, m.ID)
		b.mu.Unlock()
		if ch != nil {
			ch <- m
		}
	}
}

// call sends one command (to the page's session once attached) and decodes
// its result into out.
func (b *browser) call(t *testing.T, method string, params any, out any) {
	t.Helper()
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	ch := make(chan cdpMessage, 1)
	b.waiting[id] = ch
	b.mu.Unlock()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if b.session != "" {
		msg["sessionId"] = b.session
	}
	raw, err := json.Marshal(msg)
	require.NoError(t, err)
	_, err = b.out.Write(append(raw, 0))
	require.NoError(t, err)
	select {
	case m := <-ch:
		if m.Error != nil {
			require.FailNow(t, "DevTools "+method, m.Error.Message)
		}
		if out != nil {
			require.NoError(t, json.Unmarshal(m.Result, out))
		}
	case <-b.ctx.Done():
		require.FailNow(t, "DevTools "+method, "no answer: %v", b.ctx.Err())
	}
}

func (b *browser) navigate(t *testing.T, url string) {
	t.Helper()
	b.call(t, "Page.navigate", map[string]any{"url": url}, nil)
}

// js evaluates expr in the page and returns its value.
func (b *browser) js(t *testing.T, expr string) any {
	t.Helper()
	var res struct {
		Result struct {
			Value any `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	b.call(t, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}, &res)
	if res.ExceptionDetails != nil {
		require.FailNow(t, "javascript failed", "%s\n%s: %s", expr, res.ExceptionDetails.Text, res.ExceptionDetails.Exception.Description)
	}
	return res.Result.Value
}

// waitJS polls cond (a boolean expression) until it holds.
func (b *browser) waitJS(t *testing.T, cond string) {
	t.Helper()
	for {
		if b.js(t, `(() => { try { return `+cond+` } catch (e) { return false } })()`) == true {
			return
		}
		select {
		case <-b.ctx.Done():
			require.FailNow(t, "timed out waiting in the browser", "%s\npage text:\n%s", cond, b.pageText(t))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (b *browser) pageText(t *testing.T) string {
	t.Helper()
	v, _ := b.js(t, `document.body ? document.body.innerText.slice(0, 4000) : ''`).(string)
	return v
}
