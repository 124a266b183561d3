package postgres

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/internal/pgtest"
)

// The test clusters are PostgreSQL 15, from Debian's postgresql-15
// package, run by internal/pgtest.

// dsn is the connection string of the superuser over c's Unix socket, with
// a pool of at most 8 connections.
func dsn(c *pgtest.Cluster) string { return c.DSN() + " pool_max_conns=8" }

// shared is the cluster most tests share, started on first use and
// stopped by TestMain.
var shared struct {
	once sync.Once
	c    *pgtest.Cluster
	pool *pgxpool.Pool
	err  error
}

// sharedCluster returns the shared cluster and a superuser pool on it,
// starting it on first use.
func sharedCluster(tb testing.TB) (*pgtest.Cluster, *pgxpool.Pool) {
	tb.Helper()
	pgtest.Need(tb)
	shared.once.Do(func() {
		if shared.c, shared.err = pgtest.New(nil); shared.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		shared.pool, shared.err = pgxpool.New(ctx, dsn(shared.c))
	})
	if shared.err != nil {
		tb.Fatalf("starting the test cluster: %v", shared.err)
	}
	return shared.c, shared.pool
}

// stopShared stops the shared cluster, if a test started it.
func stopShared() {
	if shared.pool != nil {
		shared.pool.Close()
	}
	if shared.c != nil {
		shared.c.Close()
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	stopShared()
	os.Exit(code)
}

var schemaSeq atomic.Int64

// testSchema returns a fresh schema name, dropped when tb ends.
func testSchema(tb testing.TB, pool *pgxpool.Pool) string {
	name := fmt.Sprintf("t%d", schemaSeq.Add(1))
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		pool.Exec(ctx, `DROP SCHEMA IF EXISTS `+name+` CASCADE`)
	})
	return name
}

// newTestStore returns a Store in a fresh schema of the shared cluster
// holding accounts, added through SetAccount. cfg may be nil; its Schema
// is set.
func newTestStore(tb testing.TB, cfg *Config, accounts ...creds.Account) *Store {
	tb.Helper()
	_, pool := sharedCluster(tb)
	var c Config
	if cfg != nil {
		c = *cfg
	}
	if c.Schema == "" {
		c.Schema = testSchema(tb, pool)
	}
	c.Migrate = true
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := New(ctx, pool, &c)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	for _, a := range accounts {
		if err := s.SetAccount(ctx, a); err != nil {
			tb.Fatalf("SetAccount(%q): %v", a.Name, err)
		}
	}
	return s
}
