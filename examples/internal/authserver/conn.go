package authserver

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/outcome"
	"github.com/saslkit/saslkit/registry"
	"github.com/saslkit/saslkit/session"
)

// ErrLineTooLong means a client sent a line longer than [MaxLine]. The
// rest of the line is not read: the connection must be closed.
var ErrLineTooLong = errors.New("authserver: line too long")

// errCancelled is a client's "*" during an exchange.
var errCancelled = fmt.Errorf("authserver: %w", outcome.ErrCancelled)

// IsTimeout reports whether err is a read or write that hit the
// connection's deadline: the client was idle for longer than -auth-timeout.
func IsTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// Conn is one client connection. It is used by one goroutine, the one
// [Server] runs the protocol handler in.
type Conn struct {
	srv      *Server
	nc       net.Conn
	r        *bufio.Reader
	w        *bufio.Writer
	ctx      context.Context
	ch       mech.Channel
	failures int
}

func newConn(s *Server, nc net.Conn) *Conn {
	c := &Conn{srv: s, nc: nc, ctx: s.ctx, r: bufio.NewReaderSize(nc, 4096), w: bufio.NewWriter(nc)}
	c.ch = s.b.Channel(nc)
	return c
}

// Backend returns the backend the connection authenticates with.
func (c *Conn) Backend() *Backend { return c.srv.b }

// Channel returns the connection's SASL channel, as [Backend.Channel]
// computed it when the connection started or finished STARTTLS.
func (c *Conn) Channel() mech.Channel { return c.ch }

// TLS reports whether the connection runs over TLS.
func (c *Conn) TLS() bool {
	_, ok := c.nc.(*tls.Conn)
	return ok
}

// RemoteAddr returns the client's address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// ReadLine reads one line and returns it without its line ending (CRLF, or
// a bare LF). The client has -auth-timeout to send it; past that the error
// satisfies [IsTimeout]. A line longer than [MaxLine] gives
// [ErrLineTooLong].
func (c *Conn) ReadLine() (string, error) {
	if err := c.nc.SetReadDeadline(time.Now().Add(c.srv.b.cfg.authTimeout())); err != nil {
		return "", err
	}
	var line []byte
	for {
		frag, err := c.r.ReadSlice('\n')
		if len(line)+len(frag) > MaxLine {
			return "", ErrLineTooLong
		}
		line = append(line, frag...)
		if err == nil {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return "", err
		}
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return string(line), nil
}

// WriteLine sends one line, adding CRLF, and flushes it. The client has
// -auth-timeout to take it.
func (c *Conn) WriteLine(line string) error {
	if err := c.nc.SetWriteDeadline(time.Now().Add(c.srv.b.cfg.authTimeout())); err != nil {
		return err
	}
	c.w.WriteString(line)
	c.w.WriteString("\r\n")
	return c.w.Flush()
}

// Pipelined reports whether the client has sent bytes that have not been
// read yet. A client must not send anything after STARTTLS before the
// handshake: such bytes would be taken as if they came over TLS
// (CVE-2011-0411), so protocol code refuses STARTTLS when this is true.
func (c *Conn) Pipelined() bool { return c.r.Buffered() > 0 }

// StartTLS runs the server side of a TLS handshake on the connection, after
// the protocol's go-ahead reply, and recomputes the channel. The client has
// -auth-timeout to complete the handshake. On error the connection must be
// closed.
func (c *Conn) StartTLS() error {
	tc := tls.Server(c.nc, c.srv.b.tls)
	if err := handshake(c.ctx, tc, c.srv.b.cfg.authTimeout()); err != nil {
		return err
	}
	c.nc = tc
	c.r.Reset(tc)
	c.w.Reset(tc)
	c.ch = c.srv.b.Channel(tc)
	return nil
}

func handshake(ctx context.Context, tc *tls.Conn, timeout time.Duration) error {
	if err := tc.SetDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	if err := tc.HandshakeContext(ctx); err != nil {
		return err
	}
	return tc.SetDeadline(time.Time{})
}

// TooManyFailures reports whether the connection has used up its
// [MaxFailures] failed attempts; the protocol then says goodbye and
// closes it.
func (c *Conn) TooManyFailures() bool { return c.failures >= MaxFailures }

// Exchange runs one SASL exchange for an IMAP AUTHENTICATE or SMTP AUTH
// command and returns its outcome, with the principal when it is OK: the
// account the server verified, by its canonical name, and the identity it
// acts as.
//
// ir is the initial-response argument as the client sent it: "" for none
// (which also covers smtplib's "AUTH EXTERNAL " with a trailing space),
// "=" for an empty one, otherwise base64. prompt starts each challenge line:
// "+ " for IMAP, "334 " for SMTP; an empty challenge is the prompt alone.
// Each response line may be base64, empty or "=" (both an empty response)
// or "*" (a cancellation).
//
// Exchange sends the challenges but not the final reply, which is the
// protocol's. A failure counts towards [MaxFailures], and a failed
// authentication or authorization is answered only after -fail-delay. A
// non-nil error is an I/O error, or a timeout ([IsTimeout]): the connection
// must then be closed.
func (c *Conn) Exchange(mechanism, ir, prompt string) (*creds.Principal, Outcome, error) {
	ctx, a, err := c.before()
	if err != nil {
		return nil, c.finish(mechanism, nil, err), nil
	}
	var msgs [][]byte
	cr, err, ioErr := c.exchange(ctx, mechanism, ir, prompt, &msgs)
	if ioErr != nil {
		c.srv.b.log.Info("authentication abandoned", "proto", c.srv.proto, "remote", c.RemoteAddr().String(),
			"mech", mechanism, "err", ioErr)
		return nil, 0, ioErr
	}
	o := c.finish(mechanism, cr, err)
	account := ""
	if cr != nil {
		account = cr.Account()
	}
	c.after(a, o, account, secretOf(mechanism, msgs))
	return cr, o, nil
}

// exchange runs one exchange with ctx, appending the messages it got from
// the client to msgs when the limiter wants them.
func (c *Conn) exchange(ctx context.Context, name, ir, prompt string, msgs *[][]byte) (p *creds.Principal, saslErr, ioErr error) {
	sess, err := c.srv.b.reg.NewServer(name, c.ch)
	if err != nil {
		return nil, err, nil
	}
	keep := func(m []byte) {
		if c.srv.b.limiter != nil && len(*msgs) < 2 {
			*msgs = append(*msgs, m)
		}
	}
	var step session.Step
	if ir == "" {
		step, err = sess.Start(ctx)
	} else {
		msg, derr := c.decode(ir)
		if derr != nil {
			return nil, derr, nil
		}
		keep(msg)
		step, err = sess.StartInitial(ctx, msg)
	}
	for err == nil && !step.Done {
		if werr := c.WriteLine(prompt + session.Encode(step.Challenge)); werr != nil {
			return nil, nil, werr
		}
		line, rerr := c.ReadLine()
		if rerr != nil {
			return nil, nil, rerr
		}
		msg, derr := c.decode(line)
		if derr != nil {
			return nil, derr, nil
		}
		keep(msg)
		step, err = sess.Next(ctx, msg)
	}
	if err != nil {
		return nil, err, nil
	}
	// Done: the Verifier, the token validator or the TLS client
	// certificate authenticated the account, and the authorization policy
	// allowed the identity it acts as.
	return step.Principal, nil, nil
}

// decode turns one response line into a message.
func (c *Conn) decode(line string) ([]byte, error) {
	switch line {
	case "*":
		return nil, errCancelled
	case "=":
		return []byte{}, nil
	}
	return session.Decode([]byte(line), c.srv.b.sess.MaxMessage)
}

// Login checks a user name and password for a protocol command outside
// SASL (IMAP LOGIN) through the Verifier that PLAIN uses, under the same
// rules as [Conn.Exchange]: refused without TLS unless -insecure-auth,
// counted towards [MaxFailures], and answered after -fail-delay when it
// fails.
func (c *Conn) Login(user, password string) (*creds.Principal, Outcome) {
	if !c.srv.b.ClearAllowed(c.ch) {
		return nil, c.finish("LOGIN command", nil, errEncryptionRequired)
	}
	ctx, a, err := c.before()
	if err != nil {
		return nil, c.finish("LOGIN command", nil, err)
	}
	p, err := c.srv.b.checkPassword(ctx, user, password)
	o := c.finish("LOGIN command", p, err)
	account := ""
	if p != nil {
		account = p.Account()
	}
	c.after(a, o, account, []byte(password))
	return p, o
}

var errEncryptionRequired = fmt.Errorf("authserver: LOGIN command: %w", registry.ErrEncryptionRequired)

// finish classifies, logs, counts and delays a finished attempt.
func (c *Conn) finish(what string, p *creds.Principal, err error) Outcome {
	o := Classify(err)
	attrs := []any{"proto", c.srv.proto, "remote", c.RemoteAddr().String(), "mech", what, "outcome", o.String()}
	level := slog.LevelInfo
	switch {
	case o == OK && p.Anonymous():
		attrs = append(attrs, "user", "(anonymous)")
	case o == OK:
		attrs = append(attrs, "user", p.Effective())
		if p.Authzid() != "" {
			attrs = append(attrs, "account", p.Account())
		}
	case o == Temporary:
		// The reason stays in the log: clients are never shown it.
		attrs = append(attrs, "err", err)
		if errors.Is(err, creds.ErrMisconfigured) {
			// Not the client's doing: the server's configuration is
			// wrong, and someone must fix it.
			level = slog.LevelError
		}
	}
	c.srv.b.log.Log(c.ctx, level, "authentication", attrs...)
	if o == OK {
		return o
	}
	c.failures++
	if o == AuthFailed || o == Unauthorized {
		c.penalize()
	}
	return o
}

// penalize waits -fail-delay, in this connection's goroutine only, so that
// other clients are not slowed. The wait is capped at -auth-timeout and
// ends early when the server closes.
func (c *Conn) penalize() {
	d := c.srv.b.cfg.FailDelay
	if d <= 0 {
		return
	}
	if t := c.srv.b.cfg.authTimeout(); d > t {
		d = t
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-c.ctx.Done():
	}
}
