package main

import (
	"fmt"
	"sync/atomic"
	"testing"
)

// benchAccounts is how many accounts the logins go round.
const benchAccounts = 20

// BenchmarkLogin measures IMAP LOGINs, each on a fresh TCP connection, 8
// at a time, against one node of this program on PostgreSQL without a
// cache (cold) and with a warm one, and against Dovecot 2.3 reading the
// same table through dovecot-pgsql without and with its auth cache: the
// same accounts (bcrypt cost 4), the same client, interleaved. A last
// Dovecot checks no password at all (passdb static, nopassword=y): what
// Dovecot's logins cost besides authentication, chiefly handing the
// client to a mail process, which a node does not have.
func BenchmarkLogin(b *testing.B) {
	c := startCluster(b)
	migrateSchema(b, c)
	admin := c.adminStore(b)
	accts := makeAccounts("bench", benchAccounts)
	setAccounts(b, admin, accts...)
	grantDovecot(b, c)
	args := func(ttl string) []string {
		return []string{"-pg", c.dsn(appRole), "-insecure-auth", "-cache-ttl", ttl, "-max-conns", "10000"}
	}
	servers := []struct {
		name, addr string
		checks     bool // whether the server checks passwords
	}{
		{"multinode/cold", startNode(b, args("0")...).addr, true},
		{"multinode/warm", startNode(b, args("1m")...).addr, true},
		{"dovecot/cold", startDovecot(b, c, sqlPassdb, "0"), true},
		{"dovecot/warm", startDovecot(b, c, sqlPassdb, "10M"), true},
		{"dovecot/no-password-check", startDovecot(b, c, noPasswordPassdb, "0"), false},
	}
	for _, s := range servers {
		// Every account logs in once: the warm caches are filled,
		// and every server is known to accept every account, and to
		// refuse a wrong password if it checks them.
		for _, a := range accts {
			st, _, err := login(s.addr, a.name, a.password)
			if err != nil || reply(st) != replyOK {
				b.Fatalf("%s: LOGIN %s: %q, %v", s.name, a.name, st, err)
			}
		}
		if s.checks {
			a := accts[0]
			st, _, err := login(s.addr, a.name, a.password+"-wrong")
			if err != nil || reply(st) != replyAuthFailed {
				b.Fatalf("%s: LOGIN %s with a wrong password: %q, %v", s.name, a.name, st, err)
			}
		}
	}
	for _, s := range servers {
		b.Run(s.name, func(b *testing.B) {
			var next atomic.Uint64
			b.SetParallelism(4) // 4 × GOMAXPROCS clients
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					a := accts[next.Add(1)%benchAccounts]
					st, _, err := login(s.addr, a.name, a.password)
					if err == nil && reply(st) != replyOK {
						err = fmt.Errorf("%q", st)
					}
					if err != nil {
						b.Errorf("LOGIN %s: %v", a.name, err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
		})
	}
}
