// Package gs2 parses and writes the GS2 header (RFC 5801 section 4) that
// starts SCRAM (RFC 5802) and OAUTHBEARER (RFC 7628) client messages, and
// encodes and decodes the "saslname" form of names (RFC 5802 section 5.1)
// used in it.
//
//	gs2-header     = gs2-cbind-flag "," [ authzid ] ","
//	gs2-cbind-flag = ("p=" cb-name) / "n" / "y"
//	authzid        = "a=" saslname
//	saslname       = 1*(value-safe-char / "=2C" / "=3D")
//
// The non-standard flag "F," of RFC 5801 is refused: neither SCRAM nor
// OAUTHBEARER allows it.
package gs2

import (
	"bytes"
	"errors"
	"strings"
	"unicode/utf8"
)

// ErrMalformed is wrapped by every error this package returns. The errors'
// text never quotes the input.
var ErrMalformed = errors.New("saslkit/gs2: malformed")

// Error is a parse error: what was malformed, without the input.
type Error struct{ Reason string }

// Error returns "saslkit/gs2: malformed " and the reason.
func (e *Error) Error() string { return "saslkit/gs2: malformed " + e.Reason }

// Unwrap returns [ErrMalformed].
func (e *Error) Unwrap() error { return ErrMalformed }

// Channel-binding flags.
const (
	// NoBinding ("n") means the client does not support channel binding.
	NoBinding = 'n'
	// ClientOnly ("y") means the client supports channel binding but
	// thinks the server does not.
	ClientOnly = 'y'
	// Binding ("p=") means the client uses channel binding of type
	// [Header.CBName].
	Binding = 'p'
)

// MaxCBName is the longest channel-binding type name accepted.
const MaxCBName = 64

// Header is a parsed GS2 header.
type Header struct {
	// Flag is [NoBinding], [ClientOnly] or [Binding].
	Flag byte
	// CBName is the channel-binding type when Flag is [Binding].
	CBName string
	// Authzid is the decoded authorization identity, or empty when the
	// header has none.
	Authzid string
}

// Parse reads a GS2 header from the start of msg. It returns the header,
// its length in octets (msg[:n] is the header exactly as sent, which SCRAM
// echoes in "c="), or an error wrapping [ErrMalformed].
func Parse(msg []byte) (h Header, n int, err error) {
	switch {
	case len(msg) == 0:
		return h, 0, &Error{"GS2 header: empty"}
	case msg[0] == 'n' || msg[0] == 'y':
		h.Flag = msg[0]
		n = 1
	case bytes.HasPrefix(msg, []byte("p=")):
		h.Flag = Binding
		end := bytes.IndexByte(msg, ',')
		if end < 0 {
			return Header{}, 0, &Error{"GS2 header: unterminated channel-binding name"}
		}
		if !ValidCBName(string(msg[2:end])) {
			return Header{}, 0, &Error{"GS2 header: bad channel-binding name"}
		}
		h.CBName = string(msg[2:end])
		n = end
	default:
		return Header{}, 0, &Error{"GS2 header: bad channel-binding flag"}
	}
	if n >= len(msg) || msg[n] != ',' {
		return Header{}, 0, &Error{"GS2 header: missing separator"}
	}
	n++
	if bytes.HasPrefix(msg[n:], []byte("a=")) {
		end := bytes.IndexByte(msg[n:], ',')
		if end < 0 {
			return Header{}, 0, &Error{"GS2 header: unterminated authzid"}
		}
		az, err := DecodeName(msg[n+2 : n+end])
		if err != nil {
			return Header{}, 0, err
		}
		if az == "" {
			return Header{}, 0, &Error{"GS2 header: empty authzid"}
		}
		h.Authzid = az
		n += end
	}
	if n >= len(msg) || msg[n] != ',' {
		return Header{}, 0, &Error{"GS2 header: missing separator"}
	}
	return h, n + 1, nil
}

// Append appends the header's wire form to b. The caller must have checked
// CBName (see [ValidCBName]); Authzid is encoded as a saslname.
func (h Header) Append(b []byte) []byte {
	switch h.Flag {
	case Binding:
		b = append(b, "p="...)
		b = append(b, h.CBName...)
	default:
		b = append(b, h.Flag)
	}
	b = append(b, ',')
	if h.Authzid != "" {
		b = append(b, "a="...)
		b = AppendName(b, h.Authzid)
	}
	return append(b, ',')
}

// ValidCBName reports whether name is a valid channel-binding type name:
// 1 to [MaxCBName] characters of ALPHA, DIGIT, "." and "-".
func ValidCBName(name string) bool {
	if name == "" || len(name) > MaxCBName {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// DecodeName decodes a saslname: "=2C" becomes ",", "=3D" becomes "=", and
// any other "=", a raw ",", a NUL or invalid UTF-8 is an error wrapping
// [ErrMalformed]. An empty input decodes to the empty string.
func DecodeName(b []byte) (string, error) {
	if !utf8.Valid(b) {
		return "", &Error{"saslname: invalid UTF-8"}
	}
	if bytes.IndexByte(b, 0) >= 0 || bytes.IndexByte(b, ',') >= 0 {
		return "", &Error{"saslname: forbidden character"}
	}
	if bytes.IndexByte(b, '=') < 0 {
		return string(b), nil
	}
	var sb strings.Builder
	sb.Grow(len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '=' {
			sb.WriteByte(c)
			continue
		}
		if i+2 >= len(b) {
			return "", &Error{"saslname: truncated escape"}
		}
		switch string(b[i+1 : i+3]) {
		case "2C":
			sb.WriteByte(',')
		case "3D":
			sb.WriteByte('=')
		default:
			return "", &Error{"saslname: bad escape"}
		}
		i += 2
	}
	return sb.String(), nil
}

// AppendName appends name to b as a saslname, escaping "," and "=".
func AppendName(b []byte, name string) []byte {
	for i := 0; i < len(name); i++ {
		switch c := name[i]; c {
		case ',':
			b = append(b, "=2C"...)
		case '=':
			b = append(b, "=3D"...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// EncodeName returns name as a saslname.
func EncodeName(name string) string {
	if strings.IndexByte(name, ',') < 0 && strings.IndexByte(name, '=') < 0 {
		return name
	}
	return string(AppendName(nil, name))
}
