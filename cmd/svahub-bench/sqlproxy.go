package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// sqlProxy is a loopback TCP proxy in front of PostgreSQL that reads the
// frontend (client → server) protocol and counts what svahub asks:
// simple queries ('Q') and extended-protocol executions ('E', attributed to
// the SQL text of the prepared statement bound to the portal), and
// round trips (Sync and simple queries). It forces plaintext (answers 'N'
// to SSLRequest / GSSENCRequest) so it can read the stream; it is meant for
// short probes, not for measured loads.
type sqlProxy struct {
	ln     net.Listener
	target string

	mu         sync.Mutex
	statements int64
	roundTrips int64
	byText     map[string]int64
	wg         sync.WaitGroup
	closed     chan struct{}
}

func startSQLProxy(target string) (*sqlProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &sqlProxy{ln: ln, target: target, byText: map[string]int64{}, closed: make(chan struct{})}
	go p.accept()
	return p, nil
}

func (p *sqlProxy) addr() string { return p.ln.Addr().String() }

func (p *sqlProxy) close() {
	close(p.closed)
	_ = p.ln.Close()
}

func (p *sqlProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.handle(c)
	}
}

// counts is a snapshot of the proxy counters.
type counts struct {
	statements, roundTrips int64
	byText                 map[string]int64
}

func (p *sqlProxy) snapshot() counts {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := counts{statements: p.statements, roundTrips: p.roundTrips, byText: make(map[string]int64, len(p.byText))}
	for k, v := range p.byText {
		c.byText[k] = v
	}
	return c
}

// sub returns c − before.
func (c counts) sub(before counts) counts {
	d := counts{statements: c.statements - before.statements, roundTrips: c.roundTrips - before.roundTrips, byText: map[string]int64{}}
	for k, v := range c.byText {
		if n := v - before.byText[k]; n != 0 {
			d.byText[k] = n
		}
	}
	return d
}

// top returns the n most executed statement texts.
func (c counts) top(n int) []textCount {
	out := make([]textCount, 0, len(c.byText))
	for k, v := range c.byText {
		out = append(out, textCount{k, v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].n != out[j].n {
			return out[i].n > out[j].n
		}
		return out[i].sql < out[j].sql
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

type textCount struct {
	sql string
	n   int64
}

var (
	inListRE = regexp.MustCompile(`\(\$\d+(,\s*\$\d+)+\)`)
	spaceRE  = regexp.MustCompile(`\s+`)
)

// normalizeSQL folds whitespace and IN lists of any length.
func normalizeSQL(s string) string {
	s = spaceRE.ReplaceAllString(strings.TrimSpace(s), " ")
	return inListRE.ReplaceAllString(s, "($…)")
}

func (p *sqlProxy) count(text string, stmt bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if stmt {
		p.statements++
		p.byText[normalizeSQL(text)]++
	} else {
		p.roundTrips++
	}
}

const (
	sslRequestCode    = 80877103
	gssencRequestCode = 80877104
	cancelRequestCode = 80877102
)

func (p *sqlProxy) handle(client net.Conn) {
	defer client.Close()
	server, err := net.DialTimeout("tcp", p.target, 10*time.Second)
	if err != nil {
		return
	}
	defer server.Close()
	go func() {
		_, _ = io.Copy(client, server)
		_ = client.Close()
	}()
	r := bufio.NewReaderSize(client, 64<<10)
	w := bufio.NewWriterSize(server, 64<<10)
	// Start-up: untyped messages until the real StartupMessage.
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint32(hdr[:4]))
		code := binary.BigEndian.Uint32(hdr[4:])
		if n < 8 || n > 1<<20 {
			return
		}
		if code == sslRequestCode || code == gssencRequestCode {
			if _, err := client.Write([]byte{'N'}); err != nil {
				return
			}
			continue
		}
		if _, err := w.Write(hdr[:]); err != nil {
			return
		}
		if _, err := io.CopyN(w, r, int64(n-8)); err != nil {
			return
		}
		if err := w.Flush(); err != nil {
			return
		}
		if code == cancelRequestCode {
			return
		}
		break
	}
	stmts := map[string]string{}   // prepared statement name → SQL
	portals := map[string]string{} // portal → SQL
	body := make([]byte, 0, 4096)
	for {
		if r.Buffered() == 0 {
			if err := w.Flush(); err != nil {
				return
			}
		}
		var hdr [5]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			_ = w.Flush()
			return
		}
		n := int(binary.BigEndian.Uint32(hdr[1:]))
		if n < 4 || n > 1<<30 {
			return
		}
		if cap(body) < n-4 {
			body = make([]byte, n-4)
		}
		body = body[:n-4]
		if _, err := io.ReadFull(r, body); err != nil {
			return
		}
		switch hdr[0] {
		case 'Q':
			q := cstring(body)
			p.count(q, true)
			p.count("", false)
		case 'P':
			name, rest := cstr2(body)
			q, _ := cstr2(rest)
			stmts[name] = q
		case 'B':
			portal, rest := cstr2(body)
			stmt, _ := cstr2(rest)
			portals[portal] = stmts[stmt]
		case 'E':
			portal, _ := cstr2(body)
			p.count(portals[portal], true)
		case 'S':
			p.count("", false)
		case 'C': // Close statement or portal
			if len(body) > 1 {
				name, _ := cstr2(body[1:])
				if body[0] == 'S' {
					delete(stmts, name)
				} else {
					delete(portals, name)
				}
			}
		}
		if _, err := w.Write(hdr[:]); err != nil {
			return
		}
		if _, err := w.Write(body); err != nil {
			return
		}
		if hdr[0] == 'X' {
			_ = w.Flush()
			return
		}
	}
}

func cstring(b []byte) string {
	s, _ := cstr2(b)
	return s
}

// cstr2 splits a NUL-terminated string off b.
func cstr2(b []byte) (string, []byte) {
	i := bytes.IndexByte(b, 0)
	if i < 0 {
		return string(b), nil
	}
	return string(b[:i]), b[i+1:]
}

// proxiedURL returns dsn (a postgres:// URL) pointed at the proxy, with
// sslmode=disable.
func proxiedURL(dsn, proxyAddr string) (string, error) {
	host := dsnHost(dsn)
	if host == "" || strings.HasPrefix(host, "/") {
		return "", errors.New("the SQL probe needs a TCP PostgreSQL address in -pg")
	}
	u, err := parsePGURL(dsn)
	if err != nil {
		return "", err
	}
	u.Host = proxyAddr
	q := u.Query()
	q.Set("sslmode", "disable")
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// pgTarget returns host:port of a postgres:// URL (default port 5432).
func pgTarget(dsn string) (string, error) {
	u, err := parsePGURL(dsn)
	if err != nil {
		return "", err
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "5432"
	}
	if host == "" {
		return "", fmt.Errorf("-pg URL has no host")
	}
	return net.JoinHostPort(host, port), nil
}
