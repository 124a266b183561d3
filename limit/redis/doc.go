// Package redis is a [limit.Limiter] for SASL (RFC 4422) servers, kept in
// Redis so that every node of a service meets one limit on failed logins:
// a brute-force run spread over the nodes is counted once. Its policy is [limit.Memory]'s, to the
// event: a GCRA per key (the client's address prefix and the account
// tried), each failure moving the key's theoretical arrival time (TAT)
// forward by Window/Burst, and a few fingerprints of recent wrong secrets
// per key, so that a client retrying one saved wrong password does not
// escalate.
//
// The package is named redis after its import path; a file that also
// imports go-redis names one of them:
//
//	import (
//		goredis "github.com/redis/go-redis/v9"
//		"github.com/saslkit/saslkit/limit/redis"
//	)
//
// # Use
//
// [Open] connects to a redis:// (or rediss://, unix://) URL, as a server's
// flag gives it; [New] takes a go-redis client the caller made (Sentinel,
// TLS settings, a shared pool):
//
//	lim, err := redis.Open(ctx, "redis://limiter.internal:6379/0", &redis.Config{
//		Limit:   limit.Config{Secret: sharedSecret},
//		OnError: redis.FailClosed,
//	})
//
// # Atomicity and clocks
//
// Every update is one Lua script run with EVALSHA: Failed checks each key's
// fingerprints, advances its TAT to max(TAT, now) + interval, trims the
// fingerprints to Repeats and sets both to expire when the TAT passes, so
// keys vanish once their failures have decayed and concurrent failures on
// any number of nodes are all counted. Check reads both keys in one script.
// Time is the Redis server's (TIME, inside the scripts), never a node's:
// nodes whose clocks disagree still agree on every key. A failover to a
// replica whose clock differs shifts the limit by the difference.
//
// # What Redis holds
//
// Per key with recent failures, two Redis keys under [Config.Prefix]
// (default "saslkit:limit:"): "tat:" followed by the [limit.Keys] name ("addr:"
// and the address prefix, such as "addr:2001:db8:1:2::/64", or "user:" and
// the prepared account name), holding the TAT in Unix nanoseconds of the
// server's clock, and "fp:" followed by the same name, a list of at most
// Repeats 16-octet fingerprints ([limit.Policy.Fingerprint]: HMAC-SHA-256
// keyed by [limit.Config.Secret], never the secret itself). Names longer
// than 256 octets are replaced by "h:" and their SHA-256. Account names and
// address prefixes are thus visible to whoever can read the Redis database.
//
// Nodes sharing a Redis must share Config.Limit, its Secret above all: with
// the default per-process secret a repeat on another node counts anew.
// Every key has a TTL, so if Redis has a maxmemory, use the volatile-ttl
// policy (it evicts first the keys that would decay soonest, as
// [limit.Memory.MaxKeys] does) or noeviction; an evicted key forgets its
// failures.
//
// The scripts need Redis 5 or later (effect replication of scripts that
// read TIME; tested with Redis 7.0). The Redis user needs
// EVALSHA, EVAL and DEL, PING for [Open], HELLO for go-redis's handshake,
// and, inside the scripts, TIME, GET, SET, DEL, LRANGE, LPUSH, LTRIM and
// PEXPIREAT, on the keys under the prefix; as an ACL rule (tested):
//
//	user saslkit on >password resetkeys ~saslkit:limit:* resetchannels -@all
//		+hello +ping +evalsha +eval +time +get +set +del +lrange +lpush +ltrim +pexpireat
//
// A script touches the address's and the account's keys together, which
// Redis Cluster allows only within one hash slot: use a single primary
// (with replicas and Sentinel for failover), not a Cluster.
//
// go-redis retries a command whose connection failed, so a failure may, in
// rare network failures, count twice: the limit errs on the strict side.
//
// # When Redis does not answer
//
// Every call to Redis is bounded by [Config.Timeout]. What follows a
// failure is [Config.OnError]: [FailClosed] (the default) refuses the
// attempt, and protocol code answers it as a temporary failure; [Fallback]
// uses an in-process [limit.Memory] until Redis answers again, so that the
// limit is then per node. After a failure the limiter leaves Redis alone
// for [Config.Retry], so that a Redis that does not answer costs one
// timeout per Retry rather than one per login.
package redis
