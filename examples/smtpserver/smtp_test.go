package main

import (
	"bufio"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/examples/internal/authserver"
	"github.com/saslkit/saslkit/examples/internal/authtest"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/session"
)

var (
	good  = creds.Client{Authcid: "user", Password: "pencil", Token: "tok123"}
	wrong = creds.Client{Authcid: "user", Password: "wrong", Token: "nope"}
)

// client is a minimal SMTP client.
type client struct {
	t  testing.TB
	nc net.Conn
	r  *bufio.Reader
	ch mech.Channel
}

func dial(t testing.TB, addr string) *client {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return newClient(t, nc)
}

func newClient(t testing.TB, nc net.Conn) *client {
	t.Helper()
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	c := &client{t: t, nc: nc, r: bufio.NewReader(nc)}
	if tc, ok := nc.(*tls.Conn); ok {
		cs := tc.ConnectionState()
		c.ch = mech.ClientTLSChannel(&cs)
	}
	if code, _ := c.reply(); code != "220" {
		t.Fatalf("greeting %s", code)
	}
	return c
}

func (c *client) send(line string) {
	c.t.Helper()
	if _, err := c.nc.Write([]byte(line + "\r\n")); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// reply reads a possibly multi-line reply: its code, and the text of each
// line.
func (c *client) reply() (code string, lines []string) {
	c.t.Helper()
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("read: %v (after %q)", err, l)
		}
		l = strings.TrimSuffix(l, "\r\n")
		if len(l) < 4 {
			c.t.Fatalf("short reply line %q", l)
		}
		lines = append(lines, l[4:])
		if l[3] == ' ' {
			return l[:3], lines
		}
	}
}

// line reads a one-line reply, whole.
func (c *client) line() string {
	c.t.Helper()
	code, lines := c.reply()
	return code + " " + strings.Join(lines, "|")
}

func (c *client) cmd(line string) string {
	c.t.Helper()
	c.send(line)
	return c.line()
}

// ehlo returns the EHLO keywords.
func (c *client) ehlo() []string {
	c.t.Helper()
	c.send("EHLO test.example")
	code, lines := c.reply()
	if code != "250" {
		c.t.Fatalf("EHLO: %s %q", code, lines)
	}
	return lines[1:]
}

// auth returns the AUTH keyword's mechanisms, or nil.
func auth(ext []string) []string {
	for _, e := range ext {
		if m, ok := strings.CutPrefix(e, "AUTH "); ok {
			return strings.Fields(m)
		}
	}
	return nil
}

func (c *client) starttls(cfg *tls.Config) {
	c.t.Helper()
	if r := c.cmd("STARTTLS"); !strings.HasPrefix(r, "220") {
		c.t.Fatalf("STARTTLS: %q", r)
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

// authenticate runs AUTH with a library client session, with the initial
// response when ir is set, and returns the final reply and the challenges
// received. After 235 it checks that the session accepts the success.
func (c *client) authenticate(s *session.Client, ir bool) (reply string, challenges []string) {
	c.t.Helper()
	ctx := authtest.Context(c.t)
	line := "AUTH " + s.Mechanism()
	if ir {
		msg, ok, err := s.Start(ctx)
		if err != nil {
			c.t.Fatalf("Start: %v", err)
		}
		if ok {
			if len(msg) == 0 {
				line += " ="
			} else {
				line += " " + session.Encode(msg)
			}
		}
	}
	c.send(line)
	for {
		code, lines := c.reply()
		if code != "334" {
			reply = code + " " + strings.Join(lines, "|")
			if code == "235" {
				if err := s.Success(ctx); err != nil {
					c.t.Errorf("%s: the client refuses the success: %v", s.Mechanism(), err)
				}
			}
			return reply, challenges
		}
		challenges = append(challenges, lines[0])
		msg, err := session.Decode([]byte(lines[0]), 0)
		if err != nil {
			c.t.Fatalf("challenge %q: %v", lines[0], err)
		}
		resp, err := s.Next(ctx, msg)
		if err != nil {
			c.send("*")
			continue
		}
		c.send(session.Encode(resp))
	}
}

func wantPrefix(t testing.TB, what, got, want string) {
	t.Helper()
	if !strings.HasPrefix(got, want) {
		t.Errorf("%s = %q; want %q…", what, got, want)
	}
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
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

func TestEHLO(t *testing.T) {
	t.Parallel()
	a, pki := start(t, nil)
	c := dial(t, a.Plain)
	ext := c.ehlo()
	if !has(ext, "STARTTLS") {
		t.Errorf("no STARTTLS in %q", ext)
	}
	m := auth(ext)
	for _, want := range []string{"SCRAM-SHA-256", "CRAM-MD5", "ANONYMOUS"} {
		if !has(m, want) {
			t.Errorf("plain: %s missing from AUTH %q", want, m)
		}
	}
	// Bearer tokens are reusable secrets, like passwords.
	for _, not := range []string{"PLAIN", "LOGIN", "OAUTHBEARER", "XOAUTH2", "SCRAM-SHA-256-PLUS", "EXTERNAL"} {
		if has(m, not) {
			t.Errorf("plain: %s offered", not)
		}
	}
	c.starttls(pki.ClientTLS(true))
	// After STARTTLS the client starts over.
	wantPrefix(t, "AUTH before EHLO", c.cmd("AUTH PLAIN"), "503 5.5.1")
	ext = c.ehlo()
	if has(ext, "STARTTLS") {
		t.Errorf("STARTTLS offered over TLS")
	}
	m = auth(ext)
	for _, want := range []string{"PLAIN", "LOGIN", "OAUTHBEARER", "XOAUTH2", "SCRAM-SHA-256-PLUS", "EXTERNAL"} {
		if !has(m, want) {
			t.Errorf("TLS: %s missing from AUTH %q", want, m)
		}
	}
	if r, _ := c.authenticate(authtest.Client(t, "EXTERNAL", creds.Client{}, c.ch), true); !strings.HasPrefix(r, "235") {
		t.Fatalf("EXTERNAL: %q", r)
	}
	if m := auth(c.ehlo()); m != nil {
		t.Errorf("AUTH offered after authentication: %q", m)
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	a, pki := start(t, nil)
	tests := []struct {
		name  string
		mech  string
		creds creds.Client
		ir    bool
		cert  bool
		noCB  bool
		want  string
	}{
		{"PLAIN with IR", "PLAIN", good, true, false, false, "235 2.7.0"},
		{"PLAIN without IR", "PLAIN", good, false, false, false, "235 2.7.0"},
		{"PLAIN wrong password", "PLAIN", wrong, true, false, false, "535 5.7.8"},
		{"PLAIN unknown user", "PLAIN", creds.Client{Authcid: "nobody", Password: "pencil"}, true, false, false, "535 5.7.8 Authentication credentials invalid"},
		{"PLAIN other authzid", "PLAIN", creds.Client{Authcid: "user", Password: "pencil", Authzid: "admin"}, true, false, false, "535 5.7.8 Not authorized"},
		{"LOGIN", "LOGIN", good, false, false, false, "235"},
		{"CRAM-MD5", "CRAM-MD5", good, false, false, false, "235"},
		{"CRAM-MD5 wrong password", "CRAM-MD5", wrong, false, false, false, "535 5.7.8"},
		{"SCRAM-SHA-256 without binding", "SCRAM-SHA-256", good, true, false, true, "235"},
		{"SCRAM-SHA-1 without IR", "SCRAM-SHA-1", good, false, false, true, "235"},
		{"SCRAM-SHA-256 wrong password", "SCRAM-SHA-256", wrong, true, false, true, "535 5.7.8"},
		{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256-PLUS", good, true, false, false, "235"},
		{"SCRAM-SHA-256-PLUS without IR", "SCRAM-SHA-256-PLUS", good, false, false, false, "235"},
		{"XOAUTH2", "XOAUTH2", good, true, false, false, "235"},
		{"OAUTHBEARER", "OAUTHBEARER", good, false, false, false, "235"},
		{"EXTERNAL", "EXTERNAL", creds.Client{}, true, true, false, "235"},
		{"EXTERNAL other authzid", "EXTERNAL", creds.Client{Authzid: "admin"}, true, true, false, "535 5.7.8 Not authorized"},
		{"EXTERNAL without a certificate", "EXTERNAL", creds.Client{}, true, false, false, "504 5.5.4"},
		{"ANONYMOUS", "ANONYMOUS", creds.Client{}, false, false, false, "235"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, a.Plain)
			c.ehlo()
			c.starttls(pki.ClientTLS(tc.cert))
			c.ehlo()
			ch := c.ch
			if tc.noCB {
				ch.Bindings = nil
			}
			r, challenges := c.authenticate(authtest.Client(t, tc.mech, tc.creds, ch), tc.ir)
			wantPrefix(t, "reply", r, tc.want)
			if strings.HasPrefix(tc.mech, "SCRAM") && strings.HasPrefix(tc.want, "235") {
				last, _ := session.Decode([]byte(challenges[len(challenges)-1]), 0)
				if !strings.HasPrefix(string(last), "v=") {
					t.Errorf("last challenge %q; want v=…", last)
				}
			}
		})
	}
}

func TestTokenErrors(t *testing.T) {
	t.Parallel()
	a, pki := start(t, nil)
	for _, tc := range []struct{ mech, status string }{{"OAUTHBEARER", "invalid_token"}, {"XOAUTH2", "401"}} {
		t.Run(tc.mech, func(t *testing.T) {
			c := dial(t, a.Plain)
			c.ehlo()
			c.starttls(pki.ClientTLS(false))
			c.ehlo()
			s := authtest.Client(t, tc.mech, wrong, c.ch)
			r, challenges := c.authenticate(s, true)
			wantPrefix(t, "reply", r, "535 5.7.8")
			if len(challenges) != 1 {
				t.Fatalf("challenges %q; want the JSON error", challenges)
			}
			var te *mech.TokenError
			if !errors.As(s.Failure(), &te) || te.Status != tc.status {
				t.Errorf("client failure %v; want status %q", s.Failure(), tc.status)
			}
			r, _ = c.authenticate(authtest.Client(t, tc.mech, good, c.ch), true)
			wantPrefix(t, "retry", r, "235")
		})
	}
}

// TestFraming covers RFC 4954's framing and the real clients' quirks.
func TestFraming(t *testing.T) {
	t.Parallel()
	a, pki := start(t, nil)
	plainIR := session.Encode([]byte("\x00user\x00pencil"))
	tests := []struct {
		name  string
		tls   bool
		cert  bool
		cmd   string
		lines []string // sent after each 334
		want  string
	}{
		{"PLAIN without TLS", false, false, "AUTH PLAIN " + plainIR, nil, "538 5.7.11"},
		{"LOGIN without TLS", false, false, "AUTH LOGIN", nil, "538 5.7.11"},
		{"OAUTHBEARER without TLS", false, false, "AUTH OAUTHBEARER " + session.Encode([]byte("n,a=user,\x01auth=Bearer tok123\x01\x01")), nil, "538 5.7.11"},
		{"XOAUTH2 without TLS", false, false, "AUTH XOAUTH2", nil, "538 5.7.11"},
		{"-PLUS without TLS", false, false, "AUTH SCRAM-SHA-256-PLUS", nil, "504 5.5.4"},
		{"unknown mechanism", true, false, "AUTH DIGEST-MD5", nil, "504 5.5.4"},
		{"cancel", true, false, "AUTH PLAIN", []string{"*"}, "501"},
		{"cancel LOGIN at the password", true, false, "AUTH LOGIN", []string{"dXNlcg==", "*"}, "501"},
		{"bad base64 IR", true, false, "AUTH PLAIN %%%%", nil, "501 5.5.2"},
		{"bad base64 response", true, false, "AUTH PLAIN", []string{"AHVzZXIAcGVuY2l"}, "501 5.5.2"},
		{"= as the IR", true, false, "AUTH PLAIN =", nil, "535"},
		{"= as a response", true, false, "AUTH PLAIN", []string{"="}, "535"},
		{"syntax", true, false, "AUTH", nil, "501 5.5.4"},
		{"IR for a server-first mechanism", true, false, "AUTH CRAM-MD5 dXNlcg==", nil, "501"},
		{"LOGIN with the user name as IR (smtplib, curl)", true, false, "AUTH LOGIN dXNlcg==", []string{"cGVuY2ls"}, "235"},
		{"smtplib's trailing space", true, true, "AUTH EXTERNAL ", []string{""}, "235"},
		{"EXTERNAL = as a continuation (curl)", true, true, "AUTH EXTERNAL", []string{"="}, "235"},
		{"EXTERNAL = as the IR", true, true, "AUTH EXTERNAL =", nil, "235"},
		{"too large", true, false, "AUTH PLAIN " + session.Encode(make([]byte, session.DefaultMaxMessage+1)), nil, "500 5.5.6"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, a.Plain)
			c.ehlo()
			if tc.tls {
				c.starttls(pki.ClientTLS(tc.cert))
				c.ehlo()
			}
			c.send(tc.cmd)
			lines := tc.lines
			for {
				r := c.line()
				if strings.HasPrefix(r, "334 ") {
					if len(lines) == 0 {
						t.Fatalf("unexpected %q", r)
					}
					if tc.name == "smtplib's trailing space" && r != "334 " {
						t.Errorf("challenge %q; want an empty 334", r)
					}
					c.send(lines[0])
					lines = lines[1:]
					continue
				}
				wantPrefix(t, "reply", r, tc.want)
				break
			}
			if len(lines) != 0 {
				t.Errorf("lines left unsent: %q", lines)
			}
			wantPrefix(t, "NOOP after", c.cmd("NOOP"), "250")
		})
	}
}

func TestWrongThenRight(t *testing.T) {
	t.Parallel()
	a, pki := start(t, nil)
	c := dial(t, a.Plain)
	c.ehlo()
	c.starttls(pki.ClientTLS(false))
	c.ehlo()
	for _, m := range []string{"PLAIN", "LOGIN", "SCRAM-SHA-256-PLUS"} {
		r, _ := c.authenticate(authtest.Client(t, m, wrong, c.ch), false)
		wantPrefix(t, m+" wrong", r, "535 5.7.8")
	}
	r, _ := c.authenticate(authtest.Client(t, "PLAIN", good, c.ch), true)
	wantPrefix(t, "right", r, "235")
	wantPrefix(t, "AUTH twice", c.cmd("AUTH PLAIN"), "503 5.5.1")
}

func TestTooManyFailures(t *testing.T) {
	t.Parallel()
	a, _ := start(t, nil)
	c := dial(t, a.Plain)
	c.ehlo()
	for i := 1; i < authserver.MaxFailures; i++ {
		wantPrefix(t, "failure", c.cmd("AUTH CRAM-MD5 dXNlcg=="), "501")
	}
	c.send("AUTH NOSUCH")
	wantPrefix(t, "last failure", c.line(), "504")
	wantPrefix(t, "then", c.line(), "421")
	if _, err := c.r.ReadString('\n'); err == nil {
		t.Error("connection still open")
	}
}

// TestMail: the minimal mail transaction, after authentication only.
func TestMail(t *testing.T) {
	t.Parallel()
	a, _ := start(t, func(c *authserver.Config) { c.InsecureAuth = true })
	c := dial(t, a.Plain)
	c.ehlo()
	wantPrefix(t, "MAIL before AUTH", c.cmd("MAIL FROM:<user@example.org>"), "530 5.7.0")
	r, _ := c.authenticate(authtest.Client(t, "PLAIN", good, c.ch), true)
	wantPrefix(t, "AUTH", r, "235")
	wantPrefix(t, "RCPT before MAIL", c.cmd("RCPT TO:<a@example.org>"), "503")
	wantPrefix(t, "DATA before MAIL", c.cmd("DATA"), "503")
	wantPrefix(t, "MAIL syntax", c.cmd("MAIL <user@example.org>"), "501")
	wantPrefix(t, "MAIL", c.cmd("mail from:<user@example.org> SIZE=100"), "250")
	wantPrefix(t, "MAIL twice", c.cmd("MAIL FROM:<user@example.org>"), "503")
	wantPrefix(t, "AUTH in a transaction", c.cmd("AUTH PLAIN"), "503")
	wantPrefix(t, "DATA before RCPT", c.cmd("DATA"), "503")
	wantPrefix(t, "RCPT", c.cmd("RCPT TO:<a@example.org>"), "250")
	wantPrefix(t, "DATA", c.cmd("DATA"), "354")
	c.send("Subject: test\r\n\r\n..a dot-stuffed line\r\n.")
	wantPrefix(t, "end of data", c.line(), "250")
	wantPrefix(t, "MAIL again", c.cmd("MAIL FROM:<>"), "250")
	wantPrefix(t, "RCPT", c.cmd("RCPT TO:<a@example.org>"), "250")
	wantPrefix(t, "DATA", c.cmd("DATA"), "354")
	big := strings.Repeat("x", 998)
	for n := 0; n <= MaxMessage/1000; n++ {
		c.send(big)
	}
	c.send(".")
	wantPrefix(t, "too big", c.line(), "552")
	wantPrefix(t, "RSET", c.cmd("RSET"), "250")
	wantPrefix(t, "VRFY", c.cmd("VRFY user"), "252")
	wantPrefix(t, "unknown", c.cmd("FROB"), "500")
	wantPrefix(t, "QUIT", c.cmd("QUIT"), "221")
}

func TestImplicitTLS(t *testing.T) {
	t.Parallel()
	a, pki := start(t, nil)
	nc, err := tls.Dial("tcp", a.TLS, pki.ClientTLS(false))
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, nc)
	if ext := c.ehlo(); has(ext, "STARTTLS") || !has(auth(ext), "PLAIN") {
		t.Errorf("implicit TLS EHLO %q", ext)
	}
	r, _ := c.authenticate(authtest.Client(t, "SCRAM-SHA-256-PLUS", good, c.ch), true)
	wantPrefix(t, "SCRAM-SHA-256-PLUS", r, "235")
}

func TestSTARTTLSPipelined(t *testing.T) {
	t.Parallel()
	a, _ := start(t, nil)
	c := dial(t, a.Plain)
	c.ehlo()
	c.send("STARTTLS\r\nNOOP")
	wantPrefix(t, "pipelined STARTTLS", c.line(), "503")
	wantPrefix(t, "the next command, in the clear", c.line(), "250")
}

// TestSlowClient: a client that stops mid-exchange is dropped after
// -auth-timeout, and another client authenticates meanwhile without
// waiting.
func TestSlowClient(t *testing.T) {
	const timeout = 600 * time.Millisecond
	a, _ := start(t, func(c *authserver.Config) { c.AuthTimeout = timeout; c.InsecureAuth = true })
	slow := dial(t, a.Plain)
	slow.ehlo()
	began := time.Now()
	slow.send("AUTH LOGIN")
	wantPrefix(t, "slow client's challenge", slow.line(), "334")

	fast := dial(t, a.Plain)
	fast.ehlo()
	r, _ := fast.authenticate(authtest.Client(t, "PLAIN", good, mech.Channel{}), true)
	wantPrefix(t, "fast client", r, "235")
	if d := time.Since(began); d >= timeout {
		t.Errorf("fast client took %v, past the slow client's timeout", d)
	}

	wantPrefix(t, "slow client dropped", slow.line(), "421 4.4.2")
	if d := time.Since(began); d < timeout {
		t.Errorf("slow client dropped after %v; want %v", d, timeout)
	}
}

// TestFailDelay: -fail-delay slows the failing connection only.
func TestFailDelay(t *testing.T) {
	const delay = 600 * time.Millisecond
	a, _ := start(t, func(c *authserver.Config) { c.FailDelay = delay; c.InsecureAuth = true })
	failing := dial(t, a.Plain)
	failing.ehlo()
	other := dial(t, a.Plain)
	other.ehlo()
	began := time.Now()
	failing.send("AUTH PLAIN " + session.Encode([]byte("\x00user\x00wrong")))

	r, _ := other.authenticate(authtest.Client(t, "PLAIN", good, mech.Channel{}), true)
	wantPrefix(t, "other client", r, "235")
	if d := time.Since(began); d >= delay {
		t.Errorf("other client took %v, as long as the failure delay", d)
	}
	wantPrefix(t, "failing client", failing.line(), "535")
	if d := time.Since(began); d < delay {
		t.Errorf("failure answered after %v; want at least %v", d, delay)
	}
}
