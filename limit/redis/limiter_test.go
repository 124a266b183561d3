package redis_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	goredis "github.com/redis/go-redis/v9"
	"github.com/saslkit/saslkit/limit"
	"github.com/saslkit/saslkit/limit/redis"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// mustCheck returns the verdict on a, failing t on an error.
func mustCheck(ctx context.Context, t *testing.T, l limit.Limiter, a limit.Attempt) string {
	t.Helper()
	v, err := l.Check(ctx, a)
	if err != nil {
		t.Fatalf("Check(%v): %v", a, err)
	}
	return show(v)
}

func mustFail(ctx context.Context, t *testing.T, l limit.Limiter, a limit.Attempt) {
	t.Helper()
	if err := l.Failed(ctx, a); err != nil {
		t.Fatalf("Failed(%v): %v", a, err)
	}
}

// TestTwoNodes: two limiters with clients of their own (two nodes) share
// one limit: failures on node A delay node B, a repeat on B of A's wrong
// secret does not escalate, and a success on B clears the account for A.
func TestTwoNodes(t *testing.T) {
	ctx := testCtx(t)
	srv := startServer(t)
	cfg := &redis.Config{Limit: limit.Config{Secret: testSecret}}
	nodeA, nodeB := redis.New(srv.client(t), cfg), redis.New(srv.client(t), cfg)

	mustFail(ctx, t, nodeA, attempt(a1, "alice", "one"))
	mustFail(ctx, t, nodeA, attempt(a1, "alice", "two"))
	mustFail(ctx, t, nodeB, attempt(a2, "alice", "one")) // a repeat for alice
	got := []string{
		mustCheck(ctx, t, nodeB, attempt("198.51.100.7", "alice", "")),
		mustCheck(ctx, t, nodeB, attempt(a1, "bob", "")),
		mustCheck(ctx, t, nodeA, attempt(a2, "carol", "")),
	}
	if err := nodeB.Succeeded(ctx, attempt(a2, "alice", "")); err != nil {
		t.Fatal(err)
	}
	got = append(got, mustCheck(ctx, t, nodeA, attempt("198.51.100.7", "alice", "")),
		mustCheck(ctx, t, nodeA, attempt(a1, "bob", "")))
	want := []string{"4s", "4s", "2s", "0s", "4s"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("verdicts (-want +got):\n%s", diff)
	}
}

// TestConcurrentFailures: failures from many goroutines on two nodes are
// all counted, each exactly once.
func TestConcurrentFailures(t *testing.T) {
	ctx := testCtx(t)
	srv := startServer(t)
	client := srv.client(t)
	const workers, each = 40, 25
	// An interval of one hour, so that none decays during the test.
	cfg := &redis.Config{Limit: limit.Config{Secret: testSecret, Window: 1e6 * time.Hour, Burst: 1e6, BurstAddr: 1e6}}
	nodes := []*redis.Limiter{redis.New(srv.client(t), cfg), redis.New(srv.client(t), cfg)}
	before := serverTime(ctx, t, client)
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				// Distinct secrets, so that each counts, and the
				// fingerprint lists are written concurrently too.
				a := attempt(a1, "alice", fmt.Sprintf("guess-%d-%d", w, i))
				if err := nodes[w%2].Failed(ctx, a); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, key := range []string{"addr:192.0.2.1/32", "user:alice"} {
		v, err := client.Get(ctx, redis.DefaultPrefix+"tat:"+key).Int64()
		if err != nil {
			t.Fatalf("GET %s: %v", key, err)
		}
		// TAT = first failure + n hours, the first failure being at
		// most seconds after before.
		if n := (time.Unix(0, v).Sub(before)) / time.Hour; n != workers*each {
			t.Errorf("%s: %d failures recorded, want %d", key, n, workers*each)
		}
		if n, err := client.LLen(ctx, redis.DefaultPrefix+"fp:"+key).Result(); err != nil || n != limit.DefaultRepeats {
			t.Errorf("%s: %d fingerprints kept (%v), want %d", key, n, err, limit.DefaultRepeats)
		}
	}
	if v := mustCheck(ctx, t, nodes[0], attempt(a1, "", "")); v != "15s" {
		t.Errorf("verdict %s, want 15s", v)
	}
}

// TestKeysExpire: both Redis keys of a key expire when its TAT passes,
// and are gone once its failures have decayed; Succeeded deletes the
// account's.
func TestKeysExpire(t *testing.T) {
	ctx := testCtx(t)
	srv := startServer(t)
	client := srv.client(t)
	// Intervals: 200 ms for the account, 100 ms for the address.
	cfg := limit.Config{Secret: testSecret, Window: 600 * time.Millisecond, Burst: 3, BurstAddr: 6}
	l := redis.New(client, &redis.Config{Limit: cfg, Prefix: "x:"})
	mustFail(ctx, t, l, attempt(a1, "alice", "a"))
	mustFail(ctx, t, l, attempt(a1, "alice", "b"))
	mustFail(ctx, t, l, attempt(a1, "bob", "c"))
	for _, tt := range []struct {
		key  string
		want time.Duration
	}{
		{"x:tat:user:alice", 400 * time.Millisecond},
		{"x:fp:user:alice", 400 * time.Millisecond},
		{"x:tat:addr:192.0.2.1/32", 300 * time.Millisecond},
		{"x:fp:addr:192.0.2.1/32", 300 * time.Millisecond},
		{"x:tat:user:bob", 200 * time.Millisecond},
	} {
		ttl, err := client.PTTL(ctx, tt.key).Result()
		if err != nil {
			t.Fatal(err)
		}
		// The TTL counts down from the TAT, rounded up to the
		// millisecond; the test's steps take at most tens of them.
		if ttl > tt.want+time.Millisecond || ttl < tt.want-50*time.Millisecond {
			t.Errorf("PTTL %s = %v, want about %v", tt.key, ttl, tt.want)
		}
	}
	if err := l.Succeeded(ctx, attempt(a1, "alice", "")); err != nil {
		t.Fatal(err)
	}
	if n, _ := client.Exists(ctx, "x:tat:user:alice", "x:fp:user:alice").Result(); n != 0 {
		t.Errorf("after Succeeded, %d of alice's keys remain", n)
	}
	if n, _ := client.Exists(ctx, "x:tat:addr:192.0.2.1/32").Result(); n != 1 {
		t.Errorf("after Succeeded, the address's TAT is gone")
	}
	time.Sleep(450 * time.Millisecond)
	if keys, _ := client.Keys(ctx, "x:*").Result(); len(keys) != 0 {
		t.Errorf("keys left after the failures decayed: %q", keys)
	}
}

// TestDecayedKeyInItsLastMillisecond: a key whose TAT has passed but
// which Redis has not expired yet (it expires on the millisecond after
// the TAT) has no failures: its fingerprints are forgotten, and the next
// failure starts from now, as in limit.Memory.
func TestDecayedKeyInItsLastMillisecond(t *testing.T) {
	ctx := testCtx(t)
	srv := startServer(t)
	client := srv.client(t)
	cfg := limit.Config{Secret: testSecret, Base: time.Second, MaxDelay: time.Hour}
	p := cfg.Policy()
	l := redis.New(client, &redis.Config{Limit: cfg, Prefix: "d:"})
	now := serverTime(ctx, t, client)
	fx, fy := p.Fingerprint("user:alice", []byte("x")), p.Fingerprint("user:alice", []byte("y"))
	// A TAT a second ago, as a key that Redis has yet to expire, which
	// remembered x and y.
	client.Set(ctx, "d:tat:user:alice", strconv.FormatInt(now.Add(-time.Second).UnixNano(), 10), 0)
	client.RPush(ctx, "d:fp:user:alice", fx[:], fy[:])
	mustFail(ctx, t, l, attempt("", "alice", "x"))
	if got := mustCheck(ctx, t, l, attempt("", "alice", "")); got != "1s" {
		t.Errorf("after a failure on a decayed key: %s, want 1s (one failure)", got)
	}
	v, err := client.Get(ctx, "d:tat:user:alice").Int64()
	if err != nil {
		t.Fatal(err)
	}
	if tat := time.Unix(0, v); tat.Before(now.Add(p.Interval(p.Burst))) {
		t.Errorf("TAT %v: not restarted from now (%v) plus one interval", tat, now)
	}
	// A live key remembers what it saw since: x again is a repeat, y
	// (forgotten with the decay) is not.
	mustFail(ctx, t, l, attempt("", "alice", "x"))
	if got := mustCheck(ctx, t, l, attempt("", "alice", "")); got != "1s" {
		t.Errorf("after a repeat: %s, want 1s", got)
	}
	mustFail(ctx, t, l, attempt("", "alice", "y"))
	if got := mustCheck(ctx, t, l, attempt("", "alice", "")); got != "2s" {
		t.Errorf("after a secret remembered before the decay: %s, want 2s", got)
	}
}

// TestNothingSecretInRedis: Redis holds no secret, only its keyed
// fingerprint.
func TestNothingSecretInRedis(t *testing.T) {
	ctx := testCtx(t)
	srv := startServer(t)
	client := srv.client(t)
	cfg := limit.Config{Secret: testSecret}
	l := redis.New(client, &redis.Config{Limit: cfg})
	secret := "correct horse battery staple"
	mustFail(ctx, t, l, attempt(a1, "alice", secret))
	keys, err := client.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 4 {
		t.Errorf("keys %q, want 4 (TAT and fingerprints of address and account)", keys)
	}
	p := cfg.Policy()
	for _, k := range keys {
		var vals []string
		if strings.Contains(k, ":fp:") {
			vals, err = client.LRange(ctx, k, 0, -1).Result()
			name := strings.TrimPrefix(k, redis.DefaultPrefix+"fp:")
			if fp := p.Fingerprint(name, []byte(secret)); len(vals) != 1 || vals[0] != string(fp[:]) {
				t.Errorf("%s = %x, want the fingerprint %x", k, vals, fp)
			}
		} else {
			var v string
			v, err = client.Get(ctx, k).Result()
			vals = []string{v}
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range append(vals, k) {
			if strings.Contains(v, secret) || strings.Contains(v, "horse") {
				t.Errorf("%s holds the secret", k)
			}
		}
	}
}

// TestRedisDown: Redis killed mid-run. FailClosed refuses, with an error
// wrapping ErrUnavailable, within the timeout; Fallback falls back to
// memory; both use Redis again once it is back on its port.
func TestRedisDown(t *testing.T) {
	ctx := testCtx(t)
	srv := startServer(t)
	const timeout, retry = 200 * time.Millisecond, 300 * time.Millisecond
	var reports atomic.Int32
	lim := limit.Config{Secret: testSecret}
	closed := redis.New(srv.client(t), &redis.Config{Limit: lim, Prefix: "c:", Timeout: timeout, Retry: retry,
		Report: func(err error) { reports.Add(1) }})
	fallback := redis.New(srv.client(t), &redis.Config{Limit: lim, Prefix: "f:", Timeout: timeout, Retry: retry,
		OnError: redis.Fallback})
	// Another node, to see what reaches Redis.
	other := redis.New(srv.client(t), &redis.Config{Limit: lim, Prefix: "f:"})
	for _, l := range []*redis.Limiter{closed, fallback} {
		mustFail(ctx, t, l, attempt(a1, "alice", "a"))
		mustFail(ctx, t, l, attempt(a1, "alice", "b"))
	}

	srv.Kill()
	begin := time.Now()
	v, err := closed.Check(ctx, attempt(a1, "alice", ""))
	if !v.Refuse || !errors.Is(err, redis.ErrUnavailable) {
		t.Errorf("FailClosed, Redis down: Check = %+v, %v; want refused, ErrUnavailable", v, err)
	}
	if d := time.Since(begin); d > timeout+500*time.Millisecond {
		t.Errorf("Check took %v, beyond the %v timeout", d, timeout)
	}
	if err := closed.Failed(ctx, attempt(a1, "alice", "c")); !errors.Is(err, redis.ErrUnavailable) {
		t.Errorf("FailClosed, Redis down: Failed = %v, want ErrUnavailable", err)
	}
	if err := closed.Succeeded(ctx, attempt(a1, "alice", "")); !errors.Is(err, redis.ErrUnavailable) {
		t.Errorf("FailClosed, Redis down: Succeeded = %v, want ErrUnavailable", err)
	}
	if limit.Wait(ctx, v) != limit.ErrRefused {
		t.Errorf("limit.Wait on the refusal is not ErrRefused")
	}
	// Within Retry the limiter leaves Redis alone: one report only.
	for range 10 {
		closed.Check(ctx, attempt(a1, "alice", ""))
	}
	if n := reports.Load(); n != 1 {
		t.Errorf("%d errors reported within one Retry, want 1", n)
	}

	// Fallback: the node's memory, which starts with no failures.
	var got []string
	got = append(got, mustCheck(ctx, t, fallback, attempt(a1, "alice", "")))
	mustFail(ctx, t, fallback, attempt(a1, "alice", "c"))
	mustFail(ctx, t, fallback, attempt(a1, "alice", "d"))
	mustFail(ctx, t, fallback, attempt(a1, "alice", "e"))
	got = append(got, mustCheck(ctx, t, fallback, attempt(a1, "alice", "")))
	if diff := cmp.Diff([]string{"0s", "8s"}, got); diff != "" {
		t.Errorf("Fallback, Redis down (-want +got):\n%s", diff)
	}

	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	// Back: both use Redis again within Retry (plus a reconnection).
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := closed.Check(ctx, attempt(a1, "alice", ""))
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("FailClosed limiter did not recover: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Redis restarted empty (no persistence); the node's memory still
	// holds its 3 failures, and the stricter verdict wins.
	if got := mustCheck(ctx, t, closed, attempt(a1, "alice", "")); got != "0s" {
		t.Errorf("FailClosed after recovery: %s, want 0s (a fresh Redis)", got)
	}
	time.Sleep(retry)
	if got := mustCheck(ctx, t, fallback, attempt(a1, "alice", "")); got != "8s" {
		t.Errorf("Fallback after recovery: %s, want 8s (the node's failures)", got)
	}
	mustFail(ctx, t, fallback, attempt(a2, "bob", ""))
	if got := mustCheck(ctx, t, other, attempt(a2, "bob", "")); got != "2s" {
		t.Errorf("after recovery, a failure on the fallback node: %s on another, want 2s (in Redis)", got)
	}
}

// TestTimeout: a Redis that accepts connections but never answers costs
// Check one Timeout, whether or not the client honours contexts.
func TestTimeout(t *testing.T) {
	ctx := testCtx(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}()
	const timeout = 150 * time.Millisecond
	cfg := &redis.Config{Timeout: timeout}
	// go-redis's defaults: it ignores contexts' deadlines on the socket,
	// and reads for 5 s.
	plain := goredis.NewClient(&goredis.Options{Addr: ln.Addr().String()})
	defer plain.Close()
	honours := goredis.NewClient(&goredis.Options{Addr: ln.Addr().String(), ContextTimeoutEnabled: true})
	defer honours.Close()
	for name, c := range map[string]*goredis.Client{"plain": plain, "context": honours} {
		// A limiter each, since after a failure one leaves Redis alone.
		calls := map[string]func(l *redis.Limiter) error{
			"Check": func(l *redis.Limiter) error {
				v, err := l.Check(ctx, attempt(a1, "alice", ""))
				if !v.Refuse {
					t.Errorf("%s: Check = %+v, want refused", name, v)
				}
				return err
			},
			"Failed":    func(l *redis.Limiter) error { return l.Failed(ctx, attempt(a1, "alice", "x")) },
			"Succeeded": func(l *redis.Limiter) error { return l.Succeeded(ctx, attempt(a1, "alice", "")) },
		}
		for call, f := range calls {
			begin := time.Now()
			err := f(redis.New(c, cfg))
			if d := time.Since(begin); d > timeout+time.Second {
				t.Errorf("%s: %s took %v, beyond the %v timeout", name, call, d, timeout)
			}
			if !errors.Is(err, redis.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s: %s = %v, want ErrUnavailable and DeadlineExceeded", name, call, err)
			}
		}
	}
	begin := time.Now()
	_, err = redis.Open(ctx, "redis://"+ln.Addr().String(), cfg)
	if !errors.Is(err, redis.ErrUnavailable) || time.Since(begin) > timeout+time.Second {
		t.Errorf("Open: %v after %v, want ErrUnavailable within the timeout", err, time.Since(begin))
	}
}

// TestCancelledContext: a cancelled Check refuses without blaming Redis;
// a Failed with a cancelled context (the client hung up) still counts.
func TestCancelledContext(t *testing.T) {
	ctx := testCtx(t)
	srv := startServer(t)
	l := redis.New(srv.client(t), &redis.Config{Limit: limit.Config{Secret: testSecret}})
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if v, err := l.Check(cctx, attempt(a1, "alice", "")); !v.Refuse || !errors.Is(err, context.Canceled) ||
		errors.Is(err, redis.ErrUnavailable) {
		t.Errorf("Check(cancelled) = %+v, %v; want refused, context.Canceled", v, err)
	}
	if err := l.Failed(cctx, attempt(a1, "alice", "x")); err != nil {
		t.Errorf("Failed(cancelled): %v", err)
	}
	if got := mustCheck(ctx, t, l, attempt(a1, "alice", "")); got != "2s" {
		t.Errorf("after a failure with a cancelled context: %s, want 2s", got)
	}
}

// TestOpen: URLs, passwords, and an ACL user allowed only what the
// package documentation lists.
func TestOpen(t *testing.T) {
	ctx := testCtx(t)
	const password = "pw-Hunter2-secret"
	srv := startServer(t,
		"requirepass "+password,
		"user saslkit on >"+password+" resetkeys ~saslkit:limit:* resetchannels -@all "+
			"+hello +ping +evalsha +eval +time +get +set +del +lrange +lpush +ltrim +pexpireat")
	for _, tt := range []struct {
		name, url string
		want      error
	}{
		{"not-a-url", "redis://user:" + password + "@[::1", redis.ErrURL},
		{"bad-escape", "redis://user:" + password + "%zz@127.0.0.1", redis.ErrURL},
		{"scheme", "http://127.0.0.1", redis.ErrURL},
		{"refused", "redis://127.0.0.1:1", redis.ErrUnavailable},
		{"no-password", srv.URL(), redis.ErrUnavailable},
		{"wrong-password", "redis://:wrong-" + password + "@" + srv.Addr(), redis.ErrUnavailable},
		{"password", "redis://:" + password + "@" + srv.Addr() + "/0", nil},
		{"acl-user", "redis://saslkit:" + password + "@" + srv.Addr(), nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l, err := redis.Open(ctx, tt.url, &redis.Config{Limit: limit.Config{Secret: testSecret}})
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open: %v, want %v", err, tt.want)
			}
			if err != nil {
				if strings.Contains(err.Error(), "Hunter2") {
					t.Errorf("the error shows the password: %v", err)
				}
				return
			}
			defer l.Close()
			mustFail(ctx, t, l, attempt(a1, "alice-"+tt.name, "x"))
			if got := mustCheck(ctx, t, l, attempt(a1, "alice-"+tt.name, "")); got == "0s" {
				t.Errorf("after a failure: %s", got)
			}
			if err := l.Succeeded(ctx, attempt(a1, "alice-"+tt.name, "")); err != nil {
				t.Errorf("Succeeded: %v", err)
			}
		})
	}
	// The ACL user may not touch keys outside the prefix.
	l, err := redis.Open(ctx, "redis://saslkit:"+password+"@"+srv.Addr(),
		&redis.Config{Prefix: "other:", Report: func(err error) {
			if !bytes.Contains([]byte(err.Error()), []byte("NOPERM")) {
				t.Errorf("reported %v, want a NOPERM error", err)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Failed(ctx, attempt(a1, "alice", "x")); !errors.Is(err, redis.ErrUnavailable) {
		t.Errorf("Failed outside the ACL's keys: %v, want ErrUnavailable", err)
	}
}

// TestLongNamesHashed: an account name longer than 256 octets is kept in
// Redis under its hash, so that a client cannot make large keys.
func TestLongNamesHashed(t *testing.T) {
	ctx := testCtx(t)
	srv := startServer(t)
	client := srv.client(t)
	l := redis.New(client, &redis.Config{Limit: limit.Config{Secret: testSecret}, Prefix: "p:"})
	long := strings.Repeat("ä", 200)
	mustFail(ctx, t, l, attempt("", long, "x"))
	sum := sha256.Sum256([]byte("user:" + long))
	var want []string
	for _, kind := range []string{"fp:", "tat:"} {
		want = append(want, "p:"+kind+"h:"+hex.EncodeToString(sum[:]))
	}
	keys, err := client.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
	if got := mustCheck(ctx, t, l, attempt("", long, "")); got != "2s" {
		t.Errorf("verdict %s, want 2s", got)
	}
}
