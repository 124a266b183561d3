package scram

import (
	"context"
	"errors"
	"sync"

	"github.com/saslkit/saslkit/creds"
)

// ErrUnknownUser is what a [Store] returns, wrapped or not, for a user it
// does not know. The server never reveals it: it runs the exchange with mock
// keys and fails at the proof.
var ErrUnknownUser = errors.New("saslkit/scram: unknown user")

// Store looks up the SCRAM keys of users. It must be safe for concurrent
// use.
type Store interface {
	// Keys returns the keys of user for hash h, or an error wrapping
	// [ErrUnknownUser] when there are none. Any other error aborts the
	// exchange as a temporary failure.
	Keys(ctx context.Context, h Hash, user string) (Keys, error)
}

// KeySetter saves SCRAM keys, for [Upgrade].
type KeySetter interface {
	SetKeys(ctx context.Context, h Hash, user string, k Keys) error
}

// MemoryStore is an in-memory [Store] and [KeySetter]. The zero value is
// an empty store, safe for concurrent use.
type MemoryStore struct {
	mu   sync.RWMutex // guards keys
	keys map[memKey]Keys
}

type memKey struct {
	hash string
	user string
}

// Keys implements [Store].
func (m *MemoryStore) Keys(_ context.Context, h Hash, user string) (Keys, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	k, ok := m.keys[memKey{h.name, user}]
	if !ok {
		return Keys{}, ErrUnknownUser
	}
	return k, nil
}

// SetKeys implements [KeySetter]. It returns an error wrapping [ErrBadKeys]
// if k does not fit h.
func (m *MemoryStore) SetKeys(_ context.Context, h Hash, user string, k Keys) error {
	if !k.valid(h) {
		return ErrBadKeys
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.keys == nil {
		m.keys = make(map[memKey]Keys)
	}
	m.keys[memKey{h.name, user}] = k
	return nil
}

// SetPassword derives and stores user's keys for each of hashes from
// password, with a fresh random salt per hash.
func (m *MemoryStore) SetPassword(user, password string, iterations int, hashes ...Hash) error {
	for _, h := range hashes {
		k, err := Derive(h, password, nil, iterations, false)
		if err != nil {
			return err
		}
		if err := m.SetKeys(context.Background(), h, user, k); err != nil {
			return err
		}
	}
	return nil
}

// Upgrade derives SCRAM keys from the password in c and saves them with s,
// for each of hashes, with a random salt and the given iteration count. It
// lets a server that holds only password hashes start offering SCRAM: call
// it after a PLAIN or LOGIN login whose credentials verified. It returns an
// error if c carries no password.
func Upgrade(ctx context.Context, s KeySetter, c *creds.Server, iterations int, hashes ...Hash) error {
	pw, ok := c.Password()
	if !ok {
		return errors.New("saslkit/scram: credentials carry no password")
	}
	for _, h := range hashes {
		k, err := Derive(h, pw, nil, iterations, false)
		if err != nil {
			return err
		}
		if err := s.SetKeys(ctx, h, c.Authcid(), k); err != nil {
			return err
		}
	}
	return nil
}
