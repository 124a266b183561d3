package limit

import (
	"context"
	"sync"
	"time"
)

// Memory is a [Limiter] in process memory: one node's view. Its zero value
// uses the default [Config]; set Config before first use and do not change
// it after. It is safe for concurrent use.
//
// It keeps one small record per key with recent failures, and forgets a
// key once its failures have decayed; MaxKeys bounds how many it keeps, so
// that a client spraying addresses cannot grow it without bound.
type Memory struct {
	Config Config
	// MaxKeys bounds the keys kept. Zero means 100,000. When full, a new
	// key evicts, from a sample of the keys kept, those whose failures
	// have decayed or else the one that would decay soonest.
	MaxKeys int
	// Now returns the current time; nil means time.Now. For tests.
	Now func() time.Time

	once   sync.Once
	policy Policy
	mu     sync.Mutex
	keys   map[string]*record
}

// record is one key's state: its GCRA theoretical arrival time, and the
// fingerprints of its recent wrong secrets, newest last.
type record struct {
	tat time.Time
	fps [][16]byte
}

func (m *Memory) init() {
	m.once.Do(func() {
		m.policy = m.Config.Policy()
		m.keys = make(map[string]*record)
	})
}

func (m *Memory) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// Check implements [Limiter]. It never fails.
func (m *Memory) Check(_ context.Context, a Attempt) (Verdict, error) {
	m.init()
	addr, user := Keys(a)
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	na := m.owed(addr, now, m.policy.BurstAddr)
	nu := m.owed(user, now, m.policy.Burst)
	return m.policy.Verdict(na, nu), nil
}

// Verdict returns the verdict for a key pair owing na failures by address
// and nu by account.
func (p *Policy) Verdict(na, nu int) Verdict {
	if na >= p.BurstAddr || nu >= p.Burst {
		return Verdict{Refuse: true}
	}
	return Verdict{Delay: p.DelayFor(max(na, nu))}
}

func (m *Memory) owed(key string, now time.Time, burst int) int {
	if key == "" {
		return 0
	}
	r, ok := m.keys[key]
	if !ok {
		return 0
	}
	return m.policy.Owed(r.tat, now, burst)
}

// Failed implements [Limiter]. It never fails.
func (m *Memory) Failed(_ context.Context, a Attempt) error {
	m.init()
	addr, user := Keys(a)
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fail(addr, a.Secret, now, m.policy.BurstAddr)
	m.fail(user, a.Secret, now, m.policy.Burst)
	return nil
}

func (m *Memory) fail(key string, secret []byte, now time.Time, burst int) {
	if key == "" {
		return
	}
	r, ok := m.keys[key]
	if !ok {
		m.makeRoom(now)
		r = &record{}
		m.keys[key] = r
	}
	if !r.tat.After(now) {
		// Its failures have decayed: so has what it remembers of them.
		r.fps = r.fps[:0]
	}
	if secret != nil && m.policy.Repeats > 0 {
		fp := m.policy.Fingerprint(key, secret)
		for _, f := range r.fps {
			if f == fp {
				// The same wrong secret again, while the key still
				// remembers it: no escalation.
				return
			}
		}
		r.fps = append(r.fps, fp)
		if len(r.fps) > m.policy.Repeats {
			r.fps = r.fps[1:]
		}
	}
	r.tat = maxTime(r.tat, now).Add(m.policy.Interval(burst))
}

// Succeeded implements [Limiter]: it forgets the account's failures. It
// never fails.
func (m *Memory) Succeeded(_ context.Context, a Attempt) error {
	m.init()
	_, user := Keys(a)
	if user == "" {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.keys, user)
	return nil
}

// Len returns the number of keys kept.
func (m *Memory) Len() int {
	m.init()
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.keys)
}

// makeRoom makes room for one more key. m.mu must be held. It drops keys
// whose failures have decayed, as many as it meets in a sample; if none,
// the one that would decay soonest among the sample, as Redis approximates
// LRU: constant work per new key, however many keys there are.
func (m *Memory) makeRoom(now time.Time) {
	max := m.MaxKeys
	if max <= 0 {
		max = 100_000
	}
	if len(m.keys) < max {
		return
	}
	var soonest string
	var t time.Time
	n := 0
	for k, r := range m.keys {
		if !r.tat.After(now) {
			delete(m.keys, k)
		} else if soonest == "" || r.tat.Before(t) {
			soonest, t = k, r.tat
		}
		if n++; n == 16 {
			break
		}
	}
	if len(m.keys) >= max {
		delete(m.keys, soonest)
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
