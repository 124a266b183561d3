package scram

import (
	"bytes"
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"strconv"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/prep"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/gs2"
)

// ServerError is a server-error ("e=" value, RFC 5802 section 7) a server
// sent. It wraps [mech.ErrAuthFailed].
type ServerError struct {
	// Value is the server-error-value, such as "invalid-proof": one of the
	// values RFC 5802 section 7 defines, or "unknown" for any other, which
	// is not repeated.
	Value string
}

// serverError returns the ServerError for the e= value v.
func serverError(v []byte) *ServerError {
	switch s := string(v); s {
	case valueInvalidEncoding, valueExtensionsNotSupported, valueInvalidProof,
		valueBindingsDontMatch, valueServerDoesSupportBinding, valueBindingNotSupported,
		valueUnsupportedBindingType, "unknown-user", valueInvalidUsernameEncoding,
		"no-resources", valueOtherError:
		return &ServerError{Value: s}
	}
	return &ServerError{Value: "unknown"}
}

// Error returns "saslkit/scram: server error: " and the value.
func (e *ServerError) Error() string { return "saslkit/scram: server error: " + e.Value }

// Unwrap returns [mech.ErrAuthFailed].
func (e *ServerError) Unwrap() error { return mech.ErrAuthFailed }

// ErrNoBinding means a -PLUS client has no channel-binding data: it refuses
// to start rather than send an exchange a server would reject.
var ErrNoBinding = errors.New("saslkit/scram: no channel binding available for -PLUS")

// clientState is what the client keeps with each response.
type clientState struct {
	gs2    []byte // the GS2 header sent
	cbData []byte
	nonce  []byte // the client nonce
	bare   int    // where client-first-message-bare starts in the first response
	// After the client-final message:
	serverSig [64]byte
	sigLen    int
	verified  bool // a v= challenge was verified
}

func (m Mechanism) clientErr(reason string, sentinel error) error {
	return &mech.Error{Mechanism: m.Name(), Reason: reason, Err: sentinel}
}

// ClientAttempt implements [mech.Client].
func (m Mechanism) ClientAttempt(ctx context.Context, in *mech.ClientInput) (mech.ClientResult, error) {
	switch {
	case len(in.Pairs) == 0:
		return m.clientFirst(in)
	case len(in.Pairs) == 1:
		return m.clientFinal(in)
	case len(in.Pairs) == 2:
		// IMAP and SMTP carry the server-final message as a challenge.
		st, _ := in.Pairs[1].State.(*clientState)
		if st == nil {
			return mech.ClientResult{}, m.clientErr("transcript without client state", mech.ErrUnexpectedChallenge)
		}
		if err := m.checkServerFinal(st, in.Challenge); err != nil {
			var se *ServerError
			if errors.As(err, &se) {
				// Let the server finish its failure.
				return mech.ClientResult{Response: []byte{}, Failure: err, Last: true}, nil
			}
			return mech.ClientResult{}, err
		}
		verified := *st
		verified.verified = true
		return mech.ClientResult{Response: []byte{}, State: &verified, Last: true}, nil
	}
	return mech.ClientResult{}, m.clientErr("", mech.ErrUnexpectedChallenge)
}

func (m Mechanism) clientFirst(in *mech.ClientInput) (mech.ClientResult, error) {
	c := in.Creds
	user := c.Authcid
	if m.PostgreSQL {
		// PostgreSQL's startup message named the user.
		user = ""
	}
	if !m.NoPrepUser && user != "" {
		p, err := prep.Query(user)
		if err != nil {
			return mech.ClientResult{}, m.clientErr("user name fails SASLprep", mech.ErrInvalidCredentials)
		}
		user = p
	}
	if user == "" && !m.PostgreSQL || len(user) > 255 || c.Password == "" {
		return mech.ClientResult{}, m.clientErr("empty or long user name, or empty password", mech.ErrInvalidCredentials)
	}
	if _, err := gs2.DecodeName([]byte(gs2.EncodeName(user))); err != nil {
		return mech.ClientResult{}, m.clientErr("user name cannot be sent", mech.ErrInvalidCredentials)
	}
	if c.Authzid != "" {
		if _, err := gs2.DecodeName([]byte(gs2.EncodeName(c.Authzid))); err != nil || len(c.Authzid) > 255 {
			return mech.ClientResult{}, m.clientErr("authzid cannot be sent", mech.ErrInvalidCredentials)
		}
	}
	st := &clientState{}
	h := gs2.Header{Flag: gs2.NoBinding, Authzid: c.Authzid}
	ch := in.Channel
	if ch == nil {
		ch = &mech.Channel{}
	}
	switch {
	case m.Plus:
		if len(ch.Bindings) == 0 || !gs2.ValidCBName(ch.Bindings[0].Type) {
			return mech.ClientResult{}, ErrNoBinding
		}
		h.Flag, h.CBName = gs2.Binding, ch.Bindings[0].Type
		st.cbData = ch.Bindings[0].Data
	case len(ch.Bindings) > 0:
		h.Flag = gs2.ClientOnly
	}
	sc := m.hash().getScratch()
	defer sc.put()
	msg := h.Append(make([]byte, 0, 64+2*len(user)+2*len(c.Authzid)+nonceLen(m.NonceLen)))
	st.bare = len(msg)
	msg = append(msg, "n="...)
	msg = gs2.AppendName(msg, user)
	msg = append(msg, ",r="...)
	start := len(msg)
	msg, err := appendNonce(msg, m.Rand, m.NonceLen, sc)
	if err != nil {
		return mech.ClientResult{}, err
	}
	st.nonce = msg[start:len(msg):len(msg)]
	st.gs2 = msg[:st.bare:st.bare]
	return mech.ClientResult{Response: msg, State: st}, nil
}

func (m Mechanism) clientFinal(in *mech.ClientInput) (mech.ClientResult, error) {
	first := in.Pairs[0]
	st, _ := first.State.(*clientState)
	if st == nil {
		return mech.ClientResult{}, m.clientErr("transcript without client state", mech.ErrUnexpectedChallenge)
	}
	sf := in.Challenge
	// server-first-message = [reserved-mext ","] nonce "," salt ","
	//                        iteration-count ["," extensions]
	a := attrs{rest: sf}
	name, rnonce, ok, bad := a.next()
	if ok && name == 'e' && validErrorValue(rnonce) {
		// Answer so that the server can finish its failure.
		return mech.ClientResult{Response: []byte{}, Failure: serverError(rnonce), Last: true}, nil
	}
	if ok && name == 'm' {
		return mech.ClientResult{}, m.clientErr("mandatory extension", mech.ErrInvalidChallenge)
	}
	if bad || !ok || name != 'r' || !validNonce(rnonce) ||
		len(rnonce) <= len(st.nonce) || !bytes.HasPrefix(rnonce, st.nonce) {
		return mech.ClientResult{}, m.clientErr("missing or bad nonce", mech.ErrInvalidChallenge)
	}
	name, salt64, ok, bad := a.next()
	if bad || !ok || name != 's' {
		return mech.ClientResult{}, m.clientErr("missing salt", mech.ErrInvalidChallenge)
	}
	salt, ok := decodeB64(salt64, creds.MaxSCRAMSalt)
	if !ok || len(salt) == 0 {
		return mech.ClientResult{}, m.clientErr("bad salt", mech.ErrInvalidChallenge)
	}
	name, iter, ok, bad := a.next()
	if bad || !ok || name != 'i' {
		return mech.ClientResult{}, m.clientErr("missing iteration count", mech.ErrInvalidChallenge)
	}
	if err := checkExtensions(&a); err != nil {
		return mech.ClientResult{}, m.clientErr("malformed extension", mech.ErrInvalidChallenge)
	}
	min, max := m.MinIterations, m.MaxIterations
	if min <= 0 {
		min = creds.MinSCRAMIterations
	}
	if max <= 0 {
		max = creds.MaxSCRAMIterations
	}
	if len(iter) > 10 || len(iter) == 0 || iter[0] == '0' {
		return mech.ClientResult{}, m.clientErr("bad iteration count", mech.ErrInvalidChallenge)
	}
	count, err := strconv.Atoi(string(iter))
	if err != nil {
		return mech.ClientResult{}, m.clientErr("bad iteration count", mech.ErrInvalidChallenge)
	}
	if count < min || count > max {
		return mech.ClientResult{}, m.clientErr(fmt.Sprintf("iteration count %d is outside the accepted %d..%d", count, min, max), mech.ErrInvalidChallenge)
	}

	hh := m.hash()
	password := in.Creds.Password
	if !m.NoPrepPassword {
		p, err := prep.Query(password)
		if err != nil {
			return mech.ClientResult{}, m.clientErr("password fails SASLprep", mech.ErrInvalidCredentials)
		}
		password = p
	}
	k := m.Cache.keys(hh, password, salt, count)

	sc := hh.getScratch()
	defer sc.put()
	// client-final-message-without-proof = "c=" base64(gs2-header cbind-data) ",r=" nonce
	cb := append(sc.buf[:0], st.gs2...)
	cb = append(cb, st.cbData...)
	sc.buf = cb
	msg := make([]byte, 0, 2+base64Len(len(cb))+3+len(rnonce)+3+base64Len(hh.size))
	msg = append(msg, "c="...)
	msg = appendB64(msg, cb)
	msg = append(msg, ",r="...)
	msg = append(msg, rnonce...)

	bare := first.Response[st.bare:]
	am := append(sc.buf[:0], bare...)
	am = append(am, ',')
	am = append(am, sf...)
	am = append(am, ',')
	am = append(am, msg...)
	sc.buf = am

	proof := sc.mac(sc.a[:0], k.storedKey, am) // ClientSignature
	for i := range proof {
		proof[i] ^= k.clientKey[i]
	}
	msg = append(msg, ",p="...)
	msg = appendB64(msg, proof)

	next := &clientState{gs2: st.gs2, cbData: st.cbData, nonce: st.nonce, bare: st.bare}
	next.sigLen = copy(next.serverSig[:], sc.mac(sc.a[:0], k.serverKey, am))
	return mech.ClientResult{Response: msg, State: next, Last: true}, nil
}

// checkServerFinal checks a server-final message: "v=" with the expected
// signature, or "e=" reported as a [*ServerError].
func (m Mechanism) checkServerFinal(st *clientState, final []byte) error {
	a := attrs{rest: final}
	name, val, ok, bad := a.next()
	if bad || !ok {
		return m.clientErr("malformed server-final message", mech.ErrInvalidChallenge)
	}
	switch name {
	case 'e':
		if !validErrorValue(val) {
			return m.clientErr("malformed server error", mech.ErrAuthFailed)
		}
		return serverError(val)
	case 'v':
		sig, ok := decodeB64(val, st.sigLen)
		if !ok || !hmac.Equal(sig, st.serverSig[:st.sigLen]) {
			return m.clientErr("server signature does not verify", mech.ErrAuthFailed)
		}
		if err := checkExtensions(&a); err != nil {
			return m.clientErr("malformed server-final message", mech.ErrInvalidChallenge)
		}
		return nil
	}
	return m.clientErr("malformed server-final message", mech.ErrInvalidChallenge)
}

// ClientFinal implements [mech.Client]. It returns nil only if the server
// proved itself: with a "v=" in final, or in the challenge before.
func (m Mechanism) ClientFinal(_ context.Context, in *mech.ClientInput, final []byte, hasFinal bool) error {
	if len(in.Pairs) < 2 {
		return m.clientErr("server reported success before the proof", mech.ErrAuthFailed)
	}
	st, _ := in.Pairs[len(in.Pairs)-1].State.(*clientState)
	if st == nil {
		return m.clientErr("transcript without client state", mech.ErrAuthFailed)
	}
	if hasFinal && len(final) > 0 {
		if st.verified {
			return m.clientErr("second server-final message", mech.ErrInvalidChallenge)
		}
		return m.checkServerFinal(st, final)
	}
	if !st.verified {
		return m.clientErr("server did not prove itself", mech.ErrAuthFailed)
	}
	return nil
}

// ClientFailure implements [mech.FailureReader]: data is an "e=" server-final
// message, reported as a [*ServerError].
func (m Mechanism) ClientFailure(_ context.Context, _ *mech.ClientInput, data []byte) error {
	a := attrs{rest: data}
	name, val, ok, bad := a.next()
	if bad || !ok || name != 'e' || !validErrorValue(val) {
		return m.clientErr("malformed server error", mech.ErrInvalidChallenge)
	}
	return serverError(val)
}
