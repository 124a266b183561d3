package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/saslkit/saslkit/examples/internal/authserver"
	"github.com/saslkit/saslkit/internal/interop"
)

// Finding 5: gsasl (GnuTLS 3.7) over STARTTLS never sent its RSA client
// certificate to the example servers, so EXTERNAL was neither advertised
// nor allowed (NO [CANNOT]). GnuTLS picks a client certificate whose issuer
// is in the CertificateRequest's certificate_authorities and whose key
// type is among those it derives from the request's signature_algorithms;
// it maps rsa_pss_rsae_* to the RSA-PSS key type, and crypto/tls's TLS 1.3
// request lists no rsa_pkcs1_* (which only OpenSSL-based servers such as
// Dovecot do), so an rsaEncryption key never matches. Without
// certificate_authorities, GnuTLS sends its one certificate. The fix
// (examples/internal/authserver/tls.go) asks for a certificate without
// naming CAs and verifies it itself.

// opensslPKI makes, with openssl as the finding describes, an RSA CA
// (req -x509 -newkey rsa:2048), a server certificate for localhost and
// 127.0.0.1, and client certificates with only extendedKeyUsage=clientAuth
// (x509 -req) for "user" and for another CA's "user".
type opensslPKI struct {
	dir                       string
	ca, serverCert, serverKey string
	clientCert, clientKey     string
	strangerCert, strangerKey string // CN=user, signed by another CA
}

func newOpenSSLPKI(t *testing.T) *opensslPKI {
	t.Helper()
	openssl := interop.NeedTools(t, "openssl")[0]
	d := t.TempDir()
	p := &opensslPKI{dir: d}
	f := func(name string) string { return filepath.Join(d, name) }
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(openssl, args...).CombinedOutput(); err != nil {
			t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	write := func(name, content string) string {
		if err := os.WriteFile(f(name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return f(name)
	}
	serverExt := write("server.ext", "subjectAltName=DNS:localhost,IP:127.0.0.1\n")
	clientExt := write("client.ext", "extendedKeyUsage=clientAuth\n")
	ca := func(name, cn string) {
		run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f(name+".key"), "-out", f(name+".pem"),
			"-days", "2", "-subj", "/CN="+cn)
	}
	leaf := func(name, cn, caName, ext string) {
		run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f(name+".key"), "-out", f(name+".csr"), "-subj", "/CN="+cn)
		run("x509", "-req", "-in", f(name+".csr"), "-CA", f(caName+".pem"), "-CAkey", f(caName+".key"),
			"-CAcreateserial", "-out", f(name+".pem"), "-days", "2", "-extfile", ext)
	}
	ca("ca", "Test CA")
	ca("other", "Other CA")
	leaf("server", "localhost", "ca", serverExt)
	leaf("client", "user", "ca", clientExt)
	leaf("stranger", "user", "other", clientExt)
	p.ca, p.serverCert, p.serverKey = f("ca.pem"), f("server.pem"), f("server.key")
	p.clientCert, p.clientKey = f("client.pem"), f("client.key")
	p.strangerCert, p.strangerKey = f("stranger.pem"), f("stranger.key")
	return p
}

func (p *opensslPKI) config() authserver.Config {
	return authserver.Config{
		CertFile: p.serverCert, KeyFile: p.serverKey, ClientCAFile: p.ca,
		Mechs: DefaultMechs, AuthTimeout: 5 * time.Second,
	}
}

// gsaslExternal runs the finding's command line against addr and returns
// gsasl's exit status.
func gsaslExternal(t *testing.T, addr, ca, cert, key string) (int, *interop.Proc) {
	t.Helper()
	p := interop.Start(t, &interop.ProcOptions{Timeout: 20 * time.Second}, "gsasl",
		"--client", "-d", "--quiet", "--imap", "--connect="+addr, "--starttls", "--hostname=localhost",
		"--x509-ca-file="+ca, "--x509-cert-file="+cert, "--x509-key-file="+key, "-m", "EXTERNAL")
	p.CloseStdin()
	code, err := p.Wait()
	if err != nil {
		t.Fatalf("gsasl: %v", err)
	}
	return code, p
}

// TestFinding5Goimap is the finding against this server: EXTERNAL with
// gsasl over STARTTLS and an openssl-made RSA client certificate.
func TestFinding5Goimap(t *testing.T) {
	interop.NeedTools(t, "gsasl")
	p := newOpenSSLPKI(t)
	s := start(t, p.config())
	t.Run("ok", func(t *testing.T) {
		s.drain()
		code, proc := gsaslExternal(t, s.plain, p.ca, p.clientCert, p.clientKey)
		if code != 0 {
			t.Errorf("gsasl exited %d, want 0\n%s", code, proc.Stdout())
		}
		if diff := cmp.Diff(ok("EXTERNAL", true), s.drain()); diff != "" {
			t.Errorf("server saw (-want +got):\n%s", diff)
		}
	})
	t.Run("wrong", func(t *testing.T) {
		// A certificate from a CA the server does not trust: the
		// handshake fails, and no authentication is attempted.
		s.drain()
		if code, proc := gsaslExternal(t, s.plain, p.ca, p.strangerCert, p.strangerKey); code == 0 {
			t.Errorf("gsasl logged in with another CA's certificate\n%s", proc.Stdout())
		}
		if got := s.drain(); len(got) != 0 {
			t.Errorf("server saw %v, want nothing", got)
		}
	})
}

// TestFinding5IMAPServer is the finding as reported: against the built
// examples/imapserver binary.
func TestFinding5IMAPServer(t *testing.T) {
	goTool := interop.NeedTools(t, "go", "gsasl")[0]
	p := newOpenSSLPKI(t)
	bin := filepath.Join(t.TempDir(), "imapserver")
	build := exec.Command(goTool, "build", "-o", bin, "./examples/imapserver")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/imapserver: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	srv := interop.Start(t, &interop.ProcOptions{Timeout: 60 * time.Second}, bin,
		"-listen", addr, "-cert", p.serverCert, "-key", p.serverKey, "-client-ca", p.ca)
	if _, err := srv.ReadUntil("mechanisms"); err != nil {
		t.Fatalf("imapserver did not start: %v\n%s", err, srv.Stderr())
	}
	for _, c := range []struct {
		name, cert, key string
		exit            int
		log             string // a line the server must log; empty: none
	}{
		{"ok", p.clientCert, p.clientKey, 0, "mech=EXTERNAL outcome=ok user=user"},
		{"wrong", p.strangerCert, p.strangerKey, 1, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := strings.Count(srv.Stderr(), "mech=EXTERNAL")
			code, proc := gsaslExternal(t, addr, p.ca, c.cert, c.key)
			if code != c.exit {
				t.Errorf("gsasl exited %d, want %d\n%s", code, c.exit, proc.Stdout())
			}
			time.Sleep(50 * time.Millisecond)
			log := srv.Stderr()
			switch {
			case c.log != "" && !strings.Contains(log, c.log):
				t.Errorf("server log lacks %q:\n%s", c.log, log)
			case c.log == "" && strings.Count(log, "mech=EXTERNAL") != before:
				t.Errorf("server logged an EXTERNAL attempt:\n%s", log)
			}
		})
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestCertificateRequest shows, with a Go client, what the servers'
// CertificateRequest holds: no certificate_authorities (the fix), and on
// TLS 1.3 no RSA PKCS#1 v1.5 signature scheme, which crypto/tls cannot be
// told to add (RFC 8446 section 4.4.3 forbids PKCS#1 v1.5 in
// CertificateVerify, and crypto/tls uses the same list for certificates).
// It also checks that a certificate the CA did not sign is still refused
// at the handshake, and that a good one names the external identity.
func TestCertificateRequest(t *testing.T) {
	p := newOpenSSLPKI(t)
	b, err := authserver.New(p.config(), nil)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	pem, err := os.ReadFile(p.ca)
	if err != nil {
		t.Fatal(err)
	}
	roots.AppendCertsFromPEM(pem)
	load := func(cert, key string) tls.Certificate {
		c, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	client, stranger := load(p.clientCert, p.clientKey), load(p.strangerCert, p.strangerKey)
	pkcs1 := []tls.SignatureScheme{tls.PKCS1WithSHA256, tls.PKCS1WithSHA384, tls.PKCS1WithSHA512}
	for _, c := range []struct {
		name      string
		version   uint16
		cert      tls.Certificate
		wantErr   bool
		wantPKCS1 bool
		external  string
	}{
		{"TLS 1.3", tls.VersionTLS13, client, false, false, "user"},
		{"TLS 1.2", tls.VersionTLS12, client, false, true, "user"},
		{"TLS 1.3 another CA's certificate", tls.VersionTLS13, stranger, true, false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var req *tls.CertificateRequestInfo
			cc := &tls.Config{
				RootCAs: roots, ServerName: "localhost", MinVersion: c.version, MaxVersion: c.version,
				GetClientCertificate: func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
					req = cri
					return &c.cert, nil
				},
			}
			cn, sn := net.Pipe()
			defer cn.Close()
			defer sn.Close()
			srv := tls.Server(sn, b.TLSConfig())
			errc := make(chan error, 1)
			go func() { errc <- srv.Handshake() }()
			cli := tls.Client(cn, cc)
			cerr := cli.Handshake()
			if cerr == nil {
				// A TLS 1.3 client finishes first; the server's verdict
				// on its certificate comes with the first read.
				cli.SetReadDeadline(time.Now().Add(time.Second))
				_, cerr = cli.Read(make([]byte, 1))
				if errors.Is(cerr, os.ErrDeadlineExceeded) {
					cerr = nil
				}
			}
			serr := <-errc
			if req == nil {
				t.Fatal("the server asked for no client certificate")
			}
			if len(req.AcceptableCAs) != 0 {
				t.Errorf("CertificateRequest names CAs %q: GnuTLS then sends no RSA certificate on TLS 1.3", req.AcceptableCAs)
			}
			if got := slices.ContainsFunc(req.SignatureSchemes, func(s tls.SignatureScheme) bool { return slices.Contains(pkcs1, s) }); got != c.wantPKCS1 {
				t.Errorf("PKCS#1 v1.5 in signature_algorithms = %v, want %v (%v)", got, c.wantPKCS1, req.SignatureSchemes)
			}
			if c.wantErr {
				if serr == nil || cerr == nil {
					t.Errorf("handshake with another CA's certificate: server %v, client %v; want both to fail", serr, cerr)
				}
				return
			}
			if serr != nil || cerr != nil {
				t.Fatalf("handshake: server %v, client %v", serr, cerr)
			}
			if got := b.Channel(srv).External; got != c.external {
				t.Errorf("external identity %q, want %q", got, c.external)
			}
		})
	}
}
