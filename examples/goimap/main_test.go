package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/saslkit/saslkit/examples/internal/authserver"
	"github.com/saslkit/saslkit/internal/interop"
	"github.com/saslkit/saslkit/internal/testpki"
	"github.com/saslkit/saslkit/outcome"
)

// clientPy is the imaplib client of the interop suite (examples/interop),
// run by Debian's Python, as there.
var clientPy = filepath.Join("..", "interop", "testdata", "client.py")

const pythonBin = "/usr/bin/python3"

// server is a goimap server started in process on loopback ports.
type server struct {
	plain, tls string       // STARTTLS and implicit-TLS addresses
	attempts   chan Attempt // every finished AUTHENTICATE and LOGIN
}

// start serves cfg with listeners on ports of the system's choosing.
func start(t *testing.T, cfg authserver.Config) *server {
	t.Helper()
	b, err := authserver.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := &server{attempts: make(chan Attempt, 64)}
	s := NewServer(b, slog.New(slog.DiscardHandler), func(a Attempt) { srv.attempts <- a })
	t.Cleanup(func() { s.Close() })
	for _, implicit := range []bool{false, true} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if implicit {
			srv.tls = ln.Addr().String()
			ln = tls.NewListener(ln, b.TLSConfig())
		} else {
			srv.plain = ln.Addr().String()
		}
		go s.Serve(ln)
	}
	return srv
}

// drain returns the attempts reported so far. A client has exited, so its
// attempts were reported before the replies it read.
func (s *server) drain() []Attempt {
	var got []Attempt
	for {
		select {
		case a := <-s.attempts:
			got = append(got, a)
		case <-time.After(50 * time.Millisecond):
			return got
		}
	}
}

// files are the PEM files the clients are given.
type files struct {
	ca, cert, key    string // the CA; the client certificate for "user"
	ghostCert, ghost string // a client certificate for "ghost", who has no account
}

// clientCase is one run of a real client.
type clientCase struct {
	name string // client/connection/mechanism/(ok|wrong)
	tool string
	args func(s *server, f *files) []string
	exit int       // the client's exit status
	want []Attempt // what the server saw
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

func gsasl(starttls bool, args ...string) func(*server, *files) []string {
	return func(s *server, f *files) []string {
		a := []string{"--client", "-d", "--quiet", "--imap", "--connect=" + s.plain, "--hostname=localhost"}
		if starttls {
			a = append(a, "--starttls", "--x509-ca-file="+f.ca)
		} else {
			a = append(a, "--no-starttls")
		}
		for _, x := range args {
			x = strings.NewReplacer("CERT", f.cert, "KEY", f.key, "GHOST", f.ghostCert, "GHKEY", f.ghost).Replace(x)
			a = append(a, x)
		}
		return a
	}
}

// python runs client.py: imap CONN HOST PORT MECH USER SECRET.
func python(conn, mech, user, secret string, cert bool) func(*server, *files) []string {
	return func(s *server, f *files) []string {
		addr := s.plain
		if conn == "tls" {
			addr = s.tls
		}
		a := []string{clientPy, "imap", conn, "localhost", port(addr), mech, user, secret, "--cafile", f.ca}
		if cert {
			a = append(a, "--cert", f.cert, "--key", f.key)
		}
		return a
	}
}

// curl logs in over STARTTLS (--ssl-reqd) or implicit TLS.
func curl(implicit bool, args ...string) func(*server, *files) []string {
	return func(s *server, f *files) []string {
		url := "imap://" + s.plain + "/"
		if implicit {
			url = "imaps://localhost:" + port(s.tls) + "/"
		}
		a := []string{"-sS", "--max-time", "10", "-o", "/dev/null", "--cacert", f.ca, url}
		if !implicit {
			a = append(a, "--ssl-reqd")
		}
		for _, x := range args {
			x = strings.NewReplacer("CERT", f.cert, "KEY", f.key, "GHOST", f.ghostCert, "GHKEY", f.ghost).Replace(x)
			a = append(a, x)
		}
		return a
	}
}

func ok(mech string, tls bool) []Attempt {
	return []Attempt{{Mechanism: mech, TLS: tls, Outcome: outcome.OK, User: "user"}}
}

func failed(mech string, tls bool, k outcome.Kind) []Attempt {
	return []Attempt{{Mechanism: mech, TLS: tls, Outcome: k}}
}

// Exit statuses of the clients for a refused login.
const (
	gsaslRefused  = 1
	curlRefused   = 67
	pythonRefused = 3
)

var cases = []clientCase{
	{"gsasl/starttls/PLAIN/ok", "gsasl", gsasl(true, "-a", "user", "-p", "pencil", "-m", "PLAIN"), 0, ok("PLAIN", true)},
	{"gsasl/starttls/PLAIN/wrong", "gsasl", gsasl(true, "-a", "user", "-p", "wrong", "-m", "PLAIN"), gsaslRefused, failed("PLAIN", true, outcome.BadCredentials)},
	{"gsasl/starttls/LOGIN/ok", "gsasl", gsasl(true, "-a", "user", "-p", "pencil", "-m", "LOGIN"), 0, ok("LOGIN", true)},
	{"gsasl/starttls/LOGIN/wrong", "gsasl", gsasl(true, "-a", "user", "-p", "wrong", "-m", "LOGIN"), gsaslRefused, failed("LOGIN", true, outcome.BadCredentials)},
	{"gsasl/plain/SCRAM-SHA-256/ok", "gsasl", gsasl(false, "-a", "user", "-p", "pencil", "--no-cb", "-m", "SCRAM-SHA-256"), 0, ok("SCRAM-SHA-256", false)},
	{"gsasl/plain/SCRAM-SHA-256/wrong", "gsasl", gsasl(false, "-a", "user", "-p", "wrong", "--no-cb", "-m", "SCRAM-SHA-256"), gsaslRefused, failed("SCRAM-SHA-256", false, outcome.BadCredentials)},
	// gsasl 2.2.0 needs --no-cb for non-PLUS SCRAM over STARTTLS.
	{"gsasl/starttls/SCRAM-SHA-256/ok", "gsasl", gsasl(true, "-a", "user", "-p", "pencil", "--no-cb", "-m", "SCRAM-SHA-256"), 0, ok("SCRAM-SHA-256", true)},
	{"gsasl/starttls/SCRAM-SHA-256-PLUS/ok", "gsasl", gsasl(true, "-a", "user", "-p", "pencil", "-m", "SCRAM-SHA-256-PLUS"), 0, ok("SCRAM-SHA-256-PLUS", true)},
	{"gsasl/starttls/SCRAM-SHA-256-PLUS/wrong", "gsasl", gsasl(true, "-a", "user", "-p", "wrong", "-m", "SCRAM-SHA-256-PLUS"), gsaslRefused, failed("SCRAM-SHA-256-PLUS", true, outcome.BadCredentials)},
	{"gsasl/starttls/EXTERNAL/ok", "gsasl", gsasl(true, "--x509-cert-file=CERT", "--x509-key-file=KEY", "-m", "EXTERNAL"), 0, ok("EXTERNAL", true)},
	{"gsasl/starttls/EXTERNAL/wrong", "gsasl", gsasl(true, "--x509-cert-file=CERT", "--x509-key-file=KEY", "-z", "admin", "-m", "EXTERNAL"), gsaslRefused, failed("EXTERNAL", true, outcome.Unauthorized)},
	{"gsasl/starttls/EXTERNAL-unknown-user/wrong", "gsasl", gsasl(true, "--x509-cert-file=GHOST", "--x509-key-file=GHKEY", "-m", "EXTERNAL"), gsaslRefused, failed("EXTERNAL", true, outcome.BadCredentials)},

	{"python/starttls/login/ok", pythonBin, python("starttls", "login", "user", "pencil", false), 0, ok("LOGIN command", true)},
	{"python/starttls/login/wrong", pythonBin, python("starttls", "login", "user", "wrong", false), pythonRefused, failed("LOGIN command", true, outcome.BadCredentials)},
	{"python/plain/login-without-TLS/wrong", pythonBin, python("plain", "login", "user", "pencil", false), pythonRefused, failed("LOGIN command", false, outcome.EncryptionRequired)},
	{"python/tls/PLAIN/ok", pythonBin, python("tls", "PLAIN", "user", "pencil", false), 0, ok("PLAIN", true)},
	{"python/tls/PLAIN/wrong", pythonBin, python("tls", "PLAIN", "user", "wrong", false), pythonRefused, failed("PLAIN", true, outcome.BadCredentials)},
	{"python/plain/PLAIN-without-TLS/wrong", pythonBin, python("plain", "PLAIN", "user", "pencil", false), pythonRefused, failed("PLAIN", false, outcome.EncryptionRequired)},
	{"python/plain/SCRAM-SHA-256/ok", pythonBin, python("plain", "SCRAM-SHA-256", "user", "pencil", false), 0, ok("SCRAM-SHA-256", false)},
	{"python/plain/SCRAM-SHA-256/wrong", pythonBin, python("plain", "SCRAM-SHA-256", "user", "wrong", false), pythonRefused, failed("SCRAM-SHA-256", false, outcome.BadCredentials)},
	{"python/tls/OAUTHBEARER/ok", pythonBin, python("tls", "OAUTHBEARER", "user", "tok123", false), 0, ok("OAUTHBEARER", true)},
	{"python/tls/OAUTHBEARER/wrong", pythonBin, python("tls", "OAUTHBEARER", "user", "tok999", false), pythonRefused, failed("OAUTHBEARER", true, outcome.BadCredentials)},
	{"python/tls/EXTERNAL/ok", pythonBin, python("tls", "EXTERNAL", "user", "", true), 0, ok("EXTERNAL", true)},
	{"python/tls/EXTERNAL/wrong", pythonBin, python("tls", "EXTERNAL", "user", "admin", true), pythonRefused, failed("EXTERNAL", true, outcome.Unauthorized)},
	{"python/starttls/EXTERNAL-without-cert/wrong", pythonBin, python("starttls", "EXTERNAL", "user", "", false), pythonRefused, failed("EXTERNAL", true, outcome.NotOffered)},

	{"curl/starttls/PLAIN/ok", "curl", curl(false, "--login-options", "AUTH=PLAIN", "-u", "user:pencil"), 0, ok("PLAIN", true)},
	{"curl/starttls/PLAIN/wrong", "curl", curl(false, "--login-options", "AUTH=PLAIN", "-u", "user:wrong"), curlRefused, failed("PLAIN", true, outcome.BadCredentials)},
	{"curl/tls/LOGIN/ok", "curl", curl(true, "--login-options", "AUTH=LOGIN", "-u", "user:pencil"), 0, ok("LOGIN", true)},
	{"curl/tls/LOGIN/wrong", "curl", curl(true, "--login-options", "AUTH=LOGIN", "-u", "user:wrong"), curlRefused, failed("LOGIN", true, outcome.BadCredentials)},
	{"curl/tls/OAUTHBEARER/ok", "curl", curl(true, "--login-options", "AUTH=OAUTHBEARER", "-u", "user:", "--oauth2-bearer", "tok123"), 0, ok("OAUTHBEARER", true)},
	{"curl/tls/OAUTHBEARER/wrong", "curl", curl(true, "--login-options", "AUTH=OAUTHBEARER", "-u", "user:", "--oauth2-bearer", "tok999"), curlRefused, failed("OAUTHBEARER", true, outcome.BadCredentials)},
	{"curl/starttls/EXTERNAL/ok", "curl", curl(false, "--cert", "CERT", "--key", "KEY", "--login-options", "AUTH=EXTERNAL", "-u", ":"), 0, ok("EXTERNAL", true)},
	{"curl/starttls/EXTERNAL/wrong", "curl", curl(false, "--cert", "GHOST", "--key", "GHKEY", "--login-options", "AUTH=EXTERNAL", "-u", ":"), curlRefused, failed("EXTERNAL", true, outcome.BadCredentials)},
}

// TestClients runs each real client against the server with the right
// and a wrong secret, and checks both its exit status and what the server
// saw: who logged in, or how the attempt failed.
func TestClients(t *testing.T) {
	cfg, f := newPKI(t)
	s := start(t, cfg)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// One at a time: the attempts are told apart by order.
			interop.NeedTools(t, c.tool)
			s.drain()
			p := interop.Start(t, &interop.ProcOptions{Timeout: 20 * time.Second}, c.tool, c.args(s, f)...)
			p.CloseStdin()
			code, err := p.Wait()
			if err != nil {
				t.Fatalf("%s: %v", c.tool, err)
			}
			if code != c.exit {
				t.Errorf("%s exited %d, want %d\nstdout:\n%s\nstderr:\n%s", c.tool, code, c.exit, p.Stdout(), p.Stderr())
			}
			if diff := cmp.Diff(c.want, s.drain()); diff != "" {
				t.Errorf("server saw (-want +got):\n%s", diff)
			}
		})
	}
}

// newPKI makes a CA (package testpki, ECDSA P-256), a server certificate
// and client certificates for "user" and for "ghost", a name with no
// account, and returns a server configuration that uses them: client
// certificates verified, the default accounts and mechanisms.
func newPKI(t *testing.T) (authserver.Config, *files) {
	t.Helper()
	p := testpki.New(t, "")
	f := &files{ca: p.CAFile}
	_, f.cert, f.key = p.Client(t, "client", "user")
	_, f.ghostCert, f.ghost = p.Client(t, "ghost", "ghost")
	cfg := authserver.Config{
		CertFile:     p.CertFile,
		KeyFile:      p.KeyFile,
		ClientCAFile: p.CAFile,
		Mechs:        DefaultMechs,
		AuthTimeout:  5 * time.Second,
	}
	return cfg, f
}

// TestGreeting checks the capabilities in the greeting: the registry's
// choice per connection, with the implicit-TLS handshake done first so
// that EXTERNAL and -PLUS appear in it.
func TestGreeting(t *testing.T) {
	cfg, f := newPKI(t)
	s := start(t, cfg)
	roots := x509.NewCertPool()
	pem, err := os.ReadFile(f.ca)
	if err != nil {
		t.Fatal(err)
	}
	roots.AppendCertsFromPEM(pem)
	cert, err := tls.LoadX509KeyPair(f.cert, f.key)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		dial func() (net.Conn, error)
		want string
	}{
		{"plain", func() (net.Conn, error) { return net.Dial("tcp", s.plain) },
			"* OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL- STARTTLS AUTH=SCRAM-SHA-256] IMAP server ready"},
		{"implicit TLS", func() (net.Conn, error) {
			return tls.Dial("tcp", s.tls, &tls.Config{RootCAs: roots, ServerName: "localhost"})
		}, "* OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL- AUTH=SCRAM-SHA-256-PLUS AUTH=SCRAM-SHA-256 AUTH=OAUTHBEARER AUTH=PLAIN AUTH=LOGIN] IMAP server ready"},
		{"implicit TLS with a client certificate", func() (net.Conn, error) {
			return tls.Dial("tcp", s.tls, &tls.Config{RootCAs: roots, ServerName: "localhost", Certificates: []tls.Certificate{cert}})
		}, "* OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL- AUTH=EXTERNAL AUTH=SCRAM-SHA-256-PLUS AUTH=SCRAM-SHA-256 AUTH=OAUTHBEARER AUTH=PLAIN AUTH=LOGIN] IMAP server ready"},
	} {
		t.Run(c.name, func(t *testing.T) {
			nc, err := c.dial()
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(5 * time.Second))
			line, err := bufio.NewReader(nc).ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want+"\r\n", line); diff != "" {
				t.Errorf("greeting (-want +got):\n%s", diff)
			}
		})
	}
}
