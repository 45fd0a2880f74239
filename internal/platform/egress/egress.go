// Package egress decides which platform addresses svahub may reach and
// builds the one HTTP client every platform adapter uses.
//
// A platform address must be an absolute https URL with a host and no user
// info, query or fragment. svahub never follows a redirect and refuses to
// connect to internal addresses (loopback, private, carrier-grade NAT,
// link-local, unspecified, multicast): the check runs in the dialer's
// Control hook, on the address actually dialled, so a name that resolves
// to a public address when saved and to an internal one later (DNS
// rebinding) is still refused. Operators allow exceptions: host, host:port
// or CIDR entries (SVAHUB_PLATFORM_ALLOWED_HOSTS), which may also use plain
// http, and the address (host and port) of SVAHUB_QUALIFICA_URL, which may
// use http only when that URL does.
package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrRefused is wrapped by every error of a refused platform address.
var ErrRefused = errors.New("endereço da plataforma não permitido")

// RefusedError says why an address was refused (Portuguese, for callers).
type RefusedError struct{ Reason string }

func (e *RefusedError) Error() string { return e.Reason }

// Unwrap makes errors.Is(err, ErrRefused) hold.
func (e *RefusedError) Unwrap() error { return ErrRefused }

func refused(format string, args ...any) error {
	return &RefusedError{Reason: fmt.Sprintf(format, args...)}
}

// internalRanges are refused unless allowed; netip's own predicates cover
// loopback, link-local, multicast, private and unspecified.
var internalRanges = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),      // "this network": 0.x reaches the host itself
	netip.MustParsePrefix("100.64.0.0/10"),  // carrier-grade NAT: an ISP's subscriber network
	netip.MustParsePrefix("192.0.0.0/24"),   // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),  // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),    // reserved, broadcast
	netip.MustParsePrefix("64:ff9b::/96"),   // NAT64: embeds an IPv4 address, possibly internal
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64
	netip.MustParsePrefix("2002::/16"),      // 6to4: embeds an IPv4 address
	netip.MustParsePrefix("2001::/32"),      // Teredo
	netip.MustParsePrefix("::/96"),          // IPv4-compatible (deprecated)
	netip.MustParsePrefix("fec0::/10"),      // site-local (deprecated)
}

// Internal reports whether ip is an address svahub refuses by default.
func Internal(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsUnspecified() || ip.IsLinkLocalUnicast() ||
		ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || !ip.IsGlobalUnicast() {
		return true
	}
	for _, p := range internalRanges {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Lookup resolves a host name (tests replace it to simulate DNS).
type Lookup func(ctx context.Context, host string) ([]netip.Addr, error)

// Policy is the set of allowed exceptions. Its zero value allows none.
type Policy struct {
	hosts     map[string]bool // host names or IPs, any port
	hostPorts map[string]bool // "host:port"
	implicit  map[string]bool // "host:port" of SVAHUB_QUALIFICA_URL → may use http
	nets      []netip.Prefix
	lookup    Lookup
	client    *http.Client
}

// CheckEntry validates one SVAHUB_PLATFORM_ALLOWED_HOSTS entry.
func CheckEntry(e string) error {
	_, err := New([]string{e})
	return err
}

// New builds a policy from allow-list entries (host, host:port or CIDR)
// and implicit URLs whose address is allowed (SVAHUB_QUALIFICA_URL: its host
// on its port; http only when the URL is http).
func New(entries []string, implicitURLs ...string) (*Policy, error) {
	p := &Policy{hosts: map[string]bool{}, hostPorts: map[string]bool{}, implicit: map[string]bool{}}
	for _, raw := range entries {
		e := strings.ToLower(strings.TrimSpace(raw))
		switch {
		case e == "":
		case strings.Contains(e, "/"):
			pfx, err := netip.ParsePrefix(e)
			if err != nil {
				return nil, fmt.Errorf("%q is not a valid CIDR", e)
			}
			if pfx != pfx.Masked() {
				return nil, fmt.Errorf("%q has host bits set: write %s", e, pfx.Masked())
			}
			p.nets = append(p.nets, pfx.Masked())
		case strings.Contains(e, "://") || strings.ContainsAny(e, "@?# "):
			return nil, fmt.Errorf("%q: give a host, host:port or CIDR, not a URL", e)
		default:
			if h, port, err := net.SplitHostPort(e); err == nil {
				if h == "" || port == "" {
					return nil, fmt.Errorf("%q: host and port must not be empty", e)
				}
				p.hostPorts[net.JoinHostPort(h, port)] = true
				continue
			}
			p.hosts[strings.Trim(e, "[]")] = true
		}
	}
	for _, raw := range implicitURLs {
		if u, err := url.Parse(strings.TrimSpace(raw)); err == nil && u.Hostname() != "" {
			hp := net.JoinHostPort(strings.ToLower(u.Hostname()), portOf(u))
			p.implicit[hp] = p.implicit[hp] || u.Scheme == "http"
		}
	}
	p.client = p.newClient()
	return p, nil
}

// WithLookup returns a copy of p resolving names with fn (tests).
func (p *Policy) WithLookup(fn Lookup) *Policy {
	cp := *p
	cp.lookup = fn
	cp.client = cp.newClient()
	return &cp
}

func (p *Policy) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, nil
	}
	if p.lookup != nil {
		return p.lookup(ctx, host)
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	return addrs, err
}

// numericHost reports whether host's last label is a number (decimal or
// 0x hex), which URL parsers and resolvers read as an IPv4 address in
// forms netip does not accept (no top-level domain is numeric).
func numericHost(host string) bool {
	labels := strings.Split(strings.TrimSuffix(host, "."), ".")
	last := labels[len(labels)-1]
	if rest, hex := strings.CutPrefix(last, "0x"); hex {
		return strings.Trim(rest, "0123456789abcdef") == ""
	}
	return last != "" && strings.Trim(last, "0123456789") == ""
}

// portOf is u's port, or its scheme's default.
func portOf(u *url.URL) string {
	if port := u.Port(); port != "" {
		return port
	}
	if u.Scheme == "http" {
		return "80"
	}
	return "443"
}

// namedAllowed reports whether host on port is an allowed name entry or
// the address of SVAHUB_QUALIFICA_URL (its host on its port only).
func (p *Policy) namedAllowed(host, port string) bool {
	host = strings.ToLower(strings.Trim(host, "[]"))
	hp := net.JoinHostPort(host, port)
	_, implicit := p.implicit[hp]
	return p.hosts[host] || p.hostPorts[hp] || implicit
}

// httpAllowed reports whether host on port may be reached with plain
// http: an allowed entry, or SVAHUB_QUALIFICA_URL's address when that URL
// is itself http.
func (p *Policy) httpAllowed(host, port string) bool {
	host = strings.ToLower(strings.Trim(host, "[]"))
	hp := net.JoinHostPort(host, port)
	return p.hosts[host] || p.hostPorts[hp] || p.implicit[hp]
}

// ipAllowed reports whether ip may be dialled.
func (p *Policy) ipAllowed(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, n := range p.nets {
		if n.Contains(ip) {
			return true
		}
	}
	return !Internal(ip)
}

// CheckURL validates a platform address as saved (url_base): its form,
// its scheme, and, for a name not explicitly allowed, the addresses it
// resolves to now. A name that does not resolve yet is accepted: the dial
// checks it again. The error is a *RefusedError with a Portuguese reason.
func (p *Policy) CheckURL(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || !u.IsAbs() || u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return refused("use um endereço https absoluto, como https://api.plataforma.com.br")
	case u.User != nil:
		return refused("o endereço não pode conter usuário ou senha")
	case u.RawQuery != "" || u.ForceQuery:
		return refused("o endereço não pode conter parâmetros de consulta (?)")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return refused("o endereço não pode conter fragmento (#)")
	}
	host, port := strings.ToLower(u.Hostname()), portOf(u)
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return refused("porta inválida no endereço: use 1 a 65535")
	}
	ip, literal := netip.ParseAddr(host)
	if literal != nil && numericHost(host) {
		// 2130706433, 0177.0.0.1, 0x7f000001, 127.1: numbers that some
		// resolvers read as IPv4 addresses; refused rather than guessed.
		return refused("use um nome ou um endereço IP escrito por extenso (a.b.c.d)")
	}
	named := p.namedAllowed(host, port)
	allowedHTTP := p.httpAllowed(host, port) || (literal == nil && ip.IsValid() && p.inNets(ip))
	switch u.Scheme {
	case "https":
	case "http":
		if !allowedHTTP {
			return refused("use https: http só é aceito para endereços liberados em SVAHUB_PLATFORM_ALLOWED_HOSTS")
		}
	default:
		return refused("use um endereço https absoluto, como https://api.plataforma.com.br")
	}
	if named {
		return nil
	}
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	addrs, err := p.resolve(rctx, host)
	if err != nil {
		return nil // not resolvable now: the dial decides
	}
	for _, a := range addrs {
		if !p.ipAllowed(a) {
			return refused("endereço interno não permitido (loopback, rede privada ou local); libere-o em SVAHUB_PLATFORM_ALLOWED_HOSTS se for mesmo a plataforma")
		}
	}
	return nil
}

func (p *Policy) inNets(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, n := range p.nets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// Client returns the HTTP client every platform adapter must use: it never
// follows redirects, ignores proxy environment variables (a proxy would
// dial for it) and refuses internal addresses at dial time.
func (p *Policy) Client() *http.Client { return p.client }

func (p *Policy) newClient() *http.Client {
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           p.dial,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   20,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// dial connects to addr. An allowed name is dialled as is; any other name
// is resolved and each address dialled through the Control hook, which
// refuses internal addresses on the socket about to connect.
func (p *Policy) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	if p.namedAllowed(host, port) {
		return d.DialContext(ctx, network, addr)
	}
	d.Control = func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil || !p.ipAllowed(ap.Addr()) {
			return refused("endereço interno não permitido")
		}
		return nil
	}
	addrs, err := p.resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	var first error
	for _, a := range addrs {
		c, err := d.DialContext(ctx, network, net.JoinHostPort(a.Unmap().String(), port))
		if err == nil {
			return c, nil
		}
		if first == nil || errors.Is(err, ErrRefused) {
			first = err
		}
	}
	if first == nil {
		first = &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
	}
	return nil, first
}
