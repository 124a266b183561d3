package gosasl_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"

	"github.com/saslkit/saslkit/adapters/gosasl"
	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/registry"
	"github.com/saslkit/saslkit/session"
)

// A dovecotCase is one exchange against Dovecot, run over IMAP and over
// submission.
type dovecotCase struct {
	name  string
	mech  string
	creds creds.Client
	cert  string // "client" (CN=user), "other" (CN=other) or none
	ok    bool   // whether authentication must succeed
	// token is whether the server must report an OAUTHBEARER JSON error,
	// which the error returned must wrap as a *mech.TokenError.
	token bool
	// wire lists, as regular expressions, every line the client sends
	// from its AUTHENTICATE or AUTH command to the end of the exchange,
	// {{CMD}} standing for "T<n> AUTHENTICATE" or "AUTH" and {{EMPTY}}
	// for an empty response: an empty line in both protocols (in IMAP
	// thanks to IMAPConn). After a failure go-smtp also sends "*", which
	// the test expects.
	wire []string
}

// dovecotCases returns the cases, for a server on port.
func dovecotCases(port string) []dovecotCase {
	pw := func(p string) creds.Client { return creds.Client{Authcid: user, Password: p} }
	tok := func(tk string) creds.Client { return creds.Client{Authcid: user, Token: tk} }
	// The SCRAM client-first message: "y", since the client could bind
	// to the TLS channel but the server offers no -PLUS (Dovecot 2.3 has
	// none; RFC 5802 section 6), then the user and a nonce.
	scramFirst := quote(b64("y,,n=user,r=")) + `[A-Za-z0-9+/]+={0,2}`
	scramFinal := `[A-Za-z0-9+/]+={0,2}`
	oauth := func(tk string) string {
		return quote(b64("n,a=user,\x01host=localhost\x01port=" + port + "\x01auth=Bearer " + tk + "\x01\x01"))
	}
	return []dovecotCase{
		{name: "PLAIN", mech: "PLAIN", creds: pw(password), ok: true,
			wire: []string{"{{CMD}} PLAIN " + quote(b64("\x00user\x00pencil"))}},
		{name: "PLAIN wrong password", mech: "PLAIN", creds: pw("wrong"),
			wire: []string{"{{CMD}} PLAIN " + quote(b64("\x00user\x00wrong"))}},
		{name: "LOGIN", mech: "LOGIN", creds: pw(password), ok: true,
			wire: []string{"{{CMD}} LOGIN", quote(b64("user")), quote(b64("pencil"))}},
		{name: "LOGIN wrong password", mech: "LOGIN", creds: pw("wrong"),
			wire: []string{"{{CMD}} LOGIN", quote(b64("user")), quote(b64("wrong"))}},
		{name: "SCRAM-SHA-1", mech: "SCRAM-SHA-1", creds: pw(password), ok: true,
			wire: []string{"{{CMD}} SCRAM-SHA-1 " + scramFirst, scramFinal, "{{EMPTY}}"}},
		{name: "SCRAM-SHA-1 wrong password", mech: "SCRAM-SHA-1", creds: pw("wrong"),
			wire: []string{"{{CMD}} SCRAM-SHA-1 " + scramFirst, scramFinal}},
		{name: "SCRAM-SHA-256", mech: "SCRAM-SHA-256", creds: pw(password), ok: true,
			wire: []string{"{{CMD}} SCRAM-SHA-256 " + scramFirst, scramFinal, "{{EMPTY}}"}},
		{name: "SCRAM-SHA-256 wrong password", mech: "SCRAM-SHA-256", creds: pw("wrong"),
			wire: []string{"{{CMD}} SCRAM-SHA-256 " + scramFirst, scramFinal}},
		{name: "OAUTHBEARER", mech: "OAUTHBEARER", creds: tok(token), ok: true,
			wire: []string{"{{CMD}} OAUTHBEARER " + oauth(token)}},
		// Dovecot answers a bad token with {"status":"invalid_token"};
		// the client's reply is the dummy ^A of RFC 7628 section 3.2.3.
		{name: "OAUTHBEARER wrong token", mech: "OAUTHBEARER", creds: tok("wrong"), token: true,
			wire: []string{"{{CMD}} OAUTHBEARER " + oauth("wrong"), quote(b64("\x01"))}},
		// EXTERNAL without an authzid: an empty initial response, "=".
		{name: "EXTERNAL", mech: "EXTERNAL", cert: "client", ok: true,
			wire: []string{"{{CMD}} EXTERNAL ="}},
		{name: "EXTERNAL authzid the user may not take", mech: "EXTERNAL", cert: "client",
			creds: creds.Client{Authzid: "other"},
			wire:  []string{"{{CMD}} EXTERNAL " + quote(b64("other"))}},
		{name: "EXTERNAL certificate Dovecot does not accept", mech: "EXTERNAL", cert: "other",
			wire: []string{"{{CMD}} EXTERNAL ="}},
	}
}

// TestDovecot runs every mechanism both Dovecot 2.3 and saslkit have,
// through go-imap v2's imapclient (IMAP over TLS) and go-smtp's client
// (submission over TLS), each with the right secret and a wrong one, and
// checks the outcome and every line the client sent.
func TestDovecot(t *testing.T) {
	d := startDovecot(t)
	protocols := []struct {
		name  string
		addr  string
		cmd   string // the pattern of the command that starts the exchange
		abort string // what the client sends after the server's refusal
		run   func(ctx context.Context, t *testing.T, conn net.Conn, s *session.Client) (authErr, afterErr error)
	}{
		{"IMAP", d.imaps, `T[0-9]+ AUTHENTICATE`, "", runIMAP},
		{"SMTP", d.submissions, `AUTH`, `\*`, runSMTP},
	}

	reg, err := registry.Named(nil, "PLAIN", "LOGIN", "SCRAM-SHA-1", "SCRAM-SHA-256", "OAUTHBEARER", "EXTERNAL")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu     sync.Mutex
		passed = map[string]int{}
		total  = map[string]int{}
	)
	for _, p := range protocols {
		_, port, _ := net.SplitHostPort(p.addr)
		for _, tc := range dovecotCases(port) {
			t.Run(p.name+"/"+tc.name, func(t *testing.T) {
				mu.Lock()
				total[p.name]++
				mu.Unlock()
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				cfg := &tls.Config{RootCAs: d.pki.Roots, ServerName: "localhost"}
				if tc.cert != "" {
					cert, err := tls.LoadX509KeyPair(d.pki.Dir+"/"+tc.cert+".pem", d.pki.Dir+"/"+tc.cert+".key")
					if err != nil {
						t.Fatal(err)
					}
					cfg.Certificates = []tls.Certificate{cert}
				}
				raw, err := (&tls.Dialer{Config: cfg}).DialContext(ctx, "tcp", p.addr)
				if err != nil {
					t.Fatal(err)
				}
				defer raw.Close()
				conn := &recorder{Conn: raw}
				cs := raw.(*tls.Conn).ConnectionState()
				ch := mech.ClientTLSChannel(&cs)
				ch.Host, ch.Port = "localhost", port
				if tc.cert == "client" {
					ch.External = user
				} else if tc.cert == "other" {
					ch.External = "other"
				}
				s, err := reg.NewClient(tc.mech, tc.creds, ch)
				if err != nil {
					t.Fatal(err)
				}
				authErr, afterErr := p.run(ctx, t, conn, s)

				ok := true
				if tc.ok && authErr != nil {
					ok = false
					t.Errorf("Authenticate: %v, want success", authErr)
				}
				if tc.ok && afterErr != nil {
					ok = false
					t.Errorf("after authenticating: %v", afterErr)
				}
				if !tc.ok {
					if authErr == nil {
						ok = false
						t.Error("Authenticate succeeded, want failure")
					} else if !refused(authErr) {
						ok = false
						t.Errorf("Authenticate: %v, want the server's refusal", authErr)
					}
					for _, secret := range []string{password, token} {
						if authErr != nil && strings.Contains(authErr.Error(), secret) {
							ok = false
							t.Errorf("error holds a secret: %v", authErr)
						}
					}
				}
				var te *mech.TokenError
				if got := errors.As(authErr, &te); got != tc.token {
					ok = false
					t.Errorf("Authenticate: %v; wraps a *mech.TokenError: %v, want %v", authErr, got, tc.token)
				} else if got && (te.Status != "invalid_token" || !errors.Is(authErr, mech.ErrAuthFailed)) {
					ok = false
					t.Errorf("token error %+v, want status invalid_token wrapping mech.ErrAuthFailed", te)
				}

				want := make([]string, len(tc.wire))
				for i, w := range tc.wire {
					w = strings.ReplaceAll(w, "{{CMD}}", p.cmd)
					w = strings.ReplaceAll(w, "{{EMPTY}}", "")
					want[i] = w
				}
				if !tc.ok && p.abort != "" {
					want = append(want, p.abort)
				}
				got := conn.lines(regexp.MustCompile(`^` + p.cmd + ` `))
				got = exchangeLines(got, p.name)
				if !matchLines(want, got) {
					ok = false
					t.Errorf("the client's lines do not match %q", want)
					logLines(t, got)
				}
				if ok {
					mu.Lock()
					passed[p.name]++
					mu.Unlock()
				}
			})
		}
	}
	for _, p := range protocols {
		t.Logf("%s: %d/%d cases pass", p.name, passed[p.name], total[p.name])
	}

	// Submission with STARTTLS, as smtp.DialStartTLS does it.
	for _, tc := range []struct {
		name string
		pass string
		ok   bool
	}{
		{"SMTP STARTTLS/SCRAM-SHA-256", password, true},
		{"SMTP STARTTLS/SCRAM-SHA-256 wrong password", "wrong", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := smtp.DialStartTLS(d.submission, &tls.Config{RootCAs: d.pki.Roots, ServerName: "localhost"})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			cs, ok := c.TLSConnectionState()
			if !ok {
				t.Fatal("no TLS after STARTTLS")
			}
			ch := mech.ClientTLSChannel(&cs)
			s, err := reg.NewClient("SCRAM-SHA-256", creds.Client{Authcid: user, Password: tc.pass}, ch)
			if err != nil {
				t.Fatal(err)
			}
			err = gosasl.Authenticate(context.Background(), s, c.Auth)
			switch {
			case tc.ok && err != nil:
				t.Errorf("Authenticate: %v, want success", err)
			case !tc.ok && !refused(err):
				t.Errorf("Authenticate: %v, want the server's refusal", err)
			case tc.ok:
				if err := c.Noop(); err != nil {
					t.Errorf("NOOP after AUTH: %v", err)
				}
			}
		})
	}

	// go-imap v2 alone, without IMAPConn: its "=" for the empty response
	// to SCRAM's server-final message is refused by Dovecot. This is why
	// IMAPConn exists; the day go-imap sends an empty line, this fails.
	t.Run("IMAP without IMAPConn/SCRAM-SHA-256", func(t *testing.T) {
		conn, err := tls.Dial("tcp", d.imaps, &tls.Config{RootCAs: d.pki.Roots, ServerName: "localhost"})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		cs := conn.ConnectionState()
		c := imapclient.New(conn, nil)
		defer c.Close()
		s, err := reg.NewClient("SCRAM-SHA-256", creds.Client{Authcid: user, Password: password}, mech.ClientTLSChannel(&cs))
		if err != nil {
			t.Fatal(err)
		}
		err = gosasl.Authenticate(context.Background(), s, c.Authenticate)
		var ie *imap.Error
		if !errors.As(err, &ie) || ie.Type != imap.StatusResponseTypeBad || !strings.Contains(ie.Text, "base64") {
			t.Errorf("Authenticate: %v, want Dovecot's BAD for invalid base64", err)
		}
	})
}

// exchangeLines cuts the client's lines after the exchange: what the test
// sends once it is over (NOOP, LOGOUT, QUIT).
func exchangeLines(lines []string, proto string) []string {
	for i, l := range lines {
		if i == 0 {
			continue
		}
		switch {
		case proto == "IMAP" && regexp.MustCompile(`^T[0-9]+ `).MatchString(l),
			proto == "SMTP" && (l == "NOOP" || l == "QUIT"):
			return lines[:i]
		}
	}
	return lines
}

// refused reports whether err is the framework's report of a server's
// refusal: a tagged NO in IMAP, a 535 reply in SMTP.
func refused(err error) bool {
	var ie *imap.Error
	if errors.As(err, &ie) {
		return ie.Type == imap.StatusResponseTypeNo
	}
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code == 535
	}
	return false
}

// runIMAP authenticates over an IMAP connection with go-imap v2 and, on
// success, checks that the connection is authenticated with a SELECT.
func runIMAP(ctx context.Context, t *testing.T, conn net.Conn, s *session.Client) (authErr, afterErr error) {
	ic := gosasl.NewIMAPConn(conn)
	c := imapclient.New(ic, nil)
	defer c.Close()
	if err := c.WaitGreeting(); err != nil {
		return err, nil
	}
	authErr = ic.Authenticate(ctx, s, c.Authenticate)
	if authErr != nil {
		return authErr, nil
	}
	// SELECT needs an authenticated connection: Dovecot answers it with
	// BAD before login. Its success is the proof; go-imap's State() is
	// set after the command completes, so reading it here would race.
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		return nil, fmt.Errorf("SELECT INBOX: %w", err)
	}
	return nil, c.Logout().Wait()
}

// runSMTP authenticates over a submission connection with go-smtp and, on
// success, checks the connection still works with a NOOP.
func runSMTP(ctx context.Context, t *testing.T, conn net.Conn, s *session.Client) (authErr, afterErr error) {
	c := smtp.NewClient(conn)
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return err, nil
	}
	authErr = gosasl.Authenticate(ctx, s, c.Auth)
	if authErr != nil {
		return authErr, nil
	}
	if err := c.Noop(); err != nil {
		return nil, err
	}
	return nil, c.Quit()
}
