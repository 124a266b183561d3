package redis_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	goredis "github.com/redis/go-redis/v9"
	"github.com/saslkit/saslkit/limit"
	"github.com/saslkit/saslkit/limit/redis"
)

// testSecret keys the fingerprints in every test: nodes share it.
var testSecret = []byte("saslkit limit/redis test secret")

// op is one event of a scenario.
type op struct {
	kind byte // 'c' Check, 'f' Failed, 's' Succeeded, 'w' wait
	a    limit.Attempt
	at   time.Duration // for 'w': until this long after the scenario started
}

func attempt(addr, user, secret string) limit.Attempt {
	a := limit.Attempt{User: user}
	if addr != "" {
		a.Addr = netip.MustParseAddr(addr)
	}
	if secret != "" {
		a.Secret = []byte(secret)
	}
	return a
}

func check(addr, user string) op        { return op{kind: 'c', a: attempt(addr, user, "")} }
func fail(addr, user, secret string) op { return op{kind: 'f', a: attempt(addr, user, secret)} }
func succeed(addr, user string) op      { return op{kind: 's', a: attempt(addr, user, "")} }
func at(d time.Duration) op             { return op{kind: 'w', at: d} }
func repeat(n int, o ...op) (ops []op) {
	for range n {
		ops = append(ops, o...)
	}
	return ops
}
func seq(parts ...[]op) (ops []op) {
	for _, p := range parts {
		ops = append(ops, p...)
	}
	return ops
}
func ops(o ...op) []op              { return o }
func verdicts(s ...string) []string { return s }
func show(v limit.Verdict) string {
	if v.Refuse {
		return "refuse"
	}
	return v.Delay.String()
}

// exact is a policy whose delay shows the number of failures owed: 2^(n-1)
// seconds, with no refusal in reach and a 45 s interval, which no test
// outlasts.
var exact = limit.Config{Base: time.Second, MaxDelay: time.Hour, Burst: 20, BurstAddr: 40}

// timed is a policy with a 200 ms interval (both keys), for scenarios
// that wait for failures to decay. Their events are planned at least
// 100 ms from every boundary where a verdict changes.
var timed = limit.Config{Base: time.Second, MaxDelay: time.Hour, Burst: 3, BurstAddr: 3, Window: 600 * time.Millisecond}

// slack is how late an event of a timed scenario may run for its planned
// verdicts still to hold.
const slack = 60 * time.Millisecond

const (
	a1 = "192.0.2.1"
	a2 = "192.0.2.2"
)

var scenarios = []struct {
	name string
	cfg  limit.Config
	ops  []op
	// want is the verdicts of the Check events, in order; each is
	// "refuse" or the delay.
	want []string
	// memoryDiffers, if not empty, is how limit.Memory is known to differ
	// from want on this scenario: the test then checks the Redis limiter
	// against want, and skips the comparison with a message if Memory
	// still differs.
	memoryDiffers string
}{
	{
		name: "escalation-and-refusal",
		cfg:  limit.Config{Burst: 6},
		ops: seq(
			ops(check(a1, "alice"), fail(a1, "alice", "a"), check(a1, "alice"), fail(a1, "alice", "b")),
			ops(check(a1, "alice"), fail(a1, "alice", "c"), check(a1, "alice"), fail(a1, "alice", "d")),
			ops(check(a1, "alice"), fail(a1, "alice", "e"), check(a1, "alice"), fail(a1, "alice", "f")),
			ops(check(a1, "alice"), check(a2, "alice"), check(a1, "bob")),
		),
		want: verdicts("0s", "2s", "4s", "8s", "15s", "15s", "refuse", "refuse", "15s"),
	},
	{
		name: "repeats-do-not-escalate",
		ops: seq(
			repeat(20, fail(a1, "alice", "old-password")),
			ops(check(a1, "alice")),
			repeat(3, fail(a2, "bob", "")), // no secret (SCRAM): each counts
			ops(check(a2, "bob")),
		),
		want: verdicts("2s", "8s"),
	},
	{
		name: "fingerprints-are-per-key",
		cfg:  exact,
		// The address has seen "pw" from alice, so bob's "pw" is a repeat
		// for the address but a first failure for bob.
		ops: ops(fail(a1, "alice", "pw"), fail(a1, "bob", "pw"), check(a1, ""), check("", "bob"),
			fail(a1, "carol", "other"), check(a1, "")),
		want: verdicts("1s", "1s", "2s"),
	},
	{
		name: "oldest-fingerprint-forgotten",
		cfg:  limit.Config{Base: time.Second, MaxDelay: time.Hour, Burst: 20, BurstAddr: 40, Repeats: 2},
		ops: ops(
			fail("", "alice", "a"), check("", "alice"),
			fail("", "alice", "b"), check("", "alice"),
			fail("", "alice", "c"), check("", "alice"), // remembers c, b
			fail("", "alice", "a"), check("", "alice"), // counts; remembers a, c
			fail("", "alice", "c"), check("", "alice"), // a repeat
			fail("", "alice", "b"), check("", "alice"), // counts
		),
		want: verdicts("1s", "2s", "4s", "8s", "8s", "16s"),
	},
	{
		name: "no-repeats-remembered",
		cfg:  limit.Config{Base: time.Second, MaxDelay: time.Hour, Burst: 20, BurstAddr: 40, Repeats: -1},
		ops:  seq(repeat(3, fail(a1, "alice", "same")), ops(check(a1, "alice"))),
		want: verdicts("4s"),
	},
	{
		name: "ipv6-/64-shared",
		cfg:  limit.Config{BurstAddr: 2},
		ops: ops(fail("2001:db8::1", "a", ""), fail("2001:db8::2", "b", ""),
			check("2001:db8::ffff", "c"), check("2001:db8:0:1::1", "c")),
		want: verdicts("refuse", "0s"),
	},
	{
		name: "ipv4-mapped-is-ipv4",
		cfg:  exact,
		ops:  ops(fail("::ffff:192.0.2.1", "", "x"), check(a1, ""), check(a2, "")),
		want: verdicts("1s", "0s"),
	},
	{
		name: "account-refused-before-address",
		cfg:  limit.Config{Burst: 3},
		ops:  seq(repeat(3, fail(a1, "alice", "")), ops(check(a1, "alice"), check(a1, "bob"), check(a2, "alice"))),
		want: verdicts("refuse", "8s", "refuse"),
	},
	{
		name: "succeeded-forgets-the-account-not-the-address",
		ops: ops(fail(a1, "alice", "a"), fail(a1, "alice", "b"), succeed(a1, "alice"),
			check(a2, "alice"), check(a1, "bob")),
		want: verdicts("0s", "4s"),
	},
	{
		name: "saslprep-spellings-share-a-key",
		cfg:  exact,
		ops: ops(fail("", "ａｌｉｃｅ", "x"), fail("", "alice", "y"), check("", "alice"),
			fail("", "alice", "x"), check("", "ａｌｉｃｅ"), check("", "Alice")),
		want: verdicts("2s", "2s", "0s"),
	},
	{
		name: "no-keys",
		ops:  ops(check("", ""), fail("", "", "x"), check("", ""), succeed("", ""), check("", "")),
		want: verdicts("0s", "0s", "0s"),
	},
	{
		name: "long-account-name",
		cfg:  exact,
		ops: ops(fail("", strings.Repeat("a", 300), ""), fail("", strings.Repeat("a", 300), ""),
			check("", strings.Repeat("a", 300)), check("", strings.Repeat("a", 299)),
			check("", strings.Repeat("a", 301))),
		want: verdicts("2s", "0s", "0s"),
	},
	{
		name: "decay",
		cfg:  timed,
		ops: seq(repeat(3, fail(a1, "alice", "")), ops(check(a1, "alice"),
			at(300*time.Millisecond), check(a1, "alice"), // 300 ms owed: 2
			at(500*time.Millisecond), check(a1, "alice"), // 100 ms: 1
			at(700*time.Millisecond), check(a1, "alice"))),
		want: verdicts("refuse", "2s", "1s", "0s"),
	},
	{
		name: "decayed-key-restarts-from-now",
		cfg:  timed,
		ops: ops(fail(a1, "alice", ""), at(time.Second), fail(a1, "alice", ""),
			at(1100*time.Millisecond), check(a1, "alice")),
		want: verdicts("1s"),
	},
	{
		name: "repeat-while-remembered",
		cfg:  timed,
		ops: ops(fail("", "alice", "x"), at(100*time.Millisecond), fail("", "alice", "x"), check("", "alice"),
			at(300*time.Millisecond), fail("", "alice", "x"), check("", "alice"), // decayed: counts
			at(400*time.Millisecond), fail("", "alice", "x"), check("", "alice")), // a repeat
		want: verdicts("1s", "1s", "1s"),
	},
	{
		name: "fingerprints-forgotten-once-decayed",
		cfg:  timed,
		ops: ops(fail("", "alice", "x"), fail("", "alice", "y"),
			at(500*time.Millisecond), fail("", "alice", "z"), fail("", "alice", "x"),
			at(600*time.Millisecond), check("", "alice")), // TAT 900 ms: owed 2
		want: verdicts("2s"),
		memoryDiffers: "limit.Memory keeps a key's fingerprints after its failures decay " +
			"(until makeRoom drops the record), so the old wrong secret x counts as a repeat",
	},
}

// TestSameAsMemory runs each scenario against limit.Memory and the Redis
// limiter and compares their verdicts, with each other and with the
// scenario's. limit.Memory's clock is the Redis server's, read before each
// event, so that both see the same time; events of timed scenarios run at
// planned offsets chosen far from every boundary where a verdict changes.
func TestSameAsMemory(t *testing.T) {
	srv := startServer(t)
	client := srv.client(t)
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cfg := sc.cfg
			cfg.Secret = testSecret
			red := redis.New(client, &redis.Config{Limit: cfg, Prefix: "eq:" + sc.name + ":"})
			var clock time.Time
			mem := &limit.Memory{Config: cfg, Now: func() time.Time { return clock }}

			var gotRed, gotMem []string
			start, planned, late := time.Now(), time.Duration(0), time.Duration(0)
			for i, o := range sc.ops {
				if o.kind == 'w' {
					planned = o.at
					time.Sleep(time.Until(start.Add(planned)))
					continue
				}
				late = max(late, time.Since(start)-planned)
				clock = serverTime(ctx, t, client)
				var vr, vm limit.Verdict
				var err error
				switch o.kind {
				case 'c':
					vr, err = red.Check(ctx, o.a)
					vm, _ = mem.Check(ctx, o.a)
					gotRed, gotMem = append(gotRed, show(vr)), append(gotMem, show(vm))
				case 'f':
					err = red.Failed(ctx, o.a)
					mem.Failed(ctx, o.a)
				case 's':
					err = red.Succeeded(ctx, o.a)
					mem.Succeeded(ctx, o.a)
				}
				if err != nil {
					t.Fatalf("event %d: %v", i, err)
				}
			}
			if late <= slack {
				if diff := cmp.Diff(sc.want, gotRed); diff != "" {
					t.Errorf("Redis limiter's verdicts (-want +got):\n%s", diff)
				}
			} else {
				t.Logf("events ran up to %v late: not comparing with the planned verdicts", late)
			}
			if diff := cmp.Diff(gotMem, gotRed); diff != "" {
				if sc.memoryDiffers != "" {
					t.Skipf("known difference: %s (-memory +redis):\n%s", sc.memoryDiffers, diff)
				}
				t.Errorf("verdicts differ (-memory +redis):\n%s", diff)
			}
		})
	}
}

// serverTime returns the Redis server's clock.
func serverTime(ctx context.Context, t testing.TB, c *goredis.Client) time.Time {
	t.Helper()
	now, err := c.Time(ctx).Result()
	if err != nil {
		t.Fatalf("TIME: %v", err)
	}
	return now
}
