package mech

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"io"
	"os"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/prep"
)

// CRAMMD5 is the CRAM-MD5 mechanism (RFC 2195), client and server. The zero
// value is ready to use.
//
// The server's challenge is "<random.timestamp@hostname>", with 128 bits
// from a CSPRNG. The server refuses an initial response: CRAM-MD5 has none,
// and accepting one would let a captured response be replayed. It needs the
// clear password ([creds.Verifier.CheckClear]): an account store that holds
// clear passwords, which CheckConfig requires. An account without one fails
// as a wrong password does.
//
// Both sides prepare the password with SASLprep, so a client and a server
// agree on the key for any Unicode password.
//
// CRAM-MD5 is obsolete (RFC 2195 relies on HMAC-MD5 and stores clear
// secrets); prefer SCRAM.
type CRAMMD5 struct {
	// Hostname is the host name in the challenge. If empty, os.Hostname is
	// used, or "localhost" when that fails.
	Hostname string
	// Rand is the source of the challenge's random part. If nil,
	// crypto/rand.Reader is used.
	Rand io.Reader
	// Now returns the time for the challenge's timestamp. If nil, time.Now
	// is used.
	Now func() time.Time
	// NoPrep turns off SASLprep of the client's password.
	NoPrep bool
}

// Name returns "CRAM-MD5".
func (CRAMMD5) Name() string { return "CRAM-MD5" }

// Properties: server-first.
func (CRAMMD5) Properties() Properties {
	return Properties{ServerFirst: true, Uses: UsesPassword}
}

// CheckConfig implements [ConfigChecker]: CRAM-MD5 needs a store that
// holds clear passwords.
func (CRAMMD5) CheckConfig(in *ServerInput) error {
	if err := needStore("CRAM-MD5", in); err != nil {
		return err
	}
	if p, _ := in.Verifier.Profile(); !p.ClearSecrets {
		return &Error{Mechanism: "CRAM-MD5", Reason: "needs clear passwords, and the account store holds none", Err: creds.ErrMisconfigured}
	}
	return nil
}

// ServerAttempt implements [Server].
func (m CRAMMD5) ServerAttempt(ctx context.Context, in *ServerInput) (ServerResult, error) {
	if len(in.Pairs) == 0 {
		c, err := m.challenge()
		if err != nil {
			return ServerResult{}, err
		}
		return ServerResult{Challenge: c}, nil
	}
	p := in.Pairs[0]
	if p.Initial || len(p.Challenge) == 0 {
		return ServerResult{}, &Error{Mechanism: "CRAM-MD5", Reason: "initial response refused", Err: ErrNoInitialResponse}
	}
	user, digest, err := parseCRAM(p.Response)
	if err != nil {
		return ServerResult{}, err
	}
	challenge := p.Challenge
	account, err := in.Verifier.CheckClear(ctx, user, func(secret string) bool {
		return hmac.Equal(cramDigest(secret, challenge), digest[:])
	})
	if err != nil {
		return ServerResult{}, badCredentials("CRAM-MD5", err)
	}
	return ServerResult{Principal: creds.NewPrincipal("CRAM-MD5", account, "")}, nil
}

func (m CRAMMD5) challenge() ([]byte, error) {
	r := m.Rand
	if r == nil {
		r = rand.Reader
	}
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return nil, &Error{Mechanism: "CRAM-MD5", Reason: "reading randomness failed", Err: err}
	}
	host := m.Hostname
	if host == "" {
		if h, err := os.Hostname(); err == nil && h != "" {
			host = h
		} else {
			host = "localhost"
		}
	}
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	c := make([]byte, 0, 1+32+1+20+1+len(host)+1)
	c = append(c, '<')
	c = hex.AppendEncode(c, b[:])
	c = append(c, '.')
	c = strconv.AppendInt(c, now().Unix(), 10)
	c = append(c, '@')
	c = append(c, host...)
	c = append(c, '>')
	return c, nil
}

// parseCRAM splits "user SP digest", where digest is 32 lower-case hex
// digits (RFC 2195 section 2).
func parseCRAM(resp []byte) (user string, digest [md5.Size]byte, err error) {
	const hexLen = 2 * md5.Size
	if len(resp) < hexLen+2 {
		return "", digest, invalid("CRAM-MD5", "response too short")
	}
	if len(resp) > MaxField+1+hexLen {
		return "", digest, invalid("CRAM-MD5", "response too long")
	}
	sp := len(resp) - hexLen - 1
	if resp[sp] != ' ' {
		return "", digest, invalid("CRAM-MD5", "missing separator")
	}
	h := resp[sp+1:]
	for _, c := range h {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return "", digest, invalid("CRAM-MD5", "digest is not lower-case hex")
		}
	}
	if _, err := hex.Decode(digest[:], h); err != nil {
		return "", digest, invalid("CRAM-MD5", "digest is not lower-case hex")
	}
	u := resp[:sp]
	if !utf8.Valid(u) {
		return "", digest, invalid("CRAM-MD5", "invalid UTF-8")
	}
	for _, c := range u {
		if c == 0 {
			return "", digest, invalid("CRAM-MD5", "NUL in user name")
		}
	}
	return string(u), digest, nil
}

func cramDigest(secret string, challenge []byte) []byte {
	h := hmac.New(md5.New, []byte(secret))
	h.Write(challenge)
	return h.Sum(nil)
}

// ClientAttempt implements [Client]: "user SP hex(HMAC-MD5(password,
// challenge))" to the server's challenge.
func (m CRAMMD5) ClientAttempt(_ context.Context, in *ClientInput) (ClientResult, error) {
	if in.Initial {
		return ClientResult{}, &Error{Mechanism: "CRAM-MD5", Err: ErrNoInitialResponse}
	}
	if len(in.Pairs) > 0 {
		return ClientResult{}, unexpected("CRAM-MD5")
	}
	if len(in.Challenge) == 0 {
		return ClientResult{}, invalidChallenge("CRAM-MD5", "empty challenge")
	}
	c := in.Creds
	if err := checkClientField("CRAM-MD5", c.Authcid, false); err != nil {
		return ClientResult{}, err
	}
	secret := c.Password
	if !m.NoPrep {
		p, err := prep.Query(secret)
		if err != nil {
			return ClientResult{}, &Error{Mechanism: "CRAM-MD5", Reason: "password fails SASLprep", Err: ErrInvalidCredentials}
		}
		secret = p
	}
	resp := make([]byte, 0, len(c.Authcid)+1+2*md5.Size)
	resp = append(resp, c.Authcid...)
	resp = append(resp, ' ')
	resp = hex.AppendEncode(resp, cramDigest(secret, in.Challenge))
	return ClientResult{Response: resp, Last: true}, nil
}

// ClientFinal implements [Client]: CRAM-MD5 expects no additional data.
func (CRAMMD5) ClientFinal(_ context.Context, _ *ClientInput, final []byte, hasFinal bool) error {
	return noFinal("CRAM-MD5", final, hasFinal)
}
