package scram

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"errors"
	"io"
	"strconv"
	"sync"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/gs2"
)

// Server-error values (RFC 5802 section 7) the server sends in "e=".
const (
	ErrValueInvalidEncoding          = "invalid-encoding"
	ErrValueExtensionsNotSupported   = "extensions-not-supported"
	ErrValueInvalidProof             = "invalid-proof"
	ErrValueBindingsDontMatch        = "channel-bindings-dont-match"
	ErrValueServerDoesSupportBinding = "server-does-support-channel-binding"
	ErrValueBindingNotSupported      = "channel-binding-not-supported"
	ErrValueUnsupportedBindingType   = "unsupported-channel-binding-type"
	ErrValueInvalidUsernameEncoding  = "invalid-username-encoding"
	ErrValueOtherError               = "other-error"
)

// Mechanism is a SCRAM mechanism, client and server. Its zero value is
// SCRAM-SHA-256 with no store: set Hash, Plus and, for a server, Store. A
// Mechanism is safe for concurrent use and must not be modified once in use.
type Mechanism struct {
	// Hash is the hash function. The zero Hash means SHA256.
	Hash Hash
	// Plus selects the -PLUS variant, with channel binding.
	Plus bool

	// Store holds the users' keys, for the server. If nil, every user is
	// unknown and every exchange fails at the proof.
	Store Store
	// Secret keys the mock salts given to unknown users, so that they are
	// stable across restarts and servers. If nil, a random secret is made
	// once per process.
	Secret []byte
	// MockIterations is the iteration count given to unknown users; make it
	// what real users have. Zero means 4096.
	MockIterations int

	// Rand is the source of nonces. If nil, crypto/rand.Reader is used.
	Rand io.Reader
	// NonceLen is the number of characters in a nonce, each drawn from the
	// 93 printable characters RFC 5802 allows (6.5 bits each). Zero means
	// 24 (156 bits).
	NonceLen int

	// MinIterations and MaxIterations bound the iteration count a client
	// accepts from a server. Zero means DefaultMinIterations and
	// MaxIterations.
	MinIterations, MaxIterations int
	// Cache, if not nil, keeps a client's derived keys for reuse.
	Cache *KeyCache
	// NoPrepUser and NoPrepPassword turn off SASLprep of the client's user
	// name (MongoDB, for one, does not prepare user names) and password.
	NoPrepUser, NoPrepPassword bool
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

// serverState is what the server keeps with its server-first message.
type serverState struct {
	keys    Keys
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
		return mech.ServerResult{}, m.fail(ErrValueInvalidEncoding, "malformed GS2 header", mech.ErrInvalidResponse)
	}
	st := &serverState{authzid: h.Authzid, gs2Len: n}
	ch := in.Channel
	if ch == nil {
		ch = &mech.Channel{}
	}
	switch {
	case h.Flag == gs2.Binding && !m.Plus:
		return mech.ServerResult{}, m.fail(ErrValueBindingNotSupported, "channel binding with a non-PLUS mechanism", mech.ErrInvalidResponse)
	case h.Flag == gs2.Binding:
		data, ok := ch.Binding(h.CBName)
		if !ok {
			return mech.ServerResult{}, m.fail(ErrValueUnsupportedBindingType, "unsupported channel-binding type", mech.ErrAuthFailed)
		}
		st.cbData = data
	case m.Plus:
		return mech.ServerResult{}, m.fail(ErrValueOtherError, "PLUS mechanism without channel binding", mech.ErrInvalidResponse)
	case h.Flag == gs2.ClientOnly && len(ch.Bindings) > 0:
		// The client can bind and we could have: someone removed -PLUS
		// from the list it saw.
		return mech.ServerResult{}, m.fail(ErrValueServerDoesSupportBinding, "channel-binding downgrade", mech.ErrAuthFailed)
	}

	// client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
	a := attrs{rest: msg[n:]}
	name, user, ok, bad := a.next()
	if ok && name == 'm' {
		return mech.ServerResult{}, m.fail(ErrValueExtensionsNotSupported, "mandatory extension", mech.ErrInvalidResponse)
	}
	if bad || !ok || name != 'n' || len(user) == 0 || len(user) > maxUser {
		return mech.ServerResult{}, m.fail(ErrValueInvalidEncoding, "missing or bad user name", mech.ErrInvalidResponse)
	}
	if st.user, err = gs2.DecodeName(user); err != nil {
		return mech.ServerResult{}, m.fail(ErrValueInvalidUsernameEncoding, "bad user name encoding", mech.ErrInvalidResponse)
	}
	name, cnonce, ok, bad := a.next()
	if bad || !ok || name != 'r' || !validNonce(cnonce) {
		return mech.ServerResult{}, m.fail(ErrValueInvalidEncoding, "missing or bad nonce", mech.ErrInvalidResponse)
	}
	if err := checkExtensions(&a); err != nil {
		return mech.ServerResult{}, m.fail(ErrValueInvalidEncoding, "malformed extension", mech.ErrInvalidResponse)
	}

	hh := m.hash()
	// The mock keys are made for every user, known or not, so that an
	// unknown user costs what a known one costs.
	mock := m.mockKeys(hh, st.user)
	if m.Store != nil {
		st.keys, err = m.Store.Keys(ctx, hh, st.user)
	} else {
		err = ErrUnknownUser
	}
	switch {
	case errors.Is(err, ErrUnknownUser):
		st.keys = mock
	case err != nil:
		return mech.ServerResult{}, err
	case !st.keys.valid(hh):
		return mech.ServerResult{}, ErrBadKeys
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
		return mech.ServerResult{}, m.fail(ErrValueInvalidEncoding, "missing channel binding", mech.ErrInvalidResponse)
	}
	name, rnonce, ok, bad := a.next()
	if bad || !ok || name != 'r' {
		return mech.ServerResult{}, m.fail(ErrValueInvalidEncoding, "missing nonce", mech.ErrInvalidResponse)
	}
	var proof []byte
	var withoutProof int
	for {
		start := len(msg) - len(a.rest)
		name, val, ok, bad := a.next()
		if bad || !ok {
			return mech.ServerResult{}, m.fail(ErrValueInvalidEncoding, "missing proof", mech.ErrInvalidResponse)
		}
		if name == 'p' {
			if !a.done {
				return mech.ServerResult{}, m.fail(ErrValueInvalidEncoding, "proof is not last", mech.ErrInvalidResponse)
			}
			proof = val
			withoutProof = start - 1
			break
		}
		if reserved(name) {
			return mech.ServerResult{}, m.fail(ErrValueInvalidEncoding, "repeated attribute", mech.ErrInvalidResponse)
		}
	}
	if len(proof) != base64Len(hh.size) {
		return mech.ServerResult{}, m.fail(ErrValueInvalidEncoding, "bad proof length", mech.ErrInvalidResponse)
	}
	sc := hh.getScratch()
	defer sc.put()
	// Decode needs room for DecodedLen octets, which may be more than the
	// proof's size when the input is corrupt.
	p := sc.b[:strictB64.DecodedLen(len(proof))]
	if n, err := strictB64.Decode(p, proof); err != nil || n != hh.size {
		return mech.ServerResult{}, m.fail(ErrValueInvalidEncoding, "bad proof encoding", mech.ErrInvalidResponse)
	}

	// c= must carry the GS2 header as the client sent it, followed by the
	// channel-binding data for "p=".
	if !checkCB(cb, first[:st.gs2Len], st.cbData, sc) {
		return mech.ServerResult{}, m.fail(ErrValueBindingsDontMatch, "channel binding does not match", mech.ErrAuthFailed)
	}
	// The nonce must be the one we sent: it follows "r=" in server-first.
	sa := attrs{rest: serverFirst}
	_, snonce, _, _ := sa.next()
	if !hmac.Equal(rnonce, snonce) {
		return mech.ServerResult{}, m.fail(ErrValueOtherError, "nonce does not match", mech.ErrAuthFailed)
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
		return mech.ServerResult{}, m.fail(ErrValueInvalidProof, "invalid proof", mech.ErrAuthFailed)
	}
	final := make([]byte, 0, 2+base64Len(hh.size))
	final = append(final, "v="...)
	final = appendB64(final, sc.mac(sc.a[:0], st.keys.ServerKey, am))
	return mech.ServerResult{
		Creds:    creds.NewVerifiedServer(m.Name(), st.user, st.authzid),
		Final:    final,
		HasFinal: true,
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

// mockKeys returns deterministic keys for an unknown user, which no proof
// can match: one MAC of the user name under the server secret gives the
// salt and the keys. It costs one HMAC, about what a store lookup costs, so
// that unknown users answer as fast as known ones.
func (m Mechanism) mockKeys(h Hash, user string) Keys {
	secret := m.Secret
	if secret == nil {
		secret = processSecret()
	}
	sc := h.getScratch()
	defer sc.put()
	msg := append(sc.buf[:0], "saslkit scram mock keys\x00"...)
	msg = append(msg, h.name...)
	msg = append(msg, 0)
	msg = append(msg, user...)
	sc.buf = msg
	k := sc.mac(make([]byte, 0, h.size), secret, msg)
	iter := m.MockIterations
	if iter <= 0 {
		iter = 4096
	}
	// The StoredKey is a MAC output, not the hash of any ClientKey anyone
	// knows; the ServerKey is never used, since the proof fails first.
	return Keys{Salt: k[:16], Iterations: iter, StoredKey: k, ServerKey: k}
}

var processSecret = sync.OnceValue(func() []byte {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("saslkit/scram: no randomness: " + err.Error())
	}
	return b
})

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
