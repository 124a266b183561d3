// Package cache puts a read-through cache in front of any creds.Store, as
// Dovecot's auth cache does for a passdb in SQL or LDAP: found accounts
// and unknown names are kept for their own TTLs, concurrent lookups of one
// name share a single lookup of the store, and entries are bounded.
//
// The cache key is the name exactly as the client sent it, byte for byte:
// two lookups share an entry only if their input is identical, so that no
// normalisation the cache makes can give one user another's entry (Dovecot
// CVE-2025-30189: users whose inputs differed shared a cache key). Spellings
// of one account are separate entries, and [Store.Invalidate] drops every
// entry whose name SASLprep maps to the same string, found or not.
//
// A cached unknown name is still [creds.ErrUnknownUser], for which the
// [creds.Verifier] does the decoy work of a wrong password: a cache hit
// makes no difference to what a client can learn. A store failure is
// never cached.
package cache

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/prep"
)

// Config sets a cache's policy. The zero value means the defaults.
type Config struct {
	// HitTTL is how long a found account is kept. Zero means one minute:
	// a password changed on another node is seen within it.
	HitTTL time.Duration
	// MissTTL is how long an unknown name is kept. Zero means 10 seconds;
	// negative means unknown names are not cached.
	MissTTL time.Duration
	// MaxEntries bounds the entries, found and unknown; the least recently
	// used go first. Zero means 10,000.
	MaxEntries int
	// Now returns the current time; nil means time.Now. For tests.
	Now func() time.Time
}

// Store is a [creds.Store] that caches another. It is safe for concurrent
// use. Create one with [New].
type Store struct {
	store creds.Store
	hit   time.Duration
	miss  time.Duration
	max   int
	now   func() time.Time

	mu      sync.Mutex
	entries map[string]*list.Element // by input name; values are *entry
	lru     list.List                // most recently used first
	byPrep  map[string]map[string]bool
	flight  map[string]*call
}

type entry struct {
	name    string // the input name: the key
	prep    string // its SASLprep form, or the name if it has none
	id      creds.Identity
	expires time.Time
}

// call is one lookup of the store in flight, which concurrent lookups of
// the same name wait for.
type call struct {
	done chan struct{}
	id   creds.Identity
	err  error
}

// New returns a cache in front of s. A nil cfg means the zero Config.
func New(s creds.Store, cfg *Config) *Store {
	c := &Store{store: s, hit: time.Minute, miss: 10 * time.Second, max: 10_000, now: time.Now,
		entries: map[string]*list.Element{}, byPrep: map[string]map[string]bool{}, flight: map[string]*call{}}
	if cfg != nil {
		if cfg.HitTTL > 0 {
			c.hit = cfg.HitTTL
		}
		if cfg.MissTTL != 0 {
			c.miss = cfg.MissTTL
		}
		if cfg.MaxEntries > 0 {
			c.max = cfg.MaxEntries
		}
		if cfg.Now != nil {
			c.now = cfg.Now
		}
	}
	return c
}

// Lookup implements [creds.Store]: from the cache when it holds a fresh
// entry for name, otherwise from the store, sharing one lookup with any
// concurrent Lookup of name. The store's accounts and its ErrUnknownUser
// are cached; its other errors are returned and not cached.
func (c *Store) Lookup(ctx context.Context, name string) (creds.Identity, error) {
	for {
		c.mu.Lock()
		if e, ok := c.entries[name]; ok {
			ent := e.Value.(*entry)
			if c.now().Before(ent.expires) {
				c.lru.MoveToFront(e)
				c.mu.Unlock()
				if ent.id == nil {
					return nil, creds.ErrUnknownUser
				}
				return ent.id, nil
			}
			c.remove(e)
		}
		if f, ok := c.flight[name]; ok {
			c.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if isCtxErr(f.err) && ctx.Err() == nil {
				// The lookup we waited for ended with its caller's
				// context, not ours: try again.
				continue
			}
			return f.id, f.err
		}
		f := &call{done: make(chan struct{})}
		c.flight[name] = f
		c.mu.Unlock()

		f.id, f.err = c.store.Lookup(ctx, name)
		c.mu.Lock()
		delete(c.flight, name)
		switch {
		case f.err == nil:
			c.add(name, f.id, c.hit)
		case errors.Is(f.err, creds.ErrUnknownUser) && c.miss > 0:
			c.add(name, nil, c.miss)
		}
		c.mu.Unlock()
		close(f.done)
		return f.id, f.err
	}
}

func isCtxErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// add caches id (nil for an unknown name) under name. c.mu must be held.
func (c *Store) add(name string, id creds.Identity, ttl time.Duration) {
	p := name
	if q, err := prep.Query(name); err == nil {
		p = q
	}
	ent := &entry{name: name, prep: p, id: id, expires: c.now().Add(ttl)}
	c.entries[name] = c.lru.PushFront(ent)
	set := c.byPrep[p]
	if set == nil {
		set = map[string]bool{}
		c.byPrep[p] = set
	}
	set[name] = true
	for len(c.entries) > c.max {
		c.remove(c.lru.Back())
	}
}

// remove drops the entry e. c.mu must be held.
func (c *Store) remove(e *list.Element) {
	ent := c.lru.Remove(e).(*entry)
	delete(c.entries, ent.name)
	if set := c.byPrep[ent.prep]; set != nil {
		delete(set, ent.name)
		if len(set) == 0 {
			delete(c.byPrep, ent.prep)
		}
	}
}

// Invalidate drops every entry for name: each spelling that SASLprep maps
// to the same string as name, whether it found an account or not, and the
// entries of the account name is the canonical name of. Call it when an
// account is added, changed or removed other than through the cache (the
// cache's own writes call it).
func (c *Store) Invalidate(name string) {
	keys := []string{name}
	if p, err := prep.Query(name); err == nil {
		keys = append(keys, p)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		for n := range c.byPrep[k] {
			if e, ok := c.entries[n]; ok {
				c.remove(e)
			}
		}
	}
	if e, ok := c.entries[name]; ok {
		c.remove(e)
	}
	for e := c.lru.Front(); e != nil; {
		next := e.Next()
		if ent := e.Value.(*entry); ent.id != nil && ent.id.AccountName() == name {
			c.remove(e)
		}
		e = next
	}
}

// Purge drops every entry.
func (c *Store) Purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = map[string]*list.Element{}
	c.byPrep = map[string]map[string]bool{}
	c.lru.Init()
}

// Len returns the number of entries, fresh or not.
func (c *Store) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// Profile implements [creds.Store]: the store's.
func (c *Store) Profile() creds.Profile { return c.store.Profile() }

// SetAccount implements [creds.AccountWriter] when the store does, and
// drops the account's entries; otherwise it returns an error wrapping
// errors.ErrUnsupported.
func (c *Store) SetAccount(ctx context.Context, a creds.Account) error {
	w, ok := c.store.(creds.AccountWriter)
	if !ok {
		return errUnsupported
	}
	defer c.Invalidate(a.Name)
	return w.SetAccount(ctx, a)
}

// DeleteAccount implements [creds.AccountWriter] when the store does, and
// drops the account's entries; otherwise it returns an error wrapping
// errors.ErrUnsupported.
func (c *Store) DeleteAccount(ctx context.Context, name string) error {
	w, ok := c.store.(creds.AccountWriter)
	if !ok {
		return errUnsupported
	}
	defer c.Invalidate(name)
	if id, err := c.store.Lookup(ctx, name); err == nil {
		defer c.Invalidate(id.AccountName())
	}
	return w.DeleteAccount(ctx, name)
}

// UpgradeSCRAM implements [creds.SCRAMUpgrader] when the store does, and
// drops the account's entries; otherwise it returns an error wrapping
// errors.ErrUnsupported.
func (c *Store) UpgradeSCRAM(ctx context.Context, account string, keys []creds.SCRAMKeys) error {
	u, ok := c.store.(creds.SCRAMUpgrader)
	if !ok {
		return errUnsupported
	}
	defer c.Invalidate(account)
	return u.UpgradeSCRAM(ctx, account, keys)
}

var errUnsupported = &unsupported{}

type unsupported struct{}

func (*unsupported) Error() string { return "saslkit/cache: the cached store cannot do this" }
func (*unsupported) Unwrap() error { return errors.ErrUnsupported }
