package creds

import (
	"context"
	"errors"
	"sync"
)

// ErrUnauthorized means the authenticated user may not act as the
// authorization identity it asked for. It is an authorization failure, not
// an authentication failure, and protocols report the two differently
// (IMAP [AUTHORIZATIONFAILED], SMTP 535 or 534, XMPP invalid-authzid).
var ErrUnauthorized = errors.New("saslkit/creds: not authorized to act as the requested identity")

// Authorizer decides whether an authenticated authcid may act as authzid.
// It is called only after authentication succeeded, and only when authzid is
// not empty. It returns nil to allow, an error wrapping [ErrUnauthorized] to
// refuse, and any other error for a temporary failure. It must be safe for
// concurrent use.
type Authorizer interface {
	Authorize(ctx context.Context, authcid, authzid string) error
}

// AuthorizerFunc adapts a function to an [Authorizer].
type AuthorizerFunc func(ctx context.Context, authcid, authzid string) error

// Authorize calls f(ctx, authcid, authzid).
func (f AuthorizerFunc) Authorize(ctx context.Context, authcid, authzid string) error {
	return f(ctx, authcid, authzid)
}

// SelfOnly is the default [Authorizer], Cyrus SASL's default proxy policy:
// a user may act only as itself. It allows an authzid that names the
// authcid ([NamesEqual]) and refuses every other.
var SelfOnly Authorizer = AuthorizerFunc(func(_ context.Context, authcid, authzid string) error {
	if authzid == "" || NamesEqual(authcid, authzid) {
		return nil
	}
	return ErrUnauthorized
})

// Authorize applies a to s: nil if s asks for no authzid, otherwise what a
// returns (a nil a means [SelfOnly]).
func Authorize(ctx context.Context, a Authorizer, s *Server) error {
	if !s.HasAuthzid() {
		return nil
	}
	if a == nil {
		a = SelfOnly
	}
	return a.Authorize(ctx, s.Authcid(), s.Authzid())
}

// IdentityStore looks up users' identities. It must be safe for concurrent
// use.
type IdentityStore interface {
	// Identity returns the identity of the user named authcid. For an
	// unknown user it returns a nil Identity and a nil error, or a decoy
	// ([Decoy]) that costs what a real identity costs to verify; either way
	// verification then fails exactly as for a wrong password. An error
	// means the lookup itself failed (a temporary failure).
	Identity(ctx context.Context, authcid string) (Identity, error)
}

// MapStore is an in-memory [IdentityStore] keyed by authcid. The zero value
// is an empty store; it is safe for concurrent use.
//
// For unknown users it returns a decoy: the one set with SetDecoy, or else
// one imitating the identity added last ([DecoyLike]), so that an unknown
// user costs what a user of the store costs to reject.
type MapStore struct {
	mu     sync.RWMutex // guards ids, decoy and latest
	ids    map[string]Identity
	decoy  Identity // set by SetDecoy
	latest Identity // a decoy imitating the identity added last
}

// Add stores id under its authcid, prepared with SASLprep when that
// succeeds, replacing any identity of that name ([NamesEqual]).
func (m *MapStore) Add(id Identity) {
	key := id.Authcid()
	if p, err := prepareQuery(key, false); err == nil {
		// Key by the prepared name, so that Identity finds it for every
		// spelling NamesEqual (and so Server.Verify) accepts.
		key = p
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ids == nil {
		m.ids = make(map[string]Identity)
	}
	m.ids[key] = id
	m.latest = DecoyLike(id)
}

// SetDecoy sets the identity returned for unknown users; see [Decoy] and
// [DecoyLike]. A nil d restores the default.
func (m *MapStore) SetDecoy(d Identity) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.decoy = d
}

// Identity implements [IdentityStore]. The name is matched exactly, then
// after SASLprep.
func (m *MapStore) Identity(_ context.Context, authcid string) (Identity, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if id, ok := m.ids[authcid]; ok {
		return id, nil
	}
	if p, err := prepareQuery(authcid, false); err == nil && p != authcid {
		if id, ok := m.ids[p]; ok {
			return id, nil
		}
	}
	if m.decoy != nil {
		return m.decoy, nil
	}
	return m.latest, nil
}
