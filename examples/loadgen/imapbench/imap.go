package imapbench

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/session"
)

// maxLine bounds the lines read from a server; a capability list is far
// shorter.
const maxLine = 4096

// wrongSuffix turns a right password into a wrong one.
const wrongSuffix = "-wrong"

// conn is one IMAP connection's line reader and writer.
type conn struct {
	rw io.ReadWriter
	r  *bufio.Reader
}

// line reads one line, without its CRLF. A line longer than maxLine is an
// error.
func (c *conn) line() (string, error) {
	b, err := c.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return "", fmt.Errorf("line longer than %d octets", maxLine)
	}
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

func (c *conn) send(line string) error {
	_, err := io.WriteString(c.rw, line+"\r\n")
	return err
}

// login runs one loop iteration for a: connect, TLS, greeting,
// AUTHENTICATE, LOGOUT and close. It returns the time from the start of
// the connect to the tagged reply to AUTHENTICATE.
func (l *Load) login(ctx context.Context, a Account) (time.Duration, TLSInfo, error) {
	timeout := l.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	var info TLSInfo
	began := time.Now()
	deadline := began.Add(timeout)
	d := net.Dialer{Deadline: deadline}
	nc, err := d.DialContext(ctx, "tcp", l.Addr)
	if err != nil {
		return 0, info, fmt.Errorf("connect: %w", err)
	}
	defer nc.Close()
	if err := nc.SetDeadline(deadline); err != nil {
		return 0, info, err
	}
	var rw io.ReadWriter = nc
	var ch mech.Channel
	if l.TLS != nil {
		tc := tls.Client(nc, l.TLS)
		if err := tc.HandshakeContext(ctx); err != nil {
			return 0, info, fmt.Errorf("TLS handshake: %w", err)
		}
		cs := tc.ConnectionState()
		info = TLSInfo{cs.Version, cs.CipherSuite, cs.CurveID}
		rw = tc
		// Confidential, but without channel bindings: the benchmark runs
		// no -PLUS mechanism, and a SCRAM client that has bindings sends
		// the "y" flag.
		ch.Secure = true
	}
	c := &conn{rw: rw, r: bufio.NewReaderSize(rw, maxLine)}
	greeting, err := c.line()
	if err != nil {
		return 0, info, fmt.Errorf("greeting: %w", err)
	}
	if !strings.HasPrefix(greeting, "* OK") {
		return 0, info, fmt.Errorf("greeting %q", clip(greeting))
	}

	password := a.Password
	if l.Wrong {
		password += wrongSuffix
	}
	s := session.NewClient(l.Mechanism, creds.Client{Authcid: a.Name, Password: password}, ch, nil)
	cmd := "a AUTHENTICATE " + s.Mechanism()
	if strings.Contains(greeting, " SASL-IR") {
		ir, ok, err := s.Start(ctx)
		if err != nil {
			return 0, info, fmt.Errorf("client session: %w", err)
		}
		if ok && len(ir) == 0 {
			cmd += " ="
		} else if ok {
			cmd += " " + session.Encode(ir)
		}
	}
	if err := c.send(cmd); err != nil {
		return 0, info, err
	}
	status, clientErr, err := c.exchange(ctx, s)
	latency := time.Since(began)
	if err != nil {
		return 0, info, err
	}
	switch {
	case clientErr != nil:
		return 0, info, fmt.Errorf("client session: %w (server: %q)", clientErr, clip(status))
	case strings.HasPrefix(status, "OK") && l.Wrong:
		return 0, info, fmt.Errorf("a wrong password was accepted: %q", clip(status))
	case strings.HasPrefix(status, "OK"):
		if err := s.Success(ctx); err != nil {
			return 0, info, fmt.Errorf("client refuses the server's success: %w", err)
		}
	case strings.HasPrefix(status, "NO") && l.Wrong:
	default:
		return 0, info, fmt.Errorf("AUTHENTICATE: %q", clip(status))
	}
	if err := c.logout(); err != nil {
		return 0, info, err
	}
	return latency, info, nil
}

// exchange answers the server's challenges until the tagged reply, and
// returns the reply's status ("OK …", "NO …") and the client session's
// error, if it failed and cancelled the exchange.
func (c *conn) exchange(ctx context.Context, s *session.Client) (status string, clientErr, err error) {
	for {
		l, err := c.line()
		if err != nil {
			return "", nil, fmt.Errorf("AUTHENTICATE: %w", err)
		}
		switch {
		case l == "+" || strings.HasPrefix(l, "+ "):
			msg, err := session.Decode([]byte(strings.TrimPrefix(l[1:], " ")), 0)
			if err != nil {
				return "", nil, fmt.Errorf("challenge: %w", err)
			}
			resp, err := s.Next(ctx, msg)
			if err != nil {
				clientErr = err
				if err := c.send("*"); err != nil {
					return "", nil, err
				}
				continue
			}
			if err := c.send(session.Encode(resp)); err != nil {
				return "", nil, err
			}
		case strings.HasPrefix(l, "a "):
			return l[2:], clientErr, nil
		case strings.HasPrefix(l, "* "):
			// Untagged data (a capability list, say): ignored.
		default:
			return "", nil, fmt.Errorf("AUTHENTICATE: unexpected line %q", clip(l))
		}
	}
}

// logout sends LOGOUT and reads up to its tagged OK.
func (c *conn) logout() error {
	if err := c.send("z LOGOUT"); err != nil {
		return err
	}
	for {
		l, err := c.line()
		if err != nil {
			return fmt.Errorf("LOGOUT: %w", err)
		}
		if rest, ok := strings.CutPrefix(l, "z "); ok {
			if !strings.HasPrefix(rest, "OK") {
				return fmt.Errorf("LOGOUT: %q", clip(l))
			}
			return nil
		}
	}
}

// clip shortens a server line for an error message.
func clip(s string) string {
	const n = 120
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
