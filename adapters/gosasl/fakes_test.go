package gosasl_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/registry"
	"github.com/saslkit/saslkit/session"
)

// A signature says what an in-process server does with SCRAM's
// server-final message, "v=" and the server signature.
type signature int

const (
	honest         signature = iota // sends it as it is
	wrongSignature                  // sends a well-formed, wrong signature
	noSignature                     // skips it and reports success at once
)

func (s signature) String() string {
	return [...]string{"honest", "wrong signature", "no signature"}[s]
}

// tamper applies s to a challenge the server's session produced. It
// returns the challenge to send, or succeed when the server must report
// success instead.
func (s signature) tamper(challenge []byte) (out []byte, succeed bool) {
	sig, ok := bytes.CutPrefix(challenge, []byte("v="))
	if !ok || s == honest {
		return challenge, false
	}
	if s == noSignature {
		return nil, true
	}
	raw, err := base64.StdEncoding.DecodeString(string(sig))
	if err != nil || len(raw) == 0 {
		panic("tamper: server-final without a signature")
	}
	raw[0] ^= 0x01
	return []byte("v=" + base64.StdEncoding.EncodeToString(raw)), false
}

// serverRegistry returns the in-process servers' mechanisms: SCRAM-SHA-256
// and PLAIN (in the clear, on loopback) for user with password, the SCRAM
// server-final message sent as a last challenge as IMAP and SMTP need.
func serverRegistry(t testing.TB) *registry.Registry {
	t.Helper()
	reg, err := newServerRegistry()
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func newServerRegistry() (*registry.Registry, error) {
	keys, err := creds.DeriveSCRAMKeys("SHA-256", password, nil, creds.MinSCRAMIterations, false)
	if err != nil {
		return nil, err
	}
	var store creds.MemoryStore
	if err := store.Add(creds.Account{Name: user, SCRAM: []creds.SCRAMKeys{keys}}); err != nil {
		return nil, err
	}
	return registry.Named(&registry.Config{
		Session:             session.Config{Verifier: &creds.Verifier{Store: &store}, FinalAsChallenge: true},
		InsecureClearSecret: true,
	}, "SCRAM-SHA-256", "PLAIN")
}

// fakeIMAP is the smallest IMAP server (RFC 9051) a go-imap v2 client
// authenticates against: a greeting with capabilities, CAPABILITY,
// AUTHENTICATE run by a saslkit session whose server-final message goes
// through a signature's tamper, NOOP and LOGOUT. It records every line the
// client sent.
type fakeIMAP struct {
	addr   string
	sig    signature
	saslIR bool
	reg    *registry.Registry

	mu    sync.Mutex // guards lines
	lines []string
}

// serveIMAP starts a fakeIMAP on a free loopback port, stopped when t
// ends. saslIR says whether it offers SASL-IR (RFC 4959).
func serveIMAP(t testing.TB, sig signature, saslIR bool) *fakeIMAP {
	t.Helper()
	f, stop, err := startIMAP(sig, saslIR)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return f
}

// startIMAP starts a fakeIMAP; stop closes it and its connections.
func startIMAP(sig signature, saslIR bool) (f *fakeIMAP, stop func(), err error) {
	reg, err := newServerRegistry()
	if err != nil {
		return nil, nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	f = &fakeIMAP{addr: l.Addr().String(), sig: sig, saslIR: saslIR, reg: reg}
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(2)
			go func() {
				defer wg.Done()
				f.serve(c)
			}()
			go func() { // unblock serve when stopped
				defer wg.Done()
				<-done
				c.Close()
			}()
		}
	}()
	return f, func() {
		close(done)
		l.Close()
		wg.Wait()
	}, nil
}

// clientLines returns the lines the client sent so far.
func (f *fakeIMAP) clientLines() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.lines...)
}

func (f *fakeIMAP) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r := bufio.NewReader(c)
	caps := "IMAP4rev1 AUTH=SCRAM-SHA-256 AUTH=PLAIN"
	if f.saslIR {
		caps += " SASL-IR"
	}
	write := func(line string) { io.WriteString(c, line+"\r\n") }
	read := func() (string, bool) {
		line, err := r.ReadString('\n')
		if err != nil {
			return "", false
		}
		line = strings.TrimSuffix(line, "\r\n")
		f.mu.Lock()
		f.lines = append(f.lines, line)
		f.mu.Unlock()
		return line, true
	}
	write("* OK [CAPABILITY " + caps + "] fake IMAP ready")
	for {
		line, ok := read()
		if !ok {
			return
		}
		tag, rest, _ := strings.Cut(line, " ")
		cmd, args, _ := strings.Cut(rest, " ")
		switch strings.ToUpper(cmd) {
		case "CAPABILITY":
			write("* CAPABILITY " + caps)
			write(tag + " OK done")
		case "NOOP":
			write(tag + " OK done")
		case "LOGOUT":
			write("* BYE")
			write(tag + " OK done")
			return
		case "AUTHENTICATE":
			if !f.authenticate(ctx, tag, args, write, read) {
				return
			}
		default:
			write(tag + " BAD unknown command")
		}
	}
}

// authenticate runs one AUTHENTICATE. It returns false when the
// connection is to be closed.
func (f *fakeIMAP) authenticate(ctx context.Context, tag, args string, write func(string), read func() (string, bool)) bool {
	name, ir, hasIR := strings.Cut(args, " ")
	sess, err := f.reg.NewServer(name, mech.Channel{})
	if err != nil {
		write(tag + " NO unknown mechanism")
		return true
	}
	var step session.Step
	switch {
	case hasIR && !f.saslIR:
		write(tag + " BAD SASL-IR not offered")
		return true
	case hasIR && ir == "=":
		step, err = sess.StartInitial(ctx, []byte{})
	case hasIR:
		msg, derr := session.Decode([]byte(ir), 0)
		if derr != nil {
			write(tag + " BAD bad base64")
			return true
		}
		step, err = sess.StartInitial(ctx, msg)
	default:
		step, err = sess.Start(ctx)
	}
	for err == nil && !step.Done {
		challenge, succeed := f.sig.tamper(step.Challenge)
		if succeed {
			write(tag + " OK authenticated (without proving it)")
			return true
		}
		if len(challenge) == 0 {
			write("+ ")
		} else {
			write("+ " + session.Encode(challenge))
		}
		line, ok := read()
		if !ok {
			return false
		}
		if line == "*" {
			write(tag + " BAD cancelled")
			return true
		}
		// An empty line is an empty response. "=" is not valid base64,
		// and refused as Dovecot refuses it.
		msg, derr := session.Decode([]byte(line), 0)
		if derr != nil {
			write(tag + " BAD bad base64")
			return true
		}
		step, err = sess.Next(ctx, msg)
	}
	if err != nil {
		write(tag + " NO authentication failed")
		return true
	}
	write(tag + " OK authenticated")
	return true
}

// serveSMTP starts a go-smtp server on a free loopback port, whose AUTH is
// served by saslkit through session.Server.GoSASL, with its server-final
// message going through sig's tamper. It is closed when t ends.
func serveSMTP(t testing.TB, sig signature) string {
	t.Helper()
	addr, stop, err := startSMTP(sig)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return addr
}

// startSMTP starts the server of serveSMTP; stop closes it.
func startSMTP(sig signature) (addr string, stop func(), err error) {
	reg, err := newServerRegistry()
	if err != nil {
		return "", nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	s := smtp.NewServer(&smtpBackend{reg: reg, sig: sig})
	s.Domain = "localhost"
	s.AllowInsecureAuth = true // loopback only
	s.ReadTimeout, s.WriteTimeout = 20*time.Second, 20*time.Second
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(l) }()
	return l.Addr().String(), func() {
		s.Close()
		<-errc
	}, nil
}

type smtpBackend struct {
	reg *registry.Registry
	sig signature
}

func (b *smtpBackend) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &smtpSession{b: b}, nil
}

// smtpSession accepts nothing but AUTH.
type smtpSession struct{ b *smtpBackend }

func (s *smtpSession) AuthMechanisms() []string { return s.b.reg.Advertise(mech.Channel{}) }

func (s *smtpSession) Auth(name string) (sasl.Server, error) {
	srv, err := s.b.reg.NewServer(name, mech.Channel{})
	if err != nil {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return &tamperServer{g: srv.GoSASL(context.Background()), sig: s.b.sig}, nil
}

func (s *smtpSession) Mail(string, *smtp.MailOptions) error { return errors.New("no mail here") }
func (s *smtpSession) Rcpt(string, *smtp.RcptOptions) error { return errors.New("no mail here") }
func (s *smtpSession) Data(io.Reader) error                 { return errors.New("no mail here") }
func (s *smtpSession) Reset()                               {}
func (s *smtpSession) Logout() error                        { return nil }

// tamperServer is saslkit's go-sasl server adapter with the server-final
// message tampered with.
type tamperServer struct {
	g   *session.GoSASL
	sig signature
}

func (t *tamperServer) Next(response []byte) ([]byte, bool, error) {
	challenge, done, err := t.g.Next(response)
	if err != nil {
		return nil, false, &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication failed"}
	}
	if done {
		return nil, true, nil
	}
	challenge, succeed := t.sig.tamper(challenge)
	if succeed {
		return nil, true, nil
	}
	return challenge, false, nil
}
