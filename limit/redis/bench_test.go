package redis_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/saslkit/saslkit/limit"
	"github.com/saslkit/saslkit/limit/redis"
)

// limiters returns limit.Memory and a Redis limiter on srv, with one
// policy, for benchmarks side by side.
func limiters(b *testing.B) []struct {
	name string
	l    limit.Limiter
} {
	srv := startServer(b)
	cfg := limit.Config{Secret: testSecret}
	return []struct {
		name string
		l    limit.Limiter
	}{
		{"memory", &limit.Memory{Config: cfg}},
		{"redis", redis.New(srv.client(b), &redis.Config{Limit: cfg})},
	}
}

// BenchmarkCheck: one Check of an attempt whose address and account both
// have failures (one round trip to Redis).
func BenchmarkCheck(b *testing.B) {
	ctx := context.Background()
	for _, tt := range limiters(b) {
		a := attempt(a1, "alice", "x")
		if err := tt.l.Failed(ctx, a); err != nil {
			b.Fatal(err)
		}
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tt.l.Check(ctx, a); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tt.name+"-parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := tt.l.Check(ctx, a); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkFailed: one Failed with a secret that counts (eight secrets in
// turn, more than the four a key remembers), on an address and an
// account: the script's longest path.
func BenchmarkFailed(b *testing.B) {
	ctx := context.Background()
	var as [8]limit.Attempt
	for i := range as {
		as[i] = attempt(a1, "alice", "guess-"+strconv.Itoa(i))
	}
	for _, tt := range limiters(b) {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := tt.l.Failed(ctx, as[i%len(as)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
