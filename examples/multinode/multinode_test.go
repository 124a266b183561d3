package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/saslkit/saslkit/limit"
)

// The limiter's policy the nodes run with: small, so that the test runs in
// seconds.
var testLimit = limit.Config{
	Base:      50 * time.Millisecond,
	MaxDelay:  200 * time.Millisecond,
	Burst:     5,
	BurstAddr: 1000,
	Window:    time.Minute,
}

// cacheTTL is the nodes' -cache-ttl.
const cacheTTL = 2 * time.Second

// nodeArgs returns the flags every node of the test runs with.
func nodeArgs(c *cluster, secretFile string, more ...string) []string {
	return append([]string{
		"-pg", c.dsn(appRole), "-pg-timeout", "1s",
		"-insecure-auth", "-auth-timeout", "10s",
		"-cache-ttl", cacheTTL.String(), "-cache-miss-ttl", "1s",
		"-limit-base", testLimit.Base.String(), "-limit-max-delay", testLimit.MaxDelay.String(),
		"-limit-burst", fmt.Sprint(testLimit.Burst), "-limit-burst-addr", fmt.Sprint(testLimit.BurstAddr),
		"-limit-window", testLimit.Window.String(),
		"-secret-file", secretFile,
	}, more...)
}

// writeSecret writes a server secret for the nodes to share.
func writeSecret(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte(rand.Text()+rand.Text()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// wantLogin logs in on n and checks the reply; it returns how long the
// server took.
func wantLogin(t *testing.T, n *node, a account, password, want string) time.Duration {
	t.Helper()
	st, d, err := login(n.addr, a.name, password)
	if err != nil {
		t.Fatalf("LOGIN %s on %s: %v", a.name, n.addr, err)
	}
	if got := reply(st); got != want {
		t.Errorf("LOGIN %s on %s after %v: %q; want %s", a.name, n.addr, d.Round(time.Millisecond), st, want)
	}
	return d
}

// eventually polls LOGIN on n until it is OK, for at most d.
func eventually(t *testing.T, n *node, a account, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		st, _, err := login(n.addr, a.name, a.password)
		if err == nil && reply(st) == replyOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("LOGIN %s on %s still %q (%v) after %v", a.name, n.addr, st, err, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestMultinode(t *testing.T) {
	c := startCluster(t)
	rs := startRedis(t)
	migrateSchema(t, c)
	admin := c.adminStore(t)
	accts := makeAccounts("user", 20)
	setAccounts(t, admin, accts...)
	// An account with a password only, as if migrated from a passwd
	// file: the nodes give it SCRAM keys (-upgrade) at its first login.
	legacy := account{name: "legacy", password: "legacy-password-1"}
	rec, err := legacy.record()
	if err != nil {
		t.Fatal(err)
	}
	rec.SCRAM = nil
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := admin.SetAccount(ctx, rec); err != nil {
		t.Fatal(err)
	}
	secret := writeSecret(t)

	// Three nodes on one database and one Redis, failing closed when
	// Redis fails (the default).
	var nodes []*node
	for range 3 {
		nodes = append(nodes, startNode(t, nodeArgs(c, secret, "-redis", rs.URL(), "-upgrade", "SHA-256")...))
	}
	for i, n := range nodes {
		wantLogin(t, n, accts[10+i], accts[10+i].password, replyOK)
	}
	if t.Failed() {
		t.FailNow()
	}

	t.Run("RedisUnreachableAtStart", func(t *testing.T) {
		// Failing closed, a node does not start without its limiter;
		// the URL's password is not shown.
		const pw = "redis-password-not-shown"
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		url := fmt.Sprintf("redis://:%s@127.0.0.1:%d", pw, freePort(t))
		cmd := exec.CommandContext(ctx, binary(t), nodeArgs(c, secret, "-listen", "127.0.0.1:0", "-redis", url)...)
		cmd.Env = []string{"PATH=/usr/bin:/bin", "PGPASSWORD=" + appPassword}
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Errorf("exit: %v; want status 1\n%s", err, out)
		}
		if !strings.Contains(string(out), "redis unavailable") || strings.Contains(string(out), pw) {
			t.Errorf("output %q; want the error, without the password", out)
		}
	})

	t.Run("BruteForce", func(t *testing.T) {
		victim, other := accts[0], accts[1]
		p := testLimit.Policy()
		// Distinct wrong passwords, round-robin over the nodes, each
		// on a new connection: the Burst first are checked, each
		// after the delay its predecessors owe.
		var delays []time.Duration
		for i := range p.Burst {
			d := wantLogin(t, nodes[i%len(nodes)], victim, fmt.Sprintf("wrong-%d", i), replyAuthFailed)
			delays = append(delays, d)
			// Timers and scheduling only add to a delay.
			if want := p.DelayFor(i); d < want-5*time.Millisecond {
				t.Errorf("attempt %d: answered after %v; want at least %v", i+1, d, want)
			}
		}
		t.Logf("delays of the %d failures: %v", p.Burst, delays)
		if delays[0] >= delays[2] {
			t.Errorf("delays %v do not grow", delays)
		}
		// Then every attempt on any node is refused, the right
		// password too.
		for i := range 2 * len(nodes) {
			wantLogin(t, nodes[i%len(nodes)], victim, fmt.Sprintf("more-wrong-%d", i), replyUnavailable)
		}
		for _, n := range nodes {
			wantLogin(t, n, victim, victim.password, replyUnavailable)
			if st, err := authenticate(n.addr, victim.name, victim.password); err != nil || reply(st) != replyUnavailable {
				t.Errorf("AUTHENTICATE SCRAM-SHA-256 %s on %s: %q, %v; want %s", victim.name, n.addr, st, err, replyUnavailable)
			}
		}
		// Another account is not affected.
		for _, n := range nodes {
			wantLogin(t, n, other, other.password, replyOK)
		}
	})

	t.Run("RepeatedWrongPassword", func(t *testing.T) {
		// A client retrying one saved wrong password, over every node,
		// more often than Burst: it is recognised on each node (the
		// nodes share the limiter's secret) and does not escalate.
		a := accts[2]
		for i := range 3 * testLimit.Burst {
			wantLogin(t, nodes[i%len(nodes)], a, "saved-wrong-password", replyAuthFailed)
		}
		// The repeats counted once: Burst-2 distinct failures more
		// leave the account one short of its burst. (Had each node
		// counted the repeat once, as with secrets of their own, the
		// last of them would be refused.)
		for i := range testLimit.Burst - 2 {
			wantLogin(t, nodes[i%len(nodes)], a, fmt.Sprintf("wrong-%d", i), replyAuthFailed)
		}
		wantLogin(t, nodes[0], a, a.password, replyOK)
	})

	t.Run("PasswordChange", func(t *testing.T) {
		old := accts[5]
		for _, n := range nodes {
			wantLogin(t, n, old, old.password, replyOK) // now cached on every node
		}
		changed := account{name: old.name, password: old.password + "-changed"}
		// As an administration tool would: there is no IMAP command
		// for it.
		setAccounts(t, admin, changed)
		at := time.Now()
		accts[5] = changed
		// Within the TTL a node may answer from its cache: either
		// answer is right then.
		for i, n := range nodes {
			st, _, err := login(n.addr, old.name, old.password)
			if err != nil {
				t.Fatal(err)
			}
			r := reply(st)
			if r != replyOK && r != replyAuthFailed {
				t.Errorf("node %d, old password within the TTL: %q", i, st)
			}
			t.Logf("node %d, %v after the change, old password: %s", i, time.Since(at).Round(time.Millisecond), r)
		}
		// Every entry cached before the change has expired TTL after
		// it: then every node has the new password only.
		time.Sleep(time.Until(at.Add(cacheTTL + 200*time.Millisecond)))
		for _, n := range nodes {
			wantLogin(t, n, changed, changed.password, replyOK)
			wantLogin(t, n, changed, old.password, replyAuthFailed)
		}
		if st, err := authenticate(nodes[1].addr, changed.name, changed.password); err != nil || reply(st) != replyOK {
			t.Errorf("AUTHENTICATE SCRAM-SHA-256 with the new password: %q, %v", st, err)
		}
	})

	t.Run("Upgrade", func(t *testing.T) {
		if st, err := authenticate(nodes[1].addr, legacy.name, legacy.password); err != nil || reply(st) != replyAuthFailed {
			t.Errorf("AUTHENTICATE SCRAM-SHA-256 before the upgrade: %q, %v; want %s", st, err, replyAuthFailed)
		}
		wantLogin(t, nodes[0], legacy, legacy.password, replyOK) // saves the keys
		// On the node that upgraded (its cache entry dropped), and on
		// one that never looked the account up.
		for _, n := range []*node{nodes[0], nodes[2]} {
			if st, err := authenticate(n.addr, legacy.name, legacy.password); err != nil || reply(st) != replyOK {
				t.Errorf("AUTHENTICATE SCRAM-SHA-256 on %s after the upgrade: %q, %v", n.addr, st, err)
			}
		}
		// nodes[1] cached the account without keys: it may refuse
		// SCRAM until the entry expires.
	})

	t.Run("RedisDown", func(t *testing.T) {
		a := accts[6]
		rs.Kill()
		// Fail closed: refused, as a temporary failure, whatever the
		// password.
		for _, n := range nodes {
			wantLogin(t, n, a, a.password, replyUnavailable)
			wantLogin(t, n, a, "wrong", replyUnavailable)
		}
		if err := rs.Restart(); err != nil {
			t.Fatal(err)
		}
		for _, n := range nodes {
			eventually(t, n, a, 10*time.Second)
		}

		// Another set of nodes, falling back to per-node limits.
		fallback := nodeArgs(c, secret, "-redis", rs.URL(), "-redis-on-error", "fallback")
		var fb []*node
		for range 3 {
			fb = append(fb, startNode(t, fallback...))
		}
		b, victim := accts[7], accts[8]
		for _, n := range fb {
			wantLogin(t, n, b, b.password, replyOK)
		}
		rs.Kill()
		for _, n := range fb {
			wantLogin(t, n, b, b.password, replyOK)
		}
		// The limit is each node's own: Burst failures on one node
		// lock the account there only.
		for i := range testLimit.Burst {
			wantLogin(t, fb[0], victim, fmt.Sprintf("wrong-%d", i), replyAuthFailed)
		}
		wantLogin(t, fb[0], victim, "wrong-again", replyUnavailable)
		wantLogin(t, fb[0], victim, victim.password, replyUnavailable)
		wantLogin(t, fb[1], victim, "wrong-elsewhere", replyAuthFailed)
		wantLogin(t, fb[2], victim, victim.password, replyOK)
		// A fallback node starts while Redis is down.
		late := startNode(t, fallback...)
		wantLogin(t, late, b, b.password, replyOK)
		if !strings.Contains(late.p.log.String(), "limiting per node") {
			t.Errorf("the node started without Redis did not say so:\n%s", late.p.log)
		}

		if err := rs.Restart(); err != nil {
			t.Fatal(err)
		}
		for _, n := range append(nodes, fb...) {
			eventually(t, n, a, 10*time.Second)
		}
		for _, n := range append(fb, late) {
			n.p.stop(syscall.SIGTERM)
		}
	})

	t.Run("PostgresDown", func(t *testing.T) {
		cached, uncached := accts[14], accts[15:19]
		wantLogin(t, nodes[0], cached, cached.password, replyOK)
		warmed := time.Now()
		c.Kill() // immediate shutdown, as in a crash
		if d := time.Since(warmed); d < cacheTTL*3/4 {
			// Served from the node's cache, within its TTL.
			wantLogin(t, nodes[0], cached, cached.password, replyOK)
		} else {
			t.Logf("stopping PostgreSQL took %v: not checking the cached account", d)
		}
		for i, a := range uncached {
			n := nodes[i%len(nodes)]
			for _, pw := range []string{a.password, "wrong"} {
				if d := wantLogin(t, n, a, pw, replyUnavailable); d > 5*time.Second {
					t.Errorf("LOGIN %s took %v with the database down", a.name, d)
				}
			}
		}
		for _, n := range nodes {
			wantLogin(t, n, account{name: "no-such-user"}, "whatever", replyUnavailable)
		}
		if st, err := authenticate(nodes[2].addr, uncached[0].name, uncached[0].password); err != nil || reply(st) != replyUnavailable {
			t.Errorf("AUTHENTICATE SCRAM-SHA-256 with the database down: %q, %v; want %s", st, err, replyUnavailable)
		}

		if err := c.Restart(); err != nil {
			t.Fatal(err)
		}
		for _, n := range nodes {
			eventually(t, n, uncached[0], 20*time.Second)
		}
		// Nothing lost: every account logs in with its password, by
		// LOGIN and by SCRAM (its keys intact). The failures of
		// BruteForce are forgotten first, as an administrator
		// unlocking the account would.
		rs.flush(t)
		for i, a := range append(accts, legacy) {
			wantLogin(t, nodes[i%len(nodes)], a, a.password, replyOK)
			if st, err := authenticate(nodes[(i+1)%len(nodes)].addr, a.name, a.password); err != nil || reply(st) != replyOK {
				t.Errorf("AUTHENTICATE SCRAM-SHA-256 %s after the restart: %q, %v", a.name, st, err)
			}
		}
	})

	// No node logged a secret.
	for _, n := range nodes {
		for _, a := range accts {
			if bytes.Contains([]byte(n.p.log.String()), []byte(a.password)) {
				t.Errorf("a node logged the password of %s", a.name)
			}
		}
	}
}
