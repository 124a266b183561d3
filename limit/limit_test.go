package limit_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/saslkit/saslkit/limit"
)

var ctx = context.Background()

// clock is a settable time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock               { return &clock{t: time.Unix(1_800_000_000, 0)} }
func addr(s string) netip.Addr       { return netip.MustParseAddr(s) }
func attempt(a, u, pw string) limit.Attempt {
	return limit.Attempt{Addr: addr(a), User: u, Secret: []byte(pw)}
}

// TestEscalation: each failure doubles the delay, up to MaxDelay, and past
// the burst attempts are refused; failures decay with time.
func TestEscalation(t *testing.T) {
	c := newClock()
	m := &limit.Memory{Config: limit.Config{Burst: 6}, Now: c.now}
	var delays []time.Duration
	for i := 0; i < 7; i++ {
		v, _ := m.Check(ctx, attempt("192.0.2.1", "alice", "guess"+string(rune('a'+i))))
		if v.Refuse {
			delays = append(delays, -1)
			break
		}
		delays = append(delays, v.Delay)
		m.Failed(ctx, attempt("192.0.2.1", "alice", "guess"+string(rune('a'+i))))
	}
	want := []time.Duration{0, 2 * time.Second, 4 * time.Second, 8 * time.Second, 15 * time.Second, 15 * time.Second, -1}
	if diff := cmp.Diff(want, delays); diff != "" {
		t.Errorf("delays (-want +got):\n%s", diff)
	}
	// Burst 6 per 15 minutes: one failure decays every 150 s.
	c.add(150 * time.Second)
	if v, _ := m.Check(ctx, attempt("192.0.2.1", "alice", "x")); v.Refuse || v.Delay != 15*time.Second {
		t.Errorf("after one interval: %+v, want a 15 s delay", v)
	}
	c.add(15 * time.Minute)
	if v, _ := m.Check(ctx, attempt("192.0.2.1", "alice", "x")); v != (limit.Verdict{}) {
		t.Errorf("after the window: %+v, want none", v)
	}
	if m.Len() != 2 {
		t.Errorf("%d keys, want 2 (address and account)", m.Len())
	}
}

// TestRepeatDoesNotEscalate: a client retrying the same wrong password
// (a saved one) pays once.
func TestRepeatDoesNotEscalate(t *testing.T) {
	m := &limit.Memory{Now: newClock().now}
	for i := 0; i < 20; i++ {
		m.Failed(ctx, attempt("192.0.2.1", "alice", "old-password"))
	}
	if v, _ := m.Check(ctx, attempt("192.0.2.1", "alice", "x")); v.Refuse || v.Delay != 2*time.Second {
		t.Errorf("20 repeats of one wrong password: %+v, want the delay of one failure", v)
	}
	// Without the secret (SCRAM), every failure counts.
	m = &limit.Memory{Now: newClock().now}
	for i := 0; i < 3; i++ {
		m.Failed(ctx, limit.Attempt{Addr: addr("192.0.2.1"), User: "alice"})
	}
	if v, _ := m.Check(ctx, attempt("192.0.2.1", "alice", "x")); v.Delay != 8*time.Second {
		t.Errorf("3 failures without a secret: %+v, want 8 s", v)
	}
}

// TestKeys: IPv4 by /32, IPv6 by /64, names after SASLprep.
func TestKeys(t *testing.T) {
	for _, tt := range []struct {
		a          limit.Attempt
		addr, user string
	}{
		{limit.Attempt{Addr: addr("192.0.2.1"), User: "alice"}, "addr:192.0.2.1/32", "user:alice"},
		{limit.Attempt{Addr: addr("::ffff:192.0.2.1")}, "addr:192.0.2.1/32", ""},
		{limit.Attempt{Addr: addr("2001:db8:1:2:3:4:5:6"), User: "ａｌｉｃｅ"}, "addr:2001:db8:1:2::/64", "user:alice"},
		{limit.Attempt{User: "bob"}, "", "user:bob"},
	} {
		a, u := limit.Keys(tt.a)
		if a != tt.addr || u != tt.user {
			t.Errorf("Keys(%v) = %q, %q; want %q, %q", tt.a, a, u, tt.addr, tt.user)
		}
	}
	// Two addresses of one /64 share its failures.
	m := &limit.Memory{Config: limit.Config{BurstAddr: 2}, Now: newClock().now}
	m.Failed(ctx, limit.Attempt{Addr: addr("2001:db8::1"), User: "a"})
	m.Failed(ctx, limit.Attempt{Addr: addr("2001:db8::2"), User: "b"})
	if v, _ := m.Check(ctx, limit.Attempt{Addr: addr("2001:db8::ffff"), User: "c"}); !v.Refuse {
		t.Errorf("third user from one /64 after its burst: %+v, want refused", v)
	}
	if v, _ := m.Check(ctx, limit.Attempt{Addr: addr("2001:db8:0:1::1"), User: "c"}); v.Refuse {
		t.Errorf("the next /64: %+v, want allowed", v)
	}
}

// TestSucceededForgetsTheAccount, but not the address.
func TestSucceededForgetsTheAccount(t *testing.T) {
	m := &limit.Memory{Now: newClock().now}
	m.Failed(ctx, attempt("192.0.2.1", "alice", "a"))
	m.Failed(ctx, attempt("192.0.2.1", "alice", "b"))
	m.Succeeded(ctx, attempt("192.0.2.1", "alice", "c"))
	if v, _ := m.Check(ctx, attempt("192.0.2.9", "alice", "x")); v.Delay != 0 {
		t.Errorf("account after success: %+v", v)
	}
	if v, _ := m.Check(ctx, attempt("192.0.2.1", "bob", "x")); v.Delay != 4*time.Second {
		t.Errorf("address after a success: %+v, want its 2 failures' 4 s", v)
	}
}

// TestMaxKeys: spraying addresses cannot grow the limiter past MaxKeys.
func TestMaxKeys(t *testing.T) {
	m := &limit.Memory{MaxKeys: 100, Now: newClock().now}
	for i := 0; i < 10_000; i++ {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		m.Failed(ctx, limit.Attempt{Addr: a})
	}
	if n := m.Len(); n > 100 {
		t.Errorf("%d keys, want at most 100", n)
	}
}

func TestWait(t *testing.T) {
	if err := limit.Wait(ctx, limit.Verdict{Refuse: true}); !errors.Is(err, limit.ErrRefused) {
		t.Errorf("refused: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := limit.Wait(cctx, limit.Verdict{Delay: time.Hour}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if err := limit.Wait(ctx, limit.Verdict{Delay: time.Millisecond}); err != nil {
		t.Errorf("short delay: %v", err)
	}
}

// TestRepeatsForgotten: once a key's failures have decayed, so have the
// wrong secrets it remembered: the same one later counts again.
func TestRepeatsForgotten(t *testing.T) {
	c := newClock()
	m := &limit.Memory{Config: limit.Config{Burst: 10, Window: 10 * time.Second}, Now: c.now}
	m.Failed(ctx, attempt("192.0.2.1", "alice", "old"))
	c.add(2 * time.Second) // one interval is 1 s: decayed
	m.Failed(ctx, attempt("192.0.2.1", "alice", "other"))
	m.Failed(ctx, attempt("192.0.2.1", "alice", "old"))
	if v, _ := m.Check(ctx, attempt("192.0.2.1", "alice", "x")); v.Delay != 4*time.Second {
		t.Errorf("%+v, want the 4 s of two failures", v)
	}
}

// TestTinyWindow: a window shorter than the burst in nanoseconds does not
// divide by zero.
func TestTinyWindow(t *testing.T) {
	c := newClock()
	m := &limit.Memory{Config: limit.Config{Burst: 10, Window: 1}, Now: c.now}
	m.Failed(ctx, attempt("192.0.2.1", "alice", "a"))
	c.add(-time.Second)
	if _, err := m.Check(ctx, attempt("192.0.2.1", "alice", "a")); err != nil {
		t.Fatal(err)
	}
}
