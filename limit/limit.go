// Package limit slows and then refuses repeated failed logins, keyed by the
// client's address prefix and by the account tried, as Dovecot's anvil
// penalty does: each recent failure doubles the delay before the next
// answer, up to a maximum, and past a burst the attempt is refused. A wrong
// password repeated (a client retrying with a saved password) does not
// escalate.
//
// A [Limiter] is shared by every connection of a server, and with a
// shared implementation (limit/redis, a module of its own) by every node of
// a service, so that a brute-force run spread over nodes meets one limit.
// [Memory] is the in-process implementation.
//
// Protocol code calls [Limiter.Check] before it runs an attempt, waits the
// delay on that connection only (never blocking other clients), or refuses
// the attempt; and after the attempt it reports [Limiter.Failed] or
// [Limiter.Succeeded].
//
// The rate is a GCRA (generic cell rate algorithm): each failure of a key
// moves its theoretical arrival time (TAT) forward by Window/Burst, and the
// number of failures the key is "owed" is (TAT - now) divided by that, so
// failures decay at a steady rate with no timers and one value per key.
package limit

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"net/netip"
	"time"

	"github.com/saslkit/saslkit/creds/prep"
)

// ErrRefused is the error protocol code returns for an attempt a [Limiter]
// refuses. It is a temporary failure: the client may try later.
var ErrRefused = errors.New("saslkit/limit: too many failed logins, try later")

// Attempt is one login attempt, as a limiter sees it.
type Attempt struct {
	// Addr is the client's address. The zero Addr (unknown, such as a
	// Unix socket) is not limited by address.
	Addr netip.Addr
	// User is the user name the client sent, as sent; the limiter
	// prepares it (SASLprep) so that spellings of one name share a key.
	// Empty means none yet (before the exchange names one).
	User string
	// Secret, when not nil, identifies the secret that failed, so that a
	// repeat of the same wrong secret does not escalate: pass the password
	// or token the client sent, and the limiter keeps only a keyed hash of
	// it, never the secret. Nil when the mechanism does not reveal it
	// (SCRAM, CRAM-MD5): every failure then counts.
	Secret []byte
}

// Verdict is what a [Limiter] says of an attempt about to run.
type Verdict struct {
	// Delay is how long to wait, on this connection only, before running
	// the attempt (or before answering its failure; either way the client
	// waits). Zero means none.
	Delay time.Duration
	// Refuse reports that the attempt must not run: answer it with a
	// temporary failure ([ErrRefused]).
	Refuse bool
}

// Limiter decides how long a client waits before an attempt, and whether
// it may try at all, from the recent failures of its address and of the
// account it tries. Implementations must be safe for concurrent use.
type Limiter interface {
	// Check returns the verdict on a, from the failures recorded so far,
	// without recording anything. An error means the limiter could not
	// decide (a shared limiter unreachable); what then happens is the
	// implementation's documented choice.
	Check(ctx context.Context, a Attempt) (Verdict, error)
	// Failed records that a failed.
	Failed(ctx context.Context, a Attempt) error
	// Succeeded records that a succeeded: the account's failures are
	// forgotten (the address's are not, so that one good account does not
	// reset a brute-force run from that address).
	Succeeded(ctx context.Context, a Attempt) error
}

// Config sets a limiter's policy. The zero value means the defaults below,
// which are Dovecot's anvil penalty: 2 s after the first failure, doubling
// to at most 15 s.
type Config struct {
	// Base is the delay owed after one recent failure; each further one
	// doubles it. Zero means 2 s.
	Base time.Duration
	// MaxDelay bounds the delay. Zero means 15 s.
	MaxDelay time.Duration
	// Burst is how many recent failures a key may have before its
	// attempts are refused. Zero means 10 for an account and 50 for an
	// address (BurstAddr), since one address may front many users.
	Burst, BurstAddr int
	// Window is how long a key takes to forget Burst failures: failures
	// decay at Burst per Window. Zero means 15 minutes.
	Window time.Duration
	// Repeats is how many distinct recent wrong secrets a key remembers,
	// so that a repeat of one of them does not escalate. Zero means 4;
	// negative means none (every failure counts).
	Repeats int
	// Secret keys the hashes of wrong secrets; nodes sharing a limiter must
	// share it. If nil, a random secret is made once per process.
	Secret []byte
}

// Defaults.
const (
	DefaultBase      = 2 * time.Second
	DefaultMaxDelay  = 15 * time.Second
	DefaultBurst     = 10
	DefaultBurstAddr = 50
	DefaultWindow    = 15 * time.Minute
	DefaultRepeats   = 4
)

// Policy is a Config with its defaults filled in, for implementations.
type Policy struct {
	Base, MaxDelay, Window time.Duration
	Burst, BurstAddr       int
	Repeats                int
	Secret                 []byte
}

// Policy returns c with its zero fields set to the defaults.
func (c *Config) Policy() Policy {
	p := Policy{Base: DefaultBase, MaxDelay: DefaultMaxDelay, Window: DefaultWindow,
		Burst: DefaultBurst, BurstAddr: DefaultBurstAddr, Repeats: DefaultRepeats}
	if c == nil {
		c = &Config{}
	}
	if c.Base > 0 {
		p.Base = c.Base
	}
	if c.MaxDelay > 0 {
		p.MaxDelay = c.MaxDelay
	}
	if c.Window > 0 {
		p.Window = c.Window
	}
	if c.Burst > 0 {
		p.Burst = c.Burst
	}
	if c.BurstAddr > 0 {
		p.BurstAddr = c.BurstAddr
	}
	switch {
	case c.Repeats > 0:
		p.Repeats = c.Repeats
	case c.Repeats < 0:
		p.Repeats = 0
	}
	// An interval of at least a nanosecond: Window/Burst must not be 0.
	if n := time.Duration(max(p.Burst, p.BurstAddr)); p.Window < n {
		p.Window = n
	}
	p.Secret = c.Secret
	if len(p.Secret) == 0 {
		p.Secret = processSecret
	}
	return p
}

var processSecret = func() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return b
}()

// Interval is the GCRA emission interval of a key allowed burst failures
// per window: each failure moves the key's TAT forward by it.
func (p *Policy) Interval(burst int) time.Duration { return p.Window / time.Duration(burst) }

// Owed returns the number of recent failures a key with theoretical arrival
// time tat has at now, for a key allowed burst failures per window.
func (p *Policy) Owed(tat, now time.Time, burst int) int {
	if !tat.After(now) {
		return 0
	}
	iv := max(p.Interval(burst), 1)
	return int((tat.Sub(now) + iv - 1) / iv)
}

// DelayFor returns the delay owed for n recent failures: Base doubled n-1
// times, at most MaxDelay; zero for none.
func (p *Policy) DelayFor(n int) time.Duration {
	if n <= 0 {
		return 0
	}
	d := p.Base
	for i := 1; i < n && d < p.MaxDelay; i++ {
		d *= 2
	}
	return min(d, p.MaxDelay)
}

// Keys returns the limiter keys of a: its address prefix (IPv4 /32, IPv6
// /64, "" for none) and its prepared user name ("" for none). Keys are
// prefixed ("addr:", "user:") so that an address and a name never share
// one.
func Keys(a Attempt) (addr, user string) {
	if a.Addr.IsValid() {
		ip := a.Addr.Unmap()
		bits := 32
		if ip.Is6() {
			bits = 64
		}
		pfx, _ := ip.Prefix(bits)
		addr = "addr:" + pfx.String()
	}
	if a.User != "" {
		u := a.User
		if p, err := prep.Query(u); err == nil {
			u = p
		}
		user = "user:" + u
	}
	return addr, user
}

// Fingerprint returns the keyed hash of a wrong secret under key, which a
// limiter keeps in place of the secret: 16 octets of HMAC-SHA-256, so a
// repeat is recognised and the secret is not kept.
func (p *Policy) Fingerprint(key string, secret []byte) [16]byte {
	m := hmac.New(sha256.New, p.Secret)
	m.Write([]byte(key))
	m.Write([]byte{0})
	m.Write(secret)
	var f [16]byte
	copy(f[:], m.Sum(nil))
	return f
}

// Wait waits v.Delay, or until ctx is done, and returns ErrRefused if v
// refuses the attempt or ctx's error if it ended first: what protocol code
// calls on a connection's goroutine before it runs an attempt.
func Wait(ctx context.Context, v Verdict) error {
	if v.Refuse {
		return ErrRefused
	}
	if v.Delay <= 0 {
		return nil
	}
	t := time.NewTimer(v.Delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
