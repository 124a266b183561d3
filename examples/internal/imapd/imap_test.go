package imapd

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/hash"
	"github.com/saslkit/saslkit/examples/internal/authserver"
	"github.com/saslkit/saslkit/examples/internal/authtest"
	"github.com/saslkit/saslkit/limit"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/session"
)

var (
	good  = creds.Client{Authcid: "user", Password: "pencil", Token: "tok123"}
	wrong = creds.Client{Authcid: "user", Password: "wrong", Token: "nope"}
)

// client is a minimal IMAP client.
type client struct {
	t   testing.TB
	nc  net.Conn
	r   *bufio.Reader
	tag int
	// ch is the client's SASL channel: TLS bindings once on TLS.
	ch mech.Channel
}

func dial(t testing.TB, addr string) *client {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	c := &client{t: t, nc: nc, r: bufio.NewReader(nc)}
	if g := c.line(); !strings.HasPrefix(g, "* OK ") {
		t.Fatalf("greeting %q", g)
	}
	return c
}

// dialTLS connects to the implicit-TLS port.
func dialTLS(t testing.TB, addr string, cfg *tls.Config) *client {
	t.Helper()
	nc, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	c := &client{t: t, nc: nc, r: bufio.NewReader(nc)}
	cs := nc.ConnectionState()
	c.ch = mech.ClientTLSChannel(&cs)
	if g := c.line(); !strings.HasPrefix(g, "* OK ") {
		t.Fatalf("greeting %q", g)
	}
	return c
}

func (c *client) send(line string) {
	c.t.Helper()
	if _, err := c.nc.Write([]byte(line + "\r\n")); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *client) line() string {
	c.t.Helper()
	l, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v (after %q)", err, l)
	}
	return strings.TrimSuffix(l, "\r\n")
}

func (c *client) nextTag() string {
	c.tag++
	return fmt.Sprintf("A%03d", c.tag)
}

// cmd sends a command and returns its untagged responses and the tagged
// status line without the tag.
func (c *client) cmd(command string) (untagged []string, status string) {
	c.t.Helper()
	tag := c.nextTag()
	c.send(tag + " " + command)
	for {
		l := c.line()
		if rest, ok := strings.CutPrefix(l, tag+" "); ok {
			return untagged, rest
		}
		untagged = append(untagged, l)
	}
}

func (c *client) capabilities() []string {
	c.t.Helper()
	u, st := c.cmd("CAPABILITY")
	if !strings.HasPrefix(st, "OK") || len(u) != 1 {
		c.t.Fatalf("CAPABILITY: %q %q", u, st)
	}
	return strings.Fields(strings.TrimPrefix(u[0], "* CAPABILITY "))
}

func (c *client) starttls(cfg *tls.Config) {
	c.t.Helper()
	if _, st := c.cmd("STARTTLS"); !strings.HasPrefix(st, "OK") {
		c.t.Fatalf("STARTTLS: %q", st)
	}
	tc := tls.Client(c.nc, cfg)
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("handshake: %v", err)
	}
	c.nc = tc
	c.r = bufio.NewReader(tc)
	cs := tc.ConnectionState()
	c.ch = mech.ClientTLSChannel(&cs)
}

// authenticate runs AUTHENTICATE with a library client session, sending
// the initial response with SASL-IR when ir is set, and returns the tagged
// status and every challenge received. After a tagged OK it checks that
// the session accepts the success (SCRAM's v= was verified).
func (c *client) authenticate(s *session.Client, ir bool) (status string, challenges []string) {
	c.t.Helper()
	ctx := authtest.Context(c.t)
	tag := c.nextTag()
	line := tag + " AUTHENTICATE " + s.Mechanism()
	if ir {
		msg, ok, err := s.Start(ctx)
		if err != nil {
			c.t.Fatalf("Start: %v", err)
		}
		if ok {
			line += " " + encodeIR(msg)
		}
	}
	c.send(line)
	for {
		l := c.line()
		switch {
		case l == "+" || strings.HasPrefix(l, "+ "):
			b64 := strings.TrimPrefix(strings.TrimPrefix(l, "+"), " ")
			challenges = append(challenges, b64)
			msg, err := session.Decode([]byte(b64), 0)
			if err != nil {
				c.t.Fatalf("challenge %q: %v", l, err)
			}
			resp, err := s.Next(ctx, msg)
			if err != nil {
				c.send("*")
				continue
			}
			c.send(session.Encode(resp))
		case strings.HasPrefix(l, tag+" "):
			status = strings.TrimPrefix(l, tag+" ")
			if strings.HasPrefix(status, "OK") {
				if err := s.Success(ctx); err != nil {
					c.t.Errorf("%s: the client refuses the success: %v", s.Mechanism(), err)
				}
			}
			return status, challenges
		case strings.HasPrefix(l, "* BYE"):
			c.t.Fatalf("BYE during AUTHENTICATE: %q", l)
		}
	}
}

// encodeIR is the SASL-IR form of an initial response: "=" when empty.
func encodeIR(msg []byte) string {
	if len(msg) == 0 {
		return "="
	}
	return session.Encode(msg)
}

func has(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func wantPrefix(t testing.TB, what, got, want string) {
	t.Helper()
	if !strings.HasPrefix(got, want) {
		t.Errorf("%s = %q; want %q…", what, got, want)
	}
}

func start(t testing.TB, edit func(*authserver.Config)) (authtest.Addrs, *authtest.PKI) {
	t.Helper()
	pki := authtest.NewPKI(t)
	cfg := pki.Config()
	if edit != nil {
		edit(&cfg)
	}
	a, _ := authtest.Start(t, cfg, NewServer)
	return a, pki
}

func TestCapabilities(t *testing.T) {
	t.Parallel()
	a, pki := start(t, nil)
	c := dial(t, a.Plain)
	caps := c.capabilities()
	for _, want := range []string{"IMAP4rev1", "SASL-IR", "STARTTLS", "LOGINDISABLED", "AUTH=SCRAM-SHA-256", "AUTH=CRAM-MD5", "AUTH=ANONYMOUS"} {
		if !has(caps, want) {
			t.Errorf("plain: %s missing from %q", want, caps)
		}
	}
	// Bearer tokens are reusable secrets, like passwords: they are not
	// offered in the clear, next to LOGINDISABLED.
	for _, not := range []string{"AUTH=PLAIN", "AUTH=LOGIN", "AUTH=OAUTHBEARER", "AUTH=XOAUTH2", "AUTH=SCRAM-SHA-256-PLUS", "AUTH=EXTERNAL"} {
		if has(caps, not) {
			t.Errorf("plain: %s offered", not)
		}
	}
	c.starttls(pki.ClientTLS(false))
	caps = c.capabilities()
	for _, want := range []string{"AUTH=PLAIN", "AUTH=LOGIN", "AUTH=OAUTHBEARER", "AUTH=XOAUTH2", "AUTH=SCRAM-SHA-256-PLUS"} {
		if !has(caps, want) {
			t.Errorf("TLS: %s missing from %q", want, caps)
		}
	}
	for _, not := range []string{"STARTTLS", "LOGINDISABLED", "AUTH=EXTERNAL"} {
		if has(caps, not) {
			t.Errorf("TLS without a client certificate: %s offered", not)
		}
	}
	c = dial(t, a.Plain)
	c.starttls(pki.ClientTLS(true))
	if caps := c.capabilities(); !has(caps, "AUTH=EXTERNAL") {
		t.Errorf("TLS with a client certificate: no AUTH=EXTERNAL in %q", caps)
	}
}

func TestDefaultMechanisms(t *testing.T) {
	t.Parallel()
	a, pki := start(t, func(c *authserver.Config) { c.Mechs = "" })
	c := dial(t, a.Plain)
	c.starttls(pki.ClientTLS(true))
	var got []string
	for _, cap := range c.capabilities() {
		if m, ok := strings.CutPrefix(cap, "AUTH="); ok {
			got = append(got, m)
		}
	}
	want := "EXTERNAL SCRAM-SHA-256-PLUS SCRAM-SHA-256 SCRAM-SHA-1-PLUS SCRAM-SHA-1 OAUTHBEARER XOAUTH2 PLAIN LOGIN"
	if strings.Join(got, " ") != want {
		t.Errorf("default mechanisms %q; want %q", got, want)
	}
}

// TestAuthenticate runs every mechanism with the library's client, over
// STARTTLS, with and without SASL-IR, and checks the server's answers.
func TestAuthenticate(t *testing.T) {
	t.Parallel()
	a, pki := start(t, nil)
	tests := []struct {
		name  string
		mech  string
		creds creds.Client
		ir    bool
		cert  bool // present the client certificate
		noCB  bool // a client that cannot bind (gsasl --no-cb)
		want  string
	}{
		{"PLAIN with IR", "PLAIN", good, true, false, false, "OK"},
		{"PLAIN without IR", "PLAIN", good, false, false, false, "OK"},
		{"PLAIN wrong password", "PLAIN", wrong, true, false, false, "NO [AUTHENTICATIONFAILED]"},
		{"PLAIN unknown user", "PLAIN", creds.Client{Authcid: "nobody", Password: "pencil"}, true, false, false, "NO [AUTHENTICATIONFAILED]"},
		{"PLAIN other authzid", "PLAIN", creds.Client{Authcid: "user", Password: "pencil", Authzid: "admin"}, true, false, false, "NO [AUTHORIZATIONFAILED]"},
		{"PLAIN own authzid", "PLAIN", creds.Client{Authcid: "user", Password: "pencil", Authzid: "user"}, true, false, false, "OK"},
		{"LOGIN", "LOGIN", good, false, false, false, "OK"},
		{"LOGIN wrong password", "LOGIN", wrong, false, false, false, "NO [AUTHENTICATIONFAILED]"},
		{"CRAM-MD5", "CRAM-MD5", good, false, false, false, "OK"},
		{"CRAM-MD5 wrong password", "CRAM-MD5", wrong, false, false, false, "NO [AUTHENTICATIONFAILED]"},
		{"SCRAM-SHA-256 without binding", "SCRAM-SHA-256", good, true, false, true, "OK"},
		{"SCRAM-SHA-1 without binding", "SCRAM-SHA-1", good, false, false, true, "OK"},
		{"SCRAM-SHA-512 without binding", "SCRAM-SHA-512", good, true, false, true, "OK"},
		{"SCRAM-SHA-256 wrong password", "SCRAM-SHA-256", wrong, true, false, true, "NO [AUTHENTICATIONFAILED]"},
		{"SCRAM-SHA-256 downgrade", "SCRAM-SHA-256", good, true, false, false, "NO [AUTHENTICATIONFAILED]"},
		{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256-PLUS", good, true, false, false, "OK"},
		{"SCRAM-SHA-1-PLUS without IR", "SCRAM-SHA-1-PLUS", good, false, false, false, "OK"},
		{"SCRAM-SHA-256-PLUS wrong password", "SCRAM-SHA-256-PLUS", wrong, true, false, false, "NO [AUTHENTICATIONFAILED]"},
		{"XOAUTH2", "XOAUTH2", good, true, false, false, "OK"},
		{"XOAUTH2 without IR", "XOAUTH2", good, false, false, false, "OK"},
		{"OAUTHBEARER", "OAUTHBEARER", good, true, false, false, "OK"},
		{"OAUTHBEARER without a user", "OAUTHBEARER", creds.Client{Token: "tok123"}, true, false, false, "OK"},
		{"EXTERNAL", "EXTERNAL", creds.Client{}, true, true, false, "OK"},
		{"EXTERNAL without IR", "EXTERNAL", creds.Client{}, false, true, false, "OK"},
		{"EXTERNAL own authzid", "EXTERNAL", creds.Client{Authzid: "user"}, true, true, false, "OK"},
		{"EXTERNAL other authzid", "EXTERNAL", creds.Client{Authzid: "admin"}, true, true, false, "NO [AUTHORIZATIONFAILED]"},
		{"EXTERNAL without a certificate", "EXTERNAL", creds.Client{}, true, false, false, "NO [CANNOT]"},
		{"ANONYMOUS", "ANONYMOUS", creds.Client{}, true, false, false, "OK"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, a.Plain)
			c.starttls(pki.ClientTLS(tc.cert))
			ch := c.ch
			if tc.noCB {
				ch.Bindings = nil
			}
			st, challenges := c.authenticate(authtest.Client(t, tc.mech, tc.creds, ch), tc.ir)
			wantPrefix(t, "status", st, tc.want)
			if strings.HasPrefix(tc.mech, "SCRAM") && tc.want == "OK" {
				// v= goes as a last challenge: IMAP cannot carry it with OK.
				last, _ := session.Decode([]byte(challenges[len(challenges)-1]), 0)
				if !strings.HasPrefix(string(last), "v=") {
					t.Errorf("last challenge %q; want v=…", last)
				}
			}
			if tc.want == "OK" {
				// The connection is usable after authentication.
				if u, st := c.cmd(`LIST "" *`); !strings.HasPrefix(st, "OK") || len(u) != 1 {
					t.Errorf("LIST: %q %q", u, st)
				}
			}
		})
	}
}

// TestTokenErrors: a refused token gets the mechanism's JSON error as a
// challenge; the client's reply (^A for OAUTHBEARER, empty for XOAUTH2)
// ends the exchange with NO, and the client session reports the error.
func TestTokenErrors(t *testing.T) {
	t.Parallel()
	a, pki := start(t, nil)
	for _, tc := range []struct{ mech, status string }{{"OAUTHBEARER", "invalid_token"}, {"XOAUTH2", "401"}} {
		t.Run(tc.mech, func(t *testing.T) {
			c := dial(t, a.Plain)
			c.starttls(pki.ClientTLS(false))
			s := authtest.Client(t, tc.mech, wrong, c.ch)
			st, challenges := c.authenticate(s, true)
			wantPrefix(t, "status", st, "NO [AUTHENTICATIONFAILED]")
			if len(challenges) != 1 {
				t.Fatalf("challenges %q; want the JSON error", challenges)
			}
			var te *mech.TokenError
			if !errors.As(s.Failure(), &te) || te.Status != tc.status {
				t.Errorf("client failure %v; want status %q", s.Failure(), tc.status)
			}
			// And then the right token on the same connection.
			st, _ = c.authenticate(authtest.Client(t, tc.mech, good, c.ch), true)
			wantPrefix(t, "retry", st, "OK")
		})
	}
	// curl drops the connection after XOAUTH2's error: the server copes.
	c := dial(t, a.Plain)
	c.starttls(pki.ClientTLS(false))
	c.send("A1 AUTHENTICATE XOAUTH2 " + session.Encode([]byte("user=user\x01auth=Bearer nope\x01\x01")))
	wantPrefix(t, "error challenge", c.line(), "+ ey")
	c.nc.Close()
}

func TestWrongThenRight(t *testing.T) {
	t.Parallel()
	a, pki := start(t, nil)
	c := dial(t, a.Plain)
	c.starttls(pki.ClientTLS(false))
	for _, m := range []string{"PLAIN", "CRAM-MD5", "SCRAM-SHA-256-PLUS"} {
		st, _ := c.authenticate(authtest.Client(t, m, wrong, c.ch), false)
		wantPrefix(t, m+" wrong", st, "NO [AUTHENTICATIONFAILED]")
	}
	_, st := c.cmd("LOGIN user wrong")
	wantPrefix(t, "LOGIN wrong", st, "NO [AUTHENTICATIONFAILED]")
	st, _ = c.authenticate(authtest.Client(t, "SCRAM-SHA-256-PLUS", good, c.ch), true)
	wantPrefix(t, "right", st, "OK")
	_, st = c.cmd("AUTHENTICATE PLAIN")
	wantPrefix(t, "AUTHENTICATE twice", st, "BAD")
}

func TestLoginCommand(t *testing.T) {
	t.Parallel()
	a, pki := start(t, nil)
	c := dial(t, a.Plain)
	_, st := c.cmd("LOGIN user pencil")
	wantPrefix(t, "LOGIN without TLS", st, "NO [PRIVACYREQUIRED]")
	c.starttls(pki.ClientTLS(false))
	for _, tc := range []struct{ args, want string }{
		{`user`, "BAD"},
		{`{4}`, "BAD"},
		{`"user" "unterminated`, "BAD"},
		{`"user" "pen\cil"`, "BAD"},
		{`"user" "wrong"`, "NO [AUTHENTICATIONFAILED]"},
		{`"us\"er" pencil`, "NO [AUTHENTICATIONFAILED]"},
		{`"user" "pencil"`, "OK"},
	} {
		_, st := c.cmd("LOGIN " + tc.args)
		wantPrefix(t, "LOGIN "+tc.args, st, tc.want)
	}
	u, st := c.cmd("SELECT INBOX")
	wantPrefix(t, "SELECT", st, "OK [READ-WRITE]")
	if !has(u, "* 0 EXISTS") {
		t.Errorf("SELECT untagged %q", u)
	}
	_, st = c.cmd("SELECT Archive")
	wantPrefix(t, "SELECT Archive", st, "NO [NONEXISTENT]")
	_, st = c.cmd("EXAMINE inbox")
	wantPrefix(t, "EXAMINE", st, "OK [READ-ONLY]")
	u, st = c.cmd(`LIST "" ""`)
	if st[:2] != "OK" || len(u) != 1 || u[0] != `* LIST (\Noselect) "/" ""` {
		t.Errorf(`LIST "" "": %q %q`, u, st)
	}
	u, _ = c.cmd(`LIST "" "%"`)
	if len(u) != 1 {
		t.Errorf(`LIST "" "%%": %q`, u)
	}
	u, _ = c.cmd(`LIST "" "Arch*"`)
	if len(u) != 0 {
		t.Errorf(`LIST "" "Arch*": %q`, u)
	}
	u, st = c.cmd("LOGOUT")
	wantPrefix(t, "LOGOUT", st, "OK")
	if len(u) != 1 || !strings.HasPrefix(u[0], "* BYE") {
		t.Errorf("LOGOUT untagged %q", u)
	}
}

func TestInsecureAuth(t *testing.T) {
	t.Parallel()
	a, _ := start(t, func(c *authserver.Config) { c.InsecureAuth = true })
	c := dial(t, a.Plain)
	caps := c.capabilities()
	if has(caps, "LOGINDISABLED") || !has(caps, "AUTH=PLAIN") || !has(caps, "AUTH=OAUTHBEARER") {
		t.Errorf("-insecure-auth capabilities %q", caps)
	}
	st, _ := c.authenticate(authtest.Client(t, "PLAIN", good, c.ch), true)
	wantPrefix(t, "PLAIN without TLS", st, "OK")
	c = dial(t, a.Plain)
	st, _ = c.authenticate(authtest.Client(t, "OAUTHBEARER", good, c.ch), true)
	wantPrefix(t, "OAUTHBEARER without TLS", st, "OK")
	c = dial(t, a.Plain)
	_, st = c.cmd("LOGIN user pencil")
	wantPrefix(t, "LOGIN without TLS", st, "OK")
}

// TestFraming covers the protocol's own rules and the real clients'
// quirks: "=", "*", empty lines, bad base64, unknown mechanisms.
func TestFraming(t *testing.T) {
	t.Parallel()
	a, pki := start(t, nil)
	plainIR := session.Encode([]byte("\x00user\x00pencil"))
	tests := []struct {
		name  string
		tls   bool
		cert  bool
		cmd   string
		lines []string // sent after each continuation
		want  string
	}{
		{"PLAIN without TLS", false, false, "AUTHENTICATE PLAIN " + plainIR, nil, "NO [PRIVACYREQUIRED]"},
		{"LOGIN without TLS", false, false, "AUTHENTICATE LOGIN", nil, "NO [PRIVACYREQUIRED]"},
		{"OAUTHBEARER without TLS", false, false, "AUTHENTICATE OAUTHBEARER " + session.Encode([]byte("n,a=user,\x01auth=Bearer tok123\x01\x01")), nil, "NO [PRIVACYREQUIRED]"},
		{"XOAUTH2 without TLS", false, false, "AUTHENTICATE XOAUTH2 " + session.Encode([]byte("user=user\x01auth=Bearer tok123\x01\x01")), nil, "NO [PRIVACYREQUIRED]"},
		{"-PLUS without TLS", false, false, "AUTHENTICATE SCRAM-SHA-256-PLUS", nil, "NO [CANNOT]"},
		{"unknown mechanism", true, false, "AUTHENTICATE DIGEST-MD5", nil, "NO [CANNOT]"},
		{"invalid mechanism name", true, false, "AUTHENTICATE PL@IN", nil, "NO [CANNOT]"},
		{"lower-case name", true, false, "AUTHENTICATE plain " + plainIR, nil, "OK"},
		{"cancel", true, false, "AUTHENTICATE PLAIN", []string{"*"}, "BAD"},
		{"cancel LOGIN at the password", true, false, "AUTHENTICATE LOGIN", []string{"dXNlcg==", "*"}, "BAD"},
		{"bad base64 IR", true, false, "AUTHENTICATE PLAIN AHVzZXIAcGVuY2ls!", nil, "BAD"},
		{"bad base64 response", true, false, "AUTHENTICATE PLAIN", []string{"AHVzZXIAcGVuY2l"}, "BAD"},
		{"empty IR", true, false, "AUTHENTICATE PLAIN =", nil, "NO [AUTHENTICATIONFAILED]"},
		{"empty response", true, false, "AUTHENTICATE PLAIN", []string{""}, "NO [AUTHENTICATIONFAILED]"},
		{"too many arguments", true, false, "AUTHENTICATE PLAIN a b", nil, "BAD"},
		{"no mechanism", true, false, "AUTHENTICATE", nil, "BAD"},
		{"IR for a server-first mechanism", true, false, "AUTHENTICATE CRAM-MD5 dXNlcg==", nil, "BAD"},
		{"LOGIN with the user name as IR", true, false, "AUTHENTICATE LOGIN dXNlcg==", []string{"cGVuY2ls"}, "OK"},
		{"EXTERNAL empty IR", true, true, "AUTHENTICATE EXTERNAL =", nil, "OK"},
		{"EXTERNAL = as a continuation (curl)", true, true, "AUTHENTICATE EXTERNAL", []string{"="}, "OK"},
		{"EXTERNAL empty line (gsasl)", true, true, "AUTHENTICATE EXTERNAL", []string{""}, "OK"},
		{"trailing space", true, true, "AUTHENTICATE EXTERNAL ", []string{"="}, "OK"},
		{"ANONYMOUS trace", false, false, "AUTHENTICATE ANONYMOUS " + session.Encode([]byte("trace@example.org")), nil, "OK"},
		{"ANONYMOUS bad trace", false, false, "AUTHENTICATE ANONYMOUS " + session.Encode([]byte("a\x01b")), nil, "NO [AUTHENTICATIONFAILED]"},
		{"SCRAM non-empty reply to v=", true, false, "", nil, "NO [AUTHENTICATIONFAILED]"},
		{"too large", true, false, "AUTHENTICATE PLAIN " + session.Encode(make([]byte, session.DefaultMaxMessage+1)), nil, "BAD"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, a.Plain)
			if tc.tls {
				c.starttls(pki.ClientTLS(tc.cert))
			}
			if tc.cmd == "" {
				scramBadFinal(t, c)
				return
			}
			tag := c.nextTag()
			c.send(tag + " " + tc.cmd)
			lines := tc.lines
			for {
				l := c.line()
				if strings.HasPrefix(l, "+") {
					if len(lines) == 0 {
						t.Fatalf("unexpected continuation %q", l)
					}
					c.send(lines[0])
					lines = lines[1:]
					continue
				}
				wantPrefix(t, "status", strings.TrimPrefix(l, tag+" "), tc.want)
				break
			}
			if len(lines) != 0 {
				t.Errorf("lines left unsent: %q", lines)
			}
			// The connection still works.
			if _, st := c.cmd("NOOP"); !strings.HasPrefix(st, "OK") {
				t.Errorf("NOOP after: %q", st)
			}
		})
	}
}

// scramBadFinal answers SCRAM's v= challenge with something other than
// the empty line it calls for.
func scramBadFinal(t *testing.T, c *client) {
	ctx := authtest.Context(t)
	ch := c.ch
	ch.Bindings = nil
	s := authtest.Client(t, "SCRAM-SHA-256", good, ch)
	ir, _, err := s.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c.send("X AUTHENTICATE SCRAM-SHA-256 " + session.Encode(ir))
	first, _ := session.Decode([]byte(strings.TrimPrefix(c.line(), "+ ")), 0)
	final, err := s.Next(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	c.send(session.Encode(final))
	v, _ := session.Decode([]byte(strings.TrimPrefix(c.line(), "+ ")), 0)
	wantPrefix(t, "v= challenge", string(v), "v=")
	c.send(session.Encode([]byte("junk")))
	wantPrefix(t, "status", c.line(), "X NO [AUTHENTICATIONFAILED]")
}

func TestImplicitTLS(t *testing.T) {
	t.Parallel()
	a, pki := start(t, nil)
	c := dialTLS(t, a.TLS, pki.ClientTLS(true))
	if caps := c.capabilities(); has(caps, "STARTTLS") || !has(caps, "AUTH=EXTERNAL") {
		t.Errorf("implicit TLS capabilities %q", caps)
	}
	st, _ := c.authenticate(authtest.Client(t, "SCRAM-SHA-256-PLUS", good, c.ch), true)
	wantPrefix(t, "SCRAM-SHA-256-PLUS", st, "OK")
	_, st = c.cmd("STARTTLS")
	wantPrefix(t, "STARTTLS after login", st, "BAD")
}

func TestSTARTTLSPipelined(t *testing.T) {
	t.Parallel()
	a, _ := start(t, nil)
	c := dial(t, a.Plain)
	c.send("A1 STARTTLS\r\nA2 NOOP")
	wantPrefix(t, "pipelined STARTTLS", c.line(), "A1 BAD")
	wantPrefix(t, "the next command, in the clear", c.line(), "A2 OK")
}

func TestTooManyFailures(t *testing.T) {
	t.Parallel()
	a, pki := start(t, nil)
	c := dial(t, a.Plain)
	c.starttls(pki.ClientTLS(false))
	for i := 1; i < authserver.MaxFailures; i++ {
		_, st := c.cmd("LOGIN user wrong")
		wantPrefix(t, "LOGIN", st, "NO [AUTHENTICATIONFAILED]")
	}
	c.send("Z LOGIN user wrong")
	wantPrefix(t, "last failure", c.line(), "Z NO [AUTHENTICATIONFAILED]")
	wantPrefix(t, "then", c.line(), "* BYE")
	if _, err := c.r.ReadString('\n'); err == nil {
		t.Error("connection still open")
	}
}

func TestLineTooLong(t *testing.T) {
	t.Parallel()
	a, _ := start(t, nil)
	c := dial(t, a.Plain)
	c.send("A1 NOOP " + strings.Repeat("x", authserver.MaxLine))
	wantPrefix(t, "reply", c.line(), "* BYE")
}

func TestBadCommands(t *testing.T) {
	t.Parallel()
	a, _ := start(t, nil)
	c := dial(t, a.Plain)
	c.send("")
	wantPrefix(t, "empty line", c.line(), "* BAD")
	c.send("+ NOOP")
	wantPrefix(t, "+ as a tag", c.line(), "* BAD")
	for cmd, want := range map[string]string{"FROB": "BAD", "LIST \"\" *": "BAD", "SELECT INBOX": "BAD", "noop": "OK"} {
		_, st := c.cmd(cmd)
		wantPrefix(t, cmd, st, want)
	}
}

func TestMaxConns(t *testing.T) {
	t.Parallel()
	a, _ := start(t, func(c *authserver.Config) { c.MaxConns = 1 })
	dial(t, a.Plain)
	nc, err := net.Dial("tcp", a.Plain)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	l, _ := bufio.NewReader(nc).ReadString('\n')
	wantPrefix(t, "over the cap", l, "* BYE Too many connections")
}

// TestSlowClient: a client that stops mid-exchange is dropped after
// -auth-timeout, and another client logs in meanwhile without waiting.
func TestSlowClient(t *testing.T) {
	const timeout = 600 * time.Millisecond
	a, _ := start(t, func(c *authserver.Config) { c.AuthTimeout = timeout; c.InsecureAuth = true })
	slow := dial(t, a.Plain)
	began := time.Now()
	slow.send("S AUTHENTICATE PLAIN")
	wantPrefix(t, "slow client's continuation", slow.line(), "+")

	fast := dial(t, a.Plain)
	st, _ := fast.authenticate(authtest.Client(t, "PLAIN", good, mech.Channel{}), true)
	wantPrefix(t, "fast client", st, "OK")
	if d := time.Since(began); d >= timeout {
		t.Errorf("fast client took %v, past the slow client's timeout", d)
	}

	wantPrefix(t, "slow client dropped", slow.line(), "* BYE")
	if d := time.Since(began); d < timeout {
		t.Errorf("slow client dropped after %v; want %v", d, timeout)
	}
	if _, err := slow.r.ReadString('\n'); err == nil {
		t.Error("slow client's connection still open")
	}
}

// TestFailDelay: -fail-delay slows the failing connection only.
func TestFailDelay(t *testing.T) {
	const delay = 600 * time.Millisecond
	a, _ := start(t, func(c *authserver.Config) { c.FailDelay = delay; c.InsecureAuth = true })
	failing := dial(t, a.Plain)
	other := dial(t, a.Plain)
	began := time.Now()
	failing.send("F LOGIN user wrong")

	st, _ := other.authenticate(authtest.Client(t, "PLAIN", good, mech.Channel{}), true)
	wantPrefix(t, "other client", st, "OK")
	if d := time.Since(began); d >= delay {
		t.Errorf("other client took %v, as long as the failure delay", d)
	}

	wantPrefix(t, "failing client", failing.line(), "F NO [AUTHENTICATIONFAILED]")
	if d := time.Since(began); d < delay {
		t.Errorf("failure answered after %v; want at least %v", d, delay)
	}
	// Success is not delayed.
	began = time.Now()
	_, st = failing.cmd("LOGIN user pencil")
	wantPrefix(t, "then", st, "OK")
	if d := time.Since(began); d >= delay {
		t.Errorf("success took %v", d)
	}
}

// TestUsersFile serves a passwd-file and a tokens file, with a user of
// stored SCRAM keys and one with a bcrypt hash, and no channel-binding
// mechanism: a client able to bind may then run SCRAM without it. CRAM-MD5
// cannot be offered: no password is in the clear.
func TestUsersFile(t *testing.T) {
	t.Parallel()
	k, err := creds.DeriveSCRAMKeys("SHA-256", "pencil", nil, 4096, false)
	if err != nil {
		t.Fatal(err)
	}
	bcrypt, err := hash.Bcrypt{Cost: 4}.Hash("pencil")
	if err != nil {
		t.Fatal(err)
	}
	users := authtest.WriteFile(t, "users", "stored:"+k.Dovecot()+"\nhashed:{BLF-CRYPT}"+bcrypt+"::::::\n")
	tokens := authtest.WriteFile(t, "tokens", "hashed:tok-h\n")
	a, pki := start(t, func(c *authserver.Config) {
		c.UsersFile, c.TokensFile = users, tokens
		c.Mechs = "SCRAM-SHA-256,OAUTHBEARER,PLAIN"
	})
	tests := []struct {
		mech, user, token, want string
	}{
		{"SCRAM-SHA-256", "stored", "", "OK"},
		{"PLAIN", "stored", "", "OK"},
		{"PLAIN", "hashed", "", "OK"},
		{"CRAM-MD5", "stored", "", "NO [CANNOT]"}, // not offered
		{"SCRAM-SHA-256", "hashed", "", "NO [AUTHENTICATIONFAILED]"},
		{"PLAIN", "user", "", "NO [AUTHENTICATIONFAILED]"}, // the default user is gone
		{"OAUTHBEARER", "hashed", "tok-h", "OK"},
		{"OAUTHBEARER", "user", "tok123", "NO [AUTHENTICATIONFAILED]"},
	}
	for _, tc := range tests {
		t.Run(tc.mech+" "+tc.user, func(t *testing.T) {
			c := dial(t, a.Plain)
			c.starttls(pki.ClientTLS(false))
			// The client could bind (it sends "y"): the server, which
			// offers no -PLUS, must not take that for a downgrade.
			st, _ := c.authenticate(authtest.Client(t, tc.mech, creds.Client{Authcid: tc.user, Password: "pencil", Token: tc.token}, c.ch), true)
			wantPrefix(t, "status", st, tc.want)
		})
	}
}

func TestMatch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pattern string
		want    bool
	}{
		{"*", true}, {"%", true}, {"INBOX", true}, {"inbox", true}, {"IN*", true}, {"*X", true},
		{"I%B%X", true}, {"", false}, {"INBOX/*", false}, {"Arch*", false}, {"INBOXX", false},
		{strings.Repeat("*", 10000) + "Y", false},
	} {
		if got := match(tc.pattern, "INBOX"); got != tc.want {
			t.Errorf("match(%.20q, INBOX) = %v", tc.pattern, got)
		}
	}
}

// TestLimiter runs the server with -limit memory: failures from one client
// address delay its next attempts, doubling, and past the burst refuse them
// as a temporary failure; a repeat of one wrong password does not escalate;
// SCRAM failures count too (the store sees the name); success forgets the
// account's failures.
func TestLimiter(t *testing.T) {
	const base = 150 * time.Millisecond
	a, _ := start(t, func(c *authserver.Config) {
		c.InsecureAuth = true
		c.Limit = "memory"
		c.LimitConfig = limit.Config{Base: base, MaxDelay: 4 * base, Burst: 3, BurstAddr: 100, Window: time.Minute}
	})
	timed := func(c *client, command string) (string, time.Duration) {
		began := time.Now()
		_, st := c.cmd(command)
		return st, time.Since(began)
	}
	c := dial(t, a.Plain)
	// The first failure is not delayed; the second waits base.
	if st, d := timed(c, "LOGIN user wrong1"); !strings.HasPrefix(st, "NO [AUTHENTICATIONFAILED]") || d >= base {
		t.Fatalf("first failure: %q after %v", st, d)
	}
	// The same wrong password again: delayed, but not counted again.
	if st, d := timed(c, "LOGIN user wrong1"); !strings.HasPrefix(st, "NO [AUTHENTICATIONFAILED]") || d < base || d >= 2*base {
		t.Fatalf("repeat: %q after %v; want about %v", st, d, base)
	}
	if st, d := timed(c, "LOGIN user wrong2"); !strings.HasPrefix(st, "NO [AUTHENTICATIONFAILED]") || d < base || d >= 2*base {
		t.Fatalf("second distinct failure: %q after %v; want about %v", st, d, base)
	}
	// A new connection from the same address owes the same.
	c2 := dial(t, a.Plain)
	if st, d := timed(c2, "LOGIN user wrong3"); !strings.HasPrefix(st, "NO [AUTHENTICATIONFAILED]") || d < 2*base {
		t.Fatalf("third failure, new connection: %q after %v; want at least %v", st, d, 2*base)
	}
	// Three failures of the account: refused, even with the right
	// password, as a temporary failure.
	c3 := dial(t, a.Plain)
	if st, _ := timed(c3, "LOGIN user pencil"); !strings.HasPrefix(st, "NO [UNAVAILABLE]") {
		t.Fatalf("past the burst: %q, want NO [UNAVAILABLE]", st)
	}
}

// TestLimiterSCRAM: a wrong SCRAM proof counts against the account it
// named, which the server never sees in the clear, and success forgets
// them.
func TestLimiterSCRAM(t *testing.T) {
	a, _ := start(t, func(c *authserver.Config) {
		c.InsecureAuth = true
		c.Limit = "memory"
		c.LimitConfig = limit.Config{Base: time.Millisecond, MaxDelay: time.Millisecond, Burst: 3, BurstAddr: 100, Window: time.Minute}
	})
	c := dial(t, a.Plain)
	for i := 0; i < 2; i++ {
		st, _ := c.authenticate(authtest.Client(t, "SCRAM-SHA-256", wrong, mech.Channel{}), true)
		wantPrefix(t, "wrong SCRAM proof", st, "NO [AUTHENTICATIONFAILED]")
	}
	// Success forgets the account's failures...
	st, _ := dial(t, a.Plain).authenticate(authtest.Client(t, "SCRAM-SHA-256", good, mech.Channel{}), true)
	wantPrefix(t, "right password", st, "OK")
	// ...so two more failures do not reach the burst of 3.
	c = dial(t, a.Plain)
	for i := 0; i < 2; i++ {
		st, _ := c.authenticate(authtest.Client(t, "SCRAM-SHA-256", wrong, mech.Channel{}), true)
		wantPrefix(t, "wrong SCRAM proof after a success", st, "NO [AUTHENTICATIONFAILED]")
	}
	st, _ = dial(t, a.Plain).authenticate(authtest.Client(t, "PLAIN", good, mech.Channel{}), true)
	wantPrefix(t, "right password after 2 failures", st, "OK")
	// Three in a row refuse the account.
	c = dial(t, a.Plain)
	for i := 0; i < 3; i++ {
		c.authenticate(authtest.Client(t, "SCRAM-SHA-256", wrong, mech.Channel{}), true)
	}
	st, _ = dial(t, a.Plain).authenticate(authtest.Client(t, "PLAIN", good, mech.Channel{}), true)
	wantPrefix(t, "right password after 3 failures", st, "NO [UNAVAILABLE]")
}
