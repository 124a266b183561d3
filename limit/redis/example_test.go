package redis_test

import (
	"context"
	"log"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/saslkit/saslkit/limit"
	"github.com/saslkit/saslkit/limit/redis"
)

// A server's login path: Check before the exchange, wait or refuse, and
// report the outcome. Every node uses the same URL and Limit.Secret.
func ExampleOpen() {
	ctx := context.Background()
	lim, err := redis.Open(ctx, "redis://limiter.internal:6379/0", &redis.Config{
		Limit: limit.Config{Secret: []byte("the secret every node shares")},
		Report: func(err error) {
			log.Printf("login limiter: %v", err)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer lim.Close()

	a := limit.Attempt{User: "alice"} // and Addr, the client's address
	v, err := lim.Check(ctx, a)
	if err != nil {
		log.Printf("login limiter: %v", err) // v refuses: a temporary failure
	}
	if err := limit.Wait(ctx, v); err != nil {
		return // answer limit.ErrRefused as a temporary failure
	}
	// ... run the exchange; on a wrong password:
	a.Secret = []byte("the password the client sent")
	lim.Failed(ctx, a)
}

// A client made by the caller, here through Sentinel, with a limiter that
// falls back to per-node memory while Redis is down.
func ExampleNew() {
	client := goredis.NewFailoverClient(&goredis.FailoverOptions{
		MasterName:            "limiter",
		SentinelAddrs:         []string{"sentinel-1:26379", "sentinel-2:26379", "sentinel-3:26379"},
		ContextTimeoutEnabled: true, // so that Config.Timeout bounds socket reads
	})
	defer client.Close()
	lim := redis.New(client, &redis.Config{
		Limit:   limit.Config{Secret: []byte("the secret every node shares")},
		OnError: redis.Fallback,
		Timeout: 100 * time.Millisecond,
	})
	_ = lim // use as a limit.Limiter
}
