package interop

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/gs2"
	"github.com/saslkit/saslkit/session"
)

// IMAPConfig configures an [IMAPServer].
type IMAPConfig struct {
	// TLS, if not nil, is offered with STARTTLS. It must hold the server's
	// certificate; pin MinVersion and MaxVersion to test one TLS version.
	TLS *tls.Config
	// Leaf is the server's leaf certificate, for the tls-server-end-point
	// binding (see mech.ServerTLSChannel). Nil leaves that binding out.
	Leaf *x509.Certificate
	// Mechanisms are the server mechanisms offered, in order. A mechanism
	// with channel binding is offered only after STARTTLS.
	Mechanisms []mech.Server
	// Verifier is what the mechanisms check secrets against.
	Verifier *creds.Verifier
	// Rebind, if not nil, is called with the channel of each exchange
	// before it starts and may change it: to simulate a man in the middle
	// who terminates TLS, whose channel differs from the client's.
	Rebind func(*mech.Channel)
}

// IMAPResult is the outcome of one AUTHENTICATE command.
type IMAPResult struct {
	// Mechanism is the mechanism the client asked for.
	Mechanism string
	// TLSVersion is the TLS version in use, or zero without TLS.
	TLSVersion uint16
	// Channel is the channel the session ran over.
	Channel mech.Channel
	// CBFlag is the channel-binding flag of the client's GS2 header:
	// 'n', 'y' or 'p', or zero if there was none.
	CBFlag byte
	// CBName is the channel-binding type the client named in a GS2
	// header ("p=tls-exporter"), or empty.
	CBName string
	// Challenges are the challenges sent, in order.
	Challenges [][]byte
	// Step is the last step of a successful exchange.
	Step session.Step
	// Err is the failure, or nil on success. A client that hangs up
	// during the exchange gives an error wrapping ErrHangup.
	Err error
}

// ErrHangup means the client closed the connection during an exchange,
// as gsasl does after a SCRAM "e=" challenge it cannot parse.
var ErrHangup = errors.New("interop: client hung up during AUTHENTICATE")

// IMAPServer is a minimal IMAP4rev1 server (RFC 3501) for SASL tests: it
// speaks CAPABILITY, STARTTLS, AUTHENTICATE (RFC 4959 SASL-IR included, not
// advertised), NOOP and LOGOUT, and nothing else. Each AUTHENTICATE runs a
// saslkit session with Config.FinalAsChallenge, since an IMAP OK cannot
// carry SCRAM's "v=", and reports its outcome on Results.
type IMAPServer struct {
	// Addr is the address the server listens on, 127.0.0.1:port.
	Addr string
	// Results receives one IMAPResult per AUTHENTICATE command.
	Results chan IMAPResult

	t   testing.TB
	cfg *IMAPConfig
	ln  net.Listener
	wg  sync.WaitGroup
	mu  sync.Mutex // guards conns
	all map[net.Conn]bool
}

// ServeIMAP starts an IMAP server on a free loopback port. It stops, closing
// every connection, when the test ends.
func ServeIMAP(t testing.TB, cfg *IMAPConfig) *IMAPServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &IMAPServer{
		Addr:    ln.Addr().String(),
		Results: make(chan IMAPResult, 16),
		t:       t,
		cfg:     cfg,
		ln:      ln,
		all:     make(map[net.Conn]bool),
	}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for c := range s.all {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

// Result waits up to DefaultTimeout for the next AUTHENTICATE outcome.
func (s *IMAPServer) Result() (IMAPResult, error) {
	select {
	case r := <-s.Results:
		return r, nil
	case <-time.After(DefaultTimeout):
		return IMAPResult{}, errors.New("interop: no AUTHENTICATE result in time")
	}
}

// report sends r on Results, dropping it if nobody reads them.
func (s *IMAPServer) report(r IMAPResult) {
	select {
	case s.Results <- r:
	default:
		s.t.Logf("imap server: result dropped: %+v", r)
	}
}

func (s *IMAPServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.all[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.all, c)
				s.mu.Unlock()
				c.Close()
			}()
			if err := s.serve(c); err != nil {
				s.t.Logf("imap server: %v", err)
			}
		}()
	}
}

// maxLine bounds the lines the server reads.
const maxLine = 64 << 10

type imapConn struct {
	s   *IMAPServer
	c   net.Conn
	r   *bufio.Reader
	tls *tls.ConnectionState
	ctx context.Context
}

func (ic *imapConn) readLine() (string, error) {
	var b []byte
	for {
		part, isPrefix, err := ic.r.ReadLine()
		if err != nil {
			return "", err
		}
		b = append(b, part...)
		if len(b) > maxLine {
			return "", errors.New("line too long")
		}
		if !isPrefix {
			break
		}
	}
	ic.s.t.Logf("imap server <- %q", b)
	return string(b), nil
}

func (ic *imapConn) write(line string) error {
	ic.s.t.Logf("imap server -> %q", line)
	_, err := ic.c.Write([]byte(line + "\r\n"))
	return err
}

func (s *IMAPServer) serve(c net.Conn) error {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	c.SetDeadline(time.Now().Add(DefaultTimeout))
	ic := &imapConn{s: s, c: c, r: bufio.NewReader(c), ctx: ctx}
	if err := ic.write("* OK saslkit interop IMAP ready"); err != nil {
		return err
	}
	for {
		line, err := ic.readLine()
		if err != nil {
			return nil // the client hung up
		}
		tag, rest, _ := strings.Cut(line, " ")
		cmd, args, _ := strings.Cut(rest, " ")
		switch strings.ToUpper(cmd) {
		case "CAPABILITY":
			if err := ic.write("* CAPABILITY " + ic.capabilities()); err != nil {
				return err
			}
			err = ic.write(tag + " OK CAPABILITY completed")
		case "NOOP":
			err = ic.write(tag + " OK NOOP completed")
		case "LOGOUT":
			ic.write("* BYE logging out")
			ic.write(tag + " OK LOGOUT completed")
			return nil
		case "STARTTLS":
			if s.cfg.TLS == nil || ic.tls != nil {
				err = ic.write(tag + " BAD STARTTLS not available")
				break
			}
			if ic.r.Buffered() > 0 {
				return errors.New("data after STARTTLS")
			}
			if err := ic.write(tag + " OK begin TLS negotiation now"); err != nil {
				return err
			}
			tc := tls.Server(c, s.cfg.TLS)
			if err := tc.HandshakeContext(ctx); err != nil {
				return fmt.Errorf("TLS handshake: %w", err)
			}
			cs := tc.ConnectionState()
			ic.tls = &cs
			ic.c = tc
			ic.r = bufio.NewReader(tc)
		case "AUTHENTICATE":
			err = ic.authenticate(tag, args)
		default:
			err = ic.write(tag + " BAD unknown command")
		}
		if err != nil {
			return err
		}
	}
}

func (ic *imapConn) offered() []mech.Server {
	var out []mech.Server
	for _, m := range ic.s.cfg.Mechanisms {
		if m.Properties().ChannelBinding && ic.tls == nil {
			continue
		}
		out = append(out, m)
	}
	return out
}

func (ic *imapConn) capabilities() string {
	caps := []string{"IMAP4rev1"}
	if ic.s.cfg.TLS != nil && ic.tls == nil {
		caps = append(caps, "STARTTLS")
	}
	for _, m := range ic.offered() {
		caps = append(caps, "AUTH="+m.Name())
	}
	return strings.Join(caps, " ")
}

func (ic *imapConn) authenticate(tag, args string) error {
	name, ir, hasIR := strings.Cut(args, " ")
	name = strings.ToUpper(name)
	var m mech.Server
	for _, o := range ic.offered() {
		if o.Name() == name {
			m = o
		}
	}
	if m == nil {
		return ic.write(tag + " NO unsupported mechanism")
	}
	res := IMAPResult{Mechanism: name}
	if ic.tls != nil {
		res.TLSVersion = ic.tls.Version
		res.Channel = mech.ServerTLSChannel(ic.tls, ic.s.cfg.Leaf)
	}
	if ic.s.cfg.Rebind != nil {
		ic.s.cfg.Rebind(&res.Channel)
	}
	sess, err := session.NewServer(m, res.Channel, &session.Config{FinalAsChallenge: true, Verifier: ic.s.cfg.Verifier})
	if err != nil {
		res.Err = err
		ic.s.report(res)
		return ic.write(tag + " NO " + name + " is not configured")
	}
	first := true
	note := func(msg []byte) {
		if first {
			first = false
			if h, _, err := gs2.Parse(msg); err == nil {
				res.CBFlag, res.CBName = h.Flag, h.CBName
			}
		}
	}
	var step session.Step
	if hasIR {
		var msg []byte
		if ir != "=" {
			msg, err = session.Decode([]byte(ir), 0)
		}
		if err == nil {
			note(msg)
			step, err = sess.StartInitial(ic.ctx, msg)
		}
	} else {
		step, err = sess.Start(ic.ctx)
	}
	for err == nil && !step.Done {
		res.Challenges = append(res.Challenges, step.Challenge)
		if werr := ic.write("+ " + session.Encode(step.Challenge)); werr != nil {
			return werr
		}
		line, rerr := ic.readLine()
		if rerr != nil {
			res.Err = fmt.Errorf("%w: %v", ErrHangup, rerr)
			ic.s.report(res)
			return nil
		}
		if line == "*" {
			res.Err = errors.New("interop: client cancelled")
			ic.s.report(res)
			return ic.write(tag + " BAD AUTHENTICATE cancelled")
		}
		msg, derr := session.Decode([]byte(line), 0)
		if derr != nil {
			err = derr
			break
		}
		note(msg)
		step, err = sess.Next(ic.ctx, msg)
	}
	res.Step, res.Err = step, err
	ic.s.report(res)
	if err != nil {
		return ic.write(tag + " NO AUTHENTICATE failed")
	}
	return ic.write(tag + " OK AUTHENTICATE completed")
}
