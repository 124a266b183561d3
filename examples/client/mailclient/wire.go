package mailclient

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/session"
)

// maxLine bounds a line from the server: the base64 of the largest message
// a session accepts, plus room for the protocol's framing.
var maxLine = base64.StdEncoding.EncodedLen(session.DefaultMaxMessage) + 1024

// errLineTooLong means the server sent a line longer than maxLine.
var errLineTooLong = errors.New("line from the server too long")

// wire is the connection to the server, read and written a line at a time.
type wire struct {
	conn net.Conn
	r    *bufio.Reader
	tls  *tls.Conn // nil until TLS is up
	log  io.Writer // nil, or where -v prints the lines
	// redact keeps the SASL messages sent out of the -v trace: they hold
	// a password or a bearer token.
	redact bool
}

// dial connects to o.addr, with TLS for -tls, and sets the session's
// deadline from ctx.
func dial(ctx context.Context, o *options, cfg *tls.Config, stdout io.Writer) (*wire, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", o.addr)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	w := &wire{conn: conn, r: bufio.NewReader(conn)}
	if o.verbose {
		w.log = stdout
	}
	if o.tls {
		if err := w.handshake(cfg); err != nil {
			conn.Close()
			return nil, err
		}
	}
	return w, nil
}

// handshake starts TLS on the connection.
func (w *wire) handshake(cfg *tls.Config) error {
	if w.r.Buffered() > 0 {
		// Anything the server sent before the handshake would be taken
		// as sent under TLS (the STARTTLS injection attack).
		return errors.New("server sent data before the TLS handshake")
	}
	tc := tls.Client(w.conn, cfg)
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("TLS handshake: %w", err)
	}
	w.tls = tc
	w.r = bufio.NewReader(tc)
	cs := tc.ConnectionState()
	w.logf("TLS: version %s, cipher suite %s", tls.VersionName(cs.Version), tls.CipherSuiteName(cs.CipherSuite))
	return nil
}

// channel returns the channel the exchange runs over: a plain connection,
// or the TLS connection with its channel bindings and, when a client
// certificate was configured, its common name as the external identity.
func (w *wire) channel(clientCN string) mech.Channel {
	if w.tls == nil {
		return mech.Channel{}
	}
	cs := w.tls.ConnectionState()
	ch := mech.ClientTLSChannel(&cs)
	ch.External = clientCN
	return ch
}

func (w *wire) logf(format string, a ...any) {
	if w.log != nil {
		fmt.Fprintf(w.log, format+"\n", a...)
	}
}

// readLine returns the next line, without its line ending.
func (w *wire) readLine() (string, error) {
	var line []byte
	for {
		frag, err := w.r.ReadSlice('\n')
		if len(line)+len(frag) > maxLine {
			return "", errLineTooLong
		}
		line = append(line, frag...)
		if err == nil {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return "", err
		}
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(line), "\n"), "\r")
	w.logf("< %s", s)
	return s, nil
}

// writeLine sends line with CRLF.
func (w *wire) writeLine(line string) error {
	w.logf("> %s", line)
	return w.write(line)
}

// writeMessage sends prefix and then encoded, the encoding of the SASL
// message msg, as one line. When the exchange's messages hold a secret
// (w.redact), the -v trace shows msg's size instead of encoded.
func (w *wire) writeMessage(prefix, encoded string, msg []byte) error {
	if w.redact {
		w.logf("> %s%s", prefix, redacted(msg))
	} else {
		w.logf("> %s%s", prefix, encoded)
	}
	return w.write(prefix + encoded)
}

func (w *wire) write(line string) error {
	_, err := io.WriteString(w.writer(), line+"\r\n")
	return err
}

func (w *wire) writer() io.Writer {
	if w.tls != nil {
		return w.tls
	}
	return w.conn
}

func (w *wire) close() {
	if w.tls != nil {
		w.tls.Close()
		return
	}
	w.conn.Close()
}

// encodeIR returns the initial response as IMAP (RFC 4959) and SMTP (RFC
// 4954) send it: base64, or "=" when it is empty.
func encodeIR(ir []byte) string {
	if len(ir) == 0 {
		return "="
	}
	return session.Encode(ir)
}
