package cache_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/cache"
	"github.com/saslkit/saslkit/creds/storetest"
)

var ctx = context.Background()

// TestConformance: a cache in front of a store is a store like any other.
func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Setup{
		New: func(t *testing.T, accounts []creds.Account) creds.Store {
			var s creds.MemoryStore
			for _, a := range accounts {
				if err := s.Add(a); err != nil {
					t.Fatal(err)
				}
			}
			return cache.New(&s, nil)
		},
	})
}

// counted counts the lookups that reach a store, and can fail them or
// hold them.
type counted struct {
	creds.Store
	n    atomic.Int64
	fail atomic.Bool
	hold chan struct{}
}

var errDown = errors.New("store down")

func (c *counted) Lookup(ctx context.Context, name string) (creds.Identity, error) {
	c.n.Add(1)
	if c.hold != nil {
		<-c.hold
	}
	if c.fail.Load() {
		return nil, errDown
	}
	return c.Store.Lookup(ctx, name)
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newStore(t *testing.T, accounts ...creds.Account) *creds.MemoryStore {
	var s creds.MemoryStore
	for _, a := range accounts {
		if err := s.Add(a); err != nil {
			t.Fatal(err)
		}
	}
	return &s
}

// TestTTLs: hits and misses are kept for their own TTLs; store errors are
// never kept.
func TestTTLs(t *testing.T) {
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	back := &counted{Store: newStore(t, creds.Account{Name: "alice", Password: "{PLAIN}pw"})}
	c := cache.New(back, &cache.Config{HitTTL: time.Minute, MissTTL: 10 * time.Second, Now: clk.now})
	lookups := func(name string, want error) {
		t.Helper()
		if _, err := c.Lookup(ctx, name); !errors.Is(err, want) && !(want == nil && err == nil) {
			t.Fatalf("Lookup(%q) = %v, want %v", name, err, want)
		}
	}
	lookups("alice", nil)
	lookups("alice", nil)
	lookups("nobody", creds.ErrUnknownUser)
	lookups("nobody", creds.ErrUnknownUser)
	if n := back.n.Load(); n != 2 {
		t.Errorf("%d store lookups, want 2", n)
	}
	clk.add(11 * time.Second) // the miss expires, the hit does not
	lookups("alice", nil)
	lookups("nobody", creds.ErrUnknownUser)
	if n := back.n.Load(); n != 3 {
		t.Errorf("%d store lookups after the miss TTL, want 3", n)
	}
	clk.add(time.Minute)
	back.fail.Store(true)
	lookups("alice", errDown)
	lookups("alice", errDown)
	if n := back.n.Load(); n != 5 {
		t.Errorf("%d store lookups with the store down, want 5: errors are not cached", n)
	}
}

// TestOneLookupInFlight: concurrent lookups of one name share one lookup of
// the store.
func TestOneLookupInFlight(t *testing.T) {
	back := &counted{Store: newStore(t, creds.Account{Name: "alice", Password: "{PLAIN}pw"}), hold: make(chan struct{})}
	c := cache.New(back, nil)
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if id, err := c.Lookup(ctx, "alice"); err != nil || id.AccountName() != "alice" {
				t.Errorf("Lookup: %v", err)
			}
		}()
	}
	time.Sleep(50 * time.Millisecond) // let them queue
	close(back.hold)
	wg.Wait()
	if n := back.n.Load(); n != 1 {
		t.Errorf("%d store lookups for 50 concurrent ones, want 1", n)
	}
}

// TestWaiterOutlivesLeader: a lookup waiting on another whose context ends
// does its own lookup instead of failing.
func TestWaiterOutlivesLeader(t *testing.T) {
	hold := make(chan struct{})
	back := &ctxStore{Store: newStore(t, creds.Account{Name: "alice", Password: "{PLAIN}pw"}), hold: hold}
	c := cache.New(back, nil)
	lctx, cancel := context.WithCancel(ctx)
	leader := make(chan error, 1)
	go func() { _, err := c.Lookup(lctx, "alice"); leader <- err }()
	time.Sleep(20 * time.Millisecond)
	waiter := make(chan error, 1)
	go func() { _, err := c.Lookup(ctx, "alice"); waiter <- err }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	if err := <-leader; !errors.Is(err, context.Canceled) {
		t.Fatalf("leader: %v", err)
	}
	close(hold)
	if err := <-waiter; err != nil {
		t.Errorf("waiter: %v, want its own lookup to succeed", err)
	}
}

// ctxStore holds a lookup until hold is closed or ctx is done.
type ctxStore struct {
	creds.Store
	hold chan struct{}
}

func (c *ctxStore) Lookup(ctx context.Context, name string) (creds.Identity, error) {
	select {
	case <-c.hold:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return c.Store.Lookup(ctx, name)
}

// TestKeyIsTheWholeInput: two inputs share an entry only if identical. A
// store may tell apart names that a normalising cache would merge (here an
// account that opted out of SASLprep, spelled as another's prepared form
// would be): each gets its own account. exact is such a store: names match
// byte for byte.
func TestKeyIsTheWholeInput(t *testing.T) {
	c := cache.New(exact{
		"alice": &creds.Account{Name: "alice"},
		"ａｌｉｃｅ": &creds.Account{Name: "ａｌｉｃｅ"},
	}, nil)
	for i := 0; i < 2; i++ {
		for _, tt := range []struct{ in, want string }{{"alice", "alice"}, {"ａｌｉｃｅ", "ａｌｉｃｅ"}} {
			id, err := c.Lookup(ctx, tt.in)
			if err != nil || id.AccountName() != tt.want {
				t.Errorf("round %d: Lookup(%q) = %v, %v; want %q", i, tt.in, id, err, tt.want)
			}
		}
	}
}

type exact map[string]*creds.Account

func (e exact) Lookup(_ context.Context, n string) (creds.Identity, error) {
	if a, ok := e[n]; ok {
		return a, nil
	}
	return nil, creds.ErrUnknownUser
}
func (exact) Profile() creds.Profile { return creds.Profile{} }

// TestInvalidate drops found and unknown entries of every spelling.
func TestInvalidate(t *testing.T) {
	back := &counted{Store: newStore(t)}
	c := cache.New(back, nil)
	for _, n := range []string{"alice", "ａｌｉｃｅ", "a\u00adlice"} {
		if _, err := c.Lookup(ctx, n); !errors.Is(err, creds.ErrUnknownUser) {
			t.Fatal(err)
		}
	}
	// The account appears on another node.
	if err := back.Store.(*creds.MemoryStore).Add(creds.Account{Name: "alice", Password: "{PLAIN}pw"}); err != nil {
		t.Fatal(err)
	}
	c.Invalidate("alice")
	if c.Len() != 0 {
		t.Errorf("%d entries after Invalidate, want 0", c.Len())
	}
	for _, n := range []string{"alice", "ａｌｉｃｅ", "a\u00adlice"} {
		if id, err := c.Lookup(ctx, n); err != nil || id.AccountName() != "alice" {
			t.Errorf("Lookup(%q) after Invalidate: %v", n, err)
		}
	}
	// Writes through the cache invalidate by themselves.
	c = cache.New(back.Store, nil)
	if _, err := c.Lookup(ctx, "ａｌｉｃｅ"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetAccount(ctx, creds.Account{Name: "alice", Password: "{PLAIN}new"}); err != nil {
		t.Fatal(err)
	}
	v := &creds.Verifier{Store: c}
	if _, err := v.CheckPassword(ctx, "ａｌｉｃｅ", "new"); err != nil {
		t.Errorf("new password through the cache: %v", err)
	}
	if err := c.DeleteAccount(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Lookup(ctx, "a\u00adlice"); !errors.Is(err, creds.ErrUnknownUser) {
		t.Errorf("after DeleteAccount: %v", err)
	}
}

// TestBound: the cache keeps at most MaxEntries.
func TestBound(t *testing.T) {
	c := cache.New(newStore(t), &cache.Config{MaxEntries: 100})
	for i := 0; i < 1000; i++ {
		c.Lookup(ctx, string(rune('a'+i%26))+string(rune(0x4e00+i)))
	}
	if n := c.Len(); n != 100 {
		t.Errorf("%d entries, want 100", n)
	}
}

// TestReadOnlyStore: writes through a cache of a store that cannot be
// written report errors.ErrUnsupported.
func TestReadOnlyStore(t *testing.T) {
	c := cache.New(readOnly{newStore(t)}, nil)
	if err := c.SetAccount(ctx, creds.Account{Name: "x"}); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("SetAccount: %v", err)
	}
	if err := c.UpgradeSCRAM(ctx, "x", nil); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("UpgradeSCRAM: %v", err)
	}
}

type readOnly struct{ s *creds.MemoryStore }

func (r readOnly) Lookup(ctx context.Context, n string) (creds.Identity, error) {
	return r.s.Lookup(ctx, n)
}
func (r readOnly) Profile() creds.Profile { return r.s.Profile() }

// decoyCounter counts the checks of a store's password decoy.
type decoyCounter struct {
	creds.Store
	n *atomic.Int64
}

type countingDecoy struct {
	creds.PasswordChecker
	n *atomic.Int64
}

func (d countingDecoy) CheckPassword(pw string) error {
	d.n.Add(1)
	return d.PasswordChecker.CheckPassword(pw)
}

func (d decoyCounter) Profile() creds.Profile {
	p := d.Store.Profile()
	p.PasswordDecoy = countingDecoy{p.PasswordDecoy, d.n}
	return p
}

// TestCachedMissCostsAWrongPassword: an unknown name answered from the
// cache is checked against the decoy, as one answered by the store.
func TestCachedMissCostsAWrongPassword(t *testing.T) {
	pw, err := creds.HashPassword("pencil", nil)
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	back := &counted{Store: newStore(t, creds.Account{Name: "alice", Password: pw})}
	v := &creds.Verifier{Store: decoyCounter{cache.New(back, nil), &n}}
	for i := 0; i < 3; i++ {
		if _, err := v.CheckPassword(ctx, "nobody", "pencil"); !errors.Is(err, creds.ErrBadCredentials) {
			t.Fatal(err)
		}
	}
	if back.n.Load() != 1 || n.Load() != 3 {
		t.Errorf("%d store lookups and %d decoy checks for 3 logins of an unknown user; want 1 and 3", back.n.Load(), n.Load())
	}
}
