package redis_test

import (
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/saslkit/saslkit/internal/redistest"
)

// server is a redis-server the test started (internal/redistest): as an
// unprivileged user, on a free loopback port, without persistence.
type server struct{ *redistest.Server }

// startServer starts a redis-server, stopped by its PID when t ends. It
// skips t, naming redis-server, if it is not installed. extra lines are
// added to the configuration.
func startServer(t testing.TB, extra ...string) *server {
	t.Helper()
	return &server{redistest.Start(t, &redistest.Options{Config: extra})}
}

// client returns a client of the server, closed when the test ends.
func (s *server) client(t testing.TB) *goredis.Client {
	c := goredis.NewClient(&goredis.Options{Addr: s.Addr(), ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() })
	return c
}
