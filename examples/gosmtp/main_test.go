package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/registry"
	"github.com/saslkit/saslkit/session"
)

// startServer runs the server on a free loopback port until the test ends
// and returns its address. The server's log goes to the test's.
func startServer(t *testing.T) string { return startServerTLS(t, nil) }

// startServerTLS is startServer for a server that offers STARTTLS with
// tc, when tc is not nil.
func startServerTLS(t *testing.T, tc *tls.Config) string {
	t.Helper()
	reg, err := newRegistry("user", "pencil")
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &testWriter{t: t}
	srv, err := newServer(reg, log.New(w, "", 0), tc)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		srv.Serve(l)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-served
		w.close()
	})
	return l.Addr().String()
}

// testWriter sends a logger's lines to t.Log until the test ends.
type testWriter struct {
	mu     sync.Mutex // guards closed
	t      *testing.T
	closed bool
}

func (w *testWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.t.Log(strings.TrimSuffix(string(b), "\n"))
	}
	return len(b), nil
}

// close stops the logging: a connection may outlive the test.
func (w *testWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
}

// tool returns the path of a real client, or skips t naming it.
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed (Debian: apt-get install %s, or run .ci/install-interop.sh)", name, name)
	}
	return p
}

// runTool runs a real client and returns its exit status.
func runTool(t *testing.T, path string, args ...string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case ctx.Err() != nil:
		t.Fatalf("%s timed out\n%s", path, out.String())
	case errors.As(err, &ee):
		t.Logf("%s exited %d\n%s", path, ee.ExitCode(), out.String())
		return ee.ExitCode()
	}
	t.Fatalf("%s: %v", path, err)
	return -1
}

func TestSwaks(t *testing.T) {
	swaks := tool(t, "swaks")
	addr := startServer(t)
	for _, m := range []string{"PLAIN", "LOGIN"} {
		for _, tc := range []struct {
			password string
			want     int // swaks: 28 when authentication fails
		}{{"pencil", 0}, {"wrong", 28}} {
			t.Run(m+"/"+tc.password, func(t *testing.T) {
				got := runTool(t, swaks, "--server", addr, "--auth", m,
					"--auth-user", "user", "--auth-password", tc.password, "--quit-after", "AUTH")
				if got != tc.want {
					t.Errorf("swaks --auth %s with password %q exited %d, want %d", m, tc.password, got, tc.want)
				}
			})
		}
	}
}

func TestCurl(t *testing.T) {
	curl := tool(t, "curl")
	addr := startServer(t)
	for _, m := range []string{"PLAIN", "LOGIN"} {
		for _, ir := range []bool{false, true} {
			for _, tc := range []struct {
				password string
				want     int // curl: 67 when login is denied
			}{{"pencil", 0}, {"wrong", 67}} {
				name := fmt.Sprintf("%s/sasl-ir=%v/%s", m, ir, tc.password)
				t.Run(name, func(t *testing.T) {
					args := []string{"-sS", "--max-time", "10", "-o", "/dev/null",
						"smtp://" + addr + "/", "--login-options", "AUTH=" + m,
						"-u", "user:" + tc.password, "-X", "NOOP"}
					if ir {
						args = append(args, "--sasl-ir")
					}
					if got := runTool(t, curl, args...); got != tc.want {
						t.Errorf("curl %s exited %d, want %d", name, got, tc.want)
					}
				})
			}
		}
	}
}

func TestGsasl(t *testing.T) {
	gsasl := tool(t, "gsasl")
	addr := startServer(t)
	for _, m := range []string{"SCRAM-SHA-256", "PLAIN", "LOGIN"} {
		for _, tc := range []struct {
			password string
			ok       bool
		}{{"pencil", true}, {"wrong", false}} {
			t.Run(m+"/"+tc.password, func(t *testing.T) {
				// gsasl checks the server's v= for SCRAM: exit 0
				// means both sides proved themselves.
				got := runTool(t, gsasl, "--client", "-d", "--quiet", "-a", "user", "-p", tc.password,
					"--smtp", "--connect="+addr, "--no-starttls", "--no-cb", "-m", m)
				if (got == 0) != tc.ok {
					t.Errorf("gsasl -m %s with password %q exited %d", m, tc.password, got)
				}
			})
		}
	}
}

// smtpConn is a raw SMTP client, for what the real clients do not show.
type smtpConn struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr string) *smtpConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	s := &smtpConn{t: t, c: c, r: bufio.NewReader(c)}
	s.expect("220")
	s.send("EHLO localhost")
	s.expect("250")
	return s
}

func (s *smtpConn) send(line string) {
	s.t.Helper()
	if _, err := io.WriteString(s.c, line+"\r\n"); err != nil {
		s.t.Fatal(err)
	}
}

// expect reads a reply and checks that its last line starts with prefix.
// It returns that line.
func (s *smtpConn) expect(prefix string) string {
	s.t.Helper()
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			s.t.Fatalf("reading reply: %v", err)
		}
		line = strings.TrimRight(line, "\r\n")
		if len(line) > 3 && line[3] == '-' {
			continue
		}
		if !strings.HasPrefix(line, prefix) {
			s.t.Fatalf("got %q, want %s", line, prefix)
		}
		return line
	}
}

var plainIR = session.Encode([]byte("\x00user\x00pencil"))

// TestProtocol checks the adapter's edges over the wire: nil against empty
// initial response, cancel, and a retry on the same connection.
func TestProtocol(t *testing.T) {
	addr := startServer(t)
	t.Run("advertised", func(t *testing.T) {
		s := dial(t, addr)
		s.send("EHLO again")
		var auth string
		for {
			line, _ := s.r.ReadString('\n')
			if strings.HasPrefix(line, "250-AUTH ") || strings.HasPrefix(line, "250 AUTH ") {
				auth = strings.TrimSpace(line[len("250-AUTH "):])
			}
			if len(line) > 3 && line[3] == ' ' {
				break
			}
		}
		if auth != "SCRAM-SHA-256 PLAIN LOGIN" {
			t.Errorf("AUTH line lists %q", auth)
		}
	})
	t.Run("no initial response", func(t *testing.T) {
		s := dial(t, addr)
		s.send("AUTH PLAIN")
		if got := s.expect("334"); got != "334 " {
			t.Errorf("first challenge %q, want an empty one", got)
		}
		s.send(plainIR)
		s.expect("235")
	})
	t.Run("empty initial response", func(t *testing.T) {
		// "=" is an empty PLAIN message, which is malformed: not the
		// same as no initial response.
		s := dial(t, addr)
		s.send("AUTH PLAIN =")
		s.expect("501")
	})
	t.Run("cancel", func(t *testing.T) {
		s := dial(t, addr)
		s.send("AUTH LOGIN")
		s.expect("334")
		s.send("*")
		s.expect("501")
	})
	t.Run("retry after failure", func(t *testing.T) {
		s := dial(t, addr)
		s.send("AUTH PLAIN " + session.Encode([]byte("\x00user\x00wrong")))
		s.expect("535 5.7.8")
		s.send("MAIL FROM:<user@localhost>")
		s.expect("530")
		s.send("AUTH PLAIN " + plainIR)
		s.expect("235")
		s.send("MAIL FROM:<user@localhost>")
		s.expect("250")
	})
	t.Run("SCRAM final data as a challenge", func(t *testing.T) {
		for _, tc := range []struct {
			password string
			want     string
		}{{"pencil", "235"}, {"wrong", "535"}} {
			t.Run(tc.password, func(t *testing.T) {
				s := dial(t, addr)
				cli := session.NewClient(scram.Mechanism{}, creds.Client{Authcid: "user", Password: tc.password}, mech.Channel{}, nil)
				ctx := context.Background()
				ir, _, err := cli.Start(ctx)
				if err != nil {
					t.Fatal(err)
				}
				s.send("AUTH SCRAM-SHA-256 " + session.Encode(ir))
				for {
					line := s.expect("")
					if !strings.HasPrefix(line, "334 ") {
						if !strings.HasPrefix(line, tc.want) {
							t.Fatalf("got %q, want %s", line, tc.want)
						}
						break
					}
					chal, err := session.Decode([]byte(line[4:]), 0)
					if err != nil {
						t.Fatal(err)
					}
					resp, err := cli.Next(ctx, chal)
					if err != nil {
						t.Fatal(err)
					}
					s.send(session.Encode(resp))
				}
				if tc.want == "235" {
					// The v= came as the last 334; Success checks
					// that the session verified it.
					if err := cli.Success(ctx); err != nil {
						t.Errorf("Success: %v", err)
					}
				} else {
					var se *scram.ServerError
					if !errors.As(cli.Failure(), &se) || se.Value != "invalid-proof" {
						t.Errorf("Failure() = %v, want e=invalid-proof", cli.Failure())
					}
				}
			})
		}
	})
}

// selfSigned returns a server TLS configuration with a self-signed ECDSA
// certificate for 127.0.0.1, signed with SHA-256 (so that it has a
// tls-server-end-point binding), and a pool holding it, for clients.
func selfSigned(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	// No Leaf: newServer parses the certificate itself.
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

// ehloAuth sends EHLO and returns the mechanisms of its AUTH line.
func (s *smtpConn) ehloAuth() string {
	s.t.Helper()
	s.send("EHLO again")
	var auth string
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			s.t.Fatalf("reading EHLO reply: %v", err)
		}
		if strings.HasPrefix(line, "250-AUTH ") || strings.HasPrefix(line, "250 AUTH ") {
			auth = strings.TrimSpace(line[len("250-AUTH "):])
		}
		if len(line) > 3 && line[3] == ' ' {
			return auth
		}
	}
}

// TestChannelBinding runs SCRAM-SHA-256-PLUS over STARTTLS with each
// binding type the client can offer alone. tls-server-end-point passes
// only if the server takes the binding from its own certificate, not from
// the client's (it has none) or from nothing.
func TestChannelBinding(t *testing.T) {
	tc, pool := selfSigned(t)
	addr := startServerTLS(t, tc)
	for _, cb := range []string{mech.TLSExporter, mech.TLSServerEndPoint} {
		for _, tt := range []struct {
			password, want string
		}{{"pencil", "235"}, {"wrong", "535"}} {
			t.Run(cb+"/"+tt.password, func(t *testing.T) {
				s := dial(t, addr)
				if got := s.ehloAuth(); got != "SCRAM-SHA-256 PLAIN LOGIN" {
					t.Errorf("AUTH before STARTTLS lists %q", got)
				}
				s.send("STARTTLS")
				s.expect("220")
				tlsConn := tls.Client(s.c, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
				if err := tlsConn.Handshake(); err != nil {
					t.Fatal(err)
				}
				s.c, s.r = tlsConn, bufio.NewReader(tlsConn)
				if got := s.ehloAuth(); got != "SCRAM-SHA-256-PLUS SCRAM-SHA-256 PLAIN LOGIN" {
					t.Errorf("AUTH after STARTTLS lists %q", got)
				}
				cs := tlsConn.ConnectionState()
				ch := mech.ClientTLSChannel(&cs)
				data, ok := ch.Binding(cb)
				if !ok {
					t.Fatalf("the client has no %s binding", cb)
				}
				ch.Bindings = []mech.Binding{{Type: cb, Data: data}}
				got, cli := scramExchange(t, s, "SCRAM-SHA-256-PLUS", tt.password, ch)
				if !strings.HasPrefix(got, tt.want) {
					t.Fatalf("got %q, want %s", got, tt.want)
				}
				if tt.want == "235" {
					if err := cli.Success(context.Background()); err != nil {
						t.Errorf("Success: %v", err)
					}
				}
			})
		}
	}
}

// scramExchange runs AUTH with a saslkit SCRAM client over s and returns
// the final reply.
func scramExchange(t *testing.T, s *smtpConn, name, password string, ch mech.Channel) (string, *session.Client) {
	t.Helper()
	h, plus, _ := scram.HashByName(name)
	cli := session.NewClient(scram.Mechanism{Hash: h, Plus: plus}, creds.Client{Authcid: "user", Password: password}, ch, nil)
	ctx := context.Background()
	ir, _, err := cli.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.send("AUTH " + name + " " + session.Encode(ir))
	for {
		line := s.expect("")
		if !strings.HasPrefix(line, "334 ") {
			return line, cli
		}
		chal, err := session.Decode([]byte(line[4:]), 0)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := cli.Next(ctx, chal)
		if err != nil {
			t.Fatal(err)
		}
		s.send(session.Encode(resp))
	}
}

// TestReply checks how saslkit's errors become SMTP replies, as
// docs/errors.md's table says: bad credentials and failed mechanisms are
// 535, a server misconfiguration is a temporary 454.
func TestReply(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{&mech.Error{Mechanism: "PLAIN", Err: creds.ErrBadCredentials}, 535},
		{&mech.FailureError{Data: []byte("e=invalid-proof"), Err: &mech.Error{Mechanism: "SCRAM-SHA-256", Err: creds.ErrBadCredentials}}, 535},
		{mech.ErrAuthFailed, 535},
		{creds.ErrUnauthorized, 535},
		{&mech.Error{Mechanism: "PLAIN", Err: mech.ErrInvalidResponse}, 501},
		{session.ErrUnexpectedReply, 501},
		{&session.LimitError{Err: session.ErrTooManySteps, Limit: 8}, 500},
		{registry.ErrEncryptionRequired, 538},
		{registry.ErrUnknown, 504},
		{&mech.Error{Mechanism: "OAUTHBEARER", Reason: "no subject", Err: creds.ErrMisconfigured}, 454},
		{errors.New("store down"), 454},
	} {
		if got := reply(tc.err); got.Code != tc.want {
			t.Errorf("reply(%v) = %d, want %d", tc.err, got.Code, tc.want)
		}
	}
}

func TestRunRefusesNonLoopback(t *testing.T) {
	var out bytes.Buffer
	err := run([]string{"-listen", "0.0.0.0:0"}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("run -listen 0.0.0.0:0 = %v, want a loopback error", err)
	}
}
