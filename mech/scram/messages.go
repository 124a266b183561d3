package scram

import (
	"bytes"
	"encoding/base64"
)

// Limits on message parts.
const (
	// MaxNonce is the longest nonce, in octets, accepted from a peer.
	MaxNonce = 256
	// maxUser is the longest encoded user name accepted: 255 octets, each
	// of which may need a 3-octet escape.
	maxUser = 3 * 255
)

// attrs walks the comma-separated attributes of a SCRAM message. Each is
// a single ASCII letter, "=", and a value without commas.
type attrs struct {
	rest []byte
	done bool
}

// next returns the next attribute's name and value, or ok false at the end
// of the message. bad is set when an attribute is malformed.
func (a *attrs) next() (name byte, val []byte, ok, bad bool) {
	if a.done {
		return 0, nil, false, false
	}
	f := a.rest
	if i := bytes.IndexByte(f, ','); i >= 0 {
		f, a.rest = f[:i], f[i+1:]
	} else {
		a.rest, a.done = nil, true
	}
	if len(f) < 2 || f[1] != '=' || !isAlpha(f[0]) {
		return 0, nil, false, true
	}
	return f[0], f[2:], true, false
}

func isAlpha(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

// reserved reports whether an extension attribute's name is one RFC 5802
// defines, which must not appear again as an extension.
func reserved(c byte) bool {
	switch c {
	case 'a', 'c', 'e', 'i', 'm', 'n', 'p', 'r', 's', 'v':
		return true
	}
	return false
}

// validNonce reports whether n is a valid nonce: printable ASCII without a
// comma (RFC 5802 section 7), 1 to MaxNonce octets.
func validNonce(n []byte) bool {
	if len(n) == 0 || len(n) > MaxNonce {
		return false
	}
	for _, c := range n {
		if c < 0x21 || c > 0x7e || c == ',' {
			return false
		}
	}
	return true
}

// validErrorValue reports whether v is a plausible server-error-value
// (RFC 5802 section 7): 1 to 64 value-chars we can safely report.
func validErrorValue(v []byte) bool {
	if len(v) == 0 || len(v) > 64 {
		return false
	}
	for _, c := range v {
		if c < 0x21 || c > 0x7e || c == ',' || c == '=' {
			return false
		}
	}
	return true
}

// decodeB64 decodes strict standard base64 of at most max octets.
func decodeB64(b []byte, max int) ([]byte, bool) {
	if len(b) == 0 || len(b) > base64.StdEncoding.EncodedLen(max) {
		return nil, false
	}
	out := make([]byte, base64.StdEncoding.DecodedLen(len(b)))
	n, err := strictB64.Decode(out, b)
	if err != nil || n > max {
		// The encoded length bounds the decoded one only to within two
		// octets; the decoded length is the limit.
		return nil, false
	}
	return out[:n], true
}

var strictB64 = base64.StdEncoding.Strict()

func appendB64(b, src []byte) []byte {
	return base64.StdEncoding.AppendEncode(b, src)
}
