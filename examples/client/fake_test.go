package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/registry"
	"github.com/saslkit/saslkit/session"
)

// fakeConfig describes a fake IMAP or SMTP server: just enough of the
// protocol to check that the client speaks it right. Its SASL side is
// saslkit's own server sessions.
type fakeConfig struct {
	smtp     bool     // SMTP instead of IMAP
	mechs    []string // advertised, in this order
	saslIR   bool     // IMAP: advertise SASL-IR
	starttls bool     // offer STARTTLS
	tls      bool     // implicit TLS
	// omitFinal makes the server report success without sending its
	// additional data (SCRAM's "v=") first.
	omitFinal bool
	// badChallenge, if set, replaces the first challenge on the wire.
	badChallenge string
}

// fakeServer is a running fake server. It serves one connection.
type fakeServer struct {
	addr string
	done chan struct{}

	mu    sync.Mutex // guards lines and err
	lines []string   // every line the client sent
	err   error      // the connection's error, if it failed
}

// sent returns the lines the client sent, once the connection is over.
func (s *fakeServer) sent(t *testing.T) []string {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		t.Fatal("fake server still serving after 10 s")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		t.Errorf("fake server: %v", s.err)
	}
	return append([]string(nil), s.lines...)
}

// testPKI is a throwaway CA with a server certificate for 127.0.0.1 and a
// client certificate for CN=user, written as PEM files.
type testPKI struct {
	ca                  *x509.CertPool
	server              tls.Certificate
	caFile              string
	clientCert, clientK string
}

func newPKI(t *testing.T) *testPKI {
	t.Helper()
	dir := t.TempDir()
	now := time.Now()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caKey := key()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leaf := func(serial int64, tmpl *x509.Certificate) ([]byte, *ecdsa.PrivateKey) {
		k := key()
		tmpl.SerialNumber = big.NewInt(serial)
		tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.Add(time.Hour)
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, k
	}
	p := &testPKI{ca: x509.NewCertPool(), caFile: write("ca.pem", "CERTIFICATE", caDER)}
	p.ca.AddCert(ca)
	sDER, sKey := leaf(2, &x509.Certificate{
		Subject: pkix.Name{CommonName: "127.0.0.1"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	sLeaf, _ := x509.ParseCertificate(sDER)
	p.server = tls.Certificate{Certificate: [][]byte{sDER}, PrivateKey: sKey, Leaf: sLeaf}
	cDER, cKey := leaf(3, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "user"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	ckDER, err := x509.MarshalPKCS8PrivateKey(cKey)
	if err != nil {
		t.Fatal(err)
	}
	p.clientCert = write("client.pem", "CERTIFICATE", cDER)
	p.clientK = write("client.key", "PRIVATE KEY", ckDER)
	return p
}

// fakeRegistry is the fake server's registry: user "user" with password
// "pencil" and token "tok123", every mechanism offered with or without
// TLS.
func fakeRegistry(t *testing.T) *registry.Registry {
	t.Helper()
	keys, err := creds.DeriveSCRAMKeys("SHA-256", "pencil", nil, creds.MinSCRAMIterations, false)
	if err != nil {
		t.Fatal(err)
	}
	var store creds.MemoryStore
	if err := store.Add(creds.Account{Name: "user", Password: "{PLAIN}pencil", SCRAM: []creds.SCRAMKeys{keys}}); err != nil {
		t.Fatal(err)
	}
	reg, err := registry.Named(&registry.Config{
		Session: session.Config{
			Verifier: &creds.Verifier{Store: &store},
			Tokens: mech.TokenValidatorFunc(func(_ context.Context, r *mech.TokenRequest) error {
				if r.User == "user" && r.Token == "tok123" {
					r.Subject = "user"
					return nil
				}
				return mech.ErrAuthFailed
			}),
		},
		InsecureClearSecret: true,
	}, "EXTERNAL", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "OAUTHBEARER", "XOAUTH2", "CRAM-MD5", "PLAIN", "LOGIN", "ANONYMOUS")
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// startFake starts a fake server for one connection.
func startFake(t *testing.T, cfg fakeConfig, pki *testPKI) *fakeServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{addr: l.Addr().String(), done: make(chan struct{})}
	reg := fakeRegistry(t)
	var tlsCfg *tls.Config
	if pki != nil {
		tlsCfg = &tls.Config{
			Certificates: []tls.Certificate{pki.server},
			ClientAuth:   tls.VerifyClientCertIfGiven,
			ClientCAs:    pki.ca,
		}
	}
	t.Cleanup(func() {
		l.Close()
		<-s.done
	})
	go func() {
		defer close(s.done)
		c, err := l.Accept()
		l.Close()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fc := &fakeConn{s: s, cfg: cfg, reg: reg, tlsCfg: tlsCfg, conn: c, r: bufio.NewReader(c)}
		err = fc.serve()
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
	}()
	return s
}

// errQuit ends a connection without error.
var errQuit = errors.New("quit")

type fakeConn struct {
	s      *fakeServer
	cfg    fakeConfig
	reg    *registry.Registry
	tlsCfg *tls.Config
	conn   net.Conn
	r      *bufio.Reader
	ch     mech.Channel
}

func (c *fakeConn) readLine() (string, error) {
	line, err := c.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(line, "\r\n")
	c.s.mu.Lock()
	c.s.lines = append(c.s.lines, line)
	c.s.mu.Unlock()
	return line, nil
}

func (c *fakeConn) write(lines ...string) error {
	for _, l := range lines {
		if _, err := fmt.Fprintf(c.conn, "%s\r\n", l); err != nil {
			return err
		}
	}
	return nil
}

func (c *fakeConn) startTLS() error {
	tc := tls.Server(c.conn, c.tlsCfg)
	if err := tc.Handshake(); err != nil {
		return err
	}
	c.conn, c.r = tc, bufio.NewReader(tc)
	cs := tc.ConnectionState()
	c.ch = mech.ServerTLSChannel(&cs, c.tlsCfg.Certificates[0].Leaf)
	c.ch.External = mech.VerifiedClientCN(&cs)
	return nil
}

func (c *fakeConn) serve() error {
	if c.cfg.tls {
		if err := c.startTLS(); err != nil {
			return err
		}
	}
	var err error
	if c.cfg.smtp {
		err = c.serveSMTP()
	} else {
		err = c.serveIMAP()
	}
	if errors.Is(err, errQuit) {
		return nil
	}
	return err
}

func (c *fakeConn) serveIMAP() error {
	if err := c.write("* OK fake IMAP ready"); err != nil {
		return err
	}
	for {
		line, err := c.readLine()
		if err != nil {
			return err
		}
		tag, cmd, _ := strings.Cut(line, " ")
		verb, args, _ := strings.Cut(cmd, " ")
		switch strings.ToUpper(verb) {
		case "CAPABILITY":
			caps := "* CAPABILITY IMAP4rev1"
			if c.cfg.starttls && !c.ch.Secure {
				caps += " STARTTLS"
			}
			if c.cfg.saslIR {
				caps += " SASL-IR"
			}
			for _, m := range c.cfg.mechs {
				caps += " AUTH=" + m
			}
			err = c.write(caps, tag+" OK done")
		case "STARTTLS":
			if err = c.write(tag + " OK begin TLS"); err == nil {
				err = c.startTLS()
			}
		case "AUTHENTICATE":
			err = c.authenticate(args, imapFraming(tag))
		case "LOGOUT":
			c.write("* BYE", tag+" OK bye")
			return errQuit
		default:
			err = c.write(tag + " BAD unknown command")
		}
		if err != nil {
			return err
		}
	}
}

func (c *fakeConn) serveSMTP() error {
	if err := c.write("220 fake ESMTP"); err != nil {
		return err
	}
	for {
		line, err := c.readLine()
		if err != nil {
			return err
		}
		verb, args, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			lines := []string{"250-fake"}
			if c.cfg.starttls && !c.ch.Secure {
				lines = append(lines, "250-STARTTLS")
			}
			lines = append(lines, "250-AUTH "+strings.Join(c.cfg.mechs, " "), "250 8BITMIME")
			err = c.write(lines...)
		case "STARTTLS":
			if err = c.write("220 go ahead"); err == nil {
				err = c.startTLS()
			}
		case "AUTH":
			err = c.authenticate(args, smtpFraming{})
		case "QUIT":
			c.write("221 bye")
			return errQuit
		default:
			err = c.write("502 unknown command")
		}
		if err != nil {
			return err
		}
	}
}

// framing is how a protocol frames the lines of an exchange.
type framing interface {
	challenge(b64 string) string
	ok() string
	no() string
	cancelled() string
}

type imapFraming string

func (t imapFraming) challenge(b64 string) string { return "+ " + b64 }
func (t imapFraming) ok() string                  { return string(t) + " OK authenticated" }
func (t imapFraming) no() string                  { return string(t) + " NO [AUTHENTICATIONFAILED] failed" }
func (t imapFraming) cancelled() string           { return string(t) + " BAD cancelled" }

type smtpFraming struct{}

func (smtpFraming) challenge(b64 string) string { return "334 " + b64 }
func (smtpFraming) ok() string                  { return "235 2.7.0 authenticated" }
func (smtpFraming) no() string                  { return "535 5.7.8 failed" }
func (smtpFraming) cancelled() string           { return "501 5.0.0 cancelled" }

// authenticate runs one exchange. args is "MECH [initial-response]".
func (c *fakeConn) authenticate(args string, f framing) error {
	name, irText, hasIR := strings.Cut(args, " ")
	ctx := context.Background()
	sess, err := c.reg.NewServer(name, c.ch)
	if err != nil {
		return c.write(f.no())
	}
	var step session.Step
	switch {
	case !hasIR:
		step, err = sess.Start(ctx)
	case irText == "=":
		step, err = sess.StartInitial(ctx, []byte{})
	default:
		ir, derr := session.Decode([]byte(irText), 0)
		if derr != nil {
			return c.write(f.cancelled())
		}
		step, err = sess.StartInitial(ctx, ir)
	}
	first := true
	// exchange sends a challenge and reads the reply; ok is false when
	// the client cancelled or sent bad base64.
	exchange := func(chal []byte) (resp []byte, ok bool, err error) {
		text := session.Encode(chal)
		if first && c.cfg.badChallenge != "" {
			text = c.cfg.badChallenge
		}
		first = false
		if err := c.write(f.challenge(text)); err != nil {
			return nil, false, err
		}
		line, err := c.readLine()
		if err != nil {
			return nil, false, err
		}
		if line == "*" {
			return nil, false, c.write(f.cancelled())
		}
		resp, derr := session.Decode([]byte(line), 0)
		if derr != nil {
			return nil, false, c.write(f.cancelled())
		}
		return resp, true, nil
	}
	for err == nil && !step.Done {
		resp, ok, xerr := exchange(step.Challenge)
		if !ok {
			return xerr
		}
		step, err = sess.Next(ctx, resp)
	}
	if err != nil {
		var fe *mech.FailureError
		if errors.As(err, &fe) {
			// IMAP and SMTP carry no data with a failure: send it as a
			// challenge first.
			if _, ok, xerr := exchange(fe.Data); !ok {
				return xerr
			}
		}
		return c.write(f.no())
	}
	if step.HasFinal && !c.cfg.omitFinal {
		resp, ok, xerr := exchange(step.Final)
		if !ok {
			return xerr
		}
		if len(resp) != 0 {
			return c.write(f.no())
		}
	}
	return c.write(f.ok())
}
