package pgsasl

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The request codes of the packets that may come before the startup
// message, in place of its protocol version (PostgreSQL's pqcomm.h).
const (
	sslRequestCode    = 80877103 // 1234.5679
	gssEncRequestCode = 80877104 // 1234.5680
	cancelRequestCode = 80877102 // 1234.5678
	protocolMajor3    = 3
)

// maxStartupPacket is the longest startup packet read, as PostgreSQL's
// MAX_STARTUP_PACKET_LENGTH.
const maxStartupPacket = 10000

// maxMessage bounds every later message body a Server reads, as
// PostgreSQL's PG_MAX_AUTH_TOKEN_LENGTH bounds SASL messages.
const maxMessage = 65535

// ErrProtocol means the peer broke the PostgreSQL protocol: a packet or
// message that is malformed or not the one expected at that point.
var ErrProtocol = errors.New("pgsasl: protocol violation")

// readStartupPacket reads one packet of the startup phase, which has a
// length and no type byte, and returns its code (the protocol version of
// a startup message, or a request code) and its body after the code. It
// reads exactly the packet, so nothing the client sent after it, such as
// the TLS handshake after an SSLRequest, is taken from the connection.
func readStartupPacket(r io.Reader) (code uint32, body []byte, err error) {
	var hdr [8]byte
	if _, err := io.ReadFull(r, hdr[:4]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:4])
	if n < 8 || n > maxStartupPacket {
		return 0, nil, fmt.Errorf("%w: startup packet of %d octets", ErrProtocol, n)
	}
	if _, err := io.ReadFull(r, hdr[4:]); err != nil {
		return 0, nil, fmt.Errorf("%w: short startup packet", ErrProtocol)
	}
	body = make([]byte, n-8)
	if _, err := io.ReadFull(r, body); err != nil {
		return 0, nil, fmt.Errorf("%w: short startup packet", ErrProtocol)
	}
	return binary.BigEndian.Uint32(hdr[4:]), body, nil
}

// parseStartupParams parses the parameters of a startup message: pairs
// of NUL-terminated names and values, ended by an empty name.
func parseStartupParams(b []byte) (map[string]string, error) {
	params := map[string]string{}
	for {
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			return nil, fmt.Errorf("%w: unterminated startup parameter", ErrProtocol)
		}
		name := string(b[:i])
		b = b[i+1:]
		if name == "" {
			if len(b) != 0 {
				return nil, fmt.Errorf("%w: data after startup parameters", ErrProtocol)
			}
			return params, nil
		}
		j := bytes.IndexByte(b, 0)
		if j < 0 {
			return nil, fmt.Errorf("%w: unterminated startup parameter", ErrProtocol)
		}
		params[name] = string(b[:j])
		b = b[j+1:]
	}
}

// requestPacket returns the 8-octet packet of a request code: SSLRequest
// or GSSENCRequest.
func requestPacket(code uint32) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint32(b, 8)
	binary.BigEndian.PutUint32(b[4:], code)
	return b
}

// gs2Flag returns the channel-binding flag ('n', 'y' or 'p') and the
// binding type of a SCRAM client-first message's GS2 header, or zero and ""
// when it has none. It is for logs and tests; the mechanism parses the
// message itself.
func gs2Flag(msg []byte) (flag byte, cbName string) {
	if len(msg) == 0 {
		return 0, ""
	}
	switch msg[0] {
	case 'n', 'y':
		return msg[0], ""
	case 'p':
		name, _, _ := bytes.Cut(msg, []byte{','})
		if n, ok := bytes.CutPrefix(name, []byte("p=")); ok {
			return 'p', string(n)
		}
	}
	return 0, ""
}
