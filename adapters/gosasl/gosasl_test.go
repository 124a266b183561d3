package gosasl_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"

	"github.com/saslkit/saslkit/adapters/gosasl"
	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/session"
)

// TestStart checks go-sasl's initial-response convention: nil for none, a
// non-nil empty slice for an empty one.
func TestStart(t *testing.T) {
	tests := []struct {
		name   string
		m      mech.Client
		c      creds.Client
		wantIR []byte
	}{
		{"PLAIN", mech.Plain{}, creds.Client{Authcid: user, Password: password}, []byte("\x00user\x00pencil")},
		{"EXTERNAL without authzid", mech.External{}, creds.Client{}, []byte{}},
		{"EXTERNAL with authzid", mech.External{}, creds.Client{Authzid: "other"}, []byte("other")},
		{"LOGIN is server-first", mech.Login{}, creds.Client{Authcid: user, Password: password}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := session.NewClient(tc.m, tc.c, mech.Channel{Secure: true}, nil)
			name, ir, err := gosasl.NewClient(context.Background(), s).Start()
			if err != nil {
				t.Fatal(err)
			}
			if name != tc.m.Name() {
				t.Errorf("mechanism %q, want %q", name, tc.m.Name())
			}
			if (ir == nil) != (tc.wantIR == nil) {
				t.Errorf("ir == nil is %v, want %v", ir == nil, tc.wantIR == nil)
			}
			if diff := cmp.Diff(tc.wantIR, ir); diff != "" {
				t.Errorf("ir (-want +got):\n%s", diff)
			}
		})
	}
}

// TestNext checks that Next never returns a nil response, which go-smtp
// takes as the end of the exchange, and answers an empty challenge right
// after Start with the initial response.
func TestNext(t *testing.T) {
	tests := []struct {
		name       string
		m          mech.Client
		c          creds.Client
		challenges [][]byte
		want       [][]byte
	}{
		{"initial response asked for again", mech.Plain{}, creds.Client{Authcid: user, Password: password},
			[][]byte{{}}, [][]byte{[]byte("\x00user\x00pencil")}},
		{"empty initial response asked for again", mech.External{}, creds.Client{},
			[][]byte{{}}, [][]byte{{}}},
		{"LOGIN", mech.Login{}, creds.Client{Authcid: user, Password: password},
			[][]byte{[]byte("Username:"), []byte("Password:")}, [][]byte{[]byte("user"), []byte("pencil")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := gosasl.NewClient(context.Background(), session.NewClient(tc.m, tc.c, mech.Channel{Secure: true}, nil))
			if _, _, err := c.Start(); err != nil {
				t.Fatal(err)
			}
			var got [][]byte
			for _, ch := range tc.challenges {
				resp, err := c.Next(ch)
				if err != nil {
					t.Fatal(err)
				}
				if resp == nil {
					t.Fatal("Next returned a nil response")
				}
				got = append(got, resp)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("responses (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAuthenticateCallsSuccess drives the adapter by hand, as a framework
// would, against a saslkit server (session.Server.GoSASL), and checks that
// Authenticate's result is the session's verdict on the server.
func TestAuthenticateCallsSuccess(t *testing.T) {
	reg := serverRegistry(t)
	tests := []struct {
		name string
		sig  signature
		// frameworkErr is what the framework returns after the exchange.
		frameworkErr error
		want         error // matched with errors.Is; nil means success
	}{
		{"honest server", honest, nil, nil},
		{"server skips v= and says OK", noSignature, nil, mech.ErrAuthFailed},
		{"server sends a wrong v=", wrongSignature, nil, mech.ErrAuthFailed},
		{"framework error", honest, errFramework, errFramework},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			srv, err := reg.NewServer("SCRAM-SHA-256", mech.Channel{})
			if err != nil {
				t.Fatal(err)
			}
			g := &tamperServer{g: srv.GoSASL(ctx), sig: tc.sig}
			s := session.NewClient(scram.Mechanism{Hash: scram.SHA256}, creds.Client{Authcid: user, Password: password}, mech.Channel{}, nil)
			err = gosasl.Authenticate(ctx, s, func(c sasl.Client) error {
				if err := drive(c, g); err != nil {
					return err
				}
				return tc.frameworkErr
			})
			if tc.want == nil && err != nil || !errors.Is(err, tc.want) {
				t.Errorf("Authenticate: %v, want %v", err, tc.want)
			}
		})
	}
}

var errFramework = errors.New("framework failed")

// drive runs c against g as go-smtp does: the initial response, then each
// challenge, until the server is done.
func drive(c sasl.Client, g sasl.Server) error {
	_, resp, err := c.Start()
	if err != nil {
		return err
	}
	for range 10 {
		challenge, done, err := g.Next(resp)
		if err != nil || done {
			return err
		}
		if resp, err = c.Next(challenge); err != nil {
			return err
		}
	}
	return errors.New("drive: too many steps")
}

// TestServerSignature runs SCRAM-SHA-256 through go-imap v2 and go-smtp
// against in-process servers that send the server signature, send a wrong
// one, or skip it and report success. Only the honest server may pass.
// It also checks what each framework says on its own: for a server that
// skips the signature, the framework reports success, so only the
// session's Success, which Authenticate calls, can catch it.
func TestServerSignature(t *testing.T) {
	type result struct {
		framework error // what imapclient.Authenticate or smtp.Client.Auth returned
		err       error // what gosasl.Authenticate returned
	}
	protocols := []struct {
		name string
		run  func(t *testing.T, sig signature, pass string) result
	}{
		{"IMAP", func(t *testing.T, sig signature, pass string) result {
			f := serveIMAP(t, sig, true)
			conn := dial(t, f.addr)
			ic := gosasl.NewIMAPConn(conn)
			c := imapclient.New(ic, nil)
			defer c.Close()
			var r result
			r.err = ic.Authenticate(context.Background(), scramClient(pass), func(sc sasl.Client) error {
				r.framework = c.Authenticate(sc)
				return r.framework
			})
			return r
		}},
		{"SMTP", func(t *testing.T, sig signature, pass string) result {
			c := smtp.NewClient(dial(t, serveSMTP(t, sig)))
			defer c.Close()
			var r result
			r.err = gosasl.Authenticate(context.Background(), scramClient(pass), func(sc sasl.Client) error {
				r.framework = c.Auth(sc)
				return r.framework
			})
			return r
		}},
	}
	tests := []struct {
		sig           signature
		pass          string
		wantFramework bool  // whether the framework reports success
		want          error // nil: success; else matched with errors.Is
	}{
		{honest, password, true, nil},
		{honest, "wrong", false, errRefused},
		{wrongSignature, password, false, mech.ErrAuthFailed},
		{noSignature, password, true, mech.ErrAuthFailed},
	}
	for _, p := range protocols {
		for _, tc := range tests {
			name := p.name + "/" + tc.sig.String()
			if tc.pass != password {
				name += " wrong password"
			}
			t.Run(name, func(t *testing.T) {
				r := p.run(t, tc.sig, tc.pass)
				if got := r.framework == nil; got != tc.wantFramework {
					t.Errorf("framework succeeded: %v (%v), want %v", got, r.framework, tc.wantFramework)
				}
				switch {
				case tc.want == nil && r.err != nil:
					t.Errorf("Authenticate: %v, want success", r.err)
				case tc.want == errRefused && !refusedAny(r.err):
					t.Errorf("Authenticate: %v, want the server's refusal", r.err)
				case tc.want != nil && tc.want != errRefused && !errors.Is(r.err, tc.want):
					t.Errorf("Authenticate: %v, want an error wrapping %v", r.err, tc.want)
				}
			})
		}
	}
}

// errRefused stands, in tests, for the framework's report of a refusal.
var errRefused = errors.New("refused by the server")

// refusedAny reports whether err is a NO or a 535.
func refusedAny(err error) bool {
	var ie *imap.Error
	var se *smtp.SMTPError
	return errors.As(err, &ie) && ie.Type == imap.StatusResponseTypeNo ||
		errors.As(err, &se) && se.Code == 535
}

func scramClient(pass string) *session.Client {
	return session.NewClient(scram.Mechanism{Hash: scram.SHA256}, creds.Client{Authcid: user, Password: pass}, mech.Channel{}, nil)
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

// TestIMAPWire checks, on the fake IMAP server, the lines go-imap v2
// sends through an IMAPConn: with and without SASL-IR, the empty response
// to SCRAM's server-final message as an empty line, and without an
// IMAPConn the "=" that strict servers refuse.
func TestIMAPWire(t *testing.T) {
	first := quote(b64("n,,n=user,r=")) + `[A-Za-z0-9+/]+={0,2}`
	final := `[A-Za-z0-9+/]+={0,2}`
	tests := []struct {
		name    string
		saslIR  bool
		imapcon bool
		ok      bool
		want    []string
	}{
		{"SASL-IR", true, true, true, []string{`T1 AUTHENTICATE SCRAM-SHA-256 ` + first, final, ``}},
		{"no SASL-IR", false, true, true, []string{`T[0-9]+ AUTHENTICATE SCRAM-SHA-256`, first, final, ``}},
		{"without IMAPConn", true, false, false, []string{`T1 AUTHENTICATE SCRAM-SHA-256 ` + first, final, `=`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := serveIMAP(t, honest, tc.saslIR)
			conn := dial(t, f.addr)
			ic := gosasl.NewIMAPConn(conn)
			c := imapclient.New(ic, nil)
			defer c.Close()
			if err := c.WaitGreeting(); err != nil {
				t.Fatal(err)
			}
			auth := gosasl.Authenticate
			if tc.imapcon {
				auth = ic.Authenticate
			}
			err := auth(context.Background(), scramClient(password), c.Authenticate)
			if tc.ok != (err == nil) {
				t.Errorf("Authenticate: %v, want success %v", err, tc.ok)
			}
			var ie *imap.Error
			if !tc.ok && (!errors.As(err, &ie) || ie.Type != imap.StatusResponseTypeBad) {
				t.Errorf("Authenticate: %v, want the server's BAD", err)
			}
			// After AUTHENTICATE, go-imap may ask for CAPABILITY.
			got := exchangeLines(f.clientLines(), "IMAP")
			if !matchLines(tc.want, got) {
				t.Errorf("client lines %q, want %q", got, tc.want)
			}
		})
	}
}

// TestIMAPConnWrite checks that an IMAPConn changes a write only during
// an exchange, and only a write of exactly "=\r\n".
func TestIMAPConnWrite(t *testing.T) {
	tests := []struct {
		name   string
		active bool
		write  string
		want   string
	}{
		{"empty response during an exchange", true, "=\r\n", "\r\n"},
		{"outside an exchange", false, "=\r\n", "=\r\n"},
		{"initial response on the command line", true, "T1 AUTHENTICATE EXTERNAL =\r\n", "T1 AUTHENTICATE EXTERNAL =\r\n"},
		{"base64 response", true, "dXNlcg==\r\n", "dXNlcg==\r\n"},
		{"not a whole line", true, "=", "="},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := net.Pipe()
			defer a.Close()
			defer b.Close()
			ic := gosasl.NewIMAPConn(a)
			var got bytes.Buffer
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := make([]byte, 64)
				n, _ := b.Read(buf)
				got.Write(buf[:n])
			}()
			var n int
			var err error
			write := func(sasl.Client) error {
				n, err = ic.Write([]byte(tc.write))
				return nil
			}
			if tc.active {
				// Success fails (the exchange never ran); the write is what
				// is tested.
				ic.Authenticate(context.Background(), scramClient(password), write)
			} else {
				write(nil)
			}
			wg.Wait()
			if err != nil || n != len(tc.write) {
				t.Errorf("Write = %d, %v; want %d, nil", n, err, len(tc.write))
			}
			if diff := cmp.Diff(tc.want, got.String()); diff != "" {
				t.Errorf("written (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSecretsNotInErrors checks that no error from a failed exchange
// holds the password.
func TestSecretsNotInErrors(t *testing.T) {
	addr := serveSMTP(t, honest)
	c := smtp.NewClient(dial(t, addr))
	defer c.Close()
	const secret = "not-the-password"
	s := session.NewClient(mech.Plain{}, creds.Client{Authcid: user, Password: secret}, mech.Channel{Secure: true}, nil)
	err := gosasl.Authenticate(context.Background(), s, c.Auth)
	if err == nil {
		t.Fatal("Authenticate succeeded with a wrong password")
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error holds the password: %v", err)
	}
}
