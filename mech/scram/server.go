package scram

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"errors"
	"io"
	"strconv"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/gs2"
)

// Server-error values (RFC 5802 section 7) the server sends in "e=".
const (
	valueInvalidEncoding          = "invalid-encoding"
	valueExtensionsNotSupported   = "extensions-not-supported"
	valueInvalidProof             = "invalid-proof"
	valueBindingsDontMatch        = "channel-bindings-dont-match"
	valueServerDoesSupportBinding = "server-does-support-channel-binding"
	valueBindingNotSupported      = "channel-binding-not-supported"
	valueUnsupportedBindingType   = "unsupported-channel-binding-type"
	valueInvalidUsernameEncoding  = "invalid-username-encoding"
	valueOtherError               = "other-error"
)

// Mechanism is a SCRAM mechanism, client and server. Its zero value is
// SCRAM-SHA-256, ready to use on either side. A Mechanism is safe for
// concurrent use and must not be modified once in use.
//
// A server looks the user's keys up through the session's
// [creds.Verifier] ([creds.Verifier.LookupSCRAM]): the store, the mock keys
// of unknown users and their secret are the Verifier's, shared with every
// other mechanism, so a Mechanism has no server-only settings: Hash, Plus,
// Rand, NonceLen and PostgreSQL apply to both sides, and the other fields
// to clients.
type Mechanism struct {
	// Hash is the hash function. The zero Hash means SHA256.
	Hash Hash
	// Plus selects the -PLUS variant, with channel binding.
	Plus bool

	// Rand is the source of nonces, on both sides. If nil,
	// crypto/rand.Reader is used.
	Rand io.Reader
	// NonceLen is the number of characters in a nonce, each drawn from the
	// 93 printable characters RFC 5802 allows (6.5 bits each). Zero means
	// 24 (156 bits); values above MaxNonce mean MaxNonce.
	NonceLen int

	// MinIterations and MaxIterations, a client setting, bound the
	// iteration count a client accepts from a server. Zero means [creds.MinSCRAMIterations] (4096,
	// RFC 7677 section 4) and [creds.MaxSCRAMIterations].
	MinIterations, MaxIterations int
	// Cache, a client setting, if not nil, keeps a client's derived keys
	// for reuse.
	Cache *KeyCache
	// NoPrepUser and NoPrepPassword, client settings, turn off SASLprep of
	// the client's user
	// name (MongoDB, for one, does not prepare user names) and password.
	// A server prepares names in its store ([creds.Store.Lookup]).
	NoPrepUser, NoPrepPassword bool

	// PostgreSQL selects PostgreSQL's variant of the exchange, on both
	// sides. PostgreSQL names the user in its startup message, before
	// SASL, so libpq and pgx send an empty user name ("n=,r=…") and the
	// server takes the user from outside the exchange. A server with
	// PostgreSQL set looks up [mech.Channel.User], which the application
	// fills from the startup message (a session without it is a
	// configuration error), and accepts an empty "n=", "n=*" (pgjdbc) or
	// that same user, refusing any other name; a client with PostgreSQL
	// set sends the empty "n=" and needs no user name. Off by default:
	// RFC 5802 makes the user name mandatory.
	PostgreSQL bool
}

func (m Mechanism) hash() Hash {
	if m.Hash.new == nil {
		return SHA256
	}
	return m.Hash
}

// Name returns the mechanism's name, such as "SCRAM-SHA-256-PLUS".
func (m Mechanism) Name() string { return m.hash().Mechanism(m.Plus) }

// Properties: client-first, mutual authentication, no secret in the clear,
// and channel binding for -PLUS.
func (m Mechanism) Properties() mech.Properties {
	return mech.Properties{Mutual: true, ChannelBinding: m.Plus, Uses: mech.UsesPassword}
}

// CheckConfig implements [mech.ConfigChecker]: a SCRAM server needs an
// account store that holds keys for its hash, and the PostgreSQL variant
// needs the connection's user ([mech.Channel.User]).
func (m Mechanism) CheckConfig(in *mech.ServerInput) error {
	if in.Verifier == nil || in.Verifier.Store == nil {
		return &mech.Error{Mechanism: m.Name(), Reason: "needs an account store (session.Config.Verifier)", Err: creds.ErrMisconfigured}
	}
	if m.PostgreSQL && (in.Channel == nil || in.Channel.User == "") {
		return &mech.Error{Mechanism: m.Name(), Reason: "PostgreSQL variant needs the connection's user (mech.Channel.User)", Err: creds.ErrMisconfigured}
	}
	p, err := in.Verifier.Profile()
	if err != nil {
		return &mech.Error{Mechanism: m.Name(), Err: err}
	}
	h := m.hash()
	for _, s := range p.SCRAM {
		if s.Hash == h.name {
			return nil
		}
	}
	return &mech.Error{Mechanism: m.Name(), Reason: "needs SCRAM-" + h.name + " keys, and the account store holds none", Err: creds.ErrMisconfigured}
}

// serverState is what the server keeps with its server-first message.
type serverState struct {
	lookup  *creds.SCRAMLookup
	keys    *creds.SCRAMKeys
	user    string
	authzid string
	gs2Len  int    // length of the GS2 header in the client-first message
	cbData  []byte // channel-binding data expected in c=, after the header
}

// ServerAttempt implements [mech.Server].
func (m Mechanism) ServerAttempt(ctx context.Context, in *mech.ServerInput) (mech.ServerResult, error) {
	switch len(in.Pairs) {
	case 0:
		return mech.ServerResult{Challenge: []byte{}}, nil
	case 1:
		return m.serverFirst(ctx, in)
	case 2:
		return m.serverFinal(in)
	}
	return mech.ServerResult{}, &mech.Error{Mechanism: m.Name(), Reason: "exchange is over", Err: mech.ErrInvalidResponse}
}

func (m Mechanism) fail(value, reason string, sentinel error) error {
	return &mech.FailureError{
		Data: []byte("e=" + value),
		Err:  &mech.Error{Mechanism: m.Name(), Reason: reason, Err: sentinel},
	}
}

func (m Mechanism) serverFirst(ctx context.Context, in *mech.ServerInput) (mech.ServerResult, error) {
	msg := in.Pairs[0].Response
	h, n, err := gs2.Parse(msg)
	if err != nil {
		return mech.ServerResult{}, m.fail(valueInvalidEncoding, "malformed GS2 header", mech.ErrInvalidResponse)
	}
	st := &serverState{authzid: h.Authzid, gs2Len: n}
	ch := in.Channel
	if ch == nil {
		ch = &mech.Channel{}
	}
	switch {
	case h.Flag == gs2.Binding && !m.Plus:
		return mech.ServerResult{}, m.fail(valueBindingNotSupported, "channel binding with a non-PLUS mechanism", mech.ErrInvalidResponse)
	case h.Flag == gs2.Binding:
		data, ok := ch.Binding(h.CBName)
		if !ok {
			return mech.ServerResult{}, m.fail(valueUnsupportedBindingType, "unsupported channel-binding type", mech.ErrAuthFailed)
		}
		st.cbData = data
	case m.Plus:
		return mech.ServerResult{}, m.fail(valueOtherError, "PLUS mechanism without channel binding", mech.ErrInvalidResponse)
	case h.Flag == gs2.ClientOnly && len(ch.Bindings) > 0:
		// The client can bind and we could have: someone removed -PLUS
		// from the list it saw.
		return mech.ServerResult{}, m.fail(valueServerDoesSupportBinding, "channel-binding downgrade", mech.ErrAuthFailed)
	}

	// client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
	a := attrs{rest: msg[n:]}
	name, user, ok, bad := a.next()
	if ok && name == 'm' {
		return mech.ServerResult{}, m.fail(valueExtensionsNotSupported, "mandatory extension", mech.ErrInvalidResponse)
	}
	if bad || !ok || name != 'n' || len(user) == 0 && !m.PostgreSQL || len(user) > maxUser {
		return mech.ServerResult{}, m.fail(valueInvalidEncoding, "missing or bad user name", mech.ErrInvalidResponse)
	}
	if st.user, err = gs2.DecodeName(user); err != nil {
		return mech.ServerResult{}, m.fail(valueInvalidUsernameEncoding, "bad user name encoding", mech.ErrInvalidResponse)
	}
	if m.PostgreSQL {
		// The user is the one the protocol named outside SASL; the
		// client may leave n= empty (libpq, pgx), send "*" (pgjdbc), or
		// repeat that name, and nothing else.
		if st.user != "" && st.user != "*" && st.user != ch.User {
			return mech.ServerResult{}, m.fail(valueOtherError, "user name differs from the connection's", mech.ErrInvalidResponse)
		}
		st.user = ch.User
	}
	name, cnonce, ok, bad := a.next()
	if bad || !ok || name != 'r' || !validNonce(cnonce) {
		return mech.ServerResult{}, m.fail(valueInvalidEncoding, "missing or bad nonce", mech.ErrInvalidResponse)
	}
	if err := checkExtensions(&a); err != nil {
		return mech.ServerResult{}, m.fail(valueInvalidEncoding, "malformed extension", mech.ErrInvalidResponse)
	}

	hh := m.hash()
	// An unknown user gets mock keys of the store's shape and fails at the
	// proof, as a wrong password does.
	if st.lookup, err = in.Verifier.LookupSCRAM(ctx, st.user, hh.name); err != nil {
		return mech.ServerResult{}, &mech.Error{Mechanism: m.Name(), Reason: "account store failed", Err: err}
	}
	st.keys = &st.lookup.Keys
	if len(st.keys.StoredKey) != hh.size || len(st.keys.ServerKey) != hh.size {
		return mech.ServerResult{}, &mech.Error{Mechanism: m.Name(), Reason: "stored keys do not fit the hash", Err: creds.ErrMisconfigured}
	}

	sc := hh.getScratch()
	defer sc.put()
	c := make([]byte, 0, 2+len(cnonce)+nonceLen(m.NonceLen)+3+base64Len(len(st.keys.Salt))+3+10)
	c = append(c, "r="...)
	c = append(c, cnonce...)
	if c, err = appendNonce(c, m.Rand, m.NonceLen, sc); err != nil {
		return mech.ServerResult{}, err
	}
	c = append(c, ",s="...)
	c = appendB64(c, st.keys.Salt)
	c = append(c, ",i="...)
	c = strconv.AppendInt(c, int64(st.keys.Iterations), 10)
	return mech.ServerResult{Challenge: c, State: st}, nil
}

// checkExtensions accepts optional extensions, which RFC 5802 says to
// ignore, but not a repeated attribute of the base protocol.
func checkExtensions(a *attrs) error {
	for {
		name, _, ok, bad := a.next()
		if bad {
			return errMalformed
		}
		if !ok {
			return nil
		}
		if reserved(name) {
			return errMalformed
		}
	}
}

var errMalformed = errors.New("malformed")

func (m Mechanism) serverFinal(in *mech.ServerInput) (mech.ServerResult, error) {
	st, _ := in.Pairs[1].State.(*serverState)
	if st == nil {
		return mech.ServerResult{}, &mech.Error{Mechanism: m.Name(), Reason: "transcript without server state", Err: mech.ErrInvalidResponse}
	}
	hh := m.hash()
	first := in.Pairs[0].Response
	serverFirst := in.Pairs[1].Challenge
	msg := in.Pairs[1].Response

	// client-final-message = channel-binding "," nonce ["," extensions] "," proof
	a := attrs{rest: msg}
	name, cb, ok, bad := a.next()
	if bad || !ok || name != 'c' {
		return mech.ServerResult{}, m.fail(valueInvalidEncoding, "missing channel binding", mech.ErrInvalidResponse)
	}
	name, rnonce, ok, bad := a.next()
	if bad || !ok || name != 'r' {
		return mech.ServerResult{}, m.fail(valueInvalidEncoding, "missing nonce", mech.ErrInvalidResponse)
	}
	var proof []byte
	var withoutProof int
	for {
		start := len(msg) - len(a.rest)
		name, val, ok, bad := a.next()
		if bad || !ok {
			return mech.ServerResult{}, m.fail(valueInvalidEncoding, "missing proof", mech.ErrInvalidResponse)
		}
		if name == 'p' {
			if !a.done {
				return mech.ServerResult{}, m.fail(valueInvalidEncoding, "proof is not last", mech.ErrInvalidResponse)
			}
			proof = val
			withoutProof = start - 1
			break
		}
		if reserved(name) {
			return mech.ServerResult{}, m.fail(valueInvalidEncoding, "repeated attribute", mech.ErrInvalidResponse)
		}
	}
	if len(proof) != base64Len(hh.size) {
		return mech.ServerResult{}, m.fail(valueInvalidEncoding, "bad proof length", mech.ErrInvalidResponse)
	}
	sc := hh.getScratch()
	defer sc.put()
	// Decode needs room for DecodedLen octets, which may be more than the
	// proof's size when the input is corrupt.
	p := sc.b[:strictB64.DecodedLen(len(proof))]
	if n, err := strictB64.Decode(p, proof); err != nil || n != hh.size {
		return mech.ServerResult{}, m.fail(valueInvalidEncoding, "bad proof encoding", mech.ErrInvalidResponse)
	}

	// c= must carry the GS2 header as the client sent it, followed by the
	// channel-binding data for "p=".
	if !checkCB(cb, first[:st.gs2Len], st.cbData, sc) {
		return mech.ServerResult{}, m.fail(valueBindingsDontMatch, "channel binding does not match", mech.ErrAuthFailed)
	}
	// The nonce must be the one we sent: it follows "r=" in server-first.
	sa := attrs{rest: serverFirst}
	_, snonce, _, _ := sa.next()
	if !hmac.Equal(rnonce, snonce) {
		return mech.ServerResult{}, m.fail(valueOtherError, "nonce does not match", mech.ErrAuthFailed)
	}

	// AuthMessage = client-first-message-bare "," server-first-message ","
	//               client-final-message-without-proof
	bare := first[st.gs2Len:]
	am := append(sc.buf[:0], bare...)
	am = append(am, ',')
	am = append(am, serverFirst...)
	am = append(am, ',')
	am = append(am, msg[:withoutProof]...)
	sc.buf = am

	sig := sc.mac(sc.a[:0], st.keys.StoredKey, am) // ClientSignature
	for i := range sig {
		sig[i] ^= p[i] // ClientKey = ClientProof XOR ClientSignature
	}
	if !hmac.Equal(sc.sum(p[:0], sig), st.keys.StoredKey) {
		return mech.ServerResult{}, m.fail(valueInvalidProof, "invalid proof", creds.ErrBadCredentials)
	}
	account, err := st.lookup.Account()
	if err != nil {
		// Mock keys: no proof can match them, but if one did, it would
		// still not log anybody in.
		return mech.ServerResult{}, m.fail(valueInvalidProof, "invalid proof", creds.ErrBadCredentials)
	}
	final := make([]byte, 0, 2+base64Len(hh.size))
	final = append(final, "v="...)
	final = appendB64(final, sc.mac(sc.a[:0], st.keys.ServerKey, am))
	return mech.ServerResult{
		Principal: creds.NewPrincipal(m.Name(), account, st.authzid),
		Final:     final,
		HasFinal:  true,
	}, nil
}

// checkCB reports whether the c= value cb is base64 of header || data.
func checkCB(cb, header, data []byte, sc *scratch) bool {
	want := len(header) + len(data)
	if len(cb) != base64Len(want) {
		return false
	}
	got := sc.buf[:0]
	if room := strictB64.DecodedLen(len(cb)); cap(got) < room {
		got = make([]byte, 0, room)
	}
	got = got[:strictB64.DecodedLen(len(cb))]
	n, err := strictB64.Decode(got, cb)
	if err != nil || n != want {
		return false
	}
	got = got[:n]
	// hmac.Equal compares in constant time; the binding data is secret
	// from anyone outside the TLS connection.
	return hmac.Equal(got[:len(header)], header) && hmac.Equal(got[len(header):], data)
}

func base64Len(n int) int { return (n + 2) / 3 * 4 }

// nonceLen returns the nonce length for a NonceLen setting.
func nonceLen(n int) int {
	switch {
	case n <= 0:
		return 24
	case n > MaxNonce:
		return MaxNonce
	}
	return n
}

// appendNonce appends nonceLen(n) random printable characters other than
// ",", the alphabet of RFC 5802 nonces, drawn from r by rejection: a byte is
// used if it is such a character. Reading bytes that are already the
// characters is what lets tests replay the RFC vectors' nonces exactly. It
// reads up to three times what it needs at once, so that crypto/rand is
// usually called once.
func appendNonce(dst []byte, r io.Reader, n int, sc *scratch) ([]byte, error) {
	if r == nil {
		r = rand.Reader
	}
	n = nonceLen(n)
	buf := sc.buf[:0]
	if cap(buf) < 3*MaxNonce {
		buf = make([]byte, 0, 3*MaxNonce)
	}
	sc.buf = buf
	buf = buf[:cap(buf)]
	// 93 of 256 byte values are used: about 2.8 bytes a character. A source
	// that yields none in 64 reads is broken.
	for need, tries := n, 0; need > 0; tries++ {
		if tries == 64 {
			return nil, errors.New("saslkit/scram: random source yields no nonce characters")
		}
		got, err := io.ReadAtLeast(r, buf[:min(3*need, len(buf))], need)
		if err != nil {
			return nil, err
		}
		for _, c := range buf[:got] {
			if c >= 0x21 && c <= 0x7e && c != ',' && need > 0 {
				dst = append(dst, c)
				need--
			}
		}
	}
	return dst, nil
}
