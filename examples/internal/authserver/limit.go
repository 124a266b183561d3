package authserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/limit"
)

// The failed-login limiter (-limit): before an attempt the server asks it
// about the client's address and waits the delay it owes, on that
// connection only; when the exchange looks up an account, the store asks it
// about the account ([limitedStore]); after the attempt the server tells it
// how the attempt ended. A refused attempt is a temporary failure, never a
// wrong password, and costs no password check.

// attempt is what the limiter is told of one attempt, carried in its
// context so that the store can fill in the user the exchange looked up.
type attempt struct {
	addr   netip.Addr
	user   string        // the last name the exchange looked up
	waited time.Duration // the delay waited so far
	looked bool          // the account's delay has been waited
}

type attemptKey struct{}

func attemptOf(ctx context.Context) *attempt {
	a, _ := ctx.Value(attemptKey{}).(*attempt)
	return a
}

// limitedStore is the Backend's store with the limiter in front of every
// lookup: an account over its burst is refused before its secret is
// checked, and the delay its recent failures owe is waited first.
type limitedStore struct {
	creds.Store
	lim limit.Limiter
}

func (s *limitedStore) Lookup(ctx context.Context, name string) (creds.Identity, error) {
	if a := attemptOf(ctx); a != nil {
		a.user = name
		// A Check error without a refusal is the limiter's choice to let
		// the attempt through (a fallback); with one, to fail closed.
		v, err := s.lim.Check(ctx, limit.Attempt{Addr: a.addr, User: name})
		switch {
		case v.Refuse:
			return nil, refused(err)
		case !a.looked:
			// The delay owed is the larger of the address's, waited
			// already, and the account's.
			a.looked = true
			v.Delay -= a.waited
			if err := limit.Wait(ctx, v); err != nil {
				return nil, refused(err)
			}
		}
	}
	return s.Store.Lookup(ctx, name)
}

// refused returns the error of a refused attempt, with its cause.
func refused(cause error) error {
	if cause == nil || errors.Is(cause, limit.ErrRefused) {
		return fmt.Errorf("authserver: %w", limit.ErrRefused)
	}
	return fmt.Errorf("authserver: %w (%w)", limit.ErrRefused, cause)
}

// UpgradeSCRAM passes the credential upgrade through to the store.
func (s *limitedStore) UpgradeSCRAM(ctx context.Context, account string, keys []creds.SCRAMKeys) error {
	if u, ok := s.Store.(creds.SCRAMUpgrader); ok {
		return u.UpgradeSCRAM(ctx, account, keys)
	}
	return nil
}

// addrOf returns the IP address of a connection's remote address, or the
// zero Addr.
func addrOf(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip.Unmap()
	}
	return netip.Addr{}
}

// before asks the limiter about the client's address and waits what it
// owes. It returns the context for the attempt, and an error (wrapping
// limit.ErrRefused) if the attempt must not run.
func (c *Conn) before() (context.Context, *attempt, error) {
	lim := c.srv.b.limiter
	if lim == nil {
		return c.ctx, nil, nil
	}
	a := &attempt{addr: addrOf(c.RemoteAddr())}
	v, err := lim.Check(c.ctx, limit.Attempt{Addr: a.addr})
	if v.Refuse {
		return c.ctx, nil, refused(err)
	}
	if err := limit.Wait(c.ctx, v); err != nil {
		return c.ctx, nil, refused(err)
	}
	a.waited = v.Delay
	return context.WithValue(c.ctx, attemptKey{}, a), a, nil
}

// after tells the limiter how the attempt ended: a success forgets the
// account's failures; a failure of the client's credentials counts, with
// secret (a password the client sent) so that a repeat of it does not
// escalate. Other outcomes (a temporary failure, a refusal) count for
// nothing.
func (c *Conn) after(a *attempt, o Outcome, account string, secret []byte) {
	lim := c.srv.b.limiter
	if lim == nil || a == nil {
		return
	}
	switch o {
	case OK:
		_ = lim.Succeeded(c.ctx, limit.Attempt{Addr: a.addr, User: account})
	case AuthFailed, Unauthorized:
		_ = lim.Failed(c.ctx, limit.Attempt{Addr: a.addr, User: a.user, Secret: secret})
	}
}

// secretOf returns the password in an exchange's messages, for the
// mechanisms that send one in the clear (PLAIN, LOGIN), so that the limiter
// can tell a repeat of one wrong password; nil for the others.
func secretOf(mechanism string, msgs [][]byte) []byte {
	switch strings.ToUpper(mechanism) {
	case "PLAIN":
		if len(msgs) > 0 {
			if i := bytes.LastIndexByte(msgs[0], 0); i >= 0 {
				return msgs[0][i+1:]
			}
		}
	case "LOGIN":
		if len(msgs) > 1 {
			return msgs[1]
		}
	}
	return nil
}
