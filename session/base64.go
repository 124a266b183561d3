package session

import (
	"bytes"
	"encoding/base64"
	"errors"
)

// ErrBase64 means a line was not valid base64.
var ErrBase64 = errors.New("saslkit/session: invalid base64")

var strict = base64.StdEncoding.Strict()

// Decode decodes one line of standard, padded base64 (RFC 4648 section 4)
// as IMAP, SMTP and POP3 carry SASL messages, refusing input longer than
// would decode to max octets (0 means [DefaultMaxMessage]) before decoding
// it. An empty line decodes to an empty message. The encoding must be
// canonical: padding bits must be zero, and CR and LF are refused.
//
// Decode knows nothing of protocol conventions: an IMAP or SMTP "=" for an
// empty initial response and "*" for a cancellation must be handled first.
func Decode(line []byte, max int) ([]byte, error) {
	if max <= 0 {
		max = DefaultMaxMessage
	}
	if len(line) > base64.StdEncoding.EncodedLen(max) {
		return nil, &LimitError{Err: ErrTooLarge, Limit: max}
	}
	// encoding/base64 skips CR and LF even in strict mode; a line holds
	// none.
	if bytes.ContainsAny(line, "\r\n") {
		return nil, ErrBase64
	}
	out := make([]byte, base64.StdEncoding.DecodedLen(len(line)))
	n, err := strict.Decode(out, line)
	if err != nil {
		return nil, ErrBase64
	}
	// EncodedLen rounds up to a whole quantum, so the length check above
	// lets through up to two octets more than max.
	if n > max {
		return nil, &LimitError{Err: ErrTooLarge, Limit: max}
	}
	return out[:n], nil
}

// Encode returns msg in standard, padded base64. An empty msg gives an empty
// string.
func Encode(msg []byte) string { return base64.StdEncoding.EncodeToString(msg) }
